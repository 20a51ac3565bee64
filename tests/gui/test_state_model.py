"""One state model drives every view: headline, job panel, device panel and tray never disagree
(issue 18's contradictions, replayed through the real bridge and real widgets)."""

from __future__ import annotations

from app.application import Application
from app.bridge import EngineBridge
from app.dashboard import DashboardWindow
from app.state import AppState, plain_reason, task_words
from app.tray import Tray
from engine.events import EngineEvent, EngineState, Kind
from tests.gui.conftest import progress_event, state_event
from tests.gui.tray_probe import Recorder

ETH = 10**18


def _views(qtbot, qapp: Application, bridge: EngineBridge) -> tuple[AppState, DashboardWindow, Tray]:
    state = AppState(bridge)
    tray = Tray(qapp, bridge, Recorder(), state)
    window = DashboardWindow(qapp, bridge, state=state, gpu_backend=None, tray_visible=lambda: True)
    qtbot.addWidget(window, before_close_func=DashboardWindow.shutdown)
    window.show()
    return state, window, tray


def _everywhere(window: DashboardWindow, tray: Tray) -> set[str]:
    """The headline as each view shows it."""
    return {window.headline.text(), window.job_panel.state.text(), window.gpu_panel.labels["Now"].text(),
            tray.icon.toolTip().removeprefix("idlegrid: ")}


def test_every_view_says_the_same_thing_through_a_job_a_payment_and_the_next_job(qtbot, qapp, bridge, emit) -> None:
    state, window, tray = _views(qtbot, qapp, bridge)
    panel = window.job_panel
    emit(state_event(EngineState.WORKING, "training task 12"))
    emit(EngineEvent(Kind.JOB, "training task 12 (digits-mlp-seed-3)", 12, {"state": "training"}))
    emit(progress_event(12, 300, 600, 0.8, eta=4))
    qtbot.waitUntil(lambda: panel.bar.value() == 300)
    assert _everywhere(window, tray) == {"Earning: training a digits model"}
    assert panel.job_title.text() == "Task 12: Training a digits model"
    assert panel.bar.text() == "50 % (step 300 of 600)" and panel.eta.text() == "4 s"
    assert tray.status_action.text() == "Earning: task 12 50 %, 4 s left"

    # the older task 11 is uploaded and paid meanwhile: the current job's header does not move
    emit(EngineEvent(Kind.JOB, "uploaded task 11's checkpoints", 11, {"state": "uploaded"}))
    emit(EngineEvent(Kind.NOTICE, "task 11 paid: earned 0.01 ETH (and the 0.001 ETH stake back)", 11,
                     {"reward": str(ETH // 100), "stake": str(ETH // 1000)}))
    emit(progress_event(12, 600, 600, 0.5, eta=0))
    qtbot.waitUntil(lambda: panel.bar.value() == 600)
    assert panel.job_title.text() == "Task 12: Training a digits model"

    # between jobs: no "0 % (step 600 of 600)", no stale time left; the reward only, not reward + stake
    emit(state_event(EngineState.WAITING, "looking for tasks"))
    qtbot.waitUntil(lambda: not state.now.working)
    assert _everywhere(window, tray) == {"Idle: last job paid 0.01 ETH"}
    assert (panel.bar.value(), panel.bar.text(), panel.eta.text()) == (0, "", "–")
    assert panel.job_title.text() == "Last job: task 12"

    # the next job starts from zero: progress, loss and the curve are its own
    emit(state_event(EngineState.WORKING, "training task 13"))
    emit(progress_event(13, 30, 600, 2.2, eta=5))
    qtbot.waitUntil(lambda: panel.job_title.text().startswith("Task 13"))
    assert panel.bar.value() == 30 and panel.loss.text() == "2.2000"
    assert state.now.points == ((30, 2.2),) and window.job_panel.chart.xs == [30]


def test_paused_snoozed_and_why_read_the_same_in_plain_words_everywhere(qtbot, qapp, bridge, emit) -> None:
    state, window, tray = _views(qtbot, qapp, bridge)
    emit(state_event(EngineState.PAUSED, "paused: others use 41 % of the GPU (limit 15 %)"))
    qtbot.waitUntil(lambda: window.headline.text().startswith("Paused"))
    assert _everywhere(window, tray) == {"Paused: other programs use 41 % of the GPU (limit 15 %)"}
    state.set_cpu_mode(True)  # no NVIDIA GPU: other programs' load is CPU load, and it says so
    assert _everywhere(window, tray) == {"Paused: other programs use 41 % of the CPU (limit 15 %)"}
    tray.toggle_pause()
    assert _everywhere(window, tray) == {"Paused: by you"}
    tray.toggle_pause()
    tray.snooze(3600)
    assert len(_everywhere(window, tray)) == 1 and window.headline.text().startswith("Snoozed: until ")


def test_plain_words_for_engine_reasons_and_task_names() -> None:
    assert plain_reason("paused: paused: game.exe uses the GPU") == "game.exe uses the GPU"
    assert plain_reason("running: allowed at all times (run_when = always)") == "allowed at any time"
    assert plain_reason("waiting: no GPU: libnvidia-ml.so.1 not loadable") == "no NVIDIA GPU found (no NVIDIA driver)"
    assert task_words("digits-mlp-seed-7") == "training a digits model"
    assert task_words("") == "training a model"
