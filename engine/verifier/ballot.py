"""A juror's ballot, the same on either market: judge by replaying the disputed segment, seal the
vote with a salt kept in the history before the commitment leaves, open it in the reveal period.

v1's :mod:`engine.verifier.jury` and v2's :mod:`engine.verifier.jury_v2` differ in how disputes
are found, drawn, addressed and settled; what a vote is, how it is reached and kept, is here.
A ballot is the ``dict`` kept in the job's history record (``vote``, ``why``, ``salt``, and
``abstained`` when this machine cannot judge), so a restarted juror can still open its vote.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from web3.types import TxReceipt

from engine.chain.market import vote_commitment
from engine.events import Kind
from engine.verifier.base import M, VerifierBase, tx_hash
from engine.verifier.evidence import (
    CannotJudgeHere,
    Commitment,
    UnverifiableResult,
    Verdict,
    check_segment,
    fetch_result,
)
from engine.verifier.states import VerifierState

Ballot = dict[str, Any]
Keep = Callable[[Ballot], None]


class Ballots(VerifierBase[M]):
    """Judging, sealing and opening a vote; the version's jury decides when and on what."""

    def _judge(self, task_id: int, segment: int) -> tuple[bool, str]:
        """Replay the disputed segment: True when the worker's commitment holds."""
        task = self.market.get_task(task_id)
        try:
            commitment = Commitment(task_id, task.merkle_root, task.num_leaves, self._result_uri(task_id),
                                    self._spec_hash(task_id))
            result = fetch_result(self.store, commitment)
        except CannotJudgeHere:
            raise  # not the worker's fault: the caller abstains
        except UnverifiableResult as e:
            return False, e.message
        if not 0 <= segment < result.segments:
            return False, f"segment {segment} is outside the result"
        check = check_segment(result, segment, self.store, self.work_dir, device=self.config.device,
                              timeout_s=self.config.replay_timeout_s, in_process=self.config.replay_in_process,
                              answered=self._answered(task_id))
        return check.verdict is Verdict.HONEST, f"{check.verdict.value}: {check.detail}"

    def _answered(self, task_id: int) -> Mapping[int, str]:
        """Checkpoints of the task's current result whose blob address the worker fixed on chain
        by answering a data demand (index -> address): fetched from there. Empty on v1, which has
        no demands; v2's jury reads them (:mod:`engine.verifier.answers`)."""
        return {}

    def _seal(self, task_id: int, ballot: Ballot, segment: int, keep: Keep) -> bytes:
        """The commitment to the ballot's vote. The vote is judged once (a vote the ballot already
        holds is kept); a new salt is drawn for a ballot without one, and ``keep`` writes both to
        the history before this returns, so the commitment never leaves without them."""
        if ballot.get("salt") is None:
            if ballot.get("vote") is None:
                honest, why = self._judge(task_id, segment)
                ballot.update(vote=honest, why=why)
            ballot["salt"] = "0x" + os.urandom(32).hex()
            keep(ballot)
        return vote_commitment(ballot["vote"], bytes.fromhex(ballot["salt"][2:]), self.address)

    def _said_committed(self, task_id: int, ballot: Ballot, segment: int, receipt: TxReceipt) -> None:
        self._emit(Kind.JOB, f"committed a vote on segment {segment} (worker "
                             f"{'honest' if ballot['vote'] else 'cheated'}: {ballot['why']})",
                   task_id, {"state": VerifierState.JUROR, "tx_hash": tx_hash(receipt)})

    def _opening(self, task_id: int, ballot: Ballot, commitment: bytes) -> bytes | None:
        """The salt that opens ``commitment`` with the ballot's vote; None, said as an error,
        when the history no longer holds them (the caller must not ask again)."""
        salt = bytes.fromhex(ballot["salt"][2:]) if ballot.get("salt") else None
        if salt is not None and vote_commitment(ballot["vote"], salt, self.address) == commitment:
            return salt
        self._emit(Kind.ERROR, "cannot reveal: the vote and salt kept in the history do not open the "
                               "committed vote (was the history replaced?)", task_id,
                   {"hint": "the market will take the non-reveal penalty from the stake"})
        return None

    def _said_revealed(self, task_id: int, ballot: Ballot, receipt: TxReceipt) -> None:
        self._emit(Kind.JOB, f"revealed the vote: worker {'honest' if ballot['vote'] else 'cheated'}", task_id,
                   {"state": VerifierState.JUROR, "tx_hash": tx_hash(receipt)})

    def _abstain(self, task_id: int, ballot: Ballot, why: CannotJudgeHere, keep: Keep) -> None:
        """An exact-mode spec naming other arithmetic than ours: only machines with that arithmetic
        may judge it (issue 14), so this juror votes neither way, and says so once instead of
        retrying a replay that can never run. The market fines a drawn juror who does not reveal:
        on v1 the draw cannot know a juror's arithmetic, so that fine is the cost of a draw it
        cannot serve (see the README's caveat); v2 draws only verifiers registered with the
        task's arithmetic, so there it means this machine registered an arithmetic it lacks."""
        ballot["abstained"] = why.message
        keep(ballot)
        self._emit(Kind.NOTICE, f"cannot judge this dispute here, abstaining: {why.message}", task_id,
                   {"state": VerifierState.JUROR, "hint": why.hint or ""})
