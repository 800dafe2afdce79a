"""The size of an encoded palette image, computed where a cancel stops it at once.

libwebp encodes in one call that nothing can interrupt: seconds on a large image (4 s for a 10 MP
photo at 256 colours).  libdeflate compresses a PNG's rows in one call too (0.3-0.5 s there).  A
cancelled size job would go on taking a core from the k-means run that replaced it, so
``encoded_size`` encodes those formats in a child process and kills it when the token is set:
WebP always, PNG when the size is background work (a child takes about 0.15 s to start, which
someone waiting for the size would feel), both from a megapixel on.  The child runs the same
``encode``, so the size is the exact size of the file Export writes.  GIF and BMP are encoded
here: their encoders write in blocks, and ``encode`` stops between blocks.

A background size finds a child already started, so that start-up is off its path.  The child is
a "spawn" process (``main.py`` calls ``freeze_support`` for a frozen bundle) that does one job and
ends: ``_serve``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

import numpy as np

from kmeans.errors import Cancelled, CancelToken
from kmeans.imagefile import encode

#: Formats whose encoder cannot be stopped part-way: always encoded apart, and when in the background.
APART = ("webp",)
APART_IN_BACKGROUND = ("webp", "png")
#: Smaller images are encoded here: within 0.1-0.4 s (libdeflate's slowest level is kept for
#: them), less than a child would cost to start.
APART_FROM_PIXELS = 1_000_000
#: How often the parent looks at the token while the child encodes.
POLL_SECONDS = 0.02
_CONTEXT = multiprocessing.get_context("spawn")  # never fork a process that runs Qt threads
_NICE = 10  # the child of a background job yields the processor as the job's thread does


def encoded_size(palette: np.ndarray, labels: np.ndarray, fmt: str, *, cancel: CancelToken | None = None,
                 dpi: tuple[float, float] | None = None, background: bool = False) -> int:
    """``len(encode(palette, labels, fmt, dpi=dpi))``; raises ``Cancelled`` within ``POLL_SECONDS``
    of ``cancel`` being set, with nothing left running.  ``background``: work nobody is waiting
    for (more formats go apart, and the child runs at low priority).

    Where a child process cannot be started or fails, it is encoded here (the same size, not stoppable).
    """
    def here() -> int:
        return len(encode(palette, labels, fmt, cancel=cancel, dpi=dpi))

    if fmt not in (APART_IN_BACKGROUND if background else APART) or cancel is None or \
            np.size(labels) < APART_FROM_PIXELS:
        return here()
    if cancel.is_set():
        raise Cancelled("encoding cancelled")
    palette = np.ascontiguousarray(palette, dtype=np.uint8)
    labels = np.ascontiguousarray(labels, dtype=np.uint8)
    try:
        child = (_take_spare() if background else None) or start_child(background)
    except OSError:
        return here()
    # (fed from a thread: the child reads nothing while it starts, and a cancel must not wait for it)
    feeder = threading.Thread(target=_feed, args=(child.connection, (fmt, palette, labels.shape, dpi), labels),
                              name="encode-apart-feed", daemon=True)
    feeder.start()
    size, grace = None, 0.0
    try:
        while not child.connection.poll(POLL_SECONDS):
            if cancel.is_set():
                raise Cancelled("encoding cancelled")
            if not child.alive() and not child.connection.poll():
                break
        with contextlib.suppress(EOFError, OSError):
            size = child.connection.recv()
        grace = 5.0  # (it has answered, and ends by itself)
    finally:
        child.end(grace)  # (killed at once if it is still at work)
        feeder.join()  # (over once the child is: it has read everything, or the pipe broke)
        child.connection.close()
    if background:
        # (not after a cancel: then a k-means run has just started, and a starting child would slow it)
        _make_spare()
    if not isinstance(size, int):
        return here()  # (the child could not do it -- no memory, say: the same size here)
    return size


@dataclass
class _Child:
    process: BaseProcess
    connection: Connection

    def alive(self) -> bool:
        return self.process.is_alive()

    def end(self, grace: float = 0.0) -> None:
        """Wait ``grace`` seconds for it to end, then kill it, and wait for that (its connection stays open)."""
        self.process.join(grace)
        if self.process.is_alive():
            self.process.kill()
        self.process.join()


def _feed(connection: Connection, job: tuple, labels: np.ndarray) -> None:
    with contextlib.suppress(OSError, ValueError):  # (the child is gone: killed, or failed)
        connection.send(job)
        connection.send_bytes(memoryview(labels).cast("B"))


def start_child(background: bool) -> _Child:
    """A child process that encodes one job sent to it and ends (at low priority when ``background``)."""
    parent, child = _CONTEXT.Pipe()
    process = _CONTEXT.Process(target=_serve, args=(child, background), name="kmeans-encode", daemon=True)
    process.start()
    child.close()
    return _Child(process, parent)


# A background size finds a child started and waiting (its Python, numpy and Pillow loaded): that
# start-up is off the path to the statistics.  The spare is started as each background size is
# done; it is a daemon process, ended with this one.
_spare: _Child | None = None
_spare_lock = threading.Lock()


def _take_spare() -> _Child | None:
    global _spare
    with _spare_lock:
        child, _spare = _spare, None
    if child is not None and not child.alive():  # (it died waiting)
        child.end()
        child.connection.close()
        return None
    return child


def _make_spare() -> None:
    global _spare
    with _spare_lock:
        if _spare is None:
            with contextlib.suppress(OSError):
                _spare = start_child(True)


def end_spare() -> None:
    """End the child kept waiting for the next background size, if there is one (a window that
    closes calls this; a spare left behind ends with this process anyway)."""
    child = _take_spare()
    if child is not None:
        child.end()
        child.connection.close()


def _serve(connection: Connection, background: bool) -> None:
    """The child: one job from ``connection``, its size sent back."""
    if background:
        lower_priority(_NICE)
    try:
        fmt, palette, shape, dpi = connection.recv()
        labels = np.frombuffer(connection.recv_bytes(), np.uint8).reshape(shape)
    except EOFError:  # (a spare whose parent has ended, or a job cancelled before it arrived)
        return
    connection.send(len(encode(palette, labels, fmt, dpi=dpi)))
    connection.close()
    os._exit(0)  # (answered: an interpreter's orderly exit would keep the parent waiting 40 ms)


def lower_priority(nice: int) -> None:
    """Lower this process's priority to at least ``nice`` (below normal on Windows)."""
    if sys.platform == "win32":
        import ctypes

        below_normal = 0x4000
        ctypes.windll.kernel32.SetPriorityClass(ctypes.windll.kernel32.GetCurrentProcess(), below_normal)
    elif hasattr(os, "setpriority"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, max(nice, os.getpriority(os.PRIO_PROCESS, 0)))
