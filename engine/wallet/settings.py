"""The ``[wallet]`` section of the settings: which address is ours and where its key lives."""

from __future__ import annotations

from pathlib import Path

from eth_utils.address import is_address, to_checksum_address
from pydantic import BaseModel, ConfigDict, field_validator

from engine.config import load_section, save_section

SECTION = "wallet"


class WalletSettings(BaseModel):
    """``address``: the active account. ``keystore``: set when the key lives in that
    encrypted file instead of the OS keyring."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: str | None = None
    keystore: Path | None = None

    @field_validator("address")
    @classmethod
    def _checksummed(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not is_address(value):
            raise ValueError("not an Ethereum address (0x followed by 40 hex digits)")
        return to_checksum_address(value)


def load() -> WalletSettings:
    return load_section(SECTION, WalletSettings)


def save(settings: WalletSettings) -> None:
    save_section(SECTION, settings)
