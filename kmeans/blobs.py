"""Sample data for the teaching tab: the tutorial's Gaussian blobs, and shapes where k-means goes wrong."""

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


# -- shapes where k-means goes wrong (for the lessons); each returns (X, y) as make_blobs does ----

def make_moons(n_samples: int = 300, noise: float = 0.1, seed: int | None = 0, *,
               scale: float = 6.0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles of radius ``scale`` (the upper one's ends dip into the lower's
    hollow); ``noise`` is the standard deviation of the Gaussian added to each point, in radii."""
    _check(n_samples, noise, "noise")
    rng = np.random.default_rng(seed)
    upper = n_samples - n_samples // 2
    t = np.concatenate([rng.uniform(0, np.pi, upper), rng.uniform(0, np.pi, n_samples - upper)])
    y = np.repeat([0, 1], [upper, n_samples - upper])
    unit = np.where(y[:, None] == 0, np.stack([np.cos(t), np.sin(t)], axis=1),
                    np.stack([1 - np.cos(t), 0.5 - np.sin(t)], axis=1))
    unit += rng.normal(scale=noise, size=unit.shape)
    return _shuffled((unit - [0.5, 0.25]) * scale, y, rng)


def make_circles(n_samples: int = 300, noise: float = 0.05, seed: int | None = 0, *,
                 factor: float = 0.45, scale: float = 8.0) -> tuple[np.ndarray, np.ndarray]:
    """A ring of radius ``scale`` around a disc's edge ``factor`` as wide (y 0: the ring, 1: inside);
    ``noise`` is the Gaussian's standard deviation, in radii of the ring."""
    _check(n_samples, noise, "noise")
    if not 0 < factor < 1:
        raise ValueError(f"factor must lie between 0 and 1, got {factor}")
    rng = np.random.default_rng(seed)
    outer = n_samples - n_samples // 2
    y = np.repeat([0, 1], [outer, n_samples - outer])
    t = rng.uniform(0, 2 * np.pi, n_samples)
    radius = np.where(y == 0, 1.0, factor)
    unit = np.stack([np.cos(t), np.sin(t)], axis=1) * radius[:, None]
    unit += rng.normal(scale=noise, size=unit.shape)
    return _shuffled(unit * scale, y, rng)


def make_stretched(n_samples: int = 300, centers: int = 3, cluster_std: float = 0.6,
                   seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Blobs stretched along one shared slanted direction (anisotropic: 8x longer than wide, the
    width ``cluster_std``), lying side by side, long edge to long edge."""
    _check(n_samples, cluster_std, "cluster_std")
    if centers < 1:
        raise ValueError(f"centers must be at least 1, got {centers}")
    rng = np.random.default_rng(seed)
    per_blob = np.full(centers, n_samples // centers)
    per_blob[: n_samples % centers] += 1
    y = np.repeat(np.arange(centers), per_blob)
    across_centres = (np.arange(centers) - (centers - 1) / 2) * 4.5 + rng.uniform(-0.3, 0.3, centers)
    along_centres = rng.uniform(-2.0, 2.0, centers)
    across = across_centres[y] + rng.normal(scale=cluster_std, size=n_samples)
    along = along_centres[y] + rng.normal(scale=cluster_std * 8, size=n_samples)
    angle = np.deg2rad(60)
    direction = np.array([np.cos(angle), np.sin(angle)])
    normal = np.array([-direction[1], direction[0]])
    X = along[:, None] * direction + across[:, None] * normal
    return _shuffled(X, y, rng)


def make_uneven(n_samples: int = 300, centers: int = 3, cluster_std: float = 0.6,
                seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """One big, wide blob and smaller, tighter ones beside it: each blob after the first has a
    quarter of the points of the one before and half its spread (the first has 4x ``cluster_std``)."""
    _check(n_samples, cluster_std, "cluster_std")
    if centers < 1:
        raise ValueError(f"centers must be at least 1, got {centers}")
    rng = np.random.default_rng(seed)
    shares = 0.25 ** np.arange(centers)
    sizes = np.floor(shares / shares.sum() * n_samples).astype(int)  # (few points: the smallest may have none)
    sizes[0] += n_samples - sizes.sum()
    spreads = cluster_std * 4.0 * 0.5 ** np.arange(centers)
    # The small blobs sit together on one side, just outside the big one's spread.
    angles = rng.uniform(0, 2 * np.pi) + (np.arange(1, centers) - centers / 2) * np.pi / 5
    centre_xy = np.zeros((centers, 2))
    centre_xy[1:] = np.stack([np.cos(angles), np.sin(angles)], axis=1) * (spreads[0] * 2.4 + spreads[1:, None] * 2)
    y = np.repeat(np.arange(centers), sizes)
    X = centre_xy[y] + rng.normal(size=(n_samples, 2)) * spreads[y, None]
    return _shuffled(X, y, rng)


def _check(n_samples: int, spread: float, name: str) -> None:
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1, got {n_samples}")
    if spread < 0:
        raise ValueError(f"{name} must be non-negative, got {spread}")


def _shuffled(X: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    order = rng.permutation(len(X))
    return X[order], y[order]
