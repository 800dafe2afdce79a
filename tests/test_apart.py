"""The helper process that runs mostly-Python jobs away from the GUI's GIL (``app.apart``)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.apart import Helper, HelperFailed
from kmeans.errors import Cancelled

pytestmark = pytest.mark.slow  # (each test starts a process)


class _Token:
    def __init__(self, on_report: Callable[[object], None] | None = None) -> None:
        self.event = threading.Event()
        self.reports: list[object] = []
        self._on_report = on_report

    def is_set(self) -> bool:
        return self.event.is_set()

    def check(self) -> None:
        if self.is_set():
            raise Cancelled("cancelled")

    def report(self, payload: object) -> None:
        self.reports.append(payload)
        if self._on_report is not None:
            self._on_report(payload)


# -- jobs (module functions: the helper process imports them) ------------------------------------
# Each gives up after BOUND seconds, so a broken helper fails its test instead of hanging it.

BOUND = 10.0


def _waited(condition: Callable[[], bool]) -> bool:
    """Whether ``condition`` came true within BOUND seconds."""
    until = time.monotonic() + BOUND
    while not condition():
        if time.monotonic() > until:
            return False
        time.sleep(0.005)
    return True


def _count(n: int, report) -> int:
    for i in range(n):
        report(i)
    return os.getpid()


def _wait_for(path: str, report) -> int:
    return os.getpid() if _waited(Path(path).exists) else -1


def _touch(path: str, report) -> int:
    Path(path).touch()
    return os.getpid()


def _until_cancelled(report) -> str:
    def tick() -> bool:
        report("tick")
        return False

    _waited(tick)
    return "never cancelled"


def _fail(report) -> None:
    raise ValueError("no such cluster")


def _block_apart(parent: int, report) -> str:
    """Waits in the helper process (where it is killed); returns at once in the parent."""
    return "here" if _waited(lambda: os.getpid() == parent) else "apart"


def _report_then_block(report) -> str:
    report("started")
    _waited(lambda: False)
    return "never killed"


@pytest.fixture
def helper():
    helper = Helper("test")
    yield helper
    helper.close()


def test_a_job_runs_in_the_helper_process_and_its_reports_arrive_in_order(helper):
    token = _Token()
    pid = helper.run(_count, (5,), token)
    assert pid != os.getpid()
    assert token.reports == [0, 1, 2, 3, 4]
    assert helper.run(_count, (0,), _Token()) == pid  # (the same process serves the next job)


def test_two_jobs_run_at_once_in_one_process(helper, tmp_path):
    flag = str(tmp_path / "flag")
    waited: list[int] = []
    waiting = threading.Thread(target=lambda: waited.append(helper.run(_wait_for, (flag,), _Token())))
    waiting.start()
    touched = helper.run(_touch, (flag,), _Token())  # (would wait forever were the jobs run in turn)
    waiting.join(30)
    assert waited == [touched]


def test_a_cancelled_job_stops_and_the_process_goes_on(helper):
    token = _Token(on_report=lambda _payload: token.event.set())
    with pytest.raises(Cancelled):
        helper.run(_until_cancelled, (), token)
    assert token.reports  # (it did start)
    pid = helper.process.pid
    assert helper.run(_count, (2,), _Token()) == pid


def test_what_the_job_raises_arrives_as_helper_failed(helper):
    with pytest.raises(HelperFailed, match="ValueError: no such cluster"):
        helper.run(_fail, (), _Token())
    assert helper.run(_count, (0,), _Token()) != os.getpid()  # (and the process goes on)


def test_without_a_helper_process_the_job_runs_here(helper, monkeypatch):
    def cannot_start() -> None:
        raise OSError("no more processes")

    monkeypatch.setattr(helper, "_started", cannot_start)
    token = _Token()
    assert helper.run(_count, (3,), token) == os.getpid()
    assert token.reports == [0, 1, 2]


def test_a_process_killed_before_the_job_reported_leaves_the_job_here(helper):
    def kill_when_started() -> None:
        while helper.process is None:
            time.sleep(0.005)
        time.sleep(0.2)
        helper.process.kill()

    killer = threading.Thread(target=kill_when_started)
    killer.start()
    assert helper.run(_block_apart, (os.getpid(),), _Token()) == "here"
    killer.join()


def test_a_process_killed_part_way_fails_the_job_and_the_next_gets_a_new_one(helper):
    token = _Token(on_report=lambda _payload: helper.process.kill())
    with pytest.raises(HelperFailed, match="stopped part-way"):
        helper.run(_report_then_block, (), token)
    assert token.reports == ["started"]
    pid = helper.run(_count, (0,), _Token())
    assert pid != os.getpid()


def test_close_ends_the_process_and_a_later_job_starts_another(helper):
    first = helper.run(_count, (0,), _Token())
    process = helper.process
    helper.close()
    assert not process.is_alive()
    helper.close()  # (twice is fine)
    assert helper.run(_count, (0,), _Token()) not in (first, os.getpid())
