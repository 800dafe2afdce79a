"""The window, driven offscreen with pytest-qt: opening, K, progress, cancel, drops, export, close."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import WAIT, drop, gradient_image, open_and_wait
from PIL import Image
from PySide6.QtCore import QObject, QPoint, QPointF, QRectF, Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QWidget,
)

import app.image.jobs
from app.image.jobs import IterationUpdate, Outcome
from app.image.palette_view import HEX_ROLE, PaletteView
from app.main_window import MainWindow
from app.sample import sample_image
from app.settings import OPEN_FOLDER
from kmeans import quantize
from kmeans.palettefile import hex_color

ROOT = Path(__file__).resolve().parents[1]
def test_opens_the_sample_and_shows_palette_and_stats(qtbot, window):
    sample = sample_image()
    assert sample is not None
    outcome = open_and_wait(qtbot, window, sample)
    tab = window.image_tab
    assert "grace_hopper.jpg" in window.windowTitle()
    assert len(outcome.palette) == 16
    assert tab.palette_view.count() == 16
    assert tab.controls.k_slider.value() == 16 and tab.controls.k_spin.value() == 16
    qtbot.waitUntil(lambda: tab.measurement is not None, timeout=WAIT)
    assert tab.stats.value("psnr").endswith("dB")
    assert "smaller" in tab.stats.value("export") or "larger" in tab.stats.value("export")
    assert window.action_export.isEnabled()


def test_rgba_image_keeps_its_transparency(qtbot, window, tmp_path):
    rgba = np.zeros((80, 100, 4), np.uint8)
    rgba[..., :3] = gradient_image(80, 100)
    rgba[..., 3] = 255
    rgba[:20] = 0
    path = tmp_path / "alpha.png"
    Image.fromarray(rgba).save(path)
    outcome = open_and_wait(qtbot, window, path)
    assert outcome.palette.shape[1] == 4 and outcome.palette[0].tolist() == [0, 0, 0, 0]
    assert (outcome.palette[outcome.labels][:20, :, 3] == 0).all()


def test_changing_k_quantizes_again(qtbot, window, photo_path):
    open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    with qtbot.waitSignal(tab.quantized, timeout=WAIT) as blocker:
        tab.controls.k_slider.setValue(8)
    assert isinstance(blocker.args[0], Outcome) and len(blocker.args[0].palette) == 8
    assert tab.controls.k_spin.value() == 8 and tab.palette_view.count() == 8
    with qtbot.waitSignal(tab.quantized, timeout=WAIT) as blocker:
        tab.controls.k_spin.setValue(5)
    assert len(blocker.args[0].palette) == 5 and tab.controls.k_slider.value() == 5


def test_progress_arrives_in_order_every_iteration(qtbot, window, photo_path):
    open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    seen: list[int] = []
    tab.progressed.connect(lambda u: isinstance(u, IterationUpdate) and seen.append(u.progress.iteration))
    with qtbot.waitSignal(tab.quantized, timeout=WAIT) as blocker:
        tab.controls.k_slider.setValue(24)
    outcome = blocker.args[0]
    assert seen == list(range(1, outcome.result.n_iter + 1))
    assert tab.controls.progress.value() == tab.controls.progress.maximum()


def test_a_quick_run_draws_no_progress_and_a_long_one_does(qtbot, window, photo_path, monkeypatch):
    """Progress is drawn once a run has lasted FIRST_PROGRESS_MS: before that it would be over
    before the eye could follow it.  Each run is paced so that it is reported iterations; the delay
    is set far beyond the run, then to nothing, so neither half depends on the machine's speed."""
    import app.image.run_progress as run_progress
    from kmeans import pipeline

    assert run_progress.FIRST_PROGRESS_MS >= 300  # (the product's delay: longer than a quick run)
    open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    quantize = pipeline.quantize

    def paced_run(*args, callback=None, **kwargs):
        def paced(progress):
            time.sleep(0.02)
            return callback(progress)

        return quantize(*args, callback=paced if callback else None, **kwargs)

    monkeypatch.setattr(pipeline, "quantize", paced_run)
    shown: list[str] = []
    show_fraction = tab.controls.show_fraction
    monkeypatch.setattr(tab.controls, "show_fraction", lambda done, total, text: (shown.append(text),
                                                                                  show_fraction(done, total, text)))
    seen: list[int] = []
    tab.progressed.connect(lambda u: seen.append(u.progress.iteration))
    monkeypatch.setattr(run_progress, "FIRST_PROGRESS_MS", 60_000)  # the run is over long before
    with qtbot.waitSignal(tab.quantized, timeout=WAIT):
        tab.controls.k_spin.setValue(24)
    assert len(seen) > 1  # every iteration was reported ...
    assert len(shown) == 2 and shown[0] == "finding 24 colours…" and shown[-1].startswith("24 colours ·")  # none drawn

    monkeypatch.setattr(run_progress, "FIRST_PROGRESS_MS", 0)  # the same kind of run, as a long one
    shown.clear()
    with qtbot.waitSignal(tab.quantized, timeout=WAIT):
        tab.controls.k_spin.setValue(25)
    assert any(text.startswith("finding 25 colours… pass ") for text in shown)


