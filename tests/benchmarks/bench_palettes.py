"""Locked colours: k-means with 4 of them at K=16 against unlocked K=16, time and quality.

    python tests/benchmarks/bench_palettes.py [IMAGE ...] [--repeat 3]

Default IMAGEs: the 10 MP photo and kodim23 from ../shared/bench-images/.  For each it prints
the unlocked run, a run with 4 locked colours that unlocked k-means chose anyway (entries 0, 3, 7
and 12 of its palette: the quality should not move), and a run with 4 colours it did not choose
(pure red, green, blue and white: the price of insisting), best of ``--repeat`` times.  Also
mapping to a 16-colour palette (no k-means).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from kmeans.colortable import ColorTable  # noqa: E402
from kmeans.imagefile import load  # noqa: E402
from kmeans.mapping import map_to_palette  # noqa: E402
from kmeans.quantization import quantize  # noqa: E402
from kmeans.transparency import file_quality  # noqa: E402

BENCH = ROOT.parent / "shared" / "bench-images"
PRIMARIES = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]], np.uint8)


def rows_for(path: Path, repeat: int) -> None:
    image = load(path)
    table = ColorTable.from_pixels(image.pixels)
    free = quantize(table, 16)  # (also fills the table's caches, as an opened image has them)
    runs = [
        ("K=16, nothing locked", lambda: quantize(table, 16)),
        ("K=16, 4 of its own colours locked", lambda: quantize(table, 16, fixed=free.palette[[0, 3, 7, 12]])),
        ("K=16, R, G, B and white locked", lambda: quantize(table, 16, fixed=PRIMARIES)),
        ("mapped to its K=16 palette", lambda: map_to_palette(table, free.palette)),
    ]
    for name, run in runs:
        best, result = float("inf"), None
        for _ in range(repeat):
            started = time.perf_counter()
            result = run()
            best = min(best, time.perf_counter() - started)
        q = file_quality(image.pixels, table, result.palette, result.color_labels, "partial")
        print(f"{image.name:<22} {name:<34} {best:>6.3f} {q.psnr:>7.2f} {q.delta_e:>6.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="*", type=Path,
                        default=[BENCH / "demo-large-photo.jpg", BENCH / "kodim23.png"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'image':<22} {'run':<34} {'s':>6} {'PSNR':>7} {'ΔE':>6}")
    for path in args.images:
        rows_for(path, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
