"""Dithering: labels for a result's palette with the quantization error diffused.

Floyd-Steinberg error diffusion in OKLab, vectorized as a wavefront.  The image is cut into
tiles; inside a tile a pixel needs the error of its left neighbour and of the three above it, so
every pixel with the same ``x + 2·y`` in every tile is ready at once, and a tile takes
``width + 2·height`` numpy steps however large the image is.  Error does not cross tile borders
(as it does not cross the image's), which at this tile size nothing measured can see.

Each pixel chooses among a few entries only: the ones nearest its 5-bit colour cell and its own
undithered label, so a step costs a handful of distances per pixel, not K, and the error cannot
carry a pixel to a far colour.  The error is scaled by 15/16 so it cannot build up, and a
pixel takes none on an edge (``_edges``) or where its own entry already matches it (``MATCHED``):
there dithering only adds jagged lines, noise and bytes.  The level scales what a pixel takes.
"""

from __future__ import annotations

import numpy as np

from kmeans.colorspace import _LINEAR_FROM_U8_F32, _LMS_FROM_LINEAR, _OKLAB_FROM_LMS
from kmeans.colortable import check_pixels
from kmeans.quantized import Quantized

#: Rows and columns of a tile: big enough that borders are rare, small enough for few steps.
TILE = (64, 128)
#: Entries each pixel may choose among, besides its own undithered one.
CANDIDATES = 8
#: Share of the error passed on, so it cannot grow without bound along a row.
ERROR_SCALE = 15 / 16
#: Floyd-Steinberg weights of the error a pixel receives from its left, up-left, up and up-right
#: neighbours (they gave it 7, 1, 5 and 3 sixteenths of theirs).
_FROM_LEFT, _FROM_UP_LEFT, _FROM_UP, _FROM_UP_RIGHT = 7 / 16, 1 / 16, 5 / 16, 3 / 16
#: Undithered error (OKLab distance) under which a pixel is left on its own entry.
MATCHED = 0.004
#: Colour step (largest channel difference, 0-255) to a neighbour above which a pixel is an edge.
EDGE = 24


def dither(pixels: np.ndarray, result: Quantized, level: float = 1.0, *,
           labels: np.ndarray | None = None) -> np.ndarray:
    """Labels for ``result.palette`` with the error diffused at ``level`` (0 to 1; 0 gives the
    undithered ``labels``, by default ``result.labels``: those of ``pixels``).  Only opaque pixels
    take part, over the opaque entries: the others keep their labels and neither give nor receive
    error.  Returns (H, W) uint8 labels."""
    pixels = check_pixels(pixels)
    labels = result.labels if labels is None else labels
    palette = result.palette
    if not 0.0 <= level <= 1.0:
        raise ValueError(f"a dithering level is between 0 and 1, not {level}")
    opaque_entries = np.flatnonzero(palette[:, 3] == 255) if palette.shape[1] == 4 else np.arange(len(palette))
    if level == 0.0 or opaque_entries.size < 2:
        return labels.copy()
    h, w = labels.shape
    layout = _Layout(h, w)
    rgb = layout.gather(pixels[..., :3])
    own = layout.gather(labels)
    taking_part = np.isin(own, opaque_entries)  # an opaque pixel on a see-through entry keeps it
    taking_part &= layout.inside
    if pixels.shape[2] == 4:
        taking_part &= layout.gather(pixels[..., 3]) == 255
    if not taking_part.any():
        return labels.copy()
    entries = _oklab(palette[:, :3])
    colours = _oklab(rgb.reshape(-1, 3)).reshape(*rgb.shape)
    cells = _cell(rgb)
    nearby, nearby_coords = _candidates(rgb[taking_part], cells[taking_part], entries, opaque_entries)
    error = colours - entries[own]
    strength = (layout.gather(_edges(pixels)) & taking_part
                & (np.einsum("...k,...k->...", error, error) >= MATCHED * MATCHED)).astype(np.float32)
    strength *= np.float32(level)
    chosen = _diffuse(layout, colours, entries, own, cells, nearby, nearby_coords, strength,
                      taking_part.astype(np.float32) * np.float32(ERROR_SCALE))
    return np.where(taking_part, chosen, own).ravel()[layout.back].reshape(h, w)


