"""How good and how small: MSE, PSNR, mean CIEDE2000, bits per pixel, compression ratio.

Images are (H, W, 3) or (H, W, 4) uint8.  With alpha, MSE and PSNR compare premultiplied RGBA (a
fully transparent pixel's hidden colour does not count), and ΔE compares the colours as they show
over white.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from kmeans.colorspace import pack_rgb, u8_to_cielab, unpack_rgb, with_alpha

_ROWS = 1 << 20  # pixels per chunk: bounded float64 temporaries for large images


def _pair(original: np.ndarray, quantized: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    original, quantized = np.asarray(original), np.asarray(quantized)
    if original.shape[:2] != quantized.shape[:2] or original.ndim != 3 or quantized.ndim != 3:
        raise ValueError(f"images differ in size: {original.shape} and {quantized.shape}")
    channels = max(original.shape[2], quantized.shape[2])
    return with_alpha(original, channels).reshape(-1, channels), with_alpha(quantized, channels).reshape(
        -1, channels
    )


def squared_error(original: np.ndarray, quantized: np.ndarray) -> float:
    """Sum of squared differences, channels scaled to [0, 1] (premultiplied when there is alpha)."""
    a, b = _pair(original, quantized)
    if a.shape[1] == 3:  # exact integer sums, chunked
        total_int = 0
        for start in range(0, len(a), _ROWS):
            diff = a[start : start + _ROWS].astype(np.int32) - b[start : start + _ROWS]
            total_int += int(np.einsum("ij,ij->", diff, diff, dtype=np.int64))
        return total_int / 255.0**2
    total = 0.0
    for start in range(0, len(a), _ROWS):
        x, y = a[start : start + _ROWS] / 255.0, b[start : start + _ROWS] / 255.0
        x[:, :3] *= x[:, 3:]
        y[:, :3] *= y[:, 3:]
        total += float(np.square(x - y).sum())
    return total


def mse(original: np.ndarray, quantized: np.ndarray) -> float:
    """Mean squared error per channel, on the 0..255 scale."""
    a, _ = _pair(original, quantized)
    return squared_error(original, quantized) * 255.0**2 / a.size


def psnr(original: np.ndarray, quantized: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB (inf for identical images)."""
    error = mse(original, quantized)
    return math.inf if error == 0 else 10.0 * math.log10(255.0**2 / error)


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference between (..., 3) CIELAB arrays (Sharma, Wu, Dalal 2005)."""
    L1, a1, b1 = np.moveaxis(np.asarray(lab1, dtype=np.float64), -1, 0)
    L2, a2, b2 = np.moveaxis(np.asarray(lab2, dtype=np.float64), -1, 0)
    c_bar7 = ((np.hypot(a1, b1) + np.hypot(a2, b2)) / 2) ** 7
    g = 0.5 * (1 - np.sqrt(c_bar7 / (c_bar7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    chroma = c1p * c2p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(chroma == 0, 0.0, dh)
    d_l, d_c = L2 - L1, c2p - c1p
    d_h = 2 * np.sqrt(chroma) * np.sin(np.radians(dh) / 2)
    l_bar, c_bar = (L1 + L2) / 2, (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_bar = np.where(
        np.abs(h1p - h2p) <= 180, h_sum / 2, np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2)
    )
    h_bar = np.where(chroma == 0, h_sum, h_bar)
    t = (
        1
        - 0.17 * np.cos(np.radians(h_bar - 30))
        + 0.24 * np.cos(np.radians(2 * h_bar))
        + 0.32 * np.cos(np.radians(3 * h_bar + 6))
        - 0.20 * np.cos(np.radians(4 * h_bar - 63))
    )
    d_theta = 30 * np.exp(-(((h_bar - 275) / 25) ** 2))
    c_bar7p = c_bar**7
    r_c = 2 * np.sqrt(c_bar7p / (c_bar7p + 25.0**7))
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / np.sqrt(20 + (l_bar - 50) ** 2)
    s_c = 1 + 0.045 * c_bar
    s_h = 1 + 0.015 * c_bar * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    lt, ct, ht = d_l / s_l, d_c / s_c, d_h / s_h
    return np.sqrt(np.maximum(lt**2 + ct**2 + ht**2 + r_t * ct * ht, 0))


def mean_delta_e(original: np.ndarray, quantized: np.ndarray) -> float:
    """Mean CIEDE2000 over all pixels.

    Computed once per distinct (original, quantized) colour pair, weighted by its pixel count.
    """
    a, b = _pair(original, quantized)
    if a.shape[1] == 4:
        a, b = over(a), over(b)
    keys = pack_rgb(a).astype(np.uint64) << np.uint64(24)
    keys |= pack_rgb(b)
    pairs, counts = np.unique(keys, return_counts=True)
    first = (pairs >> np.uint64(24)).astype(np.uint32)
    second = (pairs & np.uint64(0xFFFFFF)).astype(np.uint32)
    d = ciede2000(u8_to_cielab(unpack_rgb(first)), u8_to_cielab(unpack_rgb(second)))
    return float(d @ counts / counts.sum())


def over(rgba: np.ndarray, matte: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """RGBA pixels (..., 4) composited on an opaque ``matte`` colour (white): (..., 3) uint8."""
    alpha = rgba[..., 3:4].astype(np.uint32)
    matte_part = np.asarray(matte, np.uint32) * (255 - alpha)
    return ((rgba[..., :3] * alpha + matte_part + 127) // 255).astype(np.uint8)


def bits_per_pixel(n_bytes: int, n_pixels: int) -> float:
    """File size in bits divided by the pixel count."""
    return 8.0 * n_bytes / n_pixels if n_pixels else math.nan


def compression_ratio(bytes_before: int, bytes_after: int) -> float:
    """How many times smaller the output is (below 1: it grew)."""
    return bytes_before / bytes_after if bytes_after else math.inf


@dataclass(frozen=True)
class Quality:
    """How close a quantized image is to its original."""

    mse: float
    psnr: float
    delta_e: float


def quality(original: np.ndarray, quantized: np.ndarray) -> Quality:
    """MSE, PSNR and mean CIEDE2000 of ``quantized`` against ``original``."""
    return _quality(mse(original, quantized), mean_delta_e(original, quantized))


def color_quality(colors: np.ndarray, counts: np.ndarray, quantized: np.ndarray, *, n_pixels: int,
                  channels: int) -> Quality:
    """``quality`` computed once per distinct colour instead of once per pixel (same numbers).

    ``colors`` (M, 3|4) uint8 are an image's distinct colours, each standing for ``counts`` (M,)
    pixels, and ``quantized`` (M, 3|4) what each became; the image has ``n_pixels`` pixels of
    ``channels`` channels, and any pixel not counted (a fully transparent one) is unchanged.
    Exact whenever every pixel of a colour became the same colour (no dithering).
    """
    a = with_alpha(colors, channels)
    b = with_alpha(quantized, channels)
    counts = np.asarray(counts)
    if channels == 3:
        diff = a.astype(np.int64) - b
        total = int(np.einsum("ij,ij->i", diff, diff) @ counts.astype(np.int64)) / 255.0**2
    else:
        x, y = a / 255.0, b / 255.0
        x[:, :3] *= x[:, 3:]
        y[:, :3] *= y[:, 3:]
        total = float(np.square(x - y).sum(axis=1) @ counts)
    if channels == 4:
        a, b = over(a), over(b)
    d = ciede2000(u8_to_cielab(a[:, :3]), u8_to_cielab(b[:, :3]))
    return _quality(total * 255.0**2 / (n_pixels * channels), float(d @ counts) / n_pixels)


def _quality(error: float, delta_e: float) -> Quality:
    return Quality(mse=error, psnr=math.inf if error == 0 else 10.0 * math.log10(255.0**2 / error), delta_e=delta_e)
