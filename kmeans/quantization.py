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

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from kmeans.colorspace import COLOR_SPACES, from_working, to_working, with_alpha
from kmeans.colortable import ColorTable, check_pixels
from kmeans.defaults import DEFAULT_COLOR_SPACE, DEFAULT_INIT, DEFAULT_MAX_ITER, DEFAULT_SEED, MAX_K
from kmeans.errors import Cancelled, CancelToken
from kmeans.init import init_centroids
from kmeans.lloyd import IterationInfo, KMeansResult, LloydRuns, find_closest_centroids
from kmeans.metrics import Quality, color_quality
from kmeans.swaps import swap_entries
from kmeans.wording import count

#: A stage stops when an iteration gains less than this share of the inertia.  ``balanced`` stops
#: earlier: its iterations between 0.5% and 0.3% moved mean ΔE by at most 0.3% and PSNR by at most
#: 0.06 dB on the bench images, and took about a third of the time at K=256 (bench_quantize.py).
STOP_GAIN = {"balanced": 5e-3, "rgb": 3e-3, "oklab": 3e-3}
_SEED_SAMPLE = 4096  # k-means++ seeds on a sample of this many bins or colours when there are twice as many
_RACE_RTOL = 1e-2  # seedings race until an iteration gains less than 1%
#: Spaces whose palettes are judged by eye: the coarse stage moves entries by ΔE swaps (``kmeans.swaps``).
SWAP_SPACES = ("balanced",)
#: Above this many clusters swaps are skipped: on a 256x256 RGBA test card they lowered mean ΔE by
#: 1.7% at K=96 down to 0.5% at K=256, for 27-76% more time (at K=64, 3.2%: kept).  Photos'
#: histograms are too coarse for them there anyway.
SWAP_MAX_K = 64
_LEVEL_BITS = (4, 5, 6, 7)  # histogram depths tried, coarse first
_POINTS_PER_CLUSTER = 12  # the coarsest level needs this many bins per cluster to seed well
_MIN_LEVEL = 4096  # smaller histograms lose too much of the image's colour distribution
_LEVEL_GROWTH = 3  # a level must be this many times larger than the one before
_LEVEL_SHRINK = 2  # and this many times smaller than the full set
#: Below this many bins per cluster a level leaves the centroids far from where the full set settles
#: them, so the next level is used once it is ``_LEVEL_SHRINK`` times larger.  dice.png at K=256 has 37
#: bins per cluster at 5 bits: with its 6-bit level, 0.83-0.98x libimagequant's time instead of 1.06x
#: (bench_quantize.py --compare).  At K=96, 100 bins per cluster, the extra level cost 0.02 s.
_SETTLED_POINTS = 64


@dataclass(frozen=True, eq=False)
class Progress:
    """One iteration of ``quantize``, as plain data for a progress display.

    ``stage`` is "seeding" (rival starts racing on the coarsest histogram), "coarse" (converging on
    colour histograms) or "fine" (all distinct colours); ``iteration`` counts every iteration run;
    ``run`` is which of the ``runs`` Lloyd runs this iteration belongs to (1-based; the last is on
    all distinct colours), so a progress bar can move forward honestly;
    ``centroids`` (K, 3|4) float32 are the unrounded centres in ``color_space`` (read-only) and
    ``sizes`` (K,) the pixels in each cluster.  ``palette`` (K, 3|4) uint8 and ``shares`` (K,)
    fractions of the pixels are worked out from them when first read, so iterations that nobody
    displays cost nothing.
    """

    stage: str
    iteration: int
    max_iter: int
    run: int
    runs: int
    inertia: float
    shift: float
    centroids: np.ndarray
    sizes: np.ndarray
    color_space: str

    @cached_property
    def palette(self) -> np.ndarray:
        return from_working(self.centroids, self.color_space)

    @cached_property
    def shares(self) -> np.ndarray:
        return self.sizes / max(float(self.sizes.sum()), 1e-300)


