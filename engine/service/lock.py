"""One engine service per user and data folder: an OS lock on a file.

Why an OS lock and not a pid file: the kernel drops a ``flock`` (``LockFileEx`` on Windows)
when its process dies, however it dies, kill -9 included. A stale lock therefore cannot
exist; whoever takes the lock next knows that any socket file still lying there is a dead
service's and removes it before listening. The pid written into the file is only for messages.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO

from engine.service.errors import AlreadyRunning, ServiceError


class InstanceLock:
    """Held from :meth:`acquire` until :meth:`release` or the process's death."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    def acquire(self) -> None:
        """Take the lock, or raise AlreadyRunning naming the holder's pid."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(self.path, "a+b")  # noqa: SIM115 (held open as long as the lock)
        except OSError as e:
            raise ServiceError(f"cannot open the lock file {self.path}: {e.strerror or e}",
                               hint=f"check that {self.path.parent} is writable") from None
        if not _try_lock(handle):
            handle.close()
            raise AlreadyRunning(self.path, holder(self.path))
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing drops the lock
            self._file = None


def holder(path: Path) -> int | None:
    """The pid written by the process holding (or last holding) the lock."""
    try:
        return int(path.read_text(encoding="ascii").strip() or 0) or None
    except (OSError, ValueError):
        return None


if sys.platform == "win32":
    import msvcrt

    def _try_lock(handle: IO[bytes]) -> bool:
        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
            return True
        except OSError:
            return False
else:
    import fcntl

    def _try_lock(handle: IO[bytes]) -> bool:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False
