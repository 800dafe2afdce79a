"""Nothing escapes: every error the operating system, Pillow or Qt can raise becomes one plain line,
and the next file or action goes on.  Runs as any user: what root cannot be refused is simulated."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from conftest import gradient_image, run_cli
from PIL import Image

import kmeans.imagefile
from kmeans.atomic import write_atomic
from kmeans.errors import ImageLoadError, ImageSaveError
from kmeans.imagefile import encode, load
from kmeans.palettefile import save_palette


@pytest.fixture
def sealed(tmp_path, monkeypatch) -> Path:
    """A folder the user may not look into (mode 0); as root, stat() inside it is refused by hand."""
    folder = tmp_path / "sealed"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0)
        yield folder
        folder.chmod(0o700)
        return
    real_stat = os.stat

    def refused(path, *args, **kwargs):
        if Path(os.fsdecode(path)).parent == folder or Path(os.fsdecode(path)) == folder / "x":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", refused)
    yield folder


@pytest.mark.parametrize("where", ["-o", "--palette-out", "input"])
def test_a_folder_the_user_cannot_enter_is_one_line_and_the_rest_goes_on(photo_path, sealed, where):
    other = photo_path.with_name("other.png")
    Image.fromarray(gradient_image(20, 20)).save(other)
    if where == "input":
        code, out, err = run_cli(str(sealed / "in.png"), str(other), "-k", "4")
        assert "other-k4.png" in out
    elif where == "-o":
        code, out, err = run_cli(str(photo_path), "-o", str(sealed / "out.png"))
    else:
        code, out, err = run_cli(str(photo_path), "-k", "4", "--palette-out", str(sealed / "p.gpl"))
        assert "photo-k4.png was written, but not the palette" in err
    assert code == 1 and "Traceback" not in err and err.count("\n") == 1
    assert "permission denied" in err


def test_a_name_too_long_for_the_file_system_is_said(photo_path):
    code, _out, err = run_cli(str(photo_path), "-o", str(photo_path.parent / ("x" * 258 + ".png")))
    assert code == 1 and "the name is too long for this file system" in err and "Traceback" not in err


@pytest.mark.parametrize("length", [242, 250, 255])
def test_the_longest_names_can_be_written(tmp_path, length):
    target = tmp_path / ("n" * (length - 4) + ".png")
    write_atomic(target, b"data")
    assert target.read_bytes() == b"data" and [p.name for p in tmp_path.iterdir()] == [target.name]


def test_a_palette_name_that_is_not_utf8(tmp_path):
    target = tmp_path / os.fsdecode(b"pal-\xff.gpl")
    save_palette(target, np.array([[1, 2, 3]], np.uint8))
    assert target.read_text().startswith("GIMP Palette\nName: pal-\ufffd")


def test_webp_wider_than_the_format_allows_is_refused_before_encoding():
    with pytest.raises(ImageSaveError, match=r"at most 16,383 pixels wide and high; this one is 20,000 × 1"):
        encode(np.zeros((1, 3), np.uint8), np.zeros((1, 20_000), np.uint8), "webp")


def test_wide_webp_in_the_command_line_goes_on(tmp_path, photo_path):
    wide = tmp_path / "wide.png"
    Image.new("RGB", (17_000, 2), (10, 200, 30)).save(wide)
    code, out, err = run_cli(str(wide), str(photo_path), "-k", "4", "--format", "webp")
    assert code == 1 and "WebP (lossless) images can be at most 16,383 pixels" in err and "photo-k4.webp" in out
    assert "error: wide.png: WebP (lossless) images" in err  # in a batch, which file it was


def test_every_error_line_of_a_batch_names_its_file(tmp_path, photo_path):
    (tmp_path / "notes.png").write_text("not an image")
    with open(photo_path, "rb") as whole:
        (tmp_path / "cut.png").write_bytes(whole.read()[:300])
    Image.new("RGB", (17_000, 2), (10, 200, 30)).save(tmp_path / "wide.png")
    inputs = [tmp_path / name for name in ("notes.png", "cut.png", "wide.png")]
    code, _out, err = run_cli(*map(str, inputs), "-k", "4", "--format", "webp", "--out-dir", str(tmp_path / "out"))
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 3, err
    for line in lines:
        assert any(line.startswith(f"error: {path.name}: ") for path in inputs), line


def test_a_link_loop_and_a_named_pipe_are_named_for_what_they_are(tmp_path):
    loop = tmp_path / "loop.png"
    loop.symlink_to(loop)
    with pytest.raises(ImageLoadError, match=r"loop\.png: could not be read: it is a link that leads back to itself"):
        load(loop)
    pipe = tmp_path / "pipe.png"
    os.mkfifo(pipe)
    with pytest.raises(ImageLoadError, match=r"pipe\.png: is a named pipe, not an image file"):
        load(pipe)


def test_an_existing_folder_as_output_is_called_a_folder(photo_path, tmp_path):
    folder = tmp_path / "taken.png"
    folder.mkdir()
    code, _out, err = run_cli(str(photo_path), "-o", str(folder))
    assert code == 1 and err == "error: taken.png: is a folder\n"


def test_force_keeps_the_permissions_of_the_file_it_replaces(photo_path):
    target = photo_path.with_name("photo-k16.png")
    target.write_bytes(b"old")
    target.chmod(0o600)
    assert run_cli(str(photo_path), "--force")[0] == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 and target.read_bytes() != b"old"


@pytest.mark.parametrize("fault", [OSError(errno.EIO, "Input/output error"), ValueError("bad value"), MemoryError()])
def test_the_command_line_boundary_turns_any_fault_into_one_line(photo_path, monkeypatch, fault):
    other = photo_path.with_name("other.png")
    Image.fromarray(gradient_image(20, 20)).save(other)
    real = kmeans.imagefile.load
    monkeypatch.setattr(kmeans.imagefile, "load", lambda path, **kw: (_ for _ in ()).throw(fault)
                        if Path(path).name == "photo.png" else real(path, **kw))
    code, out, err = run_cli(str(photo_path), str(other), "-k", "4")
    assert code == 1 and err.count("\n") == 1 and err.startswith("error: photo.png: ") and "Traceback" not in err
    assert "other-k4.png" in out
    code, _out, err = run_cli(str(photo_path), "-k", "4", "--verbose")
    assert "  detail: " in err

