"""The palette: one swatch per entry, largest share first, with its hex code and percentage.

It is redrawn on every k-means iteration, updating its items in place.  Clicking a swatch asks
the canvas to highlight that entry's pixels (click it again, or press Escape, to clear);
Ctrl+C or the context menu copies the hex code of the selected swatch.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor, QGuiApplication, QKeySequence, QPainter, QPen, QPixmap, QShowEvent
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem, QWidget

from kmeans.palettefile import hex_color

ENTRY_ROLE = Qt.ItemDataRole.UserRole  # the palette index behind a swatch
HEX_ROLE = Qt.ItemDataRole.UserRole + 1  # its colour as #rrggbb(aa), what Copy puts on the clipboard
LOCKED_ROLE = Qt.ItemDataRole.UserRole + 2  # True when the colour is locked


def _locked_swatch(colour: QColor, size: QSize) -> QPixmap:
    """The swatch with a padlock in its corner, drawn in black or white, whichever shows."""
    pixmap = QPixmap(size)
    pixmap.fill(colour)
    ink = QColor(0, 0, 0) if colour.lightnessF() > 0.55 else QColor(255, 255, 255)
    with QPainter(pixmap) as painter:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        w, h = size.width(), size.height()
        body = QRectF(w * 0.5, h * 0.55, w * 0.38, h * 0.32)
        painter.setPen(QPen(ink, 2))
        painter.drawArc(QRectF(body.left() + body.width() * 0.2, body.top() - body.height() * 0.7,
                               body.width() * 0.6, body.height() * 1.2), 0, 180 * 16)
        painter.fillRect(body, ink)
    return pixmap


class PaletteView(QListWidget):
    """Swatches of the current palette; emits ``entry_selected(index or -1)``."""

    entry_selected = Signal(int)
    lock_toggled = Signal(object)  # (r, g, b): lock it if it is not, else unlock it

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("paletteView")
        self.setAccessibleName("Palette")
        self.setToolTip("The palette, largest share first. Click a colour to highlight its pixels; Ctrl+C copies it; "
                        "L (or the context menu) locks it, so every run keeps it exactly.")
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setIconSize(QSize(34, 34))
        self.setGridSize(QSize(84, 76))  # room for #rrggbbaa
        self.setSpacing(2)
        self.setWordWrap(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self._copy = QAction("Copy hex code", self)
        self._copy.setShortcut(QKeySequence.StandardKey.Copy)
        self._copy.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self._copy.triggered.connect(self.copy_selected)
        self.addAction(self._copy)
        self._lock = QAction("Lock colour (kept through every run)", self)
        self._lock.setShortcut(QKeySequence("L"))
        self._lock.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self._lock.triggered.connect(self.toggle_lock)
        self.addAction(self._lock)
        self._locked: set[tuple[int, int, int]] = set()
        self.itemClicked.connect(self._clicked)
        self._selected = -1
        self._palette = np.zeros((0, 3), np.uint8)
        self._pending: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # (for swatches not yet in sight)

    def sizeHint(self) -> QSize:
        return QSize(340, 240)

    def set_locked(self, colours: set[tuple[int, int, int]]) -> None:
        """The colours shown with a lock (the tab's locked colours)."""
        self._locked = set(colours)

    def toggle_lock(self) -> None:
        """Lock the selected swatch's colour, or unlock it."""
        item = self.currentItem()
        if item is not None:
            entry = self._palette[int(item.data(ENTRY_ROLE))]
            self.lock_toggled.emit(tuple(int(v) for v in entry[:3]))

    def show_palette(self, palette: np.ndarray, shares: np.ndarray, *, in_view: bool = False) -> None:
        """Show ``palette`` (n, 3|4) uint8 with ``shares`` (n,) of the pixels, largest first.

        ``in_view``: for k-means' progress, fill only the swatches in sight when the count is
        unchanged (256 swatches cost ~6 ms of the GUI thread each time, while ~16 show); the rest
        are filled at the next full call, and scrolling in between fills what comes into sight.
        Behind another tab (the Learn tab, Choosing K) nothing is in sight: the swatches are filled
        when the view is shown again.
        """
        palette = np.asarray(palette)
        order = np.argsort(-np.asarray(shares), kind="stable")
        self._palette = palette
        rows = range(len(order))
        self._pending = None
        if not self.isVisibleTo(self.window()):
            rows = range(0)
            self._pending = (palette, np.asarray(shares), order)
        elif in_view and self.count() == len(order):
            rows = self._rows_in_sight()
            self._pending = (palette, np.asarray(shares), order)
        self.setUpdatesEnabled(False)
        try:
            while self.count() > len(order):
                self.takeItem(self.count() - 1)
            while self.count() < len(order):
                item = QListWidgetItem()
                # Uniform sizes are taken from the first item, made here still empty: without
                # a size of its own every code wider than a blank label would be cut off.
                item.setSizeHint(self.gridSize() - QSize(4, 4))
                item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
                self.addItem(item)
            self._fill_rows(rows, palette, shares, order)
        finally:
            self.setUpdatesEnabled(True)
        if self._selected >= len(palette):
            self.clear_selection()

    def _fill_rows(self, rows: range, palette: np.ndarray, shares: np.ndarray, order: np.ndarray) -> None:
        # Each item's six fields would each tell the view separately (256 swatches: 1,500
        # signals, ~10 ms, more while k-means holds the GIL); tell it once for all rows.
        model = self.model()
        model.blockSignals(True)
        try:
            for row in rows:
                index = int(order[row])
                self._fill(self.item(row), index, palette[index], float(shares[index]))
        finally:
            model.blockSignals(False)
        if len(rows):
            model.dataChanged.emit(model.index(rows[0], 0), model.index(rows[-1], 0))

    def _rows_in_sight(self) -> range:
        """The rows whose swatches the viewport shows, with a row before and two after to spare."""
        area = self.viewport().rect()
        half = QPoint(self.gridSize().width() // 2, self.gridSize().height() // 2)  # (a swatch's middle)
        first = self.indexAt(area.topLeft() + half)
        last = self.indexAt(area.bottomRight() - half)
        if not first.isValid():  # (not laid out yet)
            return range(self.count())
        end = last.row() if last.isValid() else self.count() - 1
        columns = max(1, area.width() // max(1, self.gridSize().width()))
        return range(max(0, first.row() - columns), min(self.count(), end + 2 * columns + 1))

    def showEvent(self, event: QShowEvent) -> None:
        if self._pending is not None:  # filled while behind another tab: every swatch now
            palette, shares, order = self._pending
            self._pending = None
            self._fill_rows(range(self.count()), palette, shares, order)
        super().showEvent(event)

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        if self._pending is not None:  # swatches coming into sight were not filled by the last progress
            palette, shares, order = self._pending
            self._fill_rows(self._rows_in_sight(), palette, shares, order)

    def _fill(self, item: QListWidgetItem, index: int, entry: np.ndarray, share: float) -> None:
        transparent = len(entry) == 4 and entry[3] == 0
        code = "transparent" if transparent else hex_color(entry)
        colour = QColor(int(entry[0]), int(entry[1]), int(entry[2]), int(entry[3]) if len(entry) == 4 else 255)
        item.setData(Qt.ItemDataRole.DecorationRole, colour)
        item.setData(ENTRY_ROLE, index)
        item.setData(HEX_ROLE, hex_color(entry))
        percent = f"{share * 100:.1f}%" if share >= 0.001 else "<0.1%"
        locked = not transparent and (int(entry[0]), int(entry[1]), int(entry[2])) in self._locked
        if locked:
            item.setData(Qt.ItemDataRole.DecorationRole, _locked_swatch(colour, self.iconSize()))
        item.setText(f"{code}\n{percent}")
        item.setData(LOCKED_ROLE, locked)
        item.setToolTip(f"{code}: {share * 100:.2f}% of the pixels" + (" (locked: kept exactly)" if locked else ""))
        item.setData(Qt.ItemDataRole.AccessibleTextRole, f"Colour {code}, {percent} of the pixels"
                     + (", locked" if locked else ""))

    def _clicked(self, item: QListWidgetItem) -> None:
        index = int(item.data(ENTRY_ROLE))
        if index == self._selected:
            self.clear_selection()
        else:
            self._selected = index
            self.entry_selected.emit(index)

    def clear_selection(self) -> None:
        self.clearSelection()
        if self._selected != -1:
            self._selected = -1
            self.entry_selected.emit(-1)

    @property
    def selected_entry(self) -> int:
        return self._selected

    def copy_selected(self) -> str | None:
        """Copy the selected swatch's hex code to the clipboard; returns it."""
        item = self.currentItem()
        if item is None:
            return None
        code = str(item.data(HEX_ROLE))
        QGuiApplication.clipboard().setText(code)
        return code

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.clear_selection()
            return
        super().keyPressEvent(event)
