"""How much memory an image needs to be compressed, and whether this computer has it.

Both front ends ask before they decode an image over the pixel limit: the window offers to open
it anyway, the command line offers ``--max-pixels``, unless it could never fit here, where both
say how much it would need instead of offering what cannot work.
"""

from __future__ import annotations

import os

#: Peak memory per pixel while decoding, building the colour table and quantizing: what
#: tests/benchmarks/bench_huge.py measures on a 40 MP image, with a little to spare.
BYTES_PER_PIXEL = 20
#: With dithering: its step layout holds each pixel's OKLab colour, cell, error and positions
#: (``python tests/benchmarks/bench_dither.py --speed`` beside ``/usr/bin/time -v`` on 10 MP).
DITHER_BYTES_PER_PIXEL = 100
#: An image needing more than this share of the computer's memory is not offered at all.
FITS_SHARE = 0.8


def physical_memory() -> int | None:
    """Bytes of RAM in this computer, where the system says."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def needed(pixels: int, dither: bool = False) -> int:
    """About how many bytes compressing an image of ``pixels`` pixels takes at its peak."""
    return pixels * (DITHER_BYTES_PER_PIXEL if dither else BYTES_PER_PIXEL)


def beyond_memory(pixels: int, dither: bool = False) -> str | None:
    """Why an image of ``pixels`` pixels cannot be compressed on this computer, in words ("it would
    need about 112,000 GB of memory, and this computer has 24.0 GB"), or None when it may fit."""
    have = physical_memory()
    need = needed(pixels, dither)
    if not have or need <= FITS_SHARE * have:
        return None
    return f"compressing it would need about {gigabytes(need)} of memory, and this computer has {gigabytes(have)}"


def gigabytes(n: int) -> str:
    return f"{n / 2**30:,.1f} GB"
