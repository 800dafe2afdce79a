"""Animations: every frame as a viewer shows it, and GIF, APNG and WebP files that keep them all.

An animation goes through the pipeline as one tall image, its frames stacked top to bottom: one
colour table and one k-means over the colours of every frame (each frame weighted by the pixels it
shows), so one palette fits them all and a pixel that keeps its colour keeps its entry.  The
writers then store each frame as what changed since the one before:

- ``plan`` follows the canvas a viewer keeps.  A frame is the smallest rectangle around the pixels
  that differ from what is already on the canvas; a frame that changes nothing lengthens the one
  before.  A frame is disposed of (its rectangle cleared) only when the next one must make a pixel
  transparent again, which no blend onto the canvas can.
- GIF: inside that rectangle, pixels already right on the canvas may be written as the frame's
  transparent index, which makes the long runs LZW packs best, or as their colour while it
  continues the run before them; each way is encoded and the smallest kept.  The index is the
  palette's transparent entry, else one the frame does not draw; a palette that fills its table
  is also tried with a table twice the size, for the free index.
- APNG: the same rectangles as ``fcTL``/``fdAT`` chunks (``kmeans.png``), blended over the canvas
  or replacing it, whichever is smaller.
- WebP: libwebp's own animation encoder (through Pillow), lossless, which finds the changed
  rectangles itself.
"""

from __future__ import annotations

import math
import os
import struct
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from kmeans.dither import dither
from kmeans.errors import Cancelled, CancelToken
from kmeans.quantized import Quantized

#: GIF stores a frame's delay in hundredths of a second.
GIF_TICK_MS = 10


@dataclass(frozen=True)
class Animation:
    """How the frames of an animation are shown: ``durations`` (ms, one per frame) and ``plays``,
    the times the whole animation is played (0: for ever)."""

    durations: tuple[int, ...]
    plays: int = 0

    @property
    def frames(self) -> int:
        return len(self.durations)

    @property
    def seconds(self) -> float:
        return sum(self.durations) / 1000.0


def clear_entries(palette: np.ndarray) -> np.ndarray:
    """The indices of the palette's fully transparent entries (none for an RGB palette)."""
    return np.flatnonzero(palette[:, 3] == 0) if palette.shape[1] == 4 else np.array([], np.intp)


