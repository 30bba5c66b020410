"""Reading JSON files with one-line errors, and the one write path of every output: claimed (locked, then checked)
before any slow work, written through a temporary file so that no reader ever sees half of one, and a file system's
refusal turned into one line with nothing left behind."""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from rlvr.errors import UserError
from rlvr.locks import OutputLock
from rlvr.output_names import check_output_name, companion_path, shown, write_failure


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


def output_path(path: str | Path) -> Path:
    """``path`` as the file system will see it: made absolute, normalised lexically, then symlinks resolved.

    Lexical normalisation comes first because ``newdir/../out.json`` names ``out.json`` for every reader, but
    ``Path.exists`` and ``Path.resolve`` answer about it only once ``newdir`` exists; an output checked without
    it could be an input under another spelling.
    """
    return Path(os.path.normpath(os.path.abspath(path))).resolve()


def check_output_file(
    path: str | Path,
    flag: str,
    *,
    inputs: Iterable[str | Path] = (),
    overwrite: bool = False,
    maker: str | None = None,
) -> Path:
    """Refuse, before any slow work, an output that would lose data or could not be written; return the path to
    write (normalised, see ``output_path``). A command calls it through ``claim_output``, under the output's lock.

    An output never replaces one of the command's inputs or a file inside an input folder (not even with
    --overwrite: the input would be gone before the output is complete). It replaces another existing file only
    with --overwrite, or when ``maker`` is given and the file carries that command's mark (see ``mark_of``): a
    plot this command drew before is redrawn, an unrelated file of the same name is not.
    """
    target = _check_output_shape(path, flag)
    for source in map(output_path, inputs):
        if target == source:
            raise UserError(f"{flag} {shown(path)} is also an input; write the output to another file")
        if source.is_dir() and target.is_relative_to(source) and target.exists():
            raise UserError(f"{flag} {shown(path)} would replace a file of the input folder {source}; write elsewhere")
    if target.exists() and not overwrite and not (maker is not None and mark_of(target) == maker):
        what = f"was not written by {maker}" if maker else "already exists"
        raise UserError(f"{flag} {shown(path)} {what}; pass --overwrite to replace it")
    return target


def _check_output_shape(path: str | Path, flag: str) -> Path:
    """The normalised output path, once its name can be written and it is neither a folder nor under a file."""
    check_output_name(path, flag)
    target = output_path(path)
    if target.is_dir():
        raise UserError(f"{flag} {shown(path)} is a folder; give a file name")
    for parent in target.parents:
        if parent.exists() and not parent.is_dir():
            raise UserError(f"{flag} {shown(path)} lies under {parent}, which is a file, not a folder")
    return target


def lock_path_for(path: Path) -> Path:
    """The lock file of the output ``path``: ``<name>.lock`` beside it (shortened to fit, see companion_path)."""
    return companion_path(path, "", ".lock")


@contextlib.contextmanager
def claim_output(
    paths: Iterable[str | Path],
    flag: str,
    *,
    inputs: Iterable[str | Path] = (),
    overwrite: bool = False,
    maker: str | None = None,
) -> Iterator[list[Path]]:
    """``with claim_output(paths, flag, ...) as targets:`` every output's lock is taken, then every output is
    checked (``check_output_file``), and the locks are held until the block ends, after the final renames. So no
    other command can write one of them between its check and this command's write (check then act).

    The caller claims before any slow load, so a refusal costs seconds.
    """
    paths, inputs = list(paths), list(inputs)
    targets = [_check_output_shape(path, flag) for path in paths]
    if len(set(targets)) != len(targets):
        raise UserError(f"{flag} names the same file twice: {' '.join(shown(path) for path in paths)}")
    with contextlib.ExitStack() as locks:
        for path, target in zip(paths, targets, strict=True):
            lock = lock_path_for(target)
            if lock in map(output_path, inputs):
                raise UserError(f"{flag} {shown(path)}: its lock file {shown(lock)} is an input; rename that file")
            locks.enter_context(OutputLock(lock, f"{flag} {shown(path)}"))
        yield [check_output_file(path, flag, inputs=inputs, overwrite=overwrite, maker=maker) for path in paths]


def check_output_folder(path: str | Path, flag: str) -> Path:
    """A folder to write into: it is one, or can be made (it is not a file and lies under no file). Returns the
    normalised path (see ``output_path``)."""
    check_output_name(path, flag)
    target = output_path(path)
    for candidate in (target, *target.parents):
        if candidate.exists() and not candidate.is_dir():
            where = "is a file" if candidate == target else f"lies under {candidate}, which is a file"
            raise UserError(f"{flag} {shown(path)} {where}; give a folder")
    return target


# Which command wrote a file: a PNG text chunk, the PDF Creator entry, or the last line of a text file.
MARK_PREFIX = "rlvr-chart "
TEXT_MARK_LINE = "# written by "


def figure_metadata(maker: str, suffix: str) -> dict[str, str]:
    """Matplotlib ``savefig`` metadata that marks a figure as written by ``maker``."""
    return {("Creator" if suffix == ".pdf" else "Software"): MARK_PREFIX + maker}


def text_with_mark(text: str, maker: str) -> str:
    return f"{text.rstrip(chr(10))}\n{TEXT_MARK_LINE}{MARK_PREFIX}{maker}\n"


def mark_of(path: Path) -> str | None:
    """The command whose mark ``path`` carries (see ``figure_metadata``, ``text_with_mark``), None if none."""
    try:
        if path.suffix == ".png":
            from PIL import Image

            try:
                with Image.open(path) as image:
                    software = getattr(image, "text", {}).get("Software", "")
            except Image.DecompressionBombError:
                return None  # not one of our figures either
            return software.removeprefix(MARK_PREFIX) if software.startswith(MARK_PREFIX) else None
        data = path.read_bytes()[-1_000_000:] if path.stat().st_size < 50_000_000 else b""
    except (OSError, ValueError, SyntaxError):
        return None
    if path.suffix == ".pdf":
        found = re.search(rb"/Creator \(" + re.escape(MARK_PREFIX.encode()) + rb"([^)]*)\)", data)
        return found.group(1).decode("utf-8", "replace") if found else None
    last_line = data.rstrip(b"\n").rsplit(b"\n", 1)[-1].decode("utf-8", "replace")
    prefix = TEXT_MARK_LINE + MARK_PREFIX
    return last_line.removeprefix(prefix) if last_line.startswith(prefix) else None


def write_output(path: Path, write: Callable[[Path], None]) -> None:
    """Write the output ``path`` through ``write(temporary)``: a temporary file beside it, named with this process
    id (``.<name>.<pid>.tmp<suffix>``, cut to fit 255 bytes), fsynced, then renamed over ``path``.

    A file system's refusal (full disk, read-only, no permission, name too long) becomes one UserError naming
    ``path``; the temporary file is removed however the write ends, and ``path`` is left as it was.
    """
    temporary = companion_path(path, ".", f".{os.getpid()}.tmp{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(temporary)
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        temporary.replace(path)
    except (OSError, UnicodeEncodeError) as error:
        raise write_failure(path, error) from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through ``write_output``."""
    write_output(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))


def write_json_atomically(path: Path, value: Any, indent: int = 2) -> None:
    write_atomically(path, json.dumps(value, ensure_ascii=False, indent=indent) + "\n")
