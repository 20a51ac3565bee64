"""The settings dialog writes the real settings file and autostart entry, or nothing at all."""

from __future__ import annotations

from pathlib import Path

import keyring.core
import pytest
from pytestqt.qtbot import QtBot

from app.application import Application
from app.autostart import FileAutostart, linux_autostart
from app.settings import SavedSettings, SettingsDialog
from engine.config import paths, read_settings
from engine.gpu.settings import load_gpu_settings, load_policy_settings

pytest_plugins = ["tests.gui.settings_fixtures"]


def _dialog(qtbot: QtBot, entry: FileAutostart) -> SettingsDialog:
    dialog = SettingsDialog(autostart=entry)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_save_writes_policy_gpu_and_autostart(qtbot: QtBot, autostart_entry: FileAutostart) -> None:
    dialog = _dialog(qtbot, autostart_entry)
    form = dialog.policy_form
    form.preset.setCurrentIndex(form.preset.findData("always"))
    form.deny_processes.setText("steam*, blender")
    form.device.setValue(1)
    dialog.autostart_box.setChecked(True)
    with qtbot.waitSignal(dialog.saved, timeout=5_000) as saved:
        dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    result: SavedSettings = saved.args[0]
    assert result.autostart and not result.network_changed
    policy = load_policy_settings()
    assert policy.run_when == "always" and policy.deny_processes == ["steam*", "blender"]
    assert load_gpu_settings().device == 1
    assert autostart_entry.is_enabled()
    assert "network" not in read_settings()  # the devnet default is not written for nothing


def test_reopening_shows_what_was_saved_and_unticking_removes_autostart(
    qtbot: QtBot, autostart_entry: FileAutostart
) -> None:
    autostart_entry.enable()
    first = _dialog(qtbot, autostart_entry)
    assert first.autostart_box.isChecked()
    first.policy_form.idle_minutes.setValue(20)
    first.autostart_box.setChecked(False)
    first.save()
    second = _dialog(qtbot, autostart_entry)
    assert second.policy_form.idle_minutes.value() == 20
    assert second.policy_form.preset.currentData() == "custom"
    assert not second.autostart_box.isChecked()
    assert not autostart_entry.is_enabled()


def test_a_bad_value_writes_nothing_and_says_which_field(qtbot: QtBot, autostart_entry: FileAutostart) -> None:
    dialog = _dialog(qtbot, autostart_entry)
    dialog.policy_form.days["sat"].setText("noon till late")
    dialog.autostart_box.setChecked(True)
    dialog.save()
    assert dialog.isVisible()
    assert "Allowed hours, Saturday" in dialog.error_label.text()
    assert not paths().settings_file.exists()
    assert not autostart_entry.is_enabled()


def test_errors_also_open_the_apps_error_dialog(
    qtbot: QtBot, qapp: Application, autostart_entry: FileAutostart
) -> None:
    dialog = _dialog(qtbot, autostart_entry)
    dialog.policy_form.foreign_utilization_pct.setValue(0)
    dialog.save()
    boxes = [w for w in qapp.topLevelWidgets() if w.objectName() == "errorDialog" and w.isVisible()]
    assert boxes and "Pause when others use more than" in boxes[-1].text()


def test_a_broken_settings_section_opens_with_defaults_and_saving_repairs_it(
    qtbot: QtBot, autostart_entry: FileAutostart
) -> None:
    settings = paths().settings_file
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(
        '[policy]\nidle_minutez = 3\n\n[wallet]\naddress = "0x000000000000000000000000000000000000dEaD"\n'
    )
    dialog = _dialog(qtbot, autostart_entry)
    assert "policy.idle_minutez" in dialog.error_label.text()
    assert "defaults" in dialog.error_label.text()
    with qtbot.waitSignal(dialog.saved, timeout=5_000):
        dialog.save()
    assert load_policy_settings().idle_minutes == 5.0
    assert read_settings()["wallet"]["address"].lower().endswith("dead")  # other sections are kept


def test_a_settings_file_that_is_not_toml_is_reported(qtbot: QtBot, autostart_entry: FileAutostart) -> None:
    settings = paths().settings_file
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text("[policy\n")
    dialog = _dialog(qtbot, autostart_entry)
    assert "is not valid TOML" in dialog.error_label.text()


def test_an_autostart_entry_that_cannot_be_written_is_an_error(qtbot: QtBot, tmp_path: Path) -> None:
    blocked = linux_autostart(tmp_path, ["/usr/bin/idlegrid-app"])
    Path(blocked.where).mkdir(parents=True)  # a folder where the file should go
    dialog = _dialog(qtbot, blocked)
    dialog.autostart_box.setChecked(True)
    dialog.save()
    assert "cannot write the autostart entry" in dialog.error_label.text()
    assert dialog.isVisible()


def test_the_data_tab_shows_this_installations_folders(qtbot: QtBot, autostart_entry: FileAutostart,
                                                       idlegrid_home: Path) -> None:
    dialog = _dialog(qtbot, autostart_entry)
    from PySide6.QtWidgets import QLabel, QLineEdit

    texts = [label.text() for label in dialog.findChildren(QLabel)]
    assert str(paths().data_dir) in [field.text() for field in dialog.findChildren(QLineEdit)]
    assert any("IDLEGRID_HOME" in t for t in texts)
    assert any(autostart_entry.where in t for t in texts)


def test_the_shell_opens_every_window_of_this_module_with_no_arguments(
    qapp: Application, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from app.shell import OTHER_WINDOWS, _lazy_window

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))  # the default autostart entry lands here
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")  # never the user's keyring
    keyring.core.init_backend()
    try:
        for name, (module, cls) in OTHER_WINDOWS.items():
            qapp.register_window(name, _lazy_window(module, cls))
            window = qapp.open_window(name)
            assert type(window).__name__ == cls and window.isVisible(), name
    finally:
        monkeypatch.undo()
        keyring.core.init_backend()
