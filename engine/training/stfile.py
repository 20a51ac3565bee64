"""Writing safetensors files without building them in memory first.

A checkpoint is written on the trainer's background thread while training goes on, so what
matters is how long the writer holds the GIL, not only how long it takes. ``safetensors``'
own ``save`` joins every tensor into one ``bytes`` object under the GIL (a copy of the whole
checkpoint plus per-tensor Python work); here the header is a few microseconds of JSON and the
tensor bytes go from the arrays' own buffers to the file in one ``writev`` call, which runs
without the GIL.

The file is byte-for-byte what ``safetensors.numpy.save`` writes for the same tensors (tested
for every dtype checkpoints can hold): tensors ordered by dtype (widest alignment first, the
library's own order) then by name, a compact JSON header padded with spaces to a multiple of
8 bytes, no ``__metadata__``.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from engine.commit.leaf import canonical

# safetensors writes tensors in descending order of its Dtype enum; for the dtypes a
# checkpoint can hold that is this order.
_ORDER = ("I64", "F64", "F32", "I32", "F16", "I16", "I8", "U8", "BOOL")
_RANK = {code: i for i, code in enumerate(_ORDER)}
_IOV_MAX = 512  # buffers per writev call; POSIX guarantees at least 16, Linux allows 1024


def header(entries: Mapping[str, tuple[str, tuple[int, ...], int]]) -> tuple[bytes, list[str]]:
    """The length-prefixed header for tensors given as ``name -> (code, shape, nbytes)``, and
    the names in the order their bytes follow it."""
    order = sorted(entries, key=lambda name: (_RANK[entries[name][0]], name))
    fields: dict[str, dict[str, Any]] = {}
    offset = 0
    for name in order:
        code, shape, nbytes = entries[name]
        fields[name] = {"dtype": code, "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    text = json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text, order


def encode(tensors: Mapping[str, np.ndarray]) -> list[memoryview | bytes]:
    """The file as a list of buffers: the length-prefixed header, then each tensor's bytes."""
    coded = {name: canonical(array, name) for name, array in tensors.items()}
    head, order = header({name: (code, a.shape, a.nbytes) for name, (code, a) in coded.items()})
    return [head, *(coded[n][1].reshape(-1).view(np.uint8).data for n in order if coded[n][1].nbytes)]


def write_atomic(path: Path, tensors: Mapping[str, np.ndarray]) -> None:
    """Write ``tensors`` to ``path`` through a temp file and a rename: a crash leaves the old
    file or the new one, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    write_in_place(tmp, tensors)
    os.replace(tmp, path)


def write_in_place(path: Path, tensors: Mapping[str, np.ndarray]) -> None:
    """Write ``tensors`` to ``path`` directly: a crash can leave half a file, so only for files
    whose hash is recorded elsewhere and checked before use (a job's leaf checkpoints)."""
    write_buffers(path, encode(tensors))


def write_buffers(path: Path, buffers: list[memoryview | bytes]) -> None:
    """Create or truncate ``path`` and write ``buffers`` to it, in place, in one ``writev``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o666)
    try:
        _write_all(fd, buffers)
    finally:
        os.close(fd)


def _write_all(fd: int, buffers: list[memoryview | bytes]) -> None:
    pending = [memoryview(b).cast("B") for b in buffers]
    if not hasattr(os, "writev"):  # Windows
        for b in pending:
            while b:
                b = b[os.write(fd, b):]
        return
    while pending:
        written = os.writev(fd, pending[:_IOV_MAX])
        while written:  # drop what was written; a short write leaves part of one buffer
            if written >= len(pending[0]):
                written -= len(pending.pop(0))
            else:
                pending[0], written = pending[0][written:], 0
