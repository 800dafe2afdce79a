"""Lloyd's k-means: the tutorial's two steps, vectorized, chunked and weighted.

``find_closest_centroids`` and ``compute_centroids`` are the tutorial's steps; ``fit`` is the
loop.  Samples may carry weights, so k-means over the distinct colours of an image, each weighted
by its pixel count, is k-means over every pixel, term for term.

Distances come from ``kmeans.nearest`` (row chunks, one matrix product each: memory O(chunk x K),
never O(N x K)).  After the first iteration ``fit`` keeps Hamerly's bounds per
sample (an upper bound on the distance to its centroid, a lower bound on the distance to any
other), so late iterations only touch the samples that can still change cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from kmeans.errors import CancelToken
from kmeans.init import init_centroids
from kmeans.nearest import check_samples, nearest_centroids

_MAX_RELAX = 1.8  # the largest over-relaxation factor of an accelerated Lloyd step
_BRUTE_FORCE_SIZE = 1 << 18  # samples x clusters below which measuring all beats keeping bounds


@dataclass(frozen=True)
class IterationInfo:
    """What ``fit`` reports after every iteration.

    ``inertia`` is the weighted sum of squared distances of the samples to the means of their
    clusters after this iteration; ``shift`` is the largest distance a centroid moved;
    ``centroids`` (K x d, read-only) are the centroids after this iteration; ``sizes`` (K,) the
    total weight in each cluster.
    """

    iteration: int
    inertia: float
    shift: float
    centroids: np.ndarray
    sizes: np.ndarray


@dataclass(frozen=True)
class KMeansResult:
    """The outcome of ``fit``.

    ``labels`` (N, int32) index ``centroids`` (K x d); ``inertia`` is the weighted sum of squared
    distances of the samples to their labelled centroids.  ``converged`` is False when the loop hit
    ``max_iter`` or was stopped; ``stopped`` is True when a callback or cancel token stopped it.
    """

    centroids: np.ndarray
    labels: np.ndarray
    inertia: float
    n_iter: int
    converged: bool
    stopped: bool = False


Callback = Callable[[IterationInfo], "bool | None"]


def find_closest_centroids(X: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the closest centroid for every sample.

    Parameters
    ----------
    X : (N, d) float array of samples.
    centroids : (K, d) array.

    Returns
    -------
    labels : (N,) int32, ``labels[i] = argmin_j |X[i] - centroids[j]|``.
    """
    X, _ = check_samples(X, None)
    centroids = np.asarray(centroids, dtype=X.dtype)
    if centroids.ndim != 2 or centroids.shape[1] != X.shape[1] or centroids.shape[0] == 0:
        raise ValueError(f"centroids must have shape (K, {X.shape[1]}), got {centroids.shape}")
    return nearest_centroids(X, centroids, distances=False)[0]


