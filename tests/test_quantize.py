"""quantize: distinct colours with counts, exact k-means, palettes, alpha."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pytest
from conftest import gradient_image

from kmeans import Cancelled, ColorTable, find_closest_centroids, fit, quantization, quantize
from kmeans.colorspace import from_working, to_working
from kmeans.mapping import in_order, nearest_entries
from kmeans.metrics import quality
from kmeans.quantization import Effort


def test_color_table_counts_every_pixel(photo):
    table = ColorTable.from_pixels(photo)
    assert table.counts.sum() == photo.shape[0] * photo.shape[1]
    assert len(table.colors) == len(np.unique(photo.reshape(-1, 3), axis=0))
    # labels_for maps each distinct colour's label back onto its pixels.
    colour_labels = np.arange(len(table.colors)) % 256
    labels = table.labels_for(colour_labels)
    assert labels.shape == photo.shape[:2]
    index = {tuple(c): i for i, c in enumerate(table.colors)}
    expected = np.array([colour_labels[index[tuple(p)]] for p in photo.reshape(-1, 3)]).reshape(photo.shape[:2])
    assert np.array_equal(labels, expected)


def test_partly_transparent_table_and_its_bins_match_a_plain_count(photo):
    rgba = np.dstack([photo, np.random.default_rng(4).integers(0, 256, photo.shape[:2]).astype(np.uint8)])
    table = ColorTable.from_pixels(rgba)
    flat = rgba.reshape(-1, 4)
    visible = flat[flat[:, 3] > 0]
    colours, counts = np.unique(visible, axis=0, return_counts=True)
    table_order = np.lexsort(table.colors.T[::-1])  # (the same colours, in np.unique's order)
    assert np.array_equal(table.colors[table_order], colours) and np.array_equal(table.counts[table_order], counts)
    labels = table.labels_for(np.arange(len(table.colors)) % 256, transparent_label=7)
    rows = {tuple(c): i for i, c in enumerate(table.colors)}
    expected = [7 if p[3] == 0 else rows[tuple(p)] % 256 for p in flat]
    assert np.array_equal(labels.ravel(), expected)
    for bits in range(1, 9):  # counted without numbering, and numbered
        plain = len(np.unique(visible[:, :4] >> (8 - bits), axis=0))
        assert table.n_bins(bits) == plain
        assert table.bins(bits)[0] == plain


@pytest.mark.parametrize("space", ["balanced", "rgb", "oklab"])
def test_quantize_equals_kmeans_over_all_pixels(photo, space):
    """Weighted k-means on the distinct colours is k-means on every pixel: same result."""
    k = 8
    X_all = to_working(photo.reshape(-1, 3), space)
    rng = np.random.default_rng(3)
    start = X_all[rng.choice(len(X_all), k, replace=False)]

    result = quantize(photo, k, color_space=space, init=start, effort=Effort(tol=0, stop_gain=0, accelerate=False))
    reference = fit(X_all, k, init=start, tol=0)

    assert np.allclose(result.centroids, reference.centroids, atol=1e-5)
    assert result.inertia == pytest.approx(reference.inertia, rel=1e-4)
    assert result.n_iter == reference.n_iter
    # Labels: every pixel takes its nearest *rounded* palette colour, measured in the working space.
    expected = find_closest_centroids(X_all, to_working(result.palette, space)).reshape(photo.shape[:2])
    assert np.array_equal(result.labels, expected)
    rounded = np.unique(from_working(reference.centroids, space), axis=0)
    assert np.array_equal(np.unique(result.palette, axis=0), rounded)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_balanced_default_looks_closer_than_rgb_for_nearly_the_same_psnr(seed):
    """The default space's reason: lower mean CIEDE2000 than RGB's k-means, PSNR within 0.3 dB."""
    image = gradient_image(48, 64, seed)
    for k in (8, 16, 32):
        rgb = quality(image, quantize(image, k, color_space="rgb").to_array())
        balanced = quality(image, quantize(image, k).to_array())
        assert balanced.delta_e < rgb.delta_e
        assert balanced.psnr > rgb.psnr - 0.3


def test_palette_is_rounded_centroids_and_labels_index_it(photo):
    result = quantize(photo, 16, color_space="rgb")
    assert result.palette.dtype == np.uint8 and result.palette.shape == (16, 3)
    assert result.labels.dtype == np.uint8 and result.labels.shape == photo.shape[:2]
    assert set(np.unique(result.labels)) == set(range(16))
    assert result.counts.sum() == photo.shape[0] * photo.shape[1]
    assert (np.diff(result.counts) <= 0).all()  # sorted by share of pixels
    assert np.array_equal(result.to_array(), result.palette[result.labels])


def test_k_above_distinct_colours_gives_fewer_entries_and_says_so():
    image = np.zeros((20, 30, 3), np.uint8)
    image[:, 10:20] = (255, 0, 0)
    image[:, 20:] = (0, 0, 255)
    result = quantize(image, 256)
    assert len(result.palette) == 3
    assert np.array_equal(result.to_array(), image)
    assert result.notice is not None and "3 distinct colours" in result.notice


def test_single_colour_and_one_pixel_images():
    assert len(quantize(np.full((5, 5, 3), 77, np.uint8), 16).palette) == 1
    one = quantize(np.array([[[1, 2, 3]]], np.uint8), 2)
    assert one.palette.tolist() == [[1, 2, 3]] and one.labels.tolist() == [[0]]


def test_same_seed_same_palette(photo):
    a, b = quantize(photo, 12, seed=4), quantize(photo, 12, seed=4)
    assert np.array_equal(a.palette, b.palette) and np.array_equal(a.labels, b.labels)


def test_rgba_keeps_transparency():
    image = np.zeros((32, 32, 4), np.uint8)
    image[..., :3] = gradient_image(32, 32)
    image[..., 3] = 255
    image[:8] = (0, 0, 0, 0)  # fully transparent band
    image[8:16, :, 3] = 128  # half transparent band
    result = quantize(image, 16)
    out = result.to_array()
    assert result.palette.shape[1] == 4
    assert result.palette[0].tolist() == [0, 0, 0, 0]  # transparent entry first
    assert (out[:8, :, 3] == 0).all()
    assert np.abs(out[8:16, :, 3].astype(int) - 128).max() <= 2
    assert (out[16:, :, 3] == 255).all()
    assert len(result.palette) <= 16  # K counts the transparent entry


def test_opaque_rgba_is_treated_as_rgb(photo):
    rgba = np.concatenate([photo, np.full((*photo.shape[:2], 1), 255, np.uint8)], axis=2)
    assert quantize(rgba, 8).palette.shape[1] == 3


def test_binary_alpha_uses_rgb_keys_and_keeps_the_hole(photo):
    rgba = np.concatenate([photo, np.full((*photo.shape[:2], 1), 255, np.uint8)], axis=2)
    rgba[5:10, 5:10] = (10, 200, 30, 0)
    result = quantize(rgba, 8)
    assert (result.to_array()[5:10, 5:10, 3] == 0).all()
    assert (result.to_array()[20:, 20:, 3] == 255).all()


@pytest.mark.parametrize("alpha", ["opaque", "binary", "partial"])
def test_labels_are_made_when_read_and_a_strided_copy_matches_them(photo, alpha):
    pixels = photo
    if alpha != "opaque":
        values = (0, 255) if alpha == "binary" else (0, 90, 255)
        holes = np.random.default_rng(5).choice(values, photo.shape[:2]).astype(np.uint8)
        pixels = np.dstack([photo, holes])
    result = quantize(pixels, 8)
    small = result.labels_every(3)  # (before the labels exist: from the table)
    assert "_labels" not in result.__dict__
    labels = result.labels
    assert labels is result.labels  # made once, then kept
    assert np.array_equal(small, labels[::3, ::3])
    if alpha != "opaque":  # the holes stay holes
        assert np.array_equal(result.palette[labels][..., 3] == 0, pixels[..., 3] == 0)
    assert np.array_equal(np.bincount(labels.ravel(), minlength=len(result.palette)), result.counts)


def test_an_image_with_no_visible_pixel_has_a_small_copy_too():
    clear = np.zeros((40, 50, 4), np.uint8)
    result = quantize(clear, 4)
    assert (result.labels_every(4) == 0).all() and result.labels_every(4).shape == (10, 13)
    assert (result.to_array()[..., 3] == 0).all()


def test_two_threads_reading_labels_at_once_get_the_same_ones():
    table = ColorTable.from_pixels(gradient_image(600, 800, seed=2))
    results = [quantize(table, k) for k in (4, 9)]  # one table, so one shared lookup table
    expected = [table.labels_for(r.color_labels) for r in results]
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(4):
            fresh = [replace(r) for r in results for _ in range(2)]  # (each makes its labels anew)
            seen = list(pool.map(lambda result: result.labels, fresh))
            assert all(np.array_equal(labels, expected[i // 2]) for i, labels in enumerate(seen))


def test_reordering_the_palette_moves_the_transparent_entry_with_it(photo):
    rgba = np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)])
    rgba[:6, :6, 3] = 0
    result = quantize(rgba, 6)
    first = result.palette[-1:, :3]
    moved = in_order(result, first)
    assert np.array_equal(moved.palette[0, :3], first[0]) and moved.palette[0, 3] == 255
    assert np.array_equal(moved.to_array(), result.to_array())


def test_progress_every_iteration_and_cancel(photo):
    seen = []
    quantize(photo, 8, callback=seen.append)
    assert seen and [p.iteration for p in seen] == list(range(1, len(seen) + 1))
    assert all(p.palette.shape == (8, 3) and p.palette.dtype == np.uint8 for p in seen)
    assert all(abs(p.shares.sum() - 1) < 1e-9 for p in seen)

    with pytest.raises(Cancelled):
        quantize(photo, 8, callback=lambda p: False)
    token = threading.Event()
    token.set()
    with pytest.raises(Cancelled):
        quantize(photo, 8, cancel=token)


def test_coarse_levels_are_used_on_many_colours_and_give_a_fixed_point():
    image = gradient_image(256, 256, seed=1)
    result = quantize(image, 8, color_space="rgb", effort=Effort(stop_gain=0))
    assert result.coarse_iter > 0
    table = ColorTable.from_pixels(image)
    X = to_working(table.colors, "rgb")
    labels = find_closest_centroids(X, result.centroids)
    means = np.stack([np.average(X[labels == j], axis=0, weights=table.counts[labels == j]) for j in range(8)])
    assert np.allclose(means, result.centroids, atol=2e-3)


def test_a_sparse_level_is_followed_by_a_finer_one():
    # Bin counts of dice.png: 37 bins per cluster at 5 bits and K=256 leave the centroids far from
    # where the full set settles them, so the 6-bit level follows though it is under 3x larger.
    class Table:
        colors = np.zeros((79761, 4))

        def n_bins(self, bits: int) -> int:
            return {4: 2664, 5: 9536, 6: 25974, 7: 54459}[bits]

    assert quantization.level_bits(Table(), 255) == [5, 6]
    assert quantization.level_bits(Table(), 95) == [5]


def test_without_a_level_k_means_plus_plus_seeds_on_a_sample(monkeypatch):
    # 10,000 distinct colours are too few for a histogram level at K=64, and k-means++ costs K
    # passes over its points: it seeds on a sample, and k-means then runs on every colour.
    pixels = np.random.default_rng(3).permutation(np.arange(10_000) * 1657 % (1 << 24))
    pixels = np.stack([(pixels >> s) & 255 for s in (16, 8, 0)], axis=-1).astype(np.uint8).reshape(100, 100, 3)
    table = ColorTable.from_pixels(pixels)
    assert len(table.colors) == 10_000 and quantization.level_bits(table, 64) == []
    seeded_on = []
    real = quantization.init_centroids

    def recording(X, k, **kwargs):
        seeded_on.append(len(X))
        return real(X, k, **kwargs)

    monkeypatch.setattr(quantization, "init_centroids", recording)
    result = quantize(table, 64)
    assert seeded_on == [quantization.SEED_SAMPLE]
    assert len(result.color_labels) == 10_000 and len(result.palette) == 64
    # (Labels are exact for the whole set: each colour's nearest palette entry.)
    assert np.array_equal(result.color_labels, nearest_entries(table, result.palette, "balanced"))


def test_table_is_reusable_across_k(photo):
    table = ColorTable.from_pixels(photo)
    for k in (2, 5, 40):
        assert np.array_equal(quantize(table, k).palette, quantize(photo, k).palette)


def test_bad_arguments(photo):
    with pytest.raises(ValueError, match="between 1 and 256"):
        quantize(photo, 0)
    with pytest.raises(ValueError, match="between 1 and 256"):
        quantize(photo, 257)
    with pytest.raises(ValueError, match="colour space"):
        quantize(photo, 4, color_space="hsv")
    with pytest.raises(ValueError, match="uint8"):
        quantize(photo.astype(np.float32), 4)
