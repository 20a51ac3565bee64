"""Deploying TaskMarket from the shipped artifact, and describing the result as a profile.

The same code deploys the local devnet's market and a public network's: only the node, the
signer, the version and the parameters differ. :func:`market_contract` is where a
:class:`~engine.chain.version.MarketVersion` becomes an artifact and its constructor's
arguments, for both (``idlegrid devnet --market`` and ``idlegrid network deploy --market``), so the
cost shown, the contract deployed and the parameters recorded are always the same version's.
The runtime code's keccak is recorded as the profile's ``code_hash``, so a machine that opens
the market later knows it talks to the same contract.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_typing import HexStr
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3

from engine.chain.artifact import Artifact, load_artifact
from engine.chain.market import constructor_args
from engine.chain.market_v2 import constructor_args_v2, load_artifact_v2
from engine.chain.rpc import translated
from engine.chain.sender import Sender, SendPolicy, Signer
from engine.chain.version import MarketVersion
from engine.errors import UsageError

DEPLOY_GAS_CAP = 15_000_000
# (artifact, overrides) -> the constructor's arguments by name, in order: one per contract version
ConstructorArgs = Callable[[Artifact, dict[str, int]], dict[str, int]]


@dataclass(frozen=True)
class MarketContract:
    """What deploying one shipped TaskMarket version takes: its artifact, and how its
    constructor's arguments are made (the devnet's values, with overrides)."""

    version: MarketVersion
    load: Callable[[], Artifact]
    arguments: ConstructorArgs

    @property
    def title(self) -> str:
        return f"TaskMarket {self.version.value}"


_CONTRACTS = {
    MarketVersion.V1: MarketContract(MarketVersion.V1, load_artifact, constructor_args),
    MarketVersion.V2: MarketContract(MarketVersion.V2, load_artifact_v2, constructor_args_v2),
}


def market_contract(version: MarketVersion) -> MarketContract:
    """The shipped contract of ``version``."""
    return _CONTRACTS[version]


def parameter_names(artifact: Artifact) -> tuple[str, ...]:
    """The constructor's parameters in ``artifact`` (names as in the contract, less the "_")."""
    ctor: dict[str, Any] = next((e for e in artifact.abi if e.get("type") == "constructor"), {"inputs": []})
    return tuple(arg["name"].lstrip("_") for arg in ctor["inputs"])


def check_parameters(version: MarketVersion, overrides: Mapping[str, int], artifact: Artifact | None = None) -> None:
    """Refuse, in one message, every override that ``version``'s constructor does not take: the
    constructor would otherwise ignore it and deploy something other than what was asked."""
    takes = parameter_names(artifact or market_contract(version).load())
    unknown = [name for name in overrides if name not in takes]
    if not unknown:
        return
    others = [(v, parameter_names(market_contract(v).load())) for v in MarketVersion if v is not version]
    elsewhere = {name: [v.value for v, names in others if name in names] for name in unknown}
    named = ", ".join(f"{name} (only {' and '.join(vs)} has it)" if vs else name for name, vs in elsewhere.items())
    plural = len(unknown) > 1
    other = elsewhere[unknown[0]][0] if all(elsewhere.values()) else None
    fix = f"deploy {other} (--market {other})" if other else "check the spelling"
    raise UsageError(f"TaskMarket {version.value} takes no constructor parameter{'s' if plural else ''} {named}",
                     hint=f"drop {'them' if plural else 'it'} or {fix}; its parameters are {', '.join(takes)}")


@dataclass(frozen=True)
class Deployed:
    """A market just deployed: where, from which artifact, with which parameters."""

    chain_id: int
    market_address: str
    deploy_block: int
    deployer: str
    source_sha256: str
    constructor: dict[str, int]
    code_hash: str
    version: MarketVersion


def code_hash(w3: Web3, address: str) -> str:
    """keccak of the runtime code at ``address`` (0x-hex); the empty code's hash where none."""
    with translated("eth_getCode"):
        return "0x" + keccak(bytes(w3.eth.get_code(to_checksum_address(address)))).hex()


def constructor_arguments(version: MarketVersion, overrides: Mapping[str, int] | None = None,
                          artifact: Artifact | None = None) -> dict[str, int]:
    """``version``'s constructor arguments by name, in order: the devnet's values with
    ``overrides``, each of which that version must take (:func:`check_parameters`)."""
    contract = market_contract(version)
    artifact = artifact or contract.load()
    check_parameters(version, overrides or {}, artifact)
    return contract.arguments(artifact, dict(overrides or {}))


def _init_code(w3: Web3, version: MarketVersion, artifact: Artifact | None,
               constructor: Mapping[str, int] | None) -> tuple[Artifact, dict[str, int], HexStr]:
    """(artifact, the constructor's arguments, the deploying transaction's data) for ``version``."""
    artifact = artifact or market_contract(version).load()
    args = constructor_arguments(version, constructor, artifact)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    return artifact, args, factory.constructor(*args.values()).data_in_transaction


def deploy_market(
    w3: Web3, deployer: Signer, *, version: MarketVersion = MarketVersion.V2, artifact: Artifact | None = None,
    constructor: Mapping[str, int] | None = None, policy: SendPolicy | None = None,
) -> Deployed:
    """Deploy TaskMarket ``version`` (v2 unless told), signed by ``deployer``; ``constructor``
    overrides the devnet's parameters of that version, ``artifact`` the shipped artifact (tests)."""
    artifact, args, data = _init_code(w3, version, artifact, constructor)
    sender = Sender(w3, deployer, policy or SendPolicy(gas_cap=DEPLOY_GAS_CAP))
    receipt = sender.send({"data": data}, function="constructor")
    address = to_checksum_address(str(receipt["contractAddress"]))
    return Deployed(chain_id=sender.chain_id, market_address=address, deploy_block=receipt["blockNumber"],
                    deployer=sender.address, source_sha256=artifact.source_sha256, constructor=args,
                    code_hash=code_hash(w3, address), version=version)


def deploy_cost(w3: Web3, deployer: Signer, *, version: MarketVersion = MarketVersion.V2,
                artifact: Artifact | None = None, constructor: Mapping[str, int] | None = None) -> tuple[int, int]:
    """(gas, wei at today's fees) deploying ``version`` with ``constructor`` would cost: what the
    confirmation shows, for the very transaction :func:`deploy_market` then sends."""
    _, _, data = _init_code(w3, version, artifact, constructor)
    with translated("constructor"):
        gas = int(w3.eth.estimate_gas({"from": to_checksum_address(deployer.address), "data": data}))
        price = int(w3.eth.gas_price)
    return gas, gas * price
