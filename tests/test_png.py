"""The hand-written indexed PNG: read back exactly by Pillow, smallest bit depth (or whole bytes
where they deflate smaller), transparency, dpi, and an encoder that stops when cancelled."""

from __future__ import annotations

import io
import threading
import zlib

import numpy as np
import pytest
from PIL import Image

import kmeans.png
from kmeans.errors import Cancelled
from kmeans.png import encode_png


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize(("entries", "bits"), [(1, 1), (2, 1), (3, 2), (4, 2), (9, 4), (16, 4), (17, 8), (256, 8)])
@pytest.mark.parametrize("width", [1, 7, 8, 33])
def test_pillow_reads_back_every_index_at_the_smallest_depth(rng, entries, bits, width):
    palette = rng.integers(0, 256, (entries, 3), dtype=np.uint8)
    labels = rng.integers(0, entries, (5, width)).astype(np.uint8)
    data = encode_png(palette, labels)
    assert data[24] in (bits, 8)  # IHDR's bit depth: the smallest, or whole bytes where they deflate smaller
    image = decode(data)
    assert image.mode == "P" and image.size == (width, 5)
    assert np.array_equal(np.asarray(image), labels)
    assert np.array_equal(np.asarray(image.convert("RGB")), palette[labels])


def test_transparency_is_kept_up_to_the_last_see_through_entry(rng):
    palette = np.array([[0, 0, 0, 0], [10, 20, 30, 128], [200, 100, 0, 255], [1, 2, 3, 255]], np.uint8)
    labels = rng.integers(0, 4, (6, 9)).astype(np.uint8)
    image = decode(encode_png(palette, labels))
    assert image.info["transparency"] == bytes([0, 128])
    assert np.array_equal(np.asarray(image.convert("RGBA")), palette[labels])


def test_a_small_image_keeps_whichever_depth_deflates_smaller(rng, monkeypatch):
    palette = np.arange(48, dtype=np.uint8).reshape(16, 3)
    # runs of three: packed two to a byte they repeat only every other byte; whole bytes win
    labels = np.repeat(rng.integers(0, 16, (40, 27)), 3, axis=1).astype(np.uint8)
    data = encode_png(palette, labels)
    assert data[24] == 8 and np.array_equal(np.asarray(decode(data)), labels)
    monkeypatch.setattr(kmeans.png, "BOTH_DEPTHS_UP_TO", 0)  # large images: the packed depth only
    packed = encode_png(palette, labels)
    assert packed[24] == 4 and len(packed) >= len(data)
    assert np.array_equal(np.asarray(decode(packed)), labels)


def test_the_level_falls_as_images_grow():
    levels = [kmeans.png.level_for(n) for n in (1_000, 1 << 20, 2 << 20, 50 << 20)]
    assert levels == sorted(levels, reverse=True) and levels[0] == 12 and levels[-1] >= 6


def test_dpi_is_written_as_pixels_per_metre(rng):
    labels = rng.integers(0, 4, (6, 9)).astype(np.uint8)
    image = decode(encode_png(rng.integers(0, 256, (4, 3), dtype=np.uint8), labels, dpi=(300, 150)))
    assert [round(d) for d in image.info["dpi"]] == [300, 150]


def test_smaller_than_pillows_own_palette_png_on_a_photo():
    from conftest import gradient_image

    from kmeans import quantize

    result = quantize(gradient_image(240, 320, seed=2), 16)
    ours = encode_png(result.palette, result.labels)
    image = Image.fromarray(result.labels, mode="P")
    image.putpalette(result.palette.tobytes())
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    assert len(ours) < len(buffer.getvalue())
    assert zlib.crc32(ours[-8:-4]) == int.from_bytes(ours[-4:], "big")  # IEND's CRC


def test_a_cancelled_encoding_stops(rng):
    token = threading.Event()
    token.set()
    with pytest.raises(Cancelled):
        encode_png(rng.integers(0, 256, (16, 3), dtype=np.uint8), np.zeros((50, 50), np.uint8), cancel=token)
