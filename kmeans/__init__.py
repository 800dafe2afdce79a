"""K-means colour quantization: the headless core (numpy and Pillow, never Qt)."""

from kmeans.blobs import make_blobs
from kmeans.errors import Cancelled, ImageLoadError, ImageSaveError, ImageTooLargeError, KMeansImageError
from kmeans.init import init_centroids
from kmeans.lloyd import IterationInfo, KMeansResult, compute_centroids, find_closest_centroids, fit
from kmeans.quantize import ColorTable, Progress, Quantized, quantize

__version__ = "0.1.0"

__all__ = [
    "Cancelled",
    "ColorTable",
    "ImageLoadError",
    "ImageSaveError",
    "ImageTooLargeError",
    "IterationInfo",
    "KMeansImageError",
    "KMeansResult",
    "Progress",
    "Quantized",
    "compute_centroids",
    "find_closest_centroids",
    "fit",
    "init_centroids",
    "make_blobs",
    "quantize",
]
