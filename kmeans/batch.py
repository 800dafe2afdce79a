"""Many files through one pipeline: what ``--jobs``, the batch window and a cluster's workers use.

- ``expand`` turns inputs into files (folders stand for the images in them, by name);
- ``plan`` gives each file its output name: two inputs that would get one name (``a/photo.png``
  and ``b/photo.png``) are told apart (``photo-k16.png``, ``photo-2-k16.png``), or, when the
  naming pattern has no ``{name}``, the later one is refused with a plain message;
- ``run`` fits the one shared palette first when asked, then compresses each file, in worker
  processes or here, and yields one ``FileResult`` per file in input order;
- ``compress_one`` is one file behind one error boundary, and ``compress_file(path, **options)``
  the same from Python, with the command line's long names as keywords.

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

import math
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from kmeans.defaults import FORMATS
from kmeans.errors import ImageTooLargeError, KMeansImageError, OutputExistsError, describe, path_error
from kmeans.options import Options, UsageError
from kmeans.wording import count, display_name, display_path, size_change

__all__ = ["FileResult", "Job", "UsageError", "compress_file", "compress_one", "expand", "plan", "run",
           "share_palette"]

#: Names like our own outputs (``photo-k16.png``): a folder's are skipped, so a second run over
#: it does not compress its outputs again.
OUTPUT_NAME = re.compile(r"-k\d+\.(png|gif|webp|bmp)$", re.IGNORECASE)
#: Files given to the worker pool beyond one per worker, so a worker that finishes finds its next file
#: already there instead of waiting for the round trip to this process.
AHEAD = 2
_POLL = 0.1  # seconds between looks at stop() while waiting for a worker

Watch = Callable[[str, object], None]  # (image name, kmeans Progress): a terminal's progress line


@dataclass(frozen=True)
class FileResult:
    """What became of one input: plain data (it crosses process boundaries).

    ``ok`` is False for a file that failed (``message`` says why in one plain line, naming the
    file; ``details`` the technical part; ``reason`` "exists" or "too large" where a front end
    has a remedy to offer, with the image's ``pixels`` for the latter).  A file not written on
    purpose (``skip_if_larger``, or given twice) is ok with ``output`` None.  The numbers are those
    of the file written (or that would have been).
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
    reason: str = ""
    pixels: int = 0
    frames: int = 1  # an animation's, all kept
    worst_psnr: float | None = None  # an animation's worst frame


@dataclass(frozen=True)
class Expanded:
    """The files inputs stand for, and what could not be looked at (one plain error each)."""

    files: list[Path]
    problems: list[KMeansImageError]


def expand(inputs: list[str | os.PathLike[str]], recursive: bool = False) -> Expanded:
    """Files as given, folders as the images in them in name order (``recursive``: subfolders too),
    outputs of earlier runs left out."""
    from PIL import Image

    suffixes = {suffix for suffix, fmt in Image.registered_extensions().items() if fmt in Image.OPEN}
    files: list[Path] = []
    problems: list[KMeansImageError] = []
    for item in inputs:
        path = Path(item)
        try:
            is_folder = path.is_dir()
        except OSError as error:  # a folder on the way that the user may not look into
            problems.append(path_error(path, "cannot be looked at", error))
            continue
        if not is_folder:
            files.append(path)
            continue
        pattern = "**/*" if recursive else "*"
        try:
            found = sorted((p for p in path.glob(pattern) if p.suffix.lower() in suffixes
                            and not OUTPUT_NAME.search(p.name) and p.is_file()), key=lambda p: os.fsencode(p))
        except OSError as error:
            problems.append(path_error(path, "cannot read the folder", error))
            continue
        if not found:
            problems.append(KMeansImageError(f"{display_name(path)}: the folder has no images"
                                             + ("" if recursive else " (use -r to look in its subfolders)")))
        files.extend(found)
    return Expanded(files, problems)


@dataclass(frozen=True)
class Job:
    """One input of a batch: its ``source``, the ``stem`` its output is named with (the input's
    own, or made unique in the batch), and ``refused`` when it will not be done (why, in words)."""

    source: Path
    stem: str
    refused: str | None = None

    def output(self, options: Options, k: int | None = None) -> Path:
        """Where its output goes when it has ``k`` colours (default: the options' K)."""
        if options.output:
            return Path(options.output)
        folder = Path(options.out_dir) if options.out_dir else self.source.parent
        return folder / options.name.format(name=self.stem, k=k or options.k, ext=FORMATS[options.fmt][0][1:])


def plan(sources: list[Path], options: Options) -> list[Job]:
    """A job per source, in order, each with an output name no other job of the batch has (see
    the module); a file given twice is done once."""
    jobs: list[Job] = []
    taken: dict[str, Path] = {}  # output name (with K left open) -> the source that has it
    seen: set[str] = set()
    for source in sources:
        here = os.path.normcase(os.path.abspath(source))
        if here in seen:
            jobs.append(Job(source, source.stem, f"{display_path(source)}: given more than once; done once"))
            continue
        seen.add(here)
        stem, number = source.stem, 1
        while (key := _name_key(Job(source, stem), options)) in taken:
            if "{name}" not in options.name:
                other = taken[key]
                jobs.append(Job(source, stem, f"{display_path(source)}: not written: its output would have the "
                                f"same name as {display_path(other)}'s, and the naming pattern {options.name} has "
                                "no {name} to tell them apart"))
                break
            number += 1
            stem = f"{source.stem}-{number}"
        else:
            taken[key] = source
            jobs.append(Job(source, stem))
    return jobs


def _name_key(job: Job, options: Options) -> str:
    """A job's output path with K left open, as the file system compares names."""
    folder = Path(options.out_dir) if options.out_dir else job.source.parent
    name = options.name.format(name=job.stem, k="\0", ext=FORMATS[options.fmt][0][1:])
    key = os.path.normcase(os.path.abspath(folder / name))
    return key.lower() if sys.platform == "darwin" else key  # (its file systems ignore case too)


def share_palette(jobs: list[Job], options: Options) -> Options:
    """The options with the one palette fitted to every input's colours (as the format shows
    them), k-means on all of them together with the kept colours kept: every file is then mapped to
    it, so each carries the same palette in the same order (a transparent entry included when any
    input has transparent pixels).  Saved to ``palette_out`` when asked."""
    from kmeans.colortable import ColorTable
    from kmeans.palettefile import save_palette
    from kmeans.pipeline import load, prepare, quantize

    parts = []
    for job in jobs:
        if job.refused:
            continue
        try:
            image = load(job.source, options)
        except KMeansImageError:
            continue  # (its own line comes when its turn comes)
        # (a union of one keeps only the colours and counts, not the image's per-pixel index)
        parts.append(ColorTable.union([prepare(image, options.fmt, options.matte).table]))
    if not parts:
        return options
    result = quantize(ColorTable.union(parts), options)
    palette = result.palette
    if options.palette_out:
        visible = palette[:, 3] > 0 if palette.shape[1] == 4 else slice(None)
        locked = None if result.locked is None else result.locked[visible]
        save_palette(options.palette_out, palette[visible], force=options.force, locked=locked)
    entries = tuple(tuple(int(v) for v in row) for row in palette.tolist())
    return replace(options, palette=entries, fixed=())  # (K stays: the outputs are named for it)


def make_folder(options: Options) -> None:
    """Make the output folder when missing (``KMeansImageError`` when it cannot be made)."""
    if options.out_dir:
        try:
            Path(options.out_dir).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise path_error(options.out_dir, "cannot make the output folder", error) from None


def run(jobs: list[Job], options: Options, *, processes: int = 0, watch: Watch | None = None,
        stop: Callable[[], bool] | None = None, started: Callable[[int], None] | None = None) -> Iterator[FileResult]:
    """Each job's result, in input order, as ``run_as_done`` makes them.  After a stop the results
    end with the last file begun (a file not begun before it, which two workers racing the stop
    can leave, says so)."""
    waiting: dict[int, FileResult] = {}
    after = 0
    for index, result in run_as_done(jobs, options, processes=processes, watch=watch, stop=stop, started=started):
        waiting[index] = result
        while after in waiting:
            yield waiting.pop(after)
            after += 1
    for index in range(after, max(waiting, default=after - 1) + 1):
        yield waiting.pop(index, None) or FileResult(
            os.fspath(jobs[index].source), False, f"{display_name(jobs[index].source)}: not started, the batch "
            "was stopped", reason="stopped")


def run_as_done(jobs: list[Job], options: Options, *, processes: int = 0, watch: Watch | None = None,
                stop: Callable[[], bool] | None = None,
                started: Callable[[int], None] | None = None) -> Iterator[tuple[int, FileResult]]:
    """(index, result) of each job as it is done: the shared palette fitted first when asked (and
    the output folder made), then the files compressed in ``processes`` worker processes (0: here,
    in order, where ``watch`` hears their progress).  At most that many files are in the workers at
    once (so at most that many images are in memory), and a worker that finishes takes the next
    file at once; Ctrl+C, or ``stop()`` turning True, ends it: files already begun are finished
    (written whole), the rest never begun.  ``started(i)`` is called once the i-th file is being
    worked on (not at all when its result comes first).  ``KMeansImageError`` when the folder or
    the shared palette cannot be made."""
    if not processes:
        make_folder(options)
        if options.shared_palette:
            options = share_palette(jobs, options)
        for index, job in enumerate(jobs):
            if stop is not None and stop():
                return
            if started is not None:
                started(index)
            yield index, compress_one(job, options, watch)
        return
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    # "spawn": a fork of a process whose k-means threads may hold locks could deadlock.
    context = get_context("spawn")
    workers = max(1, min(processes, len(jobs)))
    threads = max(1, (os.cpu_count() or 1) // workers)  # each worker's share of the cores
    halt, notes = context.Event(), context.SimpleQueue()
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker,
                             initargs=(threads, halt, notes)) as pool:
        try:
            make_folder(options)
            if options.shared_palette:  # (it decodes every file: in a worker too, off the caller's GIL)
                options = pool.submit(share_palette, jobs, options).result()
            yield from _as_done(pool, jobs, options, workers + AHEAD, stop, started, halt, notes)
        except BaseException:
            halt.set()  # (the files waiting in the pool's queue are not begun)
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _as_done(pool, jobs: list[Job], options: Options, limit: int, stop: Callable[[], bool] | None,
             started: Callable[[int], None] | None, halt, notes) -> Iterator[tuple[int, FileResult]]:
    """(index, result) as each file is done, with at most ``limit`` files given to the pool and
    unfinished at any time; once ``stop()`` is True no file is begun."""
    from concurrent.futures import FIRST_COMPLETED, wait

    unfinished: dict = {}  # future -> its job's index
    given = 0

    def give() -> None:  # files to the pool while fewer than ``limit`` are unfinished
        nonlocal given
        while given < len(jobs) and len(unfinished) < limit and not halt.is_set():
            unfinished[pool.submit(_work, given, jobs[given], options)] = given
            given += 1

    def results(futures) -> Iterator[tuple[int, FileResult]]:
        for future in sorted(futures, key=unfinished.get):
            index = unfinished.pop(future)
            result = future.result()
            if result is not None:  # (None: given, and left when the batch stopped)
                yield index, result

    give()
    while unfinished:
        done = wait(unfinished, timeout=_POLL, return_when=FIRST_COMPLETED).done
        if stop is not None and stop():
            halt.set()
        yield from results(done)
        # What the workers have begun and finished since (each notes both, in order).  A file
        # noted finished has its result on the way: it is waited for and told first, so no more
        # files are "at work" at once than there are workers.
        begun: dict[int, None] = {}  # (in the order begun)
        finished: set[int] = set()
        while not notes.empty():
            index, at_work = notes.get()
            if at_work:
                begun[index] = None
            elif index in begun:  # (begun and finished since the last look: its result comes with the next)
                del begun[index]
            else:
                finished.add(index)
        yield from results([future for future, index in unfinished.items() if index in finished])
        give()
        if started is not None:
            for index in begun:
                started(index)


def _init_worker(threads: int, halt, notes) -> None:
    """A worker process: k-means on its share of the cores (before the core is imported), and
    Ctrl+C left to the main process, which stops the workers in order (a file being written is
    finished, never left half-written)."""
    import signal

    global _HALT, _NOTES
    os.environ["KMEANS_THREADS"] = str(threads)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _HALT, _NOTES = halt, notes


_HALT = _NOTES = None  # (a worker's: the batch's stop, and where it notes each file it begins and ends)


def _work(index: int, job: Job, options: Options) -> FileResult | None:
    """``compress_one`` in a worker, its beginning and end noted for the main process; None when
    the batch stopped before this file was begun."""
    if _HALT is not None and _HALT.is_set():
        return None
    if _NOTES is not None:
        _NOTES.put((index, True))
    try:
        return compress_one(job, options)
    finally:
        if _NOTES is not None:
            _NOTES.put((index, False))


def compress_one(job: Job, options: Options, watch: Watch | None = None) -> FileResult:
    """Compress one file of a batch, every failure turned into a ``FileResult`` (the one boundary
    of each file).  ``watch`` hears its k-means progress."""
    source = os.fspath(job.source)
    if job.refused:
        done_once = "given more than once" in job.refused
        return FileResult(source, done_once, job.refused)
    try:
        return _compress(job, options, watch)
    except OutputExistsError as error:
        return _failed(source, error, "exists", target=display_name(error.path))
    except ImageTooLargeError as error:
        return _failed(source, error, "too large", error.pixels)
    except KMeansImageError as error:  # the core's own, naming the input or the output, or neither
        return _failed(source, error, target=_output_name(job, options))
    except Exception as error:  # one plain line, then the next file
        plain = describe(error)
        return _failed(source, KMeansImageError(f"{display_name(source)}: {plain}", plain.details))


def _output_name(job: Job, options: Options) -> str | None:
    try:
        return display_name(job.output(options))
    except (KMeansImageError, OSError, ValueError):
        return None


def _failed(source: str, error: KMeansImageError, reason: str = "", pixels: int = 0,
            target: str | None = None) -> FileResult:
    """A failed file's result, whose message names a file (in a batch a line without one is useless):
    the input's name is put first unless the message names the input or its ``target``."""
    message, name = str(error), display_name(source)
    if name not in message and (target is None or target not in message):
        message = f"{name}: {message}"
    return FileResult(source, False, message, error.details or "", reason=reason, pixels=pixels)


def _compress(job: Job, options: Options, watch: Watch | None) -> FileResult:
    from kmeans import pipeline
    from kmeans.atomic import check_target
    from kmeans.autok import Unreachable
    from kmeans.palettefile import save_palette
    from kmeans.transparency import note

    started = time.perf_counter()
    target = job.output(options)
    if options.target is None or options.output:
        check_target(target, force=options.force)  # before the work: a name that cannot be written says so now
    image = pipeline.load(job.source, options)
    prepared = pipeline.prepare(image, options.fmt, options.matte)
    runs = pipeline.Runs(prepared, options, callback=None if watch is None else lambda p: watch(image.name, p))
    try:
        choice = runs.choose(options.target) if options.target is not None else None
    except Unreachable as unreachable:
        raise KMeansImageError(f"{image.name}: not written: {unreachable}") from None
    k = choice.k if choice is not None else options.k
    result, data = runs.result(k), runs.data(k)
    if choice is not None and not options.output:
        target = job.output(options, k)
        check_target(target, force=options.force)
    if options.skip_if_larger and len(data) >= image.file_size:
        return FileResult(os.fspath(job.source), True, f"{image.name}: not written: {display_name(target)} would be "
                          f"{len(data):,} B, not smaller than the input's {image.file_size:,} B", k=k,
                          bytes_in=image.file_size, bytes_out=len(data))
    pipeline.write(target, data, options)
    if options.palette_out and not options.shared_palette:  # (a shared palette is saved once, by the batch)
        try:
            save_palette(options.palette_out, result.palette, force=options.force, locked=result.locked)
        except OutputExistsError as error:
            raise OutputExistsError(f"{display_name(target)} was written, but not the palette: {error}",
                                    error.path) from None
        except KMeansImageError as error:
            raise KMeansImageError(f"{display_name(target)} was written, but not the palette: {error}",
                                   error.details) from None
    seconds = time.perf_counter() - started
    scores = runs.quality(k)
    notes = [n for n in (*image.notices, result.notice, note(image.pixels, options.fmt, options.matte)) if n]
    if choice is not None:
        notes.insert(0, f"chose K={k}: {choice.reason} ({count(len(choice.tried), 'trial run')})")
    change = size_change(image.file_size, len(data))  # (as the window says it: never "1.0x smaller")
    size_note = change if len(data) <= image.file_size else f"{change}: LARGER than the input"
    psnr = f"{_db(scores.psnr)} dB"
    frames, worst = "", None
    if image.frames > 1:  # the mean can hide one bad frame
        worst = min(pipeline.frame_psnr(runs.prepared, *runs.run(k)))
        frames = f"  {image.frames} frames"
        psnr += f" (worst frame {_db(worst)} dB)"
    line = (
        f"{display_name(target)}  {image.width}x{image.height}{frames}  K={result.colours}"
        f"{' per frame' if result.frames is not None else ''}  "
        f"{result.n_iter} iterations  {seconds:.2f}s  PSNR {psnr}  \u0394E {scores.delta_e:.2f}  "
        f"{image.file_size:,} B -> {len(data):,} B ({size_note})"
    )
    return FileResult(os.fspath(job.source), True, "\n".join([line, *(f"  note: {n}" for n in notes)]),
                      output=os.fspath(target), k=result.colours, psnr=scores.psnr, delta_e=scores.delta_e,
                      bytes_in=image.file_size, bytes_out=len(data), frames=image.frames, worst_psnr=worst)


def _db(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:.2f}"


def compress_file(source: str | os.PathLike[str], **options: object) -> FileResult:
    """Compress one image file as ``kmeans-compress`` would with these options (the command line's
    long names in snake case, see the module); ``UsageError`` for options that do not go together,
    and a ``FileResult`` with ``ok`` False, never an exception, for a file that cannot be done."""
    try:
        chosen = Options.from_names(**options)  # (UsageError goes to the caller)
        make_folder(chosen)
    except UsageError:
        raise
    except KMeansImageError as error:  # a palette file that cannot be read, a folder that cannot be made
        return _failed(os.fspath(source), error)
    return compress_one(plan([Path(source)], chosen)[0], chosen)
