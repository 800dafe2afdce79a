"""One image through the pipeline, in named steps every front end calls:

    load -> prepare (the image as the format shows it, and its colour table) -> quantize -> dither
         -> encode -> write

The command line, ``compress_file``, the batch workers and the window all take these steps with
the same ``Options``, so the same options give the same bytes wherever they are asked for.
``Runs`` makes the full, reproducible run at any K once (what ``-k K`` writes) and chooses K for a
target with such runs (``kmeans.autok``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from kmeans import encode_apart, frame_palettes, imagefile, quantization
from kmeans.animation import dither_frames, split
from kmeans.atomic import write_atomic
from kmeans.autok import Choice, CurveSample, Point, choose, estimate
from kmeans.colortable import ColorTable
from kmeans.defaults import FULL_DITHER, MAX_K, MIN_K, Matte
from kmeans.dither import dither as diffuse
from kmeans.errors import Cancelled, CancelToken, KMeansImageError
from kmeans.imagefile import LoadedImage
from kmeans.mapping import in_order, map_to_palette
from kmeans.metrics import Quality, psnr
from kmeans.options import Options, Target
from kmeans.quantization import Effort
from kmeans.quantized import ProgressCallback, Quantized
from kmeans.transparency import INVISIBLE_ALPHA, file_quality, reference, seen, shown, support_of
from kmeans.wording import count


def load(source: str | os.PathLike[str], options: Options, *, animated: bool = True) -> LoadedImage:
    """Decode ``source`` safely (``ImageLoadError``, ``ImageTooLargeError`` over the pixel limit):
    an animation's every frame, stacked, unless ``animated`` is False (its first, and a notice)."""
    return imagefile.load(source, max_pixels=options.max_pixels or None, animated=animated)


@dataclass(frozen=True, eq=False)
class Prepared:
    """An image as a format shows it, ready to quantize: ``pixels`` are what k-means works on (for
    GIF and BMP, partial transparency blended onto ``matte``; nearly invisible pixels transparent),
    ``table`` their distinct colours, ``support`` how much transparency the format keeps."""

    image: LoadedImage
    pixels: np.ndarray
    table: ColorTable
    support: str
    matte: Matte
    #: The image with its nearly invisible pixels kept as they are, when that differs and has at most
    #: ``MAX_K`` colours: quantized instead at any K its colours fit, so such an image comes back exact.
    exact: Prepared | None = None

    def source_of(self, result: Quantized) -> Prepared:
        """The prepared pixels ``result`` was made from: ``exact`` when it was, else these."""
        return self.exact if self.exact is not None and result.table is self.exact.table else self

    def fits(self, k: int) -> bool:
        """Whether every colour of these pixels has an entry of its own in a palette of ``k``."""
        return len(self.table.colors) + (1 if self.table.n_transparent else 0) <= k

    @property
    def key(self) -> tuple:
        """What decides the pixels: prepared images with the same key quantize alike."""
        return _key(self.support, self.matte)


def prepared_key(image: LoadedImage, fmt: str, matte: Matte) -> tuple:
    """The ``Prepared.key`` that ``prepare(image, fmt, matte)`` would have, without preparing."""
    return _key(support_of(fmt, image.pixels), matte)


def _key(support: str, matte: Matte) -> tuple:
    return (support, None if support == "partial" else tuple(matte))


def prepare(image: LoadedImage, fmt: str, matte: Matte) -> Prepared:
    """The image as ``fmt`` shows it, and its colour table (built once, reused for every K)."""
    support = support_of(fmt, image.pixels)
    pixels = shown(image.pixels, support, matte)
    table = ColorTable.from_pixels(pixels)
    exact = None
    if pixels is not image.pixels and len(table.colors) < MAX_K:  # (else no K can hold them all)
        kept = shown(image.pixels, support, matte, merge_invisible=False)
        if kept is not pixels and not np.array_equal(kept, pixels):
            exact_table = ColorTable.from_pixels(kept)
            if len(exact_table.colors) <= MAX_K:
                exact = Prepared(image, kept, exact_table, support, matte)
    return Prepared(image, pixels, table, support, matte, exact)


def may_have_frame_palettes(image: LoadedImage, fmt: str) -> bool:
    """Whether ``quantize`` may give this image in ``fmt`` a palette per frame (an animation, in a
    format that holds them)."""
    return image.animation is not None and fmt in frame_palettes.FORMATS


def same_palettes(image: LoadedImage, fmt: str, other: str) -> bool:
    """Whether a result quantized for ``other`` is the one ``fmt`` would get as far as palettes per
    frame go: a still image, or two formats that both can (or both cannot) hold them."""
    return may_have_frame_palettes(image, fmt) == may_have_frame_palettes(image, other)


def minimum_k(options: Options, table: ColorTable) -> int:
    """The fewest entries a palette of this image can have with these options: the kept colours,
    and the transparent entry when the image has transparent pixels."""
    kept = len({tuple(c[:3]) for c in options.kept})
    return max(1, kept + (1 if table.n_transparent and kept else 0))