class _PaintCounter(QObject):
    """Counts the paint events of the widget it watches."""

    def __init__(self, watched: QWidget):
        super().__init__()
        self.paints = 0
        watched.installEventFilter(self)

    def eventFilter(self, _watched, event) -> bool:
        if event.type() == event.Type.Paint:
            self.paints += 1
        return False


def test_the_progress_bar_is_painted_with_the_window_not_at_once(qtbot, window):
    """QProgressBar repaints at once when its value changes, holding the GIL that k-means needs;
    the bar is painted by the event loop instead, and still shows what it was given."""
    bar = window.image_tab.controls.progress
    qtbot.waitExposed(window)
    counter = _PaintCounter(bar)
    for done in range(1, 4):
        window.image_tab.controls.show_fraction(done, 7, f"pass {done}")
        assert counter.paints == 0
        assert (bar.minimum(), bar.maximum(), bar.value(), bar.format()) == (0, 7, done, f"pass {done}")
        assert bar.updatesEnabled()
        qtbot.waitUntil(lambda: counter.paints > 0, timeout=WAIT)
        counter.paints = 0


def test_a_result_is_painted_before_it_is_announced(qtbot, window, photo_path):
    """The picture comes first: by the time ``quantized`` (and the status line) says a result is
    shown, the canvas has painted it; the palette and statistics follow in the same turn."""
    tab = window.image_tab
    open_and_wait(qtbot, window, photo_path)
    qtbot.waitExposed(window)
    counter = _PaintCounter(tab.canvas)
    given: list[int] = []
    set_result = tab.canvas.set_result

    def noted(*args, **kwargs):
        set_result(*args, **kwargs)
        given.append(counter.paints)

    tab.canvas.set_result = noted
    painted_when_announced: list[bool] = []
    tab.quantized.connect(lambda _o: painted_when_announced.append(counter.paints > given[-1]))
    with qtbot.waitSignal(tab.quantized, timeout=WAIT):
        tab.controls.k_spin.setValue(9)
    assert painted_when_announced == [True]


def test_a_large_result_is_first_shown_as_sharp_as_the_view_then_whole(qtbot, window, big_path, photo_path):
    """A 2500-pixel-wide image's first picture is as large as the canvas shows it (not 2048
    across); the full-size one follows with the statistics.  A small image is shown whole at once."""
    tab = window.image_tab
    shown: list[int] = []
    set_result = tab.canvas.set_result

    def record(image, preview=None):
        shown.append(0 if image is None else image.width())
        set_result(image, preview)

    tab.canvas.set_result = record
    with qtbot.waitSignal(tab.measured, timeout=WAIT):
        outcome = open_and_wait(qtbot, window, big_path)
    side = tab.canvas.detail_side()
    assert 0 < side < 2048
    assert max(outcome.preview.width(), outcome.preview.height()) <= max(side, 256)
    assert not outcome.complete
    assert shown[-2:] == [outcome.preview.width(), 2500]  # the quick picture, then the full-size one
    small = open_and_wait(qtbot, window, photo_path)
    assert small.complete


def test_the_image_follows_k_means_while_it_runs(qtbot, window, photo_path, monkeypatch):
    """Live frames of the image (the small copy under the current centroids) reach the canvas
    before the result does; here every iteration makes one."""
    monkeypatch.setattr(app.image.jobs, "FRAME_INTERVAL", 0.0)
    monkeypatch.setattr(app.image.jobs, "FIRST_FRAME_AFTER", 0.0)
    open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    frames: list[tuple[int, int]] = []
    results: list[int] = []
    tab.progressed.connect(lambda u: u.frame is not None and frames.append((u.frame.width(), len(results))))
    tab.quantized.connect(lambda _o: results.append(1))
    with qtbot.waitSignal(tab.quantized, timeout=WAIT) as blocker:
        tab.controls.k_slider.setValue(24)
    assert len(frames) == blocker.args[0].result.n_iter  # one per iteration, all before the result
    assert all(width > 0 and before_result == 0 for width, before_result in frames)


@pytest.mark.slow
def test_cancel_mid_run_keeps_the_previous_result(qtbot, window, big_path):
    first = open_and_wait(qtbot, window, big_path)
    tab = window.image_tab
    cancel = tab.controls.cancel_button
    tab.progressed.connect(lambda _u: cancel.click() if cancel.isEnabled() else None)
    with qtbot.waitSignal(tab.cancelled, timeout=WAIT):
        tab.controls.k_slider.setValue(256)
    assert tab.outcome is first
    assert tab.palette_view.count() == len(first.palette) == 16
    assert not tab.controls.cancel_button.isEnabled()
    # The controls describe what is shown: K=16's result, not the 256 that was stopped.
    assert tab.controls.progress.format().startswith("16 colours")
    assert tab.controls.k_slider.value() == tab.controls.k_spin.value() == 16


