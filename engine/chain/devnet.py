"""The local devnet: anvil with state in the data dir, TaskMarket deployed once, accounts funded.

Everything lives in ``<data dir>/devnet/``: ``anvil-state.json`` (the chain, so a restart
keeps tasks and balances), ``deployment.json`` (chain id, RPC URL, market address, deploy
block) and ``anvil.log``. Chain id 31337 and anvil's well-known mnemonic accounts make the
demo deterministic.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_utils.address import is_address, to_checksum_address
from web3 import Web3

from engine.chain.anvil import DEV_CHAIN_ID, Anvil, AnvilConfig, rpc
from engine.chain.artifact import Artifact
from engine.chain.devkeys import DEV_KEYS, DEV_MNEMONIC, FUND_ETH  # noqa: F401 (re-exported)
from engine.chain.errors import DevnetError
from engine.chain.market import has_code
from engine.chain.rpc import connect
from engine.chain.sender import Signer
from engine.chain.settings import NetworkSettings, load_network
from engine.chain.version import MarketVersion
from engine.config import paths, read_settings
from engine.network.deploy import Deployed, constructor_arguments, market_contract
from engine.network.deploy import deploy_market as deploy

DEVNET_EPOCH_S = 60
"""The epoch of the market `idlegrid devnet` deploys (v2), instead of DEVNET_PARAMS_V2's hour.

A verifier's stake weighs in auditor and jury draws only from the epoch after it registered
(the contract snapshots stakes per epoch), so with hour-long epochs a fresh devnet's demo
verifier audited unpaid for up to an hour. A minute-long epoch is the smallest safe fix: the
contract is unchanged, nothing else in the deployment changes (commit, reveal and response
periods and the unbonding period, still >= 2 epochs, do not depend on it), and a draw that
straddles an epoch boundary already moves to the next block, which the verifier retries; with
a minute it rarely happens. Moving the chain's clock to the next epoch instead would leave it up
to an hour ahead of the wall clock, which the idle-block clock, deadline displays and
``ChainClock.next_block_time`` all read. The test fixtures and ``idlegrid network deploy`` keep
DEVNET_PARAMS_V2 (3600 s)."""


def devnet_constructor(version: MarketVersion) -> dict[str, int]:
    """The constructor arguments `idlegrid devnet` deploys ``version`` with."""
    overrides = {"epochLength": DEVNET_EPOCH_S} if version is MarketVersion.V2 else {}
    return constructor_arguments(version, overrides)


def devnet_dir() -> Path:
    return paths().data_dir / "devnet"


def state_file() -> Path:
    return devnet_dir() / "anvil-state.json"


def deployment_file() -> Path:
    return devnet_dir() / "deployment.json"


def log_file() -> Path:
    return devnet_dir() / "anvil.log"


@dataclass(frozen=True)
class Deployment:
    """Where the devnet's TaskMarket lives; written to ``deployment.json``."""

    chain_id: int
    rpc_url: str
    market_address: str
    deploy_block: int
    deployer: str
    source_sha256: str = "?"
    constructor: dict[str, Any] = field(default_factory=dict)
    blob_url: str | None = None   # the devnet's blob server, while `idlegrid devnet` runs one

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> Deployment | None:
        """The deployment recorded at ``path``; None when there is none."""
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as e:
            raise DevnetError(f"the deployment file {path} is unreadable ({e})",
                              hint="delete it: the next `idlegrid devnet` deploys a fresh market") from None


def deploy_market(
    w3: Web3, deployer: Signer, *, rpc_url: str, artifact: Artifact | None = None,
    constructor: dict[str, Any] | None = None,
) -> Deployment:
    """Deploy TaskMarket v1 from the shipped artifact (:mod:`engine.network.deploy`), as the devnet records it."""
    return _recorded(deploy(w3, deployer, version=MarketVersion.V1, artifact=artifact, constructor=constructor),
                     rpc_url)


def deploy_market_v2(
    w3: Web3, deployer: Signer, *, rpc_url: str, constructor: dict[str, Any] | None = None,
) -> Deployment:
    """Deploy TaskMarketV2 with DEVNET_PARAMS_V2 (``constructor`` overrides some), as the devnet
    records it (the tests' networks; `idlegrid devnet` deploys :func:`devnet_constructor`'s)."""
    return _recorded(deploy(w3, deployer, version=MarketVersion.V2, constructor=constructor), rpc_url)


def _recorded(d: Deployed, rpc_url: str) -> Deployment:
    return Deployment(
        chain_id=d.chain_id, rpc_url=rpc_url, market_address=d.market_address, deploy_block=d.deploy_block,
        deployer=d.deployer, source_sha256=d.source_sha256, constructor=d.constructor,
    )


