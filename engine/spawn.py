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


def console_executable() -> Path:
    """The frozen build's console ``idlegrid`` executable (beside whichever one is running)."""
    here = Path(sys.executable)
    suffix = ".exe" if sys.platform == "win32" else ""
    return here.with_name(CONSOLE_NAME + suffix)


def idlegrid_command(*args: str) -> list[str]:
    """The argv that runs ``idlegrid ARGS…`` in a child process."""
    if getattr(sys, "frozen", False):
        return [str(console_executable()), *args]
    return [sys.executable, "-m", "engine", *args]
