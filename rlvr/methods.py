"""The training methods by name: the modes main.py trains, their display labels, and one plot style each.

Every stage names methods from here, so a mode added to ``RL_MODES`` reaches the parser, the demo, the experiments
and the plots at once. The objective each mode trains is in trainers/objectives.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# How a sample's correctness is decided: from the verifiable reward alone, or from the weighted total reward.
SPLIT_ON_CHOICES = ("accuracy", "total")

RL_MODES = ("grpo", "psr", "nsr", "w-reinforce")
# The paper's decomposed objectives: advantages from correctness alone, no group baseline.
DECOMPOSED_MODES = ("psr", "nsr", "w-reinforce")
METHOD_LABELS = {
    "base": "Base",
    "sft": "SFT",
    "dpo": "DPO",
    "grpo": "GRPO",
    "psr": "PSR",
    "nsr": "NSR",
    "w-reinforce": "W-REINFORCE",
}


@dataclass(frozen=True)
class MethodStyle:
    colour: str
    marker: str
    linestyle: str = "-"


# Okabe-Ito colours (readable with colour-blindness); the base model is the black dashed reference line.
KNOWN_METHOD_STYLES: dict[str, MethodStyle] = {
    "base": MethodStyle("#000000", "o", "--"),
    "sft": MethodStyle("#CC79A7", "v"),
    "ppo": MethodStyle("#E69F00", "s"),
    "dpo": MethodStyle("#F0E442", "x"),
    "grpo": MethodStyle("#0072B2", "D"),
    "psr": MethodStyle("#009E73", "^"),
    "nsr": MethodStyle("#D55E00", "P"),
    "w-reinforce": MethodStyle("#56B4E9", "*"),
}
_ALIASES = {"base-model": "base", "wreinforce": "w-reinforce"}
# Handed out in order to labels that are not known methods, so two unknown labels never share a style.
EXTRA_COLOURS = ("#7F7F7F", "#8C564B", "#BCBD22", "#9467BD", "#17BECF", "#E377C2", "#2CA02C")
EXTRA_MARKERS = ("X", "h", "<", ">", "p", "d", "H", "8")


def normalise_method_name(label: str) -> str:
    """'W_REINFORCE', 'w reinforce' and 'W-REINFORCE' all become 'w-reinforce'."""
    name = "-".join(label.strip().lower().replace("_", " ").replace("-", " ").split())
    return _ALIASES.get(name, name)


def assign_styles(labels: Sequence[str]) -> dict[str, MethodStyle]:
    """Fixed styles for known method names (any case); unknown labels take the next extra colour and marker."""
    styles: dict[str, MethodStyle] = {}
    extra = 0
    for label in labels:
        known = KNOWN_METHOD_STYLES.get(normalise_method_name(label))
        if known is not None:
            styles[label] = known
        else:
            styles[label] = MethodStyle(
                EXTRA_COLOURS[extra % len(EXTRA_COLOURS)], EXTRA_MARKERS[extra % len(EXTRA_MARKERS)]
            )
            extra += 1
    return styles
