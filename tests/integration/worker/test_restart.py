"""A crash at each journaled point, then a restart: no second claim or commit, the same root."""

from __future__ import annotations

import pytest

from engine.chain.anvil import rpc
from engine.chain.market import ResultSubmitted, TaskClaimed, TaskStatus
from engine.chain.sender import Sender
from engine.storage import HttpStore
from engine.worker import COMMITTED, ROLE, TRAINED, UPLOADED
from tests.integration.worker.helpers import drive, events_of


class Crash(BaseException):
    """What a kill -9 looks like from inside: nothing after it runs (not even except Exception)."""


def crash_after_broadcast(monkeypatch: pytest.MonkeyPatch, function: str) -> None:
    """The first ``function`` transaction reaches the node, then the worker dies."""
    original = Sender.broadcast

    def broadcast(self: Sender, prepared):  # type: ignore[no-untyped-def]
        tx_hash = original(self, prepared)
        if prepared.function == function:
            monkeypatch.setattr(Sender, "broadcast", original)
            raise Crash(function)
        return tx_hash

    monkeypatch.setattr(Sender, "broadcast", broadcast)


def state(worker, task_id: int) -> str | None:
    job = worker.history.job(worker.chain_id, worker.market.address, task_id, ROLE)
    return None if job is None else job.state


def test_a_crash_after_sending_the_claim_resumes_without_claiming_twice(make_worker, poster, monkeypatch) -> None:
    task_id = poster.post()
    crash_after_broadcast(monkeypatch, "claimTask")
    with pytest.raises(Crash):
        drive(make_worker(), lambda: False)

    restarted = make_worker()
    drive(restarted, lambda: state(restarted, task_id) == COMMITTED)
    assert len(events_of(poster.market, TaskClaimed, task_id)) == 1
    assert len(events_of(poster.market, ResultSubmitted, task_id)) == 1


def test_a_crash_between_sending_and_mining_the_commit_reconciles_the_same_transaction(
        make_worker, poster, monkeypatch, chain) -> None:
    task_id = poster.post()
    worker = make_worker()
    drive(worker, lambda: state(worker, task_id) == UPLOADED)
    root = worker.history.job(worker.chain_id, worker.market.address, task_id, ROLE).merkle_root
    rpc(chain, "evm_setAutomine", False)  # the commit waits in the mempool while the worker dies
    crash_after_broadcast(monkeypatch, "submitResult")
    with pytest.raises(Crash):
        drive(worker, lambda: False)
    (entry,) = [e for e in worker.history.journal_open() if e.action == "commit"]
    assert poster.market.get_task(task_id).status == TaskStatus.CLAIMED

    rpc(chain, "evm_setAutomine", True)
    restarted = make_worker()
    drive(restarted, lambda: state(restarted, task_id) == COMMITTED)
    (submitted,) = events_of(poster.market, ResultSubmitted, task_id)
    assert submitted.tx_hash == entry.payload["tx"]["tx_hash"]  # the journaled bytes, not a second commit
    assert "0x" + submitted.merkle_root.hex() == root
    assert not restarted.history.journal_open()


def test_a_crash_during_the_upload_redoes_it_and_commits_the_same_root(make_worker, poster, monkeypatch) -> None:
    """The checkpoints went up while the job trained; the crash comes at the manifest. The
    restarted worker knows nothing of those uploads: it uploads every checkpoint again."""
    task_id = poster.post()
    worker = make_worker()
    drive(worker, lambda: state(worker, task_id) == TRAINED)
    root = worker.history.job(worker.chain_id, worker.market.address, task_id, ROLE).merkle_root
    original = HttpStore.put_bytes

    def put_bytes(self: HttpStore, data):  # type: ignore[no-untyped-def]
        raise Crash("upload")

    monkeypatch.setattr(HttpStore, "put_bytes", put_bytes)
    with pytest.raises(Crash):
        drive(worker, lambda: False)
    monkeypatch.setattr(HttpStore, "put_bytes", original)
    put_file, calls = HttpStore.put_file, []

    def counted(self: HttpStore, path):  # type: ignore[no-untyped-def]
        calls.append(path)
        return put_file(self, path)

    monkeypatch.setattr(HttpStore, "put_file", counted)

    restarted = make_worker()
    drive(restarted, lambda: state(restarted, task_id) == COMMITTED)
    assert len(calls) == 5
    (submitted,) = events_of(poster.market, ResultSubmitted, task_id)
    assert "0x" + submitted.merkle_root.hex() == root
