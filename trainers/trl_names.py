"""What main.py's parser knows about TRL's names without importing TRL (which takes torch with it): the TRL names of
our own options, and the GRPOConfig fields a mode cannot take.

Every other GRPOConfig / TrainingArguments field is read from TRL itself, at run time (trainers/trl_fields.py).
"""

from __future__ import annotations

from rlvr.methods import DECOMPOSED_MODES

# Our option (a RunConfig field) -> its names in TRL's GRPOConfig, ModelConfig or ScriptArguments where they differ
# from ours: the same knob under TRL's name. Options whose name is TRL's already (--num-generations, --beta, ...)
# need no entry; every flag is accepted with underscores too (rlvr/cli.py).
TRL_ALIASES: dict[str, tuple[str, ...]] = {
    "model": ("model_name_or_path",),
    "num_epochs": ("num_train_epochs",),
    "batch_size": ("per_device_train_batch_size",),
    "lora": ("use_peft",),
    "lora_rank": ("lora_r",),
    "warmup": ("warmup_steps",),
    "split": ("dataset_train_split",),
}

# Loss types whose normaliser is a token count over the loss mask, so that dropped samples leave the denominator.
TOKEN_MEAN_LOSS_TYPES = ("dapo", "bnpo")

# GRPOConfig fields that would replace part of a decomposed objective (psr, nsr, w-reinforce), with why.
DECOMPOSED_CONFLICTS: dict[str, str] = {
    "scale_rewards": "its advantages are fixed (+1, -1, +lambda), never scaled by a group's or batch's spread",
    "multi_objective_aggregation": "correctness comes from one verifiable reward (--split-on), not normalised sums",
}

# GRPOConfig fields main.py sets from its own options in every mode: the option to use instead.
SET_BY_OUR_OPTIONS: dict[str, str] = {
    "generation_batch_size": "--steps-per-generation, or --rollout-prompts with --update-prompts",
}
# TrainingArguments fields that are one of our options said another way: field -> (our option, value -> ours).
TRANSLATED = {
    "gradient_checkpointing": ("disable_gradient_checkpointing", lambda on: not on),
    "activation_checkpointing": ("disable_gradient_checkpointing", lambda on: not on),
}


def refuse_for_mode(mode: str, loss_type: str, trl_fields: dict) -> str | None:
    """Why ``mode`` cannot take these TRL settings, as one line naming the option; None when it can."""
    for name, instead in SET_BY_OUR_OPTIONS.items():
        if name in trl_fields:
            return f"--{name} is set by main.py's batch geometry; use {instead}"
    if mode not in DECOMPOSED_MODES:
        return None  # grpo, and the modes that ignore GRPO's fields, take everything TRL takes
    if loss_type not in TOKEN_MEAN_LOSS_TYPES:
        return (
            f"--loss-type {loss_type}: --mode {mode} needs a token-mean loss ({' or '.join(TOKEN_MEAN_LOSS_TYPES)}) "
            "so that dropped samples leave the normaliser"
        )
    for name, why in DECOMPOSED_CONFLICTS.items():
        if name in trl_fields:
            return f"--{name} does not apply to --mode {mode}: {why}; it works with --mode grpo"
    return None
