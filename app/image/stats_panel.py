"""The statistics panel: numbers about the original and the result, with the exact export size.

Quality (PSNR, ΔE) and the exact size arrive after the result, from the measuring worker; until
then the rows say so.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLabel, QWidget

from app.image.jobs import Measurement, OpenedImage, Outcome
from kmeans.defaults import FORMATS
from kmeans.metrics import Quality
from kmeans.wording import FORMAT_LABELS, file_size, size_change


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
        self._set("original", f"{loaded.width} × {loaded.height}, {file_size(loaded.file_size)}")
        self._set("distinct", f"{opened.table.n_colors:,}")
        for key in ("palette", "iterations", "time", "psnr", "delta_e", "bpp", "export"):
            self._set(key, "–")
        self._warning.hide()

    def show_running(self, k: int) -> None:
        """K colours are being found: the last result's numbers would be stale, so they go."""
        self._set("palette", f"{k} colours (running…)")
        for key in ("iterations", "time", "psnr", "delta_e", "bpp", "export"):
            self._set(key, "…")
        self._warning.hide()

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
        self._set("export", f"{file_size(measurement.size)} ({size_change(original_size, measurement.size)})")
        if measurement.size > original_size:
            self._warning.setText(f"The {measurement.fmt.upper()} export would be larger than the original "
                                  f"({file_size(original_size)}). Try fewer colours or another format.")
            self._warning.show()
        else:
            self._warning.hide()

    def show_measure_failed(self, message: str) -> None:
        self._set("export", f"could not encode: {message}")
