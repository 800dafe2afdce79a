"""The window under bad input and abuse: it keeps its image, shows each error once, never leaks."""

from __future__ import annotations

import errno
import os
import sys
import threading
import time

import numpy as np
import pytest
from conftest import BAD, WAIT, drop, open_and_wait
from PIL import Image
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

import app.image.tab
import kmeans.atomic
import kmeans.imagefile
from app.main_window import MainWindow
from app.worker import running_threads


@pytest.mark.parametrize("kind", sorted(BAD))
@pytest.mark.parametrize("door", ["open", "drop"])
def test_bad_files_leave_the_current_image(qtbot, window, photo_path, tmp_path, kind, door, monkeypatch):
    monkeypatch.setattr("kmeans.memory.physical_memory", lambda: 16 * 2**30)
    first = open_and_wait(qtbot, window, photo_path)
    name, make, _words = BAD[kind]
    bad = tmp_path / name
    make(bad)
    tab = window.image_tab
    expected = tab.too_large if kind == "huge gif" else tab.open_failed
    with qtbot.waitSignal(expected, timeout=WAIT) as blocker:
        if door == "open" or kind in ("missing", "directory"):  # a drop only carries files that exist
            window.open_image(bad)
        else:
            drop(window, bad)
    shown = kmeans.imagefile.display_name(bad)
    if kind == "huge gif":  # 3.6 gigapixels: more than this machine's memory, so refused with a reason
        assert blocker.args[0].pixels == 60000 * 60000
        text = tab.message_bar.text  # nothing to answer, so no dialog: the message bar, as every refusal
        assert "3,600,000,000 pixels" in text and "GB of memory" in text and "too large to open" in text
        assert window.findChild(QMessageBox) is None
        assert shown in window.statusBar().currentMessage()
    else:
        assert blocker.args[0].startswith(shown)
        assert shown in tab.message_bar.text
    assert tab.opened.loaded.path == photo_path and tab.outcome is first
    assert "photo.png" in window.windowTitle()


def test_too_large_asks_and_opens_when_allowed(qtbot, window, photo_path):
    window.image_tab.max_pixels = 1000
    with qtbot.waitSignal(window.image_tab.too_large, timeout=WAIT):
        window.open_image(photo_path)
    box = window.findChild(QMessageBox, "largeImageQuestion")
    assert box is not None and box.isVisible()
    assert "19,200 pixels" in box.text() and "Open it anyway?" in box.text()
    with qtbot.waitSignal(window.image_tab.quantized, timeout=WAIT):
        box.done(QMessageBox.StandardButton.Open)
    assert "photo.png" in window.windowTitle()


@pytest.mark.slow
def test_two_hundred_rapid_k_changes(qtbot, window, big_path):
    open_and_wait(qtbot, window, big_path)
    tab = window.image_tab
    finished = []
    tab.quantized.connect(finished.append)
    for i in range(200):
        tab.controls.k_slider.setValue(2 + (i * 37) % 250)
        if i % 20 == 0:
            tab.requantize()  # and some that skip the debounce entirely
        QApplication.processEvents()
    tab.controls.k_slider.setValue(40)
    qtbot.waitUntil(lambda: bool(finished) and len(finished[-1].palette) == 40 and not tab.worker.busy, timeout=WAIT)
    assert len(finished) <= 3
    assert tab.outcome is finished[-1]


def test_cancel_while_opening_keeps_the_old_image(qtbot, window, photo_path, big_path):
    open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    with qtbot.waitSignal(tab.cancelled, timeout=WAIT):
        window.open_image(big_path)
        tab.controls.cancel_button.click()
    assert tab.opened.loaded.path == photo_path
    assert tab.outcome is not None


@pytest.mark.slow
def test_opening_a_new_image_mid_run(qtbot, window, big_path, photo_path):
    tab = window.image_tab
    with qtbot.waitSignal(tab.progressed, timeout=WAIT):
        window.open_image(big_path)
    outcome = open_and_wait(qtbot, window, photo_path)
    assert tab.opened.loaded.path == photo_path and tab.outcome is outcome
    assert outcome.labels.shape == (120, 160)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["close the window", "File > Quit"])
