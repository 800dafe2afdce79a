"""k-means on 2-D points, one half-step at a time: the state behind the teaching tab (no Qt).

Each iteration of Lloyd's algorithm is two steps, shown separately: assign every point to its
closest centroid (``find_closest_centroids``), then move every centroid to the mean of its
points (``compute_centroids``).  Both steps can only lower the inertia.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from kmeans import compute_centroids, find_closest_centroids, fit, init_centroids

ASSIGN, UPDATE = "assign", "update"
SEED, PLACE = "seed", "place"  # k-means++ choosing its starts one at a time; waiting for clicks (by hand)
BY_HAND = "by-hand"
#: What the lesson's colours are called (``figures.COLOURS``, in order), for captions.
COLOUR_NAMES = ("blue", "orange", "red", "teal", "green", "yellow", "purple", "pink", "brown", "grey")


def iterations(n: int) -> str:
    return f"{n} iteration" + ("" if n == 1 else "s")


def inertia_of(X: np.ndarray, centroids: np.ndarray, labels: np.ndarray) -> float:
    """Sum of squared distances of the points to their labelled centroids."""
    return float(((X - centroids[labels]) ** 2).sum())


def centroid_name(j: int) -> str:
    return f"the {COLOUR_NAMES[j % len(COLOUR_NAMES)]} centroid"


@dataclass(frozen=True, eq=False)
class SeedPick:
    """One start chosen by k-means++: which point, with what chance, and the chances for the next.

    ``probabilities`` (N,) are what each point had of being this pick: uniform for the first, D²
    over its sum after (D² the squared distance to the nearest start already chosen).
    """

    index: int
    probabilities: np.ndarray
    d2: float  # the chosen point's D² (0 for the first pick)
    total: float  # the sum of all D² when it was picked (0 for the first)


def plusplus_seeds(X: np.ndarray, k: int, seed: int) -> list[SeedPick]:
    """k-means++ as Arthur and Vassilvitskii state it: the first start uniformly at random, each next
    one a point drawn with probability D² / ΣD².  (The compressor's greedy variant draws 2 + ln K
    candidates this way and keeps the best; the lesson shows the rule itself.)"""
    rng = np.random.default_rng(seed)
    n = len(X)
    picks: list[SeedPick] = []
    closest: np.ndarray | None = None
    for _ in range(k):
        total = 0.0 if closest is None else float(closest.sum())
        # The first pick, or one when every point already sits on a start: any point is as likely.
        probabilities = closest / total if closest is not None and total > 0 else np.full(n, 1.0 / n)
        index = int(rng.choice(n, p=probabilities))
        picks.append(SeedPick(index, probabilities, 0.0 if closest is None else float(closest[index]), total))
        d2 = ((X - X[index]) ** 2).sum(axis=1)
        closest = d2 if closest is None else np.minimum(closest, d2)
    return picks


def starting_centroids(X: np.ndarray, k: int, method: str, seed: int) -> np.ndarray:
    """The starts the lesson uses for ``method`` and ``seed`` (the same in a lesson and in a trial)."""
    if method == "k-means++":
        return X[[pick.index for pick in plusplus_seeds(X, k, seed)]].astype(np.float64)
    return init_centroids(X, k, method=method, seed=seed)


@dataclass
class Lesson:
    """Points, K, and where k-means has got to.

    With ``method="k-means++"`` the first K steps choose the starts one at a time (phase ``SEED``);
    with ``"by-hand"`` the starts are ``placed`` by clicks, and the lesson waits for them (``PLACE``).
    """

    X: np.ndarray
    k: int
    method: str = "k-means++"
    seed: int = 0
    placed: np.ndarray | None = None  # by hand: the starts placed so far (m, 2)
    initial: np.ndarray = field(init=False)
    centroids: np.ndarray = field(init=False)
    labels: np.ndarray | None = field(init=False)
    trail: list[np.ndarray] = field(init=False)
    inertias: list[float] = field(init=False)
    phase: str = field(init=False)
    iteration: int = field(init=False)
    converged: bool = field(init=False)
    seeds: list[SeedPick] = field(init=False)
    seeded: int = field(init=False)  # how many of k-means++'s starts have been chosen on screen

    def __post_init__(self) -> None:
        self.X = np.asarray(self.X, dtype=np.float64).reshape(-1, 2)
        self.k = max(1, min(self.k, len(self.X))) if len(self.X) else 0
        self.seeds = []
        if self.method == BY_HAND:
            placed = np.empty((0, 2)) if self.placed is None else np.asarray(self.placed, dtype=np.float64)
            self.placed = placed[: self.k].copy()
            self.initial = self.placed.copy()
        elif self.method == "k-means++" and self.k:
            self.seeds = plusplus_seeds(self.X, self.k, self.seed)
            self.initial = self.X[[pick.index for pick in self.seeds]].copy()
        elif self.k:
            self.initial = init_centroids(self.X, self.k, method=self.method, seed=self.seed)
        else:
            self.initial = np.empty((0, 2))
        self.reset()

    def reset(self) -> None:
        """Back to the initial centroids, nothing assigned yet (k-means++: before its first pick)."""
        self.seeded = 0 if self.seeds else len(self.initial)
        self.centroids = self.initial[: self.seeded].copy()
        self.labels = None
        self.trail = [self.centroids.copy()]
        self.inertias = []
        self.phase = SEED if self.seeds else PLACE if self.waiting_for_clicks else ASSIGN
        self.iteration = 0
        self.converged = False

    @property
    def waiting_for_clicks(self) -> bool:
        """By hand, and fewer than K starts placed."""
        return self.method == BY_HAND and len(self.initial) < self.k

    @property
    def at_start(self) -> bool:
        """Nothing has happened since the starts were chosen (or Reset)."""
        return self.labels is None and self.iteration == 0 and self.seeded in (0, len(self.initial))

    @property
    def inertia(self) -> float | None:
        """Inertia of the current labels with the current centroids (None before any assignment)."""
        return None if self.labels is None else inertia_of(self.X, self.centroids, self.labels)

    @property
    def shading(self) -> np.ndarray | None:
        """While k-means++ chooses: each point's probability of being the next start (None otherwise)."""
        if self.phase != SEED or self.seeded == 0 or self.seeded >= len(self.seeds):
            return None
        return self.seeds[self.seeded].probabilities

    @property
    def chosen(self) -> int | None:
        """While k-means++ chooses: the index of the point picked last."""
        return self.seeds[self.seeded - 1].index if self.phase == SEED and self.seeded else None

    def place(self, x: float, y: float) -> str:
        """By hand: the next start at (x, y); returns what happened, in words."""
        if not self.waiting_for_clicks:
            return ""
        self.initial = np.vstack([self.initial, [[x, y]]])
        self.placed = self.initial.copy()
        self.reset()
        left = self.k - len(self.initial)
        where = f"Placed {centroid_name(len(self.initial) - 1)} at ({x:.1f}, {y:.1f})"
        if left:
            return f"{where}. Click {left} more time{'s' if left > 1 else ''} to place the rest of the {self.k} starts."
        return (f"{where}: all {self.k} starts are placed. Press Step (Space) to assign each point to its closest "
                "one, or Run (Enter).")

    def step(self) -> str:
        """Run the next half-step; returns what it did, in words."""
        if not len(self.X):
            return "No points yet: click the plot to add some (right-click or Shift-click removes the nearest)."
        if self.waiting_for_clicks:
            left = self.k - len(self.initial)
            which = "next" if len(self.initial) else "first"
            return f"Click the plot to place the {which} start: {left} of {self.k} to go."
        if self.converged:
            return f"Converged after {iterations(self.iteration)}: no point changes cluster any more."
        if self.phase == SEED:
            return self._seed_step()
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
        empty = np.flatnonzero(np.bincount(self.labels, minlength=self.k) == 0)
        self.centroids = compute_centroids(self.X, self.labels, self.k)
        self.trail.append(self.centroids.copy())
        self.iteration += 1
        self.inertias.append(inertia_of(self.X, self.centroids, self.labels))
        self.phase = ASSIGN
        text = f"Step 2 of iteration {self.iteration}: moved each centroid to the mean of its points."
        for j in empty:
            x, y = self.centroids[j]
            text += (f" {centroid_name(j).capitalize()} had no points (every point is closer to another), so it has "
                     f"no mean: the empty-cluster rule moves it onto the point farthest from its own centroid, at "
                     f"({x:.1f}, {y:.1f}).")
        return text

    def _seed_step(self) -> str:
        pick = self.seeds[self.seeded]
        self.seeded += 1
        self.centroids = self.initial[: self.seeded].copy()
        self.trail = [self.centroids.copy()]
        x, y = self.X[pick.index]
        n, number = len(self.X), self.seeded
        if number == 1:
            text = (f"k-means++ start 1 of {self.k}: the first is any point, each equally likely "
                    f"(1/{n} = {100 / n:.2g} %): the point at ({x:.1f}, {y:.1f}).")
        elif pick.total > 0:
            p = pick.probabilities[pick.index]
            text = (f"k-means++ start {number} of {self.k}: picked the point at ({x:.1f}, {y:.1f}) with probability "
                    f"{_percent(p)}: its D² (squared distance to the nearest start) is {pick.d2:,.1f} of the "
                    f"{pick.total:,.1f} all points add up to, {p * n:.1f}× the chance of a uniform pick.")
        else:
            text = (f"k-means++ start {number} of {self.k}: every point already sits on a start (D² = 0 everywhere), "
                    f"so any point is as likely: the point at ({x:.1f}, {y:.1f}).")
        if self.seeded < self.k:
            return text + " Brighter, bigger points are likelier to be the next start (probability D² / ΣD²)."
        self.phase = ASSIGN
        return text + f" All {self.k} starts are chosen: Step assigns each point to its closest one."

    def finish_seeding(self) -> None:
        """k-means++: choose the starts not yet chosen on screen, at once."""
        while self.phase == SEED:
            self._seed_step()

    def finish_half_step(self) -> None:
        """If the points were assigned but the centroids not yet moved, move them."""
        self.finish_seeding()
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


