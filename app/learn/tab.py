"""The teaching tab: k-means on sample blobs, one step at a time.

It turns the tutorial's sections into something to watch and poke: the data (make_blobs), the
two steps of an iteration shown separately, a Run animation, random initialization compared over
ten seeds, the inertia per iteration, and an elbow plot for choosing K.  Plots are matplotlib
figures whose artists are updated in place (``set_offsets``, ``set_data``, ``draw_idle``).
"""

from __future__ import annotations

import itertools

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.apart import Helper
from app.learn.charts import MAX_K, LessonCharts
from app.learn.lesson import (
    BY_HAND,
    DATASETS,
    DRAWN_LIMITS,
    SEED,
    ColourSample,
    ImageColours,
    KChoice,
    Lesson,
    RunStep,
    Trial,
    colour_sample,
    compare_initializations,
    compression_words,
    iterate,
    iterations,
    k_choice,
)
from app.side_scroll import SideScroll
from app.worker import Token, Worker
from kmeans.errors import Cancelled

RUN_INTERVAL = 0.45  # seconds between iterations of the Run animation
BLOBS, IMAGE, DRAWN = "blobs", "image", "drawn"  # where the points come from (and the shapes of DATASETS)
INITS_CAPTION = (
    "Ten starts, ten results. k-means only finds a local minimum of the inertia, and which one depends "
    "on where the centroids start, so different seeds can end in different clusterings. The lowest "
    "inertia is highlighted; click a bar (or choose it below) to step through that run."
)


