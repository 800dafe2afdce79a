"""The worker: one long-lived thread that runs the latest job, in the manner of Qt's Mandelbrot.

The GUI submits a job (a function taking a ``Token``) together with the callbacks that want its
outcome: ``on_done(result)``, ``on_progress(payload)``, ``on_failed(error)``, ``on_cancelled()``.
A new submission cancels the running job, which stops at its next check (every k-means
iteration), and replaces any job still waiting.  Each job carries a generation number and only
the current generation's callbacks are ever called, on the GUI thread (ndv's generation counter):
a stale result can never overwrite a newer one, and nobody has to sort results by type.
``stop()`` cancels, wakes and joins the thread: closing the window mid-run never leaves a running
thread behind, and ``stop_all()`` does it for every worker on every other way out (the
application quitting, the end of a script, ``sys.exit``, an uncaught exception), since a QThread
destroyed while it runs aborts the whole process.  Whatever a job raises reaches ``on_failed`` as
one ``KMeansImageError`` (a plain sentence, the technical part in ``details``): the worker is each
window job's error boundary.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QCoreApplication, QMutex, QMutexLocker, QObject, QThread, QWaitCondition, Signal, Slot

from kmeans.errors import Cancelled, KMeansImageError, describe

_BACKGROUND_NICE = 10  # a nice-10 thread gets about a tenth of a core that a nice-0 one wants


def running_threads() -> list[str]:
    """Names of worker threads still running (tests use it to catch leaks)."""
    return [loop.objectName() for loop in list(_Loop.started_loops) if loop.isRunning()]


def stop_all() -> None:
    """Stop and join every worker still alive (idempotent): what the process runs before it ends."""
    for worker in list(Worker.alive):
        if shiboken6.isValid(worker):
            worker.stop()
    for loop in list(_Loop.started_loops):  # a worker already deleted may leave its thread behind
        if shiboken6.isValid(loop) and loop.isRunning():
            loop.quit_and_wait()


atexit.register(stop_all)  # runs before the interpreter tears down the objects holding the threads


P = TypeVar("P")  # what a job reports as it goes
R = TypeVar("R")  # what a job returns


class Token(Generic[P]):
    """Handed to a job: ``is_set()`` says it should stop; ``report()`` sends progress to the GUI."""

    def __init__(self, generation: int, report: Callable[[int, object], None]):
        self.generation = generation
        self._event = threading.Event()
        self._report = report

    def is_set(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        self._event.set()

    def report(self, payload: P) -> None:
        """Send ``payload`` to the job's ``on_progress`` (dropped if the job is no longer current)."""
        self._report(self.generation, payload)

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True as soon as the job is cancelled (for paced jobs)."""
        return self._event.wait(seconds)

    def check(self) -> None:
        """Raise ``Cancelled`` if the job should stop (for jobs with steps of their own)."""
        if self._event.is_set():
            raise Cancelled("cancelled")


Job = Callable[[Token[P]], R]


@dataclass(frozen=True)
class _Callbacks(Generic[P, R]):
    """Where one job's outcome goes (each optional)."""

    generation: int
    done: Callable[[R], None] | None
    progress: Callable[[P], None] | None
    failed: Callable[[KMeansImageError], None] | None
    cancelled: Callable[[], None] | None


