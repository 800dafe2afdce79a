"""The Learn tab's four matplotlib figures, and the process that draws them (no Qt here).

Drawing a small figure costs matplotlib 40-80 ms of Python, and a thread doing that starves the
GUI thread of the GIL (a quarter second of stalls measured while the image worker ran).  So the
figures live in a process of their own: the window sends plain data (``call``), asks for a
picture of a figure at a size (``draw``), and paints what comes back.  ``LessonFigures`` is the
model of that process: the artists, made once and updated in place.
"""

from __future__ import annotations

from multiprocessing.connection import Connection

import numpy as np

from app.apart import received

COLOURS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#bab0ac"]
MAX_K = len(COLOURS)
UNASSIGNED = "#9a9a9a"
GRID = 180  # resolution of the shaded Voronoi regions
BEST, TRIED, NOT_YET = "#e15759", "#4e79a7", "#bab0ac"
#: Each figure's size in inches at 100 dpi (its widget's size hint) and its axes' margins in pixels.
FIGURES = {
    "scatter": ((6.4, 5.2), (40, 10, 10, 28)),
    "inertia": ((3.0, 2.0), (62, 12, 26, 40)),
    "elbow": ((3.0, 2.0), (62, 12, 26, 40)),
    "silhouette": ((3.0, 2.0), (62, 12, 26, 40)),
    "inits": ((3.0, 2.0), (62, 12, 26, 40)),
}
#: Marker shapes for the true groups of a lesson's shapes: told apart without colour (the colours
#: are the clusters k-means finds).
MARKERS = ("o", "^", "s", "D", "v", "P", "*", "X", "h", "p")
CHOSEN = "#d62728"  # the ring around the point k-means++ picked last

Picture = tuple[np.ndarray, tuple]  # (H, W, 4) uint8 RGBA, and each axes' (bounds, xlim, ylim)


