"""What the real-chain tests share: keystore homes, the ``idlegrid`` CLI, a deployed profile.

On a chain that behaves like a public one nobody runs ``--devnet``: every actor has a keystore
wallet (an anvil account imported with ``idlegrid wallet import``) and a network profile, the
requester's made by ``idlegrid network deploy``, the others' by ``idlegrid network add``.
:class:`ProfileChain` is the test's own read-only view of that market, with the same
``market()``/``now()``/``time_travel()`` as :class:`tests.e2e.network.TestNet`, so the
helpers that watch a devnet (``chainwatch.py``, ``txs.py``) watch this chain too.
:class:`BaseFee` and :class:`Reorgs` are the faults such a chain has: fee spikes and blocks
reorganised away, injected through anvil's own RPC.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from web3 import Web3

from engine.chain.anvil import Anvil, AnvilConfig, free_port, rpc, time_travel
from engine.chain.market import TaskMarket
from engine.chain.rpc import connect
from engine.storage.server import BlobServer
from tests.e2e.actors import Actor
from tests.e2e.procs import Procs
from tests.e2e.specs import CLAIM_TIMEOUT, REWARD, STAKE, TRAIN_TIMEOUT, WINDOW
from tests.rpcproxy import RpcProxy
from tests.specs import write

PASSPHRASE = "correct horse battery staple"
GWEI = 10**9
BASE_FEE = GWEI             # the base fee a BaseFee holds the chain at
SPIKE = 10 * BASE_FEE       # ... and jumps to mid-job
DEPLOYED = re.compile(r"deployed TaskMarket at (0x[0-9a-fA-F]{40}) in block (\d+)")


def cli(actor: Actor, *args: str, stdin: str | None = None) -> str:
    """One ``idlegrid`` command as ``actor``, to completion; its output."""
    done = subprocess.run([sys.executable, "-m", "engine", *args], check=False, env=actor.env(), input=stdin,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"idlegrid {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def home(root: Path, name: str, index: int) -> Actor:
    """An actor whose wallet is anvil account ``index`` in a keystore file (``passphrase_file``)."""
    actor = Actor(name, index, root / "homes" / name, {
        "gpu": {"backend": "cpu", "allow_cpu": True}, "policy": {"run_when": "always", "pause_on_battery": False},
    }).write_settings()
    passphrase_file(actor).write_text(PASSPHRASE + "\n", encoding="utf-8")
    cli(actor, "wallet", "import", "--hex", "--keystore", str(actor.home / "key.json"),
        "--passphrase-file", str(passphrase_file(actor)), "--scrypt-n", "1024", stdin=actor.key + "\n")
    return actor


def passphrase_file(actor: Actor) -> Path:
    return actor.home / "passphrase"


def deploy(deployer: Actor, others: list[Actor], profile: list[str], *params: str) -> tuple[str, int]:
    """``idlegrid network deploy --market v1`` as ``deployer`` (``--param NAME=VALUE`` each of
    ``params``; these tests play v1's game), then ``idlegrid network add`` of the same profile for
    each of ``others``: the market's address and deploy block. ``profile`` holds the profile's
    options (``--rpc``, ``--name``, ...)."""
    out = cli(deployer, "network", "deploy", *profile, *(a for p in params for a in ("--param", p)),
              "--market", "v1", "--dev-account", "0", "--yes")
    found = DEPLOYED.search(out)
    assert found, out
    address, block = found.group(1), found.group(2)
    for actor in others:
        cli(actor, "network", "add", *profile, "--market", address, "--deploy-block", block)
    return address, int(block)


def post(requester: Actor, spec: dict, folder: Path) -> int:
    """``idlegrid requester post`` from the profile, signed with the keystore: the task's id."""
    path = write(folder / f"{spec['name']}.json", spec)
    out = cli(requester, "requester", "post", str(path), "--reward", str(REWARD / 10**18),
              "--stake", str(STAKE / 10**18), "--window", str(WINDOW), "--claim-timeout", str(CLAIM_TIMEOUT),
              "--train-timeout", str(TRAIN_TIMEOUT), "--passphrase-file", str(passphrase_file(requester)))
    found = re.search(r"posted task (\d+)", out)
    assert found, out
    return int(found.group(1))


@dataclass
class ProfileChain:
    """The test's view of a deployed market (read-only), straight on the node."""

    w3: Web3
    address: str

    def market(self) -> TaskMarket:
        return TaskMarket(self.w3, self.address)

    def client(self) -> TaskMarket:
        """The deployed market's client (:func:`deploy` deploys v1)."""
        return self.market()

    def time_travel(self, seconds: int) -> None:
        time_travel(self.w3, seconds)

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])


