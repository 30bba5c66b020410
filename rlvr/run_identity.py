"""What a run was made from, cheap enough to take on every start: the model's weights and the dataset's rows.

Samples, counts and results files and run_config.json record these, so that resuming, merging and comparing can
refuse to mix two models or two versions of a dataset in one file or one table (evaluation/run_identity.py and
trainers/run_record.py do the checking).

- **Model**: for a local folder (a model, a checkpoint-N, a LoRA adapter), its training step (trainer_state.json
  of a checkpoint, finished.json of a run folder) and a fingerprint of its weights files. A weights file can be
  many GB, so the fingerprint reads only part of it: its name, its size, its first and last MiB and 16 pieces of
  64 KiB spread evenly between them. A change that touches none of those bytes and keeps the size and the step
  goes unseen; training changes every tensor it trains, and the step with it. An adapter's fingerprint covers its
  adapter_config.json (which names the base) and, when the base is a local folder, the base's weights. A hub id or
  a short name is recorded by its name only.
- **Rows**: a SHA-256 of the rows used, in order: every column's value, an image by its bytes (read from its file
  when the dataset stores a path, so a moved dataset folder keeps its hash and a rewritten picture changes it).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlvr.errors import UserError

if TYPE_CHECKING:
    from datasets import Dataset

HASH_CHARS = 16  # 64 bits: enough to tell two versions apart, short enough to read in a message
_EDGE_BYTES = 1 << 20  # the first and the last MiB of a weights file
_PIECE_BYTES = 64 << 10
_PIECES = 16
_ROWS_PER_BATCH = 256
_IGNORED_BIN_FILES = {"training_args.bin"}  # the Trainer's arguments, not weights


def model_step(folder: str | Path) -> int | None:
    """The training step a model folder holds: a checkpoint's trainer_state.json, else a run's finished.json."""
    folder = Path(folder)
    for name in ("trainer_state.json", "finished.json"):
        value = _json_object(folder / name).get("global_step")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def weights_fingerprint(folder: str | Path) -> str | None:
    """The fingerprint of a local model or adapter folder's weights (see the module docstring); None for a name
    that is no folder, or a folder without weights files."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    digest = hashlib.sha256()
    files = _weights_files(folder)
    adapter_config = folder / "adapter_config.json"
    if adapter_config.is_file():
        digest.update(_read_bytes(adapter_config))
        base = _json_object(adapter_config).get("base_model_name_or_path")
        if isinstance(base, str) and base and Path(base).is_dir() and Path(base).resolve() != folder.resolve():
            files += _weights_files(Path(base))
    if not files:
        return None
    for path in files:
        _update_with_file(digest, path)
    return digest.hexdigest()[:HASH_CHARS]


def rows_hash(dataset: Dataset) -> str:
    """The SHA-256 (first HASH_CHARS hex digits) of the rows of ``dataset`` in order, read without decoding images."""
    from datasets import Image

    image_columns = {name for name, feature in dataset.features.items() if isinstance(feature, Image)}
    digest = hashlib.sha256()
    digest.update(json.dumps(sorted(dataset.column_names)).encode("utf-8"))
    table = dataset.with_format("arrow")
    for start in range(0, len(dataset), _ROWS_PER_BATCH):
        for row in table[start : start + _ROWS_PER_BATCH].to_pylist():
            for name in image_columns:
                row[name] = _image_digest(row[name])
            digest.update(json.dumps(row, sort_keys=True, default=_value_digest).encode("utf-8"))
            digest.update(b"\n")
    return digest.hexdigest()[:HASH_CHARS]


def _weights_files(folder: Path) -> list[Path]:
    def is_weights(path: Path) -> bool:
        suffix_ok = path.suffix == ".safetensors" or (path.suffix == ".bin" and path.name not in _IGNORED_BIN_FILES)
        return suffix_ok and path.is_file()

    return sorted(path for path in folder.iterdir() if is_weights(path))


def _update_with_file(digest: Any, path: Path) -> None:
    try:
        size = path.stat().st_size
        digest.update(f"{path.name}\0{size}\0".encode())
        with open(path, "rb") as handle:
            for offset, length in _piece_offsets(size):
                handle.seek(offset)
                digest.update(handle.read(length))
    except OSError as error:
        raise UserError(f"{path}: cannot read the weights file ({error.strerror})") from None


def _piece_offsets(size: int) -> Iterable[tuple[int, int]]:
    """(offset, length) of the first MiB, the evenly spread pieces, and the last MiB of a file of ``size`` bytes."""
    yield 0, min(size, _EDGE_BYTES)
    if size <= 2 * _EDGE_BYTES:
        yield _EDGE_BYTES, max(0, size - _EDGE_BYTES)
        return
    middle = size - 2 * _EDGE_BYTES
    for index in range(1, _PIECES + 1):
        yield _EDGE_BYTES + middle * index // (_PIECES + 1), _PIECE_BYTES
    yield size - _EDGE_BYTES, _EDGE_BYTES


def _image_digest(value: Any) -> Any:
    """An image as datasets stores it ({"bytes", "path"}) by the digest of its bytes; a path by its file's bytes."""
    if not isinstance(value, dict):
        return value
    data = value.get("bytes")
    path = value.get("path")
    if data is None and isinstance(path, str) and os.path.isfile(path):
        data = _read_bytes(Path(path))
    return {"image_sha256": hashlib.sha256(data).hexdigest()} if data is not None else {"image_path": path}


def _value_digest(value: Any) -> str:
    """What json cannot write itself: bytes by their digest, anything else (dates, decimals) by its repr."""
    if isinstance(value, bytes | bytearray):
        return "sha256:" + hashlib.sha256(value).hexdigest()
    return repr(value)


def _json_object(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""
