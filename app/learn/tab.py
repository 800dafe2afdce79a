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
    ColourSample,
    ImageColours,
    Lesson,
    RunStep,
    Trial,
    colour_sample,
    compare_initializations,
    compression_words,
    elbow,
    iterate,
    iterations,
)
from app.worker import Token, Worker
from kmeans import make_blobs
from kmeans.errors import Cancelled

RUN_INTERVAL = 0.45  # seconds between iterations of the Run animation
BLOBS, IMAGE = "blobs", "image"  # where the points come from
INITS_CAPTION = (
    "Ten starts, ten results. k-means only finds a local minimum of the inertia, and which one depends "
    "on where the centroids start, so different seeds can end in different clusterings. The lowest "
    "inertia is highlighted; click a bar (or choose it below) to step through that run."
)


class BlobsTab(QWidget):
    """Watch and poke k-means on 2-D blobs."""

    run_iterated = Signal(object)  # RunStep: the Run animation did one iteration
    run_ended = Signal()  # the Run animation converged, was paused or failed
    elbow_ready = Signal()  # the elbow plot has all its values
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
        self.elbow_values: list[float] = []
        self.sample: ColourSample | None = None  # the points, when they are an image's colours
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
        self.source_box.addItem("Sample blobs (make_blobs)", BLOBS)
        self.source_box.addItem("This image's colours", IMAGE)
        self.source_box.setAccessibleName("Where the points come from")
        self.source_box.setToolTip("The tutorial's blobs, or pixels of the open image on the two directions in which "
                                   "its colours vary most: k-means then finds that image's palette")
        self.source_box.model().item(1).setEnabled(False)  # until an image is open
        self.source_box.currentIndexChanged.connect(lambda _i: self.new_data(keep_seed=True))
        self.new_data_button = QPushButton("New data")
        self.new_data_button.setObjectName("newDataButton")
        self.new_data_button.setAccessibleName("New data")
        self.new_data_button.setToolTip("Draw new points with a new seed")
        self.new_data_button.clicked.connect(lambda: self.new_data(keep_seed=False))
        for spin in (self.points_spin, self.centres_spin, self.spread_spin, self.data_seed_spin):
            spin.valueChanged.connect(lambda _v: self.new_data(keep_seed=True))
        data_box = QGroupBox("Data")
        data_form = QFormLayout(data_box)
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
        self.init_box.setAccessibleName("Initialization")
        self.init_box.setToolTip("Random: K random points (the tutorial's). k-means++: spread-out starts.")
        self.init_seed_spin = self._spin("initSeedSpinBox", 0, 2**31 - 1, 0, "Seed of the initialization")
        self.k_spin.valueChanged.connect(lambda _v: self.restart())
        self.init_box.currentIndexChanged.connect(lambda _i: self.restart())
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
        inits_layout.addWidget(self.inits_caption, 1)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(data_box)
        side_layout.addWidget(kmeans_box)
        side_layout.addWidget(inits_box, 1)
        side.setFixedWidth(372)

        plots = QHBoxLayout()
        for canvas in (self.charts.inertia, self.charts.elbow, self.charts.inits):
            plots.addWidget(canvas, 1)
        left = QVBoxLayout()
        left.addWidget(self.caption)
        left.addWidget(self.arithmetic)
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
        from_image = self.source_box.currentData() == IMAGE and self._image is not None
        for spin in (self.centres_spin, self.spread_spin):
            spin.setEnabled(not from_image)
        if from_image:
            self.sample = colour_sample(self._image, self.points_spin.value(), self.data_seed_spin.value())
            self.X = self.sample.X
        else:
            self.sample = None
            self.X, _y = make_blobs(self.points_spin.value(), self.centres_spin.value(), self.spread_spin.value(),
                                    self.data_seed_spin.value())
        self.charts.set_points(self.X, self.sample)
        self.restart()
        X = self.X
        self.elbow_values = []
        self.elbow_worker.submit(lambda token: self._helper.run(elbow, (X,), token),
                                 on_progress=self._elbow_arrived, on_done=self._elbow_finished,
                                 on_failed=lambda error: self._say(f"The elbow plot could not be worked out: {error}"))

    @Slot()
    def restart(self, keep_trials: bool = False) -> None:
        """A new lesson on the current points with the current K, initialization and seed.

        The ten initializations stay when only the seed changed (they are of the same K and method),
        with the bar of that seed outlined.
        """
        self.runner.cancel()
        seed = self.init_seed_spin.value()
        self.lesson = Lesson(self.X, self.k_spin.value(), str(self.init_box.currentData()), seed)
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
        k, apart = self.lesson.k, len(np.unique(self.lesson.initial, axis=0))
        placed = f"{k} centroids placed by {self._method_words()}"
        if apart < k:  # fewer different points than K: some starts coincide, and the picture shows fewer crosses
            placed += (f", on only {apart} different points: some coincide, since the data has only "
                       f"{len(np.unique(self.lesson.X, axis=0))} different points")
        self._say(f"{intro}{placed}. Press Step (Space) to "
                  "assign each point to its closest centroid, or Run (Enter) to watch k-means converge.")
        self._draw()
        self._draw_elbow()

    def set_image_colours(self, image: ImageColours | None) -> None:
        """The open image's colours, offered as the points (and used at once if they are chosen)."""
        self._image = image
        self.source_box.model().item(1).setEnabled(image is not None)
        self.source_box.setItemText(1, f"Colours of {image.name}" if image else "This image's colours")
        if self.source_box.currentData() == IMAGE:
            if image is None:
                self.source_box.setCurrentIndex(0)  # (redraws)
            else:
                self.new_data(keep_seed=True)

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

    def _elbow_arrived(self, values: list[float]) -> None:
        self.elbow_values = list(values)
        self._draw_elbow()

    def _elbow_finished(self, values: list[float]) -> None:
        self._elbow_arrived(values)
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
        self.charts.show_lesson(self.lesson)
        self.step_button.setEnabled(not self.lesson.converged)

    def _draw_elbow(self) -> None:
        self.charts.show_elbow(self.elbow_values, self.k_spin.value())

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
