"""Differences between arms with 95% intervals: a bootstrap over SFT seeds and held-out problems.

A trajectory is one run's points in training order, starting with its base (step 0). A comparison pairs runs by
SFT seed (the same base, the same RL seed) and problems by problem. One resample draws SFT seeds with replacement and
problems with replacement within each class (carry / no carry, so the training-mix weights stay fixed), the same
problems for every model; the interval is the 2.5-97.5 percentile range of the resampled mean difference. Each
seed's own difference on all problems is reported beside it, so a reader sees the spread between bases directly.

Matched comparisons read arm B's trajectory at arm A's value of a matching metric (Pass@1 on the training mix, or
sqrt(KL to base)): B's points sorted by that metric, linear between neighbours, never extrapolated; each of A's
checkpoints inside B's range gives one difference, and the comparison is their mean.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from experiments.three_strategy.points import Metric, Point, every_problem

CONFIDENCE = 0.95
Trajectory = Sequence[Point]


class Resamples:
    """The seeds and problem indices of every bootstrap resample, shared by all comparisons of a report."""

    def __init__(self, seeds: Sequence[int], template: Point, count: int, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        carrying, plain = np.flatnonzero(template.carries), np.flatnonzero(~template.carries)
        self.seeds = list(seeds)
        self.draws = [
            (
                rng.choice(self.seeds, len(self.seeds)),
                np.concatenate([rng.choice(carrying, len(carrying)), rng.choice(plain, len(plain))]),
            )
            for _ in range(count)
        ]


def _summary(point_estimate: float, resampled: list[float], per_seed: dict[int, float]) -> dict:
    finite = np.array([value for value in resampled if np.isfinite(value)])
    low, high = np.quantile(finite, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2]) if len(finite) else (np.nan,) * 2
    return {"mean": point_estimate, "low": float(low), "high": float(high), "per_seed": per_seed}


def end_difference(a: Mapping[int, Trajectory], b: Mapping[int, Trajectory], metric: Metric, draws: Resamples):
    """Mean over SFT seeds of metric(A's last point) - metric(B's last point)."""

    def difference(seed: int, index: np.ndarray) -> float:
        return metric(a[seed][-1], index) - metric(b[seed][-1], index)

    return _bootstrap(difference, a, draws)


def matched_difference(
    a: Mapping[int, Trajectory], b: Mapping[int, Trajectory], metric: Metric, match: Metric, draws: Resamples
) -> dict:
    """Mean over SFT seeds and A's checkpoints of metric(A) - metric(B read at A's value of ``match``)."""

    def per_checkpoint(seed: int, index: np.ndarray) -> list[float]:
        xs = np.array([match(point, index) for point in b[seed]])
        ys = np.array([metric(point, index) for point in b[seed]])
        order = np.argsort(xs)
        xs, ys = xs[order], ys[order]
        differences = []
        for point in a[seed][1:]:
            x = match(point, index)
            inside = xs[0] <= x <= xs[-1]
            differences.append(metric(point, index) - float(np.interp(x, xs, ys)) if inside else np.nan)
        return differences

    def difference(seed: int, index: np.ndarray) -> float:
        values = [value for value in per_checkpoint(seed, index) if np.isfinite(value)]
        return float(np.mean(values)) if values else np.nan

    result = _bootstrap(difference, a, draws)
    steps = [point.step for point in next(iter(a.values()))[1:]]
    by_checkpoint = np.array(
        [per_checkpoint(seed, every_problem(a[seed][0])) for seed in draws.seeds if seed in a], dtype=float
    )
    result["by_checkpoint"] = {
        str(step): (float(np.nanmean(column)) if np.isfinite(column).any() else None)
        for step, column in zip(steps, by_checkpoint.T, strict=True)
    }
    result["matched_share"] = float(np.isfinite(by_checkpoint).mean())
    return result


def _bootstrap(difference, a: Mapping[int, Trajectory], draws: Resamples) -> dict:
    seeds = [seed for seed in draws.seeds if seed in a]
    per_seed = {seed: difference(seed, every_problem(a[seed][0])) for seed in seeds}
    finite = [value for value in per_seed.values() if np.isfinite(value)]
    estimate = float(np.mean(finite)) if finite else float("nan")
    resampled = []
    for seed_draw, index in draws.draws:
        values = [difference(int(seed), index) for seed in seed_draw if seed in a]
        values = [value for value in values if np.isfinite(value)]
        resampled.append(float(np.mean(values)) if values else np.nan)
    return _summary(estimate, resampled, {str(seed): value for seed, value in per_seed.items()})


def sign_of(interval: Mapping[str, float] | None) -> int:
    """+1 when the interval lies above 0, -1 below, 0 when it holds 0 or is missing."""
    if interval is None or not np.isfinite(interval["low"]):
        return 0
    return 1 if interval["low"] > 0 else -1 if interval["high"] < 0 else 0
