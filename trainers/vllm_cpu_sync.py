"""Pushing the trained weights into a colocated vLLM engine on vLLM's CPU build (tests_vllm/, docs/training.md).

TRL's colocate mode pushes each parameter through the engine model's ``load_weights``. The CPU build cannot take
that after the first load: it packs every linear layer's weight for its matrix kernels and frees the weight tensor
(``dispatch_cpu_unquantized_gemm(layer, remove_weight=True)``), so the parameter TRL loads into has no
``weight_loader`` any more. vLLM's own in-place reload (the worker's ``reload_weights`` with weights in checkpoint
format) restores each layer's loadable parameters, loads them, and packs the layer again; this module pushes the
trained weights through it instead.

One gap is closed here by hand: a language-model head tied to the token embeddings (the small Qwen2 and
Qwen2.5-VL models) is not in the checkpoint, so the reload never repacks it, and the CPU build keeps computing
logits from the head's copy of the old embeddings. Every layer whose weight is shared with another is repacked
after the reload.
"""

from __future__ import annotations

from typing import Any

import torch


def vllm_runs_on_cpu() -> bool:
    from vllm.platforms import current_platform  # imported here: vLLM is optional

    return current_platform.is_cpu()


def sync_weights_by_reload(generation: Any) -> None:
    """Push the trainer's weights into the colocated engine of ``generation`` (TRL's VLLMGeneration)."""
    # Copies: a LoRA model is merged only while TRL's iterator runs, and the reload may keep a layer's tensors
    # until the layer is complete.
    weights = ((name, param.detach().clone()) for name, param in generation._iter_named_params())
    generation.llm.collective_rpc("reload_weights", kwargs={"weights_iterator": weights, "is_checkpoint_format": True})
    repack_shared_weights(generation.llm.llm_engine.model_executor.driver_worker.model_runner.model)
    generation.llm.reset_prefix_cache()


def repack_shared_weights(model: torch.nn.Module) -> None:
    """Run the packing step again on every layer whose weight tensor another layer shares (a tied head)."""
    holders: dict[int, list[torch.nn.Module]] = {}
    for module in model.modules():
        weight = module._parameters.get("weight")
        if weight is not None and getattr(module, "quant_method", None) is not None:
            holders.setdefault(id(weight), []).append(module)
    for modules in holders.values():
        if len(modules) > 1:
            for module in modules:
                module.quant_method.process_weights_after_loading(module)
