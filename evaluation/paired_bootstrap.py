"""The interval of a difference in Pass@k between two methods: a paired, two-level bootstrap over problems and seeds.

Each method is a table of per-problem Pass@k, one row per seed (a training run), one column per problem, the
columns of both methods being the same problems in the same order. The difference is the mean over one method's
table minus the mean over the other's. One bootstrap resample draws

- the problems with replacement, **the same draw for both methods** (paired: a hard problem is hard for both, so
  its difficulty cancels in the difference instead of widening the interval), and
- each method's seeds with replacement, independently per method (its runs are its own),

and recomputes the difference. Seeds and problems are crossed (every seed saw every problem). Resampling both
ways at once (the "pigeonhole" bootstrap, Owen 2007, Annals of Applied Statistics 1(1)) counts the seed-by-problem
noise twice, once in each seed's mean and once in each problem's mean over seeds, and a bootstrap of a few seeds
has too light tails. So each resampled mean over seeds is moved from the mean of all seeds (under the same problem
draw) by a factor fixed once per method and k: it gives the seed level the variance of the seed component of a
two-way analysis of variance (seeds x problems, the residual mean square being the noise), with the S / (S - 1)
correction, times t / z, Student's t quantile over the normal one at Welch-Satterthwaite's degrees of freedom for
the two methods' seed components: where seeds dominate, the interval has the width of Welch's t-interval of the
seed means. A method with one seed has no seed level: its run-to-run variance is then unknown and not in the
interval, which covers another draw of problems, not another training run.

The interval is the percentile interval of the resampled differences (widened to hold the point, which it almost
always does). The p-value is the two-sided bootstrap p-value that matches it: twice the smaller share of resampled
differences on either side of 0, counted with the +1 of Davison and Hinkley (1997, eq. 4.11) so that it is never
0; a 95% interval that excludes 0 goes with a p-value below about 0.05. tests/test_compare.py checks coverage on
simulated runs whose true difference is known.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri, stdtrit

# Resampled problem weights are drawn this many cells (resamples x problems) at a time: memory stays near 32 MB.
_CELLS_PER_BATCH = 4_000_000


@dataclass(frozen=True)
class Difference:
    """One method minus the other at one k: the point, its interval and its two-sided p-value."""

    difference: float
    interval: tuple[float, float]
    p_value: float


def resampled_differences(
    ours: np.ndarray, theirs: np.ndarray, confidence: float, n_resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """Bootstrap distribution of mean(ours) - mean(theirs), shape (statistics, n_resamples).

    ``ours`` is (statistics, seeds, problems) (Pass@k at several k in the first axis, all sharing the draws), or
    (seeds, problems) for one statistic; ``theirs`` likewise, with its own number of seeds and the same problems.
    """
    ours, theirs = _as_table(ours), _as_table(theirs)
    if ours.shape[0] != theirs.shape[0] or ours.shape[2] != theirs.shape[2]:
        raise ValueError(f"tables of shape {ours.shape} and {theirs.shape} hold different statistics or problems")
    num_problems = ours.shape[2]
    ours_scale, theirs_scale = seed_scales(ours, theirs, confidence)
    uniform = np.full(num_problems, 1.0 / num_problems)
    batch = max(1, _CELLS_PER_BATCH // num_problems)
    differences = np.empty((ours.shape[0], n_resamples), dtype=np.float64)
    for start in range(0, n_resamples, batch):
        size = min(batch, n_resamples - start)
        problem_weights = rng.multinomial(num_problems, uniform, size=size).T / num_problems  # (problems, size)
        # The same problem draw for both methods: this is the pairing.
        ours_means = _resampled_seed_means(ours, problem_weights, ours_scale, rng)
        theirs_means = _resampled_seed_means(theirs, problem_weights, theirs_scale, rng)
        differences[:, start : start + size] = ours_means - theirs_means
    return differences


def _as_table(values: np.ndarray) -> np.ndarray:
    table = np.asarray(values, dtype=np.float64)
    if table.ndim == 2:
        table = table[np.newaxis]
    if table.ndim != 3 or 0 in table.shape:
        raise ValueError(f"expected a (statistics, seeds, problems) table, got shape {table.shape}")
    return table


def _resampled_seed_means(
    table: np.ndarray, problem_weights: np.ndarray, seed_scale: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """(statistics, resamples): each resample's mean over its problem draw and its own draw of seeds."""
    num_seeds = table.shape[1]
    per_seed = table @ problem_weights  # (statistics, seeds, resamples): each seed's mean over the drawn problems
    all_seeds = per_seed.mean(axis=1)
    if num_seeds == 1:
        return all_seeds
    seed_counts = rng.multinomial(num_seeds, np.full(num_seeds, 1.0 / num_seeds), size=per_seed.shape[2])
    drawn = np.einsum("ksr,rs->kr", per_seed, seed_counts) / num_seeds
    return all_seeds + seed_scale[:, np.newaxis] * (drawn - all_seeds)


