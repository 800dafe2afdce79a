"""A palette for each frame of an animation, where measuring both says it is worth its bytes.

One palette for every frame (what the pipeline makes first) is best where frames share their
colours, as in a pan or a screen recording: a pixel that keeps its colour keeps its entry, and a
frame stores only what changed.  Where the colours move from frame to frame, as in a cross-fade,
each frame's own k-means palette is much closer to it.  So, for the formats that can hold a palette
per frame (GIF's local colour tables; lossless WebP, which stores colours), ``choose``:

1. estimates the gain on a sample of the pixels of a few frames (a few Lloyd iterations from the
   shared centroids, judged on pixels they were not fitted to); below ``MIN_GAIN_DB`` the shared
   palette stays, at the cost of a tenth of a second or less;
2. else runs k-means on each frame's own colours, and measures the gain (the k-means objective,
   both ways) and the bytes (both animations as GIF: the same measure for WebP, whose encoder
   takes several times longer);
3. keeps the palettes per frame when they gain at least ``MIN_GAIN_DB`` and more than the same
   bytes would buy the shared palette as more colours (``DB_PER_DOUBLING``).
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Protocol

import numpy as np

from kmeans import quantization
from kmeans.animation import Animation, encode_gif, split
from kmeans.colorspace import to_working, with_alpha
from kmeans.colortable import ColorTable
from kmeans.dither import dither
from kmeans.errors import Cancelled, CancelToken
from kmeans.lloyd import LloydRuns, find_closest_centroids
from kmeans.mapping import nearest_entries
from kmeans.quantized import Quantized

#: The formats that hold a palette per frame (APNG has one PLTE for all frames; BMP no animation).
FORMATS = ("gif", "webp")
#: The least gain (in dB of the k-means objective, 10·log10 of its ratio) worth a palette per frame.
MIN_GAIN_DB = 0.5
#: What a shared palette gains, in dB of the k-means objective, for each doubling of the file as K
#: grows: 5 to 7 dB on the photo animations of ``bench_animation.py`` from K=16 to 256 (the lower
#: end taken, in favour of a palette per frame, which is the only way to lower a fade's error at K).
DB_PER_DOUBLING = 5.0
#: Pixels of each frame the first estimate fits to, and as many it judges on (every n-th pixel,
#: so a frame's whole area counts).
SAMPLE_PIXELS = 4096
#: Frames that estimate looks at, evenly spread (a long animation's cost stays bounded).
SAMPLE_FRAMES = 8
#: Lloyd iterations of that estimate: from the shared centroids, most of the gain comes in these.
SAMPLE_ITERATIONS = 8


class QuantizeOptions(Protocol):
    """What of ``kmeans.options.Options`` a frame's k-means takes (that module is a layer above)."""

    init: str
    seed: int
    max_iter: int


def choose(pixels: np.ndarray, animation: Animation, shared: Quantized, *, k: int, options: QuantizeOptions,
           cancel: CancelToken | None = None, fit_pixels: int | None = None) -> Quantized:
    """``shared`` (one palette for the frames of ``pixels``, stacked, over their colour table), or
    the same frames with a palette each when that is measured better for its bytes (see the
    module's note); ``fit_pixels``: for estimates, each frame's k-means on that many of its pixels."""
    frames = animation.frames
    if frames < 2 or shared.frames is not None or len(shared.table.colors) <= len(shared.centroids):
        return shared  # (every colour has an entry of its own already: nothing to gain)
    if estimated_gain(pixels, frames, shared, cancel) < MIN_GAIN_DB:
        return shared
    own = per_frame(pixels, frames, shared, k=k, options=options, cancel=cancel, fit_pixels=fit_pixels)
    return own if worth_it(shared, own, animation, cancel) else shared


def gain_db(shared: Quantized, own: Quantized) -> float:
    """How much lower the error of ``own`` is than that of ``shared`` (``objective``), in dB."""
    return 10.0 * math.log10(max(objective(shared), 1e-12) / max(objective(own), 1e-12))


def objective(result: Quantized) -> float:
    """The k-means objective of ``result``'s palette as the file holds it (its rounded entries) over
    every colour of its table, in its working space: each frame's own, summed."""
    if result.frames is not None:
        return sum(objective(frame) for frame in result.frames)
    table = result.table
    if not len(table.colors):
        return 0.0
    entries = to_working(result.palette[:, :table.colors.shape[1]], result.color_space)
    error = table.coords(result.color_space) - entries[result.color_labels]
    return float(table.counts @ np.einsum("ij,ij->i", error, error))


def worth_it(shared: Quantized, own: Quantized, animation: Animation, cancel: CancelToken | None = None) -> bool:
    """Whether the palettes per frame of ``own`` gain more than the bytes they add would buy
    ``shared`` (both measured as GIF, without dithering)."""
    gain = gain_db(shared, own)
    if gain < MIN_GAIN_DB:
        return False
    frames = animation.frames
    shared_bytes = len(encode_gif(shared.palette, split(shared.labels, frames), animation, cancel=cancel))
    own_bytes = len(encode_gif(own.palette, split(own.labels, frames), animation, cancel=cancel,
                               frame_entries=own.frame_entries))
    return gain >= DB_PER_DOUBLING * math.log2(own_bytes / shared_bytes)


