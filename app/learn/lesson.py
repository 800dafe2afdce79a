"""k-means on 2-D points, one half-step at a time: the state behind the teaching tab (no Qt).

Each iteration of Lloyd's algorithm is two steps, shown separately: assign every point to its
closest centroid (``find_closest_centroids``), then move every centroid to the mean of its
points (``compute_centroids``).  Both steps can only lower the inertia.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kmeans import compute_centroids, find_closest_centroids, fit, init_centroids

ASSIGN, UPDATE = "assign", "update"


def iterations(n: int) -> str:
    return f"{n} iteration" + ("" if n == 1 else "s")


def inertia_of(X: np.ndarray, centroids: np.ndarray, labels: np.ndarray) -> float:
    """Sum of squared distances of the points to their labelled centroids."""
    return float(((X - centroids[labels]) ** 2).sum())


@dataclass
class Lesson:
    """Points, K, and where k-means has got to."""

    X: np.ndarray
    k: int
    method: str = "k-means++"
    seed: int = 0
    initial: np.ndarray = field(init=False)
    centroids: np.ndarray = field(init=False)
    labels: np.ndarray | None = field(init=False)
    trail: list[np.ndarray] = field(init=False)
    inertias: list[float] = field(init=False)
    phase: str = field(init=False)
    iteration: int = field(init=False)
    converged: bool = field(init=False)

    def __post_init__(self) -> None:
        self.k = max(1, min(self.k, len(self.X)))
        self.initial = init_centroids(self.X, self.k, method=self.method, seed=self.seed)
        self.reset()

    def reset(self) -> None:
        """Back to the initial centroids, nothing assigned yet."""
        self.centroids = self.initial.copy()
        self.labels = None
        self.trail = [self.centroids.copy()]
        self.inertias = []
        self.phase = ASSIGN
        self.iteration = 0
        self.converged = False

    @property
    def inertia(self) -> float | None:
        """Inertia of the current labels with the current centroids (None before any assignment)."""
        return None if self.labels is None else inertia_of(self.X, self.centroids, self.labels)

    def step(self) -> str:
        """Run the next half-step; returns what it did, in words."""
        if self.converged:
            return f"Converged after {iterations(self.iteration)}: no point changes cluster any more."
        if self.phase == ASSIGN:
            labels = find_closest_centroids(self.X, self.centroids)
            changed = len(self.X) if self.labels is None else int(np.count_nonzero(labels != self.labels))
            self.labels = labels
            self.phase = UPDATE
            if changed == 0:
                self.converged = True
                return (f"Assigned each point to its closest centroid: none changed, so k-means has "
                        f"converged after {iterations(self.iteration)}.")
            return f"Step 1 of iteration {self.iteration + 1}: assigned each point to its closest centroid " \
                   f"({changed} changed)."
        assert self.labels is not None
        self.centroids = compute_centroids(self.X, self.labels, self.k)
        self.trail.append(self.centroids.copy())
        self.iteration += 1
        self.inertias.append(inertia_of(self.X, self.centroids, self.labels))
        self.phase = ASSIGN
        return f"Step 2 of iteration {self.iteration}: moved each centroid to the mean of its points."

    def finish_half_step(self) -> None:
        """If the points were assigned but the centroids not yet moved, move them."""
        if self.phase == UPDATE and not self.converged:
            self.step()

    def apply_iteration(self, step: RunStep) -> None:
        """Take a whole iteration computed elsewhere (by the Run animation's worker)."""
        self.labels = step.labels
        if step.changed == 0:
            self.converged = True
            self.phase = UPDATE
            return
        self.centroids = np.array(step.centroids)
        self.trail.append(self.centroids.copy())
        self.iteration += 1
        self.inertias.append(inertia_of(self.X, self.centroids, step.labels))
        self.phase = ASSIGN


@dataclass(frozen=True)
class RunStep:
    """One iteration of the Run animation, as plain data."""

    labels: np.ndarray
    centroids: np.ndarray
    changed: int


def iterate(X: np.ndarray, centroids: np.ndarray, labels: np.ndarray | None):
    """Lloyd's iterations from ``centroids``, one ``RunStep`` at a time, until nothing changes."""
    k = len(centroids)
    while True:
        new_labels = find_closest_centroids(X, centroids)
        changed = len(X) if labels is None else int(np.count_nonzero(new_labels != labels))
        labels = new_labels
        if changed:
            centroids = compute_centroids(X, labels, k)
        yield RunStep(labels, centroids, changed)
        if changed == 0:
            return


@dataclass(frozen=True)
class Trial:
    """One of the compared initializations: where it started, where it ended, how good."""

    seed: int
    initial: np.ndarray
    final: np.ndarray
    inertia: float
    n_iter: int


def compare_initializations(X: np.ndarray, k: int, method: str, seeds: range = range(10), report=None) -> list[Trial]:
    """Run k-means from several seeds; ``report(trial)`` is called after each."""
    trials = []
    for seed in seeds:
        start = init_centroids(X, k, method=method, seed=seed)
        result = fit(X, k, init=start, tol=0)
        trial = Trial(seed, start, result.centroids, result.inertia, result.n_iter)
        trials.append(trial)
        if report is not None:
            report(trial)
    return trials


def elbow(X: np.ndarray, ks: range = range(1, 11), n_init: int = 10, report=None) -> list[float]:
    """The lowest inertia of ``n_init`` k-means++ runs for each K (the elbow plot's values)."""
    values = []
    for k in ks:
        if k > len(X):
            break
        values.append(fit(X, k, n_init=n_init, seed=k, tol=0).inertia)
        if report is not None:
            report(values)
    return values


@dataclass(frozen=True, eq=False)
class ImageColours:
    """An open image's distinct colours with their pixel counts (plain data from the image tab)."""

    name: str
    width: int
    height: int
    colors: np.ndarray  # (M, 3|4) uint8
    counts: np.ndarray  # (M,)

    @property
    def n_pixels(self) -> int:
        return self.width * self.height


@dataclass(frozen=True, eq=False)
class ColourSample:
    """Pixels picked from an image, placed on the two principal axes of their OKLab colours.

    ``X`` (n, 2) are the points k-means works on; ``rgb`` (n, 3) uint8 the pixels' own colours;
    ``lab`` (n, 3) their OKLab coordinates (for the colour of a cluster's mean).
    """

    X: np.ndarray
    rgb: np.ndarray
    lab: np.ndarray


def colour_sample(image: ImageColours, n: int, seed: int) -> ColourSample:
    """``n`` pixels drawn at random (a colour as often as it occurs), seen along the two directions
    in which the image's colours vary most, so the lesson's 2-D picture is the palette problem."""
    from kmeans.colorspace import linear_to_oklab, u8_to_linear

    rng = np.random.default_rng(seed)
    picked = rng.choice(len(image.colors), size=n, p=image.counts / image.counts.sum())
    rgb = np.ascontiguousarray(image.colors[picked, :3])
    lab = linear_to_oklab(u8_to_linear(rgb))
    centred = lab - lab.mean(axis=0)
    _u, _s, axes = np.linalg.svd(centred, full_matrices=False)
    X = centred @ axes[:2].T * 100  # OKLab differences of 0.01 are about a just noticeable step: x100
    return ColourSample(X, rgb, lab)


def compression_words(image: ImageColours, k: int) -> str:
    """The tutorial's arithmetic on the real image: 24 bits a pixel against log2(K) plus the palette."""
    bits = max(1, int(np.ceil(np.log2(max(k, 2)))))
    raw = image.n_pixels * 24 / 8
    packed = image.n_pixels * bits / 8 + k * 3
    return (f"{image.name}: {image.n_pixels:,} pixels × 24 bits = {_kb(raw)}. With K = {k}: {bits} bits a pixel "
            f"+ a palette of {k} × 24 bits = {_kb(packed)}, {raw / packed:.1f}× smaller (before the file "
            "format's own compression).")


def _kb(n_bytes: float) -> str:
    return f"{n_bytes / 1024:,.0f} KB" if n_bytes < 1024**2 else f"{n_bytes / 1024**2:,.1f} MB"
