"""Checks and encodings for what goes into the history: wei as decimal text, JSON columns, names.

Values come from the worker, verifier and requester code, so a wrong type is a bug in the
caller; it is refused with the field it was meant for rather than stored half-right.
"""

from __future__ import annotations

import json
import re
from enum import Enum
from pathlib import Path
from typing import Any

from engine.history.errors import InvalidRecord

ROLES = ("worker", "verifier", "requester")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def wei_text(value: Any, what: str, *, signed: bool = False) -> str:
    """An amount of wei as the decimal TEXT stored (exact beyond 2**63)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRecord(f"{what} must be an int number of wei, not {type(value).__name__} {value!r}",
                            hint="convert ETH with int(Decimal(eth) * 10**18); never pass floats for money")
    if value < 0 and not signed:
        raise InvalidRecord(f"{what} must not be negative (got {value})")
    return str(value)


def wei_value(text: str | None) -> int | None:
    return None if text is None else int(text)


def market_address(market: Any) -> str:
    """The market contract address, checksummed, so one market is one key however it was spelled."""
    if not isinstance(market, str) or not _ADDRESS.fullmatch(market):
        raise InvalidRecord(f"market {market!r} is not a contract address (0x + 40 hex digits)")
    from eth_utils.address import to_checksum_address

    return str(to_checksum_address(market))


def chain_id_value(chain_id: Any) -> int:
    if isinstance(chain_id, bool) or not isinstance(chain_id, int) or chain_id <= 0:
        raise InvalidRecord(f"chain id {chain_id!r} is not a positive int")
    return chain_id


def task_id_value(task_id: Any, *, optional: bool = False) -> int | None:
    if task_id is None and optional:
        return None
    if isinstance(task_id, bool) or not isinstance(task_id, int) or task_id < 0:
        raise InvalidRecord(f"task id {task_id!r} is not a non-negative int")
    return task_id


def role_value(role: Any) -> str:
    if role not in ROLES:
        raise InvalidRecord(f"role {role!r} is not one of {', '.join(ROLES)}")
    return str(role)


def text_value(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidRecord(f"{what} must be a non-empty string, not {value!r}")
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def to_json(value: Any, what: str) -> str:
    """JSON for a dict column; enums, paths and bytes become their plain forms, anything else is refused."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise InvalidRecord(f"{what} must be a dict, not {type(value).__name__}")
    try:
        return json.dumps(value, default=_plain, sort_keys=True, allow_nan=True)
    except (TypeError, ValueError) as e:
        raise InvalidRecord(f"{what} cannot be stored as JSON: {e}",
                            hint="pass only str, int, float, bool, None, lists and dicts of them") from None


def from_json(text: str | None) -> dict[str, Any]:
    return json.loads(text) if text else {}
