"""A remote store with a local cache in front: each blob crosses the network at most once.

The worker downloads a dataset or a checkpoint once and the runner reads it from the cache
folder (same layout as ``LocalBlobs``); the verifier re-reads checkpoints it already fetched.
Blobs are immutable, so the cache never goes stale; a damaged cache file is detected by its
hash on read, dropped, and fetched again.
"""

from __future__ import annotations

import logging
from pathlib import Path

from engine.storage.errors import BlobCorrupt
from engine.storage.local import LocalStore
from engine.storage.store import BlobStore

log = logging.getLogger(__name__)


class CachedStore:
    """Gets go through ``cache`` (filled from ``remote`` on a miss); puts go to both."""

    def __init__(self, remote: BlobStore, cache: LocalStore) -> None:
        self.remote = remote
        self.cache = cache

    def __repr__(self) -> str:
        return f"CachedStore({self.remote!r}, {self.cache!r})"

    def has(self, sha256: str) -> bool:
        return self.cache.has(sha256) or self.remote.has(sha256)

    def put_bytes(self, data: bytes) -> str:
        sha = self.cache.put_bytes(data)
        self.remote.put_bytes(data)
        return sha

    def put_file(self, path: Path) -> str:
        sha = self.cache.put_file(path)
        self.remote.put_file(self.cache.path(sha))  # the cached copy: hashed already, cannot change under us
        return sha

    def get_bytes(self, sha256: str, *, max_size: int | None = None) -> bytes:
        self._fill(sha256, max_size)
        try:
            return self.cache.get_bytes(sha256, max_size=max_size)
        except BlobCorrupt:
            self._drop(sha256)
            self._fill(sha256, max_size)
            return self.cache.get_bytes(sha256, max_size=max_size)

    def get_file(self, sha256: str, dest: Path, *, max_size: int | None = None) -> Path:
        self._fill(sha256, max_size)
        try:
            return self.cache.get_file(sha256, dest, max_size=max_size)
        except BlobCorrupt:
            self._drop(sha256)
            self._fill(sha256, max_size)
            return self.cache.get_file(sha256, dest, max_size=max_size)

    def path(self, sha256: str, *, max_size: int | None = None) -> Path:
        """The blob's file in the cache, fetched first if missing (for the runner's blobs folder)."""
        self._fill(sha256, max_size)
        return self.cache.path(sha256)

    def _fill(self, sha256: str, max_size: int | None) -> None:
        if not self.cache.has(sha256):
            self.remote.get_file(sha256, self.cache.path(sha256), max_size=max_size)

    def _drop(self, sha256: str) -> None:
        log.warning("cached blob %s is damaged; fetching it again from %r", sha256, self.remote)
        self.cache.remove(sha256)
