"""Pass@k from a samples file: the unbiased estimator, bootstrap intervals over problems, and the command line.

Run from the repository root (``python evaluation/pass_at_k.py --samples-path samples.json --output-path
results.json``) or import ``evaluation.pass_at_k``. docs/pass-at-k-statistics.md describes the estimator and the
intervals, docs/file-formats.md the schemas: samples in (a samples JSON file, or a counts ``.jsonl`` file for large
runs), results out. The tables it prints are in evaluation/results_tables.py, reading a results file back in
evaluation/results_file.py.
"""

from __future__ import annotations

import argparse
import sys
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from evaluation.bootstrap import check_bootstrap_memory, mean_intervals
from evaluation.counts_file import SampleCounts, counts_of, is_counts_path, load_counts
from evaluation.results_file import DEFAULT_CONFIDENCE, default_method_name, load_results, method_name_of
from evaluation.results_tables import format_comparison_table, format_results_table
from evaluation.run_identity import check_same_evaluation
from rlvr.cli import finish_parser
from rlvr.errors import UserError, exit_on_user_error
from rlvr.estimators import pass_at_k
from rlvr.files import claim_output, read_json, write_json_atomically
from rlvr.ranges import POSITIVE_INT, Range, check_ranges

DEFAULT_K_VALUES: tuple[int, ...] = tuple(2**power for power in range(9))  # 1, 2, 4, ..., 256 as in the paper
DEFAULT_N_RESAMPLES = 10_000
DEFAULT_SEED = 2025
_PROGRESS_DELAY_S = 2.0  # seconds before the progress bar of the intervals shows


# ---------------------------------------------------------------------------------------------------------------
# Pass@k with intervals, overall and per group


