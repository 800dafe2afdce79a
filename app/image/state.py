"""What the image tab is doing, as one explicit state (no Qt): what is open, what runs, the result
and what has been measured of it, and the locked colours.

The tab's widgets render this state; its workers' callbacks move it on.  Each change is one method,
so "a run is under way" is never a flag that outlives the run: ``work`` is exactly one of
``Idle``, ``Opening``, ``Running`` or ``Previewing``, replaced when that work ends, and a new
result or image replaces everything measured of the old one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from app.image.jobs import Measurement, OpenedImage, Outcome
from kmeans.metrics import Quality
from kmeans.options import Options
from kmeans.pipeline import minimum_k

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Idle:
    """Nothing runs: the last result (if any) is shown."""


@dataclass(frozen=True)
class Opening:
    """A file is being decoded; the image shown before stays until it arrives."""

    path: str


@dataclass(frozen=True)
class Running:
    """k-means (or Auto K's search, when ``options.target`` is set) runs for ``options``."""

    options: Options
    started: float = field(default_factory=time.perf_counter)


@dataclass(frozen=True)
class Previewing:
    """A quick palette for a K the slider is dragged through; ``stale``: K moved on meanwhile."""

    options: Options
    stale: bool = False


Work = Idle | Opening | Running | Previewing


@dataclass(frozen=True)
class Locks:
    """Colours every run keeps exactly, until unlocked; ``source`` is the palette file they are,
    when they are one (kept first then, in its order, with the free colours besides)."""

    colours: tuple[RGB, ...] = ()
    source: str | None = None

    def toggled(self, colour: RGB) -> Locks:
        """``colour`` locked, or unlocked when it was (no longer a palette file's set either way)."""
        if colour in self.colours:
            return Locks(tuple(c for c in self.colours if c != colour))
        return Locks((*self.colours, colour))


@dataclass(frozen=True)
class Measured:
    """What is known about the shown result: its full-size ``pictures`` (the view's own image type,
    full size and box-filtered), its ``quality``, and the ``measurement`` (quality and exact size
    in the chosen format)."""

    pictures: tuple[Any, Any] | None = None
    quality: Quality | None = None
    measurement: Measurement | None = None


class ImageState:
    """The image tab's state; every change is a method (see the module)."""

    def __init__(self) -> None:
        self.opened: OpenedImage | None = None
        self.outcome: Outcome | None = None
        self.measured = Measured()
        self.work: Work = Idle()
        self.locks = Locks()
        self.submissions = 0  # quantization jobs started (for tests and the benchmark)

    # -- what runs ------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Something runs that the shown result will give way to."""
        return not isinstance(self.work, Idle)

    @property
    def opening(self) -> bool:
        return isinstance(self.work, Opening)

    @property
    def running(self) -> Options | None:
        """The options of the run under way (k-means, Auto K or a preview), or None."""
        return self.work.options if isinstance(self.work, Running | Previewing) else None

    def open(self, path: str) -> None:
        self.work = Opening(path)

    def image_arrived(self, opened: OpenedImage) -> None:
        """A new image: the old one's result and measures are gone."""
        self.opened = opened
        self.work = Idle()
        self.show(None)

    def run(self, options: Options) -> Running:
        self.submissions += 1
        self.work = Running(options)
        return self.work

    def preview(self, options: Options) -> bool:
        """Start a preview, or, while one runs, mark it stale (the newest K follows it): False then."""
        if isinstance(self.work, Previewing):
            self.work = replace(self.work, stale=True)
            return False
        self.work = Previewing(options)
        return True

    def preview_done(self) -> bool:
        """A preview arrived; whether K moved on while it ran."""
        stale = isinstance(self.work, Previewing) and self.work.stale
        self.work = Idle()
        return stale

    def stopped(self) -> None:
        """The work under way was cancelled or failed: the last result stays."""
        self.work = Idle()

    def arrived(self, outcome: Outcome) -> None:
        self.work = Idle()
        self.show(outcome)

    def show(self, outcome: Outcome | None) -> None:
        """A new result (or none): what was measured belongs to the old one."""
        self.outcome = outcome
        self.measured = Measured()

    # -- what is measured -------------------------------------------------------------------------

    def measured_pictures(self, pictures: tuple[Any, Any]) -> None:
        self.measured = replace(self.measured, pictures=pictures)

    def measured_quality(self, quality: Quality) -> None:
        self.measured = replace(self.measured, quality=quality)

    def measured_all(self, measurement: Measurement) -> None:
        self.measured = replace(self.measured, measurement=measurement)

    # -- the options a run takes ------------------------------------------------------------------

    def options(self, chosen: Options) -> Options:
        """``chosen`` (the controls' K or target, settings, format and matte) with the locked colours:
        a palette file's in its order with a fixed K, else as fixed colours, K raised to hold them
        (and the transparent entry, for an image that has one)."""
        locks = self.locks
        if not locks.colours:
            return chosen
        if locks.source is not None and chosen.target is None:
            return replace(chosen, k=max(chosen.k, len(locks.colours)), palette=locks.colours,
                           palette_source=locks.source)
        options = replace(chosen, fixed=locks.colours, k=max(chosen.k, len(set(locks.colours))))
        if self.opened is not None:
            options = replace(options, k=max(options.k, minimum_k(options, self.opened.table)))
        return options
