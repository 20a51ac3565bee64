"""Gas of every TaskMarket call on the happy and the dispute path, measured on a local anvil.

    python -m bench.gas [--market v1|v2]

With ``--market v2`` it measures TaskMarketV2 instead (:mod:`bench.gas_v2_anvil`: the
``gas_v2_anvil_*`` lines, to set beside ``python -m bench.gas_v2``'s titanoboa figures).
For v1 (the default) it prints ``name: value`` lines: gas used per call (from the receipts; per juror call the
largest), measured on a market that already saw one task, the happy-path total of a fresh
market's first task (it pays for first-time storage), ``gas_worker_job_total`` (the worker's
own transactions of one job: the figure behind engine/network/gas.py's EXPECTED_JOB_GAS), and
last ``gas_happy_path_total`` (post + claim + submit + finalize + withdraw; goal <= 250,000,
limit 300,000: exit 1 above).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

from eth_account import Account

from engine.chain.anvil import Anvil, AnvilConfig, free_port, mine, time_travel
from engine.chain.devnet import DEV_KEYS, deploy_market
from engine.chain.market import ETHER, TaskMarket, TaskPosted, vote_commitment
from engine.chain.rpc import connect
from engine.commit.merkle import MerkleTree

HAPPY = ("postTask", "claimTask", "submitResult", "finalize", "withdraw")
WORKER_JOB = ("claimTask", "submitResult", "finalize", "withdraw")   # what a worker sends per job
GAS_LIMIT = 300_000


SPEC_URI = "http://127.0.0.1:8600/blobs/" + "ab" * 32
RESULT_URI = "http://127.0.0.1:8600/blobs/" + "cd" * 32
TREE = MerkleTree([hashlib.sha256(bytes([i])).digest() for i in range(8)])


def happy_path(requester: TaskMarket, worker: TaskMarket, *, finish: bool = True) -> tuple[int, dict[str, int]]:
    """Post, claim, submit (and, if ``finish``, finalize after the window, withdraw): gas per call."""
    receipts = {"postTask": requester.post_task(
        hashlib.sha256(b"spec").digest(), SPEC_URI, reward=ETHER, worker_stake=ETHER // 10,
        claim_timeout=3600, train_timeout=7200, challenge_window=1800).send()}
    task_id = next(e.task_id for e in requester.events_in(receipts["postTask"]) if isinstance(e, TaskPosted))
    receipts["claimTask"] = worker.claim_task(task_id).send()
    receipts["submitResult"] = worker.submit_result(task_id, TREE.root, len(TREE), RESULT_URI).send()
    if finish:
        time_travel(worker.w3, 1801)
        receipts["finalize"] = worker.finalize(task_id).send()
        receipts["withdraw"] = worker.withdraw().send()
    return task_id, {name: r["gasUsed"] for name, r in receipts.items()}


def dispute_path(
    market: TaskMarket, challenger: TaskMarket, verifiers: list[TaskMarket], task_id: int
) -> dict[str, int]:
    """Challenge a submitted task, draw the jury, commit and reveal votes, resolve: gas per call."""
    gas = {"challenge": challenger.challenge(task_id, 3, TREE.leaves[3], TREE.proof(3), TREE.leaves[4],
                                             TREE.proof(4)).send()["gasUsed"]}
    mine(market.w3, 2)
    gas["drawJury"] = challenger.draw_jury(task_id).send()["gasUsed"]
    jurors = [v for v in verifiers if v.sender.address in challenger.jury(task_id)]
    salt = bytes(32)
    gas["commitVote"] = max(j.commit_vote(task_id, vote_commitment(True, salt, j.sender.address)).send()["gasUsed"]
                            for j in jurors)
    time_travel(market.w3, 601)
    gas["revealVote"] = max(j.reveal_vote(task_id, True, salt).send()["gasUsed"] for j in jurors)
    time_travel(market.w3, 601)
    gas["resolve"] = market.resolve(task_id).send()["gasUsed"]
    return gas


def measure(url: str) -> tuple[dict[str, int], int]:
    """Gas per call on a warm market, and the happy-path total of the market's very first task."""
    w3 = connect(url)
    deployment = deploy_market(w3, Account.from_key(DEV_KEYS[0]), rpc_url=url)
    requester, worker, challenger, *verifiers = (
        TaskMarket(w3, deployment.market_address, Account.from_key(k)) for k in DEV_KEYS[1:9]
    )
    _, first = happy_path(requester, worker)  # fills storage slots later tasks reuse
    _, gas = happy_path(requester, worker)
    gas["registerVerifier"] = max(v.register_verifier(ETHER // 10).send()["gasUsed"] for v in verifiers)
    disputed, _ = happy_path(requester, worker, finish=False)
    gas.update(dispute_path(worker, challenger, verifiers, disputed))
    return gas, sum(first.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gas", description="TaskMarket gas on a local anvil")
    parser.add_argument("--market", choices=("v1", "v2"), default="v1", help="which contract (default: v1)")
    market = parser.parse_args(argv).market
    log = Path(tempfile.mkdtemp(prefix="idlegrid-bench-")) / "anvil.log"
    with Anvil(AnvilConfig(port=free_port(), log_file=log)) as node:
        if market == "v2":
            from bench.gas_v2_anvil import report_v2

            report_v2(node.url)
            return 0
        gas, first_task_total = measure(node.url)
    for name, used in gas.items():
        print(f"gas_{name}: {used}")
    print(f"gas_happy_path_first_task_total: {first_task_total}")
    print(f"gas_worker_job_total: {sum(gas[name] for name in WORKER_JOB)}")
    total = sum(gas[name] for name in HAPPY)
    print(f"gas_happy_path_total: {total}")
    return 0 if total <= GAS_LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
