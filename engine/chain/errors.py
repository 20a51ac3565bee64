"""The errors of the chain client: every web3 / RPC failure leaves ``engine.chain`` as one of these."""

from __future__ import annotations

from engine.errors import IdlegridError


class ChainError(IdlegridError):
    """Something went wrong talking to the chain or the contract."""


class RpcUnreachable(ChainError):
    """The node did not answer, even after retrying with back-off."""

    def __init__(self, url: str, attempts: int, cause: str) -> None:
        self.url = url
        self.attempts = attempts
        self.cause = cause
        super().__init__(
            f"the Ethereum node at {url} is unreachable after {attempts} attempts ({cause})",
            hint="check network.rpc_url in the settings, or start a local node with `idlegrid devnet`",
        )


class RpcError(ChainError):
    """The node answered a request with an error that is not a contract revert."""

    def __init__(self, method: str, message: str) -> None:
        self.method = method
        super().__init__(f"the node refused {method}: {message}")


class WrongChain(ChainError):
    """The node serves another chain than the one configured."""

    def __init__(self, url: str, expected: int, actual: int) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"the node at {url} serves chain id {actual}, not the configured {expected}",
            hint="fix network.chain_id or network.rpc_url in the settings",
        )


class ContractRevert(ChainError):
    """A contract call reverted; ``reason`` is the contract's own revert string."""

    def __init__(self, reason: str, function: str) -> None:
        self.reason = reason
        self.function = function
        super().__init__(f"TaskMarket.{function} reverted: {reason}")


class GasCapExceeded(ChainError):
    """A transaction would need more gas than this client is willing to pay for."""

    def __init__(self, function: str, estimate: int, cap: int) -> None:
        self.function = function
        self.estimate = estimate
        self.cap = cap
        super().__init__(f"{function} needs {estimate} gas, above the cap of {cap}")


class TransactionTimeout(ChainError):
    """No receipt arrived for a transaction, even after rebroadcasting it with higher fees."""

    def __init__(self, function: str, tx_hashes: list[str], nonce: int) -> None:
        self.function = function
        self.tx_hashes = tx_hashes
        self.nonce = nonce
        super().__init__(
            f"{function} (nonce {nonce}) was not mined; sent as {', '.join(tx_hashes)}",
            hint="the node may be congested or stalled; the transaction can still be mined later",
        )


class NonceConsumed(ChainError):
    """The nonce of a prepared transaction was used by another transaction of the same account."""

    def __init__(self, function: str, nonce: int) -> None:
        self.function = function
        self.nonce = nonce
        super().__init__(f"{function}: nonce {nonce} was used by another transaction of this account")


class ArtifactError(ChainError):
    """The compiled TaskMarket artifact is missing or unusable."""


class NotDeployed(ChainError):
    """No contract code lives at the configured market address."""

    def __init__(self, address: str, url: str) -> None:
        self.address = address
        super().__init__(
            f"no TaskMarket contract at {address} on {url}",
            hint="fix network.market_address, or restart `idlegrid devnet` to deploy one",
        )


class DevnetError(ChainError):
    """The local devnet (anvil) cannot start or run."""


class GasTooHigh(ChainError):
    """The network's base fee is above the fee ceiling the user set: wait, never overpay."""

    def __init__(self, function: str, base_fee: int, ceiling: int) -> None:
        self.function = function
        self.base_fee = base_fee
        self.ceiling = ceiling
        super().__init__(
            f"waiting: gas too high for {function} (base fee {base_fee / 1e9:.3g} gwei, "
            f"over your ceiling of {ceiling / 1e9:.3g} gwei)",
            hint="wait for fees to fall, or raise max_fee_per_gas in the network profile",
        )
