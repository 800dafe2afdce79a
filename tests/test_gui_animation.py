"""An animation in the window: every frame kept, one shown at a time under a frame slider, the
statistics following it, and exports that keep them all."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import WAIT, open_and_wait
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QSlider

from kmeans.imagefile import load


@pytest.fixture
def animation_path(tmp_path):
    """Six frames of a red square moving over a gradient, each shown 60 ms, looping."""
    y, x = np.mgrid[0:24, 0:32]
    frames = []
    for i in range(6):
        frame = np.stack([x * 8, y * 10, np.full_like(x, 90)], axis=-1).astype(np.uint8)
        frame[4:10, 4 * i:4 * i + 6] = (230, 20, 20)
        frames.append(Image.fromarray(frame))
    path = tmp_path / "moving.png"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=60, loop=0)
    return path


def test_an_animation_opens_whole_with_a_frame_slider(qtbot, window, animation_path):
    tab = window.image_tab
    slider = window.findChild(QSlider, "frameSlider")
    assert not slider.isVisibleTo(window)
    outcome = open_and_wait(qtbot, window, animation_path)
    assert outcome.result.shape == (6 * 24, 32)  # every frame quantized, with one palette
    assert slider.isVisibleTo(window) and slider.maximum() == 5
    assert tab.frame_bar.label.text() == "Frame 1 of 6 · 60 ms"
    assert "× 6 frames (0.4 s)" in tab.stats.value("original")
    assert not tab.message_bar.isVisibleTo(window)  # (no "only the first frame" any more)
    slider.setValue(3)
    assert tab.canvas.frame == 3 and tab.frame_bar.label.text() == "Frame 4 of 6 · 60 ms"


def test_the_statistics_follow_the_shown_frame(qtbot, window, animation_path):
    tab = window.image_tab
    open_and_wait(qtbot, window, animation_path)
    qtbot.waitUntil(lambda: tab.stats.value("frame") not in ("…", "–"), timeout=WAIT)
    first = tab.stats.value("frame")
    assert first.startswith("1: ") and "worst: " in first
    tab.frame_bar.set_frame(4)
    assert tab.stats.value("frame").startswith("5: ")


def test_the_canvas_shows_the_chosen_frame(qtbot, window, animation_path):
    tab = window.image_tab
    open_and_wait(qtbot, window, animation_path)
    canvas = tab.canvas
    canvas.show_original(True)  # (no handle over the picture)
    rect = canvas.image_rect()
    scale = rect.width() / 32

    def colour_at(x: int, y: int) -> tuple[int, int]:
        colour = shot.pixelColor(int(rect.left() + (x + 0.5) * scale), int(rect.top() + (y + 0.5) * scale))
        return colour.red(), colour.green()

    for index in (0, 5):
        tab.frame_bar.set_frame(index)
        shot = canvas.grab().toImage()
        # The square is where this frame has it, and not where the other one has it.
        assert colour_at(4 * index + 2, 6) == (230, 20), index
        assert colour_at(4 * (5 - index) + 2, 6) != (230, 20), index


def test_playing_steps_through_the_frames(qtbot, window, animation_path):
    tab = window.image_tab
    open_and_wait(qtbot, window, animation_path)
    seen: set[int] = set()
    tab.frame_bar.frame_changed.connect(seen.add)
    qtbot.mouseClick(tab.frame_bar.play_button, Qt.MouseButton.LeftButton)
    assert tab.frame_bar.playing
    qtbot.waitUntil(lambda: seen >= {1, 2, 3, 4, 5, 0}, timeout=WAIT)
    qtbot.mouseClick(tab.frame_bar.play_button, Qt.MouseButton.LeftButton)
    stopped = tab.frame_bar.frame
    qtbot.wait(200)
    assert not tab.frame_bar.playing and tab.frame_bar.frame == stopped


@pytest.mark.parametrize("fmt", ["gif", "png", "webp"])
def test_export_keeps_every_frame(qtbot, window, animation_path, tmp_path, fmt):
    tab = window.image_tab
    open_and_wait(qtbot, window, animation_path)
    target = tmp_path / f"out.{fmt}"
    with qtbot.waitSignal(tab.exported, timeout=WAIT):
        window.export_to(str(target), fmt, False, False)
    written = load(target)
    assert written.frames == 6 and written.animation.durations == (60,) * 6 and written.animation.plays == 0
    expected = tab.outcome.palette[tab.outcome.labels][..., :3]
    assert np.array_equal(written.pixels[..., :3], expected)


def test_a_still_format_refuses_an_animation_in_words(qtbot, window, animation_path, tmp_path):
    tab = window.image_tab
    open_and_wait(qtbot, window, animation_path)
    target = tmp_path / "out.bmp"
    with qtbot.waitSignal(tab.export_failed, timeout=WAIT) as failed:
        window.export_to(str(target), "bmp", False, False)
    assert "holds one picture" in failed.args[0] and "6 frames" in failed.args[0]
    assert not target.exists()


def test_a_still_image_after_an_animation_hides_the_frame_bar(qtbot, window, animation_path, tmp_path):
    tab = window.image_tab
    open_and_wait(qtbot, window, animation_path)
    tab.frame_bar.set_frame(2)
    still = tmp_path / "still.png"
    Image.new("RGB", (10, 8), (10, 200, 30)).save(still)
    open_and_wait(qtbot, window, still)
    assert not tab.frame_bar.isVisibleTo(window) and tab.canvas.frame == 0



def test_the_eyedropper_picks_from_the_shown_frame(qtbot, window, animation_path):
    tab = window.image_tab
    open_and_wait(qtbot, window, animation_path)
    tab.frame_bar.set_frame(5)
    tab.pick_button.setChecked(True)
    rect = tab.canvas.image_rect()
    scale = rect.width() / 32
    spot = QPoint(int(rect.left() + 22.5 * scale), int(rect.top() + 6.5 * scale))  # the square, in frame 6 only
    with qtbot.waitSignal(tab.quantized, timeout=WAIT):
        qtbot.mouseClick(tab.canvas, Qt.MouseButton.LeftButton, pos=spot)
    assert (230, 20, 20) in window.image_tab.state.locks.colours


@pytest.mark.parametrize("apart_from", [0, 10**9])  # (sized in a child process, as a large file is; here)
def test_the_sizes_shown_are_the_exported_animation_s(qtbot, window, animation_path, tmp_path, apart_from,
                                                      monkeypatch):
    import kmeans.encode_apart as apart

    monkeypatch.setattr(apart, "APART_FROM_PIXELS", apart_from)
    tab = window.image_tab
    open_and_wait(qtbot, window, animation_path)
    qtbot.waitUntil(lambda: {"gif", "png", "webp"} <= set(tab.stats.sizes), timeout=WAIT)
    for fmt in ("gif", "png", "webp"):
        target = tmp_path / f"out.{fmt}"
        with qtbot.waitSignal(tab.exported, timeout=WAIT):
            window.export_to(str(target), fmt, False, False)
        # (from PNG to GIF the frames may get a palette each: the sizes are worked out again)
        qtbot.waitUntil(lambda fmt=fmt: fmt in tab.stats.sizes, timeout=WAIT)
        assert tab.stats.sizes[fmt] == target.stat().st_size, fmt


@pytest.fixture
def fade_path(tmp_path):
    """Four frames whose colours move from one hue to the next: each frame gets its own palette."""
    from test_frame_palettes import fade_frames, save

    return save(fade_frames(), tmp_path / "fade.png")


def shown_swatches(tab) -> np.ndarray:
    return tab.palette_view._palette


def test_a_palette_per_frame_is_shown_for_the_shown_frame(qtbot, window, fade_path, tmp_path):
    from kmeans.cli import main

    tab = window.image_tab
    tab.controls.set_k(8)
    open_and_wait(qtbot, window, fade_path)
    with qtbot.waitSignal(tab.quantized, timeout=WAIT):
        tab.stats.set_format("gif")
    result = tab.outcome.result
    assert result.frames is not None
    assert "8 colours per frame" in tab.stats.value("palette")
    assert np.array_equal(shown_swatches(tab), result.frames[0].palette)
    tab.frame_bar.set_frame(2)
    assert np.array_equal(shown_swatches(tab), result.frames[2].palette)
    # the highlight is of the shown frame's entry, counted in that frame
    with qtbot.waitSignal(tab.status, timeout=WAIT) as said:
        tab._highlight(0)
    count = int(result.frames[2].counts[0])
    assert f"{count:,} pixels" in said.args[0] and "of this frame" in said.args[0]
    # Export is what the command line writes; a PNG (one palette) is quantized for it
    target = tmp_path / "out.gif"
    with qtbot.waitSignal(tab.exported, timeout=WAIT):
        window.export_to(str(target), "gif", False, False)
    cli = tmp_path / "cli.gif"
    assert main([str(fade_path), "-k", "8", "-o", str(cli)]) == 0
    assert target.read_bytes() == cli.read_bytes()
    # the palette saved is the shown frame's
    from kmeans.palettefile import load_palette

    gpl = tmp_path / "frame.gpl"
    window.save_palette_to(str(gpl))
    assert np.array_equal(load_palette(str(gpl)), result.frames[2].palette[:, :3])
    png = tmp_path / "out.png"
    with qtbot.waitSignal(tab.exported, timeout=WAIT):
        window.export_to(str(png), "png", False, False)
    written = load(png)
    assert written.frames == 4 and len(np.unique(written.pixels.reshape(-1, 3), axis=0)) <= 8  # (one palette)
