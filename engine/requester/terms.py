"""A task's terms as the requester gives them: amounts in ETH, timeouts, and their limits.

The contract packs amounts into 96 bits and timeouts into 32; values outside are refused
here with a message, before any transaction is signed.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from engine.tasks import spec as s

if TYPE_CHECKING:
    pass
from engine.requester.errors import AmountError, RequesterError
from engine.units import WEI_PER_ETH, format_eth

ZERO_ADDRESS = "0x" + "0" * 40
MAX_AMOUNT = 2**96 - 1              # the contract packs amounts into 96 bits
MAX_TIMEOUT = 2**32 - 1             # ...and timeouts into 32
MANIFEST_MAX_BYTES = 4 * 1024 * 1024
DEFAULT_CLAIM_TIMEOUT = 24 * 3600   # how long the task waits for a worker
DEFAULT_WINDOW = 3600               # challenge window after the result
MIN_TRAIN_TIMEOUT = 1800
STAKE_DIVISOR = 10                  # default worker stake: a tenth of the reward
ROLE = "requester"
LOG_RANGE = 2_000


def parse_eth(text: str, what: str, *, minimum_wei: int = 1) -> int:
    """Wei from a decimal ETH string (``"0.05"``); exact, no float rounding."""
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise AmountError(f"{what} {text!r} is not a number", hint=f"give {what} in ETH, e.g. 0.05")
    wei = value * WEI_PER_ETH
    if wei != wei.to_integral_value():
        raise AmountError(f"{what} {text} ETH has more than 18 decimals (1 wei = 0.000000000000000001 ETH)",
                          hint="round it to at most 18 decimals")
    if wei < minimum_wei:
        raise AmountError(f"{what} {text} ETH is too small: it must be at least {format_eth(minimum_wei)} ETH",
                          hint="give a positive amount in ETH, e.g. 0.05")
    if wei > MAX_AMOUNT:
        raise AmountError(
            f"{what} {text} ETH is too large: the market holds at most {format_eth(MAX_AMOUNT)} ETH per amount"
        )
    return int(wei)


def check_timeout(value: int, what: str) -> int:
    if not 0 < value <= MAX_TIMEOUT:
        raise RequesterError(f"{what} {value} s is out of range: it must be 1 to {MAX_TIMEOUT} seconds")
    return value



def default_train_timeout(spec: s.TaskSpec) -> int:
    """Room for a slow worker: four times the spec's own time limit, at least half an hour."""
    return max(MIN_TRAIN_TIMEOUT, 4 * spec.limits.max_seconds)
