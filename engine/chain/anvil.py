"""Running anvil, the local Ethereum node of the devnet, from the npm package @foundry-rs/anvil.

``npm ci`` (run by ``make setup``) puts the native binary under ``node_modules/``; this module
starts it on a port with its state kept in a file (loaded at start, dumped periodically and
on exit), waits until it answers, and stops it with SIGINT so anvil writes its state.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import requests
from web3 import Web3
from web3.types import RPCEndpoint

from engine.chain.errors import DevnetError
from engine.config import resources_dir

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / "node_modules"
DEV_CHAIN_ID = 31337
RESET_HINT = "move the file away to keep it, or run `idlegrid devnet --reset` to start an empty chain"


def anvil_binary(node_modules: Path = NODE_MODULES) -> Path:
    """The native anvil binary the npm package installed for this platform."""
    system = {"linux": "linux", "darwin": "darwin", "win32": "win32"}.get(sys.platform, sys.platform)
    arch = {"x86_64": "amd64", "amd64": "amd64", "arm64": "arm64", "aarch64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )
    name = "anvil.exe" if system == "win32" else "anvil"
    if getattr(sys, "frozen", False):  # packaging/idlegrid.spec bundles it as resources/bin/anvil
        binary = resources_dir() / "bin" / name
        if binary.is_file():
            return binary
    binary = node_modules / "@foundry-rs" / f"anvil-{system}-{arch}" / "bin" / name
    if not binary.is_file():
        raise DevnetError(
            f"anvil is not installed: {binary} is missing",
            hint=f"run `make setup` (or `npm ci` in {node_modules.parent}) to install @foundry-rs/anvil",
        )
    return binary


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def ensure_port_free(host: str, port: int) -> None:
    with socket.socket() as s:
        if os.name == "posix":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            raise DevnetError(
                f"port {port} on {host} is already in use",
                hint=f"stop what listens there, or pick another port (`idlegrid devnet --port {port + 1}`)",
            ) from None


def check_state_file(path: Path) -> None:
    """A state file anvil can load, or none at all; anything else is a clear error."""
    if not path.exists():
        return
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise DevnetError(f"the devnet state file {path} is corrupt ({e})", hint=RESET_HINT) from None
    if not isinstance(state, dict) or "accounts" not in state:
        raise DevnetError(f"the devnet state file {path} is not an anvil state dump", hint=RESET_HINT)


@dataclass(frozen=True)
class AnvilConfig:
    port: int = 8545
    host: str = "127.0.0.1"
    chain_id: int = DEV_CHAIN_ID
    state_file: Path | None = None
    state_interval: int = 30
    block_time: int | None = None
    log_file: Path | None = None


class Anvil:
    """One anvil process; use as a context manager or call ``start()`` / ``stop()``."""

    def __init__(self, config: AnvilConfig, node_modules: Path = NODE_MODULES) -> None:
        self.config = config
        self.node_modules = node_modules
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.config.port}"

    @property
    def log_path(self) -> Path:
        assert self._log is not None
        return Path(self._log.name)

    def command(self) -> list[str]:
        c = self.config
        cmd = [str(anvil_binary(self.node_modules)), "--host", c.host, "--port", str(c.port),
               "--chain-id", str(c.chain_id), "--color", "never"]
        if c.state_file is not None:
            cmd += ["--state", str(c.state_file), "--state-interval", str(c.state_interval)]
        if c.block_time:
            cmd += ["--block-time", str(c.block_time)]
        return cmd

    def start(self, timeout: float = 30.0) -> Anvil:
        c = self.config
        cmd = self.command()
        ensure_port_free(c.host, c.port)
        if c.state_file is not None:
            check_state_file(c.state_file)
            c.state_file.parent.mkdir(parents=True, exist_ok=True)
        if c.log_file is not None:
            c.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._log = c.log_file.open("wb")
        else:
            # kept open for anvil's lifetime and closed in stop(): no context manager fits
            self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115
                prefix="anvil-", suffix=".log", delete=False)
        # Its own session: a terminal's Ctrl-C reaches us, and we stop anvil in order.
        self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready(timeout)
        return self

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGINT (anvil dumps its state), then harsher signals if it hangs; returns its exit code."""
        proc = self.process
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
        self.process = None
        return proc.returncode

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_ready(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise self._start_failure()
            if _answers(self.url):
                return
            time.sleep(0.05)
        self.stop()
        raise DevnetError(f"anvil did not answer on {self.url} within {timeout:.0f} s",
                          hint=f"see its log in {self.log_path}")

    def _start_failure(self) -> DevnetError:
        assert self._log is not None  # opened by start() before anvil runs
        self._log.flush()
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        code = self.process.returncode if self.process else None
        self.stop()
        c = self.config
        if "Address already in use" in text:
            return DevnetError(f"port {c.port} on {c.host} is already in use",
                               hint="stop what listens there, or pick another port "
                                    f"(`idlegrid devnet --port {c.port + 1}`)")
        if c.state_file is not None and "--state" in text:
            return DevnetError(f"anvil cannot load the devnet state file {c.state_file}: {_error_line(text)}",
                               hint=RESET_HINT)
        return DevnetError(f"anvil exited with code {code} at start: {_error_line(text)}",
                           hint=f"see its log in {self.log_path}")


def _answers(url: str) -> bool:
    try:
        r = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1)
        return r.ok and "result" in r.json()
    except (requests.RequestException, ValueError):
        return False


def _error_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or ["(no output)"])[-1]


def rpc(w3: Web3, method: str, *params: Any) -> Any:
    """A raw JSON-RPC call (anvil_* / evm_* test methods)."""
    return w3.manager.request_blocking(RPCEndpoint(method), list(params))


def snapshot(w3: Web3) -> str:
    return str(rpc(w3, "evm_snapshot"))


def revert(w3: Web3, snapshot_id: str) -> None:
    if not rpc(w3, "evm_revert", snapshot_id):
        raise DevnetError(f"anvil could not revert to snapshot {snapshot_id}")


def time_travel(w3: Web3, seconds: int) -> None:
    """Move the chain's clock forward and mine a block carrying the new time."""
    rpc(w3, "evm_increaseTime", seconds)
    rpc(w3, "anvil_mine", 1)


def mine(w3: Web3, blocks: int = 1) -> None:
    rpc(w3, "anvil_mine", blocks)
