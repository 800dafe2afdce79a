"""The image tab's work for its worker threads, as plain functions over the pipeline's steps.

Everything slow lives here and runs off the GUI thread: decoding, the colour table, the downscaled
previews, k-means with live frames, dithering, the quality measures and the exact bytes of an
export.  Each job takes the tab's ``Options`` and calls ``kmeans.pipeline`` as the command line
does, so the window shows and writes the bytes ``kmeans-compress`` writes with the same options.
The GUI receives dataclasses holding numpy arrays and QImages (which keep their pixels alive),
never widgets.
"""

from __future__ import annotations

import math
import time
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
    downscale_frames,
    palette_preview,
    palette_qimage,
    quick_preview,
    to_qimage,
)
from app.worker import Token
from kmeans import pipeline
from kmeans.autok import Choice, CurveSample, Point, Unreachable, curve
from kmeans.colorspace import to_working, with_alpha
from kmeans.colortable import ColorTable
from kmeans.defaults import DEFAULT_MATTE, DEFAULT_MAX_PIXELS, Matte
from kmeans.errors import Cancelled, CancelToken
from kmeans.imagefile import LoadedImage
from kmeans.lloyd import find_closest_centroids
from kmeans.metrics import Quality, bits_per_pixel
from kmeans.options import Options, Target
from kmeans.pipeline import Prepared
from kmeans.quantization import Effort
from kmeans.quantized import Progress, Quantized

FRAME_INTERVAL = 0.4  # seconds between live frames of the image while k-means runs (each costs a pass)
# The first frame waits longer: a run that ends soon after would show its result a moment later
# anyway, and the frame's pass would only have delayed it.
FIRST_FRAME_AFTER = 0.75
# A drag preview: one seeding, stopped when an iteration gains less than 1% (the final run: 0.3-0.5%).
PREVIEW_EFFORT = Effort(stop_gain=1e-2, seedings=1)
MIN_LIVE_FRAME_SIDE = 96  # the smallest side an animation's frames are brought down to in the live copy

# Pillow's encoders hold the GIL for one output block at a time: smaller blocks hand it back to
# the GUI thread sooner while a large export is measured or written (same bytes, same speed).
ImageFile.MAXBLOCK = 16 * 1024


@dataclass(frozen=True, eq=False)
class View:
    """The image as an export format shows it (``prepared``: what k-means works on) and the distinct
    colours of a small copy (``live_table``: live frames and drag previews)."""

    prepared: Prepared
    live_table: ColorTable

    @property
    def pixels(self) -> np.ndarray:
        return self.prepared.pixels

    @property
    def table(self) -> ColorTable:
        return self.prepared.table

    @property
    def support(self) -> str:
        return self.prepared.support


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

    @property
    def distinct_colors(self) -> int:
        """How many colours the image has (its nearly invisible ones counted, unlike ``table``'s)."""
        prepared = self.shown.prepared
        return (prepared.exact or prepared).table.n_colors

    def view_key(self, options: Options) -> tuple:
        """The key of the view ``options`` quantize (``Prepared.key``), worked out without making it."""
        return pipeline.prepared_key(self.loaded, options.fmt, options.matte)

    def view(self, fmt: str, matte: Matte) -> View:
        """The image as ``fmt`` shows it (made once, on a worker thread: blending a large image
        with transparency takes a moment)."""
        key = pipeline.prepared_key(self.loaded, fmt, matte)
        if key == self.shown.prepared.key:
            return self.shown
        view = self._views.get(key)
        if view is None:
            view = _view(pipeline.prepare(self.loaded, fmt, matte))
            # one matte per format kept: trying colours must not pile up copies of a large image
            self._views = {k: v for k, v in self._views.items() if k[0] != key[0]}
            self._views[key] = view
        return view

    def curve_sample(self, view: View) -> CurveSample:
        """The sample the curve of this view of the image is estimated on (one kept at a time: a
        large image's sample is a few MB)."""
        sample = self._samples.get(view.prepared.key)
        if sample is None:
            sample = pipeline.curve_sample(view.prepared)
            self._samples = {view.prepared.key: sample}
        return sample