def compute_results(
    problems: SampleCounts | Sequence[dict[str, Any]],
    k_values: Iterable[int] | None = None,
    *,
    allow_ragged: bool = False,
    confidence: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    seed: int = DEFAULT_SEED,
    method: str = "method",
    samples_path: str | None = None,
    generation: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The results object (schema in docs/file-formats.md) for ``problems``: counts read from a file (checked as they
    were read) or samples-file records (checked here).

    ``k_values`` None means 1, 2, 4, ..., 256 up to the largest n. An explicit k larger than n is an error;
    with ``allow_ragged`` problems may have different n and each k averages over the problems with n >= k.
    """
    source = samples_path or "<problems>"
    counts = problems if isinstance(problems, SampleCounts) else counts_of(problems, source)
    num_samples, num_correct = counts.num_samples, counts.num_correct
    _check_uniform_n(num_samples, allow_ragged, source)
    ks = _choose_k_values(k_values, num_samples, allow_ragged, source)
    check_interval_settings(confidence, n_resamples, seed, len(ks))

    # Every group (all problems, then each breakdown group) is one job; the bar appears only past a few seconds.
    jobs: list[tuple[str, str, np.ndarray]] = [("", "", np.ones(len(counts), dtype=bool))]
    for field, field_labels in counts.labels.items():
        labels = np.array(["unknown" if label is None else label for label in field_labels], dtype=object)
        jobs += [(field, group, labels == group) for group in sorted(set(labels))]
    summaries = []
    for field, group, mask in tqdm(jobs, desc="pass@k intervals", unit="group", delay=_PROGRESS_DELAY_S):
        scope = f"{field}={group}" if field else ""
        summary = _summarize_group(num_samples[mask], num_correct[mask], ks, confidence, n_resamples, seed, scope)
        summaries.append(summary)
    overall = summaries[0]
    breakdown: dict[str, dict[str, Any]] = {}
    for (field, group, _), summary in zip(jobs[1:], summaries[1:], strict=True):
        breakdown.setdefault(field, {})[group] = summary

    uniform = bool(num_samples.min() == num_samples.max())
    metadata: dict[str, Any] = {
        "method": method,
        "num_problems": len(counts),
        "samples_per_problem": int(num_samples[0]) if uniform else None,
        "samples_per_problem_range": [int(num_samples.min()), int(num_samples.max())],
        "samples_path": samples_path,
        "confidence": confidence,
        "n_resamples": n_resamples,
        "seed": seed,
    }
    if generation:
        metadata["generation"] = generation
    return {
        "pass_at_k": overall["pass_at_k"],
        "k_values": ks,
        "confidence_intervals": overall["confidence_intervals"],
        "num_problems_per_k": overall["num_problems_per_k"],
        "breakdown": breakdown,
        "metadata": metadata,
    }


INTERVAL_RANGES = {
    "confidence": Range(low=0, high=1, low_open=True, high_open=True),
    "n_resamples": Range(low=2, integer=True),
    "seed": Range(low=0, integer=True),
}


# The range of each numeric option of this command (rlvr/ranges.py)
OPTION_RANGES = {"k_values": POSITIVE_INT, **INTERVAL_RANGES}


def check_interval_settings(
    confidence: float, n_resamples: int, seed: int, statistics: int = len(DEFAULT_K_VALUES)
) -> None:
    """The bootstrap's settings in range, and its resampled means (``statistics`` k values) within memory."""
    check_ranges({"confidence": confidence, "n_resamples": n_resamples, "seed": seed}, INTERVAL_RANGES)
    check_bootstrap_memory(n_resamples, statistics)


def _check_uniform_n(num_samples: np.ndarray, allow_ragged: bool, source: str) -> None:
    if allow_ragged or num_samples.min() == num_samples.max():
        return
    odd_one = int(np.flatnonzero(num_samples != num_samples[0])[0])
    raise UserError(
        f"{source}: problem {odd_one} has {num_samples[odd_one]} samples but problem 0 has {num_samples[0]}; "
        "problems must share n (pass --allow-ragged to average each k over the problems with n >= k)"
    )


def _choose_k_values(
    k_values: Iterable[int] | None, num_samples: np.ndarray, allow_ragged: bool, source: str
) -> list[int]:
    largest_n, smallest_n = int(num_samples.max()), int(num_samples.min())
    if k_values is None:
        return [k for k in DEFAULT_K_VALUES if k <= largest_n]
    requested = list(k_values)
    if not requested or any(isinstance(k, bool) or int(k) != k or k < 1 for k in requested):
        raise UserError(f"k values must be positive integers, got {requested}")
    ks = sorted({int(k) for k in requested})
    for k in ks:
        if k > largest_n:
            raise UserError(f"{source}: k={k} is larger than the number of samples per problem ({largest_n})")
        if k > smallest_n and not allow_ragged:
            raise UserError(f"{source}: k={k} is larger than the {smallest_n} samples of some problems")
    return ks


def _summarize_group(
    num_samples: np.ndarray,
    num_correct: np.ndarray,
    ks: Sequence[int],
    confidence: float,
    n_resamples: int,
    seed: int,
    scope: str,
) -> dict[str, Any]:
    # Pass@k depends on a problem only through (n, c): the estimator and the bootstrap work on the distinct pairs
    # and how often each occurs (evaluation/bootstrap.py), which is what makes 100,000 problems cheap.
    # One integer per pair (n * (max c + 1) + c): np.unique on integers is far faster than on pairs (axis=1).
    base = int(num_correct.max(initial=0)) + 1
    keys, multiplicities = np.unique(num_samples * base + num_correct, return_counts=True)
    pair_n, pair_c = np.divmod(keys, base)
    values: dict[str, float] = {}
    intervals: dict[str, list[float]] = {}
    counts: dict[str, int] = {}
    # The k values whose problems are the same set (all with n >= k) share one bootstrap draw; the set is named by
    # its smallest n, so an interval does not change when other k values or groups are requested.
    ks_by_smallest_n: dict[int, list[int]] = {}
    for k in ks:
        counted = pair_n >= k
        counts[str(k)] = int(multiplicities[counted].sum())
        if not counted.any():
            continue  # a ragged group where no problem has k samples: nothing to report at this k
        ks_by_smallest_n.setdefault(int(pair_n[counted].min()), []).append(k)
    for smallest_n, same_problems in ks_by_smallest_n.items():
        counted = pair_n >= smallest_n
        table = np.stack([pass_at_k(pair_n[counted], pair_c[counted], k) for k in same_problems])
        weights = multiplicities[counted]
        rng = np.random.default_rng([seed, smallest_n, zlib.crc32(scope.encode("utf-8"))])
        bounds = mean_intervals(table, weights, confidence, n_resamples, rng)
        for k, row, interval in zip(same_problems, table, bounds, strict=True):
            values[str(k)] = float(np.dot(row, weights) / weights.sum())
            intervals[str(k)] = list(interval)
    return {
        "pass_at_k": values,
        "confidence_intervals": intervals,
        "num_problems_per_k": counts,
        "num_problems": len(num_samples),
    }


def bootstrap_interval(
    per_problem: np.ndarray, confidence: float, n_resamples: int, rng: np.random.Generator
) -> tuple[float, float]:
    """BCa bootstrap interval of the mean over problems; the point itself when there is nothing to resample."""
    distinct, multiplicities = np.unique(np.asarray(per_problem, dtype=np.float64), return_counts=True)
    return mean_intervals(distinct, multiplicities, confidence, n_resamples, rng)[0]


# ---------------------------------------------------------------------------------------------------------------
# Command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Pass@k (unbiased estimator) with bootstrap confidence intervals from samples files.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--samples-path", nargs="+", required=True, type=Path, help="samples JSON or counts .jsonl file(s)"
    )
    parser.add_argument(
        "--output",
        "--output-path",
        dest="output_path",
        nargs="+",
        type=Path,
        help="results JSON file(s), one per samples file; omit to only print",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing --output files")
    parser.add_argument(
        "--method-name", nargs="+", help="name per samples file (default: file name without 'samples_')"
    )
    parser.add_argument(
        "--baseline",
        help="method name, samples file or results file to compare against (differences in the table)",
    )
    parser.add_argument(
        "--k-values", nargs="+", type=int, help="k values to report (default: 1 2 4 ... 256, those <= n)"
    )
    parser.add_argument(
        "--allow-ragged", action="store_true", help="allow problems with different n; each k uses problems with n >= k"
    )
    add_interval_arguments(parser)
    return finish_parser(parser)


def add_interval_arguments(parser: argparse.ArgumentParser) -> None:
    """--confidence, --n-resamples and --seed of the bootstrap (this command's and compare.py's)."""
    parser.add_argument("--confidence", type=float, default=DEFAULT_CONFIDENCE, help="interval level")
    parser.add_argument("--n-resamples", type=int, default=DEFAULT_N_RESAMPLES, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the bootstrap")


@exit_on_user_error
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    samples_paths: list[Path] = args.samples_path
    names = args.method_name or [default_method_name(path) for path in samples_paths]
    if len(names) != len(samples_paths):
        raise UserError(f"--method-name has {len(names)} names for {len(samples_paths)} samples files")
    if len(set(names)) != len(names):
        raise UserError(f"method names must differ, got {names}; name them with --method-name")
    if args.output_path is not None and len(args.output_path) != len(samples_paths):
        raise UserError(f"--output has {len(args.output_path)} paths for {len(samples_paths)} samples files")
    inputs = [*samples_paths, *([Path(args.baseline)] if args.baseline else [])]
    check_ranges(vars(args), OPTION_RANGES)
    check_interval_settings(args.confidence, args.n_resamples, args.seed, len(args.k_values or DEFAULT_K_VALUES))
    if args.baseline is not None and args.baseline not in names and not Path(args.baseline).is_file():
        raise UserError(f"--baseline {args.baseline!r} is neither a method name ({', '.join(names)}) nor a file")
    # The outputs are locked from their check to their rename: of two runs onto one output, the second is refused
    with claim_output(args.output_path or [], "--output", inputs=inputs, overwrite=args.overwrite) as output_paths:
        named_results, baseline = _compute_all(args, samples_paths, names)
        for (_, results), results_path in zip(named_results[-len(samples_paths) :], output_paths, strict=False):
            write_json_atomically(results_path, results)

    if len(named_results) == 1 and baseline is None:
        print(format_results_table(named_results[0][1]))
    else:
        print(format_comparison_table(named_results, baseline))
    for results_path in output_paths:
        print(f"wrote {results_path}")
    return 0


def _compute_all(
    args: argparse.Namespace, samples_paths: Sequence[Path], names: list[str]
) -> tuple[list[tuple[str, dict[str, Any]]], str | None]:
    """Every input's results, the baseline's first when it is a file of its own, and the baseline's name.

    Files are read one at a time (a samples file can be large); the caller writes only when every input and the
    baseline have passed, so a bad file leaves no partial set of results behind.
    """

    def compute_for(path: Path, name: str) -> dict[str, Any]:
        counts, generation = load_counts(path)
        return compute_results(
            counts,
            args.k_values,
            allow_ragged=args.allow_ragged,
            confidence=args.confidence,
            n_resamples=args.n_resamples,
            seed=args.seed,
            method=name,
            samples_path=str(path),
            generation=generation,
        )

    named_results = [(name, compute_for(path, name)) for path, name in zip(samples_paths, names, strict=True)]
    baseline = _resolve_baseline(args.baseline, samples_paths, names, named_results, compute_for)
    if baseline is not None:  # a difference column: every result must be of one evaluation
        inputs_by_name = {name: str(path) for path, name in zip(samples_paths, names, strict=True)}
        check_same_evaluation(
            [
                (inputs_by_name.get(name, f"--baseline {args.baseline}"), _generation_of(results))
                for name, results in named_results
            ]
        )
    return named_results, baseline


def _generation_of(results: dict[str, Any]) -> dict[str, Any]:
    """The samples file's metadata a results file copied (its task, dataset, rows and model), or {} when none."""
    metadata = results.get("metadata")
    generation = metadata.get("generation") if isinstance(metadata, dict) else None
    return generation if isinstance(generation, dict) else {}


def _resolve_baseline(
    baseline: str | None,
    samples_paths: Sequence[Path],
    names: list[str],
    named_results: list[tuple[str, dict[str, Any]]],
    compute_for: Any,
) -> str | None:
    """The baseline's method name; a file that is not one of the inputs is loaded and added to ``named_results``."""
    if baseline is None or baseline in names:
        return baseline
    candidate = Path(baseline)
    for path, name in zip(samples_paths, names, strict=True):
        if candidate.exists() and path.exists() and candidate.resolve() == path.resolve():
            return name
    data = None if is_counts_path(candidate) else read_json(candidate, "baseline file")
    if isinstance(data, dict) and "pass_at_k" in data:
        results = load_results(candidate)
        name = method_name_of(results, candidate)
    else:
        name = default_method_name(candidate)
        results = compute_for(candidate, name)
    if name in names:
        name = f"{name} (baseline file)"
    named_results.insert(0, (name, results))
    return name


if __name__ == "__main__":
    sys.exit(main())
