"""Benchmark quantize: speed, iterations, inertia, PSNR, ΔE and peak memory, against the anchors.

    python tests/benchmarks/bench_quantize.py [PATH ...] [--k 16 64 256] [--color-space balanced rgb oklab]
                                              [--repeat 3] [--compare] [--sklearn-max-pixels N]

PATHs are image files or folders (default: ../shared/bench-images beside the project).  Each
(image, K, colour space) runs in a fresh process, so "peak MB" is the peak resident memory of the
whole process: interpreter, decoded image, quantization and all.  Decoding is never timed.

With --compare, one more process per image runs, on the same pixels and in the same process:
ours, scikit-learn ``KMeans(n_init=1, init="k-means++", random_state=0)`` on all pixels (RGB in
[0, 1], premultiplied RGBA for images with alpha), Pillow's ``quantize`` (its default method) and
libimagequant (the ``imagequant`` package, speed 4, no dithering), and prints the ratios, then
how the default colour space fares against libimagequant on each case: mean ΔE at most theirs,
PSNR at least theirs - 0.05 dB, time at most theirs.  The colour-space summary says which space
has the lowest mean ΔE among those within 0.3 dB of the best PSNR: the rule the default follows.
Times are the best of --repeat runs (scikit-learn: one run).  Needs ``pip install -e ".[bench]"``.

--cards adds small RGBA test cards drawn here (colour bars, a gradient, a noisy third, a transparent
strip and an alpha ramp; nearly every pixel its own colour) at the given sizes: the case where a
fixed cost per iteration weighs most.  With --cards and no PATH, only the cards run.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as main.py does for the app

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from kmeans import ColorTable, quantize  # noqa: E402
from kmeans.colorspace import with_alpha  # noqa: E402
from kmeans.defaults import COLOR_SPACES, DEFAULT_COLOR_SPACE  # noqa: E402
from kmeans.imagefile import load  # noqa: E402
from kmeans.metrics import mean_delta_e, psnr, squared_error  # noqa: E402

DEFAULT_IMAGES = ROOT.parent / "shared" / "bench-images"
SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff"}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def best_time(fn, repeat: int):
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def scores(original: np.ndarray, quantized: np.ndarray) -> dict:
    return {
        "inertia": squared_error(original, quantized),
        "psnr": psnr(original, quantized),
        "delta_e": mean_delta_e(original, quantized),
    }


# -- our quantizer, alone in a process ----------------------------------------------------------


def run_ours(path: str, k: int, space: str, repeat: int, seeds: int) -> dict:
    pixels = load(path, max_pixels=None).pixels
    seconds, result = best_time(lambda: quantize(pixels, k, color_space=space), repeat)
    peak = peak_mb()
    report = {
        "seconds": seconds,
        "iterations": result.n_iter,
        "entries": len(result.palette),
        "distinct": ColorTable.from_pixels(pixels).n_colors,
        "peak_mb": peak,
        **scores(pixels, result.to_array()),
    }
    if seeds > 1:  # the colour-space decision should not hang on one seed's local optimum
        others = [scores(pixels, quantize(pixels, k, color_space=space, seed=s).to_array()) for s in range(1, seeds)]
        report["delta_e_seeds"] = float(np.mean([report["delta_e"]] + [o["delta_e"] for o in others]))
        report["psnr_seeds"] = float(np.mean([report["psnr"]] + [o["psnr"] for o in others]))
    return report


# -- the anchors, in one process with ours on the same pixels ------------------------------------


def as_rgba(pixels: np.ndarray) -> np.ndarray:
    """(H, W, 4) contiguous RGBA, as libimagequant takes it: opaque alpha added to RGB."""
    return np.ascontiguousarray(with_alpha(pixels))


def liq_quantize(rgba: np.ndarray, k: int) -> np.ndarray:
    """libimagequant at speed 4 without dithering; returns the quantized RGBA image."""
    from imagequant import ffi, lib

    h, w, _ = rgba.shape
    attr = lib.liq_attr_create()
    try:
        lib.liq_set_max_colors(attr, k)
        lib.liq_set_speed(attr, 4)
        data = rgba.tobytes()
        image = lib.liq_image_create_rgba(attr, data, w, h, 0)
        result_p = ffi.new("liq_result**")
        if lib.liq_image_quantize(image, attr, result_p) != lib.LIQ_OK:
            raise RuntimeError("libimagequant failed")
        lib.liq_set_dithering_level(result_p[0], 0.0)
        out = ffi.new("unsigned char[]", w * h)
        lib.liq_write_remapped_image(result_p[0], image, out, w * h)
        pal = lib.liq_get_palette(result_p[0])
        palette = np.array([[e.r, e.g, e.b, e.a] for e in pal.entries[0 : pal.count]], np.uint8)
        labels = np.frombuffer(ffi.buffer(out), np.uint8).reshape(h, w)
        quantized = palette[labels]
        lib.liq_result_destroy(result_p[0])
        lib.liq_image_destroy(image)
        return quantized
    finally:
        lib.liq_attr_destroy(attr)


def sklearn_quantize(pixels: np.ndarray, k: int) -> tuple[float, np.ndarray]:
    """scikit-learn KMeans on every pixel; returns its inertia (in [0, 1] units) and the image."""
    from sklearn.cluster import KMeans

    channels = pixels.shape[2]
    X = pixels.reshape(-1, channels).astype(np.float32) / 255.0
    if channels == 4:
        X[:, :3] *= X[:, 3:]
    model = KMeans(n_clusters=k, n_init=1, init="k-means++", random_state=0).fit(X)
    centres = model.cluster_centers_.astype(np.float64)
    if channels == 4:
        alpha = np.clip(centres[:, 3:], 1e-12, None)
        centres[:, :3] = np.where(centres[:, 3:] > 0, centres[:, :3] / alpha, 0)
    palette = np.clip(np.rint(centres * 255), 0, 255).astype(np.uint8)
    return float(model.inertia_), palette[model.labels_].reshape(pixels.shape)


def pillow_quantize(pixels: np.ndarray, k: int) -> np.ndarray:
    mode = "RGBA" if pixels.shape[2] == 4 else "RGB"
    return np.asarray(Image.fromarray(pixels, mode).quantize(colors=k).convert(mode))


def run_compare(path: str, ks: list[int], spaces: list[str], repeat: int, sklearn_max_pixels: int,
                sklearn_ks: list[int] | None) -> list[dict]:
    pixels = load(path, max_pixels=None).pixels
    rgba = as_rgba(pixels)
    rows = []
    for k in ks:
        row: dict = {"k": k}
        liq_seconds, liq_image = best_time(lambda k=k: liq_quantize(rgba, k), repeat)
        row["liq"] = {"seconds": liq_seconds, **scores(pixels, liq_image[..., : pixels.shape[2]])}
        pil_seconds, pil_image = best_time(lambda k=k: pillow_quantize(pixels, k), repeat)
        row["pillow"] = {"seconds": pil_seconds, **scores(pixels, pil_image)}
        for space in spaces:
            seconds, result = best_time(lambda k=k, space=space: quantize(pixels, k, color_space=space), repeat)
            row[space] = {"seconds": seconds, "iterations": result.n_iter, **scores(pixels, result.to_array())}
        if pixels.shape[0] * pixels.shape[1] <= sklearn_max_pixels and (sklearn_ks is None or k in sklearn_ks):
            started = time.perf_counter()
            inertia, image = sklearn_quantize(pixels, k)
            row["sklearn"] = {"seconds": time.perf_counter() - started, "own_inertia": inertia,
                              **scores(pixels, image)}
        rows.append(row)
    return rows


# -- the table -----------------------------------------------------------------------------------


def drawn_card(side: int) -> np.ndarray:
    """A side x side RGBA test card, the same every time."""
    rng = np.random.default_rng(side)
    y, x = np.mgrid[0:side, 0:side]
    card = np.zeros((side, side, 4), np.uint8)
    third = side // 3
    bars = np.array([[255, 255, 255], [255, 255, 0], [0, 255, 255], [0, 255, 0], [255, 0, 255], [255, 0, 0],
                     [0, 0, 255], [0, 0, 0]], np.uint8)
    card[:third, :, :3] = bars[x[:third] * 8 // side]
    middle = slice(third, 2 * third)
    card[middle, :, 0] = x[middle] * 255 // side
    card[middle, :, 1] = (y[middle] - third) * 255 // third
    card[middle, :, 2] = 255 - x[middle] * 255 // side
    low = slice(2 * third, side)
    waves = np.stack([np.sin(x[low] / 17) * 60 + 120, np.cos(y[low] / 11) * 50 + 100,
                      (x[low] + y[low]) % 255 / 2 + 60], -1)
    card[low, :, :3] = np.clip(waves + rng.normal(0, 12, waves.shape), 0, 255).astype(np.uint8)
    card[..., 3] = 255
    card[:, : side // 16, 3] = 0
    ramp = 3 * side // 4
    card[:, ramp:, 3] = 255 - (x[:, ramp:] - ramp) * 255 // (side - ramp)
    return card


def images_from(paths: list[str]) -> list[Path]:
    found = []
    for item in paths or [str(DEFAULT_IMAGES)]:
        p = Path(item)
        if p.is_dir():
            found += sorted(f for f in p.iterdir() if f.suffix.lower() in SUFFIXES)
        elif p.exists():
            found.append(p)
        else:
            sys.exit(f"bench_quantize: {item}: no such file or folder")
    if not found:
        sys.exit("bench_quantize: no images found")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", help=f"images or folders (default {DEFAULT_IMAGES})")
    parser.add_argument("--k", nargs="+", type=int, default=[16, 64, 256])
    parser.add_argument("--color-space", nargs="+", default=list(COLOR_SPACES), choices=COLOR_SPACES)
    parser.add_argument("--repeat", type=int, default=3, help="time the best of this many runs")
    parser.add_argument("--seeds", type=int, default=3,
                        help="average ΔE over this many seeds for the colour-space summary")
    parser.add_argument("--compare", action="store_true", help="also run scikit-learn, Pillow and libimagequant")
    parser.add_argument("--sklearn-max-pixels", type=int, default=10**9,
                        help="skip scikit-learn above this many pixels (it is slow)")
    parser.add_argument("--sklearn-k", nargs="+", type=int,
                        help="run scikit-learn only for these K (it takes minutes at K=256 on 10 MP)")
    parser.add_argument("--cards", nargs="+", type=int, default=[], metavar="SIDE",
                        help="also run small RGBA test cards of these sizes in pixels (e.g. 128 256)")
    args = parser.parse_args()
    images = images_from(args.paths) if args.paths or not args.cards else []
    cards = tempfile.TemporaryDirectory()  # (removed when the bench ends)
    for side in args.cards:
        path = Path(cards.name) / f"test-card-{side}.png"
        Image.fromarray(drawn_card(side), "RGBA").save(path)
        images.append(path)
    context = multiprocessing.get_context("spawn")

    print(f"quantize (default colour space: {DEFAULT_COLOR_SPACE}); best of {args.repeat}; "
          f"inertia = sum of squared errors, RGB(A) in [0, 1], all pixels; peak = whole process")
    header = f"{'image':24} {'distinct':>9} {'K':>4} {'space':>8} {'seconds':>8} {'iters':>6} " \
             f"{'inertia':>11} {'PSNR':>6} {'ΔE':>6} {'peak MB':>8}"
    print(header)
    print("-" * len(header))
    # The default space's rule is judged on photographs: the drawn cards count only when alone.
    judged = [image for image in images if image.parent != Path(cards.name)] or images
    delta_e: dict[str, list[float]] = {space: [] for space in args.color_space}
    psnrs: dict[str, list[float]] = {space: [] for space in args.color_space}
    for image in images:
        for k in args.k:
            for space in args.color_space:
                with context.Pool(1) as pool:
                    r = pool.apply(run_ours, (str(image), k, space, args.repeat, args.seeds))
                if image in judged:
                    delta_e[space].append(r.get("delta_e_seeds", r["delta_e"]))
                    psnrs[space].append(r.get("psnr_seeds", r["psnr"]))
                print(f"{image.name[:24]:24} {r['distinct']:>9,} {k:>4} {space:>8} {r['seconds']:>8.3f} "
                      f"{r['iterations']:>6} {r['inertia']:>11.2f} {r['psnr']:>6.2f} {r['delta_e']:>6.3f} "
                      f"{r['peak_mb']:>8.0f}", flush=True)
    if len(args.color_space) > 1:
        # The default's rule: the lowest mean ΔE among the spaces whose mean PSNR is within 0.3 dB
        # of the best one's (looking closer must not cost a visibly noisier image).
        means = {space: float(np.mean(values)) for space, values in delta_e.items()}
        mean_psnr = {space: float(np.mean(values)) for space, values in psnrs.items()}
        near = [space for space in means if mean_psnr[space] >= max(mean_psnr.values()) - 0.3]
        best = min(near, key=means.get)
        print(f"mean over {len(judged)} images{' (not the cards)' if len(judged) < len(images) else ''} "
              f"x {len(args.k)} K x {args.seeds} seeds: "
              + ", ".join(f"{space} ΔE {means[space]:.4f} PSNR {mean_psnr[space]:.2f}" for space in means)
              + f"\n  -> lowest ΔE within 0.3 dB of the best PSNR: {best} (the default is {DEFAULT_COLOR_SPACE})")

    if not args.compare:
        return 0
    print()
    print("compare (same process, same pixels; time ratio = ours / theirs, below 1 is faster)")
    header = (f"{'image':24} {'K':>4} {'space':>8} {'ours s':>7} {'liq s':>7} {'t/liq':>6} {'PSNR':>6} "
              f"{'liq':>6} {'ΔE':>6} {'liq':>6} {'ΔE/liq':>6} {'PIL s':>6} {'PIL':>6} {'skl s':>7} {'speedup':>7} "
              f"{'inertia/skl':>11}")
    print(header)
    print("-" * len(header))
    verdicts = []  # the default against libimagequant: ΔE at most, PSNR at least -0.05 dB, time at most
    for image in images:
        with context.Pool(1) as pool:
            rows = pool.apply(run_compare, (str(image), args.k, args.color_space, args.repeat,
                                            args.sklearn_max_pixels, args.sklearn_k))
        for row in rows:
            liq, pil, skl = row["liq"], row["pillow"], row.get("sklearn")
            for space in args.color_space:
                ours = row[space]
                skl_cols = f"{'-':>7} {'-':>7} {'-':>11}"
                if skl is not None:
                    ratio = f"{ours['inertia'] / skl['own_inertia']:.4f}" if space == "rgb" else "-"
                    skl_cols = f"{skl['seconds']:>7.2f} {skl['seconds'] / ours['seconds']:>6.1f}x {ratio:>11}"
                print(f"{image.name[:24]:24} {row['k']:>4} {space:>8} {ours['seconds']:>7.3f} "
                      f"{liq['seconds']:>7.3f} {ours['seconds'] / liq['seconds']:>6.2f} {ours['psnr']:>6.2f} "
                      f"{liq['psnr']:>6.2f} {ours['delta_e']:>6.3f} {liq['delta_e']:>6.3f} "
                      f"{ours['delta_e'] / liq['delta_e'] - 1:>+6.1%} "
                      f"{pil['seconds']:>6.3f} {pil['psnr']:>6.2f} {skl_cols}", flush=True)
                if space == DEFAULT_COLOR_SPACE:
                    verdicts.append((f"{image.name} K={row['k']}", ours['delta_e'] <= liq['delta_e'],
                                     ours['psnr'] >= liq['psnr'] - 0.05, ours['seconds'] <= liq['seconds']))
    if verdicts:
        print(f"\n{DEFAULT_COLOR_SPACE} (the default) against libimagequant over {len(verdicts)} cases: "
              f"ΔE at most theirs {sum(v[1] for v in verdicts)}, PSNR at least theirs - 0.05 dB "
              f"{sum(v[2] for v in verdicts)}, time at most theirs {sum(v[3] for v in verdicts)}")
        for name, *ok in verdicts:
            if not all(ok):
                missed = [what for what, good in zip(("ΔE", "PSNR", "time"), ok, strict=True) if not good]
                print(f"  MISSED {name}: {', '.join(missed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
