"""Desktop integration: the bundled resources, and the menu entry with icons on Linux.

``install()`` writes the freedesktop ``.desktop`` entry and the hicolor icons under the user's data
folder ($XDG_DATA_HOME, else ~/.local/share) and refreshes the desktop database when the tool
exists, so the app appears in the application menu and in "Open with" for images.
``uninstall()`` removes exactly those files.  Neither needs Qt.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

APP_ID = "kmeans-image-compressor"
ICON_SIZES = (16, 32, 48, 64, 128, 256)
_PACKAGE = "kmeans_image_compressor_resources"
_CHECKOUT = Path(__file__).resolve().parents[1] / "resources"


def resource(name: str) -> Path:
    """Path of a bundled file (e.g. ``icons/kmeans-image-compressor.svg``)."""
    candidates = []
    with contextlib.suppress(ModuleNotFoundError):
        candidates.append(Path(str(resources.files(_PACKAGE).joinpath(name))))
    candidates.append(_CHECKOUT / name)
    frozen = getattr(sys, "_MEIPASS", None)  # a PyInstaller bundle
    if frozen:
        candidates.append(Path(frozen) / "resources" / name)
    for path in candidates:
        if path.exists():
            return path
    raise FileNotFoundError(f"bundled resource missing: {name}")


def data_home() -> Path:
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if os.path.isabs(value) else Path.home() / ".local" / "share"


def launcher() -> str:
    """The command a menu entry should run: the installed launcher, or this Python with -m app."""
    if getattr(sys, "frozen", False):
        return shlex.quote(sys.executable)
    found = shutil.which(APP_ID) or _beside_python(APP_ID)
    if found:
        return shlex.quote(os.path.abspath(found))
    return f"{shlex.quote(sys.executable)} -m app"


def _beside_python(name: str) -> str | None:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else None


def desktop_entry(command: str) -> str:
    """The bundled .desktop entry with Exec (and TryExec) pointing at ``command``."""
    lines = []
    for line in resource(f"{APP_ID}.desktop").read_text().splitlines():
        if line.startswith("Exec="):
            line = f"Exec={command} %F"
        elif line.startswith("TryExec="):
            line = f"TryExec={shlex.split(command)[0]}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _targets(base: Path) -> dict[Path, Path | None]:
    """Where each file goes (None: written from text)."""
    targets: dict[Path, Path | None] = {base / "applications" / f"{APP_ID}.desktop": None}
    icons = base / "icons" / "hicolor"
    targets[icons / "scalable" / "apps" / f"{APP_ID}.svg"] = resource(f"icons/{APP_ID}.svg")
    for size in ICON_SIZES:
        targets[icons / f"{size}x{size}" / "apps" / f"{APP_ID}.png"] = resource(f"icons/{APP_ID}-{size}.png")
    return targets


def install(base: Path | None = None, command: str | None = None) -> list[Path]:
    """Write the menu entry and icons; returns the files written."""
    base = base or data_home()
    written = []
    for target, source in _targets(base).items():
        target.parent.mkdir(parents=True, exist_ok=True)
        if source is None:
            target.write_text(desktop_entry(command or launcher()))
        else:
            shutil.copyfile(source, target)
        written.append(target)
    _refresh(base)
    return written


def uninstall(base: Path | None = None) -> list[Path]:
    """Remove the menu entry and icons that ``install`` wrote; returns the files removed."""
    base = base or data_home()
    removed = []
    for target in _targets(base):
        if target.exists():
            target.unlink()
            removed.append(target)
    _refresh(base)
    return removed


def _refresh(base: Path) -> None:
    """Tell the desktop about the change, where the tools exist (best effort, never fatal)."""
    commands = [["update-desktop-database", "-q", str(base / "applications")],
                ["gtk-update-icon-cache", "-q", "-t", "-f", str(base / "icons" / "hicolor")]]
    for command in commands:
        if shutil.which(command[0]) and Path(command[-1]).is_dir():
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                subprocess.run(command, check=False, timeout=30, capture_output=True)
