"""Start the engine service with the user's session, one writer per system.

The entry itself is the source of truth: enabled means the file (or registry value) exists.
Every entry runs ``idlegrid daemon run``; the contents are pure functions, unit-tested on
every OS, and the writers are plain file work.

- Linux with systemd: the user unit ``~/.config/systemd/user/idlegrid.service`` (restarted
  when it dies, stopped with SIGINT so the job checkpoints), enabled by the link in
  ``default.target.wants`` that ``systemctl --user enable`` would make.
- Linux without systemd: the freedesktop autostart entry
  ``$XDG_CONFIG_HOME/autostart/idlegrid-daemon.desktop``.
- macOS: the LaunchAgent ``~/Library/LaunchAgents/org.idlegrid.daemon.plist`` (RunAtLoad,
  KeepAlive on a crash).
- Windows: the value ``idlegrid-daemon`` under ``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``.
"""

from __future__ import annotations

import importlib
import os
import plistlib
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from engine.config import HOME_ENV
from engine.service.errors import ServiceError
from engine.spawn import idlegrid_command

UNIT_NAME = "idlegrid.service"
DESKTOP_FILE = "idlegrid-daemon.desktop"
LAUNCH_AGENT_LABEL = "org.idlegrid.daemon"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "idlegrid-daemon"


class AutostartError(ServiceError):
    """The autostart entry could not be written or removed."""


class Autostart(Protocol):
    """One way of starting something at login."""

    @property
    def where(self) -> str: ...   # for humans: the file or registry value it writes

    def is_enabled(self) -> bool: ...
    def enable(self) -> None: ...
    def disable(self) -> None: ...


def service_command() -> list[str]:
    """``idlegrid daemon run`` as this installation runs it."""
    return idlegrid_command("daemon", "run")


def launch_environment() -> dict[str, str]:
    """A dev/test ``IDLEGRID_HOME`` is kept, so the login entry serves the same data folder."""
    home = os.environ.get(HOME_ENV)
    return {HOME_ENV: home} if home else {}


# -- contents (pure functions) -------------------------------------------------------------

def _desktop_quote(arg: str) -> str:
    """Quote one Exec argument as the desktop entry spec says (and escape ``%`` codes)."""
    arg = arg.replace("%", "%%")
    if arg and not any(c in arg for c in ' \t\n"\'\\><~|&;$*?#()`'):
        return arg
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    return f'"{escaped}"'


def desktop_entry(command: Sequence[str], env: dict[str, str] | None = None, *, name: str = "idlegrid",
                  comment: str = "Lend your idle GPU to verifiable machine-learning training") -> str:
    """A freedesktop autostart entry that runs ``command`` (with ``env`` set) at login."""
    argv = [*(["env", *(f"{k}={v}" for k, v in env.items())] if env else []), *command]
    exec_line = " ".join(_desktop_quote(a) for a in argv)
    return ("[Desktop Entry]\n"
            "Type=Application\n"
            f"Name={name}\n"
            f"Comment={comment}\n"
            f"Exec={exec_line}\n"
            "Icon=idlegrid\n"
            "Terminal=false\n"
            "X-GNOME-Autostart-enabled=true\n"
            "Hidden=false\n")


def _systemd_quote(arg: str) -> str:
    """One ExecStart word (systemd.syntax: double quotes, backslash escapes, ``%`` and ``$`` doubled)."""
    arg = arg.replace("%", "%%").replace("$", "$$")
    if arg and not any(c in arg for c in ' \t\n"\'\\;'):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd_unit(command: Sequence[str], env: dict[str, str] | None = None) -> str:
    """The systemd user unit that runs the service for the session (and restarts it on a crash)."""
    lines = ["[Unit]",
             "Description=idlegrid engine service (lends this machine's idle GPU to training tasks)",
             "Documentation=https://github.com/idlegrid/idlegrid/blob/main/docs/service.md",
             "",
             "[Service]",
             "Type=simple",
             f"ExecStart={' '.join(_systemd_quote(a) for a in command)}",
             *(f'Environment="{k}={v}"' for k, v in (env or {}).items()),
             "KillSignal=SIGINT",          # the job checkpoints on SIGINT, as on Ctrl-C
             "TimeoutStopSec=90",
             "Restart=on-failure",
             "RestartSec=5",
             "Nice=10",
             "",
             "[Install]",
             "WantedBy=default.target",
             ""]
    return "\n".join(lines)


def launch_agent_plist(command: Sequence[str], env: dict[str, str] | None = None,
                       label: str = LAUNCH_AGENT_LABEL, *, service: bool = True) -> bytes:
    """The LaunchAgent plist (XML) that runs ``command`` at login on macOS; a ``service`` is
    started again after a crash and runs as a background process, the app is not."""
    agent: dict[str, object] = {
        "Label": label,
        "ProgramArguments": list(command),
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False} if service else False,
        "ProcessType": "Background" if service else "Interactive",
    }
    if env:
        agent["EnvironmentVariables"] = dict(env)
    return plistlib.dumps(agent, fmt=plistlib.FMT_XML)


