"""Peak memory and time for a huge image, in a fresh process each run.

    python tests/benchmarks/bench_huge.py [--megapixels 40] [--k 256] [--keep FILE]

Makes a photo-like image of the given size (the 10 MP bench photo scaled up, with a little
noise so its colours stay many), saves it as a JPEG, then runs in a new process what the
command line does with it: decode, quantize, encode a PNG and measure it.  Prints each step's
time and the peak resident memory of that whole process.  Target: under 1.5 GB at 40 MP, K=256.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT.parent / "shared" / "bench-images" / "demo-large-photo.jpg"

CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, sys.argv[1])
from kmeans.imagefile import load, encode
from kmeans.metrics import psnr
from kmeans import quantize
steps = {}
t = time.perf_counter(); image = load(sys.argv[2], max_pixels=None); steps["decode"] = time.perf_counter() - t
t = time.perf_counter(); result = quantize(image.pixels, int(sys.argv[3])); steps["quantize"] = time.perf_counter() - t
after_quantize = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t = time.perf_counter(); data = encode(result.palette, result.labels, "png")
steps["encode png"] = time.perf_counter() - t
t = time.perf_counter(); quality = psnr(image.pixels, result.to_array()); steps["psnr"] = time.perf_counter() - t
print(json.dumps({"steps": steps, "pixels": int(image.pixels.shape[0] * image.pixels.shape[1]),
                  "distinct": int(result.distinct_colors), "iterations": result.n_iter, "psnr": quality,
                  "png_bytes": len(data), "peak_after_quantize_mb": after_quantize,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_image(path: Path, megapixels: float) -> None:
    import numpy as np
    from PIL import Image

    with Image.open(SOURCE) as photo:
        scale = (megapixels * 1e6 / (photo.width * photo.height)) ** 0.5
        big = photo.convert("RGB").resize((round(photo.width * scale), round(photo.height * scale)),
                                          Image.Resampling.BICUBIC)
    pixels = np.asarray(big).copy()
    rng = np.random.default_rng(0)
    for top in range(0, pixels.shape[0], 512):  # a little sensor noise, in bands to bound memory
        band = pixels[top : top + 512].astype(np.int16) + rng.integers(-3, 4, pixels[top : top + 512].shape)
        pixels[top : top + 512] = np.clip(band, 0, 255)
    Image.fromarray(pixels).save(path, quality=92)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--megapixels", type=float, default=40.0)
    parser.add_argument("--k", type=int, default=256)
    parser.add_argument("--keep", metavar="FILE", help="reuse or keep the generated image at FILE")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(args.keep) if args.keep else Path(folder) / "huge.jpg"
        if not path.exists():
            started = time.perf_counter()
            make_image(path, args.megapixels)
            print(f"made {path.name}: {path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - started:.1f} s")
        done = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), str(path), str(args.k)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 1
        report = json.loads(done.stdout)
    print(f"{report['pixels'] / 1e6:.1f} MP, {report['distinct']:,} distinct colours, K={args.k}, "
          f"{report['iterations']} iterations, PSNR {report['psnr']:.2f} dB, PNG {report['png_bytes']:,} bytes")
    for step, seconds in report["steps"].items():
        print(f"  {step:12} {seconds:7.2f} s")
    print(f"  peak memory after quantize {report['peak_after_quantize_mb']:7.0f} MB")
    print(f"  peak memory, whole process {report['peak_mb']:7.0f} MB   (target < 1500 MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
