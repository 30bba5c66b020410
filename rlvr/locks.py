"""One writer per output: a lock file held with ``fcntl.flock`` from before the output is first checked until it
is renamed into place.

The kernel drops a flock when its process ends, however it ends (a SIGKILL included), so a lock can never be left
stuck; the file itself is removed on a normal exit. A second command on the same output is refused in one line.
A lock file carries the toolkit's mark, so a file of the same name that is not one (a user's ``out.json.lock``, a
config file named ``.main.lock``) is refused and left as it is, never taken over or deleted.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from pathlib import Path
from types import TracebackType

from rlvr.errors import UserError
from rlvr.output_names import shown, write_failure

LOCK_MARK = b"rlvr-chart output lock"  # the first line of every lock file; then the holder's process id
_LOCK_READ_BYTES = 64
_PID_LINE = re.compile(rb"\d{1,10}\n")  # what a lock file held before it carried the mark


def _is_lock_file(content: bytes) -> bool:
    """A lock of this toolkit: marked, or empty (made this instant, or by a holder killed before it wrote), or a
    bare process id (left by a killed holder of an earlier version)."""
    return not content or content.startswith(LOCK_MARK + b"\n") or _PID_LINE.fullmatch(content) is not None


class OutputLock:
    """``with OutputLock(lock_path, what):`` holds ``lock_path`` or raises UserError naming ``what`` as busy."""

    def __init__(self, lock_path: Path, what: str) -> None:
        self.lock_path = lock_path
        self.what = what
        self._descriptor: int | None = None
        self._made_folders: list[Path] = []  # deepest first: removed again on exit when left empty

    def __enter__(self) -> OutputLock:
        try:
            self._descriptor = self._take()
        except OSError as error:
            raise write_failure(self.lock_path, error) from None
        return self

    def _take(self) -> int:
        folder = self.lock_path.parent
        missing = [candidate for candidate in (folder, *folder.parents) if not candidate.exists()]
        folder.mkdir(parents=True, exist_ok=True)
        self._made_folders = missing
        while True:
            descriptor = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
                raise UserError(
                    f"{self.what} is being written by another running command (it holds {shown(self.lock_path)}); "
                    "wait for it to finish, or write elsewhere"
                ) from None
            # The holder before us removes the file as it lets go; a lock on a removed file guards nothing, so
            # take the lock again on the file now at that path.
            try:
                if os.stat(self.lock_path).st_ino == os.fstat(descriptor).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(descriptor)
        if not _is_lock_file(os.pread(descriptor, _LOCK_READ_BYTES, 0)):
            os.close(descriptor)
            raise UserError(
                f"{shown(self.lock_path)} is in the way of the lock of {self.what} and is not a lock of this "
                "toolkit; move or rename it, or write elsewhere"
            )
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, LOCK_MARK + f"\n{os.getpid()}\n".encode(), 0)
        return descriptor

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._descriptor is None:
            return
        # Removed while still held, so no one locks a file about to vanish; where the folder became read-only
        # meanwhile the file stays, and the kernel still drops the lock.
        with contextlib.suppress(OSError):
            self.lock_path.unlink(missing_ok=True)
        os.close(self._descriptor)
        self._descriptor = None
        for folder in self._made_folders:  # a refused or failed command leaves no empty folder of its own behind
            with contextlib.suppress(OSError):
                folder.rmdir()
