"""Chart question-answering datasets, each mapped onto one row schema.

Every adapter returns a ``datasets.Dataset`` whose rows have exactly the keys of ``CHART_ROW_FEATURES``:
``image`` (PIL, RGB), ``query``, ``label``, ``chart_type``, ``table`` ({"columns", "rows"}, cells as strings),
``reasoning``, ``question_type`` and ``dataset`` (the adapter name); unknown values are None.

An adapter is a ``ChartDatasetSpec``: where the data lives, and for each schema field the raw column(s) it
comes from plus a small converter. The conversion reads only the text columns; pictures stay in Arrow storage
and are decoded when a row is read.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from rlvr.data.local import load_local_dataset
from rlvr.data.user_columns import ColumnMap
from rlvr.errors import UserError
from rlvr.tasks.chart.converters import DEFAULT_CONVERTERS
from rlvr.tasks.chart.schema import CHART_ROW_FEATURES, TEXT_FEATURES
from rlvr.tasks.chart.specs import CHART_DATASETS, CONVERTED_FIELDS, NON_EMPTY_FIELDS, ChartDatasetSpec, FieldSource

logger = logging.getLogger(__name__)

DEFAULT_SEED = 2025
CARVE_SEED = 0  # fixed, not the run's seed: a test split must not move when --seed changes


def chart_dataset_names() -> list[str]:
    """Every accepted name, aliases included (for command-line choices)."""
    return sorted([*CHART_DATASETS, *(alias for spec in CHART_DATASETS.values() for alias in spec.aliases)])


def get_chart_dataset_spec(name: str) -> ChartDatasetSpec:
    wanted = name.strip().lower()
    for spec in CHART_DATASETS.values():
        if wanted == spec.name or wanted in spec.aliases:
            return spec
    raise UserError(f"unknown chart dataset {name!r}; choose one of: {', '.join(chart_dataset_names())}")


def load_chart_dataset(
    name: str,
    split: str | None = None,
    path: str | Path | None = None,
    subset_size: int | None = None,
    seed: int = DEFAULT_SEED,
) -> datasets.Dataset:
    """Load dataset ``name`` as rows of the chart schema.

    ``split`` defaults to the dataset's own default (train for chart-rvr and synthetic, test for the evaluation
    sets). With ``path``, the data is read from local files (see ``load_local_dataset``; a single file is the
    split; a saved DatasetDict gives ``split``, else the default split, else its only split); otherwise from
    the Hugging Face hub. ``subset_size`` keeps a random subset of that many rows drawn
    with ``seed`` (all rows, with a log line, when the dataset is smaller); for "synthetic" it is the number of
    rows generated and ``seed`` is the generator's seed.
    """
    spec = get_chart_dataset_spec(name)
    if subset_size is not None and subset_size <= 0:
        raise UserError(f"{spec.name}: subset size must be a positive number of rows, got {subset_size}")
    if path is not None:
        raw = load_local_dataset(path, split, spec.image_columns, spec.image_search_dirs, spec.default_split)
        source, picture_rows = str(path), None
    elif spec.generate is not None:
        return spec.generate(subset_size, seed, split or spec.default_split)
    else:
        raw, source, picture_rows = _load_from_hub(spec, split or spec.default_split)
    return _to_schema(spec, raw, source, picture_rows, subset_size, seed)


def chart_rows_from_columns(raw: datasets.Dataset, columns: ColumnMap, source: str) -> datasets.Dataset:
    """A dataset of the user's in the chart schema: its question, answer and picture columns as named."""
    spec = ChartDatasetSpec(
        name="user",
        hub_id=None,
        default_split="train",
        fields={"query": FieldSource((columns.question,)), "label": FieldSource((columns.answer,))},
        description="a dataset of the user's, its columns named by --question-column, --answer-column, --image-column",
        image_columns=(columns.image or "image",),
    )
    return _to_schema(spec, raw, source, None, None, DEFAULT_SEED)


def _load_from_hub(spec: ChartDatasetSpec, split: str) -> tuple[datasets.Dataset, str, list[int] | None]:
    if spec.hub_id is None:
        raise UserError(f"{spec.name}: this dataset has no hub copy; pass the path of its local files")
    if spec.carved_splits and split not in spec.carved_splits:
        raise UserError(f"{spec.name}: unknown split {split!r}; choose one of {', '.join(spec.carved_splits)}")
    hub_split = spec.carved_from if spec.carved_splits else spec.hub_split_names.get(split, split)
    source = f"hub dataset {spec.hub_id} (split {hub_split})"
    try:
        raw = datasets.load_dataset(spec.hub_id, spec.hub_config, split=hub_split)
    except ValueError as error:
        # datasets reports an unknown split this way.
        raise UserError(f"{spec.name}: cannot load split {hub_split!r} of {spec.hub_id}: {error}") from None
    except (ConnectionError, FileNotFoundError) as error:
        raise UserError(
            f"{spec.name}: cannot load {spec.hub_id} from the hub ({type(error).__name__}: {error}); "
            "download it first or pass a local path"
        ) from None
    if not spec.carved_splits:
        return raw, source, None
    start, stop = spec.carved_splits[split]
    order = np.random.default_rng(CARVE_SEED).permutation(len(raw))
    picture_rows = sorted(order[round(start * len(raw)) : round(stop * len(raw))].tolist())
    return raw, f"{source}, carved {split} part", picture_rows


@dataclass
class _ConvertedRows:
    """Schema text columns, and for each row the raw row (picture) it came from."""

    columns: dict[str, list]
    picture_rows: list[int]


