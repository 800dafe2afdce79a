"""The main window: menus and actions, tabs, status bar, drag-and-drop, settings, export.

``MainWindow()`` needs no arguments; ``open_image(path)`` opens a file exactly as dropping it
would, and the window title names the open file.  Long work runs on the tabs' worker threads;
closing the window stops and joins them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, QSize, Qt, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QWidget,
)

from app.batch_view import BatchView, batch_files
from app.image.controls import AutoK
from app.image.export_dialog import ExportDialog
from app.image.jobs import Exported
from app.image.tab import ImageTab, TooLarge
from app.lazy_tab import LazyTab
from app.sample import sample_image
from app.settings import EXPORT_FOLDER, OPEN_FOLDER, Remembered, not_the_defaults, writable_folder
from app.shell import Tabs, dropped_files
from kmeans import __version__, memory
from kmeans.defaults import DEFAULT_FORMAT, MAX_K
from kmeans.errors import KMeansImageError, describe
from kmeans.options import Options
from kmeans.palettefile import load_palette, save_palette
from kmeans.wording import APP_NAME, display_name, size_change

if TYPE_CHECKING:
    from app.learn.lesson import ImageColours
    from app.learn.tab import BlobsTab

ORGANIZATION = "kmeans-image-compressor"
IMAGE_FILTER = (
    "Images (*.png *.jpg *.jpeg *.gif *.bmp *.webp *.tif *.tiff *.tga *.ppm *.pgm *.pbm *.ico);;All files (*)"
)


PALETTE_FILTER = ("Palettes (*.gpl *.pal *.act *.txt *.hex);;GIMP palette (*.gpl);;JASC palette (*.pal);;"
                  "Adobe colour table (*.act);;Hex list (*.txt *.hex);;All files (*)")

GIL_SWITCH_SECONDS = 0.001  # how soon a thread waiting for the GIL gets it (Python's default: 5 ms)


class MainWindow(QMainWindow):
    """The application window."""

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        # The GUI thread waits for the GIL whenever k-means holds it between numpy calls; Python hands
        # it over after this long, so a shorter interval shortens the window's stalls while k-means
        # runs (bench_gui.py's stall rows show them).
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        self.setObjectName("mainWindow")
        self._remembered = Remembered(settings if settings is not None else QSettings(ORGANIZATION, APP_NAME))
        self._closed = False
        self._batches: list[BatchView] = []  # batch views open now
        self.setWindowTitle(APP_NAME)
        self.setAcceptDrops(True)
        self.image_tab = ImageTab()
        self.tabs = Tabs()
        self.tabs.setObjectName("tabs")
        self.tabs.setDocumentMode(True)
        self.learn_tab = LazyTab(self._make_learn_tab, "blobsTab")
        self.tabs.addTab(self.image_tab, "Image")
        self.tabs.setTabToolTip(0, "Compress an image")
        self.tabs.addTab(self.learn_tab, "Learn k-means")
        self.tabs.setTabToolTip(1, "Watch k-means work, step by step, on sample points")
        self.setCentralWidget(self.tabs)
        self._create_actions()
        self._create_menus()
        self.image_tab.image_opened.connect(self._image_opened)
        self.image_tab.open_failed.connect(lambda message: self.statusBar().showMessage(message, 10000))
        self.image_tab.status.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.image_tab.quantized.connect(lambda _outcome: self._update_actions())
        self.image_tab.too_large.connect(self._ask_open_large)
        self.image_tab.exported.connect(self._exported)
        self.image_tab.export_failed.connect(lambda message: self.statusBar().showMessage(f"Not saved: {message}",
                                                                                          15000))
        self.zoom_label = QLabel()
        self.zoom_label.setObjectName("zoomLabel")
        self.zoom_label.setToolTip("Zoom: 100% is one image pixel per screen pixel (Ctrl+0 fits, Ctrl+1 is 100%)")
        self.statusBar().addPermanentWidget(self.zoom_label)
        self.image_tab.canvas.zoom_changed.connect(lambda _zoom: self._show_zoom())
        self.tabs.currentChanged.connect(lambda _index: self._update_actions())
        self.statusBar().showMessage("Drop an image on the window, or use File › Open.")
        self._restore_settings()
        self._update_actions()

    def _make_learn_tab(self) -> BlobsTab:
        # matplotlib is imported here, the first time the Learn tab is shown: not at start-up.
        from app.learn.tab import BlobsTab

        tab = BlobsTab()
        tab.set_image_colours(self._image_colours())
        return tab

    def _image_colours(self) -> ImageColours | None:
        """The open image's colours as plain data for the Learn tab (which knows nothing of the image tab)."""
        from app.learn.lesson import ImageColours

        opened = self.image_tab.opened
        if opened is None:
            return None
        loaded, table = opened.loaded, opened.table
        return ImageColours(loaded.name, loaded.width, loaded.height, table.colors, table.counts)

    @property
    def blobs_tab(self) -> BlobsTab:
        """The Learn tab's content (built now if the tab has not been shown yet)."""
        return self.learn_tab.content()

    # -- actions --------------------------------------------------------------------------------

    def _action(self, name: str, text: str, slot, shortcuts=(), tip: str = "") -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        if shortcuts:
            action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.setToolTip(tip or text.replace("&", "").rstrip("…"))
        action.setStatusTip(action.toolTip())
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _create_actions(self) -> None:
        canvas = self.image_tab.canvas
        self.action_open = self._action("actionOpen", "&Open…", self.choose_file,
                                        [QKeySequence.StandardKey.Open], "Open an image")
        self.action_export = self._action("actionExport", "&Export…", self.export_dialog,
                                          ["Ctrl+S", "Ctrl+E"], "Save the compressed image")
        self.action_export_palette = self._action("actionExportPalette", "Export &Palette…", self.export_palette,
                                                  ["Ctrl+Shift+E"], "Save the palette as a GIMP palette or hex list")
        self.action_compress_many = self._action("actionCompressMany", "Compress &Many…", self.choose_many,
                                                 ["Ctrl+Shift+O"], "Compress many files (or a folder) with these "
                                                 "settings")
        self.action_use_palette = self._action("actionUsePalette", "&Use Palette…", self.choose_palette, [],
                                               "Map the image to the colours of a palette file (.gpl, .pal, .act, hex)")
        self.action_quit = self._action("actionQuit", "&Quit", self.close, ["Ctrl+Q"], "Quit")
        self.action_quit.setMenuRole(QAction.MenuRole.QuitRole)
        self.action_zoom_in = self._action("actionZoomIn", "Zoom &In", canvas.zoom_in, ["Ctrl+=", "Ctrl++"])
        self.action_zoom_out = self._action("actionZoomOut", "Zoom &Out", canvas.zoom_out, ["Ctrl+-"])
        self.action_fit = self._action("actionFit", "&Fit to Window", canvas.fit_to_window, ["Ctrl+0"])
        self.action_actual = self._action("actionActualSize", "&Actual Size (100%)", canvas.actual_size, ["Ctrl+1"])
        self.action_original = self._action("actionShowOriginal", "Show O&riginal", canvas.show_original, ["Ctrl+R"],
                                            "Show the original everywhere (or hold Space over the image)")
        self.action_original.setCheckable(True)
        self.action_shortcuts = self._action("actionShortcuts", "&Keyboard Shortcuts", self.show_shortcuts,
                                             [QKeySequence.StandardKey.HelpContents], "Every key of both tabs")
        self.action_reset = self._action("actionResetSettings", "Reset Settings to &Defaults", self.reset_settings, [],
                                         "K, k-means, dithering, Auto K and the export format as on a first start")
        self.action_about = self._action("actionAbout", "&About", self.about)
        self.action_about.setMenuRole(QAction.MenuRole.AboutRole)

    def _create_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.action_open)
        self.recent_menu = QMenu("Open &Recent", self)
        self.recent_menu.setObjectName("recentMenu")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addMenu(self.recent_menu)
        file_menu.addAction(self.action_compress_many)
        file_menu.addSeparator()
        file_menu.addAction(self.action_export)
        file_menu.addAction(self.action_export_palette)
        file_menu.addAction(self.action_use_palette)
        file_menu.addSeparator()
        file_menu.addAction(self.action_quit)
        view_menu = bar.addMenu("&View")
        for action in (self.action_zoom_in, self.action_zoom_out, self.action_fit, self.action_actual):
            view_menu.addAction(action)
        view_menu.addSeparator()
        view_menu.addAction(self.action_original)
        view_menu.addSeparator()
        view_menu.addAction(self.action_reset)
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.action_shortcuts)
        help_menu.addAction(self.action_about)

    def _update_actions(self) -> None:
        has_result = self.image_tab.outcome is not None
        self.action_export.setEnabled(has_result)
        self.action_export_palette.setEnabled(has_result)
        on_image = self.tabs.currentWidget() is self.image_tab  # (the zoom is the image's, not the Learn tab's)
        self.zoom_label.setVisible(on_image)
        has_image = self.image_tab.opened is not None and on_image
        for action in (self.action_zoom_in, self.action_zoom_out, self.action_fit, self.action_actual,
                       self.action_original):
            action.setEnabled(has_image)

    def _show_zoom(self) -> None:
        canvas = self.image_tab.canvas
        self.zoom_label.setText(f"Zoom {canvas.zoom_percent}%" + (" (fit)" if canvas.fitted else ""))

    # -- opening --------------------------------------------------------------------------------

    def open_image(self, path: str | os.PathLike[str], notice: str = "") -> None:
        """Open a file as a drop would: decoded off the GUI thread, errors in the message bar."""
        self.tabs.setCurrentWidget(self.image_tab)
        self.statusBar().showMessage(f"Opening {display_name(path)}…")
        self.image_tab.open_path(os.fspath(path), notice=notice)

    @Slot()
    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", self.start_folder(OPEN_FOLDER), IMAGE_FILTER)
        if path:
            self.open_image(path)

    def _image_opened(self, path: str) -> None:
        self.setWindowTitle(f"{display_name(path)} — {APP_NAME}")
        self._say_restored()
        if self.learn_tab.built:
            self.blobs_tab.set_image_colours(self._image_colours())
        if _is_sample(path):  # the bundled photo's folder is nobody's "last folder"
            self._update_actions()
            return
        self._remembered.remember_recent(path)
        self._remembered.remember_folder(OPEN_FOLDER, Path(path).parent)
        loaded = self.image_tab.opened.loaded if self.image_tab.opened else None
        if loaded is not None:
            self.statusBar().showMessage(f"{loaded.name}: {loaded.width} × {loaded.height}", 5000)
        self._update_actions()

    @Slot(object)
    def _ask_open_large(self, large: TooLarge) -> None:
        """Ask before opening an image over the pixel limit, or say it cannot fit in memory."""
        path, pixels = large.path, large.pixels
        size = f"{display_name(path)} has {pixels:,} pixels ({pixels / 1e6:,.0f} megapixels)"
        dither = self.image_tab.controls.dither_level() > 0
        beyond = memory.beyond_memory(pixels, dither)
        if beyond is not None:  # nothing to ask: say it in the message bar, as every refusal
            text = f"{size}: too large to open. {beyond[0].upper()}{beyond[1:]}."
            self.image_tab.message_bar.show_message(text, error=True, details=large.message)
            self.statusBar().showMessage(f"Not opened: {display_name(path)} (too large)", 8000)
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Very large image",
                          f"{size}. Compressing it needs about {memory.gigabytes(memory.needed(pixels, dither))} "
                          "of memory and may take a while. Open it anyway?",
                          QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("largeImageQuestion")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.finished.connect(lambda answer: self.image_tab.open_path(path, allow_large=True)
                             if answer == QMessageBox.StandardButton.Open else
                             self.statusBar().showMessage(f"Not opened: {display_name(path)}", 8000))
        box.open()

    # -- drag and drop --------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if dropped_files(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        files = dropped_files(event)
        if not files:
            event.ignore()
            return
        event.acceptProposedAction()
        if len(files) > 1 or os.path.isdir(files[0]):
            self.compress_many(files, start=False)  # (its plan first: Start is one click away)
        else:
            self.open_image(files[0])

    # -- many files -----------------------------------------------------------------------------

    @Slot()
    def choose_many(self) -> BatchView | None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Compress many files", self.start_folder(OPEN_FOLDER),
                                                IMAGE_FILTER)
        return self.compress_many(paths, start=False) if paths else None

    def compress_many(self, paths: list[str | os.PathLike[str]], out_dir: str | os.PathLike[str] | None = None,
                      *, start: bool = True) -> BatchView | None:
        """Open the batch view for ``paths`` (folders stand for the images in them) with the image
        tab's settings, saving into ``out_dir`` (default: a "compressed" folder beside the first
        file), and start it unless ``start`` is False (a drop and the menu show the plan, to be
        started with Start).  None when no image was found (the status bar says so)."""
        files = batch_files([os.fspath(p) for p in paths])
        if not files:
            self.statusBar().showMessage("No images to compress there.", 10000)
            return None
        folder = os.fspath(out_dir) if out_dir is not None else str(Path(files[0]).parent / "compressed")
        view = BatchView(files, self.image_tab.options(), folder, self)
        view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        view.finished_batch.connect(lambda done, failed: self.statusBar().showMessage(
            f"Batch: {done - failed} of {len(files)} files done" + (f", {failed} not done" if failed else ""), 15000))
        self._batches.append(view)
        view.destroyed.connect(lambda *_: self._batches.remove(view) if view in self._batches else None)
        view.show()
        if start:
            view.start()
        else:
            view.start_button.setFocus()
        return view

    # -- export ---------------------------------------------------------------------------------

    @Slot()
    def export_dialog(self) -> ExportDialog | None:
        opened, outcome = self.image_tab.opened, self.image_tab.outcome
        if opened is None or outcome is None:
            return None
        folder, note = writable_folder(self.start_folder(EXPORT_FOLDER))  # (beside the image the first time)
        dialog = ExportDialog(opened, outcome, self.image_tab.stats.fmt, folder, self, known=self.image_tab.measurement,
                              note=note, level=self.image_tab.controls.dither_spin.value())
        dialog.export_requested.connect(self.export_to)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    @Slot(str, str, int, bool)
    def export_to(self, path: str, fmt: str, dither: bool | int, overwrite: bool = False) -> None:
        """Save the current result to ``path`` off the GUI thread; the status bar tells the size.
        ``dither``: a level in percent (0 none), or True for the window's level and False for none."""
        if self.image_tab.outcome is None:
            return
        self._remembered.remember_folder(EXPORT_FOLDER, Path(path).parent)
        self.statusBar().showMessage(f"Saving {display_name(path)}…")
        self.image_tab.export_to(path, fmt, dither, overwrite)

    def _exported(self, done: Exported) -> None:
        if self.image_tab.opened is None:
            return
        change = size_change(self.image_tab.opened.loaded.file_size, done.size)
        self.statusBar().showMessage(f"Saved {display_name(done.path)}: {done.size:,} bytes ({change} than the "
                                     "original)", 15000)

    @Slot()
    def export_palette(self) -> None:
        outcome = self.image_tab.outcome
        if outcome is None:
            return
        opened = self.image_tab.opened
        stem = Path(opened.loaded.path).stem if opened else "palette"
        folder, note = writable_folder(self.start_folder(EXPORT_FOLDER))
        if note:
            self.statusBar().showMessage(note, 10000)
        suggestion = str(Path(folder) / f"{stem}-k{outcome.result.colours}.gpl")
        path, _ = QFileDialog.getSaveFileName(self, "Export palette", suggestion, PALETTE_FILTER)
        if path:
            self.save_palette_to(path)

    @Slot()
    def choose_palette(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Use palette", self.start_folder(OPEN_FOLDER), PALETTE_FILTER)
        if not path:
            return
        extra, ok = QInputDialog.getInt(self, "Use palette", "Free colours besides the palette's (0: only its "
                                        "colours, in its order):", 0, 0, MAX_K - 1)
        if ok:
            self.use_palette(path, extra)

    def use_palette(self, path: str, extra: int = 0) -> bool:
        """Lock the colours of a palette file (kept first, in its order) with ``extra`` free colours
        besides; False (and the message bar says why) when the file cannot be used."""
        try:
            colours = load_palette(path)
            if len(colours) + extra > MAX_K:
                raise KMeansImageError(f"{display_name(path)} has {len(colours)} colours; with {extra} more that "
                                       f"makes {len(colours) + extra}, over {MAX_K}")
        except KMeansImageError as error:
            self.image_tab.message_bar.show_message(f"Palette not used: {error}", error=True, details=error.details)
            return False
        self.image_tab.locking.lock([tuple(c) for c in colours.tolist()], source=path, extra=extra)
        self.statusBar().showMessage(f"Using {display_name(path)}: {len(colours)} colours"
                                     + (f" and {extra} free" if extra else ""), 10000)
        return True

    def save_palette_to(self, path: str) -> None:
        """Write the palette (tiny, so on the GUI thread); the file dialog confirmed overwriting."""
        shown = self.image_tab.shown_palette()
        if shown is None:
            return
        palette, locked, which = shown
        try:
            save_palette(path, palette, force=True, locked=locked)
        except Exception as error:  # this action's error boundary: one plain sentence, never a traceback
            plain = describe(error)
            self.image_tab.message_bar.show_message(f"Not saved: {plain}", error=True, details=plain.details)
            self.statusBar().showMessage(f"Not saved: {plain}", 15000)
            return
        self._remembered.remember_folder(EXPORT_FOLDER, Path(path).parent)
        self.statusBar().showMessage(f"Saved palette {display_name(path)} ({len(palette)} colours{which})", 10000)

    # -- recent files and settings --------------------------------------------------------------

    def recent_files(self) -> list[str]:
        return self._remembered.recent_files()

    def start_folder(self, key: str) -> str:
        """Where a file dialog starts: the folder last used for it, else (for exports) the open image's
        folder, else Pictures, else home."""
        opened = self.image_tab.opened
        beside = None
        if key == EXPORT_FOLDER and opened is not None and not _is_sample(str(opened.loaded.path)):
            beside = opened.loaded.path  # the bundled sample's folder is inside the program
        return self._remembered.start_folder(key, beside)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self._remembered.existing_recent_files()
        for path in files:
            action = self.recent_menu.addAction(display_name(path))
            action.setToolTip(display_name(path))
            action.triggered.connect(lambda _checked=False, p=path: self.open_image(p))
        if not files:
            empty = self.recent_menu.addAction("No recent files")
            empty.setEnabled(False)

    def _first_size(self) -> QSize:
        """1280 × 820, or less on a smaller screen (leaving room for the title bar and a panel)."""
        screen = self.screen()
        if screen is None:
            return QSize(1280, 820)
        room = screen.availableGeometry()
        return QSize(min(1280, room.width()), min(820, room.height() - 40))

    def _restore_settings(self) -> None:
        geometry = self._remembered.geometry()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(self._first_size())
        options, auto, fmt = self._remembered.options(), self._remembered.auto_k(), self._remembered.export_format()
        self.image_tab.set_options(options)
        self.image_tab.controls.set_auto_k(auto)
        self.image_tab.stats.set_format(fmt)
        said = not_the_defaults(options, auto, fmt)
        # Said once, with the first image: a session that starts otherwise than a first one says why.
        self._restored = f"Settings from last time: {', '.join(said)}." if said else ""

    @Slot()
    def reset_settings(self) -> None:
        """Every setting as on a first start (K, k-means, dithering, Auto K, the export format),
        remembered at once; the open image is quantized again."""
        self.image_tab.set_options(Options())
        self.image_tab.controls.set_auto_k(AutoK())
        self.image_tab.stats.set_format(DEFAULT_FORMAT)
        self._save_settings()
        self.image_tab.schedule()
        self.statusBar().showMessage("Settings reset to their defaults", 5000)

    def _say_restored(self) -> None:
        """The restored settings, once, beside what the image itself had to say."""
        said, self._restored = self._restored, ""
        if said:
            bar = self.image_tab.message_bar
            text = " ".join(t for t in (bar.text, said) if t)
            bar.show_message(text, action=("Reset to Defaults", self.reset_settings))

    def _save_settings(self) -> None:
        self._remembered.save(self.image_tab.options(), self.image_tab.stats.fmt, self.saveGeometry())
        self._remembered.save_auto_k(self.image_tab.controls.auto_k())

    # -- the rest -------------------------------------------------------------------------------

    @Slot()
    def show_shortcuts(self) -> QDialog:
        """Open Help › Keyboard Shortcuts (not modal: it can stay open beside the window)."""
        from app.shortcuts import ShortcutsDialog

        dialog = ShortcutsDialog(self.actions(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    @Slot()
    def about(self) -> None:
        QMessageBox.about(
            self,
            f"About {APP_NAME}",
            f"<h3>{APP_NAME} {__version__}</h3>"
            "<p>Compresses images by k-means colour quantization: each pixel takes the nearest of K "
            "colours, chosen by k-means on the image's own colours.</p>"
            "<p>Drag the K slider and watch k-means converge; drag the handle on the image to compare; "
            "export a small indexed PNG, GIF, WebP or BMP.</p><p>MIT licence.</p>",
        )

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closed:
            self._closed = True
            self._save_settings()
            self.hide()  # feels instant even while a worker finishes its current step
            for view in list(self._batches):
                view.shutdown()  # a view hidden by Escape gets no close event of its own
                view.close()
            self.image_tab.shutdown()
            if self.learn_tab.built:
                self.blobs_tab.shutdown()
        event.accept()


def _is_sample(path: str) -> bool:
    sample = sample_image()
    return sample is not None and os.path.abspath(path) == os.path.abspath(sample)


