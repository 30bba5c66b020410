"""A LoRA adapter of a tiny model that changes it: LoRA starts with B = 0, a no-op, so the adapter's B is drawn at
random and its merged weights differ from the base's."""

from __future__ import annotations

import torch

from rlvr.models.registry import load_model, resolve_model


def random_lora_adapter(base_name: str, target_modules: list[str], seed: int = 0):
    """A PEFT model: ``base_name`` in fp32 with rank-2 LoRA on ``target_modules``, B drawn with ``seed``."""
    from peft import LoraConfig, get_peft_model

    adapted = get_peft_model(
        load_model(resolve_model(base_name), torch.float32), LoraConfig(r=2, target_modules=target_modules)
    )
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in adapted.named_parameters():
            if "lora_B" in name:
                parameter.copy_(0.5 * torch.randn(parameter.shape, generator=generator))
    return adapted
