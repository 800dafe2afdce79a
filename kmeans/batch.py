"""One file at a time, from Python: what a cluster's workers call.

``compress_file(source, **options)`` does exactly what ``kmeans-compress SOURCE --option ...`` does
for one file and returns a plain, picklable ``FileResult`` instead of printing a line; a file that
cannot be done is a result with ``ok`` False, never an exception.  Options are the command line's
long names in snake case (``k=64``, ``max_delta_e=3``, ``format="webp"``, ``out_dir="small"``,
``dither=True``); options that do not go together raise ``UsageError`` at once.

With Dask (``pip install "kmeans-image-compressor[cluster]"``)::

    from dask.distributed import Client
    from kmeans.batch import compress_file

    client = Client("scheduler-address:8786")  # or Client() for the cores of this machine
    futures = client.map(compress_file, paths, out_dir="/shared/small", max_delta_e=3, pure=False)
    for result in client.gather(futures):
        print(result.message if result.ok else f"error: {result.message}")

Each worker needs the package installed and the files (and the output folder) at the same paths.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from kmeans.cli import FileResult, UsageError, _ApiParser, _describe_path, _read_palettes, attempt, build_parser, parse

__all__ = ["FileResult", "UsageError", "arguments", "compress_file"]

_FLAGS = {"k": "-k", "output": "-o"}


def compress_file(source: str | os.PathLike[str], **options: object) -> FileResult:
    """Compress one image file as ``kmeans-compress`` would with these options (see the module)."""
    args = arguments([source], **options)
    if args.out_dir:
        try:
            Path(args.out_dir).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            problem = _describe_path(args.out_dir, "cannot make the output folder", error)
            return FileResult(os.fspath(source), False, str(problem), problem.details or "")
    return attempt(Path(source), args)


def arguments(sources: list[str | os.PathLike[str]], **options: object) -> argparse.Namespace:
    """The command line's checked arguments for ``sources`` and ``options``, palette files read
    (``UsageError`` if they do not go together, ``KMeansImageError`` for a palette file)."""
    argv = [os.fspath(source) for source in sources]
    for name, value in options.items():
        flag = _FLAGS.get(name, "--" + name.replace("_", "-"))
        if value is True:
            argv.append(flag)
        elif value is not False and value is not None:
            argv += [flag, os.fspath(value) if isinstance(value, os.PathLike) else str(value)]
    parser = build_parser(_ApiParser)
    args = parse(parser, argv)
    _read_palettes(args, parser)  # (a palette file that cannot be read raises its KMeansImageError)
    return args
