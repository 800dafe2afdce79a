"""How the window feels on a large photo, driven offscreen.

    python tests/benchmarks/bench_gui.py [IMAGE] [--drag-steps N]

Default IMAGE: ../shared/bench-images/demo-large-photo.jpg (10 MP).  Prints the time from opening
to the first palette on screen (and from the end of decoding, the target being under 1 s), to the
finished result and to its statistics; the longest gap between ticks of a 10 ms QTimer on the GUI
thread while all that runs (the worst stall a person would feel; target under 50 ms); and, while
the K slider is dragged from 16 to 200 and back, how many k-means jobs were started and the most
that ever ran at once (target: one).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

import app.image.tab  # noqa: E402
from app.main_window import MainWindow  # noqa: E402

DEFAULT_IMAGE = ROOT.parent / "shared" / "bench-images" / "demo-large-photo.jpg"


class StallMeter:
    """Ticks every 10 ms on the GUI thread and remembers the longest gap between ticks."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.last = time.perf_counter()
        self.longest = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self.last)
        self.last = now

    def start(self) -> None:
        self.last = time.perf_counter()
        self.longest = 0.0
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        return self.longest


class JobCounter:
    """Wraps the quantize job to count how many start and how many run at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started = self.running = self.most = 0
        real = app.image.tab.run_quantize

        def counted(*args, **kwargs):
            with self.lock:
                self.started += 1
                self.running += 1
                self.most = max(self.most, self.running)
            try:
                return real(*args, **kwargs)
            finally:
                with self.lock:
                    self.running -= 1

        app.image.tab.run_quantize = counted


def wait_for(qapp: QApplication, condition, timeout: float = 120.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the window did not finish in time")
        qapp.processEvents()
        time.sleep(0.001)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("image", nargs="?", default=str(DEFAULT_IMAGE))
    parser.add_argument("--drag-steps", type=int, default=60, help="slider positions visited each way")
    args = parser.parse_args()
    qapp = QApplication.instance() or QApplication([sys.argv[0]])
    counter = JobCounter()
    with tempfile.TemporaryDirectory() as folder:
        window = MainWindow(QSettings(str(Path(folder) / "bench.ini"), QSettings.Format.IniFormat))
        window.resize(1280, 840)
        window.show()
        tab = window.image_tab
        events: dict[str, float] = {}
        tab.progressed.connect(lambda _u: events.setdefault("first palette", time.perf_counter()))
        tab.quantized.connect(lambda _o: events.setdefault("finished", time.perf_counter()))
        tab.measured.connect(lambda _m: events.setdefault("measured", time.perf_counter()))
        meter = StallMeter()
        for _ in range(10):
            qapp.processEvents()

        meter.start()
        opened_at = time.perf_counter()
        window.open_image(args.image)
        wait_for(qapp, lambda: "measured" in events)
        open_stall = meter.stop()
        opening = dict(events)
        decoded = tab.opened.decoded_at
        loaded = tab.opened.loaded

        # Drag K from 16 to 200 and back, a position every ~8 ms, as a hand would.
        events.clear()
        started_before = counter.started
        meter.start()
        positions = [round(16 + (200 - 16) * i / args.drag_steps) for i in range(args.drag_steps + 1)]
        for k in positions + positions[::-1]:
            tab.controls.k_slider.setValue(k)
            until = time.perf_counter() + 0.008
            while time.perf_counter() < until:
                qapp.processEvents()
        wait_for(qapp, lambda: "measured" in events and not tab.worker.busy and not tab.measurer.busy)
        drag_stall = meter.stop()
        window.close()

    megapixels = loaded.width * loaded.height / 1e6
    print(f"bench_gui: {loaded.name}, {loaded.width} x {loaded.height} ({megapixels:.1f} MP)")
    rows = [
        ("open -> end of decoding", f"{decoded - opened_at:.3f} s", ""),
        ("end of decoding -> first palette shown", f"{opening['first palette'] - decoded:.3f} s", "< 1 s"),
        ("open -> first palette shown", f"{opening['first palette'] - opened_at:.3f} s", ""),
        ("open -> finished result shown", f"{opening['finished'] - opened_at:.3f} s", ""),
        ("open -> statistics shown", f"{opening['measured'] - opened_at:.3f} s", ""),
        ("longest GUI stall while opening", f"{open_stall * 1000:.1f} ms", "< 50 ms"),
        ("longest GUI stall while dragging K", f"{drag_stall * 1000:.1f} ms", "< 50 ms"),
        ("k-means jobs started by the drag", f"{counter.started - started_before} "
         f"(of {2 * len(positions)} positions)", ""),
        ("most k-means jobs running at once", f"{counter.most}", "1"),
    ]
    print(f"{'measure':42} {'value':>24}  target")
    for name, value, target in rows:
        print(f"{name:42} {value:>24}  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
