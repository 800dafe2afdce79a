"""Every choice that changes what a file becomes, in one frozen, validated object.

``Options`` is what the pipeline (``kmeans.pipeline``) and the batch (``kmeans.batch``) take, from
every front end: the command line builds it from argv (``Options.from_names`` on its parsed long
names), ``compress_file`` from its keyword arguments (the same names), the window from its widgets
(the constructor).  It is checked once, on creation: options that do not go together raise
``UsageError`` with the same plain sentence wherever they came from.  Importing this module costs
nothing: numpy and Pillow load only when a palette file or a colour name is read.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path

from kmeans.defaults import (
    COLOR_SPACES,
    DEFAULT_COLOR_SPACE,
    DEFAULT_INIT,
    DEFAULT_K,
    DEFAULT_MATTE,
    DEFAULT_MAX_ITER,
    DEFAULT_MAX_PIXELS,
    DEFAULT_NAME,
    DEFAULT_SEED,
    FORMATS,
    FULL_DITHER,
    INIT_METHODS,
    MAX_K,
    Matte,
    format_for,
)
from kmeans.wording import display_name, file_size

Colour = tuple[int, ...]  # (r, g, b), or (r, g, b, a) for a palette entry that is not opaque


class UsageError(ValueError):
    """Options that do not go together; the message says which, in one plain sentence."""


@dataclass(frozen=True)
class Target:
    """What the user asks of the export: mean ΔE at most, PSNR at least, or bytes at most."""

    kind: str  # "delta_e", "psnr" or "size"
    value: float

    def __post_init__(self) -> None:
        if self.kind not in ("delta_e", "psnr", "size"):
            raise ValueError(f"unknown target {self.kind!r}")
        if not self.value > 0 or not math.isfinite(self.value):
            raise ValueError("a target must be a positive number")

    @property
    def by_size(self) -> bool:
        """Size targets want the largest K that fits; quality targets the smallest that meets."""
        return self.kind == "size"

    def met(self, point) -> bool:
        """Whether ``point`` (a ``kmeans.autok.Point``) meets the target."""
        if self.kind == "delta_e":
            return point.delta_e <= self.value
        if self.kind == "psnr":
            return point.psnr >= self.value
        return point.size <= self.value

    def words(self) -> str:
        """The target in words: "ΔE ≤ 2", "PSNR ≥ 35 dB", "at most 100.0 KB (102,400 B)"."""
        if self.kind == "delta_e":
            return f"ΔE ≤ {self.value:g}"
        if self.kind == "psnr":
            return f"PSNR ≥ {self.value:g} dB"
        return f"at most {file_size(int(self.value))}"

    def measure(self, point) -> str:
        """The point's value of what the target is about: "ΔE 1.84", "PSNR 35.20 dB", "100,379 B"."""
        if self.kind == "delta_e":
            return f"ΔE {self._shown(point.delta_e)}"
        if self.kind == "psnr":
            return "PSNR ∞" if math.isinf(point.psnr) else f"PSNR {self._shown(point.psnr)} dB"
        return f"{point.size:,} B"

    def _shown(self, value: float) -> str:
        """Two decimals, or as many more as it takes to show which side of the target it is on
        (3.0004 does not meet ΔE ≤ 3, and must not read "3.00")."""
        for places in range(2, 7):
            text = f"{value:.{places}f}"
            if (float(text) <= self.value) == (value <= self.value) and float(text) != self.value:
                return text
        return f"{value:.2f}"


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes from "50000", "48KB", "1.5 MB" (KB and MB as this program shows them: 1 KB = 1,024 B).
    Raises ValueError with a plain reason."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a size; write bytes (50000) or KB/MB (48KB, 1.5MB)")
    unit = (match.group(2) or "b").lower()
    scale = 1 if unit == "b" else 1024 if unit.startswith("k") else 1024**2
    size = int(float(match.group(1)) * scale)
    if size <= 0:
        raise ValueError(f"{text!r} is not a size of at least one byte")
    return size


