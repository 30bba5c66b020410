"""Reading JSON files with one-line errors, and writing files so that no reader ever sees half of one."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rlvr.errors import UserError


def read_json(path: Path, what: str) -> Any:
    """The JSON value in ``path``; UserError names the file and what is wrong (missing, empty, not JSON)."""
    if not path.is_file():
        raise UserError(f"{path}: no such {what}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read the {what} ({error})") from None
    if not text.strip():
        raise UserError(f"{path}: the {what} is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"{path}: not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})") from None
    except RecursionError:
        raise UserError(f"{path}: the {what} is nested too deeply to read") from None


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, fsync it, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


def write_json_atomically(path: Path, value: Any, indent: int = 2) -> None:
    write_atomically(path, json.dumps(value, ensure_ascii=False, indent=indent) + "\n")
