"""Sample blobs for the teaching tab: isotropic Gaussian clusters, as in the tutorial."""

from __future__ import annotations

import numpy as np


def make_blobs(
    n_samples: int = 300,
    centers: int | np.ndarray = 4,
    cluster_std: float = 0.6,
    seed: int | None = 0,
    *,
    center_box: tuple[float, float] = (-10.0, 10.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Points drawn around a few centres.

    Parameters
    ----------
    n_samples : total number of points, split as evenly as possible between the centres.
    centers : how many centres (placed uniformly at random in ``center_box`` squared) or a
        (c, 2) array of them.
    cluster_std : standard deviation of every blob.
    seed : the same seed gives the same points.

    Returns
    -------
    X : (n_samples, 2) float64 points; y : (n_samples,) int64 index of the blob each came from.
    """
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1, got {n_samples}")
    if cluster_std < 0:
        raise ValueError(f"cluster_std must be non-negative, got {cluster_std}")
    rng = np.random.default_rng(seed)
    if np.ndim(centers) == 0:
        n_centers = int(centers)
        if n_centers < 1:
            raise ValueError(f"centers must be at least 1, got {n_centers}")
        centre_xy = rng.uniform(center_box[0], center_box[1], size=(n_centers, 2))
    else:
        centre_xy = np.asarray(centers, dtype=np.float64)
        if centre_xy.ndim != 2 or centre_xy.shape[1] != 2:
            raise ValueError(f"centers must be a count or a (c, 2) array, got shape {centre_xy.shape}")
        n_centers = len(centre_xy)
    per_blob = np.full(n_centers, n_samples // n_centers)
    per_blob[: n_samples % n_centers] += 1
    y = np.repeat(np.arange(n_centers), per_blob)
    X = centre_xy[y] + rng.normal(scale=cluster_std, size=(n_samples, 2))
    order = rng.permutation(n_samples)
    return X[order], y[order]