def _percent(p: float) -> str:
    return f"{100 * p:.2g} %" if p < 0.1 else f"{100 * p:.1f} %"


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
        start = starting_centroids(X, k, method, seed)
        result = fit(X, k, init=start, tol=0)
        trial = Trial(seed, start, result.centroids, result.inertia, result.n_iter)
        trials.append(trial)
        if report is not None:
            report(trial)
    return trials


def silhouette(X: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of a clustering: for each point (b - a) / max(a, b), with a its mean distance to
    the other points of its cluster and b to the points of the nearest other cluster (0 for a point
    alone in its cluster).  Between -1 and 1; higher means tighter, better separated clusters."""
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels)
    _, labels = np.unique(labels, return_inverse=True)  # (empty clusters do not count)
    k = int(labels.max()) + 1 if len(labels) else 0
    if k < 2 or k >= len(X):
        raise ValueError(f"the silhouette needs 2 to {len(X) - 1} clusters, got {k}")
    counts = np.bincount(labels, minlength=k)
    members = np.zeros((len(X), k))
    members[np.arange(len(X)), labels] = 1.0
    x_sq = np.einsum("ij,ij->i", X, X)
    scores = np.empty(len(X))
    for start in range(0, len(X), 1024):  # rows of the distance matrix a block at a time: memory stays small
        rows = slice(start, start + 1024)
        d2 = x_sq[rows, None] - 2.0 * X[rows] @ X.T + x_sq[None, :]
        sums = np.sqrt(np.maximum(d2, 0)) @ members  # (rows, k) summed distance to each cluster
        own = labels[rows]
        index = np.arange(len(own))
        a = sums[index, own] / np.maximum(counts[own] - 1, 1)
        means = sums / counts
        means[index, own] = np.inf
        b = means.min(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            s = (b - a) / np.maximum(a, b)
        scores[rows] = np.where((counts[own] > 1) & np.isfinite(s), s, 0.0)
    return float(scores.mean())


@dataclass(frozen=True)
class KChoice:
    """For K = 1, 2, ...: the best inertia found, and the silhouette of that clustering (None for K = 1)."""

    inertias: list[float]
    silhouettes: list[float | None]

    @property
    def elbow_k(self) -> int | None:
        """Where the elbow bends: the K farthest below the straight line joining the log inertias of
        the first and last K (a ratio scale, so the bend of a curve falling 100-fold shows)."""
        inertias = np.asarray(self.inertias, float)
        if not len(inertias):
            return None
        # A K with (next to) no inertia left has a point per cluster: its log would be the whole line.
        values = np.log(inertias[inertias > inertias[0] * 1e-9])
        if len(values) < 3:
            return None
        below = np.linspace(values[0], values[-1], len(values)) - values
        return int(np.argmax(below)) + 1 if below.max() > 0 else None

    @property
    def silhouette_k(self) -> int | None:
        """The K of the highest silhouette."""
        scored = [(s, k) for k, s in enumerate(self.silhouettes, start=1) if s is not None]
        return max(scored)[1] if scored else None

    def words(self, true_groups: int | None = None) -> str:
        """What the two charts suggest, in a sentence or two."""
        best, bend = self.silhouette_k, self.elbow_k
        if best is None or bend is None:
            return ""
        score = self.silhouettes[best - 1]
        text = f"Silhouette: highest at K = {best} ({score:.2f}). "
        if best == bend:
            text += f"The elbow bends there too: both suggest K = {best}."
        else:
            text += (f"Elbow: bends at K = {bend}. They disagree: inertia always falls as K grows, while the "
                     "silhouette also asks that clusters stand apart.")
        if true_groups is not None:
            text += f" The points come from {true_groups} groups"
            text += "." if true_groups == best == bend else (
                ": both measures favour round, compact clusters, whatever the data's shape.")
        return text


def k_choice(X: np.ndarray, ks: range = range(1, 11), n_init: int = 10, report=None) -> KChoice:
    """The elbow's and the silhouette's values for each K (the best of ``n_init`` k-means++ runs);
    ``report(choice)`` is called after each K."""
    inertias: list[float] = []
    silhouettes: list[float | None] = []
    for k in ks:
        if k > len(X):
            break
        result = fit(X, k, n_init=n_init, seed=k, tol=0)
        inertias.append(result.inertia)
        distinct = len(np.unique(result.labels))
        silhouettes.append(silhouette(X, result.labels) if 2 <= distinct < len(X) else None)
        if report is not None:
            report(KChoice(list(inertias), list(silhouettes)))
    return KChoice(inertias, silhouettes)


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


@dataclass(frozen=True)
class Dataset:
    """Points the lesson can be run on: how to make them, and what k-means does on them and why."""

    key: str  # the item data of ``pointsSourceBox``
    label: str
    caption: str
    make: Callable[[int, int, float, int], tuple[np.ndarray, np.ndarray]] | None = None  # (n, groups, spread, seed)
    fixed_groups: int | None = None  # shapes with a set number of groups (the "Blobs" box does not apply)
    shows_truth: bool = True  # marker shapes show which group each point came from


def _shapes() -> dict[str, Dataset]:
    from kmeans.blobs import make_blobs, make_circles, make_moons, make_stretched, make_uneven

    return {d.key: d for d in (
        Dataset("blobs", "Sample blobs (make_blobs)",
                "Round blobs of one spread: what k-means assumes, so it usually finds them, when it starts well.",
                lambda n, g, s, seed: make_blobs(n, g, s, seed), shows_truth=False),
        Dataset("moons", "Two moons",
                "Two interleaved half-moons (marker shapes show which moon a point is from). Each point goes to "
                "its nearest centroid, so two clusters are split by a straight line: k-means cuts across both "
                "moons instead of following their curves, at any K.",
                lambda n, g, s, seed: make_moons(n, s / 6, seed), fixed_groups=2),
        Dataset("circles", "Ring around a disc",
                "A ring around a disc (marker shapes show which). A k-means cluster is the region nearer its "
                "centroid than any other, which has straight sides and cannot have a hole, while the ring's mean "
                "lies in the disc: so k-means cuts ring and disc like a pie.",
                lambda n, g, s, seed: make_circles(n, s / 12, seed), fixed_groups=2),
        Dataset("stretched", "Stretched blobs",
                "Long, thin blobs side by side (marker shapes show which). k-means measures plain distance, the "
                "same in every direction, so it looks for round clusters: it cuts each long blob across and "
                "joins the pieces of neighbours.",
                lambda n, g, s, seed: make_stretched(n, g, s, seed)),
        Dataset("uneven", "Uneven blobs",
                "One big, wide blob and small tight ones beside it (marker shapes show which). Inertia counts "
                "every point the same, so k-means saves more by splitting the big blob than by keeping the small "
                "ones apart: centroids are pulled into the big cluster, and the small ones are merged.",
                lambda n, g, s, seed: make_uneven(n, g, s, seed)),
    )}


IMAGE_DATASET = Dataset("image", "This image's colours",
                        "Each point is a pixel in its own colour, placed by the two directions in which the image's "
                        "colours vary most: the clusters k-means finds are that image's palette.", shows_truth=False)
DRAWN_DATASET = Dataset("drawn", "Points you draw",
                        "Click the plot to add a point; right-click (or Shift-click) removes the nearest. Step and "
                        "Run work on the points you drew.", shows_truth=False)
DATASETS: dict[str, Dataset] = {**_shapes(), "image": IMAGE_DATASET, "drawn": DRAWN_DATASET}
#: The drawn points' plot: fixed, so a point lands where it was clicked and the view never moves under it.
DRAWN_LIMITS = (-10.0, 10.0, -10.0, 10.0)
