"""Where every wei went: the end-to-end tests' independent account of the network's money.

Nothing here trusts the clients' own bookkeeping: holdings are read from the chain (balance,
``credits``, ``verifierStake``), and gas from the receipts of every transaction mined since
the ledger was opened. Ether only moves between the actors and the contract, or is burnt as
gas, so for the actors plus the contract's escrow (its balance less the credits and stakes it
owes) the changes sum to exactly minus the gas paid.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import to_checksum_address
from web3 import Web3

from engine.chain.contract import MarketClient


@dataclass(frozen=True)
class Holdings:
    """What an account owns: in its wallet, owed by the contract, and staked as a verifier."""

    balance: int
    credits: int
    verifier_stake: int

    @property
    def total(self) -> int:
        return self.balance + self.credits + self.verifier_stake


def holdings(market: MarketClient, address: str) -> Holdings:
    return Holdings(market.w3.eth.get_balance(address), market.credits(address), market.verifier_stake(address))


def gas_by_sender(w3: Web3, first_block: int, last_block: int) -> dict[str, int]:
    """Wei paid for gas by each sender in blocks ``first_block..last_block``, from receipts."""
    paid: dict[str, int] = {}
    for number in range(first_block, last_block + 1):
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
            receipt = w3.eth.get_transaction_receipt(tx["hash"])
            sender = to_checksum_address(tx["from"])
            paid[sender] = paid.get(sender, 0) + receipt["gasUsed"] * receipt["effectiveGasPrice"]
    return paid


class Ledger:
    """Holdings of named accounts (and the contract's escrow) now, to compare with later."""

    def __init__(self, market: MarketClient, accounts: dict[str, str]) -> None:
        self.market, self.w3 = market, market.w3
        self.accounts = {name: to_checksum_address(a) for name, a in accounts.items()}
        self.first_block = self.w3.eth.block_number + 1
        self.before = {name: holdings(market, a) for name, a in self.accounts.items()}
        self.escrow_before = self.escrow()

    def escrow(self) -> int:
        """The contract's balance less what it owes the named accounts (credits and stakes):
        rewards in escrow, worker stakes and challenge bonds."""
        owed = sum(self.market.credits(a) + self.market.verifier_stake(a) for a in self.accounts.values())
        return self.w3.eth.get_balance(self.market.address) - owed

    def report(self) -> LedgerReport:
        last = self.w3.eth.block_number
        gas = gas_by_sender(self.w3, self.first_block, last)
        after = {name: holdings(self.market, a) for name, a in self.accounts.items()}
        outsiders = {a: g for a, g in gas.items() if a not in self.accounts.values()}
        return LedgerReport(
            before=self.before, after=after,
            gas={name: gas.get(a, 0) for name, a in self.accounts.items()},
            escrow_before=self.escrow_before, escrow_after=self.escrow(), outsiders=outsiders,
        )


@dataclass(frozen=True)
class LedgerReport:
    before: dict[str, Holdings]
    after: dict[str, Holdings]
    gas: dict[str, int]
    escrow_before: int
    escrow_after: int
    outsiders: dict[str, int]       # gas paid by senders that are not named accounts

    def gained(self, name: str) -> int:
        """What ``name`` gained through the contract: the change of its holdings, gas added back."""
        return self.after[name].total - self.before[name].total + self.gas[name]

    @property
    def imbalance(self) -> int:
        """Σ (holdings change + gas) + escrow change: 0 when no wei appeared or vanished."""
        return sum(self.gained(n) for n in self.after) + self.escrow_after - self.escrow_before

    def table(self) -> str:
        """The report as aligned text, in ETH to the wei."""
        rows = [f"{'account':<16} {'gained (ETH)':>24} {'gas paid (ETH)':>22}"]
        rows += [f"{n:<16} {_eth(self.gained(n)):>24} {_eth(self.gas[n]):>22}" for n in self.after]
        rows.append(f"{'escrow change':<16} {_eth(self.escrow_after - self.escrow_before):>24}")
        rows.append(f"{'imbalance':<16} {_eth(self.imbalance):>24}")
        return "\n".join(rows)


def _eth(wei: int) -> str:
    sign = "-" if wei < 0 else ""
    whole, frac = divmod(abs(wei), 10**18)
    return f"{sign}{whole}.{frac:018d}"
