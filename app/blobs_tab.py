"""The teaching tab: k-means on sample blobs, one step at a time.

It turns the tutorial's sections into something to watch and poke: the data (make_blobs), the
two steps of an iteration shown separately, a Run animation, random initialization compared over
ten seeds, the inertia per iteration, and an elbow plot for choosing K.  Plots are matplotlib
figures whose artists are updated in place (``set_offsets``, ``set_data``, ``draw_idle``).
"""

from __future__ import annotations

import itertools
import os

os.environ.setdefault("QT_API", "pyside6")

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.colors import ListedColormap, to_rgba
from matplotlib.figure import Figure
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.lesson import Lesson, RunStep, Trial, compare_initializations, elbow, iterate, iterations
from app.worker import Token, Worker
from kmeans import find_closest_centroids, make_blobs
from kmeans.errors import Cancelled

COLOURS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#bab0ac"]
UNASSIGNED = "#9a9a9a"
RUN_INTERVAL = 0.45  # seconds between iterations of the Run animation
GRID = 180  # resolution of the shaded Voronoi regions
MAX_K = len(COLOURS)
INITS_CAPTION = (
    "Ten starts, ten results. k-means only finds a local minimum of the inertia, and which one depends "
    "on where the centroids start, so different seeds can end in different clusterings. The lowest "
    "inertia is highlighted; click a bar (or choose it below) to step through that run."
)


class _DrawQueue:
    """Draws the plots that asked, one per turn of the event loop, so that the clicks, keys and
    timers waiting between them are handled: four plots at once held the GUI for a quarter second."""

    def __init__(self) -> None:
        self._waiting: list[PlotCanvas] = []
        self._scheduled = False

    def add(self, canvas: PlotCanvas) -> None:
        if canvas not in self._waiting:
            self._waiting.append(canvas)
        self._schedule()

    def _schedule(self) -> None:
        if self._waiting and not self._scheduled:
            self._scheduled = True
            QTimer.singleShot(0, self._draw_next)

    def _draw_next(self) -> None:
        self._scheduled = False
        canvas = self._waiting.pop(0) if self._waiting else None
        self._schedule()
        if canvas is not None and not _isdeleted(canvas) and canvas.isVisible():
            canvas.draw()


def _isdeleted(widget: QWidget) -> bool:
    try:
        widget.objectName()
    except RuntimeError:  # its C++ side is gone
        return True
    return False


_DRAWS = _DrawQueue()


class PlotCanvas(FigureCanvasQTAgg):
    """A matplotlib canvas that draws only while visible, one plot per event-loop turn, with its
    axes at fixed margins in pixels: a layout engine would cost as much as the drawing itself."""

    def __init__(self, figure: Figure, margins: tuple[int, int, int, int]):
        super().__init__(figure)
        self._margins = margins  # left, right, top, bottom, in logical pixels
        self._laid_out_for: tuple[int, int] | None = None
        self._stale = False

    def draw_idle(self) -> None:
        if not self.isVisible():
            self._stale = True  # drawn when shown
            return
        _DRAWS.add(self)

    def draw(self) -> None:
        size = (self.width(), self.height())
        if size != self._laid_out_for and min(size) > 0:
            left, right, top, bottom = self._margins
            w, h = max(size[0], left + right + 10), max(size[1], top + bottom + 10)
            self.figure.subplots_adjust(left=left / w, right=1 - right / w, top=1 - top / h, bottom=bottom / h)
            self._laid_out_for = size
        super().draw()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self._stale = False
            _DRAWS.add(self)


def _canvas(name: str, width: float, height: float,
            margins: tuple[int, int, int, int] = (62, 12, 26, 40)) -> tuple[PlotCanvas, Figure]:
    figure = Figure(figsize=(width, height))
    canvas = PlotCanvas(figure, margins)
    canvas.setObjectName(name)
    return canvas, figure


