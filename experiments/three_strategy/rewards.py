"""The SR-only arm's reward: every sample counts as correct, so ``--mode psr`` reinforces each one whatever it says.

PSR = NSR + SR per prompt (docs/objectives.md, "One identity"); this arm trains SR alone, the zero-mean term by
which PSR differs from NSR, and so measures it directly. Passed to main.py as a user reward:
``--reward-funcs experiments.three_strategy.rewards.every_sample_reward --correctness-reward every_sample_reward``.
"""

from __future__ import annotations


def every_sample_reward(completions: list, **columns) -> list[float | None]:
    """1.0 for every completion, so every sample counts as correct: the arm's point. It declares no range on
    purpose (a range of [1, 1] would make main.py refuse any --reward-threshold as judging every sample alike), so
    main.py prints a note instead.

    >>> every_sample_reward(["+52", "oops"])
    [1.0, 1.0]
    """
    return [1.0] * len(completions)
