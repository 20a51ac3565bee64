"""The devnet's demo actors: a requester that keeps a couple of tasks open, and a verifier.

They make a fresh devnet feel alive: a new user's worker finds real digits tasks to claim
within a minute or two, and their results get audited (and the audits paid). Both sign with anvil's public dev accounts
(never the user's wallet) and keep their own history database, so the user's history shows
only the user's jobs. The verifier runs as a subprocess (``idlegrid verifier --devnet
--dev-account N``) in its own process group, which keeps torch (replay) out of the devnet
process and lets Ctrl-C end it cleanly.

On v2 the demo requester posts its first task only once the demo verifier's stake weighs in
draws (:class:`AuditGate`): a stake counts from the epoch after it was registered, and a result
is audited by the stake snapshot of its submit's epoch, so a task posted earlier could be
trained and submitted before the demo verifier can be drawn, and its audit would go unpaid.
With the devnet's minute-long epochs (:data:`engine.chain.devnet.DEVNET_EPOCH_S`) that holds the
first post back by a minute at most.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from engine.chain.devkeys import dev_signer
from engine.chain.devnet import devnet_dir
from engine.chain.market import ETHER, TaskMarket
from engine.chain.market_v2 import TaskMarketV2
from engine.config import resources_dir
from engine.errors import IdlegridError
from engine.history import History
from engine.requester import Requester
from engine.spawn import idlegrid_command
from engine.storage import BlobStore

DEMO_REQUESTER_ACCOUNT = 8
DEMO_VERIFIER_ACCOUNT = 9
DEMO_SPEC = "digits-mlp.json"

Say = Callable[[str], None]


@dataclass(frozen=True)
class DemoConfig:
    """How the demo requester paces itself; the defaults are gentle on a laptop."""

    open_tasks: int = 2            # keep about this many of its tasks open
    interval_s: float = 20.0       # look (and post at most one task) this often
    reward: int = ETHER // 100     # 0.01 ETH
    stake: int = ETHER // 1000     # 0.001 ETH
    claim_timeout: int = 3600
    train_timeout: int = 1800
    window: int = 120              # short, so a worker sees its reward become claimable soon


def demo_history() -> History:
    """The demo actors' own history (not the user's)."""
    return History.open(devnet_dir() / "demo-history.sqlite3")


class DemoRequester:
    """Posts digits-mlp tasks with fresh seeds until its open tasks number ``open_tasks``."""

    def __init__(self, market: TaskMarket | TaskMarketV2, store: BlobStore, history: History, *,
                 config: DemoConfig = DemoConfig(), say: Say = print, gate: AuditGate | None = None) -> None:
        self.requester = Requester(market, store, history)
        self.market = market
        self.config = config
        self.say = say
        self.gate = gate
        self.spec_dir = devnet_dir() / "demo-specs"

    def open_tasks(self) -> list[int]:
        """Ids of this requester's tasks still waiting for a worker."""
        me = self.requester.address.lower()
        ids = []
        for offset in range(0, self.market.open_task_count(), 100):
            ids += self.market.open_tasks(offset, 100)
        return [i for i in ids if self.market.get_task(i).requester.lower() == me]

    def step(self) -> int | None:
        """Post one task if fewer than ``open_tasks`` are open (and the gate is open); the new
        task id, else None."""
        if self.gate is not None and not self.gate.is_open():
            return None
        if len(self.open_tasks()) >= self.config.open_tasks:
            return None
        seed = 1000 + self.market.task_count() + 1
        c = self.config
        task_id = self.requester.post(self._spec(seed), reward=c.reward, stake=c.stake, window=c.window,
                                      claim_timeout=c.claim_timeout, train_timeout=c.train_timeout)
        self.say(f"demo requester posted task {task_id} (digits-mlp, seed {seed}, reward 0.01 ETH)")
        return task_id

    def run(self, stop: threading.Event) -> None:
        """Top up at once, then every ``interval_s``; a failure is reported and retried later."""
        self.requester.recover()
        while not stop.is_set():
            try:
                while self.step() is not None and not stop.is_set():
                    pass
            except IdlegridError as e:
                self.say(f"demo requester: {e.message} (retrying in {self.config.interval_s:g} s)")
            stop.wait(self.config.interval_s)

    def _spec(self, seed: int) -> Path:
        spec = json.loads((resources_dir() / "tasks" / DEMO_SPEC).read_text(encoding="utf-8"))
        spec["seed"] = seed
        self.spec_dir.mkdir(parents=True, exist_ok=True)
        path = self.spec_dir / f"digits-mlp-seed-{seed}.json"
        path.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
        return path


