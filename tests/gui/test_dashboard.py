"""The dashboard's panels follow the state model and the engine's events; closing it without a
tray asks to quit."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app.application import Application
from app.bridge import EngineBridge
from app.dashboard import DashboardWindow
from app.dashboard.earnings_panel import EarningsPanel
from app.dashboard.event_log import EventLog
from app.dashboard.gpu_panel import GpuPanel, snapshot_lines
from app.dashboard.job_panel import JobPanel
from app.state import AppState
from engine.events import EngineEvent, EngineState, Kind
from engine.gpu.monitor import DeviceSnapshot, GpuProcess, GpuSnapshot, NoGpu
from engine.gpu.nogpu import CpuBackend
from tests.gui.conftest import progress_event, state_event


def test_the_job_panel_shows_progress_loss_speed_eta_and_the_loss_curve(qtbot, bridge: EngineBridge, emit) -> None:
    panel = JobPanel(AppState(bridge))
    qtbot.addWidget(panel)
    panel.show()
    emit(state_event(EngineState.WORKING, "training task 7"))
    emit(EngineEvent(Kind.JOB, "claimed", 7, {"state": "claimed", "name": "digits-mlp"}))
    for step, loss in ((100, 2.0), (200, 1.0), (300, 0.5)):
        emit(progress_event(7, step, 600, loss, rate=12345.6, eta=90))
    qtbot.waitUntil(lambda: panel.bar.value() == 300)
    assert panel.job_title.text() == "Task 7: Training a digits model"
    assert (panel.bar.maximum(), panel.loss.text(), panel.speed.text(), panel.eta.text()) == (
        600,
        "0.5000",
        "12,346",
        "1 min",
    )
    qtbot.waitUntil(lambda: len(panel.chart.xs) == 3)
    assert panel.chart.xs == [100, 200, 300] and panel.chart.ys == [2.0, 1.0, 0.5]


def test_a_resumed_runner_repeating_steps_does_not_draw_the_curve_backwards(qtbot, bridge: EngineBridge, emit) -> None:
    state = AppState(bridge)
    for step in (100, 200, 300, 200, 250):
        emit(progress_event(1, step, 600, 1.0 / step))
    qtbot.waitUntil(lambda: state.now.points[-1:] == ((250, 1.0 / 250),))
    assert [p[0] for p in state.now.points] == [100, 200, 250]


def test_the_job_panel_says_why_it_is_paused(qtbot, bridge: EngineBridge, emit) -> None:
    panel = JobPanel(AppState(bridge))
    qtbot.addWidget(panel)
    emit(state_event(EngineState.PAUSED, "game.exe is using the GPU"))
    qtbot.waitUntil(lambda: panel.state.text() == "Paused: game.exe is using the GPU")


def test_the_gpu_panel_names_the_process_in_the_way() -> None:
    snap = GpuSnapshot("nvml", 0.0, (DeviceSnapshot(
        0, "RTX 4090", utilization_pct=97, memory_used_mib=20000, memory_total_mib=24564, temperature_c=71,
        processes=(GpuProcess(4242, "game.exe", "graphics", 18000), GpuProcess(1, "runner", "compute", own=True))),))
    lines = snapshot_lines(snap)
    assert lines["Others using it"] == "game.exe"
    assert (lines["Utilisation"], lines["Memory"], lines["Temperature"]) == ("97 %", "20,000 / 24,564 MiB", "71 °C")
    assert (lines["Power"], lines["Fan"]) == ("not reported", "not reported")
    none = snapshot_lines(GpuSnapshot("none", 0.0, (), NoGpu("libnvidia-ml.so.1 not loadable")))
    assert (none["Device"], none["Note"]) == ("No GPU found", "No NVIDIA driver found: idlegrid cannot use a GPU here")


def test_the_gpu_panel_polls_a_real_backend_only_while_visible(qtbot, bridge: EngineBridge) -> None:
    state = AppState(bridge)
    panel = GpuPanel(state, lambda: CpuBackend(NoGpu("no NVIDIA GPU here")))
    qtbot.addWidget(panel)
    assert not panel.timer.isActive()
    panel.show()
    assert panel.timer.isActive() and panel.timer.interval() >= 2000
    assert panel.labels["Note"].text() == "CPU mode: no NVIDIA GPU found, so idlegrid trains on the CPU"
    assert panel.labels["Others using it"].text().startswith("other programs use ")
    assert panel.labels["Others using it"].text().endswith(" of the CPU") and state.now.cpu_mode
    assert panel.labels["Memory"].text().endswith("MiB")
    panel.hide()
    assert not panel.timer.isActive()
    panel.close_backend()


def test_earnings_show_totals_and_the_withdraw_button_says_its_fee(qtbot, bridge: EngineBridge, emit) -> None:
    sent: list[str] = []

    def gas(done, failed) -> None:
        QTimer.singleShot(0, lambda: done(21_000 * 2_000_000_000))

    def withdraw(done, failed) -> None:
        sent.append("withdraw")
        QTimer.singleShot(0, lambda: done("0x" + "ab" * 32))

    panel = EarningsPanel(bridge, withdraw=withdraw, gas_estimate=gas, confirm=lambda _parent, _plan: True)
    qtbot.addWidget(panel)
    assert not panel.withdraw_button.isEnabled()
    emit(EngineEvent(Kind.EARNINGS, "earnings", None, {"pending": 10**18, "claimable": 25 * 10**17, "withdrawn": 0}))
    qtbot.waitUntil(lambda: "fee" in panel.withdraw_button.text())
    assert panel.withdraw_button.text() == "Withdraw 2.5 ETH… (fee ≈ 0.000042 ETH)"
    assert panel.labels["pending"].text() == "1 ETH"
    panel.set_per_day([("2026-11-26", 10**18), ("2026-11-27", 2 * 10**18)])
    assert panel.chart.bars == [("11-26", 1.0), ("11-27", 2.0)]
    panel.withdraw_button.click()
    qtbot.waitUntil(lambda: panel.receipt is not None)
    assert sent == ["withdraw"] and panel.receipt.hash.text() == "0x" + "ab" * 32


def test_the_event_log_lists_events_but_not_progress_ticks(qtbot, bridge: EngineBridge, emit) -> None:
    log = EventLog(bridge)
    qtbot.addWidget(log)
    emit(progress_event(1, 10, 100, 1.0))
    emit(EngineEvent(Kind.ERROR, "the RPC node is down", None, {"hint": "check network.rpc_url"}))
    qtbot.waitUntil(lambda: "RPC" in log.toPlainText())
    text = log.toPlainText()
    assert "error" in text and "(hint: check network.rpc_url)" in text and "step 10" not in text


def _answer_quit_box(button: QMessageBox.StandardButton) -> None:
    box = QApplication.activeModalWidget()
    assert isinstance(box, QMessageBox), box
    box.button(button).click()


def test_closing_without_a_tray_asks_and_quits_on_yes(qtbot, qapp: Application, bridge: EngineBridge) -> None:
    window = DashboardWindow(qapp, bridge, gpu_backend=None, tray_visible=lambda: False)
    qtbot.addWidget(window, before_close_func=DashboardWindow.shutdown)
    window.show()
    QTimer.singleShot(50, lambda: _answer_quit_box(QMessageBox.StandardButton.No))
    window.close()
    assert window.isVisible()
    with qtbot.waitSignal(qapp.quit_requested, timeout=5000):
        QTimer.singleShot(50, lambda: _answer_quit_box(QMessageBox.StandardButton.Yes))
        window.close()


def test_closing_with_a_tray_hides_to_it(qtbot, qapp: Application, bridge: EngineBridge) -> None:
    window = DashboardWindow(qapp, bridge, gpu_backend=None, tray_visible=lambda: True)
    qtbot.addWidget(window, before_close_func=DashboardWindow.shutdown)
    window.show()
    with qtbot.assertNotEmitted(qapp.quit_requested):
        window.close()
    assert not window.isVisible()


def test_the_device_panel_says_what_the_state_model_says(qtbot, bridge: EngineBridge, emit) -> None:
    state = AppState(bridge)
    panel = GpuPanel(state, None)
    qtbot.addWidget(panel)
    emit(state_event(EngineState.PAUSED, "paused: game.exe uses the GPU"))
    qtbot.waitUntil(lambda: panel.labels["Now"].text() == "Paused: game.exe uses the GPU")
    state.user_paused()
    assert panel.labels["Now"].text() == "Paused: by you"  # not "Idle policy: running"