class Worker(QObject):
    """Runs one job at a time on its own thread; the newest submission wins.

    ``busy_changed(bool)`` says when it starts or stops working; everything else goes to the
    callbacks given with each job.
    """

    busy_changed = Signal(bool)
    alive: ClassVar[weakref.WeakSet[Worker]] = weakref.WeakSet()
    _hooked: ClassVar[object] = None  # the application whose aboutToQuit runs stop_all

    # From the thread, stamped with the job's generation; filtered on the GUI thread.
    _thread_progressed = Signal(int, object)
    _thread_finished = Signal(int, object)
    _thread_failed = Signal(int, object)
    _thread_cancelled = Signal(int)

    def __init__(self, name: str, parent: QObject | None = None, *, background: bool = False):
        """``background``: its jobs yield the processor to everyone else's (statistics, sizes and
        curves must not slow the k-means run a person is waiting for)."""
        super().__init__(parent)
        self.setObjectName(name)
        self._mutex = QMutex()
        self._wake = QWaitCondition()
        self._pending: tuple[Job[Any, Any], Token[Any]] | None = None
        self._running: Token[Any] | None = None
        self._generation = 0
        self._callbacks: _Callbacks[Any, Any] | None = None  # the current job's (GUI thread only)
        self._abort = False
        self._busy = False
        self._thread_progressed.connect(self._relay_progress)
        self._thread_finished.connect(self._relay_finished)
        self._thread_failed.connect(self._relay_failed)
        self._thread_cancelled.connect(self._relay_cancelled)
        self._loop = _Loop(self, background)
        self._loop.setObjectName(f"{name}Thread")
        Worker.alive.add(self)
        app = QCoreApplication.instance()
        if app is not None and Worker._hooked is not app:  # (once per application: a script may make another)
            app.aboutToQuit.connect(stop_all)
            Worker._hooked = app
        self._loop.start(QThread.Priority.LowestPriority if background else QThread.Priority.LowPriority)

    @property
    def busy(self) -> bool:
        """A job is running or waiting (as the GUI last heard)."""
        return self._busy

    def submit(
        self,
        job: Job[P, R],
        *,
        on_done: Callable[[R], None] | None = None,
        on_progress: Callable[[P], None] | None = None,
        on_failed: Callable[[KMeansImageError], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
    ) -> int:
        """Run ``job`` next, cancelling the running one; returns its generation.

        The callbacks run on the GUI thread, and only while this job is the current one: ``on_done``
        gets what the job returns, ``on_progress`` each payload it reports (typed by the job's
        ``Token[P]``), ``on_failed`` whatever it raised, as one plain ``KMeansImageError``.
        """
        with QMutexLocker(self._mutex):
            self._drop_work()
            token = Token(self._generation, self._thread_progressed.emit)
            self._pending = (job, token)
            self._wake.wakeOne()
            generation = self._generation
        self._callbacks = _Callbacks(generation, on_done, on_progress, on_failed, on_cancelled)
        self._set_busy(True)
        return generation

    def cancel(self) -> None:
        """Stop the running job at its next check and drop the waiting one; its ``on_cancelled``
        runs now (it will hear nothing else)."""
        callbacks = self._callbacks
        with QMutexLocker(self._mutex):
            self._drop_work()
        self._callbacks = None
        self._set_busy(False)
        if callbacks is not None and callbacks.cancelled is not None:
            callbacks.cancelled()

    def stop(self) -> None:
        """Cancel everything and join the thread (idempotent); no callback runs after this."""
        with QMutexLocker(self._mutex):
            self._abort = True
            self._drop_work()
            self._wake.wakeAll()
        self._callbacks = None
        self._loop.wait()
        self._set_busy(False)

    def _drop_work(self) -> None:
        """Start a new generation: cancel the running job, drop the waiting one (mutex held)."""
        self._generation += 1
        if self._pending is not None:
            self._pending[1].cancel()
            self._pending = None
        if self._running is not None:
            self._running.cancel()

    # -- on the worker thread -------------------------------------------------------------------

    def _next_job(self) -> tuple[Job[Any, Any], Token[Any]] | None:
        with QMutexLocker(self._mutex):
            while self._pending is None and not self._abort:
                self._wake.wait(self._mutex)
            if self._abort:
                return None
            job, token = self._pending
            self._pending = None
            self._running = token
            return job, token

    def _job_done(self) -> None:
        with QMutexLocker(self._mutex):
            self._running = None

    # -- back on the GUI thread -----------------------------------------------------------------

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)

    def _current(self, generation: int) -> _Callbacks[Any, Any] | None:
        callbacks = self._callbacks
        return callbacks if callbacks is not None and callbacks.generation == generation else None

    def _end(self, generation: int) -> _Callbacks[Any, Any] | None:
        """The callbacks of a job that has just ended, if it is still the current one."""
        callbacks = self._current(generation)
        if callbacks is not None:
            self._callbacks = None
            self._set_busy(False)
        return callbacks

    @Slot(int, object)
    def _relay_progress(self, generation: int, payload: object) -> None:
        callbacks = self._current(generation)
        if callbacks is not None and callbacks.progress is not None:
            callbacks.progress(payload)

    @Slot(int, object)
    def _relay_finished(self, generation: int, result: object) -> None:
        callbacks = self._end(generation)
        if callbacks is not None and callbacks.done is not None:
            callbacks.done(result)

    @Slot(int, object)
    def _relay_failed(self, generation: int, error: object) -> None:
        callbacks = self._end(generation)
        if callbacks is not None and callbacks.failed is not None:
            callbacks.failed(error)

    @Slot(int)
    def _relay_cancelled(self, generation: int) -> None:
        callbacks = self._end(generation)
        if callbacks is not None and callbacks.cancelled is not None:
            callbacks.cancelled()


class _Loop(QThread):
    """The thread itself: waits for a job, runs it, reports, and waits again."""

    started_loops: ClassVar[weakref.WeakSet[_Loop]] = weakref.WeakSet()

    def __init__(self, worker: Worker, background: bool):
        super().__init__()
        self._worker = worker
        self._background = background
        _Loop.started_loops.add(self)

    def quit_and_wait(self) -> None:
        """End the loop of a worker that can no longer be asked to stop, and join it."""
        worker = self._worker
        with QMutexLocker(worker._mutex):
            worker._abort = True
            worker._drop_work()
            worker._wake.wakeAll()
        self.wait()

    def run(self) -> None:
        if self._background and sys.platform.startswith("linux"):
            # Qt's thread priorities do nothing under Linux's default scheduler; a thread's own
            # nice value does (elsewhere LowestPriority above is the native priority).
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _BACKGROUND_NICE)
        worker = self._worker
        while (item := worker._next_job()) is not None:
            job, token = item
            try:
                result = job(token)
            except Cancelled:
                worker._thread_cancelled.emit(token.generation)
            except Exception as error:  # the one boundary of every window job: one plain sentence
                worker._thread_failed.emit(token.generation, describe(error))
            else:
                if token.is_set():
                    worker._thread_cancelled.emit(token.generation)
                else:
                    worker._thread_finished.emit(token.generation, result)
            finally:
                worker._job_done()
