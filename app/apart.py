"""Jobs run in a helper process, for work that is mostly Python (no Qt here).

numpy releases the GIL inside its large operations, so the image's k-means on a thread leaves the
GUI thread room.  The Learn tab's ten initializations and elbow are k-means on a few hundred
points: hundreds of small numpy calls that hold the GIL between them.  On a thread, they make the
GUI thread wait its turn for the GIL over and over while the image worker runs too (the Learn
tab's soak in ``bench_gui.py`` shows the stalls).  In a process of their own they take a
processor, never the GIL.

``Helper.run`` is called on a worker thread: it sends ``function(*args, report=...)`` to the
helper process, passes what the function reports to the token, and returns what it returns.  The
helper process is started by the first job and serves the next ones; a cancelled job is dropped
there at its next report.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import queue
import threading
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Protocol

from kmeans.errors import Cancelled

#: How often the waiting thread looks at its token while the helper works.
POLL_SECONDS = 0.02
_CONTEXT = multiprocessing.get_context("spawn")  # never fork a process that runs Qt threads


class JobToken(Protocol):
    """What ``run`` needs of a worker's token."""

    def is_set(self) -> bool: ...

    def report(self, payload: object) -> None: ...

    def check(self) -> None: ...


class HelperFailed(RuntimeError):
    """The helper process could not do the job (what the function raised there, or its end)."""


class Helper:
    """One helper process for several workers: each job runs there on a thread of its own."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()  # (the process, the connection's sending end and the inboxes)
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None
        # Each running job's messages, by its number (with the connection it was sent on).
        self._inboxes: dict[int, tuple[Connection, queue.SimpleQueue]] = {}
        self._numbers = itertools.count(1)

    @property
    def process(self) -> BaseProcess | None:
        """The helper process while one is running (None before the first job and after it ended)."""
        return self._process

    def run(self, function: Callable[..., Any], args: tuple, token: JobToken) -> Any:
        """``function(*args, report=report)`` in the helper process: ``token.report`` gets each
        payload reported, ``Cancelled`` is raised within ``POLL_SECONDS`` of the token being set,
        and what the function raises there arrives as ``HelperFailed``.  ``function`` must be
        importable (a module's function) and its arguments, reports and result picklable.

        Where the helper process cannot be started, or ends before the job has reported anything,
        the job runs here, on the calling thread.
        """
        def here() -> Any:
            return function(*args, report=lambda payload: (token.check(), token.report(payload)))

        inbox: queue.SimpleQueue = queue.SimpleQueue()
        number = next(self._numbers)
        reported = False
        try:
            try:
                with self._lock:
                    connection = self._started()
                    self._inboxes[number] = (connection, inbox)
                    connection.send(("job", number, function, args))
            except (OSError, ValueError):
                self.close()
                return here()
            while True:
                if token.is_set():
                    self._send(("cancel", number, None))
                    raise Cancelled("cancelled")
                try:
                    kind, payload = inbox.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    continue
                if kind == "progress":
                    reported = True
                    token.report(payload)
                elif kind == "done":
                    return payload
                elif kind == "cancelled":
                    raise Cancelled("cancelled")
                elif kind == "failed":
                    raise HelperFailed(payload)
                else:  # "ended": the process has gone (killed, or out of memory)
                    if reported:
                        raise HelperFailed(f"The {self.name} process stopped part-way.")
                    return here()
        finally:
            with self._lock:
                self._inboxes.pop(number, None)

    def close(self) -> None:
        """End the helper process (idempotent): asked first, killed if it does not end within a second."""
        with self._lock:
            process, connection = self._process, self._connection
            self._process = self._connection = None
            if connection is not None:
                with contextlib.suppress(OSError, ValueError):
                    connection.send(None)
        if process is not None:
            process.join(1.0)
            if process.is_alive():
                process.kill()
                process.join()
        # (the reading thread sees the pipe end, tells the jobs still waiting, and closes it)

    def _send(self, message: tuple) -> None:
        with self._lock:
            if self._connection is not None:
                with contextlib.suppress(OSError, ValueError):
                    self._connection.send(message)

    def _started(self) -> Connection:
        """The connection to a running helper process, started now if need be (lock held)."""
        if self._process is not None and self._process.is_alive() and self._connection is not None:
            return self._connection
        parent, child = _CONTEXT.Pipe()
        process = _CONTEXT.Process(target=_serve, args=(child,), name=f"kmeans-{self.name}", daemon=True)
        try:
            process.start()
        finally:
            child.close()
        self._process, self._connection = process, parent
        threading.Thread(target=self._read, args=(parent,), name=f"{self.name}Reader", daemon=True).start()
        return parent

    def _read(self, connection: Connection) -> None:
        """On a thread of its own: hand each message to its job's inbox, until the process ends."""
        while True:
            try:
                kind, number, payload = connection.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                _sent_on, inbox = self._inboxes.get(number, (None, None))
            if inbox is not None:  # (else the last words of a job given up)
                inbox.put((kind, payload))
        with self._lock:
            if self._connection is connection:
                self._process = self._connection = None
            waiting = [inbox for sent_on, inbox in self._inboxes.values() if sent_on is connection]
        for inbox in waiting:
            inbox.put(("ended", None))
        connection.close()


def _serve(connection: Connection) -> None:
    """The helper process: each job sent runs on a thread of its own, until told to stop (None)
    or the pipe closes; a cancel reaches the job at its next report."""
    cancelled: set[int] = set()
    sending = threading.Lock()

    def send(message: tuple) -> None:
        with sending:
            connection.send(message)

    def work(number: int, function: Callable[..., Any], args: tuple) -> None:
        def report(payload: object) -> None:
            if number in cancelled:
                raise Cancelled("cancelled")
            send(("progress", number, payload))

        try:
            answer = ("done", number, function(*args, report=report))
        except Cancelled:
            answer = ("cancelled", number, None)
        except Exception as error:  # the job's failure is the parent's to tell; this process goes on
            answer = ("failed", number, f"{type(error).__name__}: {error}")
        try:
            send(answer)
        except (OSError, ValueError):  # (the parent has gone)
            pass
        except Exception as error:  # an answer that cannot be pickled
            send(("failed", number, f"{type(error).__name__}: {error}"))
        cancelled.discard(number)

    for kind, number, *rest in received(connection):
        if kind == "cancel":
            cancelled.add(number)
        else:
            threading.Thread(target=work, args=(number, *rest), name=f"job {number}", daemon=True).start()


def received(connection: Connection) -> Iterator[Any]:
    """Each message that arrives on ``connection``, until a None or the end of the pipe."""
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        yield message