def demo_requester_market(market: TaskMarket | TaskMarketV2) -> TaskMarket | TaskMarketV2:
    """The same market, signing as the demo requester's dev account."""
    return market.with_signer(dev_signer(DEMO_REQUESTER_ACCOUNT, devnet=True))


def verifier_available() -> bool:
    """True once engine.verifier exists (it is optional for the devnet)."""
    return importlib.util.find_spec("engine.verifier") is not None


class DemoVerifier:
    """``idlegrid verifier --devnet --dev-account N`` as a subprocess in its own process group."""

    def __init__(self, *, account: int = DEMO_VERIFIER_ACCOUNT, log_path: Path | None = None) -> None:
        self.account = account
        self.log_path = log_path or devnet_dir() / "demo-verifier.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def command(self) -> list[str]:
        return idlegrid_command("verifier", "--devnet", "--dev-account", str(self.account))

    def start(self) -> DemoVerifier:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True, env=os.environ.copy())
        return self

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM to the whole group (the verifier and any replay it runs), then SIGKILL."""
        proc = self.process
        if proc is None:
            return None
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
        if self._log is not None:
            self._log.close()
        self.process = None
        return proc.returncode


class AuditGate:
    """Open once the demo verifier's stake weighs in this epoch's draws, or once it never will.

    The contract has no view of the stake snapshot, so the gate is conservative: the first epoch
    that began after the verifier was seen registered (its registration was no later). It opens
    at once when the verifier process ended or the account is leaving the verifier set; a demo
    without auditors must still post tasks.
    """

    def __init__(self, market: TaskMarketV2, verifier: DemoVerifier, *, say: Say = print) -> None:
        self.market, self.verifier, self.say = market, verifier, say
        self.address = dev_signer(verifier.account, devnet=True).address
        self._weighs_from: int | None = None
        self._open = False

    def is_open(self) -> bool:
        if not self._open:
            self._open = self._check()
        return self._open

    def _check(self) -> bool:
        if self._weighs_from is None:
            if self.verifier.exit_code() is not None:
                return True
            info = self.market.verifier(self.address)
            if info.unbonding_until:
                return True
            if not info.active:
                return False
            self._weighs_from = self.market.epoch_now() + 1
            self.say(f"demo requester: posting from the next epoch (in at most "
                     f"{self.market.params().epoch_length} s), when the demo verifier's stake counts in audit draws")
        return self.market.epoch_now() >= self._weighs_from


def _signal_group(proc: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signum)


class DemoActors:
    """Both demo actors, started and stopped together by ``idlegrid devnet``."""

    def __init__(self, market: TaskMarket | TaskMarketV2, store: BlobStore, *, config: DemoConfig = DemoConfig(),
                 say: Say = print, verifier: bool = True) -> None:
        self.history = demo_history()
        self.verifier = DemoVerifier() if verifier and verifier_available() else None
        gate = (AuditGate(market, self.verifier, say=say)
                if self.verifier is not None and isinstance(market, TaskMarketV2) else None)
        self.requester = DemoRequester(demo_requester_market(market), store, self.history, config=config, say=say,
                                       gate=gate)
        self.say = say
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.requester.run, args=(self._stop,),
                                        name="demo-requester", daemon=True)
        self._verifier_exit_reported = False

    def start(self) -> DemoActors:
        self._thread.start()
        address = self.requester.requester.address
        self.say(f"demo requester: dev account {DEMO_REQUESTER_ACCOUNT} ({address}) keeps "
                 f"{self.requester.config.open_tasks} digits tasks open")
        if self.verifier is None:
            self.say("demo verifier: not available in this build (engine.verifier is missing)")
        else:
            self.verifier.start()
            assert self.verifier.process is not None  # start() spawned it
            self.say(f"demo verifier: dev account {DEMO_VERIFIER_ACCOUNT}, pid {self.verifier.process.pid}, "
                     f"log {self.verifier.log_path}")
        return self

    def check(self) -> None:
        """Report once if the verifier subprocess ended on its own (the devnet keeps running)."""
        if self.verifier is None or self._verifier_exit_reported:
            return
        code = self.verifier.exit_code()
        if code is not None:
            self._verifier_exit_reported = True
            self.say(f"demo verifier exited with code {code}; see {self.verifier.log_path}")

    def stop(self) -> None:
        self._stop.set()
        if self.verifier is not None:
            self.verifier.stop()
        self._thread.join(timeout=30)
        self.history.close()

