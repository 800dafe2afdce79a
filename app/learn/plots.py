"""Matplotlib plots for the Learn tab, drawn off the GUI thread.

Laying out and rasterising a small figure takes matplotlib 50-75 ms, and several times that while
the image worker holds the CPU: far more than the GUI thread can give.  So a ``PlotCanvas`` never
draws on the GUI thread.  Its figure belongs to a worker thread: the GUI hands it *changes*
(closures that move artists), and the worker applies them, draws the figure with Agg at the
widget's size and sends back a picture, which the widget paints.  Only one figure is drawn at a
time (matplotlib's font cache is shared), and only while the widget is visible.  ``small_plot``
makes the tab's three small charts alike.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QImage, QMouseEvent, QPainter, QPaintEvent, QResizeEvent, QShowEvent
from PySide6.QtWidgets import QWidget

from app.worker import Token, Worker

_DRAWING = threading.Lock()  # one figure at a time: matplotlib's fonts are shared between figures


@dataclass(frozen=True, eq=False)
class _Picture:
    """A drawn figure, and where each axes landed (to turn clicks into data coordinates)."""

    pixels: np.ndarray  # (H, W, 4) uint8 RGBA
    dpr: float
    axes: tuple[tuple[tuple[float, float, float, float], tuple[float, float], tuple[float, float]], ...]


class PlotCanvas(QWidget):
    """Shows a matplotlib figure drawn on its own worker thread.

    Change the figure only through ``change(fn)``; ``clicked(x, y)`` gives the data coordinates of a
    click inside the first axes.
    """

    clicked = Signal(float, float)

    def __init__(self, figure: Figure, margins: tuple[int, int, int, int], parent: QWidget | None = None):
        super().__init__(parent)
        self.figure = figure
        FigureCanvasAgg(figure)
        self._margins = margins  # left, right, top, bottom, in logical pixels
        self._changes: list[Callable[[], None]] = []
        self._lock = threading.Lock()  # guards _changes
        self._picture: _Picture | None = None
        self._image: QImage | None = None
        self._stale = True
        self._drawer = Worker("plotWorker", self)
        width, height = figure.get_size_inches()
        self._size_hint = QSize(round(width * 100), round(height * 100))  # as matplotlib's own Qt canvas
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setMinimumSize(120, 100)

    def sizeHint(self) -> QSize:
        return self._size_hint

    def change(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` (which moves artists) on the drawing thread, then redraw."""
        with self._lock:
            self._changes.append(fn)
        self.draw_idle()

    def draw_idle(self) -> None:
        """Redraw soon, if visible (else when next shown)."""
        self._stale = True
        if self.isVisible() and self.width() > 0 and self.height() > 0:
            self._stale = False
            size, dpr = (self.width(), self.height()), self.devicePixelRatioF()
            self._drawer.submit(lambda token: self._draw(size, dpr, token), on_done=self._show)

    @property
    def drawing(self) -> bool:
        """A drawing is under way or waiting."""
        return self._drawer.busy or (self._stale and self.isVisible())

    def shutdown(self) -> None:
        self._drawer.stop()

    # -- on the drawing thread ------------------------------------------------------------------

    def _draw(self, size: tuple[int, int], dpr: float, token: Token) -> _Picture | None:
        with _DRAWING:
            with self._lock:
                changes, self._changes = self._changes, []
            for fn in changes:
                fn()
            token.check()  # a newer drawing was asked for: let it draw, with these changes applied
            figure = self.figure
            left, right, top, bottom = self._margins
            w, h = max(size[0], left + right + 10), max(size[1], top + bottom + 10)
            figure.subplots_adjust(left=left / w, right=1 - right / w, top=1 - top / h, bottom=bottom / h)
            figure.set_dpi(100 * dpr)
            figure.set_size_inches(size[0] / 100, size[1] / 100)
            figure.canvas.draw()
            pixels = np.array(figure.canvas.buffer_rgba())
            axes = tuple((ax.bbox.bounds, ax.get_xlim(), ax.get_ylim()) for ax in figure.axes)
        return _Picture(pixels, dpr, axes)

    # -- back on the GUI thread -----------------------------------------------------------------

    def _show(self, picture: _Picture) -> None:
        pixels = picture.pixels
        h, w = pixels.shape[:2]
        image = QImage(pixels.data, w, h, 4 * w, QImage.Format.Format_RGBA8888)
        image.buffer = pixels  # the QImage does not own its pixels: this reference does
        image.setDevicePixelRatio(picture.dpr)
        self._picture, self._image = picture, image
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        with QPainter(self) as painter:  # ended here, even if something raises while painting
            painter.fillRect(self.rect(), Qt.GlobalColor.white)
            if self._image is not None:
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
                painter.drawImage(QRectF(self.rect()), self._image, QRectF(self._image.rect()))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.draw_idle()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self.draw_idle()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        point = self.data_point(event.position())
        if point is not None:
            self.clicked.emit(*point)
        super().mousePressEvent(event)

    def data_point(self, position: QPointF) -> tuple[float, float] | None:
        """Data coordinates in the first axes of a widget position, as last drawn (None outside)."""
        picture = self._picture
        if picture is None or not picture.axes or self.width() <= 0 or self.height() <= 0:
            return None
        (x0, y0, width, height), (xmin, xmax), (ymin, ymax) = picture.axes[0]
        px = position.x() / self.width() * picture.pixels.shape[1]
        py = (1 - position.y() / self.height()) * picture.pixels.shape[0]  # Agg counts from the bottom
        if not (x0 <= px <= x0 + width and y0 <= py <= y0 + height):
            return None
        return xmin + (px - x0) / width * (xmax - xmin), ymin + (py - y0) / height * (ymax - ymin)


def plot_canvas(name: str, width: float, height: float,
                margins: tuple[int, int, int, int] = (62, 12, 26, 40)) -> tuple[PlotCanvas, Figure]:
    """A named canvas with one empty figure."""
    figure = Figure(figsize=(width, height))
    canvas = PlotCanvas(figure, margins)
    canvas.setObjectName(name)
    return canvas, figure


def small_plot(name: str, title: str, xlabel: str, ylabel: str, *, description: str, tip: str,
               hint: str = "") -> tuple[PlotCanvas, Axes, Text | None]:
    """One of the small charts under the scatter plot: its canvas, its axes and its hint text."""
    canvas, figure = plot_canvas(name, 3.0, 2.0)
    canvas.setAccessibleName(description)
    canvas.setToolTip(tip)
    canvas.setMinimumHeight(190)
    ax = figure.add_subplot()
    ax.set_title(title, fontsize=9)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
    shown = None
    if hint:
        shown = ax.text(0.5, 0.5, hint, ha="center", va="center", transform=ax.transAxes, fontsize=8,
                        color="#777777")
    return canvas, ax, shown
