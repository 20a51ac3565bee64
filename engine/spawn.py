"""How to start another ``idlegrid`` command as a subprocess, from source or from a frozen build.

The runner, the devnet's demo verifier and the app's embedded devnet are all ``idlegrid``
subcommands run as child processes. From source that is ``python -m engine …``. A PyInstaller
build has no interpreter to run: it ships a console executable ``idlegrid`` next to the
windowed ``idlegrid-app``, and every child is started through that console executable (the
windowed one would open the app again).
"""

from __future__ import annotations

import sys
from pathlib import Path

CONSOLE_NAME = "idlegrid"
APP_NAME = "idlegrid-app"


def _beside(name: str) -> Path:
    suffix = ".exe" if sys.platform == "win32" else ""
    return Path(sys.executable).with_name(name + suffix)


def console_executable() -> Path:
    """The frozen build's console ``idlegrid`` executable (beside whichever one is running)."""
    return _beside(CONSOLE_NAME)


def idlegrid_command(*args: str) -> list[str]:
    """The argv that runs ``idlegrid ARGS…`` in a child process."""
    if getattr(sys, "frozen", False):
        return [str(console_executable()), *args]
    return [sys.executable, "-m", "engine", *args]


def app_command(*args: str) -> list[str]:
    """The argv that runs the desktop app with ARGS: the engine never imports the ``app``
    package (nor Qt), so ``idlegrid app`` starts it as a process of its own."""
    if getattr(sys, "frozen", False):
        return [str(_beside(APP_NAME)), *args]
    return [sys.executable, "-m", "app", *args]
