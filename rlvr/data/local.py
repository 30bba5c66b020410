"""Read a dataset from local files: a ``save_to_disk`` folder, Parquet, JSON, JSON Lines or CSV, or an imagefolder
(pictures beside a metadata.csv / metadata.jsonl whose ``file_name`` column names them, as datasets' imagefolder).

Image columns may hold paths relative to the data file; they are resolved here, once, so that every reader
downstream gets absolute paths (or bytes) and a missing picture is reported with its file and row instead of
failing later inside a training step.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
from datasets.table import InMemoryTable
from PIL import Image as PILImage

from rlvr.data.images import check_picture
from rlvr.errors import UserError

LOCAL_FILE_SUFFIXES = (".json", ".jsonl", ".parquet", ".csv")
IMAGEFOLDER_METADATA = ("metadata.csv", "metadata.jsonl")  # datasets' imagefolder: file_name names each picture
DEFAULT_IMAGE_COLUMNS = ("image",)
JSON_ROW_LIST_KEYS = ("data", "qa_pairs")  # {"data": [...]}; PlotQA's own files use {"qa_pairs": [...]}

RowLocator = Callable[[int], str]

# Whether a dataset's image paths may leave the dataset's folder (``../../x.png``, ``/etc/...``). Off by default: a
# dataset file should not make a command read arbitrary files. It is the command's policy for the whole process
# (--allow-outside-images), set once by the script rather than passed through every task's loader.
_outside_images_allowed = False


def allow_outside_images(allowed: bool) -> None:
    """Let (or stop) dataset image paths point outside the dataset's folder; scripts call this from their flag."""
    global _outside_images_allowed
    _outside_images_allowed = allowed


