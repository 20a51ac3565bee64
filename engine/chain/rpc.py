"""The connection to an Ethereum node: retry with back-off, and web3 errors turned into ours.

``connect(url)`` gives a ``Web3`` whose every request is retried on connection failures and
rate limits (exponential back-off) and then fails with :class:`RpcUnreachable`; with
``fallbacks`` a failing endpoint hands over to the next one at once (a public network's
providers fail one at a time), and back-off starts only once every endpoint failed; ``translated(function)``
turns the errors web3 raises while a call runs into :class:`ContractRevert` / :class:`RpcError`,
so no caller ever sees a raw web3 traceback.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from eth_abi.abi import decode as abi_decode
from eth_typing import URI
from web3 import HTTPProvider, Web3
from web3.exceptions import ContractLogicError, Web3Exception, Web3RPCError

from engine.chain.errors import (
    ChainError,
    ContractRevert,
    RpcError,
    RpcUnreachable,
    WrongChain,
)
from engine.chain.transport import KeepAliveSession

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


# what providers answer when a client asks too often (HTTP 429 is handled by its status)
_RATE_LIMITED = ("rate limit", "too many requests", "exceeded its compute units", "request limit")


class RetryingHTTPProvider(HTTPProvider):
    """An HTTP provider that retries every request on transient failures and rate limits,
    moving on to the next of its endpoints first, then raises ours."""

    def __init__(self, url: str, policy: RetryPolicy, fallbacks: Sequence[str] = ()) -> None:
        super().__init__(
            url,
            request_kwargs={"timeout": policy.request_timeout},
            exception_retry_configuration=None,
        )
        self.policy = policy
        self.urls = list(dict.fromkeys([url, *fallbacks]))
        self._request_session_manager = KeepAliveSession()

    def make_request(self, method: Any, params: Any) -> Any:
        delays = self.policy.delays()
        failed_here = 0
        while True:
            try:
                response = super().make_request(method, params)
                if not _rate_limited(response):
                    return response
                cause = "rate limited"
            except _TRANSIENT as e:
                cause = _short(e)
            except requests.HTTPError as e:
                status = e.response.status_code if e.response is not None else 500
                if status < 500 and status != 429:
                    raise RpcError(str(method), f"HTTP {status}") from None
                cause = "rate limited (HTTP 429)" if status == 429 else _short(e)
            except ValueError as e:
                raise RpcError(str(method), f"the answer is not JSON-RPC ({e})") from None
            failed_here += 1
            if failed_here < len(self.urls):
                self._next_endpoint()
                continue
            failed_here = 0
            delay = next(delays, None)
            if delay is None:
                raise RpcUnreachable(", ".join(self.urls), self.policy.attempts, cause)
            self._next_endpoint()
            time.sleep(delay)

    def _next_endpoint(self) -> None:
        """Make the endpoint after the current one current (a no-op with one endpoint)."""
        index = self.urls.index(self.endpoint_uri) if self.endpoint_uri in self.urls else -1
        self.endpoint_uri = URI(self.urls[(index + 1) % len(self.urls)])


def _rate_limited(response: Any) -> bool:
    error = response.get("error") if isinstance(response, dict) else None
    message = str(error.get("message", "")).lower() if isinstance(error, dict) else ""
    return any(s in message for s in _RATE_LIMITED)


def _short(e: BaseException) -> str:
    text = str(e)
    if "Connection refused" in text:
        return "connection refused"
    if isinstance(e, (requests.Timeout, TimeoutError)):
        return "timed out"
    return text.splitlines()[0][:200] if text else type(e).__name__


# web3's "validation" asks the node for its chain id (an HTTP round trip) before every eth_call
# and eth_estimateGas, to check a chainId field that idlegrid's calls never carry (transactions are
# signed here with the chain id read once); "ens_name_to_address" looks for ENS names in every
# request's parameters, and idlegrid passes addresses only. Together they were 13 % of a search
# coordinator's CPU (py-spy of bench.search), and a round trip in each of a worker's transactions.
UNNEEDED_MIDDLEWARE = ("validation", "ens_name_to_address")


def connect(url: str, *, expected_chain_id: int | None = None, policy: RetryPolicy | None = None,
            fallbacks: Sequence[str] = ()) -> Web3:
    """A ``Web3`` on ``url`` (then ``fallbacks`` in turn when it fails); checks the node answers
    (and serves ``expected_chain_id``)."""
    w3 = Web3(RetryingHTTPProvider(url, policy or RetryPolicy(), fallbacks))
    for unneeded in UNNEEDED_MIDDLEWARE:
        w3.middleware_onion.remove(unneeded)
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
            return str(abi_decode(["string"], body)[0])
        if selector == PANIC_SELECTOR:
            return f"panic 0x{abi_decode(['uint256'], body)[0]:02x}"
    except Exception:  # noqa: S110 (malformed revert data of any shape: shown raw below)
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
