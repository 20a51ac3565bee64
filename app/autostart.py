"""Start idlegrid when the user logs in: one small writer per operating system.

The entry itself is the source of truth (no flag in the settings that could disagree with it):
enabled means the file (or registry value) exists and starts idlegrid.

- Linux (freedesktop autostart spec): ``$XDG_CONFIG_HOME/autostart/idlegrid.desktop``
  (``~/.config/autostart`` by default). Tested here.
- macOS: a LaunchAgent ``~/Library/LaunchAgents/org.idlegrid.app.plist`` with RunAtLoad.
- Windows: the value ``idlegrid`` under ``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``.

This entry starts the *app* (tray and dashboard), which starts the engine service when none
runs; the service's own login entry (systemd user unit, launchd agent...) is
``engine.service.autostart``, enabled with ``idlegrid daemon autostart enable``. The entry
contents are that module's pure functions. The macOS and Windows writers are untested on
those systems here (no such machine); the contents they write are unit-tested. No Qt here.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from engine.config import HOME_ENV
from engine.service.autostart import (
    AutostartError,
    FileAutostart,
    desktop_entry,
    launch_agent_plist,
    windows_run_value,
)

__all__ = [
    "Autostart",
    "AutostartError",
    "FileAutostart",
    "WindowsRunKey",
    "desktop_entry",
    "for_this_system",
    "launch_command",
    "launch_environment",
    "linux_autostart",
    "macos_autostart",
    "windows_run_value",
]

DESKTOP_FILE = "idlegrid.desktop"
LAUNCH_AGENT_LABEL = "org.idlegrid.app"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "idlegrid"


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


def linux_autostart(config_home: Path | None = None, command: Sequence[str] | None = None) -> FileAutostart:
    """``$XDG_CONFIG_HOME/autostart/idlegrid.desktop`` (freedesktop autostart spec)."""
    base = config_home or Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    text = desktop_entry(command or launch_command(), launch_environment())
    return FileAutostart(Path(base) / "autostart" / DESKTOP_FILE, text.encode())


def macos_autostart(home: Path | None = None, command: Sequence[str] | None = None) -> FileAutostart:
    """``~/Library/LaunchAgents/org.idlegrid.app.plist`` (untested on macOS here)."""
    path = (home or Path.home()) / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"
    return FileAutostart(path, launch_agent_plist(command or launch_command(), launch_environment(),
                                                LAUNCH_AGENT_LABEL, service=False))


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

