"""The Learn tab's five charts, as the tab sees them: canvases, and what to show on them.

The figures themselves are drawn in another process (``app.learn.figures``); this turns a lesson
into the plain data that process takes, and says which canvases must be drawn again.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtWidgets import QSizePolicy

from app.learn.figures import MAX_K
from app.learn.lesson import ColourSample, Lesson, Trial
from app.learn.plots import FigureServer, PlotCanvas

__all__ = ["MAX_K", "LessonCharts"]


class LessonCharts:
    """The canvases (``scatter``, ``inertia``, ``elbow``, ``silhouette``, ``inits``) and how to show a
    lesson on them."""

    def __init__(self, on_bar_clicked: Callable[[int], None]):
        self._server = FigureServer()
        self.scatter = self._server.canvas("scatter")
        self.scatter.setAccessibleName("Scatter plot of the points, coloured by cluster, with the centroids")
        self.scatter.setToolTip("Points coloured by their cluster; X marks the centroids and their trails")
        self.scatter.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.inertia = self._small("inertia", "Inertia after each iteration",
                                   "Inertia (sum of squared distances to the centroids) after each iteration")
        self.elbow = self._small("elbow", "Elbow plot: inertia against K",
                                 "Best inertia for K = 1..10: the bend (the elbow) suggests a good K")
        self.silhouette = self._small("silhouette", "Silhouette against K",
                                      "Mean silhouette for K = 2..10 (higher: tighter, better separated clusters); "
                                      "the star marks the highest")
        self.inits = self._small("inits", "Final inertia of ten initializations",
                                 "Final inertia from ten random starts; click a bar to load that start")
        self.inits.clicked.connect(lambda x, _y: on_bar_clicked(round(x)))
        self._trials: tuple[list[float], int | None] = ([], None)
        self.outlined = -1  # the bar of the start that was loaded

    def _small(self, name: str, description: str, tip: str) -> PlotCanvas:
        canvas = self._server.canvas(name)
        canvas.setAccessibleName(description)
        canvas.setToolTip(tip)
        canvas.setMinimumHeight(190)
        return canvas

    @property
    def drawing(self) -> bool:
        """Some chart is still being drawn."""
        return self._server.drawing

    def shutdown(self) -> None:
        self._server.stop()

    def set_points(self, X: np.ndarray, sample: ColourSample | None = None, truth: np.ndarray | None = None,
                   limits: tuple[float, float, float, float] | None = None) -> None:
        """New data (an image's pixels when ``sample`` is given: each drawn in its own colour, each
        cluster in the colour its pixels average to; ``truth``: each point's true group, as its marker
        shape; ``limits``: a fixed view)."""
        rgb, lab = (sample.rgb, sample.lab) if sample is not None else (None, None)
        self._server.call("set_points", X, rgb, lab, truth, limits, redraw=("scatter",))

    def show_lesson(self, lesson: Lesson, hint: str = "") -> None:
        """Points, centroids with their trails, the regions, the inertia so far, and while k-means++
        chooses its starts, each point's chance of being the next."""
        labels = None if lesson.labels is None else lesson.labels.copy()
        shading = None if lesson.shading is None else lesson.shading.copy()
        self._server.call("show_lesson", labels, lesson.centroids.copy(), np.stack(lesson.trail),
                          list(lesson.inertias), shading, lesson.chosen, hint, redraw=("scatter", "inertia"))

    def show_silhouette(self, values: list[float | None], k: int) -> None:
        self._server.call("show_silhouette", list(values), k, redraw=("silhouette",))

    def show_elbow(self, values: list[float], k: int) -> None:
        self._server.call("show_elbow", list(values), k, redraw=("elbow",))

    def show_trials(self, trials: list[Trial], best: int | None) -> None:
        """A bar per trial so far; ``best`` (when all are in) in its own colour."""
        self._trials = ([t.inertia for t in trials], best)
        if not trials:
            self.outlined = -1
        self._server.call("show_trials", *self._trials, self.outlined, redraw=("inits",))

    def outline_bar(self, index: int, n_trials: int) -> None:
        """Outline the bar of the trial that was loaded (-1: none)."""
        self.outlined = index if 0 <= index < n_trials else -1
        self._server.call("show_trials", *self._trials, self.outlined, redraw=("inits",))
