"""The window and export formats: k-means on what the format shows, the file's own numbers, the
size in every format with the smallest offered, and the stated dpi kept."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from conftest import WAIT, open_and_wait
from PIL import Image
from test_transparency import few_colour_logo, logo

from app.image import jobs
from app.worker import Token
from kmeans.errors import Cancelled
from kmeans.metrics import over, quality
from kmeans.options import Options


@pytest.fixture
def logo_path(tmp_path):
    path = tmp_path / "logo.png"
    Image.fromarray(logo(), "RGBA").save(path)
    return path


def test_choosing_gif_quantizes_what_gif_shows_and_reports_the_files_numbers(qtbot, window, logo_path, tmp_path):
    tab = window.image_tab
    outcome = open_and_wait(qtbot, window, logo_path)
    assert ((outcome.palette[:, 3] > 0) & (outcome.palette[:, 3] < 255)).any()  # PNG keeps partial alpha
    assert not tab.stats.matte_button.isVisibleTo(tab)
    with qtbot.waitSignal(tab.measured, timeout=WAIT) as measured:
        tab.stats.set_format("gif")
    outcome = tab.outcome
    assert outcome.view.support == "binary" and set(outcome.palette[:, 3].tolist()) <= {0, 255}
    assert tab.stats.matte_button.isVisibleTo(tab)
    target = tmp_path / "logo.gif"
    with qtbot.waitSignal(tab.exported, timeout=WAIT):
        window.export_to(str(target), "gif", False, False)
    with Image.open(target) as image:
        decoded = np.asarray(image.convert("RGBA"))
    expected = quality(over(logo()), over(decoded))
    shown = measured.args[0].quality
    assert shown.psnr == pytest.approx(expected.psnr, abs=1e-6)
    assert shown.delta_e == pytest.approx(expected.delta_e, abs=1e-6)
    assert shown.psnr > 35


def test_a_black_matte_quantizes_again_and_exports_onto_black(qtbot, window, logo_path, tmp_path):
    tab = window.image_tab
    open_and_wait(qtbot, window, logo_path)
    tab.stats.set_format("bmp")
    qtbot.waitUntil(lambda: tab.outcome is not None and tab.outcome.view.support == "none", timeout=WAIT)
    with qtbot.waitSignal(tab.quantized, timeout=WAIT) as arrived:
        tab.stats.set_matte((0, 0, 0))
    assert arrived.args[0].options.matte == (0, 0, 0)
    target = tmp_path / "logo.bmp"
    with qtbot.waitSignal(tab.exported, timeout=WAIT):
        window.export_to(str(target), "bmp", False, False)
    with Image.open(target) as image:
        decoded = np.asarray(image.convert("RGB"))
    assert quality(over(logo(), (0, 0, 0)), decoded).psnr > 35


def test_exporting_a_format_that_keeps_less_transparency_quantizes_for_it(qtbot, window, logo_path, tmp_path):
    """Export straight to GIF while PNG is chosen: the file is the GIF quantization, not PNG's."""
    open_and_wait(qtbot, window, logo_path)
    target = tmp_path / "direct.gif"
    with qtbot.waitSignal(window.image_tab.exported, timeout=WAIT):
        window.export_to(str(target), "gif", False, False)
    with Image.open(target) as image:
        decoded = np.asarray(image.convert("RGBA"))
    assert set(np.unique(decoded[..., 3]).tolist()) <= {0, 255}
    assert quality(over(logo()), over(decoded)).psnr > 35


def test_every_format_is_sized_and_a_smaller_one_is_offered(qtbot, window, tmp_path):
    path = tmp_path / "flat.png"
    flat = np.zeros((60, 80, 3), np.uint8)
    flat[:, 40:] = (200, 30, 30)
    Image.fromarray(flat).save(path, optimize=True)
    tab = window.image_tab
    open_and_wait(qtbot, window, path)
    with qtbot.waitSignal(tab.measured, timeout=WAIT):
        tab.stats.set_format("bmp")  # a BMP of a tiny PNG is larger than it
    qtbot.waitUntil(lambda: len(tab.stats.sizes) == 4, timeout=WAIT)
    sizes = tab.stats.sizes
    smallest = min(sizes, key=sizes.get)
    assert "<b>" in tab.stats.value("formats")
    assert tab.stats.switch_button.isVisibleTo(tab)
    tab.stats.switch_button.click()
    assert tab.stats.fmt == smallest
    qtbot.waitUntil(lambda: tab.measurement is not None and tab.measurement.fmt == smallest, timeout=WAIT)
    assert tab.measurement.size == sizes[smallest]


