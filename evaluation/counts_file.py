"""The counts file: what Pass@k needs of a large run, without the sample strings.

A samples file (evaluation/samples_file.py) holds every completion, which is what one reads for a small run and too
much for 100,000 problems x 256 samples: the JSON alone is gigabytes and parsing it costs far more than Pass@k.
A counts file is JSON Lines, chosen by the extension ``.jsonl``: a header line
``{"format": "rlvr sample counts 1", "metadata": {...}}``, then one line per problem with ``problem_id``,
``num_correct``, ``num_total`` and optionally ``dataset`` and ``question_type``. It is read line by line into
``SampleCounts`` (two integer arrays and the breakdown labels), so reading never holds more than one line's text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.samples_file import (
    BREAKDOWN_FIELDS,
    COUNT_FIELDS,
    RunSettings,
    check_fields,
    check_unique_id,
    read_samples_file,
    validate_problems,
)
from rlvr.errors import UserError
from rlvr.files import write_atomically

COUNTS_FORMAT = "rlvr sample counts 1"
COUNTS_SUFFIX = ".jsonl"


@dataclass(frozen=True)
class SampleCounts:
    """Per problem: samples drawn (n), correct ones (c), and its label for each breakdown field that any has."""

    num_samples: np.ndarray
    num_correct: np.ndarray
    labels: dict[str, list[str | None]]

    def __len__(self) -> int:
        return len(self.num_samples)


def is_counts_path(path: Path) -> bool:
    return path.suffix.lower() == COUNTS_SUFFIX


def counts_of(problems: Sequence[Mapping[str, Any]], source: str = "<problems>") -> SampleCounts:
    """The counts of problems not checked yet: they are checked against the samples schema first."""
    validate_problems(problems, source)
    return _collect(problems)


def _collect(problems: Iterable[Mapping[str, Any]]) -> SampleCounts:
    num_samples: list[int] = []
    num_correct: list[int] = []
    labels: dict[str, list[str | None]] = {field: [] for field in BREAKDOWN_FIELDS}
    for problem in problems:
        num_samples.append(problem["num_total"])
        num_correct.append(problem["num_correct"])
        for field, values in labels.items():
            values.append(problem.get(field))
    return SampleCounts(
        np.array(num_samples, dtype=np.int64),
        np.array(num_correct, dtype=np.int64),
        {field: values for field, values in labels.items() if any(value is not None for value in values)},
    )


def load_counts(path: Path) -> tuple[SampleCounts, dict[str, Any]]:
    """(counts, metadata) of a counts file (``.jsonl``) or a samples file (anything else), each checked once."""
    if is_counts_path(path):
        return read_counts_file(path)
    problems, metadata = read_samples_file(path)  # checked while reading
    return _collect(problems), metadata


# ---------------------------------------------------------------------------------------------------------------
# The file


def write_counts_file(path: Path, settings: RunSettings, problems: Sequence[Mapping[str, Any]]) -> None:
    """The counts of ``problems`` (samples-file records), written through a temporary file."""
    metadata = {**settings.as_dict(), "num_problems": len(problems), "date": datetime.now(UTC).isoformat()}
    lines = [json.dumps({"format": COUNTS_FORMAT, "metadata": metadata}, ensure_ascii=False)]
    kept_fields = ("problem_id", "num_correct", "num_total", *BREAKDOWN_FIELDS)
    for problem in problems:
        record = {field: problem[field] for field in kept_fields if problem.get(field) is not None}
        lines.append(json.dumps(record, ensure_ascii=False))
    write_atomically(path, "\n".join(lines) + "\n")


def read_counts_file(path: Path) -> tuple[SampleCounts, dict[str, Any]]:
    """(counts, metadata) of a counts file, every line checked; UserError names the file and line."""
    return _read_counts_file(path, _collect)


def read_count_records(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(one checked record per problem, metadata) of a counts file, for merging shards."""
    return _read_counts_file(path, list)


def _read_counts_file(path: Path, gather: Callable[[Iterable[dict[str, Any]]], Sized]) -> tuple[Any, dict[str, Any]]:
    if path.is_dir():
        raise UserError(f"{path}: is a folder, not a counts file")
    if not path.is_file():
        raise UserError(f"{path}: no such counts file")
    try:
        with open(path, encoding="utf-8") as handle:
            metadata = _read_header(path, handle.readline())
            problems = gather(_checked_lines(path, handle))
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text, so not a counts file") from None
    except OSError as error:
        raise UserError(f"{path}: cannot read the counts file ({error.strerror})") from None
    if len(problems) == 0:
        raise UserError(f"{path}: no problems in the file")
    return problems, metadata


def _read_header(path: Path, line: str) -> dict[str, Any]:
    header = _parse_line(path, line, 1) if line.strip() else None
    if not isinstance(header, dict) or header.get("format") != COUNTS_FORMAT:
        raise UserError(
            f'{path}: line 1 is not a counts header ({{"format": "{COUNTS_FORMAT}", ...}}); a .jsonl file is read '
            "as a counts file, so name a samples JSON file .json"
        )
    metadata = header.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise UserError(f"{path}: line 1: 'metadata' must be an object, got {type(metadata).__name__}")
    return metadata


def _checked_lines(path: Path, lines: Iterable[str]) -> Iterable[dict[str, Any]]:
    first_line_of_id: dict[Any, int] = {}
    for number, line in enumerate(lines, start=2):
        if not line.strip():
            continue  # a blank line (an editor's last newline) holds no problem
        problem = _parse_line(path, line, number)
        where = f"{path}: line {number}"
        check_fields(problem, where, COUNT_FIELDS)
        check_unique_id(first_line_of_id, problem["problem_id"], number, where, unit="line")
        yield problem


def _parse_line(path: Path, line: str, number: int) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as error:
        raise UserError(f"{path}: line {number} is not valid JSON ({error.msg} at column {error.colno})") from None