def estimated_gain(pixels: np.ndarray, frames: int, shared: Quantized, cancel: CancelToken | None = None) -> float:
    """The gain in dB a palette per frame would have, estimated on ``SAMPLE_PIXELS`` of each frame:
    the shared centroids against a few Lloyd iterations from them on each frame's sample."""
    centroids = np.asarray(shared.centroids, np.float32)
    channels = shared.table.colors.shape[1]
    before = after = 0.0
    rng = np.random.default_rng(0)
    looked_at = np.unique(np.linspace(0, frames - 1, min(frames, SAMPLE_FRAMES)).round().astype(int))
    for frame in split(pixels, frames)[looked_at]:
        if cancel is not None and cancel.is_set():
            raise Cancelled("cancelled")
        flat = frame.reshape(-1, frame.shape[-1])
        if flat.shape[1] == 4:
            flat = flat[flat[:, 3] > 0]  # (fully transparent pixels have their own entry)
        if not len(flat):
            continue
        sample = np.ascontiguousarray(flat[:: max(1, len(flat) // (2 * SAMPLE_PIXELS))])
        X = to_working(sample[:, :channels] if channels == 3 else with_alpha(sample), shared.color_space)
        # Fitted on half the sample and judged on the other half: judged on the pixels it was fitted
        # to, a palette of 256 on a few thousand pixels would seem far better than it is.
        fit, judge = X[0::2], X[1::2]
        run = LloydRuns(fit, len(centroids), None).run(centroids, rng=rng, max_iter=SAMPLE_ITERATIONS, cancel=cancel)
        if run.stopped:
            raise Cancelled("cancelled")
        before += _distortion(judge, centroids)
        after += _distortion(judge, run.centroids.astype(np.float32))
    return 10.0 * math.log10(max(before, 1e-12) / max(after, 1e-12))


def dither_each(pixels: np.ndarray, result: Quantized, level: float) -> np.ndarray:
    """The labels of ``result`` (a palette per frame) dithered frame by frame, each frame in its own
    palette (so nothing can be kept still across frames: their entries differ)."""
    assert result.frames is not None and result.frame_entries is not None
    frames = len(result.frames)
    dithered = []
    for frame, own, labels, start in zip(split(pixels, frames), result.frames, split(result.labels, frames),
                                         result.frame_entries[:-1], strict=True):
        in_own = dither(frame, own, level, labels=(labels - start).astype(np.uint8))  # (its own entries)
        dithered.append(in_own.astype(labels.dtype) + labels.dtype.type(start))
    return np.concatenate(dithered)


def _distortion(X: np.ndarray, centroids: np.ndarray) -> float:
    """The sum of squared distances of ``X`` to their nearest centroid."""
    return float(((X - centroids[find_closest_centroids(X, centroids)]) ** 2).sum())


def per_frame(pixels: np.ndarray, frames: int, shared: Quantized, *, k: int, options: QuantizeOptions,
              cancel: CancelToken | None = None, fit_pixels: int | None = None) -> Quantized:
    """Each frame's own palette of up to ``k`` entries: k-means on the frame's colours as on a
    still image (seeded on its histograms, which is faster than a start from the shared centroids:
    those still need many iterations on every colour of the frame).  With ``fit_pixels`` (for
    estimates), on every n-th pixel of the frame, up to that many, and each colour then on its
    nearest entry."""
    started = time.perf_counter()
    results, tables = [], []
    for frame in split(pixels, frames):
        table = ColorTable.from_pixels(frame)
        fit = table
        if fit_pixels is not None and frame.shape[0] * frame.shape[1] > 2 * fit_pixels:
            flat = frame.reshape(-1, frame.shape[-1])
            fit = ColorTable.from_pixels(np.ascontiguousarray(flat[::len(flat) // fit_pixels])[None])
        # The transparent entry counts in K for every frame of an animation that has one, as in one
        # palette: a frame without transparent pixels keeps that index free, which a GIF frame
        # needs to have its rectangle cleared after it (a full 256-entry table has none).
        frame_k = k - 1 if shared.table.n_transparent and not table.n_transparent and k > 1 else k
        result = quantization.quantize(fit, frame_k, color_space=shared.color_space, init=options.init,
                                       seed=options.seed, max_iter=options.max_iter, cancel=cancel)
        if fit is not table:
            result = replace(result, color_labels=nearest_entries(table, result.palette, shared.color_space),
                             table=table)
        results.append(result)
        tables.append(table)
    seconds = shared.seconds + time.perf_counter() - started
    return Quantized.per_frame(shared, results, ColorTable.stacked(tables), seconds)