def _to_schema(
    spec: ChartDatasetSpec,
    raw: datasets.Dataset,
    source: str,
    picture_rows: list[int] | None,
    subset_size: int | None,
    seed: int,
) -> datasets.Dataset:
    if raw.data.num_rows != raw.num_rows:
        raw = raw.flatten_indices()  # positions below index the Arrow table itself
    images = _image_column(spec, raw, source)
    converted = _convert_text(spec, raw, source, picture_rows)
    total = len(converted.picture_rows)
    if total == 0:
        raise UserError(f"{spec.name}: {source} has no questions")
    chosen = _subset_positions(spec.name, total, subset_size, seed)
    text = datasets.Dataset.from_dict(converted.columns, features=TEXT_FEATURES)
    if converted.picture_rows == list(range(len(raw))):
        # One question per picture: join first, then select lazily, so no picture is copied.
        joined = datasets.concatenate_datasets([images, text], axis=1)
        result = joined if chosen is None else joined.select(chosen)
    else:
        keep = range(total) if chosen is None else chosen
        kept_pictures = [converted.picture_rows[position] for position in keep]
        result = datasets.concatenate_datasets([images.select(kept_pictures), text.select(keep)], axis=1)
    logger.info("%s: %d rows from %s", spec.name, len(result), source)
    return result


def _image_column(spec: ChartDatasetSpec, raw: datasets.Dataset, source: str) -> datasets.Dataset:
    column = next((name for name in spec.image_columns if name in raw.column_names), None)
    if column is None:
        raise _missing_column(spec, source, spec.image_columns, raw.column_names)
    null_rows = np.flatnonzero(raw.data.column(column).is_null().to_pylist())
    if len(null_rows):
        raise UserError(f"{spec.name}: {source}: row {null_rows[0]}: column {column!r} has no image")
    images = raw.select_columns([column])
    if column != "image":
        images = images.rename_column(column, "image")
    return images.cast_column("image", CHART_ROW_FEATURES["image"])


def _convert_text(
    spec: ChartDatasetSpec, raw: datasets.Dataset, source: str, picture_rows: list[int] | None
) -> _ConvertedRows:
    wanted = {name for source_field in spec.fields.values() for name in source_field.columns}
    if spec.question_list_column:
        wanted.add(spec.question_list_column)
    text_rows = raw.select_columns([name for name in raw.column_names if name in wanted]).to_list()
    positions = range(len(text_rows)) if picture_rows is None else picture_rows
    questions, origins = _expand_questions(spec, text_rows, positions, source)
    available = set(raw.column_names)
    if spec.question_list_column in available:
        available = (available - {spec.question_list_column}) | {key for question in questions for key in question}
    columns_used = {name: _pick_column(spec, source, name, available) for name in spec.fields}
    columns: dict[str, list] = {name: [] for name in TEXT_FEATURES}
    for question, origin in zip(questions, origins, strict=True):
        for field_name in CONVERTED_FIELDS:
            value = _convert_field(spec, source, field_name, columns_used.get(field_name), question, origin)
            columns[field_name].append(value)
        columns["dataset"].append(spec.name)
    return _ConvertedRows(columns, [row for row, _ in origins])


def _expand_questions(
    spec: ChartDatasetSpec, text_rows: list[dict], positions: range | list[int], source: str
) -> tuple[list[dict], list[tuple[int, int | None]]]:
    """One dict per question, and its origin (raw row, item within the row's question list or None)."""
    list_column = spec.question_list_column
    questions: list[dict] = []
    origins: list[tuple[int, int | None]] = []
    for row_index in positions:
        row = text_rows[row_index]
        if list_column is None or list_column not in row:
            questions.append(row)
            origins.append((row_index, None))
            continue
        items = row[list_column]
        if isinstance(items, str):  # a CSV cell, or a hub column of JSON text
            items = _json_or_none(items)
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise UserError(
                f"{spec.name}: {source}: row {row_index}: column {list_column!r} must be a list of objects"
            )
        outer = {key: value for key, value in row.items() if key != list_column}
        for item_index, item in enumerate(items):
            questions.append({**outer, **item})
            origins.append((row_index, item_index))
    return questions, origins


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _pick_column(spec: ChartDatasetSpec, source: str, field_name: str, available: set[str]) -> str | None:
    source_field = spec.fields[field_name]
    column = next((name for name in source_field.columns if name in available), None)
    if column is None and source_field.required:
        raise _missing_column(spec, source, source_field.columns, sorted(available))
    return column


def _convert_field(
    spec: ChartDatasetSpec,
    source: str,
    field_name: str,
    column: str | None,
    question: dict,
    origin: tuple[int, int | None],
) -> Any:
    if column is None:
        return None
    convert = spec.fields[field_name].convert or DEFAULT_CONVERTERS[field_name]
    row_index, item_index = origin
    where = f"row {row_index}" if item_index is None else f"row {row_index}, question {item_index}"
    try:
        value = convert(question.get(column))
    except (ValueError, TypeError) as error:
        raise UserError(f"{spec.name}: {source}: {where}: column {column!r}: {error}") from None
    if field_name in NON_EMPTY_FIELDS and not value:
        raise UserError(f"{spec.name}: {source}: {where}: column {column!r} is empty")
    return value


def _missing_column(spec: ChartDatasetSpec, source: str, candidates: tuple[str, ...], present: list[str]) -> UserError:
    wanted = " or ".join(repr(name) for name in candidates)
    return UserError(f"{spec.name}: {source} has no column {wanted} (its columns: {', '.join(present)})")


def _subset_positions(name: str, total: int, subset_size: int | None, seed: int) -> list[int] | None:
    """Sorted positions of a seeded random subset, or None for every row."""
    if subset_size is None:
        return None
    if subset_size >= total:
        logger.info(
            "%s: subset size %d is not below the %d rows available; using all of them", name, subset_size, total
        )
        return None
    return sorted(np.random.default_rng(seed).choice(total, size=subset_size, replace=False).tolist())
