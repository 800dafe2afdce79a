"""Space held shows the original in the image tab, wherever the focus is, unless a control there
uses the key (a button, a check box, a list); Enter presses a focused button or check box."""

from __future__ import annotations

import contextlib

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from app.image.canvas import ImageCanvas


class SpaceShowsOriginal(QObject):
    """A key filter: Space held in ``tab`` shows the original on ``canvas`` while the focus is on
    the canvas, the K slider or a number box (a K box would lose its value to the space), or on
    nothing; buttons, check boxes, lists and menus get Space as everywhere in Qt, and text being
    typed into keeps its spaces.  Enter or Return presses a focused button or check box (in a main
    window Qt leaves that to dialogs).

    It watches only where a key can arrive: the focused widget while it is in the tab, the tab
    (keys its children pass on) and its window (keys with no focused widget).  An application-wide
    filter would run Python, and take the GIL from k-means, for every event of every widget.
    """

    def __init__(self, tab: QWidget, canvas: ImageCanvas):
        super().__init__(tab)
        self._tab = tab
        self._canvas = canvas
        self._watched: list[QObject] = []
        tab.installEventFilter(self)
        self._app = QApplication.instance()
        self._app.focusChanged.connect(self._follow_focus)
        self._follow_focus(None, QApplication.focusWidget())

    def detach(self) -> None:
        self._app.focusChanged.disconnect(self._follow_focus)
        self._tab.removeEventFilter(self)
        self._watch([])

    def _follow_focus(self, _old: QWidget | None, new: QWidget | None) -> None:
        tab = self._tab
        watched: list[QObject] = [tab.window()]
        if new is not None and new is not tab and tab.isAncestorOf(new):
            watched.append(new)
        self._watch(watched)

    def _watch(self, objects: list[QObject]) -> None:
        for old in self._watched:
            if old is not self._tab and old not in objects:
                with contextlib.suppress(RuntimeError):  # (a widget deleted while it had the focus)
                    old.removeEventFilter(self)
        for new in objects:
            if new is not self._tab and new not in self._watched:
                new.installEventFilter(self)
        self._watched = objects

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._tab and event.type() == QEvent.Type.Show:
            self._follow_focus(None, QApplication.focusWidget())  # (now in its window)
            return False
        if event.type() not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) or not isinstance(event, QKeyEvent):
            return False
        plain = event.modifiers() in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.KeypadModifier)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and plain:
            return self._press_focused_button(event)
        if event.key() != Qt.Key.Key_Space or not plain:
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
        if isinstance(focus, QAbstractButton | QComboBox | QAbstractItemView):
            return False  # a control whose own key Space is
        editing_text = isinstance(focus, QLineEdit | QTextEdit | QPlainTextEdit) and not isinstance(
            focus.parentWidget(), QAbstractSpinBox)
        return not editing_text

    def _press_focused_button(self, event: QKeyEvent) -> bool:
        focus = QApplication.focusWidget()
        tab = self._tab
        if (not isinstance(focus, QAbstractButton) or not tab.isAncestorOf(focus) or not focus.isEnabled()
                or QApplication.activeModalWidget() or QApplication.activePopupWidget()):
            return False
        if event.type() == QEvent.Type.KeyPress and not event.isAutoRepeat():
            focus.animateClick()
        return True
