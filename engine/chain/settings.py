"""The ``[network]`` settings section: which chain, which contract, which blob server."""

from __future__ import annotations

from eth_utils.address import is_address, to_checksum_address
from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.config import load_section, save_section

SECTION = "network"


class NetworkSettings(BaseModel):
    """A real network is just ``rpc_url`` + ``market_address`` + ``blob_url``.

    ``profile`` names a network profile (``idlegrid network use NAME``): when set, every other
    field comes from that profile (:mod:`engine.network.profiles`), so switching networks is one
    word in the settings. ``rpc_fallbacks`` are tried in turn when ``rpc_url`` fails;
    ``max_fee_per_gas`` (wei) is the fee ceiling no transaction is ever priced above;
    ``code_hash`` is the keccak of the market's runtime code, checked when it is opened.
    """

    model_config = ConfigDict(extra="forbid")

    profile: str | None = None
    rpc_url: str = "http://127.0.0.1:8545"
    rpc_fallbacks: list[str] = Field(default_factory=list)
    market_address: str | None = None
    blob_url: str | None = None
    chain_id: int | None = Field(default=None, gt=0)
    confirmations: int = Field(default=2, ge=0, le=1000)
    deploy_block: int = Field(default=0, ge=0)
    code_hash: str | None = None
    max_fee_per_gas: int | None = Field(default=None, gt=0)
    log_range: int = Field(default=2_000, ge=1, le=1_000_000)

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
        return _http_url(value)

    @field_validator("rpc_fallbacks")
    @classmethod
    def _http_all(cls, values: list[str]) -> list[str]:
        return [_http_url(v) for v in values]

    @property
    def rpc_urls(self) -> list[str]:
        """Every endpoint, in the order they are tried."""
        return list(dict.fromkeys([self.rpc_url, *self.rpc_fallbacks]))


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    return value


def load_network() -> NetworkSettings:
    """The ``[network]`` settings, with the chosen profile's fields filled in when one is named."""
    network = load_section(SECTION, NetworkSettings)
    if network.profile is None:
        return network
    from engine.network.profiles import load_profile  # profiles build on these settings

    return load_profile(network.profile).settings()


def save_network(settings: NetworkSettings) -> None:
    save_section(SECTION, settings)