def _view(prepared: Prepared) -> View:
    # Only colours the image really has.  An animation's frames share the live copy's pixels: each
    # frame is brought down further, so a drag preview costs what a still image's does.
    frames = prepared.image.frames
    if frames == 1:
        live = downscale(prepared.pixels, LIVE_SIDE, smooth=False)
    else:  # (each frame's longest side, its width as often as its height)
        side = max(MIN_LIVE_FRAME_SIDE, round(LIVE_SIDE / math.sqrt(frames)))
        live = downscale_frames(prepared.pixels, frames, side)
    return View(prepared, ColorTable.from_pixels(live))


def kmeans_key(options: Options, view: View) -> tuple:
    """What decides a k-means run: results with the same key are the same run (dithering, the
    format of an opaque still image and the target that chose K aside)."""
    return (options.k, options.color_space, options.init, options.seed, options.max_iter, options.fixed,
            options.palette, view.prepared.key, pipeline.may_have_frame_palettes(view.prepared.image, options.fmt))


@dataclass(frozen=True)
class IterationUpdate:
    """One k-means iteration, for the palette view and (now and then) a live frame."""

    progress: Progress
    frame: QImage | None


@dataclass(frozen=True, eq=False)
class Preview:
    """A quick palette for a K the slider is being dragged through, from the small live copy."""

    options: Options
    palette: np.ndarray
    shares: np.ndarray
    frame: QImage


@dataclass(frozen=True, eq=False)
class Outcome:
    """A finished quantization, ready to show: ``options`` made it (their K is the result's);
    ``preview`` is the image at most PREVIEW_SIDE pixels across, every n-th pixel (the image
    itself when it is that small); ``measure`` makes the full-size one and a box-filtered preview."""

    options: Options
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
    frame_psnr: tuple[float, ...] = ()  # an animation's, frame by frame (a mean can hide one bad frame)


@dataclass(frozen=True)
class FormatSize:
    """The exact size of the outcome's export in one format."""

    fmt: str
    size: int


@dataclass(frozen=True)
class Exported:
    """A file the window wrote."""

    path: str
    fmt: str
    size: int


@dataclass(frozen=True)
class Trying:
    """Auto K's progress: a real run at ``point.k`` has been measured."""

    target: Target
    point: Point


def open_image(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS,
               token: Token | None = None) -> OpenedImage:
    """Decode a file and prepare everything quantizing it needs.

    Raises ``ImageTooLargeError`` (before decoding) over ``max_pixels``, ``ImageLoadError`` when
    the file cannot be read.
    """
    loaded = pipeline.load(path, Options(max_pixels=max_pixels or 0))
    decoded_at = time.perf_counter()
    if token is not None:
        token.check()
    return OpenedImage(
        loaded=loaded,
        shown=_view(pipeline.prepare(loaded, "png", DEFAULT_MATTE)),  # (nearly invisible pixels made transparent)
        original=to_qimage(loaded.pixels),
        # (an animation's frames are stacked: each is brought down to the side, not the whole stack)
        original_preview=to_qimage(downscale(loaded.pixels, PREVIEW_SIDE * loaded.frames)),  # Pillow frees the GIL
        decoded_at=decoded_at,
    )


def run_quantize(opened: OpenedImage, options: Options, token: Token[IterationUpdate] | CancelToken | None,
                 previous: Outcome | None = None, *, live: bool = True, preview_side: int = PREVIEW_SIDE) -> Outcome:
    """k-means on the view of the image the options' format shows, with a progress report every
    iteration (``live``); reuses ``previous`` if only dithering changed (and its one palette, when
    only the format's room for a palette per frame did).  Stops once ``token`` is
    cancelled.  The outcome's preview is at most ``preview_side`` across (``measure`` makes the
    full-size image)."""
    started = time.perf_counter()
    view = opened.view(options.fmt, options.matte)
    before = None if previous is None else kmeans_key(previous.options, previous.view)
    if before is not None and before == kmeans_key(options, view):
        result = previous.result
    elif before is not None and before[:-1] == kmeans_key(options, view)[:-1] and previous.result.frames is None:
        # (the same run for a format that may hold a palette per frame: only that choice is left to make)
        result = pipeline.per_frame_if_better(view.prepared, previous.result, options, cancel=token)
    else:
        callback = None
        if live and token is not None:
            frames = _Frames(view.live_table)

            def callback(progress: Progress) -> None:
                token.report(IterationUpdate(progress, frames.next(progress)))

        result = pipeline.quantize(view.prepared, options, callback=callback, cancel=token)
    _check(token)
    dithered = pipeline.dither(view.prepared, result, options)
    _check(token)
    # Only the downscaled copy the view shows at first; the full-size image comes from ``measure``.
    preview = quick_preview(result, dithered, preview_side * view.prepared.image.frames)  # (frames: each that side)
    return Outcome(options, result, dithered, preview, time.perf_counter() - started, view)


