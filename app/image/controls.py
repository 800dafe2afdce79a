"""The "Colours" group: the K slider and box, the k-means options, progress and Cancel.

It knows nothing of images or workers: it puts the widgets' values into ``Options``
(``options()``, ``set_options()``), says when the user changed any of them (``changed``), and shows
what the tab tells it about the run.  A new control goes here: add the widget in ``_build``, its
value in ``options()``/``set_options()``, and its signal to the list that emits ``changed``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

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

from kmeans.autok import QUALITY_LEVELS
from kmeans.defaults import DEFAULT_K, FULL_DITHER, INIT_METHODS, MAX_K, MIN_K
from kmeans.options import Options, Target
from kmeans.wording import COLOR_SPACE_LABELS

INIT_LABELS = {"k-means++": "k-means++", "random": "Random pixels"}
QUALITY_TIP = ("How close to the original Auto K must come, as mean CIEDE2000 (ΔE) over the pixels:\n"
               "1 is about the smallest difference anyone sees with the two side by side,\n"
               "2 is seen only on close comparison, 3–5 at a glance while still reading as the same colours.")
assert set(INIT_LABELS) == set(INIT_METHODS)


@dataclass(frozen=True)
class AutoK:
    """Auto K's controls: on or off, the level (a name of ``QUALITY_LEVELS``, or "size") and the size."""

    on: bool = False
    level: str = "good"
    size_kb: int = 100


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
                                     "Where colour distances are measured. Balanced (the default): sRGB together "
                                     "with DIN99o, which tracks how different colours look, for the palette that "
                                     "looks closest. RGB: the tutorial's. OKLab: perceptual alone.")
        self.init_box = self._combo("initBox", INIT_LABELS, "Initialisation", "How the first centroids are chosen")
        self.seed_spin = QSpinBox()
        self.seed_spin.setObjectName("seedSpinBox")
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setAccessibleName("Random seed")
        self.seed_spin.setToolTip("Random seed: the same seed gives the same palette")
        self.dither_box = QCheckBox("Dither")
        self.dither_box.setObjectName("ditherCheckBox")
        self.dither_box.setAccessibleName("Dithering")
        self.dither_box.setToolTip("Dithering: the colour error spread to the neighbours, for smooth gradients\n"
                                   "instead of bands; usually a larger file")
        self.dither_spin = QSpinBox()
        self.dither_spin.setObjectName("ditherLevel")
        self.dither_spin.setAccessibleName("Dithering level, in percent")
        self.dither_spin.setRange(1, FULL_DITHER)
        self.dither_spin.setValue(FULL_DITHER)
        self.dither_spin.setSuffix(" %")
        self.dither_spin.setToolTip("How much of the colour error is spread: less gives a quieter image and a\n"
                                    "smaller file, more gives smoother gradients")
        self.dither_spin.setEnabled(False)
        self.dither_box.toggled.connect(self.dither_spin.setEnabled)
        self.auto_box = QCheckBox("Auto K")
        self.auto_box.setObjectName("autoK")
        self.auto_box.setAccessibleName("Choose K automatically")
        self.auto_box.setToolTip("Let the program choose K: the fewest colours that reach the quality on the right\n"
                                 "(or the most that fit the file size), worked out for each image")
        self.target_box = QComboBox()
        self.target_box.setObjectName("qualityTarget")
        self.target_box.setAccessibleName("Quality target for Auto K")
        for name, limit in QUALITY_LEVELS.items():
            self.target_box.addItem(f"{name} (ΔE ≤ {limit:g})", name)
        self.target_box.addItem("file size at most…", "size")
        self.target_box.setCurrentIndex(list(QUALITY_LEVELS).index("good"))
        self.target_box.setToolTip(QUALITY_TIP)
        self.size_spin = QSpinBox()
        self.size_spin.setObjectName("sizeTarget")
        self.size_spin.setAccessibleName("Largest file size for Auto K, in KB")
        self.size_spin.setRange(1, 10_000_000)
        self.size_spin.setValue(100)
        self.size_spin.setSuffix(" KB")
        self.size_spin.setToolTip("The largest export Auto K may choose (1 KB = 1,024 bytes)")
        self.auto_box.toggled.connect(self._auto_toggled)
        self.target_box.currentIndexChanged.connect(self._target_changed)
        self._auto_toggled(False)
        for signal in (self.space_box.currentIndexChanged, self.init_box.currentIndexChanged,
                       self.seed_spin.valueChanged, self.dither_box.toggled, self.dither_spin.valueChanged,
                       self.auto_box.toggled,
                       self.target_box.currentIndexChanged, self.size_spin.valueChanged):
            signal.connect(self.changed)

        self.progress = QProgressBar()
        self.progress.setObjectName("progressBar")
        self.progress.setAccessibleName("k-means progress")
        self.progress.setToolTip("Iterations run, against the limit")
        self.progress.setTextVisible(True)
        self._bar: tuple[int, int, int, str] = (0, 100, -1, "")  # range, value and text shown (see _set_bar)
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
        auto_row = QHBoxLayout()
        auto_row.addWidget(self.auto_box)
        auto_row.addWidget(self.target_box, 1)
        auto_row.addWidget(self.size_spin)
        layout.addLayout(auto_row)
        options = QFormLayout()
        options.setHorizontalSpacing(10)
        options.addRow("Colour space", self.space_box)
        options.addRow("Start from", self.init_box)
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_spin, 1)
        seed_row.addWidget(self.dither_box)
        seed_row.addWidget(self.dither_spin)
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

    def _auto_toggled(self, on: bool) -> None:
        self.k_slider.setEnabled(not on)
        self.k_spin.setEnabled(not on)
        self.target_box.setEnabled(on)
        self._target_changed()

    def _target_changed(self) -> None:
        self.size_spin.setVisible(self.target_box.currentData() == "size")
        self.size_spin.setEnabled(self.auto_box.isChecked())

    def target(self) -> Target | None:
        """What Auto K is to meet, or None when K is the user's."""
        if not self.auto_box.isChecked():
            return None
        level = str(self.target_box.currentData())
        if level == "size":
            return Target("size", self.size_spin.value() * 1024)
        return Target("delta_e", QUALITY_LEVELS[level])

    def auto_k(self) -> AutoK:
        return AutoK(self.auto_box.isChecked(), str(self.target_box.currentData()), self.size_spin.value())

    def set_auto_k(self, auto: AutoK) -> None:
        """Set Auto K's controls without emitting ``changed``."""
        widgets = (self.auto_box, self.target_box, self.size_spin)
        for widget in widgets:
            widget.blockSignals(True)
        self.auto_box.setChecked(auto.on)
        self.target_box.setCurrentIndex(max(0, self.target_box.findData(auto.level)))
        self.size_spin.setValue(auto.size_kb)
        for widget in widgets:
            widget.blockSignals(False)
        self._auto_toggled(auto.on)

    def set_k(self, k: int) -> None:
        """Show ``k`` (chosen by Auto K) without emitting ``changed``."""
        for widget in (self.k_slider, self.k_spin):
            widget.blockSignals(True)
            widget.setValue(k)
            widget.blockSignals(False)

    def set_auto(self, on: bool) -> None:
        """Turn Auto K on or off (emits ``changed``)."""
        self.auto_box.setChecked(on)

    def _k_moved(self, k: int) -> None:
        if self.k_spin.value() != k:
            self.k_spin.blockSignals(True)
            self.k_spin.setValue(k)
            self.k_spin.blockSignals(False)
        self.changed.emit()

    # -- values ---------------------------------------------------------------------------------

    def options(self, base: Options = Options()) -> Options:  # noqa: B008 (frozen)
        """``base`` with these controls' K (or Auto K's target) and k-means settings."""
        return replace(base, k=self.k_slider.value(), target=self.target(),
                       color_space=str(self.space_box.currentData()), init=str(self.init_box.currentData()),
                       seed=self.seed_spin.value(), dither=self.dither_level())

    def dither_level(self) -> int:
        """The dithering level asked for, in percent: 0 when dithering is off."""
        return self.dither_spin.value() if self.dither_box.isChecked() else 0

    def set_options(self, options: Options) -> None:
        """Show the options' K and k-means settings without emitting ``changed``."""
        widgets = (self.k_slider, self.k_spin, self.space_box, self.init_box, self.seed_spin, self.dither_box,
                   self.dither_spin)
        for widget in widgets:
            widget.blockSignals(True)
        self.k_slider.setValue(options.k)
        self.k_spin.setValue(options.k)
        self.space_box.setCurrentIndex(max(0, self.space_box.findData(options.color_space)))
        self.init_box.setCurrentIndex(max(0, self.init_box.findData(options.init)))
        self.seed_spin.setValue(options.seed)
        self.dither_box.setChecked(options.dither > 0)
        self.dither_spin.setEnabled(options.dither > 0)  # its signals are blocked: toggled did not reach it
        if options.dither:
            self.dither_spin.setValue(options.dither)
        for widget in widgets:
            widget.blockSignals(False)

    # -- what the run is doing ------------------------------------------------------------------

    def show_busy(self, text: str) -> None:
        """An indeterminate bar (opening a file, starting a run)."""
        self._set_bar(0, 0, None, text)

    def show_fraction(self, done: int, total: int, text: str) -> None:
        total = max(total, 1)
        self._set_bar(0, total, min(done, total), text)

    def show_idle(self, text: str) -> None:
        self._set_bar(0, 1, 0, text)

    def _set_bar(self, low: int, high: int, value: int | None, text: str) -> None:
        # Every call into Qt, a getter too, waits for the GIL while k-means runs: what the bar
        # shows is remembered here, and only what changed is set.  QProgressBar repaints at once
        # when its value changes, holding the GIL (and k-means) for a millisecond or more; with
        # updates off it is painted with the rest of the window, by Qt's event loop, without it.
        if self._bar[:2] == (low, high) and (value is None or self._bar[2] == value):
            if self._bar[3] != text:
                self.progress.setFormat(text)  # (which only schedules a paint)
                self._bar = (*self._bar[:3], text)
            return
        self.progress.setUpdatesEnabled(False)
        try:
            if self._bar[:2] != (low, high):
                self.progress.setRange(low, high)
            if value is not None:
                self.progress.setValue(value)
            if self._bar[3] != text:
                self.progress.setFormat(text)
        finally:
            self.progress.setUpdatesEnabled(True)  # (and schedules the paint)
        self._bar = (low, high, value if value is not None else self.progress.value(), text)
