"""Which weights a run trains: the LoRA adapter's modules, and whether the vision tower is frozen.

Defaults follow the vision-language RL recipes we read: EasyR1 and VLM-R1 put LoRA on every linear layer of the
language model and none of the vision encoder (EasyR1: ``target_modules: all-linear`` with ``exclude_modules:
.*visual.*``; vLLM's LoRA does not reach a ViT either), and train the vision tower only in full fine-tuning,
where it is frozen on request (``freeze_vision_tower``). On Qwen2.5-VL (and the Qwen2 text models) the language
model's linear layers are exactly the seven projections of DEFAULT_TARGETS. Modules a user names are taken as
named; ``--freeze-vision-tower`` then keeps them out of the vision tower.
"""

from __future__ import annotations

from trainers.config import RunConfig

# Every linear layer of a Qwen2 / Qwen2.5-VL language-model block (attention and MLP).
DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
# Qwen2.5-VL's vision encoder and merger live under model.visual.
VISION_TOWER = r".*\.visual\..*"


def build_lora_config(config: RunConfig):
    """PEFT's LoraConfig for the run (None without --lora): r, alpha and dropout of the original script, on
    --lora-target-modules (default: the language model's projections, not the vision tower's)."""
    if not config.lora:
        return None
    from peft import LoraConfig

    chosen = config.lora_target_modules
    if chosen is None:
        targets: list[str] | str = list(DEFAULT_TARGETS)
    else:
        targets = "all-linear" if chosen == ("all-linear",) else list(chosen)
    keep_out_of_vision = chosen is None or config.freeze_vision_tower
    return LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=targets,
        exclude_modules=VISION_TOWER if keep_out_of_vision else None,
        modules_to_save=list(config.lora_modules_to_save) if config.lora_modules_to_save else None,
        task_type="CAUSAL_LM",
    )


def freeze_vision_tower(model) -> int:
    """Stop the gradient of every vision-tower weight (full fine-tuning); the number of weights frozen."""
    frozen = 0
    for name, parameter in model.named_parameters():
        if ".visual." in f".{name}":
            parameter.requires_grad_(False)
            frozen += parameter.numel()
    return frozen
