"""The "Colours" group: the K slider and box, the k-means options, progress and Cancel.

It knows nothing of images or workers: it turns the widgets into ``Params`` (``params()``,
``set_params()``), says when the user changed any of them (``changed``), and shows what the tab
tells it about the run.  A new control goes here: add the widget in ``_build``, its value in
``params()``/``set_params()``, and its signal to the list that emits ``changed``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.image.jobs import Params
from kmeans.defaults import DEFAULT_K, INIT_METHODS, MAX_K, MIN_K
from kmeans.wording import COLOR_SPACE_LABELS

INIT_LABELS = {"k-means++": "k-means++", "random": "Random pixels"}
assert set(INIT_LABELS) == set(INIT_METHODS)


class ColourControls(QGroupBox):
    """K, colour space, initialisation, seed, dithering; the progress bar and Cancel."""

    changed = Signal()  # the user changed K or an option

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Colours", parent)
        self._build()

    def _build(self) -> None:
        k_tip = f"K: how many colours the palette has ({MIN_K}–{MAX_K})"
        self.k_slider = QSlider(Qt.Orientation.Horizontal)
        self.k_slider.setObjectName("kSlider")
        self.k_slider.setRange(MIN_K, MAX_K)
        self.k_slider.setValue(DEFAULT_K)
        self.k_slider.setPageStep(8)
        self.k_slider.setAccessibleName("Number of colours, K")
        self.k_slider.setToolTip(k_tip)
        self.k_spin = QSpinBox()
        self.k_spin.setObjectName("kSpinBox")
        self.k_spin.setRange(MIN_K, MAX_K)
        self.k_spin.setValue(DEFAULT_K)
        self.k_spin.setAccessibleName("K")
        self.k_spin.setToolTip(k_tip)
        self.k_slider.valueChanged.connect(self._k_moved)
        self.k_spin.valueChanged.connect(self.k_slider.setValue)

        self.space_box = self._combo("colorSpaceBox", COLOR_SPACE_LABELS, "Colour space",
                                     "Where colour distances are measured: RGB (the tutorial's) or OKLab (perceptual)")
        self.init_box = self._combo("initBox", INIT_LABELS, "Initialisation", "How the first centroids are chosen")
        self.seed_spin = QSpinBox()
        self.seed_spin.setObjectName("seedSpinBox")
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setAccessibleName("Random seed")
        self.seed_spin.setToolTip("Random seed: the same seed gives the same palette")
        self.dither_box = QCheckBox("Dither")
        self.dither_box.setObjectName("ditherCheckBox")
        self.dither_box.setAccessibleName("Dithering")
        self.dither_box.setToolTip("Floyd–Steinberg dithering: smoother gradients, larger files")
        for signal in (self.space_box.currentIndexChanged, self.init_box.currentIndexChanged,
                       self.seed_spin.valueChanged, self.dither_box.toggled):
            signal.connect(self.changed)

        self.progress = QProgressBar()
        self.progress.setObjectName("progressBar")
        self.progress.setAccessibleName("k-means progress")
        self.progress.setToolTip("Iterations run, against the limit")
        self.progress.setTextVisible(True)
        self.show_idle("idle")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setAccessibleName("Cancel k-means")
        self.cancel_button.setToolTip("Stop k-means now and keep the last finished result")
        self.cancel_button.setEnabled(False)

        layout = QVBoxLayout(self)
        k_row = QHBoxLayout()
        k_label = QLabel("K")
        k_label.setBuddy(self.k_spin)
        k_row.addWidget(k_label)
        k_row.addWidget(self.k_slider, 1)
        k_row.addWidget(self.k_spin)
        layout.addLayout(k_row)
        options = QFormLayout()
        options.setHorizontalSpacing(10)
        options.addRow("Colour space", self.space_box)
        options.addRow("Start from", self.init_box)
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_spin, 1)
        seed_row.addWidget(self.dither_box)
        options.addRow("Seed", seed_row)
        layout.addLayout(options)
        run_row = QHBoxLayout()
        run_row.addWidget(self.progress, 1)
        run_row.addWidget(self.cancel_button)
        layout.addLayout(run_row)

    @staticmethod
    def _combo(name: str, labels: dict[str, str], accessible: str, tip: str) -> QComboBox:
        box = QComboBox()
        box.setObjectName(name)
        for value, label in labels.items():
            box.addItem(label, value)
        box.setAccessibleName(accessible)
        box.setToolTip(tip)
        return box

    def _k_moved(self, k: int) -> None:
        if self.k_spin.value() != k:
            self.k_spin.blockSignals(True)
            self.k_spin.setValue(k)
            self.k_spin.blockSignals(False)
        self.changed.emit()

    # -- values ---------------------------------------------------------------------------------

    def params(self) -> Params:
        return Params(
            k=self.k_slider.value(),
            color_space=str(self.space_box.currentData()),
            init=str(self.init_box.currentData()),
            seed=self.seed_spin.value(),
            dither=self.dither_box.isChecked(),
        )

    def set_params(self, params: Params) -> None:
        """Set the controls without emitting ``changed``."""
        widgets = (self.k_slider, self.k_spin, self.space_box, self.init_box, self.seed_spin, self.dither_box)
        for widget in widgets:
            widget.blockSignals(True)
        self.k_slider.setValue(params.k)
        self.k_spin.setValue(params.k)
        self.space_box.setCurrentIndex(max(0, self.space_box.findData(params.color_space)))
        self.init_box.setCurrentIndex(max(0, self.init_box.findData(params.init)))
        self.seed_spin.setValue(params.seed)
        self.dither_box.setChecked(params.dither)
        for widget in widgets:
            widget.blockSignals(False)

    # -- what the run is doing ------------------------------------------------------------------

    def show_busy(self, text: str) -> None:
        """An indeterminate bar (opening a file, starting a run)."""
        self.progress.setRange(0, 0)
        self.progress.setFormat(text)

    def show_fraction(self, done: int, total: int, text: str) -> None:
        # QProgressBar repaints at once (not at the next paint) when its value changes, and each
        # call waits for the GIL while k-means runs: only what changed is set.
        total = max(total, 1)
        if self.progress.maximum() != total or self.progress.minimum() != 0:
            self.progress.setRange(0, total)
        if self.progress.value() != min(done, total):
            self.progress.setValue(min(done, total))
        self.progress.setFormat(text)

    def show_idle(self, text: str) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat(text)
