"""The statistics panel: numbers about the original and the result, with the exact export size.

Quality (PSNR, ΔE) and the exact size arrive after the result, from the measuring worker; until
then the rows say so.  The exact size in every format follows a little later (the smallest is
marked), and when the chosen format would be larger than the original, a button switches to the
smallest one.  For an image with transparency bound for GIF or BMP, the matte colour is chosen here.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QColorDialog, QComboBox, QFormLayout, QGroupBox, QLabel, QPushButton, QWidget

from app.image.jobs import Measurement, OpenedImage, Outcome
from kmeans.defaults import DEFAULT_MATTE, FORMATS, Matte
from kmeans.metrics import Quality
from kmeans.wording import FORMAT_LABELS, FORMAT_NAMES, file_size, size_change


class StatsPanel(QGroupBox):
    """Numbers about the original and the result, including the exact export size."""

    format_changed = Signal(str)
    matte_changed = Signal()

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
            ("delta_e", "ΔE (CIEDE2000)"), ("frame", "This frame"), ("bpp", "Bits per pixel"),
        ]
        for key, label in rows:
            value = QLabel("–")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setAccessibleName(label)
            self._values[key] = value
            form.addRow(label, value)
        self._form = form
        self._frame_psnr: tuple[float, ...] = ()
        self._frame = 0
        form.setRowVisible(self._values["frame"], False)  # (for an animation)
        self.format_box = QComboBox()
        for fmt in FORMATS:
            self.format_box.addItem(FORMAT_LABELS[fmt], fmt)
        self.format_box.setToolTip("Format whose exact size is shown (and offered first on export)")
        self.format_box.setAccessibleName("Export format for the size estimate")
        self.format_box.currentIndexChanged.connect(lambda: self.format_changed.emit(self.fmt))
        self._values["export"] = QLabel("–")
        self._values["export"].setAccessibleName("Export size")
        self._values["export"].setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._matte: Matte = DEFAULT_MATTE
        self.matte_button = QPushButton()
        self.matte_button.setObjectName("matteButton")
        self.matte_button.setAccessibleName("Background colour for transparency")
        self.matte_button.setToolTip("GIF and BMP cannot keep partial transparency: partly transparent pixels are "
                                     "blended onto this colour. Choose the colour of the page the image goes on.")
        self.matte_button.clicked.connect(self._choose_matte)
        self._show_matte()
        self._values["export"] = QLabel("–")
        self._values["export"].setAccessibleName("Export size")
        self._values["export"].setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._values["formats"] = QLabel("–")
        self._values["formats"].setObjectName("formatSizes")
        self._values["formats"].setAccessibleName("Size in each format")
        self._values["formats"].setWordWrap(True)
        # Two lines kept from the start: the sizes arrive one by one and wrap, and the panel must not
        # grow (and push the palette above it) as they do.
        self._values["formats"].setMinimumHeight(2 * self._values["formats"].fontMetrics().lineSpacing())
        self._values["formats"].setToolTip("The exact size of this result in each format; the smallest is in bold")
        form.addRow("Export as", self.format_box)
        form.addRow("Blend onto", self.matte_button)
        self._matte_label = form.labelForField(self.matte_button)
        self.show_matte_choice(False)
        form.addRow("Export size", self._values["export"])
        form.addRow("Each format", self._values["formats"])
        self._warning = QLabel()
        self._warning.setObjectName("sizeWarning")
        self._warning.setWordWrap(True)
        self._warning.setStyleSheet("color: #b3261e; font-weight: 600;")
        self._warning.hide()
        form.addRow(self._warning)
        self.switch_button = QPushButton()
        self.switch_button.setObjectName("smallerFormatButton")
        self.switch_button.setAccessibleName("Switch to the smallest format")
        self.switch_button.setToolTip("Export in the format whose file is smallest for this result")
        self.switch_button.clicked.connect(lambda: self.set_format(self._smallest() or self.fmt))
        self.switch_button.hide()
        form.addRow(self.switch_button)
        self._sizes: dict[str, int] = {}
        self._original_size = 0

    @property
    def fmt(self) -> str:
        return str(self.format_box.currentData())

    def set_format(self, fmt: str) -> None:
        index = self.format_box.findData(fmt)
        if index >= 0:
            self.format_box.setCurrentIndex(index)

    @property
    def matte(self) -> Matte:
        return self._matte

    def set_matte(self, matte: Matte) -> None:
        if tuple(matte) != self._matte:
            self._matte = (int(matte[0]), int(matte[1]), int(matte[2]))
            self._show_matte()
            self.matte_changed.emit()

    def show_matte_choice(self, needed: bool) -> None:
        """Offer the matte colour only where it matters: transparency bound for GIF or BMP."""
        self.matte_button.setVisible(needed)
        if self._matte_label is not None:
            self._matte_label.setVisible(needed)

    def _choose_matte(self) -> None:
        colour = QColorDialog.getColor(QColor(*self._matte), self, "Background colour for transparency")
        if colour.isValid():
            self.set_matte((colour.red(), colour.green(), colour.blue()))

    def _show_matte(self) -> None:
        swatch = QPixmap(16, 16)
        swatch.fill(QColor(*self._matte))
        self.matte_button.setIcon(QIcon(swatch))
        self.matte_button.setText("#{:02x}{:02x}{:02x}".format(*self._matte))

    @property
    def sizes(self) -> dict[str, int]:
        """The exact sizes known for the shown result, by format."""
        return dict(self._sizes)

    def value(self, key: str) -> str:
        return self._values[key].text()

    def _set(self, key: str, text: str) -> None:
        self._values[key].setText(text)

    def show_image(self, opened: OpenedImage) -> None:
        loaded = opened.loaded
        self._set("image", f"{loaded.name} ({loaded.format})")
        frames = ""
        if loaded.animation is not None:
            frames = f" × {loaded.frames} frames ({loaded.animation.seconds:.1f} s)"
        self._set("original", f"{loaded.width} × {loaded.height}{frames}, {file_size(loaded.file_size)}")
        self._form.setRowVisible(self._values["frame"], loaded.animation is not None)
        self._frame_psnr, self._frame = (), 0
        self._set("distinct", f"{opened.distinct_colors:,}")
        for key in ("palette", "iterations", "time", "psnr", "delta_e", "frame", "bpp", "export", "formats"):
            self._set(key, "–")
        self._original_size = loaded.file_size
        self._clear_sizes()

    def show_running(self, k: int | None) -> None:
        """K colours are being found (None: Auto K is choosing K): the last result's numbers would be
        stale, so they go."""
        self._set("palette", f"{k} colours (running…)" if k is not None else "choosing K…")
        self._frame_psnr = ()
        for key in ("iterations", "time", "psnr", "delta_e", "frame", "bpp", "export", "formats"):
            self._set(key, "…")
        self._clear_sizes()

    def show_outcome(self, outcome: Outcome) -> None:
        result = outcome.result
        entries = result.colours
        asked = outcome.options.k
        self._set("palette", f"{entries} colours" + (" per frame" if result.frames is not None else "")
                  + (f" (asked {asked})" if entries != asked else "")
                  + (" · Auto K" if outcome.choice is not None else ""))
        self._values["palette"].setToolTip(f"Auto K chose {asked}: {outcome.choice.reason}"
                                           if outcome.choice is not None else "")
        converged = "" if result.converged else " (limit)"
        self._set("iterations", f"{result.n_iter}{converged}")
        self._set("time", f"{outcome.seconds:.2f} s")
        self._frame_psnr = ()
        for key in ("psnr", "delta_e", "frame", "bpp"):
            self._set(key, "…")
        self._set("export", "calculating…")
        if not self._sizes:
            self._set("formats", "…")

    def show_quality(self, q: Quality) -> None:
        self._set("psnr", "∞ (identical)" if math.isinf(q.psnr) else f"{q.psnr:.2f} dB")
        self._set("delta_e", f"{q.delta_e:.2f}")

    def show_frame(self, index: int) -> None:
        """The shown frame's PSNR, and the worst frame's (an animation's mean can hide one bad frame)."""
        self._frame = index
        scores = self._frame_psnr
        if not scores:
            return
        worst = min(range(len(scores)), key=scores.__getitem__)
        self._set("frame", f"{index + 1}: {_db(scores[index])} (worst: {worst + 1}, {_db(scores[worst])})")
        self._values["frame"].setToolTip("PSNR of the frame shown, and of the frame that came out worst")

    def show_measurement(self, measurement: Measurement, original_size: int) -> None:
        self.show_quality(measurement.quality)
        if measurement.frame_psnr:
            self._frame_psnr = measurement.frame_psnr
            self.show_frame(self._frame)
        self._original_size = original_size
        self._set("bpp", f"{measurement.bits_per_pixel:.2f}")
        self._set("export", f"{file_size(measurement.size)} ({size_change(original_size, measurement.size)})")
        self.show_format_size(measurement.fmt, measurement.size)

    def show_format_size(self, fmt: str, size: int) -> None:
        """The exact size of the result in ``fmt``; once all are known the smallest is marked."""
        self._sizes[fmt] = size
        parts = []
        smallest = self._smallest()
        for name in FORMATS:
            if name in self._sizes:
                text = f"{FORMAT_NAMES[name]} {file_size(self._sizes[name], exact=False)}"
                parts.append(f"<b>{text}</b>" if name == smallest else text)
        if len(self._sizes) < len(FORMATS):
            parts.append("…")
        self._set("formats", " · ".join(parts))
        self._warn()

    def _smallest(self) -> str | None:
        """The format with the smallest file, once every format's size is known."""
        if len(self._sizes) < len(FORMATS):
            return None
        return min(self._sizes, key=self._sizes.__getitem__)

    def _warn(self) -> None:
        size = self._sizes.get(self.fmt)
        if size is None or size <= self._original_size:
            self._warning.hide()
            self.switch_button.hide()
            return
        self._warning.setText(f"The {FORMAT_NAMES[self.fmt]} export would be larger than the original "
                              f"({file_size(self._original_size)}). Try fewer colours or another format.")
        self._warning.show()
        smallest = self._smallest()
        if smallest is not None and smallest != self.fmt and self._sizes[smallest] < size:
            self.switch_button.setText(f"Use {FORMAT_NAMES[smallest]} instead "
                                       f"({file_size(self._sizes[smallest], exact=False)})")
            self.switch_button.show()
        else:
            self.switch_button.hide()

    def _clear_sizes(self) -> None:
        self._sizes = {}
        self._warning.hide()
        self.switch_button.hide()

    def show_measure_failed(self, message: str) -> None:
        self._set("export", f"could not encode: {message}")


def _db(value: float) -> str:
    return "∞" if math.isinf(value) else f"{value:.1f} dB"