def test_the_stated_dpi_is_kept_on_export(qtbot, window, photo_path, tmp_path):
    scan = tmp_path / "scan.png"
    with Image.open(photo_path) as image:
        image.save(scan, dpi=(600, 600))
    open_and_wait(qtbot, window, scan)
    target = tmp_path / "scan-out.png"
    with qtbot.waitSignal(window.image_tab.exported, timeout=WAIT):
        window.export_to(str(target), "png", False, False)
    with Image.open(target) as image:
        assert [round(d) for d in image.info["dpi"]] == [600, 600]


@pytest.mark.parametrize("error", [Cancelled("cancelled"), ValueError("broken")])
def test_measuring_stops_its_encode_when_it_ends_early(photo_path, monkeypatch, error):
    """The export's size is encoded while the quality is measured; when measuring ends early (a
    cancel, or an error, which still reaches the caller) the encode ends with it."""
    opened = jobs.open_image(photo_path)
    outcome = jobs.run_quantize(opened, Options(k=8), None, live=False)
    token = Token(1, lambda _generation, _payload: None)
    assert jobs.measure(opened, outcome, "png", token).size == len(
        jobs.export_bytes(opened, outcome, "png", False))

    def quality_fails(*_args):
        raise error

    monkeypatch.setattr(jobs, "outcome_quality", quality_fails)
    with pytest.raises(type(error)):
        jobs.measure(opened, outcome, "png", token)
    assert token.is_set()
    assert not [t for t in threading.enumerate() if t.name.startswith("measure-size")]


def test_a_logo_whose_colours_fit_shows_them_all_and_exactly(qtbot, window, tmp_path):
    """256 RGBA colours, five nearly invisible: at K=256 the window's result is the image itself."""
    pixels = few_colour_logo()
    source = tmp_path / "logo.png"
    Image.fromarray(pixels, "RGBA").save(source)
    open_and_wait(qtbot, window, source)
    tab = window.image_tab
    assert tab.stats.value("distinct") == "256"
    with qtbot.waitSignal(tab.quantized, timeout=WAIT) as blocker:
        tab.controls.k_spin.setValue(256)
    outcome = blocker.args[0]
    assert np.array_equal(outcome.palette[outcome.labels], pixels)


def test_a_long_export_offers_stop_and_a_stopped_one_writes_nothing(qtbot, window, logo_path, tmp_path, monkeypatch):
    from kmeans import encode_apart

    def endless(*_args, cancel, **_kwargs):  # (an encoder that takes until it is stopped, as a huge WebP's does)
        for _ in range(1000):
            if cancel.is_set():
                raise Cancelled("encoding cancelled")
            threading.Event().wait(0.01)
        raise AssertionError("never stopped")

    monkeypatch.setattr(encode_apart, "encoded", endless)
    tab = window.image_tab
    open_and_wait(qtbot, window, logo_path)
    target = tmp_path / "big.webp"
    window.export_to(str(target), "webp", False, False)
    qtbot.waitUntil(lambda: tab.message_bar.action_text == "Stop", timeout=WAIT)
    assert tab.message_bar.text == "Saving big.webp…"
    with qtbot.waitSignal(tab.export_failed, timeout=WAIT) as failed:
        tab.message_bar.trigger_action()
    assert "stopped" in failed.args[0] and "big.webp" in failed.args[0]
    assert not target.exists() and list(tmp_path.glob("*.webp")) == []  # (nor a half-written temporary)
    assert window.statusBar().currentMessage().startswith("Not saved: ")


def test_a_quick_export_is_not_offered_stop(qtbot, window, logo_path, tmp_path):
    tab = window.image_tab
    open_and_wait(qtbot, window, logo_path)
    with qtbot.waitSignal(tab.exported, timeout=WAIT):
        window.export_to(str(tmp_path / "small.png"), "png", False, False)
    qtbot.wait(600)  # (past the moment a Stop would be offered)
    assert tab.message_bar.action_text != "Stop"