class LessonFigures:
    """The four figures and how to show a lesson on them; every method takes plain data."""

    def __init__(self) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.colors import to_rgba
        from matplotlib.figure import Figure

        self.figures = {}
        for name, (size, _margins) in FIGURES.items():
            figure = Figure(figsize=size)
            FigureCanvasAgg(figure)
            self.figures[name] = figure
        self._colours = np.array([to_rgba(c) for c in COLOURS])
        self._grid = np.zeros((0, 2))
        self._point_rgb: np.ndarray | None = None  # the points' own colours, when they are an image's
        self._point_lab: np.ndarray | None = None
        self._X = np.zeros((0, 2))
        self._size = 16.0
        from matplotlib.markers import MarkerStyle

        self._marker_paths = [MarkerStyle(m).get_path().transformed(MarkerStyle(m).get_transform()) for m in MARKERS]
        self._round = self._marker_paths[0]

        ax = self.ax = self.figures["scatter"].add_subplot()
        ax.set_aspect("equal", adjustable="datalim")
        ax.tick_params(labelsize=8)
        self._regions = ax.imshow(np.zeros((2, 2, 4)), origin="lower", interpolation="nearest", zorder=0,
                                  aspect="auto")
        self._points = ax.scatter(np.zeros(0), np.zeros(0), s=16, c=UNASSIGNED, edgecolors="none", zorder=2)
        self._trails = [ax.plot([], [], "-o", color=c, lw=1.6, ms=3, alpha=0.85, zorder=3)[0] for c in COLOURS]
        self.centroid_markers = ax.scatter(np.zeros(0), np.zeros(0), s=240, marker="X", facecolors="white",
                                     edgecolors="black", linewidths=1.3, zorder=4)
        self.chosen_marker = ax.scatter(np.zeros(0), np.zeros(0), s=320, marker="o", facecolors="none",
                                        edgecolors=CHOSEN, linewidths=2.2, zorder=5)
        self._empty_hint = ax.text(0.5, 0.5, "", ha="center", va="center", transform=ax.transAxes, fontsize=11,
                                   color="#555555", zorder=6)

        self.inertia_ax, self._inertia_hint = self._small("inertia", "Inertia per iteration", "iteration", "inertia",
                                                          "Step or Run\nto see it fall")
        (self._inertia_line,) = self.inertia_ax.plot([], [], "o-", color="#4e79a7", ms=4, lw=1.5)
        self.elbow_ax, _ = self._small("elbow", "Which K? The elbow", "K", "inertia", "")
        (self._elbow_line,) = self.elbow_ax.plot([], [], "o-", color="#59a14f", ms=4)
        (self._elbow_mark,) = self.elbow_ax.plot([], [], "o", ms=10, mfc="none", mec="#e15759", mew=2)
        self.silhouette_ax, _ = self._small("silhouette", "Which K? Silhouette", "K", "mean silhouette", "")
        (self._silhouette_line,) = self.silhouette_ax.plot([], [], "s-", color="#b07aa1", ms=4)
        (self._silhouette_best,) = self.silhouette_ax.plot([], [], "*", ms=13, color="#edc948", mec="black", mew=0.8)
        (self._silhouette_mark,) = self.silhouette_ax.plot([], [], "o", ms=10, mfc="none", mec="#e15759", mew=2)
        self.inits_ax, self._inits_hint = self._small("inits", "Ten initializations", "seed", "final inertia",
                                                      "Try 10\ninitializations\nto compare")
        self.bars = self.inits_ax.bar(range(10), np.zeros(10), color=NOT_YET)
        self.inits_ax.set_xticks(range(10))

    def _small(self, name: str, title: str, xlabel: str, ylabel: str, hint: str):
        ax = self.figures[name].add_subplot()
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
        ax.tick_params(labelsize=7)
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # (iterations, K and seeds are whole numbers)
        text = ax.text(0.5, 0.5, hint, ha="center", va="center", transform=ax.transAxes, fontsize=8,
                       color="#777777") if hint else None
        return ax, text

    # -- what the tab sends --------------------------------------------------------------------

    def set_points(self, X: np.ndarray, rgb: np.ndarray | None, lab: np.ndarray | None,
                   truth: np.ndarray | None = None, limits: tuple[float, float, float, float] | None = None) -> None:
        """New points (an image's pixels when ``rgb``/``lab`` are given: each drawn in its own colour).

        ``truth`` (n,) gives each point's true group, drawn as its marker shape; ``limits`` fixes the
        view (x0, x1, y0, y1) instead of fitting it to the points.
        """
        self._point_rgb, self._point_lab = rgb, lab
        self._X = X = np.asarray(X, dtype=np.float64).reshape(-1, 2)
        if limits is None and len(X):
            low, high = X.min(axis=0), X.max(axis=0)
            margin = (high - low).max() * 0.08 + 0.5
            limits = (low[0] - margin, high[0] + margin, low[1] - margin, high[1] + margin)
        elif limits is None:
            limits = (-10.0, 10.0, -10.0, 10.0)
        gx = np.linspace(limits[0], limits[1], GRID)
        gy = np.linspace(limits[2], limits[3], GRID)
        self._grid = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)
        self._points.set_offsets(X)
        if truth is not None and len(truth) == len(X):
            self._points.set_paths([self._marker_paths[g % len(MARKERS)] for g in truth])
        else:
            self._points.set_paths([self._round])
        self._size = 22.0 if rgb is not None else 16.0 if truth is None else 20.0
        self._points.set_sizes([self._size])
        self._points.set_edgecolor("#00000040" if rgb is not None else "none")
        self.ax.set_xlim(limits[0], limits[1])
        self.ax.set_ylim(limits[2], limits[3])
        self._regions.set_extent(limits)

    def show_lesson(self, labels: np.ndarray | None, centroids: np.ndarray, trail: np.ndarray,
                    inertias: list[float], shading: np.ndarray | None = None, chosen: int | None = None,
                    hint: str = "") -> None:
        """Points by cluster (or in their own colours), centroids with their trails, regions, inertia.

        ``shading`` (n,) are k-means++'s probabilities for its next pick: points drawn brighter and bigger
        the likelier they are; ``chosen`` the point it picked last, ringed; ``hint`` a word on an empty plot.
        """
        from kmeans import find_closest_centroids

        k = len(centroids)
        self._empty_hint.set_text(hint)
        self.chosen_marker.set_offsets(self._X[[chosen]] if chosen is not None else np.zeros((0, 2)))
        self._points.set_sizes([self._size])
        if shading is not None and len(shading) == len(self._X):
            from matplotlib import colormaps

            scaled = shading / max(float(shading.max()), 1e-300)
            self._points.set_facecolor(colormaps["viridis"](scaled))
            self._points.set_sizes(self._size * (0.5 + 2.5 * scaled))
            colours = self._colours[np.arange(k) % MAX_K]
            alpha = 0.0  # (no regions while the starts are being chosen: the shading is the picture)
        elif self._point_rgb is not None:
            self._points.set_facecolor(self._point_rgb / 255.0)
            colours = np.full((k, 4), [0.85, 0.85, 0.85, 1.0])
            if labels is not None:
                colours[:, :3] = _mean_colours(self._point_lab, labels, k)
            alpha = 0.35
        else:
            self._points.set_facecolor(UNASSIGNED if labels is None else self._colours[labels % MAX_K])
            colours = self._colours[np.arange(k) % MAX_K]
            alpha = 0.16
        self.centroid_markers.set_offsets(centroids)
        self.centroid_markers.set_facecolor(colours)
        for j, line in enumerate(self._trails):
            line.set_color("#303030" if self._point_rgb is not None else COLOURS[j])
            line.set_data(trail[:, j, 0] if j < k else [], trail[:, j, 1] if j < k else [])
        if k and alpha > 0:
            regions = find_closest_centroids(self._grid, centroids).reshape(GRID, GRID)
            shades = colours.copy()
            shades[:, 3] = alpha
            self._regions.set_data(shades[regions])
        else:
            self._regions.set_data(np.zeros((2, 2, 4)))
        self._inertia_line.set_data(np.arange(1, len(inertias) + 1), inertias)
        self._inertia_hint.set_visible(not inertias)
        self.inertia_ax.yaxis.set_visible(bool(inertias))
        self.inertia_ax.relim()
        self.inertia_ax.autoscale_view()
        self.inertia_ax.set_xlim(0.5, max(len(inertias), 5) + 0.5)

    def show_elbow(self, values: list[float], k: int) -> None:
        """Best inertia for K = 1..len(values), with ``k`` circled when known."""
        self._elbow_line.set_data(np.arange(1, len(values) + 1), values)
        self.elbow_ax.relim()
        self.elbow_ax.autoscale_view()
        self.elbow_ax.set_xlim(0.5, 10.5)
        self._elbow_mark.set_data(([k], [values[k - 1]]) if len(values) >= k else ([], []))

    def show_silhouette(self, values: list[float | None], k: int) -> None:
        """Mean silhouette for K = 2..len(values) (None for K = 1), its best starred, ``k`` circled."""
        ks = [i for i, v in enumerate(values, start=1) if v is not None]
        scores = [values[i - 1] for i in ks]
        self._silhouette_line.set_data(ks, scores)
        best = int(np.argmax(scores)) if scores else None
        self._silhouette_best.set_data(([ks[best]], [scores[best]]) if best is not None else ([], []))
        self._silhouette_mark.set_data(([k], [values[k - 1]]) if len(values) >= k and values[k - 1] is not None
                                       else ([], []))
        self.silhouette_ax.relim()
        self.silhouette_ax.autoscale_view()
        if scores:  # (room above the star)
            low, high = min(scores), max(scores)
            pad = (high - low) * 0.15 + 0.02
            self.silhouette_ax.set_ylim(low - pad, high + pad)
        self.silhouette_ax.set_xlim(0.5, 10.5)

    def show_trials(self, inertias: list[float], best: int | None, outlined: int) -> None:
        """A bar per trial so far; ``best`` (when all are in) in its own colour; ``outlined`` loaded."""
        for i, bar in enumerate(self.bars):
            bar.set_height(inertias[i] if i < len(inertias) else 0)
            bar.set_color(BEST if i == best else TRIED if i < len(inertias) else NOT_YET)
            bar.set_visible(bool(inertias))
            bar.set_edgecolor("black" if i == outlined else "none")
            bar.set_linewidth(2 if i == outlined else 0)
        self._inits_hint.set_visible(not inertias)
        self.inits_ax.yaxis.set_visible(bool(inertias))
        self.inits_ax.relim()
        self.inits_ax.autoscale_view()
        if best is not None and inertias:
            low, high = min(inertias), max(inertias)
            pad = (high - low) * 0.3 + high * 0.02
            self.inits_ax.set_ylim(max(0, low - pad), high + pad)

    # -- pictures ---------------------------------------------------------------------------------

    def draw(self, name: str, width: int, height: int, dpr: float) -> Picture:
        """The figure ``name`` drawn ``width`` x ``height`` logical pixels at ``dpr``."""
        figure = self.figures[name]
        left, right, top, bottom = FIGURES[name][1]
        w, h = max(width, left + right + 10), max(height, top + bottom + 10)
        figure.subplots_adjust(left=left / w, right=1 - right / w, top=1 - top / h, bottom=bottom / h)
        figure.set_dpi(100 * dpr)
        figure.set_size_inches(width / 100, height / 100)
        figure.canvas.draw()
        pixels = np.array(figure.canvas.buffer_rgba())
        return pixels, tuple((ax.bbox.bounds, ax.get_xlim(), ax.get_ylim()) for ax in figure.axes)