def load_local_dataset(
    path: str | Path,
    split: str | None = None,
    image_columns: Sequence[str] = DEFAULT_IMAGE_COLUMNS,
    image_search_dirs: Sequence[str] = (),
    default_split: str | None = None,
) -> datasets.Dataset:
    """Load ``path`` as a ``datasets.Dataset`` with its image columns typed ``datasets.Image()``.

    ``path`` is a ``save_to_disk`` folder (a Dataset, or a DatasetDict from which ``split`` is taken), a
    ``.parquet`` file, a ``.json`` file (a list of objects, or an object whose "data" or "qa_pairs" key holds
    that list) or a ``.jsonl`` file (one object per line). Relative image paths are looked up in the data
    file's folder, then in each of ``image_search_dirs`` below it (for a saved folder: beside it, then inside).
    From a DatasetDict folder, ``split`` is taken; without it ``default_split`` when the folder has that split, or
    the only split. For a Dataset folder or a file, both are unused.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    metadata = next((path / name for name in IMAGEFOLDER_METADATA if (path / name).is_file()), None)
    if path.is_dir() and metadata is not None:
        rows, locate = _read_imagefolder_rows(metadata)
        return _rows_to_dataset(rows, metadata, locate, (*image_columns, "image"), image_search_dirs)
    if path.is_dir():
        # A saved folder stands where a data file would; its pictures may sit beside it or inside it.
        dataset, base_dirs = _read_saved_folder(path, split, default_split), [path.parent, path]
    elif path.suffix.lower() == ".parquet":
        dataset, base_dirs = _read_parquet(path), [path.parent]
    elif path.suffix.lower() in (".json", ".jsonl", ".csv"):
        rows, locate = _read_csv_rows(path) if path.suffix.lower() == ".csv" else _read_json_rows(path)
        if not rows:
            raise UserError(f"{path}: the dataset is empty")
        return _rows_to_dataset(rows, path, locate, image_columns, image_search_dirs)
    else:
        raise UserError(
            f"{path}: unsupported file type {path.suffix or '(none)'!r}; use a save_to_disk folder or one of "
            + ", ".join(LOCAL_FILE_SUFFIXES)
        )
    if len(dataset) == 0:
        raise UserError(f"{path}: the dataset is empty")
    search_dirs = [directory for base_dir in base_dirs for directory in _search_dirs(base_dir, image_search_dirs)]
    for column in image_columns:
        if column in dataset.column_names:
            dataset = _resolve_image_column(dataset, column, search_dirs, lambda row: f"{path}: row {row}")
    return dataset


def resolve_image(value: Any, base_dir: str | Path, where: str) -> PILImage.Image:
    """Return ``value`` as an RGB PIL image.

    ``value`` is a PIL image, a path (relative paths are taken from ``base_dir``), raw encoded bytes, or a
    ``{"bytes": ..., "path": ...}`` dict as ``datasets`` stores images. ``where`` names the file and row for
    the error message.
    """
    if isinstance(value, PILImage.Image):
        return value.convert("RGB")
    if isinstance(value, dict) and value.get("bytes") is not None:
        value = value["bytes"]
    if isinstance(value, (bytes, bytearray)):
        return _open_image(bytes(value), where)
    return _open_image(resolve_image_path(value, [Path(base_dir)], where), where)


def resolve_image_path(value: Any, search_dirs: Sequence[Path], where: str) -> Path:
    """The existing file that ``value`` (a path string, or a dict with a "path") names, searched in order."""
    if isinstance(value, dict):
        value = value.get("path")
    if not isinstance(value, (str, Path)) or not str(value):
        raise UserError(f"{where}: expected an image path, bytes or a {{'bytes', 'path'}} object, got {value!r:.80}")
    candidate = Path(value).expanduser()
    candidates = [candidate] if candidate.is_absolute() else [directory / candidate for directory in search_dirs]
    for option in candidates:
        if option.is_file():
            return option.resolve()
    looked_in = ", ".join(str(option.parent) for option in candidates)
    raise UserError(f"{where}: image file {str(value)!r} not found (looked in {looked_in})")


def _dataset_image_path(value: Any, search_dirs: Sequence[Path], where: str) -> Path:
    """The image file a dataset row names: it must lie inside the dataset's folder (unless allowed)."""
    path = resolve_image_path(value, search_dirs, where)
    if not _outside_images_allowed and not any(path.is_relative_to(root.resolve()) for root in search_dirs):
        raise UserError(
            f"{where}: image {str(value)!r} lies outside the dataset folder {search_dirs[0]}; "
            "pass --allow-outside-images if that is intended"
        )
    return path


def _open_image(source: Path | bytes, where: str) -> PILImage.Image:
    readable = check_picture(source, where) or source  # refuses what cannot be read; 16-bit comes back as 8-bit
    with PILImage.open(io.BytesIO(readable) if isinstance(readable, bytes) else readable) as image:
        return image.convert("RGB")


def _search_dirs(base_dir: Path, image_search_dirs: Sequence[str]) -> list[Path]:
    return [base_dir] + [base_dir / sub_dir for sub_dir in image_search_dirs]


def _read_saved_folder(path: Path, split: str | None, default_split: str | None) -> datasets.Dataset:
    try:
        loaded = datasets.load_from_disk(str(path))
    except FileNotFoundError:
        raise UserError(f"{path}: not a folder written by datasets' save_to_disk (no dataset_info.json)") from None
    if isinstance(loaded, datasets.Dataset):
        return loaded
    splits = sorted(loaded.keys())
    if split is None and default_split in loaded:
        return loaded[default_split]
    if split is None and len(splits) == 1:
        return loaded[splits[0]]
    if split not in loaded:
        asked = "no split was given" if split is None else f"it has no split {split!r}"
        raise UserError(f"{path}: {asked}; its splits are {', '.join(splits)}")
    return loaded[split]


def _read_parquet(path: Path) -> datasets.Dataset:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as error:
        raise UserError(f"{path}: not a readable Parquet file ({error})") from None
    # Parquet written by datasets carries its Features in the schema metadata; Dataset() restores them.
    return datasets.Dataset(InMemoryTable(table))


