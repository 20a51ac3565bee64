"""``idlegrid blobs``: run a blob server, upload a file, download a blob.

``serve`` is the server the devnet also starts; ``put`` and ``get`` talk to any store that
speaks the blob HTTP API (or a local folder), by default ``network.blob_url`` from the
settings, else the local server's address.
"""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from engine.config import paths
from engine.errors import UsageError
from engine.storage import DEFAULT_MAX_SIZE, DEFAULT_PORT, DEFAULT_URL, BlobServer, check_sha256, open_store
from engine.storage.errors import StorageLocationError

_SIZE = re.compile(r"(\d+)\s*([kmgt]i?b?|b)?", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "blobs", help="content-addressed blob storage: serve, put, get",
        description="Blobs (task specs, datasets, checkpoints, results) are addressed by the sha256 "
        "of their bytes. `serve` runs the HTTP blob server; `put` and `get` talk to one.",
    )
    parser.set_defaults(func=lambda args: _help(parser))
    sub = parser.add_subparsers(dest="blobs_command", metavar="ACTION")

    serve = sub.add_parser("serve", help="serve a blob folder over HTTP until Ctrl-C")
    serve.add_argument("--root", type=Path, metavar="DIR",
                       help="folder of blobs, created if missing (default: the data dir's blobs/)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT,
                       help=f"TCP port (default {DEFAULT_PORT}; 0 picks a free one)")
    serve.add_argument("--max-size", type=parse_size, default=DEFAULT_MAX_SIZE, metavar="SIZE",
                       help="largest upload accepted, e.g. 512MiB, 2GiB or bytes (default 512MiB)")
    serve.add_argument("--log", metavar="FILE",
                       help="request log, one line per request ('-' for stderr; "
                       "default: blob-server.log in the data dir's logs/)")
    serve.set_defaults(func=_serve)

    put = sub.add_parser("put", help="upload a file; prints its sha256")
    put.add_argument("file", type=Path, metavar="FILE")
    put.add_argument("--to", metavar="URL", help="blob server URL or local folder "
                     f"(default: network.blob_url from the settings, else {DEFAULT_URL})")
    put.set_defaults(func=_put)

    get = sub.add_parser("get", help="download a blob to a file (its hash is checked)")
    get.add_argument("sha256", metavar="SHA256")
    get.add_argument("--out", type=Path, required=True, metavar="FILE", help="file to write")
    get.add_argument("--from", dest="source", metavar="URL", help="blob server URL or local folder "
                     f"(default: network.blob_url from the settings, else {DEFAULT_URL})")
    get.add_argument("--max-size", type=parse_size, metavar="SIZE", help="refuse a blob larger than SIZE")
    get.set_defaults(func=_get)


def parse_size(text: str) -> int:
    """``512MiB``, ``2G``, ``1000`` -> bytes (binary units: 1K = 1024)."""
    match = _SIZE.fullmatch(text.strip())
    if not match or int(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 1000, 64KiB, 512MiB, 2GiB)")
    unit = (match.group(2) or "").lower()[:1]
    return int(match.group(1)) * _UNITS[unit]


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _serve(args: argparse.Namespace) -> int:
    if not 0 <= args.port < 65536:
        raise UsageError(f"--port {args.port} is not a TCP port (0-65535)")
    root = args.root or paths().blobs_dir
    log_target = _log_requests(args.log)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):  # a background job starts with SIGINT ignored
        signal.signal(signum, lambda *_: stop.set())
    with BlobServer(root, host=args.host, port=args.port, max_size=args.max_size) as server:
        print(f"blobs: serving {server.root} at {server.url} (uploads up to {_human(server.max_size)})", flush=True)
        print(f"blobs: request log {log_target}", flush=True)
        print(f"blobs: ready at {server.url}; press Ctrl-C to stop", flush=True)
        while not stop.wait(0.5):
            pass
    print("blobs: stopped", flush=True)
    return 0


def _put(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        raise UsageError(f"{args.file} is not a file", hint="name the file to upload")
    store = open_store(_location(args.to))
    print(store.put_file(args.file))
    return 0


def _get(args: argparse.Namespace) -> int:
    sha = check_sha256(args.sha256)
    store = open_store(_location(args.source))
    out = store.get_file(sha, args.out, max_size=args.max_size)
    print(f"wrote {out} ({out.stat().st_size:,} bytes, sha256 checked)")
    return 0


def _location(given: str | None) -> str:
    if given:
        return given
    from engine.chain.settings import load_network  # only when needed: a broken [network] must not block --to

    url = load_network().blob_url
    if url is not None and not url.strip():
        raise StorageLocationError(url, "is empty (network.blob_url in the settings)")
    return url or DEFAULT_URL


def _log_requests(target: str | None) -> str:
    """Send the server's one-line-per-request log to a file (or stderr with '-')."""
    if target == "-":
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        where = "stderr"
    else:
        path = Path(target) if target else paths().log_dir / "blob-server.log"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(path, encoding="utf-8")
        except OSError as e:
            raise UsageError(f"cannot write the request log {path}: {e.strerror or e}",
                             hint="pick another file with --log") from None
        where = str(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("engine.storage")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return where


def _human(size: int) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size:,} bytes"
