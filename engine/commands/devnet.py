"""``idlegrid devnet``: a local chain with TaskMarket deployed, for trying idlegrid offline.

Besides anvil it runs the local blob server (its URL goes into ``deployment.json``, so
``network_settings()`` finds it) and, unless ``--no-demo``, the demo requester and verifier
of :mod:`engine.requester.demo`. Everything stops in reverse order on Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import socket
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from engine.chain.devkeys import DEV_MNEMONIC, FUND_ETH
from engine.chain.errors import DevnetError
from engine.commands.options import market_options, market_version
from engine.storage import DEFAULT_PORT as DEFAULT_BLOB_PORT

if TYPE_CHECKING:
    from engine.chain.devnet import Devnet
    from engine.storage import BlobServer


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "devnet", parents=[market_options(note="switching deploys afresh")],
        help="run a local chain (anvil) with TaskMarket deployed",
        description="Start anvil with its state kept in the data dir, deploy TaskMarket once, "
        "fund the wallet and --fund addresses, and run until Ctrl-C (the state is saved).",
    )
    p.add_argument("--port", type=int, default=8545, help="RPC port (default 8545)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--block-time", type=int, metavar="SECONDS",
                   help="mine a block every SECONDS (default: one block per transaction)")
    p.add_argument("--fund", action="append", default=[], metavar="ADDR",
                   help=f"give ADDR {FUND_ETH} ETH (repeatable); the wallet's address is always funded")
    p.add_argument("--reset", action="store_true", help="forget the saved chain and deployment, start empty")
    p.add_argument("--blob-port", type=int, default=DEFAULT_BLOB_PORT,
                   help=f"port of the local blob server (default {DEFAULT_BLOB_PORT})")
    p.add_argument("--no-demo", action="store_true",
                   help="do not run the demo requester and verifier (no tasks are posted)")
    p.add_argument("--demo-interval", type=float, default=20.0, help=argparse.SUPPRESS)  # tests: faster pace
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from engine.chain.devnet import parse_addresses, start_devnet, state_file  # web3: only when run

    for port, option in ((args.port, "--port"), (args.blob_port, "--blob-port")):
        if not 0 < port < 65536:
            raise DevnetError(f"{option} {port} is not a TCP port (1-65535)")
    if args.blob_port == args.port:
        raise DevnetError(f"--blob-port {args.blob_port} is the RPC port too", hint="give the blob server another port")
    if args.demo_interval <= 0:
        raise DevnetError("--demo-interval must be positive")
    fund = parse_addresses(args.fund)
    market = market_version(args)
    for signum in (signal.SIGINT, signal.SIGTERM):  # a background job starts with SIGINT ignored
        signal.signal(signum, _interrupt)
    with ExitStack() as stack:  # stops in reverse order: demo, blob server, anvil
        devnet = start_devnet(port=args.port, host=args.host, block_time=args.block_time,
                              fund_addresses=fund, reset=args.reset, market=market)
        stack.callback(devnet.stop)
        try:
            _report(devnet)
            server = _start_blob_server(args.host, args.blob_port)
            stack.callback(_stop_blob_server, server)
            check_demo: Callable[[], None] = (
                _no_demo if args.no_demo else _start_demo(devnet, server.url, args, stack))
            say(f"ready at {devnet.deployment.rpc_url}; press Ctrl-C to stop (the state is saved)")
            clock = _BlockClock(devnet, args.block_time)
            while devnet.anvil.running():
                check_demo()
                clock.tick()
                time.sleep(0.2)
            raise DevnetError(f"anvil stopped unexpectedly; see {devnet.anvil.log_path}")
        except KeyboardInterrupt:
            for signum in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut the clean-up short
                signal.signal(signum, signal.SIG_IGN)
            stack.close()
            say(f"stopped; chain state saved in {state_file()}")
            return 0


class _BlockClock:
    """Mines an empty block when the chain has been quiet for ``IDLE_BLOCK_S``.

    anvil mines only when a transaction arrives, and contracts read time from the latest
    block: on a quiet devnet a challenge window would never end and nobody could finalize.
    Automine stays on (transactions confirm at once); with ``--block-time`` anvil keeps time itself.
    """

    IDLE_BLOCK_S = 5.0

    def __init__(self, devnet: Devnet, block_time: int | None) -> None:
        self.devnet, self.enabled = devnet, block_time is None
        self.last_check = time.monotonic()

    def tick(self) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.last_check < 1.0:
            return
        self.last_check = now
        from engine.chain.clock import ChainClock

        clock = ChainClock(self.devnet.w3)
        try:
            if time.time() - clock.latest() >= self.IDLE_BLOCK_S:
                clock.mine()
        except Exception as e:
            say(f"could not mine an idle block: {e}")


def say(line: str) -> None:
    print(f"devnet: {line}", flush=True)


def _check_blob_port(host: str, port: int) -> None:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            raise DevnetError(
                f"port {port} on {host} (the blob server) is already in use",
                hint=f"stop what listens there, or pick another port (`idlegrid devnet --blob-port {port + 1}`)",
            ) from None


def _start_blob_server(host: str, port: int) -> BlobServer:
    from engine.chain.devnet import devnet_dir, record_blob_url
    from engine.storage import BlobServer

    _check_blob_port(host, port)
    root = devnet_dir() / "blobs"
    server = BlobServer(root, host=host, port=port).start()
    record_blob_url(server.url)
    say(f"blob server {server.url}, blobs in {root}")
    return server


def _stop_blob_server(server: BlobServer) -> None:
    from engine.chain.devnet import record_blob_url

    server.stop()
    record_blob_url(None)


def _start_demo(devnet: Devnet, blob_url: str, args: argparse.Namespace, stack: ExitStack) -> Callable[[], None]:
    from engine.chain.market import TaskMarket
    from engine.chain.market_v2 import TaskMarketV2
    from engine.chain.version import MarketVersion, market_version
    from engine.requester.demo import DemoActors, DemoConfig
    from engine.storage import open_store

    d = devnet.deployment
    v2 = market_version(devnet.w3, d.market_address) is MarketVersion.V2
    market = (TaskMarketV2 if v2 else TaskMarket)(devnet.w3, d.market_address, deploy_block=d.deploy_block)
    actors = DemoActors(market, open_store(blob_url), config=DemoConfig(interval_s=args.demo_interval),
                        say=lambda line: say(line)).start()
    stack.callback(actors.stop)
    return actors.check


def _no_demo() -> None:
    """``--no-demo``: no demo actors to check on."""


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _report(devnet: Devnet) -> None:
    from engine.chain.devnet import deployment_file, state_file
    from engine.chain.version import market_version

    d = devnet.deployment
    version = market_version(devnet.w3, d.market_address)
    kind = f"TaskMarket {version.value}" if version else "code of no shipped TaskMarket"
    verb = "deployed" if devnet.deployed_now else "already deployed"
    lines = [
        f"anvil {d.rpc_url} (chain id {d.chain_id}), log {devnet.anvil.log_path}",
        f"chain state {state_file()}",
        f"TaskMarket {verb} at {d.market_address} (block {d.deploy_block}, {kind})",
        f"deployment file {deployment_file()}",
        *(f"funded {a} ({b / 10**18:g} ETH)" for a, b in devnet.funded.items()),
        f'dev accounts: mnemonic "{DEV_MNEMONIC}"',
    ]
    for line in lines:
        say(line)
