"""Checkpoints are uploaded while the job trains (engine.worker.uploader); after training only
what no longer matches the folder, and the result manifest, is uploaded."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from engine.chain.market import ResultSubmitted
from engine.roles.results import ResultManifest, parse_blob_uri
from engine.storage import BlobServer, HttpStore
from engine.worker import COMMITTED, ROLE, TRAINED
from engine.worker.uploader import CheckpointUploader
from tests.integration.worker.helpers import drive, events_of

LEAVES = 5  # tiny_spec: 40 steps, a checkpoint every 10


def state(worker, task_id: int) -> str | None:  # type: ignore[no-untyped-def]
    job = worker.history.job(worker.chain_id, worker.market.address, task_id, ROLE)
    return None if job is None else job.state


def record_put_files(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Path]]:
    """Every HttpStore.put_file call as (thread name, path), once it returned."""
    original, calls = HttpStore.put_file, []

    def put_file(self: HttpStore, path: Path) -> str:
        blob = original(self, path)
        calls.append((threading.current_thread().name, Path(path)))
        return blob

    monkeypatch.setattr(HttpStore, "put_file", put_file)
    return calls


def committed_manifest(worker, poster, task_id: int) -> ResultManifest:  # type: ignore[no-untyped-def]
    (submitted,) = events_of(poster.market, ResultSubmitted, task_id)
    return ResultManifest.from_bytes(worker.store.get_bytes(parse_blob_uri(submitted.result_uri)))


def test_every_checkpoint_is_uploaded_during_training_and_only_the_manifest_after(
        make_worker, poster, monkeypatch) -> None:
    calls = record_put_files(monkeypatch)
    task_id = poster.post()
    worker = make_worker()
    drive(worker, lambda: state(worker, task_id) == COMMITTED)
    assert sorted(p.name for _, p in calls) == [f"ckpt-{i:05d}.safetensors" for i in range(LEAVES)]
    assert {thread for thread, _ in calls} == {"checkpoint-uploader"}  # none by the worker after training
    manifest = committed_manifest(worker, poster, task_id)
    for leaf in manifest.leaves:
        path = worker._job(worker._record(task_id)).dir / f"ckpt-{leaf.index:05d}.safetensors"
        assert worker.store.get_bytes(leaf.blob) == path.read_bytes()


def test_a_checkpoint_rewritten_after_its_upload_is_uploaded_again(make_worker, poster, monkeypatch) -> None:
    """What a resumed job does: the runner writes a checkpoint again after it was uploaded."""
    calls = record_put_files(monkeypatch)
    task_id = poster.post()
    worker = make_worker()
    drive(worker, lambda: state(worker, task_id) == TRAINED)
    deadline = time.monotonic() + 60
    while len(calls) < LEAVES:  # the uploader is done with every checkpoint
        assert time.monotonic() < deadline, calls
        time.sleep(0.02)
    path = worker._job(worker._record(task_id)).dir / "ckpt-00002.safetensors"
    data = path.read_bytes()
    before = os.stat(path).st_mtime_ns
    while os.stat(path).st_mtime_ns == before:  # the same bytes, written again (a later timestamp)
        path.write_bytes(data)
    drive(worker, lambda: state(worker, task_id) == COMMITTED)
    by_worker = [p.name for thread, p in calls if thread != "checkpoint-uploader"]
    assert by_worker == ["ckpt-00002.safetensors"]
    manifest = committed_manifest(worker, poster, task_id)
    assert worker.store.get_bytes(manifest.leaves[2].blob) == data


def test_the_uploader_returns_only_uploads_that_still_match(tmp_path: Path) -> None:
    with BlobServer(tmp_path / "server") as server:
        store = HttpStore(server.url)
        files = []
        for i in range(4):
            files.append(tmp_path / f"ckpt-{i:05d}.safetensors")
            files[-1].write_bytes(os.urandom(1000 + i))
        uploader = CheckpointUploader(store)
        for i, path in enumerate(files):
            uploader.submit(i, f"leaf{i}", path)
        uploader.close()
        files[1].write_bytes(os.urandom(1001))  # rewritten after its upload
        ready = uploader.finish(["leaf0", "leaf1", "other", "leaf3"])  # leaf 2 is no longer what the job holds
        assert sorted(ready) == [0, 3]
        for i in (0, 3):
            assert store.get_bytes(ready[i].blob) == files[i].read_bytes()


def test_an_upload_that_fails_is_left_for_after_training(tmp_path: Path) -> None:
    with BlobServer(tmp_path / "server") as server:
        store = HttpStore(server.url, retries=0)
    path = tmp_path / "ckpt-00000.safetensors"
    path.write_bytes(b"x" * 100)
    uploader = CheckpointUploader(store)
    uploader.submit(0, "leaf0", path)  # the server is gone
    assert uploader.finish(["leaf0"]) == {}
