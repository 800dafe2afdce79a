"""The image tab's work for its worker threads, as plain functions and plain data.

Everything slow lives here and runs off the GUI thread: decoding, the distinct-colour table, the
downscaled previews, k-means with live frames, dithering, the quality measures and the exact bytes
of an export.  Every export size the window shows and every file it writes comes from
``export_bytes``, the one encode path.  The GUI receives dataclasses holding numpy arrays and
QImages (which keep their pixels alive), never widgets.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import ImageFile
from PySide6.QtGui import QImage

from app.qimage import (
    LIVE_SIDE,
    PREVIEW_SIDE,
    downscale,
    palette_preview,
    palette_qimage,
    quick_preview,
    to_qimage,
)
from app.worker import Token
from kmeans.atomic import write_atomic
from kmeans.autok import Choice, CurveSample, Point, Settings, Target, Unreachable, choose, curve, estimate
from kmeans.colorspace import to_working, with_alpha
from kmeans.colortable import ColorTable
from kmeans.defaults import DEFAULT_COLOR_SPACE, DEFAULT_INIT, DEFAULT_MAX_ITER, DEFAULT_MAX_PIXELS, DEFAULT_SEED
from kmeans.dither import dither
from kmeans.encode_apart import encoded_size
from kmeans.imagefile import LoadedImage, encode, load
from kmeans.lloyd import find_closest_centroids
from kmeans.mapping import in_order
from kmeans.metrics import Quality, bits_per_pixel
from kmeans.quantization import Effort, quantize
from kmeans.quantized import Progress, Quantized
from kmeans.transparency import DEFAULT_MATTE, Matte, file_quality, shown, support_of

FRAME_INTERVAL = 0.4  # seconds between live frames of the image while k-means runs (each costs a pass)
# The first frame waits longer: a run that ends soon after would show its result a moment later
# anyway, and the frame's pass would only have delayed it (on two cores, by 30-70 ms at 10 MP).
FIRST_FRAME_AFTER = 0.75

# Pillow's encoders hold the GIL for one output block at a time: smaller blocks hand it back to
# the GUI thread sooner while a large export is measured or written (same bytes, same speed).
ImageFile.MAXBLOCK = 16 * 1024


@dataclass(frozen=True, eq=False)
class View:
    """The image as an export format can show it (``kmeans.transparency.shown``): what k-means
    works on.  For an opaque image, or one bound for PNG or WebP, nearly the original itself."""

    pixels: np.ndarray
    table: ColorTable
    live_table: ColorTable  # distinct colours of a small copy, for live frames and drag previews


@dataclass(eq=False)
class OpenedImage:
    """An image ready to quantize: decoded, its colour table built, its previews made.  ``shown``
    is the image as PNG and WebP keep it (and as every format shows an opaque image)."""

    loaded: LoadedImage
    shown: View
    original: QImage
    original_preview: QImage
    decoded_at: float = 0.0  # time.perf_counter() when decoding finished
    _views: dict = field(default_factory=dict, repr=False)
    _samples: dict = field(default_factory=dict, repr=False)

    @property
    def pixels(self) -> np.ndarray:
        return self.loaded.pixels

    @property
    def table(self) -> ColorTable:
        return self.shown.table

    def view(self, support: str = "partial", matte: Matte = DEFAULT_MATTE) -> View:
        """The image as a format with this alpha ``support`` shows it (made once, on a worker thread:
        blending a large image with transparency takes a moment)."""
        if support == "partial":
            return self.shown
        key = (support, tuple(matte))
        view = self._views.get(key)
        if view is None:
            view = _view(shown(self.pixels, support, matte))
            # one matte per format kept: trying colours must not pile up copies of a large image
            self._views = {k: v for k, v in self._views.items() if k[0] != support}
            self._views[key] = view
        return view


def _view(pixels: np.ndarray) -> View:
    live = downscale(pixels, LIVE_SIDE, smooth=False)  # only colours the image really has
    return View(pixels, ColorTable.from_pixels(pixels), ColorTable.from_pixels(live))


@dataclass(frozen=True)
class Params:
    """What the user asked for.  ``alpha`` is how much transparency the export format keeps for
    this image ("partial" for an opaque one: nothing to blend) and ``matte`` what GIF and BMP
    blend the rest onto."""

    k: int
    color_space: str = DEFAULT_COLOR_SPACE
    init: str = DEFAULT_INIT
    seed: int = DEFAULT_SEED
    dither: bool = False
    alpha: str = "partial"
    matte: Matte = DEFAULT_MATTE
    fixed: tuple[tuple[int, int, int], ...] = ()  # locked colours, kept exactly
    in_order: bool = False  # the fixed colours are a palette file's: they come first, in its order

    def same_kmeans(self, other: Params | None) -> bool:
        """Whether ``other`` needs the same k-means run (only dithering, or an unused matte, differs)."""
        return other is not None and other._kmeans_key() == self._kmeans_key()

    def same_view(self, other: Params) -> bool:
        """Whether ``other`` quantizes the same pixels (the same view of the image)."""
        return (self.alpha, self._matte_used()) == (other.alpha, other._matte_used())

    def _matte_used(self) -> Matte | None:
        return None if self.alpha == "partial" else tuple(self.matte)

    def _kmeans_key(self) -> tuple:
        return (self.k, self.color_space, self.init, self.seed, self.alpha, self._matte_used(), self.fixed,
                self.in_order)


@dataclass(frozen=True)
class IterationUpdate:
    """One k-means iteration, for the palette view and (now and then) a live frame."""

    progress: Progress
    frame: QImage | None


@dataclass(frozen=True, eq=False)
class Preview:
    """A quick palette for a K the slider is being dragged through, from the small live copy."""

    params: Params
    palette: np.ndarray
    shares: np.ndarray
    frame: QImage


@dataclass(frozen=True, eq=False)
class Outcome:
    """A finished quantization, ready to show: ``preview`` is the image at most PREVIEW_SIDE pixels
    across, every n-th pixel (the image itself when it is that small); ``measure`` makes the
    full-size one and a box-filtered preview."""

    params: Params
    result: Quantized
    dithered: np.ndarray | None  # the dithered labels, when dithering is asked for
    preview: QImage
    seconds: float
    view: View  # the pixels k-means worked on
    choice: Choice | None = None  # how Auto K chose this K, when it did

    @property
    def labels(self) -> np.ndarray:
        """(H, W) uint8: the labels shown and exported (dithered when asked; else made on first read)."""
        return self.result.labels if self.dithered is None else self.dithered

    @property
    def complete(self) -> bool:
        """The preview is the full-size image."""
        return self.preview.width() == self.result.shape[1]

    @property
    def palette(self) -> np.ndarray:
        return self.result.palette


@dataclass(frozen=True, eq=False)
class Measuring:
    """What ``measure`` has found so far: the full-size image and its box-filtered preview first,
    then the quality."""

    image: QImage | None = None
    preview: QImage | None = None
    quality: Quality | None = None


@dataclass(frozen=True)
class Measurement:
    """How good the outcome is and how large its export would be."""

    quality: Quality
    fmt: str
    size: int
    bits_per_pixel: float


@dataclass(frozen=True)
class Exported:
    """A file the window wrote."""

    path: str
    fmt: str
    size: int


def open_image(
    path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS, token: Token | None = None
) -> OpenedImage:
    """Decode a file and prepare everything quantizing it needs.

    Raises ``ImageTooLargeError`` (before decoding) over ``max_pixels``, ``ImageLoadError`` when
    the file cannot be read.
    """
    loaded = load(path, max_pixels=max_pixels)
    decoded_at = time.perf_counter()
    if token is not None:
        token.check()
    return OpenedImage(
        loaded=loaded,
        shown=_view(shown(loaded.pixels, "partial")),  # (nearly invisible pixels made transparent)
        original=to_qimage(loaded.pixels),
        original_preview=to_qimage(downscale(loaded.pixels, PREVIEW_SIDE)),  # Pillow frees the GIL
        decoded_at=decoded_at,
    )


def run_quantize(opened: OpenedImage, params: Params, token: Token | None, previous: Outcome | None = None, *,
                 live: bool = True, preview_side: int = PREVIEW_SIDE) -> Outcome:
    """k-means on the view of the image ``params`` ask for, with a progress report every iteration
    (``live``); reuses ``previous`` if only dithering changed.  Stops once ``token`` is cancelled.
    The outcome's preview is at most ``preview_side`` across (``measure`` makes the full-size image)."""
    started = time.perf_counter()
    view = opened.view(params.alpha, params.matte)
    if params.same_kmeans(previous.params if previous else None):
        result = previous.result
    else:
        callback = None
        if live and token is not None:
            frames = _Frames(view.live_table)

            def callback(progress: Progress) -> None:
                token.report(IterationUpdate(progress, frames.next(progress)))

        result = _quantize(view.table, params, params.k, callback=callback, cancel=token)
    _check(token)
    dithered = dither(view.pixels, result) if params.dither else None
    _check(token)
    # Only the downscaled copy the view shows at first; the full-size image comes from ``measure``.
    return Outcome(params, result, dithered, quick_preview(result, dithered, preview_side),
                   time.perf_counter() - started, view)


