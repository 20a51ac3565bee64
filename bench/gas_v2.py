"""Gas of TaskMarketV2's happy path and dispute path, measured in titanoboa as receipts would report it.

    python -m bench.gas_v2

bench.gas measures v1 (the contract the clients use) on anvil; v2 is not deployed by the devnet yet,
so this bench deploys contracts/TaskMarketV2.vy with the devnet parameters
(engine.chain.market_v2.DEVNET_PARAMS_V2) in titanoboa. Each call runs as its own transaction: the
state is locked first so warm/cold access and original slot values (EIP-2929/2200) match a fresh
transaction; intrinsic gas, the refund cap and the EIP-7623 floor are added as a receipt has them.
Prints ``name: value`` lines: per call, ``gas_v2_happy_path`` and ``gas_v2_dispute_path`` (post, claim,
submit, the committed challenge, the draw, every juror's commit and reveal, and resolve), and ``gas_v2_ratio``
(dispute path / happy path, measured in the same run).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import boa
from eth_abi import encode
from eth_utils import keccak

from engine.chain.market import ETHER
from engine.chain.market_v2 import (
    challenge_commitment,
    constructor_args_v2,
    load_artifact_v2,
)
from engine.commit.merkle import MerkleTree

SOURCE = Path(__file__).resolve().parents[1] / "contracts" / "TaskMarketV2.vy"
REWARD = ETHER // 2
STAKE = ETHER // 20
SEGMENTS = 12


def _intrinsic(data: bytes) -> tuple[int, int]:
    """(standard intrinsic gas, EIP-7623 floor) of a transaction carrying ``data``."""
    zeros = data.count(0)
    nonzeros = len(data) - zeros
    return 21_000 + 4 * zeros + 16 * nonzeros, 21_000 + 10 * (zeros + 4 * nonzeros)


def tx(market: Any, fn_name: str, *args: Any, **kwargs: Any) -> tuple[int, Any]:
    """Run market.fn_name as its own transaction: (the gas its receipt would report, its return value)."""
    state = boa.env.evm.vm.state
    state.lock_changes()
    sender = kwargs.get("sender") or boa.env.eoa
    state.mark_address_warm(boa.env._get_sender(sender).canonical_address)
    state.mark_address_warm(boa.env._get_sender(market.address).canonical_address)
    result = getattr(market, fn_name)(*args, **kwargs)
    computation = market._computation
    standard, floor = _intrinsic(computation.msg.data)
    used = standard + computation.get_gas_used()
    used -= min(computation.get_gas_refund(), used // 5)
    return int(max(used, floor)), result


def tx_gas(market: Any, fn_name: str, *args: Any, **kwargs: Any) -> int:
    """The gas of market.fn_name run as its own transaction."""
    return tx(market, fn_name, *args, **kwargs)[0]


def _actor() -> str:
    address: str = boa.env.generate_address()
    boa.env.set_balance(address, 10**6 * ETHER)
    return address


def _submitted(market: Any, requester: str, worker: str, gas: dict[str, int]) -> tuple[int, MerkleTree]:
    """Post, claim and submit a SEGMENTS-segment result, recording each call's gas."""
    gas["post_task"] = tx_gas(market, "postTask", keccak(b"spec"), "spec", STAKE, 3600, 7200, 600, 0,
                             value=REWARD, sender=requester)
    task_id = market.taskCount()
    gas["claim_task"] = tx_gas(market, "claimTask", task_id, value=STAKE, sender=worker)
    tree = MerkleTree([keccak(encode(["uint256"], [i])) for i in range(SEGMENTS + 1)])
    gas["submit_result"] = tx_gas(market, "submitResult", task_id, tree.root, len(tree), "result", sender=worker)
    return task_id, tree


def happy_path(market: Any, requester: str, worker: str) -> dict[str, int]:
    gas: dict[str, int] = {}
    task_id, _ = _submitted(market, requester, worker, gas)
    boa.env.time_travel(seconds=601)
    gas["finalize"] = tx_gas(market, "finalize", task_id, sender=worker)
    gas["withdraw"] = tx_gas(market, "withdraw", sender=worker)
    return gas


def dispute_path(market: Any, requester: str, worker: str, challenger: str) -> dict[str, int]:
    """A challenge the jury upholds for the worker: every juror commits and reveals."""
    gas: dict[str, int] = {}
    task_id, tree = _submitted(market, requester, worker, gas)
    salt, segment = b"\x05" * 32, 3
    gas["commit_challenge"], commit_id = tx(market, "commitChallenge", task_id,
                                           challenge_commitment(task_id, segment, salt, challenger),
                                           value=market.challengeBond(task_id), sender=challenger)
    boa.env.time_travel(blocks=1)
    gas["reveal_challenge"], dispute_id = tx(market, "revealChallenge", commit_id, segment, tree.leaves[segment],
                                            tree.proof(segment), tree.leaves[segment + 1], tree.proof(segment + 1),
                                            salt, sender=challenger)
    boa.env.time_travel(blocks=2)
    gas["draw_jury"] = tx_gas(market, "drawJury", dispute_id, sender=challenger)
    jury = list(market.jury(dispute_id))
    salts = {j: keccak(b"salt" + bytes.fromhex(j[2:])) for j in jury}
    commits = [tx_gas(market, "commitVote", dispute_id,
                      keccak(encode(["bool", "bytes32", "address"], [True, salts[j], j])), sender=j) for j in jury]
    boa.env.time_travel(seconds=market.commitPeriod() + 1)
    reveals = [tx_gas(market, "revealVote", dispute_id, True, salts[j], sender=j) for j in jury]
    gas["commit_vote_each"], gas["reveal_vote_each"] = max(commits), max(reveals)
    boa.env.time_travel(seconds=market.revealPeriod() + 1)
    gas["resolve"] = tx_gas(market, "resolve", dispute_id, sender=challenger)
    gas["dispute_votes_total"] = sum(commits) + sum(reveals)
    return gas


def main() -> int:
    with boa.swap_env(boa.Env()):
        market = boa.load(str(SOURCE), *constructor_args_v2(load_artifact_v2(), {}).values())
        requester, worker, challenger = _actor(), _actor(), _actor()
        for juror in [_actor() for _ in range(market.jurySize())]:
            market.registerVerifier(0, value=market.minVerifierStake(), sender=juror)
        boa.env.time_travel(seconds=market.epochLength())  # the stakes enter the draw snapshot
        happy_path(market, requester, worker)  # the first task warms every fresh slot: report the second
        happy = happy_path(market, requester, worker)
        dispute = dispute_path(market, requester, worker, challenger)
    print_paths("gas_v2", happy, dispute)
    return 0


def print_paths(prefix: str, happy: dict[str, int], dispute: dict[str, int]) -> None:
    """The ``name: value`` lines of both paths (bench.gas --market v2 prints the same from anvil)."""
    for name, value in happy.items():
        print(f"{prefix}_{name}: {value}")
    for name in ("commit_challenge", "reveal_challenge", "draw_jury", "commit_vote_each", "reveal_vote_each",
                 "resolve"):
        print(f"{prefix}_{name}: {dispute[name]}")
    happy_total = sum(happy.values())
    dispute_total = sum(v for k, v in dispute.items() if not k.endswith("_each"))
    print(f"{prefix}_happy_path: {happy_total}")
    print(f"{prefix}_dispute_path: {dispute_total}")
    print(f"{prefix}_ratio: {dispute_total / happy_total:.2f}")


if __name__ == "__main__":
    sys.exit(main())
