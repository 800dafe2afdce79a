"""The export dialog: format, dithering, the exact size the file will have, then Save as…

The size shown is the length of the file encoded in memory with the chosen settings, by the same
``encode`` that Export writes with (``export_size``, on the dialog's own worker, never on the GUI thread).
Saving goes through the core's atomic write: a failed save leaves no partial file.  Overwriting is
confirmed by the file dialog itself.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.image.jobs import Measurement, OpenedImage, Outcome, export_size
from app.worker import Worker
from kmeans.defaults import FORMATS, FULL_DITHER
from kmeans.transparency import note
from kmeans.wording import FORMAT_LABELS, size_change


class ExportDialog(QDialog):
    """Choose format and dithering, see the exact size, then pick where to save."""

    export_requested = Signal(str, str, int, bool)  # path, format, dithering level (0 none), overwrite confirmed

    def __init__(self, opened: OpenedImage, outcome: Outcome, fmt: str, folder: str, parent: QWidget | None = None,
                 *, known: Measurement | None = None, note: str = "", level: int = FULL_DITHER):
        """``level``: the dithering level offered when the result is undithered (the window's)."""
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export compressed image")
        self.setAccessibleName("Export compressed image")
        self._opened = opened
        self._outcome = outcome
        self._folder = folder
        self._known = known  # the statistics' exact size, for their format and the result's dithering
        self._sizer = Worker("exportSizeWorker", self)
        self.size_bytes: int | None = None

        self.format_box = QComboBox()
        self.format_box.setObjectName("exportFormatBox")
        for name in FORMATS:
            self.format_box.addItem(FORMAT_LABELS[name], name)
        self.format_box.setCurrentIndex(max(0, self.format_box.findData(fmt)))
        self.format_box.setAccessibleName("Format")
        self.format_box.setToolTip("PNG is indexed at the smallest bit depth that holds the palette")
        self.dither_box = QCheckBox("Dithering")
        self.dither_box.setObjectName("exportDitherBox")
        self.dither_box.setChecked(outcome.options.dither > 0)
        self.dither_box.setAccessibleName("Dithering")
        self.dither_box.setToolTip("Spread the colour error to the neighbours: smoother gradients, usually a "
                                   "larger file")
        self.level_spin = QSpinBox()
        self.level_spin.setObjectName("exportDitherLevel")
        self.level_spin.setAccessibleName("Dithering level, in percent")
        self.level_spin.setRange(1, FULL_DITHER)
        self.level_spin.setSuffix(" %")
        self.level_spin.setValue(outcome.options.dither or min(max(level, 1), FULL_DITHER))
        self.level_spin.setToolTip("How much of the colour error is spread")
        self.level_spin.setEnabled(self.dither_box.isChecked())
        self.dither_box.toggled.connect(self.level_spin.setEnabled)
        self._size = QLabel("calculating…")
        self._size.setObjectName("exportSizeLabel")
        self._size.setAccessibleName("Predicted size")
        self._size.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._folder_note = QLabel(note)
        self._folder_note.setObjectName("exportFolderNote")
        self._folder_note.setWordWrap(True)
        self._folder_note.setVisible(bool(note))
        self._note = QLabel()
        self._note.setWordWrap(True)
        self._note.setStyleSheet("color: #8a5300;")

        form = QFormLayout()
        form.addRow("Format", self.format_box)
        dither_row = QHBoxLayout()
        dither_row.addWidget(self.dither_box)
        dither_row.addWidget(self.level_spin)
        dither_row.addStretch(1)
        form.addRow("", dither_row)
        form.addRow("File size", self._size)
        form.addRow(self._note)
        form.addRow(self._folder_note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Save).setText("Save as…")
        buttons.button(QDialogButtonBox.StandardButton.Save).setToolTip("Choose a file name and save")
        buttons.accepted.connect(self._choose_file)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.format_box.currentIndexChanged.connect(self._settings_changed)
        self.dither_box.toggled.connect(self._settings_changed)
        self.level_spin.valueChanged.connect(self._settings_changed)
        self.finished.connect(lambda _code: self._sizer.stop())
        self._settings_changed()

    @property
    def fmt(self) -> str:
        return str(self.format_box.currentData())

    @property
    def dither(self) -> int:
        """The dithering level to export with, in percent (0: none)."""
        return self.level_spin.value() if self.dither_box.isChecked() else 0

    def _settings_changed(self) -> None:
        self.size_bytes = None
        self._size.setText("calculating…")
        opened, outcome, fmt, dithered = self._opened, self._outcome, self.fmt, self.dither
        self._note.setText(note(opened.pixels, fmt, outcome.options.matte) or "")
        known = self._known
        if known is not None and known.fmt == fmt and dithered == outcome.options.dither:
            self._sizer.cancel()
            self._show_size(known.size)  # the window has encoded exactly this already
            return
        self._sizer.submit(lambda token: export_size(opened, outcome, fmt, dithered, cancel=token, background=False),
                           on_done=self._show_size,
                           on_failed=lambda error: self._size.setText(f"cannot encode: {error}"))

    def _show_size(self, size: int) -> None:
        self.size_bytes = size
        self._size.setText(f"{size:,} bytes ({size_change(self._opened.loaded.file_size, size)} than the original)")

    def suggested_path(self) -> str:
        stem = Path(self._opened.loaded.path).stem
        return str(Path(self._folder) / f"{stem}-k{self._outcome.result.colours}{FORMATS[self.fmt][0]}")

    def _choose_file(self) -> None:
        ext = FORMATS[self.fmt][0]
        path, _ = QFileDialog.getSaveFileName(
            self, "Export compressed image", self.suggested_path(), f"{FORMAT_LABELS[self.fmt]} (*{ext})"
        )
        if not path:
            return
        confirmed = True  # the file dialog asked before returning an existing name
        if Path(path).suffix.lower() != ext:
            path += ext
            confirmed = False  # a name the dialog never saw: never overwrite it
        self.export_requested.emit(path, self.fmt, self.dither, confirmed)
        self.accept()
