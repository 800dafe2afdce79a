"""Files written completely or not at all.

The bytes go to a hidden temporary file beside the target (its name always fits where the
target's fits), which is synced and renamed into place; an existing file is kept unless told
otherwise, and when replaced keeps its permissions.  Every failure is an ``ImageSaveError``
saying what happened in plain words, and leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

from kmeans.errors import ImageSaveError, OutputExistsError, details_of, os_reason
from kmeans.wording import display_name


def write_atomic(path: str | os.PathLike[str], data: bytes | Callable[[io.BufferedWriter], None], *,
                 force: bool = False) -> None:
    """Write a file completely or not at all.

    ``data`` is the bytes, or a function that writes them to a binary file object.  The bytes go
    to a temporary file in the same folder, which is synced and then renamed over ``path``.  An
    existing ``path`` is kept unless ``force``; on any failure the temporary file is removed and
    ``ImageSaveError`` says what happened.
    """
    path = Path(path)
    name = display_name(path)
    folder = path.parent if str(path.parent) else Path(".")
    existing = check_target(path, force=force)
    tmp = folder / _temporary_name(path.name, folder)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as error:
        raise ImageSaveError(f"{name}: cannot write in {display_name(folder) or '.'} ({os_reason(error)})",
                             details_of(error)) from None
    if existing is not None:  # an overwritten file keeps its permissions
        with contextlib.suppress(OSError):
            os.chmod(fd, stat.S_IMODE(existing.st_mode))
    try:
        with os.fdopen(fd, "wb") as handle:
            if callable(data):
                data(handle)
            else:
                handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if force:
            os.replace(tmp, path)
        else:
            _place_new(tmp, path)
    except ImageSaveError:
        _remove(tmp)
        raise
    except OSError as error:
        _remove(tmp)
        raise ImageSaveError(f"{name}: could not be written ({os_reason(error)}); nothing was saved") from None
    except Exception as error:
        _remove(tmp)
        raise ImageSaveError(f"{name}: could not be encoded; nothing was saved", details_of(error)) from None


def check_target(path: str | os.PathLike[str], *, force: bool = False) -> os.stat_result | None:
    """Make sure a file can be written at ``path`` before any work is spent on it.

    Returns the existing file's status when it will be replaced (``force``), else None.  Raises
    ``OutputExistsError`` when it exists and ``force`` is not set, and ``ImageSaveError`` when it
    is a folder, its name is too long, or its folder cannot be looked into.
    """
    path = Path(path)
    name = display_name(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ImageSaveError(f"{name}: cannot be written there: {os_reason(error)}", details_of(error)) from None
    if stat.S_ISDIR(info.st_mode):
        raise ImageSaveError(f"{name}: is a folder")
    if not force:
        raise _exists(path)
    return info


def _temporary_name(name: str, folder: Path) -> str:
    """A hidden name beside ``name`` that is as short as needed to fit wherever ``name`` fits."""
    tag = f".{secrets.token_hex(4)}.tmp"
    try:
        limit = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        limit = 255
    stem = os.fsencode(name)[: max(1, min(limit, 255) - len(tag) - 1)]
    return os.fsdecode(b"." + stem) + tag


def _place_new(tmp: Path, path: Path) -> None:
    """Move ``tmp`` to ``path`` only if ``path`` does not exist, without a race where possible."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise _exists(path) from None
    except OSError:
        # No hard links here (some file systems): check, then rename.
        if path.exists():
            raise _exists(path) from None
        os.replace(tmp, path)
        return
    _remove(tmp)


def _exists(path: Path) -> OutputExistsError:
    return OutputExistsError(f"{display_name(path)}: already exists", os.fspath(path))


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
