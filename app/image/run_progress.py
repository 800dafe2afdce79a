"""How a k-means run's progress reaches the widgets: the bar and the palette, paced.

Every iteration arrives (``iteration``); nothing is drawn before the run has lasted
``FIRST_PROGRESS_MS`` (a shorter run is over before the eye could follow it), then the newest one at
most every ``PROGRESS_MS`` on the bar and every ``PALETTE_PROGRESS_MS`` in the palette: each call
into Qt waits for the GIL while k-means runs, and k-means for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from app.image.controls import ColourControls
from app.image.jobs import IterationUpdate
from app.image.palette_view import PaletteView

FIRST_PROGRESS_MS = 300
PROGRESS_MS = 50  # the bar follows k-means at most 20 times a second ...
PALETTE_PROGRESS_MS = 150  # ... and the palette about 7 times (each swatch is a few calls into Qt)


class RunProgress(QObject):
    """Paces a run's iterations onto ``controls``' bar and ``palette_view``; ``seconds()`` is how
    long the run has lasted, ``running()`` whether one still does."""

    def __init__(self, controls: ColourControls, palette_view: PaletteView, seconds: Callable[[], float],
                 running: Callable[[], bool], parent: QObject | None = None):
        super().__init__(parent)
        self._controls, self._palette_view = controls, palette_view
        self._seconds, self._running = seconds, running
        self._latest: IterationUpdate | None = None  # progress not shown yet
        self._palette_shown = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._show_latest)

    def started(self) -> None:
        """A run has started: its first progress is drawn after FIRST_PROGRESS_MS."""
        self._latest = None
        self._timer.start(FIRST_PROGRESS_MS)

    def iteration(self, update: IterationUpdate) -> None:
        """Every iteration arrives here; the newest is drawn when the pace allows."""
        self._latest = update
        if not self._timer.isActive():
            self._show_latest()

    def ended(self) -> None:
        self._latest = None
        self._timer.stop()

    def _show_latest(self) -> None:
        update, self._latest = self._latest, None
        if update is None or not self._running():
            return
        p = update.progress
        # The fill moves a step at each of quantize's runs (starts, histograms, all colours): honest,
        # as nobody knows beforehand how many passes the last one takes.
        self._controls.show_fraction(p.run - 1, p.runs,
                                     f"finding {len(p.palette)} colours… pass {p.iteration} · {self._seconds():.1f} s")
        now = time.perf_counter()
        if now - self._palette_shown >= PALETTE_PROGRESS_MS / 1000:
            self._palette_shown = now
            self._palette_view.show_palette(p.palette, p.shares, in_view=True)
        self._timer.start(PROGRESS_MS)
