"""Dithering: labels for a result's palette with the quantization error diffused."""

from __future__ import annotations

import numpy as np

from kmeans.colortable import check_pixels
from kmeans.quantized import Quantized


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
