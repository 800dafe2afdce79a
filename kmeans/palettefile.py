"""Palette files, read and written: GIMP ``.gpl``, JASC ``.pal``, Adobe ``.act`` and hex lists.

Reading never guesses: a line that is not a colour is an error naming the file and the line.
Writing is atomic.  The kind comes from the suffix (``.gpl``, ``.pal``, ``.act``; anything else is a
hex list, one ``#rrggbb`` per line).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from kmeans.atomic import write_atomic
from kmeans.errors import ImageLoadError, KMeansImageError
from kmeans.wording import display_name

PALETTE_FORMATS = ("gpl", "pal", "act", "hex")
MAX_ENTRIES = 256


class PaletteFileError(KMeansImageError):
    """A palette file that cannot be read: the message names the file (and the line)."""


def format_palette(palette: np.ndarray, kind: str = "gpl", name: str = "K-means palette",
                   locked: np.ndarray | None = None) -> bytes:
    """The palette file's bytes in ``kind`` (see ``PALETTE_FORMATS``); in ``.gpl`` the entries
    ``locked`` marks (a bool per entry) are named "locked"."""
    palette = np.asarray(palette, dtype=np.uint8)
    if kind not in PALETTE_FORMATS:
        raise ValueError(f"unknown palette format {kind!r}; use one of {', '.join(PALETTE_FORMATS)}")
    hexes = [hex_color(row) for row in palette]
    rgb = palette[:, :3]
    if kind == "hex":
        return "".join(f"{h}\n" for h in hexes).encode("ascii")
    if kind == "pal":
        return ("JASC-PAL\r\n0100\r\n" + f"{len(palette)}\r\n"
                + "".join(f"{r} {g} {b}\r\n" for r, g, b in rgb.tolist())).encode("ascii")
    if kind == "act":
        table = np.zeros((MAX_ENTRIES, 3), np.uint8)
        table[: len(rgb)] = rgb
        transparent = np.flatnonzero(palette[:, 3] == 0) if palette.shape[1] == 4 else []
        extra = len(rgb).to_bytes(2, "big") + (int(transparent[0]) if len(transparent) else 0xFFFF).to_bytes(2, "big")
        return table.tobytes() + extra
    lines = ["GIMP Palette", f"Name: {name}", "Columns: 8", "#"]
    for i, ((r, g, b), h) in enumerate(zip(rgb.tolist(), hexes, strict=True)):
        lines.append(f"{r:3d} {g:3d} {b:3d}\t{h}" + (" locked" if locked is not None and locked[i] else ""))
    return ("\n".join(lines) + "\n").encode("utf-8")


def hex_color(entry: np.ndarray) -> str:
    """#rrggbb, or #rrggbbaa when the entry has an alpha below 255."""
    entry = [int(v) for v in entry]
    if len(entry) == 4 and entry[3] == 255:
        entry = entry[:3]
    return "#" + "".join(f"{v:02x}" for v in entry)


