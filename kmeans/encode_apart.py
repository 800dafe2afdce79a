"""The size of an encoded palette image, computed where a cancel stops it at once.

libwebp encodes in one call that nothing can interrupt: seconds on a large image (4 s for a 10 MP
photo at 256 colours).  libdeflate compresses a PNG's rows in one call too (0.3-0.5 s there).  A
cancelled size job would go on taking a core from the k-means run that replaced it, so
``encoded_size`` encodes those formats in a child process and kills it when the token is set:
WebP always, PNG when the size is background work (a child takes about 0.15 s to start, which
someone waiting for the size would feel), both from a megapixel on.  The child runs the same
``encode``, so the size is the exact size of the file Export writes.  GIF and BMP are encoded
here: their encoders write in blocks, and ``encode`` stops between blocks.

A child serves job after job: it is kept, waiting, after each answer (one at normal priority for
sizes someone waits for, as Auto K's evaluations are, one at low priority for background sizes), so
only the first size pays a child's start-up and a cancelled one (killed) the next.  A background size
finds a child already started.  Children are "spawn" processes (``main.py`` calls ``freeze_support``
for a frozen bundle) running ``_serve``; ``end_spare`` ends the waiting ones.
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

from kmeans.animation import Animation
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
                 dpi: tuple[float, float] | None = None, animation: Animation | None = None,
                 frame_entries: tuple[int, ...] | None = None, background: bool = False) -> int:
    """``len(encode(palette, labels, fmt, dpi=dpi, animation=animation, frame_entries=...))``; raises ``Cancelled``
    within ``POLL_SECONDS`` of ``cancel`` being set, with nothing left running.  ``background``:
    work nobody is waiting for (more formats go apart, and the child runs at low priority).

    Where a child process cannot be started or fails, it is encoded here (the same size, not stoppable).
    """
    return _encoded(palette, labels, fmt, cancel, dpi, (animation, frame_entries), background, whole=False)


def encoded(palette: np.ndarray, labels: np.ndarray, fmt: str, *, cancel: CancelToken | None = None,
            dpi: tuple[float, float] | None = None, animation: Animation | None = None,
            frame_entries: tuple[int, ...] | None = None) -> bytes:
    """``encode(palette, labels, fmt, dpi=dpi, animation=animation, frame_entries=...)``, stopped as
    ``encoded_size`` is: within ``POLL_SECONDS`` of ``cancel``, even in the middle of a WebP encode (an export)."""
    return _encoded(palette, labels, fmt, cancel, dpi, (animation, frame_entries), False, whole=True)


def _encoded(palette: np.ndarray, labels: np.ndarray, fmt: str, cancel: CancelToken | None,
             dpi: tuple[float, float] | None, frames: tuple[Animation | None, tuple[int, ...] | None],
             background: bool, *, whole: bool) -> int | bytes:
    """The file's bytes (``whole``) or their number, encoded apart when its encoder could not be
    stopped; ``frames``: the animation and its frames' parts of the palette."""
    animation, frame_entries = frames

    def here() -> int | bytes:
        data = encode(palette, labels, fmt, cancel=cancel, dpi=dpi, animation=animation, frame_entries=frame_entries)
        return data if whole else len(data)

    if fmt not in (APART_IN_BACKGROUND if background else APART) or cancel is None or \
            np.size(labels) < APART_FROM_PIXELS:
        return here()
    if cancel.is_set():
        raise Cancelled("encoding cancelled")
    palette = np.ascontiguousarray(palette, dtype=np.uint8)
    labels = np.ascontiguousarray(labels, dtype=np.uint8 if labels.dtype == np.uint8 else np.uint16)
    try:
        child = _take_spare(background) or start_child(background)
    except OSError:
        return here()
    # (fed from a thread: the child reads nothing while it starts, and a cancel must not wait for it)
    job = (fmt, palette, labels.shape, labels.dtype.str, dpi, animation, frame_entries, whole)
    feeder = threading.Thread(target=_feed, args=(child.connection, job, labels), name="encode-apart-feed", daemon=True)
    feeder.start()
    answer = None
    try:
        while not child.connection.poll(POLL_SECONDS):
            if cancel.is_set():
                raise Cancelled("encoding cancelled")
            if not child.alive() and not child.connection.poll():
                break
        with contextlib.suppress(EOFError, OSError):
            answer = child.connection.recv()
    finally:
        answered = isinstance(answer, bytes if whole else int)
        if answered:
            feeder.join()  # (over: the child has read everything)
            _keep_spare(child, background)  # (it waits for the next job)
        else:
            child.end()  # (killed at once if it is still at work)
            feeder.join()  # (over once the pipe is broken)
            child.connection.close()
    if not answered:
        return here()  # (the child could not do it -- no memory, say: the same here)
    return answer


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
    """A child process that encodes the jobs sent to it until its connection closes (at low
    priority when ``background``)."""
    parent, child = _CONTEXT.Pipe()
    process = _CONTEXT.Process(target=_serve, args=(child, background), name="kmeans-encode", daemon=True)
    process.start()
    child.close()
    return _Child(process, parent)


# The children waiting for their next job, by priority (True: background).  A background size
# finds one started (its Python, numpy and Pillow loaded): that start-up is off the path to the
# statistics.  They are daemon processes, ended with this one.
_spares: dict[bool, _Child] = {}
_spare_lock = threading.Lock()


def _take_spare(background: bool) -> _Child | None:
    with _spare_lock:
        child = _spares.pop(background, None)
    if child is not None and not child.alive():  # (it died waiting)
        child.end()
        child.connection.close()
        return None
    return child


def _keep_spare(child: _Child, background: bool) -> None:
    with _spare_lock:
        extra = _spares.get(background)
        _spares[background] = child
    if extra is not None:  # (two sizes at once: one child waiting is enough)
        extra.end()
        extra.connection.close()


def end_spare() -> None:
    """End the children kept waiting for their next job (a window that closes calls this; one left
    behind ends with this process anyway)."""
    for background in (False, True):
        child = _take_spare(background)
        if child is not None:
            child.end()
            child.connection.close()


def _serve(connection: Connection, background: bool) -> None:
    """The child: each job from ``connection`` in turn, its bytes or their number sent back (None
    when it fails), until the parent closes it."""
    if background:
        lower_priority(_NICE)
    while True:
        try:
            fmt, palette, shape, dtype, dpi, animation, frame_entries, whole = connection.recv()
            labels = np.frombuffer(connection.recv_bytes(), np.dtype(dtype)).reshape(shape)
        except (EOFError, OSError):  # (the parent has ended, or closed this child)
            break
        data = answer = None  # (on failure, and no traceback here: the parent encodes it itself and says why in words)
        with contextlib.suppress(Exception):
            data = encode(palette, labels, fmt, dpi=dpi, animation=animation, frame_entries=frame_entries)
            answer = data if whole else len(data)
        connection.send(answer)
        del palette, labels, answer, data  # (not held while it waits)
    connection.close()
    os._exit(0)  # (an interpreter's orderly exit would keep a parent that waits for it 40 ms longer)


def lower_priority(nice: int) -> None:
    """Lower this process's priority to at least ``nice`` (below normal on Windows)."""
    if sys.platform == "win32":
        import ctypes

        below_normal = 0x4000
        ctypes.windll.kernel32.SetPriorityClass(ctypes.windll.kernel32.GetCurrentProcess(), below_normal)
    elif hasattr(os, "setpriority"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, max(nice, os.getpriority(os.PRIO_PROCESS, 0)))
