"""Choosing K: the curve's speed and accuracy, and what a target costs on the command line.

    python tests/benchmarks/bench_autok.py [IMAGE ...] [--format png|gif|webp|bmp] [--no-cli]

Default IMAGEs: the 10 MP photo, kodim23, dice and wikipedia_008 from ../shared/bench-images/.
For each image it prints:

- the curve (``kmeans.autok.curve`` over CURVE_KS, 12 values of K from 2 to 256): its time against one
  K=256 ``quantize`` on the image's colour table (target: within 3x on the 10 MP photo), and at each
  K the estimate's error against a full run (ΔE: target within 0.1; size: within 10% of the exact
  export);
- the command line: ``--max-delta-e`` for the named levels (3 and 5) and ``--max-size`` at half the
  K=256 file, against a plain ``-k`` run of the K each chose (target: within 3x).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from kmeans.autok import CurveSample, curve  # noqa: E402
from kmeans.colortable import ColorTable  # noqa: E402
from kmeans.imagefile import encode, load  # noqa: E402
from kmeans.options import Options  # noqa: E402
from kmeans.quantization import quantize  # noqa: E402
from kmeans.transparency import file_quality, shown, support_of  # noqa: E402

BENCH = ROOT.parent / "shared" / "bench-images"
DEFAULT_IMAGES = [BENCH / name for name in ("demo-large-photo.jpg", "kodim23.png", "dice.png", "wikipedia_008.png")]


def curve_rows(path: Path, fmt: str) -> None:
    image = load(path)
    support = support_of(fmt, image.pixels)
    pixels = shown(image.pixels, support)
    table = ColorTable.from_pixels(pixels)
    quantize(table, 16)  # (warm the table's caches, as an opened image has them)
    started = time.perf_counter()
    quantize(table, 256)
    one = time.perf_counter() - started
    started = time.perf_counter()
    sample = CurveSample.of(image.pixels, pixels, support, image.dpi, table)  # (the window has the table)
    points = list(curve(sample, Options(format=fmt)))
    seconds = time.perf_counter() - started
    print(f"\n{image.name} ({image.width * image.height / 1e6:.1f} MP, {fmt}): curve of {len(points)} points "
          f"{seconds:.2f} s = {seconds / one:.1f}x one K=256 quantize ({one:.2f} s)")
    print(f"{'K':>5} {'est ΔE':>8} {'full ΔE':>8} {'error':>7} {'est B':>11} {'exact B':>11} {'error':>7}")
    worst_e = worst_s = 0.0
    errors = []
    for point in points:
        result = quantize(table, point.k)
        exact = file_quality(image.pixels, table, result.palette, result.color_labels, support)
        size = len(encode(result.palette, result.labels, fmt, dpi=image.dpi))
        de, ds = point.delta_e - exact.delta_e, point.size / size - 1
        worst_e, worst_s = max(worst_e, abs(de)), max(worst_s, abs(ds))
        errors.append(abs(de))
        print(f"{point.k:>5} {point.delta_e:>8.3f} {exact.delta_e:>8.3f} {de:>+7.3f} {point.size:>11,} {size:>11,} "
              f"{ds:>+7.1%}")
    within = sum(e <= 0.1 for e in errors)
    print(f"worst ΔE error {worst_e:.3f} (within 0.1 at {within} of {len(errors)} K), worst size error "
          f"{worst_s:.1%}")


def cli_rows(path: Path, fmt: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        def run(*args: str) -> tuple[float, str]:
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "kmeans.cli", str(path), "--out-dir", folder, "--force",
                                   "--format", fmt, *args], capture_output=True, text=True, cwd=ROOT)
            return time.perf_counter() - started, done.stdout + done.stderr

        _, full = run("-k", "256")
        half = int(re.search(r"-> ([\d,]+) B", full).group(1).replace(",", "")) // 2
        print(f"{'target':>22} {'chosen K':>8} {'trials':>6} {'s':>6} {'-k K s':>7} {'ratio':>6}")
        for flag, value in (("--max-delta-e", "3"), ("--max-delta-e", "5"), ("--max-size", str(half))):
            seconds, out = run(flag, value)
            chosen = re.search(r"chose K=(\d+).*\((\d+) trial", out)
            if chosen is None:
                print(f"{flag + ' ' + value:>22} {out.strip().splitlines()[-1]}")
                continue
            k, trials = chosen.groups()
            plain = min(run("-k", k)[0] for _ in range(2))
            print(f"{flag + ' ' + value:>22} {k:>8} {trials:>6} {seconds:>6.2f} {plain:>7.2f} {seconds / plain:>5.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="*", type=Path, default=DEFAULT_IMAGES)
    parser.add_argument("--format", default="png", choices=("png", "gif", "webp", "bmp"))
    parser.add_argument("--no-cli", action="store_true", help="only the curve")
    args = parser.parse_args()
    for path in args.images:
        if not path.exists():
            print(f"skipped (missing): {path}")
            continue
        curve_rows(path, args.format)
        if not args.no_cli:
            cli_rows(path, args.format)
    return 0


if __name__ == "__main__":
    sys.exit(main())
