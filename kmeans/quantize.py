"""Image -> distinct colours with counts -> weighted k-means -> palette + labels.

k-means over an image's distinct colours, each weighted by its pixel count, is k-means over all of
its pixels (the same objective, term for term) at a fraction of the work.  The table of distinct
colours is built once per image (``ColorTable``) and reused for every K.

``quantize`` seeds on a coarse histogram (colour-bin means weighted by their counts: a few thousand
points instead of hundreds of thousands), converges there, then runs Lloyd to convergence on all
distinct colours.  The result is a Lloyd fixed point over every pixel, reached in a fraction of
the time.  The palette is the centroids converted to sRGB and rounded; every pixel's label is its
nearest *rounded* palette colour, so a file shows exactly what the preview showed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from kmeans.colorspace import COLOR_SPACES, from_working, to_working
from kmeans.errors import Cancelled
from kmeans.init import init_centroids
from kmeans.lloyd import CancelToken, IterationInfo, KMeansResult, _fit, _nearest

DEFAULT_COLOR_SPACE = "rgb"  # decided by tests/benchmarks/bench_quantize.py: lower mean ΔE overall
MAX_PALETTE = 256


@dataclass(frozen=True, eq=False)
class ColorTable:
    """The distinct colours of an image with their pixel counts.

    ``colors`` is (M, 3) uint8, or (M, 4) when some pixels are partly transparent; fully
    transparent pixels are not in it (they are counted in ``n_transparent``).  ``has_alpha`` says
    the image has any pixel that is not opaque, so its palette needs an alpha channel.
    """

    shape: tuple[int, int]
    colors: np.ndarray
    counts: np.ndarray
    has_alpha: bool
    n_transparent: int
    _keys: np.ndarray | None = field(repr=False)  # (N,) 24-bit RGB keys, when colors is (M, 3)
    _inverse: np.ndarray | None = field(repr=False)  # (N,) index into colors, when (M, 4)
    _transparent: np.ndarray | None = field(repr=False)  # (N,) bool, or None
    _cache: dict = field(default_factory=dict, repr=False, compare=False)  # derived arrays, built once

    @classmethod
    def from_pixels(cls, pixels: np.ndarray) -> ColorTable:
        """Build the table from an (H, W, 3) or (H, W, 4) uint8 array."""
        pixels = check_pixels(pixels)
        h, w, channels = pixels.shape
        flat = pixels.reshape(-1, channels)
        transparent = None
        n_transparent = 0
        has_alpha = False
        if channels == 4:
            alpha = flat[:, 3]
            has_alpha = bool((alpha != 255).any())
            if has_alpha:
                transparent = alpha == 0
                n_transparent = int(np.count_nonzero(transparent))
                if n_transparent == 0:
                    transparent = None
                if ((alpha > 0) & (alpha < 255)).any():
                    return cls._from_rgba(flat, (h, w), n_transparent, transparent)
        keys = _pack_rgb(flat)
        visible = keys if transparent is None else keys[~transparent]
        unique, counts = np.unique(visible, return_counts=True)
        colors = np.stack([(unique >> 16) & 255, (unique >> 8) & 255, unique & 255], axis=1)
        return cls((h, w), colors.astype(np.uint8), counts, has_alpha, n_transparent, keys, None, transparent)

    @classmethod
    def _from_rgba(
        cls, flat: np.ndarray, shape: tuple[int, int], n_transparent: int, transparent: np.ndarray | None
    ) -> ColorTable:
        keys = np.ascontiguousarray(flat).view(np.uint32).ravel()
        if transparent is None:
            unique, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
            inverse = inverse.astype(np.int32).ravel()
        else:  # transparent pixels are not in the table: leave them out of the sort
            unique, visible_inverse, counts = np.unique(keys[~transparent], return_inverse=True, return_counts=True)
            inverse = np.full(keys.shape, -1, dtype=np.int32)
            inverse[~transparent] = visible_inverse.ravel()
        colors = np.ascontiguousarray(unique.view(np.uint8).reshape(-1, 4))
        return cls(shape, colors, counts, True, n_transparent, None, inverse, transparent)

    def _cached(self, key: object, make: Callable[[], object]):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def coords(self, color_space: str) -> np.ndarray:
        """The colours in a working space, (M, 3|4) float32 (computed once per space)."""
        return self._cached(("coords", color_space), lambda: to_working(self.colors, color_space))

    def bins(self, bits: int) -> tuple[int, np.ndarray]:
        """How many bins are occupied when each channel keeps its top ``bits`` bits, and each
        colour's bin (computed once per depth)."""

        def make() -> tuple[int, np.ndarray]:
            occupied, inverse = np.unique(_bin_index(self.colors, bits), return_inverse=True)
            return len(occupied), inverse.astype(np.intp).ravel()

        return self._cached(("bins", bits), make)

    @property
    def n_pixels(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def n_colors(self) -> int:
        """Distinct colours, counting fully transparent pixels as one."""
        return len(self.colors) + (1 if self.n_transparent else 0)

    def labels_for(self, color_labels: np.ndarray, transparent_label: int = 0) -> np.ndarray:
        """(H, W) uint8 labels of every pixel, given the label of each distinct colour.

        Not for two threads at once on the same table (they would share a lookup table).
        """
        color_labels = np.asarray(color_labels, dtype=np.uint8)
        if self._keys is not None:
            # Every pixel's key is a table colour, so only those entries are ever read: the
            # table (16 MB) is allocated once and never cleared.
            lut = self._cached("lut", lambda: np.empty(1 << 24, dtype=np.uint8))
            lut[self._cached("color_keys", lambda: _pack_rgb(self.colors))] = color_labels
            labels = lut[self._keys]
        else:
            assert self._inverse is not None
            labels = color_labels[np.maximum(self._inverse, 0)]
        if self._transparent is not None:
            labels[self._transparent] = transparent_label
        return labels.reshape(self.shape)


def _pack_rgb(flat: np.ndarray) -> np.ndarray:
    """(N, >=3) uint8 -> (N,) uint32 keys r << 16 | g << 8 | b."""
    n = flat.shape[0]
    keys = np.zeros(n, dtype=np.uint32)
    view = keys.view(np.uint8).reshape(n, 4)
    if sys.byteorder == "little":
        view[:, 2], view[:, 1], view[:, 0] = flat[:, 0], flat[:, 1], flat[:, 2]
    else:
        view[:, 1], view[:, 2], view[:, 3] = flat[:, 0], flat[:, 1], flat[:, 2]
    return keys


def check_pixels(pixels: np.ndarray) -> np.ndarray:
    """Validate an image array: (H, W, 3) or (H, W, 4) uint8 with H, W >= 1."""
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise ValueError(f"expected an (H, W, 3) or (H, W, 4) uint8 array, got {pixels.dtype} {pixels.shape}")
    if pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise ValueError("the image has no pixels")
    return pixels


@dataclass(frozen=True)
class Progress:
    """One iteration of ``quantize``, as plain data for a progress display.

    ``stage`` is "seeding" (rival starts racing on the coarsest histogram), "coarse" (converging on
    colour histograms) or "fine" (all distinct colours); ``iteration`` counts every iteration run;
    ``palette`` (K, 3|4) uint8 and ``shares`` (K,) fractions of the pixels, for this iteration.
    """

    stage: str
    iteration: int
    max_iter: int
    inertia: float
    shift: float
    palette: np.ndarray
    shares: np.ndarray


@dataclass(frozen=True, eq=False)
class Quantized:
    """A palette image.

    ``palette`` (n, 3) or (n, 4) uint8, one row per entry, entries that are not opaque first and
    then by share of pixels; ``labels`` (H, W) uint8, so ``palette[labels]`` is the image.
    ``counts`` (n,) pixels per entry.  ``inertia`` is the k-means objective in the working colour
    space; ``centroids`` are the unrounded centres there (for warm starts).  ``notice`` says in
    words when the palette has fewer entries than asked, else None.
    """

    palette: np.ndarray
    labels: np.ndarray
    counts: np.ndarray
    k: int
    color_space: str
    inertia: float
    n_iter: int
    coarse_iter: int
    converged: bool
    distinct_colors: int
    seconds: float
    centroids: np.ndarray
    notice: str | None = None

    @property
    def shares(self) -> np.ndarray:
        return self.counts / self.counts.sum()

    def to_array(self) -> np.ndarray:
        """The quantized image, (H, W, 3|4) uint8."""
        return self.palette[self.labels]


ProgressCallback = Callable[[Progress], "bool | None"]


def quantize(
    image: np.ndarray | ColorTable,
    k: int,
    *,
    color_space: str = DEFAULT_COLOR_SPACE,
    init: str | np.ndarray | Quantized = "k-means++",
    seed: int = 0,
    max_iter: int = 300,
    tol: float = 1e-4,
    rtol: float = 3e-3,
    n_init: int | None = None,
    accelerate: bool = True,
    coarse: bool = True,
    callback: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Quantized:
    """Reduce an image to at most ``k`` colours by k-means.

    Parameters
    ----------
    image : (H, W, 3|4) uint8 pixels, or the ``ColorTable`` of an image (reused across calls).
    k : palette size, 1..256, counting the transparent entry when the image has one.
    color_space : "rgb" or "oklab", where distances are measured.
    init : "k-means++", "random", a (k', d) array of working-space centroids (k' == k clusters),
        or the ``Quantized`` result of an earlier call on the same image (a warm start).
    seed, max_iter, tol, rtol : as for ``kmeans.fit``; ``max_iter`` bounds each stage, and a
        stage ends when an iteration lowers the inertia by less than ``rtol`` of it.
    accelerate : over-relaxed Lloyd steps (see ``kmeans.fit``).
    n_init : seedings tried on the coarsest histogram, the one with the lowest inertia going on;
        None picks 6 for K <= 32 (cheap there, and small palettes vary most between seeds), else 1.
    coarse : seed on colour histograms first; the final iterations always run on all colours.
    callback : called with a ``Progress`` after every iteration; returning False cancels.
    cancel : a token whose ``is_set()`` cancels after the current iteration.

    Raises ``Cancelled`` when stopped by the callback or token, ``ValueError`` for bad arguments.
    """
    started = time.perf_counter()
    if color_space not in COLOR_SPACES:
        raise ValueError(f"unknown colour space {color_space!r}; use one of {', '.join(COLOR_SPACES)}")
    if not 1 <= k <= MAX_PALETTE:
        raise ValueError(f"K must be between 1 and {MAX_PALETTE}, got {k}")
    table = image if isinstance(image, ColorTable) else ColorTable.from_pixels(image)
    rng = np.random.default_rng(seed)
    transparent_slot = 1 if table.n_transparent else 0
    k_colors = max(1, k - transparent_slot)
    m = len(table.colors)
    notice = None

    if m == 0:  # nothing but transparent pixels
        return _finish(table, np.zeros((0, 4), np.uint8), np.zeros(0, np.int32), k, color_space,
                       0.0, 0, 0, True, np.zeros((0, 4), np.float32), started, None)

    X = table.coords(color_space)
    weights = table.counts.astype(np.float64)
    if m <= k_colors:
        notice = (f"The image has only {_count(table.n_colors, 'distinct colour')}, so the palette has "
                  f"{_count(table.n_colors, 'entry', 'entries')} instead of {k}.") if table.n_colors < k else None
        return _finish(table, table.colors, np.arange(m, dtype=np.int32), k, color_space, 0.0, 0, 0,
                       True, X, started, notice)

    relay = _Relay(callback, color_space)
    start = _initial_centroids(X, weights, k_colors, init, color_space, rng)
    method = init if isinstance(init, str) else "k-means++"
    if n_init is None:
        n_init = 6 if k_colors <= 32 else 1

    def run(samples: np.ndarray, w: np.ndarray, begin: str | np.ndarray, stage: str, stop_gain: float,
            snap=None) -> KMeansResult:
        relay.begin(stage, max_iter)
        result = _fit(samples, k_colors, w, begin, 1, max_iter, tol, stop_gain, rng, relay, cancel,
                      accelerate, snap)
        if result.stopped:
            raise Cancelled("quantization cancelled")
        return result

    levels = _level_bits(table, k_colors) if start is None and coarse else []
    if levels and n_init > 1:
        # Rival seedings race to rough convergence on a small histogram; only the best goes on.
        rx, rw = _histogram(table, color_space, _race_bits(table, k_colors, levels[0]))
        races = [run(rx, rw, method, "seeding", max(rtol, _RACE_RTOL)) for _ in range(n_init)]
        start = min(races, key=lambda r: r.inertia).centroids
    for bits in levels:
        cx, cw = _histogram(table, color_space, bits)
        if start is None and method == "k-means++" and len(cx) > 2 * _SEED_SAMPLE:
            # k-means++ costs K passes over its points: seed on a sample, converge on them all.
            pick = rng.choice(len(cx), _SEED_SAMPLE, replace=False)
            start = init_centroids(cx[pick], k_colors, weights=cw[pick], seed=rng).astype(np.float32)
        start = run(cx, cw, method if start is None else start, "coarse", rtol).centroids
    coarse_iter = relay.count

    # The palette is the rounded centroids, and each colour's label is its nearest rounded entry:
    # the final assignment of the last stage is made to them directly.
    def rounded(centroids: np.ndarray) -> np.ndarray:
        return to_working(from_working(centroids, color_space), color_space)

    res = run(X, weights, method if start is None else start, "fine", rtol, snap=rounded)
    palette = from_working(res.centroids, color_space)
    labels = res.labels
    unique = len(np.unique(palette, axis=0))
    if unique + transparent_slot < min(k, table.n_colors):
        notice = (f"{_count(k_colors - unique, 'centroid')} rounded to colours already in the palette, "
                  f"so it has {_count(unique + transparent_slot, 'entry', 'entries')} instead of {k}.")
    return _finish(table, palette, labels, k, color_space, res.inertia, relay.count,
                   coarse_iter, res.converged, res.centroids, started, notice)


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


_SEED_SAMPLE = 4096  # k-means++ seeds on a sample of this many bins when a histogram has twice as many
_RACE_RTOL = 1e-2  # seedings race until an iteration gains less than 1%

_LEVEL_BITS = (4, 5, 6, 7)
_POINTS_PER_CLUSTER = 12  # the coarsest level needs this many bins per cluster to seed well
_MIN_LEVEL = 4096  # smaller histograms lose too much of the image's colour distribution
_LEVEL_GROWTH = 3  # a level must be this many times larger than the one before
_LEVEL_SHRINK = 2  # and this many times smaller than the full set


def _level_bits(table: ColorTable, k: int) -> list[int]:
    """Bit depths of the colour histograms to converge on before the full set, coarse first.

    A level is used when it has enough bins for ``k`` clusters, is several times larger than the
    level before, and several times smaller than the full set.
    """
    m = len(table.colors)
    chosen: list[int] = []
    previous = 0
    for bits in _LEVEL_BITS:
        n = table.bins(bits)[0]
        if n * _LEVEL_SHRINK > m:
            break
        if n < max(_POINTS_PER_CLUSTER * k, _MIN_LEVEL) or n < previous * _LEVEL_GROWTH:
            continue
        chosen.append(bits)
        previous = n
    return chosen


def _race_bits(table: ColorTable, k: int, first: int) -> int:
    """The histogram rival seedings race on: one level coarser than ``first`` if it has enough
    bins for ``k`` clusters, else ``first`` itself."""
    coarser = first - 1
    if coarser >= 1 and table.bins(coarser)[0] >= _POINTS_PER_CLUSTER * k:
        return coarser
    return first


def _histogram(table: ColorTable, color_space: str, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Each occupied bin's weighted mean colour (working space) and total count (cached)."""

    def make() -> tuple[np.ndarray, np.ndarray]:
        n, inverse = table.bins(bits)
        X = table.coords(color_space)
        w = table.counts.astype(np.float64)
        total = np.bincount(inverse, weights=w, minlength=n)
        sums = np.stack([np.bincount(inverse, weights=w * X[:, j], minlength=n) for j in range(X.shape[1])], 1)
        return (sums / total[:, None]).astype(np.float32), total

    return table._cached(("histogram", color_space, bits), make)


def _bin_index(colors: np.ndarray, bits: int) -> np.ndarray:
    """Index of each colour's bin when every channel keeps its top ``bits`` bits."""
    shift = 8 - bits
    index = np.zeros(len(colors), dtype=np.int64)
    for channel in range(colors.shape[1]):
        index = (index << bits) | (colors[:, channel] >> shift)
    return index


def _initial_centroids(
    X: np.ndarray,
    weights: np.ndarray,
    k: int,
    init: str | np.ndarray | Quantized,
    color_space: str,
    rng: np.random.Generator,
) -> np.ndarray | None:
    """Centroids to start the fine stage from, or None to seed from scratch."""
    if isinstance(init, str):
        return None
    if isinstance(init, Quantized):
        previous = np.asarray(init.centroids, dtype=np.float32)
        if init.color_space != color_space or previous.ndim != 2 or previous.shape[1] != X.shape[1]:
            return None
        if len(previous) >= k:
            # Keep k of the old centres, chosen by k-means++ over them weighted by their pixels.
            sizes = np.bincount(_nearest(X, previous)[0], weights=weights, minlength=len(previous))
            picked = init_centroids(previous, k, weights=sizes + 1e-12, seed=rng)
            return picked.astype(np.float32)
        return init_centroids(X, k, weights=weights, seed=rng, given=previous).astype(np.float32)
    start = np.asarray(init, dtype=np.float32)
    if start.shape != (k, X.shape[1]):
        raise ValueError(f"init must have shape ({k}, {X.shape[1]}), got {start.shape}")
    return start


class _Relay:
    """Turns ``fit``'s IterationInfo into ``Progress`` for the caller's callback."""

    def __init__(self, callback: ProgressCallback | None, color_space: str):
        self.callback = callback
        self.color_space = color_space
        self.stage = "fine"
        self.limit = 0
        self.count = 0  # iterations so far, over every run and stage

    def begin(self, stage: str, max_iter: int) -> None:
        self.stage, self.limit = stage, self.count + max_iter

    def __call__(self, info: IterationInfo) -> bool | None:
        self.count += 1
        if self.callback is None:
            return None
        progress = Progress(
            stage=self.stage,
            iteration=self.count,
            max_iter=self.limit,
            inertia=info.inertia,
            shift=info.shift,
            palette=from_working(info.centroids, self.color_space),
            shares=info.sizes / max(info.sizes.sum(), 1e-300),
        )
        return self.callback(progress)


def _finish(
    table: ColorTable,
    palette: np.ndarray,
    color_labels: np.ndarray,
    k: int,
    color_space: str,
    inertia: float,
    n_iter: int,
    coarse_iter: int,
    converged: bool,
    centroids: np.ndarray,
    started: float,
    notice: str | None,
) -> Quantized:
    """Order the palette (non-opaque entries first, then by share), add the transparent entry."""
    counts = np.bincount(color_labels, weights=table.counts, minlength=len(palette)).astype(np.int64)
    used = counts > 0
    palette, counts = palette[used], counts[used]
    remap = np.cumsum(used) - 1
    color_labels = remap[color_labels]
    if table.has_alpha:
        if palette.shape[1] == 3:
            palette = np.concatenate([palette, np.full((len(palette), 1), 255, np.uint8)], axis=1)
        if table.n_transparent:
            palette = np.concatenate([np.zeros((1, 4), np.uint8), palette])
            counts = np.concatenate([[table.n_transparent], counts])
            color_labels = color_labels + 1
    opaque = palette[:, 3] == 255 if palette.shape[1] == 4 else np.ones(len(palette), bool)
    order = np.lexsort((-counts, opaque))
    if table.n_transparent:
        order = np.concatenate([[0], order[order != 0]])
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    labels = table.labels_for(rank[color_labels], transparent_label=0)
    return Quantized(
        palette=np.ascontiguousarray(palette[order]),
        labels=labels,
        counts=counts[order],
        k=k,
        color_space=color_space,
        inertia=float(inertia),
        n_iter=n_iter,
        coarse_iter=coarse_iter,
        converged=converged,
        distinct_colors=table.n_colors,
        seconds=time.perf_counter() - started,
        centroids=np.asarray(centroids),
        notice=notice,
    )


def dither(pixels: np.ndarray, result: Quantized) -> np.ndarray:
    """Labels for ``result.palette`` with Floyd-Steinberg error diffusion.

    Uses Pillow's C remapper (distances in RGB).  Pixels that are not opaque keep their nearest
    entry from ``result.labels``; opaque pixels are diffused over the opaque entries.
    Returns (H, W) uint8 labels.
    """
    from PIL import Image

    pixels = check_pixels(pixels)
    palette = result.palette
    opaque_entries = np.flatnonzero(palette[:, 3] == 255) if palette.shape[1] == 4 else np.arange(len(palette))
    if opaque_entries.size == 0:
        return result.labels.copy()
    target = Image.new("P", (1, 1))
    target.putpalette(np.ascontiguousarray(palette[opaque_entries, :3]).tobytes())
    rgb = Image.fromarray(np.ascontiguousarray(pixels[..., :3]), mode="RGB")
    diffused = np.asarray(rgb.quantize(palette=target, dither=Image.Dither.FLOYDSTEINBERG))
    labels = opaque_entries.astype(np.uint8)[diffused]
    if pixels.shape[2] == 4:
        see_through = pixels[..., 3] < 255
        labels[see_through] = result.labels[see_through]
    return labels
