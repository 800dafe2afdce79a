"""GIF and transparency: blending onto a matte (what we do) against thresholding alpha, and against
the old way (quantize the RGBA, let GIF write partly transparent entries opaque).

    python tests/benchmarks/bench_transparency.py [IMAGE ...] [--k 16]

Each GIF is decoded and composited over white and over black, and compared with the original
composited the same way (PSNR, mean ΔE).  The matte is white, so "over white" is the page the file
was made for; "over black" shows what the matte costs on another background.  The default images:
an anti-aliased ring drawn here, and dice.png (RGBA) from ../shared/bench-images when present.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from kmeans import quantize  # noqa: E402
from kmeans.imagefile import encode, load  # noqa: E402
from kmeans.metrics import over, quality  # noqa: E402
from kmeans.transparency import shown  # noqa: E402

BENCH = ROOT.parent / "shared" / "bench-images"


def ring(size: int = 256) -> np.ndarray:
    y, x = np.mgrid[:size, :size] + 0.5
    r = np.hypot(x - size / 2, y - size / 2)
    coverage = np.clip(1 - np.abs(r - size / 4) / 6, 0, 1)
    pixels = np.zeros((size, size, 4), np.uint8)
    pixels[..., 0] = 20
    pixels[..., 1] = np.linspace(60, 180, size).astype(np.uint8)[None, :]
    pixels[..., 2] = 200
    pixels[..., 3] = np.round(coverage * 255).astype(np.uint8)
    return pixels


def gif_of(pixels: np.ndarray, k: int) -> np.ndarray:
    result = quantize(pixels, k)
    with Image.open(io.BytesIO(encode(result.palette, result.labels, "gif"))) as image:
        return np.asarray(image.convert("RGBA"))


def thresholded(pixels: np.ndarray) -> np.ndarray:
    out = pixels.copy()
    opaque = pixels[..., 3] >= 128
    out[..., 3] = np.where(opaque, 255, 0).astype(np.uint8)
    out[~opaque] = 0
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("images", nargs="*", type=Path)
    parser.add_argument("--k", type=int, default=16)
    args = parser.parse_args()
    cases = [("ring (drawn)", ring())]
    paths = args.images or [p for p in [BENCH / "dice.png"] if p.exists()]
    cases += [(p.name, load(p).pixels) for p in paths]
    print(f"{'image':16} {'GIF made by':28} {'PSNR white':>10} {'ΔE white':>9} {'PSNR black':>10} {'ΔE black':>9}")
    for name, pixels in cases:
        if pixels.shape[2] != 4:
            print(f"{name:16} (opaque: nothing to compare)")
            continue
        ways = {
            "RGBA, written opaque (old)": gif_of(pixels, args.k),
            "alpha thresholded at 50%": gif_of(thresholded(pixels), args.k),
            "blended onto white (ours)": gif_of(shown(pixels, "binary"), args.k),
        }
        for way, decoded in ways.items():
            white = quality(over(pixels), over(decoded))
            black = quality(over(pixels, (0, 0, 0)), over(decoded, (0, 0, 0)))
            print(f"{name:16} {way:28} {white.psnr:>10.2f} {white.delta_e:>9.2f} {black.psnr:>10.2f} "
                  f"{black.delta_e:>9.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
