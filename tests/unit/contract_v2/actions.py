"""Shared helpers for the TaskMarketV2 tests: deploy, actors, and one function per protocol step."""

from __future__ import annotations

from pathlib import Path

import boa
from eth_abi import decode, encode
from eth_hash.auto import keccak

from engine.commit.merkle import MerkleTree

REPO = Path(__file__).resolve().parents[3]
SOURCE = REPO / "contracts" / "TaskMarketV2.vy"

ETHER = 10**18
# Test values (the devnet's are in docs/contract.md); shorter periods keep the tests fast.
PARAMS = {
    "minVerifierStake": ETHER // 10,
    "minChallengeBond": ETHER // 100,
    "jurySize": 5,
    "commitPeriod": 120,
    "revealPeriod": 120,
    "unbondingPeriod": 1200,
    "nonRevealPenalty": ETHER // 100,
    "jurorRewardBps": 2000,
    "wrongVotePenalty": ETHER // 100,
    "maxDraws": 2,
    "epochLength": 600,
    "responsePeriod": 300,
    "auditFeeBps": 1000,
    "auditorsPerTask": 1,
}
REWARD = ETHER // 2
STAKE = ETHER // 20
CLAIM_TIMEOUT = 3600
TRAIN_TIMEOUT = 7200
CHALLENGE_WINDOW = 600
SPEC_HASH = keccak(b"spec")
SPEC_URI = "http://127.0.0.1:8765/blobs/" + "ab" * 32
RESULT_URI = "http://127.0.0.1:8765/blobs/" + "cd" * 32

# task status codes (TaskMarketV2.vy)
ZERO_ADDRESS = "0x" + "00" * 20
OPEN, CLAIMED, SUBMITTED, FINALIZED, CANCELLED = 0, 1, 2, 5, 6
# dispute status codes
D_OPEN, D_WORKER_WON, D_CHALLENGER_WON, D_VOID = 1, 2, 3, 4


def deploy(**overrides):
    params = {**PARAMS, **overrides}
    return boa.load(str(SOURCE), *params.values())


def actor(balance: int = 100 * ETHER) -> str:
    address = boa.env.generate_address()
    boa.env.set_balance(address, balance)
    return address


def leaves(n: int, tag: bytes = b"leaf") -> list[bytes]:
    return [keccak(tag + i.to_bytes(4, "big")) for i in range(n)]


def advance(seconds: int) -> None:
    """Move time (and the block number, one block per 12 s) forward."""
    boa.env.time_travel(seconds=seconds)


def post(market, requester, reward=REWARD, stake=STAKE, claim=CLAIM_TIMEOUT, train=TRAIN_TIMEOUT,
         window=CHALLENGE_WINDOW, arithmetic=0) -> int:
    return market.postTask(SPEC_HASH, SPEC_URI, stake, claim, train, window, arithmetic, value=reward,
                           sender=requester)


def claim(market, worker, task_id: int) -> None:
    market.claimTask(task_id, value=market.getTask(task_id).workerStake, sender=worker)


def submit(market, worker, task_id: int, n: int = 8, tag: bytes = b"leaf") -> MerkleTree:
    tree = MerkleTree(leaves(n, tag))
    market.submitResult(task_id, tree.root, len(tree), RESULT_URI, sender=worker)
    return tree


def posted_and_submitted(market, requester, worker, n: int = 8, **terms) -> tuple[int, MerkleTree]:
    task_id = post(market, requester, **terms)
    claim(market, worker, task_id)
    return task_id, submit(market, worker, task_id, n)


def register(market, verifier, stake: int | None = None, arithmetic: int = 0) -> None:
    market.registerVerifier(arithmetic, value=stake or market.minVerifierStake(), sender=verifier)


def next_epoch(market) -> None:
    """Move time to the start of the next epoch (so the stake snapshot includes every change so far)."""
    length = market.epochLength()
    advance(length - boa.env.timestamp % length)


def challenge_commitment(task_id: int, segment: int, salt: bytes, challenger: str) -> bytes:
    return keccak(encode(["uint256", "uint256", "bytes32", "address"], [task_id, segment, salt, challenger]))


def commit_challenge(market, challenger, task_id: int, segment: int, salt: bytes = b"s" * 32) -> int:
    return market.commitChallenge(task_id, challenge_commitment(task_id, segment, salt, challenger),
                                  value=market.challengeBond(task_id), sender=challenger)


def reveal_challenge(market, challenger, commit_id: int, tree: MerkleTree, segment: int, salt: bytes = b"s" * 32,
                     leaf_b: bytes | None = None) -> int:
    return market.revealChallenge(
        commit_id, segment, tree.leaves[segment], tree.proof(segment),
        tree.leaves[segment + 1] if leaf_b is None else leaf_b, tree.proof(segment + 1), salt, sender=challenger,
    )


def challenge(market, challenger, task_id: int, tree: MerkleTree, segment: int = 0) -> int:
    """Commit, wait a block, reveal: the dispute id."""
    commit_id = commit_challenge(market, challenger, task_id, segment)
    boa.env.time_travel(blocks=1)
    return reveal_challenge(market, challenger, commit_id, tree, segment)


