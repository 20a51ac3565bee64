"""The blob server: a LocalStore served over HTTP (``idlegrid blobs serve``; the devnet starts one too).

The API (documented in docs/cli.md) is five routes: ``GET``/``HEAD``/``PUT /blobs/<sha256>``,
``POST /blobs/`` and ``GET /health``. The server trusts no client: a path must be exactly 64
lowercase hex digits, a PUT must hash to its address (400 otherwise), a POST is stored under the
address it hashes to (the client compares it with its own hash), every upload must fit
``max_size`` (413), and every upload is spooled to a temp file and renamed, so concurrent uploads
of one blob are safe and a reader never sees half a blob. ``POST`` lets a client stream a file
up while it hashes it, instead of hashing it first so the URL can name it. Bodies are streamed
both ways (``sendfile`` out, 1 MiB chunks in). Each request is one line on the
``engine.storage.server`` logger, never on stderr.

Every refusal, including those ``http.server`` makes itself (a garbage request line, an
unknown HTTP version, an unsupported method, oversized headers), is one line of plain text
with a status line a client can read; never the library's HTML error page. A request with
two different ``Content-Length`` headers, or a ``Transfer-Encoding``, is refused: two readers
could see two different bodies (request smuggling).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

from engine.storage.address import CHUNK, is_sha256
from engine.storage.errors import BlobFileError, StorageError, StorageRootError
from engine.storage.local import LocalStore
from engine.storage.spool import FileSpool, remove_stale_partials

DEFAULT_PORT = 8547
DEFAULT_MAX_SIZE = 512 << 20
MAX_SIZE_HEADER = "X-Max-Size"  # on every blob response: lets a client refuse a too-large upload before sending it
SERVICE = "idlegrid-blobs"
BLOBS_PREFIX = "/blobs/"
UPLOADS_HEADER = "X-Upload-Methods"  # on /health: "POST, PUT"; a server without it takes PUT only (before POST)
DRAIN_LIMIT = 1 << 20  # a refused upload up to this size is read and dropped, so its client sees the 413
IDLE_TIMEOUT_S = 60.0  # a silent or stalled client frees its thread after this long
METHODS = "GET, HEAD, PUT, POST"
MAX_LENGTH_DIGITS = 19  # a Content-Length below 10**19 bytes; longer digit strings are refused unparsed

log = logging.getLogger(__name__)


class BlobServer:
    """Serve the blobs under ``root`` on ``host:port`` (port 0: any free port) from a background thread."""

    def __init__(self, root: Path | str, *, host: str = "127.0.0.1", port: int = 0,
                 max_size: int = DEFAULT_MAX_SIZE) -> None:
        if not 0 <= port < 65536:
            raise StorageError(f"port {port} is not a TCP port (0-65535)")
        if max_size <= 0:
            raise StorageError(f"max_size {max_size} must be a positive number of bytes")
        self.store = LocalStore(root)
        _check_writable(self.store.root)
        self.host = host
        self.max_size = max_size
        self._port = port
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def root(self) -> Path:
        return self.store.root

    @property
    def port(self) -> int:
        return self._httpd.server_address[1] if self._httpd else self._port

    @property
    def url(self) -> str:
        """Base URL for clients (``HttpStore(server.url)``); the real port once started."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> BlobServer:
        if self._httpd is not None:
            return self
        remove_stale_partials(self.store.root)
        self._httpd = _listen(self.host, self._port, self.store, self.max_size)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="idlegrid-blob-server", daemon=True)
        self._thread.start()
        log.info("serving %s at %s (max blob size %d bytes)", self.store.root, self.url, self.max_size)
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._port = self.port
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd = self._thread = None
        log.info("stopped serving %s", self.store.root)

    def __enter__(self) -> BlobServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True  # an open keep-alive connection never blocks shutdown

    def __init__(self, address: tuple[str, int], store: LocalStore, max_size: int) -> None:
        self.store = store
        self.max_size = max_size
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        """A request that died (the client vanished mid-answer): a log line, not a traceback on stderr."""
        log.warning("request from %s failed: %r", client_address[0], sys.exc_info()[1])


def _listen(host: str, port: int, store: LocalStore, max_size: int) -> _HttpServer:
    try:
        return _HttpServer((host, port), store, max_size)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise StorageError(f"port {port} on {host} is already in use",
                               hint=f"stop what listens there, or pick another port (`--port {port + 1}`)") from None
        raise StorageError(f"cannot listen on {host}:{port}: {e.strerror or e}",
                           hint="check --host (an address of this machine) and --port") from None


