"""The sample photo the window opens on: Grace Hopper, public domain, shipped with matplotlib."""

from __future__ import annotations

from pathlib import Path


def sample_image() -> Path | None:
    """Path of the bundled sample photo, or None if matplotlib's sample data is missing."""
    try:
        from matplotlib import cbook

        path = Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    except (ImportError, OSError, ValueError):
        return None
    return path if path.is_file() else None
