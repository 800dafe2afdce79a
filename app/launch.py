"""Where the window starts: ``main.py`` and the installed ``kmeans-image-compressor``.

``gui`` parses the options, runs ``compress ...`` as the command line, adds or removes the menu
entry, and checks for a screen before Qt is loaded: Qt would abort with a misleading message when
there is none, or when a system library its X11 plugin needs is missing.  Nothing here imports
numpy or Qt before the environment is set.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# numpy's BLAS would start its own threads for the tiny distance products while the core already
# splits them between the cores; one BLAS thread is measurably faster here.  Must precede numpy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from kmeans import __version__
from kmeans.wording import APP_NAME

#: What the X11 plugin of Qt 6 loads, when ``ldd`` is not there to ask.
XCB_LIBRARIES = ("libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-image.so.0", "libxcb-keysyms.so.1",
                 "libxcb-randr.so.0", "libxcb-render-util.so.0", "libxcb-shape.so.0", "libxcb-xfixes.so.0",
                 "libxcb-xkb.so.1", "libxkbcommon-x11.so.0", "libxkbcommon.so.0", "libX11-xcb.so.1")
_DEBIAN_NAMES = {"libGL.so.1": "libgl1", "libEGL.so.1": "libegl1", "libOpenGL.so.0": "libopengl0",
                 "libX11-xcb.so.1": "libx11-xcb1", "libfontconfig.so.1": "libfontconfig1"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kmeans-image-compressor",
        description=f"{APP_NAME}: open an image, choose K, watch k-means converge, export a small file. "
        "For the command line, run 'kmeans-compress --help' (or this program with 'compress ...').",
    )
    parser.add_argument("images", nargs="*", metavar="IMAGE", help="image to open (default: a sample photo)")
    parser.add_argument("--tab", choices=("image", "learn"), default="image",
                        help="start on the image tab or on the k-means lesson")
    parser.add_argument("--screenshot", metavar="OUT.png",
                        help="render the window to a PNG once the image is compressed, then quit (no screen needed)")
    desktop = parser.add_mutually_exclusive_group()
    desktop.add_argument("--install-desktop", action="store_true",
                         help="add the app to the application menu and to 'Open with' for images (Linux)")
    desktop.add_argument("--uninstall-desktop", action="store_true", help="remove what --install-desktop added")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def gui(argv: list[str] | None = None) -> int:
    """The ``kmeans-image-compressor`` command."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "compress":
        from kmeans.cli import main as compress

        return compress(argv[1:])
    args = build_parser().parse_args(argv)
    if args.install_desktop or args.uninstall_desktop:
        return _desktop(args.install_desktop)
    problem = screen_problem(offscreen_ok=args.screenshot is not None)
    if problem:
        print(f"kmeans-image-compressor: {problem}", file=sys.stderr)
        return 1
    from app.main import Start, run

    return run(Start(tuple(args.images), args.tab, args.screenshot))


def screen_problem(*, offscreen_ok: bool, environ: dict[str, str] | None = None) -> str:
    """Why the window could not be shown here, in words ("" when it can).

    With no screen at all and ``offscreen_ok`` (a screenshot), Qt is told to draw off screen.
    """
    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux") or env.get("QT_QPA_PLATFORM"):
        return ""
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        if offscreen_ok:
            env["QT_QPA_PLATFORM"] = "offscreen"
            return ""
        return ("there is no screen to show the window on (neither DISPLAY nor WAYLAND_DISPLAY is set). "
                "Without a screen, --screenshot OUT.png renders the window to a file, and kmeans-compress "
                "does the compressing.")
    if env.get("WAYLAND_DISPLAY"):
        return ""
    missing = missing_xcb_libraries()
    if not missing:
        return ""
    packages = " ".join(debian_package(name) for name in missing)
    return (f"the window needs system libraries that are not installed: {', '.join(missing)}.\n"
            f"On Debian or Ubuntu: sudo apt-get install {packages}\n"
            "(Elsewhere, install the packages that provide those files.)")


def missing_xcb_libraries() -> list[str]:
    """The shared libraries Qt's X11 plugin needs that cannot be found (by ``ldd`` when it exists)."""
    plugin = xcb_plugin()
    ldd = shutil.which("ldd")
    if plugin is not None and ldd:
        try:
            done = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=20, check=False)
        except (OSError, subprocess.SubprocessError):
            done = None
        if done is not None and done.returncode == 0:
            return sorted({m.group(1) for m in re.finditer(r"^\s*(\S+) => not found", done.stdout, re.M)})
    return [name for name in XCB_LIBRARIES if not _loadable(name)]


def xcb_plugin() -> Path | None:
    spec = importlib.util.find_spec("PySide6")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        plugin = Path(folder) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if plugin.exists():
            return plugin
    return None


def _loadable(name: str) -> bool:
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def debian_package(library: str) -> str:
    """The Debian package that usually holds a shared library: libxcb-icccm.so.4 -> libxcb-icccm4."""
    if library in _DEBIAN_NAMES:
        return _DEBIAN_NAMES[library]
    match = re.fullmatch(r"(lib[\w+.-]*?)\.so\.(\d+)(?:\..*)?", library)
    if not match:
        return library
    base, version = match.groups()
    return (base + ("-" if base[-1].isdigit() else "") + version).lower()


def _desktop(install: bool) -> int:
    from app import desktop

    try:
        files = desktop.install() if install else desktop.uninstall()
    except OSError as error:
        print(f"kmeans-image-compressor: could not {'install' if install else 'remove'} the menu entry: "
              f"{error.strerror or error}", file=sys.stderr)
        return 1
    verb = "Installed" if install else "Removed"
    print(f"{verb} {len(files)} files under {desktop.data_home()}")
    return 0
