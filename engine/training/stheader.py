"""A safetensors file's header, checked before the file is loaded.

A checkpoint or dataset blob may come from a stranger. Before ``safetensors`` maps it, this
reads only the 8-byte length and the JSON header (through :mod:`engine.safejson`, depth and
size limited) and checks what a hostile file could abuse: a header length past the file or
the limit, too many tensors, shapes whose element counts overflow or disagree with the byte
ranges, ranges outside the data section. Only then does the real loader run.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path
from typing import NoReturn

from engine.errors import CheckpointError
from engine.safejson import JsonLimits, UntrustedJsonError, loads

MAX_HEADER_BYTES = 16 * 1024 * 1024
MAX_TENSORS = 100_000
HEADER_LIMITS = JsonLimits(max_bytes=MAX_HEADER_BYTES, max_depth=4, max_items=20 * MAX_TENSORS, max_string=1024)
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def check_file(path: Path, what: str) -> int:
    """The number of tensors in ``path`` after checking its header; CheckpointError if unsafe."""
    try:
        with path.open("rb") as f:
            size = path.stat().st_size
            prefix = f.read(8)
            if len(prefix) < 8:
                _bad(what, f"is {size} bytes, too short for a safetensors header")
            (length,) = struct.unpack("<Q", prefix)
            if length > MAX_HEADER_BYTES or 8 + length > size:
                _bad(what, f"declares a {length:,}-byte header in a {size:,}-byte file")
            raw = f.read(length)
    except IsADirectoryError:
        _bad(what, "is a folder, not a file")
    try:
        header = loads(raw, limits=HEADER_LIMITS, what="its header")
    except UntrustedJsonError as e:
        _bad(what, e.message)
    if not isinstance(header, dict):
        _bad(what, "has a header that is not a JSON object")
    data_size = size - 8 - length
    count = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        count += 1
        if count > MAX_TENSORS:
            _bad(what, f"holds more than {MAX_TENSORS:,} tensors")
        _check_entry(what, name, entry, data_size)
    return count


def _check_entry(what: str, name: str, entry: object, data_size: int) -> None:
    if not isinstance(entry, dict):
        _bad(what, f"has a malformed entry for tensor {name[:40]!r}")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in DTYPE_BYTES:
        _bad(what, f"tensor {name[:40]!r} has unsupported dtype {str(dtype)[:16]!r}")
    if not (isinstance(shape, list) and len(shape) <= 8
            and all(type(d) is int and 0 <= d < 2**40 for d in shape)):
        _bad(what, f"tensor {name[:40]!r} has an invalid shape")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)
            and 0 <= offsets[0] <= offsets[1] <= data_size):
        _bad(what, f"tensor {name[:40]!r} has byte offsets outside the file")
    if math.prod(shape) * DTYPE_BYTES[dtype] != offsets[1] - offsets[0]:
        _bad(what, f"tensor {name[:40]!r}'s shape does not match its byte range")


def _bad(what: str, problem: str) -> NoReturn:
    raise CheckpointError(f"{what} {problem}", hint="it is corrupt or not a checkpoint: delete it, or fetch it again")