@dataclass(frozen=True, eq=False)
class Quantized:
    """A palette image.

    ``palette`` (n, 3) or (n, 4) uint8, one row per entry, entries that are not opaque first and
    then by share of pixels; ``labels`` (H, W) uint8, so ``palette[labels]`` is the image.
    ``counts`` (n,) pixels per entry.  ``color_labels`` (M,) is the entry of each of ``table``'s
    distinct colours, so measures can work on colours instead of pixels.
    ``inertia`` is the k-means objective in the working colour space; ``centroids`` are the
    unrounded centres there.  ``notice`` says in words when the palette has fewer entries than
    asked, else None.
    """

    palette: np.ndarray
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
    color_labels: np.ndarray
    table: ColorTable = field(repr=False)  # the image's colours: ``labels`` are made from them
    transparent_label: int = 0  # the entry of fully transparent pixels, when there are any
    notice: str | None = None
    locked: np.ndarray | None = None  # (n,) bool: the entries given as fixed colours, kept exactly

    @property
    def labels(self) -> np.ndarray:
        """(H, W) uint8: every pixel's entry.  Made on first read (tens of milliseconds and a
        byte per pixel on a large image, which the window's first picture does without), then kept."""
        labels = self.__dict__.get("_labels")
        if labels is None:
            with self.table.lock:  # (two threads asking at once: one makes them, both get them)
                labels = self.__dict__.get("_labels")
                if labels is None:
                    labels = self.table.labels_for(self.color_labels, self.transparent_label)
                    self.__dict__["_labels"] = labels
        return labels

    def labels_every(self, step: int) -> np.ndarray:
        """The labels of every ``step``-th pixel of every ``step``-th row, without making them all."""
        labels = self.__dict__.get("_labels")
        if labels is not None or step <= 1:
            return self.labels[::step, ::step]
        return self.table.labels_for(self.color_labels, self.transparent_label, step=step)

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the image."""
        return self.table.shape

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
    init: str | np.ndarray = DEFAULT_INIT,
    seed: int = DEFAULT_SEED,
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = 1e-4,
    rtol: float | None = None,
    n_init: int | None = None,
    accelerate: bool = True,
    coarse: bool = True,
    callback: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    fine_on: ColorTable | None = None,
    fixed: np.ndarray | None = None,
) -> Quantized:
    """Reduce an image to at most ``k`` colours by k-means.

    Parameters
    ----------
    image : (H, W, 3|4) uint8 pixels, or the ``ColorTable`` of an image (reused across calls).
    k : palette size, 1..256, counting the transparent entry when the image has one.
    color_space : "balanced", "rgb" or "oklab", where distances are measured (``kmeans.colorspace``).
    init : "k-means++", "random", or a (k', d) array of working-space centroids (k' clusters: k,
        or k - 1 when the image has a transparent entry).
    seed, max_iter, tol, rtol : as for ``kmeans.fit``; ``max_iter`` bounds each stage, and a
        stage ends when an iteration lowers the inertia by less than ``rtol`` of it (None: the
        colour space's own, ``STOP_GAIN``).
    accelerate : over-relaxed Lloyd steps (see ``kmeans.fit``).
    n_init : seedings tried on the coarsest histogram, the one with the lowest inertia going on;
        None picks 1 where ΔE swaps run (``balanced``, K up to ``SWAP_MAX_K``, with a histogram
        coarser than the first level: they move misplaced entries, which is what more seedings
        were for), else 6 for K <= 32 (cheap there, and small palettes vary most between seeds),
        else 1.
    coarse : seed on colour histograms first; the final iterations always run on all colours.
    callback : called with a ``Progress`` after every iteration; returning False cancels.
    cancel : a token whose ``is_set()`` cancels after the current iteration.
    fixed : (F, 3) uint8 colours the palette keeps exactly (counted in K): pixels are assigned to
        them as to any entry, and only the other K - F centroids move.
    fine_on : for estimates: the colour table of a sample of the image's pixels.  The histogram
        stages still run on the whole image (cheap, and they decide where k-means settles); the
        last runs on the sample, and the result (labels, counts) is the sample's.

    Raises ``Cancelled`` when stopped by the callback or token, ``ValueError`` for bad arguments.
    """
    started = time.perf_counter()
    if color_space not in COLOR_SPACES:
        raise ValueError(f"unknown colour space {color_space!r}; use one of {', '.join(COLOR_SPACES)}")
    if not 1 <= k <= MAX_K:
        raise ValueError(f"K must be between 1 and {MAX_K}, got {k}")
    table = image if isinstance(image, ColorTable) else ColorTable.from_pixels(image)
    rtol = STOP_GAIN[color_space] if rtol is None else rtol
    rng = np.random.default_rng(seed)
    transparent_slot = 1 if table.n_transparent else 0
    k_colors = max(1, k - transparent_slot)
    if fixed is not None:
        fixed = np.unique(np.asarray(fixed, dtype=np.uint8).reshape(-1, 3), axis=0)
        if len(fixed) > k_colors:
            raise ValueError(f"{len(fixed)} fixed colours do not fit in a palette of {k}"
                             + (" (one entry is the transparent one)" if transparent_slot else ""))
        if len(fixed) == 0:
            fixed = None
    if fine_on is not None and (fine_on.colors.shape[1] != table.colors.shape[1] or len(table.colors) <= k_colors):
        table, fine_on = fine_on, None  # (the whole image's histograms would not help: all on the sample)
        transparent_slot = 1 if table.n_transparent else 0
        k_colors = max(1, k - transparent_slot)
    m = len(table.colors)
    notice = None

    if m == 0:  # nothing but transparent pixels
        return _finish(table, np.zeros((0, 4), np.uint8), np.zeros(0, np.int32), k=k, color_space=color_space,
                       centroids=np.zeros((0, 4), np.float32), started=started)

    X = table.coords(color_space)
    weights = table.counts.astype(np.float64)
    pinned = 0
    if fixed is not None:
        if m + len(fixed) <= k_colors or len(fixed) == k_colors:  # every colour gets an entry, or none is free
            return _with_fixed(table, k, fixed, color_space=color_space, started=started)
        pinned = len(fixed)
        fixed_colours = with_alpha(fixed, table.colors.shape[1])
        fixed_coords = to_working(fixed_colours, color_space).astype(X.dtype)
    if m <= k_colors:
        notice = (f"The image has only {count(table.n_colors, 'distinct colour')}, so the palette has "
                  f"{count(table.n_colors, 'entry', 'entries')} instead of {k}.") if table.n_colors < k else None
        return _finish(table, table.colors, np.arange(m, dtype=np.int32), k=k, color_space=color_space,
                       centroids=X, started=started, notice=notice)

    relay = _Relay(callback, color_space)
    start = _initial_centroids(X, k_colors, init)
    method = init if isinstance(init, str) else "k-means++"

    def run(samples: LloydRuns, begin: str | np.ndarray, stage: str, stop_gain: float, snap=None,
            pinned: int = 0) -> KMeansResult:
        relay.begin(stage, max_iter)
        result = samples.run(begin, rng=rng, max_iter=max_iter, tol=tol, rtol=stop_gain, callback=relay,
                             cancel=cancel, accelerate=accelerate, snap=snap, pinned=pinned)
        if result.stopped:
            raise Cancelled("quantization cancelled")
        return result

    levels = _level_bits(table, k_colors) if start is None and coarse else []
    race_bits = _race_bits(table, k_colors, levels[0]) if levels else None
    # ΔE swaps run on the race histogram when it is coarser than the first level (so they stay cheap).
    swapping = (color_space in SWAP_SPACES and k_colors <= SWAP_MAX_K and race_bits is not None
                and race_bits < levels[0])
    if n_init is None:
        n_init = 1 if swapping else 6 if k_colors <= 32 else 1
    racing = race_bits is not None and (n_init > 1 or swapping)
    relay.runs = (n_init if racing else 0) + len(levels) + 1
    if racing:
        # Rival seedings race to rough convergence on a small histogram; only the best goes on.
        rx, rw = _histogram(table, color_space, race_bits)
        rivals = LloydRuns(rx, k_colors, rw)
        races = [run(rivals, method, "seeding", max(rtol, _RACE_RTOL)) for _ in range(n_init)]
        start = min(races, key=lambda r: r.inertia).centroids
        if swapping:
            start = swap_entries(rx, rw, start, color_space=color_space, rng=rng, rtol=rtol, cancel=cancel)
    for bits in levels:
        cx, cw = _histogram(table, color_space, bits)
        if start is None:
            start = _seeds(cx, cw, k_colors, rng, method)
        start = run(LloydRuns(cx, k_colors, cw), start, "coarse", rtol).centroids
    coarse_iter = relay.count

    # The palette is the rounded centroids, and each colour's label is its nearest rounded entry:
    # the final assignment of the last stage is made to them directly.
    def rounded(centroids: np.ndarray) -> np.ndarray:
        out = to_working(from_working(centroids, color_space), color_space)
        if pinned:
            out[:pinned] = fixed_coords  # (exactly the fixed colours, whatever the rounding)
        return out

    if pinned:
        # The fixed colours take the places of the centroids nearest them (where an unlocked run
        # was heading): the free ones start where it would have gone on.
        begin = start if start is not None else _seeds(X, weights, k_colors, rng, method)
        start = np.concatenate([fixed_coords, _without_nearest(begin, fixed_coords)])
    if fine_on is not None:
        table, X, weights = fine_on, fine_on.coords(color_space), fine_on.counts.astype(np.float64)
        if len(X) <= k_colors:
            return _finish(table, table.colors, np.arange(len(X), dtype=np.int32), k=k, color_space=color_space,
                           centroids=X, started=started)
    if start is None:  # (no histogram level: seeded on the colours themselves)
        start = _seeds(X, weights, k_colors, rng, method)
    res = run(LloydRuns(X, k_colors, weights), start, "fine", rtol, snap=rounded, pinned=pinned)
    palette = from_working(res.centroids, color_space)
    if pinned:
        palette[:pinned] = fixed_colours
    labels = res.labels
    unique = len(np.unique(palette, axis=0))
    if unique + transparent_slot < min(k, table.n_colors):
        notice = (f"{count(k_colors - unique, 'centroid')} rounded to colours already in the palette, "
                  f"so it has {count(unique + transparent_slot, 'entry', 'entries')} instead of {k}.")
    return _finish(table, palette, labels, k=k, color_space=color_space, inertia=res.inertia, n_iter=relay.count,
                   coarse_iter=coarse_iter, converged=res.converged, centroids=res.centroids, started=started,
                   notice=notice, keep=pinned)


def _seeds(X: np.ndarray, w: np.ndarray, k: int, rng: np.random.Generator, method: str = "k-means++") -> np.ndarray:
    """``k`` initial centroids for the weighted samples ``X``, in X's dtype.  k-means++ costs K
    passes over its points, so with more than twice ``_SEED_SAMPLE`` it seeds on a sample of them."""
    if method == "k-means++" and len(X) > 2 * _SEED_SAMPLE:
        pick = rng.choice(len(X), _SEED_SAMPLE, replace=False)
        X, w = X[pick], w[pick]
    return init_centroids(X, k, method=method, weights=w, seed=rng).astype(X.dtype)


def _without_nearest(centroids: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """``centroids`` less, for each fixed colour in turn, the one nearest it."""
    left = list(range(len(centroids)))
    for point in fixed:
        gaps = ((centroids[left] - point) ** 2).sum(axis=1)
        left.pop(int(np.argmin(gaps)))
    return centroids[left]


def _level_bits(table: ColorTable, k: int) -> list[int]:
    """Bit depths of the colour histograms to converge on before the full set, coarse first.

    A level is used when it has enough bins for ``k`` clusters, is several times larger than the
    level before (twice, when that one has too few bins per cluster to settle them), and several
    times smaller than the full set.
    """
    m = len(table.colors)
    chosen: list[int] = []
    previous = 0
    for bits in _LEVEL_BITS:
        n = table.n_bins(bits)
        if n * _LEVEL_SHRINK > m:
            break
        growth = _LEVEL_GROWTH if previous >= _SETTLED_POINTS * k else _LEVEL_SHRINK
        if n < max(_POINTS_PER_CLUSTER * k, _MIN_LEVEL) or n < previous * growth:
            continue
        chosen.append(bits)
        previous = n
    return chosen


def _race_bits(table: ColorTable, k: int, first: int) -> int:
    """The histogram rival seedings race on: one level coarser than ``first`` if it has enough
    bins for ``k`` clusters, else ``first`` itself."""
    coarser = first - 1
    if coarser >= 1 and table.n_bins(coarser) >= _POINTS_PER_CLUSTER * k:
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

    return table.cached(("histogram", color_space, bits), make)


def _initial_centroids(X: np.ndarray, k: int, init: str | np.ndarray) -> np.ndarray | None:
    """Centroids to start the fine stage from, or None to seed from scratch."""
    if isinstance(init, str):
        return None
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
        self.run = 0  # the Lloyd run under way (a race, a histogram level, the last on all colours)
        self.runs = 1  # how many there will be

    def begin(self, stage: str, max_iter: int) -> None:
        self.stage, self.limit = stage, self.count + max_iter
        self.run += 1

    def __call__(self, info: IterationInfo) -> bool | None:
        self.count += 1
        if self.callback is None:
            return None
        progress = Progress(
            stage=self.stage,
            iteration=self.count,
            max_iter=self.limit,
            run=self.run,
            runs=self.runs,
            inertia=info.inertia,
            shift=info.shift,
            centroids=info.centroids,
            sizes=info.sizes,
            color_space=self.color_space,
        )
        return self.callback(progress)


def _finish(
    table: ColorTable,
    palette: np.ndarray,
    color_labels: np.ndarray,
    *,
    k: int,
    color_space: str,
    centroids: np.ndarray,
    started: float,
    inertia: float = 0.0,
    n_iter: int = 0,
    coarse_iter: int = 0,
    converged: bool = True,
    notice: str | None = None,
    keep: int = 0,
) -> Quantized:
    """Order the palette (non-opaque entries first, then by share), add the transparent entry.
    Unused entries are dropped, except the first ``keep`` (fixed colours: marked ``locked``)."""
    counts = np.bincount(color_labels, weights=table.counts, minlength=len(palette)).astype(np.int64)
    used = counts > 0
    used[:keep] = True
    locked = np.zeros(len(palette), bool)
    locked[:keep] = True
    locked = locked[used]
    palette, counts = palette[used], counts[used]
    remap = np.cumsum(used) - 1
    color_labels = remap[color_labels]
    if table.has_alpha:
        palette = with_alpha(palette)
        if table.n_transparent:
            palette = np.concatenate([np.zeros((1, 4), np.uint8), palette])
            counts = np.concatenate([[table.n_transparent], counts])
            locked = np.concatenate([[False], locked])
            color_labels = color_labels + 1
    opaque = palette[:, 3] == 255 if palette.shape[1] == 4 else np.ones(len(palette), bool)
    order = np.lexsort((-counts, opaque))
    if table.n_transparent:
        order = np.concatenate([[0], order[order != 0]])
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    color_labels = rank[color_labels]
    return Quantized(
        palette=np.ascontiguousarray(palette[order]),
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
        color_labels=color_labels,
        table=table,
        notice=notice,
        locked=locked[order] if keep else None,
    )


def _with_fixed(table: ColorTable, k: int, fixed: np.ndarray, *, color_space: str, started: float) -> Quantized:
    """No centroid is free to move: the fixed colours, and every colour of the image besides when
    they all fit, each pixel on its nearest entry."""
    k_colors = max(1, k - (1 if table.n_transparent else 0))
    channels = table.colors.shape[1]
    entries = with_alpha(fixed, channels)
    if len(table.colors) + len(fixed) <= k_colors:
        entries = np.concatenate([entries, table.colors])
    coords = to_working(entries, color_space).astype(np.float32)
    labels = find_closest_centroids(table.coords(color_space), coords)
    return _finish(table, entries, labels, k=k, color_space=color_space, centroids=coords, started=started,
                   keep=len(fixed))


def map_to_palette(image: np.ndarray | ColorTable, palette: np.ndarray, *,
                   color_space: str = DEFAULT_COLOR_SPACE) -> Quantized:
    """Each colour on its nearest entry of ``palette`` ((n, 3) uint8), measured in ``color_space``
    (no k-means).  The result's palette is ``palette`` in its order, unused entries too, so an
    index means the same colour in every image mapped to it; a last, transparent entry is added
    when the image has fully transparent pixels.  ``dither`` works on the result as on any."""
    started = time.perf_counter()
    table = image if isinstance(image, ColorTable) else ColorTable.from_pixels(image)
    palette = np.asarray(palette, dtype=np.uint8)
    if palette.ndim != 2 or palette.shape[1] not in (3, 4) or not 1 <= len(palette) <= MAX_K - (
            1 if table.n_transparent else 0):
        raise ValueError(f"a palette of {len(palette)} colours cannot be used here")
    color_labels = nearest_entries(table, palette, color_space)
    out = with_alpha(palette) if table.has_alpha else palette  # (a table has 4 channels only with alpha)
    if table.n_transparent:
        out = np.concatenate([out, np.zeros((1, 4), np.uint8)])
    counts = np.bincount(color_labels, weights=table.counts, minlength=len(out)).astype(np.int64)
    if table.n_transparent:
        counts[-1] = table.n_transparent
    return Quantized(palette=out, counts=counts, k=len(out), color_space=color_space, inertia=0.0, n_iter=0,
                     coarse_iter=0, converged=True, distinct_colors=table.n_colors,
                     seconds=time.perf_counter() - started, centroids=to_working(out, color_space),
                     color_labels=color_labels, table=table, transparent_label=len(out) - 1,
                     locked=np.arange(len(out)) < len(palette))


def nearest_entries(table: ColorTable, palette: np.ndarray, color_space: str) -> np.ndarray:
    """(M,) int32: each of the table's colours' nearest entry of ``palette`` (n, 3|4) in
    ``color_space``, never a fully transparent entry (those stand for the transparent pixels)."""
    visible = np.flatnonzero(palette[:, 3] > 0) if palette.shape[1] == 4 else np.arange(len(palette))
    if not len(table.colors):
        return np.zeros(0, np.int32)
    wide = max(palette.shape[1], table.colors.shape[1])
    colours, entries = with_alpha(table.colors, wide), with_alpha(palette[visible], wide)
    here = table.coords(color_space) if colours is table.colors else to_working(colours, color_space)
    nearest = find_closest_centroids(here, to_working(entries, color_space).astype(np.float32))
    return visible[nearest].astype(np.int32)


def in_order(result: Quantized, first: np.ndarray) -> Quantized:
    """``result`` with its palette reordered: the colours of ``first`` ((F, 3), all in it) first, in
    that order, then the rest as they were (labels follow)."""
    palette = result.palette
    head = [int(np.flatnonzero((palette[:, :3] == colour).all(axis=1) & (palette.shape[1] == 3
                                                                          or palette[:, 3] == 255))[0])
            for colour in np.asarray(first, np.uint8).reshape(-1, 3)]
    taken = set(head)
    order = np.array(head + [i for i in range(len(palette)) if i not in taken])
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return replace(result, palette=palette[order], counts=result.counts[order], color_labels=rank[result.color_labels],
                   transparent_label=int(rank[result.transparent_label]),
                   locked=None if result.locked is None else result.locked[order])


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


def result_quality(table: ColorTable, result: Quantized, channels: int) -> Quality:
    """MSE, PSNR and mean ΔE of an undithered ``result`` against the image ``table`` was made from
    (``channels``: 3 or 4, as the image's pixels), computed on its distinct colours."""
    return color_quality(table.colors, table.counts, result.palette[result.color_labels], n_pixels=table.n_pixels,
                         channels=channels)