class BaseFee:
    """Holds the chain's base fee at ``target`` by setting the next block's before each one
    (anvil would otherwise let it drift with the blocks' fill); set ``target`` to spike it."""

    def __init__(self, w3: Web3) -> None:
        self.w3, self.target = w3, BASE_FEE
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            rpc(self.w3, "anvil_setNextBlockBaseFeePerGas", hex(self.target))

    def start(self) -> BaseFee:
        rpc(self.w3, "anvil_setNextBlockBaseFeePerGas", hex(self.target))
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Orphan:
    """One planned reorg: once ``mined`` is true (a watched transaction is on the chain, in the
    head block), build blocks on it and reorganise ``depth`` blocks away; ``gone`` then says
    whether the transaction really left the chain."""

    name: str
    depth: int
    mined: Callable[[], bool]
    gone: Callable[[], bool]


@dataclass
class Reorgs:
    """Watches the chain for each planned :class:`Orphan` and injects its reorg (``anvil_reorg``,
    which drops the orphaned blocks' transactions, as a real reorg may) the moment it is due.

    The reorg must be shallower than the profile's confirmations (a sender counts a receipt only
    once that many blocks cover it), so it is injected as soon as the transaction is seen: with
    ``depth`` 1 a 2 s chain would have to mine two blocks within one 50 ms poll to outrun it."""

    w3: Web3
    plan: list[Orphan]
    done: dict[str, int] = field(default_factory=dict)      # name -> depth actually reorged
    orphaned: dict[str, bool] = field(default_factory=dict)
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.wait(0.05):
                for orphan in self.plan:
                    if orphan.name not in self.done and orphan.mined():
                        self._orphan(orphan, self.w3.eth.block_number)
        except BaseException as e:  # handed to the test by stop()
            self.error = e

    def _orphan(self, orphan: Orphan, mined_in: int) -> None:
        if orphan.depth > 1:
            rpc(self.w3, "anvil_mine", hex(orphan.depth - 1))
        actual = self.w3.eth.block_number - mined_in + 1
        rpc(self.w3, "anvil_reorg", actual, [])
        self.done[orphan.name] = actual
        self.orphaned[orphan.name] = orphan.gone()

    def stop(self) -> None:
        """Stop watching; a failure of the watcher fails the test here."""
        self._stop.set()
        self._thread.join()
        if self.error is not None:
            raise self.error


@dataclass
class Stage:
    """What a real-chain test runs on: a 2 s block-time anvil (no automine), two RPC proxies in
    front of it that refuse log ranges over 10 blocks (the profile's failover URLs), a blob
    server and the base-fee holder; ``procs`` runs the actors."""

    procs: Procs
    w3: Web3
    proxies: list[RpcProxy]
    fee: BaseFee
    blob_url: str


@contextmanager
def real_chain_stage(root: Path) -> Iterator[Stage]:
    """A :class:`Stage` under ``root``, all of it stopped afterwards, pass or fail."""
    procs = Procs(root / "logs")
    anvil = Anvil(AnvilConfig(port=free_port(), block_time=2, log_file=root / "anvil.log")).start()
    blobs = BlobServer(root / "blobs").start()
    proxies = [RpcProxy(anvil.url, max_log_range=10).start() for _ in range(2)]
    fee = BaseFee(connect(anvil.url)).start()
    try:
        yield Stage(procs, connect(anvil.url), proxies, fee, blobs.url)
    finally:
        procs.close()
        fee.stop()
        for proxy in proxies:
            proxy.kill()
        blobs.stop()
        anvil.stop()
