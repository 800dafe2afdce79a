"""Choosing K in the window: the K curve fills in behind the work, Auto K follows a target, and a
click on the curve sets K."""

from __future__ import annotations

import numpy as np
from conftest import WAIT, gradient_image, open_and_wait
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QWidget

from app.image.k_curve import KCurve
from app.main_window import MainWindow
from kmeans.autok import CURVE_KS, QUALITY_LEVELS
from kmeans.colortable import ColorTable
from kmeans.imagefile import encode
from kmeans.quantization import quantize
from kmeans.transparency import file_quality


def _curve_done(tab) -> bool:
    return [p.k for p in tab.k_curve.points] == list(CURVE_KS)


def test_the_curve_fills_in_after_the_image_opens(qtbot, window, photo_path):
    open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    assert isinstance(window.findChild(QWidget, "kCurve"), KCurve)
    qtbot.waitUntil(lambda: _curve_done(tab), timeout=WAIT)
    points = tab.k_curve.points
    assert points[0].delta_e > points[-1].delta_e and points[0].size < points[-1].size
    assert tab.k_curve.knee in CURVE_KS
    tab.side_tabs.setCurrentIndex(1)
    assert not tab.k_curve.grab().isNull()


def test_a_new_k_pauses_the_curve_and_it_resumes_after(qtbot, window, photo_path):
    open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    qtbot.waitUntil(lambda: len(tab.k_curve.points) >= 1 and tab.measures.curver.busy, timeout=WAIT)
    with qtbot.waitSignal(tab.quantized, timeout=WAIT):
        tab.controls.k_slider.setValue(9)
        tab.requantize()
        assert not tab.measures.curver.busy  # paused at once: the result asked for comes first
        kept = {p.k: p for p in tab.k_curve.points}
    assert tab.k_curve.current == 9
    qtbot.waitUntil(lambda: _curve_done(tab), timeout=WAIT)
    # It resumed where it stopped: the points it had are the same ones, not worked out again.
    after = {p.k: p for p in tab.k_curve.points}
    assert kept and all(after[k] is point for k, point in kept.items())
    # Another colour space is another curve.
    tab.controls.space_box.setCurrentIndex(tab.controls.space_box.findData("oklab"))
    qtbot.waitUntil(lambda: len(tab.k_curve.points) < len(CURVE_KS), timeout=WAIT)
    qtbot.waitUntil(lambda: _curve_done(tab), timeout=WAIT)


def test_a_click_on_the_curve_sets_k(qtbot, window, photo_path):
    open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    tab.side_tabs.setCurrentIndex(1)
    curve = tab.k_curve
    at = curve.position_of(32)
    x = round(at.x())
    with qtbot.waitSignal(tab.quantized, timeout=WAIT) as blocker:
        qtbot.mouseClick(curve, Qt.MouseButton.LeftButton, pos=QPoint(x, round(at.y())))
    assert blocker.args[0].options.k == curve.k_at(x) == tab.controls.k_slider.value()
    assert abs(curve.k_at(x) - 32) <= 1


def _blocks(path):
    """Twelve flat colours with a little noise: "good" and "visually lossless" are both reachable."""
    rng = np.random.default_rng(7)
    base = rng.integers(30, 226, (3, 4, 3))
    pixels = np.repeat(np.repeat(base, 40, 0), 40, 1).astype(float) + rng.normal(0, 3, (120, 160, 3))
    Image.fromarray(np.clip(pixels.round(), 0, 255).astype(np.uint8)).save(path)
    return path


def test_auto_k_chooses_the_fewest_colours_that_meet_the_level(qtbot, window, tmp_path):
    photo_path = _blocks(tmp_path / "blocks.png")
    open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    controls = tab.controls
    assert isinstance(window.findChild(QCheckBox, "autoK"), QCheckBox)
    assert isinstance(window.findChild(QComboBox, "qualityTarget"), QComboBox)
    controls.target_box.setCurrentIndex(controls.target_box.findData("good"))
    with qtbot.waitSignal(tab.quantized, timeout=WAIT) as blocker:
        controls.auto_box.setChecked(True)
    outcome = blocker.args[0]
    k = outcome.options.k
    assert outcome.choice is not None and outcome.choice.met
    assert controls.k_slider.value() == k and not controls.k_slider.isEnabled()
    # The result shown is the reproducible run at that K, and K-1 does not reach "good".
    pixels = np.asarray(Image.open(photo_path).convert("RGB"))
    table = ColorTable.from_pixels(pixels)
    limit = QUALITY_LEVELS["good"]
    same = quantize(table, k)
    assert np.array_equal(same.palette, outcome.palette)
    assert file_quality(pixels, table, same.palette, same.color_labels, "partial").delta_e <= limit
    fewer = quantize(table, k - 1)
    assert file_quality(pixels, table, fewer.palette, fewer.color_labels, "partial").delta_e > limit
    assert "Auto K" in tab.stats.value("palette")
    # A stricter level needs more colours.
    with qtbot.waitSignal(tab.quantized, timeout=WAIT) as blocker:
        controls.target_box.setCurrentIndex(controls.target_box.findData("visually lossless"))
    assert blocker.args[0].options.k > k


