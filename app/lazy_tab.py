"""A tab whose content is built the first time it is shown, so start-up does not pay for it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

W = TypeVar("W", bound=QWidget)


class LazyTab(QWidget, Generic[W]):
    """Holds ``make()``'s widget, made on first show or first ``content()``.

    The tab carries ``name`` (the content's object name) until the content exists, then hands it on,
    so automation finds the tab by that name from start-up and the content by it afterwards, never two.
    """

    def __init__(self, make: Callable[[], W], name: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self._make = make
        self._name = name
        self.setObjectName(name)
        self._content: W | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

    @property
    def built(self) -> bool:
        return self._content is not None

    def content(self) -> W:
        if self._content is None:
            self._content = self._make()
            if self._name:
                self.setObjectName(f"{self._name}Page")
                self._content.setObjectName(self._name)
            self.layout().addWidget(self._content)
        return self._content

    def showEvent(self, event: QShowEvent) -> None:
        self.content()
        super().showEvent(event)