def commitment(worker_honest: bool, salt: bytes, juror: str) -> bytes:
    return keccak(encode(["bool", "bytes32", "address"], [worker_honest, salt, juror]))


def salt_of(juror: str) -> bytes:
    return keccak(b"salt" + bytes.fromhex(juror[2:]))


def draw(market, dispute_id: int) -> list[str]:
    """Draw the jury two blocks on (once more if the draw was deferred)."""
    for _ in range(3):
        boa.env.time_travel(blocks=2)
        market.drawJury(dispute_id)
        if market.getDispute(dispute_id).commitDeadline:
            break
    return list(market.jury(dispute_id))


def commit_all(market, dispute_id: int, votes: dict) -> None:
    """votes: juror -> True (worker honest), False (cheated) or None (does not commit)."""
    for juror, vote in votes.items():
        if vote is not None:
            market.commitVote(dispute_id, commitment(vote, salt_of(juror), juror), sender=juror)


def reveal_all(market, dispute_id: int, votes: dict) -> None:
    advance(market.commitPeriod() + 1)
    for juror, vote in votes.items():
        if vote is not None:
            market.revealVote(dispute_id, vote, salt_of(juror), sender=juror)


def vote_and_resolve(market, dispute_id: int, votes: dict, reveal: dict | None = None) -> None:
    """Commit `votes`, reveal `reveal` (default: the same votes), then resolve after the deadline."""
    commit_all(market, dispute_id, votes)
    reveal_all(market, dispute_id, votes if reveal is None else reveal)
    advance(market.revealPeriod() + 1)
    market.resolve(dispute_id)


def withdraw_all(market, account) -> int:
    """Withdraw and check the account received exactly its credit."""
    credit = market.credits(account)
    before = boa.env.get_balance(account)
    market.withdraw(sender=account)
    assert boa.env.get_balance(account) - before == credit
    assert market.credits(account) == 0
    return credit


# ------------------------------------------------------------------ gas, as a receipt would show it

def _intrinsic(data: bytes) -> tuple[int, int]:
    zeros = data.count(0)
    nonzeros = len(data) - zeros
    tokens = zeros + 4 * nonzeros
    return 21000 + 4 * zeros + 16 * nonzeros, 21000 + 10 * tokens  # (standard, EIP-7623 floor)


def tx_gas(market, fn_name: str, *args, **kwargs) -> int:
    """Call market.fn_name as its own transaction and return the gas a receipt would report.

    boa never ends a transaction, so the state is locked first: warm/cold access lists and the
    "original value" of every slot (EIP-2929/2200) then match a fresh transaction. Do not use
    inside boa.env.anchor(): locking flattens the journal the anchor would revert to.
    """
    state = boa.env.evm.vm.state
    state.lock_changes()
    sender = kwargs.get("sender") or boa.env.eoa
    state.mark_address_warm(boa.env._get_sender(sender).canonical_address)
    state.mark_address_warm(boa.env._get_sender(market.address).canonical_address)
    getattr(market, fn_name)(*args, **kwargs)
    computation = market._computation
    standard, floor = _intrinsic(computation.msg.data)
    used = standard + computation.get_gas_used()
    used -= min(computation.get_gas_refund(), used // 5)
    return max(used, floor)


# ------------------------------------------------------------------ fast paths for the fuzz test

def revert_reason(market, fn_name: str, *args, sender, value: int = 0) -> str | None:
    """Run a call expected to revert and return its reason string (None if it succeeded).

    Cheaper than ``boa.reverts``, which renders the contract's whole storage into the error.
    """
    data = getattr(market, fn_name).prepare_calldata(*args)
    computation = boa.env.execute_code(to_address=market.address, sender=sender, value=value, data=data)
    if not computation.is_error:
        return None
    output = bytes(computation.output)
    assert output[:4] == bytes.fromhex("08c379a0"), f"{fn_name} reverted without a reason"
    (reason,) = decode(["string"], output[4:])
    return reason


def storage_slot(market, variable: str) -> int:
    return market.compiler_data.storage_layout["storage_layout"][variable]["slot"]


def mapping_value(market, base_slot: int, key: str) -> int:
    """Read a HashMap[address, uint256] entry straight from storage (no call)."""
    slot = int.from_bytes(keccak(encode(["uint256", "address"], [base_slot, key])), "big")
    return boa.env.get_storage(market.address, slot)


def attempt(market, fn_name: str, *args, sender, value: int = 0) -> tuple[str | None, bytes]:
    """Run a call as a transaction: (None, output) if it succeeded, (reason, b"") if it reverted."""
    data = getattr(market, fn_name).prepare_calldata(*args)
    computation = boa.env.execute_code(to_address=market.address, sender=sender, value=value, data=data)
    output = bytes(computation.output)
    if not computation.is_error:
        return None, output
    assert output[:4] == bytes.fromhex("08c379a0"), f"{fn_name} reverted without a reason"
    (reason,) = decode(["string"], output[4:])
    return reason, b""