def test_five_quick_slider_moves_run_one_job(qtbot, window, photo_path):
    open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    before = tab.submissions
    finished: list[object] = []
    tab.quantized.connect(finished.append)
    for k in (20, 30, 40, 50, 60):
        tab.controls.k_slider.setValue(k)
    qtbot.waitUntil(lambda: len(finished) == 1, timeout=WAIT)
    qtbot.wait(400)
    assert tab.submissions == before + 1
    assert len(finished) == 1 and len(finished[0].palette) == 60


def test_drops(qtbot, window, photo_path, tmp_path):
    with qtbot.waitSignal(window.image_tab.quantized, timeout=WAIT):
        drop(window, photo_path)
    assert "photo.png" in window.windowTitle()
    tab = window.image_tab

    text = tmp_path / "notes.txt"
    text.write_text("not a picture")
    with qtbot.waitSignal(tab.open_failed, timeout=WAIT) as blocker:
        drop(window, text)
    assert "notes.txt" in blocker.args[0]
    assert "notes.txt" in tab.message_bar.text
    assert tab.opened.loaded.path == photo_path and "photo.png" in window.windowTitle()

    data = photo_path.read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: len(data) // 2])
    with qtbot.waitSignal(tab.open_failed, timeout=WAIT) as blocker:
        drop(window, cut)
    assert "cut.png" in blocker.args[0]
    assert tab.opened.loaded.path == photo_path

    other = tmp_path / "other.png"
    Image.fromarray(gradient_image(50, 70, seed=3)).save(other)
    drop(window, other, photo_path)  # several files: a batch's plan, and the open image stays
    view = window.findChild(QWidget, "batchView")
    assert view is not None and view.table.rowCount() == 2 and not view.running
    with qtbot.waitSignal(view.finished_batch, timeout=WAIT):
        qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)
    assert sorted(p.name for p in (tmp_path / "compressed").iterdir()) == ["other-k16.png", "photo-k16.png"]
    assert tab.opened.loaded.path == photo_path
    view.close()


def test_export_png_reopens_with_k_colours(qtbot, window, photo_path, tmp_path):
    outcome = open_and_wait(qtbot, window, photo_path)
    target = tmp_path / "out.png"
    with qtbot.waitSignal(window.image_tab.exported, timeout=WAIT):
        window.export_to(str(target), "png", False, False)
    with Image.open(target) as image:
        assert image.mode == "P"
        assert len(image.getcolors()) == len(outcome.palette) == 16
    assert "Saved out.png" in window.statusBar().currentMessage()
    # No silent overwrite of a name the file dialog never confirmed: the window offers it instead.
    bar = window.image_tab.message_bar
    with qtbot.waitSignal(window.image_tab.export_failed, timeout=WAIT):
        window.export_to(str(target), "gif", False, False)
    assert bar.text == "Not saved: out.png: already exists" and bar.action_text == "Overwrite"
    assert "--force" not in bar.text
    with qtbot.waitSignal(window.image_tab.exported, timeout=WAIT):
        bar.trigger_action()
    with Image.open(target) as image:
        assert image.format == "GIF"


def test_export_dialog_predicts_the_exact_size(qtbot, window, photo_path):
    outcome = open_and_wait(qtbot, window, photo_path)
    dialog = window.export_dialog()
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.size_bytes is not None, timeout=WAIT)
    from kmeans.imagefile import encode

    assert dialog.size_bytes == len(encode(outcome.palette, outcome.labels, "png"))
    assert not dialog.level_spin.isEnabled() and dialog.dither == 0
    dialog.dither_box.setChecked(True)
    qtbot.waitUntil(lambda: dialog.size_bytes is not None, timeout=WAIT)
    full = dialog.size_bytes
    assert dialog.level_spin.isEnabled() and dialog.dither == 100 and full != len(encode(outcome.palette,
                                                                                          outcome.labels, "png"))
    dialog.level_spin.setValue(30)
    qtbot.waitUntil(lambda: dialog.size_bytes is not None, timeout=WAIT)
    assert dialog.dither == 30 and dialog.size_bytes != full
    dialog.reject()


def test_the_dithering_level_is_the_windows_and_the_preview_shows_what_the_file_holds(qtbot, window, photo_path,
                                                                                     tmp_path):
    open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    controls = tab.controls
    assert not controls.dither_spin.isEnabled() and controls.options().dither == 0
    with qtbot.waitSignal(tab.quantized, timeout=WAIT):
        controls.dither_box.setChecked(True)
    assert controls.dither_spin.isEnabled()
    with qtbot.waitSignal(tab.quantized, timeout=WAIT) as blocker:
        controls.dither_spin.setValue(45)
    outcome = blocker.args[0]
    assert outcome.options.dither == 45 and outcome.dithered is not None
    out = tmp_path / "shown.png"
    with qtbot.waitSignal(tab.exported, timeout=WAIT):
        window.export_to(str(out), "png", True)  # True: at the window's level
    with Image.open(out) as image:
        assert np.array_equal(np.asarray(image), outcome.labels)


