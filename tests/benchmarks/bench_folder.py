"""A folder of small files against pngquant: where one small file's time goes, and the totals.

    python tests/benchmarks/bench_folder.py [--files 200] [-k 64] [--rounds 3] [--jobs N]

Makes ``--files`` PNG crops of 48-256 px from the photos in ../shared/bench-images (every third
with an alpha vignette), then:

1. the stages of one small file, in this process, summed over the folder (ms per file): read,
   prepare (the image as the format shows it and its colour table), k-means, the encoder (its
   trial bit depths and deflate), the quality the report line gives, and the write; and, in fresh
   processes, the start-up a command pays (``kmeans-compress --version``, and the imports a worker
   makes before its first file);
2. the folder as a user with this machine's cores would run it, in turns for --rounds rounds:
   ``kmeans-compress FOLDER -k K --out-dir OUT`` (its default --jobs, one per core) against
   pngquant 2.17 given the files split into one call per core, run at once; wall seconds (best and
   median), total bytes and the ratios.  Target: at most 0.8x pngquant's time with no more bytes.
   pngquant is skipped when it is not installed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
BENCH = ROOT.parent / "shared" / "bench-images"
SOURCES = ("kodim23.png", "dice.png", "wikipedia_008.png", "demo-large-photo.jpg")


def make_folder(folder: Path, files: int, seed: int = 7) -> list[Path]:
    rng = np.random.default_rng(seed)
    photos = [np.asarray(Image.open(BENCH / name).convert("RGB")) for name in SOURCES if (BENCH / name).exists()]
    paths = []
    for i in range(files):
        photo = photos[i % len(photos)]
        side = int(rng.integers(48, 257))
        h, w = photo.shape[:2]
        y, x = int(rng.integers(0, h - side)), int(rng.integers(0, w - side))
        crop = photo[y:y + side, x:x + side]
        path = folder / f"small-{i:04d}.png"
        if i % 3 == 0:
            yy, xx = np.mgrid[0:side, 0:side]
            alpha = np.clip(255 - 2 * np.hypot(yy - side / 2, xx - side / 2) * 255 / side, 0, 255).astype(np.uint8)
            Image.fromarray(np.dstack([crop, alpha]), "RGBA").save(path)
        else:
            Image.fromarray(crop).save(path)
        paths.append(path)
    return paths


def stages(paths: list[Path], k: int, out: Path) -> list[tuple[str, float]]:
    """Milliseconds per file of each stage, in this process (after one file to warm up)."""
    from kmeans import pipeline
    from kmeans.options import Options

    options = Options(k=k, out_dir=str(out), force=True)
    totals = dict.fromkeys(("read", "prepare", "k-means", "encode", "quality", "write"), 0.0)

    def one(path: Path) -> None:
        marks = [time.perf_counter()]
        image = pipeline.load(path, options)
        marks.append(time.perf_counter())
        prepared = pipeline.prepare(image, options.fmt, options.matte)
        marks.append(time.perf_counter())
        result = pipeline.quantize(prepared, options)
        marks.append(time.perf_counter())
        data = pipeline.encode(prepared, result, pipeline.dither(prepared, result, options), options.fmt)
        marks.append(time.perf_counter())
        pipeline.quality(prepared, result)
        marks.append(time.perf_counter())
        pipeline.write(out / f"{path.stem}-k{k}.png", data, options)
        marks.append(time.perf_counter())
        for key, start, end in zip(totals, marks, marks[1:], strict=False):
            totals[key] += end - start

    one(paths[0])
    for key in totals:
        totals[key] = 0.0
    for path in paths:
        one(path)
    return [(key, value * 1000 / len(paths)) for key, value in totals.items()]


def start_up() -> list[tuple[str, float]]:
    """Seconds a fresh command takes to answer, and a worker to import what a file needs (best of 3)."""
    def best(code: list[str]) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            subprocess.run(code, check=True, capture_output=True)
            times.append(time.perf_counter() - started)
        return min(times)

    bare = best([sys.executable, "-c", "pass"])
    version = best([sys.executable, "-m", "kmeans.cli", "--version"])
    worker = best([sys.executable, "-c", "import kmeans.batch, kmeans.pipeline, kmeans.quantization, numpy, PIL.Image"])
    return [("python itself", bare), ("kmeans-compress --version", version), ("a worker's imports", worker)]


def folder_runs(folder: Path, paths: list[Path], k: int, rounds: int, jobs: int) -> int:
    ours_times, theirs_times, ours_bytes, theirs_bytes = [], [], 0, 0
    have_pngquant = shutil.which("pngquant") is not None
    for _ in range(rounds):
        out = folder.parent / "ours"
        shutil.rmtree(out, ignore_errors=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "kmeans.cli", str(folder), "-k", str(k), "--out-dir", str(out), "-q",
                        "--jobs", str(jobs)], check=True)
        ours_times.append(time.perf_counter() - started)
        ours_bytes = sum(p.stat().st_size for p in out.iterdir())
        if have_pngquant:
            theirs = folder.parent / "pngquant"
            shutil.rmtree(theirs, ignore_errors=True)
            theirs.mkdir()
            for p in paths:  # (pngquant writes beside its inputs: a copy of the folder for it)
                os.link(p, theirs / p.name)
            started = time.perf_counter()
            calls = [subprocess.Popen(["pngquant", str(k), "--force", "--ext", "-pq.png",
                                       *[str(theirs / p.name) for p in paths[i::jobs]]]) for i in range(jobs)]
            for call in calls:
                call.wait()
            theirs_times.append(time.perf_counter() - started)
            theirs_bytes = sum(p.stat().st_size for p in theirs.glob("*-pq.png"))
    print(f"\n{len(paths)} files, K={k}, {jobs} at once, {rounds} rounds in turns")
    print(f"{'':<12}{'best s':>9}{'median s':>10}{'bytes':>12}")
    print(f"{'ours':<12}{min(ours_times):>9.2f}{statistics.median(ours_times):>10.2f}{ours_bytes:>12,}")
    if not have_pngquant:
        print("pngquant is not installed: no comparison")
        return 0
    print(f"{'pngquant':<12}{min(theirs_times):>9.2f}{statistics.median(theirs_times):>10.2f}{theirs_bytes:>12,}")
    time_ratio, byte_ratio = min(ours_times) / min(theirs_times), ours_bytes / theirs_bytes
    met = time_ratio <= 0.8 and byte_ratio <= 1.0
    median_ratio = statistics.median(ours_times) / statistics.median(theirs_times)
    print(f"{'ours/theirs':<12}{time_ratio:>9.2f}x{median_ratio:>9.2f}x"
          f"{byte_ratio:>11.2f}x   target <= 0.8x time, <= 1.0x bytes: {'met' if met else 'MISSED'}")
    return 0 if met else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("-k", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        paths = make_folder(folder, args.files)
        out = Path(tmp) / "stages"
        out.mkdir()
        rows = stages(paths, args.k, out)
        print(f"one small file, by stage (mean of {len(paths)}, ms)")
        for name, ms in rows:
            print(f"  {name:<10}{ms:>8.2f}")
        print(f"  {'total':<10}{sum(ms for _, ms in rows):>8.2f}")
        print("start-up (s, best of 3)")
        for name, seconds in start_up():
            print(f"  {name:<28}{seconds:>6.3f}")
        return folder_runs(folder, paths, args.k, args.rounds, args.jobs)


if __name__ == "__main__":
    sys.exit(main())
