"""What the model card (README.md beside a pushed model or a checkpoint) says the model was trained with: the
mode, its objective, and the paper the decomposed objectives come from. TRL writes the card from the trainer's
``_name``, ``_paper`` and ``_tag_names``; the decomposed trainer sets them from its mode."""

from __future__ import annotations

from rlvr.methods import METHOD_LABELS

OBJECTIVES = {
    "grpo": "group-normalised advantages",
    "psr": "positive sample reinforcement: correct samples +1, wrong ones dropped",
    "nsr": "negative sample reinforcement: wrong samples -1, correct ones dropped",
    "w-reinforce": "weighted REINFORCE: correct samples +lambda, wrong ones -1",
}
DECOMPOSED_PAPER = {
    "title": "The Surprising Effectiveness of Negative Reinforcement in LLM Reasoning",
    "id": "2506.01347",
}


def card_identity(mode: str, trl_paper: dict) -> tuple[str, dict, list[str]]:
    """(the trainer's name on the card, the paper it cites, the hub tags) for ``mode``; grpo keeps TRL's paper."""
    name = f"{METHOD_LABELS[mode]} (--mode {mode}: {OBJECTIVES[mode]}) on TRL's GRPOTrainer"
    paper = trl_paper if mode == "grpo" else DECOMPOSED_PAPER
    return name, paper, ["trl", "grpo", "rlvr", mode]
