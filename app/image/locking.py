"""Locked colours: kept exactly by every run, through K changes and new images, until unlocked.

``Locking`` turns the palette's lock toggles, the eyedropper and Use Palette into the state's
``Locks``, keeps the palette view and Unlock all in step with them, and K at least their number;
after each change ``changed()`` runs (the tab schedules a run).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QPushButton

from app.image.controls import ColourControls
from app.image.palette_view import PaletteView
from app.image.state import RGB, ImageState, Locks
from kmeans.defaults import MAX_K
from kmeans.palettefile import hex_color


class Locking(QObject):
    """The locked colours of the image tab (see the module); ``status`` says what happened."""

    status = Signal(str)

    def __init__(self, state: ImageState, controls: ColourControls, palette_view: PaletteView,
                 pick_button: QPushButton, unlock_button: QPushButton, changed: Callable[[], None],
                 parent: QObject | None = None):
        super().__init__(parent)
        self._state, self._controls, self._palette_view = state, controls, palette_view
        self._pick_button, self._unlock_button, self._changed = pick_button, unlock_button, changed
        palette_view.lock_toggled.connect(self.toggle)
        unlock_button.clicked.connect(self.clear)

    @property
    def colours(self) -> list[RGB]:
        return list(self._state.locks.colours)

    def toggle(self, colour: tuple[int, int, int]) -> None:
        """Lock ``colour`` (every run keeps it exactly, new images too), or unlock it."""
        colour = tuple(int(v) for v in colour)
        unlocking = colour in self._state.locks.colours
        self._state.locks = self._state.locks.toggled(colour)
        words = hex_color(np.array(colour))
        self.status.emit(f"Unlocked {words}" if unlocking else f"Locked {words}: every run keeps it exactly")
        self._apply()

    def lock(self, colours: list[tuple[int, int, int]], *, source: str | None = None, extra: int = 0) -> None:
        """Lock exactly ``colours`` (a palette file's, ``source``: kept first, in that order) and set K
        to their number plus ``extra`` free colours."""
        self._state.locks = Locks(tuple(tuple(int(v) for v in c) for c in colours), source)
        self._controls.set_auto(False)
        self._controls.set_k(min(MAX_K, len(colours) + extra))
        self._apply()

    def clear(self) -> None:
        self._state.locks = Locks()
        self._apply()

    def picked(self, x: int, y: int) -> None:
        """The eyedropper: the original's colour at (x, y) is locked; one pick per click on the button."""
        opened = self._state.opened
        self._pick_button.setChecked(False)
        if opened is None:
            return
        pixel = opened.pixels[y, x]
        if len(pixel) == 4 and pixel[3] == 0:
            self.status.emit("That pixel is transparent: nothing to lock.")
            return
        colour = tuple(int(v) for v in pixel[:3])
        if colour not in self._state.locks.colours:
            self.toggle(colour)

    def _apply(self) -> None:
        colours = self._state.locks.colours
        self._palette_view.set_locked(set(colours))
        self._unlock_button.setEnabled(bool(colours))
        if len(colours) > self._controls.k_slider.value():
            self._controls.set_k(min(MAX_K, len(colours)))
        self._changed()
