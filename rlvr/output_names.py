"""Names on the way to an output: a name the file system cannot hold is refused in one line before anything is
written, and the names of an output's companions (its lock, its temporary file, its progress file) are kept within
the 255-byte limit of a file name, however long the output's own name is.
"""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

from rlvr.errors import UserError

NAME_MAX_BYTES = 255  # a file name's limit on Linux and macOS file systems (os.pathconf's PC_NAME_MAX)
PATH_MAX_BYTES = 4096  # a whole path's limit on Linux (PC_PATH_MAX)
_DIGEST_CHARACTERS = 16

# What to do about a file system's refusal, by errno; the error's own words come first.
_ADVICE = {
    errno.ENOSPC: "free some space or write elsewhere",
    errno.EDQUOT: "free some space or write elsewhere",
    errno.EROFS: "write elsewhere",
    errno.EACCES: "write elsewhere",
    errno.EPERM: "write elsewhere",
    errno.ENAMETOOLONG: "give a shorter name",
}


def shown(path: str | Path) -> str:
    """``path`` printable on any terminal: a byte that is not UTF-8 appears as ``\\xff``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def check_output_name(path: str | Path, flag: str) -> None:
    """Refuse an output path that no file can be written at: a byte that is not UTF-8 (the toolkit records its
    outputs' paths in UTF-8 JSON), a component over 255 bytes, a path over 4096 bytes."""
    raw = os.fsencode(path)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UserError(
            f"{flag} {shown(path)}: byte 0x{raw[error.start]:02x} is not UTF-8; give a UTF-8 file name"
        ) from None
    for part in Path(os.fsdecode(raw)).parts:
        size = len(os.fsencode(part))
        if size > NAME_MAX_BYTES:
            raise UserError(
                f"{flag} {shown(path)[:60]}...: the name {part[:20]}... is {size} bytes, over the file system's "
                f"limit of {NAME_MAX_BYTES}; give a shorter name"
            )
    absolute = os.fsencode(os.path.abspath(path))
    if len(absolute) >= PATH_MAX_BYTES:
        raise UserError(f"{flag} {shown(path)[:60]}...: the path is {len(absolute)} bytes, over {PATH_MAX_BYTES - 1}")


def companion_path(path: Path, prefix: str, suffix: str) -> Path:
    """The sibling of ``path`` named ``prefix + name + suffix``; where that passes 255 bytes, the name is cut and a
    hash of the whole name put after it, so the companions of two long names still differ."""
    fitted = prefix + path.name + suffix
    if len(os.fsencode(fitted)) <= NAME_MAX_BYTES:
        return path.with_name(fitted)
    digest = hashlib.sha256(os.fsencode(path.name)).hexdigest()[:_DIGEST_CHARACTERS]
    room = NAME_MAX_BYTES - len(os.fsencode(prefix + suffix)) - len(digest) - 1
    cut = os.fsencode(path.name)[:room].decode("utf-8", "ignore")  # a character cut in half is dropped
    return path.with_name(f"{prefix}{cut}~{digest}{suffix}")


def write_failure(path: Path, error: OSError | UnicodeEncodeError) -> UserError:
    """The one line for a file the file system would not write (full disk, read-only, no permission...)."""
    if isinstance(error, UnicodeEncodeError):
        return UserError(f"cannot write {shown(path)}: it would record a path that is not UTF-8 ({error.reason})")
    reason = error.strerror or str(error)
    advice = _ADVICE.get(error.errno) if error.errno is not None else None
    return UserError(f"cannot write {shown(path)}: {reason}" + (f"; {advice}" if advice else ""))
