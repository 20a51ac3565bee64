"""The ``[app]`` form: what Quit does to the engine service (:class:`app.engine_host.AppSettings`).

By default Quit closes the app and the engine service keeps earning (the work belongs to the
service, not to a window); the box lets a user who wants Quit to mean "stop everything" say so.
It sits under "Show advanced settings": the tray also offers "Quit and stop earning" each time.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QCheckBox, QLabel, QWidget

from app.engine_host import AppSettings

TITLE = "When you quit the app"
LABEL = "Quit also stops earning (stops the engine service in the background)"
NOTE = ("Unticked, Quit only closes the app: idlegrid goes on training in the background and "
        "the next start of the app shows the same job. \"Quit and stop earning\" in the tray "
        "menu stops it either way.")


class AppForm(QObject):
    """The quit checkbox and its note; their rows go into the policy form's advanced part."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.quit_stops_engine = QCheckBox(LABEL, objectName="quit_stops_engine")
        self.quit_stops_engine.setAccessibleName(LABEL)
        self.note = QLabel(NOTE, wordWrap=True)
        self.load(AppSettings())

    def rows(self) -> list[QWidget]:
        return [self.quit_stops_engine, self.note]

    def load(self, settings: AppSettings) -> None:
        self.quit_stops_engine.setChecked(settings.quit_stops_engine)

    def settings(self) -> AppSettings:
        return AppSettings(quit_stops_engine=self.quit_stops_engine.isChecked())
