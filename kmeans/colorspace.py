"""Colour spaces: sRGB, linear light, OKLab and CIELAB, and the clustering ("working") spaces.

The working space is where k-means measures distance.  ``rgb`` is the tutorial's: sRGB scaled to
[0, 1].  ``oklab`` is Björn Ottosson's OKLab, nearly perceptually uniform and cheap.  With alpha,
colour coordinates are premultiplied by alpha and alpha is a fourth coordinate in [0, 1], so a
nearly transparent pixel's colour matters as little as it shows.

``balanced`` (the default) measures the squared sRGB distance plus a share of the squared DIN99o
distance, a Euclidean space built to track CIE colour differences (DIN 6176): six coordinates,
sRGB in [0, 1] then DIN99o / 100 times ``BALANCED_WEIGHT``.  k-means there keeps nearly all of
RGB's PSNR and follows what eyes see (mean CIEDE2000) more closely than either space alone
(``tests/benchmarks/bench_quantize.py`` prints both).  A partly transparent colour is placed where
it shows over mid grey (halfway between a black and a white page), with alpha as a seventh
coordinate.  A palette entry is its cluster's mean sRGB (the DIN99o coordinates only decide which
colours belong together).
"""

from __future__ import annotations

import math
import sys

import numpy as np

from kmeans.defaults import COLOR_SPACES

_LMS_FROM_LINEAR = np.array(
    [
        [0.4122214708, 0.5363325363, 0.0514459929],
        [0.2119034982, 0.6806995451, 0.1073969566],
        [0.0883024619, 0.2817188376, 0.6299787005],
    ]
)
_OKLAB_FROM_LMS = np.array(
    [
        [0.2104542553, 0.7936177850, -0.0040720468],
        [1.9779984951, -2.4285922050, 0.4505937099],
        [0.0259040371, 0.7827717662, -0.8086757660],
    ]
)
_LMS_FROM_OKLAB = np.linalg.inv(_OKLAB_FROM_LMS)
_LINEAR_FROM_LMS = np.linalg.inv(_LMS_FROM_LINEAR)

