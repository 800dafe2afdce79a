"""Small images against libimagequant: interleaved timings, and ΔE over several seeds.

    python tests/benchmarks/bench_small.py [PATH ...] [--cards 128 256] [--crops 192] [--k 16 64 256]
                                           [--rounds 15] [--seeds 4]

On small images the fixed cost of each numpy call weighs most, and the runs are so short (10-100 ms)
that this machine's timing noise (20% is common) can decide a best-of-3.  So for each case our
``quantize`` and libimagequant (speed 4, undithered, as ``bench_quantize.py --compare`` runs it)
take turns for --rounds rounds in one process, on the same pixels, and the table gives the minimum
and the median of each and the ratios of both.  Our time includes building the colour table, as in
``bench_quantize.py``.

The images: the RGBA test cards ``bench_quantize.py --cards`` draws, and a centred square crop of
each image in PATH (default ../shared/bench-images) at each --crops size.  ΔE and PSNR are ours
averaged over --seeds seeds, beside libimagequant's.  Without the ``imagequant`` package only our
side is measured.  Needs ``pip install -e ".[bench]"``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as main.py does for the app

import argparse
import statistics
import sys
import time

import numpy as np
from bench_quantize import DEFAULT_IMAGES, as_rgba, drawn_card, images_from, liq_quantize, scores

from kmeans import quantize
from kmeans.imagefile import load
from kmeans.wording import count


def centre_crop(pixels: np.ndarray, side: int) -> np.ndarray | None:
    """The centred side x side square of ``pixels``, or None when the image is smaller."""
    h, w = pixels.shape[:2]
    if min(h, w) < side:
        return None
    top, left = (h - side) // 2, (w - side) // 2
    return np.ascontiguousarray(pixels[top : top + side, left : left + side])


def has_liq() -> bool:
    try:
        import imagequant  # noqa: F401
    except ImportError:
        return False
    return True


def run_case(pixels: np.ndarray, k: int, rounds: int, seeds: int, liq: bool) -> dict:
    """Our times and libimagequant's (None without it), taken in turn, and both results' quality."""
    rgba = as_rgba(pixels)
    ours, theirs = [], []
    liq_image = None
    for _ in range(rounds):
        started = time.perf_counter()
        quantize(pixels, k)
        ours.append(time.perf_counter() - started)
        if liq:
            started = time.perf_counter()
            liq_image = liq_quantize(rgba, k)
            theirs.append(time.perf_counter() - started)
    quality = [scores(pixels, quantize(pixels, k, seed=seed).to_array()) for seed in range(seeds)]
    return {
        "ours": ours,
        "liq": theirs or None,
        "delta_e": float(np.mean([q["delta_e"] for q in quality])),
        "psnr": float(np.mean([q["psnr"] for q in quality])),
        "liq_quality": None if liq_image is None else scores(pixels, liq_image[..., : pixels.shape[2]]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", help=f"images or folders to crop (default {DEFAULT_IMAGES})")
    parser.add_argument("--cards", nargs="*", type=int, default=[128, 256], metavar="SIDE")
    parser.add_argument("--crops", nargs="*", type=int, default=[192], metavar="SIDE")
    parser.add_argument("--k", nargs="+", type=int, default=[16, 64, 256])
    parser.add_argument("--rounds", type=int, default=15, help="turns each side takes per case")
    parser.add_argument("--seeds", type=int, default=4, help="average our ΔE and PSNR over this many seeds")
    args = parser.parse_args()
    liq = has_liq()
    cases: list[tuple[str, np.ndarray]] = [(f"test card {side}", drawn_card(side)) for side in args.cards]
    if args.crops:
        for path in images_from(args.paths):
            pixels = load(str(path), max_pixels=None).pixels
            for side in args.crops:
                crop = centre_crop(pixels, side)
                if crop is not None:
                    cases.append((f"{path.stem[:16]} {side}", crop))
    if not cases:
        sys.exit("bench_small: no images")

    print(f"quantize (default settings) {'and libimagequant (speed 4, undithered) in turn' if liq else 'alone'}, "
          f"{args.rounds} rounds each; ms; our ΔE and PSNR: mean over {count(args.seeds, 'seed')}")
    header = (f"{'image':22} {'K':>4} {'ours min':>8} {'median':>7} {'liq min':>8} {'median':>7} "
              f"{'t/liq min':>9} {'median':>7} {'ΔE':>6} {'liq':>6} {'ΔE/liq':>7} {'PSNR':>6} {'liq':>6}")
    print(header)
    print("-" * len(header))
    faster = slower = better = 0
    for name, pixels in cases:
        for k in args.k:
            r = run_case(pixels, k, args.rounds, args.seeds, liq)
            ours_min, ours_med = min(r["ours"]) * 1e3, statistics.median(r["ours"]) * 1e3
            line = f"{name:22} {k:>4} {ours_min:>8.1f} {ours_med:>7.1f}"
            if r["liq"] is None:
                print(f"{line} {'-':>8} {'-':>7} {'-':>9} {'-':>7} {r['delta_e']:>6.3f} {'-':>6} {'-':>7} "
                      f"{r['psnr']:>6.2f} {'-':>6}", flush=True)
                continue
            liq_min, liq_med = min(r["liq"]) * 1e3, statistics.median(r["liq"]) * 1e3
            theirs = r["liq_quality"]
            print(f"{line} {liq_min:>8.1f} {liq_med:>7.1f} {ours_min / liq_min:>9.2f} {ours_med / liq_med:>7.2f} "
                  f"{r['delta_e']:>6.3f} {theirs['delta_e']:>6.3f} {r['delta_e'] / theirs['delta_e'] - 1:>+7.1%} "
                  f"{r['psnr']:>6.2f} {theirs['psnr']:>6.2f}", flush=True)
            faster += ours_med <= liq_med
            slower += ours_med > liq_med
            better += r["delta_e"] <= theirs["delta_e"]
    if liq:
        print(f"\nagainst libimagequant over {faster + slower} cases: median time at most theirs in {faster}, "
              f"mean ΔE at most theirs in {better}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
