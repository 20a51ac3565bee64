"""Faults a worker meets in the wild, with the real worker as a subprocess on a real chain
(TaskMarket v2, the dispute game of issue 15).

- ``kill -9`` (worker and training runner at once) during training, during the upload, and
  between sending and mining the commit: a restart ends with the same Merkle root as an
  uninterrupted run, and the account sent exactly one claim and one commit;
- the chain's node is gone for 30 s in the middle of a job: the worker waits and goes on;
- a blob server that serves corrupted bytes: rejected by their hash and fetched again; one that
  never stops lying gets the task skipped, with the reason in the log;
- a spec over this machine's limits is never claimed, and the log says why.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.chain.anvil import rpc
from engine.chain.devnet import DEV_KEYS
from engine.chain.records_v2 import ResultSubmitted, TaskClaimed
from engine.chain.records_v2 import TaskStatusV2 as TaskStatus
from engine.chain.version import MarketVersion
from engine.errors import CheckpointError
from engine.history import History
from engine.requester import Requester
from engine.storage.http import HttpStore
from engine.storage.server import BlobServer
from engine.tasks.load import check, parse
from engine.training.jobdir import JobDir
from engine.training.trainer import Trainer
from engine.worker import NETWORK_DOWN
from tests.e2e import roles
from tests.e2e.actors import REQUESTER, Actor
from tests.e2e.chainwatch import wait_status
from tests.e2e.flaky_blobs import FlakyBlobProxy
from tests.e2e.network import TestNet
from tests.e2e.procs import Proc, Procs, wait_until
from tests.e2e.specs import CLAIM_TIMEOUT, REWARD, STAKE, TRAIN_TIMEOUT, WINDOW, tiny_digits
from tests.e2e.txs import calls_from, count
from tests.specs import write

# long enough (ten segments) that a kill lands in the middle of training
FAULT_SPEC = tiny_digits("e2e-faults", seed=5, steps=2000, every=200)
OUTAGE_S = 30


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestNet]:
    with TestNet(tmp_path_factory.mktemp("faults"), version=MarketVersion.V2) as net:
        yield net


@pytest.fixture(scope="module")
def expected_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The root of an uninterrupted run of FAULT_SPEC on this machine."""
    return Trainer(check(parse(FAULT_SPEC)), tmp_path_factory.mktemp("reference")).run().merkle_root


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Procs]:
    procs = Procs(tmp_path / "logs")
    yield procs
    procs.close()


class Poster:
    """The requester, in this process (the real Requester over HTTP); cancels what is left open."""

    def __init__(self, net: TestNet, folder: Path) -> None:
        self.net, self.folder = net, folder
        self.actor = net.actor("requester", REQUESTER)
        self.market = net.market_v2(self.actor)
        self.history = History.open(folder / "requester-history.sqlite3")
        self.requester = Requester(self.market, HttpStore(net.blobs.url), self.history)
        self.posted: list[int] = []

    def post(self, spec: dict, *, blob_url: str | None = None) -> int:
        """Post ``spec``, uploading it to the network's blob server or the one at ``blob_url``."""
        requester = self.requester if blob_url is None else Requester(self.market, HttpStore(blob_url), self.history)
        task_id = requester.post(write(self.folder / f"{spec['name']}.json", spec), reward=REWARD, stake=STAKE,
                                 window=WINDOW, claim_timeout=CLAIM_TIMEOUT, train_timeout=TRAIN_TIMEOUT)
        self.posted.append(task_id)
        return task_id

    def close(self) -> None:
        for task_id in self.posted:
            if self.market.get_task(task_id).status is TaskStatus.OPEN:
                self.market.cancel_task(task_id).send()  # so later tests' workers do not find it
        self.history.close()


@pytest.fixture
def poster(net: TestNet, tmp_path: Path) -> Iterator[Poster]:
    poster = Poster(net, tmp_path)
    yield poster
    poster.close()


_used_accounts: set[int] = {REQUESTER}


def fresh_worker(net: TestNet, *, blob_url: str | None = None, **sections: dict) -> Actor:
    """A worker on a dev account no earlier test of this module used, so no test meets another's
    jobs (``blob_url``: its blob server, if not the network's)."""
    free = [i for i in range(len(DEV_KEYS)) if i not in _used_accounts]
    assert free, "every dev account was a worker in this module already: give new tests a TestNet of their own"
    _used_accounts.add(free[0])
    return net.actor(f"worker{free[0]}", free[0], blob_url=blob_url, **sections)


