"""Blob addresses: the sha256 of a blob's bytes, written as 64 lowercase hex digits."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from engine.storage.errors import BlobFileError, InvalidBlobAddress

CHUNK = 1 << 20  # bytes read or written at a time: large blobs are never held whole in memory
_HEX64 = re.compile(r"[0-9a-f]{64}")


def check_sha256(value: object) -> str:
    """``value`` if it is a blob address, else :class:`InvalidBlobAddress` (uppercase is refused, not folded,
    so one blob has exactly one name in URLs and on disk)."""
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise InvalidBlobAddress(value)
    return value


def is_sha256(value: object) -> bool:
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> tuple[str, int]:
    """The address and size of a file, read in chunks into one reused buffer (``file_digest``)."""
    try:
        with open(path, "rb") as f:
            digest = hashlib.file_digest(f, "sha256")
            size = f.tell()
    except OSError as e:
        raise BlobFileError(f"cannot read {path}: {e.strerror or e}") from None
    return digest.hexdigest(), size
