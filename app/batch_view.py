"""The batch view: many files compressed with the image tab's settings, in worker processes.

``BatchView`` lists the files (one row each, with the name each will get), takes an output folder
(made when missing), a naming pattern, skip-if-larger and a shared palette, and on Start asks once
about files that already exist and runs the batch
(``kmeans.batch.run_as_done``, as ``kmeans-compress --jobs`` does: each file in a process of its own, at
most one per core at once) on a worker thread, filling each row as its file finishes.  Cancel lets
the files already in the workers finish (each is written whole or not at all) and starts no more.
"""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.worker import Token, Worker
from kmeans.batch import FileResult, Job, expand, plan, run_as_done
from kmeans.defaults import DEFAULT_NAME, FULL_DITHER
from kmeans.options import Options, UsageError, name_problem
from kmeans.wording import COLOR_SPACE_LABELS, FORMAT_NAMES, display_name, file_size

COLUMNS = ("File", "Result", "K", "ΔE", "Before", "After", "Saved")


class BatchView(QDialog):
    """Compress many files; object names ``batchView`` and ``batchTable``."""

    finished_batch = Signal(int, int)  # files done, files failed

    def __init__(self, paths: list[str], options: Options, out_dir: str, parent: QWidget | None = None):
        """``options`` are what every file gets (the image tab's)."""
        super().__init__(parent)
        self.setObjectName("batchView")
        self.setWindowTitle(f"Compress {len(paths)} files")
        self.setWindowModality(Qt.WindowModality.NonModal)  # the image tab stays usable
        self.resize(760, 460)
        self.paths = [str(p) for p in paths]
        self.options = options
        self.worker = Worker("batchWorker", self)
        self._stop = threading.Event()  # Cancel: start no more files (the ones in the workers finish)
        self._done = self._failed = 0
        self._build(out_dir)

    def _build(self, out_dir: str) -> None:
        self.summary = QLabel(f"{len(self.paths)} files · {summary(self.options)}")
        self.summary.setWordWrap(True)
        self.folder_edit = QLineEdit(out_dir)
        self.folder_edit.setObjectName("batchFolder")
        self.folder_edit.setAccessibleName("Output folder")
        self.folder_edit.setToolTip("Where the compressed files go (made when missing)")
        self.browse_button = QPushButton("Choose…")
        self.browse_button.setAccessibleName("Choose the output folder")
        self.browse_button.setToolTip("Choose the output folder")
        self.browse_button.clicked.connect(self._choose_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(self.browse_button)
        self.name_edit = QLineEdit(DEFAULT_NAME)
        self.name_edit.setObjectName("batchNaming")
        self.name_edit.setAccessibleName("Naming pattern")
        self.name_edit.setToolTip("{name}: the file's name without its suffix, {k}: the number of colours, "
                                  "{ext}: the format's suffix")
        self.skip_box = QCheckBox("Skip files that would not get smaller")
        self.skip_box.setObjectName("batchSkipLarger")
        self.skip_box.setAccessibleName("Skip outputs that would not be smaller")
        self.skip_box.setToolTip("Write an output only when it is smaller than its input")
        self.shared_box = QCheckBox("One palette for all the files (the same colours, in the same order)")
        self.shared_box.setObjectName("batchSharedPalette")
        self.shared_box.setAccessibleName("One shared palette")
        self.shared_box.setToolTip("k-means on the colours of every file together, each file mapped to that palette "
                                   "(for sprites and animation frames: an index is the same colour everywhere)")
        self.shared_box.setEnabled(self.options.target is None)
        form = QFormLayout()
        form.addRow("Save to", folder_row)
        form.addRow("Names", self.name_edit)
        form.addRow("", self.skip_box)
        form.addRow("", self.shared_box)

        self.table = QTableWidget(len(self.paths), len(COLUMNS))
        self.table.setObjectName("batchTable")
        self.table.setAccessibleName("Files in the batch")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for column in range(2, len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        for row, path in enumerate(self.paths):
            self._set(row, 0, display_name(path), tip=path)

        self.progress = QProgressBar()
        self.progress.setObjectName("batchProgress")
        self.progress.setAccessibleName("Files done")
        self.progress.setRange(0, len(self.paths))
        self.progress.setValue(0)
        self.progress.setFormat(f"0 of {len(self.paths)}")
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("batchStart")
        self.start_button.setToolTip("Compress every file with these settings")
        self.start_button.setDefault(True)  # (Enter starts: a drop is one keystroke or click from running)
        self.start_button.clicked.connect(lambda: self.start())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("batchCancel")
        self.cancel_button.setToolTip("Finish the files being compressed and start no more")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.show_button = QPushButton("Show in Folder")
        self.show_button.setObjectName("batchShowFolder")
        self.show_button.setToolTip("Open the output folder in the file manager")
        self.show_button.clicked.connect(self.show_folder)
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.show_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(form)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.worker.busy_changed.connect(self._busy)
        for edit in (self.folder_edit, self.name_edit):
            edit.textChanged.connect(self._show_plan)
        self._show_plan()

    def _show_plan(self) -> None:
        """Before a run, each row says what its file will become (or why it is left out), for the
        folder and names as they are now; nothing starts until Start."""
        if self.worker.busy:
            return
        folder = self.folder_edit.text().strip()
        problem = name_problem(self.name_edit.text())
        try:
            options = replace(self.options, out_dir=folder or None, name=self.name_edit.text())
        except UsageError as error:
            problem = problem or str(error)
        if problem:
            for row in range(len(self.paths)):
                self._set(row, 1, f"names cannot be made: {problem}")
            return
        auto = self.options.target is not None
        for row, job in enumerate(plan([Path(p) for p in self.paths], options)):
            if job.refused:
                self._set(row, 1, f"left out: {job.refused.split(': ', 1)[-1]}", tip=job.refused)
                continue
            named = job.output(options)
            if auto:  # (K is chosen file by file)
                named = named.with_name(options.name.format(name=job.stem, k="?", ext=named.suffix[1:]))
            self._set(row, 1, f"→ {display_name(named)}", tip=str(named))
            for column in range(2, len(COLUMNS)):
                self._set(row, column, "")

    def _set(self, row: int, column: int, text: str, tip: str = "") -> None:
        item = QTableWidgetItem(text)
        if tip:
            item.setToolTip(tip)
        if column >= 2:
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.table.setItem(row, column, item)

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save the compressed files in", self.folder_edit.text())
        if folder:
            self.folder_edit.setText(folder)

    # -- running ----------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.worker.busy

    def start(self, *, overwrite: bool | None = None) -> bool:
        """Start (or start again) with what the view says; False when there was nothing to start.
        ``overwrite`` answers the question about existing files in advance (None: ask)."""
        if self.worker.busy:
            return False
        folder = self.folder_edit.text().strip()
        problem = name_problem(self.name_edit.text())
        if not folder or problem:
            QMessageBox.warning(self, "Cannot start", "Choose a folder for the files." if not folder
                                else f"The names cannot be made: {problem}.")
            return False
        try:
            Path(folder).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            QMessageBox.warning(self, "Cannot start", f"The folder {display_name(folder)} cannot be made: "
                                f"{os.strerror(error.errno) if error.errno else error}.")
            return False
        try:
            options = replace(self.options, out_dir=folder, name=self.name_edit.text(),
                              skip_if_larger=self.skip_box.isChecked(),
                              shared_palette=self.shared_box.isChecked() and self.shared_box.isEnabled())
        except UsageError as error:
            QMessageBox.warning(self, "Cannot start", str(error))
            return False
        jobs = plan([Path(p) for p in self.paths], options)
        existing = self._existing(jobs, options)
        if existing and overwrite is None:
            answer = QMessageBox.question(
                self, "Replace files?",
                f"{len(existing)} of the files to be made may already be in {display_name(folder)} "
                f"({', '.join(display_name(p) for p in existing[:3])}{'…' if len(existing) > 3 else ''}).\n"
                "Replace them? (No keeps them and leaves those inputs out.)",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No | QMessageBox.StandardButton.Cancel)
            if answer == QMessageBox.StandardButton.Cancel:
                return False
            overwrite = answer == QMessageBox.StandardButton.Yes
        options = replace(options, force=bool(overwrite))
        self._done = self._failed = 0
        self.progress.setValue(0)
        self.progress.setFormat(f"0 of {len(self.paths)}")
        for row in range(len(self.paths)):
            self._set(row, 1, "waiting")
            for column in range(2, len(COLUMNS)):
                self._set(row, column, "")
        self._stop = stop = threading.Event()
        self.worker.submit(lambda token: _run(jobs, options, token, stop), on_progress=self._file_done,
                           on_done=lambda _none: self._ended(), on_failed=self._batch_failed,
                           on_cancelled=self._ended)
        return True

    @staticmethod
    def _existing(jobs: list[Job], options: Options) -> list[Path]:
        """Outputs already there (any K, for Auto K's names)."""
        found: list[Path] = []
        for job in jobs:
            if job.refused is None:
                named = job.output(options)
                found += sorted(named.parent.glob(options.name.replace("{k}", "*").format(
                    name=glob_escape(job.stem), ext=named.suffix[1:])))
        return found

    def cancel(self) -> None:
        """Finish the files in the workers, start no more (their rows still fill in)."""
        self._stop.set()
        self.cancel_button.setEnabled(False)
        self.progress.setFormat(f"stopping… {self._done} of {len(self.paths)}")

    def _file_done(self, found: int | tuple[int, FileResult]) -> None:
        if isinstance(found, int):  # (this file has gone to a worker)
            self._set(found, 1, "compressing…")
            return
        row, result = found
        self._done += 1
        if result.ok and result.output is None:
            self._set(row, 1, "skipped: would not be smaller", tip=result.message)
        elif result.ok:
            frames = f" ({result.frames} frames)" if result.frames > 1 else ""  # (every one kept)
            self._set(row, 1, display_name(result.output) + frames, tip=result.message)
        else:
            self._failed += 1
            self._set(row, 1, f"not done: {result.message.split(': ', 1)[-1]}", tip=result.details or result.message)
            self.table.item(row, 1).setForeground(Qt.GlobalColor.darkRed)
        if result.ok:
            self._set(row, 2, str(result.k))
            self._set(row, 3, f"{result.delta_e:.2f}" if result.delta_e is not None else "")
            self._set(row, 4, file_size(result.bytes_in or 0, exact=False))
            self._set(row, 5, file_size(result.bytes_out or 0, exact=False))
            if result.bytes_in:
                self._set(row, 6, f"{(1 - (result.bytes_out or 0) / result.bytes_in) * 100:.0f}%")
        self.progress.setValue(self._done)
        self.progress.setFormat(f"{self._done} of {len(self.paths)}" + (f" · {self._failed} not done"
                                                                          if self._failed else ""))

    def _ended(self) -> None:
        if self._done < len(self.paths):
            for row in range(len(self.paths)):
                if self.table.item(row, 1).text() in ("waiting", "compressing…"):
                    self._set(row, 1, "not started (cancelled)")
        self.finished_batch.emit(self._done, self._failed)

    def _batch_failed(self, error) -> None:
        QMessageBox.warning(self, "The batch stopped", str(error))
        self._ended()

    def _busy(self, busy: bool) -> None:
        self.cancel_button.setEnabled(busy)
        self.start_button.setEnabled(not busy)
        self.start_button.setText("Start again" if not busy and self._done else "Start")
        for widget in (self.folder_edit, self.browse_button, self.name_edit, self.skip_box):
            widget.setEnabled(not busy)
        self.shared_box.setEnabled(not busy and self.options.target is None)  # (Auto K chooses K per file)

    def show_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(self.folder_edit.text()))

    def shutdown(self) -> None:
        """Stop the run and join its thread (idempotent); the files in the workers are written whole."""
        self._stop.set()
        self.worker.stop()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)


