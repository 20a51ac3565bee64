"""The per-user engine service: ``idlegrid daemon run``.

One long-running process holds the worker (with its runner pool and history), the devnet
child when it works on the devnet, and the control API every client uses: the app, the CLI
(``idlegrid status|pause|resume|snooze|withdraw``), tests. Closing or crashing a client never
touches the work. Start-up order: take the instance lock (a second service says who holds
it), remove a dead service's socket file (the lock proves it is dead), listen, then start the
engine thread. Stop (SIGINT, SIGTERM or the ``stop`` command): checkpoint the job, stop the
devnet child, close the API, release the lock.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from typing import Any

from engine.events import EngineState, Kind
from engine.service.address import Address, address
from engine.service.hub import EventHub
from engine.service.lock import InstanceLock
from engine.service.protocol import Command, Request
from engine.service.server import ControlServer
from engine.service.transport import PipeListener, SocketListener, StreamListener
from engine.service.workhost import HostOptions, WorkerFactory, WorkerHost

READY_LINE = "idlegrid daemon: listening at"
log = logging.getLogger(__name__)


class Service:
    """Lock, control API and engine thread of one data folder."""

    def __init__(self, options: HostOptions, *, where: Address | None = None,
                 factory: WorkerFactory | None = None) -> None:
        self.where = where or address()
        self.lock = InstanceLock(self.where.lock)
        self.hub = EventHub(self.status)
        self.host = WorkerHost(options, self.hub.listener, factory)
        self.started_at = time.time()
        self.stopped = threading.Event()
        self._server: ControlServer | None = None

    def start(self) -> None:
        """Take the lock, listen, start the engine; AlreadyRunning when another service has the lock."""
        self.lock.acquire()
        try:
            listener = self._listen()
        except BaseException:
            self.lock.release()
            raise
        self._server = ControlServer(listener, self.handle, self.hub, on_stop=self._stop_soon)
        self._server.start()
        self.host.start()

    def _listen(self) -> StreamListener:
        if self.where.pipe:
            return PipeListener(self.where.endpoint)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.where.endpoint)  # a dead service's socket: we hold the lock, so it is dead
        return SocketListener(self.where.endpoint)

    def stop(self) -> None:
        """Checkpoint and stop the work, close the API, release the lock (idempotent)."""
        if self.stopped.is_set():
            return
        self.host.stop()
        if self._server is not None:
            self._server.close()
        self.lock.release()
        self.stopped.set()

    def _stop_soon(self) -> None:
        threading.Thread(target=self.stop, name="idlegrid-stop", daemon=True).start()

    def handle(self, request: Request) -> dict[str, Any]:
        """One control command (the server turns errors into answers)."""
        command = request.command
        if command is Command.STATUS:
            return self.status()
        if command is Command.PAUSE:
            self.host.pause(request.reason or "paused by you")
        elif command in (Command.RESUME, Command.END_SNOOZE):
            self.host.resume()
        elif command is Command.SNOOZE:
            assert request.seconds is not None
            self.host.snooze(request.seconds)
        elif command is Command.WITHDRAW:
            return {"tx_hash": self.host.withdraw()}
        elif command is Command.GAS_ESTIMATE:
            return {"wei": str(self.host.gas_estimate())}
        elif command is Command.UNLOCK:
            assert request.passphrase is not None
            self.host.unlock(request.passphrase)
        elif command is Command.RELOAD:
            self.host.reload()
        elif command is Command.STOP:
            return {"stopping": True}  # the server calls _stop_soon once this answer is written
        return self.status()

    def status(self) -> dict[str, Any]:
        """What ``idlegrid status`` prints and the app shows (plain JSON values)."""
        worker = self.host.worker_status()
        last = self.hub.last.get(Kind.STATE)
        state = worker.state.value if worker is not None else (
            str(last.data.get("state")) if last is not None else EngineState.STARTING.value)
        reason = worker.reason if worker is not None else (str(last.data.get("reason", "")) if last else "starting")
        status: dict[str, Any] = {"pid": os.getpid(), "state": state, "reason": reason,
                                  "running": self.host.running(), "network": self.host.network,
                                  "devnet_child": self.host.devnet is not None and self.host.devnet.running(),
                                  "uptime_s": round(time.time() - self.started_at, 1)}
        if worker is not None and worker.task_id is not None:
            status["job"] = {"task_id": worker.task_id, "task_name": worker.task_name, "step": worker.step,
                             "steps": worker.steps, "loss": worker.loss, "eta_s": worker.eta_s}
        earnings = self.hub.last.get(Kind.EARNINGS)
        if earnings is not None:
            status["earnings"] = dict(earnings.data)
        return status


def run(options: HostOptions) -> int:
    """Run the service in this process until SIGINT/SIGTERM or ``stop``; the exit code."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    service = Service(options)
    _log_events(service)  # before start: the first events are logged too
    service.start()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: threading.Thread(target=service.stop, daemon=True).start())
    print(f"{READY_LINE} {service.where.endpoint} (pid {os.getpid()})", file=sys.stderr, flush=True)
    while not service.stopped.wait(3600):
        pass
    print("idlegrid daemon: stopped", file=sys.stderr, flush=True)
    return 0


def _log_events(service: Service) -> None:
    """The daemon's own log (stderr, or the journal under systemd): one line per event; of progress only
    each task's first training step (what `make run` and bench.firstjob watch for)."""
    progressing: set[int] = set()  # tasks whose first progress line was written: one each, not every step

    def write(message: dict[str, Any]) -> None:
        event = message.get("event")
        if (event and event["kind"] == Kind.PROGRESS.value and event.get("task_id") not in progressing
                and int((event.get("data") or {}).get("step") or 0) > 0):
            progressing.add(event.get("task_id"))
            print(f"progress task {event.get('task_id')}: {event['message']}", file=sys.stderr, flush=True)
        elif event and event["kind"] not in (Kind.PROGRESS.value, Kind.GPU.value):
            task = f" task {event['task_id']}" if event.get("task_id") is not None else ""
            print(f"{event['kind']}{task}: {event['message']}", file=sys.stderr, flush=True)

    q, _ = service.hub.subscribe()

    def pump() -> None:
        while (message := q.get()) is not None:
            write(message)

    threading.Thread(target=pump, name="idlegrid-log", daemon=True).start()