def _quantize(table: ColorTable, params: Params, k: int, **options) -> Quantized:
    """``quantize`` with the params' settings and locked colours (K at least their number)."""
    fixed = np.array(params.fixed, np.uint8).reshape(-1, 3) if params.fixed else None
    if fixed is not None:
        k = max(k, len(fixed) + (1 if table.n_transparent else 0))
    result = quantize(table, k, color_space=params.color_space, init=params.init, seed=params.seed, fixed=fixed,
                      **options)
    return in_order(result, fixed) if fixed is not None and params.in_order else result


def _check(token: Token | None) -> None:
    if token is not None:
        token.check()


# A drag preview: one seeding, stopped when an iteration gains less than 1% (the final run: 0.3-0.5%).
PREVIEW_EFFORT = Effort(stop_gain=1e-2, seedings=1)


def preview_quantize(opened: OpenedImage, params: Params, token: Token) -> Preview:
    """k-means on the small live copy only (a tenth of a second or so on any image), for dragging."""
    live_table = opened.view(params.alpha, params.matte).live_table
    result = _quantize(live_table, params, params.k, effort=PREVIEW_EFFORT, cancel=token)
    return Preview(params, result.palette, result.shares, palette_qimage(result.palette, result.labels))


class _Frames:
    """Makes a live frame of the small copy under the current centroids, at most every FRAME_INTERVAL."""

    def __init__(self, live_table: ColorTable):
        self.live_table = live_table
        self.last = time.perf_counter() + FIRST_FRAME_AFTER - FRAME_INTERVAL

    def next(self, progress: Progress) -> QImage | None:
        now = time.perf_counter()
        if now - self.last < FRAME_INTERVAL:
            return None
        self.last = now
        table, palette, centroids = self.live_table, progress.palette, progress.centroids
        coords = table.coords(progress.color_space)
        if coords.shape[1] < centroids.shape[1]:  # the small copy happens to have no partial alpha
            coords = to_working(with_alpha(table.colors), progress.color_space)
        labels = find_closest_centroids(coords, centroids)
        if table.n_transparent:
            palette = np.concatenate([with_alpha(palette), np.zeros((1, 4), np.uint8)])
        return palette_qimage(palette, table.labels_for(labels, transparent_label=len(palette) - 1))


