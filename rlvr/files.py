"""Reading JSON files with one-line errors, and writing files so that no reader ever sees half of one."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rlvr.errors import UserError


def read_json(path: Path, what: str) -> Any:
    """The JSON value in ``path``; UserError names the file and what is wrong (missing, empty, not JSON)."""
    if path.is_dir():
        raise UserError(f"{path}: is a folder, not a {what}")
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


def check_output_file(path: Path, flag: str, *, inputs: Iterable[Path] = (), overwrite: bool = False) -> None:
    """Refuse, before any slow work, an output that would lose data or could not be written.

    An output never replaces one of the command's own inputs (not even with --overwrite: the input would be gone
    before the output is complete), and replaces an existing file only with --overwrite, since nothing tells us
    that the file there is one this command wrote.
    """
    if path.is_dir():
        raise UserError(f"{flag} {path} is a folder; give a file name")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise UserError(f"{flag} {path} lies under {parent}, which is a file, not a folder")
    for source in inputs:
        if path.exists() and source.exists() and path.resolve() == source.resolve():
            raise UserError(f"{flag} {path} is also an input; write the output to another file")
    if path.exists() and not overwrite:
        raise UserError(f"{flag} {path} already exists; pass --overwrite to replace it")


def check_output_folder(path: Path, flag: str) -> None:
    """A folder to write into: it is one, or can be made (it is not a file and lies under no file)."""
    for candidate in (path, *path.parents):
        if candidate.exists() and not candidate.is_dir():
            where = "is a file" if candidate == path else f"lies under {candidate}, which is a file"
            raise UserError(f"{flag} {path} {where}; give a folder")


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
