"""Help › Keyboard Shortcuts: every key of both tabs in one window.

The menu actions' keys are read from the actions themselves, so the list cannot drift from them;
the keys that are not actions (held Space, the Learn tab's lesson keys, the palette's) are listed
here beside the code that binds them, and a test checks the Learn tab's against its shortcuts.
"""

from __future__ import annotations

from html import escape

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

#: Keys of the image tab that are not menu actions.
IMAGE_KEYS = (
    ("Space (held)", "Show the original everywhere, while the image, the K slider or a number box has the focus"),
    ("Wheel", "Zoom around the cursor"),
    ("Drag", "Pan the image; drag the handle to move the before/after split"),
    ("L", "Lock or unlock the selected palette colour (in the palette)"),
    ("Ctrl+C", "Copy the selected palette colour's hex code (in the palette)"),
    ("Space, Enter", "Press the focused button or check box"),
)
#: Keys of the Learn tab (bound in ``app.learn.tab``).
LEARN_KEYS = (
    ("Space", "The next half-step: assign the points, or move the centroids"),
    ("Enter", "Run or pause the animation"),
    ("R", "Reset to the initial centroids"),
)


def _rows(pairs: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> str:
    return "".join(f"<tr><td style='padding-right:18px'><b>{escape(key)}</b></td><td>{escape(what)}</td></tr>"
                   for key, what in pairs)


def action_keys(actions: list[QAction]) -> list[tuple[str, str]]:
    """(keys, what it does) for every action with a shortcut, as this platform writes the keys."""
    found = []
    for action in actions:
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts() if not k.isEmpty()]
        if keys:
            found.append((" or ".join(dict.fromkeys(keys)), action.text().replace("&", "").rstrip("…")))
    return found


class ShortcutsDialog(QDialog):
    """The list of keys (object name ``shortcutsDialog``); its text is ``text()``."""

    def __init__(self, actions: list[QAction], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard Shortcuts")
        self._label = QLabel(
            "<h3>Menus</h3><table>" + _rows(action_keys(actions)) + "</table>"
            "<h3>Image tab</h3><table>" + _rows(IMAGE_KEYS) + "</table>"
            "<h3>Learn tab</h3><table>" + _rows(LEARN_KEYS) + "</table>")
        self._label.setObjectName("shortcutsText")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self._label)
        layout.addWidget(buttons)

    def text(self) -> str:
        """The list as plain text (for people who search it, and tests)."""
        from PySide6.QtGui import QTextDocument

        document = QTextDocument()
        document.setHtml(self._label.text())
        return document.toPlainText()
