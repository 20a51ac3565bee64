"""Runs the engine for the app: the devnet child if needed, then the worker in its own thread.

The GUI thread never waits on the chain or the runner. :class:`EngineHost` starts one daemon
thread that (1) starts ``idlegrid devnet`` when no network is configured and none answers,
(2) builds the worker (``Worker.from_settings`` unless a factory is given) and (3) runs its
loop until :meth:`EngineHost.stop`, which sets the stop event (the worker checkpoints and stops
its runner), joins the thread and stops the devnet child. Errors reach the user as ERROR events
through the bridge. User controls (pause, snooze, withdraw) go to the worker, whose methods
are thread-safe; slow ones (withdraw, its gas estimate) run in a short-lived thread and answer
through a signal.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from PySide6.QtCore import QObject, Qt, Signal

from app.bridge import EngineBridge
from app.devnet_process import DevnetProcess, dev_signer, devnet_wanted, running_devnet
from app.errors import AppError
from engine.errors import IdlegridError
from engine.events import EngineEvent, EngineState, Kind, Listener


class WorkerLike(Protocol):
    """What the app needs of engine.worker.Worker."""

    def run(self, stop: threading.Event) -> None: ...
    def pause(self, reason: str = ...) -> None: ...
    def resume(self) -> None: ...
    def snooze(self, seconds: float) -> None: ...
    def withdraw(self) -> str: ...
    def withdraw_gas_estimate(self) -> int: ...
    def status(self) -> object: ...  # engine.worker.WorkerStatus (not imported: it would pull web3 in)


WorkerFactory = Callable[[Listener], WorkerLike]
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NetworkInfo:
    """Which chain and market the worker uses (for the earnings and history panels)."""

    chain_id: int
    market: str
    devnet: bool


class _Answer(QObject):
    """Carries a background call's result back to the GUI thread."""

    done = Signal(object)
    failed = Signal(object)