def job_manifest(actor: Actor, net: TestNet, task_id: int) -> dict | None:
    """The job folder's manifest with the leaves logged since it was written (as a resume reads it)."""
    folder = actor.jobs_dir / f"{net.w3.eth.chain_id}-{net.deployment.market_address[:10]}-{task_id}"
    try:
        manifest = JobDir(folder).read_manifest()
    except CheckpointError:
        return None
    return None if manifest is None else manifest.to_json()


def leaves_written(actor: Actor, net: TestNet, task_id: int) -> int:
    m = job_manifest(actor, net, task_id)
    return len(m["leaves"]) if m else 0


def committed_once(net: TestNet, procs: Procs, actor: Actor, task_id: int, expected_root: str) -> None:
    """The task ends committed by ``actor`` with ``expected_root``, after one claim and one commit."""
    task = wait_status(net, procs, task_id, TaskStatus.SUBMITTED, timeout=180, why=f" (committed by {actor.name})")
    assert task.worker == actor.address
    assert "0x" + task.merkle_root.hex() == expected_root
    calls = count(calls_from(net, actor.address), task_id)
    assert calls == {"claimTask": 1, "submitResult": 1}, calls
    events = roles.market_events(net, 0)
    assert len([e for e in events if isinstance(e, TaskClaimed) and e.task_id == task_id]) == 1
    assert len([e for e in events if isinstance(e, ResultSubmitted) and e.task_id == task_id]) == 1


def restart(proc: Proc) -> Proc:
    assert not proc.alive()
    return proc.start()


# ---------------------------------------------------------------- kill -9


def test_kill9_during_training_resumes_to_the_same_root(net, procs, poster, expected_root) -> None:
    task_id = poster.post(FAULT_SPEC)
    actor = fresh_worker(net)
    worker = roles.worker(procs, actor)
    total = check(parse(FAULT_SPEC)).spec.num_checkpoints
    wait_until(lambda: leaves_written(actor, net, task_id) >= 2, 120, "training to be under way",
               every=0.02, procs=procs)

    worker.kill9()
    assert leaves_written(actor, net, task_id) < total, "training had finished: the kill came too late"
    restart(worker)

    committed_once(net, procs, actor, task_id, expected_root)


def test_kill9_during_upload_uploads_again_and_commits_once(net, procs, poster, expected_root) -> None:
    # a blob server of its own: the network's already holds this spec's checkpoints, and an
    # upload of a blob the server has is skipped (content addressing)
    with BlobServer(procs.log_dir.parent / "blobs") as blobs, FlakyBlobProxy(blobs.url) as proxy:
        task_id = poster.post(FAULT_SPEC, blob_url=blobs.url)
        actor = fresh_worker(net, blob_url=proxy.url)
        proxy.put_delay_s = 0.5
        worker = roles.worker(procs, actor)
        assert proxy.put_seen.wait(180), f"the worker never uploaded\n{procs.logs()}"
        time.sleep(1.2)  # a few checkpoints are up, the rest not

        worker.kill9()
        assert net.market_v2().get_task(task_id).status is TaskStatus.CLAIMED
        uploaded_before = proxy.puts
        proxy.put_delay_s = 0
        restart(worker)

        committed_once(net, procs, actor, task_id, expected_root)
        assert 0 < uploaded_before < proxy.puts


@pytest.mark.parametrize("while_down", ["mined", "lost"])
def test_kill9_between_sending_and_mining_the_commit_never_commits_twice(
        net, procs, poster, expected_root, while_down: str) -> None:
    """The commit is signed and sent, then the worker dies before it is mined. While it is
    down the transaction is mined anyway, or lost from the node's pool; either way the
    restarted worker ends with exactly one commit."""
    task_id = poster.post(FAULT_SPEC)
    actor = fresh_worker(net)
    worker = roles.worker(procs, actor)
    wait_status(net, procs, task_id, TaskStatus.CLAIMED, timeout=120, why=f" (claimed by {actor.name})")
    rpc(net.w3, "evm_setAutomine", False)  # the worker's next transaction, the commit, stays pending
    try:
        wait_until(lambda: pending_from(net, actor.address), 120, "the commit to be sent", every=0.05, procs=procs)
        worker.kill9()
        if while_down == "lost":
            rpc(net.w3, "anvil_dropAllTransactions")
    finally:
        rpc(net.w3, "evm_setAutomine", True)
    net.mine()
    assert net.market_v2().get_task(task_id).status is (
        TaskStatus.SUBMITTED if while_down == "mined" else TaskStatus.CLAIMED)
    restart(worker)

    committed_once(net, procs, actor, task_id, expected_root)


