"""Batch order, data splits and datasets are pure functions of the spec (known answers pin
them: a change here would make every earlier commitment unverifiable)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from engine.errors import DatasetError
from engine.tasks.load import check, parse
from engine.training.datasets import LocalBlobs, build, load_data
from engine.training.sampling import batch_indices, derive, normal, split_indices
from engine.training.schedule import lr_at
from tests.specs import quick_mlp


def test_batch_indices_known_answer_and_purity() -> None:
    assert batch_indices(7, 0, 8, 1437).tolist() == [501, 384, 389, 1364, 429, 112, 815, 130]
    assert derive(7, 3, 5) == 8873198619940315699
    late = batch_indices(7, 10_000, 64, 1437)
    batch_indices(7, 3, 64, 1437)  # no hidden state: asking for other steps changes nothing
    assert np.array_equal(batch_indices(7, 10_000, 64, 1437), late)


def test_each_epoch_visits_every_sample_once() -> None:
    n, bs = 100, 10
    seen = np.concatenate([batch_indices(1, s, bs, n) for s in range(10)])
    assert sorted(seen.tolist()) == list(range(n))
    crossing = batch_indices(1, 0, 150, n)  # a batch that spans an epoch boundary
    assert len(set(crossing[:100].tolist())) == 100


def test_split_is_disjoint_and_complete() -> None:
    train, held = split_indices(3, 1797, 0.2)
    assert len(held) == 359 and len(train) == 1438
    assert set(train.tolist()).isdisjoint(held.tolist())
    assert len(set(train.tolist()) | set(held.tolist())) == 1797


def test_portable_normal_is_pinned() -> None:
    assert normal(5, 3).round(8).tolist() == [-0.03961201, 0.38229791, 2.46397696]


def test_schedules_warm_up_and_decay() -> None:
    spec = check(parse(quick_mlp())).spec  # cosine, 10 warm-up steps, lr 0.003, 120 steps
    assert lr_at(spec, 0) == pytest.approx(0.0003)
    assert lr_at(spec, 9) == pytest.approx(0.003)
    assert lr_at(spec, 119) == pytest.approx(0.0, abs=1e-12)
    assert lr_at(spec, 60) < lr_at(spec, 30) < lr_at(spec, 10)


def test_synthetic_datasets_are_reproducible_and_seeded() -> None:
    a = parse(quick_mlp(dataset={"kind": "synthetic_regression", "samples": 50, "features": 4}))
    x1, y1 = build(a.dataset)
    x2, y2 = build(a.dataset)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2) and y1.shape == (50, 1)
    b = parse(quick_mlp(dataset={"kind": "synthetic_regression", "samples": 50, "features": 4, "seed": 1}))
    assert not np.array_equal(build(b.dataset)[0], x1)
    c = parse(quick_mlp(dataset={"kind": "synthetic_classification", "samples": 60, "features": 64, "classes": 10}))
    xc, yc = build(c.dataset)
    assert xc.dtype == np.float32 and set(yc.tolist()) == set(range(10))


def test_text_dataset_targets_are_the_next_characters() -> None:
    from tests.specs import example

    spec = parse(example("tiny-charlm"))
    x, y = build(spec.dataset)
    assert x.shape[1] == 32 and np.array_equal(x[1:, :], y[:-1, :])


def blob_spec(tmp_path: Path, x: np.ndarray, y: np.ndarray, **overrides) -> tuple[dict, LocalBlobs]:
    path = tmp_path / "data.safetensors"
    save_file({"x": x, "y": y}, str(path))
    raw = path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    (tmp_path / sha).write_bytes(raw)
    ds = {"kind": "blob", "sha256": sha, "size": len(raw), "samples": len(x), "x_shape": [64], "classes": 10}
    ds.update(overrides)
    return quick_mlp(dataset=ds), LocalBlobs(tmp_path)


def digits_like(n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    return np.linspace(0, 1, n * 64, dtype=np.float32).reshape(n, 64), (np.arange(n) % 10).astype(np.int64)


def test_blob_dataset_loads_and_splits(tmp_path: Path) -> None:
    spec, blobs = blob_spec(tmp_path, *digits_like())
    data = load_data(check(parse(spec)).spec, blobs)
    assert len(data.train) == 160 and len(data.heldout) == 40


@pytest.mark.parametrize(
    ("tamper", "words"),
    [
        (lambda spec, root: spec["dataset"].update(sha256="0" * 64), "is not at"),
        (
            lambda spec, root: (root / spec["dataset"]["sha256"]).write_bytes(b"x" * spec["dataset"]["size"]),
            "does not match sha256",
        ),
        (lambda spec, root: spec["dataset"].update(samples=150), "declares"),
    ],
)
def test_bad_blob_dataset_is_named_with_a_fix(tmp_path: Path, tamper, words: str) -> None:
    spec, blobs = blob_spec(tmp_path, *digits_like())
    tamper(spec, tmp_path)
    with pytest.raises(DatasetError, match=words):
        load_data(check(parse(spec)).spec, blobs)


def test_blob_without_y_or_with_bad_labels_is_refused(tmp_path: Path) -> None:
    x, y = digits_like()
    spec, blobs = blob_spec(tmp_path, x, y + 5)
    with pytest.raises(DatasetError, match=r"integer labels in \[0, 10\)"):
        load_data(check(parse(spec)).spec, blobs)
    path = tmp_path / "only_x.safetensors"
    save_file({"x": x}, str(path))
    raw = path.read_bytes()
    sha = hashlib.sha256(raw).hexdigest()
    (tmp_path / sha).write_bytes(raw)
    spec2 = quick_mlp(dataset={**spec["dataset"], "sha256": sha, "size": len(raw)})
    with pytest.raises(DatasetError, match=r"lacks tensor\(s\) \['y'\]"):
        load_data(check(parse(spec2)).spec, blobs)


def test_trainer_batches_are_exactly_batch_indices_across_epoch_boundaries() -> None:
    from engine.training.trainer import Session

    session = Session.open(check(parse(quick_mlp(batch_size=100))))
    n = len(session.data.train)
    for step in range(60):  # crosses several epoch boundaries (n is not a multiple of 100)
        assert session.batch(step).tolist() == batch_indices(7, step, 100, n).tolist()


def test_derive_next_continues_derive_prefix() -> None:
    """The trainer's per-step dropout seed takes the cached prefix path: it must be ``derive``."""
    from engine.training.sampling import derive_next, derive_prefix

    for seed, stream in ((7, 3), (0, 0), (2**64 - 1, 5), (-1, 2)):
        prefix = derive_prefix(seed, stream)
        for counter in (0, 1, 599, 2**63, -3):
            assert derive_next(prefix, counter) == derive(seed, stream, counter)
