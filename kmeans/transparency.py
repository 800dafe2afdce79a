"""What each format can show of transparency, and so what k-means and the measures should see.

PNG and WebP keep partial alpha; GIF has one fully transparent index and nothing between; BMP
has none.  Quantizing the original RGBA for GIF would spend palette entries on alpha levels the
file then writes opaque (an anti-aliased logo's edges come out fat and jagged, and the measures
would report a quality the file does not have).  So k-means works on ``shown(pixels, support)``:
for GIF, every visible pixel composited on a matte colour (white unless chosen: what GIF exporters
call the matte), the invisible ones transparent; for BMP, everything composited.  Blending beats
thresholding alpha over the matte's colour and loses to it over a very different one
(``tests/benchmarks/bench_transparency.py``): the matte suits the page the image is made for,
hence a choosable matte colour rather than thresholding.

Pixels at most ``INVISIBLE_ALPHA`` opaque join the transparent entry in every format instead of
taking palette slots: over any background they move a channel by at most 3/255 (ΔE00 about 1
for black over white, the threshold of a just-noticeable difference).
"""

from __future__ import annotations

import numpy as np

from kmeans.colortable import ColorTable
from kmeans.defaults import DEFAULT_MATTE, Matte
from kmeans.errors import CancelToken
from kmeans.metrics import Quality, color_quality, over, quality

INVISIBLE_ALPHA = 3
#: How much transparency each export format keeps: "partial", "binary" (on or off) or "none".
ALPHA_SUPPORT = {"png": "partial", "webp": "partial", "gif": "binary", "bmp": "none"}



def support_of(fmt: str, pixels: np.ndarray | None = None) -> str:
    """How much transparency ``fmt`` keeps; "partial" (nothing to change) for opaque ``pixels``."""
    if pixels is not None and pixels.shape[-1] == 3:
        return "partial"
    return ALPHA_SUPPORT[fmt]


def shown(pixels: np.ndarray, support: str, matte: Matte = DEFAULT_MATTE, *,
          merge_invisible: bool = True) -> np.ndarray:
    """The pixels as a file with this ``support`` holds them: what k-means should work on.

    RGB comes back unchanged (the same array).  RGBA: pixels at most INVISIBLE_ALPHA opaque become
    fully transparent (unless not ``merge_invisible``: for an image whose colours all fit the palette
    as they are); "binary" composites every other pixel that is not opaque on ``matte``; "none"
    composites everything (RGB).  Unchanged pixels come back as the same array.
    """
    if pixels.shape[-1] == 3:
        return pixels
    if support == "none":
        return np.ascontiguousarray(over(pixels, matte))
    alpha = pixels[..., 3]
    threshold = INVISIBLE_ALPHA if merge_invisible else 0
    invisible = (alpha <= threshold) & (alpha > 0)
    blended = (alpha > threshold) & (alpha < 255) if support == "binary" else None
    if not invisible.any() and (blended is None or not blended.any()):
        return pixels
    out = pixels.copy()
    if blended is not None and blended.any():
        out[blended, :3] = over(pixels[blended], matte)
        out[blended, 3] = 255
    out[invisible] = 0
    return out


def reference(pixels: np.ndarray, support: str, matte: Matte = DEFAULT_MATTE) -> np.ndarray:
    """What the original looks like where a file with this ``support`` will be seen: itself where
    partial alpha is kept, else composited on ``matte`` (the file's transparent parts show it)."""
    if pixels.shape[-1] == 3 or support == "partial":
        return pixels
    return over(pixels, matte)


def seen(palette: np.ndarray, support: str, matte: Matte = DEFAULT_MATTE) -> np.ndarray:
    """The palette's entries as the file shows them (the route ``reference`` takes)."""
    return reference(palette, support, matte)


def note(pixels: np.ndarray, fmt: str, matte: Matte = DEFAULT_MATTE) -> str | None:
    """A sentence saying what ``fmt`` did to the image's transparency, or None when nothing."""
    if pixels.shape[-1] == 3:
        return None
    alpha = pixels[..., 3]
    colour = "#{:02x}{:02x}{:02x}".format(*matte)
    support = ALPHA_SUPPORT[fmt]
    if support == "none" and (alpha < 255).any():
        return f"BMP has no transparency: transparent parts were blended onto {colour}."
    if support == "binary" and ((alpha > INVISIBLE_ALPHA) & (alpha < 255)).any():
        return (f"GIF has no partial transparency: partly transparent pixels were blended onto {colour} "
                "(they look right on a background of that colour).")
    return None


def file_quality(original: np.ndarray, table: ColorTable, palette: np.ndarray, color_labels: np.ndarray,
                 support: str, matte: Matte = DEFAULT_MATTE, *, labels: np.ndarray | None = None,
                 cancel: CancelToken | None = None) -> Quality:
    """PSNR and mean ΔE of the file a result becomes, against the ``reference`` of the original.

    ``table`` is the colour table of ``shown(original, support, matte)`` the result was made from,
    ``color_labels`` its colours' palette entries; ``labels`` are the pixels' entries when they
    are not those (dithered).  Computed on the distinct colours when that is exact, else on pixels.
    Raises ``Cancelled`` soon after ``cancel`` is set.
    """
    reference_pixels = reference(original, support, matte)
    file_palette = seen(palette, support, matte)
    on_colours = labels is None and not _changed_beyond_reference(original, support)
    if not on_colours:
        if labels is None:  # (the transparent entry is first in a k-means palette, last in a given one)
            clear = np.flatnonzero(palette[:, 3] == 0) if palette.shape[1] == 4 else ()
            labels = table.labels_for(color_labels, transparent_label=int(clear[0]) if len(clear) else 0)
        return quality(reference_pixels, file_palette[labels], cancel=cancel)
    channels = reference_pixels.shape[-1]
    colours = table.colors
    quantized = file_palette[color_labels]
    if channels == 3:
        colours, quantized = colours[:, :3], quantized[:, :3]
    return color_quality(colours, table.counts, quantized, n_pixels=table.n_pixels, channels=channels,
                         cancel=cancel)


def _changed_beyond_reference(original: np.ndarray, support: str) -> bool:
    """Whether ``shown`` made some pixel differ from what ``reference`` compares against (the nearly
    invisible ones it made transparent), so the distinct colours of the shown image do not say
    exactly how far the file is from the original."""
    if original.shape[-1] == 3 or support == "none":
        return False
    alpha = original[..., 3]
    return bool(((alpha > 0) & (alpha <= INVISIBLE_ALPHA)).any())
