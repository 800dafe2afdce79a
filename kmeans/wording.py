"""The words the command line and the window share: counts, byte sizes, format and option names.

Messages that belong to one front end (the command line's ``--force`` hint, the window's buttons)
stay in that front end; the core's errors state facts only.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "K-means Image Compressor"
#: What to call each export format in a user interface.
FORMAT_LABELS = {"png": "PNG (indexed)", "gif": "GIF", "webp": "WebP (lossless)", "bmp": "BMP"}
#: Each format's plain name, for running text.
FORMAT_NAMES = {"png": "PNG", "gif": "GIF", "webp": "WebP", "bmp": "BMP"}
#: What to call each colour space.
COLOR_SPACE_LABELS = {"balanced": "Balanced", "rgb": "RGB", "oklab": "OKLab"}


def count(n: int, noun: str, plural: str | None = None) -> str:
    """"1 colour", "3 colours"; ``plural`` for nouns that do not just take an s."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def file_size(n: int, *, exact: bool = True) -> str:
    """A byte count for people: "812 B", "41.7 KB (42,648 B)", "2.66 MB (2,790,013 B)"; without
    the exact count in brackets when not ``exact``."""
    if n < 1024:
        return f"{n:,} B"
    if n < 1024**2:
        return f"{n / 1024:,.1f} KB" + (f" ({n:,} B)" if exact else "")
    return f"{n / 1024**2:,.2f} MB" + (f" ({n:,} B)" if exact else "")


def size_change(bytes_before: int, bytes_after: int) -> str:
    """The change in words: "12.3× smaller" or "1.6× larger", and as a percentage below 1.5×
    ("4% smaller", "12% larger", "0.3% smaller"): "1.0× smaller" would say nothing."""
    if bytes_after <= 0:
        return "empty"
    if bytes_before <= 0:
        return "larger"
    if bytes_after == bytes_before:
        return "the same size"
    ratio = bytes_before / bytes_after
    if ratio >= 1.5:
        return f"{ratio:.1f}× smaller"
    if ratio <= 1 / 1.5:
        return f"{1 / ratio:.1f}× larger"
    percent = 100 * (bytes_after - bytes_before) / bytes_before
    digits = 0 if abs(percent) >= 1 else 1
    return f"{abs(percent):.{digits}f}% smaller" if percent <= 0 else f"{percent:.{digits}f}% larger"


def display_name(path: str | os.PathLike[str]) -> str:
    """A file name fit to print: undecodable bytes shown as escapes, never an encoding error."""
    name = Path(path).name or os.fspath(path)
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def display_path(path: str | os.PathLike[str]) -> str:
    """A path as given, fit to print (undecodable bytes shown as escapes): where two files of the
    same name must be told apart."""
    return os.fsencode(os.fspath(path)).decode("utf-8", "backslashreplace")
