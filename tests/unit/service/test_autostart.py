"""The engine service's login entries: contents as pure functions, the systemd unit checked by
systemd-analyze where it exists, and the writers on this machine's files."""

from __future__ import annotations

import configparser
import os
import plistlib
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.service import autostart


def test_the_systemd_unit_runs_the_service_restarts_it_and_stops_it_with_sigint() -> None:
    text = autostart.systemd_unit(["/opt/idle grid/idlegrid", "daemon", "run"], {"IDLEGRID_HOME": "/h/100%"})
    unit = configparser.ConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string(text)
    assert unit["Service"]["ExecStart"] == '"/opt/idle grid/idlegrid" daemon run'
    assert unit["Service"]["Environment"] == '"IDLEGRID_HOME=/h/100%"'
    assert unit["Service"]["KillSignal"] == "SIGINT" and unit["Service"]["Restart"] == "on-failure"
    assert unit["Install"]["WantedBy"] == "default.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here "
                    "(Debian package systemd); the unit's contents are still checked above")
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    program = tmp_path / "bin dir" / "idlegrid"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    unit = tmp_path / autostart.UNIT_NAME
    unit.write_text(autostart.systemd_unit([str(program), "daemon", "run"], {"IDLEGRID_HOME": "/tmp/x y"}))
    runtime = tmp_path / "run"  # a user manager needs a runtime folder, even only to verify
    runtime.mkdir(mode=0o700)
    done = subprocess.run(["systemd-analyze", "--user", "verify", str(unit)], capture_output=True,
                          text=True, check=False, timeout=60, env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)})
    problems = [line for line in done.stderr.splitlines() if autostart.UNIT_NAME in line]
    assert done.returncode == 0 and problems == [], done.stderr


def test_enabling_the_systemd_unit_writes_it_and_the_wants_link_and_disabling_removes_both(tmp_path: Path) -> None:
    entry = autostart.systemd_autostart(tmp_path, ["/usr/bin/idlegrid", "daemon", "run"])
    assert not entry.is_enabled()
    entry.enable()
    assert entry.is_enabled() and entry.where == str(tmp_path / "systemd" / "user" / "idlegrid.service")
    assert entry.link.resolve() == entry.unit.resolve()
    entry.disable()
    assert not entry.is_enabled() and not entry.unit.exists() and not entry.link.is_symlink()


def test_the_xdg_entry_runs_the_service_with_the_data_folder_kept(tmp_path: Path, idlegrid_home: Path) -> None:
    entry = autostart.xdg_autostart(tmp_path, ["/opt/idle grid/idlegrid", "daemon", "run"])
    entry.enable()
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(tmp_path / "autostart" / "idlegrid-daemon.desktop")
    argv = shlex.split(parser["Desktop Entry"]["Exec"])
    assert argv == ["env", f"IDLEGRID_HOME={idlegrid_home}", "/opt/idle grid/idlegrid", "daemon", "run"]


def test_the_launch_agent_keeps_the_service_alive_after_a_crash(tmp_path: Path) -> None:
    agent = autostart.macos_autostart(tmp_path, ["/Applications/idlegrid.app/Contents/MacOS/idlegrid", "daemon", "run"])
    agent.enable()
    plist = plistlib.loads(Path(agent.where).read_bytes())
    assert plist["Label"] == "org.idlegrid.daemon" and plist["RunAtLoad"] is True
    assert plist["KeepAlive"] == {"SuccessfulExit": False} and plist["ProcessType"] == "Background"
    assert plist["ProgramArguments"][-2:] == ["daemon", "run"]


def test_the_run_key_value_quotes_the_program_path() -> None:
    key = autostart.WindowsRunKey([r"C:\Program Files\idlegrid\idlegrid.exe", "daemon", "run"])
    assert key.value == r'"C:\Program Files\idlegrid\idlegrid.exe" daemon run'
    assert key.where.endswith(r"CurrentVersion\Run\idlegrid-daemon")


def test_the_default_command_is_this_installations_daemon_run() -> None:
    assert autostart.service_command()[-2:] == ["daemon", "run"]
