"""The distinct colours of an image with their pixel counts: what k-means runs on.

k-means over an image's distinct colours, each weighted by its pixel count, is k-means over all of
its pixels (the same objective, term for term) at a fraction of the work.  ``ColorTable`` is built
once per image and reused for every K; it also maps a label per colour back onto every pixel.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from kmeans.colorspace import pack_rgb, to_working, unpack_rgb, with_alpha


@dataclass(frozen=True, eq=False)
class ColorTable:
    """The distinct colours of an image with their pixel counts.

    ``colors`` is (M, 3) uint8, or (M, 4) when some pixels are partly transparent; fully
    transparent pixels are not in it (they are counted in ``n_transparent``).  ``has_alpha`` says
    the image has any pixel that is not opaque, so its palette needs an alpha channel.
    """

    shape: tuple[int, int]
    colors: np.ndarray
    counts: np.ndarray
    has_alpha: bool
    n_transparent: int
    _keys: np.ndarray | None = field(repr=False)  # (N,) 24-bit RGB keys, when colors is (M, 3)
    _inverse: np.ndarray | None = field(repr=False)  # (N,) index into colors, when (M, 4)
    _transparent: np.ndarray | None = field(repr=False)  # (N,) bool, or None
    _cache: dict = field(default_factory=dict, repr=False, compare=False)  # derived arrays, built once
    #: Held while the shared lookup table of ``labels_for`` is in use (re-entrant, so a caller can
    #: hold it around a check-then-build).
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    @classmethod
    def from_pixels(cls, pixels: np.ndarray) -> ColorTable:
        """Build the table from an (H, W, 3) or (H, W, 4) uint8 array."""
        pixels = check_pixels(pixels)
        h, w, channels = pixels.shape
        flat = pixels.reshape(-1, channels)
        transparent = None
        n_transparent = 0
        has_alpha = False
        if channels == 4:
            alpha = flat[:, 3]
            has_alpha = bool((alpha != 255).any())
            if has_alpha:
                transparent = alpha == 0
                n_transparent = int(np.count_nonzero(transparent))
                if n_transparent == 0:
                    transparent = None
                if ((alpha > 0) & (alpha < 255)).any():
                    return cls._from_rgba(flat, (h, w), n_transparent, transparent)
        keys = pack_rgb(flat)
        visible = keys if transparent is None else keys[~transparent]
        unique, counts = np.unique(visible, return_counts=True)
        return cls((h, w), unpack_rgb(unique), counts, has_alpha, n_transparent, keys, None, transparent)

    @classmethod
    def union(cls, tables: list[ColorTable]) -> ColorTable:
        """One table of every colour of ``tables`` with their counts summed, as if the images were
        one (for one palette fitted to many images); its pixels are its colours, one each."""
        wide = any(t.colors.shape[1] == 4 for t in tables)
        colours = [with_alpha(t.colors) if wide else t.colors for t in tables]
        keys = np.concatenate([np.ascontiguousarray(c).view(np.uint32).ravel() if wide else pack_rgb(c)
                               for c in colours])
        unique, inverse = np.unique(keys, return_inverse=True)
        counts = np.bincount(inverse.ravel(), weights=np.concatenate([t.counts for t in tables]),
                             minlength=len(unique)).astype(np.int64)
        n_transparent = sum(t.n_transparent for t in tables)
        has_alpha = any(t.has_alpha for t in tables)
        if wide:
            merged = np.ascontiguousarray(unique.astype(np.uint32).view(np.uint8).reshape(-1, 4))
            return cls((1, len(unique)), merged, counts, True, n_transparent, None,
                       np.arange(len(unique), dtype=np.int32), None)
        return cls((1, len(unique)), unpack_rgb(unique), counts, has_alpha, n_transparent, unique, None, None)

    @classmethod
    def stacked(cls, tables: list[ColorTable]) -> ColorTable:
        """One table of images of the same width stacked top to bottom, each keeping its own colours:
        a colour two of them share is in it twice, once with each one's count (so each part can have
        labels of its own, ``Quantized.frames``), and every measure over colours and counts is exact."""
        wide = any(t.colors.shape[1] == 4 for t in tables)
        colours = [with_alpha(t.colors) if wide else t.colors for t in tables]
        inverse, offset = [], 0
        for table in tables:
            index = table.colour_index()
            inverse.append(np.where(index >= 0, index + offset, -1).astype(np.int32))
            offset += len(table.colors)
        masks = [t._transparent if t._transparent is not None else np.zeros(t.n_pixels, bool) for t in tables]
        transparent = np.concatenate(masks) if any(t._transparent is not None for t in tables) else None
        shape = (sum(t.shape[0] for t in tables), tables[0].shape[1])
        return cls(shape, np.ascontiguousarray(np.concatenate(colours)), np.concatenate([t.counts for t in tables]),
                   any(t.has_alpha for t in tables), sum(t.n_transparent for t in tables), None,
                   np.concatenate(inverse), transparent)

    def colour_index(self) -> np.ndarray:
        """(N,) int32: each pixel's row in ``colors``, -1 for a fully transparent one."""
        if self._inverse is not None:
            index = self._inverse.astype(np.int32, copy=True)
        else:
            assert self._keys is not None
            index = np.searchsorted(self._color_keys(), self._keys).astype(np.int32)
            np.minimum(index, max(len(self.colors) - 1, 0), out=index)
        if self._transparent is not None:
            index[self._transparent] = -1
        return index

    @classmethod
    def _from_rgba(
        cls, flat: np.ndarray, shape: tuple[int, int], n_transparent: int, transparent: np.ndarray | None
    ) -> ColorTable:
        keys = np.ascontiguousarray(flat).view(np.uint32).ravel()
        if transparent is None:
            unique, inverse, counts = _unique_u32(keys)
        else:  # transparent pixels are not in the table: leave them out of the sort
            unique, visible_inverse, counts = _unique_u32(keys[~transparent])
            inverse = np.full(keys.shape, -1, dtype=np.int32)
            inverse[~transparent] = visible_inverse
        colors = np.ascontiguousarray(unique.view(np.uint8).reshape(-1, 4))
        return cls(shape, colors, counts, True, n_transparent, None, inverse, transparent)

    def cached(self, key: object, make: Callable[[], object]):
        """The value stored under ``key``, made by ``make()`` the first time (per table)."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def coords(self, color_space: str) -> np.ndarray:
        """The colours in a working space, (M, 3|4) float32 (computed once per space)."""
        return self.cached(("coords", color_space), lambda: to_working(self.colors, color_space))

    def bins(self, bits: int) -> tuple[int, np.ndarray]:
        """How many bins are occupied when each channel keeps its top ``bits`` bits, and each
        colour's bin (computed once per depth)."""

        def make() -> tuple[int, np.ndarray]:
            index = bin_index(self.colors, bits)
            size = 1 << (bits * self.colors.shape[1])
            if self._dense(bits):  # mark the occupied bins and number them in order: no sort
                rank = np.zeros(size, dtype=np.intp)
                rank[index] = 1
                np.cumsum(rank, out=rank)
                return int(rank[-1]), rank[index] - 1
            occupied, inverse = np.unique(index, return_inverse=True)
            return len(occupied), inverse.astype(np.intp).ravel()

        return self.cached(("bins", bits), make)

    def n_bins(self, bits: int) -> int:
        """``bins(bits)[0]``, counted without numbering the bins unless that is cheap (numbered
        already, or a dense array little larger than the table); else from one sort for every depth."""
        size = 1 << (bits * self.colors.shape[1])
        if ("bins", bits) in self._cache or (self._dense(bits) and size <= _COUNT_DENSE_PER_COLOUR * len(self.colors)):
            return self.bins(bits)[0]
        return int(self.cached("bin_counts", self._bin_counts)[bits])

    def _dense(self, bits: int) -> bool:
        """Whether bins at this depth are numbered in a dense array rather than by a sort."""
        size = 1 << (bits * self.colors.shape[1])
        return size <= _DENSE_BINS and size <= _DENSE_PER_COLOUR * len(self.colors)

    def _bin_counts(self) -> np.ndarray:
        """Occupied bins at every depth 0..8, from one sort: with the channels' bits interleaved
        (top bits first), a colour's bin at any depth is a prefix of its key."""
        channels = self.colors.shape[1]
        keys = np.zeros(len(self.colors), dtype=np.uint32)
        for channel in range(channels):
            keys |= _SPREAD[channels][self.colors[:, channel]] << np.uint32(channels - 1 - channel)
        keys.sort()
        counts = np.zeros(9, dtype=np.int64)
        for bits in range(9):
            prefix = keys >> np.uint32(channels * (8 - bits)) if bits < 8 else keys
            counts[bits] = 1 + np.count_nonzero(np.diff(prefix)) if len(keys) else 0
        return counts

    @property
    def n_pixels(self) -> int:
        return self.shape[0] * self.shape[1]

    @property
    def n_colors(self) -> int:
        """Distinct colours, counting fully transparent pixels as one."""
        return len(self.colors) + (1 if self.n_transparent else 0)

    def labels_for(self, color_labels: np.ndarray, transparent_label: int = 0, step: int = 1) -> np.ndarray:
        """(H, W) uint8 labels of every pixel (uint16 past 256 entries), given the label of each distinct colour; with
        ``step`` > 1, of every ``step``-th pixel of every ``step``-th row only (a small copy).

        Safe from several threads: the lookup table they share is used under ``lock``.
        """
        wide = len(color_labels) and int(np.max(color_labels)) > 255  # (a palette per frame: more entries)
        color_labels = np.asarray(color_labels, dtype=np.uint16 if wide else np.uint8)
        rows = slice(None, None, step)
        if step > 1:
            index = self._index_every(step)
            labels = color_labels[index] if len(color_labels) else np.zeros(index.shape, np.uint8)
        elif self._keys is not None:
            with self.lock:
                # Every pixel's key is a table colour, so only those entries are ever read: the
                # table (16 MB) is allocated once and never cleared.
                lut = self._lut()
                lut[self._color_keys()] = color_labels
                labels = lut[self._keys]
        else:
            assert self._inverse is not None
            labels = color_labels[np.maximum(self._inverse, 0)]
        if self._transparent is not None:
            labels[self._transparent.reshape(self.shape)[rows, rows] if step > 1 else self._transparent] = \
                transparent_label
        return labels.reshape(self.shape) if step == 1 else labels

    def _lut(self) -> np.ndarray:
        return self.cached("lut", lambda: np.empty(1 << 24, dtype=np.uint8))

    def _color_keys(self) -> np.ndarray:
        return self.cached("color_keys", lambda: pack_rgb(self.colors))

    def _index_every(self, step: int) -> np.ndarray:
        """(h, w) int32: the colour of every ``step``-th pixel of every ``step``-th row (fully
        transparent ones: any colour).  Made once per step (the last one is kept), so the small
        copy of each result costs one gather, not a pass over the 16 MB lookup table."""
        kept = self._cache.get("index every")
        if kept is not None and kept[0] == step:
            return kept[1]
        if self._keys is None:
            assert self._inverse is not None
            index = np.maximum(self._inverse.reshape(self.shape)[::step, ::step], 0)
        else:
            keys = np.ascontiguousarray(self._keys.reshape(self.shape)[::step, ::step])
            color_keys = self._color_keys()
            positions = np.arange(len(color_keys), dtype=np.int32)
            index = np.zeros(keys.shape, dtype=np.int32)
            with self.lock:  # the byte lookup table, a byte of each colour's position at a time
                lut = self._lut()
                for shift in (0, 8, 16):
                    lut[color_keys] = (positions >> shift).astype(np.uint8)
                    index |= lut[keys].astype(np.int32) << shift
            np.minimum(index, max(len(color_keys) - 1, 0), out=index)  # (transparent pixels' keys are not colours)
        self._cache["index every"] = (step, index)
        return index


