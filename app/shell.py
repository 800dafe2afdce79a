"""Pieces of the window's shell that are not the window itself: its tab widget, and the files a
drop names."""

from __future__ import annotations

import os
import urllib.parse

from PySide6.QtCore import QEvent, QSize, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QTabWidget


def local_path(url: QUrl) -> str:
    """The local file a URL names, keeping bytes that are not UTF-8 (as os.fsdecode does).

    File managers percent-encode a name's raw bytes; ``toLocalFile`` would decode them as UTF-8
    and lose the ones that are not.
    """
    encoded = url.path(QUrl.ComponentFormattingOption.FullyEncoded)
    return os.fsdecode(urllib.parse.unquote_to_bytes(encoded))


class Tabs(QTabWidget):
    """A QTabWidget that lays itself out (and repaints everything in it) only when its size
    constraints change.

    Any label whose text changes anywhere in a tab sends a layout request up to the tab widget,
    and QTabWidget answers every one by repainting the whole window: at each K change the canvas,
    controls and statistics were all redrawn (~20 ms of the GUI thread) while k-means ran.
    Resizes still lay it out (QTabWidget does that in resizeEvent)."""

    def __init__(self) -> None:
        super().__init__()
        self._hints: tuple[QSize, QSize] | None = None

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            hints = (self.sizeHint(), self.minimumSizeHint())
            if hints == self._hints:
                return True
            self._hints = hints
        return super().event(event)




def dropped_files(event: QDragEnterEvent | QDropEvent) -> list[str]:
    """The local files a drag carries (none for text, web links, ...)."""
    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    return [local_path(url) for url in mime.urls() if url.isLocalFile()]
