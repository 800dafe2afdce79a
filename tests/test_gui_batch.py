"""The batch view: many files with the image tab's settings, in worker processes."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import WAIT, drop, gradient_image
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTableWidget, QWidget

from app.batch_view import BatchView


@pytest.fixture
def files(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    paths = []
    for i in range(3):
        path = folder / f"p{i}.png"
        Image.fromarray(gradient_image(50 + 10 * i, 60, seed=i)).save(path)
        paths.append(path)
    broken = folder / "p3-broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    return [*paths, broken]


def _finish(qtbot, view: BatchView) -> tuple[int, int]:
    with qtbot.waitSignal(view.finished_batch, timeout=WAIT) as blocker:
        pass
    return tuple(blocker.args)


def _column(view: BatchView, column: int) -> list[str]:
    return [view.table.item(row, column).text() for row in range(view.table.rowCount())]


def test_compress_many_fills_a_row_per_file(qtbot, window, files, tmp_path):
    window.image_tab.controls.k_slider.setValue(6)
    view = window.compress_many(files, tmp_path / "out")
    assert view is window.findChild(QWidget, "batchView") and isinstance(view, BatchView)
    assert isinstance(view.findChild(QTableWidget, "batchTable"), QTableWidget)
    assert view.table.rowCount() == 4
    assert _finish(qtbot, view) == (4, 1)
    assert _column(view, 1)[:3] == ["p0-k6.png", "p1-k6.png", "p2-k6.png"]
    assert _column(view, 1)[3].startswith("not done: ")
    assert _column(view, 2)[:3] == ["6", "6", "6"]
    assert all(_column(view, 6)[i].endswith("%") for i in range(3))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["p0-k6.png", "p1-k6.png", "p2-k6.png"]
    assert view.progress.value() == 4
    view.close()


def test_a_folder_dropped_is_a_batch_with_the_auto_k_target(qtbot, window, files, tmp_path):
    controls = window.image_tab.controls
    controls.target_box.setCurrentIndex(controls.target_box.findData("small file"))
    controls.auto_box.setChecked(True)
    drop(window, files[0].parent)
    view = window.findChild(QWidget, "batchView")
    assert view is not None and "Auto K" in view.summary.text()
    assert not view.running and _column(view, 1)[:3] == ["→ p0-k?.png", "→ p1-k?.png", "→ p2-k?.png"]
    qtbot.mouseClick(view.start_button, Qt.MouseButton.LeftButton)  # (the one click a drop needs)
    _finish(qtbot, view)
    out = files[0].parent / "compressed"
    made = sorted(p.name for p in out.iterdir())
    assert len(made) == 3 and all(name.startswith(f"p{i}-k") for i, name in enumerate(made))
    ks = [int(k) for k in _column(view, 2)[:3]]
    for i, k in enumerate(ks):
        assert made[i] == f"p{i}-k{k}.png"
    assert all(float(v) <= 5.0 for v in _column(view, 3)[:3])
    view.close()


def test_existing_outputs_are_asked_about_once(qtbot, window, files, tmp_path):
    window.image_tab.controls.k_slider.setValue(6)
    out = tmp_path / "out"
    out.mkdir()
    (out / "p1-k6.png").write_bytes(b"keep me")
    view = window.compress_many(files[:3], out, start=False)
    assert view.start(overwrite=False)
    assert _finish(qtbot, view) == (3, 1)
    assert (out / "p1-k6.png").read_bytes() == b"keep me"
    assert "exists" in view.table.item(1, 1).text()
    assert view.start(overwrite=True)
    assert _finish(qtbot, view) == (3, 0)
    assert (out / "p1-k6.png").read_bytes() != b"keep me"
    view.close()


def test_cancel_finishes_the_running_files_and_starts_no_more(qtbot, window, tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(8):
        Image.fromarray(gradient_image(400, 500, seed=i)).save(folder / f"m{i}.png", compress_level=1)
    window.image_tab.controls.k_slider.setValue(64)
    view = window.compress_many([folder], tmp_path / "out")
    qtbot.waitUntil(lambda: view.progress.value() >= 1, timeout=WAIT)
    view.cancel()
    done, failed = _finish(qtbot, view)
    assert failed == 0 and done < 8
    assert _column(view, 1).count("not started (cancelled)") == 8 - done
    made = list((tmp_path / "out").iterdir())
    assert len(made) == done  # every file there is whole: it opens
    for path in made:
        with Image.open(path) as image:
            image.load()
    view.close()


def test_the_image_tab_works_while_a_batch_runs(qtbot, window, files, tmp_path, photo_path):
    view = window.compress_many(files, tmp_path / "out")
    with qtbot.waitSignal(window.image_tab.quantized, timeout=WAIT):
        window.open_image(photo_path)
    _finish(qtbot, view)
    assert np.asarray(Image.open(tmp_path / "out" / "p0-k16.png")).size > 0
    view.close()


def _palette(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.array(image.getpalette(), np.uint8).reshape(-1, 3)


def test_a_batch_with_one_shared_palette_or_the_palette_in_use(qtbot, window, files, tmp_path):
    from kmeans.palettefile import save_palette

    window.image_tab.controls.k_slider.setValue(8)
    view = window.compress_many(files[:3], tmp_path / "shared", start=False)
    view.shared_box.setChecked(True)
    assert view.start()
    _finish(qtbot, view)
    palettes = [_palette(tmp_path / "shared" / f"p{i}-k8.png") for i in range(3)]
    assert all(np.array_equal(p[:8], palettes[0][:8]) for p in palettes)
    view.close()

    colours = np.array([[255, 0, 0], [0, 0, 255], [240, 240, 240]], np.uint8)
    save_palette(tmp_path / "mine.gpl", colours)
    assert window.use_palette(str(tmp_path / "mine.gpl"))
    view = window.compress_many(files[:3], tmp_path / "given")
    assert "mine.gpl" in view.summary.text()
    _finish(qtbot, view)
    for i in range(3):
        assert np.array_equal(_palette(tmp_path / "given" / f"p{i}-k3.png")[:3], colours)
    view.close()


def test_an_animation_in_a_batch_keeps_its_frames_and_says_so(qtbot, window, tmp_path):
    frames = [Image.fromarray(gradient_image(20, 16, seed=i)) for i in range(4)]
    source = tmp_path / "anim.png"
    frames[0].save(source, save_all=True, append_images=frames[1:], duration=50, loop=0)
    window.image_tab.controls.k_slider.setValue(8)
    view = window.compress_many([source], tmp_path / "out")
    assert _finish(qtbot, view) == (1, 0)
    assert _column(view, 1) == ["anim-k8.png (4 frames)"]
    assert "worst frame" in view.table.item(0, 1).toolTip()
    from kmeans.imagefile import load

    assert load(tmp_path / "out" / "anim-k8.png").frames == 4
    view.close()


def test_a_drop_shows_the_plan_and_the_options_until_start(qtbot, window, files, tmp_path):
    window.image_tab.controls.k_slider.setValue(6)
    drop(window, *files[:3])
    view = window.findChild(QWidget, "batchView")
    assert not view.running and view.progress.value() == 0
    assert _column(view, 1) == ["→ p0-k6.png", "→ p1-k6.png", "→ p2-k6.png"]
    for name in ("batchFolder", "batchNaming", "batchSkipLarger", "batchSharedPalette"):
        assert view.findChild(QWidget, name).isEnabled(), name
    assert view.start_button.hasFocus() or view.start_button.isDefault()
    view.name_edit.setText("small-{name}.{ext}")
    assert _column(view, 1) == ["→ small-p0.png", "→ small-p1.png", "→ small-p2.png"]
    view.name_edit.setText("{k}.{ext}")  # (no {name}: the files would share one name)
    assert _column(view, 1)[0] == "→ 6.png" and _column(view, 1)[1].startswith("left out: ")
    view.name_edit.setText("{name}-k{k}.{ext}")
    view.folder_edit.setText(str(tmp_path / "planned"))
    view.skip_box.setChecked(True)
    assert not (tmp_path / "planned").exists()  # nothing written before Start
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert _finish(qtbot, view) == (3, 0)
    assert sorted(p.name for p in (tmp_path / "planned").iterdir()) == ["p0-k6.png", "p1-k6.png", "p2-k6.png"]
    view.close()


def test_each_row_fills_in_as_its_file_is_done_and_only_files_at_work_say_compressing(qtbot, window, tmp_path,
                                                                                      monkeypatch):
    import os

    folder = tmp_path / "slow-first"
    folder.mkdir()
    rng = np.random.default_rng(2)
    for i in range(10):
        side = 900 if i == 0 else 20  # (the first holds a worker while the rest go through the other)
        Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(folder / f"f{i}.png")
    at_work, first_done_when = [], []
    done = BatchView._file_done

    def watched(view, found):
        done(view, found)
        column = _column(view, 1)
        at_work.append(column.count("compressing…"))
        if not isinstance(found, int) and found[0] == 0:
            first_done_when.append(sum(text.endswith(".png") for text in column))

    monkeypatch.setattr(BatchView, "_file_done", watched)
    view = window.compress_many([folder], out_dir=tmp_path / "out")
    _finish(qtbot, view)
    assert max(at_work) <= (os.cpu_count() or 1)
    assert first_done_when == [10]  # (the big file's row was the last to fill in)
