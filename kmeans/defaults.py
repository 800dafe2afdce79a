"""Every default and every choice the command line and the window share, in one place.

The window's controls, the command line's options and the core's keyword defaults all read these,
so "16 colours in RGB" is written once.  Plain values only: importing this costs nothing.
"""

from __future__ import annotations

import os

DEFAULT_K = 16
MIN_K = 2  # the window's slider; the command line also allows 1 (a single colour)
MAX_K = 256  # an indexed file holds at most 256 entries, the transparent one included
DEFAULT_COLOR_SPACE = "balanced"  # decided by tests/benchmarks/bench_quantize.py: lowest mean ΔE, RGB-like PSNR
DEFAULT_INIT = "k-means++"
DEFAULT_SEED = 0
DEFAULT_MAX_ITER = 300
DEFAULT_FORMAT = "png"
Matte = tuple[int, int, int]  # an (r, g, b) background colour
DEFAULT_MATTE: Matte = (255, 255, 255)  # what GIF and BMP blend partial transparency onto: a white page
FULL_DITHER = 100  # dithering levels are percentages, like pngquant's --floyd=0..1 scaled
DEFAULT_NAME = "{name}-k{k}.{ext}"  # output names: the input's name, K and the format's suffix
#: Pillow's own decompression-bomb threshold (about 89.5 megapixels): larger images are asked about.
DEFAULT_MAX_PIXELS = 1024 * 1024 * 1024 // 4 // 3
DEFAULT_MAX_FRAMES = 10_000  # frames an animation may have (each costs a decode and a step of its own)

COLOR_SPACES = ("balanced", "rgb", "oklab")
INIT_METHODS = ("k-means++", "random")
#: Export formats: name -> (file suffix, Pillow format).
FORMATS = {
    "png": (".png", "PNG"),
    "gif": (".gif", "GIF"),
    "webp": (".webp", "WEBP"),
    "bmp": (".bmp", "BMP"),
}


def format_for(path: str | os.PathLike[str], default: str = DEFAULT_FORMAT) -> str:
    """The export format named by a file's suffix, else ``default``."""
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    return next((name for name, (ext, _) in FORMATS.items() if suffix == ext), default)
