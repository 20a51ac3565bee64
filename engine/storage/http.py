"""The HTTP client of a blob server (``HttpStore``): what the worker, verifier and requester use.

It speaks the routes of :mod:`engine.storage.server` (any server that speaks them will do).
Requests reuse keep-alive connections (:mod:`engine.storage.connections`). An upload is one
``POST /blobs/``: the file is read into one reused 1 MiB buffer, and each chunk is hashed and
sent, so hashing overlaps the transfer and the server's own hashing, instead of being a whole
pass over the file before the first byte leaves (the URL of a PUT must name the hash). The
server answers with the address of what it received, which must be the client's own hash. The
price: a blob the server already holds is sent again (a caller that knows the address can ask
:meth:`HttpStore.has` first). Downloads are read into one reused 1 MiB buffer, so no body is held
whole in memory or copied chunk by chunk. The network is not trusted: every download is hashed
as it arrives and only a body with the right hash is kept; a corrupt or truncated body, an
upload stored under another address, a refused or reset connection, a timeout or a 5xx answer is
retried ``retries`` times with exponential back-off, and then reported as :class:`BlobCorrupt`
(the last attempt got wrong bytes) or :class:`StorageUnavailable`. A 404 or a size over a limit
is not retried.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPResponse
from pathlib import Path
from typing import NoReturn, TypeVar
from urllib.parse import urlsplit

from engine.storage.address import CHUNK, check_sha256, is_sha256, sha256_bytes, sha256_file
from engine.storage.connections import Connection, ConnectionPool
from engine.storage.errors import (
    BlobCorrupt,
    BlobFileError,
    BlobNotFound,
    BlobRefused,
    BlobTooLarge,
    StorageError,
    StorageLocationError,
    StorageUnavailable,
)
from engine.storage.server import BLOBS_PREFIX, MAX_SIZE_HEADER, UPLOADS_HEADER
from engine.storage.spool import FileSpool, MemorySpool, prepare_target

MAX_BACKOFF_S = 5.0
ERROR_TEXT_LIMIT = 500  # bytes of an error answer's body quoted in the error
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

log = logging.getLogger(__name__)
T = TypeVar("T")
Spool = FileSpool | MemorySpool


class _Transient(Exception):
    """An answer worth retrying (5xx, a truncated body)."""


class _Corrupt(Exception):
    """A complete body whose hash is wrong: retried, since the cause may be on the way."""

    def __init__(self, got: str) -> None:
        self.got = got
        super().__init__(f"the body hashes to {got}")


class HttpStore:
    """A blob server at ``base_url`` (``http(s)://host:port``, optionally with a path prefix)."""

    def __init__(self, base_url: str, *, timeout: float = 30.0, retries: int = 3, backoff: float = 0.25) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise StorageLocationError(base_url, "is not an http:// or https:// URL")
        try:
            _ = parts.port  # urllib checks the port only when asked for it
        except ValueError:
            raise StorageLocationError(base_url, "has a bad port") from None
        if timeout <= 0 or retries < 0 or backoff < 0:
            raise StorageError(f"HttpStore({base_url!r}): timeout must be > 0, retries and backoff >= 0")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._parts = parts
        self._prefix = parts.path.rstrip("/")
        self._pool = ConnectionPool(self._connection)
        self._limit: int | None = None  # the server's upload limit, from the X-Max-Size of its last answer
        self._post: bool | None = None   # the server takes POST /blobs/ (its /health says so); None: not asked yet

    def __repr__(self) -> str:
        return f"HttpStore({self.base_url!r})"

    def url(self, sha256: str) -> str:
        return self.base_url + BLOBS_PREFIX + check_sha256(sha256)

    # -- the BlobStore operations ------------------------------------------------------------

    def has(self, sha256: str) -> bool:
        return self._head(sha256)

    def put_bytes(self, data: bytes) -> str:
        return self._upload(len(data), _send_bytes(data), lambda: sha256_bytes(data))

    def put_file(self, path: Path) -> str:
        """Stream the file up in one request, hashed chunk by chunk on the way (see the module doc)."""
        path = Path(path)
        try:
            size = path.stat().st_size
        except OSError as e:
            raise BlobFileError(f"cannot read {path}: {e.strerror or e}") from None
        return self._upload(size, _send_file(path, size), lambda: sha256_file(path)[0])

    def get_bytes(self, sha256: str, *, max_size: int | None = None) -> bytes:
        url = self.url(sha256)
        spool = self._download(sha256, lambda: MemorySpool(where=url, max_size=max_size, limit_of="max_size"),
                               max_size)
        assert isinstance(spool, MemorySpool)
        return spool.getvalue()

    def get_file(self, sha256: str, dest: Path, *, max_size: int | None = None) -> Path:
        url = self.url(sha256)
        dest = prepare_target(dest)
        spool = self._download(
            sha256, lambda: FileSpool(dest.parent, where=url, max_size=max_size, limit_of="max_size"), max_size)
        assert isinstance(spool, FileSpool)
        return spool.commit(dest)

    def put_files(self, paths: Sequence[Path], *, parallel: int = 4) -> list[str]:
        """Upload several files at once (``parallel`` connections); their sha256s, in order."""
        if len(paths) <= 1 or parallel <= 1:
            return [self.put_file(path) for path in paths]
        with ThreadPoolExecutor(max_workers=min(parallel, len(paths)), thread_name_prefix="blob-upload") as pool:
            return list(pool.map(self.put_file, paths))

    def close(self) -> None:
        """Close the idle keep-alive connections (the store stays usable: it opens new ones)."""
        self._pool.close()

    def health(self) -> dict[str, object]:
        """The server's ``/health`` answer (raises :class:`StorageUnavailable` if it is down)."""
        def attempt() -> dict[str, object]:
            conn, resp = self._exchange("GET", self._prefix + "/health", {})
            try:
                if resp.status != 200:
                    self._failed(resp, self.base_url + "/health", None)
                answer: dict[str, object] = json.loads(resp.read(ERROR_TEXT_LIMIT * 10))
                return answer
            except ValueError:
                raise _Transient("/health did not answer JSON: is this an idlegrid blob server?") from None
            finally:
                self._pool.give(conn, resp)

        return self._retrying(None, attempt)

    # -- requests ----------------------------------------------------------------------------

    def _head(self, sha256: str) -> bool:
        """Whether the server holds the blob."""
        url = self.url(sha256)

        def attempt() -> bool:
            conn, resp = self._exchange("HEAD", self._path(sha256), {})
            try:
                resp.read()
                if resp.status not in (200, 404):
                    self._failed(resp, url, sha256)
                return resp.status == 200
            finally:
                self._pool.give(conn, resp)

        return self._retrying(sha256, attempt)

    def _upload_limit(self) -> int | None:
        """The server's upload limit, and whether it takes POST: asked once (``HEAD /health``), then
        kept from every answer's X-Max-Size, so an upload over it is refused before its first byte."""
        if self._post is None:
            def attempt() -> bool:  # _exchange keeps the X-Max-Size it answers with
                conn, resp = self._exchange("HEAD", self._prefix + "/health", {})
                try:
                    resp.read()
                    return resp.status == 200 and "POST" in (resp.getheader(UPLOADS_HEADER) or "").upper()
                finally:
                    self._pool.give(conn, resp)

            self._post = self._retrying(None, attempt)  # a server that never says is not asked again
        return self._limit

    def _upload(self, size: int, send_body: Callable[[Connection], str], digest: Callable[[], str]) -> str:
        """POST a body of ``size`` bytes; ``send_body`` sends it and returns its sha256, which must
        be the address the server stored it under. A server older than POST gets the body by PUT
        under ``digest()``, the hash taken first."""
        url = self.base_url + BLOBS_PREFIX
        limit = self._upload_limit()
        if limit is not None and size > limit:
            raise BlobTooLarge(url, size, limit, limit_of="the server's limit")
        headers = {"Content-Length": str(size), "Content-Type": "application/octet-stream"}
        if not self._post:
            return self._put(digest(), size, send_body, headers)

        def attempt() -> str:
            sent: list[str] = []
            conn, resp = self._exchange("POST", self._prefix + BLOBS_PREFIX, headers,
                                        lambda c: sent.append(send_body(c)))
            try:
                if resp.status in (200, 201):
                    stored = resp.read(ERROR_TEXT_LIMIT).decode("ascii", "replace").strip()
                    if not is_sha256(stored):
                        raise BlobRefused(url, resp.status, f"the answer {stored[:80]!r} is not a blob address")
                    if not sent or stored != sent[0]:
                        raise _Transient(f"the server stored the upload as {stored}, not as what was sent "
                                         f"({sent[0] if sent else 'not all of it'}): bytes changed on the way")
                    return stored
                if resp.status == 413:
                    server_limit = _int_header(resp, MAX_SIZE_HEADER) or limit or 0
                    raise BlobTooLarge(url, size, server_limit, limit_of="the server's limit")
                self._failed(resp, url, None)
            finally:
                self._pool.give(conn, resp)

        return self._retrying(None, attempt)

    def _put(self, sha256: str, size: int, send_body: Callable[[Connection], str], headers: dict[str, str]) -> str:
        """The upload as a server older than ``POST /blobs/`` takes it: ``PUT /blobs/<sha256>``."""
        url = self.url(sha256)

        def send(conn: Connection) -> None:
            send_body(conn)

        def attempt() -> str:
            conn, resp = self._exchange("PUT", self._path(sha256), headers, send)
            try:
                if resp.status in (200, 201):
                    resp.read()
                    return sha256
                if resp.status == 413:
                    server_limit = _int_header(resp, MAX_SIZE_HEADER) or 0
                    raise BlobTooLarge(url, size, server_limit, limit_of="the server's limit")
                self._failed(resp, url, sha256)
            finally:
                self._pool.give(conn, resp)

        return self._retrying(sha256, attempt)

    def _download(self, sha256: str, new_spool: Callable[[], Spool], max_size: int | None) -> Spool:
        url = self.url(sha256)

        def attempt() -> Spool:
            conn, resp = self._exchange("GET", self._path(sha256), {})
            try:
                if resp.status != 200:
                    self._failed(resp, url, sha256)
                length = _int_header(resp, "Content-Length")
                if max_size is not None and length is not None and length > max_size:
                    raise BlobTooLarge(url, length, max_size, limit_of="max_size")
                spool = new_spool()
                try:
                    buffer = memoryview(bytearray(CHUNK))  # one buffer for the whole body: no copy per chunk
                    while n := resp.readinto(buffer):
                        spool.write(buffer[:n])
                    if length is not None and spool.size != length:
                        raise _Transient(f"the connection closed after {spool.size:,} of {length:,} bytes")
                    if spool.sha256 != sha256:
                        raise _Corrupt(spool.sha256)
                except BaseException:
                    spool.discard()
                    raise
                return spool
            finally:
                self._pool.give(conn, resp)

        return self._retrying(sha256, attempt)

    def _exchange(self, method: str, path: str, headers: dict[str, str],
                  send_body: Callable[[Connection], None] | None = None) -> tuple[Connection, HTTPResponse]:
        """Send one request on a pooled connection; its answer's headers. A reused connection the
        server had closed is replaced by a fresh one once; the caller hands the pair to ``give``."""
        conn, reused = self._pool.take()
        while True:
            try:
                conn.putrequest(method, path)
                for name, value in headers.items():
                    conn.putheader(name, value)
                conn.endheaders()
                if send_body is not None:
                    try:
                        send_body(conn)
                    except (BrokenPipeError, ConnectionResetError):
                        if reused:
                            raise
                        # a fresh connection: the server may have answered before reading it all (a 413)
                resp = conn.getresponse()
                if (limit := _int_header(resp, MAX_SIZE_HEADER)) is not None:
                    self._limit = limit
                return conn, resp
            except BaseException as e:
                conn.close()
                if not ConnectionPool.is_stale_failure(e, reused):
                    raise
                conn, reused = self._pool.take(fresh=True)

    def _retrying(self, sha256: str | None, attempt: Callable[[], T]) -> T:
        """Run ``attempt`` until it succeeds, retrying transient failures ``retries`` times with back-off."""
        attempts = self.retries + 1
        last: Exception | None = None
        for i in range(attempts):
            if i:
                delay = min(self.backoff * 2 ** (i - 1), MAX_BACKOFF_S)
                log.warning("blob store %s: %s; retry %d of %d in %.2fs",
                            self.base_url, _describe(last, self.timeout), i, self.retries, delay)
                time.sleep(delay)
            try:
                return attempt()
            except (OSError, http.client.HTTPException, _Transient, _Corrupt) as e:
                last = e
        if isinstance(last, _Corrupt) and sha256 is not None:
            raise BlobCorrupt(sha256, self.url(sha256), last.got, attempts)
        raise StorageUnavailable(self.base_url, attempts, _describe(last, self.timeout))

    def _failed(self, resp: HTTPResponse, url: str, sha256: str | None) -> NoReturn:
        """Turn an error answer into the matching exception (always raises)."""
        text = resp.read(ERROR_TEXT_LIMIT).decode("utf-8", "replace").strip() if resp.status >= 400 else ""
        if resp.status == 404 and sha256 is not None:
            raise BlobNotFound(sha256, url)
        if resp.status in RETRY_STATUSES:
            raise _Transient(f"HTTP {resp.status} {resp.reason}" + (f": {text}" if text else ""))
        raise BlobRefused(url, resp.status, text or resp.reason)

    def _path(self, sha256: str) -> str:
        return self._prefix + BLOBS_PREFIX + sha256

    def _connection(self) -> Connection:
        kind = http.client.HTTPSConnection if self._parts.scheme == "https" else http.client.HTTPConnection
        return kind(self._parts.hostname or "", self._parts.port, timeout=self.timeout, blocksize=CHUNK)


def _send_bytes(data: bytes) -> Callable[[Connection], str]:
    def send(conn: Connection) -> str:
        conn.send(data)
        return sha256_bytes(data)
    return send


def _send_file(path: Path, size: int) -> Callable[[Connection], str]:
    """The file's first ``size`` bytes, read into one reused buffer, each chunk hashed then sent:
    the hash is of exactly the bytes that went out. A file that shrank since its size was taken
    is a clear error at once, not an upload that hangs until the server gives up waiting."""
    def send(conn: Connection) -> str:
        assert conn.sock is not None
        digest = hashlib.sha256()
        buffer = memoryview(bytearray(min(CHUNK, size) or 1))
        remaining = size
        with _open_source(path) as f:
            while remaining and (n := f.readinto(buffer[:min(CHUNK, remaining)])):
                digest.update(buffer[:n])
                conn.sock.sendall(buffer[:n])
                remaining -= n
        if remaining:
            raise BlobFileError(f"{path} changed while it was being uploaded (it got shorter)",
                                hint="upload it again once nothing writes to it")
        return digest.hexdigest()
    return send


def _open_source(path: Path) -> io.FileIO:
    try:
        return open(path, "rb", buffering=0)  # reads go straight into the caller's buffer
    except OSError as e:
        raise BlobFileError(f"cannot read {path}: {e.strerror or e}") from None


def _int_header(resp: HTTPResponse, name: str) -> int | None:
    value = resp.getheader(name)
    return int(value) if value is not None and value.strip().isdigit() else None


def _describe(error: Exception | None, timeout: float) -> str:
    """A short cause for the error message: what a user can act on."""
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, TimeoutError):
        return f"no answer within {timeout:g}s"
    if isinstance(error, ConnectionResetError):
        return "connection reset"
    if isinstance(error, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(error, (_Transient, _Corrupt)):
        return str(error)
    return f"{type(error).__name__}: {error}"
