"""Dithering against pngquant's: bytes, SSIMULACRA2 and butteraugli at the same K, and the bytes
each needs for the other's score.

    python tests/benchmarks/bench_dither.py [IMAGE or FOLDER ...] [--ks 8 16 32 64 128 256]
                                            [--curve-ks 4 6] [--max-pixels 2000000] [--jobs 2] [--speed]

Four files per image and K, all from the same RGB PNG: ours undithered (``kmeans-compress -k K``),
ours dithered (``--dither``), pngquant's default (which dithers) and pngquant ``--nofs``.  Scores
are SSIMULACRA2 (pip ``ssimulacra2``; higher is better) and butteraugli (apt ``butteraugli``; lower
is better) of each decoded file against the PNG given to both tools.  "for pq score" is the
bytes ours dithered needs to reach pngquant's SSIMULACRA2 at that K, divided by pngquant's bytes,
read off ours' own bytes-against-score curve over the Ks run (interpolated in log bytes; "-" when
the score is above anything ours reaches, "<=" when even ours' smallest K is above it); "pq for
ours" is the same the other way round.  Both curves also take the --curve-ks, which get no row,
so that a score below the smallest K's is read off a measured point, not bounded.  The last
column flags the issue's targets missed: "b" bytes over 1.00x, "s" SSIMULACRA2 more than a point
below pngquant's, "u" butteraugli over 1.05x.

The images: the files given (default ../shared/bench-images) and two drawn here, a sky (a smooth
gradient with soft clouds, where banding shows first) and the RGB test card of bench_quantize.py.
Images over --max-pixels are downscaled for the quality table (the metrics take minutes on 10 MP);
``--speed`` instead times, on the full-size files, a whole run (load to bytes) undithered and
dithered, best of 3.  Anchors that are missing are skipped.  Needs ``pip install -e ".[bench]"``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as main.py does for the app

import argparse
import itertools
import math
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from bench_quantize import DEFAULT_IMAGES, drawn_card, images_from
from PIL import Image

from kmeans import pipeline
from kmeans.options import Options

KS = [8, 16, 32, 64, 128, 256]
METHODS = ("ours", "ours dithered", "pngquant", "pngquant --nofs")


def drawn_sky(h: int = 480, w: int = 720) -> np.ndarray:
    """A clear evening sky: a smooth vertical gradient with soft, low-contrast clouds."""
    rng = np.random.default_rng(7)
    y = np.mgrid[0:h, 0:w][0] / h
    top, bottom = np.array([40, 80, 160]), np.array([250, 190, 140])
    sky = top + (bottom - top) * (y[..., None] ** 1.3)
    coarse = rng.normal(0, 1, (6, 9))
    clouds = np.asarray(Image.fromarray(coarse.astype(np.float32)).resize((w, h), Image.Resampling.BICUBIC))
    sky += 10 * np.clip(clouds, 0, None)[..., None]
    return np.clip(np.rint(sky + rng.normal(0, 0.6, sky.shape)), 0, 255).astype(np.uint8)


def prepared_images(paths: list[Path], folder: Path, max_pixels: int) -> list[tuple[str, Path, str]]:
    """Each image as the RGB PNG both tools are given: (name, path, note on scaling)."""
    made = []
    for path in paths:
        with Image.open(path) as image:
            rgb = image.convert("RGB")
        note = ""
        if rgb.width * rgb.height > max_pixels:
            scale = math.sqrt(max_pixels / (rgb.width * rgb.height))
            size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
            note = f"scaled {rgb.width}x{rgb.height} -> {size[0]}x{size[1]}"
            rgb = rgb.resize(size, Image.Resampling.LANCZOS)
        out = folder / f"{path.stem}.png"
        rgb.save(out)
        made.append((path.stem, out, note))
    for name, pixels in (("sky", drawn_sky()), ("card", drawn_card(512)[..., :3])):
        out = folder / f"{name}.png"
        Image.fromarray(np.ascontiguousarray(pixels)).save(out)
        made.append((name, out, "drawn"))
    return made


def scores(reference: Path, made: Path) -> tuple[float, float]:
    """(SSIMULACRA2, butteraugli) of ``made`` against ``reference``; NaN for a metric not installed."""
    rgb = made.with_suffix(".rgb.png")
    with Image.open(made) as image:
        image.convert("RGB").save(rgb)
    try:
        from ssimulacra2 import compute_ssimulacra2

        ssim = float(compute_ssimulacra2(str(reference), str(rgb)))
    except ImportError:
        ssim = math.nan
    butter = math.nan
    if shutil.which("butteraugli"):
        done = subprocess.run(["butteraugli", str(reference), str(rgb)], capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.split():
            butter = float(done.stdout.split()[0])
    rgb.unlink()
    return ssim, butter


def make(reference: Path, k: int, method: str, folder: Path) -> dict | None:
    """One file by one method: its bytes and scores, or None when the anchor is missing."""
    out = folder / f"{reference.stem}-{k}-{method.replace(' ', '_').replace('-', '')}.png"
    if method.startswith("pngquant"):
        if not shutil.which("pngquant"):
            return None
        extra = ["--nofs"] if method.endswith("--nofs") else []
        subprocess.run(["pngquant", str(k), *extra, "--force", "--output", str(out), str(reference)], check=True)
    else:
        options = Options(k=k, dither=method.endswith("dithered"))
        data = _ours(reference, options)
        out.write_bytes(data)
    ssim, butter = scores(reference, out)
    return {"bytes": out.stat().st_size, "ssim": ssim, "butter": butter}


def _ours(path: Path, options: Options) -> bytes:
    """The bytes ``kmeans-compress`` writes for ``path`` with ``options``: the pipeline's steps."""
    loaded = pipeline.load(path, options)
    prepared = pipeline.prepare(loaded, options.fmt, options.matte)
    result = pipeline.quantize(prepared, options)
    return pipeline.encode(prepared, result, pipeline.dither(prepared, result, options), options.fmt)


