"""Which contract functions an account called, read back from the chain's blocks and receipts.

"No double claim or commit" means more than one TaskClaimed event: a second claimTask or
submitResult that reverted would not log one, yet it would cost gas and show a broken journal.
So the tests count the account's mined transactions to the market by function.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from eth_utils import to_checksum_address

from tests.e2e.chainwatch import Chain


@dataclass(frozen=True)
class MinedCall:
    function: str
    args: dict
    ok: bool          # receipt status 1
    block: int


def calls_from(net: Chain, sender: str, first_block: int = 0) -> list[MinedCall]:
    market = net.client()
    sender = to_checksum_address(sender)
    found = []
    for number in range(first_block, net.w3.eth.block_number + 1):
        for tx in net.w3.eth.get_block(number, full_transactions=True)["transactions"]:
            if to_checksum_address(tx["from"]) != sender or tx["to"] is None \
                    or to_checksum_address(tx["to"]) != market.address:
                continue
            fn, args = market.contract.decode_function_input(tx["input"])
            receipt = net.w3.eth.get_transaction_receipt(tx["hash"])
            found.append(MinedCall(fn.fn_name, dict(args), receipt["status"] == 1, number))
    return found


def count(calls: list[MinedCall], task_id: int) -> Counter[str]:
    """How many times each function was called for ``task_id`` (failed calls count too)."""
    return Counter(c.function for c in calls if c.args.get("taskId") == task_id)
