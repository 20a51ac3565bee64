"""Deploying TaskMarket from the shipped artifact, and describing the result as a profile.

The same code deploys the local devnet's market and a public network's: only the node, the
signer and the parameters differ. The runtime code's keccak is recorded as the profile's
``code_hash``, so a machine that opens the market later knows it talks to the same contract.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from web3 import Web3

from engine.chain.artifact import Artifact, load_artifact
from engine.chain.market import constructor_args
from engine.chain.rpc import translated
from engine.chain.sender import Sender, SendPolicy, Signer

DEPLOY_GAS_CAP = 15_000_000
# (artifact, overrides) -> the constructor's arguments by name, in order: one per contract version
ConstructorArgs = Callable[[Artifact, dict[str, int]], dict[str, int]]


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


def code_hash(w3: Web3, address: str) -> str:
    """keccak of the runtime code at ``address`` (0x-hex); the empty code's hash where none."""
    with translated("eth_getCode"):
        return "0x" + keccak(bytes(w3.eth.get_code(to_checksum_address(address)))).hex()


def deploy_market(
    w3: Web3, deployer: Signer, *, artifact: Artifact | None = None,
    constructor: dict[str, Any] | None = None, policy: SendPolicy | None = None,
    arguments: ConstructorArgs = constructor_args,
) -> Deployed:
    """Deploy TaskMarket, signed by ``deployer``; ``constructor`` overrides the devnet's parameters
    (``arguments`` names them: v1's by default, ``constructor_args_v2`` with v2's artifact)."""
    artifact = artifact or load_artifact()
    args = arguments(artifact, constructor or {})
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    data = factory.constructor(*args.values()).data_in_transaction
    sender = Sender(w3, deployer, policy or SendPolicy(gas_cap=DEPLOY_GAS_CAP))
    receipt = sender.send({"data": data}, function="constructor")
    address = to_checksum_address(str(receipt["contractAddress"]))
    return Deployed(chain_id=sender.chain_id, market_address=address, deploy_block=receipt["blockNumber"],
                    deployer=sender.address, source_sha256=artifact.source_sha256, constructor=args,
                    code_hash=code_hash(w3, address))


def deploy_cost(w3: Web3, deployer: Signer, *, artifact: Artifact | None = None,
                constructor: dict[str, Any] | None = None) -> tuple[int, int]:
    """(gas, wei at today's fees) the deployment would cost: what the confirmation shows."""
    artifact = artifact or load_artifact()
    args = constructor_args(artifact, constructor or {})
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    data = factory.constructor(*args.values()).data_in_transaction
    with translated("constructor"):
        gas = int(w3.eth.estimate_gas({"from": to_checksum_address(deployer.address), "data": data}))
        price = int(w3.eth.gas_price)
    return gas, gas * price
