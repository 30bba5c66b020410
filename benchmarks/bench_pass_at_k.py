"""Pass@k with its intervals on 100,000 problems x 256 samples (the issue's goal: under 10 s on two cores, under
2 GB): the whole of compute_results (schema checks, estimator, BCa intervals at k = 1..256 and per dataset).

    OMP_NUM_THREADS=1 python -m benchmarks.bench_pass_at_k [--problems 100000] [--samples 256] [--repeats 5]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from scipy.stats import bootstrap

from benchmarks.common import machine_line, median_and_spread, peak_memory_mb, timed
from evaluation.pass_at_k import bootstrap_interval, compute_results, pass_at_k
from evaluation.samples_file import validate_problems


def synthetic_problems(num_problems: int, num_samples: int, seed: int = 0) -> list[dict]:
    """Problems with Beta-distributed success rates in three datasets. Lists of samples and correct flags are
    shared between problems with the same count: the checks still read every item, memory stays small."""
    rng = np.random.default_rng(seed)
    num_correct = rng.binomial(num_samples, rng.beta(0.5, 1.5, size=num_problems))
    samples = ["an answer"] * num_samples
    flags = {c: [True] * c + [False] * (num_samples - c) for c in range(num_samples + 1)}
    datasets = ("chartqa", "chartqapro", "evochart")
    return [
        {
            "problem_id": index,
            "question": "q",
            "answer": "a",
            "samples": samples,
            "correct": flags[int(c)],
            "num_correct": int(c),
            "num_total": num_samples,
            "dataset": datasets[index % 3],
        }
        for index, c in enumerate(num_correct)
    ]


def compare_with_scipy(num_problems: int, repeats: int) -> tuple[list[float], list[float]]:
    """Seconds of one interval the old way (scipy.stats.bootstrap, index resampling and an O(N^2) jackknife) and
    the new way, on the same per-problem values."""
    rng = np.random.default_rng(1)
    values = pass_at_k(np.full(num_problems, 256), rng.binomial(256, rng.beta(0.5, 1.5, size=num_problems)), 1)

    def old_way() -> None:
        bootstrap((values,), np.mean, n_resamples=10_000, batch=500, vectorized=True, method="BCa", rng=rng)

    return timed(old_way, repeats), timed(lambda: bootstrap_interval(values, 0.95, 10_000, rng), repeats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scipy-problems", type=int, default=20_000, help="problems for the scipy comparison")
    args = parser.parse_args(argv)
    problems = synthetic_problems(args.problems, args.samples)
    seconds = timed(lambda: compute_results(problems), args.repeats)
    checks = timed(lambda: validate_problems(problems), args.repeats)
    results = compute_results(problems)
    old, new = compare_with_scipy(args.scipy_problems, min(args.repeats, 3))  # the old way is slow
    print(f"### Pass@k, {args.problems:,} problems x {args.samples} samples\n")
    print(machine_line() + "\n")
    print(f"- compute_results (checks, k = {results['k_values'][0]}..{results['k_values'][-1]}, 10,000-resample BCa")
    print(f"  intervals overall and for 3 datasets): {median_and_spread(seconds)}")
    print(f"- of which the schema checks of every sample and flag: {median_and_spread(checks)}")
    print(f"- peak memory of the process: {peak_memory_mb():.0f} MB")
    print(f"- one BCa interval on {args.scipy_problems:,} problems (one k, 10,000 resamples): scipy.stats.bootstrap")
    print(f"  as before, {median_and_spread(old)}; evaluation/bootstrap.py, {median_and_spread(new, digits=4)}")
    low, high = results["confidence_intervals"]["1"]
    print(f"- pass@1 = {results['pass_at_k']['1']:.4f} [{low:.4f}, {high:.4f}]\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
