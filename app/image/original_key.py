"""Space held shows the original, wherever the keyboard focus is in the image tab."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QLineEdit, QPlainTextEdit, QTextEdit, QWidget

from app.image.canvas import ImageCanvas


class SpaceShowsOriginal(QObject):
    """An application-wide key filter: Space held anywhere in ``tab`` shows the original on
    ``canvas``; it never reaches a control there (a K box would lose its value, a button would be
    pressed).  Text being typed into keeps its spaces; menus and dialogs keep theirs."""

    def __init__(self, tab: QWidget, canvas: ImageCanvas):
        super().__init__(tab)
        self._tab = tab
        self._canvas = canvas
        QApplication.instance().installEventFilter(self)

    def detach(self) -> None:
        QApplication.instance().removeEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) or not isinstance(event, QKeyEvent):
            return False
        if event.key() != Qt.Key.Key_Space or event.modifiers() not in (Qt.KeyboardModifier.NoModifier,
                                                                         Qt.KeyboardModifier.KeypadModifier):
            return False
        if not self._ours():
            return False
        if not event.isAutoRepeat():
            self._canvas.hold_original(event.type() == QEvent.Type.KeyPress)
        return True

    def _ours(self) -> bool:
        tab = self._tab
        if not tab.isVisible() or QApplication.activePopupWidget() or QApplication.activeModalWidget():
            return False
        focus = QApplication.focusWidget()
        if focus is None:
            return tab.window().isActiveWindow()
        if focus.window() is not tab.window() or not (focus is tab or tab.isAncestorOf(focus)):
            return False
        editing_text = isinstance(focus, QLineEdit | QTextEdit | QPlainTextEdit) and not isinstance(
            focus.parentWidget(), QAbstractSpinBox)
        return not editing_text
