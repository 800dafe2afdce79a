"""Palette files: a GIMP ``.gpl`` palette or a list of hex colours, written atomically."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from kmeans.atomic import write_atomic

PALETTE_FORMATS = ("gpl", "hex")


def format_palette(palette: np.ndarray, kind: str = "gpl", name: str = "K-means palette") -> str:
    """The palette as text: a GIMP ``.gpl`` palette or a list of hex colours, one per line."""
    palette = np.asarray(palette, dtype=np.uint8)
    if kind not in PALETTE_FORMATS:
        raise ValueError(f"unknown palette format {kind!r}; use one of {', '.join(PALETTE_FORMATS)}")
    hexes = [hex_color(row) for row in palette]
    if kind == "hex":
        return "".join(f"{h}\n" for h in hexes)
    lines = ["GIMP Palette", f"Name: {name}", "Columns: 8", "#"]
    lines += [f"{int(r):3d} {int(g):3d} {int(b):3d}\t{h}" for (r, g, b), h in zip(palette[:, :3], hexes, strict=False)]
    return "\n".join(lines) + "\n"


def hex_color(entry: np.ndarray) -> str:
    """#rrggbb, or #rrggbbaa when the entry has an alpha below 255."""
    entry = [int(v) for v in entry]
    if len(entry) == 4 and entry[3] == 255:
        entry = entry[:3]
    return "#" + "".join(f"{v:02x}" for v in entry)


def save_palette(path: str | os.PathLike[str], palette: np.ndarray, *, force: bool = False) -> None:
    """Save the palette as ``.gpl`` (GIMP) when the suffix says so, else as a hex list."""
    kind = "gpl" if Path(path).suffix.lower() == ".gpl" else "hex"
    title = os.fsencode(Path(path).stem).decode("utf-8", "replace")  # a name's bytes need not be UTF-8
    write_atomic(path, format_palette(palette, kind, title).encode("utf-8"), force=force)
