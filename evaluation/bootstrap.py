"""Bootstrap intervals of a mean over problems, fast enough for 100,000 problems x 256 samples.

Pass@k per problem takes few distinct values (one per (n, c) pair: at most n + 1 when every problem has n
samples), so a data set is a list of distinct values with multiplicities. Drawing N problems with replacement then
amounts to drawing how many times each distinct value is taken, a multinomial over the distinct values, and a
resampled mean is those counts times the values over N. That is the same distribution as resampling indices (what
scipy.stats.bootstrap does) at a cost that grows with the number of distinct values, not of problems, and one
draw of counts serves every k at once (the rows of ``values`` share the problems).

The BCa acceleration needs the jackknife of the mean, which has a closed form: leaving out problem i gives
(S - x_i) / (N - 1), so the jackknife influence (N - 1)(mean of those - that one) is x_i - S / N. No O(N^2)
leave-one-out loop is needed.
"""

from __future__ import annotations

import math
import os

import numpy as np
from scipy.special import ndtr, ndtri

from rlvr.errors import UserError

# Resampled counts are drawn this many cells (resamples x distinct values) at a time: memory stays near 32 MB
# however ragged the data set.
_CELLS_PER_BATCH = 4_000_000


def bootstrap_bytes(n_resamples: int, statistics: int) -> int:
    """Memory a bootstrap of ``statistics`` rows holds: 8 bytes per resample for each row's resampled means, and as
    much again for the sorted copy and the comparisons of one row's interval."""
    return 8 * n_resamples * (statistics + 2)


def check_bootstrap_memory(n_resamples: int, statistics: int) -> None:
    """Refuse --n-resamples whose resampled means would take more than half this machine's memory: numpy would
    try to allocate them and fail with a traceback (or the machine would swap) instead of computing an interval."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if bootstrap_bytes(n_resamples, statistics) <= memory // 2:
        return
    largest = memory // 2 // bootstrap_bytes(1, statistics)
    raise UserError(
        f"--n-resamples {n_resamples} needs {bootstrap_bytes(n_resamples, statistics) / 2**30:,.1f} GiB for the "
        f"bootstrap of {statistics} k values, more than half this machine's memory ({memory / 2**30:.1f} GiB); use "
        f"at most {largest:,}"
    )


def resampled_means(
    values: np.ndarray, multiplicities: np.ndarray, n_resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """Bootstrap distribution of the mean, shape (rows of ``values``, n_resamples).

    ``values`` is (statistics, distinct problems): row s holds statistic s (pass@k at one k) of each distinct
    problem, taken ``multiplicities`` times in the data. Every row is resampled with the same draws.
    """
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    multiplicities = np.asarray(multiplicities, dtype=np.int64)
    total = int(multiplicities.sum())
    probabilities = multiplicities / total
    batch = max(1, _CELLS_PER_BATCH // max(1, multiplicities.size))
    means = np.empty((values.shape[0], n_resamples), dtype=np.float64)
    for start in range(0, n_resamples, batch):
        stop = min(start + batch, n_resamples)
        counts = rng.multinomial(total, probabilities, size=stop - start)
        draws = counts.astype(np.float64)
        # Row by row (matrix-vector), so a row's means do not depend on which other rows share the call: a matrix
        # product may round differently with another row count.
        for row, statistic in enumerate(values):
            means[row, start:stop] = draws @ statistic / total
    return means


def jackknife_acceleration(values: np.ndarray, multiplicities: np.ndarray) -> float:
    """BCa acceleration of the mean from its closed-form jackknife (Efron & Tibshirani eq. 14.15).

    Equals scipy's O(N^2) leave-one-out computation: the influence of problem i is x_i - mean.
    """
    values = np.asarray(values, dtype=np.float64)
    weights = np.asarray(multiplicities, dtype=np.float64)
    influence = values - np.dot(weights, values) / weights.sum()
    spread = np.dot(weights, influence**2)
    if spread == 0.0:
        return math.nan
    return float(np.dot(weights, influence**3) / (6.0 * spread**1.5))


def bca_interval(
    point: float, distribution: np.ndarray, acceleration: float, confidence: float
) -> tuple[float, float]:
    """BCa bounds as scipy.stats.bootstrap computes them: bias from the share of resamples below the point
    (ties count half), then the adjusted percentiles of the distribution, linearly interpolated."""
    below = np.count_nonzero(distribution < point) + np.count_nonzero(distribution <= point)
    bias = ndtri(below / (2 * distribution.size))
    z_alpha = ndtri((1.0 - confidence) / 2.0)
    levels = []
    for z in (z_alpha, -z_alpha):
        shifted = bias + z
        levels.append(ndtr(bias + shifted / (1.0 - acceleration * shifted)))
    if not all(math.isfinite(level) for level in levels):
        return math.nan, math.nan
    low, high = np.quantile(distribution, levels)
    return float(low), float(high)


def percentile_interval(distribution: np.ndarray, confidence: float) -> tuple[float, float]:
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(distribution, [alpha, 1.0 - alpha])
    return float(low), float(high)


def mean_intervals(
    values: np.ndarray,
    multiplicities: np.ndarray,
    confidence: float,
    n_resamples: int,
    rng: np.random.Generator,
) -> list[tuple[float, float]]:
    """One interval per row of ``values`` (distinct problems in columns, taken ``multiplicities`` times).

    BCa, or the percentile interval where BCa is undefined (a near-degenerate sample), clipped to [0, 1] and
    widened to contain the point; a row with nothing to resample (one problem, or all equal) is the point itself.
    """
    values = np.atleast_2d(np.asarray(values, dtype=np.float64))
    multiplicities = np.asarray(multiplicities, dtype=np.int64)
    points = np.array([row @ multiplicities for row in values]) / multiplicities.sum()  # row by row, as above
    varies = (multiplicities.sum() >= 2) & (np.ptp(values, axis=1) > 0.0)
    intervals: list[tuple[float, float]] = [(float(point), float(point)) for point in points]
    if not varies.any():
        return intervals
    rows = np.flatnonzero(varies)
    distributions = resampled_means(values[rows], multiplicities, n_resamples, rng)
    for row, distribution in zip(rows, distributions, strict=True):
        point = float(points[row])
        acceleration = jackknife_acceleration(values[row], multiplicities)
        low, high = bca_interval(point, distribution, acceleration, confidence)
        if not (math.isfinite(low) and math.isfinite(high)):
            low, high = percentile_interval(distribution, confidence)
        intervals[row] = (max(0.0, min(low, point)), min(1.0, max(high, point)))
    return intervals
