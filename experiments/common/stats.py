"""Intervals of the experiments: per-problem Pass@k, and a bootstrap over seeds and problems.

A comparison ``arm - reference`` pairs runs by SFT seed and RL seed (the same base, data order and rollout prompts)
and problems by problem. One bootstrap resample draws SFT seeds with replacement, RL seeds with replacement within
each, and held-out problems with replacement (the same problems for both sides); the interval is the 2.5-97.5
percentile range of the resampled mean difference. Against the base, the base of each SFT seed is the reference of
every run made from it, so the spread between bases, the base's own variance, is inside the interval.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from rlvr.estimators import pass_at_k

CONFIDENCE = 0.95
Pair = tuple[int, int]  # (SFT seed, RL seed)


def per_problem_pass_at_k(point: Mapping, k: int, only_carries: bool = False) -> np.ndarray:
    """Pass@k of each held-out problem (or of those that carry) at one evaluated point."""
    correct = np.array(point["num_correct"])
    if only_carries:
        correct = correct[np.array(point["carries"], dtype=bool)]
    return pass_at_k(np.full(correct.shape, point["num_samples"]), correct, k)


def problem_interval(values: np.ndarray, resamples: int, seed: int = 0) -> tuple[float, float]:
    """95% percentile bootstrap interval of a mean over problems."""
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (resamples, len(values)))].mean(axis=1)
    low, high = np.quantile(means, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2])
    return float(low), float(high)


def difference_interval(
    ours: Mapping[Pair, np.ndarray], theirs: Mapping[Pair, np.ndarray], resamples: int, seed: int = 0
) -> dict[str, float | int] | None:
    """Mean of ``ours - theirs`` over the shared (SFT seed, RL seed) pairs and problems, with its bootstrap interval.

    Each value is an array over problems (the same problems on both sides) or of length 1 for a scalar metric.
    """
    pairs = sorted(set(ours) & set(theirs))
    if not pairs:
        return None
    differences = {pair: np.asarray(ours[pair], float) - np.asarray(theirs[pair], float) for pair in pairs}
    by_sft: dict[int, list[Pair]] = {}
    for pair in pairs:
        by_sft.setdefault(pair[0], []).append(pair)
    sft_seeds = sorted(by_sft)
    num_problems = len(next(iter(differences.values())))
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    for index in range(resamples):
        problems = rng.integers(0, num_problems, num_problems)
        chosen = [
            differences[by_sft[sft][rl]][problems].mean()
            for sft in rng.choice(sft_seeds, len(sft_seeds))
            for rl in rng.integers(0, len(by_sft[sft]), len(by_sft[sft]))
        ]
        means[index] = np.mean(chosen)
    low, high = np.quantile(means, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2])
    mean = float(np.mean([difference.mean() for difference in differences.values()]))
    return {"mean": mean, "low": float(low), "high": float(high), "pairs": len(pairs)}


def sign_of(interval: Mapping[str, float] | None) -> int:
    """+1 when the interval lies above 0, -1 below, 0 when it holds 0 or there is nothing to compare."""
    if interval is None:
        return 0
    return 1 if interval["low"] > 0 else -1 if interval["high"] < 0 else 0


def metric_by_pair(
    runs: Sequence[Mapping], arm: str, metric: Callable[[Mapping], np.ndarray], point: int = -1
) -> dict[Pair, np.ndarray]:
    """(SFT seed, RL seed) -> the metric at a run's point (default: its end) for every run of ``arm``."""
    return {
        (run["sft_seed"], run["rl_seed"]): np.atleast_1d(metric(run["points"][point]))
        for run in runs
        if run["arm"] == arm
    }


def base_by_pair(bases: Sequence[Mapping], pairs: Sequence[Pair], metric: Callable[[Mapping], np.ndarray]):
    """The base of each pair's SFT seed as that pair's reference."""
    of_seed = {base["sft_seed"]: np.atleast_1d(metric(base["points"][0])) for base in bases}
    return {pair: of_seed[pair[0]] for pair in pairs if pair[0] in of_seed}
