"""Many files at once: the command line's throughput by --jobs, and its peak memory on large photos.

    python tests/benchmarks/bench_batch.py [--files 24] [--big 8] [-k 64]

Makes ``--files`` Kodak-size (768x512) images, crops of the photos in ../shared/bench-images/ (each
crop different), and times ``kmeans-compress FOLDER --jobs N`` for N = 1, 2 (and the number of cores
when larger): files per second and the speed-up over --jobs 1 (target: --jobs 2 at least 1.7x).
Then the same files in the window's batch view (``MainWindow.compress_many``, offscreen): its
time against the command line's at the default --jobs (target: within 1.2x), and the longest
GUI-thread stall meanwhile (target: at most 50 ms).  Then ``--big`` copies of the 10 MP photo with
--jobs 1 and 2: the peak resident memory of the largest process (the main one or a worker), to show
that memory follows --jobs, not the number of files.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT.parent / "shared" / "bench-images"


def make_crops(folder: Path, count: int) -> None:
    photos = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(BENCH.glob("*"))
              if p.suffix.lower() in (".png", ".jpg") and Image.open(p).size[0] >= 768]
    rng = np.random.default_rng(0)
    for i in range(count):
        photo = photos[i % len(photos)]
        h, w = photo.shape[:2]
        if h < 512 or w < 768:
            photo = np.asarray(Image.fromarray(photo).resize((max(w, 768), max(h, 512))))
            h, w = photo.shape[:2]
        y, x = rng.integers(0, h - 511), rng.integers(0, w - 767)
        Image.fromarray(photo[y : y + 512, x : x + 768]).save(folder / f"crop{i:02d}.png", compress_level=1)


def run(folder: Path, out: Path, jobs: int, k: int) -> tuple[float, float]:
    """Seconds for the whole batch, and the peak RSS (MB) of the largest process in it."""
    shutil.rmtree(out, ignore_errors=True)
    # RUSAGE_CHILDREN's ru_maxrss is the largest of the (waited-for) descendants: the command line's
    # main process or one of its workers.
    probe = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
             "sys.exit(r.returncode)")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", probe, sys.executable, "-m", "kmeans.cli", str(folder), "-k", str(k),
                           "--out-dir", str(out), "--jobs", str(jobs), "-q"], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    return seconds, int(done.stderr.strip().splitlines()[-1]) / 1024


def window_batch(folder: Path, out: Path, k: int) -> tuple[float, float, float]:
    """Seconds for the batch view to compress ``folder``, the longest GUI stall meanwhile, and the
    seconds ``compress_many`` took to open the view."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_gui import StallMeter
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from app.main_window import MainWindow

    qapp = QApplication.instance() or QApplication([sys.argv[0]])
    window = MainWindow(QSettings(str(out.parent / "bench.ini"), QSettings.Format.IniFormat))
    window.show()
    window.image_tab.controls.k_slider.setValue(k)
    shutil.rmtree(out, ignore_errors=True)
    loop = QEventLoop()
    meter = StallMeter()
    started = time.perf_counter()
    view = window.compress_many([folder], out)
    opened = time.perf_counter() - started
    # Stalls are counted once the view has been drawn (opening it is a response to a click, timed
    # on its own): from half a second on, while the files are being compressed.
    QTimer.singleShot(500, meter.__enter__)
    view.finished_batch.connect(loop.quit)
    loop.exec()
    seconds = time.perf_counter() - started
    meter.__exit__()
    view.close()
    window.close()
    qapp.processEvents()
    return seconds, meter.longest, opened


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=24)
    parser.add_argument("--big", type=int, default=8)
    parser.add_argument("-k", type=int, default=64)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "small"
        small.mkdir()
        make_crops(small, args.files)
        print(f"{args.files} images of 768x512, K={args.k}, {cores} cores")
        print(f"{'--jobs':>7} {'s':>7} {'files/s':>8} {'speed-up':>9} {'peak MB':>8}")
        base = None
        for jobs in sorted({1, 2, cores}):
            seconds = min(run(small, Path(tmp) / "out", jobs, args.k)[0] for _ in range(2))
            base = base or seconds
            print(f"{jobs:>7} {seconds:>7.2f} {args.files / seconds:>8.2f} {base / seconds:>8.2f}x")
        cli = min(run(small, Path(tmp) / "out", cores, args.k)[0] for _ in range(2))
        seconds, stall, opened = window_batch(small, Path(tmp) / "win", args.k)
        print(f"\nthe window's batch view: {seconds:.2f} s against the command line's {cli:.2f} s (--jobs {cores}) "
              f"= {seconds / cli:.2f}x; longest GUI stall while it ran {stall * 1000:.0f} ms "
              f"(opening the view: {opened * 1000:.0f} ms)")
        photo = BENCH / "demo-large-photo.jpg"
        if args.big and photo.exists():
            big = Path(tmp) / "big"
            big.mkdir()
            for i in range(args.big):
                shutil.copy(photo, big / f"photo{i:02d}.jpg")
            print(f"\n{args.big} copies of the 10 MP photo, K={args.k}")
            print(f"{'--jobs':>7} {'s':>7} {'peak MB (largest process)':>26}")
            for jobs in (1, 2):
                seconds, peak = run(big, Path(tmp) / "bigout", jobs, args.k)
                print(f"{jobs:>7} {seconds:>7.2f} {peak:>26.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
