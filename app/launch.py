"""Where the window starts: ``main.py`` and the installed ``kmeans-image-compressor``.

``gui`` opens the window (files given are opened; ``--install-desktop`` and ``--uninstall-desktop``
add or remove the menu entry).  The command line, ``kmeans-compress``, starts in ``kmeans.cli``.
Nothing here imports numpy or Qt before the environment is set.
"""

from __future__ import annotations

import os
import sys

# numpy's BLAS would start its own threads for the tiny distance products while the core already
# splits them between the cores; one BLAS thread is measurably faster here.  Must precede numpy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def gui(argv: list[str] | None = None) -> int:
    """The ``kmeans-image-compressor`` command."""
    argv = sys.argv[1:] if argv is None else argv
    if "--install-desktop" in argv or "--uninstall-desktop" in argv:
        return _desktop("--install-desktop" in argv)
    from app.main import run

    return run(argv)


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
