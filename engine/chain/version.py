"""Which TaskMarket a deployed address runs, read from its code on chain.

The clients pick the v1 or v2 bindings by what is deployed, not by anything a user types or a
worker can claim: the code at the market address is compared, byte for byte, with the runtime
section of each shipped artifact. Vyper appends the constructor's immutables to the runtime code
at deploy time, so the deployed code is the artifact's runtime section (its length is in the
CBOR metadata at the end of the init code) followed by ``immutablesLength`` bytes of parameters;
a whole-code hash would differ per deployment, the runtime section does not. Old deployment
files and profiles keep working: nothing new is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cache

from eth_utils.address import to_checksum_address
from web3 import Web3

from engine.chain.artifact import Artifact, load_artifact
from engine.chain.errors import ArtifactError
from engine.chain.rpc import translated


class MarketVersion(Enum):
    """The TaskMarket contracts idlegrid ships (``idlegrid devnet --market v1|v2``)."""

    V1 = "v1"
    V2 = "v2"


@dataclass(frozen=True)
class RuntimeLayout:
    """What a deployment of an artifact puts on chain: ``runtime`` then ``immutables`` bytes."""

    runtime: bytes
    immutables: int

    def matches(self, code: bytes) -> bool:
        return len(code) == len(self.runtime) + self.immutables and code.startswith(self.runtime)


def _uint(data: bytes, at: int) -> tuple[int, int]:
    """A CBOR unsigned integer (major type 0) at ``at``: (value, the offset after it)."""
    head = data[at]
    if head >> 5 != 0:
        raise ValueError(f"byte {at}: not a CBOR unsigned integer")
    info = head & 0x1F
    if info < 24:
        return info, at + 1
    size = {24: 1, 25: 2, 26: 4, 27: 8}.get(info)
    if size is None:
        raise ValueError(f"byte {at}: an unsupported CBOR integer size")
    return int.from_bytes(data[at + 1:at + 1 + size], "big"), at + 1 + size


def _metadata(init: bytes) -> tuple[int, int, int]:
    """(metadata length, runtime size, immutables length) from vyper 0.4's metadata: the init code
    ends with a CBOR array [integrity hash, runtime size, [data section sizes], immutables length,
    {"vyper": version}] and two bytes giving the length of both."""
    length = int.from_bytes(init[-2:], "big")
    meta = init[-length:-2]
    if len(meta) != length - 2 or meta[0] != 0x85 or meta[1] != 0x58:
        raise ValueError("no vyper 0.4 metadata at the end of the init code")
    at = 3 + meta[2]                      # past the array head and the integrity hash (bytes)
    runtime_size, at = _uint(meta, at)
    if meta[at] >> 5 != 4:
        raise ValueError("the data section sizes are not a CBOR array")
    sections, at = meta[at] & 0x1F, at + 1
    for _ in range(sections):
        _, at = _uint(meta, at)
    immutables, _ = _uint(meta, at)
    return length, runtime_size, immutables


def runtime_layout(artifact: Artifact) -> RuntimeLayout:
    """The runtime code in ``artifact``'s init code (the bytes just before the metadata) and how
    many immutable bytes a deployment appends to it."""
    init = bytes.fromhex(artifact.bytecode.removeprefix("0x"))
    try:
        length, runtime_size, immutables = _metadata(init)
    except (ValueError, IndexError) as e:
        raise ArtifactError(f"the contract artifact's metadata is unreadable ({e})",
                            hint="recompile the contract with the vyper the project pins") from None
    runtime = init[len(init) - length - runtime_size:len(init) - length]
    if len(runtime) != runtime_size:
        raise ArtifactError("the contract artifact's init code is shorter than its metadata says",
                            hint="recompile the contract with the vyper the project pins")
    return RuntimeLayout(runtime, immutables)


@cache
def shipped_layouts() -> tuple[tuple[MarketVersion, RuntimeLayout], ...]:
    """Each shipped market's runtime layout, v2 first."""
    from engine.chain.market_v2 import load_artifact_v2  # market_v2 imports the v1 module, which imports this

    return ((MarketVersion.V2, runtime_layout(load_artifact_v2())), (MarketVersion.V1, runtime_layout(load_artifact())))


def market_version(w3: Web3, address: str) -> MarketVersion | None:
    """The shipped TaskMarket whose code runs at ``address``; None for any other code."""
    with translated("eth_getCode"):
        code = bytes(w3.eth.get_code(to_checksum_address(address)))
    return next((version for version, layout in shipped_layouts() if layout.matches(code)), None)
