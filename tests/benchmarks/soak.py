"""Soak the window: a few hundred random actions, offscreen, then a report.

    python tests/benchmarks/soak.py [--actions 300] [--seed 0] [FOLDER ...]

Opens images from the folders (default: ../shared/bench-images and ../shared/odd-images, so the
broken ones are in the mix), drops several at once, drags K, flips every option, cancels,
exports in every format, zooms, highlights palette entries, and works the Learn k-means tab,
pausing a random moment after each action.  Reports the actions done, the messages shown, any
unexpected error (a failure the code did not foresee, or an exception reaching Qt), peak and
final memory and their growth, the slowest GUI-thread stall, and threads left running.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import collections
import gc
import random
import resource
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import drop  # noqa: E402
from PySide6.QtCore import QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from app.main_window import MainWindow  # noqa: E402
from app.worker import running_threads  # noqa: E402

DEFAULT_FOLDERS = [ROOT.parent / "shared" / "bench-images", ROOT.parent / "shared" / "odd-images"]


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Soak:
    def __init__(self, window: MainWindow, files: list[Path], out: Path, rng: random.Random):
        self.window, self.files, self.out, self.rng = window, files, out, rng
        self.tab = window.image_tab
        self.counts: collections.Counter[str] = collections.Counter()
        self.messages: collections.Counter[str] = collections.Counter()
        self.unexpected: list[str] = []
        self.longest_stall = 0.0
        self.stalled_in = ""
        self.current = ""
        self._last_tick = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.tab.failed.connect(self._failed)
        self.tab.export_failed.connect(self._failed)
        self.tab.open_failed.connect(lambda message: self.messages.update(["could not open"]))
        self.tab.too_large.connect(lambda _large: self.messages.update(["asked about a huge image"]))

    def start_watchdog(self) -> None:
        """A thread that, when the GUI thread stops ticking, records where it is stuck."""
        gui = threading.get_ident()
        self.stuck_at: dict[str, str] = {}

        def watch() -> None:
            while not self._done:
                time.sleep(0.05)
                late = time.perf_counter() - self._last_tick
                if late > 0.2 and self.timer.isActive():
                    frame = sys._current_frames().get(gui)
                    if frame is not None:
                        stack = "".join(traceback.format_stack(frame, limit=6))
                        self.stuck_at[stack] = max(self.stuck_at.get(stack, ""), f"{late * 1000:.0f} ms")

        self._done = False
        threading.Thread(target=watch, daemon=True).start()

    def _tick(self) -> None:
        now = time.perf_counter()
        if now - self._last_tick > self.longest_stall:
            self.longest_stall, self.stalled_in = now - self._last_tick, self.current
        self._last_tick = now

    def _failed(self, message: str) -> None:
        if message.startswith("Something went wrong"):
            self.unexpected.append(message)
        else:
            self.messages.update([message.split(":")[-1].strip()[:60]])

    def actions(self):
        tab, window, blobs = self.tab, self.window, self.window.blobs_tab
        return {
            "open": lambda: window.open_image(self.rng.choice(self.files)),
            "drop several": lambda: drop(window, *self.rng.sample(self.files, min(3, len(self.files)))),
            "drag K": self._drag_k,
            "type K": lambda: tab.controls.k_spin.setValue(self.rng.randint(2, 256)),
            "colour space": lambda: tab.controls.space_box.setCurrentIndex(self.rng.randint(0, 1)),
            "init": lambda: tab.controls.init_box.setCurrentIndex(self.rng.randint(0, 1)),
            "seed": lambda: tab.controls.seed_spin.setValue(self.rng.randint(0, 9)),
            "dither": lambda: tab.controls.dither_box.toggle(),
            "cancel": lambda: tab.controls.cancel_button.click(),
            "export": self._export,
            "zoom": lambda: self.rng.choice([window.action_zoom_in, window.action_zoom_out, window.action_fit,
                                             window.action_actual]).trigger(),
            "highlight": self._highlight,
            "format": lambda: tab.stats.format_box.setCurrentIndex(self.rng.randint(0, 3)),
            "learn tab": lambda: window.tabs.setCurrentIndex(self.rng.randint(0, 1)),
            "lesson step": blobs.step,
            "lesson run/pause": blobs.toggle_run,
            "lesson reset": blobs.reset,
            "lesson K": lambda: blobs.k_spin.setValue(self.rng.randint(1, 10)),
            "lesson ten starts": blobs.try_initializations,
            "lesson new data": lambda: blobs.new_data(keep_seed=False),
        }

    def _drag_k(self) -> None:
        start, end = self.rng.randint(2, 256), self.rng.randint(2, 256)
        for k in range(start, end, 1 if end > start else -1):
            self.tab.controls.k_slider.setValue(k)
            QApplication.processEvents()

    def _export(self) -> None:
        fmt = self.rng.choice(["png", "gif", "webp", "bmp"])
        self.window.export_to(str(self.out / f"soak-{self.rng.randint(0, 5)}.{fmt}"), fmt,
                              self.rng.random() < 0.3, True)

    def _highlight(self) -> None:
        view = self.tab.palette_view
        if view.count():
            item = view.item(self.rng.randrange(view.count()))
            view.itemClicked.emit(item)

    def run(self, n: int) -> None:
        actions = self.actions()
        names = list(actions)
        self._last_tick = time.perf_counter()  # time spent outside run() is not a stall
        self.timer.start()
        for _ in range(n):
            name = self.rng.choice(names)
            self.current = name
            try:
                actions[name]()
            except Exception:
                self.unexpected.append(f"{name}: {traceback.format_exc(limit=3)}")
            self.counts[name] += 1
            self._answer_questions()
            until = time.perf_counter() + self.rng.uniform(0, 0.3)
            while time.perf_counter() < until:
                QApplication.processEvents()
        self.timer.stop()

    def _answer_questions(self) -> None:
        for box in self.window.findChildren(QMessageBox):
            if box.isVisible():
                box.done(QMessageBox.StandardButton.Cancel)

    def settle(self, timeout: float = 60.0) -> None:
        deadline = time.perf_counter() + timeout
        workers = [self.tab.worker, self.tab.measures.measurer, self.tab.exporter]
        while any(w.busy for w in workers) and time.perf_counter() < deadline:
            QApplication.processEvents()
            time.sleep(0.005)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--actions", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    files = sorted(f for folder in (args.folders or DEFAULT_FOLDERS) for f in folder.iterdir() if f.is_file())
    app = QApplication.instance() or QApplication(sys.argv[:1])
    excepthook_errors: list[str] = []
    def record(kind, value, tb) -> None:  # an exception that reached Qt's event loop
        excepthook_errors.append("".join(traceback.format_exception(kind, value, tb)))

    sys.excepthook = record
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        window = MainWindow(QSettings(str(out / "soak.ini"), QSettings.Format.IniFormat))
        window.resize(1280, 840)
        window.show()
        soak = Soak(window, files, out, random.Random(args.seed))
        soak.start_watchdog()
        started = time.perf_counter()
        memory = [rss_mb()]
        checkpoints = max(1, args.actions // 10)
        done = 0
        while done < args.actions:
            step = min(checkpoints, args.actions - done)
            soak.run(step)
            done += step
            gc.collect()
            memory.append(rss_mb())
        soak.settle()
        gc.collect()
        memory.append(rss_mb())
        soak._done = True
        window.close()
        app.processEvents()
        elapsed = time.perf_counter() - started
        leftover = sorted(p.name for p in out.iterdir() if p.name.endswith(".tmp"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"soak: {args.actions} actions in {elapsed:.0f} s over {len(files)} files (seed {args.seed})")
    print("actions:", ", ".join(f"{name} {count}" for name, count in sorted(soak.counts.items())))
    print("messages shown:", dict(soak.messages) or "none")
    unexpected = soak.unexpected + excepthook_errors
    print(f"unexpected errors: {len(unexpected)}")
    for error in unexpected[:5]:
        print("  " + error.strip().replace("\n", "\n  "))
    print(f"memory: start {memory[0]:.0f} MB, after the first tenth {memory[1]:.0f} MB, end {memory[-1]:.0f} MB, "
          f"peak {peak:.0f} MB; growth after the first tenth {memory[-1] - memory[1]:+.0f} MB")
    print(f"slowest GUI stall: {soak.longest_stall * 1000:.0f} ms (during or just after: {soak.stalled_in})")
    for stack, late in sorted(soak.stuck_at.items(), key=lambda item: -float(item[1].split()[0]))[:3]:
        print(f"GUI thread stuck for at least {late} in:\n  " + stack.strip().replace("\n", "\n  "))
    print(f"threads left running: {running_threads() or 'none'}; partial files left: {leftover or 'none'}")
    return 1 if unexpected or running_threads() or leftover else 0


if __name__ == "__main__":
    sys.exit(main())
