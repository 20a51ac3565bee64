"""TaskMarketV2's happy path and dispute path on a local anvil, from the receipts, through the
bindings (engine.chain.market_v2): ``python -m bench.gas --market v2``.

The same calls, values and sizes as ``python -m bench.gas_v2`` (titanoboa, receipts modelled): a
market that already saw one task, a 12-segment result, a 5-juror jury that commits and reveals,
so the two benches' figures compare one to one.
"""

from __future__ import annotations

from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_utils.crypto import keccak

from bench.gas_v2 import REWARD, SEGMENTS, STAKE, print_paths
from engine.chain.anvil import mine, time_travel
from engine.chain.devnet import DEV_KEYS, deploy_market_v2
from engine.chain.market_v2 import TaskMarketV2, vote_commitment
from engine.chain.records_v2 import ChallengeCommitted, Challenged, TaskPosted
from engine.chain.rpc import connect
from engine.commit.merkle import MerkleTree

TREE = MerkleTree([keccak(abi_encode(["uint256"], [i])) for i in range(SEGMENTS + 1)])
WINDOW = 600


def _submitted(requester: TaskMarketV2, worker: TaskMarketV2, gas: dict[str, int]) -> int:
    """Post, claim and submit, recording each receipt's gas: the task id."""
    receipt = requester.post_task(keccak(b"spec"), "spec", payment=REWARD, worker_stake=STAKE, claim_timeout=3600,
                                  train_timeout=7200, challenge_window=WINDOW).send()
    task_id = next(e.task_id for e in requester.events_in(receipt) if isinstance(e, TaskPosted))
    gas["post_task"] = receipt["gasUsed"]
    gas["claim_task"] = worker.claim_task(task_id).send()["gasUsed"]
    gas["submit_result"] = worker.submit_result(task_id, TREE.root, len(TREE), "result").send()["gasUsed"]
    return task_id


def happy_path(requester: TaskMarketV2, worker: TaskMarketV2) -> dict[str, int]:
    gas: dict[str, int] = {}
    task_id = _submitted(requester, worker, gas)
    time_travel(worker.w3, WINDOW + 1)
    gas["finalize"] = worker.finalize(task_id).send()["gasUsed"]
    gas["withdraw"] = worker.withdraw().send()["gasUsed"]
    return gas


def dispute_path(requester: TaskMarketV2, worker: TaskMarketV2, challenger: TaskMarketV2,
                 verifiers: list[TaskMarketV2]) -> dict[str, int]:
    """A challenge the jury upholds for the worker: every juror commits and reveals."""
    gas: dict[str, int] = {}
    task_id = _submitted(requester, worker, gas)
    salt, segment = b"\x05" * 32, 3
    receipt = challenger.commit_challenge(task_id, segment, salt).send()
    commit_id = next(e.commit_id for e in challenger.events_in(receipt) if isinstance(e, ChallengeCommitted))
    gas["commit_challenge"] = receipt["gasUsed"]
    mine(challenger.w3, 1)
    receipt = challenger.reveal_challenge(commit_id, segment, TREE.leaves[segment], TREE.proof(segment),
                                          TREE.leaves[segment + 1], TREE.proof(segment + 1), salt).send()
    dispute_id = next(e.dispute_id for e in challenger.events_in(receipt) if isinstance(e, Challenged))
    gas["reveal_challenge"] = receipt["gasUsed"]
    mine(challenger.w3, 2)
    gas["draw_jury"] = challenger.draw_jury(dispute_id).send()["gasUsed"]
    jurors = [v for v in verifiers if v.sender_or_fail().address in challenger.jury(dispute_id)]
    salts = {j: keccak(b"salt" + bytes.fromhex(j.sender_or_fail().address[2:])) for j in jurors}
    commits = [j.commit_vote(dispute_id, vote_commitment(True, salts[j], j.sender_or_fail().address)).send()["gasUsed"]
               for j in jurors]
    params = challenger.params()
    time_travel(challenger.w3, params.commit_period + 1)
    reveals = [j.reveal_vote(dispute_id, True, salts[j]).send()["gasUsed"] for j in jurors]
    gas["commit_vote_each"], gas["reveal_vote_each"] = max(commits), max(reveals)
    time_travel(challenger.w3, params.reveal_period + 1)
    gas["resolve"] = challenger.resolve(dispute_id).send()["gasUsed"]
    gas["dispute_votes_total"] = sum(commits) + sum(reveals)
    return gas


def measure_v2(url: str) -> tuple[dict[str, int], dict[str, int]]:
    """(happy path, dispute path) gas per call on a fresh v2 market that already saw one task."""
    w3 = connect(url)
    deployment = deploy_market_v2(w3, Account.from_key(DEV_KEYS[0]), rpc_url=url)
    requester, worker, challenger, *verifiers = (
        TaskMarketV2(w3, deployment.market_address, Account.from_key(k)) for k in DEV_KEYS[1:]
    )
    jury_size = requester.params().jury_size
    for v in verifiers[:jury_size]:
        v.register_verifier(v.min_stake_now()).send()
    time_travel(w3, requester.next_epoch_at() - requester.clock.latest())  # the stakes enter the snapshot
    happy_path(requester, worker)  # the first task warms every fresh slot: report the second
    return happy_path(requester, worker), dispute_path(requester, worker, challenger, verifiers[:jury_size])


def report_v2(url: str) -> None:
    """Print the ``gas_v2_*`` lines of bench.gas_v2, measured here from anvil's receipts (``gas_v2_anvil_*``)."""
    print_paths("gas_v2_anvil", *measure_v2(url))
