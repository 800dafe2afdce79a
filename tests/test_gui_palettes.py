"""Your colours in the window: locked swatches, the eyedropper, Use Palette and Export Palette."""

from __future__ import annotations

import numpy as np
from conftest import WAIT, gradient_image, open_and_wait
from PIL import Image
from PySide6.QtCore import QPoint, Qt

from app.image.palette_view import LOCKED_ROLE
from kmeans.palettefile import save_palette

COLOURS = np.array([[255, 0, 0], [0, 128, 255], [12, 34, 56]], np.uint8)


def _has(palette: np.ndarray, colour) -> bool:
    return bool((palette[:, :3] == np.array(colour, np.uint8)).all(axis=1).any())


def test_a_locked_swatch_survives_k_changes_and_new_images(qtbot, window, photo_path, tmp_path):
    outcome = open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    view = tab.palette_view
    view.setCurrentRow(2)
    colour = tuple(int(v) for v in outcome.palette[int(view.currentItem().data(Qt.ItemDataRole.UserRole))][:3])
    with qtbot.waitSignal(tab.quantized, timeout=WAIT) as blocker:
        view.toggle_lock()
    assert tab.locking.colours == [colour] and _has(blocker.args[0].palette, colour)
    assert blocker.args[0].result.locked.sum() == 1
    assert [view.item(i).data(LOCKED_ROLE) for i in range(view.count())].count(True) == 1
    with qtbot.waitSignal(tab.quantized, timeout=WAIT) as blocker:
        tab.controls.k_slider.setValue(5)
    assert _has(blocker.args[0].palette, colour)
    other = tmp_path / "other.png"
    Image.fromarray(gradient_image(40, 60, seed=9)).save(other)
    assert _has(open_and_wait(qtbot, window, other).palette, colour)
    with qtbot.waitSignal(tab.quantized, timeout=WAIT):
        tab.unlock_button.click()
    assert tab.locking.colours == [] and not tab.unlock_button.isEnabled()


def test_the_eyedropper_locks_the_colour_clicked(qtbot, window, photo_path):
    open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    canvas = tab.canvas
    tab.pick_button.setChecked(True)
    assert canvas.picking
    rect = canvas.image_rect()
    at = QPoint(round(rect.left() + rect.width() * 0.25), round(rect.top() + rect.height() * 0.5))
    image_point = canvas.to_image(at.toPointF())
    expected = tuple(int(v) for v in tab.opened.pixels[int(image_point.y()), int(image_point.x())][:3])
    with qtbot.waitSignal(tab.quantized, timeout=WAIT) as blocker:
        qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=at)
    assert tab.locking.colours == [expected] and _has(blocker.args[0].palette, expected)
    assert not tab.pick_button.isChecked() and not canvas.picking


def test_use_palette_maps_to_the_file_in_its_order(qtbot, window, photo_path, tmp_path):
    open_and_wait(qtbot, window, photo_path)
    tab = window.image_tab
    save_palette(tmp_path / "colours.pal", COLOURS)
    with qtbot.waitSignal(tab.quantized, timeout=WAIT) as blocker:
        assert window.use_palette(str(tmp_path / "colours.pal"))
    assert np.array_equal(blocker.args[0].palette[:, :3], COLOURS)
    with qtbot.waitSignal(tab.quantized, timeout=WAIT) as blocker:
        assert window.use_palette(str(tmp_path / "colours.pal"), extra=2)
    palette = blocker.args[0].palette
    assert len(palette) == 5 and np.array_equal(palette[:3, :3], COLOURS)
    window.save_palette_to(str(tmp_path / "out.gpl"))
    lines = (tmp_path / "out.gpl").read_text().splitlines()[4:]
    assert [line.endswith(" locked") for line in lines] == [True, True, True, False, False]


def test_a_bad_palette_file_is_said_and_changes_nothing(qtbot, window, photo_path, tmp_path):
    open_and_wait(qtbot, window, photo_path)
    (tmp_path / "bad.gpl").write_text("GIMP Palette\n1 2 3\n4 5\n")
    assert not window.use_palette(str(tmp_path / "bad.gpl"))
    assert "bad.gpl, line 3" in window.image_tab.message_bar.text
    assert window.image_tab.locking.colours == []
