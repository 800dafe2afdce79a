"""The image tab: canvas, K slider and options, progress, palette and statistics, on one worker.

Flow: ``open_path`` sends decoding to the worker; when the image arrives it is shown and
quantized.  Changing K or an option restarts quantization after a short debounce, so dragging
the slider never queues work; the running job stops at its next iteration.  Every iteration
updates the palette view, and about five times a second a live frame of the image.  A finished
result is shown, then measured (quality and exact export size) on a second worker so the next K
is never kept waiting by an encoder.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.canvas import ImageCanvas
from app.jobs import (
    IterationUpdate,
    Measurement,
    OpenedImage,
    Outcome,
    Params,
    TooLarge,
    measure,
    open_image,
    run_quantize,
)
from app.palette_view import PaletteView
from app.qimage import PREVIEW_SIDE, shade_qimage
from app.worker import Worker
from kmeans.imagefile import DEFAULT_MAX_PIXELS, FORMAT_LABELS, FORMATS, hex_color
from kmeans.metrics import Quality, size_change
from kmeans.quantize import MAX_PALETTE

DEFAULT_K = 16
MIN_K = 2
DEBOUNCE_MS = 150
SPACE_LABELS = {"rgb": "RGB", "oklab": "OKLab"}


class MessageBar(QFrame):
    """A dismissable line of text above the canvas, for errors and notices (never modal)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.setAccessibleName("Message")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        self._text = QLabel()
        self._text.setWordWrap(True)
        self._text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.setAccessibleName("Dismiss message")
        close.clicked.connect(self.hide)
        layout.addWidget(self._text, 1)
        layout.addWidget(close)
        self.hide()

    @property
    def text(self) -> str:
        return self._text.text() if self.isVisibleTo(self.parentWidget()) else ""

    def show_message(self, text: str, error: bool = False) -> None:
        colour = "#f8d7da" if error else "#fff3cd"
        border = "#e0a0a8" if error else "#e6cf7a"
        self.setStyleSheet(f"#messageBar {{ background: {colour}; border: 1px solid {border}; border-radius: 4px; }}"
                           "#messageBar QLabel { color: #2b2b2b; }")
        self._text.setText(text)
        self.show()


