"""Images mapped onto palettes they are given: each colour on its nearest entry, in the
palette's own order (``--palette-in``, ``--shared-palette``, locked colours in a palette file's
order).  No k-means runs here."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from kmeans.colorspace import to_working, with_alpha
from kmeans.colortable import ColorTable
from kmeans.defaults import DEFAULT_COLOR_SPACE, MAX_K
from kmeans.lloyd import find_closest_centroids
from kmeans.quantized import Quantized


def map_to_palette(image: np.ndarray | ColorTable, palette: np.ndarray, *,
                   color_space: str = DEFAULT_COLOR_SPACE) -> Quantized:
    """Each colour on its nearest entry of ``palette`` ((n, 3|4) uint8), measured in ``color_space``
    (no k-means).  The result's palette is ``palette`` in its order, unused entries too, so an
    index means the same colour in every image mapped to it.  Fully transparent pixels take the
    palette's transparent entry (alpha 0) when it has one; otherwise, when the image has such
    pixels, a last, transparent entry is added.  ``dither`` works on the result as on any."""
    started = time.perf_counter()
    table = image if isinstance(image, ColorTable) else ColorTable.from_pixels(image)
    palette = np.asarray(palette, dtype=np.uint8)
    clear = np.flatnonzero(palette[:, 3] == 0) if palette.ndim == 2 and palette.shape[1] == 4 else np.zeros(0, int)
    added = 1 if table.n_transparent and not clear.size else 0
    if palette.ndim != 2 or palette.shape[1] not in (3, 4) or not 1 <= len(palette) <= MAX_K - added:
        raise ValueError(f"a palette of {len(palette)} colours cannot be used here")
    color_labels = nearest_entries(table, palette, color_space)
    out = with_alpha(palette) if table.has_alpha else palette  # (a table has 4 channels only with alpha)
    if added:
        out = np.concatenate([out, np.zeros((1, 4), np.uint8)])
    transparent_label = int(clear[0]) if clear.size else len(out) - 1
    counts = np.bincount(color_labels, weights=table.counts, minlength=len(out)).astype(np.int64)
    if table.n_transparent:
        counts[transparent_label] = table.n_transparent
    return Quantized(palette=out, counts=counts, k=len(out), color_space=color_space, inertia=0.0, n_iter=0,
                     coarse_iter=0, converged=True, distinct_colors=table.n_colors,
                     seconds=time.perf_counter() - started, centroids=to_working(out, color_space),
                     color_labels=color_labels, table=table, transparent_label=transparent_label,
                     locked=np.arange(len(out)) < len(palette))


def nearest_entries(table: ColorTable, palette: np.ndarray, color_space: str) -> np.ndarray:
    """(M,) int32: each of the table's colours' nearest entry of ``palette`` (n, 3|4) in
    ``color_space``, never a fully transparent entry (those stand for the transparent pixels)."""
    visible = np.flatnonzero(palette[:, 3] > 0) if palette.shape[1] == 4 else np.arange(len(palette))
    if not len(table.colors):
        return np.zeros(0, np.int32)
    wide = max(palette.shape[1], table.colors.shape[1])
    colours, entries = with_alpha(table.colors, wide), with_alpha(palette[visible], wide)
    here = table.coords(color_space) if colours is table.colors else to_working(colours, color_space)
    nearest = find_closest_centroids(here, to_working(entries, color_space).astype(np.float32))
    return visible[nearest].astype(np.int32)


def in_order(result: Quantized, first: np.ndarray) -> Quantized:
    """``result`` with its palette reordered: the colours of ``first`` ((F, 3), all in it) first, in
    that order, then the rest as they were (labels follow)."""
    palette = result.palette
    head = [int(np.flatnonzero((palette[:, :3] == colour).all(axis=1) & (palette.shape[1] == 3
                                                                          or palette[:, 3] == 255))[0])
            for colour in np.asarray(first, np.uint8).reshape(-1, 3)]
    taken = set(head)
    order = np.array(head + [i for i in range(len(palette)) if i not in taken])
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return replace(result, palette=palette[order], counts=result.counts[order], color_labels=rank[result.color_labels],
                   transparent_label=int(rank[result.transparent_label]),
                   locked=None if result.locked is None else result.locked[order])
