"""A blob store in a local folder: one file per blob, named by its sha256.

The layout (``<root>/<sha256>``) is the one ``engine.training.datasets.LocalBlobs`` reads, so a
LocalStore's root can be handed to the runner as its blobs folder. The blob server serves a
LocalStore, and the HTTP client caches into one.
"""

from __future__ import annotations

from pathlib import Path

from engine.storage.address import CHUNK, check_sha256, sha256_bytes
from engine.storage.errors import (
    BlobCorrupt,
    BlobFileError,
    BlobNotFound,
    BlobTooLarge,
    StorageRootError,
)
from engine.storage.spool import FileSpool, MemorySpool, prepare_target


class LocalStore:
    """Blobs as files ``<root>/<sha256>``; the folder is created if missing."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser()
        if self.root.exists() and not self.root.is_dir():
            raise StorageRootError(
                f"blob store folder {self.root} is a file, not a folder",
                hint="name a folder (it is created if missing), or move the file away",
            )
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StorageRootError(
                f"cannot create the blob store folder {self.root}: {e.strerror or e}",
                hint="name a folder you can write to",
            ) from None

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    def path(self, sha256: str) -> Path:
        """Where the blob lives (whether or not it is there yet)."""
        return self.root / check_sha256(sha256)

    def path_for(self, sha256: str, size: int) -> Path:
        """``LocalBlobs`` compatibility: the dataset loader asks for blobs this way."""
        return self.path(sha256)

    def has(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def size(self, sha256: str) -> int:
        """The stored blob's size in bytes, or :class:`BlobNotFound`."""
        path = self.path(sha256)
        try:
            return path.stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(sha256, str(path)) from None

    def put_bytes(self, data: bytes) -> str:
        sha = sha256_bytes(data)
        if not self.has(sha):
            with self._spool() as spool:
                spool.write(data)
                spool.commit(self.path(sha))
        return sha

    def put_file(self, path: Path) -> str:
        """Copy a file in (one pass: hashed while copied to a temp file, then renamed)."""
        with self._spool() as spool:
            _copy(Path(path), spool)
            sha = spool.sha256
            if not self.has(sha):
                spool.commit(self.path(sha))
        return sha

    def get_bytes(self, sha256: str, *, max_size: int | None = None) -> bytes:
        spool = MemorySpool(where=str(self.path(sha256)), max_size=max_size, limit_of="max_size")
        self._read_into(sha256, spool, max_size)
        return spool.getvalue()

    def get_file(self, sha256: str, dest: Path, *, max_size: int | None = None) -> Path:
        dest = prepare_target(dest)
        with FileSpool(dest.parent, where=str(self.path(sha256)), max_size=max_size, limit_of="max_size") as spool:
            self._read_into(sha256, spool, max_size)
            return spool.commit(dest)

    def remove(self, sha256: str) -> bool:
        """Drop a blob (a damaged cache entry, say); False if it was not there."""
        try:
            self.path(sha256).unlink()
            return True
        except FileNotFoundError:
            return False

    def _spool(self) -> FileSpool:
        return FileSpool(self.root, where=str(self.root))

    def _read_into(self, sha256: str, spool: FileSpool | MemorySpool, max_size: int | None) -> None:
        path = self.path(sha256)
        if max_size is not None and (size := self.size(sha256)) > max_size:
            raise BlobTooLarge(str(path), size, max_size, limit_of="max_size")
        try:
            _copy(path, spool)
        except BlobFileError:
            if not path.exists():
                raise BlobNotFound(sha256, str(path)) from None
            raise
        if spool.sha256 != sha256:
            raise BlobCorrupt(sha256, str(path), spool.sha256)


def _copy(source: Path, spool: FileSpool | MemorySpool) -> None:
    try:
        with open(source, "rb") as f:
            while chunk := f.read(CHUNK):
                spool.write(chunk)
    except OSError as e:
        raise BlobFileError(f"cannot read {source}: {e.strerror or e}") from None