class StatsPanel(QGroupBox):
    """Numbers about the original and the result, including the exact export size."""

    format_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Statistics", parent)
        self.setObjectName("statsPanel")
        self.setAccessibleName("Statistics")
        self.setToolTip("Sizes and quality of the compressed image")
        form = QFormLayout(self)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(3)
        self._values: dict[str, QLabel] = {}
        rows = [
            ("image", "Image"), ("original", "Original"), ("distinct", "Distinct colours"),
            ("palette", "Palette"), ("iterations", "Iterations"), ("time", "Time"), ("psnr", "PSNR"),
            ("delta_e", "ΔE (CIEDE2000)"), ("bpp", "Bits per pixel"),
        ]
        for key, label in rows:
            value = QLabel("–")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setAccessibleName(label)
            self._values[key] = value
            form.addRow(label, value)
        self.format_box = QComboBox()
        for fmt in FORMATS:
            self.format_box.addItem(FORMAT_LABELS[fmt], fmt)
        self.format_box.setToolTip("Format whose exact size is shown (and offered first on export)")
        self.format_box.setAccessibleName("Export format for the size estimate")
        self.format_box.currentIndexChanged.connect(lambda: self.format_changed.emit(self.fmt))
        self._values["export"] = QLabel("–")
        self._values["export"].setAccessibleName("Export size")
        self._values["export"].setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("Export as", self.format_box)
        form.addRow("Export size", self._values["export"])
        self._warning = QLabel()
        self._warning.setObjectName("sizeWarning")
        self._warning.setWordWrap(True)
        self._warning.setStyleSheet("color: #b3261e; font-weight: 600;")
        self._warning.hide()
        form.addRow(self._warning)

    @property
    def fmt(self) -> str:
        return str(self.format_box.currentData())

    def set_format(self, fmt: str) -> None:
        index = self.format_box.findData(fmt)
        if index >= 0:
            self.format_box.setCurrentIndex(index)

    def value(self, key: str) -> str:
        return self._values[key].text()

    def _set(self, key: str, text: str) -> None:
        self._values[key].setText(text)

    def show_image(self, opened: OpenedImage) -> None:
        loaded = opened.loaded
        self._set("image", f"{loaded.name} ({loaded.format})")
        self._set("original", f"{loaded.width} × {loaded.height}, {_bytes(loaded.file_size)}")
        self._set("distinct", f"{opened.table.n_colors:,}")
        for key in ("palette", "iterations", "time", "psnr", "delta_e", "bpp", "export"):
            self._set(key, "–")
        self._warning.hide()

    def show_running(self, k: int) -> None:
        self._set("palette", f"{k} colours (running…)")

    def show_outcome(self, outcome: Outcome) -> None:
        result = outcome.result
        entries = len(result.palette)
        asked = outcome.params.k
        self._set("palette", f"{entries} colours" + (f" (asked {asked})" if entries != asked else ""))
        converged = "" if result.converged else " (limit)"
        self._set("iterations", f"{result.n_iter}{converged}")
        self._set("time", f"{outcome.seconds:.2f} s")
        for key in ("psnr", "delta_e", "bpp"):
            self._set(key, "…")
        self._set("export", "calculating…")
        self._warning.hide()

    def show_quality(self, q: Quality) -> None:
        self._set("psnr", "∞ (identical)" if math.isinf(q.psnr) else f"{q.psnr:.2f} dB")
        self._set("delta_e", f"{q.delta_e:.2f}")

    def show_measurement(self, measurement: Measurement, original_size: int) -> None:
        self.show_quality(measurement.quality)
        self._set("bpp", f"{measurement.bits_per_pixel:.2f}")
        self._set("export", f"{_bytes(measurement.size)} ({size_change(original_size, measurement.size)})")
        if measurement.size > original_size:
            self._warning.setText(f"The {measurement.fmt.upper()} export would be larger than the original "
                                  f"({_bytes(original_size)}). Try fewer colours or another format.")
            self._warning.show()
        else:
            self._warning.hide()

    def show_measure_failed(self, message: str) -> None:
        self._set("export", f"could not encode: {message}")


def _bytes(n: int) -> str:
    if n < 1024:
        return f"{n:,} B"
    if n < 1024**2:
        return f"{n / 1024:,.1f} KB ({n:,} B)"
    return f"{n / 1024**2:,.2f} MB ({n:,} B)"


