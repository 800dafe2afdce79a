"""PNG bytes: this project's writer against Pillow's and against pngquant, at the same K.

    python tests/benchmarks/bench_png.py [IMAGE ...] [--ks 16 64 256]

For each image and K: the bytes and encoding seconds of our PNG (kmeans.png) and of Pillow's
``save(optimize=True)`` on the same palette and labels, and pngquant's file (``pngquant K --speed 4
--nofs``, skipped when pngquant is not installed) with both PSNRs, measured on the decoded files;
and, for the stretch target, pngquant's file after oxipng at level 2 (``pyoxipng``, skipped when not
installed).
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from kmeans import quantize  # noqa: E402
from kmeans.imagefile import load, palette_image  # noqa: E402
from kmeans.metrics import psnr  # noqa: E402
from kmeans.png import encode_png  # noqa: E402

BENCH = ROOT.parent / "shared" / "bench-images"


def best(fn, repeat: int = 2):
    result, seconds = None, float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        seconds = min(seconds, time.perf_counter() - started)
    return result, seconds


def oxipng_size(data: bytes) -> int | None:
    try:
        import oxipng
    except ImportError:
        return None
    return len(oxipng.optimize_from_memory(data, level=2))


def pngquant(path: Path, k: int, pixels: np.ndarray) -> tuple[int, float, int | None] | None:
    tool = shutil.which("pngquant")
    if tool is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "in.png"
        Image.fromarray(pixels).save(source)
        out = Path(folder) / "out.png"
        subprocess.run([tool, str(k), "--speed", "4", "--nofs", "--force", "--output", str(out), str(source)],
                       check=True, capture_output=True)
        with Image.open(out) as image:
            decoded = np.asarray(image.convert("RGBA" if pixels.shape[2] == 4 else "RGB"))
        return out.stat().st_size, psnr(pixels, decoded), oxipng_size(out.read_bytes())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = sorted(BENCH.glob("*.png")) + sorted(BENCH.glob("*.jpg"))
    parser.add_argument("images", nargs="*", type=Path, default=default)
    parser.add_argument("--ks", nargs="+", type=int, default=[16, 64, 256])
    args = parser.parse_args()
    header = (f"{'image':22} {'K':>4} {'ours B':>10} {'s':>6} {'Pillow B':>10} {'s':>6} {'ours/Pillow':>11} "
              f"{'pngquant B':>11} {'ours/pq':>8} {'PSNR':>7} {'pq PSNR':>8} {'pq+oxipng B':>12} {'ours/that':>9}")
    print(header)
    for path in args.images:
        image = load(path)
        for k in args.ks:
            result = quantize(image.pixels, k)
            ours, ours_s = best(lambda r=result: encode_png(r.palette, r.labels))

            def pillow(r=result) -> bytes:
                buffer = io.BytesIO()
                palette_image(r.palette, r.labels).save(buffer, "PNG", optimize=True)
                return buffer.getvalue()

            theirs, theirs_s = best(pillow)
            with Image.open(io.BytesIO(ours)) as decoded:
                mine = psnr(image.pixels, np.asarray(decoded.convert("RGBA" if image.has_alpha else "RGB")))
            quant = pngquant(path, k, image.pixels)
            pq = f"{quant[0]:>11,} {len(ours) / quant[0]:>8.3f} {mine:>7.2f} {quant[1]:>8.2f}" if quant else \
                f"{'-':>11} {'-':>8} {mine:>7.2f} {'-':>8}"
            if quant and quant[2]:
                pq += f" {quant[2]:>12,} {len(ours) / quant[2]:>9.3f}"
            print(f"{image.name[:22]:22} {k:>4} {len(ours):>10,} {ours_s:>6.2f} {len(theirs):>10,} {theirs_s:>6.2f} "
                  f"{len(ours) / len(theirs):>11.3f} {pq}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
