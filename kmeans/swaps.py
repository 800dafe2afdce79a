"""Palette entries moved to where the eye needs them: swaps judged by mean CIEDE2000.

k-means settles where its own distance says, and a metric that serves PSNR well (the ``balanced``
space is mostly sRGB) can spend entries on near-black greys that the eye would rather have in a
large blue sky.  Lloyd iterations cannot carry an entry across the colour space; a swap can.  A swap
merges one cluster into its neighbours and splits another in two.  Every pair is scored in mean ΔE
(CIEDE2000) on a colour histogram: what the merged cluster's colours lose on their second-nearest
entry, against what the split cluster's colours gain from a 2-means split.  That score ignores how
Lloyd re-centres the neighbours afterwards, so it is pessimistic: it only ranks the candidates.  The
best few are settled by Lloyd and measured, and one is kept when the settled palette's mean ΔE is
lower and the squared error stays within its budget.
"""

from __future__ import annotations

import numpy as np

from kmeans.colorspace import from_working, to_working, u8_to_cielab
from kmeans.errors import Cancelled, CancelToken
from kmeans.lloyd import LloydRuns
from kmeans.metrics import ciede2000, over

ROUNDS = 3  # swaps tried in turn; the search ends early at a round that keeps none
_TRIES = 2  # candidate swaps settled and measured per round, best-scored first
_SETTLE_ITER = 8  # Lloyd iterations settling a candidate
_SSE_BUDGET = 0.02  # how much all swaps together may add to the histogram's squared error (0.09 dB of PSNR)
_SPLIT_ITER = 3  # 2-means iterations inside each cluster when weighing its split
_CHUNK = 1 << 18  # distances per chunk when finding the two nearest entries


def shown_lab(coords: np.ndarray, color_space: str) -> np.ndarray:
    """CIELAB of working-space coordinates as they show: rounded to 8-bit sRGB, over white when
    they carry alpha (as ``metrics`` compares colours)."""
    colors = from_working(coords, color_space)
    if colors.shape[1] == 4:
        colors = over(colors)
    return u8_to_cielab(colors)


