"""PNG bytes: this project's writer against Pillow's and against pngquant, at the same K.

    python tests/benchmarks/bench_png.py [IMAGE ...] [--ks 16 64 256]

For each image and K: the bytes and encoding seconds of our PNG (kmeans.png) and of Pillow's
``save(optimize=True)`` on the same palette and labels, and pngquant's file (``pngquant K --speed 4
--nofs``, skipped when pngquant is not installed) with both PSNRs, measured on the decoded files;
and, for the stretch target, pngquant's file after oxipng at level 2 (``pyoxipng``, skipped when not
installed).

Then colour profiles: each image is re-encoded in Display P3 (``p3profile.py``) and saved with that
profile; the table gives mean ΔE (CIEDE2000) of our file and of pngquant's against the original as a
colour-managed viewer shows it (the P3 file converted to sRGB).  We convert to sRGB on loading and
say so with an sRGB chunk; a file without a profile is shown as sRGB.
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from kmeans import quantize  # noqa: E402
from kmeans.imagefile import load, palette_image  # noqa: E402
from kmeans.metrics import mean_delta_e, psnr  # noqa: E402
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
    profiles(args.images, args.ks)
    return 0


def profiles(images: list[Path], ks: list[int]) -> None:
    """Mean ΔE against the colour-managed original, for a Display P3 file: ours and pngquant's."""
    from p3profile import display_p3
    from PIL import ImageCms

    p3_bytes = display_p3()
    p3 = ImageCms.ImageCmsProfile(io.BytesIO(p3_bytes))
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    print(f"\n{'Display P3 file':22} {'K':>4} {'ours ΔE':>8} {'pngquant ΔE':>12} {'pq keeps profile':>17}")
    tool = shutil.which("pngquant")
    for path in images:
        with Image.open(path) as opened:
            rgb = opened.convert("RGB")
        encoded = ImageCms.profileToProfile(rgb, srgb, p3, outputMode="RGB")
        with tempfile.TemporaryDirectory() as folder:
            source = Path(folder) / "p3.png"
            encoded.save(source, icc_profile=p3_bytes)
            shown = np.asarray(ImageCms.profileToProfile(encoded, p3, srgb, outputMode="RGB"))  # what a viewer shows
            image = load(source)
            for k in ks:
                result = quantize(image.pixels, k)
                ours = mean_delta_e(shown, result.palette[result.labels][..., :3])
                theirs, kept = "-", "-"
                if tool is not None:
                    out = Path(folder) / f"pq{k}.png"
                    subprocess.run([tool, str(k), "--speed", "4", "--nofs", "--force", "--output", str(out),
                                    str(source)], check=True, capture_output=True)
                    with Image.open(out) as quant:
                        profile = quant.info.get("icc_profile")
                        decoded = quant.convert("RGB")
                    if profile:
                        decoded = ImageCms.profileToProfile(decoded, ImageCms.ImageCmsProfile(io.BytesIO(profile)),
                                                            srgb, outputMode="RGB")
                    theirs, kept = f"{mean_delta_e(shown, np.asarray(decoded)):.2f}", "yes" if profile else "no"
                print(f"{path.name[:22]:22} {k:>4} {ours:>8.2f} {theirs:>12} {kept:>17}")


if __name__ == "__main__":
    sys.exit(main())
