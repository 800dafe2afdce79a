"""The errors the core raises on purpose, each with a message fit to show a person.

Messages state what happened to which file, in plain words; they never tell the reader which
command-line flag or button to use, because the core does not know who is reading.
"""

from __future__ import annotations

from typing import Protocol


class KMeansImageError(Exception):
    """Base of every error this package raises about images and files."""


class ImageLoadError(KMeansImageError):
    """A file could not be read as an image; the message names the file and says why."""


class ImageTooLargeError(ImageLoadError):
    """An image has more pixels than the allowed limit; ``pixels`` and ``limit`` say how many."""

    def __init__(self, message: str, pixels: int, limit: int):
        super().__init__(message)
        self.pixels = pixels
        self.limit = limit


class ImageSaveError(KMeansImageError):
    """A file could not be written; nothing was left behind at the target path."""


class OutputExistsError(ImageSaveError):
    """The target file exists and overwriting was not allowed; ``path`` is the target.

    The message states the fact only: the command line adds its ``--force`` hint, the window
    offers its own Overwrite button.
    """

    def __init__(self, message: str, path: str):
        super().__init__(message)
        self.path = path


class Cancelled(Exception):
    """A quantization was cancelled by its callback or cancel token."""


class CancelToken(Protocol):
    """Anything with ``is_set()``, such as ``threading.Event``: long work stops once it is set."""

    def is_set(self) -> bool: ...
