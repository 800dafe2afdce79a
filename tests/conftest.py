"""Shared fixtures: small images made on the spot, so the tests need no files from outside."""

from __future__ import annotations

import io
import multiprocessing
import os
import urllib.parse
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import pytest
from PIL import Image


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


def gradient_image(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """A smooth photo-like RGB image with a little noise: many distinct colours."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    r = 255 * x / max(width - 1, 1)
    g = 255 * y / max(height - 1, 1)
    b = 127 + 100 * np.sin(x / 7.0) * np.cos(y / 5.0)
    image = np.stack([r, g, b], axis=-1) + rng.normal(0, 6, (height, width, 3))
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


@pytest.fixture
def photo() -> np.ndarray:
    return gradient_image()


# -- bad files, made on the spot: every kind goes through load, the command line and the window ----

def _png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def _jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(gradient_image(64, 64)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _huge_gif() -> bytes:
    buffer = io.BytesIO()
    Image.new("P", (1, 1)).save(buffer, "GIF")
    data = bytearray(buffer.getvalue())
    data[6:10] = (60000).to_bytes(2, "little") * 2
    return bytes(data)


PNG = _png_bytes(gradient_image(40, 60))
JPEG = _jpeg_bytes()

# name -> (file name, how to make it, words the message must contain)
BAD: dict[str, tuple[str, Callable[[Path], None], str]] = {
    "empty": ("empty.png", lambda p: p.write_bytes(b""), "empty"),
    "random bytes": ("noise.jpg", lambda p: p.write_bytes(np.random.default_rng(1).bytes(4096)), "not an image"),
    "text named png": ("notes.png", lambda p: p.write_text("these are notes, not pixels\n" * 20), "not an image"),
    "png cut in the header": ("cut-header.png", lambda p: p.write_bytes(PNG[:30]), ""),
    "png cut mid data": ("cut-middle.png", lambda p: p.write_bytes(PNG[: len(PNG) // 2]), ""),
    "png cut near the end": ("cut-end.png", lambda p: p.write_bytes(PNG[: len(PNG) * 9 // 10]), ""),
    "jpeg cut mid scan": ("cut.jpg", lambda p: p.write_bytes(JPEG[: len(JPEG) * 2 // 3]), ""),
    "huge gif": ("huge.gif", lambda p: p.write_bytes(_huge_gif()), "60,000 × 60,000 pixels"),
    "directory": ("folder.png", lambda p: p.mkdir(), "folder"),
    "missing": ("missing.png", lambda p: None, "no such file"),
    "non-utf8 name": (os.fsdecode(b"bad-\xff-name.png"), lambda p: p.write_bytes(b"junk"), "not an image"),
}


def run_cli(*args: str) -> tuple[int, str, str]:
    """Run the command line in this process: (exit status, stdout, stderr); usage errors exit 2.
    Files are done in this process too (``--jobs 1``, so monkeypatches reach them) unless the
    arguments say ``--jobs``."""
    from kmeans.cli import main

    if "--jobs" not in args and "-j" not in args:
        args = (*args, "--jobs", "1")
    out, err = io.StringIO(), io.StringIO()
    try:
        code = main(list(args), stdout=out, stderr=err)
    except SystemExit as exit_:  # argparse's usage errors
        code = int(exit_.code or 0)
    return code, out.getvalue(), err.getvalue()


# -- the window: fixtures and helpers shared by the GUI tests ------------------------------------

WAIT = 60_000  # ms: generous, for slow CI machines; a passing test never waits this long


# Qt is imported inside these, so the core's tests run without it.


@pytest.fixture(scope="session")
def qapp_cls():
    """pytest-qt's application is the app's own class, as ``python main.py`` makes it."""
    from app.main import Application

    return Application


@pytest.fixture(autouse=True)
def no_leaks(request):
    """Fail any test that uses Qt and leaves worker threads running or new top-level windows open."""
    if not {"qtbot", "qapp", "window"} & set(request.fixturenames):
        yield
        return
    from PySide6.QtWidgets import QApplication

    from app.worker import running_threads

    request.getfixturevalue("qapp")
    before = set(QApplication.topLevelWidgets())
    yield
    for _ in range(20):
        QApplication.processEvents()
    leaked = [w for w in QApplication.topLevelWidgets() if w not in before and w.isVisible()]
    assert running_threads() == [], "worker threads left running"
    assert [p.name for p in multiprocessing.active_children()] == [], "processes left running"
    assert leaked == [], f"top-level widgets left open: {leaked}"


@pytest.fixture
def settings(tmp_path):
    """Settings in a temporary file, so tests neither read nor change the user's."""
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, settings):
    """A shown main window with its own settings; closed (threads joined) afterwards."""
    from app.main_window import MainWindow

    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.resize(1100, 760)
    win.show()
    yield win
    win.close()


@pytest.fixture
def photo_path(tmp_path) -> Path:
    path = tmp_path / "photo.png"
    Image.fromarray(gradient_image(120, 160)).save(path)
    return path


@pytest.fixture
def big_path(tmp_path) -> Path:
    """About 4 megapixels of many colours: long enough a run to interrupt."""
    path = tmp_path / "big.png"
    Image.fromarray(gradient_image(1600, 2500, seed=5)).save(path, compress_level=1)
    return path


def open_and_wait(qtbot, window, path: Path):
    """Open ``path`` in ``window`` and return the first finished quantization (an Outcome)."""
    with qtbot.waitSignal(window.image_tab.quantized, timeout=WAIT) as blocker:
        window.open_image(path)
    return blocker.args[0]


def drop(window, *paths: Path) -> None:
    """Drop files on ``window`` as a file manager would."""
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    mime = QMimeData()
    # As a file manager sends them: the name's bytes, percent-encoded (not always UTF-8).
    mime.setUrls([QUrl.fromEncoded(b"file://" + urllib.parse.quote_from_bytes(os.fsencode(p)).encode())
                  for p in paths])
    centre = window.rect().center()
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    try:
        enter = QDragEnterEvent(QPointF(centre), *args)
    except TypeError:  # Qt before 6.12 takes a QPoint (6.12 deprecates it)
        enter = QDragEnterEvent(centre, *args)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(centre), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, event)


class _SetAfter:
    """A cancel token that is clear for its first ``clear`` looks, then set."""

    def __init__(self, clear: int) -> None:
        self.looks, self.clear = 0, clear

    def is_set(self) -> bool:
        self.looks += 1
        return self.looks > self.clear


@pytest.fixture
def set_after():
    """``set_after(n)``: a cancel token that is set from its (n+1)-th look on (``looks`` counts them)."""
    return _SetAfter
