"""Sizes computed apart: exactly ``len(encode(...))``, and a cancelled size leaves no encoder running."""

from __future__ import annotations

import os
import sys
import threading

import numpy as np
import pytest

import kmeans.encode_apart as apart
from kmeans.encode_apart import encoded_size
from kmeans.errors import Cancelled
from kmeans.imagefile import encode


@pytest.fixture(autouse=True)
def apart_from_any_size(monkeypatch):
    monkeypatch.setattr(apart, "APART_FROM_PIXELS", 0)  # (the images here are small)


@pytest.fixture
def image(rng) -> tuple[np.ndarray, np.ndarray]:
    palette = rng.integers(0, 256, (12, 3), dtype=np.uint8)
    labels = np.repeat(rng.integers(0, 12, (30, 8)), 5, axis=1).astype(np.uint8)  # (30, 40): runs and noise
    return palette, labels


@pytest.fixture
def children(monkeypatch) -> list:
    """The child processes started during the test (no spare from before it is used)."""
    started = []
    start = apart.start_child

    def spy(background: bool):
        child = start(background)
        started.append(child.process)
        return child

    apart.end_spare()
    monkeypatch.setattr(apart, "start_child", spy)
    yield started
    apart.end_spare()


@pytest.mark.parametrize("fmt", ["webp", "png", "gif", "bmp"])
@pytest.mark.parametrize("alpha", [False, True])
def test_the_size_is_the_length_of_the_encoded_file(image, fmt, alpha, children):
    palette, labels = image
    if alpha:
        palette = np.column_stack([palette, np.linspace(0, 255, len(palette)).astype(np.uint8)])
    size = encoded_size(palette, labels, fmt, cancel=threading.Event(), dpi=(300.0, 300.0), background=True)
    assert size == len(encode(palette, labels, fmt, dpi=(300.0, 300.0)))
    # (only the encoders that cannot stop run apart; in the background, its child waits for the next size)
    assert len(children) == (1 if fmt in ("webp", "png") else 0)


@pytest.mark.parametrize(("fmt", "background"), [("webp", False), ("webp", True), ("png", True)])
def test_a_cancelled_size_stops_its_encoder(image, children, fmt, background, set_after):
    palette, labels = image
    with pytest.raises(Cancelled):
        # (set at the first look while the child works)
        encoded_size(palette, labels, fmt, cancel=set_after(1), background=background)
    (child,) = children  # (none kept after a cancel: the next size starts its own)
    assert not child.is_alive()  # waited for: nothing left running
    if sys.platform != "win32":
        assert child.exitcode < 0  # killed, not finished


def test_the_next_background_size_finds_its_child_started(image, children):
    palette, labels = image
    expected = len(encode(palette, labels, "webp"))
    assert encoded_size(palette, labels, "webp", cancel=threading.Event(), background=True) == expected
    (spare,) = children
    assert spare.is_alive()  # started, and waiting for a job
    assert encoded_size(palette, labels, "webp", cancel=threading.Event(), background=True) == expected
    assert children == [spare] and spare.is_alive()  # it did that job too, and waits for the next
    apart.end_spare()
    assert not spare.is_alive()


def test_sizes_someone_waits_for_share_one_child(image, children):
    # Auto K measures a size at every K it tries: one child start-up for the search, not one per K.
    palette, labels = image
    for entries in (12, 5, 9):
        smaller = np.minimum(labels, entries - 1)
        assert encoded_size(palette[:entries], smaller, "webp", cancel=threading.Event()) == \
            len(encode(palette[:entries], smaller, "webp"))
    assert len(children) == 1 and children[0].is_alive()


def test_a_cancelled_child_is_not_kept(image, children, set_after):
    palette, labels = image
    with pytest.raises(Cancelled):
        encoded_size(palette, labels, "webp", cancel=set_after(1))
    assert encoded_size(palette, labels, "webp", cancel=threading.Event()) == len(encode(palette, labels, "webp"))
    assert len(children) == 2 and not children[0].is_alive() and children[1].is_alive()


def test_a_png_size_someone_waits_for_is_encoded_here(image, children):
    palette, labels = image
    assert encoded_size(palette, labels, "png", cancel=threading.Event()) == len(encode(palette, labels, "png"))
    assert children == []  # (a child would add its start-up to the wait)


def test_a_small_image_is_encoded_here(image, children, monkeypatch):
    palette, labels = image
    monkeypatch.setattr(apart, "APART_FROM_PIXELS", labels.size + 1)
    assert encoded_size(palette, labels, "webp", cancel=threading.Event(), background=True) == \
        len(encode(palette, labels, "webp"))
    assert children == []  # (it is over sooner than a child starts)


def test_an_already_cancelled_size_starts_nothing(image, children):
    palette, labels = image
    event = threading.Event()
    event.set()
    with pytest.raises(Cancelled):
        encoded_size(palette, labels, "webp", cancel=event)
    assert children == []


def test_without_a_child_the_size_is_still_exact(image, monkeypatch):
    palette, labels = image

    def cannot_start(_background: bool):
        raise OSError("no processes left")

    monkeypatch.setattr(apart, "start_child", cannot_start)
    assert encoded_size(palette, labels, "webp", cancel=threading.Event()) == len(encode(palette, labels, "webp"))


def test_a_child_that_fails_leaves_the_size_to_this_process(image, monkeypatch):
    palette, labels = image
    monkeypatch.setattr(apart, "_serve", sys.exit)  # (the child exits with 1)
    assert encoded_size(palette, labels, "webp", cancel=threading.Event()) == len(encode(palette, labels, "webp"))


@pytest.mark.skipif(sys.platform == "win32", reason="nice values are POSIX")
def test_a_background_child_runs_at_low_priority():
    parent, child = apart._CONTEXT.Pipe()
    process = apart._CONTEXT.Process(target=_report_priority, args=(child,))
    process.start()
    assert parent.recv() >= 10
    process.join(10)


def _report_priority(connection) -> None:
    apart.lower_priority(10)
    connection.send(os.getpriority(os.PRIO_PROCESS, 0))


@pytest.mark.parametrize("fmt", ["webp", "png"])
def test_an_export_encoded_apart_is_the_encoded_file(image, children, fmt):
    palette, labels = image
    data = apart.encoded(palette, labels, fmt, cancel=threading.Event(), dpi=(72.0, 72.0))
    assert data == encode(palette, labels, fmt, dpi=(72.0, 72.0))
    assert len(children) == (1 if fmt == "webp" else 0)  # (a PNG export stops between its steps by itself)


def test_a_stopped_export_leaves_nothing_running(image, children, set_after):
    palette, labels = image
    with pytest.raises(Cancelled):
        apart.encoded(palette, labels, "webp", cancel=set_after(1))
    (child,) = children
    assert not child.is_alive()


def test_a_child_that_cannot_encode_leaves_the_plain_error_to_this_process(children, capfd):
    from kmeans.errors import ImageSaveError

    palette = np.zeros((2, 3), np.uint8)
    labels = np.zeros((1, 17_000), np.uint8)  # (wider than WebP allows)
    with pytest.raises(ImageSaveError, match="16,383"):
        apart.encoded(palette, labels, "webp", cancel=threading.Event())
    assert capfd.readouterr().err == ""  # (no traceback from the child)
