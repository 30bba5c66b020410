"""One writer per output: a lock file held with ``fcntl.flock`` for as long as a command writes.

The kernel drops a flock when its process ends, however it ends (a SIGKILL included), so a lock can never be left
stuck; the file itself is removed on a normal exit. A second command on the same output is refused in one line.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from rlvr.errors import UserError


class OutputLock:
    """``with OutputLock(lock_path, what):`` holds ``lock_path`` or raises UserError naming ``what`` as busy."""

    def __init__(self, lock_path: Path, what: str) -> None:
        self.lock_path = lock_path
        self.what = what
        self._descriptor: int | None = None

    def __enter__(self) -> OutputLock:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            descriptor = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
                raise UserError(
                    f"{self.what} is being written by another running command (it holds {self.lock_path}); wait "
                    "for it to finish, or write elsewhere"
                ) from None
            # The holder before us removes the file as it lets go; a lock on a removed file guards nothing, so
            # take the lock again on the file now at that path.
            try:
                if os.stat(self.lock_path).st_ino == os.fstat(descriptor).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(descriptor)
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        self._descriptor = descriptor
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._descriptor is None:
            return
        self.lock_path.unlink(missing_ok=True)  # while still held, so no one locks a file about to vanish
        os.close(self._descriptor)
        self._descriptor = None
