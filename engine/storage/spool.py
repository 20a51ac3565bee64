"""Receiving a blob: chunks are hashed and counted as they arrive, then kept or dropped whole.

Every writer of a blob (the local store, the server, the HTTP client's downloads) goes through
a :class:`FileSpool`: the bytes land in a temp file beside their destination, and only a body
with the right hash is renamed into place. A reader therefore never sees half a blob, a crash
leaves at most a ``.partial-*`` file, and two writers of the same blob cannot hurt each other
(each renames its own complete copy of identical bytes). No fsync: a blob lost in a power cut is
fetched again, and its hash catches any torn write.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import time
from pathlib import Path
from types import TracebackType

from engine.storage.errors import BlobFileError, BlobTooLarge

PARTIAL_PREFIX = ".partial-"


class _Spool:
    """Counting, hashing and the size limit, shared by the file and memory spools."""

    def __init__(self, *, where: str, max_size: int | None, limit_of: str) -> None:
        self.where = where
        self.max_size = max_size
        self.limit_of = limit_of
        self.size = 0
        self._digest = hashlib.sha256()

    def write(self, chunk: bytes | memoryview) -> None:
        self.size += len(chunk)
        if self.max_size is not None and self.size > self.max_size:
            raise BlobTooLarge(self.where, self.size, self.max_size, limit_of=self.limit_of)
        self._digest.update(chunk)
        self._store(chunk)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def _store(self, chunk: bytes | memoryview) -> None:
        raise NotImplementedError


class MemorySpool(_Spool):
    """For small blobs a caller asked to get as bytes."""

    def __init__(self, *, where: str, max_size: int | None = None, limit_of: str = "the limit") -> None:
        super().__init__(where=where, max_size=max_size, limit_of=limit_of)
        self._buffer = io.BytesIO()

    def _store(self, chunk: bytes | memoryview) -> None:
        self._buffer.write(chunk)

    def getvalue(self) -> bytes:
        return self._buffer.getvalue()

    def discard(self) -> None:
        self._buffer = io.BytesIO()


class FileSpool(_Spool):
    """A temp file in ``directory`` that :meth:`commit` renames into place; dropped if never committed."""

    def __init__(self, directory: Path, *, where: str, max_size: int | None = None,
                 limit_of: str = "the limit") -> None:
        super().__init__(where=where, max_size=max_size, limit_of=limit_of)
        try:
            fd, name = tempfile.mkstemp(dir=directory, prefix=PARTIAL_PREFIX)
        except OSError as e:
            raise BlobFileError(f"cannot write in {directory}: {e.strerror or e}") from None
        self.temp = Path(name)
        self._file = os.fdopen(fd, "wb")
        self._done = False

    def _store(self, chunk: bytes | memoryview) -> None:
        try:
            self._file.write(chunk)
        except OSError as e:
            raise BlobFileError(f"cannot write {self.temp}: {e.strerror or e}") from None

    def commit(self, dest: Path) -> Path:
        """Move the complete blob to ``dest`` atomically (replacing an older copy of it)."""
        try:
            self._file.close()
            os.chmod(self.temp, 0o644)  # blobs are public content; mkstemp made it private
            os.replace(self.temp, dest)
        except OSError as e:
            self.discard()
            raise BlobFileError(f"cannot write {dest}: {e.strerror or e}") from None
        self._done = True
        return dest

    def discard(self) -> None:
        if not self._done:
            self._done = True
            self._file.close()
            self.temp.unlink(missing_ok=True)

    def __enter__(self) -> FileSpool:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.discard()


def remove_stale_partials(directory: Path, older_than_s: float = 3600.0) -> int:
    """Delete ``.partial-*`` files a crash left behind (older than the longest plausible upload)."""
    removed = 0
    cutoff = time.time() - older_than_s
    for temp in directory.glob(PARTIAL_PREFIX + "*"):
        try:
            if temp.stat().st_mtime < cutoff:
                temp.unlink()
                removed += 1
        except OSError:
            continue  # another process took care of it
    return removed


def prepare_target(dest: Path) -> Path:
    """A file path a get may write: its folder is created, an existing folder is refused."""
    dest = Path(dest).expanduser()
    if dest.is_dir():
        raise BlobFileError(f"cannot write the blob to {dest}: it is a folder",
                            hint="name the file to write, e.g. --out FOLDER/NAME")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BlobFileError(f"cannot create the folder {dest.parent}: {e.strerror or e}") from None
    return dest
