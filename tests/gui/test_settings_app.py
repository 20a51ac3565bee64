"""``[app] quit_stops_engine`` in the settings' advanced part: ticked, saved, read back by the
app's Quit (app.engine_host.quit_stops_engine), shown ticked again; unticked, it is off."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from app.autostart import FileAutostart
from app.engine_host import APP_SECTION, AppSettings, quit_stops_engine
from app.settings import SettingsDialog
from engine.config import load_section, read_settings

pytest_plugins = ["tests.gui.settings_fixtures"]


def _dialog(qtbot: QtBot, entry: FileAutostart) -> SettingsDialog:
    dialog = SettingsDialog(autostart=entry)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _save(qtbot: QtBot, dialog: SettingsDialog) -> None:
    with qtbot.waitSignal(dialog.saved, timeout=20_000):
        dialog.save()


def test_quit_stops_earning_is_an_advanced_setting_that_round_trips(
        qtbot: QtBot, autostart_entry: FileAutostart) -> None:
    dialog = _dialog(qtbot, autostart_entry)
    box = dialog.app_form.quit_stops_engine
    assert dialog.policy_form.advanced.isAncestorOf(box) and not box.isVisible()  # hidden until asked for
    dialog.policy_form.advanced_button.click()
    assert box.isVisible() and not box.isChecked() and "stops earning" in box.text()
    box.click()
    _save(qtbot, dialog)
    assert read_settings()[APP_SECTION] == {"quit_stops_engine": True}
    assert quit_stops_engine() is True

    again = _dialog(qtbot, autostart_entry)
    assert again.app_form.quit_stops_engine.isChecked()
    again.app_form.quit_stops_engine.setChecked(False)
    _save(qtbot, again)
    assert load_section(APP_SECTION, AppSettings) == AppSettings(quit_stops_engine=False)
    assert quit_stops_engine() is False
