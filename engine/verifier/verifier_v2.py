"""The verifier on TaskMarket v2: paid audits, two-step challenges, data demands, jury duty.

One turn of :meth:`VerifierV2.step` does, in order (as v1's :mod:`engine.verifier.verifier`):

1. settle transactions journaled before a crash (once per start);
2. register with ``minStakeNow`` and this machine's arithmetic (:mod:`.stake_v2`), once;
3. read the market's new events: each goes to jury duty (:class:`~engine.verifier.jury_v2.JuryV2`)
   and to the audits (results to audit, our disputes resolved);
4. jury duty, which has deadlines (:meth:`~engine.verifier.jury_v2.JuryV2._jury_turn`);
5. one audit step (:mod:`.auditor_v2`): draw the auditors, replay the salt's segment, commit or
   reveal an audit, commit or reveal a challenge, demand data or claim its fault;
6. with ``auto_withdraw``, pull the credits the market holds for it.

Salts (audit, challenge) are kept in the job's history record before the transaction that
commits to them is sent, so a restarted verifier still reveals.
"""

from __future__ import annotations

from engine.chain.market_v2 import TaskMarketV2
from engine.chain.records import MarketEvent
from engine.chain.records_v2 import DisputeResolved, ResultSubmitted
from engine.verifier.auditor_v2 import AuditorV2
from engine.verifier.jury_v2 import JuryV2
from engine.verifier.loop import Loop


class VerifierV2(JuryV2, AuditorV2, Loop[TaskMarketV2]):
    """Audits results and serves on juries for one TaskMarket v2, signing as ``market``'s wallet.

    ``Verifier.from_settings`` gives one where the market on chain is v2."""

    def _jury_work(self) -> bool:
        return self._jury_turn()

    def _audit(self) -> bool:
        return self._audit_one_v2()

    def _on_event(self, event: MarketEvent) -> None:
        """Every event goes to jury duty first; what concerns our audits and challenges is
        handled here whatever the jury did with it (a DisputeResolved settles both a juror's
        vote and a challenger's bond)."""
        self._on_jury_event(event)
        if isinstance(event, ResultSubmitted):
            self._on_result_v2(event)
        elif isinstance(event, DisputeResolved):
            self._settle_challenge_v2(event)
