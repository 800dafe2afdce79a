"""One pipeline, three front ends: the window's export, ``kmeans-compress`` and ``compress_file``
write the same bytes for the same options (each format, dithering, locked colours, a palette file
with and without free colours, a quality target, and one palette shared by many files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import WAIT, gradient_image, open_and_wait, run_cli
from PIL import Image
from test_transparency import logo

from kmeans.batch import compress_file
from kmeans.palettefile import save_palette

PALETTE = [(200, 30, 30), (30, 30, 200), (250, 250, 250), (20, 20, 20)]

#: name -> (command-line arguments, compress_file keywords, what the window is set to)
CASES = {
    "png": (["-k", "12"], {"k": 12}, {"k": 12, "fmt": "png"}),
    "gif": (["-k", "12", "--format", "gif"], {"k": 12, "format": "gif"}, {"k": 12, "fmt": "gif"}),
    "webp": (["-k", "12", "--format", "webp"], {"k": 12, "format": "webp"}, {"k": 12, "fmt": "webp"}),
    "bmp": (["-k", "12", "--format", "bmp"], {"k": 12, "format": "bmp"}, {"k": 12, "fmt": "bmp"}),
    "png dithered": (["-k", "8", "--dither"], {"k": 8, "dither": True}, {"k": 8, "fmt": "png", "dither": True}),
    "gif dithered": (["-k", "8", "--dither", "--format", "gif"], {"k": 8, "dither": True, "format": "gif"},
                     {"k": 8, "fmt": "gif", "dither": True}),
    "png dithered 40 %": (["-k", "8", "--dither=40"], {"k": 8, "dither": 40}, {"k": 8, "fmt": "png", "dither": 40}),
    "fixed": (["-k", "10", "--fixed", "#ff0000,#ffffff"], {"k": 10, "fixed": "#ff0000,#ffffff"},
              {"k": 10, "fmt": "png", "lock": [(255, 0, 0), (255, 255, 255)]}),
    "palette and extra": (["--palette-in", "{palette}", "--extra", "5"], {"palette_in": "{palette}", "extra": 5},
                          {"fmt": "png", "palette": 5}),
    "palette alone": (["--palette-in", "{palette}", "--format", "gif"], {"palette_in": "{palette}", "format": "gif"},
                      {"fmt": "gif", "palette": 0}),
    "quality target": (["--max-delta-e", "5"], {"max_delta_e": 5}, {"fmt": "png", "auto": "small file"}),
}


@pytest.fixture(params=["opaque", "transparent"])
def image_path(request, tmp_path) -> Path:
    path = tmp_path / f"{request.param}.png"
    pixels = gradient_image(48, 64, seed=5) if request.param == "opaque" else logo(48)
    Image.fromarray(pixels).save(path)
    return path


def _fill(value, palette: Path):
    return str(palette) if value == "{palette}" else value


@pytest.mark.parametrize("case", list(CASES))
def test_the_window_the_command_line_and_compress_file_write_the_same_bytes(qtbot, window, image_path, tmp_path,
                                                                             case):
    argv, keywords, shown = CASES[case]
    palette = tmp_path / "colours.gpl"
    save_palette(palette, np.array(PALETTE, np.uint8))
    fmt = shown["fmt"]
    cli_out = tmp_path / f"cli.{fmt}"
    code, _out, err = run_cli(str(image_path), *(_fill(a, palette) for a in argv), "-o", str(cli_out))
    assert code == 0, err
    api = compress_file(image_path, **{k: _fill(v, palette) for k, v in keywords.items()},
                        output=str(tmp_path / f"api.{fmt}"))
    assert api.ok, api.message

    tab = window.image_tab
    open_and_wait(qtbot, window, image_path)
    tab.stats.set_format(fmt)
    level = shown.get("dither", 0)
    tab.controls.dither_box.setChecked(bool(level))
    if level is not True and level:
        tab.controls.dither_spin.setValue(level)
    if "k" in shown:
        tab.controls.k_spin.setValue(shown["k"])
    for colour in shown.get("lock", []):
        tab.locking.toggle(colour)
    if "palette" in shown:
        assert window.use_palette(str(palette), extra=shown["palette"])
    if "auto" in shown:
        tab.controls.target_box.setCurrentIndex(tab.controls.target_box.findData(shown["auto"]))
        tab.controls.auto_box.setChecked(True)
    with qtbot.waitSignal(tab.quantized, timeout=WAIT):
        tab.requantize()
    window_out = tmp_path / f"window.{fmt}"
    with qtbot.waitSignal(tab.exported, timeout=WAIT):
        window.export_to(str(window_out), fmt, level)

    assert window_out.read_bytes() == cli_out.read_bytes() == (tmp_path / f"api.{fmt}").read_bytes()


def test_the_batch_window_and_the_command_line_share_one_palette_alike(qtbot, window, tmp_path):
    inputs = []
    for name, pixels in (("a.png", gradient_image(40, 50, seed=1)), ("b.png", logo(40)),
                         ("c.png", gradient_image(30, 30, seed=2))):
        Image.fromarray(pixels).save(tmp_path / name)
        inputs.append(tmp_path / name)
    code, _out, err = run_cli(*map(str, inputs), "-k", "10", "--shared-palette", "--out-dir", str(tmp_path / "cli"))
    assert code == 0, err
    window.image_tab.controls.k_spin.setValue(10)
    view = window.compress_many(inputs, tmp_path / "window", start=False)
    view.shared_box.setChecked(True)
    with qtbot.waitSignal(view.finished_batch, timeout=WAIT):
        assert view.start(overwrite=True)
    view.close()
    made = sorted(p.name for p in (tmp_path / "cli").iterdir())
    assert made == ["a-k10.png", "b-k10.png", "c-k10.png"]
    for name in made:
        assert (tmp_path / "window" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes()
