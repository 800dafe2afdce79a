"""The size of an encoded palette image, computed where a cancel stops it at once.

libwebp encodes in one call that nothing can interrupt: seconds on a large image (4 s for a
10 MP photo at 256 colours).  libdeflate compresses a PNG's rows in one call too (0.3-0.5 s there).
A cancelled size job would go on taking a core from the k-means run that replaced it, so
``encoded_size`` encodes those formats in a child process and kills it when the token is set: WebP
always, PNG when the size is background work (a child takes about 0.15 s to start, which someone
waiting for the size would feel).  The child runs the same ``encode``, so the size is the exact
size of the file Export writes.  GIF and BMP are encoded here: their encoders write in blocks,
and ``encode`` stops between blocks.

A background size finds a child already started (about 0.15 s of start-up off its path).

Run as a program, this module is that child: it reads one job from standard input and writes the
size to standard output.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np

from kmeans.errors import Cancelled, CancelToken
from kmeans.imagefile import encode

#: Formats whose encoder cannot be stopped part-way: always encoded apart, and when in the background.
APART = ("webp",)
APART_IN_BACKGROUND = ("webp", "png")
#: How often the parent looks at the token while the child encodes.
POLL_SECONDS = 0.02
_ROOT = Path(__file__).resolve().parents[1]  # where ``kmeans`` is imported from, for the child
_CHILD = f"import sys; sys.path.insert(0, {str(_ROOT)!r}); from kmeans.encode_apart import child; child()"
_NICE = 10  # the child of a background job yields the processor as the job's thread does


def encoded_size(palette: np.ndarray, labels: np.ndarray, fmt: str, *, cancel: CancelToken | None = None,
                 dpi: tuple[float, float] | None = None, background: bool = False) -> int:
    """``len(encode(palette, labels, fmt, dpi=dpi))``; raises ``Cancelled`` within ``POLL_SECONDS``
    of ``cancel`` being set, with nothing left running.  ``background``: work nobody is waiting
    for (more formats go apart, and the child runs at low priority).

    Where a child process cannot be started, it is encoded here (the same size, not stoppable).
    """
    if fmt not in (APART_IN_BACKGROUND if background else APART) or cancel is None:
        return len(encode(palette, labels, fmt, cancel=cancel, dpi=dpi))
    if cancel.is_set():
        raise Cancelled("encoding cancelled")
    palette = np.ascontiguousarray(palette, dtype=np.uint8)
    labels = np.ascontiguousarray(labels, dtype=np.uint8)
    header = {"fmt": fmt, "shape": list(labels.shape), "palette": palette.tolist(), "dpi": list(dpi) if dpi else None}
    try:
        process = _take_spare() if background else None
        process = process or _start(background)
    except OSError:
        return len(encode(palette, labels, fmt, cancel=cancel, dpi=dpi))
    # (fed from a thread: the child reads nothing while it starts, and a cancel must not wait for it)
    feeder = threading.Thread(target=_feed, args=(process.stdin, json.dumps(header).encode() + b"\n", labels),
                              name="encode-apart-feed", daemon=True)
    feeder.start()
    try:
        while True:
            try:
                process.wait(POLL_SECONDS)
                break
            except subprocess.TimeoutExpired:
                if cancel.is_set():
                    raise Cancelled("encoding cancelled") from None
        out = process.stdout.read()
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        feeder.join()  # (over once the child is: it has read everything, or the pipe broke)
        process.stdout.close()
        if background:
            _make_spare()
    size = out.strip()
    if process.returncode != 0 or not size.isdigit():
        # (the child could not do it -- no memory, a Python without Pillow: the same size here)
        return len(encode(palette, labels, fmt, cancel=cancel, dpi=dpi))
    return int(size)


def _feed(pipe, header: bytes, labels: np.ndarray) -> None:
    try:
        with pipe:
            pipe.write(header)
            pipe.write(memoryview(labels).cast("B"))
    except OSError:  # (the child is gone: killed, or failed; its return code tells)
        pass


# A background size finds a child started and waiting (its Python, numpy and Pillow loaded): that
# start-up is off the path to the statistics.  The spare is started as each background size ends,
# and ends itself when this process does (its standard input closes).
_spare: subprocess.Popen | None = None
_spare_lock = threading.Lock()


def _take_spare() -> subprocess.Popen | None:
    global _spare
    with _spare_lock:
        process, _spare = _spare, None
    if process is not None and process.poll() is not None:  # (it died waiting)
        process.stdin.close()
        process.stdout.close()
        return None
    return process


def _make_spare() -> None:
    global _spare
    with _spare_lock:
        if _spare is None:
            with contextlib.suppress(OSError):
                _spare = _start(True)


@atexit.register
def _end_spare() -> None:
    process = _take_spare()
    if process is not None:
        process.kill()
        process.wait()
        process.stdin.close()
        process.stdout.close()


def _start(background: bool) -> subprocess.Popen:
    flags = 0
    if sys.platform == "win32":
        flags = subprocess.CREATE_NO_WINDOW | (subprocess.BELOW_NORMAL_PRIORITY_CLASS if background else 0)
    # (on Linux a child inherits the nice value of the background thread that starts it)
    return subprocess.Popen([sys.executable, "-c", _CHILD] + (["--background"] if background else []),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            creationflags=flags)


def child() -> None:
    """The child's side: one job from standard input, its size (decimal) to standard output."""
    if "--background" in sys.argv:
        _lower_priority(_NICE)
    line = sys.stdin.buffer.readline()
    if not line:  # (a spare whose parent has ended)
        return
    header = json.loads(line)
    shape = tuple(header["shape"])
    labels = np.frombuffer(sys.stdin.buffer.read(), np.uint8).reshape(shape)
    palette = np.array(header["palette"], np.uint8)
    dpi = tuple(header["dpi"]) if header["dpi"] else None
    size = len(encode(palette, labels, header["fmt"], dpi=dpi))
    sys.stdout.write(f"{size}\n")
    sys.stdout.flush()


def _lower_priority(nice: int) -> None:
    if sys.platform == "win32":
        import ctypes

        below_normal = 0x4000
        ctypes.windll.kernel32.SetPriorityClass(ctypes.windll.kernel32.GetCurrentProcess(), below_normal)
    elif hasattr(os, "setpriority"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, max(nice, os.getpriority(os.PRIO_PROCESS, 0)))
