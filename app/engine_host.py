"""The app's handle on the engine service: a client of its control API, never the engine itself.

The work runs in ``idlegrid daemon run`` (engine.service), one per user and data folder, so
closing the window or quitting the app leaves it running and a GUI crash cannot kill a job.
:class:`EngineHost` starts one thread that (1) starts the service when none answers, (2) sends
the keystore passphrase the shell asked for, (3) subscribes to the service's event stream and
hands every event to the bridge, whose Qt signals the windows follow. When the stream ends
while the app still runs (the service died, e.g. kill -9) the app says so through the bridge
and starts the service again; the job resumes from its last checkpoint. Commands (pause,
snooze, withdraw...) are requests sent from short-lived threads, so the GUI thread never
waits on a socket; their errors reach the user through the bridge or the caller's callback.

This module, like the whole GUI process, imports neither torch nor web3.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from pydantic import BaseModel, ConfigDict
from PySide6.QtCore import QObject, Qt, Signal

from app.bridge import EngineBridge
from app.errors import AppError
from engine.config import load_section
from engine.errors import ConfigError, IdlegridError
from engine.events import EngineEvent, EngineState, Kind
from engine.service import client
from engine.service.address import Address, address
from engine.service.errors import ProtocolError
from engine.service.protocol import event_from_json

log = logging.getLogger(__name__)
RESTART_PAUSE_S = 2.0      # between a failed start of the service and the next try
STATUS_STOPPED = "the engine service stopped unexpectedly; restarting it (the job resumes from its checkpoint)"

Launcher = Callable[[], None]
APP_SECTION = "app"


class AppSettings(BaseModel):
    """The ``[app]`` settings section."""

    model_config = ConfigDict(extra="forbid")
    quit_stops_engine: bool = False   # Quit also stops the engine service (else it keeps earning)


def quit_stops_engine() -> bool:
    """The ``[app] quit_stops_engine`` setting (a broken file: False, the work goes on)."""
    try:
        return load_section(APP_SECTION, AppSettings).quit_stops_engine
    except ConfigError:
        return False


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


class ServiceProxy:
    """What ``EngineHost.call`` hands its function: the worker's user-facing methods, as requests."""

    def __init__(self, where: Address | None) -> None:
        self.where = where

    def withdraw(self) -> str:
        return str(client.request("withdraw", where=self.where)["tx_hash"])

    def withdraw_gas_estimate(self) -> int:
        return int(client.request("gas_estimate", where=self.where)["wei"])


def daemon_launcher(*, devnet: bool | None, devnet_port: int, blob_port: int, dev_account: int | None,
                    where: Address | None = None) -> Launcher:
    """Starts ``idlegrid daemon run`` with the app's options, detached (it outlives the app)."""
    args = ["--devnet"] if devnet else ["--network"] if devnet is False else []
    args += ["--devnet-port", str(devnet_port), "--devnet-blob-port", str(blob_port)]
    if dev_account is not None:
        args += ["--dev-account", str(dev_account)]

    def launch() -> None:
        client.spawn(args, where=where)

    return launch


