"""What compare.py compares: samples or counts files grouped into methods (files with one label are its seeds), on
one shared, ordered set of problems, each file checked against the others.

Refused, each in one line: a file given twice, a shard of a sharded run that was not merged, files of different
tasks, datasets or splits or sampled from other rows (as their metadata records them: evaluation/run_identity.py),
problem sets that differ (unless ``intersect``), a method with fewer seeds than asked for, and a k larger than some
file's samples of some problem.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.counts_file import is_counts_path, read_count_records
from evaluation.run_identity import check_same_evaluation
from evaluation.samples_file import read_samples_file
from rlvr.errors import UserError
from rlvr.estimators import pass_at_k


@dataclass(frozen=True)
class SeedRun:
    """One file: per problem (in the comparison's order) the samples drawn and the correct ones."""

    path: Path
    num_samples: np.ndarray
    num_correct: np.ndarray


@dataclass(frozen=True)
class Method:
    """A label and its seeds, every seed on the same problems in the same order."""

    label: str
    seeds: tuple[SeedRun, ...]

    def pass_at_k_table(self, ks: Sequence[int]) -> np.ndarray:
        """(k values, seeds, problems) of per-problem unbiased Pass@k."""
        return np.array([[pass_at_k(seed.num_samples, seed.num_correct, k) for seed in self.seeds] for k in ks])


@dataclass(frozen=True)
class FileCounts:
    """A file as read: its problems' ids and counts in file order, and its metadata."""

    path: Path
    problem_ids: list[Any]
    num_samples: np.ndarray
    num_correct: np.ndarray
    metadata: dict[str, Any]


def read_file_counts(path: Path) -> FileCounts:
    """A samples file (JSON) or a counts file (.jsonl), checked as pass_at_k.py checks it."""
    records, metadata = read_count_records(path) if is_counts_path(path) else read_samples_file(path)
    return FileCounts(
        path=path,
        problem_ids=[record["problem_id"] for record in records],
        num_samples=np.array([record["num_total"] for record in records], dtype=np.int64),
        num_correct=np.array([record["num_correct"] for record in records], dtype=np.int64),
        metadata=metadata,
    )


def group_methods(
    files: Sequence[FileCounts], labels: Sequence[str], *, intersect: bool = False, min_seeds: int = 1
) -> tuple[list[Method], list[Any]]:
    """(methods in order of first appearance, the shared problem ids) after every check of the module docstring."""
    if len(labels) != len(files):
        raise UserError(f"--labels has {len(labels)} labels for {len(files)} --samples-paths files")
    _check_distinct_files(files)
    for one in files:
        _check_not_a_shard(one)
    check_same_evaluation([(str(one.path), one.metadata) for one in files])
    problem_ids = _shared_problems(files, intersect)
    by_label: dict[str, list[SeedRun]] = {}
    for one, label in zip(files, labels, strict=True):
        position = {problem_id: index for index, problem_id in enumerate(one.problem_ids)}
        order = np.array([position[problem_id] for problem_id in problem_ids], dtype=np.int64)
        by_label.setdefault(label, []).append(SeedRun(one.path, one.num_samples[order], one.num_correct[order]))
    if len(by_label) < 2:
        raise UserError(f"every file has the label {labels[0]!r}: a comparison needs at least two labels (methods)")
    methods = [Method(label, tuple(seeds)) for label, seeds in by_label.items()]
    for method in methods:
        if len(method.seeds) < min_seeds:
            raise UserError(
                f"{method.label} has {len(method.seeds)} seed file(s) but --min-seeds asks for {min_seeds}; give one "
                "file per training seed, each with the method's label"
            )
    return methods, problem_ids


def choose_k_values(methods: Sequence[Method], requested: Iterable[int] | None, default: Sequence[int]) -> list[int]:
    """The requested k values (each at most every file's samples of every problem), or the default ones that are."""
    fewest = min((int(seed.num_samples.min()), str(seed.path)) for method in methods for seed in method.seeds)
    if requested is None:
        return [k for k in default if k <= fewest[0]]
    ks = sorted(set(requested))
    if any(k < 1 for k in ks):
        raise UserError(f"--k-values must be positive integers, got {list(requested)}")
    for method in methods:
        for seed in method.seeds:
            short = np.flatnonzero(seed.num_samples < ks[-1])
            if short.size:
                raise UserError(
                    f"{seed.path}: k={ks[-1]} is larger than the {seed.num_samples[short[0]]} samples of one of its "
                    f"problems; every file needs at least k samples of every problem (largest k possible here: "
                    f"{fewest[0]})"
                )
    return ks


def _check_distinct_files(files: Sequence[FileCounts]) -> None:
    seen: dict[Path, Path] = {}
    for one in files:
        resolved = one.path.resolve()
        if resolved in seen:
            raise UserError(f"{one.path} is given twice (as {seen[resolved]}): each seed's file once")
        seen[resolved] = one.path


def _check_not_a_shard(one: FileCounts) -> None:
    num_shards = one.metadata.get("num_shards", 1)
    if isinstance(num_shards, int) and num_shards > 1:
        raise UserError(
            f"{one.path} is shard {one.metadata.get('shard_index')} of {num_shards} of one run; merge the shards "
            "first (python -m evaluation.merge_samples --output-path merged.json <every shard>)"
        )


def _shared_problems(files: Sequence[FileCounts], intersect: bool) -> list[Any]:
    """The problem ids of the first file that every file has, in the first file's order."""
    first = files[0]
    shared = set(first.problem_ids)
    for one in files[1:]:
        ids = set(one.problem_ids)
        if ids != shared and not intersect:
            only_here, only_there = sorted(ids - shared, key=str), sorted(shared - ids, key=str)
            example = f"e.g. {only_here[0]!r} only in {one.path}" if only_here else f"e.g. {only_there[0]!r} not in it"
            raise UserError(
                f"{one.path} and {first.path} hold different problems ({len(only_here)} only in the one, "
                f"{len(only_there)} only in the other; {example}); pass --intersect to compare on the shared ones"
            )
        shared &= ids
    if not shared:
        raise UserError("the files share no problem (by problem_id), so there is nothing to compare")
    return [problem_id for problem_id in first.problem_ids if problem_id in shared]
