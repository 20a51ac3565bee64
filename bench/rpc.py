"""CPU per JSON-RPC request: idlegrid's connection against web3's stock HTTP provider.

    python -m bench.rpc [--requests 500] [--quick]

Both ask the same local anvil ``eth_blockNumber`` and ``eth_call`` in turn, in this thread, and
the figure is this thread's CPU time per request (what a worker takes from the cores that train,
and what a search coordinator spends per candidate). Prints ``rpc_cpu_ms_stock``,
``rpc_cpu_ms_idlegrid`` and last ``rpc_cpu_ratio`` (idlegrid / stock; lower is better).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from web3 import HTTPProvider, Web3

from engine.chain.anvil import Anvil, AnvilConfig, free_port
from engine.chain.rpc import connect

CALL = {"to": "0x" + "00" * 20, "data": "0x"}


def cpu_ms_per_request(w3: Web3, n: int) -> float:
    for _ in range(10):  # warm: connections, caches
        _ = w3.eth.block_number
    start = time.thread_time()
    for _ in range(n // 2):
        _ = w3.eth.block_number
        w3.eth.call(CALL)  # type: ignore[arg-type]
    return (time.thread_time() - start) / (2 * (n // 2)) * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--quick", action="store_true", help="50 requests: only checks that it runs")
    args = ap.parse_args(argv)
    if args.quick:
        args.requests = 50
    with tempfile.TemporaryDirectory() as tmp, \
            Anvil(AnvilConfig(port=free_port(), log_file=Path(tmp) / "a.log")) as node:
        stock = cpu_ms_per_request(Web3(HTTPProvider(node.url)), args.requests)
        ours = cpu_ms_per_request(connect(node.url), args.requests)
    print(f"rpc_cpu_ms_stock: {stock:.3f}")
    print(f"rpc_cpu_ms_idlegrid: {ours:.3f}")
    print(f"rpc_cpu_ratio: {ours / stock:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