def test_highlight_and_copy_from_the_palette(qtbot, window, photo_path):
    open_and_wait(qtbot, window, photo_path)
    view = window.image_tab.palette_view
    item = view.item(0)
    rect = view.visualItemRect(item)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert view.selected_entry >= 0
    assert window.image_tab.canvas.highlighting
    view.setCurrentItem(item)
    code = view.copy_selected()
    assert code is not None and QApplication.clipboard().text() == code and code.startswith("#")
    view.clear_selection()
    assert not window.image_tab.canvas.highlighting


def test_progress_fills_the_swatches_in_sight_and_the_rest_when_they_come_into_sight(qtbot):
    view = PaletteView()  # on its own: no run of the window's can refill it meanwhile
    qtbot.addWidget(view)
    view.resize(360, 240)
    view.show()
    rng = np.random.default_rng(5)
    first = rng.integers(0, 256, (256, 3), dtype=np.uint8)
    second = rng.integers(0, 256, (256, 3), dtype=np.uint8)
    shares = np.linspace(1, 0.1, 256) / np.linspace(1, 0.1, 256).sum()
    view.show_palette(first, shares)
    view.scrollToTop()
    view.show_palette(second, shares, in_view=True)  # as k-means' progress does

    def shown(row: int) -> str:
        return view.item(row).data(HEX_ROLE)

    assert shown(0) == hex_color(second[0])
    assert shown(255) == hex_color(first[255])  # out of sight: not filled yet
    view.scrollToBottom()
    assert shown(255) == hex_color(second[255])
    view.show_palette(first, shares)  # a result fills every swatch
    assert [shown(row) for row in range(256)] == [hex_color(c) for c in first]


def test_a_palette_behind_another_tab_is_filled_when_shown_again(qtbot, window):
    window.show()
    tab = window.image_tab
    view = tab.palette_view
    colours = np.random.default_rng(6).integers(0, 256, (3, 16, 3), dtype=np.uint8)
    shares = np.linspace(1, 0.1, 16) / np.linspace(1, 0.1, 16).sum()
    view.show_palette(colours[0], shares)
    tab.side_tabs.setCurrentIndex(1)  # "Choosing K" in front of the palette
    view.show_palette(colours[1], shares)
    assert view.item(0).data(HEX_ROLE) == hex_color(colours[0][0])  # not filled while out of sight
    tab.side_tabs.setCurrentIndex(0)
    assert [view.item(row).data(HEX_ROLE) for row in range(16)] == [hex_color(c) for c in colours[1]]
    window.tabs.setCurrentWidget(window.learn_tab)
    view.show_palette(colours[2], shares)
    window.tabs.setCurrentWidget(tab)
    assert view.item(15).data(HEX_ROLE) == hex_color(colours[2][15])


def test_zoom_actions(qtbot, window, photo_path):
    open_and_wait(qtbot, window, photo_path)
    canvas = window.image_tab.canvas
    window.action_actual.trigger()
    assert canvas.zoom == 1.0
    window.action_zoom_in.trigger()
    assert canvas.zoom == pytest.approx(1.25)
    window.action_fit.trigger()
    rect = canvas.image_rect()
    assert rect.width() <= canvas.width() + 1 and rect.height() <= canvas.height() + 1
    assert window.zoom_label.text() == f"Zoom {canvas.zoom_percent}% (fit)"
    canvas.zoom_by(2.0, QPointF(10, 10))
    assert window.zoom_label.text() == f"Zoom {canvas.zoom_percent}%"
    # The zoom is the image's: the Learn tab neither shows it nor zooms the image out of sight.
    window.tabs.setCurrentWidget(window.learn_tab)
    assert window.zoom_label.isHidden() and not window.action_zoom_in.isEnabled()
    window.tabs.setCurrentWidget(window.image_tab)
    assert window.zoom_label.isVisible() and window.action_zoom_in.isEnabled()


def test_split_handle_drags(qtbot, window, photo_path):
    open_and_wait(qtbot, window, photo_path)
    canvas = window.image_tab.canvas
    start = QPoint(round(canvas.split_x()), canvas.height() // 2)
    image = canvas.image_rect().intersected(QRectF(canvas.rect()))
    quarter = QPoint(round(image.left() + image.width() / 4), canvas.height() // 2)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(canvas, quarter)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=quarter)
    assert canvas.split == pytest.approx(0.25, abs=0.02)


def test_the_split_handle_stays_on_a_narrower_image(qtbot, window, tmp_path):
    wide, narrow = tmp_path / "wide.png", tmp_path / "narrow.png"
    Image.fromarray(gradient_image(100, 400)).save(wide)
    Image.fromarray(gradient_image(400, 60, seed=1)).save(narrow)
    open_and_wait(qtbot, window, wide)
    canvas = window.image_tab.canvas
    image = canvas.image_rect()
    y = canvas.height() // 2
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(round(canvas.split_x()), y))
    qtbot.mouseMove(canvas, QPoint(round(image.right()) - 2, y))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(round(image.right()) - 2, y))
    open_and_wait(qtbot, window, narrow)
    image = canvas.image_rect()
    # on the narrow image, near its right edge: a sliver of it compressed, not all of it original
    assert image.left() < canvas.split_x() < image.right()
    assert canvas.split_x() > image.left() + 0.9 * image.width()


