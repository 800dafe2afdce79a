"""The message bar: one dismissable line above the image for errors and notices (never modal).

A message may offer one action (for example "Overwrite") and technical details, shown only when
the user presses Details.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget


class MessageBar(QFrame):
    """A line of text with an optional action and optional details."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.setAccessibleName("Message")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(10, 4, 4, 4)
        row = QHBoxLayout()
        self._text = QLabel()
        self._text.setWordWrap(True)
        self._text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._action = QPushButton()
        self._action.setObjectName("messageAction")
        self._action.setAccessibleName("Message action")
        self._action.setToolTip("Do what the message offers")
        self._action.hide()
        self._action.clicked.connect(self._act)
        self._details_button = QPushButton("Details")
        self._details_button.setObjectName("messageDetailsButton")
        self._details_button.setAccessibleName("Show technical details")
        self._details_button.setToolTip("Show the technical details of this message")
        self._details_button.setCheckable(True)
        self._details_button.hide()
        self._details = QLabel()
        self._details.setObjectName("messageDetails")
        self._details.setWordWrap(True)
        self._details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._details.setStyleSheet("font-family: monospace; font-size: 11px;")
        self._details.hide()
        self._details_button.toggled.connect(self._details.setVisible)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.setAccessibleName("Dismiss message")
        close.clicked.connect(self.hide)
        row.addWidget(self._text, 1)
        row.addWidget(self._action)
        row.addWidget(self._details_button)
        row.addWidget(close)
        outer.addLayout(row)
        outer.addWidget(self._details)
        self._on_action: Callable[[], None] | None = None
        self.hide()

    @property
    def text(self) -> str:
        """The message shown, or "" when the bar is hidden."""
        return self._text.text() if self.isVisibleTo(self.parentWidget()) else ""

    @property
    def details(self) -> str:
        """The technical details offered behind the Details button, or ""."""
        return self._details.text() if self.text else ""

    @property
    def action_text(self) -> str:
        """The label of the action offered with the message, or ""."""
        return self._action.text() if self._on_action is not None else ""

    def show_message(self, text: str, error: bool = False, *, details: str = "",
                     action: tuple[str, Callable[[], None]] | None = None) -> None:
        """Show ``text``; ``details`` behind a Details button; ``action`` as (label, what it does)."""
        colour = "#f8d7da" if error else "#fff3cd"
        border = "#e0a0a8" if error else "#e6cf7a"
        self.setStyleSheet(f"#messageBar {{ background: {colour}; border: 1px solid {border}; border-radius: 4px; }}"
                           "#messageBar QLabel { color: #2b2b2b; }")
        self._text.setText(text)
        self._details.setText(details)
        self._details_button.setChecked(False)
        self._details_button.setVisible(bool(details))
        self._on_action = action[1] if action else None
        if action is not None:
            self._action.setText(action[0])
            self._action.setAccessibleName(action[0])
        self._action.setVisible(action is not None)
        self.show()

    def trigger_action(self) -> None:
        """Do what the action button offers (as clicking it would)."""
        self._act()

    def _act(self) -> None:
        on_action, self._on_action = self._on_action, None
        self.hide()
        if on_action is not None:
            on_action()