class ImageTab(QWidget):
    """Everything about the open image; the window owns the menus and the file dialogs."""

    image_opened = Signal(str)  # the path
    open_failed = Signal(str)  # the message
    quantized = Signal(object)  # Outcome
    measured = Signal(object)  # Measurement
    too_large = Signal(object)  # TooLarge (pixels may exceed 32 bits): the window asks what to do
    status = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.worker = Worker("quantizeWorker", self)
        self.measurer = Worker("measureWorker", self)
        self._opened: OpenedImage | None = None
        self._outcome: Outcome | None = None
        self._measurement: Measurement | None = None
        self._loading_path: str | None = None
        self._open_notice = ""
        self.max_pixels: int | None = DEFAULT_MAX_PIXELS  # larger images are asked about first
        self._submissions = 0  # quantization jobs sent to the worker (for tests and the benchmark)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.requantize)
        self._build()
        self.worker.progressed.connect(self._show_progress)
        self.worker.finished.connect(self._job_finished)
        self.worker.failed.connect(self._job_failed)
        self.worker.cancelled.connect(self._job_cancelled)
        self.worker.busy_changed.connect(self._busy_changed)
        self.measurer.progressed.connect(self._show_quality)
        self.measurer.finished.connect(self._show_measurement)
        self.measurer.failed.connect(self.stats.show_measure_failed)

    # -- layout ---------------------------------------------------------------------------------

    def _build(self) -> None:
        self.canvas = ImageCanvas()
        self.message_bar = MessageBar()

        self.k_slider = QSlider(Qt.Orientation.Horizontal)
        self.k_slider.setObjectName("kSlider")
        self.k_slider.setRange(MIN_K, MAX_PALETTE)
        self.k_slider.setValue(DEFAULT_K)
        self.k_slider.setPageStep(8)
        self.k_slider.setAccessibleName("Number of colours, K")
        self.k_slider.setToolTip("K: how many colours the palette has (2–256)")
        self.k_spin = QSpinBox()
        self.k_spin.setObjectName("kSpinBox")
        self.k_spin.setRange(MIN_K, MAX_PALETTE)
        self.k_spin.setValue(DEFAULT_K)
        self.k_spin.setAccessibleName("K")
        self.k_spin.setToolTip("K: how many colours the palette has (2–256)")
        self.k_slider.valueChanged.connect(self._k_moved)
        self.k_spin.valueChanged.connect(self.k_slider.setValue)

        self.space_box = QComboBox()
        self.space_box.setObjectName("colorSpaceBox")
        for space, label in SPACE_LABELS.items():
            self.space_box.addItem(label, space)
        self.space_box.setAccessibleName("Colour space")
        self.space_box.setToolTip("Where colour distances are measured: RGB (the tutorial's) or OKLab (perceptual)")
        self.init_box = QComboBox()
        self.init_box.setObjectName("initBox")
        self.init_box.addItem("k-means++", "k-means++")
        self.init_box.addItem("Random pixels", "random")
        self.init_box.setAccessibleName("Initialisation")
        self.init_box.setToolTip("How the first centroids are chosen")
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
            signal.connect(self.schedule)

        self.progress = QProgressBar()
        self.progress.setObjectName("progressBar")
        self.progress.setAccessibleName("k-means progress")
        self.progress.setToolTip("Iterations run, against the limit")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("idle")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setAccessibleName("Cancel k-means")
        self.cancel_button.setToolTip("Stop k-means now and keep the last finished result")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)

        self.palette_view = PaletteView()
        self.palette_view.entry_selected.connect(self._highlight)
        self.stats = StatsPanel()
        self.stats.format_changed.connect(lambda _fmt: self._start_measure())

        controls = QGroupBox("Colours")
        grid = QVBoxLayout(controls)
        k_row = QHBoxLayout()
        k_label = QLabel("K")
        k_label.setBuddy(self.k_spin)
        k_row.addWidget(k_label)
        k_row.addWidget(self.k_slider, 1)
        k_row.addWidget(self.k_spin)
        grid.addLayout(k_row)
        options = QFormLayout()
        options.setHorizontalSpacing(10)
        options.addRow("Colour space", self.space_box)
        options.addRow("Start from", self.init_box)
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_spin, 1)
        seed_row.addWidget(self.dither_box)
        options.addRow("Seed", seed_row)
        grid.addLayout(options)
        run_row = QHBoxLayout()
        run_row.addWidget(self.progress, 1)
        run_row.addWidget(self.cancel_button)
        grid.addLayout(run_row)

        palette_box = QGroupBox("Palette")
        palette_layout = QVBoxLayout(palette_box)
        palette_layout.setContentsMargins(6, 6, 6, 6)
        palette_layout.addWidget(self.palette_view)

        side = QWidget()
        side.setObjectName("sidePanel")
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(controls)
        side_layout.addWidget(palette_box, 1)
        side_layout.addWidget(self.stats)
        side.setFixedWidth(372)
        side.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)

        left = QVBoxLayout()
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(self.message_bar)
        left.addWidget(self.canvas, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(10)
        layout.addLayout(left, 1)
        layout.addWidget(side)

    # -- state ----------------------------------------------------------------------------------

    @property
    def opened(self) -> OpenedImage | None:
        return self._opened

    @property
    def outcome(self) -> Outcome | None:
        """The last finished result (kept when a run is cancelled or fails)."""
        return self._outcome

    @property
    def measurement(self) -> Measurement | None:
        return self._measurement

    @property
    def submissions(self) -> int:
        return self._submissions

    def params(self) -> Params:
        return Params(
            k=self.k_slider.value(),
            color_space=str(self.space_box.currentData()),
            init=str(self.init_box.currentData()),
            seed=self.seed_spin.value(),
            dither=self.dither_box.isChecked(),
        )

    def set_params(self, params: Params) -> None:
        """Set the controls (without starting a run by itself)."""
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

    # -- opening --------------------------------------------------------------------------------

    def open_path(self, path: str | Path, notice: str = "", *, allow_large: bool = False) -> None:
        """Decode ``path`` off the GUI thread; the current image stays until it has arrived.

        ``notice`` is shown with the image's own notices once it has opened.  Images over
        ``max_pixels`` raise ``too_large`` instead, unless ``allow_large``.
        """
        path = str(path)
        max_pixels = None if allow_large else self.max_pixels
        self._loading_path = path
        self._open_notice = notice
        self._debounce.stop()
        self.measurer.cancel()
        self.progress.setRange(0, 0)  # busy
        self.progress.setFormat("opening…")
        self.worker.submit(lambda token: open_image(path, max_pixels, token))

    # -- quantizing -----------------------------------------------------------------------------

    def _k_moved(self, k: int) -> None:
        if self.k_spin.value() != k:
            self.k_spin.blockSignals(True)
            self.k_spin.setValue(k)
            self.k_spin.blockSignals(False)
        self.schedule()

    @Slot()
    def schedule(self) -> None:
        """Quantize again after the debounce interval (restarted by every change)."""
        if self._opened is not None:
            self._debounce.start()

    @Slot()
    def requantize(self) -> None:
        """Quantize now with the current parameters (the running job stops)."""
        self._debounce.stop()
        opened = self._opened
        if opened is None:
            return
        params = self.params()
        previous = self._outcome
        self.measurer.cancel()
        self._submissions += 1
        self.stats.show_running(params.k)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("starting…")
        self.worker.submit(lambda token: run_quantize(opened, params, token, previous))

    @Slot()
    def cancel(self) -> None:
        """Stop k-means within one iteration; the last finished result stays."""
        self._debounce.stop()
        self.worker.cancel()

    @Slot(object)
    def _show_progress(self, update: object) -> None:
        if not isinstance(update, IterationUpdate):
            return
        p = update.progress
        self.progress.setRange(0, max(p.max_iter, 1))
        self.progress.setValue(min(p.iteration, p.max_iter))
        stage = {"seeding": "trying starts", "coarse": "seeding", "fine": "refining"}.get(p.stage, p.stage)
        self.progress.setFormat(f"iteration {p.iteration} · {stage}")
        self.palette_view.show_palette(p.palette, p.shares)
        if update.frame is not None:
            self.canvas.set_result(update.frame)

    @Slot(object)
    def _job_finished(self, result: object) -> None:
        if isinstance(result, OpenedImage):
            self._image_arrived(result)
        elif isinstance(result, TooLarge):
            self._loading_path = None
            self._restore_idle()
            self.too_large.emit(result)
        elif isinstance(result, Outcome):
            self._outcome_arrived(result)

    def _image_arrived(self, opened: OpenedImage) -> None:
        self._opened = opened
        self._outcome = None
        self._measurement = None
        self._loading_path = None
        self.canvas.set_original(opened.original, opened.original_preview)
        self.palette_view.show_palette(np.zeros((0, 3), np.uint8), np.zeros(0))
        self.palette_view.clear_selection()
        self.stats.show_image(opened)
        notices = " ".join(n for n in (self._open_notice, *opened.loaded.notices) if n)
        self._open_notice = ""
        if notices:
            self.message_bar.show_message(notices)
        else:
            self.message_bar.hide()
        self.image_opened.emit(str(opened.loaded.path))
        self.requantize()

    def _outcome_arrived(self, outcome: Outcome) -> None:
        self._outcome = outcome
        self._measurement = None
        result = outcome.result
        self.canvas.set_result(outcome.image, outcome.preview)
        self.palette_view.clear_selection()  # entries are numbered afresh: a selection would point elsewhere
        self.palette_view.show_palette(result.palette, result.shares)
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.progress.setFormat(f"done · {result.n_iter} iterations · {outcome.seconds:.2f} s")
        if result.notice:
            self.message_bar.show_message(result.notice)
        self.status.emit(f"{len(result.palette)} colours in {outcome.seconds:.2f} s")
        self.quantized.emit(outcome)
        self._start_measure()

    def _start_measure(self) -> None:
        opened, outcome, fmt = self._opened, self._outcome, self.stats.fmt
        if opened is None or outcome is None:
            return
        self.stats.show_outcome(outcome)
        self.measurer.submit(lambda token: measure(opened, outcome, fmt, token))

    @Slot(object)
    def _show_quality(self, scores: object) -> None:
        if isinstance(scores, Quality):
            self.stats.show_quality(scores)

    @Slot(object)
    def _show_measurement(self, measurement: object) -> None:
        if not isinstance(measurement, Measurement) or self._opened is None:
            return
        self._measurement = measurement
        self.stats.show_measurement(measurement, self._opened.loaded.file_size)
        self.measured.emit(measurement)

    @Slot(str)
    def _job_failed(self, message: str) -> None:
        if self._loading_path is not None:
            self._loading_path = None
            self._restore_idle()
            self.message_bar.show_message(message, error=True)
            self.open_failed.emit(message)
            return
        self._restore_idle()
        self._restore_last_result()
        self.message_bar.show_message(f"k-means failed: {message}", error=True)
        self.status.emit(f"k-means failed: {message}")

    @Slot()
    def _job_cancelled(self) -> None:
        self._loading_path = None
        self._restore_idle()
        self._restore_last_result()
        self.status.emit("Stopped; the last finished result is kept.")

    def _restore_idle(self) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("stopped" if self._opened else "idle")

    def _restore_last_result(self) -> None:
        outcome = self._outcome
        if outcome is not None:
            self.canvas.set_result(outcome.image, outcome.preview)
            self.palette_view.show_palette(outcome.palette, outcome.result.shares)
            if self._measurement is not None and self._opened is not None:
                self.stats.show_outcome(outcome)
                self.stats.show_measurement(self._measurement, self._opened.loaded.file_size)
            else:
                self._start_measure()  # (shows the outcome too)
        elif self._opened is not None:
            self.canvas.set_result(None)
            self.palette_view.show_palette(np.zeros((0, 3), np.uint8), np.zeros(0))
            self.stats.show_image(self._opened)

    @Slot(bool)
    def _busy_changed(self, busy: bool) -> None:
        self.cancel_button.setEnabled(busy)

    # -- highlight ------------------------------------------------------------------------------

    @Slot(int)
    def _highlight(self, entry: int) -> None:
        outcome = self._outcome
        if entry < 0 or outcome is None or entry >= len(outcome.palette) or self.worker.busy:
            self.canvas.set_highlight(None)  # (while k-means runs the swatches are not the result's)
            return
        labels = outcome.labels
        h, w = labels.shape
        step = max(1, math.ceil(max(h, w) / PREVIEW_SIDE))
        small = labels[::step, ::step]
        self.canvas.set_highlight(shade_qimage(small == entry))
        share = outcome.result.counts[entry] / labels.size if not outcome.params.dither else np.mean(small == entry)
        self.status.emit(f"Highlighting {hex_color(outcome.palette[entry])}: {share * 100:.1f}% of the pixels")

    # -- shutdown -------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop and join both worker threads (safe to call more than once)."""
        self._debounce.stop()
        self.worker.stop()
        self.measurer.stop()
