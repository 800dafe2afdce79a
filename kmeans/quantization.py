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
from dataclasses import dataclass

import numpy as np

from kmeans.colorspace import COLOR_SPACES, from_working, to_working, with_alpha
from kmeans.colortable import ColorTable
from kmeans.defaults import DEFAULT_COLOR_SPACE, DEFAULT_INIT, DEFAULT_MAX_ITER, DEFAULT_SEED, MAX_K
from kmeans.errors import Cancelled, CancelToken
from kmeans.init import init_centroids
from kmeans.lloyd import IterationInfo, KMeansResult, LloydRuns, find_closest_centroids
from kmeans.quantized import Progress, ProgressCallback, Quantized, finish
from kmeans.swaps import swap_entries
from kmeans.wording import count

#: A stage stops when an iteration gains less than this share of the inertia.  ``balanced`` stops
#: earlier: its iterations between 0.5% and 0.3% move mean ΔE very little and cost about a third of
#: the time at K=256 (bench_quantize.py).
STOP_GAIN = {"balanced": 5e-3, "rgb": 3e-3, "oklab": 3e-3}
SEED_SAMPLE = 4096  # k-means++ seeds on a sample of this many bins or colours when there are twice as many
_RACE_RTOL = 1e-2  # seedings race until an iteration gains less than 1%
#: Spaces whose palettes are judged by eye: the coarse stage moves entries by ΔE swaps (``kmeans.swaps``).
SWAP_SPACES = ("balanced",)
#: Above this many clusters swaps are skipped: on a test card they lower mean ΔE by little there
#: for much more time, and photos' histograms are too coarse for them anyway (bench_quantize.py --cards).
SWAP_MAX_K = 64
_LEVEL_BITS = (4, 5, 6, 7)  # histogram depths tried, coarse first
_POINTS_PER_CLUSTER = 12  # the coarsest level needs this many bins per cluster to seed well
_MIN_LEVEL = 4096  # smaller histograms lose too much of the image's colour distribution
_LEVEL_GROWTH = 3  # a level must be this many times larger than the one before
_LEVEL_SHRINK = 2  # and this many times smaller than the full set
#: Below this many bins per cluster a level leaves the centroids far from where the full set settles
#: them, so the next level is used once it is ``_LEVEL_SHRINK`` times larger (dice.png at K=256 has
#: 37 bins per cluster at 5 bits, and is faster with its 6-bit level too: bench_quantize.py --compare).
_SETTLED_POINTS = 64


@dataclass(frozen=True)
class Effort:
    """How hard ``quantize`` works besides its iteration limit (the defaults are the product's).

    ``tol`` ends a Lloyd run when the squared centroid shift is under it (scaled by the samples'
    spread); ``stop_gain`` when an iteration lowers the inertia by less than that share of it (None:
    the colour space's own, ``STOP_GAIN``); ``seedings`` are the rival starts raced on the coarsest
    histogram (None: 1 where ΔE swaps run, as they move misplaced entries, which is what more
    seedings were for; else 6 for K <= 32, where palettes vary most between seeds; else 1);
    ``accelerate``: over-relaxed Lloyd steps (see ``kmeans.fit``).
    """

    tol: float = 1e-4
    stop_gain: float | None = None
    seedings: int | None = None
    accelerate: bool = True


