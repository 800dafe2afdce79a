"""Start the window: ``python main.py [IMAGE ...] [--screenshot OUT.png]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.main_window import APP_NAME, ORGANIZATION, MainWindow
from app.sample import sample_image
from kmeans import __version__

SCREENSHOT_TIMEOUT_MS = 120_000


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description=f"{APP_NAME}: open an image, choose K, watch k-means converge, export a small file. "
        "Run 'main.py compress --help' for the command line.",
    )
    parser.add_argument("images", nargs="*", metavar="IMAGE", help="image to open (default: a sample photo)")
    parser.add_argument("--tab", choices=("image", "learn"), default="image",
                        help="start on the image tab or on the k-means lesson")
    parser.add_argument("--screenshot", metavar="OUT.png",
                        help="render the window to a PNG once the image is compressed, then quit")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def run(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])  # our options are argparse's, not Qt's
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationVersion(__version__)
    window = MainWindow()
    path = Path(args.images[0]) if args.images else sample_image()
    if path is not None:
        notice = f"{len(args.images)} images were given; opened the first." if len(args.images) > 1 else ""
        window.open_image(path, notice)
    if args.tab == "learn":
        window.tabs.setCurrentWidget(window.blobs_tab)
    if args.screenshot:
        window.resize(1280, 840)  # the same picture whatever size was remembered
    window.show()
    if args.screenshot:
        _screenshot_when_ready(app, window, args.screenshot, args.tab)
    return app.exec()


def _screenshot_when_ready(app: QApplication, window: MainWindow, out: str, tab: str) -> None:
    """Save the window to ``out`` once its tab has something to show, then quit."""
    done = []

    def shoot(*_args) -> None:
        if not done:
            done.append(True)
            QTimer.singleShot(300, lambda: (window.grab().save(out), window.close(), app.quit()))

    if tab == "learn":
        lesson = window.blobs_tab

        def lesson_ready(*_args) -> None:
            for _ in range(3):
                lesson.step()
            lesson.trials_worker.finished.connect(shoot)
            lesson.try_initializations()

        lesson.elbow_worker.finished.connect(lesson_ready)
    else:
        window.image_tab.measured.connect(shoot)
        window.image_tab.open_failed.connect(shoot)
    QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, shoot)
