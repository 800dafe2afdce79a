"""K-means colour quantization: the headless core (numpy and Pillow, never Qt).

The names below are loaded on first use, so ``kmeans-compress --version`` (and anything else that
needs only ``__version__``) answers without importing numpy or Pillow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_HOMES = {
    "make_blobs": "kmeans.blobs",
    "Cancelled": "kmeans.errors",
    "ImageLoadError": "kmeans.errors",
    "ImageSaveError": "kmeans.errors",
    "ImageTooLargeError": "kmeans.errors",
    "KMeansImageError": "kmeans.errors",
    "OutputExistsError": "kmeans.errors",
    "init_centroids": "kmeans.init",
    "IterationInfo": "kmeans.lloyd",
    "KMeansResult": "kmeans.lloyd",
    "compute_centroids": "kmeans.lloyd",
    "find_closest_centroids": "kmeans.lloyd",
    "fit": "kmeans.lloyd",
    "ColorTable": "kmeans.colortable",
    "Progress": "kmeans.quantized",
    "Quantized": "kmeans.quantized",
    "quantize": "kmeans.quantization",
}

__all__ = [
    "Cancelled",
    "ColorTable",
    "ImageLoadError",
    "ImageSaveError",
    "ImageTooLargeError",
    "IterationInfo",
    "KMeansImageError",
    "KMeansResult",
    "OutputExistsError",
    "Progress",
    "Quantized",
    "compute_centroids",
    "find_closest_centroids",
    "fit",
    "init_centroids",
    "make_blobs",
    "quantize",
]  # the names of _HOMES

if TYPE_CHECKING:
    from kmeans.blobs import make_blobs
    from kmeans.colortable import ColorTable
    from kmeans.errors import (
        Cancelled,
        ImageLoadError,
        ImageSaveError,
        ImageTooLargeError,
        KMeansImageError,
        OutputExistsError,
    )
    from kmeans.init import init_centroids
    from kmeans.lloyd import IterationInfo, KMeansResult, compute_centroids, find_closest_centroids, fit
    from kmeans.quantization import quantize
    from kmeans.quantized import Progress, Quantized


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'kmeans' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
