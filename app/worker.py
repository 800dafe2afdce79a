"""The worker: one long-lived thread that runs the latest job, in the manner of Qt's Mandelbrot.

The GUI submits a job (a function taking a ``Token``); a new submission cancels the running job,
which stops at its next check (every k-means iteration), and replaces any job still waiting.
Results are stamped with a generation number and only the current generation's signals reach
the GUI (ndv's generation counter), so a stale result can never overwrite a newer one.  Signals
carry plain data.  ``stop()`` cancels, wakes and joins the thread: closing the window mid-run
never leaves a running thread behind.
"""

from __future__ import annotations

import threading
import traceback
import weakref
from collections.abc import Callable
from typing import Any, ClassVar

from PySide6.QtCore import QMutex, QMutexLocker, QObject, QThread, QWaitCondition, Signal, Slot

from kmeans.errors import Cancelled, KMeansImageError


def running_threads() -> list[str]:
    """Names of worker threads still running (tests use it to catch leaks)."""
    return [loop.objectName() for loop in list(_Loop.started_loops) if loop.isRunning()]


class Token:
    """Handed to a job: ``is_set()`` says it should stop; ``report()`` sends progress to the GUI."""

    def __init__(self, generation: int, report: Callable[[int, object], None]):
        self.generation = generation
        self._event = threading.Event()
        self._report = report

    def is_set(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        self._event.set()

    def report(self, payload: object) -> None:
        """Send ``payload`` to the GUI as ``progressed`` (dropped if this job is no longer current)."""
        self._report(self.generation, payload)

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True as soon as the job is cancelled (for paced jobs)."""
        return self._event.wait(seconds)

    def check(self) -> None:
        """Raise ``Cancelled`` if the job should stop (for jobs with steps of their own)."""
        if self._event.is_set():
            raise Cancelled("cancelled")


Job = Callable[[Token], Any]


class Worker(QObject):
    """Runs one job at a time on its own thread; the newest submission wins.

    Signals (current job only): ``progressed(payload)``, ``finished(result)``,
    ``failed(message)``, ``cancelled()``; ``busy_changed(bool)`` when it starts or stops working.
    """

    progressed = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    busy_changed = Signal(bool)

    # From the thread, stamped with the job's generation; filtered on the GUI thread.
    _thread_progressed = Signal(int, object)
    _thread_finished = Signal(int, object)
    _thread_failed = Signal(int, str)
    _thread_cancelled = Signal(int)

    def __init__(self, name: str, parent: QObject | None = None):
        super().__init__(parent)
        self.setObjectName(name)
        self._mutex = QMutex()
        self._wake = QWaitCondition()
        self._pending: tuple[Job, Token] | None = None
        self._running: Token | None = None
        self._generation = 0
        self._abort = False
        self._busy = False
        self._thread_progressed.connect(self._relay_progress)
        self._thread_finished.connect(self._relay_finished)
        self._thread_failed.connect(self._relay_failed)
        self._thread_cancelled.connect(self._relay_cancelled)
        self._loop = _Loop(self)
        self._loop.setObjectName(f"{name}Thread")
        self._loop.start(QThread.Priority.LowPriority)

    @property
    def busy(self) -> bool:
        """A job is running or waiting (as the GUI last heard)."""
        return self._busy

    def submit(self, job: Job) -> int:
        """Run ``job`` next, cancelling the running one; returns its generation."""
        with QMutexLocker(self._mutex):
            self._drop_work()
            token = Token(self._generation, self._thread_progressed.emit)
            self._pending = (job, token)
            self._wake.wakeOne()
            generation = self._generation
        self._set_busy(True)
        return generation

    def cancel(self) -> None:
        """Stop the running job at its next check and drop the waiting one."""
        with QMutexLocker(self._mutex):
            self._drop_work()
        self._set_busy(False)
        self.cancelled.emit()

    def stop(self) -> None:
        """Cancel everything and join the thread (idempotent)."""
        with QMutexLocker(self._mutex):
            self._abort = True
            self._drop_work()
            self._wake.wakeAll()
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

    def is_current(self, generation: int) -> bool:
        return generation == self._generation

    # -- on the worker thread -------------------------------------------------------------------

    def _next_job(self) -> tuple[Job, Token] | None:
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

    @Slot(int, object)
    def _relay_progress(self, generation: int, payload: object) -> None:
        if self.is_current(generation):
            self.progressed.emit(payload)

    @Slot(int, object)
    def _relay_finished(self, generation: int, result: object) -> None:
        if self.is_current(generation):
            self._set_busy(False)
            self.finished.emit(result)

    @Slot(int, str)
    def _relay_failed(self, generation: int, message: str) -> None:
        if self.is_current(generation):
            self._set_busy(False)
            self.failed.emit(message)

    @Slot(int)
    def _relay_cancelled(self, generation: int) -> None:
        if self.is_current(generation):
            self._set_busy(False)
            self.cancelled.emit()


class _Loop(QThread):
    """The thread itself: waits for a job, runs it, reports, and waits again."""

    started_loops: ClassVar[weakref.WeakSet[_Loop]] = weakref.WeakSet()

    def __init__(self, worker: Worker):
        super().__init__()
        self._worker = worker
        _Loop.started_loops.add(self)

    def run(self) -> None:
        worker = self._worker
        while (item := worker._next_job()) is not None:
            job, token = item
            try:
                result = job(token)
            except Cancelled:
                worker._thread_cancelled.emit(token.generation)
            except KMeansImageError as error:
                worker._thread_failed.emit(token.generation, str(error))
            except MemoryError:
                worker._thread_failed.emit(token.generation, "Not enough memory for this image.")
            except Exception as error:  # a bug: say so in the GUI, keep the details for developers
                traceback.print_exc()
                worker._thread_failed.emit(token.generation, f"Something went wrong: {error}")
            else:
                if token.is_set():
                    worker._thread_cancelled.emit(token.generation)
                else:
                    worker._thread_finished.emit(token.generation, result)
            finally:
                worker._job_done()
