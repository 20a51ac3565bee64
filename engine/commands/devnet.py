"""``idlegrid devnet``: a local chain with TaskMarket deployed, for trying idlegrid offline."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from typing import Any

from engine.chain.devnet import (
    DEV_MNEMONIC,
    FUND_ETH,
    Devnet,
    deployment_file,
    parse_addresses,
    start_devnet,
    state_file,
)
from engine.chain.errors import DevnetError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "devnet",
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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not 0 < args.port < 65536:
        raise DevnetError(f"--port {args.port} is not a TCP port (1-65535)")
    fund = parse_addresses(args.fund)
    for signum in (signal.SIGINT, signal.SIGTERM):  # a background job starts with SIGINT ignored
        signal.signal(signum, _interrupt)
    devnet = start_devnet(port=args.port, host=args.host, block_time=args.block_time,
                          fund_addresses=fund, reset=args.reset)
    try:
        _report(devnet)
        # The local blob server and the demo requester/verifier (a later issue) start here,
        # once the market is deployed and funded, and stop before anvil does.
        while devnet.anvil.running():
            time.sleep(0.2)
        raise DevnetError(f"anvil stopped unexpectedly; see {devnet.anvil.log_path}")
    except KeyboardInterrupt:
        devnet.stop()
        print(f"devnet: stopped; chain state saved in {state_file()}", flush=True)
        return 0
    finally:
        devnet.stop()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _report(devnet: Devnet) -> None:
    d = devnet.deployment
    verb = "deployed" if devnet.deployed_now else "already deployed"
    lines = [
        f"anvil {d.rpc_url} (chain id {d.chain_id}), log {devnet.anvil.log_path}",
        f"chain state {state_file()}",
        f"TaskMarket {verb} at {d.market_address} (block {d.deploy_block})",
        f"deployment file {deployment_file()}",
        *(f"funded {a} ({b / 10**18:g} ETH)" for a, b in devnet.funded.items()),
        f'dev accounts: mnemonic "{DEV_MNEMONIC}"',
        f"ready at {d.rpc_url}; press Ctrl-C to stop (the state is saved)",
    ]
    for line in lines:
        print(f"devnet: {line}", flush=True)
    sys.stdout.flush()
