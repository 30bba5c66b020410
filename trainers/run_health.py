"""Warnings, in words, about a training log in which nothing could have been learned (the monitor's summary
shows them, trainers/monitor_log.py).

A run whose reward was 0 at every logged step never saw a right sample: GRPO's advantages were all 0 and PSR kept
nothing, so the model did not move. A run whose gradient norm was 0 at every logged step did not move either,
whatever its rewards. Both look like quiet, healthy runs in a table of numbers, so they are said out loud.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

REWARD_KEYS = ("reward",)
GRADIENT_KEYS = ("grad_norm",)


def _logged(log_history: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> list[float]:
    return [
        float(entry[key])
        for entry in log_history
        for key in keys
        if isinstance(entry.get(key), int | float) and math.isfinite(entry[key])
    ]


def never_learned_warnings(log_history: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per thing that was zero at every logged step; none for a run that had something to learn from."""
    warnings = []
    rewards = _logged(log_history, REWARD_KEYS)
    if rewards and not any(rewards):
        warnings.append(
            f"WARNING: the reward was 0 at all {len(rewards)} logged steps: no sample was ever right, so the "
            "objective had nothing to learn from (try a warm start, an easier task or more samples per prompt)"
        )
    gradients = _logged(log_history, GRADIENT_KEYS)
    if gradients and not any(gradients):
        warnings.append(
            f"WARNING: the gradient norm was 0 at all {len(gradients)} logged steps: the model's weights never changed"
        )
    return warnings
