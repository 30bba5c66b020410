"""Differences in Pass@k between methods, with intervals over problems and seeds: the comparison a paper reports.

    python evaluation/compare.py --samples-paths grpo_s1.json grpo_s2.json nsr_s1.json nsr_s2.json \
        --labels GRPO GRPO NSR NSR --baseline GRPO --output-path diff.json

Files with the same label are seeds (training runs) of one method; samples or counts files, merged shards allowed
(evaluation/compare_inputs.py reads and checks them). For every method against the baseline and every k: the mean
difference in unbiased Pass@k, its interval from the paired bootstrap of evaluation/paired_bootstrap.py, its
p-value, and the seeds and problems it rests on. docs/comparing.md describes the method and the file.
"""

from __future__ import annotations

import argparse
import sys
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.compare_inputs import Method, choose_k_values, group_methods, read_file_counts
from evaluation.paired_bootstrap import summarize_differences
from evaluation.pass_at_k import (
    DEFAULT_K_VALUES,
    DEFAULT_N_RESAMPLES,
    DEFAULT_SEED,
    INTERVAL_RANGES,
    add_interval_arguments,
    check_interval_settings,
)
from evaluation.results_file import DEFAULT_CONFIDENCE, default_method_name
from evaluation.results_tables import format_difference_table
from evaluation.run_identity import identity_of
from rlvr.cli import finish_parser
from rlvr.errors import UserError, exit_on_user_error
from rlvr.files import claim_output, write_json_atomically
from rlvr.output_names import shown
from rlvr.ranges import POSITIVE_INT, check_ranges

# The range of each numeric option of this command (rlvr/ranges.py)
OPTION_RANGES = {"k_values": POSITIVE_INT, "min_seeds": POSITIVE_INT, **INTERVAL_RANGES}

INTERVAL_METHOD = (
    "percentile interval of a paired bootstrap: problems resampled jointly for both methods, seeds within each "
    "method, the seed level scaled to the seed variance component and by t/z (docs/comparing.md)"
)


def compare_methods(
    methods: Sequence[Method],
    baseline: str,
    ks: Sequence[int],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> dict[str, Any]:
    """The differences document (docs/comparing.md) of every method against ``baseline`` at every k in ``ks``."""
    check_interval_settings(confidence, n_resamples, seed, len(ks))
    by_label = {method.label: method for method in methods}
    if baseline not in by_label:
        raise UserError(f"--baseline {baseline!r} is not one of the labels {list(by_label)}")
    tables = {method.label: method.pass_at_k_table(ks) for method in methods}
    num_problems = tables[baseline].shape[2]
    differences: dict[str, dict[str, dict[str, Any]]] = {}
    for method in methods:
        if method.label == baseline:
            continue
        name = f"{method.label} - {baseline}"
        # One generator per comparison: its numbers do not depend on which other methods are compared.
        rng = np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
        summaries = summarize_differences(tables[method.label], tables[baseline], confidence, n_resamples, rng)
        differences[name] = {
            str(k): {
                "difference": summary.difference,
                "interval": list(summary.interval),
                "p_value": summary.p_value,
                "num_seeds": {method.label: len(method.seeds), baseline: len(by_label[baseline].seeds)},
                "num_problems": num_problems,
            }
            for k, summary in zip(ks, summaries, strict=True)
        }
    described = {
        method.label: {
            "num_seeds": len(method.seeds),
            "files": [str(one.path) for one in method.seeds],
            "pass_at_k": {str(k): float(row.mean()) for k, row in zip(ks, tables[method.label], strict=True)},
        }
        for method in methods
    }
    metadata = {
        "interval_method": INTERVAL_METHOD,
        "confidence": confidence,
        "n_resamples": n_resamples,
        "seed": seed,
        "k_values": list(ks),
        "num_problems": num_problems,
        "methods": described,
    }
    return {"baseline": baseline, "differences": differences, "metadata": metadata}


# ---------------------------------------------------------------------------------------------------------------
# Command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Paired differences in Pass@k between methods, with bootstrap intervals over problems and seeds.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--samples-paths",
        "--samples-path",
        dest="samples_paths",
        nargs="+",
        required=True,
        type=Path,
        help="samples JSON or counts .jsonl files, one per method and seed",
    )
    parser.add_argument(
        "--labels", nargs="+", help="one label per file; files with one label are seeds (default: file names)"
    )
    parser.add_argument("--baseline", help="the label subtracted from every other (default: the first label)")
    parser.add_argument("--output", "--output-path", dest="output_path", type=Path, help="differences JSON file")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --output-path file")
    parser.add_argument(
        "--k-values", nargs="+", type=int, help="k values (default: 1 2 4 ... 256, those every file has samples for)"
    )
    parser.add_argument(
        "--intersect", action="store_true", help="compare on the problems every file has, instead of refusing"
    )
    parser.add_argument("--min-seeds", type=int, default=1, help="refuse a method with fewer seed files than this")
    add_interval_arguments(parser)
    return finish_parser(parser)


@exit_on_user_error
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    check_ranges(vars(args), OPTION_RANGES)
    check_interval_settings(args.confidence, args.n_resamples, args.seed, len(args.k_values or DEFAULT_K_VALUES))
    paths: list[Path] = args.samples_paths
    labels = args.labels or [default_method_name(path) for path in paths]
    if len(labels) != len(paths):
        raise UserError(f"--labels has {len(labels)} labels for {len(paths)} --samples-paths files")
    baseline = args.baseline or labels[0]
    if baseline not in labels:
        raise UserError(f"--baseline {baseline!r} is not one of the labels {list(dict.fromkeys(labels))}")
    outputs = [] if args.output_path is None else [args.output_path]
    with claim_output(outputs, "--output-path", inputs=paths, overwrite=args.overwrite) as claimed:
        files = [read_file_counts(path) for path in paths]
        methods, problem_ids = group_methods(files, labels, intersect=args.intersect, min_seeds=args.min_seeds)
        ks = choose_k_values(methods, args.k_values, DEFAULT_K_VALUES)
        document = compare_methods(
            methods, baseline, ks, confidence=args.confidence, n_resamples=args.n_resamples, seed=args.seed
        )
        document["metadata"]["identity"] = {str(one.path): identity_of(one.metadata) for one in files}
        if args.intersect:
            left_out = {str(one.path): len(one.problem_ids) - len(problem_ids) for one in files}
            document["metadata"]["problems_left_out_by_intersect"] = left_out
        for output in claimed:
            write_json_atomically(output, document)
    print(format_difference_table(document))
    if outputs:
        print(f"wrote {shown(args.output_path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