def windows_run_value(command: Sequence[str]) -> str:
    """The command line stored under the Run key (Windows quoting rules)."""
    return subprocess.list2cmdline(list(command))


# -- writers -------------------------------------------------------------------------------

def write_atomically(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as e:
        raise AutostartError(f"cannot write the autostart entry {path}: {e.strerror or e}",
                             hint=f"check that {path.parent} is writable") from None


def remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as e:
        raise AutostartError(f"cannot remove the autostart entry {path}: {e.strerror or e}",
                             hint=f"remove it yourself, or check the permissions of {path.parent}") from None


@dataclass
class FileAutostart:
    """An autostart entry that is one file; ``content`` is what enable() writes."""

    path: Path
    content: bytes

    @property
    def where(self) -> str:
        return str(self.path)

    def is_enabled(self) -> bool:
        return self.path.is_file()

    def enable(self) -> None:
        write_atomically(self.path, self.content)

    def disable(self) -> None:
        remove(self.path)


@dataclass
class SystemdAutostart:
    """The user unit plus its ``default.target.wants`` link (what ``systemctl --user enable`` makes)."""

    unit: Path
    content: bytes

    @property
    def link(self) -> Path:
        return self.unit.parent / "default.target.wants" / self.unit.name

    @property
    def where(self) -> str:
        return str(self.unit)

    def is_enabled(self) -> bool:
        return self.unit.is_file() and self.link.is_symlink()

    def enable(self) -> None:
        write_atomically(self.unit, self.content)
        try:
            self.link.parent.mkdir(parents=True, exist_ok=True)
            if not self.link.is_symlink():
                self.link.symlink_to(Path("..") / self.unit.name)
        except OSError as e:
            raise AutostartError(f"cannot enable the unit {self.link}: {e.strerror or e}",
                                 hint=f"run `systemctl --user enable {self.unit.name}` yourself") from None
        _systemctl("daemon-reload")

    def disable(self) -> None:
        remove(self.link)
        remove(self.unit)
        _systemctl("daemon-reload")


def _systemctl(*args: str) -> None:
    """Tell a running user manager that units changed (best effort: none may run, e.g. in CI)."""
    if shutil.which("systemctl") and Path("/run/systemd/system").is_dir():
        subprocess.run(["systemctl", "--user", *args], check=False, capture_output=True, timeout=20)


def _config_home(config_home: Path | None) -> Path:
    return Path(config_home or os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def systemd_autostart(config_home: Path | None = None, command: Sequence[str] | None = None) -> SystemdAutostart:
    unit = _config_home(config_home) / "systemd" / "user" / UNIT_NAME
    return SystemdAutostart(unit, systemd_unit(command or service_command(), launch_environment()).encode())


def xdg_autostart(config_home: Path | None = None, command: Sequence[str] | None = None) -> FileAutostart:
    text = desktop_entry(command or service_command(), launch_environment(), name="idlegrid engine service",
                         comment="idlegrid's engine: works while this session is idle")
    return FileAutostart(_config_home(config_home) / "autostart" / DESKTOP_FILE, text.encode())


def macos_autostart(home: Path | None = None, command: Sequence[str] | None = None) -> FileAutostart:
    path = (home or Path.home()) / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"
    return FileAutostart(path, launch_agent_plist(command or service_command(), launch_environment()))


class WindowsRunKey:
    """A value under the current user's Run key (written and unit-tested, not run here: no Windows)."""

    def __init__(self, command: Sequence[str] | None = None, name: str = RUN_VALUE) -> None:
        self.name = name
        self.value = windows_run_value(command or service_command())

    @property
    def where(self) -> str:
        return "HKEY_CURRENT_USER\\" + RUN_KEY + "\\" + self.name

    def is_enabled(self) -> bool:
        winreg = _winreg()

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                winreg.QueryValueEx(key, self.name)
            return True
        except FileNotFoundError:
            return False

    def enable(self) -> None:
        winreg = _winreg()

        with winreg.CreateKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
            winreg.SetValueEx(key, self.name, 0, winreg.REG_SZ, self.value)

    def disable(self) -> None:
        winreg = _winreg()

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key:
                winreg.DeleteValue(key, self.name)
        except FileNotFoundError:
            pass


def _winreg() -> Any:
    """The Windows registry module (Windows only; typed Any so the rest type-checks anywhere)."""
    return importlib.import_module("winreg")


def systemd_available() -> bool:
    """A systemd user session can run units here (systemd is the init system)."""
    return shutil.which("systemctl") is not None and Path("/run/systemd/system").is_dir()


def for_this_system() -> Autostart:
    """The service's autostart writer on the running OS."""
    if sys.platform == "win32":
        return WindowsRunKey()
    if sys.platform == "darwin":
        return macos_autostart()
    return systemd_autostart() if systemd_available() else xdg_autostart()