def export_labels(outcome: Outcome, dithered: bool) -> np.ndarray:
    """The labels an export of ``outcome`` writes, dithered or not (k-means is not rerun for that)."""
    if dithered == outcome.params.dither:
        return outcome.labels
    return dither(outcome.view.pixels, outcome.result) if dithered else outcome.result.labels


def outcome_for(opened: OpenedImage, outcome: Outcome, fmt: str, token: Token | None = None) -> Outcome:
    """``outcome``, or -- when ``fmt`` keeps less of this image's transparency -- the same settings
    quantized again on what ``fmt`` can show (as ``compress`` would for that format)."""
    alpha = support_of(fmt, opened.pixels)
    if alpha == outcome.params.alpha:
        return outcome
    return run_quantize(opened, replace(outcome.params, alpha=alpha), token, live=False)


def export_bytes(opened: OpenedImage, outcome: Outcome, fmt: str, dithered: bool, *,
                 cancel: Token | None = None) -> bytes:
    """The exact bytes of the export of ``outcome`` in ``fmt``: the one encode path, so what the
    statistics and the export dialog show is what Export writes."""
    outcome = outcome_for(opened, outcome, fmt, cancel)
    return encode(outcome.palette, export_labels(outcome, dithered), fmt, cancel=cancel, dpi=opened.loaded.dpi)


