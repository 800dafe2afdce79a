"""What quantizing gives: ``Quantized`` (a palette image) and ``Progress`` (one iteration of it).

Plain data that crosses threads and processes.  ``finish`` is the one place a palette is ordered
and its transparent entry added, so every way of making a result numbers its entries alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from kmeans.colorspace import from_working, with_alpha
from kmeans.colortable import ColorTable


@dataclass(frozen=True, eq=False)
class Progress:
    """One iteration of ``quantize``, as plain data for a progress display.

    ``stage`` is "seeding" (rival starts racing on the coarsest histogram), "coarse" (converging on
    colour histograms) or "fine" (all distinct colours); ``iteration`` counts every iteration run;
    ``run`` is which of the ``runs`` Lloyd runs this iteration belongs to (1-based; the last is on
    all distinct colours), so a progress bar can move forward honestly;
    ``centroids`` (K, 3|4) float32 are the unrounded centres in ``color_space`` (read-only) and
    ``sizes`` (K,) the pixels in each cluster.  ``palette`` (K, 3|4) uint8 and ``shares`` (K,)
    fractions of the pixels are worked out from them when first read, so iterations that nobody
    displays cost nothing.
    """

    stage: str
    iteration: int
    max_iter: int
    run: int
    runs: int
    inertia: float
    shift: float
    centroids: np.ndarray
    sizes: np.ndarray
    color_space: str

    @cached_property
    def palette(self) -> np.ndarray:
        return from_working(self.centroids, self.color_space)

    @cached_property
    def shares(self) -> np.ndarray:
        return self.sizes / max(float(self.sizes.sum()), 1e-300)


@dataclass(frozen=True, eq=False)
class Quantized:
    """A palette image.

    ``palette`` (n, 3) or (n, 4) uint8, one row per entry, entries that are not opaque first and
    then by share of pixels; ``labels`` (H, W) uint8, so ``palette[labels]`` is the image.
    ``counts`` (n,) pixels per entry.  ``color_labels`` (M,) is the entry of each of ``table``'s
    distinct colours, so measures can work on colours instead of pixels.
    ``inertia`` is the k-means objective in the working colour space; ``centroids`` are the
    unrounded centres there.  ``notice`` says in words when the palette has fewer entries than
    asked, else None.

    An animation whose frames each have a palette of their own (``frames``: each frame's result on
    its own colours) has them all in ``palette``, one after the other (``frame_entries``), and
    its labels point into the part of the frame they are in: ``palette[labels]`` is still the image.
    """

    palette: np.ndarray
    counts: np.ndarray
    k: int
    color_space: str
    inertia: float
    n_iter: int
    coarse_iter: int
    converged: bool
    distinct_colors: int
    seconds: float
    centroids: np.ndarray
    color_labels: np.ndarray
    table: ColorTable = field(repr=False)  # the image's colours: ``labels`` are made from them
    transparent_label: int = 0  # the entry of fully transparent pixels, when there are any
    notice: str | None = None
    locked: np.ndarray | None = None  # (n,) bool: the entries given as fixed colours, kept exactly
    frames: tuple[Quantized, ...] | None = field(default=None, repr=False)  # a palette per frame: each frame's

    @property
    def frame_entries(self) -> tuple[int, ...] | None:
        """Where each frame's part of ``palette`` begins, and where the last ends (None: one palette)."""
        if self.frames is None:
            return None
        return tuple(int(n) for n in np.cumsum([0] + [len(f.palette) for f in self.frames]))

    def of_frame(self, frame: int) -> tuple[np.ndarray, np.ndarray, int]:
        """The palette ``frame`` is drawn with, its pixels per entry, and where its entries begin in
        ``palette`` (the whole palette, from 0, when all frames share it)."""
        if self.frames is None:
            return self.palette, self.counts, 0
        entries = self.frame_entries
        assert entries is not None
        own = self.frames[frame]
        return own.palette, own.counts, entries[frame]

    @property
    def colours(self) -> int:
        """The entries a frame has at most: the palette's size when all frames share it."""
        return len(self.palette) if self.frames is None else max(len(f.palette) for f in self.frames)

    @property
    def labels(self) -> np.ndarray:
        """(H, W) uint8 (uint16 past 256 entries, a palette per frame): every pixel's entry.  Made
        on first read (tens of milliseconds and a byte per pixel on a large image, which the
        window's first picture does without), then kept."""
        labels = self.__dict__.get("_labels")
        if labels is None:
            with self.table.lock:  # (two threads asking at once: one makes them, both get them)
                labels = self.__dict__.get("_labels")
                if labels is None:
                    labels = self.table.labels_for(self.color_labels, self.transparent_label)
                    self.__dict__["_labels"] = labels
        return labels

    def labels_every(self, step: int) -> np.ndarray:
        """The labels of every ``step``-th pixel of every ``step``-th row, without making them all."""
        labels = self.__dict__.get("_labels")
        if labels is not None or step <= 1:
            return self.labels[::step, ::step]
        return self.table.labels_for(self.color_labels, self.transparent_label, step=step)

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the image."""
        return self.table.shape

    @property
    def shares(self) -> np.ndarray:
        return self.counts / self.counts.sum()

    @classmethod
    def per_frame(cls, shared: Quantized, frames: list[Quantized], table: ColorTable, seconds: float) -> Quantized:
        """One result of ``frames`` (each frame's own, top to bottom) over ``table``, their colour
        tables stacked (``ColorTable.stacked``); ``shared`` is the one palette it was made from."""
        wide = any(f.palette.shape[1] == 4 for f in frames)
        palettes = [with_alpha(f.palette) if wide else f.palette for f in frames]
        offsets = np.cumsum([0] + [len(p) for p in palettes])
        color_labels = np.concatenate([f.color_labels.astype(np.int32) + start
                                       for f, start in zip(frames, offsets[:-1], strict=True)])
        made = cls(palette=np.ascontiguousarray(np.concatenate(palettes)),
                   counts=np.concatenate([f.counts for f in frames]),
                   k=shared.k, color_space=shared.color_space, inertia=float(sum(f.inertia for f in frames)),
                   n_iter=shared.n_iter, coarse_iter=shared.coarse_iter, converged=shared.converged,
                   distinct_colors=shared.distinct_colors, seconds=seconds, centroids=shared.centroids,
                   color_labels=color_labels, table=table, notice=shared.notice, frames=tuple(frames))
        dtype = np.uint8 if offsets[-1] <= 256 else np.uint16
        index = table.colour_index()
        labels = color_labels.astype(dtype)[np.maximum(index, 0)]
        # (a frame's fully transparent pixels are on its own first entry, the transparent one)
        first_entry = np.repeat(offsets[:-1], [f.table.n_pixels for f in frames]).astype(dtype)
        labels[index < 0] = first_entry[index < 0]
        made.__dict__["_labels"] = labels.reshape(table.shape)
        return made

    def to_array(self) -> np.ndarray:
        """The quantized image, (H, W, 3|4) uint8."""
        return self.palette[self.labels]


ProgressCallback = Callable[[Progress], "bool | None"]


def finish(
    table: ColorTable,
    palette: np.ndarray,
    color_labels: np.ndarray,
    *,
    k: int,
    color_space: str,
    centroids: np.ndarray,
    started: float,
    inertia: float = 0.0,
    n_iter: int = 0,
    coarse_iter: int = 0,
    converged: bool = True,
    notice: str | None = None,
    keep: int = 0,
) -> Quantized:
    """A ``Quantized`` from a palette and each colour's entry: the palette ordered (entries that are
    not opaque first, then by share), the transparent entry added first when the image has
    transparent pixels.  Unused entries are dropped, except the first ``keep`` (fixed colours:
    marked ``locked``)."""
    counts = np.bincount(color_labels, weights=table.counts, minlength=len(palette)).astype(np.int64)
    used = counts > 0
    used[:keep] = True
    locked = np.zeros(len(palette), bool)
    locked[:keep] = True
    locked = locked[used]
    palette, counts = palette[used], counts[used]
    remap = np.cumsum(used) - 1
    color_labels = remap[color_labels]
    if table.has_alpha:
        palette = with_alpha(palette)
        if table.n_transparent:
            palette = np.concatenate([np.zeros((1, 4), np.uint8), palette])
            counts = np.concatenate([[table.n_transparent], counts])
            locked = np.concatenate([[False], locked])
            color_labels = color_labels + 1
    opaque = palette[:, 3] == 255 if palette.shape[1] == 4 else np.ones(len(palette), bool)
    order = np.lexsort((-counts, opaque))
    if table.n_transparent:
        order = np.concatenate([[0], order[order != 0]])
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    color_labels = rank[color_labels]
    return Quantized(
        palette=np.ascontiguousarray(palette[order]),
        counts=counts[order],
        k=k,
        color_space=color_space,
        inertia=float(inertia),
        n_iter=n_iter,
        coarse_iter=coarse_iter,
        converged=converged,
        distinct_colors=table.n_colors,
        seconds=time.perf_counter() - started,
        centroids=np.asarray(centroids),
        color_labels=color_labels,
        table=table,
        notice=notice,
        locked=locked[order] if keep else None,
    )
