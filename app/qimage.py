"""numpy <-> QImage without dangling buffers, and the small image operations the views need.

A QImage made here shares its pixels with a numpy array that it keeps alive itself (copying
a large image inside Qt would hold the GIL and stall the GUI thread).  Big conversions run in row
bands, because numpy holds the GIL within a call: a worker thread making a 10-megapixel image
hands the GIL back to the GUI thread every few milliseconds.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtGui import QImage

from kmeans.quantized import Quantized

PREVIEW_SIDE = 2048  # longest side of the downscaled copy drawn when the view shows less detail
LIVE_SIDE = 800  # longest side of the frames shown while k-means iterates (and of drag previews)


_ROWS_PER_STEP = 1 << 19  # pixels per numpy call: numpy keeps the GIL inside a call, so large
# images are converted in pieces and the GUI thread gets a turn between them.


def _row_steps(h: int, w: int):
    step = max(1, _ROWS_PER_STEP // max(w, 1))
    return (slice(top, min(top + step, h)) for top in range(0, h, step))


def _words(pixels: np.ndarray) -> np.ndarray:
    """(H, W, 3|4) uint8 sRGB(A) -> (H, W) uint32 0xAARRGGBB, premultiplied, in row bands."""
    h, w, channels = pixels.shape
    words = np.empty((h, w), dtype=np.uint32)
    for rows in _row_steps(h, w):
        part = pixels[rows].astype(np.uint32)
        if channels == 4:
            alpha = part[..., 3]
            rgb = (part[..., :3] * alpha[..., None] + 127) // 255
        else:
            alpha, rgb = np.uint32(255), part
        words[rows] = (alpha << 24) | (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    return words


def _format(channels: int) -> QImage.Format:
    return QImage.Format.Format_ARGB32_Premultiplied if channels == 4 else QImage.Format.Format_RGB32


def to_qimage(pixels: np.ndarray) -> QImage:
    """(H, W, 3|4) uint8 sRGB(A) -> an RGB32 or premultiplied ARGB32 QImage (fast to paint)."""
    pixels = np.asarray(pixels)
    return _wrap(_words(pixels), _format(pixels.shape[2]))


def palette_qimage(palette: np.ndarray, labels: np.ndarray) -> QImage:
    """A palette image as a QImage: one 32-bit lookup per pixel, no RGB copy in between."""
    palette = np.asarray(palette)
    words = _words(palette[None, :, :])[0]
    h, w = labels.shape
    argb = np.empty((h, w), dtype=np.uint32)
    for rows in _row_steps(h, w):
        np.take(words, labels[rows], out=argb[rows])
    return _wrap(argb, _format(palette.shape[1]))


def _wrap(words: np.ndarray, fmt: QImage.Format) -> QImage:
    """A QImage over ``words`` (H, W uint32) that keeps the array alive as long as it lives.

    Copying a large image inside Qt would hold the GIL for tens of milliseconds; sharing the
    buffer costs nothing.  Nothing here ever writes to these images, so Qt never detaches them.
    """
    h, w = words.shape
    image = QImage(words.data, w, h, 4 * w, fmt)
    image.buffer = words  # the QImage does not own its pixels: this reference does
    return image


def palette_preview(palette: np.ndarray, labels: np.ndarray, side: int = PREVIEW_SIDE) -> QImage:
    """The palette image shrunk by a whole factor with a box filter, as a QImage.

    Pillow expands the palette and reduces the image in C without the GIL (a quarter of the time
    of the numpy route on 10 megapixels).
    """
    h, w = labels.shape
    factor = -(-max(h, w) // side)
    if factor <= 1:
        return palette_qimage(palette, labels)
    if len(palette) > 256:  # (a palette per frame: more entries than a "P" image holds)
        image = Image.fromarray(np.ascontiguousarray(palette[labels]), "RGBA" if palette.shape[1] == 4 else "RGB")
        if palette.shape[1] == 4:
            return to_qimage(np.asarray(image.convert("RGBa").reduce(factor).convert("RGBA")))
        return to_qimage(np.asarray(image.reduce(factor)))
    image = Image.fromarray(np.ascontiguousarray(labels, dtype=np.uint8), mode="P")
    if palette.shape[1] == 4:
        image.putpalette(np.ascontiguousarray(palette).tobytes(), rawmode="RGBA")
        small = image.convert("RGBA").convert("RGBa").reduce(factor).convert("RGBA")  # averaged premultiplied
    else:
        image.putpalette(np.ascontiguousarray(palette).tobytes(), rawmode="RGB")
        small = image.convert("RGB").reduce(factor)
    return to_qimage(np.asarray(small))


def quick_preview(result: Quantized, dithered: np.ndarray | None = None, side: int = PREVIEW_SIDE) -> QImage:
    """Every n-th pixel of ``result`` as an image (of its ``dithered`` labels, when given), at
    most ``side`` across: a few milliseconds on any image, and the full-size labels are not made
    for it.  Shown until ``palette_preview``'s box-filtered copy is ready."""
    h, w = result.shape
    factor = -(-max(h, w) // side)
    if dithered is not None:
        return palette_qimage(result.palette, dithered[::factor, ::factor])
    return palette_qimage(result.palette, result.labels_every(factor))


def shade_qimage(keep: np.ndarray) -> QImage:
    """(H, W) bool -> a premultiplied ARGB32 QImage, dark where ``keep`` is False, clear where True."""
    words = np.where(keep, np.uint32(0), np.uint32(0xFF0C0E12))  # clear, or opaque near-black
    return _wrap(words, QImage.Format.Format_ARGB32_Premultiplied)


def downscale_frames(pixels: np.ndarray, frames: int, side: int) -> np.ndarray:
    """``frames`` stacked top to bottom, each brought down (nearest pixel) to at most ``side`` on
    its longest side, and still stacked: every frame as many whole rows as the next."""
    h, w = pixels.shape[0] // frames, pixels.shape[1]
    if max(h, w) <= side:
        return pixels
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)) * frames)
    mode = "RGBA" if pixels.shape[2] == 4 else "RGB"
    # (nearest pixel with the height a whole multiple: no row of a frame is taken from another)
    return np.asarray(Image.fromarray(np.ascontiguousarray(pixels), mode).resize(size, Image.Resampling.NEAREST))


def downscale(pixels: np.ndarray, side: int, *, smooth: bool = True) -> np.ndarray:
    """A copy whose longest side is at most ``side`` (box filter, or nearest pixel when not
    ``smooth``), or the pixels themselves when they are small enough."""
    h, w = pixels.shape[:2]
    if max(h, w) <= side:
        return pixels
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    mode = "RGBA" if pixels.shape[2] == 4 else "RGB"
    method = Image.Resampling.BOX if smooth else Image.Resampling.NEAREST
    return np.asarray(Image.fromarray(np.ascontiguousarray(pixels), mode).resize(size, method))
