"""Named network profiles: everything a machine needs to join one TaskMarket.

A profile is data, not code: a public testnet, an L2 or the local devnet differ only in the
fields below, so the worker, verifier and requester run unchanged on any of them. Profiles
live one JSON file each in ``<config dir>/networks/NAME.json``; ``[network] profile = NAME``
in the settings picks one. ``devnet`` is built in: it reads the local devnet's deployment
(``idlegrid devnet``), so the devnet is simply one profile among the others.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from eth_utils.address import is_address, to_checksum_address
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from engine.chain.errors import ChainError
from engine.chain.settings import NetworkSettings, save_network
from engine.config import load_section, paths
from engine.network.price_feed import PriceFeed

DEVNET = "devnet"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class ProfileError(ChainError):
    """A profile that does not exist, cannot be read or cannot be written."""


class Profile(BaseModel):
    """One network. See docs/network.md for what each field means."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    chain_id: int = Field(gt=0)
    market_address: str
    deploy_block: int = Field(ge=0)
    rpc_urls: list[str] = Field(min_length=1)
    blob_url: str | None = None
    params: dict[str, int] = Field(default_factory=dict)
    code_hash: str | None = None
    source_sha256: str | None = None
    confirmations: int = Field(default=2, ge=0, le=1000)
    max_fee_per_gas: int | None = Field(default=None, gt=0)
    log_range: int = Field(default=2_000, ge=1, le=1_000_000)
    price_feed: PriceFeed | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value)

    @field_validator("market_address")
    @classmethod
    def _address(cls, value: str) -> str:
        if not is_address(value):
            raise ValueError(f"{value!r} is not an Ethereum address (0x + 40 hex digits)")
        return to_checksum_address(value)

    def settings(self) -> NetworkSettings:
        """The ``[network]`` settings this profile stands for."""
        return NetworkSettings(
            profile=self.name, rpc_url=self.rpc_urls[0], rpc_fallbacks=self.rpc_urls[1:],
            market_address=self.market_address, blob_url=self.blob_url, chain_id=self.chain_id,
            confirmations=self.confirmations, deploy_block=self.deploy_block, code_hash=self.code_hash,
            max_fee_per_gas=self.max_fee_per_gas, log_range=self.log_range,
        )


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise ValueError(f"{name!r} is not a profile name (lower-case letters, digits, '-' and '_', "
                         f"at most 40, starting with a letter or digit)")
    return name


def profiles_dir() -> Path:
    return paths().config_dir / "networks"


def profile_path(name: str) -> Path:
    return profiles_dir() / f"{name}.json"


def save_profile(profile: Profile, *, replace: bool = False) -> Path:
    """Write ``profile`` atomically; an existing one of that name is kept unless ``replace``."""
    if profile.name == DEVNET:
        raise ProfileError("'devnet' is the built-in profile of the local devnet",
                           hint="give the network another name (--name)")
    path = profile_path(profile.name)
    if path.exists() and not replace:
        raise ProfileError(f"a network profile named {profile.name!r} exists ({path})",
                           hint="pick another --name, or pass --replace to overwrite it")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(profile.model_dump_json(indent=2, exclude_none=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def load_profile(name: str) -> Profile:
    """The profile ``name``; ``devnet`` is the local devnet's deployment."""
    if name == DEVNET:
        return _devnet_profile()
    path = profile_path(name)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProfileError(f"there is no network profile named {name!r} ({path} is missing)",
                           hint="list them with `idlegrid network list`, or add one with "
                                "`idlegrid network add` / `idlegrid network deploy`") from None
    except OSError as e:
        raise ProfileError(f"the network profile {path} is unreadable ({e.strerror or e})") from None
    try:
        return Profile.model_validate_json(text)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(the file)"
        raise ProfileError(f"the network profile {path}: {where}: {err['msg']}",
                           hint=f"fix {where} in {path}, or remove the file and add the profile again") from None


def list_profiles() -> list[str]:
    """The names of every stored profile, ``devnet`` first."""
    stored = sorted(p.stem for p in profiles_dir().glob("*.json")) if profiles_dir().is_dir() else []
    return [DEVNET, *(n for n in stored if n != DEVNET and NAME_RE.match(n))]


def active_profile() -> str | None:
    """The profile the settings name, None when ``[network]`` is written out by hand."""
    return load_section("network", NetworkSettings).profile


def use_profile(name: str) -> Profile:
    """Make ``name`` the network every command and the app use (checked to load first)."""
    profile = load_profile(name)
    save_network(NetworkSettings(profile=name))
    return profile


def _devnet_profile() -> Profile:
    from engine.chain.devnet import (  # only the devnet profile needs it
        Deployment,
        deployment_file,
    )

    deployment = Deployment.load(deployment_file())
    if deployment is None:
        raise ProfileError(f"no local devnet has been started ({deployment_file()} is missing)",
                           hint="start one with `idlegrid devnet` in another terminal")
    return Profile(name=DEVNET, chain_id=deployment.chain_id, market_address=deployment.market_address,
                   deploy_block=deployment.deploy_block, rpc_urls=[deployment.rpc_url],
                   blob_url=deployment.blob_url, params=dict(deployment.constructor),
                   source_sha256=deployment.source_sha256, confirmations=0)


