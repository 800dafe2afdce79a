"""The ``kmeans-compress`` command line: quantize image files and write small palette images.

Exit status: 0 when every file was done, 1 when any failed (the others are still done), 2 for
bad usage.  Each failure is one line on stderr naming the file and saying why.  It imports
neither Qt nor matplotlib, and ``--version`` answers before numpy is imported.
"""

from __future__ import annotations

import os

# numpy's BLAS would start its own threads for the small distance products while the core already
# splits them between the cores; one BLAS thread is measurably faster here.  Must precede numpy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import math
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from kmeans import __version__
from kmeans.defaults import (
    COLOR_SPACES,
    DEFAULT_COLOR_SPACE,
    DEFAULT_INIT,
    DEFAULT_K,
    DEFAULT_MAX_ITER,
    DEFAULT_MAX_PIXELS,
    DEFAULT_SEED,
    FORMATS,
    INIT_METHODS,
    MAX_K,
    format_for,
)
from kmeans.errors import Cancelled, ImageTooLargeError, KMeansImageError, OutputExistsError, describe, os_reason
from kmeans.wording import count, display_name

if TYPE_CHECKING:

    import numpy as np

    from kmeans.autok import Choice, Point, Target
    from kmeans.imagefile import LoadedImage
    from kmeans.metrics import Quality
    from kmeans.quantized import Progress, Quantized

# numpy, Pillow and the core are imported once the arguments are parsed, so that --help and
# --version answer at once.

PROGRESS_AFTER = 0.5  # seconds before a file shows progress on a terminal
DEFAULT_NAME = "{name}-k{k}.{ext}"


class UsageError(ValueError):
    """Options that do not go together, from ``compress_file`` (the command line exits 2 instead)."""


class _ApiParser(argparse.ArgumentParser):
    def error(self, message: str):  # (argparse would print the usage and exit)
        raise UsageError(message)


