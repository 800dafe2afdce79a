"""The image tab: the canvas and the side panel, rendering an ``ImageState``, and the jobs behind them.

Flow: ``open_path`` sends decoding to the worker; when the image arrives it is shown and
quantized.  Changing K or an option restarts quantization after a short debounce, so dragging
the slider never queues work; the running job stops at its next iteration.  Every iteration
updates the palette view, and about five times a second a live frame of the image.  A finished
result is shown, then measured in the background (``Measures``), so the next K is never kept
waiting by an encoder.  Exports run on a worker of their own.  With Auto K on, a run is a search
for the K that meets the target (``jobs.choose_k``), shown as any result is.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from app.image.canvas import ImageCanvas
from app.image.frame_bar import FrameBar
from app.image.jobs import (
    Exported,
    IterationUpdate,
    Measurement,
    OpenedImage,
    Outcome,
    Preview,
    Trying,
    choose_k,
    export,
    open_image,
    preview_quantize,
    run_quantize,
)
from app.image.locking import Locking
from app.image.measures import Measures
from app.image.message_bar import MessageBar
from app.image.original_key import SpaceShowsOriginal
from app.image.run_progress import RunProgress
from app.image.side_panel import SidePanel
from app.image.state import ImageState, Running
from app.qimage import PREVIEW_SIDE, shade_qimage
from app.side_scroll import SideScroll
from app.worker import Worker
from kmeans.defaults import DEFAULT_MAX_PIXELS
from kmeans.encode_apart import end_spare
from kmeans.errors import ImageTooLargeError, KMeansImageError, OutputExistsError
from kmeans.options import Options
from kmeans.palettefile import hex_color
from kmeans.pipeline import same_palettes
from kmeans.wording import display_name

DEBOUNCE_MS = 150
SAVING_NOTE_AFTER_MS = 400  # an export still running after this is offered a Stop (a large WebP takes seconds)
MIN_QUICK_SIDE = 256  # the smallest first picture of a large image's result, whatever the zoom


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
    progressed = Signal(IterationUpdate)  # one k-means iteration of the running job
    previewed = Signal(Preview)  # a quick palette while the K slider is dragged
    quantized = Signal(Outcome)
    cancelled = Signal()  # a run (or an open) was stopped; the last result stays
    failed = Signal(str)  # a run failed; the last result stays
    measured = Signal(Measurement)
    too_large = Signal(TooLarge)  # the window asks what to do
    exported = Signal(Exported)
    export_failed = Signal(str)  # the message
    status = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = ImageState()
        self.worker = Worker("quantizeWorker", self)
        self.exporter = Worker("exportWorker", self)
        self._saving: tuple[threading.Event, str] | None = None  # the export under way: its stop, its note
        self.max_pixels: int | None = DEFAULT_MAX_PIXELS  # larger images are asked about first
        self._open_notice = ""
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.requantize)
        self._build()
        self.measures = Measures(self, self.state, self.stats, self.canvas, self.k_curve)
        self.measures.measured.connect(self.measured)
        self.progress = RunProgress(self.controls, self.palette_view, self._seconds,
                                    lambda: isinstance(self.state.work, Running), self)
        self.locking = Locking(self.state, self.controls, self.palette_view, self.pick_button, self.unlock_button,
                               self.schedule, self)
        self.locking.status.connect(self.status)
        self.canvas.picked.connect(self.locking.picked)
        self.worker.busy_changed.connect(self.controls.cancel_button.setEnabled)
        self._space = SpaceShowsOriginal(self, self.canvas)  # wherever focus is in this tab

    def _build(self) -> None:
        self.canvas = ImageCanvas()
        self.message_bar = MessageBar()
        self.side = SidePanel()
        side = self.side
        self.controls, self.palette_view, self.stats = side.controls, side.palette_view, side.stats
        self.k_curve, self.side_tabs = side.k_curve, side.side_tabs
        self.pick_button, self.unlock_button = side.pick_button, side.unlock_button
        self.controls.changed.connect(self.schedule)
        self.controls.k_slider.sliderReleased.connect(self.requantize)
        self.controls.cancel_button.clicked.connect(self.cancel)
        self.palette_view.entry_selected.connect(self._highlight)
        self.stats.format_changed.connect(self._format_changed)
        self.stats.matte_changed.connect(self._format_changed)
        self.k_curve.k_clicked.connect(self._curve_clicked)
        self.pick_button.toggled.connect(self.canvas.set_picking)
        left = QVBoxLayout()
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(self.message_bar)
        left.addWidget(self.canvas, 1)
        self.frame_bar = FrameBar()  # (shown for an animation)
        self.frame_bar.frame_changed.connect(self._frame_changed)
        left.addWidget(self.frame_bar)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(10)
        layout.addLayout(left, 1)
        # On a laptop screen the window is shorter than the panel's rows: they scroll instead of
        # overlapping or holding the window tall.
        layout.addWidget(SideScroll(side, "sideScroll"))

    # -- state ----------------------------------------------------------------------------------

    @property
    def opened(self) -> OpenedImage | None:
        return self.state.opened

    @property
    def outcome(self) -> Outcome | None:
        """The last finished result (kept when a run is cancelled or fails)."""
        return self.state.outcome

    @property
    def measurement(self) -> Measurement | None:
        return self.state.measured.measurement

    @property
    def submissions(self) -> int:
        return self.state.submissions

    def options(self) -> Options:
        """What the next run takes: the controls' K (or Auto K's target) and settings, the chosen
        format and matte, and the locked colours."""
        return self.state.options(self.controls.options(Options(format=self.stats.fmt, matte=self.stats.matte)))

    def set_options(self, options: Options) -> None:
        """Set the controls (without starting a run by itself)."""
        self.controls.set_options(options)

    # -- opening --------------------------------------------------------------------------------

    def open_path(self, path: str | Path, notice: str = "", *, allow_large: bool = False) -> None:
        """Decode ``path`` off the GUI thread; the current image stays until it has arrived.

        ``notice`` is shown with the image's own notices once it has opened.  Images over
        ``max_pixels`` raise ``too_large`` instead, unless ``allow_large``.
        """
        path = str(path)
        max_pixels = None if allow_large else self.max_pixels
        self._open_notice = notice
        self.state.open(path)
        self._debounce.stop()
        self.measures.stop(curve=True)
        self.controls.show_busy(f"opening {display_name(path)}…")
        self.worker.submit(lambda token: open_image(path, max_pixels, token), on_done=self._image_arrived,
                           on_failed=lambda error: self._open_refused(path, error),
                           on_cancelled=self._open_cancelled)

    def _image_arrived(self, opened: OpenedImage) -> None:
        self.state.image_arrived(opened)
        self.canvas.set_original(opened.original, opened.original_preview, opened.loaded.frames)
        self.frame_bar.set_animation(opened.loaded.animation)
        self.k_curve.clear()  # (the last image's curve is not this one's: "working out" until it is)
        self.palette_view.show_palette(np.zeros((0, 3), np.uint8), np.zeros(0))
        self.palette_view.clear_selection()
        self.stats.show_image(opened)
        self.stats.show_matte_choice(opened.view_key(self.options())[0] != "partial")
        notices = " ".join(n for n in (self._open_notice, *opened.loaded.notices) if n)
        self._open_notice = ""
        if notices:
            self.message_bar.show_message(notices)
        else:
            self.message_bar.hide()
        self.image_opened.emit(str(opened.loaded.path))
        self.requantize()

    @Slot(int)
    def _frame_changed(self, index: int) -> None:
        """Another frame of the animation: the canvas and the statistics follow it, and the palette
        view when each frame has its own palette."""
        self.canvas.set_frame(index)
        self.stats.show_frame(index)
        outcome = self.state.outcome
        if outcome is not None and outcome.result.frames is not None and not self.state.busy:
            self.palette_view.clear_selection()  # (another frame's entries)
            self._show_palette(outcome)

    def _show_palette(self, outcome: Outcome) -> None:
        """The palette of the shown frame (the whole palette when the frames share it)."""
        palette, counts, _ = outcome.result.of_frame(self.frame_bar.frame)
        self.palette_view.show_palette(palette, counts / max(int(counts.sum()), 1))

    def shown_palette(self) -> tuple[np.ndarray, np.ndarray | None, str] | None:
        """The palette of what is shown, which of its entries are locked, and whose it is in words
        ("" or ", frame 3's": each frame has its own); None without a result."""
        outcome = self.state.outcome
        if outcome is None:
            return None
        palette, _, _ = outcome.result.of_frame(self.frame_bar.frame)
        which = "" if outcome.result.frames is None else f", frame {self.frame_bar.frame + 1}'s"
        return palette, outcome.result.locked, which

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
        self.state.stopped()
        wanted = self.options()
        self._restore_idle()
        self._restore_last_result()
        outcome = self.state.outcome
        if self.state.opened is not None and (outcome is None or outcome.options != wanted):
            self.controls.set_options(wanted)
            self.requantize()

    # -- quantizing -----------------------------------------------------------------------------

    @Slot()
    def schedule(self) -> None:
        """Quantize again after the debounce interval (restarted by every change); while the K
        slider is held, show quick previews instead, and quantize as soon as it is let go."""
        if self.state.opened is None or self.state.opening:  # (an image being opened is quantized when it arrives)
            return
        if self.controls.k_slider.isSliderDown():
            self._debounce.stop()
            self._preview()
        else:
            self._debounce.start()

    def _preview(self) -> None:
        """A preview for the slider's K; one at a time, the newest K next (never a queue)."""
        opened, options = self.state.opened, self.options()
        if not self.state.preview(options):
            return
        self.measures.stop(curve=True)
        self.stats.show_running(options.k)
        self.controls.show_fraction(0, 1, f"previewing {options.k} colours…")
        self.worker.submit(lambda token: preview_quantize(opened, options, token), on_done=self._preview_arrived,
                           on_failed=self._run_failed, on_cancelled=self._stopped)

    def _preview_arrived(self, preview: Preview) -> None:
        stale = self.state.preview_done()
        self.palette_view.show_palette(preview.palette, preview.shares)
        self.canvas.set_result(preview.frame)
        self.previewed.emit(preview)
        if stale and self.controls.k_slider.isSliderDown():
            self._preview()

    @Slot()
    def requantize(self) -> None:
        """Quantize now with the current options (the running job stops)."""
        self._debounce.stop()
        opened = self.state.opened
        if opened is None or self.state.opening:
            return
        options, previous = self.options(), self.state.outcome
        self.measures.stop(curve=True)  # the curve waits: the result asked for comes first
        self.state.run(options)
        target = options.target
        # The job starts first; the widgets say so while it runs.
        if target is not None:
            self.worker.submit(lambda token: choose_k(opened, options, token),
                               on_done=self._outcome_arrived, on_progress=self._show_trying,
                               on_failed=self._run_failed, on_cancelled=self._stopped)
            self.stats.show_running(None)
            self.controls.show_busy(f"choosing K for {target.words()}…")
        else:
            side = self._quick_side(opened)
            self.worker.submit(lambda token: run_quantize(opened, options, token, previous, preview_side=side),
                               on_done=self._outcome_arrived, on_progress=self._show_progress,
                               on_failed=self._run_failed, on_cancelled=self._stopped)
            self.stats.show_running(options.k)
            self.controls.show_fraction(0, 1, f"finding {options.k} colours…")
            self.progress.started()
        self.k_curve.set_target(target)

    def _quick_side(self, opened: OpenedImage) -> int:
        """How large a result's first picture is: the whole image when it fits in PREVIEW_SIDE,
        else as sharp as the canvas shows it now (a 10 MP picture costs milliseconds to make and
        to draw; the full-size one follows from the measuring)."""
        loaded = opened.loaded
        if max(loaded.width, loaded.height) <= PREVIEW_SIDE:
            return PREVIEW_SIDE
        return max(MIN_QUICK_SIDE, min(PREVIEW_SIDE, self.canvas.detail_side()))

    def _seconds(self) -> float:
        work = self.state.work
        return time.perf_counter() - work.started if isinstance(work, Running) else 0.0

    def _show_trying(self, trying: Trying) -> None:
        self.controls.show_busy(f"choosing K for {trying.target.words()}… K={trying.point.k}: "
                                f"{trying.target.measure(trying.point)} · {self._seconds():.1f} s")

    @Slot()
    def cancel(self) -> None:
        """Stop k-means within one iteration; the last finished result stays."""
        self._debounce.stop()
        self.worker.cancel()

    def _show_progress(self, update: IterationUpdate) -> None:
        if update.frame is not None:
            self.canvas.set_result(update.frame)  # frames come at most every FRAME_INTERVAL already
        self.progress.iteration(update)
        self.progressed.emit(update)

    def _outcome_arrived(self, outcome: Outcome) -> None:
        self.progress.ended()
        self.state.arrived(outcome)
        result = outcome.result
        self.k_curve.set_current(outcome.options.k)
        if outcome.choice is not None:
            self.controls.set_k(outcome.options.k)
            if not outcome.choice.met:  # (when met, the statistics say "Auto K", the reason in a tooltip)
                self.message_bar.show_message(f"Auto K: {outcome.choice.reason}; the closest, "
                                              f"{outcome.options.k} colours, is shown.")
        self.canvas.set_result(outcome.preview)
        self.canvas.repaint()  # the picture first: the palette, bar and statistics follow in this turn
        self.palette_view.clear_selection()  # entries are numbered afresh: a selection would point elsewhere
        self._show_palette(outcome)
        self.controls.show_fraction(1, 1, _done_words(outcome))
        if result.notice:
            self.message_bar.show_message(result.notice)
        self.status.emit(f"{result.colours} colours in {outcome.seconds:.2f} s")
        self.stats.show_outcome(outcome)
        self.quantized.emit(outcome)
        self.measures.after_result()

    def _run_failed(self, error: KMeansImageError) -> None:
        self._stopped_quietly()
        self.message_bar.show_message(f"k-means failed: {error}", error=True, details=error.details)
        self.status.emit(f"k-means failed: {error}")
        self.failed.emit(str(error))

    def _stopped(self) -> None:
        self._stopped_quietly()
        self.status.emit("Stopped; the last finished result is kept.")
        self.cancelled.emit()

    def _stopped_quietly(self) -> None:
        self.state.stopped()
        self._restore_idle()
        self._restore_last_result()

    def _restore_idle(self) -> None:
        """The bar and the controls describe what is shown: the last result, or nothing yet."""
        self.progress.ended()
        outcome = self.state.outcome
        if outcome is not None:
            self.controls.set_options(outcome.options)
            self.controls.show_fraction(1, 1, _done_words(outcome))
        else:
            self.controls.show_idle("no result yet" if self.state.opened else "idle")

    def _restore_last_result(self) -> None:
        state = self.state
        outcome, measured = state.outcome, state.measured
        if outcome is not None:
            self.canvas.set_result(*(measured.pictures or (outcome.preview,)))
            self._show_palette(outcome)
            if measured.measurement is not None and state.opened is not None:
                self.stats.show_outcome(outcome)
                self.stats.show_measurement(measured.measurement, state.opened.loaded.file_size)
            else:
                self.measures.start()  # (shows the outcome too)
        elif state.opened is not None:
            self.canvas.set_result(None)
            self.palette_view.show_palette(np.zeros((0, 3), np.uint8), np.zeros(0))
            self.stats.show_image(state.opened)

    def _format_changed(self) -> None:
        """Another format (or matte): measure again, or -- when it shows this image's transparency
        differently, or an animation's frames may get a palette each in one and not the other --
        quantize for it."""
        state = self.state
        opened, outcome, wanted = state.opened, state.outcome, self.options()
        if opened is None or state.opening:
            self.stats.show_matte_choice(False)
            return
        new_view = opened.view_key(wanted)
        self.stats.show_matte_choice(new_view[0] != "partial")
        by_size = wanted.target is not None and wanted.target.by_size
        if state.running is not None:
            if opened.view_key(state.running) != new_view or by_size or \
                    not same_palettes(opened.loaded, wanted.fmt, state.running.fmt):
                self.requantize()  # the running job works on pixels this format cannot show
        elif outcome is not None and outcome.view.prepared.key == new_view and not by_size and \
                same_palettes(opened.loaded, wanted.fmt, outcome.options.fmt):
            self.measures.start()
        else:
            self.requantize()

    def hideEvent(self, event: QHideEvent) -> None:
        self.measures.hidden()
        super().hideEvent(event)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.measures.shown()

    # -- the curve ------------------------------------------------------------------------------

    def _curve_clicked(self, k: int) -> None:
        """A K chosen on the curve: the user's own (Auto K goes off)."""
        if self.state.opened is None:
            return
        self.controls.set_auto(False)
        self.controls.k_slider.setValue(k)
        self.requantize()

    # -- exporting ------------------------------------------------------------------------------

    def export_to(self, path: str, fmt: str, dithered: bool | int, overwrite: bool = False) -> None:
        """Save the current result to ``path`` dithered at level ``dithered`` (percent; True: the
        window's level) on the export worker: ``exported`` or ``export_failed`` follows.  An existing
        file is replaced only with ``overwrite`` (else the message bar offers it)."""
        opened, outcome = self.state.opened, self.state.outcome
        if opened is None or outcome is None:
            return
        if isinstance(dithered, bool):
            dithered = (outcome.options.dither or self.controls.dither_spin.value()) if dithered else 0
        self.stats.set_format(fmt)
        # Only the Stop the user is offered stops an export: a second export, or closing the window,
        # lets it finish (the file asked for is written), so the job ignores the worker's own token.
        stop = threading.Event()
        self._saving = (stop, f"Saving {display_name(path)}…")
        self.exporter.submit(lambda _token: export(path, opened, outcome, fmt, dithered, overwrite, cancel=stop),
                             on_done=lambda done: self._export_done(done, stop),
                             on_failed=lambda error: self._export_refused(error, path, fmt, dithered, stop),
                             on_cancelled=lambda: self._export_stopped(path, stop))
        QTimer.singleShot(SAVING_NOTE_AFTER_MS, lambda: self._offer_stop(stop))

    def stop_saving(self) -> None:
        """Stop the export under way, if any (as its Stop button does): nothing is written."""
        if self._saving is not None:
            self._saving[0].set()

    def _offer_stop(self, stop: threading.Event) -> None:
        if self._saving is not None and self._saving[0] is stop and not stop.is_set():
            self.message_bar.show_message(self._saving[1], action=("Stop", stop.set))

    def _export_over(self, stop: threading.Event) -> None:
        """The export of ``stop`` has ended: its saving note goes (the status bar says how it ended)."""
        if self._saving is not None and self._saving[0] is stop:
            if self.message_bar.text == self._saving[1]:
                self.message_bar.hide()
            self._saving = None

    def _export_done(self, done: Exported, stop: threading.Event) -> None:
        self._export_over(stop)
        self.exported.emit(done)

    def _export_stopped(self, path: str, stop: threading.Event) -> None:
        self._export_over(stop)
        if stop.is_set():  # (else a newer export took its place, and it finished unannounced)
            message = f"you stopped saving {display_name(path)}; nothing was written"
            self.message_bar.show_message(f"Not saved: {message}.")
            self.export_failed.emit(message)

    def _export_refused(self, error: KMeansImageError, path: str, fmt: str, dithered: int,
                        stop: threading.Event) -> None:
        self._export_over(stop)
        action = None
        if isinstance(error, OutputExistsError):
            action = ("Overwrite", lambda: self.export_to(path, fmt, dithered, overwrite=True))
        self.message_bar.show_message(f"Not saved: {error}", error=True, details=error.details, action=action)
        self.export_failed.emit(str(error))

    # -- highlight ------------------------------------------------------------------------------

    @Slot(int)
    def _highlight(self, entry: int) -> None:
        outcome = self.state.outcome
        if outcome is None or self.state.busy:
            self.canvas.set_highlight(None)  # (while k-means runs the swatches are not the result's)
            return
        result = outcome.result
        palette, _, first = result.of_frame(self.frame_bar.frame)
        if not 0 <= entry < len(palette):
            self.canvas.set_highlight(None)
            return
        entry += first  # (a palette per frame: the shown frame's part of the whole)
        h, w = result.shape
        frames = self.state.opened.loaded.frames if self.state.opened is not None else 1
        step = max(1, math.ceil(max(h, w) / (PREVIEW_SIDE * frames)))  # (an animation: per frame)
        dithered = outcome.dithered
        small = result.labels_every(step) if dithered is None else dithered[::step, ::step]
        self.canvas.set_highlight(shade_qimage(small == entry))
        count = int(result.counts[entry]) if dithered is None else int(np.count_nonzero(dithered == entry))
        whole, of = (h * w, "the image") if result.frames is None else (h * w // frames, "this frame")
        self.status.emit(f"Highlighting {hex_color(outcome.palette[entry])}: {count:,} pixels "
                         f"({count / whole * 100:.1f}% of {of})")

    # -- shutdown -------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop and join the worker threads, and end the child process kept for sizes (safe to call
        more than once)."""
        self._space.detach()
        self._debounce.stop()
        self.progress.ended()
        self.measures.shutdown()
        for worker in (self.worker, self.exporter):
            worker.stop()
        end_spare()


def _done_words(outcome: Outcome) -> str:
    result = outcome.result
    per_frame = " per frame" if result.frames is not None else ""
    return f"{result.colours} colours{per_frame} · {result.n_iter} passes · {outcome.seconds:.2f} s"
