"""Shared fixtures of the desktop-app tests (pytest-qt, offscreen; tests/conftest.py gives each
test its own IDLEGRID_HOME).

- ``qapp`` is idlegrid's own :class:`app.application.Application` (pytest-qt's ``qapp_cls``).
- ``bridge``: a fresh EngineBridge; ``emit`` sends it events as the engine would (from a thread).
- after each test the windows the app opened are closed and the single-instance server released.
- ``no_service_left``: for tests that start a real engine service; afterwards, pass or fail, it
  is stopped and whatever it left is killed by pid.
- pytest-qt's waits default to 30 s, not 5 s: a condition met by a thread or a subprocess can
  take longer than 5 s on a loaded CI machine, and a wait that is met returns at once anyway.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.application import Application
from app.bridge import EngineBridge
from engine.events import EngineEvent, EngineState, Kind
from tests.gui.leftovers import stop_service_and_leftovers

CHAIN_FIXTURES = "tests.integration.chain.fixtures"  # anvil_node, deployment, chain, accounts, market_for


LOADED_MACHINE_WAIT_MS = 30_000


def _patient(wait: Callable[..., Any]) -> Callable[..., Any]:
    """``wait`` with a default timeout a loaded machine can meet (an explicit one still wins)."""
    def patient(*args: Any, timeout: int = LOADED_MACHINE_WAIT_MS, **kwargs: Any) -> Any:
        return wait(*args, timeout=timeout, **kwargs)
    return patient


for _name in ("waitUntil", "waitSignal", "waitSignals", "waitCallback"):
    setattr(QtBot, _name, _patient(getattr(QtBot, _name)))


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin(CHAIN_FIXTURES):
        config.pluginmanager.import_plugin(CHAIN_FIXTURES)


@pytest.fixture(scope="session")
def qapp_cls() -> type[Application]:
    return Application


@pytest.fixture(autouse=True)
def _clean_app(qapp: Application) -> Iterator[None]:
    yield
    qapp.forget_windows()
    qapp.release_single_instance()
    for widget in qapp.topLevelWidgets():
        if hasattr(widget, "shutdown"):  # the dashboard: stop its timers, close without asking
            widget.shutdown()
        widget.close()
        widget.deleteLater()
    qapp.processEvents()


@pytest.fixture(autouse=True)
def _no_service_left(qapp: Application) -> Iterator[None]:
    """The app starts an engine service for the test's IDLEGRID_HOME and Quit leaves it
    running (by design): after the test, every app's connection is closed (else it would start
    the service again), then the service is stopped."""
    yield
    from app.engine_host import EngineHost
    from engine.service import client

    for host in qapp.findChildren(EngineHost):
        host.stop()
    if client.is_running():
        client.stop(wait_s=60)


@pytest.fixture
def no_service_left(qapp: Application, idlegrid_home: Path) -> Iterator[None]:
    """Afterwards, pass or fail: every app's connection closed (a live one would start the
    service again), ``idlegrid daemon stop``, then SIGKILL by pid of whatever still carries the
    test's home (a service killed -9 leaves its runner behind; a failed stop leaves the service)."""
    from app.engine_host import EngineHost

    since = time.time()
    yield
    for host in qapp.findChildren(EngineHost):
        host.stop()
    stop_service_and_leftovers(idlegrid_home, since)


@pytest.fixture
def bridge(qapp: Application) -> Iterator[EngineBridge]:
    b = EngineBridge()
    yield b
    b.deleteLater()


@pytest.fixture
def emit(bridge: EngineBridge) -> Callable[[EngineEvent], None]:
    """Deliver an event through the bridge from an engine thread, as the worker does."""

    def send(event: EngineEvent) -> None:
        t = threading.Thread(target=bridge.listener, args=(event,))
        t.start()
        t.join()

    return send


def noon_today() -> float:
    """Today at 12:00 local time: a clock for tests of "today" whose hour of work before it never
    crosses midnight (they failed between 00:00 and 01:00 when they used the real clock)."""
    return datetime.now().replace(hour=12, minute=0, second=0, microsecond=0).timestamp()


def state_event(state: EngineState, reason: str = "") -> EngineEvent:
    return EngineEvent(Kind.STATE, reason or state.value, data={"state": state.value, "reason": reason})


def progress_event(task_id: int, step: int, steps: int, loss: float, *, rate: float = 1000.0,
                   eta: float | None = 60.0) -> EngineEvent:
    return EngineEvent(Kind.PROGRESS, f"step {step}/{steps}", task_id,
                       {"step": step, "steps": steps, "loss": loss, "samples_per_s": rate, "eta_s": eta})
