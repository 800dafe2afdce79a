"""Matplotlib pictures for the Learn tab, drawn in a process of their own.

``FigureServer`` starts the drawing process (``app.learn.figures.serve``), sends it plain data and
requests for pictures, and hands the pictures back on the GUI thread; a ``PlotCanvas`` only
paints the last picture of its figure and turns clicks into data coordinates.  A canvas asks for
a picture only while visible, and has at most one request out at a time: changes made meanwhile
are drawn by the next one, so a burst of steps never queues drawings.
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, QSize, Qt, QThread, Signal
from PySide6.QtGui import QImage, QMouseEvent, QPainter, QPaintEvent, QResizeEvent, QShowEvent
from PySide6.QtWidgets import QWidget

from app.learn import figures


@dataclass(frozen=True, eq=False)
class _Picture:
    pixels: np.ndarray  # (H, W, 4) uint8 RGBA
    axes: tuple  # each axes' ((x0, y0, width, height) in pixels from the bottom, xlim, ylim)


class _Reader(QThread):
    """Waits for the drawing process's answers and passes them on (as a queued signal)."""

    received = Signal(object)

    def __init__(self, connection) -> None:
        super().__init__()
        self._connection = connection

    def run(self) -> None:
        while True:
            try:
                message = self._connection.recv()
            except (EOFError, OSError):
                return
            self.received.emit(message)


class FigureServer(QObject):
    """The drawing process and the canvases that show its figures."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        context = multiprocessing.get_context("spawn")  # never fork a process that runs Qt threads
        self._connection, child = context.Pipe()
        self._process = context.Process(target=figures.serve, args=(child,), name="kmeans-figures", daemon=True)
        self._process.start()
        child.close()
        self._reader = _Reader(self._connection)
        self._reader.received.connect(self._received)
        self._reader.start()
        # Sending waits while the process is busy drawing and the pipe is full: never on the GUI thread.
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write, name="figuresWriter", daemon=True)
        self._writer.start()
        self._canvases: dict[str, PlotCanvas] = {}
        self._stopped = False

    def canvas(self, name: str) -> PlotCanvas:
        canvas = PlotCanvas(name, self)
        self._canvases[name] = canvas
        return canvas

    def call(self, method: str, *args, redraw: tuple[str, ...]) -> None:
        """Run ``LessonFigures.method(*args)`` in the drawing process, then redraw ``redraw``."""
        self._send(("call", method, args))
        for name in redraw:
            self._canvases[name].changed()

    def request(self, name: str, width: int, height: int, dpr: float, number: int) -> None:
        self._send(("draw", name, width, height, dpr, number))

    def _send(self, message: object) -> None:
        if not self._stopped:
            self._outbox.put(message)

    def _write(self) -> None:
        """On the writer thread: send each message in order; None is the last."""
        while True:
            message = self._outbox.get()
            try:
                self._connection.send(message)
            except (OSError, ValueError):  # the process has gone: the charts stay as they were
                return
            if message is None:
                return

    def _received(self, message: tuple) -> None:
        kind, name, number, *rest = message
        canvas = self._canvases.get(name)
        if canvas is None:
            return
        if kind == "picture":
            canvas.show_picture(number, *rest)
        else:  # "failed": keep the last picture, and be ready to ask again
            canvas.picture_failed(number)

    @property
    def drawing(self) -> bool:
        return not self._stopped and any(canvas.drawing for canvas in self._canvases.values())

    def stop(self) -> None:
        """End the drawing process, the writer and the reader (idempotent)."""
        if not self._stopped:
            self._send(None)
            self._stopped = True
        self._writer.join(5)
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._connection.close()
        self._reader.wait()


#: Canvases whose object names are contracts of their own (the rest are "<figure>Canvas").
OBJECT_NAMES = {"scatter": "blobsCanvas", "silhouette": "silhouetteChart"}


class PlotCanvas(QWidget):
    """Paints the latest picture of one figure; ``clicked(x, y)`` in the data coordinates of its axes."""

    clicked = Signal(float, float)  # a left click, without Shift
    removed = Signal(float, float)  # a right click, or a Shift-click: "take away what is here"

    def __init__(self, name: str, server: FigureServer, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName(OBJECT_NAMES.get(name, f"{name}Canvas"))
        self._name = name
        self._server = server
        (width, height), _margins = figures.FIGURES[name]
        self._size_hint = QSize(round(width * 100), round(height * 100))  # as matplotlib's own Qt canvas
        self._picture: _Picture | None = None
        self._image: QImage | None = None
        self._dirty = True  # the figure changed since the last picture was asked for
        self._asked = 0  # number of the picture asked for last (0: none out)
        self._serial = 0
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setMinimumSize(120, 100)

    def sizeHint(self) -> QSize:
        return self._size_hint

    @property
    def drawing(self) -> bool:
        """A picture is on its way, or one is due."""
        return self._asked != 0 or (self._dirty and self.isVisible())

    def changed(self) -> None:
        self._dirty = True
        self._ask()

    def _ask(self) -> None:
        if not self._dirty or self._asked or not self.isVisible() or self.width() <= 0 or self.height() <= 0:
            return
        self._dirty = False
        self._serial += 1
        self._asked = self._serial
        self._server.request(self._name, self.width(), self.height(), self.devicePixelRatioF(), self._asked)

    def show_picture(self, number: int, pixels: np.ndarray, axes: tuple) -> None:
        if number != self._asked:
            return
        self._asked = 0
        h, w = pixels.shape[:2]
        dpr = w / max(self.width(), 1)
        image = QImage(pixels.data, w, h, 4 * w, QImage.Format.Format_RGBA8888)
        image.buffer = pixels  # the QImage does not own its pixels: this reference does
        image.setDevicePixelRatio(dpr)
        self._picture, self._image = _Picture(pixels, axes), image
        self.update()
        self._ask()  # changes made while this one was drawn

    def picture_failed(self, number: int) -> None:
        if number == self._asked:
            self._asked = 0

    def paintEvent(self, event: QPaintEvent) -> None:
        with QPainter(self) as painter:  # ended here, even if something raises while painting
            painter.fillRect(self.rect(), Qt.GlobalColor.white)
            if self._image is not None:
                painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
                painter.drawImage(QRectF(self.rect()), self._image, QRectF(self._image.rect()))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.changed()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._ask()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        point = self.data_point(event.position())
        if point is not None:
            shifted = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
            if event.button() == Qt.MouseButton.RightButton or (
                    event.button() == Qt.MouseButton.LeftButton and shifted):
                self.removed.emit(*point)
            elif event.button() == Qt.MouseButton.LeftButton:
                self.clicked.emit(*point)
        super().mousePressEvent(event)

    def widget_point(self, x: float, y: float) -> QPointF | None:
        """The widget position that shows data point (x, y) in the first axes, as last drawn (the
        inverse of ``data_point``; None before the first picture)."""
        picture = self._picture
        if picture is None or not picture.axes:
            return None
        (x0, y0, width, height), (xmin, xmax), (ymin, ymax) = picture.axes[0]
        px = x0 + (x - xmin) / (xmax - xmin) * width
        py = y0 + (y - ymin) / (ymax - ymin) * height
        h, w = picture.pixels.shape[:2]
        return QPointF(px / w * self.width(), (1 - py / h) * self.height())

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
