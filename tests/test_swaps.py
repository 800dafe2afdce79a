"""ΔE swaps: palette entries moved across the colour space where Lloyd iterations cannot move them."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from conftest import gradient_image

import kmeans.quantization as quantization
import kmeans.swaps as swaps
from kmeans import Cancelled, ColorTable, fit, quantize
from kmeans.colorspace import from_working, to_working
from kmeans.metrics import ciede2000
from kmeans.swaps import shown_lab, swap_entries


def _scores(X: np.ndarray, w: np.ndarray, centroids: np.ndarray) -> tuple[float, float]:
    """Mean ΔE and squared error of the sRGB(A) channels (balanced coordinates 0-2, and 6 with
    alpha) of every sample on its nearest rounded entry."""
    palette = to_working(from_working(centroids, "balanced"), "balanced")
    labels = ((X[:, None, :] - palette[None]) ** 2).sum(axis=2).argmin(axis=1)
    de = float(ciede2000(shown_lab(X, "balanced"), shown_lab(palette, "balanced")[labels]) @ w / w.sum())
    channels = [0, 1, 2, 6] if X.shape[1] == 7 else [0, 1, 2]
    diff = X[:, channels] - palette[labels][:, channels]
    return de, float(np.einsum("ij,ij->i", diff, diff) @ w)


def _with_alpha(rgb: np.ndarray, seed: int) -> np.ndarray:
    """``rgb`` with a wavy alpha channel, 0-255."""
    y, x = np.mgrid[0 : rgb.shape[0], 0 : rgb.shape[1]]
    alpha = np.rint(255 * (0.5 + 0.5 * np.sin(x / 4.0 + seed) * np.cos(y / 6.0)))
    return np.dstack([rgb, np.clip(alpha, 0, 255).astype(np.uint8)])


def _three_blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Samples in three tight colour blobs, (balanced coordinates, weights)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[30, 60, 150], [200, 190, 60], [120, 120, 120]])
    colours = np.concatenate([np.clip(c + rng.normal(0, 6, (300, 3)), 0, 255) for c in centres]).astype(np.uint8)
    return to_working(colours, "balanced"), rng.integers(1, 20, len(colours)).astype(np.float64)


def test_a_swap_moves_an_entry_from_a_crowded_blob_to_one_without():
    """Two entries on one blob and one between the other two is a Lloyd fixed point; one swap
    (merge the pair, split the straddled blobs) gives each blob its entry."""
    X, w = _three_blobs()
    blue, yellow, grey = X[:300].mean(0), X[300:600].mean(0), X[600:].mean(0)
    start = np.stack([grey - 0.01, grey + 0.01, (blue + yellow) / 2]).astype(np.float32)
    result = swap_entries(X, w, start, color_space="balanced", rng=np.random.default_rng(1), rtol=1e-3)
    nearest = [int(((result - c) ** 2).sum(1).argmin()) for c in (blue, yellow, grey)]
    assert sorted(nearest) == [0, 1, 2]  # one entry per blob
    assert _scores(X, w, result)[0] < 0.5 * _scores(X, w, start)[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [4, 6, 12, 16])
@pytest.mark.parametrize("alpha", [False, True], ids=["rgb", "rgba"])
def test_swaps_never_raise_mean_delta_e_and_keep_within_their_error_budget(seed, k, alpha):
    """From a Lloyd fixed point, as in quantize: ΔE never rises and the squared error keeps to
    its budget (the swaps that would break it are the ones that lower ΔE most), alpha's included."""
    pixels = gradient_image(48, 48, seed)
    table = ColorTable.from_pixels(_with_alpha(pixels, seed) if alpha else pixels)
    X, w = table.coords("balanced"), table.counts.astype(np.float64)
    start = fit(X, k, weights=w, seed=seed).centroids.astype(np.float32)
    result = swap_entries(X, w, start, color_space="balanced", rng=np.random.default_rng(seed), rtol=5e-3)
    (de_before, sse_before), (de_after, sse_after) = _scores(X, w, start), _scores(X, w, result)
    assert de_after <= de_before
    assert sse_after <= sse_before * (1 + swaps._SSE_BUDGET) * (1 + 1e-6)


def test_a_set_token_stops_the_swaps():
    X, w = _three_blobs()
    token = threading.Event()
    token.set()
    with pytest.raises(Cancelled):
        swap_entries(X, w, X[:3], color_space="balanced", rng=np.random.default_rng(0), rtol=1e-3, cancel=token)


def test_too_few_samples_to_swap_leave_the_centroids_as_they_are():
    X, w = _three_blobs()
    start = X[:4].copy()
    assert swap_entries(X[:8], w[:8], start, color_space="balanced", rng=np.random.default_rng(0),
                        rtol=1e-3) is start


def test_the_default_space_swaps_and_rgb_and_oklab_keep_their_meaning(monkeypatch):
    """Swaps judge entries by eye, so only ``balanced`` (the default) makes them; its one seeding
    replaces the six rival ones."""
    calls = []

    def counted(*args, **kwargs):
        calls.append(kwargs["color_space"])
        return swap_entries(*args, **kwargs)

    monkeypatch.setattr(quantization, "swap_entries", counted)
    seedings = []
    original = quantization.LloydRuns.run

    def counted_runs(self, *args, **kwargs):
        if kwargs.get("callback") is not None:  # (quantize's own runs, not the swaps' trials)
            seedings.append(kwargs["rtol"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(quantization.LloydRuns, "run", counted_runs)
    image = gradient_image(256, 256, seed=1)
    table = ColorTable.from_pixels(image)
    quantize(table, 16)
    assert calls == ["balanced"]
    default_runs = len(seedings)
    for space in ("rgb", "oklab"):
        seedings.clear()
        quantize(table, 16, color_space=space)
        assert len(seedings) == default_runs + 5  # six seedings race there
    assert calls == ["balanced"]


def test_swapped_results_are_reproducible_and_cancellable():
    image = gradient_image(256, 256, seed=2)
    first, second = quantize(image, 16), quantize(image, 16)
    assert np.array_equal(first.palette, second.palette)
    token = threading.Event()
    token.set()
    with pytest.raises(Cancelled):
        quantize(image, 16, cancel=token)


def test_swaps_stop_above_their_largest_k(monkeypatch):
    """Past ``SWAP_MAX_K`` they cost more than the little ΔE they gain, even where the histogram
    would allow them."""
    calls = []

    def counted(*args, **kwargs):
        calls.append(len(args[2]))
        return swap_entries(*args, **kwargs)

    monkeypatch.setattr(quantization, "swap_entries", counted)
    noise = np.clip(np.random.default_rng(3).normal(128, 40, (256, 256, 3)), 0, 255).astype(np.uint8)
    table = ColorTable.from_pixels(noise)  # (2776 bins at 4 bits to race and swap on, the first level at 5)
    quantize(table, quantization.SWAP_MAX_K)
    assert calls == [quantization.SWAP_MAX_K]
    quantize(table, quantization.SWAP_MAX_K + 1)
    assert calls == [quantization.SWAP_MAX_K]