# sRGB (D65) linear light to CIE XYZ, and the D65 white point.
_XYZ_FROM_LINEAR = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_D65 = np.array([0.95047, 1.0, 1.08883])


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    """sRGB components in [0, 1] to linear light (float64)."""
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    """Linear light to sRGB components, clipped to [0, 1] (float64)."""
    c = np.clip(np.asarray(c, dtype=np.float64), 0.0, 1.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


# Decoding 8-bit sRGB is a table lookup.
_LINEAR_FROM_U8 = srgb_to_linear(np.arange(256) / 255.0)
_LINEAR_FROM_U8_F32 = _LINEAR_FROM_U8.astype(np.float32)


def u8_to_linear(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 sRGB to linear light (float64)."""
    return _LINEAR_FROM_U8[rgb]


def linear_to_oklab(linear: np.ndarray) -> np.ndarray:
    """(..., 3) linear sRGB to OKLab (float64)."""
    lms = np.asarray(linear, dtype=np.float64) @ _LMS_FROM_LINEAR.T
    return np.cbrt(lms) @ _OKLAB_FROM_LMS.T


def oklab_to_linear(lab: np.ndarray) -> np.ndarray:
    """(..., 3) OKLab to linear sRGB (float64, not clipped: out-of-gamut values are kept)."""
    lms = (np.asarray(lab, dtype=np.float64) @ _LMS_FROM_OKLAB.T) ** 3
    return lms @ _LINEAR_FROM_LMS.T


def u8_to_cielab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 sRGB to CIELAB (D65), float64."""
    return linear_to_cielab(u8_to_linear(rgb))


def linear_to_cielab(linear: np.ndarray) -> np.ndarray:
    """(..., 3) linear sRGB to CIELAB (D65), float64 (float32 for float32 input)."""
    linear = _floats(linear)
    xyz = linear @ (_XYZ_FROM_LINEAR.T / _D65).astype(linear.dtype)
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1
    )


def cielab_to_din99o(lab: np.ndarray) -> np.ndarray:
    """(..., 3) CIELAB to DIN99o (float64, or float32 for float32 input): lightness and chroma
    compressed logarithmically, the a-b plane turned and stretched, so Euclidean distances track
    CIE colour differences."""
    lab = _floats(lab)
    e = lab[..., 1] * _COS26 + lab[..., 2] * _SIN26
    f = 0.83 * (lab[..., 2] * _COS26 - lab[..., 1] * _SIN26)
    g = np.hypot(e, f)
    # The chroma is compressed, the hue angle kept and turned back by 26 degrees: (e, f) scaled by
    # chroma / g, then rotated.
    scale = np.divide(np.log1p(0.075 * g) / 0.0435, g, out=np.zeros_like(g), where=g > 0)
    e *= scale
    f *= scale
    return np.stack([303.67 * np.log1p(0.0039 * lab[..., 0]), e * _COS26 - f * _SIN26, e * _SIN26 + f * _COS26],
                    axis=-1)


_COS26, _SIN26 = math.cos(math.radians(26.0)), math.sin(math.radians(26.0))
#: ``balanced``: how much the DIN99o distance (in units of 100) counts beside the sRGB one: the
#: largest weight that lowers mean CIEDE2000 while PSNR stays close to RGB's and above
#: libimagequant's (tests/benchmarks/bench_quantize.py --compare decides; more costs PSNR fast).
BALANCED_WEIGHT = 0.4
_GREY = 0.5  # where a partly transparent colour is seen in ``balanced``


def to_working(colors: np.ndarray, space: str) -> np.ndarray:
    """(M, 3|4) uint8 sRGB(A) colours to (M, d) float32 working coordinates: d = 3|4, or 6|7 in
    ``balanced``.

    With a fourth (alpha) channel, colour coordinates are premultiplied by alpha in [0, 1].
    """
    _check_space(space)
    colors = np.asarray(colors)
    if space == "balanced":
        return _to_balanced(colors)
    rgb = colors[:, :3]
    coords = rgb / 255.0 if space == "rgb" else linear_to_oklab(u8_to_linear(rgb))
    if colors.shape[1] == 4:
        alpha = colors[:, 3:4] / 255.0
        coords = np.concatenate([coords * alpha, alpha], axis=1)
    return coords.astype(np.float32)


def from_working(coords: np.ndarray, space: str) -> np.ndarray:
    """(K, d) working coordinates (as ``to_working`` makes them) to the nearest (K, 3|4) uint8
    sRGB(A) colours.

    Out-of-gamut colours are clipped; premultiplied colour is divided by alpha before conversion.
    """
    _check_space(space)
    coords = np.asarray(coords, dtype=np.float64)
    if space == "balanced":
        return _from_balanced(coords)
    colour = coords[:, :3]
    alpha = None
    if coords.shape[1] == 4:
        alpha = np.clip(coords[:, 3:4], 0.0, 1.0)
        colour = np.divide(colour, alpha, out=np.zeros_like(colour), where=alpha > 0)
    srgb = np.clip(colour, 0.0, 1.0) if space == "rgb" else linear_to_srgb(oklab_to_linear(colour))
    out = srgb
    if alpha is not None:
        out = np.concatenate([srgb, alpha], axis=1)
    return np.rint(out * 255.0).astype(np.uint8)


def _to_balanced(colors: np.ndarray) -> np.ndarray:
    # In float32 throughout (the coordinates are float32): twice as fast as float64 on 10 MP photos.
    srgb = colors[:, :3] * np.float32(1 / 255)
    if colors.shape[1] == 3:
        shown, u8 = srgb, colors[:, :3]
    else:
        alpha = colors[:, 3:4] * np.float32(1 / 255)
        shown = srgb * alpha + _GREY * (1 - alpha)
        u8 = np.rint(shown * 255).astype(np.uint8)  # (DIN99o of the shown colour rounded to 8 bits)
    din = cielab_to_din99o(linear_to_cielab(_LINEAR_FROM_U8_F32[u8]))
    din *= np.float32(BALANCED_WEIGHT / 100)
    parts = [shown, din] if colors.shape[1] == 3 else [shown, din, alpha]
    return np.concatenate(parts, axis=1)


def _from_balanced(coords: np.ndarray) -> np.ndarray:
    shown = coords[:, :3]
    if coords.shape[1] == 6:
        return np.rint(np.clip(shown, 0.0, 1.0) * 255.0).astype(np.uint8)
    alpha = np.clip(coords[:, 6:7], 0.0, 1.0)
    colour = np.divide(shown - _GREY * (1.0 - alpha), alpha, out=np.zeros_like(shown), where=alpha > 0)
    return np.rint(np.clip(np.concatenate([colour, alpha], axis=1), 0.0, 1.0) * 255.0).astype(np.uint8)


def with_alpha(colours: np.ndarray, channels: int = 4) -> np.ndarray:
    """``colours`` (..., 3|4) uint8 with ``channels`` channels: an opaque alpha added when it is
    missing (the same array when nothing is)."""
    colours = np.asarray(colours)
    if colours.shape[-1] >= channels:
        return colours
    return np.concatenate([colours, np.full((*colours.shape[:-1], 1), 255, np.uint8)], axis=-1)


def pack_rgb(colors: np.ndarray) -> np.ndarray:
    """(N, >=3) uint8 colours -> (N,) uint32 keys ``r << 16 | g << 8 | b`` (alpha ignored)."""
    n = colors.shape[0]
    keys = np.zeros(n, dtype=np.uint32)
    view = keys.view(np.uint8).reshape(n, 4)
    if sys.byteorder == "little":
        view[:, 2], view[:, 1], view[:, 0] = colors[:, 0], colors[:, 1], colors[:, 2]
    else:
        view[:, 1], view[:, 2], view[:, 3] = colors[:, 0], colors[:, 1], colors[:, 2]
    return keys


def unpack_rgb(keys: np.ndarray) -> np.ndarray:
    """(N,) integer keys made by ``pack_rgb`` -> (N, 3) uint8 colours."""
    keys = np.asarray(keys)
    return np.stack([(keys >> 16) & 255, (keys >> 8) & 255, keys & 255], axis=1).astype(np.uint8)


def _floats(values: np.ndarray) -> np.ndarray:
    """``values`` as float32 when they are, else float64."""
    values = np.asarray(values)
    return values if values.dtype == np.float32 else values.astype(np.float64)


def _check_space(space: str) -> None:
    if space not in COLOR_SPACES:
        raise ValueError(f"unknown colour space {space!r}; use one of {', '.join(COLOR_SPACES)}")
