"""Dithering: the error diffused where bands would show, never where it only adds noise, never
through transparency, and at the level asked for (the command line's ``--dither=LEVEL``)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import gradient_image, run_cli
from PIL import Image

from kmeans.dither import TILE, dither
from kmeans.options import Options, UsageError
from kmeans.quantization import quantize


def ramp(height: int = 40, width: int = 160) -> np.ndarray:
    """A smooth grey-blue ramp, left to right: what bands at low K and dithering smooths."""
    t = np.linspace(0, 1, width)[None, :].repeat(height, 0)
    rgb = np.stack([40 + 180 * t, 60 + 150 * t, 120 + 100 * t], axis=-1)
    return np.rint(rgb).astype(np.uint8)


def blurred_error(pixels: np.ndarray, palette: np.ndarray, labels: np.ndarray, size: int = 8) -> float:
    """Mean error between the image and its rendering, both averaged over size × size blocks (what
    the eye sees from a little way off)."""
    shown = palette[labels][..., :3].astype(float)
    h, w = (pixels.shape[0] // size) * size, (pixels.shape[1] // size) * size

    def blocks(a: np.ndarray) -> np.ndarray:
        return a[:h, :w].reshape(h // size, size, w // size, size, 3).mean(axis=(1, 3))

    return float(np.abs(blocks(shown) - blocks(pixels[..., :3].astype(float))).mean())


def test_dithering_a_ramp_makes_it_closer_to_the_original_seen_from_a_little_way_off():
    pixels = ramp()
    result = quantize(pixels, 4, seed=0)
    dithered = dither(pixels, result)
    assert dithered.shape == result.labels.shape and dithered.dtype == np.uint8
    assert not np.array_equal(dithered, result.labels)
    assert blurred_error(pixels, result.palette, dithered) < 0.6 * blurred_error(pixels, result.palette, result.labels)


def test_level_zero_is_the_undithered_labels_and_a_lower_level_changes_fewer_pixels():
    pixels = ramp()
    result = quantize(pixels, 4, seed=0)
    assert np.array_equal(dither(pixels, result, 0.0), result.labels)
    changed = [int(np.count_nonzero(dither(pixels, result, level) != result.labels)) for level in (0.25, 1.0)]
    assert 0 < changed[0] < changed[1]


@pytest.mark.parametrize("level", [-0.1, 1.5, float("nan")])
def test_a_level_outside_zero_to_one_is_refused(level):
    pixels = ramp(8, 8)
    with pytest.raises(ValueError, match="between 0 and 1"):
        dither(pixels, quantize(pixels, 2, seed=0), level)


def test_an_image_the_palette_matches_exactly_is_left_alone():
    colours = np.array([[10, 20, 30], [200, 40, 40], [250, 250, 250]], np.uint8)
    pixels = colours[np.arange(30 * 50).reshape(30, 50) // 7 % 3]
    result = quantize(pixels, 3, seed=0)
    assert np.array_equal(dither(pixels, result), result.labels)


def test_a_pixel_only_moves_to_an_entry_near_its_colour():
    # a dark-to-light grey ramp and a palette with greys and a saturated red the ramp is far from
    pixels = np.repeat(np.linspace(0, 255, 200)[None, :, None], 30, 0).repeat(3, 2).astype(np.uint8)
    pixels[-8:] = (255, 0, 0)  # a red stripe below, so that the palette has a red
    result = quantize(pixels, 5, seed=0)
    red = int(np.argmax(result.palette[:, 0].astype(int) - result.palette[:, 1]))
    assert tuple(result.palette[red][:3]) == (255, 0, 0)
    dithered = dither(pixels, result)
    assert not np.any(dithered[:-8] == red)
    assert not np.array_equal(dithered[:-8], result.labels[:-8])


def test_transparent_pixels_keep_their_labels_and_pass_no_error_to_the_opaque_ones():
    rng = np.random.default_rng(3)
    pixels = np.zeros((48, 96, 4), np.uint8)
    pixels[..., :3] = np.concatenate([ramp(48, 96)[:, :48], ramp(48, 96)[:, 48:]], axis=1)
    pixels[..., 3] = 255
    pixels[:, :30, 3] = 0  # transparent: what lies under it must not matter
    pixels[10:20, 30:40, 3] = 128  # partly transparent pixels keep their entry too
    other = pixels.copy()
    other[:, :30, :3] = rng.integers(0, 256, (48, 30, 3), dtype=np.uint8)
    result = quantize(pixels, 6, seed=0)
    dithered = dither(pixels, result)
    not_opaque = pixels[..., 3] < 255
    assert np.array_equal(dithered[not_opaque], result.labels[not_opaque])
    assert not np.array_equal(dithered, result.labels)  # the opaque ramp is dithered
    assert np.all(result.palette[dithered[~not_opaque], 3] == 255)  # over opaque entries only
    again = dither(other, result)  # the same labels, so the same palette: only hidden colours differ
    assert np.array_equal(again[~not_opaque], dithered[~not_opaque])


def test_an_image_larger_than_a_tile_is_dithered_everywhere_and_the_same_every_time():
    pixels = gradient_image(TILE[0] * 2 + 13, TILE[1] * 2 + 7, seed=2)
    result = quantize(pixels, 8, seed=0)
    first = dither(pixels, result)
    assert np.array_equal(first, dither(pixels, result))
    changed = first != result.labels
    for rows in np.array_split(np.arange(pixels.shape[0]), 3):  # every band of tiles takes part
        assert changed[rows].any()
    assert blurred_error(pixels, result.palette, first) < blurred_error(pixels, result.palette, result.labels)


@pytest.mark.parametrize("given, level", [(True, 100), (False, 0), ("75", 75), ("75%", 75), (" 40 % ", 40),
                                          (0, 0), ("12.6", 13)])
def test_options_take_a_dithering_level_in_percent(given, level):
    assert Options.from_names(dither=given).dither == level


@pytest.mark.parametrize("given", ["abc", "150", "-5", "nan"])
def test_a_dithering_level_that_is_not_a_percentage_is_refused_in_plain_words(given):
    with pytest.raises(UsageError, match="percentage from 0 to 100"):
        Options.from_names(dither=given)


def test_true_and_false_still_mean_full_and_no_dithering():
    assert Options(dither=True).dither == 100 and Options(dither=False).dither == 0
    with pytest.raises(UsageError):
        Options(dither=101)


def test_the_command_line_takes_a_bare_dither_before_an_input_and_a_level_after_an_equals_sign(tmp_path):
    source = tmp_path / "ramp.png"
    Image.fromarray(ramp()).save(source)
    outputs = {}
    for name, flag in (("full", "--dither"), ("half", "--dither=50"), ("none", "--dither=0")):
        out = tmp_path / f"{name}.png"
        code, _out, err = run_cli(flag, str(source), "-k", "4", "-o", str(out))  # the flag before the input
        assert code == 0, err
        outputs[name] = np.asarray(Image.open(out))
    code, _out, err = run_cli(str(source), "-k", "4", "-o", str(tmp_path / "plain.png"))
    assert code == 0, err
    assert np.array_equal(outputs["none"], np.asarray(Image.open(tmp_path / "plain.png")))
    assert not np.array_equal(outputs["half"], outputs["full"])
    assert not np.array_equal(outputs["half"], outputs["none"])


def test_the_command_line_says_what_a_dithering_level_is(tmp_path, capsys):
    source = tmp_path / "ramp.png"
    Image.fromarray(ramp()).save(source)
    code, _out, _err = run_cli(str(source), "--dither=lots")
    assert code == 2
    err = capsys.readouterr().err  # argparse's usage errors go to the real stderr
    assert "--dither=lots: the dithering level is a percentage from 0 to 100" in err
    assert "Traceback" not in err
