"""The image view: zoom around the cursor, pan, a before/after split handle, pixel-sharp zoom.

Left of the split handle shows the original ("before"), right of it the quantized image
("after").  Holding Space shows the original everywhere.  Zoom is in device pixels per image
pixel, so 100% is one image pixel per screen pixel on any display; above 100% pixels are drawn as
sharp squares.  When the view shows less detail than a downscaled preview holds, the preview is
drawn instead of the full image, so painting stays fast on large photos.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

MIN_ZOOM, MAX_ZOOM = 1 / 64, 64.0
ZOOM_STEP = 1.25
HANDLE_GRAB = 10  # logical pixels either side of the split line that grab it


class _Layer:
    """One picture at one or more resolutions; ``width`` x ``height`` is its full size in image pixels.

    A live frame of k-means is a single small image of a large picture: it is drawn stretched to
    the full size, like any other downscaled copy.
    """

    def __init__(self, width: int, height: int, *images: QImage):
        self.width, self.height = width, height
        self.images = sorted(images, key=lambda image: image.width(), reverse=True)  # largest first
        self.drawn: tuple[tuple, QImage] | None = None  # the visible part as last drawn, at device size

    def pick(self, zoom: float) -> tuple[QImage, float]:
        """The smallest image with at least ``zoom`` (device px per full-size px) of detail, else the
        largest, and its scale to full size."""
        chosen = self.images[0]
        for image in self.images[1:]:
            if image.width() / self.width >= zoom:
                chosen = image
        return chosen, chosen.width() / self.width


class ImageCanvas(QWidget):
    """Zoomable, pannable before/after view of an image and its quantized version."""

    zoom_changed = Signal(float)
    picked = Signal(int, int)  # the eyedropper: an image pixel (x, y) was clicked (y in the stacked frames)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("imageCanvas")
        self.setAccessibleName("Image: original left of the split handle, compressed right of it")
        self.setToolTip("Wheel: zoom · drag: pan · drag the handle: compare · hold Space: original")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 180)
        self.setMouseTracking(True)
        self._original: _Layer | None = None
        self._result: _Layer | None = None
        self._mask: QImage | None = None
        self._zoom = 1.0
        self._fit = True
        self._centre = QPointF(0, 0)  # image coordinate (full-res px) at the view's centre
        self._split = 0.5
        self._held = False  # Space held: show the original everywhere
        self._pinned = False  # View › Show Original: the same, until unchecked
        self._drag: str | None = None
        self._picking = False  # the eyedropper is on
        self._frames, self._frame = 1, 0  # an animation's frames are stacked in its images; one is shown
        self._drag_from = QPointF()
        self._checker = _checkerboard()

    # -- content --------------------------------------------------------------------------------

    def set_original(self, full: QImage, preview: QImage | None = None, frames: int = 1) -> None:
        """Show a new image (resets the result and fits it to the view).  An animation's images are
        its ``frames`` stacked top to bottom, at any resolution: one frame is shown at a time."""
        self._frames, self._frame = max(1, frames), 0
        height = full.height() // self._frames
        self._original = _Layer(full.width(), height, *([full] if preview is None else [full, preview]))
        self._result = None
        self._mask = None
        self._centre = QPointF(full.width() / 2, height / 2)
        self.fit_to_window()

    @property
    def frame(self) -> int:
        """The frame of an animation shown (0 for a still image)."""
        return self._frame

    def set_frame(self, index: int) -> None:
        """Show frame ``index`` of an animation, at the same zoom, place and split."""
        index = min(max(0, index), self._frames - 1)
        if index != self._frame:
            self._frame = index
            self.update()

    def set_result(self, image: QImage | None, preview: QImage | None = None) -> None:
        """Show the quantized image, at full size or smaller (a live frame), with an optional
        downscaled copy; None shows the original on both sides."""
        if image is None or self._original is None:
            self._result = None
        else:
            images = [image] if preview is None else [image, preview]
            self._result = _Layer(self._original.width, self._original.height, *images)
        self.update()

    def set_highlight(self, shade: QImage | None) -> None:
        """Lay ``shade`` (dark where pixels are not highlighted, at any resolution) over the result."""
        self._mask = shade
        self.update()

    @property
    def highlighting(self) -> bool:
        """Some palette entry's pixels are highlighted."""
        return self._mask is not None

    @property
    def showing_original(self) -> bool:
        """The original is shown everywhere (Space held, or View › Show Original)."""
        return self._held or self._pinned

    @property
    def zoom(self) -> float:
        return self._zoom

    def detail_side(self) -> int:
        """Device pixels the image's longest side spans at the current zoom (0 with no image): a
        picture of the result that size looks as sharp as the full-size one does now."""
        if self._original is None:
            return 0
        return math.ceil(max(self._original.width, self._original.height) * self._zoom)

    @property
    def fitted(self) -> bool:
        """The zoom follows the window (fit to window), until the user zooms or pans."""
        return self._fit

    @property
    def split(self) -> float:
        """Where the handle is, as a fraction of the image's visible width: it stays on the image
        whatever its size, zoom or pan (0 all compressed, 1 all original)."""
        return self._split

    def set_split(self, fraction: float) -> None:
        self._split = min(1.0, max(0.0, fraction))
        self.update()

    # -- zoom -----------------------------------------------------------------------------------

    def fit_to_window(self) -> None:
        if self._original is None:
            return
        full = self._original
        dpr = self.devicePixelRatioF()
        self._fit = True
        self._centre = QPointF(full.width / 2, full.height / 2)
        fit = min(self.width() * dpr / full.width, self.height() * dpr / full.height)
        self._set_zoom(min(max(fit, MIN_ZOOM), MAX_ZOOM))

    def actual_size(self) -> None:
        self._fit = False
        self._set_zoom(1.0, update=False)
        self._clamp_centre()
        self.update()

    def zoom_in(self) -> None:
        self.zoom_by(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.zoom_by(1 / ZOOM_STEP)

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom keeping the image point under ``anchor`` (widget coordinates) where it is."""
        if self._original is None:
            return
        anchor = anchor if anchor is not None else QPointF(self.width() / 2, self.height() / 2)
        before = self.to_image(anchor)
        self._fit = False
        self._set_zoom(min(max(self._zoom * factor, MIN_ZOOM), MAX_ZOOM), update=False)
        after = self.to_image(anchor)
        self._centre += before - after
        self._clamp_centre()
        self.update()

    def _set_zoom(self, zoom: float, update: bool = True) -> None:
        self._zoom = zoom
        self.zoom_changed.emit(zoom)  # (also when only "fitted" changed: the label says both)
        if update:
            self.update()

    # -- geometry -------------------------------------------------------------------------------

    def _clamp_centre(self) -> None:
        """Keep the image in view: centred on an axis where it fits, else covering the view."""
        if self._original is None:
            return
        s = self._scale()
        centre = []
        for size, view, value in ((self._original.width, self.width(), self._centre.x()),
                                  (self._original.height, self.height(), self._centre.y())):
            half = view / 2 / s
            centre.append(size / 2 if size * s <= view else min(max(value, half), size - half))
        self._centre = QPointF(*centre)

    @property
    def zoom_percent(self) -> int:
        """The zoom as people read it: 100 is one image pixel per screen pixel."""
        return round(self._zoom * 100)

    def _scale(self) -> float:
        """Logical pixels per full-res image pixel."""
        return self._zoom / self.devicePixelRatioF()

    def to_image(self, point: QPointF) -> QPointF:
        """The image coordinates (pixels, fractional) under a point of the widget."""
        s = self._scale()
        return QPointF(
            self._centre.x() + (point.x() - self.width() / 2) / s,
            self._centre.y() + (point.y() - self.height() / 2) / s,
        )

    def image_rect(self) -> QRectF:
        """Where the full image lies, in widget coordinates."""
        if self._original is None:
            return QRectF()
        s = self._scale()
        full = self._original
        left = self.width() / 2 - self._centre.x() * s
        top = self.height() / 2 - self._centre.y() * s
        return QRectF(left, top, full.width * s, full.height * s)

    def _visible_span(self) -> tuple[float, float]:
        """The left and right of the part of the image on screen, in widget coordinates."""
        shown = self.image_rect().intersected(QRectF(self.rect()))
        if shown.isEmpty():
            return 0.0, float(self.width())
        return shown.left(), shown.right()

    def split_x(self) -> float:
        """The handle's position in widget coordinates."""
        left, right = self._visible_span()
        return left + (right - left) * self._split

    # -- painting -------------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        with QPainter(self) as painter:  # ended here, even if something raises while painting
            self._paint(painter)

    def _paint(self, painter: QPainter) -> None:
        painter.fillRect(self.rect(), self._background())
        if self._original is None:
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Drop an image here, or File › Open")
            return
        target = self.image_rect()
        if self._original.images[0].hasAlphaChannel():  # (an opaque image covers the squares)
            painter.fillRect(target.intersected(QRectF(self.rect())), QBrush(self._checker))
        split_x = self.split_x()
        flipped = self.showing_original
        show_result = self._result is not None and not flipped
        if show_result:
            self._draw(painter, self._original, target, QRectF(0, 0, split_x, self.height()))
            self._draw(painter, self._result, target, QRectF(split_x, 0, self.width() - split_x, self.height()))
        else:
            self._draw(painter, self._original, target, QRectF(self.rect()))
        if self._mask is not None:  # over both halves: the highlighted pixels stay clear wherever one looks
            self._draw_mask(painter, target, QRectF(self.rect()))
        if show_result:
            self._draw_handle(painter, split_x)
        elif flipped:
            self._draw_label(painter, "Original", Qt.AlignmentFlag.AlignLeft)

    def _draw(self, painter: QPainter, layer: _Layer, target: QRectF, clip: QRectF) -> None:
        """Draw the part of ``layer`` inside ``clip``.  The whole visible part is scaled once into
        a copy at device size, kept with the layer: later paints of the same view (the other
        half's new result, the handle dragged, a highlight) are plain copies."""
        visible = target.intersected(QRectF(self.rect())).toAlignedRect().intersected(self.rect())
        if visible.isEmpty() or target.intersected(clip).isEmpty():
            return
        dpr = self.devicePixelRatioF()
        key = (self._zoom, target.x(), target.y(), visible.x(), visible.y(), visible.width(), visible.height(), dpr,
               self._frame)
        if layer.drawn is None or layer.drawn[0] != key:
            layer.drawn = (key, self._scaled(layer, target, visible, dpr))
        painter.save()
        painter.setClipRect(clip)
        painter.drawImage(visible.topLeft(), layer.drawn[1])
        painter.restore()

    def _scaled(self, layer: _Layer, target: QRectF, visible: QRect, dpr: float) -> QImage:
        """The part of ``layer`` that lands in ``visible`` (whole widget pixels) at device
        resolution, on the canvas's background (transparent for images with alpha) where the
        image covers a pixel only in part."""
        image, scale = layer.pick(self._zoom)
        s = self._scale()
        above = self._frame * image.height() / self._frames  # (the frames before the shown one)
        source = QRectF(  # the part of the source image that lands in the visible rectangle
            (visible.left() - target.left()) / s * scale,
            (visible.top() - target.top()) / s * scale + above,
            visible.width() / s * scale,
            visible.height() / s * scale,
        )
        opaque = not image.hasAlphaChannel()
        copy = QImage(round(visible.width() * dpr), round(visible.height() * dpr),
                      QImage.Format.Format_RGB32 if opaque else QImage.Format.Format_ARGB32_Premultiplied)
        copy.setDevicePixelRatio(dpr)
        copy.fill(self._background() if opaque else QColor(Qt.GlobalColor.transparent))
        with QPainter(copy) as painter:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._zoom < 1.0)
            painter.drawImage(QRectF(0, 0, visible.width(), visible.height()), image, source)
        return copy

    def _background(self) -> QColor:
        return self.palette().window().color().darker(108)

    def _draw_mask(self, painter: QPainter, target: QRectF, clip: QRectF) -> None:
        painter.save()
        painter.setClipRect(clip.intersected(target))
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self._zoom < 1.0)
        painter.setOpacity(0.75)
        height = self._mask.height() / self._frames
        painter.drawImage(target, self._mask, QRectF(0, self._frame * height, self._mask.width(), height))
        painter.restore()

    def _draw_handle(self, painter: QPainter, x: float) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(QColor(255, 255, 255, 230), 2))
        painter.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        painter.setPen(QPen(QColor(0, 0, 0, 90), 1))
        painter.drawLine(QPointF(x + 1.5, 0), QPointF(x + 1.5, self.height()))
        knob = QRectF(x - 14, self.height() / 2 - 14, 28, 28)
        painter.setBrush(QColor(255, 255, 255, 235))
        painter.setPen(QPen(QColor(0, 0, 0, 110), 1))
        painter.drawEllipse(knob)
        arrows = QPainterPath()
        cy = knob.center().y()
        arrows.moveTo(x - 4, cy - 5)
        arrows.lineTo(x - 9, cy)
        arrows.lineTo(x - 4, cy + 5)
        arrows.moveTo(x + 4, cy - 5)
        arrows.lineTo(x + 9, cy)
        arrows.lineTo(x + 4, cy + 5)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(QColor(40, 40, 48), 2))
        painter.drawPath(arrows)
        painter.restore()
        self._draw_label(painter, "Original", Qt.AlignmentFlag.AlignLeft)
        self._draw_label(painter, "Compressed", Qt.AlignmentFlag.AlignRight)

    def _draw_label(self, painter: QPainter, text: str, side: Qt.AlignmentFlag) -> None:
        painter.save()
        metrics = painter.fontMetrics()
        width = metrics.horizontalAdvance(text) + 16
        height = metrics.height() + 8
        x = 10 if side == Qt.AlignmentFlag.AlignLeft else self.width() - width - 10
        box = QRectF(x, 10, width, height)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 140))
        painter.drawRoundedRect(box, 6, 6)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()

    # -- input ----------------------------------------------------------------------------------

    def _near_handle(self, x: float) -> bool:
        return self._result is not None and abs(x - self.split_x()) <= HANDLE_GRAB

    @property
    def picking(self) -> bool:
        """The eyedropper is on: a click picks a pixel instead of dragging."""
        return self._picking

    def set_picking(self, on: bool) -> None:
        self._picking = on
        self.setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._original is None:
            return super().mousePressEvent(event)
        if self.picking:
            point = self.to_image(event.position())
            x, y = int(point.x()), int(point.y())
            if 0 <= x < self._original.width and 0 <= y < self._original.height:
                self.picked.emit(x, y + self._frame * self._original.height)  # (in the stacked frames)
            return None
        self._drag = "split" if self._near_handle(event.position().x()) else "pan"
        self._drag_from = event.position()
        self.setCursor(Qt.CursorShape.SplitHCursor if self._drag == "split" else Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        position = event.position()
        if self._drag == "split":
            left, right = self._visible_span()
            self.set_split((position.x() - left) / max(right - left, 1.0))
        elif self._drag == "pan":
            delta = position - self._drag_from
            self._drag_from = position
            before = QPointF(self._centre)
            self._centre -= delta / self._scale()
            self._clamp_centre()
            if self._centre != before:
                self._fit = False
                self.update()
        elif self._near_handle(position.x()):
            self.setCursor(Qt.CursorShape.SplitHCursor)
        else:
            self.setCursor(Qt.CursorShape.OpenHandCursor if self._original else Qt.CursorShape.ArrowCursor)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag = None
        self.setCursor(Qt.CursorShape.OpenHandCursor if self._original else Qt.CursorShape.ArrowCursor)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.fit_to_window()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.zoom_by(ZOOM_STEP**steps, event.position())
        event.accept()

    def hold_original(self, held: bool) -> None:
        """Show the original everywhere while Space is held (the image tab watches the key)."""
        self._held = held
        self.update()

    def show_original(self, on: bool) -> None:
        """Show the original everywhere until told otherwise (View › Show Original)."""
        self._pinned = on
        self.update()

    def resizeEvent(self, event: QResizeEvent) -> None:
        if self._fit:
            self.fit_to_window()
        else:
            self._clamp_centre()
        super().resizeEvent(event)

    def sizeHint(self) -> QSize:
        return QSize(900, 640)


def _checkerboard() -> QPixmap:
    """The usual grey checks behind transparent pixels."""
    tile = QPixmap(16, 16)
    tile.fill(QColor(204, 204, 204))
    painter = QPainter(tile)
    painter.fillRect(0, 0, 8, 8, QColor(238, 238, 238))
    painter.fillRect(8, 8, 8, 8, QColor(238, 238, 238))
    painter.end()
    return tile
