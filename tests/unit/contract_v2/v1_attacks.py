# ruff: noqa: E501, E701, E702  -- a compact demonstration script: one attack per few lines, read top to bottom
"""The issue-15 attacks run against TaskMarket v1 (contracts/TaskMarket.vy, the contract the clients
use today): each line says whether the attack works there. test_attacks.py holds the same attacks against v2.

    PYTHONPATH=$PWD .venv/bin/python -m tests.unit.contract_v2.v1_attacks
"""
from pathlib import Path

import boa
from boa.contracts.base_evm_contract import BoaError
from eth_abi import encode
from eth_hash.auto import keccak

from engine.commit.merkle import MerkleTree

E = 10**18
V1 = str(Path(__file__).resolve().parents[3] / "contracts" / "TaskMarket.vy")
PARAMS = [E // 10, E // 100, 3, 120, 120, 600, E // 100, 2000]

def actor(b=10**9 * E):
    x = boa.env.generate_address(); boa.env.set_balance(x, b); return x

def setup():
    m = boa.load(V1, *PARAMS)
    req, wrk, ch = actor(), actor(), actor()
    t = m.postTask(keccak(b"s"), "s", E // 20, 3600, 7200, 600, value=E // 2, sender=req)
    m.claimTask(t, value=E // 20, sender=wrk)
    tree = MerkleTree([keccak(bytes([i])) for i in range(8)])
    m.submitResult(t, tree.root, 8, "r", sender=wrk)
    return m, req, wrk, ch, t, tree

def chal(m, who, t, tree, s):
    m.challenge(t, s, tree.leaves[s], tree.proof(s), tree.leaves[s + 1], tree.proof(s + 1), value=m.challengeBond(t), sender=who)

def commit(j, v):
    return keccak(encode(["bool", "bytes32", "address"], [v, b"\x01" * 32, j]))

# 1 jury capture
with boa.env.anchor():
    m, req, wrk, ch, t, tree = setup()
    honest = [actor() for _ in range(5)]
    for h in honest: m.registerVerifier(value=E, sender=h)
    sybils = [actor() for _ in range(3)]
    for s in sybils: m.registerVerifier(value=E // 10, sender=s)
    chal(m, ch, t, tree, 2)
    boa.env.time_travel(blocks=2)
    with boa.env.anchor():
        m.drawJury(t); fair = list(m.jury(t))
    for s in sybils: m.registerVerifier(value=10**6 * E, sender=s)
    m.drawJury(t); after = list(m.jury(t))
    print("1 jury capture by top-up after the seed:", "WORKS on v1" if set(after) == set(sybils) and after != fair else "fails", fair == after)

# 2 0:0 pays the worker
with boa.env.anchor():
    m, req, wrk, ch, t, tree = setup()
    for _ in range(5): m.registerVerifier(value=E // 10, sender=actor())
    chal(m, ch, t, tree, 3); boa.env.time_travel(blocks=2); m.drawJury(t)
    boa.env.time_travel(seconds=300); m.resolve(t)
    print("2 0:0 vote pays the worker:", "WORKS on v1" if m.credits(wrk) > 0 and m.getTask(t).status == 4 else "fails", m.credits(wrk))

# 3 Sybil shield
with boa.env.anchor():
    m, req, wrk, ch, t, tree = setup()
    for _ in range(5): m.registerVerifier(value=E // 10, sender=actor())
    chal(m, actor(), t, tree, 0)
    try:
        chal(m, ch, t, tree, 5); print("3 Sybil shield: fails")
    except BoaError:
        print("3 Sybil shield: WORKS on v1 (second challenge reverts: not submitted)")

# 5 front-running
with boa.env.anchor():
    m, req, wrk, ch, t, tree = setup()
    bot = actor()
    chal(m, bot, t, tree, 5)  # the bot's copy lands first
    try:
        chal(m, ch, t, tree, 5); print("5 front-run: fails")
    except BoaError:
        print("5 front-run: WORKS on v1 (the bot holds the dispute, the original reverts)")

# 8 slot lockout
with boa.env.anchor():
    m = boa.load(V1, *PARAMS)
    for _ in range(1024): m.registerVerifier(value=E // 10, sender=actor())
    try:
        m.registerVerifier(value=100 * E, sender=actor()); print("8 slot lockout: fails")
    except BoaError:
        print("8 slot lockout: WORKS on v1 (a newcomer with 1000x the stake: verifiers full)")

# 4, 6, 7: v1 has no on-chain data demand, no paid audit, no committed private sample
m = boa.load(V1, *PARAMS)
for fn in ("demandData", "answerData", "assignAuditors", "commitAudit", "revealAudit", "commitChallenge"):
    print(f"4/6/7: v1 has {fn}:", hasattr(m, fn))