def _job(args: tuple[Path, int, str, Path]) -> tuple[tuple[str, int, str], dict | None]:
    reference, k, method, folder = args
    return (reference.stem, k, method), make(reference, k, method, folder)


def bytes_for(curve: list[tuple[int, float]], score: float) -> tuple[float, str]:
    """The bytes a method needs for ``score``, from its (bytes, score) points over K: interpolated in
    log bytes between the two Ks around it; (nan, "-") when no K reaches it, (smallest, "<=") when
    every K does."""
    points = sorted(curve)
    if not points or math.isnan(score):
        return math.nan, "-"
    if points[0][1] >= score:
        return float(points[0][0]), "<="
    for (b0, s0), (b1, s1) in itertools.pairwise(points):
        if s0 < score <= s1:
            t = (score - s0) / (s1 - s0)
            return math.exp(math.log(b0) + t * (math.log(b1) - math.log(b0))), ""
    return math.nan, "-"


def ratio_text(needed: tuple[float, str], base: int) -> str:
    value, how = needed
    return "-" if math.isnan(value) else f"{how}{value / base:.2f}x"


def quality_table(results: dict, images: list[tuple[str, Path, str]], ks: list[int], curve_ks: list[int]) -> int:
    """Print the table; return how many cases miss a target."""
    head = (f"{'image':<22}{'K':>4}  " + "".join(f"{m:>26}" for m in METHODS)
            + f"{'for pq score':>14}{'pq for ours':>13}  miss")
    print(head)
    print(f"{'':<28}" + "".join(f"{'bytes  ssim2  butter':>26}" for _ in METHODS))
    print("-" * len(head))
    misses = 0
    for name, _path, note in images:
        curves = {m: [(r["bytes"], r["ssim"]) for k in sorted({*ks, *curve_ks}) if (r := results.get((name, k, m)))]
                  for m in METHODS}
        for k in ks:
            row = f"{name[:22]:<22}{k:>4}  "
            for m in METHODS:
                r = results.get((name, k, m))
                row += f"{'(no anchor)':>26}" if r is None else \
                    f"{r['bytes']:>11,} {r['ssim']:>6.1f} {r['butter']:>7.2f}"
            ours, pq = results.get((name, k, "ours dithered")), results.get((name, k, "pngquant"))
            flags = ""
            if ours and pq:
                needed = bytes_for(curves["ours dithered"], pq["ssim"])
                back = bytes_for(curves["pngquant"], ours["ssim"])
                row += f"{ratio_text(needed, pq['bytes']):>14}{ratio_text(back, ours['bytes']):>13}"
                if math.isnan(needed[0]) or needed[0] > pq["bytes"]:
                    flags += "b"
                if ours["ssim"] < pq["ssim"] - 1:
                    flags += "s"
                if ours["butter"] > 1.05 * pq["butter"]:
                    flags += "u"
            misses += bool(flags)
            print(row + f"  {flags}")
        if note:
            print(f"  ({name}: {note})")
    return misses


def speed_table(paths: list[Path], ks: list[int]) -> None:
    """A whole run, undithered and dithered, on the full-size files: best of 3 each."""
    print(f"\n{'image':<24}{'pixels':>12}{'K':>5}{'undithered s':>14}{'dithered s':>12}{'ratio':>8}")
    for path in paths:
        with Image.open(path) as image:
            pixels = image.width * image.height
        for k in ks:
            times = []
            for dither in (False, True):
                best = math.inf
                for _ in range(3):
                    start = time.perf_counter()
                    _ours(path, Options(k=k, dither=dither))
                    best = min(best, time.perf_counter() - start)
                times.append(best)
            print(f"{path.name[:24]:<24}{pixels:>12,}{k:>5}{times[0]:>14.3f}{times[1]:>12.3f}"
                  f"{times[1] / times[0]:>7.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", help=f"images or folders (default {DEFAULT_IMAGES})")
    parser.add_argument("--ks", type=int, nargs="+", default=KS)
    parser.add_argument("--curve-ks", type=int, nargs="*", default=[4, 6],
                        help="more Ks for the bytes-for-score curves only")
    parser.add_argument("--max-pixels", type=int, default=2_000_000, help="downscale larger images for scoring")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--speed", action="store_true", help="time dithered against undithered runs instead")
    args = parser.parse_args()
    paths = images_from(args.paths)
    if args.speed:
        speed_table(paths, args.ks)
        return 0
    for tool in ("pngquant", "butteraugli"):
        if not shutil.which(tool):
            print(f"({tool} is not installed: its columns are skipped)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        images = prepared_images(paths, folder, args.max_pixels)
        todo = [(path, k, m, folder) for _name, path, _note in images for k in args.ks for m in METHODS]
        todo += [(path, k, m, folder) for _name, path, _note in images for k in args.curve_ks if k not in args.ks
                 for m in ("ours dithered", "pngquant")]
        with ProcessPoolExecutor(args.jobs) as pool:
            results = dict(pool.map(_job, todo))
        misses = quality_table(results, images, args.ks, args.curve_ks)
    print(f"\n{misses} of {len(images) * len(args.ks)} cases miss a target (b bytes, s SSIMULACRA2, u butteraugli)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