def test_quitting_mid_run_stops_and_joins_the_threads(qtbot, settings, big_path, how):
    win = MainWindow(settings)
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.image_tab.progressed, timeout=WAIT):
        win.open_image(big_path)
    started = time.perf_counter()
    if how == "close the window":
        win.close()
    else:
        win.action_quit.trigger()
    assert not win.isVisible()
    assert running_threads() == []
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize(("fault", "words"), [
    (RuntimeError("injected failure"), "Something unexpected went wrong"),
    (OSError(errno.EIO, "Input/output error"), "The system refused: the disk reported a read or write error."),
    (ValueError("injected failure"), "Something unexpected went wrong"),
    (MemoryError(), "There is not enough memory for this."),
])
def test_a_failing_job_is_one_plain_sentence_and_the_last_result_stays(qtbot, window, photo_path, monkeypatch,
                                                                        fault, words):
    first = open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab

    def explode(*args, **kwargs):
        raise fault

    monkeypatch.setattr(app.image.tab, "run_quantize", explode)
    failures = []
    tab.failed.connect(failures.append)
    with qtbot.waitSignal(tab.failed, timeout=WAIT):
        tab.controls.k_slider.setValue(9)
    qtbot.wait(300)
    assert len(failures) == 1 and failures[0].startswith(words)
    assert tab.outcome is first and tab.palette_view.count() == 16
    assert tab.message_bar.text == f"k-means failed: {failures[0]}"
    assert type(fault).__name__ in tab.message_bar.details  # the technical part, behind Details
    assert not tab.controls.cancel_button.isEnabled()
    assert tab.controls.k_spin.value() == 16  # the controls describe what is shown
    monkeypatch.undo()
    with qtbot.waitSignal(tab.quantized, timeout=WAIT):
        tab.controls.k_slider.setValue(7)
    assert len(tab.outcome.palette) == 7


def test_export_to_a_full_disk_leaves_nothing(qtbot, window, photo_path, tmp_path, monkeypatch):
    open_and_wait(qtbot, window, photo_path)
    real_fdopen = kmeans.atomic.os.fdopen

    def full(fd, mode):
        handle = real_fdopen(fd, mode)

        def write(_data):
            raise OSError(errno.ENOSPC, "No space left on device")

        handle.write = write
        return handle

    monkeypatch.setattr(kmeans.atomic.os, "fdopen", full)
    out = tmp_path / "exports"
    out.mkdir()
    with qtbot.waitSignal(window.image_tab.export_failed, timeout=WAIT) as blocker:
        window.export_to(str(out / "small.png"), "png", False, False)
    assert "disk is full" in blocker.args[0]
    assert "Not saved" in window.image_tab.message_bar.text
    assert list(out.iterdir()) == []


def test_export_to_an_unwritable_folder(qtbot, window, photo_path, tmp_path):
    open_and_wait(qtbot, window, photo_path)
    with qtbot.waitSignal(window.image_tab.export_failed, timeout=WAIT) as blocker:
        window.export_to(str(tmp_path / "no" / "such" / "folder" / "x.png"), "png", False, False)
    assert "folder does not exist" in blocker.args[0]


@pytest.mark.slow
def test_closing_quickly_after_start_is_clean(qtbot, tmp_path, big_path):
    for _ in range(3):
        win = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
        qtbot.addWidget(win)
        win.show()
        win.open_image(big_path)
        started = time.perf_counter()
        win.close()
        assert time.perf_counter() - started < 10
        assert running_threads() == []


@pytest.mark.parametrize("size", [(1, 2049), (2, 4097), (3, 10000), (1, 100000)])
def test_tall_narrow_images_quantize_in_the_window(qtbot, window, tmp_path, size):
    path = tmp_path / "tall.png"
    width, height = size
    pixels = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    outcome = open_and_wait(qtbot, window, path)
    assert outcome.labels.shape == (height, width) and len(outcome.palette) == 16
    qtbot.waitUntil(lambda: window.image_tab.measurement is not None, timeout=WAIT)


def test_a_non_utf8_name_keeps_its_bytes_in_the_title_and_in_open_recent(qtbot, window, tmp_path):
    path = tmp_path / os.fsdecode(b"caf\xe9.png")  # Latin-1, not UTF-8
    Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(path)
    with qtbot.waitSignal(window.image_tab.quantized, timeout=WAIT):
        drop(window, path)
    assert "caf\\xe9.png" in window.windowTitle()
    assert window.recent_files()[0] == str(path) and os.path.exists(window.recent_files()[0])


def test_export_palette_to_a_place_that_cannot_be_written_is_said(qtbot, window, photo_path, tmp_path):
    open_and_wait(qtbot, window, photo_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    window.save_palette_to(str(blocker / "palette.gpl"))  # a "folder" that is a file
    text = window.image_tab.message_bar.text
    assert text.startswith("Not saved: palette.gpl") and "Traceback" not in text


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
def test_background_work_yields_the_processor_to_k_means(qtbot, window):
    """Statistics, sizes and the K curve run at a lower priority than the k-means run."""
    tab = window.image_tab

    def niceness(worker) -> int:
        found = []
        worker.submit(lambda _token: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()),
                      on_done=found.append)
        qtbot.waitUntil(lambda: bool(found), timeout=5000)
        return found[0]

    normal = niceness(tab.worker)
    for background in (tab.measures.measurer, tab.measures.sizer, tab.measures.curver):
        assert niceness(background) > normal