class EngineHost(QObject):
    """The connection to the engine service; the app's only handle on the work."""

    started = Signal(object)   # NetworkInfo, once the service reports its network
    finished = Signal()        # the connection thread ended (after stop)

    def __init__(self, bridge: EngineBridge, *, launcher: Launcher, where: Address | None = None,
                 devnet: bool = False, has_signer: bool = False, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.where = where or address()  # fixed for this app's life: one data folder, one service
        self._launch = launcher
        self._devnet = devnet
        self._has_signer = has_signer
        self._closing = threading.Event()
        self._draining = False       # stopping the service: show its last events until the stream ends
        self._thread: threading.Thread | None = None
        self._started = False
        self._answers: set[_Answer] = set()
        self.status: dict[str, Any] = {}
        self.connected = False
        self.restarts = 0            # times the service was found dead and started again
        self.network: NetworkInfo | None = None
        self.passphrase: str | None = None  # a keystore wallet's, asked by the shell; never logged
        self.worker = ServiceProxy(where)

    # lifecycle -----------------------------------------------------------------------------
    @property
    def was_started(self) -> bool:
        """start() was called."""
        return self._started

    def start(self) -> None:
        self._started = True
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._follow, name="idlegrid-service-client", daemon=True)
        self._thread.start()

    def stop(self, *, stop_service: bool = False, timeout: float = 90.0) -> None:
        """Leave the service (it keeps working), or with ``stop_service`` ask it to checkpoint and
        stop. The connection thread ends at the stream's next message (a ping at the latest) and
        never starts the service again once this was called."""
        self._draining = stop_service
        self._closing.set()
        self.connected = False
        if not stop_service:
            return
        try:
            client.stop(self.where, wait_s=timeout)
        except IdlegridError as e:
            log.warning("could not stop the engine service: %s", e.message)
        if self._thread is not None:
            self._thread.join(5.0)  # the stream ended with the service

    def devnet_mode(self) -> bool:
        """Whether the app asked for the local devnet (the service may run with its own choice)."""
        network = self.network
        return network.devnet if network is not None else self._devnet

    def has_signer(self) -> bool:
        """True when the service signs with something other than the wallet (a dev key)."""
        return self._has_signer

    def running(self) -> bool:
        """Connected to a service whose worker runs."""
        return self.connected and bool(self.status.get("running"))

    def restart(self) -> None:
        """Apply changed settings or wallet: the service rebuilds its worker (the job resumes)."""
        self._send("reload")

    def worker_status(self) -> Any:
        """The job the service reports (task_id, task_name), for the job panel; None without one."""
        job = self.status.get("job")
        return SimpleNamespace(**job) if isinstance(job, dict) else None

    # the stream ----------------------------------------------------------------------------
    def _follow(self) -> None:
        """Start the service if needed, follow its events; start it again if it dies."""
        try:
            while not self._closing.is_set():
                if not self._connect_once() and not self._closing.is_set():
                    self._closing.wait(RESTART_PAUSE_S)
        finally:
            self.connected = False
            self.finished.emit()

    def _connect_once(self) -> bool:
        """One life of the connection; False when the service could not be started."""
        try:
            if not client.is_running(self.where):
                self._state(EngineState.STARTING, "starting the engine service")
                self._launch()
            if self.passphrase is not None:
                client.request("unlock", where=self.where, passphrase=self.passphrase)
            stream = client.subscribe(self.where)
            for message in stream:
                if self._closing.is_set() and not self._draining:
                    stream.close()
                    return True
                self.connected = True
                self._on_message(message)
        except IdlegridError as e:
            self.connected = False
            if not self._closing.is_set():
                self.bridge.report(e)
                self._state(EngineState.ERROR, e.message)
            return False
        self.connected = False
        if not self._closing.is_set():
            self.restarts += 1
            self.bridge.listener(EngineEvent(Kind.LOG, STATUS_STOPPED))
            self._state(EngineState.ERROR, STATUS_STOPPED)
        return True

    def _on_message(self, message: dict[str, Any]) -> None:
        if "event" in message:
            try:
                self.bridge.listener(event_from_json(message["event"]))
            except ProtocolError as e:
                log.warning("%s", e.message)
        elif isinstance(message.get("status"), dict):
            self.status = message["status"]
            self._on_network(self.status.get("network"))

    def _on_network(self, network: Any) -> None:
        if not isinstance(network, dict):
            return
        try:
            info = NetworkInfo(int(network["chain_id"]), str(network["market"]), bool(network.get("devnet")))
        except (KeyError, TypeError, ValueError):
            return
        if info != self.network:
            self.network = info
            self.started.emit(info)

    def _state(self, state: EngineState, reason: str) -> None:
        self.bridge.listener(EngineEvent(Kind.STATE, reason, data={"state": state.value, "reason": reason}))

    # user controls -------------------------------------------------------------------------
    def pause(self, reason: str = "paused by you") -> None:
        self._send("pause", reason=reason)

    def resume(self) -> None:
        self._send("resume")

    def snooze(self, seconds: float) -> None:
        self._send("snooze", seconds=seconds)

    def _send(self, command: str, **fields: Any) -> None:
        """A command from a thread of its own; an error reaches the user through the bridge."""
        def work() -> None:
            try:
                client.request(command, where=self.where, **fields)
            except IdlegridError as e:
                self.bridge.report(e)

        threading.Thread(target=work, name=f"idlegrid-{command}", daemon=True).start()

    def call(self, fn: Callable[[ServiceProxy], Any], on_done: Callable[[Any], None],
             on_error: Callable[[IdlegridError], None] | None = None) -> None:
        """Run ``fn(proxy)`` off the GUI thread; ``on_done(result)`` or ``on_error(error)``
        then run in the GUI thread."""
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
                answer.done.emit(fn(self.worker))
            except IdlegridError as e:
                answer.failed.emit(e)
            except Exception as e:  # a bug below; the button that asked must not wait forever
                answer.failed.emit(unexpected(e))

        threading.Thread(target=work, name="idlegrid-call", daemon=True).start()


def unexpected(e: Exception) -> AppError:
    """An unexpected exception as an error the app can show; its traceback goes to the log."""
    log.error("unexpected error talking to the engine service", exc_info=e)
    return AppError(f"unexpected error: {type(e).__name__}: {e}",
                    hint="this is a bug in idlegrid; the details are in the app's log (stderr)")
