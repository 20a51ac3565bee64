"""Start idlegrid when the user logs in: one small writer per operating system.

The entry itself is the source of truth (no flag in the settings that could disagree with it):
enabled means the file (or registry value) exists and starts idlegrid.

- Linux (freedesktop autostart spec): ``$XDG_CONFIG_HOME/autostart/idlegrid.desktop``
  (``~/.config/autostart`` by default). Tested here.
- macOS: a LaunchAgent ``~/Library/LaunchAgents/org.idlegrid.app.plist`` with RunAtLoad.
- Windows: the value ``idlegrid`` under ``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``.

The macOS and Windows writers are untested on those systems here (no such machine); the
contents they write are unit-tested. No Qt in this module: it is plain file work.
"""

from __future__ import annotations

import contextlib
import os
import plistlib
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from app.errors import AppError
from engine.config import HOME_ENV

DESKTOP_FILE = "idlegrid.desktop"
LAUNCH_AGENT_LABEL = "org.idlegrid.app"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "idlegrid"


class AutostartError(AppError):
    """The autostart entry could not be written or removed."""


class Autostart(Protocol):
    """One way of starting idlegrid at login."""

    @property
    def where(self) -> str:
        """For humans: the file or registry value it writes."""
        ...

    def is_enabled(self) -> bool: ...
    def enable(self) -> None: ...
    def disable(self) -> None: ...


def launch_command() -> list[str]:
    """How to start the app from a login session: the frozen executable, else the
    ``idlegrid-app`` script beside this Python, else ``python -m app``."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    script = Path(sys.executable).with_name("idlegrid-app.exe" if os.name == "nt" else "idlegrid-app")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "app"]


def launch_environment() -> dict[str, str]:
    """Environment the login entry must set: a dev/test ``IDLEGRID_HOME`` is kept, so the
    autostarted app opens the same data folder as the one that enabled it."""
    home = os.environ.get(HOME_ENV)
    return {HOME_ENV: home} if home else {}


# -- contents (pure functions, unit-tested everywhere) ------------------------------------------

def _desktop_quote(arg: str) -> str:
    """Quote one Exec argument as the desktop entry spec says (and escape ``%`` codes)."""
    arg = arg.replace("%", "%%")
    if arg and not any(c in arg for c in ' \t\n"\'\\><~|&;$*?#()`'):
        return arg
    escaped = "".join("\\" + c if c in '"`$\\' else c for c in arg)
    return f'"{escaped}"'


def desktop_entry(command: Sequence[str], env: dict[str, str] | None = None) -> str:
    """The text of ``idlegrid.desktop`` that runs ``command`` (with ``env`` set) at login."""
    argv = [*(["env", *(f"{k}={v}" for k, v in env.items())] if env else []), *command]
    exec_line = " ".join(_desktop_quote(a) for a in argv)
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Name=idlegrid\n"
        "Comment=Lend your idle GPU to verifiable machine-learning training\n"
        f"Exec={exec_line}\n"
        "Icon=idlegrid\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n"
        "Hidden=false\n"
    )


def launch_agent_plist(command: Sequence[str], env: dict[str, str] | None = None) -> bytes:
    """The LaunchAgent plist (XML) that runs ``command`` at login on macOS."""
    agent: dict[str, object] = {
        "Label": LAUNCH_AGENT_LABEL,
        "ProgramArguments": list(command),
        "RunAtLoad": True,
        "KeepAlive": False,
        "ProcessType": "Interactive",
    }
    if env:
        agent["EnvironmentVariables"] = dict(env)
    return plistlib.dumps(agent, fmt=plistlib.FMT_XML)


def windows_run_value(command: Sequence[str]) -> str:
    """The command line stored under the Run key (Windows quoting rules)."""
    return subprocess.list2cmdline(list(command))


# -- writers -----------------------------------------------------------------------------------

def _write_atomically(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as e:
        raise AutostartError(f"cannot write the autostart entry {path}: {e.strerror or e}",
                             hint=f"check that {path.parent} is writable") from None


def _remove(path: Path) -> None:
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
        _write_atomically(self.path, self.content)

    def disable(self) -> None:
        _remove(self.path)


def linux_autostart(config_home: Path | None = None, command: Sequence[str] | None = None) -> FileAutostart:
    """``$XDG_CONFIG_HOME/autostart/idlegrid.desktop`` (freedesktop autostart spec)."""
    base = config_home or Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    text = desktop_entry(command or launch_command(), launch_environment())
    return FileAutostart(Path(base) / "autostart" / DESKTOP_FILE, text.encode())


def macos_autostart(home: Path | None = None, command: Sequence[str] | None = None) -> FileAutostart:
    """``~/Library/LaunchAgents/org.idlegrid.app.plist`` (untested on macOS here)."""
    path = (home or Path.home()) / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"
    return FileAutostart(path, launch_agent_plist(command or launch_command(), launch_environment()))


class WindowsRunKey:
    """The ``idlegrid`` value under the current user's Run key (untested on Windows here)."""

    where = "HKEY_CURRENT_USER\\" + RUN_KEY + "\\" + RUN_VALUE

    def __init__(self, command: Sequence[str] | None = None) -> None:
        self.value = windows_run_value(command or launch_command())

    # winreg exists on Windows only: the bodies sit under the platform check, so mypy checks
    # them when it checks for Windows and skips them elsewhere.
    def is_enabled(self) -> bool:
        if sys.platform == "win32":
            import winreg

            try:
                with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                    winreg.QueryValueEx(key, RUN_VALUE)
                return True
            except FileNotFoundError:
                return False
        else:
            raise AutostartError("the Run key exists on Windows only")

    def enable(self) -> None:
        if sys.platform == "win32":
            import winreg

            with winreg.CreateKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
                winreg.SetValueEx(key, RUN_VALUE, 0, winreg.REG_SZ, self.value)
        else:
            raise AutostartError("the Run key exists on Windows only")

    def disable(self) -> None:
        if sys.platform == "win32":
            import winreg

            # FileNotFoundError: not there, nothing to remove
            with (contextlib.suppress(FileNotFoundError),
                  winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY, 0, winreg.KEY_SET_VALUE) as key):
                winreg.DeleteValue(key, RUN_VALUE)
        else:
            raise AutostartError("the Run key exists on Windows only")


def for_this_system() -> Autostart:
    """The autostart writer of the running OS."""
    if sys.platform == "win32":
        return WindowsRunKey()
    if sys.platform == "darwin":
        return macos_autostart()
    return linux_autostart()