def _check(token: CancelToken | None) -> None:
    if token is not None and token.is_set():  # (a worker's token, or an export's own stop)
        raise Cancelled("cancelled")


def preview_quantize(opened: OpenedImage, options: Options, token: Token) -> Preview:
    """k-means on the small live copy only (a tenth of a second or so on any image), for dragging."""
    live_table = opened.view(options.fmt, options.matte).live_table
    result = pipeline.quantize(live_table, options, effort=PREVIEW_EFFORT, cancel=token)
    return Preview(options, result.palette, result.shares, palette_qimage(result.palette, result.labels))


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


def outcome_for(opened: OpenedImage, outcome: Outcome, fmt: str, dithered: int,
                token: CancelToken | None = None) -> Outcome:
    """``outcome`` as an export in ``fmt`` at dithering level ``dithered`` (percent, 0 none):
    itself when that is what it is, else the same options run for that format (k-means again only
    when ``fmt`` shows this image's transparency differently, or an animation's frames may have a
    palette each in one format and not in the other)."""
    options = replace(outcome.options, format=fmt, dither=dithered)
    if opened.view(fmt, options.matte) is outcome.view and options.dither == outcome.options.dither \
            and pipeline.same_palettes(opened.loaded, fmt, outcome.options.fmt):
        return outcome
    return run_quantize(opened, options, token, outcome, live=False)


def export_bytes(opened: OpenedImage, outcome: Outcome, fmt: str, dithered: int, *,
                 cancel: CancelToken | None = None) -> bytes:
    """The exact bytes of the export of ``outcome`` in ``fmt``: the one encode path, so what the
    statistics and the export dialog show is what Export writes.  ``Cancelled`` soon after
    ``cancel``, even in the middle of a WebP encode (encoded in a child process)."""
    made = outcome_for(opened, outcome, fmt, dithered, cancel)
    return pipeline.encode(made.view.prepared, made.result, made.dithered, fmt, cancel=cancel, apart=True)


def export_size(opened: OpenedImage, outcome: Outcome, fmt: str, dithered: int, *,
                cancel: Token | None = None, background: bool = True) -> int:
    """``len(export_bytes(...))``, stopped at once by ``cancel`` even in the middle of a WebP encode
    (``encoded_size`` runs that in a child process; at low priority when ``background``)."""
    made = outcome_for(opened, outcome, fmt, dithered, cancel)
    return pipeline.size(made.view.prepared, made.result, made.dithered, fmt, cancel=cancel, background=background)


