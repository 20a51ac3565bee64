"""What a dataset looks like, known without loading it (and without torch).

The worker checks a spec against this before it downloads anything or claims a task; the
trainer checks the real tensors against it again when it loads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from engine.config import resources_dir
from engine.tasks.spec import (
    BlobData,
    Dataset,
    DigitsData,
    SyntheticClassificationData,
    SyntheticRegressionData,
    TextData,
)

DIGITS_SAMPLES = 1797


@dataclass(frozen=True)
class DataInfo:
    samples: int
    x_shape: tuple[int, ...]
    x_is_int: bool
    y_shape: tuple[int, ...]
    classes: int | None  # integer labels in [0, classes) when set; float targets otherwise


@lru_cache(maxsize=4)
def corpus_text(name: str) -> str:
    return (resources_dir() / "data" / f"{name}.txt").read_text(encoding="utf-8")


def corpus_vocab(name: str) -> str:
    """The corpus's characters, sorted: token id i is ``vocab[i]``."""
    return "".join(sorted(set(corpus_text(name))))


def data_info(dataset: Dataset) -> DataInfo:
    if isinstance(dataset, DigitsData):
        shape = (64,) if dataset.layout == "flat" else (1, 8, 8)
        return DataInfo(DIGITS_SAMPLES, shape, False, (), 10)
    if isinstance(dataset, SyntheticClassificationData):
        return DataInfo(dataset.samples, (dataset.features,), False, (), dataset.classes)
    if isinstance(dataset, SyntheticRegressionData):
        return DataInfo(dataset.samples, (dataset.features,), False, (dataset.targets,), None)
    if isinstance(dataset, TextData):
        text = corpus_text(dataset.corpus)
        vocab = len(corpus_vocab(dataset.corpus))
        samples = max(len(text) - dataset.context, 0)
        return DataInfo(samples, (dataset.context,), True, (dataset.context,), vocab)
    if isinstance(dataset, BlobData):
        return DataInfo(
            dataset.samples,
            tuple(dataset.x_shape),
            dataset.x_dtype == "int64", tuple(dataset.y_shape), dataset.classes
        )
    raise TypeError(f"unknown dataset {dataset!r}")
