"""Metrics and colour spaces, against published values and hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kmeans.colorspace import (
    cielab_to_din99o,
    from_working,
    linear_to_oklab,
    oklab_to_linear,
    to_working,
    u8_to_cielab,
)
from kmeans.metrics import bits_per_pixel, ciede2000, compression_ratio, mean_delta_e, mse, psnr, quality

# Sharma, Wu and Dalal (2005), "The CIEDE2000 color-difference formula", Table 1 (a selection).
SHARMA = [
    ((50.0000, 2.6772, -79.7751), (50.0000, 0.0000, -82.7485), 2.0425),
    ((50.0000, 0.0000, 0.0000), (50.0000, -1.0000, 2.0000), 2.3669),
    ((50.0000, 2.5000, 0.0000), (73.0000, 25.0000, -18.0000), 27.1492),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0009, -2.4900), 4.8045),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0009), 7.1792),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((90.8027, -2.0831, 1.4410), (91.1528, -1.6435, 0.0447), 1.4441),
]


def test_ciede2000_matches_sharma():
    lab1 = np.array([p[0] for p in SHARMA])
    lab2 = np.array([p[1] for p in SHARMA])
    assert np.round(ciede2000(lab1, lab2), 4).tolist() == [p[2] for p in SHARMA]
    assert np.round(ciede2000(lab2, lab1), 4).tolist() == [p[2] for p in SHARMA]  # symmetric


def test_cielab_of_white_and_black():
    lab = u8_to_cielab(np.array([[255, 255, 255], [0, 0, 0]], np.uint8))
    assert np.allclose(lab, [[100, 0, 0], [0, 0, 0]], atol=0.01)


def test_oklab_reference_values():
    # Ottosson's table: linear sRGB white is L=1, a=b=0; pure red is (0.6279554, 0.2248631, 0.1258463).
    assert np.allclose(linear_to_oklab(np.array([1.0, 1.0, 1.0])), [1, 0, 0], atol=1e-4)
    assert np.allclose(linear_to_oklab(np.array([1.0, 0.0, 0.0])), [0.6279554, 0.2248631, 0.1258463], atol=1e-5)
    rgb = np.random.default_rng(0).random((100, 3))
    assert np.allclose(oklab_to_linear(linear_to_oklab(rgb)), rgb, atol=1e-9)


@pytest.mark.parametrize("space", ["balanced", "rgb", "oklab"])
@pytest.mark.parametrize("channels", [3, 4])
def test_working_space_round_trip_is_exact_on_8_bit_colours(space, channels):
    colours = np.random.default_rng(1).integers(0, 256, (2000, channels), dtype=np.uint8)
    if channels == 4:
        colours[:, 3] = np.maximum(colours[:, 3], 200)  # premultiplied colour needs alpha to survive
    assert np.array_equal(from_working(to_working(colours, space), space), colours)


def test_din99o_tracks_ciede2000_far_better_than_srgb_distance():
    assert np.allclose(cielab_to_din99o(np.array([[100.0, 0, 0], [0, 0, 0], [50, 0, 0]]))[:, 1:], 0)
    assert cielab_to_din99o(np.array([100.0, 0, 0]))[0] == pytest.approx(100, abs=1e-3)
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (5000, 3)).astype(np.uint8)
    b = np.clip(a + rng.integers(-12, 13, (5000, 3)), 0, 255).astype(np.uint8)
    delta_e = ciede2000(u8_to_cielab(a), u8_to_cielab(b))
    din = np.linalg.norm(cielab_to_din99o(u8_to_cielab(a)) - cielab_to_din99o(u8_to_cielab(b)), axis=1)
    srgb = np.linalg.norm(a.astype(float) - b, axis=1)
    assert np.corrcoef(din, delta_e)[0, 1] > 0.95 > 0.6 > np.corrcoef(srgb, delta_e)[0, 1]


def test_balanced_places_a_partly_transparent_colour_where_it_shows_over_mid_grey():
    half_white = np.array([[255, 255, 255, 128]], np.uint8)
    shown = round(255 * (128 / 255) + 127.5 * (1 - 128 / 255))  # over 50% grey
    coords = to_working(half_white, "balanced")
    opaque = to_working(np.array([[shown] * 3], np.uint8), "balanced")
    assert coords.shape == (1, 7) and coords[0, 6] == pytest.approx(128 / 255)
    assert np.allclose(coords[0, :3], 0.5 + 0.5 * 128 / 255, atol=1e-6)
    assert np.allclose(coords[0, 3:6], opaque[0, 3:6], atol=1e-6)


def test_mse_and_psnr_by_hand():
    a = np.zeros((2, 2, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 10
    assert mse(a, b) == pytest.approx(100 / 12)
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 / (100 / 12)))
    assert psnr(a, a) == math.inf


def test_hidden_colour_of_transparent_pixels_does_not_count():
    a = np.zeros((1, 2, 4), np.uint8)
    b = a.copy()
    b[0, 0, :3] = 200  # colour under alpha 0
    assert mse(a, b) == 0
    assert mean_delta_e(a, b) == 0


def test_mean_delta_e_weighs_pixels():
    a = np.zeros((1, 4, 3), np.uint8)
    b = a.copy()
    b[0, 0] = (255, 255, 255)
    assert mean_delta_e(a, b) == pytest.approx(100 / 4, rel=1e-3)
    q = quality(a, b)
    assert q.delta_e == pytest.approx(25, rel=1e-3) and q.mse == pytest.approx(255**2 / 4)


def test_sizes():
    assert bits_per_pixel(1000, 8000) == 1.0
    assert compression_ratio(1000, 250) == 4.0
    assert compression_ratio(100, 200) == 0.5


@pytest.mark.parametrize("kind", ["rgb", "rgba with holes", "partial alpha"])
def test_quality_on_distinct_colours_equals_quality_on_pixels(kind):
    from conftest import gradient_image

    from kmeans import quantize
    from kmeans.colortable import ColorTable
    from kmeans.transparency import file_quality

    pixels = gradient_image(40, 50, seed=4)
    if kind != "rgb":
        alpha = np.full((*pixels.shape[:2], 1), 255, np.uint8)
        alpha[:10] = 0
        if kind == "partial alpha":
            alpha[10:20] = 128
        pixels = np.concatenate([pixels, alpha], axis=2)
    table = ColorTable.from_pixels(pixels)
    result = quantize(table, 12)
    fast = file_quality(pixels, table, result.palette, result.color_labels, "partial")
    slow = quality(pixels, result.to_array())
    assert fast.mse == pytest.approx(slow.mse, rel=1e-12)
    assert fast.delta_e == pytest.approx(slow.delta_e, rel=1e-9)


def test_a_long_delta_e_stops_between_blocks_once_cancelled(rng, set_after):
    from kmeans.errors import Cancelled
    from kmeans.metrics import DE_ROWS

    lab = rng.uniform(0, 60, (3 * DE_ROWS, 3))
    token = set_after(1)
    with pytest.raises(Cancelled):
        ciede2000(lab, lab[::-1], cancel=token)
    assert token.looks == 2  # the second block never started
    np.testing.assert_array_equal(ciede2000(lab, lab[::-1], cancel=set_after(10)), ciede2000(lab, lab[::-1]))


@pytest.mark.parametrize("dithered", [False, True])
def test_the_quality_of_a_file_stops_once_cancelled(rng, dithered, set_after):
    """Both ways of measuring (on distinct colours, and on pixels when dithered) hear the token."""
    from kmeans import quantize
    from kmeans.colortable import ColorTable
    from kmeans.errors import Cancelled
    from kmeans.transparency import file_quality

    pixels = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    table = ColorTable.from_pixels(pixels)
    result = quantize(table, 8, seed=0)
    labels = result.labels[::-1].copy() if dithered else None  # (any labels other than the colours')
    measure = lambda cancel: file_quality(pixels, table, result.palette, result.color_labels,  # noqa: E731
                                          "partial", labels=labels, cancel=cancel)
    with pytest.raises(Cancelled):
        measure(set_after(0))
    assert measure(set_after(10)) == measure(None)