class BlobsTab(QWidget):
    """Watch and poke k-means on 2-D blobs."""

    run_iterated = Signal(object)  # RunStep: the Run animation did one iteration
    run_ended = Signal()  # the Run animation converged, was paused or failed
    elbow_ready = Signal()  # the elbow and silhouette charts have all their values
    trials_ready = Signal()  # the ten initializations have all finished

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("blobsTab")
        self.setAccessibleName("Learn k-means on sample blobs")
        self.runner = Worker("blobsRunWorker", self)
        # The ten initializations and the elbow are mostly Python: their workers wait on a process of
        # its own, which computes them without taking the GIL from the GUI thread.
        self.trials_worker = Worker("blobsTrialsWorker", self)
        self.elbow_worker = Worker("blobsElbowWorker", self)
        self._helper = Helper("lesson")
        self.trials: list[Trial] = []
        self.k_values = KChoice([], [])
        self.sample: ColourSample | None = None  # the points, when they are an image's colours
        self.truth: np.ndarray | None = None  # each point's true group, for the shapes
        self.drawn = np.empty((0, 2))  # the points drawn by clicks
        self.placed = np.empty((0, 2))  # the starts placed by clicks (by hand)
        self._image: ImageColours | None = None
        self._shown_once = False
        self._build()
        self.new_data(keep_seed=True)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._shown_once:  # Space, Enter and R work at once: focus a control that does not eat them
            self._shown_once = True
            self.step_button.setFocus()

    # -- layout ---------------------------------------------------------------------------------

    def _build(self) -> None:
        self.caption = QLabel()
        self.caption.setObjectName("blobsCaption")
        self.caption.setWordWrap(True)
        self.caption.setMinimumHeight(40)
        self.caption.setAccessibleName("What k-means just did")
        self.caption.setStyleSheet("font-size: 13px;")
        self.arithmetic = QLabel()
        self.arithmetic.setObjectName("compressionCaption")
        self.arithmetic.setWordWrap(True)
        self.arithmetic.setAccessibleName("What K colours save on this image")
        self.arithmetic.hide()

        self.charts = LessonCharts(on_bar_clicked=self.load_trial)
        self.canvas = self.charts.scatter
        self.canvas.clicked.connect(self.canvas_clicked)
        self.canvas.removed.connect(self.canvas_removed)

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
        self.source_box = QComboBox()
        self.source_box.setObjectName("pointsSourceBox")
        for dataset in DATASETS.values():
            self.source_box.addItem(dataset.label, dataset.key)
        self.source_box.setAccessibleName("Where the points come from")
        self.source_box.setToolTip("The tutorial's blobs; shapes where k-means goes wrong; pixels of the open image on "
                                   "the two directions in which its colours vary most (k-means then finds that "
                                   "image's palette); or points you draw by clicking the plot")
        self._image_item.setEnabled(False)  # until an image is open
        self.source_box.currentIndexChanged.connect(lambda _i: self._source_changed())
        self.dataset_caption = QLabel()
        self.dataset_caption.setObjectName("datasetCaption")
        self.dataset_caption.setWordWrap(True)
        self.dataset_caption.setAccessibleName("What k-means does on these points, and why")
        self.dataset_caption.setStyleSheet("color: palette(window-text); font-size: 12px;")
        self.new_data_button = QPushButton("New data")
        self.new_data_button.setObjectName("newDataButton")
        self.new_data_button.setAccessibleName("New data")
        self.new_data_button.setToolTip("Draw new points with a new seed")
        self.new_data_button.clicked.connect(self._new_data_pressed)
        for spin in (self.points_spin, self.centres_spin, self.spread_spin, self.data_seed_spin):
            spin.valueChanged.connect(lambda _v: self.new_data(keep_seed=True))
        data_box = QGroupBox("Data")
        data_layout = QVBoxLayout(data_box)  # (a box layout gives the wrapped caption the height it needs)
        data_form = QFormLayout()
        data_layout.addLayout(data_form)
        data_layout.addWidget(self.dataset_caption)
        data_form.addRow("From", self.source_box)
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
        self.init_box.addItem("By hand (click K times)", BY_HAND)
        self.init_box.setAccessibleName("Initialization")
        self.init_box.setToolTip("Random: K random points (the tutorial's). k-means++: spread-out starts, chosen one "
                                 "at a time as you step. By hand: click the plot K times to place the starts.")
        self.init_seed_spin = self._spin("initSeedSpinBox", 0, 2**31 - 1, 0, "Seed of the initialization")
        self.k_spin.valueChanged.connect(lambda _v: self.restart())
        self.init_box.currentIndexChanged.connect(lambda _i: self.restart())  # (new starts: placed ones go)
        self.init_seed_spin.valueChanged.connect(lambda _v: self.restart(keep_trials=True))
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
        inits_layout.addWidget(self.inits_caption)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(data_box)
        side_layout.addWidget(kmeans_box)
        k_box = QGroupBox("Which K?")
        k_layout = QVBoxLayout(k_box)
        self.k_caption = QLabel("Working out the elbow and the silhouette…")
        self.k_caption.setObjectName("kChoiceCaption")
        self.k_caption.setWordWrap(True)
        self.k_caption.setAccessibleName("What the elbow and the silhouette suggest")
        self.k_caption.setToolTip("The silhouette of a point is how much nearer it is to its own cluster than to the "
                                  "next one, from −1 to 1; the chart shows the mean over all points")
        k_layout.addWidget(self.k_caption)
        side_layout.addWidget(k_box)
        side_layout.addWidget(inits_box)
        side_layout.addStretch(1)
        side.setFixedWidth(372)

        plots = QHBoxLayout()
        for canvas in (self.charts.inertia, self.charts.elbow, self.charts.silhouette, self.charts.inits):
            plots.addWidget(canvas, 1)
        left = QVBoxLayout()
        left.addWidget(self.caption)
        left.addWidget(self.arithmetic)
        left.addWidget(self.canvas, 1)
        left.addLayout(plots)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addLayout(left, 1)
        layout.addWidget(SideScroll(side, "learnSideScroll", preferred=True))  # (on a short screen rows scroll)

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

    @property
    def _image_item(self):
        return self.source_box.model().item(self.source_box.findData(IMAGE))

    @property
    def source(self) -> str:
        """Where the points come from: a key of ``DATASETS``."""
        key = str(self.source_box.currentData())
        return BLOBS if key == IMAGE and self._image is None else key

    def _source_changed(self) -> None:
        """Other points; for a shape, K as many as its true groups, so the mismatch shows."""
        dataset = DATASETS[self.source]
        if dataset.shows_truth:
            self.k_spin.blockSignals(True)
            self.k_spin.setValue(dataset.fixed_groups or self.centres_spin.value())
            self.k_spin.blockSignals(False)
        self.new_data(keep_seed=True)

    @Slot()
    def new_data(self, keep_seed: bool = True) -> None:
        """Draw the points again (a new seed unless ``keep_seed``), then start over."""
        if not keep_seed:
            self.data_seed_spin.blockSignals(True)
            self.data_seed_spin.setValue(int(np.random.default_rng().integers(0, 100_000)))
            self.data_seed_spin.blockSignals(False)
        dataset = DATASETS[self.source]
        made = dataset.make is not None
        self.centres_spin.setEnabled(made and dataset.fixed_groups is None)
        self.spread_spin.setEnabled(made)
        self.points_spin.setEnabled(dataset.key != DRAWN)
        self.data_seed_spin.setEnabled(made or dataset.key == IMAGE)
        self.new_data_button.setEnabled(made or dataset.key == IMAGE or (dataset.key == DRAWN and len(self.drawn) > 0))
        self.new_data_button.setText("Clear points" if dataset.key == DRAWN else "New data")
        self.dataset_caption.setText(dataset.caption)
        self.sample, self.truth, limits = None, None, None
        if dataset.key == IMAGE:
            self.sample = colour_sample(self._image, self.points_spin.value(), self.data_seed_spin.value())
            self.X = self.sample.X
        elif dataset.key == DRAWN:
            self.X, limits = self.drawn.copy(), DRAWN_LIMITS
        else:
            self.X, y = dataset.make(self.points_spin.value(), self.centres_spin.value(), self.spread_spin.value(),
                                     self.data_seed_spin.value())
            self.truth = y if dataset.shows_truth else None
        self.charts.set_points(self.X, self.sample, self.truth, limits)
        self.restart(keep_placed=True)
        self._work_out_k()

    def _work_out_k(self) -> None:
        """The elbow's and silhouette's values, in the helper process (they fill in K by K)."""
        X = self.X
        self.k_values = KChoice([], [])
        self.k_caption.setText("Working out the elbow and the silhouette…" if len(X) >= 3 else
                               "The elbow and the silhouette need at least three points.")
        self.elbow_worker.submit(lambda token: self._helper.run(k_choice, (X,), token),
                                 on_progress=self._k_values_arrived, on_done=self._k_values_finished,
                                 on_failed=lambda error: self.k_caption.setText(
                                     f"The elbow and the silhouette could not be worked out: {error}"))

    def canvas_clicked(self, x: float, y: float) -> None:
        """A click on the plot: the next start, by hand; else, on drawn points, a new point."""
        if self.lesson.waiting_for_clicks and self.lesson.k:
            self.runner.cancel()
            text = self.lesson.place(x, y)
            self.placed = self.lesson.initial.copy()
            self._say(text)
            self._draw()
        elif self.source == DRAWN:
            self.drawn = np.vstack([self.drawn, [[x, y]]])
            self.new_data(keep_seed=True)
            self._say(f"Added a point at ({x:.1f}, {y:.1f}): {self._drawn_count()}. " + self.caption.text())

    def canvas_removed(self, x: float, y: float) -> None:
        """A right-click or Shift-click on drawn points: the nearest one goes."""
        if self.source != DRAWN or not len(self.drawn):
            return
        nearest = int(np.argmin(((self.drawn - [x, y]) ** 2).sum(axis=1)))
        gone = self.drawn[nearest]
        self.drawn = np.delete(self.drawn, nearest, axis=0)
        self.new_data(keep_seed=True)
        self._say(f"Removed the point at ({gone[0]:.1f}, {gone[1]:.1f}): {self._drawn_count()}. " + self.caption.text())

    def _drawn_count(self) -> str:
        n = len(self.drawn)
        return f"{n} point{'s' if n != 1 else ''}"

    def _new_data_pressed(self) -> None:
        if self.source == DRAWN:
            self.drawn = np.empty((0, 2))
            self.new_data(keep_seed=True)
        else:
            self.new_data(keep_seed=False)

    @Slot()
    def restart(self, keep_trials: bool = False, keep_placed: bool = False) -> None:
        """A new lesson on the current points with the current K, initialization and seed.

        The ten initializations stay when only the seed changed (they are of the same K and method),
        with the bar of that seed outlined.
        """
        self.runner.cancel()
        seed, method = self.init_seed_spin.value(), str(self.init_box.currentData())
        if not keep_placed:
            self.placed = np.empty((0, 2))
        self.lesson = Lesson(self.X, self.k_spin.value(), method, seed, placed=self.placed)
        by_hand = method == BY_HAND
        self.init_seed_spin.setEnabled(not by_hand)
        self.try_button.setEnabled(not by_hand and len(self.X) > 0)
        if not keep_trials:
            self._clear_trials()
        else:
            shown = next((i for i, t in enumerate(self.trials) if t.seed == seed), -1)
            self.charts.outline_bar(shown, len(self.trials))
            if shown >= 0:
                self.trial_box.setCurrentIndex(shown)
        intro = ""
        if self.sample is not None and self._image is not None:
            intro = (f"Each point is a pixel of {self._image.name} in its own colour, placed by the two directions "
                     "in which the image's colours vary most. ")
            self.arithmetic.setText(compression_words(self._image, self.lesson.k))
        self.arithmetic.setVisible(self.sample is not None)
        self._say(intro + self._start_words())
        self._draw()
        self._draw_elbow()

    def _start_words(self) -> str:
        """What the lesson starts from, and what to press."""
        lesson = self.lesson
        k = lesson.k
        if not len(lesson.X):
            return lesson.step()  # (says how to add points)
        if lesson.waiting_for_clicks:
            if len(lesson.initial):
                return lesson.step()
            return (f"Click the plot {k} time{'s' if k > 1 else ''} to place the {k} starting centroids. Try one far "
                    "from every point: it gets no points, and the caption shows what k-means does then.")
        if lesson.phase == SEED:
            return (f"k-means++ chooses the {k} starting centroids one at a time. Press Step (Space) to watch each "
                    "pick and its probability, or Run (Enter) to choose them all and converge.")
        apart = len(np.unique(lesson.initial, axis=0))
        placed = f"{k} centroids placed by {self._method_words()}"
        if apart < k:  # fewer different points than K: some starts coincide, and the picture shows fewer crosses
            placed += (f", on only {apart} different points: some coincide, since the data has only "
                       f"{len(np.unique(lesson.X, axis=0))} different points")
        return (f"{placed}. Press Step (Space) to assign each point to its closest centroid, or Run (Enter) to "
                "watch k-means converge.")

    def set_image_colours(self, image: ImageColours | None) -> None:
        """The open image's colours, offered as the points (and used at once if they are chosen)."""
        self._image = image
        self._image_item.setEnabled(image is not None)
        self.source_box.setItemText(self.source_box.findData(IMAGE),
                                    f"Colours of {image.name}" if image else "This image's colours")
        if self.source_box.currentData() == IMAGE:
            if image is None:
                self.source_box.setCurrentIndex(self.source_box.findData(BLOBS))  # (redraws)
            else:
                self.new_data(keep_seed=True)

    def _method_words(self) -> str:
        return {"k-means++": "k-means++", BY_HAND: "your clicks"}.get(self.lesson.method, "picking random points")

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
        if not len(lesson.X) or lesson.waiting_for_clicks:
            self._say(lesson.step())  # (what to click first)
            return
        if lesson.converged:
            self._say(f"Already converged after {iterations(lesson.iteration)}. Reset (R) to watch again.")
            return
        lesson.finish_half_step()
        self._draw()
        X, centroids = lesson.X, lesson.centroids.copy()
        labels = None if lesson.labels is None else lesson.labels.copy()
        self.run_button.setText("Pause")
        self.runner.submit(lambda token: self._run_job(X, centroids, labels, token), on_progress=self._run_progressed,
                           on_done=self._run_stopped, on_cancelled=self._run_stopped, on_failed=self._run_failed)

    @staticmethod
    def _run_job(X: np.ndarray, centroids: np.ndarray, labels: np.ndarray | None, token: Token) -> str:
        for run_step in iterate(X, centroids, labels):
            token.report(run_step)
            if run_step.changed == 0:
                return "converged"
            if token.wait(RUN_INTERVAL):
                raise Cancelled("paused")
        return "converged"

    def _run_progressed(self, run_step: RunStep) -> None:
        self.lesson.apply_iteration(run_step)
        if self.lesson.converged:
            self._say(f"Converged after {iterations(self.lesson.iteration)}: no point changes cluster any more.")
        else:
            self._say(f"Iteration {self.lesson.iteration}: assigned the points, then moved the centroids.")
        self._draw()
        self.run_iterated.emit(run_step)

    def _run_stopped(self, _result: object = None) -> None:
        self.run_button.setText("Run")
        self.run_ended.emit()

    def _run_failed(self, error: Exception) -> None:
        self._say(f"Run failed: {error}")
        self._run_stopped()

    @Slot()
    def reset(self) -> None:
        """Back to the initial centroids."""
        self.runner.cancel()
        lesson = self.lesson
        if lesson.method == BY_HAND and lesson.at_start and len(lesson.initial):
            self.restart()  # already at the placed starts: a second Reset clears them, to place new ones
            return
        lesson.reset()
        if lesson.method == BY_HAND and not lesson.waiting_for_clicks:
            self._say(f"Reset: back to the {lesson.k} starts you placed. Reset again to place new ones.")
        elif lesson.phase == SEED:
            self._say(f"Reset: k-means++ will choose its {lesson.k} starts again, one a Step.")
        else:
            self._say(f"Reset: back to the {lesson.k} initial centroids.")
        self._draw()

    # -- ten initializations and the elbow ------------------------------------------------------

    @Slot()
    def try_initializations(self) -> None:
        """Run k-means from ten seeds on the worker; the bars fill in as they finish."""
        X, k, method = self.X, self.lesson.k, self.lesson.method
        self._clear_trials()
        self.inits_caption.setText("Running k-means from ten seeds…")
        self.trials_worker.submit(lambda token: self._helper.run(compare_initializations, (X, k, method), token),
                                  on_progress=self._trial_arrived, on_done=self._trials_finished,
                                  on_failed=lambda error: self.inits_caption.setText(
                                      f"The ten initializations could not be run: {error}"))

    def _trial_arrived(self, trial: Trial) -> None:
        self.trials.append(trial)
        self._draw_trials()

    def _trials_finished(self, trials: list[Trial]) -> None:
        self.trials = list(trials)
        self._draw_trials(final=True)
        self.trials_ready.emit()

    def _k_values_arrived(self, values: KChoice) -> None:
        self.k_values = values
        self._draw_elbow()

    def _k_values_finished(self, values: KChoice) -> None:
        self._k_values_arrived(values)
        dataset = DATASETS[self.source]
        groups = (dataset.fixed_groups or self.centres_spin.value()) if dataset.make is not None else None
        self.k_caption.setText(values.words(groups) or "The elbow and the silhouette need more different points.")
        self.elbow_ready.emit()

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
        self.lesson = Lesson(self.X, self.lesson.k, self.lesson.method, trial.seed)  # its start, and Reset's
        self.lesson.finish_seeding()  # (a trial is compared by where it ends: start from its chosen starts)
        self.init_seed_spin.blockSignals(True)
        self.init_seed_spin.setValue(trial.seed)  # the boxes describe what is on screen
        self.init_seed_spin.blockSignals(False)
        self._say(f"Loaded the start of seed {trial.seed}: it ends at inertia {trial.inertia:.1f} after "
                  f"{iterations(trial.n_iter)}. Step or Run to watch it.")
        self._draw()
        self.trial_box.setCurrentIndex(index)
        self.charts.outline_bar(index, len(self.trials))

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
        hint = ""
        if not len(self.lesson.X):
            hint = "Click to add points"
        self.charts.show_lesson(self.lesson, hint)
        self.step_button.setEnabled(not self.lesson.converged)

    def _draw_elbow(self) -> None:
        self.charts.show_elbow(self.k_values.inertias, self.k_spin.value())
        self.charts.show_silhouette(self.k_values.silhouettes, self.k_spin.value())

    def _draw_trials(self, final: bool = False) -> None:
        best = self.best_trial if final else None
        self.charts.show_trials(self.trials, best)
        if best is None or not self.trials:
            return
        self.trial_box.clear()
        for t in self.trials:
            mark = "  ← best" if t is self.trials[best] else ""
            self.trial_box.addItem(f"seed {t.seed}: inertia {t.inertia:.1f}{mark}")
        self.trial_box.setEnabled(True)
        self.trial_box.setCurrentIndex(best)
        ordered = sorted(t.inertia for t in self.trials)
        distinct = 1 + sum(b - a > 1e-3 * b for a, b in itertools.pairwise(ordered))
        self.inits_caption.setText(f"{INITS_CAPTION} Here: {distinct} different result"
                                   f"{'s' if distinct != 1 else ''} from ten starts.")

    def _say(self, text: str) -> None:
        inertia = self.lesson.inertia
        suffix = "" if inertia is None else f"  Inertia: {inertia:,.1f}"
        self.caption.setText(text + suffix)

    # -- shutdown -------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop and join the tab's worker threads, and end its processes."""
        for worker in (self.runner, self.trials_worker, self.elbow_worker):
            worker.stop()
        self._helper.close()
        self.charts.shutdown()