def test_auto_k_for_a_file_size(qtbot, window, photo_path):
    open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    controls = tab.controls
    controls.size_spin.setValue(3)
    controls.target_box.setCurrentIndex(controls.target_box.findData("size"))
    assert controls.size_spin.isVisible()
    with qtbot.waitSignal(tab.quantized, timeout=WAIT) as chosen:
        controls.auto_box.setChecked(True)
    assert chosen.args[0].choice is not None
    with qtbot.waitSignal(tab.measured, timeout=WAIT) as blocker:
        pass
    k = tab.outcome.options.k
    assert blocker.args[0].size <= 3 * 1024
    pixels = np.asarray(Image.open(photo_path).convert("RGB"))
    more = quantize(ColorTable.from_pixels(pixels), k + 1)
    assert len(encode(more.palette, more.labels, "png")) > 3 * 1024


def test_an_unreachable_level_shows_the_closest_and_says_so(qtbot, window, tmp_path):
    noisy = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(3).integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(noisy)
    open_and_wait(qtbot, window, noisy)
    tab = window.image_tab
    tab.controls.target_box.setCurrentIndex(tab.controls.target_box.findData("visually lossless"))
    with qtbot.waitSignal(tab.quantized, timeout=WAIT) as blocker:
        tab.controls.auto_box.setChecked(True)
    assert blocker.args[0].options.k == 256 and not blocker.args[0].choice.met
    assert tab.message_bar.isVisible()
    assert "needs more than 256 colours" in tab.message_bar.text


def test_auto_k_is_remembered(qtbot, settings, photo_path):
    first = MainWindow(settings)
    qtbot.addWidget(first)
    first.image_tab.controls.target_box.setCurrentIndex(first.image_tab.controls.target_box.findData("size"))
    first.image_tab.controls.size_spin.setValue(42)
    first.image_tab.controls.auto_box.setChecked(True)
    first.close()
    again = MainWindow(settings)
    qtbot.addWidget(again)
    auto = again.image_tab.controls.auto_k()
    assert (auto.on, auto.level, auto.size_kb) == (True, "size", 42)
    assert again.image_tab.controls.target().value == 42 * 1024
    again.close()


def test_a_transparent_image_gets_a_curve_for_gif(qtbot, window, tmp_path):
    pixels = np.dstack([gradient_image(60, 70), np.full((60, 70), 255, np.uint8)])
    pixels[:15, :, 3] = 0
    pixels[15:25, :, 3] = 100
    path = tmp_path / "alpha.png"
    Image.fromarray(pixels).save(path)
    open_and_wait(qtbot, window, path)
    tab = window.image_tab
    with qtbot.waitSignal(tab.measured, timeout=WAIT):
        tab.stats.set_format("gif")
    qtbot.waitUntil(lambda: _curve_done(tab), timeout=WAIT)
    assert all(p.size > 0 for p in tab.k_curve.points)


def test_size_ticks_fall_on_round_numbers_of_their_unit():
    from app.image.k_curve import _size_unit, _ticks

    unit, name = _size_unit(200_000 * 1.05)
    ticks = _ticks(0.0, 200_000 * 1.05 / unit)
    assert name == "KB" and ticks == [0, 50, 100, 150, 200]
    assert _size_unit(900) == (1, "B") and _size_unit(3e6)[1] == "MB"


def _drawn_curve(qtbot, points, target=None) -> KCurve:
    from kmeans.autok import Point

    curve = KCurve()
    qtbot.addWidget(curve)
    curve.resize(360, 240)
    curve.show()
    for k, delta_e, size in points:
        curve.add_point(Point(k, k, 40.0 - delta_e, delta_e, size))
    curve.set_target(target)
    curve.grab()  # (paints)
    return curve


def test_the_knee_label_stays_inside_the_plot_and_off_the_curves(qtbot):
    # A curve whose knee sits high on the left, the size line climbing across the plot.
    points = [(2, 9.0, 20_000), (4, 6.0, 40_000), (8, 3.2, 70_000), (16, 2.4, 110_000), (32, 1.9, 150_000),
              (64, 1.5, 190_000), (128, 1.2, 230_000), (256, 1.0, 260_000)]
    curve = _drawn_curve(qtbot, points)
    label = curve.knee_label
    assert label is not None and curve._plot().contains(label)
    assert curve.knee is not None
    plot = curve._plot()
    values = [p.delta_e for p in curve.points]
    q_high = max(values) * 1.05
    s_high = max(p.size for p in curve.points) * 1.05
    for p in curve.points:  # no point of either line under the label
        x = curve._x(p.k, plot)
        for y in (plot.bottom() - plot.height() * p.delta_e / q_high, plot.bottom() - plot.height() * p.size / s_high):
            assert not label.contains(x, y), (p.k, x, y, label)


def test_a_new_image_clears_the_last_curve_at_once(qtbot, window, photo_path, tmp_path):
    open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    qtbot.waitUntil(lambda: len(tab.k_curve.points) >= 3, timeout=WAIT)
    other = tmp_path / "other.png"
    Image.fromarray(gradient_image(40, 30, seed=3)).save(other)
    with qtbot.waitSignal(tab.image_opened, timeout=WAIT):
        window.open_image(other)
    assert tab.k_curve.points == [] and tab.k_curve._note.startswith("Working out")