class BlobsTab(QWidget):
    """Watch and poke k-means on 2-D blobs."""

    stepped = Signal(str)  # the caption after a step or iteration

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("blobsTab")
        self.setAccessibleName("Learn k-means on sample blobs")
        self.runner = Worker("blobsRunWorker", self)
        self.trials_worker = Worker("blobsTrialsWorker", self)
        self.elbow_worker = Worker("blobsElbowWorker", self)
        self.trials: list[Trial] = []
        self.elbow_values: list[float] = []
        self._build()
        self.runner.progressed.connect(self._run_progressed)
        self.runner.finished.connect(self._run_finished)
        self.runner.cancelled.connect(self._run_stopped)
        self.runner.failed.connect(self._run_failed)
        self.trials_worker.progressed.connect(self._trial_arrived)
        self.trials_worker.finished.connect(self._trials_finished)
        self.elbow_worker.progressed.connect(self._elbow_arrived)
        self.elbow_worker.finished.connect(self._elbow_arrived)
        self.new_data(keep_seed=True)

    # -- layout ---------------------------------------------------------------------------------

    def _build(self) -> None:
        self.caption = QLabel()
        self.caption.setObjectName("blobsCaption")
        self.caption.setWordWrap(True)
        self.caption.setMinimumHeight(40)
        self.caption.setAccessibleName("What k-means just did")
        self.caption.setStyleSheet("font-size: 13px;")

        self.canvas, figure = _canvas("blobsCanvas", 6.4, 5.2, margins=(40, 10, 10, 28))
        self.canvas.setAccessibleName("Scatter plot of the points, coloured by cluster, with the centroids")
        self.canvas.setToolTip("Points coloured by their cluster; X marks the centroids and their trails")
        self.canvas.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.ax = figure.add_subplot()
        self.ax.set_aspect("equal", adjustable="datalim")
        self.ax.tick_params(labelsize=8)
        regions_cmap = ListedColormap([to_rgba(c, 0.16) for c in COLOURS])
        self._regions = self.ax.imshow(np.zeros((2, 2)), origin="lower", cmap=regions_cmap, vmin=-0.5,
                                       vmax=MAX_K - 0.5, interpolation="nearest", zorder=0, aspect="auto")
        self._points = self.ax.scatter([], [], s=16, c=UNASSIGNED, edgecolors="none", zorder=2)
        self._trails = [self.ax.plot([], [], "-o", color=c, lw=1.6, ms=3, alpha=0.85, zorder=3)[0] for c in COLOURS]
        self._centroids = self.ax.scatter([], [], s=240, marker="X", c=[], edgecolors="black", linewidths=1.3,
                                          zorder=4)

        self.inertia_canvas, figure = _canvas("inertiaCanvas", 3.0, 2.0)
        self.inertia_canvas.setAccessibleName("Inertia after each iteration")
        self.inertia_canvas.setToolTip("Inertia (sum of squared distances to the centroids) after each iteration")
        self.inertia_canvas.setMinimumHeight(190)
        self.inertia_ax = figure.add_subplot()
        self.inertia_ax.set_title("Inertia per iteration", fontsize=9)
        self.inertia_ax.set_ylabel("inertia", fontsize=8)
        self.inertia_ax.set_xlabel("iteration", fontsize=8)
        self.inertia_ax.tick_params(labelsize=7)
        (self._inertia_line,) = self.inertia_ax.plot([], [], "o-", color="#4e79a7", ms=4, lw=1.5)
        self._inertia_hint = self.inertia_ax.text(0.5, 0.5, "Step or Run to see it fall", ha="center", va="center",
                                                  transform=self.inertia_ax.transAxes, fontsize=8, color="#777777")

        self.elbow_canvas, figure = _canvas("elbowCanvas", 3.0, 2.0)
        self.elbow_canvas.setAccessibleName("Elbow plot: inertia against K")
        self.elbow_canvas.setToolTip("Best inertia for K = 1..10: the bend (the elbow) suggests a good K")
        self.elbow_canvas.setMinimumHeight(190)
        self.elbow_ax = figure.add_subplot()
        self.elbow_ax.set_title("Choosing K: the elbow", fontsize=9)
        self.elbow_ax.set_xlabel("K", fontsize=8)
        self.elbow_ax.set_ylabel("inertia", fontsize=8)
        self.elbow_ax.tick_params(labelsize=7)
        (self._elbow_line,) = self.elbow_ax.plot([], [], "o-", color="#59a14f", ms=4)
        (self._elbow_mark,) = self.elbow_ax.plot([], [], "o", ms=10, mfc="none", mec="#e15759", mew=2)

        self.inits_canvas, figure = _canvas("initsCanvas", 3.0, 2.0)
        self.inits_canvas.setAccessibleName("Final inertia of ten initializations")
        self.inits_canvas.setToolTip("Final inertia from ten random starts; click a bar to load that start")
        self.inits_canvas.setMinimumHeight(190)
        self.inits_ax = figure.add_subplot()
        self.inits_ax.set_title("Ten initializations", fontsize=9)
        self.inits_ax.set_xlabel("seed", fontsize=8)
        self.inits_ax.set_ylabel("final inertia", fontsize=8)
        self.inits_ax.tick_params(labelsize=7)
        self._bars = self.inits_ax.bar(range(10), np.zeros(10), color="#bab0ac")
        self._inits_hint = self.inits_ax.text(0.5, 0.5, "Try 10 initializations to compare", ha="center",
                                              va="center", transform=self.inits_ax.transAxes, fontsize=8,
                                              color="#777777")
        self.inits_ax.set_xticks(range(10))
        self.inits_canvas.mpl_connect("button_press_event", self._bar_clicked)

        # Data controls.
        self.points_spin = self._spin("pointsSpinBox", 10, 5000, 300, "Number of points")
        self.points_spin.setSingleStep(50)
        self.centres_spin = self._spin("centresSpinBox", 1, MAX_K, 4, "Number of blobs the points come from")
        self.spread_spin = QDoubleSpinBox()
        self.spread_spin.setObjectName("spreadSpinBox")
        self.spread_spin.setRange(0.05, 5.0)
        self.spread_spin.setSingleStep(0.1)
        self.spread_spin.setValue(0.6)
        self.spread_spin.setAccessibleName("Spread of each blob")
        self.spread_spin.setToolTip("Standard deviation of each blob")
        self.data_seed_spin = self._spin("dataSeedSpinBox", 0, 2**31 - 1, 0, "Seed of the data")
        self.new_data_button = QPushButton("New data")
        self.new_data_button.setObjectName("newDataButton")
        self.new_data_button.setAccessibleName("New data")
        self.new_data_button.setToolTip("Draw new points with a new seed")
        self.new_data_button.clicked.connect(lambda: self.new_data(keep_seed=False))
        for spin in (self.points_spin, self.centres_spin, self.spread_spin, self.data_seed_spin):
            spin.valueChanged.connect(lambda _v: self.new_data(keep_seed=True))
        data_box = QGroupBox("Data: make_blobs")
        data_form = QFormLayout(data_box)
        data_form.addRow("Points", self.points_spin)
        data_form.addRow("Blobs", self.centres_spin)
        data_form.addRow("Spread", self.spread_spin)
        data_form.addRow("Seed", self.data_seed_spin)
        data_form.addRow(self.new_data_button)

        # k-means controls.
        self.k_spin = self._spin("blobsKSpinBox", 1, MAX_K, 4, "K: number of clusters")
        self.init_box = QComboBox()
        self.init_box.setObjectName("blobsInitBox")
        self.init_box.addItem("Random points", "random")  # the tutorial's, and the one worth watching
        self.init_box.addItem("k-means++", "k-means++")
        self.init_box.setAccessibleName("Initialization")
        self.init_box.setToolTip("Random: K random points (the tutorial's). k-means++: spread-out starts.")
        self.init_seed_spin = self._spin("initSeedSpinBox", 0, 2**31 - 1, 0, "Seed of the initialization")
        for control in (self.k_spin, self.init_seed_spin):
            control.valueChanged.connect(lambda _v: self.restart())
        self.init_box.currentIndexChanged.connect(lambda _i: self.restart())
        self.step_button = self._button("stepButton", "Step", "Run the next half-step (Space)", self.step)
        self.run_button = self._button("runButton", "Run", "Run or pause the iterations (Enter)", self.toggle_run)
        self.reset_button = self._button("resetButton", "Reset", "Back to the initial centroids (R)", self.reset)
        self.try_button = self._button("tryInitsButton", "Try 10 initializations",
                                       "Run k-means from ten seeds and compare the results", self.try_initializations)
        self.trial_box = QComboBox()
        self.trial_box.setObjectName("trialBox")
        self.trial_box.setAccessibleName("Load one of the ten initializations")
        self.trial_box.setToolTip("Load one of the ten initializations and step through it")
        self.trial_box.setEnabled(False)
        self.trial_box.activated.connect(lambda index: self.load_trial(index))
        kmeans_box = QGroupBox("k-means")
        kmeans_form = QFormLayout(kmeans_box)
        kmeans_form.addRow("K", self.k_spin)
        kmeans_form.addRow("Start from", self.init_box)
        kmeans_form.addRow("Seed", self.init_seed_spin)
        buttons = QHBoxLayout()
        for button in (self.step_button, self.run_button, self.reset_button):
            buttons.addWidget(button)
        kmeans_form.addRow(buttons)

        inits_box = QGroupBox("Random initialization")
        inits_layout = QVBoxLayout(inits_box)
        inits_layout.addWidget(self.try_button)
        inits_layout.addWidget(self.trial_box)
        self.inits_caption = QLabel(
            "k-means can end in different places from different starts. Try ten seeds and compare.")
        self.inits_caption.setObjectName("initsCaption")
        self.inits_caption.setWordWrap(True)
        self.inits_caption.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        inits_layout.addWidget(self.inits_caption, 1)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(data_box)
        side_layout.addWidget(kmeans_box)
        side_layout.addWidget(inits_box, 1)
        side.setFixedWidth(372)

        plots = QHBoxLayout()
        for canvas in (self.inertia_canvas, self.elbow_canvas, self.inits_canvas):
            plots.addWidget(canvas, 1)
        left = QVBoxLayout()
        left.addWidget(self.caption)
        left.addWidget(self.canvas, 1)
        left.addLayout(plots)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(left, 1)
        layout.addWidget(side)

        for key, slot in ((Qt.Key.Key_Space, self.step), (Qt.Key.Key_Return, self.toggle_run),
                          (Qt.Key.Key_Enter, self.toggle_run), (Qt.Key.Key_R, self.reset)):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)

    @staticmethod
    def _spin(name: str, low: int, high: int, value: int, description: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setObjectName(name)
        spin.setRange(low, high)
        spin.setValue(value)
        spin.setAccessibleName(description)
        spin.setToolTip(description)
        return spin

    @staticmethod
    def _button(name: str, text: str, tip: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setAccessibleName(text)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    # -- data and lesson ------------------------------------------------------------------------

    @Slot()
    def new_data(self, keep_seed: bool = True) -> None:
        """Draw the points again (a new seed unless ``keep_seed``), then start over."""
        if not keep_seed:
            self.data_seed_spin.blockSignals(True)
            self.data_seed_spin.setValue(int(np.random.default_rng().integers(0, 100_000)))
            self.data_seed_spin.blockSignals(False)
        self.X, self.y = make_blobs(self.points_spin.value(), self.centres_spin.value(), self.spread_spin.value(),
                                    self.data_seed_spin.value())
        self._points.set_offsets(self.X)
        low, high = self.X.min(axis=0), self.X.max(axis=0)
        margin = (high - low).max() * 0.08 + 0.5
        self._limits = (low[0] - margin, high[0] + margin, low[1] - margin, high[1] + margin)
        self.ax.set_xlim(self._limits[0], self._limits[1])
        self.ax.set_ylim(self._limits[2], self._limits[3])
        self._regions.set_extent(self._limits)
        gx = np.linspace(self._limits[0], self._limits[1], GRID)
        gy = np.linspace(self._limits[2], self._limits[3], GRID)
        self._grid = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)
        self.restart()
        X = self.X
        self.elbow_values = []
        self.elbow_worker.submit(lambda token: elbow(X, report=lambda values: (token.check(), token.report(values))))

    @Slot()
    def restart(self) -> None:
        """A new lesson on the current points with the current K and initialization."""
        self.runner.cancel()
        self.lesson = Lesson(self.X, self.k_spin.value(), str(self.init_box.currentData()),
                             self.init_seed_spin.value())
        self._clear_trials()
        self._say(f"{self.lesson.k} centroids placed by {self._method_words()}. Press Step (Space) to assign "
                  "each point to its closest centroid, or Run (Enter) to watch k-means converge.")
        self._draw()
        self._mark_elbow()

    def _method_words(self) -> str:
        return "k-means++" if self.lesson.method == "k-means++" else "picking random points"

    # -- the two steps, Run and Reset -----------------------------------------------------------

    @Slot()
    def step(self) -> None:
        """The next half-step: assign, or move the centroids."""
        if self.runner.busy:
            self.runner.cancel()
        text = self.lesson.step()
        self._say(text)
        self._draw()

    @Slot()
    def toggle_run(self) -> None:
        """Run the iterations on a timer until convergence, or pause them."""
        if self.runner.busy:
            self.runner.cancel()
            return
        lesson = self.lesson
        if lesson.converged:
            self._say(f"Already converged after {iterations(lesson.iteration)}. Reset (R) to watch again.")
            return
        lesson.finish_half_step()
        self._draw()
        X, centroids = lesson.X, lesson.centroids.copy()
        labels = None if lesson.labels is None else lesson.labels.copy()
        self.run_button.setText("Pause")
        self.runner.submit(lambda token: self._run_job(X, centroids, labels, token))

    @staticmethod
    def _run_job(X: np.ndarray, centroids: np.ndarray, labels: np.ndarray | None, token: Token) -> str:
        for run_step in iterate(X, centroids, labels):
            token.report(run_step)
            if run_step.changed == 0:
                return "converged"
            if token.wait(RUN_INTERVAL):
                raise Cancelled("paused")
        return "converged"

    @Slot(object)
    def _run_progressed(self, run_step: object) -> None:
        if not isinstance(run_step, RunStep):
            return
        self.lesson.apply_iteration(run_step)
        if self.lesson.converged:
            self._say(f"Converged after {iterations(self.lesson.iteration)}: no point changes cluster any more.")
        else:
            self._say(f"Iteration {self.lesson.iteration}: assigned the points, then moved the centroids.")
        self._draw()

    @Slot(object)
    def _run_finished(self, _result: object) -> None:
        self.run_button.setText("Run")

    @Slot()
    def _run_stopped(self) -> None:
        self.run_button.setText("Run")

    @Slot(str)
    def _run_failed(self, message: str) -> None:
        self.run_button.setText("Run")
        self._say(f"Run failed: {message}")

    @Slot()
    def reset(self) -> None:
        """Back to the initial centroids."""
        self.runner.cancel()
        self.lesson.reset()
        self._say(f"Reset: back to the {self.lesson.k} initial centroids.")
        self._draw()

    # -- ten initializations and the elbow ------------------------------------------------------

    @Slot()
    def try_initializations(self) -> None:
        """Run k-means from ten seeds on the worker; the bars fill in as they finish."""
        X, k, method = self.X, self.lesson.k, self.lesson.method
        self._clear_trials()
        self.inits_caption.setText("Running k-means from ten seeds…")
        self.trials_worker.submit(lambda token: compare_initializations(
            X, k, method, report=lambda trial: (token.check(), token.report(trial))))

    @Slot(object)
    def _trial_arrived(self, trial: object) -> None:
        if isinstance(trial, Trial):
            self.trials.append(trial)
            self._draw_trials()

    @Slot(object)
    def _trials_finished(self, trials: object) -> None:
        self.trials = list(trials)
        self._draw_trials(final=True)

    @Slot(object)
    def _elbow_arrived(self, values: object) -> None:
        self.elbow_values = list(values)
        self._draw_elbow()

    @property
    def best_trial(self) -> int | None:
        if not self.trials:
            return None
        return int(np.argmin([t.inertia for t in self.trials]))

    def load_trial(self, index: int) -> None:
        """Start again from the initialization of trial ``index``."""
        if not 0 <= index < len(self.trials):
            return
        trial = self.trials[index]
        self.runner.cancel()
        self.lesson.use_initial(trial.initial)
        self._say(f"Loaded the start of seed {trial.seed}: it ends at inertia {trial.inertia:.1f} after "
                  f"{iterations(trial.n_iter)}. Step or Run to watch it.")
        self._draw()
        self.trial_box.setCurrentIndex(index)
        self._highlight_bar(index)

    def _bar_clicked(self, event) -> None:
        if event.inaxes is not self.inits_ax or event.xdata is None:
            return
        index = round(event.xdata)
        if 0 <= index < len(self.trials):
            self.load_trial(index)

    def _clear_trials(self) -> None:
        """Trials belong to one K and initialization: drop them (and any still running)."""
        self.trials_worker.cancel()
        self.trials = []
        self.trial_box.clear()
        self.trial_box.setEnabled(False)
        self.inits_caption.setText("")
        self._draw_trials()

    # -- drawing --------------------------------------------------------------------------------

    def _draw(self) -> None:
        lesson = self.lesson
        colours = np.array([to_rgba(c) for c in COLOURS])
        if lesson.labels is None:
            self._points.set_facecolor(UNASSIGNED)
        else:
            self._points.set_facecolor(colours[lesson.labels % MAX_K])
        self._centroids.set_offsets(lesson.centroids)
        self._centroids.set_facecolor(colours[np.arange(lesson.k) % MAX_K])
        trail = np.stack(lesson.trail)  # (steps, k, 2)
        for j, line in enumerate(self._trails):
            if j < lesson.k:
                line.set_data(trail[:, j, 0], trail[:, j, 1])
            else:
                line.set_data([], [])
        regions = find_closest_centroids(self._grid, lesson.centroids).reshape(GRID, GRID)
        self._regions.set_data(regions % MAX_K)
        self.canvas.draw_idle()
        self._draw_inertia()
        self.step_button.setEnabled(not lesson.converged)

    def _draw_inertia(self) -> None:
        values = self.lesson.inertias
        self._inertia_line.set_data(np.arange(1, len(values) + 1), values)
        self._inertia_hint.set_visible(not values)
        self.inertia_ax.yaxis.set_visible(bool(values))
        self.inertia_ax.relim()
        self.inertia_ax.autoscale_view()
        self.inertia_ax.set_xlim(0.5, max(len(values), 5) + 0.5)
        self.inertia_canvas.draw_idle()

    def _draw_elbow(self) -> None:
        values = self.elbow_values
        self._elbow_line.set_data(np.arange(1, len(values) + 1), values)
        self.elbow_ax.relim()
        self.elbow_ax.autoscale_view()
        self.elbow_ax.set_xlim(0.5, 10.5)
        self._mark_elbow()

    def _mark_elbow(self) -> None:
        k = self.k_spin.value()
        if len(self.elbow_values) >= k:
            self._elbow_mark.set_data([k], [self.elbow_values[k - 1]])
        else:
            self._elbow_mark.set_data([], [])
        self.elbow_canvas.draw_idle()

    def _draw_trials(self, final: bool = False) -> None:
        best = self.best_trial
        for i, bar in enumerate(self._bars):
            if i < len(self.trials):
                bar.set_height(self.trials[i].inertia)
                bar.set_color("#e15759" if (final and i == best) else "#4e79a7")
            else:
                bar.set_height(0)
                bar.set_color("#bab0ac")
        self._inits_hint.set_visible(not self.trials)
        for bar in self._bars:
            bar.set_visible(bool(self.trials))
        self.inits_ax.yaxis.set_visible(bool(self.trials))
        self.inits_ax.relim()
        self.inits_ax.autoscale_view()
        if final and self.trials:
            inertias = [t.inertia for t in self.trials]
            low, high = min(inertias), max(inertias)
            pad = (high - low) * 0.3 + high * 0.02
            self.inits_ax.set_ylim(max(0, low - pad), high + pad)
            self.trial_box.clear()
            for t in self.trials:
                mark = "  ← best" if t is self.trials[best] else ""
                self.trial_box.addItem(f"seed {t.seed}: inertia {t.inertia:.1f}{mark}")
            self.trial_box.setEnabled(True)
            self.trial_box.setCurrentIndex(best)
            ordered = sorted(inertias)
            distinct = 1 + sum(b - a > 1e-3 * b for a, b in itertools.pairwise(ordered))
            self.inits_caption.setText(f"{INITS_CAPTION} Here: {distinct} different result"
                                       f"{'s' if distinct != 1 else ''} from ten starts.")
        self.inits_canvas.draw_idle()

    def _highlight_bar(self, index: int) -> None:
        for i, bar in enumerate(self._bars[: len(self.trials)]):
            bar.set_edgecolor("black" if i == index else "none")
            bar.set_linewidth(2 if i == index else 0)
        self.inits_canvas.draw_idle()

    def _say(self, text: str) -> None:
        inertia = self.lesson.inertia
        suffix = "" if inertia is None else f"  Inertia: {inertia:,.1f}"
        self.caption.setText(text + suffix)
        self.stepped.emit(self.caption.text())

    # -- shutdown -------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop and join the tab's worker threads."""
        for worker in (self.runner, self.trials_worker, self.elbow_worker):
            worker.stop()
