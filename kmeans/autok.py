"""Choosing K: this image's quality/size curve, and the K that meets a quality or size target.

Two tools, one for looking and one for choosing:

- ``CurveSample`` + ``estimate`` give a point of the curve (ΔE, PSNR, export size at a K) in a
  fraction of a full run: k-means' histogram stages on the whole image (so it settles where a full
  run does), its last stage and the quality on a random sample of the pixels, the size on bands of
  whole rows (which keep the image's spatial structure).  For charts and for a first guess only.
- ``search`` finds the K with real, reproducible runs (``evaluate`` is the caller's full run), so
  the file written for a target is the file ``-k K`` writes.

How the choice is made where the curve is not monotone: the search brackets the target around a
guess and halves the bracket, so the chosen K meets the target and K-1 does not (for a size: K fits
and K+1 does not).  Quality almost always improves with K, but k-means can land a little worse at
K+1 than at K; a smaller K further away may then also meet the target, and is not looked for.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from kmeans import frame_palettes
from kmeans.animation import Animation, dither_frames, split
from kmeans.colorspace import with_alpha
from kmeans.colortable import ColorTable
from kmeans.defaults import FULL_DITHER, MAX_K, MIN_K
from kmeans.errors import CancelToken, KMeansImageError
from kmeans.metrics import Quality
from kmeans.options import Options, Target
from kmeans.quantized import Quantized

#: The K values a curve is drawn through, 2 to 256: steps of about √2 where the curve bends (its knee
#: is almost always below 32), doublings above, where it is smooth.
CURVE_KS = (2, 3, 4, 6, 8, 12, 16, 24, 32, 64, 128, 256)
COARSE_KS = (4, 16, 64, 256)  # enough of the curve for a first guess
LARGE_IMAGE = 1 << 20  # pixels above which the first guess comes from a sample, not from real runs

#: Named quality levels as mean CIEDE2000 over the pixels.  ΔE00 = 1 is the usual just-noticeable
#: difference for two colours side by side (Sharma, Wu & Dalal 2005; the CIE's own aim for the
#: formula); graphic-arts tolerances call up to 2 a close match seen only on close comparison and
#: 3-5 a difference noticed at a glance that still reads as the same colour (ISO 12647 / G7 use
#: ΔE00 of 2-3 for proofs).  A mean over a photo hides larger errors in small areas, so these are
#: the stricter ends of each band.
QUALITY_LEVELS: dict[str, float] = {
    "visually lossless": 1.0,
    "high": 2.0,
    "good": 3.0,
    "small file": 5.0,
}

FIT_PIXELS = 1 << 16  # pixels k-means sees for a curve point (a random sample)
MEASURE_PIXELS = 1 << 18  # pixels measured for a curve point (whole rows, in bands)
WHOLE_ANIMATION_PIXELS = 1 << 22  # an animation up to this many pixels (all frames) is measured whole
BAND_ROWS = 8  # rows per band (16 on small images): deflate and LZW see each row beside the ones above


@dataclass(frozen=True)
class Point:
    """How the export looks and weighs at one K: ``entries`` colours, PSNR (dB), mean ΔE, bytes."""

    k: int
    entries: int
    psnr: float
    delta_e: float
    size: int


class Unreachable(KMeansImageError):
    """No K from 2 to 256 meets the target; ``best`` is the closest point there is."""

    def __init__(self, message: str, best: Point):
        super().__init__(message)
        self.best = best


@dataclass(frozen=True)
class Choice:
    """The K a search chose (``point`` its real result), every point it ran, and why, in words."""

    k: int
    point: Point
    tried: dict[int, Point]
    reason: str
    met: bool = True  # False: no K meets the target, and this is the closest (the window shows it)


def search(evaluate: Callable[[int], Point], target: Target, guess: int | None = None,
           known: dict[int, Point] | None = None, lowest: int = MIN_K) -> Choice:
    """The smallest K in ``lowest``..256 that meets a quality target (the largest that fits a size
    target), found with ``evaluate``'s real runs around ``guess``: K meets it and K-1 does not (K+1
    does not fit).  ``known`` are real runs made already (they bound the search).  Raises
    ``Unreachable`` (with the best point) when no K does."""
    tried: dict[int, Point] = {k: p for k, p in (known or {}).items() if k >= lowest}

    def run(k: int) -> Point:
        if k not in tried:
            tried[k] = evaluate(k)
        return tried[k]

    # A size target is a quality target read backwards: larger K, larger file.
    def to_k(i: int) -> int:
        return MAX_K + lowest - i if target.by_size else i

    def ok(i: int) -> bool:
        return target.met(run(to_k(i)))

    # What the known runs already say: everything at or below ``floor`` fails, ``ceiling`` meets.
    meeting = [to_k(k) for k, p in tried.items() if target.met(p)]
    ceiling = min(meeting, default=MAX_K + 1)
    floor = max((to_k(k) for k, p in tried.items() if not target.met(p) and to_k(k) < ceiling), default=lowest - 1)
    i = to_k(min(max(guess, lowest), MAX_K)) if guess is not None else (floor + min(ceiling, MAX_K)) // 2
    i = min(max(i, floor + 1, lowest), ceiling if ceiling <= MAX_K else MAX_K)
    if ceiling <= MAX_K:  # the known runs bracket it already: narrow that down
        lo, hi = floor, ceiling
    elif ok(i):
        hi, step = i, 1
        while hi - step > floor and hi - step >= lowest and ok(hi - step):
            hi, step = hi - step, step * 2
        lo = max(hi - step, floor)
    else:
        lo, step, hi = i, 1, None
        while hi is None:
            j = min(lo + step, ceiling, MAX_K)
            if j == ceiling or ok(j):
                hi = j
            elif j == MAX_K:
                best = run(to_k(MAX_K))
                raise Unreachable(_unreachable(target, best), best)
            else:
                lo, step = j, step * 2
    slow = 0  # interpolation steps in a row that did not halve the bracket
    while hi - lo > 1:
        mid = (lo + hi) // 2 if slow >= 2 else _between(tried, target, to_k, lo, hi)
        width = hi - lo
        if ok(mid):
            hi = mid
        else:
            lo = mid
        slow = slow + 1 if 2 * (hi - lo) > width else 0
    k = to_k(hi)
    return Choice(k, tried[k], dict(sorted(tried.items())), _reason(target, tried, k, lowest))


def choose(evaluate: Callable[[int], Point], target: Target, n_pixels: int,
           estimator: Callable[[], Callable[[int], Point]], lowest: int = MIN_K) -> Choice:
    """``search`` from ``lowest`` up, with a first guess from a few points of the curve: real runs
    on a small image (as cheap as estimates there, and they bound the search), estimates from
    ``estimator()`` on a large one (plus one more where the coarse curve crosses the target)."""
    if n_pixels <= LARGE_IMAGE:
        known = {k: evaluate(k) for k in COARSE_KS if k >= lowest}
        return search(evaluate, target, guess(known.values(), target), known, lowest)
    estimated = estimator()
    points = [estimated(k) for k in COARSE_KS]
    first = guess(points, target)
    if first is not None and first not in COARSE_KS:
        points.append(estimated(first))
    return search(evaluate, target, guess(points, target), lowest=lowest)


def _between(tried: dict[int, Point], target: Target, to_k: Callable[[int], int], lo: int, hi: int) -> int:
    """Where, strictly between ``lo`` and ``hi``, the target's value crosses its limit, interpolated
    on log K between the runs at both ends (the middle when one end was never run)."""
    a, b = tried.get(to_k(lo)), tried.get(to_k(hi))
    k = None if a is None or b is None else _crossing(a, b, target)
    if k is None:
        return (lo + hi) // 2
    return min(max(to_k(round(k)), lo + 1), hi - 1)


def _crossing(a: Point, b: Point, target: Target) -> float | None:
    """The K between ``a`` and ``b`` where the target's value reaches its limit, interpolated on
    log K; None when their values cannot tell (equal, or one not finite, as a lossless PSNR)."""
    va, vb = _value(a, target), _value(b, target)
    if not (math.isfinite(va) and math.isfinite(vb)) or va == vb:
        return None
    t = min(max((target.value - va) / (vb - va), 0.0), 1.0)
    return math.exp(math.log(a.k) + t * (math.log(b.k) - math.log(a.k)))


def _unreachable(target: Target, best: Point) -> str:
    if target.by_size:
        return f"cannot be made that small: {target.measure(best)} at {best.k} colours, the fewest"
    return f"needs more than {MAX_K} colours: {target.measure(best)} at {MAX_K}"


def _reason(target: Target, tried: dict[int, Point], k: int, lowest: int) -> str:
    point = tried[k]
    neighbour = k + 1 if target.by_size else k - 1
    why = f"{target.measure(point)} meets {target.words()}"
    if neighbour in tried:
        verb = "would not fit" if target.by_size else "would not meet it"
        why += f"; {neighbour} colours {verb} ({target.measure(tried[neighbour])})"
    elif target.by_size and k == MAX_K:
        why += f"; {MAX_K} is the most a palette holds"
    elif not target.by_size and k == lowest:
        why += f"; {lowest} is the fewest" + ("" if lowest == MIN_K else " that hold the fixed colours")
    return why


# -- the curve ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CurveSample:
    """What a curve is estimated from: the shown image's colour table (k-means' histogram stages run
    on it: they decide where k-means settles), a random sample of its pixels (its last stage and
    the quality), and bands of whole rows (original and shown: the size), with the height and dpi."""

    table: ColorTable
    fit: ColorTable
    fit_original: np.ndarray
    rows_original: np.ndarray
    rows_shown: np.ndarray
    rows: ColorTable
    height: int
    support: str
    dpi: tuple[float, float] | None
    animation: Animation | None = None  # an animation's bands are the same rows of every frame

    @classmethod
    def of(cls, original: np.ndarray, shown: np.ndarray, support: str, dpi: tuple[float, float] | None = None,
           table: ColorTable | None = None, animation: Animation | None = None) -> CurveSample:
        """The sample of an image: ``shown`` is what k-means works on for the format's ``support``,
        ``table`` its colour table when the caller has it already.  With ``animation`` (its frames
        stacked top to bottom), the bands are the same rows in every frame, so their size is that
        of an animation whose frames change where the whole one's do."""
        h, w = shown.shape[:2]
        flat = shown.reshape(h * w, -1)
        if h * w > FIT_PIXELS:
            picked = np.sort(np.random.default_rng(0).choice(h * w, FIT_PIXELS, replace=False))
            fit_original = original.reshape(h * w, -1)[picked].reshape(1, FIT_PIXELS, -1)
            fit = ColorTable.from_pixels(flat[picked].reshape(1, FIT_PIXELS, -1))
        else:
            fit_original, fit = original, ColorTable.from_pixels(shown)
        frames = animation.frames if animation is not None else 1
        # An animation's changes can be a few small places (a pointer, a line of text) that bands
        # would miss or hit by chance: a small one is measured whole.
        take = np.arange(h // frames) if frames > 1 and h * w <= WHOLE_ANIMATION_PIXELS else \
            _band_rows(h // frames, w, h * w)
        if frames > 1:
            take = (np.arange(frames)[:, None] * (h // frames) + take[None, :]).ravel()
        rows_shown = np.ascontiguousarray(shown[take])
        table = table if table is not None else ColorTable.from_pixels(shown)
        return cls(table, fit, fit_original, np.ascontiguousarray(original[take]), rows_shown,
                   ColorTable.from_pixels(rows_shown), h, support, dpi, animation if frames > 1 else None)


def _band_rows(h: int, w: int, pixels: int) -> np.ndarray:
    """The rows (of ``h``, ``w`` wide) whose size stands for the whole's: all of a small image,
    else bands spread over it; ``pixels`` is the whole's count (every frame of an animation)."""
    if pixels <= MEASURE_PIXELS // 2:  # all of it
        measured, band = pixels, h
    elif pixels <= 4 * MEASURE_PIXELS:  # half the rows, in longer bands: small files compress across more rows
        measured, band = pixels // 2, 2 * BAND_ROWS
    else:
        measured, band = MEASURE_PIXELS, BAND_ROWS
    measured = measured * h * w // pixels  # (an animation's share of one frame)
    band = min(band, h)
    bands = max(1, min(h // band, math.ceil(measured / (band * w))))
    if bands * band >= h:
        return np.arange(h)
    starts = np.linspace(0, h - band, bands).round().astype(int)
    return (starts[:, None] + np.arange(band)).ravel()


def estimate(sample: CurveSample, k: int, options: Options, cancel: CancelToken | None = None, *,
             sizes: bool = True) -> Point:
    """The export at ``k`` as a full run would make it with ``options`` (their K and kept colours
    aside: the curve is unlocked k-means), estimated on the sample (see the module); without
    ``sizes`` the size is left 0 and only the quality is worked out."""
    from kmeans.dither import dither
    from kmeans.mapping import nearest_entries
    from kmeans.quantization import quantize
    from kmeans.transparency import file_quality

    fitted = quantize(sample.table, k, color_space=options.color_space, init=options.init, seed=options.seed,
                      max_iter=options.max_iter, cancel=cancel, fine_on=sample.fit)
    if not options.dither:  # the random sample stands for the whole image better than a few bands do
        quality = file_quality(sample.fit_original, sample.fit, fitted.palette, fitted.color_labels,
                               sample.support, options.matte)
        if not sizes:
            return Point(k, len(fitted.palette), quality.psnr, quality.delta_e, 0)
    palette = fitted.palette
    if sample.rows.n_transparent and not (palette.shape[1] == 4 and len(palette) and palette[0, 3] == 0):
        palette = np.concatenate([np.zeros((1, 4), np.uint8), with_alpha(palette)])  # the rows need the entry
    color_labels = nearest_entries(sample.rows, palette, options.color_space)
    on_rows = replace(fitted, palette=palette, color_labels=color_labels, table=sample.rows, transparent_label=0)
    colours = len(fitted.palette)
    if sample.animation is not None and options.fmt in frame_palettes.FORMATS and not options.palette_out:
        # (the file's own choice, made on the bands: a palette per frame where measured better)
        on_rows = frame_palettes.choose(sample.rows_shown, sample.animation, on_rows, k=k, options=options,
                                        cancel=cancel, fit_pixels=FIT_PIXELS // sample.animation.frames)
        if on_rows.frames is not None:
            palette, colours = on_rows.palette, on_rows.colours
            if not options.dither:  # (the random sample knows nothing of the frames' palettes: every n-th pixel)
                quality = _quality_every(sample, on_rows, options)
    labels = on_rows.labels
    if options.dither:  # error diffusion needs whole rows
        level = options.dither / FULL_DITHER  # (an animation's frame by frame, still where it is, as the file's)
        if on_rows.frames is not None:
            labels = frame_palettes.dither_each(sample.rows_shown, on_rows, level)
        elif sample.animation is None:
            labels = dither(sample.rows_shown, on_rows, level)
        else:
            labels = dither_frames(sample.rows_shown, on_rows, level, sample.animation.frames)
        quality = file_quality(sample.rows_original, on_rows.table, palette, on_rows.color_labels, sample.support,
                               options.matte, labels=labels)
    size = _size(sample, palette, labels, options.fmt, on_rows.frame_entries) if sizes else 0
    return Point(k, colours, quality.psnr, quality.delta_e, size)


def _quality_every(sample: CurveSample, result: Quantized, options: Options) -> Quality:
    """The quality of ``result`` on the sample's rows, from every n-th pixel of them, up to
    ``FIT_PIXELS`` (as many as the undithered estimate of one palette measures)."""
    from kmeans.transparency import file_quality

    channels = sample.rows_original.shape[-1]
    labels = result.labels
    step = max(1, labels.size // FIT_PIXELS)
    original = sample.rows_original.reshape(-1, channels)[::step][None]
    return file_quality(original, result.table, result.palette, result.color_labels, sample.support, options.matte,
                        labels=labels.reshape(-1)[::step][None])


def _size(sample: CurveSample, palette: np.ndarray, labels: np.ndarray, fmt: str,
          frame_entries: tuple[int, ...] | None = None) -> int:
    """The export's bytes, scaled from the bands' to the whole image's height (an animation's: the
    bands of every frame, as an animation, to the frames' height)."""
    from kmeans.imagefile import encode
    from kmeans.png import estimated_size

    animation = sample.animation
    if animation is None and fmt == "png":
        return estimated_size(palette, labels, sample.height, dpi=sample.dpi)
    frames = animation.frames if animation is not None else 1
    rows = split(labels, frames)  # (frames, rows of each, W)
    # The first row of each frame carries the headers.
    first = len(encode(palette, np.ascontiguousarray(rows[:, :1]).reshape(frames, -1), fmt, dpi=sample.dpi,
                       animation=animation, frame_entries=frame_entries))
    rest = len(encode(palette, labels, fmt, dpi=sample.dpi, animation=animation, frame_entries=frame_entries)) - first
    return first + round(rest * (sample.height // frames - 1) / max(rows.shape[1] - 1, 1))


def curve(sample: CurveSample, options: Options, ks: Iterable[int] = CURVE_KS,
          cancel: CancelToken | None = None) -> Iterator[Point]:
    """``estimate`` at each K, one at a time (stops between points once ``cancel`` is set)."""
    for k in ks:
        if cancel is not None and cancel.is_set():
            return
        yield estimate(sample, k, options, cancel)


def guess(points: Iterable[Point], target: Target) -> int | None:
    """The K where the curve crosses ``target``, interpolated on log K; None when it never does."""
    points = sorted(points, key=lambda p: p.k)
    if not points:
        return None
    if target.by_size:
        points = points[::-1]
    previous = None
    for point in points:
        if target.met(point):
            if previous is None:
                return point.k
            k = _crossing(previous, point, target)
            if k is None:  # (halfway, on log K)
                k = math.sqrt(previous.k * point.k)
            return min(max(round(k), MIN_K), MAX_K)
        previous = point
    return None


def _value(point: Point, target: Target) -> float:
    return {"delta_e": point.delta_e, "psnr": point.psnr, "size": float(point.size)}[target.kind]


def knee(points: Iterable[Point]) -> int | None:
    """The K at the curve's knee: where ΔE against log K bends most, the point farthest below the
    chord from the first point to the last (both axes scaled to 0..1).  None for under 3 points."""
    points = sorted(points, key=lambda p: p.k)
    if len(points) < 3:
        return None
    x = np.log([p.k for p in points])
    y = np.array([p.delta_e for p in points])
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    x = (x - x[0]) / (x[-1] - x[0])
    y = (y - y.min()) / np.ptp(y)
    chord = y[0] + (y[-1] - y[0]) * x
    return points[int(np.argmax(chord - y))].k
