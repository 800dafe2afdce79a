"""numpy <-> QImage without dangling buffers, and the small image operations the views need.

Every QImage made here owns its pixels (built over a numpy buffer, then copied), so it stays
valid after the array is gone and can be made on a worker thread and painted on the GUI thread.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtGui import QImage

PREVIEW_SIDE = 2048  # longest side of the downscaled copy drawn when the view shows less detail
LIVE_SIDE = 1024  # longest side of the frames shown while k-means iterates


def to_qimage(pixels: np.ndarray) -> QImage:
    """(H, W, 3|4) uint8 sRGB(A) -> an RGB32 or premultiplied ARGB32 QImage (fast to paint)."""
    pixels = np.asarray(pixels)
    h, w, channels = pixels.shape
    bgra = np.empty((h, w, 4), dtype=np.uint8)
    if channels == 4:
        alpha = pixels[..., 3:4].astype(np.uint16)
        premultiplied = ((pixels[..., :3] * alpha + 127) // 255).astype(np.uint8)
        bgra[..., 0], bgra[..., 1], bgra[..., 2] = premultiplied[..., 2], premultiplied[..., 1], premultiplied[..., 0]
        bgra[..., 3] = pixels[..., 3]
        fmt = QImage.Format.Format_ARGB32_Premultiplied
    else:
        bgra[..., 0], bgra[..., 1], bgra[..., 2] = pixels[..., 2], pixels[..., 1], pixels[..., 0]
        bgra[..., 3] = 255
        fmt = QImage.Format.Format_RGB32
    if not np.little_endian:  # ARGB32 is a native 32-bit word
        bgra = bgra[..., ::-1].copy()
    image = QImage(bgra.data, w, h, 4 * w, fmt)
    return image.copy()


def shade_qimage(keep: np.ndarray) -> QImage:
    """(H, W) bool -> a premultiplied ARGB32 QImage, dark where ``keep`` is False, clear where True."""
    h, w = keep.shape
    bgra = np.zeros((h, w, 4), dtype=np.uint8)
    bgra[~keep] = (18, 14, 12, 255) if np.little_endian else (255, 12, 14, 18)
    return QImage(bgra.data, w, h, 4 * w, QImage.Format.Format_ARGB32_Premultiplied).copy()


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
