"""The desktop app's own errors (the engine's :class:`IdlegridError` tree, extended)."""

from __future__ import annotations

from engine.errors import IdlegridError


class AppError(IdlegridError):
    """The desktop app cannot start or go on."""


class QtMissingError(AppError):
    """PySide6 (or another GUI library) is not installed in this Python."""

    def __init__(self, package: str, detail: str) -> None:
        super().__init__(
            f"the desktop app needs {package}, which is not installed here ({detail})",
            hint="install the app extras: `pip install 'idlegrid[app]'` (PySide6-Essentials, "
            "segno), or use the headless commands (`idlegrid worker`)",
        )


class AlreadyRunning(AppError):
    """Another idlegrid app runs for the same data folder; it was asked to show its dashboard."""

    exit_code = 0

    def __init__(self) -> None:
        super().__init__("idlegrid is already running: its dashboard was brought forward")


class NoDisplayError(AppError):
    """No graphical session to show windows on (Linux without DISPLAY or WAYLAND_DISPLAY)."""

    def __init__(self) -> None:
        super().__init__(
            "there is no display to show the app on (neither DISPLAY nor WAYLAND_DISPLAY is set)",
            hint="start it from your desktop session; on a server use the headless `idlegrid worker --devnet`, "
            "or run the app on a virtual display: `xvfb-run -a idlegrid app`",
        )
