"""The image tab: canvas, colour controls, palette and statistics, and the jobs behind them.

Flow: ``open_path`` sends decoding to the worker; when the image arrives it is shown and
quantized.  Changing K or an option restarts quantization after a short debounce, so dragging
the slider never queues work; the running job stops at its next iteration.  Every iteration
updates the palette view, and about five times a second a live frame of the image.  A finished
result is shown, then measured (quality and exact export size) on a second worker so the next K
is never kept waiting by an encoder.  Exports run on a third.  Once K has rested a second, the
result's size in every format and the K curve's points are worked out on two more; the next run
cancels both, and the curve resumes where it stopped.  With Auto K on, a run is a search for the
K that meets the target (``jobs.choose_k``), shown as any result is.  Behind another tab, nobody
sees the statistics, sizes or curve: their work waits until the tab is shown again.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtGui import QHideEvent, QImage, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.batch_view import BatchSettings
from app.image.canvas import ImageCanvas
from app.image.controls import ColourControls
from app.image.jobs import (
    IterationUpdate,
    Measurement,
    Measuring,
    OpenedImage,
    Outcome,
    Params,
    Preview,
    Trying,
    choose_k,
    curve_points,
    export,
    format_sizes,
    measure,
    open_image,
    preview_quantize,
    run_quantize,
)
from app.image.k_curve import KCurve
from app.image.message_bar import MessageBar
from app.image.original_key import SpaceShowsOriginal
from app.image.palette_view import PaletteView
from app.image.stats_panel import StatsPanel
from app.qimage import PREVIEW_SIDE, shade_qimage
from app.worker import Worker
from kmeans.autok import CURVE_KS
from kmeans.defaults import DEFAULT_MAX_PIXELS, FORMATS, MAX_K
from kmeans.encode_apart import end_spare
from kmeans.errors import ImageTooLargeError, KMeansImageError, OutputExistsError
from kmeans.metrics import Quality
from kmeans.palettefile import hex_color
from kmeans.transparency import support_of
from kmeans.wording import COLOR_SPACE_LABELS, FORMAT_NAMES, display_name

DEBOUNCE_MS = 150
PROGRESS_MS = 50  # the progress bar follows k-means at most 20 times a second
# ... and the palette at most about 7 times: each swatch shown is a few calls into Qt, each of which
# waits for the GIL while k-means runs (and k-means for them). The palette's GUI time per 10 MP
# K=256 run went from 13-26 ms (every 50 ms) to 8-14 ms, the final fill included.
PALETTE_PROGRESS_MS = 150
# Nothing of a run's progress is drawn before it has lasted this long: a shorter run is over before
# the eye could follow it, and drawing it cost the GUI thread 7 ms of CPU per 10 MP K=16 run (27 ms
# -> 20 ms, result included), which a two-core machine takes from k-means.
FIRST_PROGRESS_MS = 300
MIN_QUICK_SIDE = 256  # the smallest first picture of a large image's result, whatever the zoom
SIZES_AFTER_MS = 1000  # a result's size in every format, and the K curve, are worked out once K has rested this long


@dataclass(frozen=True)
class TooLarge:
    """An image over the pixel limit: the window asks before opening it anyway."""

    path: str
    pixels: int
    limit: int
    message: str


class ImageTab(QWidget):
    """Everything about the open image; the window owns the menus and the file dialogs."""

    image_opened = Signal(object)  # the path (a str that may hold undecodable bytes: not a QString)
    open_failed = Signal(str)  # the message
    progressed = Signal(object)  # IterationUpdate: one k-means iteration of the running job
    previewed = Signal(object)  # Preview: a quick palette while the K slider is dragged
    quantized = Signal(object)  # Outcome
    cancelled = Signal()  # a run (or an open) was stopped; the last result stays
    failed = Signal(str)  # a run failed; the last result stays
    measured = Signal(object)  # Measurement
    too_large = Signal(object)  # TooLarge (pixels may exceed 32 bits): the window asks what to do
    exported = Signal(object)  # Exported
    export_failed = Signal(str)  # the message
    status = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.worker = Worker("quantizeWorker", self)
        self.measurer = Worker("measureWorker", self, background=True)
        self.exporter = Worker("exportWorker", self)
        self.sizer = Worker("formatSizeWorker", self, background=True)
        self.curver = Worker("curveWorker", self, background=True)
        self._curve_key: tuple | None = None  # what the points on the K curve were estimated for
        self._locked: list[tuple[int, int, int]] = []  # colours every run keeps exactly, until unlocked
        self._in_order = False  # they are a palette file's, kept first and in its order
        self._palette_source: str | None = None  # that file (a batch reads it again)
        self._opened: OpenedImage | None = None
        self._outcome: Outcome | None = None
        self._measurement: Measurement | None = None
        self._full_images: tuple[QImage, QImage] | None = None  # the outcome at full size and box-filtered
        self._quality: Quality | None = None  # the outcome's PSNR and ΔE, once measured
        self._measure_when_shown = False  # measuring, sizes or the curve waited while the tab was hidden
        self._open_notice = ""
        self.max_pixels: int | None = DEFAULT_MAX_PIXELS  # larger images are asked about first
        self._submissions = 0  # quantization jobs sent to the worker (for tests and the benchmark)
        self._opening = False  # a file is being decoded
        self._started = 0.0  # when the running quantization was asked for
        self._palette_shown = 0.0  # when the palette last showed a run's progress
        self._running: Params | None = None  # what it was asked with
        self._previewing = False  # a drag preview is running
        self._preview_stale = False  # K moved on while it ran
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.requantize)
        self._latest: IterationUpdate | None = None  # progress not shown yet
        self._progress_timer = QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.setInterval(PROGRESS_MS)
        self._progress_timer.timeout.connect(self._show_latest_progress)
        # A result's statistics start once the event loop has had its turn: the canvas paints the
        # result first, without the measuring thread taking the GIL from it.
        self._measure_timer = QTimer(self)
        self._measure_timer.setSingleShot(True)
        self._measure_timer.setInterval(0)
        self._measure_timer.timeout.connect(self._submit_measure)
        self._sizes_timer = QTimer(self)
        self._sizes_timer.setSingleShot(True)
        self._sizes_timer.setInterval(SIZES_AFTER_MS)
        self._sizes_timer.timeout.connect(self._measure_formats)
        self._build()
        self.worker.busy_changed.connect(self.controls.cancel_button.setEnabled)
        self._space = SpaceShowsOriginal(self, self.canvas)  # wherever focus is in this tab

    def _build(self) -> None:
        self.canvas = ImageCanvas()
        self.message_bar = MessageBar()
        self.controls = ColourControls()
        self.controls.changed.connect(self.schedule)
        self.controls.k_slider.sliderReleased.connect(self.requantize)
        self.controls.cancel_button.clicked.connect(self.cancel)
        self.palette_view = PaletteView()
        self.palette_view.entry_selected.connect(self._highlight)
        self.palette_view.lock_toggled.connect(self.toggle_lock)
        self.canvas.picked.connect(self._picked)
        self.stats = StatsPanel()
        self.stats.format_changed.connect(self._format_changed)
        self.stats.matte_changed.connect(self._format_changed)

        self.k_curve = KCurve()
        self.k_curve.k_clicked.connect(self._curve_clicked)
        self.curve_measure = QComboBox()
        self.curve_measure.setObjectName("curveMeasure")
        self.curve_measure.setAccessibleName("Quality measure on the curve")
        self.curve_measure.setToolTip("What the curve's left axis shows: mean CIEDE2000 difference (lower is "
                                      "better) or PSNR (higher is better)")
        self.curve_measure.addItem("ΔE (CIEDE2000)", "delta_e")
        self.curve_measure.addItem("PSNR", "psnr")
        self.curve_measure.currentIndexChanged.connect(
            lambda: self.k_curve.set_measure(str(self.curve_measure.currentData())))
        curve_page = QWidget()
        curve_layout = QVBoxLayout(curve_page)
        curve_layout.setContentsMargins(6, 6, 6, 6)
        measure_row = QHBoxLayout()
        measure_row.addWidget(QLabel("Quality as"))
        measure_row.addWidget(self.curve_measure, 1)
        curve_layout.addLayout(measure_row)
        curve_layout.addWidget(self.k_curve, 1)
        self.pick_button = QPushButton("Pick a colour")
        self.pick_button.setObjectName("eyedropper")
        self.pick_button.setCheckable(True)
        self.pick_button.setAccessibleName("Eyedropper")
        self.pick_button.setToolTip("Click a pixel of the image to lock its colour (Ctrl+I)")
        self.pick_button.setShortcut("Ctrl+I")  # (a bare letter would be typed into a focused box)
        self.pick_button.toggled.connect(self.canvas.set_picking)
        self.unlock_button = QPushButton("Unlock all")
        self.unlock_button.setObjectName("unlockAll")
        self.unlock_button.setAccessibleName("Unlock every colour")
        self.unlock_button.setToolTip("Let k-means move every colour again")
        self.unlock_button.clicked.connect(self.clear_locks)
        self.unlock_button.setEnabled(False)
        lock_row = QHBoxLayout()
        lock_row.addWidget(self.pick_button)
        lock_row.addWidget(self.unlock_button)
        lock_row.addStretch(1)
        palette_page = QWidget()
        palette_layout = QVBoxLayout(palette_page)
        palette_layout.setContentsMargins(6, 6, 6, 6)
        palette_layout.addWidget(self.palette_view)
        palette_layout.addLayout(lock_row)
        self.side_tabs = QTabWidget()
        self.side_tabs.setObjectName("sideTabs")
        self.side_tabs.addTab(palette_page, "Palette")
        self.side_tabs.setTabToolTip(0, "The palette: click a colour to see where it is used")
        self.side_tabs.addTab(curve_page, "Choosing K")
        self.side_tabs.setTabToolTip(1, "Quality and file size against K for this image; click to choose K")
        side = QWidget()
        side.setObjectName("sidePanel")
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.controls)
        side_layout.addWidget(self.side_tabs, 1)
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
        """The controls' settings, with the transparency the chosen format keeps of this image."""
        pixels = self._opened.pixels if self._opened is not None else None
        alpha = support_of(self.stats.fmt, pixels) if pixels is not None else "partial"
        return replace(self.controls.params(), alpha=alpha, matte=self.stats.matte, fixed=tuple(self._locked),
                       in_order=self._in_order and bool(self._locked))

    def batch_settings(self) -> BatchSettings:
        """This tab's settings for a batch: the command line's options, and the same in words."""
        params, fmt, target = self.params(), self.stats.fmt, self.controls.target()
        options: dict = {"format": fmt, "dither": params.dither, "color_space": params.color_space,
                         "init": params.init, "seed": params.seed, "matte": "#{:02x}{:02x}{:02x}".format(*params.matte)}
        if target is None and self._palette_source is not None:
            options["palette_in"] = self._palette_source
            options["extra"] = max(0, params.k - len(self._locked))
            how = f"the palette {display_name(self._palette_source)}" + (
                f" and {options['extra']} more colours" if options["extra"] else "")
        elif target is None:
            options["k"] = max(params.k, len(self._locked))
            how = f"{options['k']} colours"
            if self._locked:
                options["fixed"] = ",".join(hex_color(np.array(c)) for c in self._locked)
                how += f" ({len(self._locked)} locked)"
        elif target.by_size:
            options["max_size"] = int(target.value)
            how = f"Auto K: the most colours {target.words()}"
        else:
            options["max_delta_e"] = target.value
            how = f"Auto K: the fewest colours with {target.words()}"
        if target is not None and self._locked:
            how += " (locked colours are not used with Auto K in a batch)"
        words = [how, FORMAT_NAMES[fmt], COLOR_SPACE_LABELS[params.color_space], params.init, f"seed {params.seed}"]
        if params.dither:
            words.append("dithered")
        return BatchSettings(options, " · ".join(words))

    def set_params(self, params: Params) -> None:
        """Set the controls (without starting a run by itself)."""
        self.controls.set_params(params)

    # -- opening --------------------------------------------------------------------------------

    def open_path(self, path: str | Path, notice: str = "", *, allow_large: bool = False) -> None:
        """Decode ``path`` off the GUI thread; the current image stays until it has arrived.

        ``notice`` is shown with the image's own notices once it has opened.  Images over
        ``max_pixels`` raise ``too_large`` instead, unless ``allow_large``.
        """
        path = str(path)
        max_pixels = None if allow_large else self.max_pixels
        self._open_notice = notice
        self._opening = True
        self._previewing = False
        self._debounce.stop()
        self._stop_measuring()
        self.curver.cancel()
        self.controls.show_busy(f"opening {display_name(path)}…")
        self.worker.submit(lambda token: open_image(path, max_pixels, token), on_done=self._image_arrived,
                           on_failed=lambda error: self._open_refused(path, error),
                           on_cancelled=self._open_cancelled)

    def _image_arrived(self, opened: OpenedImage) -> None:
        self._opening = False
        self._opened = opened
        self._set_outcome(None)
        self.canvas.set_original(opened.original, opened.original_preview)
        self.palette_view.show_palette(np.zeros((0, 3), np.uint8), np.zeros(0))
        self.palette_view.clear_selection()
        self.stats.show_image(opened)
        self.stats.show_matte_choice(self.params().alpha != "partial")
        notices = " ".join(n for n in (self._open_notice, *opened.loaded.notices) if n)
        self._open_notice = ""
        if notices:
            self.message_bar.show_message(notices)
        else:
            self.message_bar.hide()
        self.image_opened.emit(str(opened.loaded.path))
        self.requantize()

    def _open_refused(self, path: str, error: KMeansImageError) -> None:
        self._open_stopped()
        if isinstance(error, ImageTooLargeError):
            self.too_large.emit(TooLarge(path, error.pixels, error.limit, str(error)))
            return
        self.message_bar.show_message(str(error), error=True, details=error.details)
        self.open_failed.emit(str(error))

    def _open_cancelled(self) -> None:
        self._open_stopped()
        self.status.emit("Not opened; the image that was shown stays.")
        self.cancelled.emit()

    def _open_stopped(self) -> None:
        """The image that was shown stays, and so does its result; a K chosen meanwhile is computed."""
        self._opening = False
        wanted = self.params()
        self._restore_idle()
        self._restore_last_result()
        outcome = self._outcome
        if self._opened is not None and (outcome is None or outcome.params != wanted):
            self.controls.set_params(wanted)
            self.requantize()

    # -- quantizing -----------------------------------------------------------------------------

    @Slot()
    def schedule(self) -> None:
        """Quantize again after the debounce interval (restarted by every change); while the K
        slider is held, show quick previews instead, and quantize as soon as it is let go."""
        if self._opened is None or self._opening:  # (an image being opened is quantized when it arrives)
            return
        if self.controls.k_slider.isSliderDown():
            self._debounce.stop()
            self._preview()
        else:
            self._debounce.start()

    def _preview(self) -> None:
        """A preview for the slider's K; one at a time, the newest K next (never a queue)."""
        if self._previewing:
            self._preview_stale = True
            return
        opened, params = self._opened, self.params()
        self._previewing, self._preview_stale = True, False
        self._stop_measuring()
        self.stats.show_running(params.k)
        self.controls.show_fraction(0, 1, f"previewing {params.k} colours…")
        self.curver.cancel()
        self.worker.submit(lambda token: preview_quantize(opened, params, token), on_done=self._preview_arrived,
                           on_failed=self._run_failed, on_cancelled=self._preview_dropped)

    def _preview_arrived(self, preview: Preview) -> None:
        self._previewing = False
        self.palette_view.show_palette(preview.palette, preview.shares)
        self.canvas.set_result(preview.frame)
        self.previewed.emit(preview)
        if self._preview_stale and self.controls.k_slider.isSliderDown():
            self._preview()

    def _preview_dropped(self) -> None:
        self._previewing = False
        self._stopped()

    @Slot()
    def requantize(self) -> None:
        """Quantize now with the current parameters (the running job stops)."""
        self._debounce.stop()
        opened = self._opened
        if opened is None or self._opening:
            return
        params = self.params()
        previous = self._outcome
        self._running = params
        self._previewing = False
        self._stop_measuring()
        self._submissions += 1
        self._started = time.perf_counter()
        self.curver.cancel()  # the curve waits: the result asked for comes first
        target, fmt = self.controls.target(), self.stats.fmt
        # The job starts first; the widgets say so while it runs.
        if target is not None:
            self.worker.submit(lambda token: choose_k(opened, params, fmt, target, token),
                               on_done=self._outcome_arrived, on_progress=self._show_trying,
                               on_failed=self._run_failed, on_cancelled=self._stopped)
            self.stats.show_running(None)
            self.controls.show_busy(f"choosing K for {target.words()}…")
        else:
            side = self._quick_side(opened)
            self.worker.submit(lambda token: run_quantize(opened, params, token, previous, preview_side=side),
                               on_done=self._outcome_arrived, on_progress=self._show_progress,
                               on_failed=self._run_failed, on_cancelled=self._stopped)
            self.stats.show_running(params.k)
            self.controls.show_fraction(0, 1, f"finding {params.k} colours…")
            self._progress_timer.start(FIRST_PROGRESS_MS)  # then every PROGRESS_MS while it runs
        self.k_curve.set_target(target)

    def _quick_side(self, opened: OpenedImage) -> int:
        """How large a result's first picture is: the whole image when it fits in PREVIEW_SIDE,
        else as sharp as the canvas shows it now (a 10 MP picture costs milliseconds to make and
        to draw; the full-size one follows from ``measure``)."""
        loaded = opened.loaded
        if max(loaded.width, loaded.height) <= PREVIEW_SIDE:
            return PREVIEW_SIDE
        return max(MIN_QUICK_SIDE, min(PREVIEW_SIDE, self.canvas.detail_side()))

    def _show_trying(self, trying: Trying) -> None:
        seconds = time.perf_counter() - self._started
        self.controls.show_busy(f"choosing K for {trying.target.words()}… K={trying.point.k}: "
                                f"{trying.target.measure(trying.point)} · {seconds:.1f} s")

    @Slot()
    def cancel(self) -> None:
        """Stop k-means within one iteration; the last finished result stays."""
        self._debounce.stop()
        self.worker.cancel()

    def _show_progress(self, update: IterationUpdate) -> None:
        """Every iteration arrives here; from FIRST_PROGRESS_MS into the run the widgets show the
        newest at most every PROGRESS_MS (redrawing 256 swatches for each of 40 quick iterations
        would slow k-means down)."""
        if update.frame is not None:
            self.canvas.set_result(update.frame)  # frames come at most every FRAME_INTERVAL already
        self._latest = update
        if not self._progress_timer.isActive():
            self._show_latest_progress()
        self.progressed.emit(update)

    def _show_latest_progress(self) -> None:
        update, self._latest = self._latest, None
        if update is None or not self.worker.busy:
            return
        p = update.progress
        # The fill moves a step at each of quantize's runs (starts, histograms, all colours): honest,
        # as nobody knows beforehand how many passes the last one takes.
        seconds = time.perf_counter() - self._started
        self.controls.show_fraction(p.run - 1, p.runs,
                                    f"finding {len(p.palette)} colours… pass {p.iteration} · {seconds:.1f} s")
        now = time.perf_counter()
        if now - self._palette_shown >= PALETTE_PROGRESS_MS / 1000:
            self._palette_shown = now
            self.palette_view.show_palette(p.palette, p.shares, in_view=True)
        self._progress_timer.start(PROGRESS_MS)

    def _outcome_arrived(self, outcome: Outcome) -> None:
        self._latest = None
        self._set_outcome(outcome)
        result = outcome.result
        self.k_curve.set_current(outcome.params.k)
        if outcome.choice is not None:
            self.controls.set_k(outcome.params.k)
            if not outcome.choice.met:  # (when met, the statistics say "Auto K", the reason in a tooltip)
                self.message_bar.show_message(f"Auto K: {outcome.choice.reason}; the closest, "
                                              f"{outcome.params.k} colours, is shown.")
        self.canvas.set_result(outcome.preview)
        self.canvas.repaint()  # the picture first: the palette, bar and statistics follow in this turn
        self.palette_view.clear_selection()  # entries are numbered afresh: a selection would point elsewhere
        self.palette_view.show_palette(result.palette, result.shares)
        self.controls.show_fraction(1, 1, _done_words(outcome))
        if result.notice:
            self.message_bar.show_message(result.notice)
        self.status.emit(f"{len(result.palette)} colours in {outcome.seconds:.2f} s")
        self.stats.show_outcome(outcome)
        self.quantized.emit(outcome)
        self._measure_timer.start()

    def _set_outcome(self, outcome: Outcome | None) -> None:
        """A new result (or none): what the measuring job found belongs to the old one."""
        self._outcome = outcome
        self._measurement = None
        self._full_images = None
        self._quality = None

    def _run_failed(self, error: KMeansImageError) -> None:
        self._previewing = False
        self._restore_idle()
        self._restore_last_result()
        self.message_bar.show_message(f"k-means failed: {error}", error=True, details=error.details)
        self.status.emit(f"k-means failed: {error}")
        self.failed.emit(str(error))

    def _stopped(self) -> None:
        self._restore_idle()
        self._restore_last_result()
        self.status.emit("Stopped; the last finished result is kept.")
        self.cancelled.emit()

    def _restore_idle(self) -> None:
        """The bar and the controls describe what is shown: the last result, or nothing yet."""
        self._latest = None
        outcome = self._outcome
        if outcome is not None:
            self.controls.set_params(outcome.params)
            self.controls.show_fraction(1, 1, _done_words(outcome))
        else:
            self.controls.show_idle("no result yet" if self._opened else "idle")

    def _restore_last_result(self) -> None:
        outcome = self._outcome
        if outcome is not None:
            self._show_result_image()
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

    # -- measuring ------------------------------------------------------------------------------

    def _stop_measuring(self) -> None:
        self._measure_timer.stop()
        self.measurer.cancel()
        self.sizer.cancel()
        self._sizes_timer.stop()

    def _format_changed(self) -> None:
        """Another format (or matte): measure again, or -- when it keeps less of this image's
        transparency -- quantize what it can show."""
        opened, outcome = self._opened, self._outcome
        wanted = self.params()
        self.stats.show_matte_choice(wanted.alpha != "partial")
        if opened is None or self._opening:
            return
        by_size = (target := self.controls.target()) is not None and target.by_size
        if self.worker.busy and self._running is not None:
            if not self._running.same_view(wanted) or by_size:
                self.requantize()  # the running job works on pixels this format cannot show
        elif outcome is not None and outcome.params.same_view(wanted) and not by_size:
            self._start_measure()
        else:
            self.requantize()

    def _measure_formats(self) -> None:
        if self._waits_for_show():
            return
        self._continue_curve()
        opened, outcome = self._opened, self._outcome
        if opened is None or outcome is None or self.worker.busy:
            return
        missing = [fmt for fmt in FORMATS if fmt not in self.stats.sizes]
        if missing:
            self.sizer.submit(lambda token: format_sizes(opened, outcome, missing, token),
                              on_progress=lambda found: self.stats.show_format_size(*found))

    def _start_measure(self) -> None:
        """Show the result's statistics and start measuring what is not known yet."""
        if self._opened is not None and self._outcome is not None:
            self.stats.show_outcome(self._outcome)
            self._submit_measure()

    def _submit_measure(self) -> None:
        opened, outcome, fmt = self._opened, self._outcome, self.stats.fmt
        if opened is None or outcome is None or self._waits_for_show():
            return
        images = self._full_images is None  # (made once per result, not again for another format)
        known, known_size = self._quality, self.stats.sizes.get(fmt)  # (sizes belong to the shown result)
        self.measurer.submit(lambda token: measure(opened, outcome, fmt, token, images=images, known=known,
                                                   known_size=known_size),
                             on_progress=self._show_measuring,
                             on_done=self._show_measurement, on_failed=lambda e: self.stats.show_measure_failed(str(e)))

    def _waits_for_show(self) -> bool:
        """Whether the tab is hidden, so measuring waits for ``showEvent``."""
        if self.isVisible():
            return False
        self._measure_when_shown = True
        return True

    def hideEvent(self, event: QHideEvent) -> None:
        # Behind the Learn tab, statistics nobody sees would take the processor and, on a thread of
        # low priority that holds the GIL between numpy calls, keep the GUI thread waiting: the Learn
        # tab's soak (bench_gui.py) stalled up to 69 ms with them, 38 ms without.
        if self.measurer.busy or self.sizer.busy or self.curver.busy or self._measure_timer.isActive() or \
                self._sizes_timer.isActive():
            self._measure_when_shown = True
            self._stop_measuring()
            self.curver.cancel()  # (it resumes where it stopped)
        super().hideEvent(event)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._measure_when_shown:
            return
        self._measure_when_shown = False
        if self.worker.busy:
            return  # (the result on its way is measured when it arrives)
        if self._measurement is None:
            self._start_measure()
        else:
            self._sizes_timer.start()

    def _show_measuring(self, found: Measuring) -> None:
        if found.image is not None and found.preview is not None:
            self._full_images = (found.image, found.preview)
            self._show_result_image()
        if found.quality is not None:
            self._quality = found.quality
            self.stats.show_quality(found.quality)

    def _show_result_image(self) -> None:
        outcome = self._outcome
        if outcome is not None:
            if self._full_images is None:
                self.canvas.set_result(outcome.preview)
            else:
                self.canvas.set_result(*self._full_images)

    def _show_measurement(self, measurement: Measurement) -> None:
        if self._opened is None:
            return
        self._measurement = measurement
        self.stats.show_measurement(measurement, self._opened.loaded.file_size)
        self.measured.emit(measurement)
        self._sizes_timer.start()  # (and the curve, once K has rested)

    # -- locked colours -------------------------------------------------------------------------

    @property
    def locked(self) -> list[tuple[int, int, int]]:
        return list(self._locked)

    def toggle_lock(self, colour: tuple[int, int, int]) -> None:
        """Lock ``colour`` (every run keeps it exactly, new images too), or unlock it."""
        colour = tuple(int(v) for v in colour)
        self._in_order, self._palette_source = False, None  # (the palette file's set is changed)
        if colour in self._locked:
            self._locked.remove(colour)
            self.status.emit(f"Unlocked {hex_color(np.array(colour))}")
        else:
            self._locked.append(colour)
            self.status.emit(f"Locked {hex_color(np.array(colour))}: every run keeps it exactly")
        self._locks_changed()

    def lock_colours(self, colours: list[tuple[int, int, int]], *, source: str | None = None, extra: int = 0) -> None:
        """Lock exactly ``colours`` (a palette file's, ``source``: kept first, in that order) and set K
        to their number plus ``extra`` free colours."""
        self._locked = [tuple(int(v) for v in c) for c in colours]
        self._in_order = source is not None
        self._palette_source = source
        self.controls.set_auto(False)
        self.controls.set_k(min(MAX_K, len(self._locked) + extra))
        self._locks_changed()

    def clear_locks(self) -> None:
        self._locked, self._in_order, self._palette_source = [], False, None
        self._locks_changed()

    def _locks_changed(self) -> None:
        self.palette_view.set_locked(set(self._locked))
        self.unlock_button.setEnabled(bool(self._locked))
        if len(self._locked) > self.controls.k_slider.value():
            self.controls.set_k(min(MAX_K, len(self._locked)))
        self.schedule()

    def _picked(self, x: int, y: int) -> None:
        """The eyedropper: the original's colour at (x, y) is locked; one pick per click on the button."""
        opened = self._opened
        self.pick_button.setChecked(False)
        if opened is None:
            return
        pixel = opened.pixels[y, x]
        if len(pixel) == 4 and pixel[3] == 0:
            self.status.emit("That pixel is transparent: nothing to lock.")
            return
        colour = tuple(int(v) for v in pixel[:3])
        if colour not in self._locked:
            self.toggle_lock(colour)

    # -- the K curve ----------------------------------------------------------------------------

    def _continue_curve(self) -> None:
        """Estimate the curve's missing points for the image and settings shown, in the background
        (a new run cancels it; the next measured result resumes it where it stopped)."""
        opened, outcome = self._opened, self._outcome
        if opened is None or outcome is None or self.worker.busy:
            return
        params, fmt = outcome.params, self.stats.fmt
        key = (opened.decoded_at, str(opened.loaded.path), params.color_space, params.init, params.seed,
               params.dither, params.alpha, params._matte_used(), fmt)  # (locks aside: it is unlocked k-means)
        if key != self._curve_key:
            self._curve_key = key
            self.curver.cancel()  # (what it still reports belongs to the old curve and is dropped)
            self.k_curve.clear()
        elif self.curver.busy:
            return
        have = {p.k for p in self.k_curve.points}
        missing = [k for k in CURVE_KS if k not in have]
        if missing:
            self.curver.submit(lambda token: curve_points(opened, params, fmt, missing, token),
                               on_progress=self.k_curve.add_point,
                               on_failed=lambda error: self.k_curve.clear(f"No curve: {error}"))

    def _curve_clicked(self, k: int) -> None:
        """A K chosen on the curve: the user's own (Auto K goes off)."""
        if self._opened is None:
            return
        self.controls.set_auto(False)
        self.controls.k_slider.setValue(k)
        self.requantize()

    # -- exporting ------------------------------------------------------------------------------

    def export_to(self, path: str, fmt: str, dithered: bool, overwrite: bool = False) -> None:
        """Save the current result to ``path`` on the export worker: ``exported`` or ``export_failed``
        follows.  An existing file is replaced only with ``overwrite`` (else the message bar offers it)."""
        opened, outcome = self._opened, self._outcome
        if opened is None or outcome is None:
            return
        self.stats.set_format(fmt)
        self.exporter.submit(lambda _token: export(path, opened, outcome, fmt, dithered, overwrite),
                             on_done=self.exported.emit,
                             on_failed=lambda error: self._export_refused(error, path, fmt, dithered))

    def _export_refused(self, error: KMeansImageError, path: str, fmt: str, dithered: bool) -> None:
        action = None
        if isinstance(error, OutputExistsError):
            action = ("Overwrite", lambda: self.export_to(path, fmt, dithered, overwrite=True))
        self.message_bar.show_message(f"Not saved: {error}", error=True, details=error.details, action=action)
        self.export_failed.emit(str(error))

    # -- highlight ------------------------------------------------------------------------------

    @Slot(int)
    def _highlight(self, entry: int) -> None:
        outcome = self._outcome
        if entry < 0 or outcome is None or entry >= len(outcome.palette) or self.worker.busy:
            self.canvas.set_highlight(None)  # (while k-means runs the swatches are not the result's)
            return
        h, w = outcome.result.shape
        step = max(1, math.ceil(max(h, w) / PREVIEW_SIDE))
        dithered = outcome.dithered
        small = outcome.result.labels_every(step) if dithered is None else dithered[::step, ::step]
        self.canvas.set_highlight(shade_qimage(small == entry))
        count = int(outcome.result.counts[entry]) if dithered is None else int(np.count_nonzero(dithered == entry))
        self.status.emit(f"Highlighting {hex_color(outcome.palette[entry])}: {count:,} pixels "
                         f"({count / (h * w) * 100:.1f}% of the image)")

    # -- shutdown -------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop and join the worker threads, and end the child process kept for sizes (safe to call
        more than once)."""
        self._space.detach()
        self._debounce.stop()
        self._measure_timer.stop()
        self._sizes_timer.stop()
        for worker in (self.worker, self.measurer, self.exporter, self.sizer, self.curver):
            worker.stop()
        end_spare()


def _done_words(outcome: Outcome) -> str:
    result = outcome.result
    return f"{len(result.palette)} colours · {result.n_iter} passes · {outcome.seconds:.2f} s"
