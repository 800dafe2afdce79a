"""Animations: every frame read as a viewer shows it, kept through the pipeline, written small."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kmeans import ImageLoadError, ImageTooLargeError, pipeline
from kmeans.animation import Animation, _gif, _lzw, encode_apng, encode_gif, encode_webp, plan
from kmeans.cli import main
from kmeans.imagefile import load
from kmeans.options import Options

PALETTE = np.array([[0, 0, 0], [255, 0, 0], [0, 160, 0], [0, 0, 255], [255, 255, 0], [255, 255, 255]], np.uint8)


# -- GIFs made by hand, to read ----------------------------------------------------------------


def gif(width: int, height: int, frames: list[dict], loop: int | None = 0, background: int = 0) -> bytes:
    """A GIF89a with a 8-entry global table (PALETTE, padded), each frame a dict of ``labels``
    (h, w), ``at`` (x, y), ``disposal``, ``transparent`` (an index or None), ``delay`` (cs) and
    optionally ``palette`` (a local colour table of 8 entries)."""
    table = np.zeros((8, 3), np.uint8)
    table[: len(PALETTE)] = PALETTE
    out = [b"GIF89a", struct.pack("<HHBBB", width, height, 0x80 | 0x20 | 2, background, 0), table.tobytes()]
    if loop is not None:
        out.append(b"!\xff\x0bNETSCAPE2.0\x03\x01" + struct.pack("<H", loop) + b"\0")
    for f in frames:
        transparent = f.get("transparent")
        packed = f.get("disposal", 1) << 2 | (transparent is not None)
        out.append(b"!\xf9\x04" + struct.pack("<BHB", packed, f.get("delay", 5), transparent or 0) + b"\0")
        h, w = f["labels"].shape
        x, y = f.get("at", (0, 0))
        local = f.get("palette")
        out.append(b"," + struct.pack("<HHHHB", x, y, w, h, 0 if local is None else 0x80 | 2))
        if local is not None:
            out.append(np.asarray(local, np.uint8).tobytes())
        out.append(_lzw(f["labels"], 3))
    out.append(b";")
    return b"".join(out)


def test_gif_frames_are_read_as_a_viewer_shows_them(tmp_path):
    """Partial frames at offsets, each disposal, a transparent index and a local palette."""
    red = np.full((4, 6), 1, np.uint8)
    square = np.full((2, 2), 3, np.uint8)
    holed = np.array([[4, 7], [7, 4]], np.uint8)  # 7: transparent, the canvas shows through
    local = np.zeros((8, 3), np.uint8)
    local[1] = (10, 20, 30)
    path = tmp_path / "composited.gif"
    path.write_bytes(gif(6, 4, [
        {"labels": red, "delay": 10},
        {"labels": square, "at": (1, 1), "disposal": 2, "delay": 20},  # cleared after it is shown
        {"labels": holed, "at": (3, 1), "transparent": 7, "disposal": 3, "delay": 30},  # restored after
        {"labels": np.full((1, 1), 1, np.uint8), "at": (0, 0), "palette": local, "delay": 40},
    ], background=0))
    loaded = load(path)
    assert loaded.frames == 4 and (loaded.width, loaded.height) == (6, 4)
    assert loaded.animation == Animation((100, 200, 300, 400), plays=0)
    frames = loaded.pixels.reshape(4, 4, 6, -1)
    rgb = frames[..., :3]
    assert (rgb[0] == PALETTE[1]).all()
    assert (rgb[1][1:3, 1:3] == PALETTE[3]).all() and (rgb[1][0] == PALETTE[1]).all()
    # After frame 2's disposal its square is background (transparent here), then frame 3 draws
    # its yellow diagonal over that canvas, the transparent pixels showing what is beneath.
    third = frames[2]
    assert third[1, 3, :3].tolist() == PALETTE[4].tolist() and third[2, 4, :3].tolist() == PALETTE[4].tolist()
    assert third[1, 4, :3].tolist() == PALETTE[1].tolist()  # beneath the hole: frame 1's red
    fourth = frames[3]
    assert fourth[0, 0, :3].tolist() == [10, 20, 30]  # its own colour table
    assert fourth[1, 3, :3].tolist() == PALETTE[1].tolist()  # frame 3 restored: the canvas before it


@pytest.mark.parametrize(("loop", "plays"), [(None, 1), (0, 0), (2, 3)])
def test_a_gif_loop_count_becomes_the_times_played(tmp_path, loop, plays):
    path = tmp_path / "loop.gif"
    path.write_bytes(gif(2, 2, [{"labels": np.full((2, 2), i, np.uint8)} for i in (1, 2)], loop=loop))
    assert load(path).animation.plays == plays


def test_apng_and_webp_frames_durations_and_plays_are_read(tmp_path):
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 256, (8, 10, 4), dtype=np.uint8) for _ in range(3)]
    frames[1][..., 3] = 255
    for name, kw in (("a.png", {}), ("a.webp", {"lossless": True})):
        path = tmp_path / name
        images = [Image.fromarray(f, "RGBA") for f in frames]
        images[0].save(path, save_all=True, append_images=images[1:], duration=[40, 50, 60], loop=2, **kw)
        loaded = load(path)
        assert loaded.animation == Animation((40, 50, 60), plays=2)
        got = loaded.pixels.reshape(3, 8, 10, 4)
        for mine, theirs in zip(got, frames, strict=True):
            visible = theirs[..., 3] > 0  # (WebP need not keep the colour under a transparent pixel)
            assert np.array_equal(mine[visible], theirs[visible])


def test_first_frame_only_when_asked(tmp_path):
    path = tmp_path / "two.gif"
    path.write_bytes(gif(2, 2, [{"labels": np.full((2, 2), i, np.uint8)} for i in (1, 2)]))
    first = load(path, animated=False)
    assert first.frames == 1 and first.pixels.shape == (2, 2, 3)
    assert any("only the first" in n for n in first.notices)


def test_too_many_frames_or_pixels_in_all_are_refused_with_a_plain_message(tmp_path):
    path = tmp_path / "many.gif"
    path.write_bytes(gif(4, 4, [{"labels": np.full((4, 4), i % 5, np.uint8)} for i in range(30)]))
    with pytest.raises(ImageLoadError) as info:
        load(path, max_frames=20)
    assert str(info.value) == "many.gif: this animation has too many frames to open safely: 30 (the limit is 20)"
    with pytest.raises(ImageTooLargeError) as info:
        load(path, max_pixels=400)
    assert "many.gif: this animation is too large to open safely: 30 frames of 4 × 4 pixels" in str(info.value)
    assert info.value.pixels == 480


def test_a_damaged_frame_is_named(tmp_path):
    data = gif(8, 8, [{"labels": np.full((8, 8), i % 5, np.uint8)} for i in range(3)])
    last = data.rindex(b",")  # the last frame's image descriptor: cut inside its data
    path = tmp_path / "cut.gif"
    path.write_bytes(data[: last + 14])
    with pytest.raises(ImageLoadError) as info:
        load(path)
    assert str(info.value).startswith("cut.gif: ") and "damaged" in str(info.value)


# -- writing ----------------------------------------------------------------------------------


def moving(n: int = 6, h: int = 24, w: int = 32, *, clear: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A palette (with a transparent entry first when ``clear``) and frames of a square moving over a
    still striped background; with ``clear`` the background has a transparent hole that the
    square passes over, so pixels become transparent again after it."""
    palette = PALETTE if not clear else np.vstack([[0, 0, 0, 0], np.hstack([PALETTE, np.full((6, 1), 255)])])
    shift = 1 if clear else 0
    background = (np.arange(w)[None, :] // 4 % 3 + shift).repeat(h, axis=0).astype(np.uint8)
    if clear:
        background[8:16, :] = 0
    frames = np.stack([background.copy() for _ in range(n)])
    for i in range(n):
        frames[i, 6 + i: 12 + i, 3 * i: 3 * i + 6] = 4 + shift
    return palette.astype(np.uint8), frames


def read_back(data: bytes) -> tuple[list[np.ndarray], list[int], int | None]:
    image = Image.open(io.BytesIO(data))
    frames, durations = [], []
    for i in range(image.n_frames):
        image.seek(i)
        frames.append(np.asarray(image.convert("RGBA")))
        durations.append(image.info.get("duration"))
    return frames, durations, image.info.get("loop")


def shown(palette: np.ndarray, frames: np.ndarray) -> list[np.ndarray]:
    rgba = palette if palette.shape[1] == 4 else np.hstack([palette, np.full((len(palette), 1), 255, np.uint8)])
    return list(rgba[frames])


def same_pictures(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    """Equal as seen: transparent pixels match whatever colour they hold."""
    return len(a) == len(b) and all(
        np.array_equal(x[..., 3], y[..., 3]) and np.array_equal(x[x[..., 3] > 0], y[y[..., 3] > 0])
        for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("clear", [False, True])
@pytest.mark.parametrize("encoder", [encode_gif, encode_apng, encode_webp])
def test_every_frame_comes_back_exactly(encoder, clear):
    palette, frames = moving(clear=clear)
    animation = Animation((30, 40, 50, 60, 70, 80), plays=0)
    got, durations, loop = read_back(encoder(palette, frames, animation))
    assert same_pictures(got, shown(palette, frames))
    assert durations == [30, 40, 50, 60, 70, 80] and loop == 0


def test_gif_durations_go_to_hundredths_and_plays_to_a_loop_count():
    palette, frames = moving(n=2)
    data = encode_gif(palette, frames, Animation((33, 47), plays=3))
    _, durations, loop = read_back(data)
    assert durations == [30, 50] and loop == 2  # repeats after the first play
    assert b"NETSCAPE2.0" not in encode_gif(palette, frames, Animation((33, 47), plays=1))


def test_frames_that_change_nothing_lengthen_the_one_before():
    palette, frames = moving(n=3)
    frames[1] = frames[0]
    got, durations, _ = read_back(encode_gif(palette, frames, Animation((100, 100, 100))))
    assert len(got) == 2 and durations == [200, 100]
    assert same_pictures(got, shown(palette, frames[[0, 2]]))


def test_later_frames_store_only_the_rectangle_that_changed():
    palette, frames = moving()
    steps = plan(frames, np.array([], np.intp), (10,) * 6)
    assert steps[0].box == (0, 0, 24, 32)
    # Frame 2: the square leaves rows 6..11, columns 0..5 and covers rows 7..12, columns 3..8.
    assert steps[1].box == (6, 0, 13, 9)
    assert not any(s.dispose for s in steps)
    gif_size = len(encode_gif(palette, frames, Animation((10,) * 6)))
    stills = sum(len(encode_gif(palette, f[None], Animation((10,)))) for f in frames)
    assert gif_size < stills / 2


def test_a_rectangle_is_cleared_only_where_the_next_frame_needs_transparency():
    band = np.ones((6, 12, 12), np.uint8)
    band[:, 4:8] = 0  # a transparent band across the middle
    for i, (row, col) in enumerate([(0, 0), (0, 3), (3, 3), (3, 6), (0, 6), (0, 0)]):
        band[i, row:row + 3, col:col + 3] = 2  # a square: above the band, over it, off it again
    steps = plan(band, np.array([0]), (10,) * 6)
    needs = [bool(((band[i + 1] == 0) & (band[i] != 0)).any()) for i in range(5)]
    assert needs == [False, False, True, True, False]
    assert [s.dispose for s in steps] == [*needs, False]
    for step, after in zip(steps[:-1], band[1:], strict=True):  # what a disposal clears is within its rectangle
        top, left, bottom, right = step.box
        outside = np.ones(after.shape, bool)
        outside[top:bottom, left:right] = False
        assert not (outside & (after == 0) & (step.target != -1)).any()


def test_gif_codes_start_as_narrow_as_the_palette_allows():
    palette, frames = moving(n=2)  # 6 entries: 3-bit indices
    data = encode_gif(palette, frames, Animation((10, 10)))
    descriptor = data.index(b",", 13 + 3 * 8)
    assert data[descriptor + 10] == 3


def test_bmp_refuses_an_animation_plainly(tmp_path):
    palette, frames = moving(n=2)
    path = tmp_path / "two.gif"
    path.write_bytes(encode_gif(palette, frames, Animation((10, 10))))
    out, err = io.StringIO(), io.StringIO()
    assert main([str(path), "-k", "4", "-o", str(tmp_path / "two.bmp")], stdout=out, stderr=err) != 0
    assert "two.gif: a BMP file holds one picture, and this is an animation of 2 frames" in err.getvalue()
    assert "Traceback" not in err.getvalue() and not (tmp_path / "two.bmp").exists()


# -- through the pipeline and the command line ------------------------------------------------


def photo_animation(tmp_path: Path, n: int = 5) -> Path:
    """A small pan over a smooth, busy picture with a still corner, as an APNG."""
    y, x = np.mgrid[0:40, 0:80]
    big = np.stack([(x * 3) % 256, (y * 6 + x) % 256, (x * y) % 256], axis=-1).astype(np.uint8)
    frames = []
    for i in range(n):
        frame = big[:, 2 * i: 2 * i + 48][:32].copy()
        frame[:8, :8] = (30, 200, 90)  # a corner that never changes
        frames.append(Image.fromarray(frame))
    path = tmp_path / "pan.png"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=70, loop=0)
    return path


@pytest.mark.parametrize("fmt", ["gif", "png", "webp"])
def test_the_command_line_keeps_the_animation(tmp_path, fmt):
    source = photo_animation(tmp_path)
    target = tmp_path / f"small.{fmt}"
    out, err = io.StringIO(), io.StringIO()
    assert main([str(source), "-k", "16", "-o", str(target)], stdout=out, stderr=err) == 0, err.getvalue()
    line = out.getvalue()
    assert "5 frames" in line and "K=16" in line and "worst frame" in line
    written = load(target)
    assert written.frames == 5 and written.animation.durations == (70,) * 5 and written.animation.plays == 0
    assert len(np.unique(written.pixels.reshape(-1, written.pixels.shape[-1]), axis=0)) <= 16


def test_dithered_frames_stay_still_where_the_picture_does(tmp_path):
    loaded = load(photo_animation(tmp_path))
    options = Options(k=8, dither=100, format="gif")
    prepared = pipeline.prepare(loaded, "gif", options.matte)
    result = pipeline.quantize(prepared, options)
    labels = pipeline.dither(prepared, result, options).reshape(5, 32, 48)
    assert all(np.array_equal(labels[i][:8, :8], labels[0][:8, :8]) for i in range(5))
    assert not np.array_equal(labels[0], result.labels.reshape(5, 32, 48)[0])  # (it did dither)
    psnrs = pipeline.frame_psnr(prepared, result, labels.reshape(-1, 48))
    assert len(psnrs) == 5 and all(p > 10 for p in psnrs)


def test_batch_workers_keep_animations(tmp_path):
    source = photo_animation(tmp_path)
    other = tmp_path / "still.png"
    Image.new("RGB", (8, 8), (200, 10, 10)).save(other)
    out, err = io.StringIO(), io.StringIO()
    code = main([str(source), str(other), "-k", "8", "--format", "gif", "--jobs", "2",
                 "--out-dir", str(tmp_path / "o")], stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    assert load(tmp_path / "o" / "pan-k8.gif").frames == 5
    assert load(tmp_path / "o" / "still-k8.gif").frames == 1


def test_auto_k_sizes_the_whole_animation(tmp_path):
    source = photo_animation(tmp_path)
    target = tmp_path / "fits.gif"
    out, err = io.StringIO(), io.StringIO()
    assert main([str(source), "--max-size", "12k", "-o", str(target)], stdout=out, stderr=err) == 0, err.getvalue()
    assert target.stat().st_size <= 12 * 1024 and load(target).frames == 5
    assert "5 frames" in out.getvalue() and "meets at most" in out.getvalue()


def test_a_full_palette_may_take_a_wider_table_for_a_transparent_index():
    palette, frames = moving(n=4)
    palette, frames = palette[:4], np.minimum(frames, 3)  # four entries: a 2-bit table with no index left
    animation = Animation((10,) * 4)
    data = encode_gif(palette, frames, animation)
    got, _, _ = read_back(data)
    assert same_pictures(got, shown(palette, frames))
    steps = plan(frames, np.array([], np.intp), animation.durations)
    narrow = _gif(palette, frames.shape[1:], animation, steps, np.array([], np.intp), 2, None)
    assert len(data) <= len(narrow)
    assert data[10] & 7 in (1, 2)  # the global table: 4 or 8 entries, whichever made the smaller file


def test_a_full_apng_palette_takes_a_wider_depth_for_a_transparent_key_when_that_is_smaller():
    # Sixteen colours fill a 4-bit table: without a key every frame would store its rectangle whole.
    rng = np.random.default_rng(5)
    palette = rng.integers(0, 256, (16, 3), dtype=np.uint8)
    background = rng.integers(0, 16, (48, 64), dtype=np.uint8)  # (detail that deflate cannot make free)
    frames = np.stack([background.copy() for _ in range(8)])
    for i in range(8):
        frames[i, 10:40, 4 * i:4 * i + 20] = (i + np.arange(20)) % 16  # (a moving band over most of the frame)
        frames[i, 20:30, :] = i  # (and a stripe that changes colour across the whole width)
    animation = Animation((40,) * 8)
    data = encode_apng(palette, frames, animation)
    got, _, _ = read_back(data)
    assert same_pictures(got, shown(palette, frames))
    from kmeans.animation import _apng

    assert len(data) < len(_apng(palette, frames, animation, None, None))
    assert data[24] == 8  # IHDR's bit depth: the wider one, with index 0 transparent


def test_a_disposed_rectangle_is_cleared_even_when_its_frame_draws_nothing_transparent():
    # frames 0, 1 and 3 have a transparent hole; frame 2 none: frame 3 needs frame 2's rectangle cleared,
    # which readers that follow the GIF spec (Pillow) do only when frame 2 names a transparent index
    palette, frames = moving(n=4, clear=True)
    frames[2][frames[2] == 0] = 1
    got, _, _ = read_back(encode_gif(palette, frames, Animation((50,) * 4)))
    assert same_pictures(got, shown(palette, frames))
