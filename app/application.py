"""The QApplication of idlegrid: app-wide signals, window opening, one instance per data folder.

Windows never construct each other. They ask the application: ``app.open_window("settings")``
opens (or brings forward) the window registered under that name, and the app-wide signals
(``quit_requested``...) are what menus and buttons emit. Factories are registered by
``app.main`` (dashboard, settings, wallet, wizard), so a window module only needs its own
dependencies, passed to its constructor.

A second launch for the same data folder finds the first one through a QLocalServer whose name
derives from the config folder; it sends ``show`` and exits, and the first one brings its
dashboard forward.
"""

from __future__ import annotations

import getpass
import hashlib
from collections.abc import Callable, Sequence

from PySide6.QtCore import Signal
from PySide6.QtGui import QIcon
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from app import none_guard, theme
from engine.config import paths, resources_dir
from engine.errors import IdlegridError

WindowFactory = Callable[[], QWidget]
SHOW_MESSAGE = b"show\n"


def icon(name: str) -> QIcon:
    """An icon from resources/icons (SVG, scaled by Qt to any size)."""
    return QIcon(str(resources_dir() / "icons" / f"{name}.svg"))


def instance_key() -> str:
    """The single-instance server name: one per user and config folder (tests get their own)."""
    digest = hashlib.sha256(str(paths().config_dir).encode()).hexdigest()[:16]
    return f"idlegrid-{getpass.getuser()}-{digest}"


class Application(QApplication):
    """The app object; windows and the tray talk through its signals."""

    activate_requested = Signal()   # bring the dashboard forward (a second launch, the tray)
    quit_requested = Signal()       # leave the app (the engine service goes on unless set to stop)
    _signal_sockets: tuple[object, ...]  # set by app.main: the Ctrl-C / SIGTERM wake-up sockets, kept alive

    def __init__(self, argv: Sequence[str] | None = None) -> None:
        none_guard.guard()  # PySide6 6.12 on Python 3.11 would crash with none_dealloc (see the module)
        super().__init__(list(argv or ["idlegrid"]))
        self.setApplicationName("idlegrid")
        self.setApplicationDisplayName("idlegrid")
        self.setOrganizationName("idlegrid")
        self.setWindowIcon(icon("idlegrid"))
        self.setQuitOnLastWindowClosed(False)  # the tray keeps it alive; Quit quits
        theme.apply(self)  # Fusion, the system's light or dark scheme, a visible focus frame
        self._factories: dict[str, WindowFactory] = {}
        self._windows: dict[str, QWidget] = {}
        self._server: QLocalServer | None = None
        self._dialogs: set[QMessageBox] = set()

    # windows -----------------------------------------------------------------------------
    def register_window(self, name: str, factory: WindowFactory) -> None:
        """Make ``open_window(name)`` build the window with ``factory`` (once) and show it."""
        self._factories[name] = factory

    def window(self, name: str) -> QWidget | None:
        """The window opened under ``name``, if it was opened."""
        return self._windows.get(name)

    def open_window(self, name: str) -> QWidget | None:
        """Show the named window, building it on first use, and bring it to the front.

        A factory's IdlegridError becomes a dialog (and None), never a crash."""
        widget = self._windows.get(name)
        if widget is None:
            factory = self._factories.get(name)
            if factory is None:
                raise KeyError(f"no window registered as {name!r}; known: {sorted(self._factories)}")
            try:
                widget = factory()
            except IdlegridError as e:
                self.show_error(e)
                return None
            self._windows[name] = widget
        widget.show()
        widget.raise_()
        widget.activateWindow()
        return widget

    def forget_windows(self) -> None:
        """Close and drop every opened window (on quit, and between tests)."""
        for widget in self._windows.values():
            widget.deleteLater()
        self._windows.clear()
        self._factories.clear()

    def show_error(self, error: IdlegridError, parent: QWidget | None = None) -> QMessageBox:
        """A non-blocking dialog with the error's message and hint."""
        box = QMessageBox(QMessageBox.Icon.Warning, "idlegrid", error.message, QMessageBox.StandardButton.Ok, parent)
        if error.hint:
            box.setInformativeText(error.hint)
        box.setObjectName("errorDialog")
        self._dialogs.add(box)  # a parentless dialog lives as long as a Python reference does
        box.finished.connect(lambda _result: self._dialogs.discard(box))
        box.open()
        return box

    # single instance -----------------------------------------------------------------------
    def claim_single_instance(self, key: str | None = None) -> bool:
        """True when this is the only app for this data folder (it now listens for later
        launches); False when another runs (it was told to show its dashboard)."""
        key = key or instance_key()
        if _notify_running(key):
            return False
        QLocalServer.removeServer(key)  # a stale socket file left by a crash
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(key):
            return not _notify_running(key)
        server.newConnection.connect(self._on_connection)
        self._server = server
        return True

    def release_single_instance(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server.deleteLater()
            self._server = None

    def _on_connection(self) -> None:
        assert self._server is not None
        while (socket := self._server.nextPendingConnection()) is not None:
            socket.readyRead.connect(lambda s=socket: self._on_message(s))
            socket.disconnected.connect(socket.deleteLater)

    def _on_message(self, socket: QLocalSocket) -> None:
        if bytes(socket.readAll().data()).startswith(SHOW_MESSAGE.strip()):
            self.activate_requested.emit()


def _notify_running(key: str, timeout_ms: int = 500) -> bool:
    """Tell a running instance to show itself; False when none answers."""
    socket = QLocalSocket()
    socket.connectToServer(key)
    if not socket.waitForConnected(timeout_ms):
        return False
    socket.write(SHOW_MESSAGE)
    socket.waitForBytesWritten(timeout_ms)
    socket.disconnectFromServer()
    return True


def application() -> Application:
    """The running Application (windows use it to open others and to quit)."""
    app = QApplication.instance()
    if not isinstance(app, Application):
        raise RuntimeError("the idlegrid Application is not running (create app.application.Application first)")
    return app
