"""JSON-RPC over kept-alive ``http.client`` connections: web3's HTTP session, minus ``requests``.

web3 posts every JSON-RPC request through ``requests`` and urllib3, which cost 0.70 ms of CPU
per request against 0.12 ms for the same POST on a kept-alive ``http.client`` connection
(eth_blockNumber to a local anvil). A worker makes 20-odd requests per task on the cores that
train, and a search coordinator's CPU per candidate was mostly this (issue 17, issue 19).

:class:`KeepAliveSession` stands in for web3's ``HTTPSessionManager`` (only ``make_post_request``
is used by the provider). It keeps one connection per thread and endpoint (the worker's loop and
the app's withdraw thread send at once). Its failures are the ones the retrying provider already
handles: ``ConnectionError``/``TimeoutError`` for the transport, ``requests.HTTPError`` with the
status for an HTTP error answer. A request that fails on a connection that had already served
one (the node closed it while idle) is sent once more on a new connection before that counts as
a failure; sending a JSON-RPC request twice is harmless (a signed transaction is the same bytes).

Where an HTTP proxy is configured for the endpoint (``HTTP_PROXY``/``HTTPS_PROXY``, not bypassed
by ``NO_PROXY``), web3's own ``requests`` session is used, since it honours proxies.
"""

from __future__ import annotations

import http.client
import ssl
import threading
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import certifi
import requests
from web3._utils.http_session_manager import HTTPSessionManager

DEFAULT_TIMEOUT_S = 10.0
_HEADERS = {"Content-Type": "application/json", "Accept": "application/json", "User-Agent": "idlegrid"}


def proxied(url: str) -> bool:
    """Whether the environment routes ``url`` through an HTTP proxy."""
    parts = urlsplit(url)
    return bool(urllib.request.getproxies().get(parts.scheme)) and not urllib.request.proxy_bypass(parts.hostname or "")


class KeepAliveSession(HTTPSessionManager):
    """``make_post_request(url, data, timeout=...)`` on a persistent connection per thread and URL
    (web3's ``requests`` session where a proxy is configured)."""

    def __init__(self) -> None:
        super().__init__()
        self._local = threading.local()
        self._tls: ssl.SSLContext | None = None
        self._proxied: dict[str, bool] = {}  # per endpoint: reading the proxy settings costs 47 us a request

    def make_post_request(self, endpoint_uri: str, data: bytes | dict[str, Any], **kwargs: Any) -> bytes:
        timeout = float(kwargs.get("timeout") or DEFAULT_TIMEOUT_S)
        if (through_proxy := self._proxied.get(endpoint_uri)) is None:
            through_proxy = self._proxied[endpoint_uri] = proxied(endpoint_uri)
        if not isinstance(data, bytes) or through_proxy:
            return super().make_post_request(endpoint_uri, data, **kwargs)  # type: ignore[arg-type]
        parts = urlsplit(endpoint_uri)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {**_HEADERS, **dict(kwargs.get("headers") or {}), "Content-Length": str(len(data))}
        for attempt in (1, 2):
            conn, reused = self._connection(endpoint_uri, timeout)
            try:
                conn.request("POST", path, body=data, headers=headers)
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as e:
                self._drop(endpoint_uri)
                if reused and attempt == 1 and not isinstance(e, TimeoutError):
                    continue  # the node closed the idle connection: once more on a new one
                raise _transport_error(e) from None
            if response.will_close:
                self._drop(endpoint_uri)
            if response.status >= 400:
                raise _http_error(endpoint_uri, response.status, body)
            return body
        raise AssertionError("unreachable")  # pragma: no cover (the loop returns or raises)

    def _connection(self, url: str, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection to ``url`` and whether it served a request before."""
        pool: dict[str, http.client.HTTPConnection] = self._local.__dict__.setdefault("pool", {})
        conn = pool.get(url)
        if conn is not None:
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
            return conn, True
        parts = urlsplit(url)
        host = parts.hostname or "localhost"
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(host, parts.port, timeout=timeout, context=self._context())
        else:
            conn = http.client.HTTPConnection(host, parts.port, timeout=timeout)
        pool[url] = conn
        return conn, False

    def _drop(self, url: str) -> None:
        conn = self._local.__dict__.get("pool", {}).pop(url, None)
        if conn is not None:
            conn.close()

    def _context(self) -> ssl.SSLContext:
        if self._tls is None:  # the CA bundle requests would use, so no endpoint that worked stops working
            self._tls = ssl.create_default_context(cafile=certifi.where())
        return self._tls


def _transport_error(e: BaseException) -> OSError:
    """The transport failure as the builtin error the retrying provider treats as transient."""
    if isinstance(e, TimeoutError):
        return e
    if isinstance(e, ConnectionError):
        return e
    return ConnectionError(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__)


def _http_error(url: str, status: int, body: bytes) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.url = url
    return requests.HTTPError(f"HTTP {status} from {url}", response=response)
