"""What the real-chain tests share: keystore homes, the ``idlegrid`` CLI, a deployed profile.

On a chain that behaves like a public one nobody runs ``--devnet``: every actor has a keystore
wallet (an anvil account imported with ``idlegrid wallet import``) and a network profile, the
requester's made by ``idlegrid network deploy``, the others' by ``idlegrid network add``.
:class:`ProfileChain` is the test's own read-only view of that market, with the same
``market()``/``now()``/``time_travel()`` as :class:`tests.e2e.network.TestNet`, so the
helpers that watch a devnet (``chainwatch.py``, ``txs.py``) watch this chain too.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from web3 import Web3

from engine.chain.anvil import time_travel
from engine.chain.market import TaskMarket
from tests.e2e.actors import Actor
from tests.e2e.specs import CLAIM_TIMEOUT, REWARD, STAKE, TRAIN_TIMEOUT, WINDOW
from tests.specs import write

PASSPHRASE = "correct horse battery staple"
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
    """``idlegrid network deploy`` as ``deployer`` (``--param NAME=VALUE`` each of ``params``),
    then ``idlegrid network add`` of the same profile for each of ``others``: the market's
    address and deploy block. ``profile`` holds the profile's options (``--rpc``, ``--name``, ...)."""
    out = cli(deployer, "network", "deploy", *profile, *(a for p in params for a in ("--param", p)),
              "--dev-account", "0", "--yes")
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

    def time_travel(self, seconds: int) -> None:
        time_travel(self.w3, seconds)

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])