def quantize(image: Prepared | ColorTable, options: Options, k: int | None = None, *,
             callback: ProgressCallback | None = None, cancel: CancelToken | None = None,
             effort: Effort = Effort()) -> Quantized:  # noqa: B008 (frozen)
    """The palette and labels at ``k`` (default ``options.k``) of a prepared image (or of a colour
    table: many images' colours together): a palette the options keep in its order, with k-means
    finding the free colours around it (each pixel on its nearest entry when none is free), or
    k-means keeping the fixed colours.  An animation to GIF or WebP gets a palette per frame where
    that is measured better for its bytes (``per_frame_if_better``).  ``Cancelled`` once ``cancel`` is set;
    ``KMeansImageError`` when the kept colours and the transparent entry do not fit in ``k``."""
    k = options.k if k is None else k
    table = image.table if isinstance(image, Prepared) else image
    merged_fits = False  # the colours fit only once the nearly invisible pixels are transparent
    if isinstance(image, Prepared) and image.exact is not None and not (options.palette or options.kept):
        if image.exact.fits(k):  # every colour as it is, the nearly invisible ones too: exact
            table = image.exact.table
        else:
            merged_fits = image.fits(k)
    palette = np.array(options.palette, np.uint8) if options.palette else None
    if palette is not None and k <= len(palette):  # (no free colour: nothing for k-means to do)
        return map_to_palette(table, palette, color_space=options.color_space)
    kept = options.kept
    if kept and k < minimum_k(options, table):
        name = image.image.name if isinstance(image, Prepared) else "the shared palette"
        raise KMeansImageError(f"{name}: {count(len(set(kept)), 'kept colour')} and the transparent entry do not "
                               f"fit in a palette of {k}")
    fixed = np.array([c[:3] for c in kept], np.uint8) if kept else None
    result = quantization.quantize(table, k, color_space=options.color_space, init=options.init, seed=options.seed,
                                   max_iter=options.max_iter, fixed=fixed, callback=callback, cancel=cancel,
                                   effort=effort)
    if merged_fits:
        result = _said_merged(result, k)
    if palette is not None:
        return in_order(result, fixed)
    return per_frame_if_better(image, result, options, cancel=cancel) if isinstance(image, Prepared) else result


def per_frame_if_better(prepared: Prepared, result: Quantized, options: Options, *,
                        cancel: CancelToken | None = None) -> Quantized:
    """``quantize``'s last step: ``result`` (one palette for every frame), or the frames with a
    palette each where the format holds them and that is measured better (``kmeans.frame_palettes``;
    never with kept colours or a palette file to write, which are one palette by nature)."""
    animation = prepared.image.animation
    if animation is None or not may_have_frame_palettes(prepared.image, options.fmt) or options.kept \
            or options.palette or options.palette_out or result.table is not prepared.table:
        return result
    return frame_palettes.choose(prepared.pixels, animation, result, k=result.k, options=options, cancel=cancel)


def _said_merged(result: Quantized, k: int) -> Quantized:
    """``result`` with a notice that says why its palette is short (not "only N distinct colours":
    the image has more, until its nearly invisible pixels are made transparent)."""
    if result.notice is None:
        return result
    n = len(result.palette)
    colours = n - (1 if result.table.n_transparent else 0)
    return replace(result, notice=f"With its nearly invisible pixels (alpha {INVISIBLE_ALPHA} or less) made fully "
                                  f"transparent, the image has {count(colours, 'colour')} left and the transparent "
                                  f"entry, so the palette has {count(n, 'entry', 'entries')} instead of {k}.")


def dither(prepared: Prepared, result: Quantized, options: Options) -> np.ndarray | None:
    """The dithered labels of ``result`` when the options ask for dithering, else None (the file
    holds ``result.labels``)."""
    if not options.dither:
        return None
    pixels, level = prepared.source_of(result).pixels, options.dither / FULL_DITHER
    frames = prepared.image.frames
    if frames == 1:
        return diffuse(pixels, result, level)
    if result.frames is not None:
        return frame_palettes.dither_each(pixels, result, level)
    return dither_frames(pixels, result, level, frames)


def quality(prepared: Prepared, result: Quantized, dithered: np.ndarray | None = None, *,
            cancel: CancelToken | None = None) -> Quality:
    """PSNR and ΔE of the file against the original as the format shows it (on distinct colours
    when undithered; ``Cancelled`` soon after ``cancel``)."""
    table = result.table if result.frames is not None else prepared.source_of(result).table  # (frames' own tables)
    return file_quality(prepared.image.pixels, table, result.palette, result.color_labels,
                        prepared.support, prepared.matte, labels=dithered, cancel=cancel)


def encode(prepared: Prepared, result: Quantized, dithered: np.ndarray | None, fmt: str, *,
           cancel: CancelToken | None = None, apart: bool = False) -> bytes:
    """The file's bytes in ``fmt`` (the image's dpi kept where the format has room for it).
    ``apart``: stopped by ``cancel`` even in the middle of an encoder that cannot stop itself (WebP),
    by encoding in a child process (``kmeans.encode_apart``)."""
    labels = result.labels if dithered is None else dithered
    write = encode_apart.encoded if apart else imagefile.encode
    return write(result.palette, labels, fmt, cancel=cancel, dpi=prepared.image.dpi,
                 animation=prepared.image.animation, frame_entries=result.frame_entries)


