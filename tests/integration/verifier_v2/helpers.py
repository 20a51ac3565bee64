"""Results on TaskMarketV2 without the worker: post, claim, upload (honest, faked or withheld), submit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.chain.anvil import time_travel
from engine.chain.market import ETHER
from engine.chain.market_v2 import DEVNET_PARAMS_V2, TaskMarketV2, payment_for
from engine.chain.records_v2 import TaskPosted
from engine.commit.merkle import MerkleTree
from engine.roles.results import blob_uri
from engine.storage import LocalStore
from tests.integration.verifier.commitments import TrainedJob, tampered, upload

REWARD = ETHER // 50
PAYMENT = payment_for(REWARD, DEVNET_PARAMS_V2["auditFeeBps"])
STAKE = ETHER // 10
WINDOW = 3600


@dataclass(frozen=True)
class Published:
    task_id: int
    tree: MerkleTree
    submit_block: int


def publish(store: LocalStore, requester: TaskMarketV2, worker: TaskMarketV2, job: TrainedJob,
            files: tuple[Path, ...] | None = None, **upload_options: object) -> Published:
    """Post the task (tolerance mode, as the quick spec is), claim it as ``worker``, commit ``files``."""
    spec_sha = store.put_bytes(job.spec_bytes)
    receipt = requester.post_task(bytes.fromhex(spec_sha), blob_uri(spec_sha), payment=PAYMENT, worker_stake=STAKE,
                                  claim_timeout=3600, train_timeout=7200, challenge_window=WINDOW).send()
    (posted,) = [e for e in requester.events_in(receipt) if isinstance(e, TaskPosted)]
    worker.claim_task(posted.task_id).send()
    up = upload(store, job, files, task_id=posted.task_id, **upload_options)
    done = worker.submit_result(posted.task_id, up.tree.root, len(up.tree), up.result_uri).send()
    return Published(posted.task_id, up.tree, done["blockNumber"])


def all_faked(job: TrainedJob, dest: Path) -> tuple[Path, ...]:
    """Every checkpoint after the first altered: no segment replays right, whichever an auditor's salt picks."""
    files = job.files
    for i in range(1, len(files)):
        files = tampered(TrainedJob(job.checked, job.spec_bytes, files), i, dest / f"fake{i}")
    return files


def next_epoch(market: TaskMarketV2) -> None:
    """Start the next epoch: stakes registered so far weigh in the draws from then on."""
    time_travel(market.w3, market.next_epoch_at() - market.clock.latest())


def pass_window(market: TaskMarketV2) -> None:
    time_travel(market.w3, WINDOW + 1)