def build_parser(cls: type[argparse.ArgumentParser] = argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser = cls(
        prog="kmeans-compress",
        description="Reduce images to K colours by k-means and save small palette images.",
        epilog="Outputs are named INPUT-kK.FORMAT beside the input (or in --out-dir, created when missing) unless "
        "-o is given. A folder stands for the images in it, by name (-r: and in its subfolders); files named "
        "like outputs (NAME-kK.png, ...) are skipped there. With a target (--max-delta-e, --min-psnr, "
        "--max-size) every K tried is a real run, so the file is the one -k with the chosen K writes; that K meets the "
        "target and K-1 does not (K+1 for a size); where quality is not monotone in K, a smaller K further down may "
        "also meet it. Exit status: 0 all done, 1 some file failed, 2 bad usage.",
    )
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders to compress")
    parser.add_argument("-r", "--recursive", action="store_true", help="also take images in subfolders of folders")
    how_many = parser.add_mutually_exclusive_group()
    how_many.add_argument("-k", type=int, metavar="K", help=f"palette size, 1..{MAX_K} (default {DEFAULT_K})")
    how_many.add_argument("--max-delta-e", type=float, metavar="D",
                          help="choose K: the fewest colours (2..256) whose mean CIEDE2000 difference from the "
                          "original is at most D (1 barely visible side by side, 2 high, 3 good, 5 small file)")
    how_many.add_argument("--min-psnr", type=float, metavar="P",
                          help="choose K: the fewest colours (2..256) whose PSNR is at least P dB")
    how_many.add_argument("--max-size", metavar="SIZE",
                          help="choose K: the most colours (2..256) whose file is at most SIZE (bytes, or with KB "
                          "or MB, 1 KB = 1,024 B)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", metavar="OUT", help="output file (only with a single input)")
    where.add_argument("--out-dir", metavar="DIR", help="folder for the outputs")
    parser.add_argument("--format", choices=sorted(FORMATS), help="output format (default: from -o's suffix, else png)")
    parser.add_argument("--name", default=DEFAULT_NAME, metavar="PATTERN",
                        help="output names: {name} the input's name without its suffix, {k} the palette size, "
                        "{ext} the format's suffix (default %(default)s)")
    parser.add_argument("--dither", action="store_true", help="Floyd-Steinberg dithering")
    parser.add_argument("--matte", default="#ffffff", metavar="COLOUR",
                        help="for GIF and BMP, which cannot keep partial transparency: the background colour "
                        "partly transparent pixels are blended onto, as #rrggbb or a name (default white)")
    parser.add_argument("--skip-if-larger", action="store_true",
                        help="do not write an output that would not be smaller than its input (says so; exit 0)")
    parser.add_argument("--color-space", choices=COLOR_SPACES, default=DEFAULT_COLOR_SPACE,
                        help="where colour distances are measured: balanced (sRGB with DIN99o, which tracks "
                        "how different colours look), rgb (the tutorial's) or oklab "
                        f"(default {DEFAULT_COLOR_SPACE})")
    parser.add_argument("--init", choices=INIT_METHODS, default=DEFAULT_INIT,
                        help=f"initial centroids (default {DEFAULT_INIT})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, metavar="N",
                        help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--max-iter", type=int, default=DEFAULT_MAX_ITER, metavar="N",
                        help=f"iteration limit per stage (default {DEFAULT_MAX_ITER})")
    parser.add_argument("--palette-out", metavar="FILE",
                        help="also save the palette (.gpl GIMP, .pal JASC, .act Adobe, else a hex list; with "
                        "--shared-palette, the one palette of all the inputs)")
    fixed = parser.add_mutually_exclusive_group()
    fixed.add_argument("--fixed", metavar="COLOURS",
                       help='colours the palette keeps exactly, counted in K: "#ff0000,#ffffff"')
    fixed.add_argument("--fixed-from", metavar="FILE", help="the colours of a palette file, kept exactly")
    fixed.add_argument("--palette-in", metavar="FILE",
                       help="use this palette (its colours, in its order) instead of k-means: each pixel gets the "
                       "nearest; with --extra N, N more colours are found by k-means around them")
    parser.add_argument("--extra", type=int, default=0, metavar="N",
                        help="with --palette-in: this many free colours besides the file's (default 0)")
    parser.add_argument("--shared-palette", action="store_true",
                        help="one palette for all the inputs (k-means on all their colours), each file mapped to it "
                        "in the same order, so an index is the same colour in every file")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS, metavar="N",
                        help=f"refuse larger images (default {DEFAULT_MAX_PIXELS:,}; 0 for no limit)")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                        help="files compressed at once, each in its own process (default: the number of cores, "
                        f"here {os.cpu_count() or 1})")
    parser.add_argument("--force", action="store_true", help="overwrite existing output files")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("-v", "--verbose", action="store_true", help="say the technical details of each error")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def main(argv: list[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the command line (the ``kmeans-compress`` entry point); returns the exit status."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    parser = build_parser()
    args = parse(parser, argv)
    report = _Report(out, err, quiet=args.quiet, verbose=args.verbose)
    sources = _expand(args.inputs, args.recursive, report)
    if len(sources) + report.failed > 1 and (args.output or (args.palette_out and not args.shared_palette)):
        parser.error("-o and --palette-out take a single input file (--palette-out also goes with --shared-palette)")
    try:
        _read_palettes(args, parser)
        if args.shared_palette:
            _share_palette(sources, args, report)
    except KMeansImageError as error:
        report.failure(error)
        return 1
    if args.out_dir:
        try:
            Path(args.out_dir).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            report.failure(_describe_path(args.out_dir, "cannot make the output folder", error))
            return 1
    try:
        if args.jobs > 1 and len(sources) > 1:
            results = in_processes(sources, args)
        else:
            results = (attempt(source, args, err) for source in sources)
        for result in results:
            report.result(result)
    except KeyboardInterrupt:
        report.interrupted()
        return 130
    return 1 if report.failed else 0


def parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """The arguments, checked beyond what argparse checks (``parser.error`` on bad usage)."""
    args = parser.parse_args(argv)
    args.target = _target(args, parser)
    k_given = args.k is not None
    if args.k is None:
        args.k = DEFAULT_K
    if not 1 <= args.k <= MAX_K:
        parser.error(f"-k must be between 1 and {MAX_K}, got {args.k}")
    if args.max_iter < 1:
        parser.error("--max-iter must be at least 1")
    if args.max_pixels < 0:
        parser.error("--max-pixels must be 0 (no limit) or more")
    args.matte = _colour(args.matte, parser)
    if args.output:
        named = format_for(args.output, "")
        if args.format and named and named != args.format:
            parser.error(f"-o {args.output} names a {named.upper()} file but --format is {args.format}; "
                         f"name it {Path(args.output).stem}{FORMATS[args.format][0]} or leave out --format")
        if not args.format and not named:
            parser.error(f"-o {args.output}: cannot tell the format from the name; use --format "
                         f"{{{','.join(FORMATS)}}}")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if (args.fixed or args.fixed_from or args.palette_in or args.shared_palette) and args.target is not None:
        parser.error("--fixed, --fixed-from, --palette-in and --shared-palette go with -k, not with a target")
    if args.palette_in and k_given:
        parser.error("--palette-in sets K (its colours, plus --extra); leave out -k")
    if args.extra and not args.palette_in:
        parser.error("--extra goes with --palette-in")
    if not 0 <= args.extra <= MAX_K:
        parser.error(f"--extra must be between 0 and {MAX_K}")
    args.fixed_colours = args.palette_colours = args.shared_colours = None
    if args.fixed:
        from kmeans.palettefile import PaletteFileError, parse_hex

        try:
            args.fixed_colours = [parse_hex(c, "--fixed") for c in re.split(r"[,\s]+", args.fixed.strip()) if c]
        except PaletteFileError as error:
            parser.error(str(error))
    problem = name_problem(args.name)
    if problem:
        parser.error(f"--name {args.name}: {problem}")
    return args


def _read_palettes(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Load --fixed-from and --palette-in, and check the colours fit in K (usage errors say so)."""
    import numpy as np

    from kmeans.palettefile import load_palette

    if args.fixed_from:
        args.fixed_colours = load_palette(args.fixed_from)
    if args.palette_in:
        args.palette_colours = load_palette(args.palette_in)
        args.k = len(args.palette_colours) + args.extra
        if args.k > MAX_K:
            parser.error(f"{display_name(args.palette_in)} has {len(args.palette_colours)} colours; with --extra "
                         f"{args.extra} that makes {args.k}, over {MAX_K}")
        if args.extra:
            args.fixed_colours = args.palette_colours
    if args.fixed_colours is not None:
        args.fixed_colours = np.asarray(args.fixed_colours, np.uint8).reshape(-1, 3)
        distinct = len(np.unique(args.fixed_colours, axis=0))
        if distinct > args.k:
            parser.error(f"{distinct} fixed colours do not fit in a palette of {args.k} (-k)")


def _share_palette(sources: list[Path], args: argparse.Namespace, report: _Report) -> None:
    """One palette fitted to the colours of every input (as its format shows them); the files are
    then mapped to it.  Saved to --palette-out when asked."""
    from kmeans.colortable import ColorTable
    from kmeans.imagefile import load
    from kmeans.palettefile import save_palette
    from kmeans.quantization import quantize
    from kmeans.transparency import shown, support_of

    parts = []
    for source in sources:
        try:
            image = load(source, max_pixels=args.max_pixels or None)
        except KMeansImageError:
            continue  # (its own line comes when its turn comes)
        _, fmt = output_path(source, args)
        # (a union of one keeps only the colours and counts, not the image's per-pixel index)
        parts.append(ColorTable.union([ColorTable.from_pixels(shown(image.pixels, support_of(fmt, image.pixels),
                                                                    args.matte))]))
    if not parts:
        return
    if args.palette_colours is not None and not args.extra:
        palette = args.palette_colours
        locked = None
    else:
        result = quantize(ColorTable.union(parts), args.k, color_space=args.color_space, init=args.init,
                          seed=args.seed, max_iter=args.max_iter, fixed=args.fixed_colours)
        keep = (result.palette[:, 3] > 0) if result.palette.shape[1] == 4 else slice(None)  # (not the transparent one)
        palette, locked = result.palette[keep], None if result.locked is None else result.locked[keep]
    args.shared_colours = palette
    if args.palette_out:
        save_palette(args.palette_out, palette, force=args.force, locked=locked)


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
class FileResult:
    """What became of one input: plain data (it crosses process boundaries).

    ``ok`` is False for a file that failed (``message`` says why in one line, ``details`` the
    technical part); a file not written on purpose (``--skip-if-larger``) is ok with ``output``
    None.  The numbers are those of the file written (or that would have been).
    """

    source: str
    ok: bool
    message: str
    details: str = ""
    output: str | None = None
    k: int | None = None
    psnr: float | None = None
    delta_e: float | None = None
    bytes_in: int | None = None
    bytes_out: int | None = None


def attempt(source: Path, args: argparse.Namespace, err: TextIO | None = None) -> FileResult:
    """Compress one file as the command line would, every failure turned into a ``FileResult``
    (the one boundary of each file).  ``err`` shows progress on a terminal; None shows none."""
    try:
        return _compress_one(source, args, err)
    except OutputExistsError as error:
        return _failed(source, error, " (use --force to overwrite it)")
    except ImageTooLargeError as error:
        return _failed(source, error, f"; allow it with --max-pixels {error.pixels}")
    except KMeansImageError as error:  # the core's own: already names the file
        return _failed(source, error)
    except Exception as error:  # one plain line, then the next file
        plain = describe(error)
        return _failed(source, KMeansImageError(f"{display_name(source)}: {plain}", plain.details))


def _failed(source: Path, error: KMeansImageError, hint: str = "") -> FileResult:
    return FileResult(os.fspath(source), False, f"{error}{hint}", error.details or "")


def in_processes(sources: list[Path], args: argparse.Namespace, stop: Callable[[], bool] | None = None,
                 started: Callable[[int], None] | None = None) -> Iterator[FileResult]:
    """Each file in a worker process, the results in input order.  At most ``args.jobs`` files are
    in the workers at once (so at most that many images are in memory); Ctrl+C, or ``stop()``
    turning True, ends it: files already in the workers are finished (written whole), the rest
    never started.  ``started(i)`` is called as the i-th file goes to a worker."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    pending: deque = deque()
    # "spawn": a fork of a process whose k-means threads may hold locks could deadlock.
    workers = min(args.jobs, len(sources))
    threads = max(1, (os.cpu_count() or 1) // workers)  # each worker's share of the cores
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=_init_worker,
                             initargs=(threads,)) as pool:
        try:
            for index, source in enumerate(sources):
                if stop is not None and stop():
                    break
                pending.append(pool.submit(attempt, source, args))
                if started is not None:
                    started(index)
                if len(pending) >= args.jobs:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _init_worker(threads: int) -> None:
    """A worker process: k-means on its share of the cores (before the core is imported), and
    Ctrl+C left to the main process, which stops the workers in order (a file being written is
    finished, never left half-written)."""
    import signal

    os.environ["KMEANS_THREADS"] = str(threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _target(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Target | None:
    """The quality or size target the arguments ask K to meet, if any."""
    from kmeans.autok import Target, parse_size

    if args.max_size is not None:
        try:
            return Target("size", parse_size(args.max_size))
        except ValueError as error:
            parser.error(f"--max-size: {error}")
    for kind, flag, value in (("delta_e", "--max-delta-e", args.max_delta_e), ("psnr", "--min-psnr", args.min_psnr)):
        if value is not None:
            if not (value > 0 and math.isfinite(value)):
                parser.error(f"{flag} must be a positive number, got {value:g}")
            return Target(kind, value)
    return None


def _colour(text: str, parser: argparse.ArgumentParser) -> tuple[int, int, int]:
    from PIL import ImageColor

    try:
        return ImageColor.getrgb(text)[:3]
    except ValueError:
        parser.error(f"--matte {text}: not a colour; use #rrggbb (like #ffffff) or a name (like white)")


def _describe_path(path: str | os.PathLike[str], what: str, error: OSError) -> KMeansImageError:
    """An operating-system error about a path given on the command line, as one plain sentence."""
    return KMeansImageError(f"{display_name(path)}: {what}: {os_reason(error)}", f"{type(error).__name__}: {error}")


def _expand(inputs: list[str], recursive: bool, report: _Report) -> list[Path]:
    """The files to compress: files as given, folders as the images in them in name order."""
    from PIL import Image

    suffixes = {suffix for suffix, fmt in Image.registered_extensions().items() if fmt in Image.OPEN}
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        try:
            is_folder = path.is_dir()
        except OSError as error:  # a folder on the way that the user may not look into
            report.failure(_describe_path(path, "cannot be looked at", error))
            continue
        if not is_folder:
            files.append(path)
            continue
        pattern = "**/*" if recursive else "*"
        try:
            found = sorted((p for p in path.glob(pattern) if p.suffix.lower() in suffixes
                            and not _OUTPUT_NAME.search(p.name) and p.is_file()), key=lambda p: os.fsencode(p))
        except OSError as error:
            report.failure(_describe_path(path, "cannot read the folder", error))
            continue
        if not found:
            report.failure(KMeansImageError(f"{display_name(path)}: the folder has no images"
                                            + ("" if recursive else " (use -r to look in its subfolders)")))
        files.extend(found)
    return files


_OUTPUT_NAME = re.compile(r"-k\d+\.(png|gif|webp|bmp)$", re.IGNORECASE)


class _Report:
    """Prints each file's line, or its error; a closed standard output stops the printing, never the work."""

    def __init__(self, out: TextIO, err: TextIO, *, quiet: bool, verbose: bool):
        self.out, self.err = out, err
        self.quiet, self.verbose = quiet, verbose
        self.failed = 0
        self._out_closed = False

    def result(self, result: FileResult) -> None:
        if not result.ok:
            self.failed += 1
            self._print(f"error: {result.message}", self.err)
            if self.verbose and result.details:
                self._print("\n".join(f"  detail: {line}" for line in result.details.splitlines()), self.err)
        elif not self.quiet:
            self._print(result.message, self.out)

    def failure(self, error: KMeansImageError, hint: str = "") -> None:
        self.failed += 1
        self._print(f"error: {error}{hint}", self.err)
        if self.verbose and error.details:
            self._print("\n".join(f"  detail: {line}" for line in error.details.splitlines()), self.err)

    def interrupted(self) -> None:
        self._print("interrupted", self.err)

    def _print(self, text: str, stream: TextIO) -> None:
        if stream is self.out and self._out_closed:
            return
        try:
            print(_printable(text, stream), file=stream, flush=True)
        except BrokenPipeError:
            # The reader went away (| head): stop printing there, go on compressing.
            if stream is self.out:
                self._out_closed = True
                _silence(stream)
        except (OSError, ValueError):
            if stream is self.out:
                self._out_closed = True


def _silence(stream: TextIO) -> None:
    """Point a closed pipe's descriptor at the null device, so Python's final flush stays quiet."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, stream.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):
        pass


def output_path(source: Path, args: argparse.Namespace, k: int | None = None) -> tuple[Path, str]:
    """Where a source's output goes (named for ``k`` colours, by default -k's), and in which format."""
    if args.output:
        target = Path(args.output)
        return target, args.format or format_for(target)
    fmt = args.format or "png"
    folder = Path(args.out_dir) if args.out_dir else source.parent
    return folder / args.name.format(name=source.stem, k=k or args.k, ext=FORMATS[fmt][0][1:]), fmt


class _Runs:
    """Full, reproducible runs of one image at any K, each made once: what ``-k K`` would write."""

    def __init__(self, image: LoadedImage, args: argparse.Namespace, fmt: str, progress: _Progress | None):
        from kmeans.colortable import ColorTable
        from kmeans.transparency import shown, support_of

        self.image, self.args, self.fmt, self.progress = image, args, fmt, progress
        self.support = support_of(fmt, image.pixels)
        self.pixels = shown(image.pixels, self.support, args.matte)  # what the format can show is what k-means sees
        self.table = ColorTable.from_pixels(self.pixels)
        self._made: dict[int, tuple[Quantized, np.ndarray]] = {}
        self._data: dict[int, bytes] = {}
        self._quality: dict[int, Quality] = {}

    def result(self, k: int) -> tuple[Quantized, np.ndarray]:
        """k-means at ``k`` and the labels the file gets (dithered or not)."""
        from kmeans.dither import dither
        from kmeans.mapping import in_order, map_to_palette
        from kmeans.quantization import quantize

        if k not in self._made:
            a = self.args
            given = a.shared_colours if a.shared_colours is not None else \
                a.palette_colours if a.palette_colours is not None and not a.extra else None
            try:
                if given is not None:
                    result = map_to_palette(self.table, given, color_space=a.color_space)
                else:
                    result = quantize(self.table, k, color_space=a.color_space, init=a.init, seed=a.seed,
                                      max_iter=a.max_iter, callback=self.progress, fixed=a.fixed_colours)
                    if a.palette_colours is not None:  # (--extra: the file's colours first, in its order)
                        result = in_order(result, a.palette_colours)
            except Cancelled:  # pragma: no cover - the command line never cancels
                raise KMeansImageError(f"{self.image.name}: cancelled") from None
            self._made[k] = (result, dither(self.pixels, result) if a.dither else result.labels)
        return self._made[k]

    def data(self, k: int) -> bytes:
        from kmeans.imagefile import encode

        if k not in self._data:
            result, labels = self.result(k)
            self._data[k] = encode(result.palette, labels, self.fmt, dpi=self.image.dpi)
        return self._data[k]

    def quality(self, k: int) -> Quality:
        """The file's PSNR and ΔE at ``k`` (worked out once: the search and the line both ask)."""
        from kmeans.transparency import file_quality

        if k not in self._quality:
            result, labels = self.result(k)
            self._quality[k] = file_quality(self.image.pixels, self.table, result.palette, result.color_labels,
                                            self.support, self.args.matte, labels=labels if self.args.dither else None)
        return self._quality[k]

    def point(self, k: int, *, size: bool) -> Point:
        from kmeans.autok import Point

        q = self.quality(k)
        return Point(k, len(self.result(k)[0].palette), q.psnr, q.delta_e, len(self.data(k)) if size else 0)

    def choose(self, target: Target) -> Choice:
        """The K for ``target``, as ``kmeans.autok.choose`` finds it with this file's real runs."""
        from kmeans.autok import CurveSample, Settings, Unreachable, choose, estimate

        a = self.args

        def estimator() -> Callable[[int], Point]:
            sample = CurveSample.of(self.image.pixels, self.pixels, self.support, self.image.dpi, self.table)
            settings = Settings(self.fmt, a.color_space, a.init, a.seed, a.max_iter, a.dither, a.matte)
            return lambda k: estimate(sample, k, settings, sizes=target.by_size)

        try:
            return choose(lambda k: self.point(k, size=target.by_size), target, self.table.n_pixels, estimator)
        except Unreachable as unreachable:
            raise KMeansImageError(f"{self.image.name}: not written: {unreachable}") from None


def _compress_one(source: Path, args: argparse.Namespace, err: TextIO | None) -> FileResult:
    from kmeans.atomic import check_target, write_atomic
    from kmeans.imagefile import load
    from kmeans.metrics import compression_ratio
    from kmeans.palettefile import save_palette
    from kmeans.transparency import note

    started = time.perf_counter()
    target, fmt = output_path(source, args)
    if args.target is None or args.output:
        check_target(target, force=args.force)  # before the work: a name that cannot be written says so now
    image = load(source, max_pixels=args.max_pixels or None)
    progress = _Progress(image.name, err) if not args.quiet and err is not None else None
    try:
        runs = _Runs(image, args, fmt, progress)
        choice = runs.choose(args.target) if args.target is not None else None
        k = choice.k if choice is not None else args.k
        result = runs.result(k)[0]
        data = runs.data(k)
    finally:
        if progress is not None:
            progress.clear()
    if choice is not None and not args.output:
        target, _ = output_path(source, args, k)
        check_target(target, force=args.force)
    if args.skip_if_larger and len(data) >= image.file_size:
        return FileResult(os.fspath(source), True, f"{image.name}: not written: {display_name(target)} would be "
                          f"{len(data):,} B, not smaller than the input's {image.file_size:,} B", k=k,
                          bytes_in=image.file_size, bytes_out=len(data))
    write_atomic(target, data, force=args.force)
    if args.palette_out and not args.shared_palette:
        try:
            save_palette(args.palette_out, result.palette, force=args.force, locked=result.locked)
        except KMeansImageError as error:
            hint = " (use --force to overwrite it)" if isinstance(error, OutputExistsError) else ""
            raise KMeansImageError(f"{display_name(target)} was written, but not the palette: {error}{hint}",
                                   error.details) from None
    seconds = time.perf_counter() - started
    scores = runs.quality(k)
    notes = [n for n in (*image.notices, result.notice, note(image.pixels, fmt, args.matte)) if n]
    if choice is not None:
        notes.insert(0, f"chose K={k}: {choice.reason} ({count(len(choice.tried), 'trial run')})")
    ratio = compression_ratio(image.file_size, len(data))
    size_note = f"{ratio:.1f}x smaller" if ratio >= 1 else "LARGER than the input"
    psnr = "inf" if math.isinf(scores.psnr) else f"{scores.psnr:.2f}"
    line = (
        f"{display_name(target)}  {image.width}x{image.height}  K={len(result.palette)}  "
        f"{result.n_iter} iterations  {seconds:.2f}s  PSNR {psnr} dB  \u0394E {scores.delta_e:.2f}  "
        f"{image.file_size:,} B -> {len(data):,} B ({size_note})"
    )
    return FileResult(os.fspath(source), True, "\n".join([line, *(f"  note: {n}" for n in notes)]),
                      output=os.fspath(target), k=len(result.palette), psnr=scores.psnr, delta_e=scores.delta_e,
                      bytes_in=image.file_size, bytes_out=len(data))


def _printable(text: str, stream: TextIO) -> str:
    """``text`` as the stream can print it: ΔE becomes dE on terminals that lack the letter."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        return text.replace("\u0394E", "dE").encode(encoding, "backslashreplace").decode(encoding)


class _Progress:
    """A one-line progress display on a terminal's stderr for files that take a while."""

    def __init__(self, name: str, stream: TextIO):
        self.name = name
        self.stream = stream
        self.live = stream.isatty() if hasattr(stream, "isatty") else False
        self.started = time.perf_counter()
        self.shown = False

    def __call__(self, progress: Progress) -> None:
        if not self.live or time.perf_counter() - self.started < PROGRESS_AFTER:
            return
        text = f"{self.name}: {progress.stage} iteration {progress.iteration}, inertia {progress.inertia:.4g}"
        self.stream.write("\r" + _printable(text, self.stream)[: _columns() - 1] + "\x1b[K")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def _columns() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 80


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