def seed_scales(ours: np.ndarray, theirs: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Per statistic and method, the factor on a resampled seed mean's distance from the mean of all seeds.

    The variance the resampling gives a mean of S seeds is the spread of the seed means (divided by S, not S - 1)
    over S; it should be the seed variance component over S. Both methods' factors are then widened by one t / z,
    with Welch-Satterthwaite's degrees of freedom for the two seed components.
    """
    parts = [_seed_variances(_as_table(table)) for table in (ours, theirs)]
    widening = _welch_widening([(wanted, seeds) for wanted, _, seeds in parts], confidence)
    ours_scale, theirs_scale = (
        widening * np.sqrt(np.divide(wanted, seen, out=np.zeros_like(seen), where=seen > 0))
        for wanted, seen, _ in parts
    )
    return ours_scale, theirs_scale


def _seed_variances(table: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Per statistic, the variance of the mean of the S seeds that the seed level should have (the seed component
    of a two-way analysis of variance, seeds x problems, at least 0, over S) and the one resampling gives it; and
    S. Both variances are 0 for one seed."""
    num_seeds, num_problems = table.shape[1], table.shape[2]
    if num_seeds == 1:
        return np.zeros(table.shape[0]), np.zeros(table.shape[0]), 1
    seed_means = table.mean(axis=2)
    problem_means = table.mean(axis=1, keepdims=True)
    residual = table - seed_means[:, :, np.newaxis] - problem_means + table.mean(axis=(1, 2))[:, None, None]
    noise = (residual**2).sum(axis=(1, 2)) / max(1, (num_seeds - 1) * (num_problems - 1))
    component = np.maximum(seed_means.var(axis=1, ddof=1) - noise / num_problems, 0.0)
    return component / num_seeds, seed_means.var(axis=1, ddof=0) / num_seeds, num_seeds


def _welch_widening(parts: list[tuple[np.ndarray, int]], confidence: float) -> np.ndarray:
    """t / z per statistic, t with the Welch-Satterthwaite degrees of freedom of the summed variances ``parts``
    (each a variance of a mean and its number of seeds); 1 where no part has seed variance."""
    total = sum(variance for variance, _ in parts)
    denominator = sum(variance**2 / (seeds - 1) for variance, seeds in parts if seeds > 1)
    freedom = np.divide(total**2, denominator, out=np.ones_like(total), where=denominator > 0)
    quantile = (1.0 + confidence) / 2.0
    return np.where(total > 0, stdtrit(freedom, quantile) / ndtri(quantile), 1.0)


def summarize_differences(
    ours: np.ndarray, theirs: np.ndarray, confidence: float, n_resamples: int, rng: np.random.Generator
) -> list[Difference]:
    """One Difference per statistic (row) of ``ours`` - ``theirs``; tables as in ``resampled_differences``."""
    ours, theirs = _as_table(ours), _as_table(theirs)
    points = ours.mean(axis=(1, 2)) - theirs.mean(axis=(1, 2))
    distributions = resampled_differences(ours, theirs, confidence, n_resamples, rng)
    alpha = (1.0 - confidence) / 2.0
    summaries = []
    for point, distribution in zip(points, distributions, strict=True):
        low, high = np.quantile(distribution, [alpha, 1.0 - alpha])
        # Within [-1, 1], where a difference of Pass@k lies (rounding can step past it), and around the point.
        interval = (max(-1.0, min(float(low), float(point))), min(1.0, max(float(high), float(point))))
        summaries.append(Difference(float(point), interval, bootstrap_p_value(distribution)))
    return summaries


def bootstrap_p_value(distribution: np.ndarray) -> float:
    """Two-sided p-value of "no difference": twice the smaller share of resamples at or beyond 0 on either side,
    with the +1 that keeps a finite number of resamples from claiming p = 0."""
    at_or_below = int(np.count_nonzero(distribution <= 0.0))
    at_or_above = int(np.count_nonzero(distribution >= 0.0))
    return min(1.0, 2.0 * (min(at_or_below, at_or_above) + 1) / (distribution.size + 1))
