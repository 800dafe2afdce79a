"""A palette per frame where measurement says so: chosen, written and read back in every format."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kmeans import frame_palettes, pipeline
from kmeans.cli import main
from kmeans.colortable import ColorTable
from kmeans.encode_apart import encoded_size
from kmeans.imagefile import encode, load
from kmeans.metrics import psnr
from kmeans.options import Options


def fade_frames(n: int = 4, h: int = 32, w: int = 48) -> list[np.ndarray]:
    """Frames whose colours move: each a smooth two-way gradient around a hue of its own."""
    y, x = np.mgrid[0:h, 0:w]
    hues = [(230, 40, 40), (40, 200, 60), (50, 70, 230), (220, 200, 30), (160, 40, 200), (30, 200, 200)]
    frames = []
    for i in range(n):
        base = np.array(hues[i % len(hues)], np.float64)
        light = (x / w - 0.5)[..., None] * 120 + (y / h - 0.5)[..., None] * np.array([60, -40, 30])
        frames.append(np.clip(base + light, 0, 255).astype(np.uint8))
    return frames


def still_frames(n: int = 4, h: int = 32, w: int = 48) -> list[np.ndarray]:
    """Frames that share their colours: one gradient with a small square moving over it."""
    y, x = np.mgrid[0:h, 0:w]
    background = np.stack([x * 5 % 256, y * 7 % 256, (x + y) * 3 % 256], axis=-1).astype(np.uint8)
    frames = []
    for i in range(n):
        frame = background.copy()
        frame[4:10, 4 + 3 * i:10 + 3 * i] = (250, 250, 250)
        frames.append(frame)
    return frames


def save(frames: list[np.ndarray], path: Path) -> Path:
    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, save_all=True, append_images=images[1:], duration=80, loop=0)
    return path


def run(path: Path, fmt: str, **options) -> tuple[pipeline.Prepared, object, np.ndarray | None, bytes]:
    opts = Options(format=fmt, **options)
    prepared = pipeline.prepare(pipeline.load(path, opts), fmt, opts.matte)
    result = pipeline.quantize(prepared, opts)
    dithered = pipeline.dither(prepared, result, opts)
    return prepared, result, dithered, pipeline.encode(prepared, result, dithered, fmt)


def decoded(data: bytes) -> list[np.ndarray]:
    image = Image.open(io.BytesIO(data))
    frames = []
    for i in range(image.n_frames):
        image.seek(i)
        frames.append(np.asarray(image.convert("RGB")))
    return frames


def meant(result, dithered: np.ndarray | None, n: int) -> np.ndarray:
    labels = result.labels if dithered is None else dithered
    pixels = result.palette[labels][..., :3]
    return pixels.reshape(n, -1, *pixels.shape[1:])


@pytest.mark.parametrize("fmt", ["gif", "webp"])
def test_frames_whose_colours_move_get_a_palette_each_and_the_file_shows_exactly_it(tmp_path, fmt):
    source = save(fade_frames(), tmp_path / "fade.png")
    prepared, result, _, data = run(source, fmt, k=8)
    assert result.frames is not None and len(result.frames) == 4
    assert result.frame_entries[-1] == len(result.palette) and result.colours <= 8
    assert all(np.array_equal(a, b) for a, b in zip(decoded(data), meant(result, None, 4), strict=True))
    shared = pipeline.quantize(prepared, Options(format="png", k=8))  # (APNG: one palette)
    assert shared.frames is None
    assert psnr(prepared.pixels, result.to_array()) > psnr(prepared.pixels, shared.to_array()) + 3
    # the quality reported is that of the file, worked out on the stacked colour table
    q = pipeline.quality(prepared, result)
    assert q.psnr == pytest.approx(psnr(prepared.pixels, result.to_array()), abs=1e-6)


def test_frames_that_share_their_colours_keep_one_palette(tmp_path):
    source = save(still_frames(), tmp_path / "pan.png")
    _, result, _, _ = run(source, "gif", k=8)
    assert result.frames is None


def colour_tables(data: bytes) -> list[bytes]:
    """The colour table each frame of a GIF is drawn with: its local one, else the global one."""
    flags = data[10]
    at, tables = 13, []
    global_table = b""
    if flags & 0x80:
        global_table = data[at:at + 3 * (2 << (flags & 7))]
        at += len(global_table)
    while data[at] != 0x3B:
        if data[at] == 0x21:  # an extension: its label, then sub-blocks
            at += 2
            while data[at]:
                at += data[at] + 1
            at += 1
            continue
        flags = data[at + 9]
        at += 10
        table = global_table
        if flags & 0x80:
            table = data[at:at + 3 * (2 << (flags & 7))]
            at += len(table)
        tables.append(table)
        at += 1  # (the minimum code size)
        while data[at]:
            at += data[at] + 1
        at += 1
    return tables


def test_the_gif_has_a_local_colour_table_for_each_later_frame(tmp_path):
    source = save(fade_frames(), tmp_path / "fade.png")
    _, result, _, data = run(source, "gif", k=8)
    tables = colour_tables(data)
    assert len(tables) == 4 and len(set(tables)) == 4  # (each frame drawn with its own colours)
    for table, own in zip(tables, result.frames, strict=True):
        assert table[:3 * len(own.palette)] == own.palette[:, :3].tobytes()


def test_a_palette_per_frame_dithers_each_frame_in_its_own_palette(tmp_path):
    source = save(fade_frames(), tmp_path / "fade.png")
    _, result, dithered, data = run(source, "gif", k=4, dither=100)
    assert result.frames is not None and dithered is not None
    entries = result.frame_entries
    parts = dithered.reshape(4, -1)
    assert all(((part >= entries[i]) & (part < entries[i + 1])).all() for i, part in enumerate(parts))
    assert not np.array_equal(dithered, result.labels)
    assert all(np.array_equal(a, b) for a, b in zip(decoded(data), meant(result, dithered, 4), strict=True))


def test_kept_colours_or_a_palette_file_mean_one_palette(tmp_path):
    source = save(fade_frames(), tmp_path / "fade.png")
    assert run(source, "gif", k=8, fixed=((255, 255, 255),))[1].frames is None
    assert run(source, "gif", k=8, palette_out=str(tmp_path / "p.gpl"))[1].frames is None


def test_the_gain_below_which_one_palette_stays_is_measured_not_assumed(tmp_path):
    source = save(fade_frames(), tmp_path / "fade.png")
    prepared = pipeline.prepare(pipeline.load(source, Options()), "gif", Options().matte)
    shared = pipeline.quantize(prepared, Options(format="png", k=8))
    own = frame_palettes.per_frame(prepared.pixels, 4, shared, k=8, options=Options(k=8))
    assert frame_palettes.gain_db(shared, own) > frame_palettes.MIN_GAIN_DB
    assert frame_palettes.estimated_gain(prepared.pixels, 4, shared) > frame_palettes.MIN_GAIN_DB
    still = pipeline.prepare(pipeline.load(save(still_frames(), tmp_path / "pan.png"), Options()), "gif",
                             Options().matte)
    still_shared = pipeline.quantize(still, Options(format="png", k=8))
    assert frame_palettes.estimated_gain(still.pixels, 4, still_shared) < frame_palettes.MIN_GAIN_DB


def test_the_command_line_says_so_and_apng_keeps_one_palette(tmp_path):
    source = save(fade_frames(), tmp_path / "fade.png")
    for fmt, per_frame in (("gif", True), ("png", False)):
        out, err = io.StringIO(), io.StringIO()
        target = tmp_path / f"small.{fmt}"
        assert main([str(source), "-k", "8", "-o", str(target)], stdout=out, stderr=err) == 0, err.getvalue()
        assert ("K=8 per frame" in out.getvalue()) == per_frame
        assert load(target).frames == 4


def test_sizes_apart_and_here_agree_for_a_palette_per_frame(tmp_path):
    source = save(fade_frames(n=6, h=96, w=96), tmp_path / "fade.png")
    prepared, result, _, data = run(source, "webp", k=64)
    assert result.frames is not None and len(result.palette) > 256 and result.labels.dtype == np.uint16
    import kmeans.encode_apart as apart

    here = len(encode(result.palette, result.labels, "webp", animation=prepared.image.animation,
                      frame_entries=result.frame_entries))
    assert here == len(data)
    old = apart.APART_FROM_PIXELS
    apart.APART_FROM_PIXELS = 1  # (so small a file goes to the child too)
    try:
        size = encoded_size(result.palette, result.labels, "webp", cancel=threading.Event(),
                            animation=prepared.image.animation, frame_entries=result.frame_entries)
    finally:
        apart.APART_FROM_PIXELS = old
    assert size == here


def test_stacked_colour_tables_keep_each_part_s_colours_and_counts():
    a = np.zeros((2, 3, 3), np.uint8)
    b = np.full((2, 3, 3), 9, np.uint8)
    b[0, 0] = 0
    table = ColorTable.stacked([ColorTable.from_pixels(a), ColorTable.from_pixels(b)])
    assert table.shape == (4, 3) and table.n_pixels == 12
    assert table.colors.tolist() == [[0, 0, 0], [0, 0, 0], [9, 9, 9]]
    assert table.counts.tolist() == [6, 1, 5]
    assert table.colour_index().tolist() == [0] * 6 + [1, 2, 2, 2, 2, 2]


@pytest.mark.parametrize("k", [8, 256])
@pytest.mark.parametrize("fmt", ["gif", "webp"])
def test_transparency_comes_back_in_a_palette_per_frame_frames_with_and_without_it(tmp_path, fmt, k):
    from test_animation import same_pictures

    frames = []
    for i, frame in enumerate(fade_frames(n=4)):
        rgba = np.concatenate([frame, np.full((*frame.shape[:2], 1), 255, np.uint8)], axis=-1)
        if i != 2:  # (the third frame has no transparent pixel: one more colour for it)
            rgba[8 + 3 * i:14 + 3 * i, :, 3] = 0
        frames.append(rgba)
    source = save(frames, tmp_path / "holes.png")
    _, result, _, data = run(source, fmt, k=k)
    assert result.frames is not None
    assert result.frames[2].table.n_transparent == 0 and result.frames[0].table.n_transparent > 0
    # (the transparent entry counts in K for each frame: one without transparent pixels keeps its index
    # free, which a full 256-entry GIF table would not have to clear its rectangle for the next frame)
    assert len(result.frames[2].palette) <= k - 1
    image = Image.open(io.BytesIO(data))
    got = []
    for i in range(image.n_frames):
        image.seek(i)
        got.append(np.asarray(image.convert("RGBA")))
    palette = result.palette if result.palette.shape[1] == 4 else \
        np.hstack([result.palette, np.full((len(result.palette), 1), 255, np.uint8)])
    assert same_pictures(got, list(palette[result.labels].reshape(4, 32, 48, 4)))


@pytest.mark.parametrize("dither", [0, 100])
def test_the_k_chart_estimates_a_palette_per_frame_as_the_file_has_it(tmp_path, dither):
    from kmeans.autok import estimate

    source = save(fade_frames(), tmp_path / "fade.png")
    prepared, result, dithered, data = run(source, "gif", k=8, dither=dither)
    assert result.frames is not None
    point = estimate(pipeline.curve_sample(prepared), 8, Options(k=8, format="gif", dither=dither))
    assert point.entries == result.colours
    assert point.size == pytest.approx(len(data), rel=0.05)
    assert point.psnr == pytest.approx(pipeline.quality(prepared, result, dithered).psnr, abs=0.5)
