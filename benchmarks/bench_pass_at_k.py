"""The Pass@k command as a user runs it: ``python evaluation/pass_at_k.py`` as its own process on a file on disk,
100,000 problems x 256 samples in a counts file (the issue's goal: under 10 s and under 1 GB on two cores),
intervals at k = 1..256 overall and per dataset included. For comparison, the same command on a samples JSON file
(every sample string) of a tenth the problems, interleaved with it, and one interval against scipy.

    python -m benchmarks.bench_pass_at_k [--problems 100000] [--json-problems 10000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy.stats import bootstrap

from benchmarks.common import interleaved, machine_line, run_process, spread, timed
from evaluation.counts_file import write_counts_file
from evaluation.pass_at_k import bootstrap_interval, pass_at_k
from evaluation.samples_file import write_samples_file

REPOSITORY = Path(__file__).resolve().parents[1]
DATASETS = ("chartqa", "chartqapro", "evochart")


class SyntheticRun:
    """The settings a synthetic file records as its metadata."""

    def as_dict(self) -> dict[str, str]:
        return {"checkpoint": "synthetic: Beta(0.5, 1.5) success rates"}


def synthetic_problems(num_problems: int, num_samples: int, with_samples: bool, seed: int = 0) -> list[dict]:
    """Problems with Beta-distributed success rates in three datasets; with ``with_samples`` each has its sample
    strings and flags, as generate_samples.py writes a samples JSON file."""
    rng = np.random.default_rng(seed)
    num_correct = rng.binomial(num_samples, rng.beta(0.5, 1.5, size=num_problems))
    problems = []
    for index, c in enumerate(num_correct.tolist()):
        problem = {"problem_id": index, "num_correct": c, "num_total": num_samples, "dataset": DATASETS[index % 3]}
        if with_samples:
            correct = [True] * c + [False] * (num_samples - c)
            samples = [f"<answer>{'42' if ok else '7'}</answer>" for ok in correct]
            problem |= {"question": "q", "answer": "42", "samples": samples, "correct": correct}
        problems.append(problem)
    return problems


def command_for(samples_path: Path, output_path: Path) -> list[str]:
    script = str(REPOSITORY / "evaluation" / "pass_at_k.py")
    return [
        sys.executable,
        script,
        "--samples-path",
        str(samples_path),
        "--output-path",
        str(output_path),
        "--overwrite",
    ]


def compare_with_scipy(num_problems: int, repeats: int) -> tuple[list[float], list[float]]:
    """Seconds of one interval the old way (scipy.stats.bootstrap, index resampling and an O(N^2) jackknife) and
    the new way (evaluation/bootstrap.py), on the same per-problem values."""
    rng = np.random.default_rng(1)
    values = pass_at_k(np.full(num_problems, 256), rng.binomial(256, rng.beta(0.5, 1.5, size=num_problems)), 1)

    def old_way() -> None:
        bootstrap((values,), np.mean, n_resamples=10_000, batch=500, vectorized=True, method="BCa", rng=rng)

    return timed(old_way, repeats), timed(lambda: bootstrap_interval(values, 0.95, 10_000, rng), repeats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    parser.add_argument("--problems", type=int, default=100_000, help="problems in the counts file")
    parser.add_argument("--json-problems", type=int, default=10_000, help="problems in the samples JSON file")
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scipy-problems", type=int, default=20_000, help="problems for the scipy comparison")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        counts_path, json_path = Path(folder) / "samples.jsonl", Path(folder) / "samples.json"
        write_counts_file(counts_path, SyntheticRun(), synthetic_problems(args.problems, args.samples, False))
        write_samples_file(json_path, SyntheticRun(), synthetic_problems(args.json_problems, args.samples, True))
        results_path = Path(folder) / "results.json"
        cases = {
            "counts": lambda: run_process(command_for(counts_path, results_path)),
            "json": lambda: run_process(command_for(json_path, Path(folder) / "results_json.json")),
        }
        runs = interleaved(cases, args.repeats)
        results = json.loads(results_path.read_text(encoding="utf-8"))
        sizes = {name: path.stat().st_size / 2**20 for name, path in (("counts", counts_path), ("json", json_path))}
    old, new = compare_with_scipy(args.scipy_problems, min(args.repeats, 3))  # the old way is slow
    seconds = {name: [run[0] for run in measured] for name, measured in runs.items()}
    peak = {name: max(run[1] for run in measured) for name, measured in runs.items()}
    print(f"### Pass@k command, {args.problems:,} problems x {args.samples} samples\n")
    print(machine_line() + "\n")
    print(
        f"`python evaluation/pass_at_k.py --samples-path FILE --output-path results.json` as its own process, k = "
        f"{results['k_values'][0]}..{results['k_values'][-1]} with 10,000-resample BCa intervals overall and for "
        f"3 datasets; the two files in turn after a warm-up round, {args.repeats} rounds; smallest / median / "
        "largest; peak resident memory of the process (largest over the rounds).\n"
    )
    print("| file | problems | size | wall time | peak memory | goal |\n|---|---|---|---|---|---|")
    print(
        f"| counts (.jsonl) | {args.problems:,} | {sizes['counts']:.0f} MB | {spread(seconds['counts'])} | "
        f"{peak['counts']:.0f} MB | under 10 s and 1,024 MB |"
    )
    print(
        f"| samples JSON | {args.json_problems:,} | {sizes['json']:.0f} MB | {spread(seconds['json'])} | "
        f"{peak['json']:.0f} MB | (for comparison: every sample string) |"
    )
    low, high = results["confidence_intervals"]["1"]
    print(f"\npass@1 = {results['pass_at_k']['1']:.4f} [{low:.4f}, {high:.4f}] on the counts file.")
    print(
        f"One BCa interval on {args.scipy_problems:,} problems (one k, 10,000 resamples): scipy.stats.bootstrap "
        f"{spread(old)}; evaluation/bootstrap.py {spread(new, digits=4)}.\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
