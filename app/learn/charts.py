"""The Learn tab's four charts: the scatter of points and centroids, inertia per iteration, the
elbow, and the ten initializations.

Each artist is made once and updated in place (``set_offsets``, ``set_data``).  Every update is a
closure handed to its canvas's ``change``, which runs it on the canvas's drawing thread before the
next drawing: the GUI thread never touches a figure after building it.  Nothing here knows about
buttons or lessons' workers.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from matplotlib.colors import to_rgba
from PySide6.QtWidgets import QSizePolicy

from app.learn.lesson import ColourSample, Lesson, Trial, mean_colours
from app.learn.plots import PlotCanvas, plot_canvas, small_plot
from kmeans import find_closest_centroids

COLOURS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#bab0ac"]
MAX_K = len(COLOURS)
UNASSIGNED = "#9a9a9a"
GRID = 180  # resolution of the shaded Voronoi regions
BEST, TRIED, NOT_YET = "#e15759", "#4e79a7", "#bab0ac"


class LessonCharts:
    """The canvases (``scatter``, ``inertia``, ``elbow``, ``inits``) and how to draw a lesson on them."""

    def __init__(self, on_bar_clicked: Callable[[int], None]):
        self.scatter, figure = plot_canvas("blobsCanvas", 6.4, 5.2, margins=(40, 10, 10, 28))
        self.scatter.setAccessibleName("Scatter plot of the points, coloured by cluster, with the centroids")
        self.scatter.setToolTip("Points coloured by their cluster; X marks the centroids and their trails")
        self.scatter.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.ax = figure.add_subplot()
        self.ax.set_aspect("equal", adjustable="datalim")
        self.ax.tick_params(labelsize=8)
        self._regions = self.ax.imshow(np.zeros((2, 2, 4)), origin="lower", interpolation="nearest", zorder=0,
                                       aspect="auto")
        self._points = self.ax.scatter([], [], s=16, c=UNASSIGNED, edgecolors="none", zorder=2)
        self._trails = [self.ax.plot([], [], "-o", color=c, lw=1.6, ms=3, alpha=0.85, zorder=3)[0] for c in COLOURS]
        self._centroids = self.ax.scatter(np.zeros(0), np.zeros(0), s=240, marker="X", facecolors="white",
                                          edgecolors="black", linewidths=1.3, zorder=4)
        self._grid = np.zeros((0, 2))
        self._colours = np.array([to_rgba(c) for c in COLOURS])
        self._sample: ColourSample | None = None  # when the points are an image's colours

        self.inertia, self.inertia_ax, self._inertia_hint = small_plot(
            "inertiaCanvas", "Inertia per iteration", "iteration", "inertia",
            description="Inertia after each iteration",
            tip="Inertia (sum of squared distances to the centroids) after each iteration",
            hint="Step or Run to see it fall")
        (self._inertia_line,) = self.inertia_ax.plot([], [], "o-", color="#4e79a7", ms=4, lw=1.5)

        self.elbow, self.elbow_ax, _ = small_plot(
            "elbowCanvas", "Choosing K: the elbow", "K", "inertia", description="Elbow plot: inertia against K",
            tip="Best inertia for K = 1..10: the bend (the elbow) suggests a good K")
        (self._elbow_line,) = self.elbow_ax.plot([], [], "o-", color="#59a14f", ms=4)
        (self._elbow_mark,) = self.elbow_ax.plot([], [], "o", ms=10, mfc="none", mec="#e15759", mew=2)

        self.inits, self.inits_ax, self._inits_hint = small_plot(
            "initsCanvas", "Ten initializations", "seed", "final inertia",
            description="Final inertia of ten initializations",
            tip="Final inertia from ten random starts; click a bar to load that start",
            hint="Try 10 initializations to compare")
        self.bars = self.inits_ax.bar(range(10), np.zeros(10), color=NOT_YET)
        self.inits_ax.set_xticks(range(10))

        self.inits.clicked.connect(lambda x, _y: on_bar_clicked(round(x)))

    @property
    def canvases(self) -> tuple[PlotCanvas, ...]:
        return self.scatter, self.inertia, self.elbow, self.inits

    @property
    def drawing(self) -> bool:
        """Some chart is still being drawn."""
        return any(canvas.drawing for canvas in self.canvases)

    def shutdown(self) -> None:
        for canvas in self.canvases:
            canvas.shutdown()

    def set_points(self, X: np.ndarray, sample: ColourSample | None = None) -> None:
        """New data: the points (an image's colours when ``sample`` is given: each point is then drawn
        in its own colour, and each cluster in the colour its points average to), the view limits
        and the grid the regions are shaded on."""
        self._sample = sample
        low, high = X.min(axis=0), X.max(axis=0)
        margin = (high - low).max() * 0.08 + 0.5
        limits = (low[0] - margin, high[0] + margin, low[1] - margin, high[1] + margin)
        gx = np.linspace(limits[0], limits[1], GRID)
        gy = np.linspace(limits[2], limits[3], GRID)
        self._grid = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)

        def change() -> None:
            self._points.set_offsets(X)
            self._points.set_sizes([22 if sample is not None else 16])
            self._points.set_edgecolor("#00000040" if sample is not None else "none")
            self.ax.set_xlim(limits[0], limits[1])
            self.ax.set_ylim(limits[2], limits[3])
            self._regions.set_extent(limits)

        self.scatter.change(change)

    def show_lesson(self, lesson: Lesson) -> None:
        """Points in their clusters' colours, centroids with their trails, regions, inertia."""
        labels = None if lesson.labels is None else lesson.labels.copy()
        centroids, k, grid = lesson.centroids.copy(), lesson.k, self._grid
        trail = np.stack(lesson.trail)  # (steps, k, 2)
        inertias = list(lesson.inertias)
        sample = self._sample

        def change() -> None:
            if sample is not None:
                self._points.set_facecolor(sample.rgb / 255.0)
                colours = np.full((k, 4), [0.85, 0.85, 0.85, 1.0])
                if labels is not None:
                    colours[:, :3] = mean_colours(sample, labels, k)
                regions_alpha = 0.35
            else:
                self._points.set_facecolor(UNASSIGNED if labels is None else self._colours[labels % MAX_K])
                colours = self._colours[np.arange(k) % MAX_K]
                regions_alpha = 0.16
            self._centroids.set_offsets(centroids)
            self._centroids.set_facecolor(colours)
            for j, line in enumerate(self._trails):
                line.set_color("#303030" if sample is not None else COLOURS[j])
                if j < k:
                    line.set_data(trail[:, j, 0], trail[:, j, 1])
                else:
                    line.set_data([], [])
            regions = find_closest_centroids(grid, centroids).reshape(GRID, GRID)
            shades = colours.copy()
            shades[:, 3] = regions_alpha
            self._regions.set_data(shades[regions])

        self.scatter.change(change)
        self.inertia.change(lambda: self._show_inertia(inertias))

    def _show_inertia(self, values: list[float]) -> None:
        self._inertia_line.set_data(np.arange(1, len(values) + 1), values)
        self._inertia_hint.set_visible(not values)
        self.inertia_ax.yaxis.set_visible(bool(values))
        self.inertia_ax.relim()
        self.inertia_ax.autoscale_view()
        self.inertia_ax.set_xlim(0.5, max(len(values), 5) + 0.5)

    def show_elbow(self, values: list[float], k: int) -> None:
        """Best inertia for K = 1..len(values), with ``k`` circled when known."""
        values = list(values)

        def change() -> None:
            self._elbow_line.set_data(np.arange(1, len(values) + 1), values)
            self.elbow_ax.relim()
            self.elbow_ax.autoscale_view()
            self.elbow_ax.set_xlim(0.5, 10.5)
            if len(values) >= k:
                self._elbow_mark.set_data([k], [values[k - 1]])
            else:
                self._elbow_mark.set_data([], [])

        self.elbow.change(change)

    def show_trials(self, trials: list[Trial], best: int | None) -> None:
        """A bar per trial so far; ``best`` (when all are in) in its own colour."""
        inertias = [t.inertia for t in trials]

        def change() -> None:
            for i, bar in enumerate(self.bars):
                if i < len(inertias):
                    bar.set_height(inertias[i])
                    bar.set_color(BEST if i == best else TRIED)
                else:
                    bar.set_height(0)
                    bar.set_color(NOT_YET)
                bar.set_visible(bool(inertias))
            self._inits_hint.set_visible(not inertias)
            self.inits_ax.yaxis.set_visible(bool(inertias))
            self.inits_ax.relim()
            self.inits_ax.autoscale_view()
            if best is not None and inertias:
                low, high = min(inertias), max(inertias)
                pad = (high - low) * 0.3 + high * 0.02
                self.inits_ax.set_ylim(max(0, low - pad), high + pad)

        self.inits.change(change)

    def outline_bar(self, index: int, n_trials: int) -> None:
        """Outline the bar of the trial that was loaded."""

        def change() -> None:
            for i, bar in enumerate(self.bars[:n_trials]):
                bar.set_edgecolor("black" if i == index else "none")
                bar.set_linewidth(2 if i == index else 0)

        self.inits.change(change)
