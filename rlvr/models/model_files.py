"""The files of a local model, adapter or checkpoint folder, checked without torch before anything loads.

A safetensors file is an 8-byte header length, a JSON header giving each tensor's byte range, then the bytes: a
file cut short (an interrupted copy) is found from its size alone, and is named in one line instead of failing
inside the loader. A full model folder must hold its tokenizer's vocabulary: without one, transformers builds a
tokenizer of a handful of tokens, and generation writes empty samples.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from rlvr.errors import UserError
from rlvr.files import read_json

SAFETENSORS_INDEX_SUFFIX = ".safetensors.index.json"
MAX_HEADER_BYTES = 100_000_000  # the safetensors format's own limit on its JSON header
# Any one of these holds a vocabulary (a fast tokenizer's file, a sentencepiece model, a BPE vocabulary with merges).
# The settings files transformers reads as JSON objects, with the keys it reads without checking.
JSON_OBJECT_FILES: dict[str, dict[str, type]] = {
    "config.json": {},
    "generation_config.json": {},
    "tokenizer.json": {"model": dict, "added_tokens": list},
    "tokenizer_config.json": {},
    "special_tokens_map.json": {},
    "preprocessor_config.json": {},
    "processor_config.json": {},
    "adapter_config.json": {},
}
VOCABULARY_FILES = (("tokenizer.json",), ("tokenizer.model",), ("vocab.json", "merges.txt"))


def check_model_folder(folder: Path) -> None:
    """A full model folder (config.json) or a LoRA adapter folder: its weights complete, its JSON settings files
    objects, and its vocabulary present where it holds a tokenizer (a full model always does; an adapter folder may
    leave it to its base)."""
    check_weight_files(folder)
    for name, required in JSON_OBJECT_FILES.items():
        if (folder / name).is_file():
            _check_json_object(folder / name, required)
    is_adapter = (folder / "adapter_config.json").is_file() and not (folder / "config.json").is_file()
    if is_adapter and not (folder / "tokenizer_config.json").is_file():
        return
    if not any(all((folder / name).is_file() for name in files) for files in VOCABULARY_FILES):
        shown = ", or ".join(" and ".join(files) for files in VOCABULARY_FILES)
        raise UserError(
            f"model folder {folder} has no tokenizer files ({shown}); copy them from the model it was trained from"
        )


def check_weight_files(folder: Path) -> None:
    """Every safetensors file in ``folder`` complete, and every shard a safetensors index names present."""
    for index in sorted(folder.glob(f"*{SAFETENSORS_INDEX_SUFFIX}")):
        weight_map = _weight_map(index)
        for shard in sorted(set(weight_map.values())):
            if not (folder / shard).is_file():
                raise UserError(f"{index}: names the weights file {shard}, which is missing from {folder}")
    for weights in sorted(folder.glob("*.safetensors")):
        check_safetensors(weights)


def check_safetensors(path: Path) -> None:
    """``path`` holds a whole safetensors file: a readable header whose tensors end where the file ends."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        length_bytes = handle.read(8)
        length = struct.unpack("<Q", length_bytes)[0] if len(length_bytes) == 8 else None
        if length is None or length > min(MAX_HEADER_BYTES, size - 8):
            raise UserError(f"{path}: truncated or not a safetensors file ({size} bytes, no complete header)")
        try:
            header = json.loads(handle.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            header = None
    ends = [entry.get("data_offsets", [0, None])[1] for key, entry in _entries(header) if key != "__metadata__"]
    if header is None or not all(isinstance(end, int) for end in ends):
        raise UserError(f"{path}: damaged safetensors file (its header is not a table of tensors)")
    expected = 8 + length + max(ends, default=0)
    if expected != size:
        raise UserError(
            f"{path}: truncated or damaged weights file: it holds {size} bytes, its header describes {expected}; "
            "copy it again"
        )


def _check_json_object(path: Path, required: dict[str, type]) -> None:
    document = read_json(path, "model settings file")
    if not isinstance(document, dict):
        raise UserError(f"{path}: expected a JSON object, got {type(document).__name__}")
    for key, kind in required.items():
        if not isinstance(document.get(key), kind):
            raise UserError(
                f"{path}: '{key}' must be a JSON {kind.__name__.replace('dict', 'object')}; copy the file again"
            )


def _entries(header: object) -> list[tuple[str, dict]]:
    if not isinstance(header, dict):
        return []
    return [(key, entry if isinstance(entry, dict) else {}) for key, entry in header.items()]


def _weight_map(index: Path) -> dict[str, str]:
    document = read_json(index, "safetensors index")
    weight_map = document.get("weight_map") if isinstance(document, dict) else None
    if not isinstance(weight_map, dict) or not all(isinstance(name, str) for name in weight_map.values()):
        raise UserError(f"{index}: not a safetensors index (expected a 'weight_map' of tensor -> file name)")
    return weight_map
