"""Which engine events become desktop notifications, and what happens without a tray."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from app.notify import Notifier, Severity, notification_for
from engine.events import EngineEvent, Kind


def _notice(message: str, task_id: int | None = 3, **data) -> EngineEvent:
    return EngineEvent(Kind.NOTICE, message, task_id, data)


def test_the_workers_notices_get_titles_by_what_happened() -> None:
    cases = {
        "task 3 paid: earned 0.5 ETH (and the 0.05 ETH stake back)": ("Paid", Severity.INFO),
        "task 3's result was challenged (segment 2)": ("Your result was challenged", Severity.WARNING),
        "task 3: the jury ruled against our result; stake of 0.05 ETH slashed": ("Stake slashed", Severity.ERROR),
        "withdrew 0.55 ETH": ("Withdrawn", Severity.INFO),
        "task 3: the jury upheld our result; won 0.1 ETH": ("Dispute won", Severity.INFO),
    }
    for message, (title, severity) in cases.items():
        note = notification_for(_notice(message))
        assert note is not None and (note.title, note.severity, note.body) == (title, severity, message)
    assert notification_for(_notice("something else", what="finished")).title == "Task finished"
    assert notification_for(_notice("something else")).title == "Task 3"


def test_progress_state_and_log_lines_are_not_notifications() -> None:
    for kind in (Kind.PROGRESS, Kind.STATE, Kind.LOG, Kind.JOB, Kind.GPU, Kind.EARNINGS):
        assert notification_for(EngineEvent(kind, "x")) is None


def test_an_error_without_a_tray_becomes_a_dialog_with_its_hint(qtbot, qapp, bridge, emit) -> None:
    notifier = Notifier(qapp, bridge, tray_icon=None)
    emit(EngineEvent(Kind.ERROR, "no wallet yet", None, {"hint": "create one: idlegrid wallet create"}))
    qtbot.waitUntil(lambda: len(notifier.shown) == 1)
    box = next(w for w in qapp.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible())
    assert (box.text(), box.informativeText()) == ("no wallet yet", "create one: idlegrid wallet create")
    assert notifier.shown[0].body == "no wallet yet\ncreate one: idlegrid wallet create"


def test_payments_come_as_one_paid_today_digest_not_a_balloon_each(qtbot, qapp, bridge, emit) -> None:
    notifier = Notifier(qapp, bridge, tray_icon=None)
    for task in (1, 2, 3):
        emit(_notice(f"task {task} paid: earned 0.01 ETH (and the 0.001 ETH stake back)", task,
                     reward=str(10**16), stake=str(10**15)))
    qtbot.waitUntil(lambda: notifier.paid_count == 3)
    assert [n.title for n in notifier.shown] == ["Paid today"]     # the first at once, the rest wait
    assert notifier.digest_timer.isActive()
    notifier.show_digest()                                          # what the timer does DIGEST_S later
    assert [(n.title, n.body) for n in notifier.shown] == [
        ("Paid today", "0.01 ETH for 1 job today"), ("Paid today", "0.03 ETH for 3 jobs today")]  # rewards only