def check_pixels(pixels: np.ndarray) -> np.ndarray:
    """Validate an image array: (H, W, 3) or (H, W, 4) uint8 with H, W >= 1."""
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
        raise ValueError(f"expected an (H, W, 3) or (H, W, 4) uint8 array, got {pixels.dtype} {pixels.shape}")
    if pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise ValueError("the image has no pixels")
    return pixels


# Numbering occupied bins in a dense array costs in proportion to the bins, a sort in proportion
# to the colours (times a log): dense wins up to 2^21 bins and 64 bins per colour (measured).
_DENSE_BINS = 1 << 21
_DENSE_PER_COLOUR = 64
#: Bins per colour up to which counting them by a dense array beats the one sort that counts every depth.
_COUNT_DENSE_PER_COLOUR = 4


def _unique_u32(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(keys, return_inverse=True, return_counts=True)`` for uint32 keys, inverse as
    int32: sorted by two stable 16-bit passes (numpy radix-sorts 16-bit keys), 3-4x faster."""
    if len(keys) == 0:
        return keys.copy(), np.zeros(0, np.int32), np.zeros(0, np.int64)
    order = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    order = order[np.argsort((keys[order] >> 16).astype(np.uint16), kind="stable")]
    ordered = keys[order]
    starts = np.empty(len(ordered), dtype=bool)
    starts[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    inverse = np.empty(len(keys), dtype=np.int32)
    inverse[order] = np.cumsum(starts, dtype=np.int32) - 1
    first = np.flatnonzero(starts)
    return ordered[first], inverse, np.diff(np.append(first, len(ordered)))


def _spread(channels: int) -> np.ndarray:
    """Each byte's bits placed ``channels`` apart (bit j at j * channels), as uint32."""
    out = np.zeros(256, dtype=np.uint32)
    for bit in range(8):
        out |= ((np.arange(256, dtype=np.uint32) >> bit) & 1) << np.uint32(bit * channels)
    return out


_SPREAD = {3: _spread(3), 4: _spread(4)}


def bin_index(colors: np.ndarray, bits: int) -> np.ndarray:
    """Index of each colour's bin when every channel keeps its top ``bits`` bits."""
    shift = 8 - bits
    index = np.zeros(len(colors), dtype=np.int64)
    for channel in range(colors.shape[1]):
        index = (index << bits) | (colors[:, channel] >> shift)
    return index
