"""Two threads of one process sending through one journal: the app withdraws while the
worker's loop reconciles and sends (a race the desktop app used to lose now and then)."""

from __future__ import annotations

import threading
import time

from engine.chain.anvil import mine, rpc
from engine.chain.market import ETHER
from engine.roles.txjournal import TxJournal


def test_an_entry_being_sent_is_not_taken_over_by_reconcile_and_nonces_do_not_collide(
        market_for, accounts, history, chain) -> None:
    market = market_for(accounts[1])
    journal = TxJournal(history, market, role="worker")
    rpc(chain, "evm_setAutomine", False)  # the first send waits for its block: it stays in flight
    results: dict[str, object] = {}

    def send(name: str) -> None:
        results[name] = journal.send(journal.key(0, name), name, market.register_verifier(ETHER // 10))

    first = threading.Thread(target=send, args=("register",))
    first.start()
    deadline = time.monotonic() + 30
    while not history.journal_open() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [e.key for e in history.journal_open()] == [journal.key(0, "register")]
    assert journal.open_entries() == []  # in flight in this process: not for reconcile()

    second = threading.Thread(target=send, args=("unregister",))
    second.start()
    time.sleep(0.5)
    mine(chain)  # both transactions are in this block, with consecutive nonces
    rpc(chain, "evm_setAutomine", True)
    first.join(60)
    second.join(60)
    assert results["register"].receipt["status"] == 1
    assert results["unregister"].receipt["status"] == 1
    assert history.journal_open() == []