class _Sums:
    """Per-cluster weight, weighted coordinate sums and weighted |x|^2 sums."""

    def __init__(self, labels: np.ndarray, k: int, w: np.ndarray, wx: np.ndarray, wq: np.ndarray):
        """``wx`` (d, N) are the samples' weighted coordinates, one row per coordinate."""
        self.k = k
        self.weight, self.coords, self.sq = self._tally(labels, w, wx, wq)

    def _tally(
        self, labels: np.ndarray, w: np.ndarray, wx: np.ndarray, wq: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k = self.k
        coords = np.stack([np.bincount(labels, weights=row, minlength=k) for row in wx], 1)
        return np.bincount(labels, weights=w, minlength=k), coords, np.bincount(labels, weights=wq, minlength=k)

    def transfer(self, old: np.ndarray, new: np.ndarray, w: np.ndarray, wx: np.ndarray, wq: np.ndarray) -> None:
        """Move samples (given by their weights and sums) from clusters ``old`` to ``new``."""
        for sign, labels in ((-1.0, old), (1.0, new)):
            weight, coords, sq = self._tally(labels, w, wx, wq)
            self.weight += sign * weight
            self.coords += sign * coords
            self.sq += sign * sq

    def means(self, fallback: np.ndarray) -> np.ndarray:
        filled = self.weight > 0
        out = np.array(fallback, dtype=np.float64)
        out[filled] = self.coords[filled] / self.weight[filled, None]
        return out

    def inertia_at(self, centroids: np.ndarray) -> float:
        """Sum over samples of w |x - c_label|^2, from the sums alone."""
        c = centroids.astype(np.float64)
        total = self.sq - 2 * np.einsum("ij,ij->i", self.coords, c) + self.weight * np.einsum("ij,ij->i", c, c)
        return float(max(total.sum(), 0.0))


class _Lloyd:
    """Lloyd iterations over fixed weighted samples, with Hamerly's bounds.

    Small sets (samples x clusters up to ``_BRUTE_FORCE_SIZE``) keep no bounds: measuring every
    sample afresh costs less there, so each assignment is from scratch.  The per-cluster sums are
    kept up to date from the samples that change cluster, so an iteration costs in proportion to
    the samples it touches; they are recounted from scratch every ``_RECOUNT`` assignments so
    rounding cannot accumulate.
    """

    _RECOUNT = 16

    def __init__(self, X: np.ndarray, weights: np.ndarray | None, k: int):
        self.X = X
        self.k = k
        n = X.shape[0]
        self.bounded = n * k > _BRUTE_FORCE_SIZE
        self.w = np.ones(n) if weights is None else weights
        self.wx = np.ascontiguousarray(X.T, dtype=np.float64)  # (d, N): each coordinate contiguous,
        self.wx *= self.w  # as bincount reads it
        self.wq = np.einsum("ij,ij->i", X, X, dtype=np.float64) * self.w
        # Distances from the matrix-product route carry rounding error of a few ulps of |x|^2;
        # the lower bound is lowered by that much so no sample is wrongly skipped.
        eps = np.finfo(X.dtype).eps
        self._margin = 16 * eps * (float(np.abs(X).max()) ** 2 * X.shape[1] + 1e-30)
        self.labels = np.zeros(n, dtype=np.int32)
        self.upper = np.zeros(n, dtype=X.dtype)
        self.lower = np.zeros(n, dtype=X.dtype)
        self._sums: _Sums | None = None
        self._since_recount = 0

    def assign_all(self, centroids: np.ndarray) -> None:
        """Assign every sample from scratch (and set its bounds, when kept)."""
        bounds = self.bounded
        labels, d1, d2 = nearest_centroids(self.X, centroids, second=bounds, distances=bounds)
        self.labels = labels
        if bounds:
            np.sqrt(d1, out=self.upper)
            np.sqrt(np.maximum(d2 - self._margin, 0), out=self.lower)
        self._sums = None

    def move(self, old: np.ndarray, new: np.ndarray) -> None:
        """Loosen the bounds after the centroids moved from ``old`` to ``new``."""
        if not self.bounded:
            return
        shift = _distance(new, old)
        self.upper += shift[self.labels].astype(self.X.dtype)
        if shift.size > 1:
            order = np.argsort(shift)
            first, second = order[-1], order[-2]
            loosen = np.where(self.labels == first, shift[second], shift[first])
            self.lower -= loosen.astype(self.X.dtype)

    def assign(self, centroids: np.ndarray) -> None:
        """Reassign the samples whose bounds allow a change (all, without bounds)."""
        if not self.bounded:
            self.assign_all(centroids)
            return
        if centroids.shape[0] == 1:
            return
        half = (0.5 * _nearest_other(centroids)).astype(self.X.dtype)
        bound = np.maximum(self.lower, half[self.labels])
        idx = np.flatnonzero(self.upper > bound)
        if idx.size == 0:
            return
        cx = centroids.astype(self.X.dtype)
        diff = self.X[idx] - cx[self.labels[idx]]
        exact = np.sqrt(np.einsum("ij,ij->i", diff, diff))
        self.upper[idx] = exact
        idx = idx[exact > bound[idx]]
        if idx.size == 0:
            return
        labels, d1, d2 = nearest_centroids(self.X[idx], cx, second=True)
        self.upper[idx] = np.sqrt(d1)
        self.lower[idx] = np.sqrt(np.maximum(d2 - self._margin, 0))
        moved = labels != self.labels[idx]
        idx, old, labels = idx[moved], self.labels[idx[moved]], labels[moved]
        self.labels[idx] = labels
        if self._sums is not None and idx.size:
            self._sums.transfer(old, labels, self.w[idx], self.wx[:, idx], self.wq[idx])

    def sums(self, *, recount: bool = False) -> _Sums:
        """The per-cluster sums of the current labels (counted afresh when ``recount``)."""
        self._since_recount += 1
        if recount or self._sums is None or self._since_recount >= self._RECOUNT:
            self._sums = _Sums(self.labels, self.k, self.w, self.wx, self.wq)
            self._since_recount = 0
        return self._sums

    def update(self, previous: np.ndarray) -> tuple[np.ndarray, _Sums]:
        """Centroids as weighted means of their samples; empty clusters are reseeded."""
        sums = self.sums()
        empty = np.flatnonzero(sums.weight <= 0)
        if empty.size and self._since_recount:
            sums = self.sums(recount=True)  # an emptied cluster: recount exactly before deciding
            empty = np.flatnonzero(sums.weight <= 0)
        centroids = sums.means(previous)
        if empty.size:
            moved = _reseed_targets(self.X, self.labels, centroids, empty.size)
            if moved.size:
                self.labels[moved] = empty[: moved.size]
                self.upper[moved] = np.inf  # forces an exact check at the next assignment
                self.lower[moved] = 0
                sums = self.sums(recount=True)
                centroids = sums.means(previous)
        return centroids, sums


def _nearest_other(centroids: np.ndarray) -> np.ndarray:
    """(K,) distance from each centroid to the closest other one (K >= 2)."""
    c = centroids.astype(np.float64)
    c_sq = np.einsum("ij,ij->i", c, c)
    gap = c @ c.T  # then |a|^2 + |b|^2 - 2 a.b in place: a fifth of the time at K=255, once per iteration
    gap *= -2
    gap += c_sq[:, None]
    gap += c_sq[None, :]
    np.fill_diagonal(gap, np.inf)
    return np.sqrt(np.maximum(gap.min(axis=1), 0))


def _reseed_targets(X: np.ndarray, labels: np.ndarray, centroids: np.ndarray, n: int) -> np.ndarray:
    """Up to ``n`` samples farthest from their centroids (only those not sitting on one)."""
    diff = X - centroids[labels].astype(X.dtype)
    dist = np.einsum("ij,ij->i", diff, diff)
    far = np.argsort(dist)[::-1][:n]
    return far[dist[far] > 0]


def compute_centroids(
    X: np.ndarray, labels: np.ndarray, k: int, weights: np.ndarray | None = None
) -> np.ndarray:
    """Weighted mean of the samples in each of ``k`` clusters.

    Parameters
    ----------
    X : (N, d) samples; labels : (N,) ints in [0, k); weights : (N,) non-negative, optional.

    Returns
    -------
    centroids : (k, d) float64, never NaN.  A cluster with no samples is reseeded on the sample
    farthest from its own centroid; if every sample sits on a centroid it stays at the origin.
    """
    X, weights = check_samples(X, weights)
    labels = np.asarray(labels)
    if labels.shape != (X.shape[0],):
        raise ValueError(f"labels must have shape ({X.shape[0]},), got {labels.shape}")
    if k < 1 or labels.min() < 0 or labels.max() >= k:
        raise ValueError(f"labels must lie in [0, {k})")
    engine = _Lloyd(X, weights, k)
    engine.labels = labels.astype(np.int32, copy=True)
    centroids, _ = engine.update(np.zeros((k, X.shape[1])))
    return centroids


def fit(
    X: np.ndarray,
    k: int,
    *,
    weights: np.ndarray | None = None,
    init: str | np.ndarray = "k-means++",
    n_init: int = 1,
    max_iter: int = 300,
    tol: float = 1e-4,
    rtol: float = 0.0,
    seed: int | np.random.Generator | None = 0,
    callback: Callback | None = None,
    cancel: CancelToken | None = None,
    accelerate: bool = False,
) -> KMeansResult:
    """Lloyd's k-means on weighted samples.

    Parameters
    ----------
    X : (N, d) float32 or float64 samples (other dtypes are converted to float64).
    k : number of clusters, 1 <= k <= N.
    weights : (N,) sample weights; a sample of weight w counts as w identical samples.
    init : "k-means++", "random" or a (k, d) array of initial centroids.
    n_init : runs from different seeds; the lowest inertia wins (ignored for an array ``init``).
    max_iter, tol, rtol : stop after ``max_iter`` iterations, or when no label changes, or when
        the squared centroid shift sums to at most ``tol`` times the mean per-feature variance,
        or when an iteration lowers the inertia by at most ``rtol`` times the inertia.
    seed : seed or generator for the initialisation.
    callback : called with an ``IterationInfo`` after every iteration; returning False stops.
    cancel : a token whose ``is_set()`` stops the loop after the current iteration.
    accelerate : overshoot the means by a growing factor (safeguarded over-relaxation); reaches
        a fixed point of Lloyd in fewer iterations when centroids drift slowly.

    Returns
    -------
    KMeansResult.  Centroids have X's dtype.  When stopped early, labels and centroids are those
    of the last finished iteration.
    """
    X, weights = check_samples(X, weights)
    n, d = X.shape
    if not 1 <= k <= n:
        raise ValueError(f"k must be between 1 and the number of samples ({n}), got {k}")
    if max_iter < 1 or n_init < 1:
        raise ValueError("max_iter and n_init must be at least 1")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if not isinstance(init, str):
        if np.shape(init) != (k, d):
            raise ValueError(f"init must have shape ({k}, {d}), got {np.shape(init)}")
        n_init = 1
    return LloydRuns(X, k, weights).run(init, rng=rng, n_init=n_init, max_iter=max_iter, tol=tol, rtol=rtol,
                                        callback=callback, cancel=cancel, accelerate=accelerate)


class LloydRuns:
    """Lloyd runs on one set of validated, weighted samples: what every run needs of them
    (weighted coordinates, the spread that scales ``tol``) is worked out once, so many short runs
    on the same samples (rival seedings, trial swaps) do not pay for it again."""

    def __init__(self, X: np.ndarray, k: int, weights: np.ndarray | None):
        self.X, self.k, self.weights = X, k, weights
        w = np.ones(X.shape[0]) if weights is None else weights
        mean = (w @ X) / w.sum()
        self._scatter, self._total = (w @ (X - mean) ** 2).mean(), w.sum()
        self._engine = _Lloyd(X, weights, k)  # each run resets its labels, bounds and sums

    def run(
        self,
        init: str | np.ndarray,
        *,
        rng: np.random.Generator,
        n_init: int = 1,
        max_iter: int = 300,
        tol: float = 1e-4,
        rtol: float = 0.0,
        callback: Callback | None = None,
        cancel: CancelToken | None = None,
        accelerate: bool = False,
        snap: Callable[[np.ndarray], np.ndarray] | None = None,
        pinned: int = 0,
    ) -> KMeansResult:
        """The best of ``n_init`` runs from ``init`` (see ``fit``).

        ``snap`` maps the final centroids to the centres the final labels must be nearest to
        (quantize's rounded palette); the centroids returned are not snapped.  The first ``pinned``
        rows of ``init`` (an array then) never move: samples are assigned to them, only the others
        are means.
        """
        X, k = self.X, self.k
        tol_abs = float(tol * self._scatter / self._total)
        best: KMeansResult | None = None
        for _ in range(n_init):
            if isinstance(init, str):
                start = init_centroids(X, k, method=init, weights=self.weights, seed=rng).astype(X.dtype)
            else:
                start = np.asarray(init, dtype=X.dtype)
            result = _run(self._engine, start, max_iter=max_iter, tol_abs=tol_abs, rtol=rtol, callback=callback,
                          cancel=cancel, accelerate=accelerate, snap=snap, pinned=pinned)
            if best is None or result.inertia < best.inertia:
                best = result
            if result.stopped:
                break
        assert best is not None
        return best


def _run(
    engine: _Lloyd,
    start: np.ndarray,
    *,
    max_iter: int,
    tol_abs: float,
    rtol: float,
    callback: Callback | None,
    cancel: CancelToken | None,
    accelerate: bool,
    snap: Callable[[np.ndarray], np.ndarray] | None,
    pinned: int = 0,
) -> KMeansResult:
    """The Lloyd loop.

    Each iteration assigns the samples to the current centres and takes the means.  With
    ``accelerate`` the next centres overshoot the means (successive over-relaxation, factor
    growing to ``_MAX_RELAX``); a step whose means have a higher inertia than the last accepted
    ones is undone and the factor reset, so the reported inertia never rises.  Without it the
    centres are the means, as in the tutorial.
    """
    X = engine.X
    engine.labels = np.full(X.shape[0], -1, dtype=np.int32)
    centres = start  # where samples are assigned to: the means, or past them when accelerating
    means = start  # the last accepted means
    best = np.inf
    relax = 1.0
    converged = stopped = False
    iteration = 0
    for iteration in range(1, max_iter + 1):
        if iteration == 1:
            engine.assign_all(centres)
        else:
            engine.assign(centres)
        new, sums = engine.update(centres)
        new = new.astype(X.dtype)  # (a copy)
        if pinned:
            new[:pinned] = start[:pinned]
        inertia = sums.inertia_at(new)
        if relax > 1.0 and inertia > best:
            # The overshoot made things worse: go back to the last accepted means.
            relax = 1.0
            engine.move(centres, means)
            centres = means
            continue
        shift = _distance(new, means)
        gain = best - inertia  # inf at the first iteration
        means, best = new, inertia
        means.setflags(write=False)
        if callback is not None:
            info = IterationInfo(iteration, inertia, float(shift.max()), means, sums.weight.copy())
            if callback(info) is False:
                stopped = True
        if cancel is not None and cancel.is_set():
            stopped = True
        if stopped:
            break
        # (The shift is 0 when no label changed.)
        if float((shift**2).sum()) <= tol_abs or gain <= rtol * inertia:
            converged = True
            break
        if accelerate and iteration > 2:
            relax = min(relax * 1.25, _MAX_RELAX)
        target = (centres + relax * (means.astype(np.float64) - centres)).astype(X.dtype)
        engine.move(centres, target)
        centres = target
    if not stopped:
        # Labels must belong to the centroids returned (or to their snapped versions): the final
        # assignment, touching only the samples whose bounds allow a change.
        final = means if snap is None else np.asarray(snap(means), dtype=X.dtype)
        if final is not centres:
            engine.move(centres, final)
            engine.assign(final)
    inertia = engine.sums(recount=True).inertia_at(means)
    return KMeansResult(
        centroids=np.array(means),
        labels=engine.labels.copy(),
        inertia=inertia,
        n_iter=iteration,
        converged=converged,
        stopped=stopped,
    )


def _distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise Euclidean distance, in float64."""
    return np.sqrt(((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2).sum(axis=1))
