"""Two small charts drawn with QPainter: the loss curve and the earnings bars.

They replace pyqtgraph, which added about 50 MB of resident memory and 300 modules (numpy
with it) to the app for two plots, and whose axis painting made tens of thousands of Qt calls a
minute: the trigger of the none_dealloc crash (see :mod:`app.none_guard`). Each chart repaints
only when its data changes or it is resized, takes its colours from the palette (so it follows
the light or dark theme) and writes its axis values in full ("0.012 ETH", never "x0.001").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

ACCENT = QColor("#16a34a")
MARGIN_LEFT = 64
MARGIN_BOTTOM = 22
MARGIN = 8
MAX_DRAWN = 600  # points drawn of a long curve (evenly picked): the widget is never wider


def _nice_top(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 2.5, 5 x 10^n)."""
    if value <= 0:
        return 1.0
    magnitude = 1.0
    while magnitude * 10 <= value:
        magnitude *= 10
    while magnitude > value:
        magnitude /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _nice_span(low: float, high: float) -> tuple[float, float]:
    """Round axis ends around [low, high], on a round step (0.96 to 1 for 0.97 to 0.9916)."""
    step = _nice_top(((high - low) or abs(high) * 0.02 or 0.02) / 2)
    if high == low:                         # one value: in the middle
        low, high = low - step, high + step
    bottom, top = math.floor(low / step + 1e-9) * step, math.ceil(high / step - 1e-9) * step
    return bottom, top if top > bottom else bottom + step


class _Chart(QWidget):
    """The frame both charts share: title, y-axis labels and the plot area."""

    def __init__(self, title: str, y_text: Callable[[float], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.y_text = y_text
        self.setAccessibleName(title)
        self.setMinimumHeight(110)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(360, 160)

    def plot_area(self) -> QRectF:
        return QRectF(MARGIN_LEFT, MARGIN + 14, self.width() - MARGIN_LEFT - MARGIN,
                      self.height() - MARGIN_BOTTOM - MARGIN - 14)

    def frame(self, painter: QPainter, low: float, high: float, x_labels: Sequence[tuple[float, str]]) -> QRectF:
        area = self.plot_area()
        text = self.palette().color(QPalette.ColorRole.WindowText)
        grid = QColor(text)
        grid.setAlpha(50)
        painter.setPen(text)
        painter.drawText(QRectF(MARGIN, 0, self.width() - 2 * MARGIN, 16),
                         int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), self.title)
        for i in range(3):
            value = low + (high - low) * i / 2
            y = area.bottom() - area.height() * i / 2
            painter.setPen(grid)
            painter.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
            painter.setPen(text)
            painter.drawText(QRectF(0, y - 8, MARGIN_LEFT - 6, 16),
                             int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), self.y_text(value))
        for x, label in x_labels:
            painter.drawText(QRectF(x - 40, area.bottom() + 2, 80, MARGIN_BOTTOM - 2),
                             int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop), label)
        return area


class LineChart(_Chart):
    """A curve of (x, y) points; ``set_points`` replaces it, ``clear`` empties it. The y axis
    starts at zero, or with ``fit_y`` spans the values (a search's fitness moves in its last
    digits: from zero its curve would be a flat line)."""

    def __init__(self, title: str, x_name: str, y_text: Callable[[float], str] = lambda v: f"{v:.3g}",
                 parent: QWidget | None = None, *, fit_y: bool = False) -> None:
        super().__init__(title, y_text, parent)
        self.x_name = x_name
        self.fit_y = fit_y
        self.xs: list[float] = []
        self.ys: list[float] = []

    def set_points(self, xs: Sequence[float], ys: Sequence[float]) -> None:
        self.xs, self.ys = list(xs), list(ys)
        self.update()

    def clear(self) -> None:
        self.set_points([], [])

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if not self.xs:
            self.frame(painter, 0.0, 1.0, [])
            painter.drawText(self.plot_area(), int(Qt.AlignmentFlag.AlignCenter), "no data yet")
            painter.end()
            return
        low, high = min(self.ys), max(self.ys)
        if self.fit_y:
            low, high = _nice_span(low, high)
        else:
            low = 0.0 if low >= 0 else low
            high = _nice_top(high) if high > 0 else 1.0
        x0, x1 = self.xs[0], max(self.xs[-1], self.xs[0] + 1)
        area = self.plot_area()
        labels = [(area.left(), f"{self.x_name} {x0:,.0f}"), (area.right() - 30, f"{x1:,.0f}")]
        area = self.frame(painter, low, high, labels)
        stride = max(1, len(self.xs) // MAX_DRAWN)
        line = QPolygonF([QPointF(area.left() + area.width() * (x - x0) / (x1 - x0),
                                  area.bottom() - area.height() * (y - low) / (high - low))
                          for x, y in zip(self.xs[::stride], self.ys[::stride])])
        painter.setPen(QPen(ACCENT, 2))
        painter.drawPolyline(line)
        painter.end()


class BarChart(_Chart):
    """Bars with a label each (every few labels drawn where they would overlap)."""

    def __init__(self, title: str, y_text: Callable[[float], str], parent: QWidget | None = None) -> None:
        super().__init__(title, y_text, parent)
        self.bars: list[tuple[str, float]] = []

    def set_bars(self, bars: Sequence[tuple[str, float]]) -> None:
        self.bars = list(bars)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        high = _nice_top(max((v for _, v in self.bars), default=0.0))
        area = self.plot_area()
        n = max(1, len(self.bars))
        width = area.width() / n
        every = max(1, int(60 // max(width, 1)) + 1)
        labels = [(area.left() + width * (i + 0.5), label) for i, (label, _) in enumerate(self.bars) if i % every == 0]
        area = self.frame(painter, 0.0, high, labels)
        for i, (_, value) in enumerate(self.bars):
            h = area.height() * max(0.0, value) / high
            painter.fillRect(QRectF(area.left() + width * (i + 0.15), area.bottom() - h, width * 0.7, h), ACCENT)
        painter.end()