@pytest.mark.slow
def test_gui_thread_keeps_ticking_while_a_big_image_quantizes(qtbot, window, big_path):
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    try:
        open_and_wait(qtbot, window, big_path)
        with qtbot.waitSignal(window.image_tab.quantized, timeout=WAIT):
            window.image_tab.controls.k_slider.setValue(64)
    finally:
        timer.stop()
    assert len(gaps) > 20
    assert max(gaps) < 0.5, f"the GUI thread stalled for {max(gaps):.2f} s"


def test_object_names_are_set_and_controls_are_described(window):
    names = ["imageCanvas", "kSlider", "kSpinBox", "paletteView", "progressBar", "cancelButton", "statsPanel"]
    for name in names:
        assert window.findChild(QWidget, name) is not None, name
    for name in ("actionOpen", "actionExport", "actionQuit"):
        action = next(a for a in window.actions() if a.objectName() == name)
        assert action.toolTip()
    assert [s.toString() for s in window.action_quit.shortcuts()] == ["Ctrl+Q"]
    for kind in (QSlider, QSpinBox, QComboBox, QCheckBox, QPushButton, QProgressBar):
        for control in window.findChildren(kind):
            if control.objectName().startswith("qt_"):
                continue
            assert control.accessibleName(), f"{kind.__name__} {control.objectName()} has no accessible name"
            assert control.toolTip(), f"{kind.__name__} {control.objectName()} has no tooltip"


def test_recent_files_and_options_are_remembered(qtbot, settings, photo_path, tmp_path):
    win = MainWindow(settings)
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.image_tab.quantized, timeout=WAIT):
        win.open_image(photo_path)
    gone = tmp_path / "gone.png"
    Image.fromarray(gradient_image(10, 10)).save(gone)
    with qtbot.waitSignal(win.image_tab.quantized, timeout=WAIT):
        win.open_image(gone)
    gone.unlink()
    win.image_tab.controls.k_slider.setValue(33)
    win.image_tab.controls.dither_box.setChecked(True)
    win.image_tab.controls.dither_spin.setValue(60)
    win.close()

    again = MainWindow(settings)
    qtbot.addWidget(again)
    assert again.image_tab.controls.k_slider.value() == 33 and again.image_tab.controls.dither_box.isChecked()
    assert again.image_tab.controls.dither_spin.value() == 60 and again.image_tab.controls.dither_spin.isEnabled()
    again.recent_menu.aboutToShow.emit()
    entries = [a.text() for a in again.recent_menu.actions()]
    assert entries == ["photo.png"]
    again.close()


