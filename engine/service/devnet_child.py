"""The embedded devnet as a child process (``idlegrid devnet``), for the engine service.

When no network is configured the service needs the local devnet. If one already answers (a
terminal runs ``idlegrid devnet``, or an earlier service left it running) it is used as is;
otherwise the service starts ``idlegrid devnet`` as its child, waits for its "ready" line and stops
it with SIGINT when it stops, so anvil saves the chain state. No Qt here: it is plain process work.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests

from engine.chain.devnet import Deployment, deployment_file
from engine.chain.settings import SECTION, NetworkSettings, load_network
from engine.config import load_section, paths
from engine.network.profiles import DEVNET
from engine.service.errors import DevnetStartError

READY_MARK = "devnet: ready at"


def devnet_wanted() -> bool:
    """True when the settings name no market, or name the built-in ``devnet`` profile: the
    service then works on the local devnet, starting it when none answers. (Resolving the
    ``devnet`` profile needs a devnet already deployed, so it is checked by name first: after
    ``idlegrid network use devnet`` a service with no devnet running would otherwise refuse to
    start instead of starting one.)"""
    if load_section(SECTION, NetworkSettings).profile == DEVNET:
        return True
    return load_network().market_address is None


def _rpc(url: str, method: str, *params: str | int, timeout: float = 1.0) -> object:
    reply = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)},
                          timeout=timeout)
    reply.raise_for_status()
    return reply.json().get("result")


def running_devnet() -> Deployment | None:
    """The recorded devnet deployment when its node answers and the market has code there."""
    deployment = Deployment.load(deployment_file())
    if deployment is None:
        return None
    try:
        chain_id = _rpc(deployment.rpc_url, "eth_chainId")
        code = _rpc(deployment.rpc_url, "eth_getCode", deployment.market_address, "latest")
    except (requests.RequestException, ValueError):
        return None
    if not isinstance(chain_id, str) or int(chain_id, 16) != deployment.chain_id:
        return None
    return deployment if isinstance(code, str) and len(code) > 2 else None


def dev_signer(dev_account: int | None, devnet: bool) -> Any:
    """anvil's public dev key ``dev_account`` as the signer (devnet only); None: the wallet."""
    if dev_account is None:
        return None
    from engine.chain.devkeys import dev_signer as signer

    return signer(dev_account, devnet=devnet)


class DevnetProcess:
    """``idlegrid devnet`` run as a child of the service; its output goes to ``logs/devnet.log``."""

    def __init__(self, *, port: int = 8545, blob_port: int = 8547, command: Sequence[str] | None = None) -> None:
        self.command = list(command or [sys.executable, "-m", "engine", "devnet", "--port", str(port),
                                        "--blob-port", str(blob_port)])
        self.log_path: Path = paths().log_dir / "devnet.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0, *, cancel: threading.Event | None = None) -> Deployment | None:
        """Start the child and wait for its "ready" line; a clear error with its last output
        when it exits first or takes longer than ``timeout`` seconds. None (child stopped) when
        ``cancel`` is set meanwhile: the user quit while the devnet was starting."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
            if READY_MARK in text:
                deployment = Deployment.load(deployment_file())
                if deployment is not None:
                    return deployment
            if cancel is not None and cancel.is_set():
                self.stop()
                return None
            if self.process.poll() is not None:
                raise DevnetStartError(
                    f"the local devnet stopped at start (exit code {self.process.returncode}): {_tail(text)}",
                    hint=f"its full output is in {self.log_path}; or configure a network in Settings")
            time.sleep(0.2)
        self.stop()
        raise DevnetStartError(f"the local devnet was not ready after {timeout:.0f} s",
                               hint=f"see {self.log_path}; is the machine very busy?")

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGINT (anvil saves its state), then SIGTERM, then SIGKILL; the exit code."""
        process, self.process = self.process, None
        if process is None:
            return None
        for sig, wait in ((signal.SIGINT, timeout), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            if process.poll() is not None:
                break
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        return process.wait()


def _tail(text: str, lines: int = 3) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return " / ".join(kept) or "(no output)"