def _check_writable(root: Path) -> None:
    if not os.access(root, os.W_OK | os.X_OK):
        raise StorageRootError(f"blob store folder {root} is not writable",
                               hint="pick another folder with --root, or fix its permissions")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY: an answer goes out as two writes (headers, then body); with Nagle's algorithm
    # the body waited for the client's delayed ACK of the headers, 40 ms on every request
    # (a 300-byte PUT took 43 ms; bench.protocol's uploads after training, 0.17 s)
    disable_nagle_algorithm = True
    server_version = SERVICE + "/1"
    timeout = IDLE_TIMEOUT_S
    server: _HttpServer

    def version_string(self) -> str:
        return self.server_version  # the Server header names no Python version

    # -- one log line per request ------------------------------------------------------------

    def handle_one_request(self) -> None:
        self._reset_counters()
        started = time.monotonic()
        super().handle_one_request()
        if self._status is not None:  # set by log_request() while the request was handled
            path = getattr(self, "path", "")[:200]  # unset when the request line was garbage
            log.info('%s "%s %s" %d %d bytes %.1f ms', self.client_address[0], self.command or "-",
                     path, self._status, self._bytes, (time.monotonic() - started) * 1000)

    def _reset_counters(self) -> None:
        """The per-request counters log_request() and the routes fill in. A method of its own: set
        inline, a type checker would take them as still None after the request was handled."""
        self._status: int | None = None
        self._bytes = 0

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self._status = int(code) if isinstance(code, int) else None

    def log_message(self, format: str, *args: object) -> None:
        # http.server's format string takes the args: prefixing it keeps the formatting lazy
        log.debug("%s " + format, self.client_address[0], *args)  # noqa: G003

    # -- routes ------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._send_blob()

    def do_HEAD(self) -> None:
        self._send_blob()

    def do_PUT(self) -> None:
        keep_open = not self.close_connection
        self.close_connection = True  # a refused upload's body is never read: it must not be taken for a request
        sha = self._blob_address()
        if sha is None:
            return
        self.close_connection = not keep_open
        self._receive_upload(sha)

    def do_POST(self) -> None:
        """An upload the server names: stored under the sha256 of what arrived."""
        path = urlsplit(self.path).path
        if path != BLOBS_PREFIX:
            self.close_connection = True  # its body is never read: it must not be taken for a request
            self._reply(HTTPStatus.NOT_FOUND,
                        f"no route {path[:100]!r} for POST: upload to {BLOBS_PREFIX} or PUT {BLOBS_PREFIX}<sha256>\n")
            return
        self._receive_upload(None)

    def _receive_upload(self, sha: str | None) -> None:
        """The body of a PUT (``sha``: the address it must have) or a POST (None: named by what
        arrived), once its length is known and within the limit."""
        length = self._content_length()
        if length is None:
            return
        if length > self.server.max_size:
            self._refuse_too_large(length)
            return
        self._receive(sha, length)

    def _not_allowed(self) -> None:
        self.close_connection = True
        self._reply(HTTPStatus.METHOD_NOT_ALLOWED, f"method {self.command[:20]!r} is not supported: use {METHODS}\n",
                    headers={"Allow": METHODS})

    do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _not_allowed

    def parse_request(self) -> bool:
        """http.server's parser, less HTTP/0.9 (``GET /path`` with no version), which it would
        answer without a status line: a client could not tell an answer from a blob."""
        if not super().parse_request():
            return False
        if self.request_version == "HTTP/0.9":
            self.send_error(HTTPStatus.BAD_REQUEST, "HTTP/0.9 is not supported: send HTTP/1.1")
            return False
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (bad request line, HTTP version, method, headers) as one
        line of plain text, like every other answer; the status line is sent even when the
        request line was too broken to name a version."""
        if getattr(self, "request_version", None) not in ("HTTP/1.0", "HTTP/1.1"):
            self.request_version = "HTTP/1.0"
        self.close_connection = True
        text = (message or HTTPStatus(code).phrase)[:200].encode("ascii", "backslashreplace").decode()
        text = text.replace("\r", " ").replace("\n", " ")
        self._reply(HTTPStatus(code), text + "\n")

    def handle_expect_100(self) -> bool:
        """``Expect: 100-continue`` (curl does this for large uploads): refuse a too-large body before it is sent."""
        length = _parse_length(self.headers.get("Content-Length", ""))
        if self.command in ("PUT", "POST") and length is not None and length > self.server.max_size:
            self.close_connection = True
            self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, _too_large_text(length, self.server.max_size))
            return False
        return super().handle_expect_100()

    # -- GET / HEAD --------------------------------------------------------------------------

    def _send_blob(self) -> None:
        if urlsplit(self.path).path == "/health":
            body = {"service": SERVICE, "status": "ok", "max_size": self.server.max_size}
            self._reply(HTTPStatus.OK, json.dumps(body) + "\n", content_type="application/json",
                        headers={UPLOADS_HEADER: "POST, PUT"})
            return
        sha = self._blob_address()
        if sha is None:
            return
        try:
            # closed by the `with f` below; opened apart so that only a missing blob is a 404
            f = open(self.server.store.path(sha), "rb")  # noqa: SIM115
        except FileNotFoundError:
            self._reply(HTTPStatus.NOT_FOUND, f"blob {sha} not found\n")
            return
        with f:
            size = os.fstat(f.fileno()).st_size
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.send_header("ETag", f'"{sha}"')
            self.send_header("Cache-Control", "public, max-age=31536000, immutable")
            self.send_header(MAX_SIZE_HEADER, str(self.server.max_size))
            self.end_headers()
            if self.command == "GET":
                try:
                    self._bytes = self.connection.sendfile(f)
                except OSError as e:
                    self.close_connection = True
                    log.warning("sending blob %s to %s stopped: %s", sha, self.client_address[0], e)

    # -- PUT and POST ------------------------------------------------------------------------

    def _receive(self, sha: str | None, length: int) -> None:
        """Spool, hash and keep the body: under ``sha`` if it hashes to it (PUT), under its own
        hash if ``sha`` is None (POST). An existing copy is replaced: it may be damaged."""
        store = self.server.store
        try:
            with FileSpool(store.root, where=f"{self.command} {self.path[:100]}") as spool:
                if not self._read_body(spool, length):
                    return
                got = spool.sha256
                existed = store.has(got)
                if sha is None or got == sha:
                    spool.commit(store.path(got))
        except BlobFileError as e:
            log.error("cannot store blob %s: %s", sha or "(POST)", e.message)
            self.close_connection = True
            self._reply(HTTPStatus.INSUFFICIENT_STORAGE, f"the server cannot store the blob: {e.message}\n")
            return
        if sha is not None and got != sha:  # answered only once the temp file is gone
            self._reply(HTTPStatus.BAD_REQUEST, f"the body hashes to {got}, not {sha}\n")
        else:
            status = HTTPStatus.OK if existed else HTTPStatus.CREATED
            self._reply(status, f"{got}\n", headers={"Location": BLOBS_PREFIX + got})

    def _read_body(self, spool: FileSpool, length: int) -> bool:
        remaining = length
        buffer = memoryview(bytearray(min(CHUNK, length)))  # one buffer for the whole body: no copy per chunk
        try:
            while remaining:
                n = self.rfile.readinto(buffer[:min(CHUNK, remaining)])
                if not n:
                    break
                spool.write(buffer[:n])
                remaining -= n
        except OSError as e:
            log.warning("upload from %s failed: %s", self.client_address[0], e)
        self._bytes = length - remaining
        if remaining:
            self.close_connection = True
            log.warning('%s "%s %s" upload stopped after %d of %d bytes', self.client_address[0],
                        self.command, self.path, length - remaining, length)
            return False
        return True

    def _refuse_too_large(self, length: int) -> None:
        self.close_connection = True
        if length <= DRAIN_LIMIT:
            # read it so the client reads our answer instead of a reset connection; an OSError means
            # the client gave up first, and nobody is left to answer
            with contextlib.suppress(OSError):
                self.rfile.read(length)
        self._reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, _too_large_text(length, self.server.max_size))

    def _content_length(self) -> int | None:
        """The upload's length, or None once a refusal was answered (the connection then closes)."""
        values = self.headers.get_all("Content-Length") or []
        keep_open = not self.close_connection
        self.close_connection = True  # kept open below only for a request that is unambiguous
        if not values or self.headers.get("Transfer-Encoding") is not None:  # never both: smuggling
            self._reply(HTTPStatus.LENGTH_REQUIRED,
                        "send Content-Length with the upload (chunked uploads are not supported)\n")
            return None
        if len({v.strip() for v in values}) > 1:
            self._reply(HTTPStatus.BAD_REQUEST, "the request has two different Content-Length headers: send one\n")
            return None
        length = _parse_length(values[0])
        if length is None:
            self._reply(HTTPStatus.BAD_REQUEST, f"Content-Length {values[0][:40]!r} is not a number of bytes\n")
            return None
        self.close_connection = not keep_open
        return length

    # -- helpers -----------------------------------------------------------------------------

    def _blob_address(self) -> str | None:
        """The sha256 the path names, or None once an error was answered."""
        path = urlsplit(self.path).path
        if not path.startswith(BLOBS_PREFIX):
            self._reply(HTTPStatus.NOT_FOUND, f"no route {path[:100]!r}: use /blobs/<sha256> or /health\n")
            return None
        name = path[len(BLOBS_PREFIX):]
        if not is_sha256(name):
            self._reply(HTTPStatus.BAD_REQUEST,
                        f"{name[:100]!r} is not a blob address (64 lowercase hex digits of the sha256)\n")
            return None
        return name

    def _reply(self, status: HTTPStatus, text: str, *, content_type: str = "text/plain; charset=utf-8",
               headers: dict[str, str] | None = None) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header(MAX_SIZE_HEADER, str(self.server.max_size))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
            self._bytes = self._bytes or len(data)


def _parse_length(raw: str) -> int | None:
    """A Content-Length value as an int; None unless it is plain ASCII digits of a sane length
    (``str.isdigit`` alone accepts "²", which ``int`` then refuses)."""
    raw = raw.strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= MAX_LENGTH_DIGITS):
        return None
    return int(raw)


def _too_large_text(length: int, limit: int) -> str:
    return f"a blob of {length:,} bytes is above this server's limit of {limit:,} bytes\n"