def pending_from(net: TestNet, address: str) -> bool:
    pool = rpc(net.w3, "txpool_content")
    return any(sender.lower() == address.lower() and txs for sender, txs in pool.get("pending", {}).items())


# ---------------------------------------------------------------- the chain goes away


def test_the_worker_waits_out_a_30s_node_outage_mid_job(net, procs, poster, expected_root) -> None:
    """The node goes away while the worker uploads its result (held up by a slow blob server),
    so the worker's next chain call, the commit, meets the outage for certain."""
    with FlakyBlobProxy(net.blobs.url) as proxy:
        task_id = poster.post(FAULT_SPEC)
        actor = fresh_worker(net, blob_url=proxy.url)
        proxy.put_delay_s = 1.0
        worker = roles.worker(procs, actor)
        assert proxy.put_seen.wait(180), f"the worker never uploaded\n{procs.logs()}"

        net.stop_chain()
        down = time.monotonic()
        try:
            proxy.put_delay_s = 0
            wait_until(lambda: NETWORK_DOWN in worker.text(), OUTAGE_S, "the worker to notice the outage",
                       procs=procs)
            time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down)))
            assert worker.alive(), f"the worker died while the node was down\n{worker.tail()}"
            assert not net.anvil.running()
        finally:
            net.restart_chain()

        committed_once(net, procs, actor, task_id, expected_root)
        assert worker.starts == 1 and worker.alive()


# ---------------------------------------------------------------- lying blob servers


def test_corrupted_spec_bytes_are_rejected_by_hash_and_fetched_again(net, procs, poster) -> None:
    spec = tiny_digits("e2e-corrupt", seed=11)
    root = Trainer(check(parse(spec)), procs.log_dir.parent / "reference").run().merkle_root
    with FlakyBlobProxy(net.blobs.url) as proxy:
        task_id = poster.post(spec)
        spec_sha = check(parse(spec)).sha256
        proxy.corrupt_next(spec_sha, times=2)
        actor = fresh_worker(net, blob_url=proxy.url)
        roles.worker(procs, actor)

        committed_once(net, procs, actor, task_id, root)
        assert proxy.corrupted[spec_sha] == 2 and proxy.gets[spec_sha] >= 3


def test_a_server_that_always_lies_gets_the_task_skipped_with_the_reason(net, procs, poster) -> None:
    spec = tiny_digits("e2e-liar", seed=12)
    with FlakyBlobProxy(net.blobs.url) as proxy:
        task_id = poster.post(spec)
        proxy.corrupt_always(check(parse(spec)).sha256)
        actor = fresh_worker(net, blob_url=proxy.url)
        worker = roles.worker(procs, actor)

        line = wait_until(lambda: skip_line(worker, task_id), 90, "the worker to skip the task", procs=procs)
        assert "hash" in line.lower() or "corrupt" in line.lower(), line
        assert net.market_v2().get_task(task_id).status is TaskStatus.OPEN


def skip_line(worker: Proc, task_id: int) -> str | None:
    return next((line for line in worker.text().splitlines() if f"task {task_id} skipped" in line), None)


# ---------------------------------------------------------------- limits


def test_a_spec_over_this_machines_limits_is_never_claimed_and_the_reason_is_logged(net, procs, poster) -> None:
    spec = tiny_digits("e2e-too-big", seed=13)
    task_id = poster.post(spec)
    actor = fresh_worker(net, worker={"max_memory_mb": 8})
    worker = roles.worker(procs, actor)

    line = wait_until(lambda: skip_line(worker, task_id), 90, "the worker to skip the task", procs=procs)
    assert "memory" in line.lower() or "mib" in line.lower(), line
    time.sleep(2)  # it stays skipped: no claim follows
    assert net.market_v2().get_task(task_id).status is TaskStatus.OPEN
    assert count(calls_from(net, actor.address), task_id) == {}