def measure(opened: OpenedImage, outcome: Outcome, fmt: str, token: Token[Measuring] | None = None, *,
            images: bool = True, known: Quality | None = None, known_size: int | None = None) -> Measurement:
    """What follows a result: its full-size image (when ``images`` and the preview is smaller), the
    quality against the original, and the exact size of the export in ``fmt``.

    The first two are reported as ``Measuring`` (``token.report``) as soon as they are known; a
    quality already ``known`` for this result is reported again, and a ``known_size`` in ``fmt``
    used, not recomputed.  Undithered, the quality is computed on the distinct colours (exact, and
    a fraction of the work).  The export is encoded meanwhile in a child process (``export_size``:
    on a 10 MP photo it is most of the time), killed once the token is cancelled; nothing returns
    before it is over.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="measure-size") as pool:
        sizing = None if known_size is not None else \
            pool.submit(lambda: export_size(opened, outcome, fmt, outcome.options.dither, cancel=token))
        try:
            if token is not None and images and not outcome.complete:
                token.report(Measuring(image=palette_qimage(outcome.palette, outcome.labels),
                                       preview=palette_preview(outcome.palette, outcome.labels,
                                                               PREVIEW_SIDE * outcome.view.prepared.image.frames)))
            # (a result measured again for another format: its quality is known)
            scores = known if known is not None else outcome_quality(outcome, token)
            if token is not None:
                token.check()
                token.report(Measuring(quality=scores))
        except BaseException:
            if token is not None:
                token.cancel()  # (this job is over: so is its encode)
            raise
        frames = ()
        if outcome.view.prepared.image.frames > 1:
            frames = tuple(pipeline.frame_psnr(outcome.view.prepared, outcome.result, outcome.dithered))
        size = known_size if sizing is None else sizing.result()
    return Measurement(scores, fmt, size, bits_per_pixel(size, opened.table.n_pixels), frames)


def outcome_quality(outcome: Outcome, token: Token | None = None) -> Quality:
    """PSNR and ΔE of the file ``outcome`` becomes, against the original as the format shows it
    (``Cancelled`` soon after ``token`` is)."""
    return pipeline.quality(outcome.view.prepared, outcome.result, outcome.dithered, cancel=token)


def format_sizes(opened: OpenedImage, outcome: Outcome, formats: list[str], token: Token[FormatSize]) -> None:
    """The exact size of the export in each of ``formats``, reported as ``FormatSize`` one by one
    (a format that shows the image's transparency differently is quantized for it first)."""
    for fmt in formats:
        token.check()
        token.report(FormatSize(fmt, export_size(opened, outcome, fmt, outcome.options.dither, cancel=token)))


def choose_k(opened: OpenedImage, options: Options, token: Token[Trying] | None) -> Outcome:
    """Auto K: the K that meets ``options.target`` for the export in ``options.fmt``, found as
    ``kmeans-compress`` finds it (``pipeline.Runs.choose``: a few points of the curve, then real
    runs), and its result: the very run that K gives.  Each real run is reported as ``Trying``; a
    size is measured in a child process the token kills.  When no K meets the target, the closest
    (256 colours, or the fewest for a size) is the result, its ``choice`` not ``met``."""
    started = time.perf_counter()
    target = options.target
    assert target is not None
    view = opened.view(options.fmt, options.matte)

    def sizer(result: Quantized, dithered: np.ndarray | None) -> int:
        return pipeline.size(view.prepared, result, dithered, options.fmt, cancel=token)

    runs = pipeline.Runs(view.prepared, options, cancel=token, sizer=sizer)
    report = None if token is None else (lambda point: token.report(Trying(target, point)))
    try:
        choice = runs.choose(target, sample=lambda: opened.curve_sample(view), tried=report)
    except Unreachable as unreachable:  # the window shows the closest there is, and says so
        best = unreachable.best
        choice = Choice(best.k, best, {best.k: best}, f"{target.words()} {unreachable}", met=False)
    result, dithered = runs.run(choice.k)
    return Outcome(replace(options, k=choice.k), result, dithered,
                   quick_preview(result, dithered, PREVIEW_SIDE * view.prepared.image.frames),
                   time.perf_counter() - started, view, choice)


def curve_points(opened: OpenedImage, options: Options, ks: list[int], token: Token[Point]) -> None:
    """The curve's estimated points at each of ``ks``, reported one by one as ``Point``; stops
    between points (and within k-means) once ``token`` is cancelled."""
    view = opened.view(options.fmt, options.matte)
    for point in curve(opened.curve_sample(view), options, ks, token):
        token.report(point)


def export(path: str | Path, opened: OpenedImage, outcome: Outcome, fmt: str, dithered: int,
           overwrite: bool, cancel: CancelToken | None = None) -> Exported:
    """Encode (dithering as asked) and write atomically; an existing file only with ``overwrite``.
    ``Cancelled`` (nothing written) when ``cancel`` is set before the file is encoded."""
    data = export_bytes(opened, outcome, fmt, dithered, cancel=cancel)
    pipeline.write(path, data, replace(outcome.options, force=overwrite))
    return Exported(str(path), fmt, len(data))
