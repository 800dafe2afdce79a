"""Start the window with options already parsed by ``app.launch`` (which runs no Qt before its checks)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEvent, QTimer, Signal
from PySide6.QtGui import QFileOpenEvent, QIcon
from PySide6.QtWidgets import QApplication

from app import desktop
from app.main_window import APP_NAME, ORGANIZATION, MainWindow
from app.sample import sample_image
from kmeans import __version__

SCREENSHOT_TIMEOUT_MS = 120_000


@dataclass(frozen=True)
class Start:
    """How the window starts: ``images`` to open (the first one; the sample photo when none), the
    ``tab`` to show ("image" or "learn"), and a PNG to render the window to, then quit."""

    images: tuple[str, ...] = ()
    tab: str = "image"
    screenshot: str | None = None


def run(args: Start) -> int:
    """Open the window as ``args`` say (``app.launch`` parses them); returns the exit status."""
    app = QApplication.instance() or Application(sys.argv[:1])  # our options are argparse's, not Qt's
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(desktop.APP_ID)
    app.setWindowIcon(window_icon())
    window = MainWindow()
    if isinstance(app, Application):
        app.file_open_requested.connect(window.open_image)
    path = Path(args.images[0]) if args.images else sample_image()
    if path is not None:
        notice = f"{len(args.images)} images were given; opened the first." if len(args.images) > 1 else ""
        window.open_image(path, notice)
    if args.tab == "learn":
        window.tabs.setCurrentWidget(window.learn_tab)
    if args.screenshot:
        window.resize(1280, 840)  # the same picture whatever size was remembered
    window.show()
    if args.screenshot:
        _screenshot_when_ready(app, window, args.screenshot, args.tab, waiting=path is not None)
    return app.exec()


def window_icon() -> QIcon:
    """The application icon: the SVG for any size, with the PNG renderings as sharp small sizes."""
    icon = QIcon()
    try:
        for size in desktop.ICON_SIZES:
            icon.addFile(str(desktop.resource(f"icons/{desktop.APP_ID}-{size}.png")))
        icon.addFile(str(desktop.resource(f"icons/{desktop.APP_ID}.svg")))
    except FileNotFoundError:
        pass  # an icon is nice to have, never a reason not to start
    return icon


class Application(QApplication):
    """The application: ``file_open_requested(path)`` when the system asks the running app to open
    a file (macOS Finder's "Open with", Dock drops).  Overriding ``event`` sees only the events
    sent to the application itself; an event filter installed on it would run Python for every
    event of every widget, and take the GIL from k-means each time."""

    file_open_requested = Signal(str)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FileOpen and isinstance(event, QFileOpenEvent):
            path = event.file() or event.url().toLocalFile()
            if path:
                self.file_open_requested.emit(path)
                return True
        return super().event(event)


def _screenshot_when_ready(app: QApplication, window: MainWindow, out: str, tab: str, waiting: bool) -> None:
    """Save the window to ``out`` once its tab has something to show (at once when ``waiting`` is
    False and the image tab has nothing to open), then quit."""
    done = []

    def shoot(*_args) -> None:
        if not done:
            done.append(True)
            QTimer.singleShot(300, lambda: (window.grab().save(out), window.close(), app.quit()))

    if tab == "learn":
        lesson = window.blobs_tab

        def when_drawn() -> None:  # the charts are drawn on their own threads
            if lesson.charts.drawing:
                QTimer.singleShot(50, when_drawn)
            else:
                shoot()

        def lesson_ready() -> None:
            for _ in range(3):
                lesson.step()
            lesson.trials_ready.connect(when_drawn)
            lesson.try_initializations()

        lesson.elbow_ready.connect(lesson_ready)
    elif waiting:
        window.image_tab.measured.connect(shoot)
        window.image_tab.open_failed.connect(shoot)
        window.image_tab.too_large.connect(shoot)
    else:
        shoot()
    QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, shoot)
