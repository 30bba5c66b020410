"""A dataset of the user's, with its own column names: a hub id or a local path (parquet, jsonl, json, csv, a
save_to_disk folder, or an imagefolder with a metadata file), and which columns hold the question, the answer and
the picture. Missing columns and empty cells are refused here, in one line naming the column and the row, before
a task turns the rows into its schema (``Task.from_columns``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np

from rlvr.data.local import load_local_dataset
from rlvr.errors import UserError


@dataclass(frozen=True)
class ColumnMap:
    """The user's column for each role; ``image`` is None for text tasks."""

    question: str
    answer: str
    image: str | None = None

    def flags(self) -> dict[str, str]:
        """Each column with the flag that names it (for messages)."""
        named = {self.question: "--question-column", self.answer: "--answer-column"}
        return {**named, **({self.image: "--image-column"} if self.image else {})}


def load_with_columns(source: str, split: str, columns: ColumnMap) -> tuple[datasets.Dataset, str]:
    """The raw rows of ``source`` (a local path, else a hub id) and where they came from, every column of
    ``columns`` present and filled in every row."""
    if Path(source).exists():
        image_columns = (columns.image,) if columns.image else ()
        raw, where = load_local_dataset(source, split, image_columns, default_split=split), source
    elif "/" in source:
        raw, where = _load_hub(source, split), f"hub dataset {source} (split {split})"
    else:
        raise UserError(
            f"--dataset-name {source}: neither a dataset of the task, a local file or folder, nor a hub id"
        )
    for column, flag in columns.flags().items():
        if column not in raw.column_names:
            raise UserError(f"{where}: no column {column!r} ({flag}); its columns are {', '.join(raw.column_names)}")
        empty = np.flatnonzero([_is_empty(value) for value in _cells(raw, column)])
        if len(empty):
            raise UserError(f"{where}: row {empty[0]}: column {column!r} ({flag}) is empty")
    return raw, where


def subset_rows(rows: datasets.Dataset, subset_size: int | None, seed: int) -> datasets.Dataset:
    """A seeded random subset of ``subset_size`` rows (in their order), or all of them."""
    if subset_size is None or subset_size >= len(rows):
        return rows
    chosen = np.random.default_rng(seed).choice(len(rows), subset_size, replace=False)
    return rows.select(sorted(chosen.tolist()))


def _load_hub(hub_id: str, split: str) -> datasets.Dataset:
    try:
        return datasets.load_dataset(hub_id, split=split)
    except (ConnectionError, FileNotFoundError, ValueError) as error:
        first_line = (str(error).splitlines() or [type(error).__name__])[0]
        raise UserError(f"cannot load hub dataset {hub_id} (split {split}): {first_line}") from None


def _cells(raw: datasets.Dataset, column: str) -> list:
    """The column's values as stored (an image column's undecoded {bytes, path}); a datasets.Json column's decoded,
    so a JSON text '""' counts as the empty text it holds."""
    if isinstance(raw.features[column], datasets.Json):
        return list(raw[column])
    return raw.data.column(column).to_pylist()


def _is_empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
