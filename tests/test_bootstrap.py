"""The fast bootstrap of a mean: closed-form jackknife against the quadratic one, and intervals against scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import bootstrap

from evaluation.bootstrap import jackknife_acceleration, mean_intervals, resampled_means
from evaluation.pass_at_k import bootstrap_interval


def quadratic_acceleration(data: np.ndarray) -> float:
    """Efron & Tibshirani eq. 14.15 the old way: every leave-one-out mean computed from scratch, O(N^2)."""
    n = data.size
    leave_one_out = np.array([np.delete(data, i).mean() for i in range(n)])
    influence = (n - 1) * (leave_one_out.mean() - leave_one_out)
    return float(np.sum(influence**3) / (6.0 * np.sum(influence**2) ** 1.5))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_closed_form_jackknife_equals_the_quadratic_leave_one_out(seed):
    rng = np.random.default_rng(seed)
    data = rng.choice([0.0, 0.25, 0.5, 1.0], size=37, p=[0.5, 0.2, 0.2, 0.1])
    distinct, multiplicities = np.unique(data, return_counts=True)
    assert jackknife_acceleration(distinct, multiplicities) == pytest.approx(quadratic_acceleration(data), rel=1e-9)
    assert jackknife_acceleration(data, np.ones_like(data)) == pytest.approx(quadratic_acceleration(data), rel=1e-9)


def test_resampled_means_have_the_bootstrap_distribution_of_the_mean():
    data = np.array([0.0] * 60 + [0.5] * 25 + [1.0] * 15)
    distinct, multiplicities = np.unique(data, return_counts=True)
    means = resampled_means(distinct, multiplicities, 40_000, np.random.default_rng(3))[0]
    # Resampling N problems with replacement: centred on the mean, standard deviation sigma / sqrt(N).
    assert means.mean() == pytest.approx(data.mean(), abs=1e-3)
    assert means.std() == pytest.approx(data.std() / np.sqrt(data.size), rel=0.02)
    assert np.all(np.isin(np.round(means * data.size * 2), np.arange(2 * data.size + 1)))  # sums of data values


@pytest.mark.parametrize("seed", [4, 5])
def test_intervals_agree_with_scipy_bootstrap_bca(seed):
    rng = np.random.default_rng(seed)
    data = rng.beta(0.5, 1.5, size=80).round(2)
    ours = bootstrap_interval(data, 0.95, 50_000, np.random.default_rng(seed))
    theirs = bootstrap(
        (data,), np.mean, n_resamples=50_000, confidence_level=0.95, method="BCa", rng=np.random.default_rng(seed)
    ).confidence_interval
    assert ours == pytest.approx((theirs.low, theirs.high), abs=0.004)


def test_every_row_is_resampled_with_the_same_draws_and_rows_do_not_affect_each_other():
    values = np.array([[0.0, 0.5, 1.0], [0.0, 0.9, 1.0]])
    multiplicities = np.array([5, 3, 2])
    both = mean_intervals(values, multiplicities, 0.9, 500, np.random.default_rng(9))
    second = mean_intervals(values[1:], multiplicities, 0.9, 500, np.random.default_rng(9))
    assert both[1] == second[0]
    assert both[0] != both[1]


def test_memory_is_bounded_by_batches_of_resamples(monkeypatch):
    import evaluation.bootstrap as module

    monkeypatch.setattr(module, "_CELLS_PER_BATCH", 7)  # 2 resamples of 3 distinct values per draw
    values, multiplicities = np.array([0.0, 0.5, 1.0]), np.array([4, 4, 2])
    batched = resampled_means(values, multiplicities, 11, np.random.default_rng(1))
    assert batched.shape == (1, 11) and np.all((batched >= 0) & (batched <= 1))
    assert len(np.unique(batched)) > 1


def test_a_progress_bar_counts_the_groups_once_past_its_delay(monkeypatch, capsys):
    import evaluation.pass_at_k as module

    problems = [
        {"problem_id": index, "question": "q", "answer": "a", "samples": ["s"] * 4,
         "correct": [True] * c + [False] * (4 - c), "num_correct": c, "num_total": 4,
         "dataset": "one" if index % 2 else "two"}
        for index, c in enumerate([0, 1, 2, 3, 4, 2])
    ]  # fmt: skip
    module.compute_results(problems, n_resamples=50)
    assert "pass@k intervals" not in capsys.readouterr().err  # a quick run prints nothing
    monkeypatch.setattr(module, "_PROGRESS_DELAY_S", 0.0)
    module.compute_results(problems, n_resamples=50)
    assert "3/3" in capsys.readouterr().err  # all problems, then the datasets "one" and "two"