def export_size(opened: OpenedImage, outcome: Outcome, fmt: str, dithered: bool, *,
                cancel: Token | None = None, background: bool = True) -> int:
    """``len(export_bytes(...))``, stopped at once by ``cancel`` even in the middle of a WebP encode
    (``encoded_size`` runs that in a child process; at low priority when ``background``)."""
    outcome = outcome_for(opened, outcome, fmt, cancel)
    return encoded_size(outcome.palette, export_labels(outcome, dithered), fmt, cancel=cancel,
                        dpi=opened.loaded.dpi, background=background)


def measure(opened: OpenedImage, outcome: Outcome, fmt: str, token: Token | None = None, *,
            images: bool = True, known: Quality | None = None, known_size: int | None = None) -> Measurement:
    """What follows a result: its full-size image (when ``images`` and the preview is smaller), the
    quality against the original, and the exact size of the export in ``fmt``.

    The first two are reported as ``Measuring`` (``token.report``) as soon as they are known; a
    quality already ``known`` for this result is reported again, and a ``known_size`` in ``fmt``
    used, not recomputed.
    Undithered, the quality is computed on the distinct colours (exact, and a fraction of the
    work).  The export is encoded meanwhile in a child process (``export_size``: on a 10 MP photo
    it is most of the time), killed once the token is cancelled; nothing returns before it is over.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="measure-size") as pool:
        sizing = None if known_size is not None else \
            pool.submit(lambda: export_size(opened, outcome, fmt, outcome.params.dither, cancel=token))
        try:
            if token is not None and images and not outcome.complete:
                token.report(Measuring(image=palette_qimage(outcome.palette, outcome.labels),
                                       preview=palette_preview(outcome.palette, outcome.labels)))
            # (a result measured again for another format: its quality is known)
            scores = known if known is not None else outcome_quality(opened, outcome, token)
            if token is not None:
                token.check()
                token.report(Measuring(quality=scores))
        except BaseException:
            if token is not None:
                token.cancel()  # (this job is over: so is its encode)
            raise
        size = known_size if sizing is None else sizing.result()
    return Measurement(scores, fmt, size, bits_per_pixel(size, opened.table.n_pixels))


def outcome_quality(opened: OpenedImage, outcome: Outcome, token: Token | None = None) -> Quality:
    """PSNR and ΔE of the file ``outcome`` becomes, against the original as the format shows it
    (``Cancelled`` soon after ``token`` is)."""
    params, result = outcome.params, outcome.result
    return file_quality(opened.pixels, outcome.view.table, result.palette, result.color_labels, params.alpha,
                        params.matte, labels=outcome.labels if params.dither else None, cancel=token)


def format_sizes(opened: OpenedImage, outcome: Outcome, formats: list[str], token: Token) -> None:
    """The exact size of the export in each of ``formats``, reported as ``(fmt, bytes)`` one by one
    (a format that keeps less of the image's transparency is quantized for it first)."""
    for fmt in formats:
        token.check()
        token.report((fmt, export_size(opened, outcome, fmt, outcome.params.dither, cancel=token)))


# -- choosing K ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trying:
    """Auto K's progress: a real run at ``point.k`` has been measured."""

    target: Target
    point: Point


def settings_of(params: Params, fmt: str) -> Settings:
    return Settings(fmt, params.color_space, params.init, params.seed, DEFAULT_MAX_ITER, params.dither,
                    tuple(params.matte))


def choose_k(opened: OpenedImage, params: Params, fmt: str, target: Target, token: Token | None) -> Outcome:
    """Auto K: the K that meets ``target`` for the export in ``fmt``, found as ``kmeans-compress``
    finds it (a few points of the curve, then real runs), and its result: the very run ``K`` gives.
    Each real run is reported as ``Trying``.  When no K meets the target, the closest (256 colours,
    or 2 for a size) is the result, its ``choice`` not ``met``."""
    started = time.perf_counter()
    view = opened.view(params.alpha, params.matte)
    made: dict[int, tuple[Quantized, np.ndarray | None]] = {}

    def evaluate(k: int) -> Point:
        result = _quantize(view.table, params, k, cancel=token)
        _check(token)
        dithered = dither(view.pixels, result) if params.dither else None
        made[k] = (result, dithered)
        quality = file_quality(opened.pixels, view.table, result.palette, result.color_labels, params.alpha,
                               params.matte, labels=dithered, cancel=token)
        size = 0
        if target.by_size:  # (only a size needs every pixel's label; the quality works on colours)
            _check(token)
            labels = result.labels if dithered is None else dithered
            size = encoded_size(result.palette, labels, fmt, cancel=token, dpi=opened.loaded.dpi)
        point = Point(k, len(result.palette), quality.psnr, quality.delta_e, size)
        if token is not None:
            token.report(Trying(target, point))
        return point

    def estimator() -> Callable[[int], Point]:
        sample = curve_sample(opened, params)  # (the curve's, which may be in use on its worker: that is safe)
        settings = settings_of(params, fmt)
        return lambda k: estimate(sample, k, settings, token, sizes=target.by_size)

    try:
        choice = choose(evaluate, target, view.table.n_pixels, estimator)
    except Unreachable as unreachable:  # the window shows the closest there is, and says so
        best = unreachable.best
        choice = Choice(best.k, best, {best.k: best}, f"{target.words()} {unreachable}", met=False)
    result, dithered = made[choice.k]
    return Outcome(replace(params, k=choice.k), result, dithered, quick_preview(result, dithered),
                   time.perf_counter() - started, view, choice)


def curve_sample(opened: OpenedImage, params: Params) -> CurveSample:
    """The sample the curve of this view of the image is estimated on (made once per view)."""
    view = opened.view(params.alpha, params.matte)
    key = ("curve sample", params.alpha, params._matte_used())
    sample = opened._samples.get(key)
    if sample is None:
        sample = CurveSample.of(opened.pixels, view.pixels, params.alpha, opened.loaded.dpi, view.table)
        opened._samples = {key: sample}  # one at a time: a large image's sample is a few MB
    return sample


def curve_points(opened: OpenedImage, params: Params, fmt: str, ks: list[int], token: Token) -> None:
    """The curve's estimated points at each of ``ks``, reported one by one as ``Point``; stops
    between points (and within k-means) once ``token`` is cancelled."""
    for point in curve(curve_sample(opened, params), settings_of(params, fmt), ks, token):
        token.report(point)


def export(path: str | Path, opened: OpenedImage, outcome: Outcome, fmt: str, dithered: bool,
           overwrite: bool) -> Exported:
    """Encode (dithering as asked) and write atomically; an existing file only with ``overwrite``."""
    data = export_bytes(opened, outcome, fmt, dithered)
    write_atomic(path, data, force=overwrite)
    return Exported(str(path), fmt, len(data))
