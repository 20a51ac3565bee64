"""Autostart entries: the Linux one written and removed for real; macOS/Windows contents checked."""

from __future__ import annotations

import configparser
import os
import plistlib
import shlex
from pathlib import Path

import pytest

from app import autostart
from app.autostart import AutostartError


def _read_entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive in desktop entries
    parser.read_string(path.read_text())
    return parser["Desktop Entry"]


def test_linux_entry_is_written_where_the_spec_says_and_runs_the_app(tmp_path: Path, idlegrid_home: Path) -> None:
    entry = autostart.linux_autostart(tmp_path / "xdg", ["/opt/idle grid/idlegrid-app"])
    assert not entry.is_enabled()
    entry.enable()
    assert entry.is_enabled()
    assert entry.where == str(tmp_path / "xdg" / "autostart" / "idlegrid.desktop")
    fields = _read_entry(Path(entry.where))
    assert fields["Type"] == "Application"
    assert fields["X-GNOME-Autostart-enabled"] == "true"
    assert shlex.split(fields["Exec"]) == ["env", f"IDLEGRID_HOME={idlegrid_home}", "/opt/idle grid/idlegrid-app"]


def test_linux_entry_follows_xdg_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    entry = autostart.for_this_system()
    entry.enable()
    assert (tmp_path / "cfg" / "autostart" / "idlegrid.desktop").is_file()
    entry.disable()
    assert not entry.is_enabled()
    entry.disable()  # removing what is not there is fine


def test_exec_line_escapes_dollar_quotes_and_percent() -> None:
    text = autostart.desktop_entry(['/x/a"b', "$HOME", "100%"])
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    assert exec_line == 'Exec="/x/a\\"b" "\\$HOME" 100%%'


def test_default_command_starts_this_installation() -> None:
    command = autostart.launch_command()
    assert Path(command[0]).exists()
    assert command[-1] in ("app",) or Path(command[0]).name.startswith("idlegrid-app")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_unwritable_autostart_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "autostart").mkdir()
    (tmp_path / "autostart").chmod(0o500)
    try:
        with pytest.raises(AutostartError, match="cannot write the autostart entry") as err:
            autostart.linux_autostart(tmp_path).enable()
        assert "writable" in (err.value.hint or "")
    finally:
        (tmp_path / "autostart").chmod(0o700)


def test_autostart_path_blocked_by_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "autostart" / "idlegrid.desktop").mkdir(parents=True)
    entry = autostart.linux_autostart(tmp_path)
    with pytest.raises(AutostartError, match="cannot write the autostart entry"):
        entry.enable()
    with pytest.raises(AutostartError, match="cannot remove the autostart entry"):
        entry.disable()


def test_macos_launch_agent_runs_at_load_with_the_command(tmp_path: Path, idlegrid_home: Path) -> None:
    agent = autostart.macos_autostart(tmp_path, ["/Applications/idlegrid.app/Contents/MacOS/idlegrid-app"])
    agent.enable()
    assert agent.where.endswith("Library/LaunchAgents/org.idlegrid.app.plist")
    data = plistlib.loads(Path(agent.where).read_bytes())
    assert data["Label"] == "org.idlegrid.app"
    assert data["RunAtLoad"] is True
    assert data["ProgramArguments"] == ["/Applications/idlegrid.app/Contents/MacOS/idlegrid-app"]
    assert data["EnvironmentVariables"] == {"IDLEGRID_HOME": str(idlegrid_home)}


def test_windows_run_value_quotes_paths_with_spaces() -> None:
    value = autostart.windows_run_value([r"C:\Program Files\idlegrid\idlegrid-app.exe"])
    assert value == r'"C:\Program Files\idlegrid\idlegrid-app.exe"'
    assert autostart.WindowsRunKey([r"C:\idlegrid\app.exe", "--network"]).value == r"C:\idlegrid\app.exe --network"