def _mean_colours(lab: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """(k, 3) sRGB in [0, 1]: the colour each cluster's pixels average to, in OKLab (grey when empty)."""
    from kmeans.colorspace import linear_to_srgb, oklab_to_linear

    counts = np.bincount(labels, minlength=k)[:, None]
    sums = np.stack([np.bincount(labels, weights=lab[:, j], minlength=k) for j in range(3)], axis=1)
    means = np.where(counts > 0, sums / np.maximum(counts, 1), [0.6, 0.0, 0.0])
    return linear_to_srgb(oklab_to_linear(means))


def serve(connection: Connection) -> None:
    """The drawing process: apply calls, answer draws, until told to stop (None) or the pipe closes."""
    import matplotlib

    matplotlib.use("Agg")
    figures = LessonFigures()
    for kind, *rest in received(connection):
        try:
            if kind == "call":
                method, args = rest
                getattr(figures, method)(*args)
            elif kind == "draw":
                name, width, height, dpr, number = rest
                try:
                    answer = ("picture", name, number, *figures.draw(name, width, height, dpr))
                except Exception as error:  # a drawing bug must not end the lesson: the last picture stays
                    answer = ("failed", name, number, f"{type(error).__name__}: {error}")
                connection.send(answer)
        except (EOFError, OSError):
            return
        except Exception:  # a change that could not be made: the next picture shows what is there
            continue
