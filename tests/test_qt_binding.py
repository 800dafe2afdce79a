"""Guards against a Qt binding that breaks the worker's signals (see pyproject.toml)."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, QThread, Signal


class _Emitter(QObject):
    happened = Signal(int, object)


class _Thread(QThread):
    def __init__(self, emitter: _Emitter, times: int):
        super().__init__()
        self.emitter, self.times = emitter, times

    def run(self) -> None:
        for i in range(self.times):
            self.emitter.happened.emit(i, {"i": i})


def test_emitting_signals_keeps_reference_counts(qapp):
    """PySide6 6.12.0 drops a reference to the bool that emit() returns: 1000 emits kill Python 3.11."""
    emitter = _Emitter()
    received: list[int] = []
    emitter.happened.connect(lambda i, _payload: received.append(i))
    before = sys.getrefcount(True) + sys.getrefcount(False)
    for i in range(300):
        emitter.happened.emit(i, None)
    thread = _Thread(emitter, 300)
    thread.start()
    thread.wait()
    qapp.processEvents()
    after = sys.getrefcount(True) + sys.getrefcount(False)
    assert len(received) == 600
    assert after - before > -50, "this Qt binding loses references on emit; see pyproject.toml"
