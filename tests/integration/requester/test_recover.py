"""A post interrupted by a crash after its transaction left is finished on restart, never sent twice."""

from __future__ import annotations

import hashlib
from pathlib import Path

from engine.requester import Requester
from engine.roles.results import blob_uri
from engine.tasks.load import canonical_json, load_spec
from tests.specs import quick_mlp, write


def crash_after_broadcast(requester: Requester, spec: Path, reward: int) -> str:
    """What Requester.post does up to the broadcast, then nothing: the process 'died'."""
    checked = load_spec(spec)
    sha = requester.store.put_bytes(canonical_json(checked.spec))
    call = requester.market.post_task(bytes.fromhex(sha), blob_uri(sha), reward=reward, worker_stake=1,
                                      claim_timeout=3600, train_timeout=3600, challenge_window=60)
    key = requester.journal.key("new-crashed", "post")
    requester.history.journal_begin(key, "post", {"task_id": None, "role": "requester", "account": requester.address})
    prepared = call.prepare()
    requester.history.journal_update(key, tx=prepared.to_json(), replacements=[])
    requester.market.sender_or_fail().broadcast(prepared)
    return prepared.tx_hash


def test_recover_records_a_post_that_a_crash_interrupted(requester: Requester, tmp_path: Path) -> None:
    spec = write(tmp_path / "spec.json", quick_mlp())
    count = requester.market.task_count()
    tx = crash_after_broadcast(requester, spec, reward=10**16)

    restarted = Requester(requester.market, requester.store, requester.history)
    assert restarted.recover() == [count + 1]
    assert requester.market.task_count() == count + 1  # recovered, not posted again
    job = requester.history.job(requester.chain_id, requester.market.address, count + 1, "requester")
    assert (job.state, job.reward, job.txs["post"]) == ("open", 10**16, tx)
    assert job.spec_sha256 == hashlib.sha256(canonical_json(load_spec(spec).spec)).hexdigest()
    assert requester.history.journal_open() == []
    assert [v.task_id for v in restarted.status()] == [count + 1]
    assert restarted.recover() == []
