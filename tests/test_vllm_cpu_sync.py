"""trainers/vllm_cpu_sync.py without vLLM: after vLLM's in-place reload, which layers are packed again.
(The push itself runs against vLLM's CPU build in tests_vllm/test_training_vllm.py.)"""

from __future__ import annotations

import torch

from trainers.vllm_cpu_sync import repack_shared_weights


class RecordingPacker:
    """Stands in for a vLLM layer's quant_method: records which layers it packed."""

    def __init__(self) -> None:
        self.packed: list[torch.nn.Module] = []

    def process_weights_after_loading(self, layer: torch.nn.Module) -> None:
        self.packed.append(layer)


def packed_layer(weight: torch.nn.Parameter, packer: RecordingPacker) -> torch.nn.Module:
    layer = torch.nn.Module()
    layer.weight = weight
    layer.quant_method = packer
    return layer


def test_only_layers_sharing_a_weight_are_packed_again():
    packer = RecordingPacker()
    model = torch.nn.Module()
    model.embed_tokens = packed_layer(torch.nn.Parameter(torch.zeros(8, 4)), packer)
    model.lm_head = packed_layer(model.embed_tokens.weight, packer)  # tied, as in the small Qwen models
    model.proj = packed_layer(torch.nn.Parameter(torch.zeros(4, 4)), packer)  # reloaded and packed by vLLM itself
    model.norm = torch.nn.Module()
    model.norm.weight = model.proj.weight  # shares a tensor but has no packing step
    repack_shared_weights(model)
    assert packer.packed == [model.embed_tokens, model.lm_head]
