"""The connection to an Ethereum node: retry with back-off, and web3 errors turned into ours.

``connect(url)`` gives a ``Web3`` whose every request is retried on connection failures
(exponential back-off) and then fails with :class:`RpcUnreachable`; ``translated(function)``
turns the errors web3 raises while a call runs into :class:`ContractRevert` / :class:`RpcError`,
so no caller ever sees a raw web3 traceback.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from eth_abi import decode as abi_decode
from web3 import HTTPProvider, Web3
from web3.exceptions import ContractLogicError, Web3Exception, Web3RPCError

from engine.chain.errors import ChainError, ContractRevert, RpcError, RpcUnreachable, WrongChain

ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before declaring the node unreachable: delays grow by ``factor``."""

    attempts: int = 5
    first_delay: float = 0.25
    max_delay: float = 4.0
    factor: float = 2.0
    request_timeout: float = 10.0

    def delays(self) -> Iterator[float]:
        delay = self.first_delay
        for _ in range(self.attempts - 1):
            yield delay
            delay = min(delay * self.factor, self.max_delay)


_TRANSIENT = (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError)


class RetryingHTTPProvider(HTTPProvider):
    """An HTTP provider that retries every request on transient failures, then raises ours."""

    def __init__(self, url: str, policy: RetryPolicy) -> None:
        super().__init__(
            url,
            request_kwargs={"timeout": policy.request_timeout},
            exception_retry_configuration=None,
        )
        self.policy = policy

    def make_request(self, method: Any, params: Any) -> Any:
        delays = self.policy.delays()
        while True:
            try:
                return super().make_request(method, params)
            except _TRANSIENT as e:
                cause = _short(e)
            except requests.HTTPError as e:
                if e.response is not None and e.response.status_code < 500:
                    raise RpcError(str(method), f"HTTP {e.response.status_code}") from None
                cause = _short(e)
            except ValueError as e:
                raise RpcError(str(method), f"the answer is not JSON-RPC ({e})") from None
            delay = next(delays, None)
            if delay is None:
                raise RpcUnreachable(str(self.endpoint_uri), self.policy.attempts, cause)
            time.sleep(delay)


def _short(e: BaseException) -> str:
    text = str(e)
    if "Connection refused" in text:
        return "connection refused"
    if isinstance(e, (requests.Timeout, TimeoutError)):
        return "timed out"
    return text.splitlines()[0][:200] if text else type(e).__name__


def connect(url: str, *, expected_chain_id: int | None = None, policy: RetryPolicy | None = None) -> Web3:
    """A ``Web3`` on ``url``; checks the node answers (and serves ``expected_chain_id``)."""
    w3 = Web3(RetryingHTTPProvider(url, policy or RetryPolicy()))
    with translated("eth_chainId"):
        chain_id = w3.eth.chain_id
    if expected_chain_id is not None and chain_id != expected_chain_id:
        raise WrongChain(url, expected_chain_id, chain_id)
    return w3


def revert_reason(data: Any) -> str:
    """The human reason inside revert data (``Error(string)``, ``Panic(uint256)`` or raw)."""
    if isinstance(data, dict):
        data = data.get("data")
    if not isinstance(data, (str, bytes)) or not data:
        return "execution reverted (no reason given)"
    raw = bytes.fromhex(data[2:] if data.startswith("0x") else data) if isinstance(data, str) else data
    selector, body = raw[:4], raw[4:]
    try:
        if selector == ERROR_SELECTOR:
            return abi_decode(["string"], body)[0]
        if selector == PANIC_SELECTOR:
            return f"panic 0x{abi_decode(['uint256'], body)[0]:02x}"
    except Exception:  # malformed revert data: show it raw below
        pass
    return f"execution reverted (data 0x{raw.hex()})"


@contextmanager
def translated(function: str) -> Iterator[None]:
    """Run web3 calls for ``function``; their errors leave as the project's own types."""
    try:
        yield
    except ChainError:
        raise
    except ContractLogicError as e:
        data = e.data if e.data not in (None, "no data") else None
        reason = revert_reason(data) if data else (e.message or "execution reverted")
        raise ContractRevert(reason.removeprefix("execution reverted: "), function) from None
    except Web3RPCError as e:
        raise RpcError(function, rpc_message(e)) from None
    except Web3Exception as e:
        raise RpcError(function, str(e)) from None


def rpc_message(e: Web3RPCError) -> str:
    response = e.rpc_response or {}
    error = response.get("error") if isinstance(response, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    return e.message
