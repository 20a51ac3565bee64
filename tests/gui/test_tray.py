"""The tray follows the engine's state and its menu drives the engine (offscreen: no tray host)."""

from __future__ import annotations

from datetime import datetime, timezone

from PySide6.QtWidgets import QLabel

from app.application import Application
from app.bridge import EngineBridge
from app.tray import STATE_ICONS, Tray, seconds_until_tomorrow, snooze_until_hour
from engine.config import save_section
from engine.gpu.settings import PolicySettings
from engine.events import EngineState
from tests.gui.conftest import progress_event, state_event
from tests.gui.tray_probe import Recorder


def save_policy(policy: PolicySettings) -> None:
    save_section("policy", policy)


def _tray(qapp: Application, bridge: EngineBridge) -> tuple[Tray, Recorder]:
    controls = Recorder()
    return Tray(qapp, bridge, controls), controls


def test_every_engine_state_has_its_icon_and_a_status_line_with_the_reason(qtbot, qapp, bridge, emit) -> None:
    tray, _ = _tray(qapp, bridge)
    assert set(STATE_ICONS) == set(EngineState)
    emit(state_event(EngineState.PAUSED, "game.exe uses the GPU"))
    qtbot.waitUntil(lambda: tray.icon_name == "tray-paused")
    assert tray.status_action.text() == "Paused: game.exe uses the GPU"
    assert tray.icon.toolTip() == "idlegrid: Paused: game.exe uses the GPU"
    emit(state_event(EngineState.NO_GPU, "no NVIDIA GPU: training on the CPU"))
    qtbot.waitUntil(lambda: tray.icon_name == "tray-no-gpu")


def test_the_status_line_shows_progress(qtbot, qapp, bridge, emit) -> None:
    tray, _ = _tray(qapp, bridge)
    emit(progress_event(4, 150, 600, 0.3, eta=125))
    qtbot.waitUntil(lambda: "25%" in tray.status_action.text())
    assert tray.status_action.text() == "Working on task 4: 25% (step 150/600), 2 min left"


def test_pause_then_resume_from_the_menu(qapp, bridge) -> None:
    tray, controls = _tray(qapp, bridge)
    tray.pause_action.trigger()
    assert tray.pause_action.text() == "Resume"
    tray.pause_action.trigger()
    assert controls.calls == ["pause: paused by you", "resume"] and tray.pause_action.text() == "Pause"


def test_snooze_for_an_hour_and_until_tomorrow_morning(qapp, bridge) -> None:
    tray, controls = _tray(qapp, bridge)
    tray.snooze_hour_action.trigger()
    assert controls.calls == ["snooze: 3600"] and tray.status_action.text() == "snoozed for 1 h 00 min"
    evening = datetime(2026, 11, 27, 22, 30, tzinfo=timezone.utc)
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