def quantize(
    image: np.ndarray | ColorTable,
    k: int,
    *,
    color_space: str = DEFAULT_COLOR_SPACE,
    init: str | np.ndarray = DEFAULT_INIT,
    seed: int = DEFAULT_SEED,
    max_iter: int = DEFAULT_MAX_ITER,
    fixed: np.ndarray | None = None,
    callback: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    effort: Effort = Effort(),
    fine_on: ColorTable | None = None,
) -> Quantized:
    """Reduce an image to at most ``k`` colours by k-means.

    Parameters
    ----------
    image : (H, W, 3|4) uint8 pixels, or the ``ColorTable`` of an image (reused across calls).
    k : palette size, 1..256, counting the transparent entry when the image has one.
    color_space : "balanced", "rgb" or "oklab", where distances are measured (``kmeans.colorspace``).
    init : "k-means++", "random", or a (k', d) array of working-space centroids (k' clusters: k,
        or k - 1 when the image has a transparent entry).
    seed : seeds the one random generator every stage draws from.
    max_iter : bounds each stage's Lloyd iterations.
    fixed : (F, 3) uint8 colours the palette keeps exactly (counted in K): pixels are assigned to
        them as to any entry, and only the other K - F centroids move.
    callback : called with a ``Progress`` after every iteration; returning False cancels.
    cancel : a token whose ``is_set()`` cancels after the current iteration.
    effort : stopping rules and seedings (``Effort``).
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
    fixed = _distinct_fixed(fixed, table, k)
    if fine_on is not None and (fine_on.colors.shape[1] != table.colors.shape[1]
                                or len(table.colors) <= _free_slots(table, k)):
        table, fine_on = fine_on, None  # (the whole image's histograms would not help: all on the sample)
    run = _Run(table, k, color_space, seed, max_iter, effort, callback, cancel, started)
    return run.without_kmeans(fixed) or run.kmeans(init, fixed, fine_on)


def _free_slots(table: ColorTable, k: int) -> int:
    """The palette entries left for colours: K less the transparent entry, when there is one."""
    return max(1, k - (1 if table.n_transparent else 0))


def _distinct_fixed(fixed: np.ndarray | None, table: ColorTable, k: int) -> np.ndarray | None:
    """The fixed colours, each once, or None; ValueError when they do not fit in the palette."""
    if fixed is None:
        return None
    fixed = np.unique(np.asarray(fixed, dtype=np.uint8).reshape(-1, 3), axis=0)
    if len(fixed) > _free_slots(table, k):
        raise ValueError(f"{len(fixed)} fixed colours do not fit in a palette of {k}"
                         + (" (one entry is the transparent one)" if table.n_transparent else ""))
    return fixed if len(fixed) else None


class _Run:
    """One ``quantize`` call: the table, space and settings every stage shares, the one random
    generator, and the relay that numbers iterations across stages."""

    def __init__(self, table: ColorTable, k: int, color_space: str, seed: int, max_iter: int, effort: Effort,
                 callback: ProgressCallback | None, cancel: CancelToken | None, started: float):
        self.table, self.k, self.space = table, k, color_space
        self.k_colors = _free_slots(table, k)
        self.transparent = 1 if table.n_transparent else 0  # (the whole image's, when the last stage is on a sample)
        self.rng = np.random.default_rng(seed)
        self.max_iter, self.effort, self.cancel, self.started = max_iter, effort, cancel, started
        self.stop_gain = STOP_GAIN[color_space] if effort.stop_gain is None else effort.stop_gain
        self.relay = _Relay(callback, color_space)

    def finish(self, palette: np.ndarray, color_labels: np.ndarray, centroids: np.ndarray, **result) -> Quantized:
        return finish(self.table, palette, color_labels, k=self.k, color_space=self.space, centroids=centroids,
                      started=self.started, **result)

    # -- the cases with nothing for k-means to do -------------------------------------------------

    def without_kmeans(self, fixed: np.ndarray | None) -> Quantized | None:
        """The result when no centroid has anywhere to go (no colours, no free entry, or a colour
        for every entry), else None."""
        table, k_colors, m = self.table, self.k_colors, len(self.table.colors)
        if m == 0:  # nothing but transparent pixels
            return self.finish(np.zeros((0, 4), np.uint8), np.zeros(0, np.int32), np.zeros((0, 4), np.float32))
        if fixed is not None and (m + len(fixed) <= k_colors or len(fixed) == k_colors):
            return self._fixed_only(fixed)
        if m <= k_colors:
            notice = (f"The image has only {count(table.n_colors, 'distinct colour')}, so the palette has "
                      f"{count(table.n_colors, 'entry', 'entries')} instead of {self.k}.") \
                if table.n_colors < self.k else None
            return self.finish(table.colors, np.arange(m, dtype=np.int32), table.coords(self.space), notice=notice)
        return None

    def _fixed_only(self, fixed: np.ndarray) -> Quantized:
        """The fixed colours, and every colour of the image besides when they all fit, each pixel
        on its nearest entry."""
        table = self.table
        entries = with_alpha(fixed, table.colors.shape[1])
        if len(table.colors) + len(fixed) <= self.k_colors:
            entries = np.concatenate([entries, table.colors])
        coords = to_working(entries, self.space).astype(np.float32)
        labels = find_closest_centroids(table.coords(self.space), coords)
        return self.finish(entries, labels, coords, keep=len(fixed))

    # -- k-means, coarse to fine ----------------------------------------------------------------

    def kmeans(self, init: str | np.ndarray, fixed: np.ndarray | None, fine_on: ColorTable | None) -> Quantized:
        """Seed and settle on histograms, then on every colour (of ``fine_on`` when given)."""
        table, space, k_colors = self.table, self.space, self.k_colors
        X = table.coords(space)
        start = _initial_centroids(X, k_colors, init)
        method = init if isinstance(init, str) else "k-means++"
        if start is None:
            start = self.on_histograms(method)
        coarse_iter = self.relay.count
        fixed_coords = None
        if fixed is not None:
            # The fixed colours take the places of the centroids nearest them (where an unlocked run
            # was heading): the free ones start where it would have gone on.
            fixed_coords = to_working(with_alpha(fixed, table.colors.shape[1]), space).astype(X.dtype)
            begin = start if start is not None else _seeds(X, table.counts.astype(np.float64), k_colors, self.rng,
                                                           method)
            start = np.concatenate([fixed_coords, _without_nearest(begin, fixed_coords)])
        if fine_on is not None:
            self.table = table = fine_on
            if len(table.colors) <= k_colors:
                return self.finish(table.colors, np.arange(len(table.colors), dtype=np.int32), table.coords(space))
        return self.on_colours(start, method, fixed, fixed_coords, coarse_iter)

    def on_histograms(self, method: str) -> np.ndarray | None:
        """Centroids settled on the image's colour histograms, coarse to fine: rival seedings race
        (or ΔE swaps move entries) on the coarsest, then Lloyd on each level.  None when the image
        has too few colours for any histogram."""
        table, k_colors = self.table, self.k_colors
        levels = level_bits(table, k_colors)
        if not levels:
            return None
        race_bits = _race_bits(table, k_colors, levels[0])
        # ΔE swaps run on the race histogram when it is coarser than the first level (so they stay cheap).
        swapping = self.space in SWAP_SPACES and k_colors <= SWAP_MAX_K and race_bits < levels[0]
        seedings = self.effort.seedings
        if seedings is None:
            seedings = 1 if swapping else 6 if k_colors <= 32 else 1
        racing = seedings > 1 or swapping
        self.relay.runs = (seedings if racing else 0) + len(levels) + 1
        start = None
        if racing:
            rx, rw = _histogram(table, self.space, race_bits)
            rivals = LloydRuns(rx, k_colors, rw)
            races = [self.lloyd(rivals, method, "seeding", max(self.stop_gain, _RACE_RTOL)) for _ in range(seedings)]
            start = min(races, key=lambda r: r.inertia).centroids
            if swapping:
                start = swap_entries(rx, rw, start, color_space=self.space, rng=self.rng, rtol=self.stop_gain,
                                     cancel=self.cancel)
        for bits in levels:
            cx, cw = _histogram(table, self.space, bits)
            if start is None:
                start = _seeds(cx, cw, k_colors, self.rng, method)
            start = self.lloyd(LloydRuns(cx, k_colors, cw), start, "coarse", self.stop_gain).centroids
        return start

    def on_colours(self, start: np.ndarray | None, method: str, fixed: np.ndarray | None,
                   fixed_coords: np.ndarray | None, coarse_iter: int) -> Quantized:
        """The last stage, on every distinct colour; its final assignment is to the rounded palette
        (the fixed colours exactly), so each colour's label is its nearest entry of the file."""
        table, space, k_colors = self.table, self.space, self.k_colors
        X, weights = table.coords(space), table.counts.astype(np.float64)
        pinned = 0 if fixed is None else len(fixed)

        def rounded(centroids: np.ndarray) -> np.ndarray:
            out = to_working(from_working(centroids, space), space)
            if pinned:
                out[:pinned] = fixed_coords  # (exactly the fixed colours, whatever the rounding)
            return out

        if start is None:  # (no histogram level: seeded on the colours themselves)
            start = _seeds(X, weights, k_colors, self.rng, method)
        res = self.lloyd(LloydRuns(X, k_colors, weights), start, "fine", self.stop_gain, snap=rounded, pinned=pinned)
        palette = from_working(res.centroids, space)
        if pinned:
            palette[:pinned] = with_alpha(fixed, table.colors.shape[1])
        unique = len(np.unique(palette, axis=0))
        transparent = self.transparent
        notice = None
        if unique + transparent < min(self.k, table.n_colors):
            notice = (f"{count(k_colors - unique, 'centroid')} rounded to colours already in the palette, "
                      f"so it has {count(unique + transparent, 'entry', 'entries')} instead of {self.k}.")
        return self.finish(palette, res.labels, res.centroids, inertia=res.inertia, n_iter=self.relay.count,
                           coarse_iter=coarse_iter, converged=res.converged, notice=notice, keep=pinned)

    def lloyd(self, samples: LloydRuns, begin: str | np.ndarray, stage: str, stop_gain: float, snap=None,
              pinned: int = 0) -> KMeansResult:
        """One Lloyd run of a stage, reported through the relay; ``Cancelled`` when stopped."""
        self.relay.begin(stage, self.max_iter)
        result = samples.run(begin, rng=self.rng, max_iter=self.max_iter, tol=self.effort.tol, rtol=stop_gain,
                             callback=self.relay, cancel=self.cancel, accelerate=self.effort.accelerate, snap=snap,
                             pinned=pinned)
        if result.stopped:
            raise Cancelled("quantization cancelled")
        return result


def _seeds(X: np.ndarray, w: np.ndarray, k: int, rng: np.random.Generator, method: str = "k-means++") -> np.ndarray:
    """``k`` initial centroids for the weighted samples ``X``, in X's dtype.  k-means++ costs K
    passes over its points, so with more than twice ``SEED_SAMPLE`` it seeds on a sample of them."""
    if method == "k-means++" and len(X) > 2 * SEED_SAMPLE:
        pick = rng.choice(len(X), SEED_SAMPLE, replace=False)
        X, w = X[pick], w[pick]
    return init_centroids(X, k, method=method, weights=w, seed=rng).astype(X.dtype)


def _without_nearest(centroids: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """``centroids`` less, for each fixed colour in turn, the one nearest it."""
    left = list(range(len(centroids)))
    for point in fixed:
        gaps = ((centroids[left] - point) ** 2).sum(axis=1)
        left.pop(int(np.argmin(gaps)))
    return centroids[left]


def level_bits(table: ColorTable, k: int) -> list[int]:
    """Bit depths of the colour histograms ``quantize`` converges on before the full set, coarse first.

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
