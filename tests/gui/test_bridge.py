"""The bridge delivers engine events from engine threads to the GUI thread, one signal per kind."""

from __future__ import annotations

import threading

from PySide6.QtCore import QThread

from app.bridge import PROGRESS_BACKLOG, EngineBridge
from engine.events import EngineEvent, EngineState, Kind
from engine.wallet.errors import WalletError
from tests.gui.conftest import progress_event, state_event


def test_events_from_an_engine_thread_arrive_in_the_gui_thread_on_their_kind_signal(
    qtbot, bridge: EngineBridge
) -> None:
    got: list[tuple[str, object, bool]] = []
    for name in ("state_changed", "job", "notice", "log"):
        getattr(bridge, name).connect(
            lambda e, n=name: got.append((n, e.message, QThread.currentThread() is bridge.thread()))
        )
    events = [state_event(EngineState.WAITING, "waiting for idle"), EngineEvent(Kind.JOB, "claimed", 3),
              EngineEvent(Kind.NOTICE, "paid", 3), EngineEvent(Kind.LOG, "hello")]
    t = threading.Thread(target=lambda: [bridge.listener(e) for e in events])
    t.start()
    t.join()
    qtbot.waitUntil(lambda: len(got) == 4)
    assert got == [("state_changed", "waiting for idle", True), ("job", "claimed", True), ("notice", "paid", True),
                   ("log", "hello", True)]
    assert bridge.state() == (EngineState.WAITING, "waiting for idle")


def test_progress_waiting_for_a_busy_gui_is_bounded_to_the_newest_in_order(qtbot, bridge: EngineBridge) -> None:
    seen: list[int] = []
    bridge.progress.connect(lambda e: seen.append(e.data["step"]))
    t = threading.Thread(target=lambda: [bridge.listener(progress_event(1, s, 5000, 1.0)) for s in range(1, 5001)])
    t.start()
    t.join()  # the GUI thread ran nothing meanwhile: all 5000 waited for it
    qtbot.waitUntil(lambda: bool(seen) and seen[-1] == 5000)
    assert seen == list(range(5001 - PROGRESS_BACKLOG, 5001))


def test_a_reported_error_becomes_an_error_event_with_its_hint(qtbot, bridge: EngineBridge) -> None:
    with qtbot.waitSignal(bridge.error) as blocker:
        bridge.report(WalletError("no wallet yet", hint="create one: idlegrid wallet create"))
    event = blocker.args[0]
    assert (event.kind, event.message, event.data["hint"]) == (
        Kind.ERROR,
        "no wallet yet",
        "create one: idlegrid wallet create",
    )


def test_an_unknown_state_value_reads_as_error(qtbot, bridge: EngineBridge) -> None:
    with qtbot.waitSignal(bridge.state_changed):
        bridge.listener(EngineEvent(Kind.STATE, "??", data={"state": "dancing"}))
    assert bridge.state()[0] is EngineState.ERROR
