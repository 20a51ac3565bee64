"""Results: trusted only when the manifest rebuilds the on-chain root and the checkpoint its leaf."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from engine.chain.market import TaskMarket
from engine.requester import NoResultYet, Requester, ResultInvalid, UnknownTask, checkpoint_leaf_hash
from engine.roles.results import ResultManifest
from engine.storage import BlobServer, HttpStore
from tests.integration.requester.actors import claim_and_commit, manifest_of, train, with_leaf
from tests.specs import quick_mlp, write


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    """quick_mlp trained once by the real CLI: (spec file, job folder, its summary)."""
    root = tmp_path_factory.mktemp("trained")
    spec = write(root / "spec.json", quick_mlp())
    return spec, root / "job", train(spec, root / "job", root / "home")


@pytest.fixture
def worker(market_for: Callable[[LocalAccount], TaskMarket], accounts: list[LocalAccount]) -> TaskMarket:
    return market_for(accounts[2])


def post_and_publish(requester: Requester, worker: TaskMarket, server: BlobServer, trained: tuple,
                     tamper: Callable[[ResultManifest], ResultManifest] = lambda m: m) -> int:
    spec, job, _ = trained
    task_id = requester.post(spec, reward=10**16)
    store = HttpStore(server.url)
    claim_and_commit(worker, store, task_id, tamper(manifest_of(job, task_id, store)))
    return task_id


def test_results_are_checked_and_written(requester: Requester, worker: TaskMarket, blob_server: BlobServer,
                                         trained: tuple, tmp_path: Path) -> None:
    task_id = post_and_publish(requester, worker, blob_server, trained)
    out = requester.results(task_id, tmp_path / "out")

    summary = trained[2]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["merkle_root"] == summary["merkle_root"]
    assert metrics["metrics"] == summary["metrics"] and metrics["final_loss"] == summary["final_loss"]
    assert metrics["state"] == "submitted" and metrics["worker"] == worker.sender.address
    final = out / metrics["checkpoint"]
    assert final.read_bytes() == (trained[1] / "ckpt-00006.safetensors").read_bytes()
    assert checkpoint_leaf_hash(final) == metrics["leaf_hash"]
    job = requester.history.job(requester.chain_id, requester.market.address, task_id, "requester")
    assert job.metrics == summary["metrics"]


def test_results_before_a_result_exists_say_why(requester: Requester, worker: TaskMarket,
                                                trained: tuple, tmp_path: Path) -> None:
    task_id = requester.post(trained[0], reward=10**16)
    with pytest.raises(NoResultYet, match=f"task {task_id} has no result: no worker has claimed it yet"):
        requester.results(task_id, tmp_path / "out")
    worker.claim_task(task_id).send()
    with pytest.raises(NoResultYet, match="a worker is training it") as e:
        requester.results(task_id, tmp_path / "out")
    assert f"requester status {task_id}" in e.value.hint
    assert not (tmp_path / "out").exists()


def test_results_of_an_unknown_task_are_a_clear_error(requester: Requester, tmp_path: Path) -> None:
    with pytest.raises(UnknownTask, match="task 999 does not exist on this market"):
        requester.results(999, tmp_path / "out")


def test_a_manifest_that_does_not_rebuild_the_root_is_rejected(
        requester: Requester, worker: TaskMarket, blob_server: BlobServer, trained: tuple, tmp_path: Path) -> None:
    # the worker commits the honest root but publishes a manifest with one leaf changed
    task_id = post_and_publish(requester, worker, blob_server, trained,
                               lambda m: with_leaf(m, 3, leaf_hash="ab" * 32))
    with pytest.raises(ResultInvalid, match="leaf hashes do not rebuild the committed root"):
        requester.results(task_id, tmp_path / "out")


def test_a_final_checkpoint_that_is_not_the_committed_leaf_is_rejected(
        requester: Requester, worker: TaskMarket, blob_server: BlobServer, trained: tuple, tmp_path: Path) -> None:
    # the manifest is honest but points the final leaf at another checkpoint's file
    task_id = post_and_publish(requester, worker, blob_server, trained,
                               lambda m: with_leaf(m, 6, blob=m.leaves[5].blob, size=m.leaves[5].size))
    with pytest.raises(ResultInvalid, match=r"the final checkpoint hashes to leaf .* but the manifest commits to"):
        requester.results(task_id, tmp_path / "out")
    assert not list((tmp_path / "out").glob("*.safetensors"))


def test_a_manifest_for_another_task_is_rejected(
        requester: Requester, worker: TaskMarket, blob_server: BlobServer, trained: tuple, tmp_path: Path) -> None:
    task_id = post_and_publish(requester, worker, blob_server, trained, lambda m: replace(m, task_id=m.task_id + 7))
    with pytest.raises(ResultInvalid, match=f"it is for task {task_id + 7}"):
        requester.results(task_id, tmp_path / "out")
