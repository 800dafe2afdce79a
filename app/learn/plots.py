"""Matplotlib plots for the Learn tab that stay out of the way of the GUI thread.

Plots draw only while visible, one per turn of the event loop, with their axes at fixed pixel
margins (a layout engine would cost as much as the drawing).  ``small_plot`` makes the tab's
three small charts alike: title, axis labels, a hint shown while there is nothing to plot.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_API", "pyside6")

from matplotlib.axes import Axes
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QWidget


class _DrawQueue:
    """Draws the plots that asked, one per turn of the event loop, so that the clicks, keys and
    timers waiting between them are handled: four plots at once held the GUI for a quarter second."""

    def __init__(self) -> None:
        self._waiting: list[PlotCanvas] = []
        self._scheduled = False

    def add(self, canvas: PlotCanvas) -> None:
        if canvas not in self._waiting:
            self._waiting.append(canvas)
        self._schedule()

    def _schedule(self) -> None:
        if self._waiting and not self._scheduled:
            self._scheduled = True
            QTimer.singleShot(0, self._draw_next)

    def _draw_next(self) -> None:
        self._scheduled = False
        canvas = self._waiting.pop(0) if self._waiting else None
        self._schedule()
        if canvas is not None and not _isdeleted(canvas) and canvas.isVisible():
            canvas.draw()


def _isdeleted(widget: QWidget) -> bool:
    try:
        widget.objectName()
    except RuntimeError:  # its C++ side is gone
        return True
    return False


_DRAWS = _DrawQueue()


class PlotCanvas(FigureCanvasQTAgg):
    """A matplotlib canvas that draws only while visible, one plot per event-loop turn, with its
    axes at fixed margins in pixels: a layout engine would cost as much as the drawing itself."""

    def __init__(self, figure: Figure, margins: tuple[int, int, int, int]):
        super().__init__(figure)
        self._margins = margins  # left, right, top, bottom, in logical pixels
        self._laid_out_for: tuple[int, int] | None = None
        self._stale = False

    def draw_idle(self) -> None:
        if not self.isVisible():
            self._stale = True  # drawn when shown
            return
        _DRAWS.add(self)

    def draw(self) -> None:
        size = (self.width(), self.height())
        if size != self._laid_out_for and min(size) > 0:
            left, right, top, bottom = self._margins
            w, h = max(size[0], left + right + 10), max(size[1], top + bottom + 10)
            self.figure.subplots_adjust(left=left / w, right=1 - right / w, top=1 - top / h, bottom=bottom / h)
            self._laid_out_for = size
        super().draw()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self._stale = False
            _DRAWS.add(self)


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