class EngineHost(QObject):
    """Owns the engine thread and the devnet child; the app's only handle on the worker."""

    started = Signal(object)   # NetworkInfo, once the worker runs
    finished = Signal()        # the engine thread ended (after stop, or an error at start)

    def __init__(self, bridge: EngineBridge, *, devnet: bool | None = None, devnet_port: int = 8545,
                 blob_port: int = 8547, dev_account: int | None = None, worker_factory: WorkerFactory | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self._devnet_choice = devnet
        self._devnet_port = devnet_port
        self._blob_port = blob_port
        self._factory = worker_factory
        self._dev_account = dev_account
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.devnet: DevnetProcess | None = None
        self.worker: WorkerLike | None = None
        self.network: NetworkInfo | None = None
        self._answers: set[_Answer] = set()
        self._paused_reason: str | None = None
        self._started = False
        self._closing = False
        self.passphrase: str | None = None  # a keystore wallet's, asked by the shell; never logged

    # lifecycle -----------------------------------------------------------------------------
    @property
    def was_started(self) -> bool:
        """start() was called (the engine may have stopped since, e.g. on an error)."""
        return self._started

    def start(self) -> None:
        self._started = True
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="idlegrid-engine", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        """Checkpoint and stop the worker (and its runner), then the devnet child we started."""
        self._closing = True  # a restart under way does not start a new worker
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.devnet is not None:
            self.devnet.stop()
            self.devnet = None

    def devnet_mode(self) -> bool:
        """Whether the engine works (or will work) on the local devnet."""
        return self._devnet_choice if self._devnet_choice is not None else devnet_wanted()

    def has_signer(self) -> bool:
        """True when the worker signs with something other than the wallet (a dev key, a test's worker)."""
        return self._factory is not None or self._dev_account is not None

    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def restart(self) -> None:
        """Apply changed settings or wallet: checkpoint and stop the worker, then build and run a
        new one (off the GUI thread). A devnet child stays unless the network no longer needs it."""
        def again() -> None:
            self._stop.set()
            if self._thread is not None:
                self._thread.join()
            if self.devnet is not None and not self.devnet_mode():
                self.devnet.stop()
                self.devnet = None
            if self._closing:
                return
            self._stop = threading.Event()
            self._thread, self.worker, self.network = None, None, None
            self.start()

        threading.Thread(target=again, name="idlegrid-restart", daemon=True).start()

    def _run(self) -> None:
        emit = self.bridge.listener
        emit(EngineEvent(Kind.STATE, "starting", data={"state": EngineState.STARTING.value,
                                                        "reason": "starting the engine"}))
        try:
            devnet = self.devnet_mode()
            if devnet and self._factory is None:
                self._ensure_devnet()
            if self._stop.is_set():
                return
            worker = (self._factory or _default_factory(devnet, self._dev_account, self.passphrase))(emit)
            self.worker = worker
            if self._paused_reason is not None:
                worker.pause(self._paused_reason)
            self.network = _network_of(worker, devnet)
            self.started.emit(self.network)
            worker.run(self._stop)
        except Exception as e:  # IdlegridError: the user's to fix; anything else: a bug, logged in full
            error = e if isinstance(e, IdlegridError) else unexpected(e)
            self.bridge.report(error)
            emit(
                EngineEvent(Kind.STATE, error.message, data={"state": EngineState.ERROR.value, "reason": error.message})
            )
        finally:
            emit(EngineEvent(Kind.LOG, "engine stopped"))
            self.finished.emit()

    def _ensure_devnet(self) -> None:
        if running_devnet() is not None:
            self.bridge.listener(EngineEvent(Kind.LOG, "using the local devnet that is already running"))
            return
        self.bridge.listener(EngineEvent(Kind.LOG, "starting the local devnet (idlegrid devnet)"))
        self.devnet = DevnetProcess(port=self._devnet_port, blob_port=self._blob_port)
        deployment = self.devnet.start(cancel=self._stop)
        if deployment is None:
            return
        self.bridge.listener(EngineEvent(Kind.LOG, f"local devnet ready at {deployment.rpc_url}, "
                                                   f"market {deployment.market_address}"))

    # user controls -------------------------------------------------------------------------
    def pause(self, reason: str = "paused by you") -> None:
        self._paused_reason = reason
        if self.worker is not None:
            self.worker.pause(reason)

    def resume(self) -> None:
        self._paused_reason = None
        if self.worker is not None:
            self.worker.resume()

    def snooze(self, seconds: float) -> None:
        if self.worker is not None:
            self.worker.snooze(seconds)

    def call(self, fn: Callable[[WorkerLike], Any], on_done: Callable[[Any], None],
             on_error: Callable[[IdlegridError], None] | None = None) -> None:
        """Run ``fn(worker)`` off the GUI thread; ``on_done(result)`` or ``on_error(error)``
        then run in the GUI thread. Without a worker yet, ``on_error`` gets an error saying so."""
        answer = _Answer()
        self._answers.add(answer)
        failed = on_error or self.bridge.report

        def deliver(callback: Callable[[Any], None], value: Any) -> None:
            self._answers.discard(answer)  # kept alive until its answer reached the GUI thread
            callback(value)

        answer.done.connect(lambda value: deliver(on_done, value), Qt.ConnectionType.QueuedConnection)
        answer.failed.connect(lambda error: deliver(failed, error), Qt.ConnectionType.QueuedConnection)

        def work() -> None:
            try:
                if self.worker is None:
                    raise IdlegridError("the engine is still starting", hint="try again in a moment")
                answer.done.emit(fn(self.worker))
            except IdlegridError as e:
                answer.failed.emit(e)
            except Exception as e:  # a bug below; the button that asked must not wait forever
                answer.failed.emit(unexpected(e))

        threading.Thread(target=work, name="idlegrid-call", daemon=True).start()


def unexpected(e: Exception) -> AppError:
    """An unexpected exception as an error the app can show; its traceback goes to the log."""
    log.error("unexpected error in the engine", exc_info=e)
    return AppError(f"unexpected error: {type(e).__name__}: {e}",
                    hint="this is a bug in idlegrid; the details are in the app's log (stderr)")


def _default_factory(devnet: bool, dev_account: int | None, passphrase: str | None) -> WorkerFactory:
    def build(listener: Listener) -> WorkerLike:
        from engine.worker import Worker  # the engine's heavy imports stay out of app start-up

        return Worker.from_settings(devnet=devnet, listener=listener, signer=dev_signer(dev_account, devnet),
                                    passphrase=passphrase)

    return build


def _network_of(worker: WorkerLike, devnet: bool) -> NetworkInfo | None:
    market = getattr(worker, "market", None)
    chain_id = getattr(worker, "chain_id", None)
    if market is None or chain_id is None:
        return None
    return NetworkInfo(chain_id=int(chain_id), market=str(market.address), devnet=devnet)
