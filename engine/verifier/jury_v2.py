"""Jury duty on TaskMarket v2 (disputes by id, redraws, wrong-vote fines).

The interface :class:`engine.verifier.verifier_v2.VerifierV2` calls; the jury port fills it in.
"""

from __future__ import annotations

from engine.chain.market_v2 import TaskMarketV2
from engine.chain.records import MarketEvent
from engine.verifier.base import VerifierBase


class JuryV2(VerifierBase[TaskMarketV2]):
    """Jury duty has deadlines, so the verifier's turn runs it before audits."""

    def _jury_turn(self) -> bool:
        """Draw juries that are due, commit and reveal votes, resolve disputes that are due;
        True when it did something."""
        return False

    def _on_jury_event(self, event: MarketEvent) -> bool:
        """Take in a market event about disputes or juries; True when it was one."""
        return False
