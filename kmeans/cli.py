"""The ``kmeans-compress`` command line: quantize image files and write small palette images.

It turns argv into ``Options`` and the batch's results into lines; everything else is
``kmeans.batch`` and ``kmeans.pipeline``.  Exit status: 0 when every file was done, 1 when any
failed (the others are still done), 2 for bad usage.  Each failure is one line on stderr naming
the file and saying why, with the flag that would help where one would.  It imports neither Qt
nor matplotlib, and ``--version`` answers before numpy is imported.
"""

from __future__ import annotations

import os

# numpy's BLAS would start its own threads for the small distance products while the core already
# splits them between the cores; one BLAS thread is measurably faster here.  Must precede numpy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import sys
import time
from typing import TYPE_CHECKING, TextIO

from kmeans import __version__
from kmeans.defaults import (
    COLOR_SPACES,
    DEFAULT_COLOR_SPACE,
    DEFAULT_INIT,
    DEFAULT_K,
    DEFAULT_MAX_ITER,
    DEFAULT_MAX_PIXELS,
    DEFAULT_NAME,
    DEFAULT_SEED,
    FORMATS,
    FULL_DITHER,
    INIT_METHODS,
    MAX_K,
)
from kmeans.errors import KMeansImageError
from kmeans.options import Options, UsageError

if TYPE_CHECKING:
    from kmeans.batch import FileResult
    from kmeans.quantized import Progress

# numpy, Pillow and the core are imported once the arguments are parsed, so that --help and
# --version answer at once.

PROGRESS_AFTER = 0.5  # seconds before a file shows progress on a terminal
#: The arguments that are ``Options`` (the rest say how to run: inputs, -r, --jobs, --quiet, ...).
FILE_OPTIONS = ("k", "max_delta_e", "min_psnr", "max_size", "output", "out_dir", "format", "name", "dither", "matte",
                "skip_if_larger", "color_space", "init", "seed", "max_iter", "palette_out", "fixed", "fixed_from",
                "palette_in", "extra", "shared_palette", "max_pixels", "force")


def build_parser() -> argparse.ArgumentParser:
    """The command line's arguments: each file option is ``Options.from_names``'s name of it."""
    parser = argparse.ArgumentParser(
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
    parser.add_argument("--dither", nargs="?", const=str(FULL_DITHER), metavar="LEVEL",
                        help="diffuse the colour error (smoother gradients, usually a larger file); "
                        "--dither=LEVEL dithers less, LEVEL a percentage from 0 to 100 (default 100)")
    parser.add_argument("--matte", metavar="COLOUR",
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


def _bare_dither(argv: list[str]) -> list[str]:
    """``argv`` with a bare ``--dither`` spelled ``--dither=100``, so that it never takes the next
    argument (an input file) as its level: a level is always given as ``--dither=LEVEL``."""
    if "--" in argv:
        end = argv.index("--")
        return _bare_dither(argv[:end]) + argv[end:]
    return [f"--dither={FULL_DITHER}" if arg == "--dither" else arg for arg in argv]


def main(argv: list[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run the command line (the ``kmeans-compress`` entry point); returns the exit status."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    parser = build_parser()
    args = parser.parse_args(_bare_dither(sys.argv[1:] if argv is None else argv))
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    report = _Report(out, err, quiet=args.quiet, verbose=args.verbose)
    try:
        options = Options.from_names(**{name: getattr(args, name) for name in FILE_OPTIONS})
    except UsageError as error:
        parser.error(str(error))
    except KMeansImageError as error:  # a palette file that cannot be read
        report.failure(error)
        return 1
    from kmeans.batch import expand, plan, run

    report.dither = options.dither > 0
    expanded = expand(args.inputs, args.recursive)
    for problem in expanded.problems:
        report.failure(problem)
    sources = expanded.files
    if len(sources) + report.failed > 1 and (options.output or (options.palette_out and not options.shared_palette)):
        parser.error("-o and --palette-out take a single input file (--palette-out also goes with --shared-palette)")
    jobs = plan(sources, options)
    live = _Progress(err) if not args.quiet else None
    processes = args.jobs if args.jobs > 1 and len(jobs) > 1 else 0
    try:
        for result in run(jobs, options, processes=processes, watch=live):
            if live is not None:
                live.clear()
            report.result(result)
    except KMeansImageError as error:  # the output folder, or the shared palette
        report.failure(error)
        return 1
    except KeyboardInterrupt:
        report.interrupted()
        return 130
    return 1 if report.failed else 0


def _remedy(result: FileResult, dither: bool = False) -> str:
    """What the command line can do about a failure, as a hint after its message."""
    if result.reason == "exists":
        return " (use --force to overwrite it)"
    if result.reason == "too large":
        from kmeans.memory import beyond_memory

        beyond = beyond_memory(result.pixels, dither)  # (a flag that cannot work is not offered)
        return f"; {beyond}" if beyond else f"; allow it with --max-pixels {result.pixels}"
    return ""


class _Report:
    """Prints each file's line, or its error; a closed standard output stops the printing, never the work."""

    def __init__(self, out: TextIO, err: TextIO, *, quiet: bool, verbose: bool):
        self.out, self.err = out, err
        self.quiet, self.verbose = quiet, verbose
        self.failed = 0
        self.dither = False  # the files are dithered: what memory a remedy may assume
        self._out_closed = False

    def result(self, result: FileResult) -> None:
        if not result.ok:
            self.failed += 1
            self._print(f"error: {result.message}{_remedy(result, self.dither)}", self.err)
            if self.verbose and result.details:
                self._print("\n".join(f"  detail: {line}" for line in result.details.splitlines()), self.err)
        elif not self.quiet:
            self._print(result.message, self.out)

    def failure(self, error: KMeansImageError) -> None:
        self.failed += 1
        self._print(f"error: {error}", self.err)
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


def _printable(text: str, stream: TextIO) -> str:
    """``text`` as the stream can print it: ΔE becomes dE on terminals that lack the letter."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        return text.replace("\u0394E", "dE").encode(encoding, "backslashreplace").decode(encoding)


class _Progress:
    """A one-line progress display on a terminal's stderr for files that take a while (each file's
    line from ``PROGRESS_AFTER`` seconds after its first iteration)."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.live = stream.isatty() if hasattr(stream, "isatty") else False
        self.name: str | None = None
        self.started = 0.0
        self.shown = False

    def __call__(self, name: str, progress: Progress) -> None:
        if not self.live:
            return
        if name != self.name:
            self.name, self.started = name, time.perf_counter()
        if time.perf_counter() - self.started < PROGRESS_AFTER:
            return
        text = f"{name}: {progress.stage} iteration {progress.iteration}, inertia {progress.inertia:.4g}"
        self.stream.write("\r" + _printable(text, self.stream)[: _columns() - 1] + "\x1b[K")
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        """Wipe the line (before a file's own line is printed); the next file starts afresh."""
        self.name = None
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


def _columns() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 80


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
