"""How long the palette view takes to show a new palette, offscreen.

    python tests/benchmarks/bench_palette_view.py [--k 256] [--updates 30]

Each update shows K random colours with random shares and lets Qt process the resulting events
(what happens on the GUI thread every time progress is shown); prints the median and the slowest.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6.QtWidgets import QApplication


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, default=256)
    parser.add_argument("--updates", type=int, default=30)
    args = parser.parse_args()
    app = QApplication([])
    from app.image.palette_view import PaletteView

    view = PaletteView()
    view.resize(360, 200)
    view.show()
    rng = np.random.default_rng(0)
    times = []
    for _ in range(args.updates):
        palette = rng.integers(0, 256, (args.k, 3), dtype=np.uint8)
        shares = rng.random(args.k)
        started = time.perf_counter()
        view.show_palette(palette, shares / shares.sum())
        app.processEvents()
        times.append(time.perf_counter() - started)
    print(f"{'K':>4} {'updates':>8} {'median ms':>10} {'slowest ms':>11}")
    print(f"{args.k:>4} {args.updates:>8} {np.median(times) * 1000:>10.1f} {max(times) * 1000:>11.1f}")
    view.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