def name_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot name output files, or None when it can."""
    try:
        name = pattern.format(name="photo", k=16, ext="png")
    except (KeyError, IndexError, ValueError) as error:
        return f"use only {{name}}, {{k}} and {{ext}} ({type(error).__name__}: {error})"
    if not name or name in (".", "..") or "/" in name or os.sep in name or "\0" in name:
        return "it must make a plain file name (no folders)"
    return None


@dataclass(frozen=True)
class Options:
    """Every choice that changes an output file, checked on creation (``UsageError``).

    How many colours: ``k`` (a transparent entry counts), or a ``target`` that chooses K per image.
    ``fixed`` colours are kept exactly and counted in K.  ``palette`` is a palette to keep in its
    order (a palette file's, or one shared by many files): its colours come first, and ``k`` beyond
    them are free colours k-means finds around them; with none free, each pixel simply takes its
    nearest entry and the palette is written whole, a transparent entry added when an image needs
    one.  ``shared_palette`` asks the batch to fit one palette to all its files (it then passes it
    on as ``palette``).  ``format`` None: from ``output``'s suffix, else PNG.  ``max_pixels`` 0: no
    limit.  ``name`` is the output-name pattern ({name}, {k}, {ext}).  ``dither`` is the dithering
    level in percent (0 none, 100 full error diffusion); True and False mean 100 and 0.
    """

    k: int = DEFAULT_K
    target: Target | None = None
    color_space: str = DEFAULT_COLOR_SPACE
    init: str = DEFAULT_INIT
    seed: int = DEFAULT_SEED
    max_iter: int = DEFAULT_MAX_ITER
    dither: int = 0
    format: str | None = None
    matte: Matte = DEFAULT_MATTE
    fixed: tuple[Colour, ...] = ()
    palette: tuple[Colour, ...] = ()
    shared_palette: bool = False
    max_pixels: int = DEFAULT_MAX_PIXELS
    output: str | None = None
    out_dir: str | None = None
    name: str = DEFAULT_NAME
    force: bool = False
    skip_if_larger: bool = False
    palette_out: str | None = None
    palette_source: str | None = field(default=None, compare=False)  # the palette file, for messages

    def __post_init__(self) -> None:
        if isinstance(self.dither, bool):  # the switch it was before it had a level
            object.__setattr__(self, "dither", FULL_DITHER if self.dither else 0)
        if not 0 <= self.dither <= FULL_DITHER:
            raise UsageError(f"--dither={self.dither}: the dithering level is a percentage from 0 to 100")
        if not 1 <= self.k <= MAX_K:
            raise UsageError(f"-k must be between 1 and {MAX_K}, got {self.k}")
        if self.color_space not in COLOR_SPACES:
            raise UsageError(f"--color-space must be one of {', '.join(COLOR_SPACES)}, got {self.color_space!r}")
        if self.init not in INIT_METHODS:
            raise UsageError(f"--init must be one of {', '.join(INIT_METHODS)}, got {self.init!r}")
        if self.format is not None and self.format not in FORMATS:
            raise UsageError(f"--format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        if self.max_iter < 1:
            raise UsageError("--max-iter must be at least 1")
        if self.max_pixels < 0:
            raise UsageError("--max-pixels must be 0 (no limit) or more")
        if self.output:
            named = format_for(self.output, "")
            if self.format and named and named != self.format:
                raise UsageError(f"-o {self.output} names a {named.upper()} file but --format is {self.format}; "
                                 f"name it {Path(self.output).stem}{FORMATS[self.format][0]} or leave out --format")
            if not self.format and not named:
                raise UsageError(f"-o {self.output}: cannot tell the format from the name; use --format "
                                 f"{{{','.join(FORMATS)}}}")
            if self.out_dir:
                raise UsageError("-o and --out-dir do not go together: -o names the one output file")
        if (self.palette or self.shared_palette) and self.target is not None:
            raise UsageError("--palette-in and --shared-palette go with -k, not with a target")
        if self.fixed and self.palette:
            raise UsageError("--fixed and --palette-in do not go together: a palette file's colours are kept anyway")
        if len(self.colours) > self.k:
            raise UsageError(f"a palette of {len(self.colours)} colours does not fit in K={self.k}")
        distinct = len({tuple(c[:3]) for c in self.fixed})
        if distinct > self.k:
            raise UsageError(f"{distinct} fixed colours do not fit in a palette of {self.k} (-k)")
        problem = name_problem(self.name)
        if problem:
            raise UsageError(f"--name {self.name}: {problem}")

    @property
    def fmt(self) -> str:
        """The output format: --format, else -o's suffix, else PNG."""
        return self.format or (format_for(self.output) if self.output else "png")

    @property
    def colours(self) -> tuple[Colour, ...]:
        """The palette's visible entries (a shared palette may also hold a transparent one)."""
        return tuple(c for c in self.palette if len(c) == 3 or c[3] > 0)

    @property
    def kept(self) -> tuple[Colour, ...]:
        """The colours every palette keeps exactly: the palette's, or the fixed ones."""
        return self.colours or self.fixed

    @classmethod
    def from_names(cls, **names: object) -> Options:
        """Options from the command line's long names in snake case (``k=64``, ``max_delta_e=3``,
        ``matte="#1e1e1e"``, ``fixed="#ff0000,#fff"``, ``palette_in="colours.gpl"``, ``extra=8``,
        ``max_size="200KB"``, ``out_dir=...``), as ``kmeans-compress`` and ``compress_file`` give
        them.  Palette files are read here: one that cannot be read raises its ``KMeansImageError``;
        options that do not go together raise ``UsageError``."""
        unknown = sorted(set(names) - _NAMES)
        if unknown:
            raise UsageError(f"unknown option {unknown[0]!r}; the options are {', '.join(sorted(_NAMES))}")
        given = {name: value for name, value in names.items() if value is not None and value is not False}
        targets = [name for name in ("max_delta_e", "min_psnr", "max_size") if name in given]
        if len(targets) + ("k" in given) > 1:
            raise UsageError("choose one of -k, --max-delta-e, --min-psnr and --max-size")
        kept = [name for name in ("fixed", "fixed_from", "palette_in") if name in given]
        if len(kept) > 1:
            raise UsageError("choose one of --fixed, --fixed-from and --palette-in")
        values: dict = {name: given[name] for name in _PLAIN if name in given}
        for name in ("output", "out_dir", "palette_out"):
            if name in values:
                values[name] = os.fspath(values[name])
        if "dither" in values:
            values["dither"] = _level(values["dither"])
        values["target"] = _target(given)
        values["matte"] = _matte(given.get("matte", DEFAULT_MATTE))
        extra = int(given.get("extra", 0))
        if not 0 <= extra <= MAX_K:
            raise UsageError(f"--extra must be between 0 and {MAX_K}")
        if extra and "palette_in" not in given:
            raise UsageError("--extra goes with --palette-in")
        if "fixed" in given:
            values["fixed"] = _hex_list(str(given["fixed"]))
        elif "fixed_from" in given:
            values["fixed"] = _palette_file(given["fixed_from"])
        elif "palette_in" in given:
            if "k" in given:
                raise UsageError("--palette-in sets K (its colours, plus --extra); leave out -k")
            source = given["palette_in"]
            palette = _palette_file(source)
            values.update(palette=palette, k=len(palette) + extra, palette_source=os.fspath(source))
            if values["k"] > MAX_K:
                raise UsageError(f"{display_name(source)} has {len(palette)} colours; with --extra {extra} that "
                                 f"makes {values['k']}, over {MAX_K}")
        return cls(**values)


_PLAIN = ("k", "color_space", "init", "seed", "max_iter", "dither", "format", "shared_palette", "max_pixels", "output",
          "out_dir", "name", "force", "skip_if_larger", "palette_out")
_NAMES = frozenset((*_PLAIN, "max_delta_e", "min_psnr", "max_size", "matte", "fixed", "fixed_from", "palette_in",
                    "extra"))
assert set(_PLAIN) <= {f.name for f in fields(Options)}


def _target(given: dict) -> Target | None:
    """The quality or size target among the names, if any."""
    if "max_size" in given:
        try:
            return Target("size", parse_size(str(given["max_size"])))
        except ValueError as error:
            raise UsageError(f"--max-size: {error}") from None
    for kind, name, flag in (("delta_e", "max_delta_e", "--max-delta-e"), ("psnr", "min_psnr", "--min-psnr")):
        if name in given:
            value = float(given[name])  # type: ignore[arg-type]
            if not (value > 0 and math.isfinite(value)):
                raise UsageError(f"{flag} must be a positive number, got {value:g}")
            return Target(kind, value)
    return None


def _level(value: object) -> int:
    """A dithering level: True (full), or a percentage from 0 to 100, "%" allowed."""
    if value is True:
        return FULL_DITHER
    text = str(value).strip().removesuffix("%").strip()
    try:
        level = float(text)
    except ValueError:
        raise UsageError(f"--dither={value}: the dithering level is a percentage from 0 to 100, like "
                         "--dither=75") from None
    if not 0 <= level <= FULL_DITHER:
        raise UsageError(f"--dither={value}: the dithering level is a percentage from 0 to 100")
    return round(level)


def _matte(value: object) -> Matte:
    """A colour from #rrggbb, a name, or three numbers."""
    if isinstance(value, tuple | list):
        return tuple(int(v) for v in value[:3])  # type: ignore[return-value]
    from PIL import ImageColor

    try:
        return ImageColor.getrgb(str(value))[:3]
    except ValueError:
        raise UsageError(f"--matte {value}: not a colour; use #rrggbb (like #ffffff) or a name (like white)") from None


def _hex_list(text: str) -> tuple[Colour, ...]:
    from kmeans.palettefile import PaletteFileError, parse_hex

    try:
        return tuple(parse_hex(c, "--fixed") for c in re.split(r"[,\s]+", text.strip()) if c)
    except PaletteFileError as error:
        raise UsageError(str(error)) from None


def _palette_file(path: object) -> tuple[Colour, ...]:
    from kmeans.palettefile import load_palette

    return tuple(tuple(int(v) for v in row) for row in load_palette(os.fspath(path)).tolist())  # type: ignore[arg-type]
