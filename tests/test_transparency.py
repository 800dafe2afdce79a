"""Transparency per format: k-means sees what the format can show, nearly invisible pixels join the
transparent entry, and the reported PSNR and ΔE are those of the decoded file."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import run_cli
from PIL import Image

from kmeans import quantize
from kmeans.colortable import ColorTable
from kmeans.metrics import over, quality
from kmeans.transparency import INVISIBLE_ALPHA, file_quality, reference, shown


def logo(size: int = 64) -> np.ndarray:
    """A dark ring with anti-aliased edges on a transparent ground, and a faint halo around it."""
    y, x = np.mgrid[:size, :size] + 0.5
    r = np.hypot(x - size / 2, y - size / 2)
    coverage = np.clip(1 - np.abs(r - size / 4) / 4, 0, 1)
    pixels = np.zeros((size, size, 4), np.uint8)
    pixels[..., 0] = 30
    pixels[..., 1] = np.linspace(40, 120, size, dtype=np.uint8)[None, :]
    pixels[..., 2] = 160
    pixels[..., 3] = np.round(coverage * 255).astype(np.uint8)
    halo = (coverage == 0) & (r < size / 2.2)
    pixels[halo, 3] = 2  # nearly invisible: must not take a palette entry
    return pixels


def decoded(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGBA"))


def reported(out: str) -> tuple[float, float]:
    match = re.search(r"PSNR ([\d.]+) dB  ΔE ([\d.]+)", out)
    assert match, out
    return float(match[1]), float(match[2])


def test_shown_blends_partial_alpha_for_gif_and_everything_for_bmp():
    pixels = np.array([[[10, 20, 30, 0], [200, 0, 0, 2], [0, 0, 0, 128], [5, 6, 7, 255]]], np.uint8)
    gif = shown(pixels, "binary")
    assert gif[0, 0, 3] == 0 and tuple(gif[0, 1]) == (0, 0, 0, 0)  # invisible: transparent
    assert tuple(gif[0, 2]) == (127, 127, 127, 255)  # half black over white, now opaque
    assert tuple(gif[0, 3]) == (5, 6, 7, 255)
    bmp = shown(pixels, "none", (0, 0, 0))
    assert bmp.shape == (1, 4, 3) and tuple(bmp[0, 2]) == (0, 0, 0)
    png = shown(pixels, "partial")
    assert tuple(png[0, 1]) == (0, 0, 0, 0) and tuple(png[0, 2]) == (0, 0, 0, 128)
    opaque = pixels[..., :3].copy()
    assert shown(opaque, "binary") is opaque


@pytest.mark.parametrize(("fmt", "suffix"), [("gif", ".gif"), ("bmp", ".bmp"), ("png", ".png"), ("webp", ".webp")])
def test_the_numbers_reported_are_those_of_the_decoded_file(tmp_path, fmt, suffix):
    source = tmp_path / "logo.png"
    Image.fromarray(logo(), "RGBA").save(source)
    target = tmp_path / f"out{suffix}"
    code, out, _ = run_cli(str(source), "-k", "8", "-o", str(target))
    assert code == 0, out
    psnr, delta_e = reported(out)
    original = logo()
    support = {"gif": "binary", "bmp": "none", "png": "partial", "webp": "partial"}[fmt]
    file_pixels = decoded(target)
    # over the matte (white) where the format cannot keep partial alpha; as RGBA where it can
    seen_on_white = support != "partial"
    measured = quality(over(original), over(file_pixels)) if seen_on_white else quality(original, file_pixels)
    assert psnr == pytest.approx(measured.psnr, abs=0.006)
    assert delta_e == pytest.approx(measured.delta_e, abs=0.006)


def test_a_gif_of_an_anti_aliased_logo_stays_smooth_over_white(tmp_path):
    source = tmp_path / "logo.png"
    Image.fromarray(logo(), "RGBA").save(source)
    code, out, _ = run_cli(str(source), "-k", "16", "--format", "gif", "--out-dir", str(tmp_path / "out"))
    assert code == 0 and "blended onto #ffffff" in out
    file_pixels = decoded(tmp_path / "out" / "logo-k16.gif")
    over_white = quality(over(logo()), over(file_pixels)).psnr
    assert over_white > 35  # written opaque, the edges measured ~22 dB
    palette_alpha = set(np.unique(file_pixels[..., 3]).tolist())
    assert palette_alpha <= {0, 255}


def test_the_matte_colour_is_what_the_edges_are_blended_onto(tmp_path, capsys):
    source = tmp_path / "logo.png"
    Image.fromarray(logo(), "RGBA").save(source)
    code, out, _ = run_cli(str(source), "-k", "16", "-o", str(tmp_path / "black.gif"), "--matte", "black")
    assert code == 0 and "#000000" in out
    file_pixels = decoded(tmp_path / "black.gif")
    assert quality(over(logo(), (0, 0, 0)), over(file_pixels, (0, 0, 0))).psnr > 35
    code, _, _ = run_cli(str(source), "--matte", "not-a-colour")
    assert code == 2 and "--matte not-a-colour: not a colour" in capsys.readouterr().err


def test_nearly_invisible_pixels_join_the_transparent_entry():
    pixels = shown(logo(), "partial")
    result = quantize(pixels, 8)
    alpha = result.palette[:, 3]
    assert alpha[0] == 0 and not ((alpha > 0) & (alpha <= INVISIBLE_ALPHA)).any()
    assert result.counts[0] == np.count_nonzero(logo()[..., 3] <= INVISIBLE_ALPHA)


@pytest.mark.parametrize("support", ["partial", "binary", "none"])
def test_quality_on_colours_equals_quality_on_pixels(rng, support):
    original = logo()
    original[::3, ::5, 3] = 255  # some opaque pixels too
    pixels = shown(original, support)
    table = ColorTable.from_pixels(pixels)
    result = quantize(table, 12)
    on_colours = file_quality(original, table, result.palette, result.color_labels, support)
    palette = result.palette if support == "partial" else over(result.palette) if result.palette.shape[1] == 4 \
        else result.palette
    on_pixels = quality(reference(original, support), palette[result.labels])
    assert on_colours.psnr == pytest.approx(on_pixels.psnr, abs=1e-9)
    assert on_colours.delta_e == pytest.approx(on_pixels.delta_e, abs=1e-9)


def test_dpi_is_kept_in_png_and_bmp(tmp_path, photo):
    source = tmp_path / "scan.png"
    Image.fromarray(photo).save(source, dpi=(300, 300))
    for suffix in (".png", ".bmp"):
        target = tmp_path / f"out{suffix}"
        assert run_cli(str(source), "-k", "4", "-o", str(target))[0] == 0
        with Image.open(target) as image:
            assert [round(d) for d in image.info["dpi"]] == [300, 300]


def test_skip_if_larger_writes_nothing_and_says_so(tmp_path):
    source = tmp_path / "tiny.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(source, optimize=True)
    code, out, _ = run_cli(str(source), "-k", "2", "--format", "bmp", "--skip-if-larger")
    assert code == 0
    assert "not written" in out and "not smaller than the input's" in out
    assert not (tmp_path / "tiny-k2.bmp").exists()


def few_colour_logo(n: int = 256) -> np.ndarray:
    """``n`` distinct RGBA colours on 32 × 32 pixels, a few of them nearly invisible (alpha 1..3)."""
    rng = np.random.default_rng(7)
    colours = np.unique(rng.integers(0, 256, (n * 2, 4), dtype=np.uint8), axis=0)[:n]
    colours[:, 3] = np.maximum(colours[:, 3], 4)
    colours[:5, 3] = [1, 2, 3, 2, 1]
    assert len(np.unique(colours, axis=0)) == n
    return colours[np.arange(32 * 32) % n].reshape(32, 32, 4)


@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_an_image_whose_colours_fit_the_palette_comes_back_exactly_its_nearly_invisible_pixels_too(tmp_path, fmt):
    source = tmp_path / "logo.png"
    pixels = few_colour_logo()
    Image.fromarray(pixels, "RGBA").save(source)
    target = tmp_path / f"out.{fmt}"
    code, out, err = run_cli(str(source), "-k", "256", "-o", str(target))
    assert code == 0, err
    assert np.array_equal(decoded(target), pixels)
    assert "PSNR inf" in out or "PSNR ∞" in out, out
    assert "distinct colour" not in out  # it has exactly K: nothing to say


def test_a_short_palette_says_why_when_the_nearly_invisible_pixels_were_merged(tmp_path):
    source = tmp_path / "logo.png"
    Image.fromarray(few_colour_logo(), "RGBA").save(source)
    code, out, err = run_cli(str(source), "-k", "254", "-o", str(tmp_path / "out.png"))
    # 256 colours do not fit in 254; with the five nearly invisible ones made transparent, 251 and
    # the transparent entry do.  The note must not claim the image has only 251 colours.
    assert code == 0, err
    assert "only 251 distinct" not in out
    assert "nearly invisible pixels (alpha 3 or less) made fully transparent, the image has 251 colours left" in out
