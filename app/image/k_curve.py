"""The K curve: this image's quality and export size against K, the tutorial's elbow on the
user's own image.

``KCurve`` draws the points it is given (estimated on a sample by ``kmeans.autok``, filled in one
by one in the background) with QPainter: mean ΔE (or PSNR) on the left axis, the export's size on
the right, K on a log axis from 2 to 256.  The current K and the knee are marked, and a target's
limit when Auto K follows one; a click asks for the nearest K (``k_clicked``).
"""

from __future__ import annotations

import itertools
import math

from PySide6.QtCore import QPointF, QRectF, QSize, QSizeF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPainterPath, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from kmeans.autok import Point, knee
from kmeans.defaults import MAX_K
from kmeans.options import Target
from kmeans.wording import file_size

MIN_K = 2
TICKS = (2, 4, 8, 16, 32, 64, 128, 256)
QUALITY_COLOUR = QColor(44, 110, 190)
SIZE_COLOUR = QColor(214, 120, 30)
MARGINS = (44, 20, 52, 30)  # left, top, right, bottom: room for the axes' titles and numbers


class KCurve(QWidget):
    """Quality and size against K for the open image; click to choose K."""

    k_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("kCurve")
        self.setAccessibleName("Quality and file size against K")
        self.setToolTip("Quality (blue) and export size (orange) against K, estimated for this image.\n"
                        "Click to choose K. The dot marks the knee, where more colours start to pay less.")
        self.setMouseTracking(True)
        self.setMinimumHeight(120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._points: dict[int, Point] = {}
        self._current: int | None = None
        self._target: Target | None = None
        self._knee_label: QRectF | None = None
        self._measure = "delta_e"  # or "psnr"
        self._note = "Opens with an image"

    def sizeHint(self) -> QSize:
        return QSize(340, 200)

    # -- what it shows --------------------------------------------------------------------------

    @property
    def points(self) -> list[Point]:
        return [self._points[k] for k in sorted(self._points)]

    @property
    def knee(self) -> int | None:
        return knee(self._points.values())

    @property
    def measure(self) -> str:
        """"delta_e" or "psnr": what the left axis shows."""
        return self._measure

    def set_measure(self, measure: str) -> None:
        self._measure = measure
        self.update()

    def clear(self, note: str = "Working out the curve…") -> None:
        self._points.clear()
        self._note = note
        self.update()

    def add_point(self, point: Point) -> None:
        self._points[point.k] = point
        self.update()

    @property
    def current(self) -> int | None:
        """The K the line marks: the shown result's."""
        return self._current

    def set_current(self, k: int | None) -> None:
        self._current = k
        self.update()

    def set_target(self, target: Target | None) -> None:
        self._target = target
        self.update()

    # -- geometry -------------------------------------------------------------------------------

    def _plot(self) -> QRectF:
        left, top, right, bottom = MARGINS
        return QRectF(left, top, max(1, self.width() - left - right), max(1, self.height() - top - bottom))

    def _x(self, k: float, plot: QRectF) -> float:
        return plot.left() + plot.width() * math.log(k / MIN_K) / math.log(MAX_K / MIN_K)

    def position_of(self, k: float) -> QPointF:
        """Where a click chooses ``k``: on the plot's middle line, at the K's horizontal position."""
        plot = self._plot()
        return QPointF(self._x(k, plot), plot.center().y())

    def k_at(self, x: float) -> int:
        """The K under the horizontal position ``x`` (nearest whole K)."""
        plot = self._plot()
        t = min(max((x - plot.left()) / plot.width(), 0.0), 1.0)
        return min(max(round(MIN_K * (MAX_K / MIN_K) ** t), MIN_K), MAX_K)

    def _value(self, point: Point) -> float:
        return point.delta_e if self._measure == "delta_e" else point.psnr

    # -- painting -------------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        with QPainter(self) as painter:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            self._paint(painter)

    def _paint(self, painter: QPainter) -> None:
        palette = self.palette()
        text = palette.windowText().color()
        faint = palette.mid().color()
        plot = self._plot()
        painter.fillRect(self.rect(), palette.base())
        painter.setPen(QPen(faint, 1))
        painter.drawRect(plot)
        small = painter.font()
        small.setPointSizeF(max(6.5, small.pointSizeF() * 0.8))
        painter.setFont(small)
        metrics = painter.fontMetrics()
        for k in TICKS:
            x = self._x(k, plot)
            painter.setPen(QPen(faint, 1, Qt.PenStyle.DotLine))
            painter.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
            painter.setPen(text)
            painter.drawText(QRectF(x - 20, plot.bottom() + 2, 40, metrics.height()), Qt.AlignmentFlag.AlignHCenter,
                             str(k))
        painter.drawText(QRectF(plot.left(), plot.bottom() + metrics.height(), plot.width(), metrics.height()),
                         Qt.AlignmentFlag.AlignHCenter, "K (colours)")
        points = [p for p in self.points if math.isfinite(self._value(p))]
        if len(points) < 2:
            painter.setPen(palette.placeholderText().color())
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, self._note if not points else "Working out the curve…")
            self._draw_current(painter, plot)
            return
        values = [self._value(p) for p in points]
        q_low, q_high = _range(values, floor=0.0 if self._measure == "delta_e" else None)
        s_low, s_high = 0.0, max(p.size for p in points) * 1.05 or 1.0
        unit, unit_name = _size_unit(s_high)
        self._draw_axis(painter, plot, q_low, q_high, QUALITY_COLOUR, left=True, label=lambda v: f"{v:g}")
        self._draw_axis(painter, plot, s_low / unit, s_high / unit, SIZE_COLOUR, left=False,
                        label=lambda v: f"{v:g} {unit_name}")
        target = self._target
        if target is not None and (target.kind == self._measure or target.by_size):
            # Dashed in its axis's colour and named at its left end: a line alone reads as a tick.
            low, high, colour = (s_low, s_high, SIZE_COLOUR) if target.by_size else (q_low, q_high, QUALITY_COLOUR)
            y = _y(target.value, low, high, plot)
            if plot.top() <= y <= plot.bottom():
                painter.setPen(QPen(colour, 1, Qt.PenStyle.DashLine))
                painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
                words = f"target {target.words()}" if not target.by_size else f"target {_short_size(target.value)}"
                above = y - metrics.height() - 1 >= plot.top()
                painter.drawText(QRectF(plot.left() + 4, y - metrics.height() - 1 if above else y + 1,
                                        plot.width() - 8, metrics.height()), Qt.AlignmentFlag.AlignLeft, words)
        quality_line = [(self._x(p.k, plot), _y(self._value(p), q_low, q_high, plot)) for p in points]
        size_line = [(self._x(p.k, plot), _y(p.size, s_low, s_high, plot)) for p in points]
        self._draw_line(painter, quality_line, QUALITY_COLOUR)
        self._draw_line(painter, size_line, SIZE_COLOUR)
        bend = self.knee
        self._knee_label = None
        if bend is not None and bend in self._points:
            p = self._points[bend]
            centre = QPointF(self._x(bend, plot), _y(self._value(p), q_low, q_high, plot))
            painter.setPen(QPen(text, 1.5))
            painter.setBrush(palette.base())
            painter.drawEllipse(centre, 5, 5)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            words = f"knee, K={bend}"
            size = QSizeF(metrics.horizontalAdvance(words) + 4, metrics.height())
            lines = [quality_line, size_line]
            if self._current is not None:  # (its line is drawn over everything)
                x = self._x(self._current, plot)
                lines.append([(x, plot.top()), (x, plot.bottom())])
            self._knee_label = _clear_place(centre, size, plot, lines)
            painter.drawText(self._knee_label, Qt.AlignmentFlag.AlignCenter, words)
        self._draw_current(painter, plot)

    @property
    def knee_label(self) -> QRectF | None:
        """Where the knee's label was last drawn (None without a knee)."""
        return self._knee_label

    def _draw_current(self, painter: QPainter, plot: QRectF) -> None:
        if self._current is None:
            return
        x = self._x(self._current, plot)
        painter.setPen(QPen(self.palette().highlight().color(), 2))
        painter.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))

    def _draw_axis(self, painter: QPainter, plot: QRectF, low: float, high: float, colour: QColor, *, left: bool,
                   label) -> None:
        metrics = painter.fontMetrics()
        painter.setPen(colour)
        for value in _ticks(low, high):
            y = _y(value, low, high, plot)
            text = label(value)
            if left:
                box = QRectF(0, y - metrics.height() / 2, plot.left() - 4, metrics.height())
                painter.drawText(box, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
            else:
                box = QRectF(plot.right() + 4, y - metrics.height() / 2, MARGINS[2] - 4, metrics.height())
                painter.drawText(box, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
        title = ("mean ΔE" if self._measure == "delta_e" else "PSNR (dB)") if left else "file size"
        box = QRectF(plot.left() if left else plot.center().x(), 0, plot.width() / 2, plot.top() - 2)
        painter.drawText(box, (Qt.AlignmentFlag.AlignLeft if left else Qt.AlignmentFlag.AlignRight)
                         | Qt.AlignmentFlag.AlignBottom, title)

    @staticmethod
    def _draw_line(painter: QPainter, xy: list[tuple[float, float]], colour: QColor) -> None:
        path = QPainterPath(QPointF(*xy[0]))
        for x, y in xy[1:]:
            path.lineTo(x, y)
        painter.setPen(QPen(colour, 2))
        painter.drawPath(path)
        painter.setBrush(colour)
        for x, y in xy:
            painter.drawEllipse(QPointF(x, y), 2.2, 2.2)
        painter.setBrush(Qt.BrushStyle.NoBrush)

    # -- the mouse ------------------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._plot().contains(event.position()):
            self.k_clicked.emit(self.k_at(event.position().x()))
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._points and self._plot().contains(event.position()):
            k = self.k_at(event.position().x())
            near = min(self._points, key=lambda j: abs(math.log(j / k)))
            p = self._points[near]
            psnr = "∞" if math.isinf(p.psnr) else f"{p.psnr:.1f} dB"
            QToolTip.showText(event.globalPosition().toPoint(),
                              f"K={near}: ΔE {p.delta_e:.2f}, PSNR {psnr}, about {file_size(p.size, exact=False)}"
                              f"\nClick to use K={k}", self)
        super().mouseMoveEvent(event)


def _range(values: list[float], floor: float | None) -> tuple[float, float]:
    low, high = min(values), max(values)
    if floor is not None:
        low = floor
    if high - low < 1e-9:
        high = low + 1.0
    pad = (high - low) * 0.05
    return (low if floor is not None else low - pad), high + pad


def _y(value: float, low: float, high: float, plot: QRectF) -> float:
    return plot.bottom() - plot.height() * (value - low) / (high - low)


def _ticks(low: float, high: float) -> list[float]:
    """About four round values between ``low`` and ``high``."""
    span = high - low
    step = 10 ** math.floor(math.log10(span / 4))
    for factor in (1, 2, 5, 10):
        if span / (step * factor) <= 5:
            step *= factor
            break
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def _size_unit(high: float) -> tuple[int, str]:
    """The unit the size axis counts in, so its ticks fall on round numbers of it."""
    if high < 1024:
        return 1, "B"
    if high < 1024**2:
        return 1024, "KB"
    return 1024**2, "MB"


def _clear_place(centre: QPointF, size: QSizeF, plot: QRectF, lines: list[list[tuple[float, float]]]) -> QRectF:
    """A place for a label beside ``centre`` inside ``plot``, as far as it can be from the ``lines``."""
    gap = 7.0
    w, h = size.width(), size.height()
    places = [QRectF(centre.x() + dx, centre.y() + dy, w, h)
              for dx in (gap, -gap - w) for dy in (-gap - h, gap, -h / 2)]
    inside = [r for r in places if plot.contains(r)] or places
    samples = [(x0 + (x1 - x0) * t / 8, y0 + (y1 - y0) * t / 8)
               for line in lines for (x0, y0), (x1, y1) in itertools.pairwise(line) for t in range(9)]

    def distance(rect: QRectF) -> float:
        if not samples:
            return 0.0
        return min(math.hypot(max(rect.left() - x, 0, x - rect.right()), max(rect.top() - y, 0, y - rect.bottom()))
                   for x, y in samples)

    return max(inside, key=distance)


def _short_size(n: float) -> str:
    if n < 1024:
        return f"{n:.0f} B"
    if n < 1024**2:
        return f"{n / 1024:.0f} KB"
    return f"{n / 1024**2:.1f} MB"