def size(prepared: Prepared, result: Quantized, dithered: np.ndarray | None, fmt: str, *,
         cancel: CancelToken | None = None, background: bool = False) -> int:
    """``len(encode(...))``, stopped by ``cancel`` at once even in the middle of a WebP encode (in a
    child process, at low priority when ``background``: ``kmeans.encode_apart.encoded_size``)."""
    labels = result.labels if dithered is None else dithered
    return encode_apart.encoded_size(result.palette, labels, fmt, cancel=cancel, dpi=prepared.image.dpi,
                                     animation=prepared.image.animation, frame_entries=result.frame_entries,
                                     background=background)


def frame_psnr(prepared: Prepared, result: Quantized, dithered: np.ndarray | None = None) -> list[float]:
    """The PSNR of each frame of the file against the original as the format shows it (one value
    for a still image): an animation's mean can hide one bad frame."""
    image = prepared.image
    labels = result.labels if dithered is None else dithered
    original = reference(image.pixels, prepared.support, prepared.matte)
    made = seen(result.palette, prepared.support, prepared.matte)[labels]
    return [psnr(a, b) for a, b in zip(split(original, image.frames), split(made, image.frames), strict=True)]


def write(target: str | os.PathLike[str], data: bytes, options: Options) -> None:
    """Write the file whole or not at all; an existing one only with ``options.force``."""
    write_atomic(target, data, force=options.force)


Sizer = Callable[[Quantized, "np.ndarray | None"], int]


class Runs:
    """Full, reproducible runs of one prepared image at any K, each made once: what ``-k K`` writes.

    ``callback`` sees every iteration and ``cancel`` stops a run; ``sizer`` measures a file's bytes
    when given (the window's runs in a child process it can kill), else the bytes are encoded here
    and kept for the write.
    """

    def __init__(self, prepared: Prepared, options: Options, *, callback: ProgressCallback | None = None,
                 cancel: CancelToken | None = None, sizer: Sizer | None = None):
        self.prepared, self.options = prepared, options
        self.callback, self.cancel, self.sizer = callback, cancel, sizer
        self._made: dict[int, tuple[Quantized, np.ndarray | None]] = {}
        self._data: dict[int, bytes] = {}
        self._quality: dict[int, Quality] = {}

    def result(self, k: int) -> Quantized:
        return self.run(k)[0]

    def run(self, k: int) -> tuple[Quantized, np.ndarray | None]:
        """k-means at ``k`` and the dithered labels (None undithered)."""
        if k not in self._made:
            result = quantize(self.prepared, self.options, k, callback=self.callback, cancel=self.cancel)
            self._check()
            self._made[k] = (result, dither(self.prepared, result, self.options))
        return self._made[k]

    def data(self, k: int) -> bytes:
        if k not in self._data:
            result, dithered = self.run(k)
            self._data[k] = encode(self.prepared, result, dithered, self.options.fmt, cancel=self.cancel)
        return self._data[k]

    def size(self, k: int) -> int:
        if self.sizer is None or k in self._data:
            return len(self.data(k))
        self._check()
        return self.sizer(*self.run(k))

    def quality(self, k: int) -> Quality:
        """The file's PSNR and ΔE at ``k`` (worked out once: the search and the report both ask)."""
        if k not in self._quality:
            result, dithered = self.run(k)
            self._quality[k] = quality(self.prepared, result, dithered, cancel=self.cancel)
        return self._quality[k]

    def point(self, k: int, *, size: bool) -> Point:
        q = self.quality(k)
        return Point(k, self.result(k).colours, q.psnr, q.delta_e, self.size(k) if size else 0)

    def choose(self, target: Target, *, sample: Callable[[], CurveSample] | None = None,
               tried: Callable[[Point], None] | None = None) -> Choice:
        """The K for ``target``, as ``kmeans.autok.choose`` finds it with this image's real runs,
        from the fewest colours the kept ones allow.  ``sample`` gives the curve sample a large
        image's first guess is estimated on (made here when not given); ``tried`` hears each real
        run.  ``Unreachable`` when no K meets the target."""
        prepared = self.prepared

        def evaluate(k: int) -> Point:
            point = self.point(k, size=target.by_size)
            if tried is not None:
                tried(point)
            return point

        def estimator() -> Callable[[int], Point]:
            made = sample() if sample is not None else curve_sample(prepared)
            return lambda k: estimate(made, k, self.options, self.cancel, sizes=target.by_size)

        lowest = max(MIN_K, minimum_k(self.options, prepared.table))
        return choose(evaluate, target, prepared.table.n_pixels, estimator, lowest)

    def _check(self) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("cancelled")


def curve_sample(prepared: Prepared) -> CurveSample:
    """The sample this image's curve (and a large image's first guess at K) is estimated on."""
    image = prepared.image
    return CurveSample.of(image.pixels, prepared.pixels, prepared.support, image.dpi, prepared.table, image.animation)
