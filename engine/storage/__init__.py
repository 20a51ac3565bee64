"""Content-addressed blob storage: specs, datasets, checkpoints and result manifests by sha256.

- :class:`LocalStore`: a folder of ``<sha256>`` files (the runner's blobs folder layout).
- :class:`BlobServer`: a LocalStore over HTTP (``idlegrid blobs serve``; the devnet runs one).
- :class:`HttpStore`: its client, with retries and a hash check on every download.
- :class:`CachedStore`: a remote store behind a local cache.
- :func:`open_store`: the right one for a configured location.

Every store checks the sha256 of what it returns, so callers never check again.
"""

from engine.storage.address import check_sha256, sha256_bytes, sha256_file
from engine.storage.cached import CachedStore
from engine.storage.http import HttpStore
from engine.storage.local import LocalStore
from engine.storage.location import DEFAULT_URL, open_store
from engine.storage.server import DEFAULT_MAX_SIZE, DEFAULT_PORT, BlobServer
from engine.storage.store import BlobStore

__all__ = [
    "DEFAULT_MAX_SIZE",
    "DEFAULT_PORT",
    "DEFAULT_URL",
    "BlobServer",
    "BlobStore",
    "CachedStore",
    "HttpStore",
    "LocalStore",
    "check_sha256",
    "open_store",
    "sha256_bytes",
    "sha256_file",
]
