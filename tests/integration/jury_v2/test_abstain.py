"""A v2 juror drawn for an exact-mode task whose arithmetic it cannot compute after all (it
registered an arithmetic its replays do not have): it votes neither way, says so once, and the
market's non-reveal fine is booked; the others decide."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from engine.chain.market_v2 import arithmetic_id
from engine.chain.records_v2 import DisputeResolved, DisputeStatus
from engine.tasks.load import canonical_json, check, parse
from engine.training.determinism import arithmetic
from engine.training.trainer import Trainer
from tests.integration.chain_v2 import steps
from tests.integration.jury_v2.results import submit
from tests.integration.verifier.commitments import STAKE, TrainedJob, tampered
from tests.specs import quick_mlp


def test_a_juror_that_cannot_compute_the_arithmetic_abstains_once_and_books_its_fine(court, store, tmp_path: Path,
                                                                                    monkeypatch) -> None:
    import torch

    if torch.backends.cpu.get_cpu_capability().lower() == "default":
        pytest.skip("this CPU offers only the default kernel level: no second arithmetic to give a juror")
    here = arithmetic("cpu")
    checked = check(parse(quick_mlp(steps=20, checkpoint_every=10, verification={"mode": "exact", "arithmetic": here})))
    Trainer(checked, tmp_path / "exact" / "job").run()
    job = TrainedJob(checked, canonical_json(checked.spec),
                     tuple(sorted((tmp_path / "exact" / "job").glob("ckpt-*.safetensors"))))
    c = court(arithmetic_id(here))  # every verifier registers the task's arithmetic: all may be drawn
    result = submit(store, c.requester, c.worker, job, tampered(job, 1, tmp_path / "cheat"),
                    arithmetic=arithmetic_id(here))
    dispute_id = steps.challenge(c.challenger, result.task_id, result.tree, segment=0)
    c.settle(c.watcher)
    jury = c.drawn(dispute_id)
    other, able = jury[0], jury[1:]
    other.config = replace(other.config, replay_in_process=False)  # replays in a child ...
    other.start()
    with monkeypatch.context() as env:
        env.setenv("ATEN_CPU_CAPABILITY", "default")  # ... computing at the default kernel level
        for _ in range(3):  # turns after the first must not replay again
            c.settle(other)
    duty = other.duty(result.task_id, dispute_id)
    assert duty["vote"] is None and "requires arithmetic" in duty["abstained"]
    assert other.said("cannot judge this dispute here, abstaining") == 1
    c.vote(*c.jurors)

    params = c.requester.params()
    (resolved,) = c.requester.task_events(DisputeResolved, result.task_id)
    share = (STAKE * params.juror_reward_bps // 10_000 + params.non_reveal_penalty) // 4
    assert (resolved.outcome, resolved.honest_votes, resolved.cheat_votes, resolved.juror_share) \
        == (DisputeStatus.CHALLENGER_WON, 0, 4, share)
    assert other.said("abstaining") == 1 and other.said("retrying") == 0 and other.said("committed a vote") == 0
    assert other.ledger("fine") == [(params.non_reveal_penalty, resolved.tx_hash)]
    assert other.said("fined 0.01 ETH for not revealing a vote") == 1
    for j in able:
        assert j.ledger("juror_reward") == [(share, resolved.tx_hash)]
