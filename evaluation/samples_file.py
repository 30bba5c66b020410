"""The samples file: one schema, written by generate_samples.py and read by pass_at_k.py.

A samples file is ``{"metadata": {...}, "problems": [...]}`` (a bare list of problems is read too). Each problem:
``problem_id``, ``question``, ``answer``, ``samples`` (the completions), ``correct`` (one true/false per sample,
the verifiable reward against the threshold), ``num_correct``, ``num_total``, and optionally ``dataset`` and
``question_type`` for breakdowns. docs/file-formats.md shows an example. For runs too large to hold every sample,
evaluation/counts_file.py keeps only the counts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from itertools import repeat
from pathlib import Path
from typing import Any, Protocol

from rlvr.errors import UserError
from rlvr.files import read_json, write_atomically
from rlvr.ranges import beyond_int64


class RunSettings(Protocol):
    """What wrote the file (evaluation/sampling.py's SamplingSettings): its settings become the file's metadata."""

    def as_dict(self) -> dict[str, Any]: ...


BREAKDOWN_FIELDS = ("dataset", "question_type")

_INTEGER = "an integer"
MAX_COUNT = 2**63 - 1  # counts are held as int64 arrays (evaluation/counts_file.py)
_REQUIRED_FIELDS: dict[str, str] = {
    "problem_id": "a string or an integer",
    "question": "a string",
    "answer": "a string, a number or a list of them",
    "samples": "a list of strings",
    "correct": "a list of true/false values",
    "num_correct": _INTEGER,
    "num_total": _INTEGER,
}
_OPTIONAL_FIELDS: dict[str, str] = {field: "a string" for field in BREAKDOWN_FIELDS}
# What Pass@k reads of a problem; a counts file (evaluation/counts_file.py) holds only these and the breakdown.
COUNT_FIELDS: dict[str, str] = {field: _REQUIRED_FIELDS[field] for field in ("problem_id", "num_correct", "num_total")}


# Writing


def write_samples_file(path: Path, settings: RunSettings, problems: list[dict[str, Any]]) -> None:
    """The file pass_at_k.py reads, written through a temporary file so no reader sees half of it."""
    metadata = {**settings.as_dict(), "num_problems": len(problems), "date": datetime.now(UTC).isoformat()}
    document = {"metadata": metadata, "problems": problems}
    write_atomically(path, json.dumps(document, ensure_ascii=False, indent=1) + "\n")


# Reading and checking


def load_samples(path: str | Path) -> list[dict[str, Any]]:
    """The problems of a samples file (either layout), each checked; UserError names the file and problem."""
    return read_samples_file(path)[0]


def read_samples_file(path: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(problems, metadata) of a samples file: a JSON list of problems, or {"metadata": {...}, "problems": [...]}."""
    path = Path(path)
    data = read_json(path, "samples file")
    if isinstance(data, list):
        problems, metadata = data, {}
    elif isinstance(data, dict):
        if "problems" not in data:
            raise UserError(f"{path}: a samples object needs a 'problems' list (and may have 'metadata')")
        problems, metadata = data["problems"], data.get("metadata") or {}
        if not isinstance(problems, list):
            raise UserError(f"{path}: 'problems' must be a list, got {type(problems).__name__}")
        if not isinstance(metadata, dict):
            raise UserError(f"{path}: 'metadata' must be an object, got {type(metadata).__name__}")
    else:
        raise UserError(f"{path}: expected a list of problems or an object with 'problems', got {type(data).__name__}")
    validate_problems(problems, source=str(path))
    return problems, metadata


def validate_problems(problems: Sequence[Any], source: str = "<problems>") -> None:
    """Raise UserError on the first problem that breaks the samples schema, naming ``source`` and its index."""
    if len(problems) == 0:
        raise UserError(f"{source}: no problems in the file")
    first_index_of_id: dict[Any, int] = {}
    for index, problem in enumerate(problems):
        where = f"{source}: problem {index}"
        _validate_problem(problem, where)
        check_unique_id(first_index_of_id, problem["problem_id"], index, where)


def check_unique_id(
    first_index_of_id: dict[Any, int], problem_id: Any, index: int, where: str, unit: str = "problem"
) -> None:
    """Record ``problem_id`` at ``index`` (a problem index, or a line number with ``unit`` "line"); UserError if an
    earlier problem has it."""
    if problem_id in first_index_of_id:
        raise UserError(f"{where}: problem_id {problem_id!r} already used by {unit} {first_index_of_id[problem_id]}")
    first_index_of_id[problem_id] = index


def check_fields(problem: Any, where: str, required: Mapping[str, str]) -> None:
    """The ``required`` fields are there with their types, the breakdown fields are strings where given, and
    ``num_total`` is at least 1 and ``num_correct`` between 0 and it."""
    if not isinstance(problem, dict):
        raise UserError(f"{where}: expected an object, got {type(problem).__name__}")
    for field, expected in required.items():
        if field not in problem:
            raise UserError(f"{where}: missing key '{field}'")
        if not _has_type(field, problem[field]):
            raise UserError(f"{where}: '{field}' must be {expected}, got {_describe(problem[field])}")
    for field, expected in _OPTIONAL_FIELDS.items():
        if problem.get(field) is not None and not isinstance(problem[field], str):
            raise UserError(f"{where}: '{field}' must be {expected}, got {_describe(problem[field])}")
    for field in ("num_total", "num_correct"):
        if beyond_int64(problem[field]) is not None:
            raise UserError(f"{where}: '{field}' is {problem[field]}, an integer too large to hold (int64 at most)")
    num_total, num_correct = problem["num_total"], problem["num_correct"]
    if num_total < 1:
        raise UserError(f"{where}: num_total must be at least 1, got {num_total}")
    if num_total > MAX_COUNT:
        raise UserError(f"{where}: num_total must fit in 64 bits (at most {MAX_COUNT}), got {num_total:.3g}")
    if not 0 <= num_correct <= num_total:
        raise UserError(f"{where}: num_correct must lie between 0 and num_total ({num_total}), got {num_correct}")


def _validate_problem(problem: Any, where: str) -> None:
    check_fields(problem, where, _REQUIRED_FIELDS)
    num_total, num_correct = problem["num_total"], problem["num_correct"]
    if len(problem["correct"]) != num_total:
        raise UserError(f"{where}: len(correct) is {len(problem['correct'])} but num_total is {num_total}")
    if len(problem["samples"]) != num_total:
        raise UserError(f"{where}: len(samples) is {len(problem['samples'])} but num_total is {num_total}")
    if num_correct != sum(problem["correct"]):
        raise UserError(f"{where}: num_correct is {num_correct} but 'correct' holds {sum(problem['correct'])} true")


def _has_type(field: str, value: Any) -> bool:
    # bool is a subclass of int in Python, and true/false is never a count or an id here.
    if isinstance(value, bool):
        return False
    if field == "problem_id":
        return isinstance(value, str | int)
    if field == "answer":
        # A list holds several accepted answers (ChartQAPro's Answer column is one).
        items = value if isinstance(value, list) else [value]
        return bool(items) and all(
            isinstance(item, str | int | float) and not isinstance(item, bool) for item in items
        )
    if field == "question":
        return isinstance(value, str)
    if field == "samples":
        return isinstance(value, list) and all(map(isinstance, value, repeat(str)))
    if field == "correct":
        # map() keeps the per-item check in C: 100,000 problems x 256 samples are checked in about a second.
        return isinstance(value, list) and all(map(isinstance, value, repeat(bool)))
    return isinstance(value, int)


def _describe(value: Any) -> str:
    if isinstance(value, list):
        kinds = sorted({type(item).__name__ for item in value})
        return f"a list of {'/'.join(kinds)}" if kinds else "an empty list"
    return f"{type(value).__name__} {value!r}"[:80]
