"""Initial centroids: the tutorial's random pick of K samples, and k-means++.

With weights, a sample of weight w is drawn as if it were w identical samples, so picking among
an image's distinct colours weighted by pixel counts is picking among its pixels.
"""

from __future__ import annotations

import numpy as np

from kmeans.defaults import INIT_METHODS


def _sq_dist_to(X: np.ndarray, centers: np.ndarray, x_sq: np.ndarray) -> np.ndarray:
    """(len(centers), N) squared distances, clipped at 0."""
    c = centers.astype(X.dtype)
    d = x_sq[None, :] - 2.0 * (c @ X.T) + np.einsum("ij,ij->i", c, c)[:, None]
    return np.maximum(d, 0, out=d)


def init_centroids(
    X: np.ndarray,
    k: int,
    *,
    method: str = "k-means++",
    weights: np.ndarray | None = None,
    seed: int | np.random.Generator | None = 0,
    given: np.ndarray | None = None,
) -> np.ndarray:
    """Choose ``k`` initial centroids among the rows of ``X``.

    Parameters
    ----------
    X : (N, d) samples.
    k : how many centroids, at least 1.
    method : "random" (K samples of distinct values drawn in proportion to their weights, the
        tutorial's shuffle-and-take-K) or "k-means++" (greedy k-means++ with 2 + ln K trials per centre).
    weights : (N,) non-negative sample weights, optional.
    seed : seed or generator; the same seed gives the same centroids.
    given : (m, d) centroids to keep as the first m; only the remaining k - m are chosen.

    Returns
    -------
    (k, d) float64 centroids.  When X has fewer distinct samples than k, some rows repeat.
    """
    if method not in INIT_METHODS:
        raise ValueError(f"unknown init method {method!r}; use one of {', '.join(INIT_METHODS)}")
    X = np.asarray(X)
    n = X.shape[0]
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    given = np.empty((0, X.shape[1])) if given is None else np.asarray(given, dtype=np.float64)
    if given.shape[0] >= k:
        return given[:k].copy()
    if method == "random" and given.shape[0] == 0:
        return _random(X, k, w, rng)
    return _kmeans_plusplus(X, k, w, rng, given)


def _random(X: np.ndarray, k: int, w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    candidates = np.flatnonzero(w > 0)
    if candidates.size >= k:
        p = w[candidates] / w[candidates].sum()
        chosen = rng.choice(candidates, size=k, replace=False, p=p)
        if len(np.unique(X[chosen], axis=0)) < k:  # samples that repeat a value (pixels of one colour)
            return _random_values(X, k, w, rng)
    else:
        extra = rng.choice(candidates, size=k - candidates.size, replace=True)
        chosen = np.concatenate([rng.permutation(candidates), extra])
    return X[chosen].astype(np.float64)


def _random_values(X: np.ndarray, k: int, w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """K distinct values of ``X`` drawn in proportion to their total weight: centroids that start
    on one point are one centroid wasted.  Repeats only when ``X`` has fewer than K values."""
    values, inverse = np.unique(X, axis=0, return_inverse=True)
    weight = np.bincount(inverse.ravel(), weights=w, minlength=len(values))
    return _random(values, k, weight, rng)  # (its values are distinct: it does not come back here)


def _kmeans_plusplus(
    X: np.ndarray, k: int, w: np.ndarray, rng: np.random.Generator, given: np.ndarray
) -> np.ndarray:
    if not np.issubdtype(X.dtype, np.floating):
        X = X.astype(np.float64)  # (integer samples: distances and weights need fractions)
    n, d = X.shape
    x_sq = np.einsum("ij,ij->i", X, X)
    # Squared distances from candidates c to every sample in one product: [c, |c|^2, 1] . [-2x, 1, |x|^2].
    lifted = np.empty((d + 2, n), dtype=X.dtype)
    lifted[:d] = -2.0 * X.T
    lifted[d] = 1.0
    lifted[d + 1] = x_sq
    as_candidate = np.empty((n, d + 2), dtype=X.dtype)
    as_candidate[:, :d] = X
    as_candidate[:, d] = x_sq
    as_candidate[:, d + 1] = 1.0
    centers = np.empty((k, d), dtype=np.float64)
    m = given.shape[0]
    centers[:m] = given
    trials = 2 + int(np.log(k))
    if m == 0:
        first = rng.choice(n, p=w / w.sum())
        centers[0] = X[first]
        m = 1
    # Distances stay in X's dtype (float32 for colours), updated in place: a step is a few passes
    # over N values.  Only the running sum that draws the picks is float64.
    closest = _sq_dist_to(X, centers[:m], x_sq).min(axis=0)
    w_x = w.astype(X.dtype)
    potential = float(w @ closest)
    weighted = np.empty(n, dtype=X.dtype)
    zeros = np.zeros((1, n), dtype=X.dtype)
    for c in range(m, k):
        if potential <= 0:
            # Every sample already sits on a centre: the rest can only repeat samples.
            centers[c:] = X[rng.choice(np.flatnonzero(w > 0), size=k - c)]
            break
        np.multiply(w_x, closest, out=weighted)
        cumulative = np.cumsum(weighted, dtype=np.float64)
        picks = np.searchsorted(cumulative, rng.uniform(size=trials) * cumulative[-1], side="right")
        picks = np.minimum(picks, n - 1)
        dist = as_candidate[picks] @ lifted
        np.minimum(dist, closest[None, :], out=dist)
        np.maximum(dist, zeros, out=dist)  # (an array, not the scalar 0: numpy's scalar path is slower)
        pots = dist @ w_x
        best = int(np.argmin(pots))
        centers[c] = X[picks[best]]
        closest = dist[best]
        potential = float(pots[best])
    return centers
