"""From a configured location (``network.blob_url``, ``--to``, ``--from``) to a blob store."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from engine.storage.cached import CachedStore
from engine.storage.errors import StorageLocationError
from engine.storage.http import HttpStore
from engine.storage.local import LocalStore
from engine.storage.server import DEFAULT_PORT
from engine.storage.store import BlobStore

DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}"  # where `idlegrid blobs serve` and the devnet listen


def open_store(location: str, *, cache: Path | None = None) -> BlobStore:
    """``http(s)://…`` -> :class:`HttpStore` (behind a :class:`CachedStore` in ``cache`` if given);
    a path or ``file://`` URL -> :class:`LocalStore` (which needs no cache)."""
    if not isinstance(location, str) or not location.strip():
        raise StorageLocationError(str(location), "is empty")
    scheme = urlsplit(location).scheme.lower()
    if scheme in ("http", "https"):
        remote = HttpStore(location)
        return CachedStore(remote, LocalStore(cache)) if cache is not None else remote
    if scheme == "file":
        parts = urlsplit(location)
        if parts.netloc not in ("", "localhost"):
            raise StorageLocationError(location, "names another host: file:// URLs must be local")
        return LocalStore(Path(unquote(parts.path)))
    if len(scheme) > 1:  # a one-letter "scheme" is a Windows drive letter (C:\blobs)
        raise StorageLocationError(location, f"uses the unsupported scheme {scheme}://")
    return LocalStore(Path(location))
