"""Words and numbers as the app shows them (pure functions, no Qt): ether, durations, states."""

from __future__ import annotations

import re

from engine.events import EngineState
from engine.units import format_eth

STATE_WORDS = {
    EngineState.STARTING: "Starting",
    EngineState.WAITING: "Waiting",
    EngineState.WORKING: "Working",
    EngineState.PAUSED: "Paused",
    EngineState.ERROR: "Error",
    EngineState.NO_GPU: "No GPU",
    EngineState.STOPPED: "Stopped",
}


def eth(wei: int | None, digits: int = 6) -> str:
    """Wei as ether with up to ``digits`` decimals, trailing zeros dropped: 1.5 ETH, 0 ETH."""
    if wei is None:
        return "–"
    return f"{format_eth(wei, digits=digits)} ETH"


def gwei(wei: int) -> str:
    return f"{wei / 10**9:,.2f} gwei"


def duration(seconds: float | None) -> str:
    """A short human duration: 45 s, 12 min, 3 h 05 min, 2 d 4 h."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "–"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def state_line(state: EngineState, reason: str) -> str:
    """The tray's status line: the state word, and why when there is a reason."""
    word = STATE_WORDS[state]
    return f"{word}: {reason}" if reason else word


KNOWN_CHAINS = {1: "Ethereum", 8453: "Base", 10: "Optimism", 42161: "Arbitrum", 11155111: "Sepolia test network",
                31337: "the local test network (devnet)"}


def chain_words(chain_id: int) -> str:
    """A chain as people name it: "the local test network (devnet)", not "chain 31337"."""
    return KNOWN_CHAINS.get(chain_id, f"network {chain_id}")


def keyring_words(description: str) -> str:
    """engine.wallet.store.describe() without module paths: "your desktop's keyring (Secret Service)"."""
    text = description.removeprefix("OS keyring: ")
    name = re.sub(r"\s*\([^)]*\)", "", text).split(",")[0].strip()
    plain = {"SecretService Keyring": "your desktop's keyring (Secret Service)",
             "macOS Keyring": "the macOS Keychain", "Windows WinVaultKeyring": "the Windows Credential Manager",
             "Kwallet Keyring": "KDE Wallet"}
    return plain.get(name, name or "the system keyring")
