"""The worker inside the service: built, run, rebuilt and stopped in one engine thread.

:class:`WorkerHost` owns the one engine thread of the service. A *generation* of that thread
(1) starts ``idlegrid devnet`` when the service works on the devnet and none answers, (2)
builds the worker (``Worker.from_settings`` unless a factory is given) and (3) runs its loop
until a reload or a stop, which set the stop event (the worker checkpoints and stops its
runner). A worker that cannot be built (no wallet, no network) is reported as an ERROR event
and the thread waits for ``reload`` (the user fixed the settings) or ``stop``. A keystore
wallet waits, locked, for ``unlock`` (the app asks the passphrase; headless:
``--passphrase-file``). User controls go to the worker, whose methods are thread-safe; a pause
asked before the worker exists is applied when it does.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from engine.errors import IdlegridError
from engine.events import EngineEvent, EngineState, Kind, Listener
from engine.service.devnet_child import (
    DevnetProcess,
    dev_signer,
    devnet_wanted,
    running_devnet,
)
from engine.service.errors import ServiceError

log = logging.getLogger(__name__)


class WorkerLike(Protocol):
    """What the service needs of engine.worker.Worker (its public API only)."""

    def run(self, stop: threading.Event) -> None: ...
    def pause(self, reason: str = ...) -> None: ...
    def resume(self) -> None: ...
    def snooze(self, seconds: float) -> None: ...
    def withdraw(self) -> str: ...
    def withdraw_gas_estimate(self) -> int: ...
    def status(self) -> Any: ...


WorkerFactory = Callable[[Listener, "str | None"], WorkerLike]


@dataclass(frozen=True)
class HostOptions:
    """How the service builds its worker (``idlegrid daemon run``'s options)."""

    devnet: bool | None = None        # None: the devnet unless the settings name a market
    devnet_port: int = 8545
    blob_port: int = 8547
    dev_account: int | None = None
    ignore_idle: bool = False
    passphrase: str | None = None

    def devnet_mode(self) -> bool:
        return self.devnet if self.devnet is not None else devnet_wanted()


class WorkerHost:
    """The engine thread and the devnet child; thread-safe controls for the control API."""

    def __init__(self, options: HostOptions, listener: Listener, factory: WorkerFactory | None = None) -> None:
        self.options = options
        self.emit = listener
        self._factory = factory
        self._passphrase = options.passphrase
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop_worker = threading.Event()
        self._closing = False
        self._thread: threading.Thread | None = None
        self.worker: WorkerLike | None = None
        self.network: dict[str, Any] | None = None
        self.devnet: DevnetProcess | None = None
        self._paused_reason: str | None = None
        self._snooze_s: float | None = None

    # lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="idlegrid-engine", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        """Checkpoint and stop the worker (and its runner), then the devnet child we started."""
        self._closing = True
        self._stop_worker.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.devnet is not None:
            self.devnet.stop()
            self.devnet = None

    def reload(self) -> None:
        """Stop the worker (checkpointed) and build a new one from the settings as they are now."""
        self._stop_worker.set()
        self._wake.set()

    def unlock(self, passphrase: str) -> None:
        """The keystore wallet's passphrase; a worker waiting for it is built (a running one stays)."""
        self._passphrase = passphrase
        if self.worker is None:
            self.reload()

    def running(self) -> bool:
        """A worker is built and its loop runs."""
        return self.worker is not None

    def _loop(self) -> None:
        while not self._closing:
            self._wake.clear()
            self._stop_worker = threading.Event()
            self._generation(self._stop_worker)
            if not self._closing and not self._stop_worker.is_set():
                self._wake.wait()  # the worker could not start: wait for reload, unlock or stop

    def _generation(self, stop: threading.Event) -> None:
        self._state(EngineState.STARTING, "starting the engine")
        try:
            devnet = self.options.devnet_mode()
            if devnet and self._factory is None:
                self._ensure_devnet(stop)
            if stop.is_set():
                return
            if self._factory is None and self._locked():
                return
            worker = self._build(devnet)
            with self._lock:
                self.worker = worker
                if self._paused_reason is not None:
                    worker.pause(self._paused_reason)
            self.network = _network_of(worker, devnet)
            worker.run(stop)
        except Exception as e:  # IdlegridError: the user's to fix; anything else: a bug, logged in full
            error = e if isinstance(e, IdlegridError) else _unexpected(e)
            self.emit(EngineEvent(Kind.ERROR, error.message, data={"hint": error.hint or ""}))
            self._state(EngineState.ERROR, error.message)
        finally:
            with self._lock:
                self.worker = None
            self.emit(EngineEvent(Kind.LOG, "engine stopped"))

    def _build(self, devnet: bool) -> WorkerLike:
        if self._factory is not None:
            return self._factory(self.emit, self._passphrase)
        from engine.worker import Worker
        from engine.worker.config import WorkerConfig

        config = WorkerConfig.from_settings(**({"ignore_idle": True} if self.options.ignore_idle else {}))
        worker: WorkerLike = Worker.from_settings(
            devnet=devnet, listener=self.emit, signer=dev_signer(self.options.dev_account, devnet),
            passphrase=self._passphrase, config=config)
        return worker

    def _locked(self) -> bool:
        """The wallet is a keystore file and no passphrase was given: say so and wait for unlock."""
        if self.options.dev_account is not None or self._passphrase is not None:
            return False
        from engine.wallet.settings import load as load_wallet

        keystore = load_wallet().keystore
        if keystore is None:
            return False
        self._state(EngineState.STOPPED, f"the wallet is locked: waiting for the passphrase of {keystore}")
        self.emit(EngineEvent(Kind.LOG, "the wallet is a keystore file: open the app to type its passphrase, "
                                        "or run `idlegrid daemon run --passphrase-file FILE`"))
        return True

    def _ensure_devnet(self, stop: threading.Event) -> None:
        if running_devnet() is not None:
            self.emit(EngineEvent(Kind.LOG, "using the local devnet that is already running"))
            return
        if self.devnet is not None and self.devnet.running():
            return
        self.emit(EngineEvent(Kind.LOG, "starting the local devnet (idlegrid devnet)"))
        self.devnet = DevnetProcess(port=self.options.devnet_port, blob_port=self.options.blob_port)
        deployment = self.devnet.start(cancel=stop)
        if deployment is not None:
            self.emit(EngineEvent(Kind.LOG, f"local devnet ready at {deployment.rpc_url}, "
                                            f"market {deployment.market_address}"))

    def _state(self, state: EngineState, reason: str) -> None:
        self.emit(EngineEvent(Kind.STATE, reason, data={"state": state.value, "reason": reason}))

    # user controls -------------------------------------------------------------------------
    def pause(self, reason: str) -> None:
        with self._lock:
            self._paused_reason = reason
            worker = self.worker
        if worker is not None:
            worker.pause(reason)

    def resume(self) -> None:
        with self._lock:
            self._paused_reason = None
            worker = self.worker
        if worker is not None:
            worker.resume()

    def snooze(self, seconds: float) -> None:
        self._need_worker().snooze(seconds)

    def withdraw(self) -> str:
        return self._need_worker().withdraw()

    def gas_estimate(self) -> int:
        return self._need_worker().withdraw_gas_estimate()

    def worker_status(self) -> Any:
        worker = self.worker
        return worker.status() if worker is not None else None

    def _need_worker(self) -> WorkerLike:
        worker = self.worker
        if worker is None:
            raise ServiceError("the engine is not working yet (starting, locked or stopped on an error)",
                               hint="see `idlegrid status` for why, then try again")
        return worker


def _network_of(worker: WorkerLike, devnet: bool) -> dict[str, Any] | None:
    market = getattr(worker, "market", None)
    chain_id = getattr(worker, "chain_id", None)
    if market is None or chain_id is None:
        return None
    return {"chain_id": int(chain_id), "market": str(market.address), "devnet": devnet}


def _unexpected(e: Exception) -> ServiceError:
    log.error("unexpected error in the engine", exc_info=e)
    return ServiceError(f"unexpected error: {type(e).__name__}: {e}",
                        hint=f"this is a bug in idlegrid; the details are in the service's log (pid {os.getpid()})")