def _read_json_rows(path: Path) -> tuple[list[dict], RowLocator]:
    text = _read_text(path)
    if path.suffix.lower() == ".jsonl":
        return _parse_json_lines(path, text)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"{path}: malformed JSON at line {error.lineno}, column {error.colno}: {error.msg}") from None
    except RecursionError:
        raise UserError(f"{path}: nested too deeply to be a dataset") from None
    if isinstance(document, dict):
        list_key = next((key for key in JSON_ROW_LIST_KEYS if isinstance(document.get(key), list)), None)
        if list_key is None:
            raise UserError(f"{path}: expected a JSON list of objects, or an object with a 'data' list")
        document = document[list_key]
    if not isinstance(document, list):
        raise UserError(f"{path}: expected a JSON list of objects, found {type(document).__name__}")
    for index, row in enumerate(document):
        if not isinstance(row, dict):
            raise UserError(f"{path}: row {index} is {type(row).__name__}, expected an object")
    return document, lambda row: f"{path}: row {row}"


def _read_csv_rows(path: Path) -> tuple[list[dict], RowLocator]:
    """The rows of a CSV file with a header line; every cell is text (an empty cell is None)."""
    reader = csv.DictReader(io.StringIO(_read_text(path), newline=""))
    rows: list[dict] = []
    line_numbers: list[int] = []
    try:
        for row in reader:
            if None in row:
                raise UserError(f"{path}: line {reader.line_num} has more cells than the header has names")
            rows.append({name: value if value != "" else None for name, value in row.items()})
            line_numbers.append(reader.line_num)
    except csv.Error as error:
        raise UserError(f"{path}: malformed CSV at line {reader.line_num}: {error}") from None
    return rows, lambda row: f"{path}: row {row} (line {line_numbers[row]})"


def _read_imagefolder_rows(metadata: Path) -> tuple[list[dict], RowLocator]:
    """An imagefolder's metadata rows, each with its picture (``file_name``) as the ``image`` column."""
    rows, locate = _read_csv_rows(metadata) if metadata.suffix == ".csv" else _read_json_rows(metadata)
    if rows and "file_name" not in rows[0]:
        raise UserError(f"{metadata}: an imagefolder's metadata needs a file_name column naming each picture")
    for row in rows:
        row.setdefault("image", row.pop("file_name", None))
    return rows, locate


def _parse_json_lines(path: Path, text: str) -> tuple[list[dict], RowLocator]:
    rows: list[dict] = []
    line_numbers: list[int] = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise UserError(
                f"{path}: malformed JSON at line {line_number}, column {error.colno}: {error.msg}"
            ) from None
        except RecursionError:
            raise UserError(f"{path}: line {line_number} is nested too deeply to be a row") from None
        if not isinstance(row, dict):
            raise UserError(f"{path}: line {line_number} is {type(row).__name__}, expected an object")
        rows.append(row)
        line_numbers.append(line_number)
    return rows, lambda row: f"{path}: row {row} (line {line_numbers[row]})"


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise UserError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None


def _rows_to_dataset(
    rows: list[dict],
    path: Path,
    locate: RowLocator,
    image_columns: Sequence[str],
    image_search_dirs: Sequence[str],
) -> datasets.Dataset:
    search_dirs = _search_dirs(path.parent, image_search_dirs)
    column_names = list(dict.fromkeys(key for row in rows for key in row))
    columns = {name: [row.get(name) for row in rows] for name in column_names}
    images = [name for name in column_names if name in image_columns]
    for name in images:
        columns[name] = [
            _image_storage(value, search_dirs, locate(index)) for index, value in enumerate(columns[name])
        ]
    # JSON answers are often numbers in some rows and words in others (PlotQA), a label may be ["5"] in one row and
    # 5 in the next, an integer may exceed Arrow's 64 bits. Such a column is typed datasets.Json: every row keeps
    # the value the file holds, so a reader sees each row as it is and names the row that is wrong.
    mixed = [name for name in column_names if name not in images and not _arrow_holds(columns[name])]
    dataset = datasets.Dataset.from_dict({name: values for name, values in columns.items() if name not in mixed})
    if mixed:
        kinds = {name: datasets.Json() if name in mixed else dataset.features[name] for name in column_names}
        dataset = datasets.Dataset.from_dict(columns, features=datasets.Features(kinds))
    for name in images:
        dataset = dataset.cast_column(name, datasets.Image())
    return dataset


