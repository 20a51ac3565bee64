"""The dispute game's economics under the contract's default parameters.

    python -m bench.economics [--reward ETH] [--stake-ratio R] [--segments N] [--gas-price GWEI]

Deploys contracts/TaskMarketV2.vy with the devnet parameters (engine.chain.market_v2.DEVNET_PARAMS_V2)
in titanoboa, reads the parameters back from the contract, measures an audit's gas there, and
prints ``name: value`` lines (ETH unless named otherwise):

- ``cheater_ev_k_12``: what faking k of N segments gains over honest work, in expectation, when
  one honest assigned auditor replays one segment of its own private choice: saved compute
  k/N * C against the chance k/N of losing the pay and the stake. ``cheater_ev_max`` is the
  largest over k = 1..N (must be < 0).
- ``auditor_ev``: an honest assigned auditor's expected profit per audit of an honest result:
  its fee share less one segment's replay and the gas of assign + commit + reveal (> 0).
- ``replay_fraction``: expected replay compute per result as a fraction of training (<= 0.25).

Assumptions (docs/contract.md): a worker's compute cost C equals its pay (it earns nothing
honestly, the case most tempting to cheat); the auditor's replay of one segment costs C / N.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import boa
from eth_abi import encode
from eth_hash.auto import keccak

from engine.chain.market import ETHER
from engine.chain.market_v2 import (
    audit_commitment,
    audit_segment,
    constructor_args_v2,
    load_artifact_v2,
)
from engine.commit.merkle import MerkleTree

SOURCE = Path(__file__).resolve().parents[1] / "contracts" / "TaskMarketV2.vy"


def deploy() -> boa.contracts.vyper.vyper_contract.VyperContract:
    """The contract with the devnet parameters, in the constructor's order."""
    args = constructor_args_v2(load_artifact_v2(), {})  # ordered as the constructor takes them
    return boa.load(str(SOURCE), *args.values())


def audit_gas(market: boa.contracts.vyper.vyper_contract.VyperContract, reward: int, stake: int,
              segments: int) -> int:
    """Gas (as the transactions' execution, plus 21,000 each) of assignAuditors, commitAudit, revealAudit."""
    requester, worker, verifier = (boa.env.generate_address() for _ in range(3))
    for account in (requester, worker, verifier):
        boa.env.set_balance(account, 10**6 * ETHER)
    market.registerVerifier(0, value=market.minVerifierStake(), sender=verifier)
    boa.env.time_travel(seconds=market.epochLength())
    task_id = market.postTask(keccak(b"spec"), "spec", stake, 3600, 3600, 1800, 0, value=reward, sender=requester)
    market.claimTask(task_id, value=stake, sender=worker)
    tree = MerkleTree([keccak(encode(["uint256"], [i])) for i in range(segments + 1)])
    market.submitResult(task_id, tree.root, len(tree), "result", sender=worker)
    boa.env.time_travel(blocks=2)
    used = 0
    market.assignAuditors(task_id, sender=verifier)
    used += market._computation.get_gas_used() + 21_000
    salt = b"\x01" * 32
    leaf = tree.leaves[audit_segment(task_id, salt, len(tree)) + 1]
    market.commitAudit(task_id, audit_commitment(task_id, leaf, salt, verifier), sender=verifier)
    used += market._computation.get_gas_used() + 21_000
    boa.env.time_travel(seconds=1801)
    market.finalize(task_id, sender=worker)
    market.revealAudit(task_id, leaf, tree.proof(tree.leaves.index(leaf)), salt, sender=verifier)
    used += market._computation.get_gas_used() + 21_000
    return used


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reward", type=float, default=1.0, help="the requester's payment, ETH (default 1)")
    parser.add_argument("--stake-ratio", type=float, default=0.1, help="worker stake / payment (default 0.1)")
    parser.add_argument("--segments", type=int, default=12, help="segments per result (default 12)")
    parser.add_argument("--gas-price", type=float, default=1.0, help="gwei (default 1)")
    args = parser.parse_args(argv)
    market = deploy()
    payment = int(args.reward * ETHER)
    stake = int(payment * args.stake_ratio)
    n = args.segments
    fee = payment * market.auditFeeBps() // 10_000
    pay = payment - fee  # the worker's reward
    cost = pay  # compute cost: the worker earns nothing honestly
    auditors = market.auditorsPerTask()
    evs = []
    for k in range(1, n + 1):
        caught = k / n  # one honest auditor, one private uniform segment
        ev = k / n * cost - caught * (pay + stake)
        evs.append(ev)
        print(f"cheater_ev_{k}_{n}: {ev / ETHER:.6f}")
    print(f"cheater_ev_max: {max(evs) / ETHER:.6f}")
    gas = audit_gas(market, payment, stake, n)
    gas_cost = gas * args.gas_price * 1e9
    auditor_ev = fee / max(auditors, 1) - cost / n - gas_cost
    print(f"audit_gas: {gas}")
    print(f"auditor_fee: {fee / max(auditors, 1) / ETHER:.6f}")
    print(f"auditor_replay_cost: {cost / n / ETHER:.6f}")
    print(f"auditor_ev: {auditor_ev / ETHER:.6f}")
    replay = auditors / n
    print(f"replay_fraction: {replay:.4f}")
    ok = max(evs) < 0 and auditor_ev > 0 and replay <= 0.25
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
