"""The canonical hash of one checkpoint (a "leaf").

Two checkpoints have the same leaf hash iff they hold the same tensors: same names, dtypes,
shapes and bytes; how a file lays them out does not matter. The encoding, hashed with SHA-256::

    b"idlegrid.ckpt.v1\\n"
    for each tensor, names sorted by their UTF-8 bytes:
        u32le(len(name)) || name (UTF-8)
        u8(len(dtype))   || dtype (ASCII safetensors code: F64 F32 F16 I64 I32 I16 I8 U8 BOOL)
        u32le(ndim)      || u64le(dim) for each dim
        u64le(nbytes)    || the elements, row-major, little-endian

Tensor bytes go to hashlib straight from the array's buffer (no copy), so hashing runs at
SHA-256 speed; see ``bench/hashing.py``.
"""

from __future__ import annotations

import hashlib
import struct
import sys
from collections.abc import Mapping
from functools import lru_cache

import numpy as np

from engine.errors import CheckpointError

MAGIC = b"idlegrid.ckpt.v1\n"

DTYPE_CODES: dict[np.dtype, str] = {
    np.dtype("float64"): "F64",
    np.dtype("float32"): "F32",
    np.dtype("float16"): "F16",
    np.dtype("int64"): "I64",
    np.dtype("int32"): "I32",
    np.dtype("int16"): "I16",
    np.dtype("int8"): "I8",
    np.dtype("uint8"): "U8",
    np.dtype("bool"): "BOOL",
}


def dtype_code(array: np.ndarray, name: str) -> str:
    """The safetensors code of ``array``'s dtype, or a CheckpointError naming the tensor."""
    code = DTYPE_CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise CheckpointError(
            f"tensor {name!r} has dtype {array.dtype}, which checkpoints cannot hold",
            hint=f"use one of {', '.join(DTYPE_CODES.values())}",
        )
    return code


def _is_canonical(array: np.ndarray) -> bool:
    """Whether ``array``'s buffer already is the encoding's bytes: C order, little-endian."""
    order = array.dtype.byteorder
    return array.flags.c_contiguous and (order in "<|" or (order == "=" and sys.byteorder == "little"))


def canonical(array: np.ndarray, name: str) -> tuple[str, np.ndarray]:
    """``array``'s dtype code and its elements as C-order little-endian (itself when they are)."""
    code = dtype_code(array, name)
    if _is_canonical(array):
        return code, array
    little = array.astype(array.dtype.newbyteorder("<"), copy=False)
    # not np.ascontiguousarray: it turns a 0-d array into shape (1,), another tensor
    return code, little if little.flags.c_contiguous else little.copy(order="C")


@lru_cache(maxsize=4096)
def leaf_prefix(name: str, code: str, shape: tuple[int, ...], nbytes: int) -> bytes:
    """Everything the encoding puts before a tensor's elements. A model checkpoints the same
    names and shapes every time, so this is built once per tensor, not once per checkpoint."""
    raw_name = name.encode("utf-8")
    return b"".join((
        struct.pack("<I", len(raw_name)), raw_name,
        struct.pack("<B", len(code)), code.encode("ascii"),
        struct.pack(f"<I{len(shape)}Q", len(shape), *shape),
        struct.pack("<Q", nbytes),
    ))


def leaf_hash(tensors: Mapping[str, np.ndarray]) -> bytes:
    """SHA-256 of the canonical encoding above; 32 bytes."""
    h = hashlib.sha256(MAGIC)
    for name in sorted(tensors, key=lambda n: n.encode("utf-8")):
        code, arr = canonical(np.asarray(tensors[name]), name)
        h.update(leaf_prefix(name, code, arr.shape, arr.nbytes))
        if arr.nbytes:
            h.update(arr.reshape(-1).view(np.uint8).data)
    return h.digest()
