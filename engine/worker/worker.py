"""The worker: finds tasks on the market, trains them when the machine is idle, gets paid.

One turn of the state machine (:meth:`Worker.step`) does the first thing that is due:

1. **reconcile**: finish chain writes a crash or an outage left open (:mod:`engine.roles.txjournal`);
2. **advance** a job this worker holds, as the chain says it stands: train it (the runner
   subprocess under the idle policy, :class:`engine.worker.controller.YieldController`), upload its
   checkpoints and result manifest, commit the Merkle root, wait out the challenge window,
   finalize, record what it earned;
3. **discover** a new task (market events, and a scan of the open tasks at start), **evaluate**
   it (download the spec blob, check its sha256 against the on-chain specHash, validate it,
   :mod:`engine.worker.fit`: memory, time, pay) and **claim** it with the task's stake.

Crash safety: every chain write is journaled before it is signed and its signed bytes before
they are sent; the job row in the history says how far the job got, and is written before
each step acts. On restart open journal entries are reconciled (never a second claim or
commit) and each job is re-read from the chain, so a crash at any point loses nothing: the
runner resumes training from the job folder, uploads are content-addressed (redoing one is
harmless), and the root is recomputed from the job folder and checked against the one
journaled. A network outage only makes the worker wait ("waiting for the network").

Torch-free: this module runs in the desktop app's process; training runs in the runner.
"""


from __future__ import annotations

import threading
import time
from typing import Any

from engine.chain.errors import RpcUnreachable, TransactionTimeout
from engine.errors import IdlegridError
from engine.events import EngineState, Listener, ignore
from engine.storage.errors import StorageUnavailable
from engine.worker.config import WorkerConfig
from engine.worker.discovery import Discovery
from engine.worker.states import WorkerStatus


class Worker(Discovery):
    """The worker state machine; see the module docstring. Thread-safe user controls.

    Its concerns live one module each (:mod:`engine.worker.discovery`, :mod:`.jobs`,
    :mod:`.settlement`, :mod:`.upload`, :mod:`.training`, :mod:`.reporting`, :mod:`.base`);
    this class adds construction from the settings, the user's controls and the loop.
    """

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_settings(cls, *, devnet: bool = False, listener: Listener = ignore, signer: Any = None,
                      passphrase: Any = None, config: WorkerConfig | None = None) -> Worker:
        """A worker on the configured network (or the local devnet), signing with the wallet
        (``signer`` overrides it: the CLI's ``--dev-account``), with the ``[worker]``,
        ``[gpu]`` and ``[policy]`` settings. On the devnet CPU training is allowed."""
        from engine.chain.devnet import network_settings
        from engine.chain.market import open_market
        from engine.config import paths
        from engine.history import History
        from engine.storage import open_store
        from engine.wallet import load_signer

        network = network_settings(devnet=devnet)
        config = config or WorkerConfig.from_settings()
        if signer is None:
            signer = load_signer(passphrase, chain_id=network.chain_id)
        market = open_market(network, signer)
        location = network.blob_url or str(paths().blobs_dir)
        store = open_store(location, cache=paths().cache_dir / "blobs")
        backend = None
        if devnet:
            from engine.gpu import open_backend
            from engine.gpu.settings import devnet_gpu_settings

            backend = open_backend(devnet_gpu_settings())
        return cls(market, store, History.open(), config=config, listener=listener, gpu_backend=backend)

    # ------------------------------------------------------------------ user controls

    def pause(self, reason: str = "paused by you") -> None:
        """Stop training (the runner checkpoints and exits) and claim nothing until resume()."""
        with self._lock:
            self._pause_reason = reason
            self.policy.pause()
        self._set_state(EngineState.PAUSED, reason)

    def resume(self) -> None:
        """End a pause or snooze; the idle policy's other rules still apply."""
        with self._lock:
            self._pause_reason = None
            self.policy.resume()
        self._set_state(EngineState.WAITING, "resumed")

    def snooze(self, seconds: float) -> None:
        """Pause for ``seconds``, then go on by itself."""
        from datetime import datetime

        until = self.policy.snooze_for(datetime.now().astimezone(), seconds)
        self._set_state(EngineState.PAUSED, f"snoozed until {until:%H:%M}")

    def request_stop(self) -> None:
        """Make a running step() (and run()) return soon; training in progress is checkpointed."""
        self._stop.set()

    def status(self) -> WorkerStatus:
        with self._lock:
            return self._status

    @property
    def done(self) -> bool:
        """True once ``max_tasks`` tasks were claimed or resumed by this run and all have ended."""
        limit = self.config.max_tasks
        return limit is not None and len(self._handled) >= limit and not self._active_records()

    # ------------------------------------------------------------------ the loop

    def run(self, stop: threading.Event) -> None:
        """Turn the state machine until ``stop`` is set (or ``done``); training in progress is
        checkpointed before it returns. Errors the user must act on are reported and retried."""
        self._stop = stop
        self._set_state(EngineState.WAITING, "looking for tasks")
        self._runners.warm()
        try:
            while not stop.is_set() and not self.done:
                try:
                    busy = self.step()
                except IdlegridError as e:
                    self._error(e)
                    busy = False
                if not busy and not self.done:
                    self._idle_wait(stop)
        finally:
            for uploader in self._uploaders.values():
                uploader.close(wait=False)
            self._uploaders.clear()
            self._runners.close()
            self._set_state(EngineState.STOPPED, "stopped")

    def _idle_wait(self, stop: threading.Event) -> None:
        """Wait up to ``poll_s`` for the next turn, asking the market's log filter every
        ``follow_s`` for new events: a task posted (or any market event) wakes the loop at once
        instead of at the end of the wait. The chain errors a turn would report end the wait too."""
        deadline = time.monotonic() + self.config.poll_s
        while not stop.wait(min(self.config.follow_s, max(0.0, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                return
            try:
                if self._follower is not None and self._poll_events():
                    return
            except IdlegridError:
                return  # the next turn meets it and reports it

    def step(self) -> bool:
        """One turn (see the module docstring); False when there was nothing to do now."""
        self._turn_now = None
        try:
            if self._reconcile():
                return True
            self._poll_events()
            self._network_up()
            for record in self._active_records():
                if self._advance(record):
                    return True
            if self._may_claim():
                return self._discover()
            return False
        except (RpcUnreachable, TransactionTimeout, StorageUnavailable) as e:
            self._network_down(e)
            return False