def palette_kind(path: str | os.PathLike[str]) -> str:
    """The palette format a file's suffix names (a hex list for any other suffix)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    return suffix if suffix in ("gpl", "pal", "act") else "hex"


def save_palette(path: str | os.PathLike[str], palette: np.ndarray, *, force: bool = False,
                 locked: np.ndarray | None = None) -> None:
    """Save the palette in the format its suffix names (``palette_kind``), atomically."""
    title = os.fsencode(Path(path).stem).decode("utf-8", "replace")  # a name's bytes need not be UTF-8
    write_atomic(path, format_palette(palette, palette_kind(path), title, locked), force=force)


def load_palette(path: str | os.PathLike[str]) -> np.ndarray:
    """(n, 3) uint8 colours of a palette file, in its order (1 <= n <= 256).

    Raises ``PaletteFileError`` naming the file, and the line for text formats, when it is not one.
    """
    name = display_name(path)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        from kmeans.errors import os_reason

        raise ImageLoadError(f"{name}: {os_reason(error)}", f"{type(error).__name__}: {error}") from None
    kind = palette_kind(path)
    if kind == "act" or (kind == "hex" and len(data) in (768, 772) and not _is_text(data)):
        colours = _read_act(data, name)
    else:
        text = _text(data, name)
        first = text.lstrip("\ufeff").split("\n", 1)[0].strip()
        if first == "GIMP Palette":
            colours = _read_gpl(text, name)
        elif first == "JASC-PAL":
            colours = _read_pal(text, name)
        elif kind in ("gpl", "pal"):
            raise PaletteFileError(f"{name}: not a {kind.upper()} palette (its first line is not "
                                   f"{'GIMP Palette' if kind == 'gpl' else 'JASC-PAL'})")
        else:
            colours = _read_hex(text, name)
    if not colours:
        raise PaletteFileError(f"{name}: the palette has no colours")
    if len(colours) > MAX_ENTRIES:
        raise PaletteFileError(f"{name}: the palette has {len(colours)} colours; an indexed file holds at most "
                               f"{MAX_ENTRIES}")
    return np.array(colours, dtype=np.uint8).reshape(-1, 3)


def _is_text(data: bytes) -> bool:
    try:
        data.decode("ascii")
        return True
    except UnicodeDecodeError:
        return False


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError:
        raise PaletteFileError(f"{name}: not a palette file (it is not text, nor a 768-byte Adobe .act)") from None


def _channel(value: str, name: str, number: int) -> int:
    if not value.isdigit() or int(value) > 255:
        raise PaletteFileError(f"{name}, line {number}: {value!r} is not a colour value from 0 to 255")
    return int(value)


def _read_gpl(text: str, name: str) -> list[tuple[int, int, int]]:
    colours = []
    for number, line in enumerate(text.split("\n")[1:], start=2):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped.split(":", 1)[0] in ("Name", "Columns"):
            continue
        parts = stripped.split(None, 3)
        if len(parts) < 3:
            raise PaletteFileError(f"{name}, line {number}: {stripped!r} is not a colour (three numbers, R G B)")
        colours.append(tuple(_channel(v, name, number) for v in parts[:3]))
    return colours


def _read_pal(text: str, name: str) -> list[tuple[int, int, int]]:
    lines = text.split("\n")
    if len(lines) < 3 or lines[1].strip() != "0100" or not lines[2].strip().isdigit():
        raise PaletteFileError(f"{name}: not a JASC palette (it needs 0100 and a count on lines 2 and 3)")
    count = int(lines[2].strip())
    colours = []
    for number, line in enumerate(lines[3:], start=4):
        stripped = line.strip()
        if not stripped:
            continue
        parts = stripped.split()
        if len(parts) not in (3, 4):
            raise PaletteFileError(f"{name}, line {number}: {stripped!r} is not a colour (three numbers, R G B)")
        colours.append(tuple(_channel(v, name, number) for v in parts[:3]))
    if len(colours) != count:
        raise PaletteFileError(f"{name}: line 3 says {count} colours but the file has {len(colours)}")
    return colours


def _read_act(data: bytes, name: str) -> list[tuple[int, int, int]]:
    if len(data) not in (768, 772):
        raise PaletteFileError(f"{name}: not an Adobe .act palette (it has {len(data)} bytes, not 768 or 772)")
    table = np.frombuffer(data[:768], np.uint8).reshape(256, 3)
    count = int.from_bytes(data[768:770], "big") if len(data) == 772 else 256
    if not 1 <= count <= 256:
        raise PaletteFileError(f"{name}: the .act palette says it has {count} colours")
    return [tuple(int(v) for v in row) for row in table[:count]]


def _read_hex(text: str, name: str) -> list[tuple[int, int, int]]:
    colours = []
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.split(";", 1)[0].strip()
        if not stripped or stripped.startswith("//") or stripped.startswith("# "):
            continue
        colours.append(parse_hex(stripped, f"{name}, line {number}"))
    return colours


def parse_hex(text: str, where: str = "colour") -> tuple[int, int, int]:
    """(r, g, b) from "#rrggbb", "rrggbb" or "#rgb"; ``PaletteFileError`` (naming ``where``) otherwise."""
    value = text.strip().lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    if len(value) != 6 or any(c not in "0123456789abcdefABCDEF" for c in value):
        raise PaletteFileError(f"{where}: {text.strip()!r} is not a colour (write it as #rrggbb)")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
