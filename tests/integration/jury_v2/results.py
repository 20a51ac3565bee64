"""A real result on TaskMarketV2: post, claim, upload the checkpoints (honest or faked) and submit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.chain.market_v2 import TaskMarketV2, payment_for
from engine.chain.records_v2 import TaskPosted
from engine.commit.merkle import MerkleTree
from engine.roles.results import blob_uri
from engine.storage import LocalStore
from tests.integration.chain_v2 import steps
from tests.integration.verifier.commitments import REWARD, STAKE, WINDOW, TrainedJob, upload


@dataclass(frozen=True)
class Submitted:
    task_id: int
    tree: MerkleTree


def submit(store: LocalStore, requester: TaskMarketV2, worker: TaskMarketV2, job: TrainedJob,
           files: tuple[Path, ...] | None = None, *, arithmetic: int = 0) -> Submitted:
    """``files`` (default: the honest checkpoints) committed as the result of a new task
    (``arithmetic``: 0 for tolerance mode, else the exact arithmetic its jurors must have)."""
    spec_sha = store.put_bytes(job.spec_bytes)
    receipt = requester.post_task(bytes.fromhex(spec_sha), blob_uri(spec_sha),
                                  payment=payment_for(REWARD, requester.params().audit_fee_bps), worker_stake=STAKE,
                                  claim_timeout=3600, train_timeout=7200, challenge_window=WINDOW,
                                  arithmetic=arithmetic).send()
    task_id = steps.one(requester, receipt, TaskPosted).task_id
    worker.claim_task(task_id).send()
    up = upload(store, job, files, task_id=task_id)
    worker.submit_result(task_id, up.tree.root, len(up.tree), up.result_uri).send()
    return Submitted(task_id, up.tree)
