"""What follows a result in the background: its statistics, its size in every format, the K curve.

``Measures`` owns the three background workers (``measureWorker``, ``formatSizeWorker``,
``curveWorker``) and their timers.  After a result is shown it measures it (the full-size image,
PSNR and ΔE, the exact export size) once the canvas has painted; once K has rested a second, the
size in every format and the curve's missing points.  A new run stops all of it (the curve resumes
where it stopped).  Behind another tab nobody sees any of it, so it waits until the tab is shown.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from app.image.canvas import ImageCanvas
from app.image.jobs import FormatSize, Measurement, Measuring, curve_points, format_sizes, measure
from app.image.k_curve import KCurve
from app.image.state import ImageState
from app.image.stats_panel import StatsPanel
from app.worker import Worker
from kmeans.autok import CURVE_KS, Point
from kmeans.defaults import FORMATS
from kmeans.errors import KMeansImageError
from kmeans.options import Options
from kmeans.pipeline import prepared_key

SIZES_AFTER_MS = 1000  # a result's size in every format, and the K curve, are worked out once K has rested this long


class Measures(QObject):
    """The background work on the shown result (see the module)."""

    measured = Signal(Measurement)

    def __init__(self, tab: QWidget, state: ImageState, stats: StatsPanel, canvas: ImageCanvas, k_curve: KCurve):
        super().__init__(tab)
        self._tab, self._state, self._stats, self._canvas, self._curve = tab, state, stats, canvas, k_curve
        self.measurer = Worker("measureWorker", self, background=True)
        self.sizer = Worker("formatSizeWorker", self, background=True)
        self.curver = Worker("curveWorker", self, background=True)
        self._curve_key: tuple | None = None  # what the points on the K curve were estimated for
        self._when_shown = False  # something waited while the tab was hidden
        # A result's statistics start once the event loop has had its turn: the canvas paints the
        # result first, without the measuring thread taking the GIL from it.
        self._measure_timer = QTimer(self)
        self._measure_timer.setSingleShot(True)
        self._measure_timer.setInterval(0)
        self._measure_timer.timeout.connect(self._submit)
        self._sizes_timer = QTimer(self)
        self._sizes_timer.setSingleShot(True)
        self._sizes_timer.setInterval(SIZES_AFTER_MS)
        self._sizes_timer.timeout.connect(self._formats_and_curve)

    @property
    def busy(self) -> bool:
        return any(w.busy for w in (self.measurer, self.sizer, self.curver)) or self._measure_timer.isActive() \
            or self._sizes_timer.isActive()

    def after_result(self) -> None:
        """A result has just been shown: measure it once the canvas has painted it."""
        self._measure_timer.start()

    def start(self) -> None:
        """Show the result's statistics and measure what is not known of it yet."""
        state = self._state
        if state.opened is not None and state.outcome is not None:
            self._stats.show_outcome(state.outcome)
            self._submit()

    def stop(self, *, curve: bool = False) -> None:
        """Stop measuring (a run is starting); with ``curve`` the curve waits too."""
        self._measure_timer.stop()
        self._sizes_timer.stop()
        self.measurer.cancel()
        self.sizer.cancel()
        if curve:
            self.curver.cancel()  # (it resumes where it stopped)

    def hidden(self) -> None:
        """The tab went out of sight: what runs stops, and starts again when it is shown."""
        # A low-priority thread that holds the GIL between numpy calls would keep the Learn tab's
        # GUI thread waiting for nothing anybody sees.
        if self.busy:
            self._when_shown = True
            self.stop(curve=True)

    def shown(self) -> None:
        """The tab is in sight again: what waited goes on (a result on its way is measured when it arrives)."""
        if not self._when_shown:
            return
        self._when_shown = False
        if self._state.busy:
            return
        if self._state.measured.measurement is None:
            self.start()
        else:
            self._sizes_timer.start()

    def shutdown(self) -> None:
        self._measure_timer.stop()
        self._sizes_timer.stop()
        for worker in (self.measurer, self.sizer, self.curver):
            worker.stop()

    def _waits_for_show(self) -> bool:
        if self._tab.isVisible():
            return False
        self._when_shown = True
        return True

    def _submit(self) -> None:
        state, fmt = self._state, self._stats.fmt
        opened, outcome = state.opened, state.outcome
        if opened is None or outcome is None or self._waits_for_show():
            return
        images = state.measured.pictures is None  # (made once per result, not again for another format)
        known, known_size = state.measured.quality, self._stats.sizes.get(fmt)  # (sizes are the shown result's)
        self.measurer.submit(lambda token: measure(opened, outcome, fmt, token, images=images, known=known,
                                                   known_size=known_size),
                             on_progress=self._show_measuring, on_done=self._show_measurement,
                             on_failed=lambda error: self._stats.show_measure_failed(str(error)))

    def _show_measuring(self, found: Measuring) -> None:
        if found.image is not None and found.preview is not None:
            self._state.measured_pictures((found.image, found.preview))
            self._canvas.set_result(found.image, found.preview)
        if found.quality is not None:
            self._state.measured_quality(found.quality)
            self._stats.show_quality(found.quality)

    def _show_measurement(self, measurement: Measurement) -> None:
        opened = self._state.opened
        if opened is None:
            return
        self._state.measured_all(measurement)
        self._stats.show_measurement(measurement, opened.loaded.file_size)
        self.measured.emit(measurement)
        self._sizes_timer.start()  # (and the curve, once K has rested)

    def _formats_and_curve(self) -> None:
        if self._waits_for_show():
            return
        self._continue_curve()
        state = self._state
        opened, outcome = state.opened, state.outcome
        if opened is None or outcome is None or state.busy:
            return
        missing = [fmt for fmt in FORMATS if fmt not in self._stats.sizes]
        if missing:
            self.sizer.submit(lambda token: format_sizes(opened, outcome, missing, token),
                              on_progress=self._show_format_size)

    def _show_format_size(self, found: FormatSize) -> None:
        self._stats.show_format_size(found.fmt, found.size)

    def _continue_curve(self) -> None:
        """Estimate the curve's missing points for the image and settings shown, in the background
        (a new run cancels it; the next measured result resumes it where it stopped)."""
        state = self._state
        opened, outcome = state.opened, state.outcome
        if opened is None or outcome is None or state.busy:
            return
        options = outcome.options
        fmt = self._stats.fmt
        # (locks aside: the curve is unlocked k-means)
        key = (opened.decoded_at, str(opened.loaded.path), options.color_space, options.init, options.seed,
               options.dither, prepared_key(opened.loaded, fmt, options.matte), fmt)
        if key != self._curve_key:
            self._curve_key = key
            self.curver.cancel()  # (what it still reports belongs to the old curve and is dropped)
            self._curve.clear()
        elif self.curver.busy:
            return
        have = {p.k for p in self._curve.points}
        missing = [k for k in CURVE_KS if k not in have]
        if missing:
            curve_options = Options(format=fmt, matte=options.matte, color_space=options.color_space,
                                    init=options.init, seed=options.seed, dither=options.dither)
            self.curver.submit(lambda token: curve_points(opened, curve_options, missing, token),
                               on_progress=self._add_point, on_failed=self._curve_failed)

    def _add_point(self, point: Point) -> None:
        self._curve.add_point(point)

    def _curve_failed(self, error: KMeansImageError) -> None:
        self._curve.clear(f"No curve: {error}")
