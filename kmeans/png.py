"""Indexed PNG files, written by hand so every byte is chosen for size.

Pillow filters the rows of palette images, which suits photographs in RGB but not palette
indices: a row of indices filtered by its neighbour is noise to deflate.  Here every row uses
filter 0 (None) and the image data is deflated by libdeflate (the ``deflate`` package), whose
near-optimal parsing at levels 10-12 makes streams 6-11% smaller than zlib's level 9.  The level
is the highest whose time stays small for the image (``level_for``); for small images both the
smallest bit depth and one byte per index are tried and the smaller file kept (whole bytes can
suit deflate better than packed nibbles: dice.png at K=16 is 11% smaller at 8 bits).  The bytes
depend only on the image, never on the machine.
"""

from __future__ import annotations

import struct
import zlib
from concurrent.futures import ThreadPoolExecutor

import deflate
import numpy as np

from kmeans.errors import Cancelled, CancelToken

SIGNATURE = b"\x89PNG\r\n\x1a\n"
IDAT_SIZE = 1 << 18  # the compressed stream is stored in chunks of this size
# libdeflate levels by the bytes of row data (measured on photos here: level 12 ~0.33 s per MiB,
# level 10 ~0.17 s, level 9 ~0.07 s); the largest images keep to about 0.7 s.
LEVELS = ((1 << 20, 12), (3 << 20, 10))
LARGE_LEVEL = 9
BOTH_DEPTHS_UP_TO = 1 << 20  # row bytes at 8 bits up to which the packed depth is also tried


def bit_depth(entries: int) -> int:
    """The smallest PNG bit depth (1, 2, 4 or 8) whose indices reach ``entries`` palette entries."""
    return next(bits for bits in (1, 2, 4, 8) if entries <= 1 << bits)


def level_for(row_bytes: int) -> int:
    """The libdeflate level for this many bytes of row data: the smaller the data, the harder it is
    worked (level 12 costs ~5x level 9's time for 3-8% fewer bytes)."""
    return next((level for limit, level in LEVELS if row_bytes <= limit), LARGE_LEVEL)


def encode_png(palette: np.ndarray, labels: np.ndarray, *, cancel: CancelToken | None = None,
               dpi: tuple[float, float] | None = None) -> bytes:
    """An indexed PNG of ``labels`` (H, W) into ``palette`` (n, 3|4) uint8, n <= 256.

    Entries with alpha below 255 are kept in a tRNS chunk (up to the last such entry); an sRGB
    chunk says the colours are sRGB; ``dpi`` (horizontal, vertical) becomes a pHYs chunk.
    Raises ``Cancelled`` once ``cancel`` is set (checked between the steps of encoding).
    """
    palette = np.asarray(palette, dtype=np.uint8)
    labels = np.asarray(labels, dtype=np.uint8)
    height, width = labels.shape
    packed = bit_depth(max(len(palette), 1))
    depths = [packed]
    if packed < 8 and height * (width + 1) <= BOTH_DEPTHS_UP_TO:
        depths.append(8)
    if len(depths) == 1:
        streams = [_deflate(labels, packed, cancel)]
    else:
        with ThreadPoolExecutor(max_workers=len(depths), thread_name_prefix="png") as pool:
            streams = list(pool.map(lambda bits: _deflate(labels, bits, cancel), depths))
    bits, stream = min(zip(depths, streams, strict=True), key=lambda pair: (len(pair[1]), pair[0]))
    chunks = header_chunks(palette, width, height, bits, dpi)
    chunks += [chunk(b"IDAT", stream[i : i + IDAT_SIZE]) for i in range(0, len(stream), IDAT_SIZE)]
    chunks.append(chunk(b"IEND", b""))
    return SIGNATURE + b"".join(chunks)


def estimated_size(palette: np.ndarray, rows: np.ndarray, height: int, *,
                   dpi: tuple[float, float] | None = None) -> int:
    """About the bytes ``encode_png`` writes for an image ``height`` rows high whose rows look like
    ``rows`` (a sample of them, in bands): the sample deflated as the whole image would be (its
    depths, its level), scaled to ``height`` rows, with the chunks around it counted exactly."""
    palette = np.asarray(palette, dtype=np.uint8)
    rows = np.asarray(rows, dtype=np.uint8)
    sample_height, width = rows.shape
    packed = bit_depth(max(len(palette), 1))
    depths = [packed] + ([8] if packed < 8 and height * (width + 1) <= BOTH_DEPTHS_UP_TO else [])
    best = None
    for bits in depths:
        raw = _filtered_rows(rows, bits)
        level = level_for(len(raw) // sample_height * height)
        size = round(len(deflate.zlib_compress(raw, level)) * height / sample_height)
        if best is None or size < best[0]:
            best = (size, bits)
    assert best is not None
    stream, bits = best
    chunks = header_chunks(palette, width, height, bits, dpi)
    idat = 12 * max(1, -(-stream // IDAT_SIZE))
    return len(SIGNATURE) + sum(map(len, chunks)) + stream + idat + len(chunk(b"IEND", b""))


def header_chunks(palette: np.ndarray, width: int, height: int, bits: int,
                   dpi: tuple[float, float] | None) -> list[bytes]:
    chunks = [chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bits, 3, 0, 0, 0)),
              chunk(b"sRGB", b"\x00")]  # perceptual rendering intent
    if dpi is not None and all(d > 0 for d in dpi):
        per_metre = [round(d / 0.0254) for d in dpi]
        chunks.append(chunk(b"pHYs", struct.pack(">IIB", *per_metre, 1)))
    chunks.append(chunk(b"PLTE", np.ascontiguousarray(palette[:, :3]).tobytes() or b"\x00\x00\x00"))
    if palette.shape[1] == 4 and (palette[:, 3] < 255).any():
        last = int(np.flatnonzero(palette[:, 3] < 255).max())
        chunks.append(chunk(b"tRNS", palette[: last + 1, 3].tobytes()))
    return chunks


def _deflate(labels: np.ndarray, bits: int, cancel: CancelToken | None) -> bytes:
    """The zlib stream of the rows at ``bits`` per index (libdeflate releases the GIL meanwhile)."""
    if cancel is not None and cancel.is_set():
        raise Cancelled("encoding cancelled")
    raw = _filtered_rows(labels, bits)
    stream = deflate.zlib_compress(raw, level_for(len(raw)))
    if cancel is not None and cancel.is_set():
        raise Cancelled("encoding cancelled")
    return stream


def deflated(labels: np.ndarray, bits: int, level: int) -> bytes:
    """The zlib stream of ``labels``' rows at ``bits`` per index, filtered as ``encode_png``
    stores them, at libdeflate ``level``."""
    return deflate.zlib_compress(_filtered_rows(labels, bits), level)


def _filtered_rows(labels: np.ndarray, bits: int) -> bytes:
    """Each row as a filter-type byte (0) followed by its indices packed ``bits`` to a sample."""
    height, width = labels.shape
    per = 8 // bits
    row_bytes = -(-width // per)
    rows = np.zeros((height, 1 + row_bytes), dtype=np.uint8)
    if per == 1:
        rows[:, 1:] = labels
    else:
        padded = np.zeros((height, row_bytes * per), dtype=np.uint8)
        padded[:, :width] = labels
        packed = rows[:, 1:]
        for i in range(per):
            packed |= padded[:, i::per] << (8 - bits * (i + 1))
    return rows.tobytes()


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