def _image_storage(value: Any, search_dirs: Sequence[Path], where: str) -> dict | None:
    """The ``{"bytes", "path"}`` form that ``datasets.Image`` stores, the picture checked (``check_picture``), a
    path made absolute and a 16-bit picture's bytes replaced by their 8-bit copy."""
    if value is None:
        return None
    if isinstance(value, dict) and value.get("bytes") is not None:
        if not isinstance(value["bytes"], bytes):
            raise UserError(f"{where}: expected image bytes, got {value['bytes']!r:.80}")
        return {"bytes": check_picture(value["bytes"], where) or value["bytes"], "path": value.get("path")}
    path = _dataset_image_path(value, search_dirs, where)
    return {"bytes": check_picture(path, where), "path": str(path)}


def _arrow_holds(values: list) -> bool:
    try:
        pa.array(values)
        return True
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return False


def _resolve_image_column(
    dataset: datasets.Dataset, column: str, search_dirs: Sequence[Path], locate: RowLocator
) -> datasets.Dataset:
    """The column as ``datasets.Image`` storage, each row's picture checked as ``_image_storage`` does."""
    storage = dataset.data.column(column).combine_chunks()
    if pa.types.is_string(storage.type) or pa.types.is_large_string(storage.type):
        paths, blobs = storage.to_pylist(), pa.nulls(len(storage), pa.binary())
    elif pa.types.is_struct(storage.type) and {"bytes", "path"} <= {field.name for field in storage.type}:
        paths, blobs = storage.field("path").to_pylist(), storage.field("bytes")
    elif pa.types.is_binary(storage.type) or pa.types.is_large_binary(storage.type):
        paths, blobs = [None] * len(storage), storage  # raw encoded bytes, as ChartQAPro stores its pictures
    else:
        raise UserError(f"{locate(0)}: column {column!r} holds {storage.type}, not pictures (paths or image bytes)")
    is_null = storage.is_null().to_pylist()
    checked_paths, replaced = list(paths), {}
    for index in (index for index, null in enumerate(is_null) if not null):
        blob = blobs[index].as_py()  # one row's bytes at a time: a saved dataset's pictures stay memory-mapped
        if blob is None:
            path = _dataset_image_path(paths[index], search_dirs, locate(index))
            checked_paths[index], source = str(path), path
        else:
            source = blob
        eight_bit = check_picture(source, locate(index))
        if eight_bit is not None:
            replaced[index] = eight_bit
    if checked_paths == paths and not replaced:
        return dataset.cast_column(column, datasets.Image())
    if replaced:
        blobs = pa.array([replaced.get(index, blobs[index].as_py()) for index in range(len(blobs))], pa.binary())
    values = pa.StructArray.from_arrays(
        [blobs.cast(pa.binary()), pa.array(checked_paths, pa.string())],
        names=["bytes", "path"],
        mask=pa.array(is_null, pa.bool_()),
    )
    # Replaced in the Arrow table itself: the other columns keep their (memory-mapped) buffers.
    table = dataset.data.table
    table = table.set_column(table.schema.get_field_index(column), column, values)
    features = dataset.features.copy()
    features[column] = datasets.Image()
    return datasets.Dataset(InMemoryTable(table), info=datasets.DatasetInfo(features=features))
