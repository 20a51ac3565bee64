"""How wei and jobs read in the CLI's tables."""

from __future__ import annotations

import pytest

from engine.history import JobRecord
from engine.history.report import eth, loss_and_metric, steps, table

MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


@pytest.mark.parametrize(("wei", "text"), [
    (0, "0"), (10**18, "1"), (15 * 10**17, "1.5"), (42_000 * 10**9, "0.000042"), (1, "<0.000001"),
    (-(10**16), "-0.01"), (2**64 * 10**18, "18,446,744,073,709,551,616"), (None, "-"),
    (10**18 + 1, "1"),  # below the shown digits: the whole part stays exact, no "<" marker
])
def test_eth_shows_wei_as_ether(wei: int | None, text: str) -> None:
    assert eth(wei) == text


def test_a_job_shows_steps_loss_and_its_accuracy_or_first_metric() -> None:
    job = JobRecord(1, MARKET, 1, "worker", steps=600, steps_done=120, loss=0.12345, metrics={"accuracy": 0.98765})
    assert (steps(job), loss_and_metric(job)) == ("120/600", "0.1235 acc 0.9877")
    other = JobRecord(1, MARKET, 1, "worker", metrics={"perplexity": 12.5, "bleu": 0.3})
    assert (steps(other), loss_and_metric(other)) == ("-", "bleu 0.3")


def test_table_aligns_columns() -> None:
    assert table([("A", "BB"), ("ccc", "d")]) == ["A    BB", "ccc  d"]
