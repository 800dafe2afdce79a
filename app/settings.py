"""What the window remembers between sessions: options, geometry, recent files and folders.

Paths are kept percent-encoded, so a name whose bytes are not UTF-8 comes back as it was (a
QString would drop them).  Every value read back falls back to its default when it is unusable.
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

from app.image.controls import INIT_LABELS, AutoK
from kmeans.autok import QUALITY_LEVELS
from kmeans.defaults import (
    COLOR_SPACES,
    DEFAULT_COLOR_SPACE,
    DEFAULT_FORMAT,
    DEFAULT_INIT,
    DEFAULT_K,
    DEFAULT_SEED,
    FORMATS,
    FULL_DITHER,
    INIT_METHODS,
    MAX_K,
    MIN_K,
)
from kmeans.options import Options
from kmeans.wording import COLOR_SPACE_LABELS, FORMAT_LABELS, display_name

MAX_RECENT = 10
OPEN_FOLDER, EXPORT_FOLDER = "lastFolder", "lastExportFolder"


class Remembered:
    """A typed view of the window's ``QSettings``."""

    def __init__(self, settings: QSettings):
        self.store = settings

    # -- options ----------------------------------------------------------------------------------

    def options(self) -> Options:
        """The K and k-means settings saved by the last session."""
        s = self.store
        try:
            k = min(max(int(s.value("k", DEFAULT_K)), MIN_K), MAX_K)
        except (TypeError, ValueError):
            k = DEFAULT_K
        try:
            seed = max(int(s.value("seed", DEFAULT_SEED)), 0)
        except (TypeError, ValueError):
            seed = DEFAULT_SEED
        space = str(s.value("colorSpace", DEFAULT_COLOR_SPACE))
        init = str(s.value("init", DEFAULT_INIT))
        return Options(
            k=k,
            color_space=space if space in COLOR_SPACES else DEFAULT_COLOR_SPACE,
            init=init if init in INIT_METHODS else DEFAULT_INIT,
            seed=seed,
            dither=_dither_level(s.value("dither", 0)),
        )

    def export_format(self) -> str:
        fmt = str(self.store.value("exportFormat", DEFAULT_FORMAT))
        return fmt if fmt in FORMATS else DEFAULT_FORMAT

    def geometry(self) -> QByteArray | None:
        value = self.store.value("geometry")
        return value if isinstance(value, QByteArray) else None

    def save(self, options: Options, export_format: str, geometry: QByteArray) -> None:
        s = self.store
        s.setValue("geometry", geometry)
        s.setValue("k", options.k)
        s.setValue("colorSpace", options.color_space)
        s.setValue("init", options.init)
        s.setValue("seed", options.seed)
        s.setValue("dither", options.dither)
        s.setValue("exportFormat", export_format)
        s.sync()

    def auto_k(self) -> AutoK:
        """Auto K as the last session left it (off, "good", 100 KB by default)."""
        s = self.store
        level = str(s.value("qualityTarget", AutoK.level))
        try:
            size_kb = min(max(int(s.value("sizeTargetKB", AutoK.size_kb)), 1), 10_000_000)
        except (TypeError, ValueError):
            size_kb = AutoK.size_kb
        return AutoK(str(s.value("autoK", "false")).lower() == "true",
                     level if level in (*QUALITY_LEVELS, "size") else AutoK.level, size_kb)

    def save_auto_k(self, auto: AutoK) -> None:
        s = self.store
        s.setValue("autoK", "true" if auto.on else "false")
        s.setValue("qualityTarget", auto.level)
        s.setValue("sizeTargetKB", auto.size_kb)
        s.sync()

    # -- files and folders ------------------------------------------------------------------------

    def recent_files(self) -> list[str]:
        value = self.store.value("recentFiles", [])
        files = [value] if isinstance(value, str) else list(value or [])
        return [_loaded_path(f) for f in files if isinstance(f, str) and f]

    def remember_recent(self, path: str) -> None:
        path = os.path.abspath(path)
        files = [f for f in self.recent_files() if f != path]
        self._set_recent([path, *files][:MAX_RECENT])

    def existing_recent_files(self) -> list[str]:
        """The recent files that still exist (the others are forgotten)."""
        files = [f for f in self.recent_files() if os.path.exists(f)]
        self._set_recent(files)
        return files

    def _set_recent(self, files: list[str]) -> None:
        self.store.setValue("recentFiles", [_stored_path(f) for f in files])

    def remember_folder(self, key: str, folder: str | os.PathLike[str]) -> None:
        self.store.setValue(key, _stored_path(folder))

    def start_folder(self, key: str, beside: str | os.PathLike[str] | None = None) -> str:
        """Where a file dialog starts: the folder last used for it, else ``beside``'s folder (the open
        image's: where a first export is expected), else Pictures, else home."""
        folder = _loaded_path(str(self.store.value(key, "") or ""))
        if folder and os.path.isdir(folder):
            return folder
        if beside is not None and os.path.isdir(os.path.dirname(os.path.abspath(beside))):
            return os.path.dirname(os.path.abspath(beside))
        pictures = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
        return pictures if pictures and os.path.isdir(pictures) else str(Path.home())


def writable_folder(folder: str) -> tuple[str, str]:
    """``folder`` if files can be written there, else a folder where they can, and a note saying so."""
    if os.access(folder, os.W_OK | os.X_OK):
        return folder, ""
    places = (QStandardPaths.StandardLocation.PicturesLocation, QStandardPaths.StandardLocation.HomeLocation,
              QStandardPaths.StandardLocation.TempLocation)
    for fallback in (QStandardPaths.writableLocation(place) for place in places):
        if fallback and os.path.isdir(fallback) and os.access(fallback, os.W_OK | os.X_OK):
            return fallback, f"{display_name(folder) or folder} cannot be written to; saving in {fallback} instead."
    return folder, ""


def _stored_path(path: str | os.PathLike[str]) -> str:
    """A path as settings can keep it: its bytes percent-encoded, so a name that is not UTF-8 survives."""
    return urllib.parse.quote_from_bytes(os.fsencode(path), safe="/")


def _loaded_path(stored: str) -> str:
    return os.fsdecode(urllib.parse.unquote_to_bytes(stored))


def _dither_level(value: object) -> int:
    """A remembered dithering level (0 to 100); "true" and "false" as earlier versions stored it."""
    text = str(value).strip().lower()
    if text in ("true", "false"):
        return FULL_DITHER if text == "true" else 0
    try:
        return min(max(int(text), 0), FULL_DITHER)
    except ValueError:
        return 0


def not_the_defaults(options: Options, auto: AutoK, fmt: str) -> list[str]:
    """In words, each setting that differs from what a first start has (what a restored session
    changes without saying so)."""
    defaults = Options()
    said = []
    if auto.on:
        said.append("Auto K (" + (f"at most {auto.size_kb:,} KB" if auto.level == "size" else auto.level) + ")")
    elif options.k != defaults.k:
        said.append(f"K {options.k}")
    if options.color_space != defaults.color_space:
        said.append(f"colour space {COLOR_SPACE_LABELS[options.color_space]}")
    if options.init != defaults.init:
        said.append(f"start from {INIT_LABELS[options.init]}")
    if options.seed != defaults.seed:
        said.append(f"seed {options.seed}")
    if options.dither:
        said.append(f"dithering {options.dither} %")
    if fmt != DEFAULT_FORMAT:
        said.append(f"export as {FORMAT_LABELS[fmt]}")
    return said