def _edges(pixels: np.ndarray) -> np.ndarray:
    """(H, W) bool: the pixels that may take error, those without a colour step over ``EDGE``
    to a neighbour (dithering across an edge makes it jagged)."""
    h, w = pixels.shape[:2]
    calm = np.ones((h, w), bool)
    for c in range(3):  # |a - b| as max - min stays in uint8: no widening pass over the image
        channel = pixels[..., c]
        left, right = channel[:, :-1], channel[:, 1:]
        across = (np.maximum(left, right) - np.minimum(left, right)) <= EDGE
        calm[:, 1:] &= across
        calm[:, :-1] &= across
        top, bottom = channel[:-1], channel[1:]
        down = (np.maximum(top, bottom) - np.minimum(top, bottom)) <= EDGE
        calm[1:] &= down
        calm[:-1] &= down
    return calm


def _oklab(rgb: np.ndarray) -> np.ndarray:
    """(N, 3) uint8 sRGB to OKLab, float32 (a float64 pass would double the cost here)."""
    linear = _LINEAR_FROM_U8_F32[rgb]
    lms = linear @ _LMS_FROM_LINEAR.T.astype(np.float32)
    return np.cbrt(lms) @ _OKLAB_FROM_LMS.T.astype(np.float32)


def _cell(rgb: np.ndarray) -> np.ndarray:
    """Each colour's cell of a 32 × 32 × 32 grid over RGB, int32."""
    top = (rgb >> 3).astype(np.int32)
    return (top[..., 0] << 10) | (top[..., 1] << 5) | top[..., 2]


