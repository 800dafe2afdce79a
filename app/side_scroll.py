"""A fixed-width side panel in a vertical scroll area, as both rooms of the window use one."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QSizePolicy, QStyle, QWidget


class SideScroll(QScrollArea):
    """Gives the panel the viewport's height, or its minimum when that is more (then it scrolls).
    Qt's resizable scroll area would give it its preferred height whenever a row wraps text, and
    scroll on any screen shorter than that.  A row that grows later raises the panel's minimum
    size through its layout, which Qt applies by itself.

    With ``preferred``, the panel is never shorter than its preferred height: for panels whose rows
    Qt would otherwise squeeze (form rows of spin boxes) rather than scroll.
    """

    def __init__(self, side: QWidget, name: str, *, preferred: bool = False):
        super().__init__()
        self._preferred = preferred
        self.setObjectName(name)
        self.setWidget(side)
        self.setWidgetResizable(False)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        bar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        self.setFixedWidth(side.width() + bar + 2)  # (room for the bar when it shows: no row is covered)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        if preferred:  # a caption that rewraps asks for a new layout: the panel's height follows it
            side.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self._fit()
        return super().eventFilter(watched, event)

    def _fit(self) -> None:
        side, width = self.widget(), self.widget().width()
        layout = side.layout()
        least = side.minimumSizeHint().height()
        if layout is not None and layout.hasHeightForWidth():
            least = max(least, layout.heightForWidth(width) if self._preferred else layout.minimumHeightForWidth(width))
        elif self._preferred:
            least = max(least, side.sizeHint().height())
        side.resize(width, max(self.viewport().height(), least))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit()
