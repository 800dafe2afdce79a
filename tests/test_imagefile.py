"""Loading every kind of image safely; saving palette images atomically."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import gradient_image
from PIL import Image

from kmeans import ImageLoadError, ImageSaveError, ImageTooLargeError, quantize
from kmeans.atomic import write_atomic
from kmeans.imagefile import encode, load, save
from kmeans.palettefile import format_palette, save_palette


def write(path: Path, image: Image.Image, **kw) -> Path:
    image.save(path, **kw)
    return path


def test_rgb_png_round_trip(tmp_path, photo):
    loaded = load(write(tmp_path / "a.png", Image.fromarray(photo)))
    assert np.array_equal(loaded.pixels, photo)
    assert loaded.format == "PNG" and loaded.file_size == (tmp_path / "a.png").stat().st_size
    assert not loaded.has_alpha and loaded.notices == ()


@pytest.mark.parametrize("orientation", range(2, 9))
def test_exif_orientation_is_applied(tmp_path, orientation):
    upright = np.zeros((20, 40, 3), np.uint8)
    upright[:5, :10] = (255, 0, 0)  # a red mark in the top-left corner
    method = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
              5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_270}[orientation]
    stored = Image.fromarray(upright).transpose(method)
    exif = Image.Exif()
    exif[0x0112] = orientation
    loaded = load(write(tmp_path / "o.png", stored, exif=exif))
    assert loaded.pixels.shape == (20, 40, 3)
    assert (loaded.pixels[:5, :10, 0] == 255).all() and (loaded.pixels[5:, 10:, 0] == 0).all()


def test_palette_with_transparent_index(tmp_path):
    image = Image.new("P", (8, 8), 1)
    image.putpalette([255, 0, 0, 0, 255, 0])
    image.putpixel((0, 0), 0)
    loaded = load(write(tmp_path / "p.png", image, transparency=0))
    assert loaded.has_alpha
    assert loaded.pixels[0, 0, 3] == 0 and loaded.pixels[1, 1].tolist() == [0, 255, 0, 255]


def test_la_and_one_bit_and_cmyk(tmp_path):
    la = Image.merge("LA", [Image.new("L", (4, 4), 100), Image.new("L", (4, 4), 50)])
    assert load(write(tmp_path / "la.png", la)).pixels[0, 0].tolist() == [100, 100, 100, 50]
    one = Image.new("1", (4, 4), 1)
    assert load(write(tmp_path / "one.png", one)).pixels[0, 0].tolist() == [255, 255, 255]
    cmyk = Image.new("CMYK", (4, 4), (0, 255, 255, 0))  # pure red
    assert load(write(tmp_path / "c.jpg", cmyk, quality=100)).pixels[0, 0].tolist() == pytest.approx(
        [255, 0, 0], abs=3
    )


def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 32768, 65535]], dtype=np.uint16)
    loaded = load(write(tmp_path / "g16.png", Image.fromarray(values)))
    assert loaded.pixels[0, :, 0].tolist() == [0, 128, 255]


def test_animation_uses_first_frame_and_says_so(tmp_path):
    frames = [Image.new("RGB", (6, 6), c) for c in [(255, 0, 0), (0, 0, 255)]]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    loaded = load(path, animated=False)
    assert loaded.pixels[0, 0].tolist() == [255, 0, 0]
    assert any("2 frames" in n and "first" in n for n in loaded.notices)


def test_huge_canvas_is_refused_before_decoding(tmp_path):
    buffer = io.BytesIO()
    Image.new("P", (1, 1)).save(buffer, "GIF")
    data = bytearray(buffer.getvalue())
    data[6:10] = (60000).to_bytes(2, "little") * 2  # the logical screen claims 60000 x 60000
    path = tmp_path / "huge.gif"
    path.write_bytes(bytes(data))
    with pytest.raises(ImageTooLargeError) as info:
        load(path)
    assert "too large to open safely: 60,000 × 60,000 pixels" in str(info.value) and "huge.gif" in str(info.value)
    assert info.value.pixels == 60000 * 60000


def test_limit_can_be_raised(tmp_path, photo):
    path = write(tmp_path / "a.png", Image.fromarray(photo))
    with pytest.raises(ImageTooLargeError):
        load(path, max_pixels=100)
    assert load(path, max_pixels=None).pixels.shape == photo.shape


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty"),
        (b"hello, this is text\n", "not an image"),
        (bytes(range(256)) * 4, "not an image"),
    ],
)
def test_bad_files_get_a_clear_message(tmp_path, content, words):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(ImageLoadError, match=words) as info:
        load(path)
    assert str(info.value).startswith("bad.png:")


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_truncated_png(tmp_path, photo, fraction):
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, "PNG")
    data = buffer.getvalue()
    path = tmp_path / "cut.png"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(ImageLoadError, match=r"cut\.png"):
        load(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageLoadError, match="no such file"):
        load(tmp_path / "nope.png")
    with pytest.raises(ImageLoadError, match="folder"):
        load(tmp_path)


def test_undecodable_file_name_is_printable(tmp_path, photo):
    name = os.fsdecode(b"caf\xe9.png")
    path = tmp_path / name
    path.write_bytes(b"not an image")
    with pytest.raises(ImageLoadError) as info:
        load(path)
    message = str(info.value)
    message.encode("utf-8")  # no lone surrogates
    assert "caf\\xe9.png" in message


def test_png_of_16_colours_reopens_to_the_same_pixels(tmp_path, photo):
    result = quantize(photo, 16)
    path = tmp_path / "out.png"
    size = save(path, result.palette, result.labels)
    assert size == path.stat().st_size
    with Image.open(path) as reopened:
        assert reopened.mode == "P"
        assert path.read_bytes()[24] in (4, 8)  # IHDR bit depth: packed, or whole bytes if they deflate smaller
        assert np.array_equal(np.asarray(reopened.convert("RGB")), result.to_array())


@pytest.mark.parametrize(("k", "bits"), [(2, 1), (4, 2), (5, 4), (16, 4), (17, 8), (256, 8)])
def test_png_bit_depth_is_the_smallest_that_holds_the_palette(k, bits, monkeypatch):
    import kmeans.png

    monkeypatch.setattr(kmeans.png, "BOTH_DEPTHS_UP_TO", 0)  # (small images may also try whole bytes)
    palette = np.random.default_rng(k).integers(0, 256, (k, 3), dtype=np.uint8)
    labels = (np.arange(64).reshape(8, 8) % k).astype(np.uint8)
    assert encode(palette, labels, "png")[24] == bits


def test_png_keeps_alpha_and_other_formats_reopen(tmp_path):
    image = np.zeros((16, 16, 4), np.uint8)
    image[..., :3] = gradient_image(16, 16)
    image[..., 3] = 255
    image[:4] = 0
    image[4:8, :, 3] = 100
    result = quantize(image, 8)
    for fmt in ("png", "webp"):
        with Image.open(io.BytesIO(encode(result.palette, result.labels, fmt))) as out:
            assert np.array_equal(np.asarray(out.convert("RGBA"))[..., 3], result.to_array()[..., 3])
    for fmt in ("gif", "bmp"):
        with Image.open(io.BytesIO(encode(result.palette, result.labels, fmt))) as out:
            assert out.size == (16, 16)


def test_existing_file_is_not_overwritten_without_force(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(b"precious")
    with pytest.raises(ImageSaveError, match="already exists"):
        write_atomic(path, b"new")
    assert path.read_bytes() == b"precious"
    write_atomic(path, b"new", force=True)
    assert path.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png"]


def test_failed_write_leaves_nothing(tmp_path):
    def full_disk(handle):
        handle.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(ImageSaveError, match="disk is full"):
        write_atomic(tmp_path / "y.png", full_disk)
    assert list(tmp_path.iterdir()) == []


def test_exception_mid_encode_leaves_nothing_and_keeps_the_original(tmp_path):
    path = tmp_path / "z.png"
    path.write_bytes(b"original")

    def broken(handle):
        handle.write(b"half")
        raise RuntimeError("encoder exploded")

    with pytest.raises(ImageSaveError, match="could not be encoded; nothing was saved") as info:
        write_atomic(path, broken, force=True)
    assert "encoder exploded" in info.value.details
    assert path.read_bytes() == b"original"
    assert [p.name for p in tmp_path.iterdir()] == ["z.png"]


def test_missing_folder_is_reported(tmp_path):
    with pytest.raises(ImageSaveError, match="folder does not exist"):
        write_atomic(tmp_path / "no" / "such" / "out.png", b"data")


def test_palette_files(tmp_path):
    palette = np.array([[255, 0, 0], [0, 128, 255]], np.uint8)
    gpl = format_palette(palette, "gpl", "test").decode()
    assert gpl.splitlines()[:4] == ["GIMP Palette", "Name: test", "Columns: 8", "#"]
    assert gpl.splitlines()[4] == "255   0   0\t#ff0000"
    assert format_palette(palette, "hex") == b"#ff0000\n#0080ff\n"
    assert format_palette(np.array([[1, 2, 3, 4]], np.uint8), "hex") == b"#01020304\n"
    save_palette(tmp_path / "p.gpl", palette)
    save_palette(tmp_path / "p.txt", palette)
    assert (tmp_path / "p.gpl").read_text().startswith("GIMP Palette")
    assert (tmp_path / "p.txt").read_text() == "#ff0000\n#0080ff\n"
