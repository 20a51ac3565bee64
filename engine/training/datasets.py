"""Datasets as in-memory tensors, built identically on every machine.

Builtins are generated or read from shipped files (nothing is downloaded). A blob dataset is
a safetensors file found by its sha256 through a ``BlobSource``; it is hash-checked before it
is read, and safetensors never runs code.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.numpy import load_file

from engine.errors import DatasetError
from engine.tasks import spec as s
from engine.tasks.datainfo import corpus_text, corpus_vocab, data_info
from engine.training.sampling import STREAM_DATA, derive, normal, split_indices


class BlobSource(Protocol):
    """Finds a content-addressed blob on local disk (downloading it if it must)."""

    def path_for(self, sha256: str, size: int) -> Path: ...


@dataclass(frozen=True)
class LocalBlobs:
    """Blobs already on disk as ``<root>/<sha256>``."""

    root: Path

    def path_for(self, sha256: str, size: int) -> Path:
        return self.root / sha256


@dataclass(frozen=True)
class Split:
    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass(frozen=True)
class Data:
    train: Split
    heldout: Split


def _digits_csv() -> Path:
    """scikit-learn's bundled ``datasets/data/digits.csv.gz``, found without importing
    scikit-learn: its import (scipy and all) took about as long as torch's on the 2-core VM,
    in every runner. A frozen build collects the file at the same place under its package."""
    found = importlib.util.find_spec("sklearn")
    for folder in (found.submodule_search_locations or []) if found else []:
        path = Path(folder) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            return path
    raise DatasetError("the digits dataset (scikit-learn's datasets/data/digits.csv.gz) is not installed",
                       hint="install scikit-learn (pip install scikit-learn)")


@lru_cache(maxsize=1)
def _digits_table() -> tuple[np.ndarray, np.ndarray]:
    """Pixels (0..16, float64) and labels, read as ``sklearn.datasets.load_digits`` reads them
    (``np.loadtxt`` of the gzipped CSV, the last column the label); once per process, so a
    reused runner reads it once. Read-only: every job indexes copies out of it."""
    with gzip.open(_digits_csv(), mode="rt", encoding="utf-8") as f:
        table = np.loadtxt(f, delimiter=",")
    pixels, labels = table[:, :-1], table[:, -1].astype(np.int64)
    pixels.flags.writeable = labels.flags.writeable = False
    return pixels, labels


def _digits(ds: s.DigitsData) -> tuple[np.ndarray, np.ndarray]:
    pixels, labels = _digits_table()
    x = (pixels.astype(np.float32) / np.float32(16.0))
    if ds.layout == "image":
        x = x.reshape(-1, 1, 8, 8)
    return np.ascontiguousarray(x), labels.copy()


def _synthetic_classification(ds: s.SyntheticClassificationData) -> tuple[np.ndarray, np.ndarray]:
    n, f, c = ds.samples, ds.features, ds.classes
    centroids = normal(derive(ds.seed, STREAM_DATA, 0), c * f).reshape(c, f) * 2.0
    y = (np.arange(n, dtype=np.int64) * 7919) % c
    x = centroids[y] + ds.noise * normal(derive(ds.seed, STREAM_DATA, 1), n * f).reshape(n, f)
    return x.astype(np.float32), y


def _synthetic_regression(ds: s.SyntheticRegressionData) -> tuple[np.ndarray, np.ndarray]:
    n, f, t = ds.samples, ds.features, ds.targets
    x = normal(derive(ds.seed, STREAM_DATA, 0), n * f).reshape(n, f)
    w = normal(derive(ds.seed, STREAM_DATA, 1), f * t).reshape(f, t) / np.sqrt(f)
    y = np.zeros((n, t), dtype=np.float64)
    for j in range(f):  # a fixed order of float adds: BLAS would differ across machines
        y += x[:, j : j + 1] * w[j]
    y += ds.noise * normal(derive(ds.seed, STREAM_DATA, 2), n * t).reshape(n, t)
    return x.astype(np.float32), y.astype(np.float32)


def _text(ds: s.TextData) -> tuple[np.ndarray, np.ndarray]:
    text, vocab = corpus_text(ds.corpus), corpus_vocab(ds.corpus)
    ids = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    lookup = {ord(ch): i for i, ch in enumerate(vocab)}
    tokens = np.array([lookup[int(c)] for c in ids], dtype=np.int64)
    n, t = len(tokens) - ds.context, ds.context
    windows = np.lib.stride_tricks.sliding_window_view(tokens, t + 1)[:n]
    return np.ascontiguousarray(windows[:, :-1]), np.ascontiguousarray(windows[:, 1:])


def _blob(ds: s.BlobData, blobs: BlobSource | None) -> tuple[np.ndarray, np.ndarray]:
    if blobs is None:
        raise DatasetError(f"dataset blob {ds.sha256} is needed but no blob store was given")
    path = blobs.path_for(ds.sha256, ds.size)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"dataset blob {ds.sha256} is not at {path}",
                           hint="fetch it from the task's blob store first") from None
    if hashlib.sha256(raw).hexdigest() != ds.sha256:
        raise DatasetError(f"dataset blob at {path} does not match sha256 {ds.sha256}",
                           hint="delete it so it is downloaded again")
    if len(raw) != ds.size:  # the right file: the spec's declared size is what is wrong
        raise DatasetError(f"dataset blob {ds.sha256} is {len(raw)} bytes, but the spec's dataset.size says {ds.size}",
                           hint=f'set "size": {len(raw)} in the spec\'s dataset')
    try:
        tensors = load_file(path)
    except (SafetensorError, OSError, ValueError) as e:
        raise DatasetError(f"dataset blob {ds.sha256} is not a readable safetensors file: {e}") from None
    missing = {"x", "y"} - set(tensors)
    if missing:
        raise DatasetError(f"dataset blob {ds.sha256} lacks tensor(s) {sorted(missing)}",
                           hint="a blob dataset holds tensors named x and y")
    x, y = tensors["x"], tensors["y"]
    want_x = (ds.samples, *ds.x_shape)
    want_y = (ds.samples, *ds.y_shape)
    if tuple(x.shape) != want_x or tuple(y.shape) != want_y:
        raise DatasetError(f"dataset blob {ds.sha256}: x is {list(x.shape)} and y is {list(y.shape)}, "
                           f"but the spec declares {list(want_x)} and {list(want_y)}",
                           hint="fix dataset.samples, x_shape and y_shape in the spec")
    x = x.astype(np.int64 if ds.x_dtype == "int64" else np.float32)
    if ds.classes is not None:
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= ds.classes:
            raise DatasetError(f"dataset blob {ds.sha256}: y must hold integer labels in [0, {ds.classes})")
        return x, y.astype(np.int64)
    return x, y.astype(np.float32)


def build(ds: s.Dataset, blobs: BlobSource | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All samples as (x, y) numpy arrays."""
    if isinstance(ds, s.DigitsData):
        return _digits(ds)
    if isinstance(ds, s.SyntheticClassificationData):
        return _synthetic_classification(ds)
    if isinstance(ds, s.SyntheticRegressionData):
        return _synthetic_regression(ds)
    if isinstance(ds, s.TextData):
        return _text(ds)
    return _blob(ds, blobs)


def load_data(spec: s.TaskSpec, blobs: BlobSource | None = None, device: str = "cpu") -> Data:
    x, y = build(spec.dataset, blobs)
    info = data_info(spec.dataset)
    if x.shape[0] != info.samples:
        raise DatasetError(f"dataset has {x.shape[0]} samples, the spec implies {info.samples}")
    train, held = split_indices(spec.seed, len(x), spec.evaluation.holdout)

    def part(idx: np.ndarray) -> Split:
        return Split(torch.from_numpy(x[idx]).to(device), torch.from_numpy(y[idx]).to(device))

    return Data(part(train), part(held))
