"""Where the engine service listens and locks: one per user and config folder.

The address derives from the config folder (so a test's or a dev's ``IDLEGRID_HOME`` gets its
own service) and the user (a named pipe's namespace is machine-wide on Windows).

- POSIX: a Unix socket ``idlegrid-<digest>.sock`` in ``$XDG_RUNTIME_DIR`` (per-user, mode
  0700, cleared at logout), else in ``<tmp>/idlegrid-<uid>`` made 0700 and checked to be ours.
  A socket path must fit ``sun_path`` (about 104 bytes), hence a short digest, not the folder.
- Windows: the named pipe ``\\\\.\\pipe\\idlegrid-<user>-<digest>``.

The lock file sits in the data folder: it is per data folder by construction and survives
nothing but the process holding it (see :mod:`engine.service.lock`).
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from engine.config import paths
from engine.service.errors import ServiceError

MAX_SOCKET_PATH = 100


@dataclass(frozen=True)
class Address:
    """Where the service of one config folder listens, and its lock file."""

    endpoint: str      # a socket path (POSIX) or a pipe name (Windows)
    lock: Path
    pipe: bool         # True: a Windows named pipe

    def __str__(self) -> str:
        return self.endpoint


def digest(config_dir: Path) -> str:
    return hashlib.sha256(str(config_dir).encode()).hexdigest()[:16]


def pipe_name(user: str, config_dir: Path) -> str:
    """The Windows named pipe of this user and config folder."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in user)[:40] or "user"
    return rf"\\.\pipe\idlegrid-{safe}-{digest(config_dir)}"


def socket_path(runtime_dir: Path, config_dir: Path) -> Path:
    """The Unix socket of this config folder in ``runtime_dir``; ServiceError when too long."""
    path = runtime_dir / f"idlegrid-{digest(config_dir)}.sock"
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        raise ServiceError(f"the socket path {path} is too long for a Unix socket",
                           hint="set XDG_RUNTIME_DIR (or TMPDIR) to a short folder")
    return path


def runtime_dir() -> Path:
    """``$XDG_RUNTIME_DIR``, else a private folder of ours under the temp folder."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and Path(xdg).is_dir() and os.access(xdg, os.W_OK):
        return Path(xdg)
    folder = Path(tempfile.gettempdir()) / f"idlegrid-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    info = folder.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise ServiceError(f"{folder} is not a private folder of this user (owner or mode are wrong)",
                           hint="remove it, or set XDG_RUNTIME_DIR to a folder only you can write")
    return folder


def address() -> Address:
    """The service address of the current user and config folder."""
    p = paths()
    lock = p.data_dir / "daemon.lock"
    if sys.platform == "win32":
        return Address(pipe_name(os.environ.get("USERNAME", "user"), p.config_dir), lock, pipe=True)
    return Address(str(socket_path(runtime_dir(), p.config_dir)), lock, pipe=False)