def swap_entries(
    X: np.ndarray,
    w: np.ndarray,
    centroids: np.ndarray,
    *,
    color_space: str,
    rng: np.random.Generator,
    rtol: float,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """``centroids`` after up to ``ROUNDS`` merge-and-split swaps on the samples ``X`` (weights
    ``w``, working coordinates): each swap kept lowers the mean ΔE of the rounded palette, and all
    together add at most ``_SSE_BUDGET`` of its squared error.

    Raises ``Cancelled`` when ``cancel`` is set.
    """
    k = len(centroids)
    if k < 2 or len(X) <= 2 * k:
        return centroids

    def snap(c: np.ndarray) -> np.ndarray:
        return to_working(from_working(c, color_space), color_space)

    lab_x = shown_lab(X, color_space)
    current = np.asarray(centroids, dtype=X.dtype)
    palette = snap(current)
    labels, second = _two_nearest(X, palette)
    palette_lab = shown_lab(palette, color_space)
    d = ciede2000(lab_x, palette_lab[labels])
    total = float(d @ w)
    budget = _sse(X, w, palette, labels) * (1 + _SSE_BUDGET)
    settle = LloydRuns(X, k, w)
    for _ in range(ROUNDS):
        if cancel is not None and cancel.is_set():
            raise Cancelled("quantization cancelled")
        merge_cost = np.bincount(labels, weights=w * (ciede2000(lab_x, palette_lab[second]) - d), minlength=k)
        halves, split_gain = _split_gains(X, w, labels, k, d, lab_x, color_space, snap)
        score = split_gain[:, None] - merge_cost[None, :]
        np.fill_diagonal(score, -np.inf)
        kept = False
        for flat in np.argsort(score, axis=None)[::-1][:_TRIES]:
            grow, drop = divmod(int(flat), k)
            if not np.isfinite(score[grow, drop]):
                break
            trial = current.copy()
            trial[grow], trial[drop] = halves[grow]
            result = settle.run(trial, rng=rng, max_iter=_SETTLE_ITER, rtol=rtol, accelerate=True, snap=snap,
                                cancel=cancel)
            if result.stopped:
                raise Cancelled("quantization cancelled")
            trial_palette = snap(result.centroids)
            if _sse(X, w, trial_palette, result.labels) > budget:
                continue  # (the same verdict as after measuring ΔE, for less)
            trial_lab = shown_lab(trial_palette, color_space)
            trial_d = ciede2000(lab_x, trial_lab[result.labels])
            if float(trial_d @ w) < total:
                current, palette, palette_lab, d = result.centroids.astype(X.dtype), trial_palette, trial_lab, trial_d
                total = float(trial_d @ w)
                labels, second = result.labels, _two_nearest(X, palette)[1]
                kept = True
                break
        if not kept:
            break
    return current


def _sse(X: np.ndarray, w: np.ndarray, palette: np.ndarray, labels: np.ndarray) -> float:
    """Weighted squared error of the sRGB(A) channels as PSNR counts them: the first three
    coordinates, and alpha (the last) when there is one."""
    channels = [0, 1, 2] + ([X.shape[1] - 1] if X.shape[1] in (4, 7) else [])
    diff = X[:, channels] - palette[labels][:, channels]
    return float(np.einsum("ij,ij->i", diff, diff) @ w)


def _two_nearest(X: np.ndarray, C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each sample's nearest and second-nearest centroid (K >= 2), in chunks of bounded size."""
    n, k = len(X), len(C)
    first = np.empty(n, dtype=np.intp)
    second = np.empty(n, dtype=np.intp)
    C = np.asarray(C, dtype=np.float32)
    c_sq = np.einsum("ij,ij->i", C, C)
    rows = max(1, _CHUNK // k)
    for start in range(0, n, rows):
        x = np.asarray(X[start : start + rows], dtype=np.float32)
        D = c_sq - 2 * (x @ C.T)  # (each row's own |x|^2 does not change its order)
        near = D.argmin(axis=1)
        first[start : start + rows] = near
        D[np.arange(len(x)), near] = np.inf
        second[start : start + rows] = D.argmin(axis=1)
    return first, second


def _split_gains(X, w, labels, k, d, lab_x, color_space, snap) -> tuple[np.ndarray, np.ndarray]:
    """For every cluster, the two centroids of a 2-means split along its principal axis
    (k, 2, dim), and how much that split would take off the ΔE total (-inf if it cannot split)."""
    X64 = np.asarray(X, dtype=np.float64)
    dim = X.shape[1]
    weight = np.bincount(labels, weights=w, minlength=k)
    mean = _group_means(X64, w, labels, k, weight)
    Y = X64 - mean[labels]
    cov = np.empty((k, dim, dim))
    for a in range(dim):
        for b in range(a, dim):
            cov[:, a, b] = cov[:, b, a] = np.bincount(labels, weights=w * Y[:, a] * Y[:, b], minlength=k)
    _, vectors = np.linalg.eigh(cov)
    side = np.einsum("ij,ij->i", Y, vectors[labels, :, -1]) > 0
    halves = np.zeros((k, 2, dim))
    for _ in range(_SPLIT_ITER):
        group = 2 * labels + side
        group_weight = np.bincount(group, weights=w, minlength=2 * k)
        halves = _group_means(X64, w, group, 2 * k, group_weight).reshape(k, 2, dim)
        near_first = ((X64 - halves[labels, 0]) ** 2).sum(1) <= ((X64 - halves[labels, 1]) ** 2).sum(1)
        side = ~near_first
    group = 2 * labels + side
    split = np.bincount(group, weights=w, minlength=2 * k).reshape(k, 2)
    halves_lab = shown_lab(np.asarray(snap(halves.reshape(2 * k, dim)), dtype=np.float64), color_space)
    gain = np.bincount(labels, weights=w * (d - ciede2000(lab_x, halves_lab[group])), minlength=k)
    gain[(split == 0).any(axis=1)] = -np.inf
    return halves.astype(X.dtype), gain


def _group_means(X: np.ndarray, w: np.ndarray, group: np.ndarray, n: int, total: np.ndarray) -> np.ndarray:
    sums = np.stack([np.bincount(group, weights=w * X[:, j], minlength=n) for j in range(X.shape[1])], 1)
    return sums / np.maximum(total, 1e-300)[:, None]
