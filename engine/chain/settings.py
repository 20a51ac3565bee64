"""The ``[network]`` settings section: which chain, which contract, which blob server."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator
from eth_utils import is_address, to_checksum_address

from engine.config import load_section, save_section

SECTION = "network"


class NetworkSettings(BaseModel):
    """A real network is just ``rpc_url`` + ``market_address`` + ``blob_url``."""

    model_config = ConfigDict(extra="forbid")

    rpc_url: str = "http://127.0.0.1:8545"
    market_address: str | None = None
    blob_url: str | None = None
    chain_id: int | None = Field(default=None, gt=0)
    confirmations: int = Field(default=2, ge=0, le=1000)

    @field_validator("market_address")
    @classmethod
    def _checksummed(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not is_address(value):
            raise ValueError(f"{value!r} is not an Ethereum address (0x + 40 hex digits)")
        return to_checksum_address(value)

    @field_validator("rpc_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return value


def load_network() -> NetworkSettings:
    return load_section(SECTION, NetworkSettings)


def save_network(settings: NetworkSettings) -> None:
    save_section(SECTION, settings)
