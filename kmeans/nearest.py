"""The nearest centroid of every sample: the distance kernels under every k-means step.

Distances are computed in row chunks as ``|c|^2 - 2 x.c`` (one matrix product per chunk), so memory
is O(chunk x K), never O(N x K).  Large inputs are split between the machine's cores (numpy
releases the GIL in these loops).
"""

from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

_CHUNK_ELEMENTS = 1 << 20  # ~4 MB of float32 distances per chunk: fits in cache, measured fastest
_FEW_CENTROIDS = 16  # up to here a loop over centroids beats a row-wise argmin (measured),
_FEW_CENTROIDS_ALONE = 4  # and up to here when the second-nearest distance is not wanted
# Threads for one k-means: every core, unless KMEANS_THREADS says otherwise (worker processes of a
# batch, each one of several on the same cores, take their share).
_WORKERS = max(1, min(8, int(os.environ.get("KMEANS_THREADS") or 0) or os.cpu_count() or 1))
_PARALLEL_ROWS = 8192  # below this, splitting between threads costs more than it saves


def _chunk_rows(k: int) -> int:
    return int(min(8192, max(2048, _CHUNK_ELEMENTS // max(k, 1))))


def nearest_centroids(
    X: np.ndarray, centroids: np.ndarray, *, second: bool = False, distances: bool = True
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Closest centroid of every row of ``X`` (validated input: 2-D float32/64, same width).

    Returns ``labels`` (int32), the squared distance to that centroid (None without
    ``distances``: labels alone take less work) and, when ``second`` is set, the squared distance
    to the second closest (inf when K == 1).  Distances are clipped at 0.  Large inputs are split
    between the machine's cores (numpy releases the GIL in these loops).
    """
    n, k = X.shape[0], centroids.shape[0]
    dim = X.shape[1]
    labels = np.empty(n, dtype=np.int32)
    d1 = np.empty(n, dtype=X.dtype) if distances or second else None
    d2 = np.empty(n, dtype=X.dtype) if second else None
    # |c|^2 - 2 x.c from one product: each centroid lifted to [-2c, |c|^2], each sample to [x, 1]
    # (one pass over the (rows, K) distances fewer than adding |c|^2 after the product).
    lifted = np.empty((k, dim + 1), dtype=X.dtype)
    lifted[:, :dim] = centroids * -2
    lifted[:, dim] = np.einsum("ij,ij->i", centroids, centroids)
    if k <= (_FEW_CENTROIDS if second else _FEW_CENTROIDS_ALONE):
        kernel, c = _nearest_few, lifted
    else:
        kernel, c = _nearest_many, np.ascontiguousarray(lifted.T)
    rows = _chunk_rows(k)

    def run(begin: int, end: int) -> None:
        size = min(rows, end - begin)  # (a few samples must not pay for filling a whole chunk)
        buf = np.empty((k, size) if kernel is _nearest_few else (size, k), dtype=X.dtype)
        x1 = np.ones((size, dim + 1), dtype=X.dtype)
        for start in range(begin, end, rows):
            stop = min(start + rows, end)
            x = X[start:stop]
            x1[: stop - start, :dim] = x
            part1 = None if d1 is None else d1[start:stop]
            part2 = None if d2 is None else d2[start:stop]
            kernel(x1[: stop - start], c, buf, labels[start:stop], part1, part2)
            if part1 is None:
                continue
            x_sq = np.einsum("ij,ij->i", x, x)
            part1 += x_sq
            if part2 is not None:
                part2 += x_sq

    parts = min(_WORKERS, n // _PARALLEL_ROWS)
    if parts > 1:
        edges = np.linspace(0, n, parts + 1).astype(int)
        for future in [_pool().submit(run, a, b) for a, b in itertools.pairwise(edges)]:
            future.result()
    else:
        run(0, n)
    if d1 is not None:
        np.maximum(d1, 0, out=d1)
    if d2 is not None:
        np.maximum(d2, 0, out=d2)
    return labels, d1, d2


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="kmeans")
        return _POOL


def _nearest_many(x1, c_t, buf, labels, d1, d2) -> None:
    """Row layout: distances (m, K) from one product, then a row-wise argmin."""
    m = x1.shape[0]
    b = buf[:m]
    np.dot(x1, c_t, out=b)
    lab = b.argmin(axis=1)
    labels[:] = lab
    if d1 is None:
        return
    k = b.shape[1]
    flat = b.reshape(-1)  # (a view: the buffer's leading rows are contiguous, so writes reach b)
    at = np.arange(0, m * k, k)
    at += lab
    d1[:] = flat[at]
    if d2 is not None:
        if k == 1:
            d2[:] = np.inf
            return
        flat[at] = np.inf
        # The runner-up's value through a second argmin: numpy's row-wise argmin is vectorized
        # and its row-wise min is not (up to 2.3x slower, measured).
        at += b.argmin(axis=1) - lab
        d2[:] = flat[at]


def _nearest_few(x1, c, buf, labels, d1, d2) -> None:
    """Column layout: distances (K, m), then a running minimum over the K rows."""
    m = x1.shape[0]
    b = buf if buf.shape[1] == m else np.empty((buf.shape[0], m), dtype=buf.dtype)  # C-contiguous
    np.dot(c, x1.T, out=b)
    if d1 is None:
        d1 = np.empty(m, dtype=b.dtype)  # (the running minimum)
    d1[:] = b[0]
    labels[:] = 0
    if d2 is not None:
        d2[:] = np.inf
    closer = np.empty(m, dtype=bool)
    tmp = np.empty(m, dtype=b.dtype)
    for j in range(1, b.shape[0]):
        row = b[j]
        if d2 is not None:
            np.maximum(row, d1, out=tmp)
            np.minimum(d2, tmp, out=d2)
        np.less(row, d1, out=closer)
        np.copyto(labels, j, where=closer)
        np.minimum(d1, row, out=d1)


def check_samples(X: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """``X`` as a contiguous 2-D float32/64 array and ``weights`` as float64, or ValueError saying
    what is wrong with them (a public function validates once; the kernels assume valid input)."""
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must be a non-empty 2-D array of samples, got shape {X.shape}")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    X = np.ascontiguousarray(X)
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinite values")
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (X.shape[0],):
            raise ValueError(f"weights must have shape ({X.shape[0]},), got {weights.shape}")
        if not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError("weights must be finite, non-negative and not all zero")
    return X, weights
