"""Draw the application icon: a photo on the left turning into flat colour cells on the right.

    python resources/make_icon.py

Writes resources/icons/kmeans-image-compressor.svg and PNG renderings at 16..256 px beside it.
The right half is the left half's scene sampled on a grid and reduced to five colours, split by
the same handle the window's before/after view has.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

SIZES = (16, 32, 48, 64, 128, 256)
NAME = "kmeans-image-compressor"
HERE = Path(__file__).resolve().parent / "icons"

SKY_TOP, SKY_LOW, SUN, HILL_LIGHT, HILL_DARK = "#2f6fc4", "#8dbde6", "#ffcf40", "#5fae4f", "#357a36"
SUN_CENTRE, SUN_RADIUS = (140.0, 96.0), 36.0


def hill_y(x: float) -> float:
    """Height of the hill's ridge at x (SVG coordinates, 256 x 256)."""
    return 168 - 30 * math.sin((x + 20) / 256 * math.pi)


def cell_colour(cx: float, cy: float) -> str:
    if math.dist((cx, cy), SUN_CENTRE) <= SUN_RADIUS:
        return SUN
    if cy < hill_y(cx):
        return SKY_TOP if cy < 88 else SKY_LOW
    return HILL_LIGHT if cy < 208 else HILL_DARK


Point = tuple[float, float]
LEFT, TOP, RIGHT, BOTTOM, RADIUS = 8.0, 8.0, 248.0, 248.0, 44.0
SPLIT = 128.0


def rounded_square() -> list[Point]:
    """The frame as a convex polygon (each corner an arc of 12 segments)."""
    corners = [(RIGHT - RADIUS, TOP + RADIUS, -90), (RIGHT - RADIUS, BOTTOM - RADIUS, 0),
               (LEFT + RADIUS, BOTTOM - RADIUS, 90), (LEFT + RADIUS, TOP + RADIUS, 180)]
    points = []
    for cx, cy, start in corners:
        for i in range(13):
            angle = math.radians(start + 90 * i / 12)
            points.append((cx + RADIUS * math.cos(angle), cy + RADIUS * math.sin(angle)))
    return points


def clip(subject: list[Point], window: list[Point]) -> list[Point]:
    """Sutherland-Hodgman: the part of ``subject`` inside the convex, clockwise ``window``."""

    def inside(p: Point, a: Point, b: Point) -> bool:
        return (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]) >= 0

    def cross(p: Point, q: Point, a: Point, b: Point) -> Point:
        dx, dy = q[0] - p[0], q[1] - p[1]
        ex, ey = b[0] - a[0], b[1] - a[1]
        t = (ex * (a[1] - p[1]) - ey * (a[0] - p[0])) / (ex * dy - ey * dx)
        return p[0] + t * dx, p[1] + t * dy

    output = subject
    for a, b in zip(window, window[1:] + window[:1], strict=False):
        points, output = output, []
        for p, q in zip(points, points[1:] + points[:1], strict=False):
            if inside(q, a, b):
                if not inside(p, a, b):
                    output.append(cross(p, q, a, b))
                output.append(q)
            elif inside(p, a, b):
                output.append(cross(p, q, a, b))
        if not output:
            break
    return output


def box(x0: float, y0: float, x1: float, y1: float) -> list[Point]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def path(points: list[Point]) -> str:
    return "M" + " L".join(f"{x:.2f},{y:.2f}" for x, y in points) + " Z"


def svg() -> str:
    frame = rounded_square()
    left = clip(box(0, 0, SPLIT, 256), frame)
    sun = [(SUN_CENTRE[0] + SUN_RADIUS * math.cos(t), SUN_CENTRE[1] + SUN_RADIUS * math.sin(t))
           for t in (2 * math.pi * i / 48 for i in range(48))]
    hill = [(0.0, 256.0)] + [(x, hill_y(x)) for x in range(0, 257, 8)] + [(256.0, 256.0)]
    cell = (RIGHT - SPLIT) / 4
    cells = []
    for row in range(8):
        for column in range(4):
            x, y = SPLIT + column * cell, TOP + row * cell
            shape = clip(box(x, y, x + cell + 0.6, y + cell + 0.6), frame)  # overlap: no seams
            colour = cell_colour(x + cell / 2, y + cell / 2)
            cells.append(f'  <path d="{path(shape)}" fill="{colour}"/>')
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">
  <title>K-means Image Compressor</title>
  <defs>
    <linearGradient id="sky" x1="0" y1="0" x2="0" y2="256" gradientUnits="userSpaceOnUse">
      <stop offset="0" stop-color="#2a63b8"/><stop offset="0.62" stop-color="#c4e3f6"/>
    </linearGradient>
    <radialGradient id="sun" cx="{SUN_CENTRE[0]}" cy="{SUN_CENTRE[1]}" r="{SUN_RADIUS}" gradientUnits="userSpaceOnUse">
      <stop offset="0" stop-color="#fff3b0"/><stop offset="1" stop-color="#ffbf2e"/>
    </radialGradient>
    <linearGradient id="hill" x1="0" y1="140" x2="0" y2="248" gradientUnits="userSpaceOnUse">
      <stop offset="0" stop-color="#74c55e"/><stop offset="1" stop-color="#2a6a2c"/>
    </linearGradient>
  </defs>
  <path d="{path(left)}" fill="url(#sky)"/>
  <path d="{path(clip(sun, left))}" fill="url(#sun)"/>
  <path d="{path(clip(hill, left))}" fill="url(#hill)"/>
  <path d="{path(clip(box(SPLIT, 0, 256, 256), frame))}" fill="{SKY_LOW}"/>
{chr(10).join(cells)}
  <path d="{path(frame)}" fill="none" stroke="#000000" stroke-opacity="0.25" stroke-width="2"/>
  <rect x="{SPLIT - 3}" y="{TOP}" width="6" height="{BOTTOM - TOP}" fill="#ffffff"/>
  <circle cx="{SPLIT}" cy="128" r="18" fill="#ffffff" stroke="#1d2433" stroke-opacity="0.35" stroke-width="2"/>
  <path d="M122,121 L115,128 L122,135 M134,121 L141,128 L134,135" fill="none" stroke="#1d2433"
        stroke-width="3.5" stroke-linecap="round" stroke-linejoin="round"/>
</svg>
"""


def render_pngs(svg_path: Path) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(svg_path))
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        image.save(str(svg_path.with_name(f"{NAME}-{size}.png")))
    del app


def main() -> int:
    HERE.mkdir(exist_ok=True)
    svg_path = HERE / f"{NAME}.svg"
    svg_path.write_text(svg())
    render_pngs(svg_path)
    print(f"wrote {svg_path} and {len(SIZES)} PNGs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