def ensure_market(w3: Web3, deployer: Signer, *, rpc_url: str, path: Path,
                  version: MarketVersion = MarketVersion.V2) -> tuple[Deployment, bool]:
    """The recorded deployment if its code is on chain and neither the contract (of ``version``)
    nor its devnet parameters changed since, else a fresh one; True when deployed now. Switching
    versions deploys afresh, and so does a devnet saved with other parameters (hour-long epochs)."""
    known = Deployment.load(path)
    artifact = market_contract(version).load()
    constructor = devnet_constructor(version)
    current = (known is not None and known.source_sha256 == artifact.source_sha256
               and known.constructor == constructor)
    if known is not None and current and known.chain_id == w3.eth.chain_id and has_code(w3, known.market_address):
        if known.rpc_url != rpc_url:
            known = Deployment(**{**asdict(known), "rpc_url": rpc_url})
            known.save(path)
        return known, False
    deployment = _recorded(deploy(w3, deployer, version=version, constructor=constructor), rpc_url)
    deployment.save(path)
    return deployment, True


def fund(w3: Web3, addresses: Iterable[str], eth: int = FUND_ETH) -> dict[str, int]:
    """Top each address up to ``eth`` ether (anvil_setBalance); their balances in wei."""
    target = eth * 10**18
    balances: dict[str, int] = {}
    for address in dict.fromkeys(to_checksum_address(a) for a in addresses):
        if w3.eth.get_balance(address) < target:
            rpc(w3, "anvil_setBalance", address, hex(target))
        balances[address] = w3.eth.get_balance(address)
    return balances


def wallet_address() -> str | None:
    """The active wallet's address from the ``[wallet]`` settings, if one is set."""
    address = read_settings().get("wallet", {}).get("address")
    return to_checksum_address(address) if isinstance(address, str) and is_address(address) else None


def parse_addresses(values: Sequence[str]) -> list[str]:
    for value in values:
        if not is_address(value):
            raise DevnetError(f"--fund {value!r} is not an Ethereum address (0x + 40 hex digits)")
    return [to_checksum_address(v) for v in values]


@dataclass
class Devnet:
    """A running devnet: its node, a connection, the deployment and the funded accounts."""

    anvil: Anvil
    w3: Web3
    deployment: Deployment
    deployed_now: bool
    funded: dict[str, int]

    def stop(self) -> int | None:
        return self.anvil.stop()


def start_devnet(
    *, port: int = 8545, host: str = "127.0.0.1", block_time: int | None = None,
    fund_addresses: Sequence[str] = (), reset: bool = False, market: MarketVersion = MarketVersion.V2,
) -> Devnet:
    """Start anvil on the persisted state, deploy TaskMarket (``market``: v1 or v2) if needed, fund the accounts."""
    if reset:
        for path in (state_file(), deployment_file()):
            path.unlink(missing_ok=True)
    anvil = Anvil(AnvilConfig(port=port, host=host, chain_id=DEV_CHAIN_ID, state_file=state_file(),
                              block_time=block_time, log_file=log_file())).start()
    try:
        w3 = connect(anvil.url, expected_chain_id=DEV_CHAIN_ID)
        deployment, deployed_now = ensure_market(w3, Account.from_key(DEV_KEYS[0]), rpc_url=anvil.url,
                                                 path=deployment_file(), version=market)
        wallet = wallet_address()
        funded = fund(w3, [*fund_addresses, *([wallet] if wallet else [])])
    except BaseException:
        anvil.stop()
        raise
    return Devnet(anvil, w3, deployment, deployed_now, funded)


def record_blob_url(url: str | None) -> Deployment:
    """Note in ``deployment.json`` where the devnet's blob server listens (None: it stopped)."""
    deployment = Deployment.load(deployment_file())
    if deployment is None:
        raise DevnetError("the devnet has no deployment yet", hint="start it with `idlegrid devnet`")
    updated = Deployment(**{**asdict(deployment), "blob_url": url})
    updated.save(deployment_file())
    return updated


def network_settings(*, devnet: bool = False) -> NetworkSettings:
    """The ``[network]`` settings; with no market configured (or ``devnet``), the local devnet's
    deployment, its blob server included."""
    network = load_network()
    if devnet or network.market_address is None:
        deployment = Deployment.load(deployment_file())
        if deployment is None:
            if devnet:
                raise DevnetError(f"no local devnet has been started ({deployment_file()} is missing)",
                                  hint="start one with `idlegrid devnet` in another terminal")
            return network
        return network.model_copy(update={
            "rpc_url": deployment.rpc_url, "market_address": deployment.market_address,
            "chain_id": deployment.chain_id, "confirmations": 0,
            "blob_url": deployment.blob_url or network.blob_url,
        })
    return network