def summary(options: Options) -> str:
    """What every file of the batch gets, in words: "32 colours · PNG · Balanced · k-means++ · seed 0"."""
    target = options.target
    if options.palette:
        extra = options.k - len(options.palette)
        how = f"the palette {display_name(options.palette_source or 'given')}" + (
            f" and {extra} more colours" if extra > 0 else "")
    elif target is None:
        how = f"{options.k} colours"
    elif target.by_size:
        how = f"Auto K: the most colours {target.words()}"
    else:
        how = f"Auto K: the fewest colours with {target.words()}"
    if options.fixed:
        how += f" ({len(options.fixed)} locked)"
    words = [how, FORMAT_NAMES[options.fmt], COLOR_SPACE_LABELS[options.color_space], options.init,
             f"seed {options.seed}"]
    if options.dither:
        words.append("dithered" if options.dither == FULL_DITHER else f"dithered {options.dither} %")
    return " · ".join(words)


def glob_escape(text: str) -> str:
    """``text`` matched literally by a glob pattern."""
    import glob

    return glob.escape(text)


def batch_files(paths: list[str]) -> list[str]:
    """The files a batch of ``paths`` covers: files as given, folders as the images in them (by
    name, outputs of earlier runs left out), as the command line takes them."""
    return [os.fspath(p) for p in expand(paths).files]


def _run(jobs: list[Job], options: Options, token: Token, stop: threading.Event) -> None:
    """The batch on the worker thread: each file's row as it starts, then (row, FileResult) (the one
    palette of all the files is fitted first, when asked, in a worker process)."""
    results = run_as_done(jobs, options, processes=os.cpu_count() or 1,
                          stop=lambda: stop.is_set() or token.is_set(), started=token.report)
    for row, result in results:  # (each row as its file is done, not behind a slower one above it)
        token.report((row, result))
