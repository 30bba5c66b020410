"""The unbiased Pass@k estimator, shared by evaluation/pass_at_k.py (results files, intervals) and the experiments."""

from __future__ import annotations

import numpy as np


def pass_at_k(num_samples: np.ndarray, num_correct: np.ndarray, k: int) -> np.ndarray:
    """Unbiased pass@k per problem, 1 - C(n-c, k) / C(n, k), for n samples of which c are correct.

    Evaluated as 1 - prod_{i=n-c+1..n} (1 - k/i): the binomials themselves overflow floats (C(256, 128) ~ 6e75)
    and their ratio near 1 would lose digits to cancellation. Each factor is (i - k) / i with an exact integer
    numerator, so the product is good to about 1e-15; the factor at i = k is exactly 0, so problems with
    n - c < k come out as exactly 1.
    """
    n = np.asarray(num_samples, dtype=np.int64)
    c = np.asarray(num_correct, dtype=np.int64)
    if n.shape != c.shape:
        raise ValueError(f"num_samples has shape {n.shape} but num_correct has shape {c.shape}")
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if np.any(c < 0) or np.any(c > n):
        raise ValueError("num_correct must lie between 0 and num_samples for every problem")
    if np.any(n < k):
        raise ValueError(f"k={k} is larger than the number of samples of some problem (smallest n is {n.min()})")
    product = np.ones(n.shape, dtype=np.float64)
    # One pass per rank j of a correct sample keeps memory at one float per problem; i = n - j walks n..n-c+1.
    for j in range(int(c.max(initial=0))):
        active = j < c
        i = np.where(active, n - j, 1)  # 1 where inactive only to keep the division defined; masked below
        product *= np.where(active, (i - k) / i, 1.0)
    return 1.0 - product
