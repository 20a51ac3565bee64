"""The tray follows the app's state model and its menu drives the engine (offscreen: no tray host)."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtWidgets import QLabel

from app.application import Application
from app.bridge import EngineBridge
from app.state import Activity
from app.tray import ACTIVITY_ICONS, Tray, seconds_until_tomorrow, snooze_until_hour
from engine.config import save_section
from engine.events import EngineState
from engine.gpu.settings import PolicySettings
from tests.gui.conftest import progress_event, state_event
from tests.gui.tray_probe import Recorder


def save_policy(policy: PolicySettings) -> None:
    save_section("policy", policy)


def _tray(qapp: Application, bridge: EngineBridge) -> tuple[Tray, Recorder]:
    controls = Recorder()
    return Tray(qapp, bridge, controls), controls


def test_every_activity_has_its_icon_and_a_status_line_with_the_reason(qtbot, qapp, bridge, emit) -> None:
    tray, _ = _tray(qapp, bridge)
    assert set(ACTIVITY_ICONS) == set(Activity)
    emit(state_event(EngineState.PAUSED, "paused: game.exe uses the GPU"))
    qtbot.waitUntil(lambda: tray.icon_name == "tray-paused")
    assert tray.status_action.text() == "Paused: game.exe uses the GPU"  # not "Paused: paused: ..."
    assert tray.icon.toolTip() == "idlegrid: Paused: game.exe uses the GPU"
    emit(state_event(EngineState.NO_GPU, "no NVIDIA GPU: training on the CPU"))
    qtbot.waitUntil(lambda: tray.icon_name == "tray-no-gpu")
    assert tray.status_action.text() == "CPU mode: no NVIDIA GPU found"


def test_the_status_line_shows_progress_and_fits(qtbot, qapp, bridge, emit) -> None:
    tray, _ = _tray(qapp, bridge)
    emit(state_event(EngineState.WORKING, "training task 4"))
    emit(progress_event(4, 150, 600, 0.3, eta=125))
    qtbot.waitUntil(lambda: "25 %" in tray.status_action.text())
    assert tray.status_action.text() == "Earning: task 4 25 %, 2 min left"
    emit(state_event(EngineState.PAUSED, "paused: " + "a very long reason " * 10))
    qtbot.waitUntil(lambda: tray.status_action.text().startswith("Paused"))
    assert len(tray.status_action.text()) <= 60


def test_pause_then_resume_from_the_menu(qapp, bridge) -> None:
    tray, controls = _tray(qapp, bridge)
    tray.pause_action.trigger()
    assert tray.pause_action.text() == "Resume" and tray.status_action.text() == "Paused: by you"
    tray.pause_action.trigger()
    assert controls.calls == ["pause: paused by you", "resume"] and tray.pause_action.text() == "Pause"


def test_snooze_takes_effect_at_once_and_the_menu_then_offers_end_snooze(qtbot, qapp, bridge, emit) -> None:
    tray, controls = _tray(qapp, bridge)
    emit(state_event(EngineState.WORKING, "training task 1"))
    qtbot.waitUntil(lambda: tray.icon_name == "tray-working")
    tray.snooze_hour_action.trigger()
    # before the engine says anything: the model, and so the menu, are snoozed already
    assert controls.calls == ["snooze: 3600"] and tray.status_action.text().startswith("Snoozed: until ")
    assert tray.icon_name == "tray-paused"
    assert tray.end_snooze_action.isVisible() and not tray.pause_action.isVisible()
    assert not tray.snooze_hour_action.isVisible()
    emit(state_event(EngineState.PAUSED, "snoozed until 21:00"))  # the engine confirms a tick later
    qtbot.waitUntil(lambda: tray.status_action.text() == "Snoozed: until 21:00")
    assert tray.end_snooze_action.isVisible()
    tray.end_snooze_action.trigger()
    assert controls.calls == ["snooze: 3600", "resume"]
    assert not tray.end_snooze_action.isVisible() and tray.pause_action.isVisible()
    assert tray.pause_action.text() == "Pause" and not tray.status_action.text().startswith("Snoozed")


def test_snooze_until_tomorrow_morning(qapp, bridge) -> None:
    evening = datetime(2026, 11, 27, 22, 30, tzinfo=UTC)
    assert seconds_until_tomorrow(evening) == 9.5 * 3600
    assert seconds_until_tomorrow(evening, hour=snooze_until_hour()) == 9.5 * 3600  # [policy] default: 08:00
    save_policy(PolicySettings(snooze_until_hour=6))
    assert snooze_until_hour() == 6


def test_the_menu_opens_the_dashboard_and_quits_through_the_app(qtbot, qapp: Application, bridge) -> None:
    tray, _ = _tray(qapp, bridge)
    opened = []
    qapp.register_window("dashboard", lambda: opened.append(1) or QLabel("dashboard"))
    tray.dashboard_action.trigger()
    assert opened == [1]
    with qtbot.waitSignal(qapp.quit_requested):
        tray.quit_action.trigger()


def test_without_a_tray_host_show_says_so(qapp, bridge) -> None:
    tray, _ = _tray(qapp, bridge)
    assert tray.show() is False  # offscreen: the shell shows the dashboard instead
