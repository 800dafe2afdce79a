"""The errors the core raises on purpose, each with a message fit to show a person.

Messages state what happened to which file, in plain words; they never tell the reader which
command-line flag or button to use, because the core does not know who is reading.
"""

from __future__ import annotations

import errno
import os
import traceback
from typing import Protocol

from kmeans.wording import display_name


class KMeansImageError(Exception):
    """Base of every error this package raises about images and files.

    ``str(error)`` is one plain sentence for anyone; ``details`` the technical part (the library's
    own words, a traceback), shown only on request (Details in the window, ``--verbose``).
    """

    def __init__(self, message: str, details: str = ""):
        super().__init__(message)
        self.details = details


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


_OS_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the disk is read-only",
    errno.ENOENT: "the folder does not exist",
    errno.ENOTDIR: "part of the path is a file, not a folder",
    errno.ENAMETOOLONG: "the name is too long for this file system",
    errno.ELOOP: "it is a link that leads back to itself",
    errno.EISDIR: "it is a folder",
    errno.EIO: "the disk reported a read or write error",
}


def os_reason(error: OSError) -> str:
    """What an operating-system error means, in a few plain words."""
    return _OS_REASONS.get(error.errno or 0) or (error.strerror or "the system refused").lower()


def details_of(error: BaseException) -> str:
    """The technical words of an error, for the details (type and message)."""
    return f"{type(error).__name__}: {error}".strip()


def describe(error: BaseException) -> KMeansImageError:
    """Any error as a ``KMeansImageError``: ours as they are; the system's, memory and everything
    else as one plain sentence, with the technical words kept as details."""
    if isinstance(error, KMeansImageError):
        return error
    details = "".join(traceback.format_exception(error)).strip()
    if isinstance(error, MemoryError):
        return KMeansImageError("There is not enough memory for this.", details)
    if isinstance(error, OSError):
        return KMeansImageError(f"The system refused: {os_reason(error)}.", details)
    return KMeansImageError("Something unexpected went wrong; the details have the technical report.", details)


def path_error(path: str | os.PathLike[str], what: str, error: OSError) -> KMeansImageError:
    """An operating-system error about a path the user gave, as one plain sentence naming it."""
    return KMeansImageError(f"{display_name(path)}: {what}: {os_reason(error)}", details_of(error))
