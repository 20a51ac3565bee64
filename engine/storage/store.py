"""What every blob store offers: the five operations the worker, verifier and requester use."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class BlobStore(Protocol):
    """Content-addressed storage: a blob's address is the sha256 of its bytes.

    Every get checks the hash of what it returns, so a caller can trust the bytes whatever
    the store (a local folder, a remote server, a cache in front of one) holds. ``max_size``
    bounds what a get accepts, so a hostile store cannot fill the disk or memory.
    """

    def has(self, sha256: str) -> bool:
        """Whether the store holds the blob (without fetching it)."""
        ...

    def put_bytes(self, data: bytes) -> str:
        """Store ``data``; return its sha256 (hex)."""
        ...

    def put_file(self, path: Path) -> str:
        """Store a file, streamed in chunks; return its sha256 (hex)."""
        ...

    def get_bytes(self, sha256: str, *, max_size: int | None = None) -> bytes:
        """The blob's bytes, hash-checked; for blobs small enough to hold in memory."""
        ...

    def get_file(self, sha256: str, dest: Path, *, max_size: int | None = None) -> Path:
        """Stream the blob to a temp file beside ``dest``, check its hash, rename it to ``dest``."""
        ...
