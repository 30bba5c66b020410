"""The range of values a reward function gives, and ``--reward-threshold`` checked against it.

A reward declares its range in its docstring, as every task's rewards do ("Range {0, 1}." for two values, "Range
[0, 2.25]." for an interval), or as a ``reward_range = (low, high)`` attribute of the function (a user's reward may
do either). A sample is correct when its reward is at least the threshold, so a threshold above the range makes
every sample wrong, and one at or below its low end makes every sample right: both are refused before the model
loads. A reward that declares no range is not checked, and the command says so.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable, Sequence

from rlvr.errors import UserError

_NUMBER = r"[-+]?\d+(?:\.\d+)?"
_DOCSTRING_RANGE = re.compile(rf"Range\s*[\[{{]\s*({_NUMBER})\s*,\s*({_NUMBER})\s*[\]}}]")


def declared_range(function: Callable) -> tuple[float, float] | None:
    """(low, high) a reward declares by a ``reward_range`` attribute or in its docstring; None when it does not."""
    attribute = getattr(function, "reward_range", None)
    if isinstance(attribute, tuple | list) and len(attribute) == 2:
        low, high = (float(value) for value in attribute)
        return (low, high) if low <= high else None
    match = _DOCSTRING_RANGE.search(inspect.getdoc(function) or "")
    if match is None:
        return None
    low, high = float(match.group(1)), float(match.group(2))
    return (low, high) if low <= high else None


def total_range(functions: Sequence[Callable], weights: Sequence[float]) -> tuple[float, float] | None:
    """The range of the weighted total of rewards (a reward that returns None adds 0); None when one of them
    declares no range."""
    low = high = 0.0
    for function, weight in zip(functions, weights, strict=True):
        declared = declared_range(function)
        if declared is None:
            return None
        ends = (weight * declared[0], weight * declared[1])
        low, high = low + min(*ends, 0.0), high + max(*ends, 0.0)
    return low, high


def check_threshold(threshold: float, span: tuple[float, float] | None, what: str) -> None:
    """Refuse a threshold that judges every sample alike on a score of range ``span`` (``what`` names the score,
    e.g. "the correctness reward accuracy_reward"); warn, once, when the range is unknown."""
    if span is None:
        print(
            f"note: {what} declares no range ('Range [low, high]' in its docstring, or a reward_range attribute), "
            f"so --reward-threshold {threshold:g} is not checked against it",
            file=sys.stderr,
        )
        return
    low, high = span
    shown = f"[{low:g}, {high:g}]"
    if threshold > high:
        raise UserError(
            f"--reward-threshold {threshold:g} is above the range {shown} of {what}: every sample would be wrong; "
            f"choose a value in ({low:g}, {high:g}]"
        )
    if threshold <= low:
        raise UserError(
            f"--reward-threshold {threshold:g} is at or below the low end of the range {shown} of {what}: every "
            f"sample would be correct; choose a value in ({low:g}, {high:g}]"
        )
