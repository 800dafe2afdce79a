"""The sample photo the window opens on: Grace Hopper, public domain, shipped with matplotlib."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_SAMPLE = Path("mpl-data") / "sample_data" / "grace_hopper.jpg"


def sample_image() -> Path | None:
    """Path of the bundled sample photo, or None if matplotlib's sample data is missing.

    Found without importing matplotlib, which the window only needs for the Learn tab.
    """
    try:
        spec = importlib.util.find_spec("matplotlib")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / _SAMPLE
        if path.is_file():
            return path
    try:  # a frozen bundle keeps matplotlib's data elsewhere: ask matplotlib itself
        from matplotlib import cbook

        path = Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    except (ImportError, OSError, ValueError):
        return None
    return path if path.is_file() else None
