"""The verifier's stake: register with it, unregister, withdraw credits and the unbonded stake.

:class:`StakeBase` is what v1 and v2 share (the calls and reads of both clients have the same
names); each version says what its minimum is and how it registers (:class:`Stake` here,
:class:`engine.verifier.stake_v2.StakeV2` on TaskMarket v2)."""

from __future__ import annotations

import time

from engine.chain.contract import ContractCall
from engine.chain.market import TaskMarket
from engine.events import Kind
from engine.units import format_eth
from engine.verifier.base import M, VerifierBase, tx_hash
from engine.verifier.states import VerifierError, VerifierOptionError


class StakeBase(VerifierBase[M]):
    """Registration in the jury pool, and pulling what the market holds for this account."""

    def _min_stake(self) -> int:
        """The least stake the market takes from a new verifier now."""
        raise NotImplementedError

    def _register_call(self, stake: int) -> ContractCall:
        raise NotImplementedError

    def _ensure_registered(self) -> bool:
        if not self.config.register or self.market.is_verifier(self.address):
            return False
        if self.market.unbonding_until(self.address) != 0:
            self._emit(Kind.LOG, "unregistering: not joining juries (audits go on)")
            return False
        minimum = self._min_stake()
        stake = minimum if self.config.stake is None else self.config.stake
        if stake < minimum:
            raise VerifierOptionError(f"a stake of {format_eth(stake, digits=6)} ETH is below the market's minimum of "
                                f"{format_eth(minimum, digits=6)} ETH",
                                hint=f"use --stake {format_eth(minimum)} or more")
        receipt = self._send(self._register_call(stake), None, "register")
        self.history.add_ledger(self.chain_id, self.market.address, None, "bond", stake, tx_hash=tx_hash(receipt))
        self._emit(Kind.JOB, f"registered as a verifier with a stake of {format_eth(stake, digits=6)} ETH",
                   data={"state": "registered", "tx_hash": tx_hash(receipt)})
        return True

    def withdraw(self) -> str | None:
        """Pull this account's credits (juror rewards, won bonds, a returned stake); the tx
        hash, or None when there is nothing to withdraw. Also withdraws an unbonded stake."""
        until = self.market.unbonding_until(self.address)
        if until and self._now() >= until and self.market.juror_duties(self.address) == 0:
            stake = self.market.verifier_stake(self.address)
            receipt = self._send(self.market.withdraw_stake(), None, "withdrawStake")
            self.history.add_ledger(self.chain_id, self.market.address, None, "bond_returned", stake,
                                    tx_hash=tx_hash(receipt))
            self._emit(Kind.JOB, "verifier stake returned to credits", data={"state": "unbonded"})
        amount = self.market.credits(self.address)
        if amount == 0:
            return None
        receipt = self._send(self.market.withdraw(), None, "withdraw")
        self.history.add_ledger(self.chain_id, self.market.address, None, "withdrawn", amount, tx_hash=tx_hash(receipt))
        self._emit(Kind.EARNINGS, f"withdrew {format_eth(amount, digits=6)} ETH", data={"withdrawn": amount,
                                                                                        "tx_hash": tx_hash(receipt)})
        return tx_hash(receipt)

    def unregister(self) -> str:
        """Leave the jury pool; the stake is withdrawable after the unbonding period."""
        if not self.market.is_verifier(self.address):
            until = self.market.unbonding_until(self.address)
            if until:
                when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(until))
                return f"already unregistering; the stake is withdrawable from {when} UTC"
            raise VerifierError(f"{self.address} is not a registered verifier", hint="nothing to unregister")
        receipt = self._send(self.market.unregister(), None, "unregister")
        until = self.market.unbonding_until(self.address)
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(until))
        self._emit(Kind.JOB, f"unregistering: stake withdrawable from {when} UTC",
                   data={"state": "unregistering", "tx_hash": tx_hash(receipt)})
        stake = format_eth(self.market.verifier_stake(self.address), digits=6)
        return (f"unregistering; the stake of {stake} ETH is withdrawable from {when} UTC "
                "(then `idlegrid verifier withdraw`)")


class Stake(StakeBase[TaskMarket]):
    """v1: a fixed minimum, no arithmetic."""

    def _min_stake(self) -> int:
        return self.market.params().min_verifier_stake

    def _register_call(self, stake: int) -> ContractCall:
        return self.market.register_verifier(stake)
