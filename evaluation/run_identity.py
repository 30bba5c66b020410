"""Checking a run's identity where files meet: a resumed progress file, merged shards, compared files.

The identity (rlvr/run_identity.py) is recorded in a samples or counts file's metadata beside the other settings:
``checkpoint`` (a folder's absolute path, or a name), ``model_step`` and ``model_fingerprint`` (the model's step
and weights fingerprint), and ``task``, ``dataset``, ``split`` and ``data_hash`` (the rows sampled). A field is
checked only where both sides record it: a file written before the field existed, or a model given by name (no
weights fingerprint), leaves that part unchecked rather than refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rlvr.errors import UserError

MODEL_FIELDS = ("model_step", "model_fingerprint")
ROWS_FIELD = "data_hash"
IDENTITY_FIELDS = (*MODEL_FIELDS, ROWS_FIELD)
# What must agree between results shown with a difference column: what was evaluated, then on which rows.
EVALUATION_FIELDS = ("task", "dataset", "split")
# A file's identity as compare.py's output lists it per input file.
RECORDED_FIELDS = ("checkpoint", *MODEL_FIELDS, *EVALUATION_FIELDS, ROWS_FIELD)


def identity_of(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The identity fields of a file's metadata (None where it records none)."""
    return {field: metadata.get(field) for field in RECORDED_FIELDS}


def model_change(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> tuple[str, str] | None:
    """(the recorded model, the current one) in words, when both record a step or fingerprint and they differ."""
    if not any(_both_differ(recorded, current, field) for field in MODEL_FIELDS):
        return None
    return describe_model(recorded), describe_model(current)


def rows_change(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> tuple[str, str] | None:
    """(the recorded rows hash, the current one), when both record one and they differ."""
    if not _both_differ(recorded, current, ROWS_FIELD):
        return None
    return str(recorded[ROWS_FIELD]), str(current[ROWS_FIELD])


def unchecked_identity(recorded: Mapping[str, Any]) -> list[str]:
    """What of the identity a file written before it was recorded leaves unchecked, in words."""
    missing = []
    if not any(field in recorded for field in MODEL_FIELDS):
        missing.append("the model weights")
    if ROWS_FIELD not in recorded:
        missing.append("the dataset rows")
    return missing


def describe_model(values: Mapping[str, Any]) -> str:
    """'step 8, weights 1a2b...' (the parts recorded), or 'no weights recorded'."""
    parts = []
    if values.get("model_step") is not None:
        parts.append(f"step {values['model_step']}")
    if values.get("model_fingerprint") is not None:
        parts.append(f"weights {values['model_fingerprint']}")
    return ", ".join(parts) or "no weights recorded"


def without_identity(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with the identity fields left out: the settings that are compared as they are."""
    return {name: value for name, value in values.items() if name not in IDENTITY_FIELDS}


def shared_identity(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Each identity field's value when every record holds the same one, else None (not all of them recorded)."""
    shared: dict[str, Any] = {}
    for field in IDENTITY_FIELDS:
        values = [record.get(field) for record in records]
        shared[field] = values[0] if all(value == values[0] for value in values) else None
    return shared


def check_same_evaluation(sources: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
    """Refuse files (name, metadata) of different tasks, datasets or splits, or sampled from different rows."""
    for field in (*EVALUATION_FIELDS, ROWS_FIELD):
        recorded = [(name, metadata[field]) for name, metadata in sources if metadata.get(field) is not None]
        for name, value in recorded[1:]:
            first_name, first_value = recorded[0]
            if value == first_value:
                continue
            if field == ROWS_FIELD:
                raise UserError(
                    f"{name} was sampled from other rows than {first_name} (rows {value} and {first_value}): the "
                    "dataset changed between them; compare files sampled from the same rows (the same dataset file "
                    "and --max-problems)"
                )
            raise UserError(
                f"{name} evaluates {field} {value!r} but {first_name} evaluates {field} {first_value!r}: "
                "compare files of one task, dataset and split"
            )


def _both_differ(recorded: Mapping[str, Any], current: Mapping[str, Any], field: str) -> bool:
    old, new = recorded.get(field), current.get(field)
    return old is not None and new is not None and old != new