def _candidates(colours: np.ndarray, cells: np.ndarray, entries: np.ndarray,
                opaque_entries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each occupied cell, the opaque entries nearest its colours' mean: (32768, C) uint8
    labels and their (32768, C, 3) OKLab coordinates."""
    count = np.bincount(cells, minlength=1 << 15)
    occupied = np.flatnonzero(count)
    means = np.stack([np.bincount(cells, weights=colours[:, c], minlength=1 << 15)[occupied]
                      for c in range(3)], axis=1) / count[occupied, None]
    here = _oklab(np.rint(means).astype(np.uint8))
    pool = entries[opaque_entries]
    n = min(CANDIDATES, len(opaque_entries))
    distance = ((here[:, None, :] - pool[None]) ** 2).sum(axis=2)
    nearest = np.argpartition(distance, n - 1, axis=1)[:, :n] if n < len(pool) else \
        np.broadcast_to(np.arange(n), (len(occupied), n))
    table = np.zeros((1 << 15, n), np.uint8)
    table[occupied] = opaque_entries[nearest]
    return table, entries[table]


class _Layout:
    """The image cut into tiles and laid out step by step: the pixels a step handles (one
    anti-diagonal ``x + 2·y`` of every tile) are one contiguous block, row by row of the tile,
    so a pixel's neighbours in the steps before are slices of those steps' blocks."""

    def __init__(self, h: int, w: int) -> None:
        rows, cols = TILE
        self.rows, self.cols = rows, cols
        ty, tx = -(-h // rows), -(-w // cols)
        self.n_tiles = ty * tx
        self.first = [max(0, -(-(t - cols + 1) // 2)) for t in range(self.n_steps)]
        self.last = [min(rows - 1, t // 2) for t in range(self.n_steps)]
        spans = list(zip(self.first, self.last, strict=True))
        y = np.concatenate([np.arange(a, b + 1) for a, b in spans])
        x = np.concatenate([t - 2 * np.arange(a, b + 1) for t, (a, b) in enumerate(spans)])
        tile_y, tile_x = np.divmod(np.arange(self.n_tiles), tx)
        gy = (tile_y * rows)[None, :] + y[:, None]  # (rows·cols, tiles): every padded pixel once
        gx = (tile_x * cols)[None, :] + x[:, None]
        self.inside = (gy < h) & (gx < w)
        self.index = np.where(self.inside, gy * w + gx, 0)  # padding reads pixel 0, then is ignored
        self.start = np.concatenate([[0], np.cumsum([b - a + 1 for a, b in spans])])
        inverse = np.empty(h * w, np.int64)
        inverse[self.index[self.inside]] = np.flatnonzero(self.inside.ravel())
        self.back = inverse  # flat step-layout position of every image pixel
        self.sources = [self._sources(t) for t in range(self.n_steps)]

    def _sources(self, t: int) -> list[tuple[slice, int, slice, np.float32]]:
        """What step ``t`` receives: (its rows, the giving step, that step's rows, the weight)."""
        first, last, y0, y1 = self.first, self.last, self.first[t], self.last[t]
        wanted = (  # rows lo..hi of step t receive from rows lo + dy.. of step t - back
            (y0, min(y1, last[t - 1]) if t else -1, 1, 0, _FROM_LEFT),
            (max(1, y0), y1, 2, -1, _FROM_UP),
            (max(1, y0), min(y1, (t - 1) // 2), 3, -1, _FROM_UP_LEFT),
            (max(1, y0, -(-(t - self.cols + 2) // 2)), y1, 1, -1, _FROM_UP_RIGHT),
        )
        sources = []
        for lo, hi, back, dy, weight in wanted:
            if t - back >= 0 and lo <= hi:
                a = lo + dy - first[t - back]
                sources.append((slice(lo - y0, hi - y0 + 1), back, slice(a, a + hi - lo + 1), np.float32(weight)))
        return sources

    @property
    def n_steps(self) -> int:
        return self.cols + 2 * (self.rows - 1)

    def gather(self, image: np.ndarray) -> np.ndarray:
        """(H, W, ...) to (rows·cols, tiles, ...) in step layout."""
        return image.reshape(-1, *image.shape[2:])[self.index]

    def block(self, t: int) -> slice:
        return slice(self.start[t], self.start[t + 1])


def _diffuse(layout: _Layout, colours: np.ndarray, entries: np.ndarray, own: np.ndarray, cells: np.ndarray,
             nearby: np.ndarray, nearby_coords: np.ndarray, strength: np.ndarray, passed: np.ndarray
             ) -> np.ndarray:
    """The chosen entry of every pixel in step layout (see the module)."""
    chosen = np.empty(own.shape, np.uint8)
    errors: list[np.ndarray | None] = []  # the error every pixel of the last steps passes on
    for t in range(layout.n_steps):
        y0, y1 = layout.first[t], layout.last[t]
        block = layout.block(t)
        received = np.zeros((y1 - y0 + 1, layout.n_tiles, 3), np.float32)
        for rows, back, given, weight in layout.sources[t]:
            src = errors[t - back]
            assert src is not None
            received[rows] += src[given] * weight
        wanted = colours[block] + received * strength[block, :, None]
        cell = cells[block]
        gap = nearby_coords[cell] - wanted[:, :, None, :]
        distance = np.einsum("...ck,...ck->...c", gap, gap)
        pick = distance.argmin(axis=-1)
        best = np.take_along_axis(nearby[cell], pick[..., None], -1)[..., 0]
        nearest = np.take_along_axis(distance, pick[..., None], -1)[..., 0]
        mine = own[block]
        own_gap = entries[mine] - wanted
        best = np.where(np.einsum("...k,...k->...", own_gap, own_gap) <= nearest, mine, best)
        chosen[block] = best
        errors.append((wanted - entries[best]) * passed[block, :, None])
        if t >= 3:
            errors[t - 3] = None  # no later step reads it
    return chosen
