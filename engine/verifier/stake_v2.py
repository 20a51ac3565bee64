"""The verifier's stake on TaskMarket v2: the minimum that rises with occupancy, and the arithmetic.

What a verifier registers decides which tasks it can be drawn for (as auditor or juror): a
tolerance-mode task (arithmetic 0) draws among every verifier, an exact-mode task only among
verifiers registered with that task's arithmetic. An exact-mode result can only be judged by a
machine that computes bit for bit alike, so a verifier registers the arithmetic of the device it
replays on (``--device``): the name ``idlegrid arithmetic`` prints there
(:func:`engine.training.determinism.arithmetic`, asked of a child process so torch stays out of
this one), as :func:`engine.chain.market_v2.arithmetic_id`, the id a requester posts for a spec
naming it. It still judges every tolerance-mode task. Only when that name cannot be had (no
torch, the child failed) does it register 0: tolerance mode only. The contract fixes the
arithmetic at the first registration, so a machine whose arithmetic changes (another torch,
another GPU) must register anew from another account.
"""

from __future__ import annotations

from engine.chain.contract import ContractCall
from engine.chain.market_v2 import TaskMarketV2, arithmetic_id
from engine.events import Kind
from engine.roles.arithmetic import ArithmeticHere
from engine.verifier.stake import StakeBase


class StakeV2(StakeBase[TaskMarketV2]):
    """Registration with ``minStakeNow`` and this machine's exact arithmetic; withdraw and
    unregister are :class:`StakeBase`'s."""

    _arithmetic_here: ArithmeticHere | None = None

    def _min_stake(self) -> int:
        return self.market.min_stake_now()

    def arithmetic_name(self) -> str | None:
        """The arithmetic of the replay device (None where it cannot be had), asked once."""
        if self._arithmetic_here is None:
            self._arithmetic_here = ArithmeticHere(self.config.device)
        return self._arithmetic_here.get()

    def _register_call(self, stake: int) -> ContractCall:
        name = self.arithmetic_name()
        if name is None:
            self._emit(Kind.NOTICE, "this machine's arithmetic could not be had (`idlegrid arithmetic` failed): "
                                    "registering for tolerance-mode tasks only")
        else:
            self._emit(Kind.LOG, f"registering with arithmetic {name} (id {arithmetic_id(name)})")
        return self.market.register_verifier(stake, arithmetic_id(name))