def split(stack: np.ndarray, frames: int) -> np.ndarray:
    """The (frames, H, W, ...) view of frames stacked top to bottom."""
    return stack.reshape(frames, stack.shape[0] // frames, *stack.shape[1:])


def dither_frames(pixels: np.ndarray, result: Quantized, level: float, frames: int) -> np.ndarray:
    """``result``'s labels of ``pixels`` (``frames`` stacked top to bottom) dithered frame by frame,
    no error carried from one frame's last row into the next's first, then still where the
    picture is (``still_where_unchanged``)."""
    dithered = np.concatenate([dither(frame, result, level, labels=labels) for frame, labels
                               in zip(split(pixels, frames), split(result.labels, frames), strict=True)])
    return still_where_unchanged(pixels, dithered, frames)


def still_where_unchanged(pixels: np.ndarray, labels: np.ndarray, frames: int) -> np.ndarray:
    """Labels in which a pixel whose colour is the same as in the frame before keeps that frame's
    entry: dithering chosen frame by frame would otherwise make still areas shimmer."""
    pixels, labels = split(pixels, frames), split(labels.copy(), frames)
    for i in range(1, frames):
        same = (pixels[i] == pixels[i - 1]).all(axis=-1)
        labels[i][same] = labels[i - 1][same]
    return labels.reshape(-1, labels.shape[-1])


# -- planning: what each frame must draw ------------------------------------------------------

CLEAR = -1  # a transparent pixel on the canvas (what a disposed rectangle becomes)


@dataclass
class Step:
    """One frame as stored: its rectangle (``top``, ``left``, ``bottom``, ``right``: exclusive),
    what it shows, what the canvas held before it, its duration and whether its rectangle is
    cleared after it (``dispose``)."""

    box: tuple[int, int, int, int]
    target: np.ndarray  # (H, W) int16|32 labels of the whole frame, CLEAR for transparent pixels
    before: np.ndarray  # (H, W) the canvas before this frame is drawn
    duration: int
    frame: int = 0  # the frame it draws (frames that change nothing are merged into the one before)
    dispose: bool = False

    def region(self, image: np.ndarray) -> np.ndarray:
        top, left, bottom, right = self.box
        return image[top:bottom, left:right]


def _box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not rows.size:
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def _union(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def plan(frames: np.ndarray, transparent: np.ndarray, durations: tuple[int, ...],
         cancel: CancelToken | None = None, *, first_whole: bool = False) -> list[Step]:
    """The steps that draw ``frames`` (N, H, W labels; ``transparent`` the entries that are) on a
    canvas that starts transparent: each the smallest rectangle of what differs from the canvas
    (the first one the whole canvas when ``first_whole``), frames that change nothing merged into
    the one before, a rectangle disposed of only where the next frame needs it cleared."""
    n, h, w = frames.shape
    values = max(256, int(frames.max()) + 1 if frames.size else 0)
    clear = np.zeros(values, bool)
    clear[np.asarray(transparent, np.intp)] = True
    dtype = np.int16 if values <= np.iinfo(np.int16).max else np.int32
    steps: list[Step] = []
    canvas = np.full((h, w), CLEAR, dtype)
    for i in range(n):
        if cancel is not None and cancel.is_set():
            raise Cancelled("encoding cancelled")
        target = np.where(clear[frames[i]], CLEAR, frames[i].astype(dtype))
        before = canvas
        must_clear = (target == CLEAR) & (before != CLEAR)
        if steps and must_clear.any():
            last = steps[-1]
            last.box = _union(last.box, _box(must_clear))  # (the pixels to clear are within its rectangle)
            last.dispose = True
            before = canvas.copy()
            top, left, bottom, right = last.box
            before[top:bottom, left:right] = CLEAR
        box = _box(target != before)
        if box is None:
            if steps and not steps[-1].dispose:  # the same picture: shown for longer
                steps[-1].duration += durations[i]
                continue
            box = (0, 0, 1, 1)  # a frame must draw something; one pixel, left as it is
        if first_whole and not steps:
            box = (0, 0, h, w)
        steps.append(Step(box, target, before, durations[i], i))
        canvas = target
    return steps


# -- GIF --------------------------------------------------------------------------------------


def _lzw(labels: np.ndarray, bits: int) -> bytes:
    """GIF image data (the minimum code size byte, then LZW in sub-blocks, then the terminator) of
    ``labels`` with codes starting at ``bits`` + 1 bits, by Pillow's C encoder."""
    from PIL import GifImagePlugin, Image

    image = Image.fromarray(np.ascontiguousarray(labels, np.uint8), "P")
    try:
        # Pillow's own writer always starts codes at 9 bits; the encoder takes the width a palette
        # of fewer entries needs (gifsicle's choice), which packs small palettes tighter.
        encoder = Image._getencoder("P", "gif", ("P", bits))
        encoder.setimage(image.im, (0, 0, *image.size))
        blocks = []
        while True:
            _, status, data = encoder.encode(1 << 16)
            blocks.append(data)
            if status:
                break
        if status < 0:
            raise ValueError(f"the GIF encoder failed ({status})")
        return bytes([bits]) + b"".join(blocks) + b"\0"
    except (AttributeError, TypeError):  # a Pillow without that encoder: its public frame writer
        data = b"".join(GifImagePlugin.getdata(image))
        return data[data.index(b",") + 10:]  # (after the image descriptor it wrote)


def _gif_frame(step: Step, clear_index: int | None, bits: int,
               local: np.ndarray | None = None) -> tuple[bytes, int | None]:
    """The smallest of a step's rectangle written as it is, with the pixels already right on the
    canvas as a transparent index, and with them continuing the run before them (``_runs_kept``);
    returns the image data and the transparent index.  ``local`` maps the plan's colours to the
    frame's own colour table, when it has one."""
    target, before = step.region(step.target), step.region(step.before)
    unchanged = target == before
    if local is not None:
        target = np.where(target == CLEAR, CLEAR, local[np.maximum(target, 0)])
    as_is_index = clear_index if (target == CLEAR).any() else None
    plain = np.where(target == CLEAR, clear_index if clear_index is not None else 0, target)
    if as_is_index is None and step.dispose:
        # A disposed rectangle is restored to the background colour by the letter of the GIF spec
        # (and by Pillow) unless its frame names a transparent index; browsers clear it either way.
        as_is_index = clear_index if clear_index is not None else _unused(plain, bits)
    candidates = [(_lzw(plain, bits), as_is_index)]
    # (no pixel is CLEAR without a clear entry)
    free = clear_index if clear_index is not None else _unused(target[~unchanged], bits)
    if free is not None and unchanged.any():
        keyed = np.where(unchanged | (target == CLEAR), free, target)
        candidates.append((_lzw(keyed, bits), free))
        candidates.append((_lzw(_runs_kept(target, unchanged, free), bits), free))
    return min(candidates, key=lambda pair: len(pair[0]))


def _unused(labels: np.ndarray, bits: int) -> int | None:
    """An index codes of ``bits`` can hold that ``labels`` do not use, the highest (None: all used)."""
    unused = np.setdiff1d(np.arange(1 << bits), labels)
    return int(unused[-1]) if unused.size else None


def _runs_kept(target: np.ndarray, unchanged: np.ndarray, free: int) -> np.ndarray:
    """``target`` with each run of pixels already right on the canvas written as the colour drawn
    just before it for as long as it has that colour (the run of that colour goes on), and as
    ``free`` (transparent) after: LZW sees longer runs than with either alone."""
    flat, same = np.where(target == CLEAR, free, target).ravel(), unchanged.ravel() | (target.ravel() == CLEAR)
    positions = np.arange(flat.size)
    last_drawn = np.maximum.accumulate(np.where(same, -1, positions))  # the changed pixel before each one
    before = np.where(last_drawn >= 0, flat[np.maximum(last_drawn, 0)], -1)
    differs = np.cumsum(same & (flat != before))
    kept = same & (last_drawn >= 0) & (differs == differs[np.maximum(last_drawn, 0)])
    return np.where(same & ~kept, free, flat).reshape(target.shape)


def encode_gif(palette: np.ndarray, frames: np.ndarray, animation: Animation, *,
               cancel: CancelToken | None = None, frame_entries: tuple[int, ...] | None = None) -> bytes:
    """An animated GIF of ``frames`` (N, H, W) into ``palette`` (one global colour table, or with
    ``frame_entries`` a local one per frame: that frame's part of ``palette``), each frame only
    what changed, durations to GIF's 10 ms and the play count kept."""
    palette = np.asarray(palette, np.uint8)
    if frame_entries is not None:
        return _gif_per_frame(palette, frames, animation, frame_entries, cancel)
    entries = max(len(palette), 1)
    bits = _code_bits(entries)
    clear = clear_entries(palette)
    steps = plan(frames, clear, _gif_durations(animation.durations), cancel)
    made = _gif(palette, frames.shape[1:], animation, steps, clear, bits, cancel)
    if entries == 1 << bits and bits < 8 and not clear.size and len(steps) > 1:
        # A full table leaves no index to mean "already right on the canvas"; a table twice the
        # size has one, for a bit more per code: whichever file is smaller (gifsicle's choice too).
        wider = _gif(palette, frames.shape[1:], animation, steps, clear, bits + 1, cancel)
        made = min(made, wider, key=len)
    return made


def _gif(palette: np.ndarray, size: tuple[int, int], animation: Animation, steps: list[Step],
         clear: np.ndarray, bits: int, cancel: CancelToken | None) -> bytes:
    h, w = size
    clear_index = int(clear[0]) if clear.size else None
    out = [b"GIF89a", struct.pack("<HHBBB", w, h, 0x80 | ((bits - 1) << 4) | (bits - 1),
                                  clear_index or 0, 0), _table(palette, bits)]
    out += _netscape(animation)
    for step in steps:
        if cancel is not None and cancel.is_set():
            raise Cancelled("encoding cancelled")
        data, transparent = _gif_frame(step, clear_index, bits)
        out.append(_control(step, transparent))
        top, left, bottom, right = step.box
        out.append(b"," + struct.pack("<HHHHB", left, top, right - left, bottom - top, 0))
        out.append(data)
    out.append(b";")
    return b"".join(out)


def _gif_per_frame(palette: np.ndarray, frames: np.ndarray, animation: Animation, entries: tuple[int, ...],
                   cancel: CancelToken | None) -> bytes:
    """``encode_gif`` with a colour table per frame: the first frame's is the global table, each
    later frame's is local.  The plan follows colours, not entries (the same colour has an entry in
    each frame's table), so a pixel that keeps its colour is not stored again."""
    colours, colour_of = np.unique(palette, axis=0, return_inverse=True)
    colour_of = colour_of.ravel()
    clear = np.unique(colour_of[clear_entries(palette)])
    steps = plan(colour_of.astype(np.int32)[frames], clear, _gif_durations(animation.durations), cancel)
    h, w = frames.shape[1:]
    first = palette[entries[0]:entries[1]]
    bits = _code_bits(len(first))
    out = [b"GIF89a", struct.pack("<HHBBB", w, h, 0x80 | ((bits - 1) << 4) | (bits - 1), 0, 0), _table(first, bits)]
    out += _netscape(animation)
    for step in steps:
        if cancel is not None and cancel.is_set():
            raise Cancelled("encoding cancelled")
        part = palette[entries[step.frame]:entries[step.frame + 1]]
        local = np.full(len(colours), -1, np.int32)
        local[colour_of[entries[step.frame]:entries[step.frame + 1]][::-1]] = np.arange(len(part))[::-1]
        part_clear = clear_entries(part)
        clear_index = int(part_clear[0]) if part_clear.size else None
        own_bits = _code_bits(len(part))
        widths = [own_bits]
        if len(part) == 1 << own_bits and own_bits < 8 and clear_index is None and \
                (step is not steps[0] or step.dispose):
            widths.append(own_bits + 1)  # (a full table has no index left to mean "already right" or "clear")
        made = []
        for width in widths:
            data, transparent = _gif_frame(step, clear_index, width, local)
            same_as_global = step is steps[0] and width == bits
            table = b"" if same_as_global else _table(part, width)
            made.append((len(data) + len(table), data, transparent, table, width))
        keyed = [m for m in made if m[2] is not None]
        _, data, transparent, table, width = min(keyed if step.dispose and keyed else made, key=lambda m: m[0])
        out.append(_control(step, transparent))
        top, left, bottom, right = step.box
        flags = 0 if not table else 0x80 | (width - 1)
        out.append(b"," + struct.pack("<HHHHB", left, top, right - left, bottom - top, flags) + table)
        out.append(data)
    out.append(b";")
    return b"".join(out)


def _code_bits(entries: int) -> int:
    """The colour table size (as bits) and smallest code size for a table of ``entries`` (GIF's least is 2)."""
    return max(2, math.ceil(math.log2(max(entries, 1))))


def _table(palette: np.ndarray, bits: int) -> bytes:
    table = np.zeros((1 << bits, 3), np.uint8)
    table[: len(palette)] = palette[:, :3]
    return table.tobytes()


def _netscape(animation: Animation) -> list[bytes]:
    """The loop extension, when the animation plays other than once."""
    if animation.plays == 1:
        return []
    repeats = 0 if animation.plays == 0 else min(animation.plays - 1, 0xFFFF)
    return [b"!\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", repeats) + b"\0"]


def _control(step: Step, transparent: int | None) -> bytes:
    """A step's graphic control extension: its disposal, delay and transparent index."""
    packed = (2 if step.dispose else 1) << 2 | (transparent is not None)
    delay = min(round(step.duration / GIF_TICK_MS), 0xFFFF)
    return b"!\xf9\x04" + struct.pack("<BHB", packed, delay, transparent or 0) + b"\0"


def _gif_durations(durations: tuple[int, ...]) -> tuple[int, ...]:
    """Durations as GIF keeps them: whole hundredths of a second."""
    return tuple(round(d / GIF_TICK_MS) * GIF_TICK_MS for d in durations)


# -- APNG -------------------------------------------------------------------------------------

APNG_NONE, APNG_BACKGROUND = 0, 1  # dispose_op: leave the canvas, or clear the rectangle
APNG_SOURCE, APNG_OVER = 0, 1  # blend_op: replace the rectangle, or draw over it


def encode_apng(palette: np.ndarray, frames: np.ndarray, animation: Animation, *,
                cancel: CancelToken | None = None, dpi: tuple[float, float] | None = None) -> bytes:
    """An animated PNG of ``frames`` (N, H, W) into ``palette``: the first frame is the default
    image, each later one the rectangle that changed, blended over the canvas (the pixels already
    right there transparent) or replacing it, whichever deflates smaller."""
    from kmeans.png import bit_depth

    palette = np.asarray(palette, np.uint8)
    if clear_entries(palette).size or len(frames) == 1 or len(palette) == 256:
        return _apng(palette, frames, animation, cancel, dpi)
    # A transparent entry (one more index, and one byte of tRNS as it goes first) lets a frame
    # leave what is already right on the canvas alone.  Where the bit depth has room for it, it is
    # free; a full table is also tried one depth wider, and the smaller file kept.
    rgba = np.concatenate([palette[:, :3], np.full((len(palette), 1), 255, np.uint8)], axis=1)
    keyed = _apng(np.vstack([np.zeros((1, 4), np.uint8), rgba]), frames + np.uint8(1), animation, cancel, dpi)
    if bit_depth(len(palette) + 1) == bit_depth(len(palette)):
        return keyed
    return min(keyed, _apng(palette, frames, animation, cancel, dpi), key=len)


def _apng(palette: np.ndarray, frames: np.ndarray, animation: Animation, cancel: CancelToken | None,
          dpi: tuple[float, float] | None) -> bytes:
    """``encode_apng`` with this palette as it is."""
    from kmeans.png import SIGNATURE, bit_depth, chunk, deflated, header_chunks, level_for

    h, w = frames.shape[1:]
    clear = clear_entries(palette)
    bits = bit_depth(max(len(palette), 1))
    key = int(clear[0]) if clear.size else None  # (the entry added for a key, if it was)
    steps = plan(frames, clear, animation.durations, cancel, first_whole=True)
    out = [SIGNATURE, *header_chunks(palette, w, h, bits, dpi)]
    out.insert(2, chunk(b"acTL", struct.pack(">II", len(steps), animation.plays)))
    # The level the rows of all frames together would get as one still image: the same time.
    level = level_for(sum((s.box[2] - s.box[0]) * (1 + (s.box[3] - s.box[1]) * bits // 8) for s in steps))

    def frame_data(i: int) -> tuple[bytes, int]:
        if cancel is not None and cancel.is_set():
            raise Cancelled("encoding cancelled")
        step = steps[i]
        target, before = step.region(step.target), step.region(step.before)
        plain = np.where(target == CLEAR, key if key is not None else 0, target).astype(np.uint8)
        options = [(deflated(plain, bits, level), APNG_SOURCE)]
        if i and key is not None and (target == before).any():
            keyed = np.where(target == before, key, plain).astype(np.uint8)
            options.append((deflated(keyed, bits, level), APNG_OVER))
        return min(options, key=lambda pair: len(pair[0]))

    with ThreadPoolExecutor(max_workers=min(len(steps), os.cpu_count() or 1), thread_name_prefix="apng") as pool:
        streams = list(pool.map(frame_data, range(len(steps))))  # (libdeflate lets go of the GIL)
    sequence = 0
    for i, (step, (stream, blend)) in enumerate(zip(steps, streams, strict=True)):
        top, left, bottom, right = step.box
        delay = min(step.duration, 0xFFFF)
        out.append(chunk(b"fcTL", struct.pack(">IIIIIHHBB", sequence, right - left, bottom - top, left, top,
                                              delay, 1000, APNG_BACKGROUND if step.dispose else APNG_NONE, blend)))
        sequence += 1
        if i == 0:
            out.append(chunk(b"IDAT", stream))
        else:
            out.append(chunk(b"fdAT", struct.pack(">I", sequence) + stream))
            sequence += 1
    out.append(chunk(b"IEND", b""))
    return b"".join(out)


# -- WebP -------------------------------------------------------------------------------------


def encode_webp(palette: np.ndarray, frames: np.ndarray, animation: Animation, *,
                cancel: CancelToken | None = None) -> bytes:
    """A lossless animated WebP of ``frames`` (N, H, W) into ``palette`` (libwebp finds the changed
    rectangles and merges frames that change nothing)."""
    import io

    from PIL import Image

    palette = np.asarray(palette, np.uint8)
    mode = "RGBA" if palette.shape[1] == 4 else "RGB"
    images = [Image.fromarray(palette[f], mode) for f in frames]
    if cancel is not None and cancel.is_set():
        raise Cancelled("encoding cancelled")
    buffer = io.BytesIO()
    images[0].save(buffer, "WEBP", save_all=True, append_images=images[1:], duration=list(animation.durations),
                   loop=animation.plays, lossless=True, quality=75, method=4, minimize_size=True)
    return buffer.getvalue()
