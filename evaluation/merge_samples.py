"""Merge the samples files of a sharded generate_samples.py run into the one file an unsharded run writes.

    python -m evaluation.merge_samples --output-path samples_nsr.json samples_nsr.shard*.json

Every shard of the run must be there once, written with the same settings from the same model weights and dataset
rows (evaluation/run_identity.py; shards that do not record them are merged unchecked); the merged file has the
problems in index order and the metadata of one run over the whole dataset (num_shards 1, shard_index 0), so
pass_at_k.py and plotting.py read it like any samples file. Counts files (.jsonl) merge the same way, into a
counts file.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evaluation.counts_file import is_counts_path, read_count_records, write_counts_file
from evaluation.progress import SamplingSettings
from evaluation.run_identity import model_change, rows_change, shared_identity, without_identity
from evaluation.samples_file import check_unique_id, read_samples_file, validate_problems, write_samples_file
from rlvr.cli import finish_parser
from rlvr.errors import UserError, exit_on_user_error
from rlvr.files import claim_output


def merge_shards(paths: Sequence[Path]) -> tuple[SamplingSettings, list[dict[str, Any]]]:
    """The settings of the whole run and its problems in order, from every shard's file; UserError otherwise."""
    shards: dict[int, tuple[Path, list[dict[str, Any]]]] = {}
    whole: SamplingSettings | None = None
    seen: list[tuple[Path, dict[str, Any]]] = []  # each shard's path and metadata, in the order given
    expected_shards = 0
    counts = is_counts_path(paths[0])
    for path in paths:
        if is_counts_path(path) != counts:
            raise UserError(f"{path} and {paths[0]} are not both samples files (.json) or both counts files (.jsonl)")
        problems, metadata = read_count_records(path) if counts else read_samples_file(path)
        try:
            settings = SamplingSettings.from_dict(metadata)
        except (KeyError, TypeError):
            raise UserError(f"{path}: no generate_samples.py settings in its metadata, so it is no shard") from None
        if settings.shard_index in shards:
            raise UserError(f"{path} and {shards[settings.shard_index][0]} are both shard {settings.shard_index}")
        unsharded = dataclasses.replace(settings, num_shards=1, shard_index=0)
        _check_same_run(path, metadata, seen)
        if whole is not None and without_identity(unsharded.as_dict()) != without_identity(whole.as_dict()):
            raise UserError(f"{path} was written with other settings than {paths[0]}; shards of one run only")
        if whole is not None and settings.num_shards != expected_shards:
            raise UserError(f"{path} is one of {settings.num_shards} shards, {paths[0]} one of {expected_shards}")
        whole, expected_shards = unsharded, settings.num_shards
        shards[settings.shard_index] = (path, problems)
        seen.append((path, metadata))
    assert whole is not None  # the parser requires at least one path
    # Shards that do not all record an identity field (older files) leave it unrecorded in the merged file.
    whole = dataclasses.replace(whole, **shared_identity([metadata for _, metadata in seen]))
    missing = sorted(set(range(expected_shards)) - set(shards))
    if missing:
        raise UserError(f"shard(s) {', '.join(map(str, missing))} of {expected_shards} missing")
    # Shards are contiguous runs of indices (evaluation/batching.py): in shard order the problems are in order.
    problems = [problem for index in sorted(shards) for problem in shards[index][1]]
    if counts:  # each line was checked while reading; a problem in two shards is what is left to find
        first_index_of_id: dict[Any, int] = {}
        for index, problem in enumerate(problems):
            check_unique_id(first_index_of_id, problem["problem_id"], index, f"merged shards: problem {index}")
    else:
        validate_problems(problems, source="merged shards")  # e.g. one problem in two shards
    return whole, problems


def _check_same_run(path: Path, metadata: dict[str, Any], seen: Sequence[tuple[Path, dict[str, Any]]]) -> None:
    """Refuse a shard sampled from another model or from other dataset rows than a shard before it."""
    for earlier, earlier_metadata in seen:
        model = model_change(earlier_metadata, metadata)
        if model is not None:
            raise UserError(
                f"{path} was sampled from another model than {earlier} ({model[1]} against {model[0]}); shards of "
                "one run only"
            )
        rows = rows_change(earlier_metadata, metadata)
        if rows is not None:
            raise UserError(
                f"{path} was sampled from other dataset rows than {earlier} (rows {rows[1]} against {rows[0]}): "
                "the dataset changed between them; shards of one run only"
            )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Merge the shards' samples files of one generate_samples.py run.")
    parser.add_argument("shards", nargs="+", type=Path, help="every shard's samples file")
    parser.add_argument("--output-path", type=Path, required=True, help="the merged samples file")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --output-path file")
    return finish_parser(parser)


@exit_on_user_error
def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if is_counts_path(args.output_path) != is_counts_path(args.shards[0]):
        kind = "a counts file (.jsonl)" if is_counts_path(args.shards[0]) else "a samples file (.json)"
        raise UserError(f"--output-path {args.output_path}: the shards merge into {kind}; name it so")
    claim = claim_output([args.output_path], "--output-path", inputs=args.shards, overwrite=args.overwrite)
    with claim as (output,):  # locked from its check to its rename: one merge per output at a time
        settings, problems = merge_shards(args.shards)
        write_file = write_counts_file if is_counts_path(output) else write_samples_file
        write_file(output, settings, problems)
    print(f"Wrote {args.output_path}: {len(problems)} problems from {len(args.shards)} shards")
    return 0


if __name__ == "__main__":
    sys.exit(main())
