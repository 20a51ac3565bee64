"""Ether amounts as text: the one formatter for wei (pure Python, so the app may import it).

Amounts are integers of wei everywhere; only text shown to a person is in ether. Two forms:
exact (every digit, for what a user may type back: ``idlegrid requester post --reward``) and
short (at most ``digits`` decimals, cut rather than rounded so a balance is never shown
higher than it is, with thousands separators, for displays and log lines).
"""

from __future__ import annotations

from decimal import Decimal

WEI_PER_ETH = 10**18


def format_eth(wei: int, *, digits: int | None = None) -> str:
    """``wei`` in ether without the unit: ``0.000250052`` exact, or with ``digits`` decimals at
    most: ``1,234.5``, ``0``, and ``<0.000001`` for a positive amount too small to show."""
    if digits is None:
        text = f"{Decimal(int(wei)) / WEI_PER_ETH:.18f}".rstrip("0").rstrip(".")
        return text or "0"
    sign = "-" if wei < 0 else ""
    whole, frac = divmod(abs(int(wei)), WEI_PER_ETH)
    decimals = f"{frac:018d}"[:digits].rstrip("0")
    if not decimals and frac and not whole:
        return f"{sign}<0.{'0' * (digits - 1)}1"
    return f"{sign}{whole:,}{'.' + decimals if decimals else ''}"