@pytest.mark.slow
def test_screenshot_from_the_command_line(tmp_path, photo_path):
    out = tmp_path / "shot.png"
    done = subprocess.run([sys.executable, "main.py", str(photo_path), "--screenshot", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen",
                               "XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert done.returncode == 0, done.stderr
    with Image.open(out) as shot:
        assert shot.size[0] > 600 and shot.size[1] > 400


def test_a_drag_shows_previews_and_the_result_lands_on_release(qtbot, window, photo_path):
    open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    slider = tab.controls.k_slider
    previews, results = [], []
    tab.previewed.connect(previews.append)
    tab.quantized.connect(results.append)
    slider.setSliderDown(True)  # held by the mouse
    for k in (20, 40, 60):
        with qtbot.waitSignal(tab.previewed, timeout=WAIT):
            slider.setValue(k)
    assert [p.options.k for p in previews] == [20, 40, 60] and results == []
    assert tab.palette_view.count() == 60  # the palette follows the drag
    with qtbot.waitSignal(tab.quantized, timeout=WAIT):
        slider.setSliderDown(False)  # let go: the reproducible result, at once
    assert len(results) == 1 and results[0].options.k == 60
    assert np.array_equal(results[0].palette, quantize(tab.opened.pixels, 60).palette)


def test_space_shows_the_original_from_the_canvas_and_k_boxes_and_never_changes_k(qtbot, window, photo_path):
    open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    box = tab.controls.k_spin
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box, "8")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    assert box.value() == 8
    qtbot.keyPress(box, Qt.Key.Key_Space)
    assert tab.canvas.showing_original and box.value() == 8 and box.text() == "8"
    qtbot.keyPress(box, Qt.Key.Key_Space, Qt.KeyboardModifier.NoModifier)  # held: auto-repeat is ignored
    qtbot.keyRelease(box, Qt.Key.Key_Space)
    assert not tab.canvas.showing_original and box.value() == 8
    for widget in (tab.canvas, tab.controls.k_slider):
        widget.setFocus()
        qtbot.keyPress(widget, Qt.Key.Key_Space)
        assert tab.canvas.showing_original
        qtbot.keyRelease(widget, Qt.Key.Key_Space)
        assert not tab.canvas.showing_original


def test_a_focused_button_or_check_box_in_the_image_tab_takes_space_and_enter(qtbot, window, photo_path):
    open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    dither = tab.controls.dither_box
    for key in (Qt.Key.Key_Space, Qt.Key.Key_Return):
        before = dither.isChecked()
        dither.setFocus()
        qtbot.keyClick(dither, key)
        qtbot.waitUntil(lambda before=before: dither.isChecked() != before, timeout=2000)
        assert not tab.canvas.showing_original
    cancel = tab.controls.cancel_button
    cancel.setEnabled(True)
    cancel.setFocus()
    clicked = []
    cancel.clicked.connect(lambda: clicked.append(True))
    qtbot.keyClick(cancel, Qt.Key.Key_Space)
    qtbot.keyClick(cancel, Qt.Key.Key_Enter)
    qtbot.waitUntil(lambda: len(clicked) == 2, timeout=2000)
    assert not tab.canvas.showing_original
    tab.palette_view.setFocus()
    qtbot.keyPress(tab.palette_view, Qt.Key.Key_Space)  # a list's own key
    assert not tab.canvas.showing_original
    qtbot.keyRelease(tab.palette_view, Qt.Key.Key_Space)


def test_space_is_left_alone_outside_the_image_tab(qtbot, window, photo_path):
    open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    # Outside the image tab, Space is left alone.
    window.tabs.setCurrentWidget(window.learn_tab)
    elsewhere = window.learn_tab.findChild(QPushButton, "runButton")
    elsewhere.setFocus()
    qtbot.keyPress(elsewhere, Qt.Key.Key_Space)
    assert not tab.canvas.showing_original


def test_statistics_of_the_last_k_are_cleared_while_the_next_runs(qtbot, window, photo_path):
    open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    qtbot.waitUntil(lambda: tab.measurement is not None, timeout=WAIT)
    assert tab.stats.value("psnr").endswith("dB")
    tab.stats.show_running(40)
    assert tab.stats.value("palette") == "40 colours (running…)"
    assert all(tab.stats.value(key) == "…" for key in ("iterations", "psnr", "delta_e", "export"))


def test_behind_the_learn_tab_a_result_is_measured_only_once_its_tab_is_shown(qtbot, window, photo_path):
    open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    qtbot.waitUntil(lambda: tab.measurement is not None, timeout=WAIT)
    window.tabs.setCurrentWidget(window.learn_tab)
    measured = []
    tab.measured.connect(measured.append)
    with qtbot.waitSignal(tab.quantized, timeout=WAIT):
        tab.controls.k_slider.setValue(9)
        tab.requantize()
    qtbot.wait(300)  # (time enough to measure a 160 x 120 image many times over)
    assert measured == [] and tab.measurement is None and not tab.measures.measurer.busy and not tab.measures.sizer.busy
    with qtbot.waitSignal(tab.measured, timeout=WAIT):
        window.tabs.setCurrentWidget(tab)
    assert tab.measurement is not None and tab.measurement is measured[0]
    assert tab.stats.value("psnr").endswith("dB")


def test_statistics_cut_short_by_hiding_the_tab_are_measured_when_it_is_shown(qtbot, window, photo_path):
    open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    with qtbot.waitSignal(tab.quantized, timeout=WAIT):
        tab.controls.k_slider.setValue(9)
        tab.requantize()
    window.tabs.setCurrentWidget(window.learn_tab)  # (in the turn the result arrived: measuring had started)
    assert tab.measurement is None and not tab.measures.measurer.busy
    with qtbot.waitSignal(tab.measured, timeout=WAIT):
        window.tabs.setCurrentWidget(tab)
    assert tab.measurement is not None


def test_progress_speaks_plainly_and_moves_forward(qtbot, window, big_path):
    open_and_wait(qtbot, window, big_path)
    tab = window.image_tab
    seen = []
    tab.progressed.connect(lambda u: seen.append((u.progress.run, u.progress.runs)))
    with qtbot.waitSignal(tab.quantized, timeout=WAIT):
        tab.controls.k_slider.setValue(40)
    runs = [run for run, _ in seen]
    assert runs == sorted(runs) and runs[-1] == seen[-1][1]  # the fill steps forward, ending at the last run
    assert tab.controls.progress.format().startswith("40 colours ·")


def test_a_failed_open_leaves_the_window_describing_what_is_shown(qtbot, window, photo_path, tmp_path):
    open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with qtbot.waitSignal(tab.open_failed, timeout=WAIT):
        window.open_image(bad)
    assert tab.controls.progress.format().startswith("16 colours")  # not "stopped": K=16's result is intact
    # A K chosen while a file opened and failed is computed afterwards.
    with qtbot.waitSignal(tab.quantized, timeout=WAIT) as blocker:
        window.open_image(bad)
        tab.controls.k_slider.setValue(9)
    assert len(blocker.args[0].palette) == 9 and tab.controls.k_spin.value() == 9


def test_highlight_covers_both_halves_and_counts_pixels(qtbot, window, photo_path):
    outcome = open_and_wait(qtbot, window, photo_path)
    view = window.image_tab.palette_view
    rect = view.visualItemRect(view.item(0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    entry = view.selected_entry
    count = int(outcome.result.counts[entry])
    assert f"{count:,} pixels" in window.statusBar().currentMessage()
    canvas = window.image_tab.canvas
    canvas.set_split(1.0)  # the whole view is the original: the highlight still shows there
    shot = canvas.grab().toImage()
    darkened = shot.pixelColor(canvas.width() // 2, canvas.height() // 2)
    assert canvas.highlighting and darkened.isValid()


def test_a_canvas_that_has_drawn_before_shows_what_a_fresh_one_shows(qtbot):
    """Each layer keeps its last scaled copy: a new result, a zoom, a pan or the handle moved must
    never leave an old copy on screen."""
    from app.image.canvas import ImageCanvas
    from app.qimage import to_qimage

    photo = gradient_image(300, 400, seed=2)
    first, second = to_qimage(photo // 64 * 64), to_qimage(255 - photo)

    def canvas() -> ImageCanvas:
        view = ImageCanvas()
        qtbot.addWidget(view)
        view.resize(330, 250)
        view.set_original(to_qimage(photo))
        return view

    used = canvas()
    used.set_result(first)
    steps = [
        lambda view: view.set_result(second),
        lambda view: view.zoom_by(2.7, QPointF(90, 70)),
        lambda view: view.set_split(0.3),
        lambda view: view.set_result(first),
        lambda view: view.zoom_by(0.45, QPointF(200, 40)),
    ]
    for done, step in enumerate(steps, 1):
        used.grab()  # drawn (and its copies kept) before the next change
        step(used)
        fresh = canvas()
        fresh.set_result(first)
        for earlier in steps[:done]:
            earlier(fresh)
        assert used.grab().toImage() == fresh.grab().toImage(), f"after step {done}"


def test_no_panning_when_the_image_fits(qtbot, window, photo_path):
    open_and_wait(qtbot, window, photo_path)
    canvas = window.image_tab.canvas
    before = canvas.image_rect()
    middle = QPoint(canvas.width() // 3, canvas.height() // 2)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=middle)
    qtbot.mouseMove(canvas, middle + QPoint(120, 80))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=middle + QPoint(120, 80))
    assert canvas.image_rect() == before and canvas.fitted


def test_the_export_dialog_shows_the_known_size_at_once(qtbot, window, photo_path):
    open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    qtbot.waitUntil(lambda: tab.measurement is not None, timeout=WAIT)
    dialog = window.export_dialog()
    assert dialog.size_bytes == tab.measurement.size  # no "calculating…" for what is already known
    dialog.reject()


def test_dialogs_start_in_the_last_folder_used_not_the_samples(qtbot, window, photo_path, tmp_path):
    sample = sample_image()
    open_and_wait(qtbot, window, sample)
    assert Path(window.start_folder(OPEN_FOLDER)) != sample.parent
    open_and_wait(qtbot, window, photo_path)
    assert Path(window.start_folder(OPEN_FOLDER)) == photo_path.parent


def test_the_first_export_is_offered_beside_the_image_then_in_the_folder_last_used(qtbot, window, tmp_path):
    folder = tmp_path / "holiday"
    folder.mkdir()
    photo = folder / "beach.png"
    Image.fromarray(gradient_image(40, 60)).save(photo)
    open_and_wait(qtbot, window, photo)
    dialog = window.export_dialog()
    assert Path(dialog.suggested_path()).parent == folder  # not home, not Pictures
    dialog.reject()
    elsewhere = tmp_path / "exports"
    elsewhere.mkdir()
    with qtbot.waitSignal(window.image_tab.exported, timeout=WAIT):
        window.export_to(str(elsewhere / "beach-small.png"), "png", False)
    dialog = window.export_dialog()
    assert Path(dialog.suggested_path()).parent == elsewhere
    dialog.reject()


def test_the_sample_images_first_export_is_not_offered_inside_the_program(qtbot, window):
    sample = sample_image()
    open_and_wait(qtbot, window, sample)
    dialog = window.export_dialog()
    assert Path(dialog.suggested_path()).parent != sample.parent
    dialog.reject()


def test_a_label_changing_in_a_tab_does_not_redraw_the_image(qtbot, window, photo_path):
    """Statistics change at every K; the canvas beside them is drawn again only when it changes."""
    from PySide6.QtCore import QEvent, QObject

    open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    qtbot.wait(100)

    class Paints(QObject):
        count = 0

        def eventFilter(self, _obj, event):
            if event.type() == QEvent.Type.Paint:
                Paints.count += 1
            return False

    paints = Paints()
    tab.canvas.installEventFilter(paints)
    tab.stats.show_running(5)  # every value in the statistics changes width
    qtbot.wait(100)
    assert Paints.count == 0
    stack = window.tabs.currentWidget().geometry()
    window.resize(window.width() - 120, window.height() - 60)  # a real size change is still laid out
    qtbot.waitUntil(lambda: window.tabs.currentWidget().geometry() != stack and Paints.count > 0, timeout=WAIT)
    tab.canvas.removeEventFilter(paints)


def test_help_lists_every_key_of_both_tabs(qtbot, window):
    from PySide6.QtGui import QAction, QKeySequence, QShortcut

    from app.shortcuts import LEARN_KEYS

    window.findChild(QAction, "actionShortcuts").trigger()
    dialog = window.findChild(QDialog, "shortcutsDialog")
    assert dialog is not None and dialog.isVisible()
    text = dialog.text()
    for action in window.actions():
        for key in action.shortcuts():
            assert key.toString(QKeySequence.SequenceFormat.NativeText) in text, action.text()
    assert "Space (held)" in text and "Run or pause" in text
    # the Learn tab's own keys are all listed
    listed = {key for key, _ in LEARN_KEYS}
    bound = {shortcut.key().toString() for shortcut in window.blobs_tab.findChildren(QShortcut)}
    assert {"Return" if key == "Enter" else key for key in bound} <= {*listed, "Return"}, bound
    dialog.close()


def test_the_window_fits_a_laptop_screen_and_the_side_panel_scrolls(qtbot, window, photo_path):
    from PySide6.QtWidgets import QScrollArea

    open_and_wait(qtbot, window, photo_path)
    scroll = window.findChild(QScrollArea, "sideScroll")
    side = window.image_tab.side
    window.resize(1280, 690)  # 1280 × 720 less a title bar
    qtbot.waitUntil(lambda: window.height() == 690, timeout=2000)
    assert window.width() <= 1280
    # every row reachable: the panel is never squeezed below its rows, the rest scrolls into view
    assert side.height() >= side.minimumSizeHint().height()
    assert side.stats.geometry().bottom() < side.height()
    bar = scroll.verticalScrollBar()
    bar.setValue(bar.maximum())
    last = side.stats.geometry().bottom() - bar.value()
    assert last <= scroll.viewport().height()
    window.resize(1900, 1000)  # a large screen: nothing to scroll, the palette takes the room
    qtbot.waitUntil(lambda: not bar.isVisible() and side.height() == scroll.viewport().height(), timeout=2000)


def test_a_panel_row_that_grows_makes_the_panel_taller_not_crowded(qtbot, window, photo_path):
    open_and_wait(qtbot, window, photo_path)
    side = window.image_tab.side
    window.resize(1280, 690)
    qtbot.waitUntil(lambda: window.height() == 690, timeout=2000)
    before = side.height()
    side.stats._set("formats", " · ".join(["PNG 41.0 KB", "GIF 51.3 KB", "WebP 39.1 KB", "BMP 300.1 KB"] * 3))
    qtbot.waitUntil(lambda: side.height() > before, timeout=2000)
    assert side.stats.geometry().bottom() < side.height()
    assert side.height() >= side.layout().minimumHeightForWidth(side.width())


def test_statistics_keep_their_height_while_the_sizes_arrive(qtbot):
    from app.image.stats_panel import StatsPanel

    panel = StatsPanel()
    qtbot.addWidget(panel)
    panel.setFixedWidth(372)  # (the side panel's width in the window)
    panel.show()
    panel._set("export", "calculating…")
    panel._set("formats", "…")
    before = panel.heightForWidth(372)
    panel._original_size = 10_000_000
    for fmt, size in (("png", 32_061), ("gif", 46_100), ("webp", 28_800), ("bmp", 384_100)):
        panel.show_format_size(fmt, size)
        assert panel.heightForWidth(372) == before, fmt
    assert "BMP" in panel.value("formats") and not panel.switch_button.isVisible()


def test_restored_settings_are_said_once_and_can_be_reset(qtbot, settings, photo_path):
    from app.image.controls import AutoK

    first = MainWindow(settings)
    qtbot.addWidget(first)
    with qtbot.waitSignal(first.image_tab.quantized, timeout=WAIT):
        first.open_image(photo_path)
    assert not first.image_tab.message_bar.isVisibleTo(first)  # (a first start: nothing restored)
    first.image_tab.controls.set_auto_k(AutoK(True, "size", 5000))  # (met: no message of its own)
    first.image_tab.stats.set_format("gif")
    first.close()

    again = MainWindow(settings)
    qtbot.addWidget(again)
    again.show()
    bar = again.image_tab.message_bar
    with qtbot.waitSignal(again.image_tab.quantized, timeout=WAIT):
        again.open_image(photo_path)
    assert bar.isVisibleTo(again)
    assert bar.text == "Settings from last time: Auto K (at most 5,000 KB), export as GIF."
    assert bar.action_text == "Reset to Defaults"
    bar.hide()
    with qtbot.waitSignal(again.image_tab.quantized, timeout=WAIT):
        again.open_image(photo_path)
    assert not bar.isVisibleTo(again)  # once
    bar.show_message("Settings from last time: …", action=("Reset to Defaults", again.reset_settings))
    with qtbot.waitSignal(again.image_tab.quantized, timeout=WAIT):
        bar.trigger_action()
    assert not again.image_tab.controls.auto_k().on and again.image_tab.stats.fmt == "png"
    assert again.image_tab.outcome.options.k == 16
    again.close()

    third = MainWindow(settings)
    qtbot.addWidget(third)
    assert not third._restored and not third.image_tab.controls.auto_k().on
    assert any(a.objectName() == "actionResetSettings" for a in third.actions())
    third.close()
