"""The compress command line: exit codes, one-line messages, no partial files."""

from __future__ import annotations

import errno
import io
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import gradient_image, run_cli
from PIL import Image

import kmeans.atomic
import kmeans.imagefile
from kmeans.cli import main

ROOT = Path(__file__).resolve().parents[1]




@pytest.fixture
def photo_file(tmp_path) -> Path:
    path = tmp_path / "photo.png"
    Image.fromarray(gradient_image(60, 80)).save(path)
    return path


def test_success_writes_a_small_palette_png(photo_file):
    code, out, err = run_cli(str(photo_file), "-k", "8")
    target = photo_file.with_name("photo-k8.png")
    assert code == 0 and err == ""
    assert out.startswith("photo-k8.png  80x60  K=8 ")
    assert "PSNR" in out and "\u0394E" in out and "B ->" in out
    with Image.open(target) as image:
        assert image.mode == "P" and len(image.getcolors()) <= 8


def test_options_are_honoured(photo_file, tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, _, _ = run_cli(str(photo_file), "-k", "4", "--out-dir", str(out_dir), "--format", "gif", "--dither",
                     "--color-space", "rgb", "--init", "random", "--seed", "3", "--max-iter", "5", "--quiet")
    assert code == 0
    assert [p.name for p in out_dir.iterdir()] == ["photo-k4.gif"]


def test_output_file_and_palette(photo_file, tmp_path):
    code, _out, _ = run_cli(str(photo_file), "-o", str(tmp_path / "small.webp"),
                            "--palette-out", str(tmp_path / "p.gpl"))
    assert code == 0
    with Image.open(tmp_path / "small.webp") as image:
        assert image.format == "WEBP"
    assert (tmp_path / "p.gpl").read_text().startswith("GIMP Palette")


def test_bad_files_get_one_line_each_and_the_rest_are_done(photo_file, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("just text")
    data = photo_file.read_bytes()
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(data[: len(data) // 2])
    code, out, err = run_cli(str(text), str(truncated), str(photo_file), str(tmp_path / "missing.png"))
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("error: notes.png:") and "not an image" in lines[0]
    assert lines[1].startswith("error: cut.png:")
    assert lines[2].startswith("error: missing.png:") and "no such file" in lines[2]
    assert "Traceback" not in err
    assert out.startswith("photo-k16.png")
    assert not (tmp_path / "notes-k16.png").exists() and not (tmp_path / "cut-k16.png").exists()


def test_existing_output_is_kept_without_force(photo_file):
    target = photo_file.with_name("photo-k16.png")
    target.write_bytes(b"keep me")
    code, _, err = run_cli(str(photo_file))
    assert code == 1
    assert err.strip() == "error: photo-k16.png: already exists (use --force to overwrite it)"
    assert target.read_bytes() == b"keep me"
    assert run_cli(str(photo_file), "--force")[0] == 0
    assert target.read_bytes() != b"keep me"


@pytest.fixture
def unwritable_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "locked"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o500)
        yield folder
        folder.chmod(0o700)
        return
    # root ignores permissions: refuse creating files there the way the kernel would.
    real_open = os.open

    def guarded(path, flags, *args, **kwargs):
        if Path(path).parent == folder and flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(kmeans.atomic.os, "open", guarded)
    yield folder


def test_unwritable_folder(photo_file, unwritable_dir):
    code, _out, err = run_cli(str(photo_file), "--out-dir", str(unwritable_dir))
    assert code == 1
    assert err.count("\n") == 1 and "permission denied" in err and "photo-k16.png" in err
    assert list(unwritable_dir.iterdir()) == []


def test_full_disk_leaves_no_partial_file(photo_file, monkeypatch):
    real_fdopen = os.fdopen

    class FullDisk(io.RawIOBase):
        def __init__(self, fd):
            self.inner = real_fdopen(fd, "wb")

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def fileno(self):
            return self.inner.fileno()

        def close(self):
            self.inner.close()
            super().close()

    monkeypatch.setattr(kmeans.atomic.os, "fdopen", lambda fd, mode: FullDisk(fd))
    code, _, err = run_cli(str(photo_file))
    assert code == 1 and "disk is full" in err
    assert sorted(p.name for p in photo_file.parent.iterdir()) == ["photo.png"]


def test_output_larger_than_input_is_said(tmp_path):
    path = tmp_path / "tiny.png"
    Image.new("RGB", (64, 64), (10, 20, 30)).save(path, optimize=True)
    code, out, _ = run_cli(str(path), "--format", "bmp")
    assert code == 0 and "LARGER than the input" in out


def test_fewer_colours_than_k_is_said(tmp_path):
    path = tmp_path / "flat.png"
    Image.new("RGB", (10, 10), (10, 20, 30)).save(path)
    code, out, _ = run_cli(str(path), "-k", "64")
    assert code == 0 and "K=1 " in out and "only 1 distinct colour, so the palette has 1 entry instead of 64" in out


@pytest.mark.parametrize(
    "args",
    [
        ["x.png", "-k", "0"],
        ["x.png", "-k", "300"],
        ["a.png", "b.png", "-o", "c.png"],
        ["x.png", "-o", "out.jpg"],
        ["x.png", "--format", "tiff"],
        ["x.png", "--format", "webp", "-o", "k.png"],
        [],
    ],
)
def test_bad_usage_exits_2(args, capsys):
    code, _, _ = run_cli(*args)
    assert code == 2
    assert "usage:" in capsys.readouterr().err


def test_huge_image_is_refused_unless_allowed(photo_file):
    code, _, err = run_cli(str(photo_file), "--max-pixels", "100")
    assert code == 1
    assert err == "error: photo.png: this image is too large to open safely: 80 × 60 pixels (4,800 pixels; " \
                  "the limit is 100 pixels); allow it with --max-pixels 4800\n"
    assert run_cli(str(photo_file), "--max-pixels", "0", "--force")[0] == 0


def test_an_image_no_memory_could_hold_is_not_offered_the_flag(tmp_path, monkeypatch):
    """A BMP that claims 3,000,000 x 2,000,000 pixels: the line says what it would need, not
    "--max-pixels 6000000000000", which could never work."""
    import struct

    monkeypatch.setattr("kmeans.memory.physical_memory", lambda: 24 * 2**30)
    huge = tmp_path / "claims.bmp"
    header = struct.pack("<2sIHHI", b"BM", 54, 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, 3_000_000, 2_000_000, 1, 24, 0, 0, 2835, 2835, 0, 0)
    huge.write_bytes(header + info + b"\0" * 64)
    code, _, err = run_cli(str(huge))
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("error: claims.bmp: this image is too large to open safely")
    assert "--max-pixels" not in err and "would need about" in err and "this computer has 24.0 GB" in err


def test_dithering_counts_in_the_memory_an_image_needs(tmp_path, monkeypatch):
    """A 300-megapixel claim fits 24 GB undithered (the flag is offered) but not dithered."""
    import struct

    monkeypatch.setattr("kmeans.memory.physical_memory", lambda: 24 * 2**30)
    big = tmp_path / "claims.bmp"
    header = struct.pack("<2sIHHI", b"BM", 54, 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, 20_000, 15_000, 1, 24, 0, 0, 2835, 2835, 0, 0)
    big.write_bytes(header + info + b"\0" * 64)
    _code, _, plain = run_cli(str(big))
    assert "--max-pixels 300000000" in plain
    _code, _, dithered = run_cli(str(big), "--dither")
    assert "--max-pixels" not in dithered and "would need about" in dithered


QT_OR_PLOTS = ("PySide6", "shiboken6", "matplotlib", "app")


@pytest.mark.parametrize("how", ["entry point", "main.py compress"])
def test_the_command_line_is_headless(tmp_path, how):
    """The command line runs a whole compression in a fresh interpreter without Qt, matplotlib or app/."""
    image = tmp_path / "small.png"
    Image.fromarray(gradient_image(20, 30)).save(image)
    if how == "entry point":
        start = "from kmeans.cli import main\ncode = main(sys.argv[1:])\n"
    else:
        start = "sys.argv = ['main.py', 'compress', *sys.argv[1:]]\nimport runpy\n" \
                "try:\n    runpy.run_path('main.py', run_name='__main__')\nexcept SystemExit as e:\n    code = e.code\n"
    probe = (
        "import sys\n" + start +
        f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & set({QT_OR_PLOTS!r}))\n"
        "print('loaded:', loaded)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(image), "-k", "4", "-o", str(tmp_path / "out.png")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("out.png  30x20  K=4 ")
    assert done.stdout.rstrip().endswith("loaded: []")


def test_version_needs_neither_numpy_nor_pillow():
    probe = ("import sys\nfrom kmeans.cli import main\ntry:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'numpy', 'PIL'}))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["kmeans-compress 0.1.0", "[]"]


def test_pixels_round_trip_through_the_command_line(photo_file):
    assert run_cli(str(photo_file), "-k", "16", "--quiet")[0] == 0
    with Image.open(photo_file.with_name("photo-k16.png")) as image:
        pixels = np.asarray(image.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) == 16


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_long_file_shows_progress_on_a_terminal(photo_file, monkeypatch):
    monkeypatch.setattr("kmeans.cli.PROGRESS_AFTER", 0.0)
    out, err = io.StringIO(), _Terminal()
    assert main([str(photo_file), "-k", "8"], stdout=out, stderr=err) == 0
    shown = err.getvalue()
    assert "photo.png: " in shown and "iteration" in shown
    assert shown.endswith("\r\x1b[K")  # the progress line is cleared before the result is printed
    assert out.getvalue().startswith("photo-k8.png")


def test_no_progress_when_stderr_is_not_a_terminal(photo_file, monkeypatch):
    monkeypatch.setattr("kmeans.cli.PROGRESS_AFTER", 0.0)
    code, _out, err = run_cli(str(photo_file), "-k", "8")
    assert code == 0 and err == ""


def test_out_dir_is_made_when_missing(photo_file, tmp_path):
    folder = tmp_path / "small" / "deeper"
    code, out, _err = run_cli(str(photo_file), "-k", "4", "--out-dir", str(folder), "--format", "webp")
    assert code == 0 and (folder / "photo-k4.webp").exists() and out.startswith("photo-k4.webp")


def test_a_format_that_contradicts_the_output_name_is_refused(photo_file, capsys):
    code, _out, _err = run_cli(str(photo_file), "--format", "webp", "-o", "k.png")
    assert code == 2
    assert "names a PNG file but --format is webp; name it k.webp or leave out --format" in capsys.readouterr().err
    assert not photo_file.with_name("k.png").exists()


def test_folders_are_their_images_in_name_order(tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    for name in ("b.png", "a.jpg", "sub/c.png"):
        Image.fromarray(gradient_image(20, 30, seed=len(name))).save(folder / name)
    (folder / "notes.txt").write_text("not an image")
    (folder / "old-k4.png").write_bytes(b"an earlier output")
    out_dir = tmp_path / "out"
    code, out, err = run_cli(str(folder), "-k", "4", "--out-dir", str(out_dir))
    assert code == 0 and err == ""
    assert [line.split()[0] for line in out.splitlines()] == ["a-k4.png", "b-k4.png"]
    code, out, _err = run_cli(str(folder), "-r", "-k", "4", "--out-dir", str(out_dir), "--force")
    assert [line.split()[0] for line in out.splitlines()] == ["a-k4.png", "b-k4.png", "c-k4.png"]
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _out, err = run_cli(str(empty))
    assert code == 1 and "empty: the folder has no images (use -r to look in its subfolders)" in err


def test_verbose_adds_the_technical_details(tmp_path):
    cut = tmp_path / "cut.png"
    buffer = io.BytesIO()
    Image.fromarray(gradient_image(40, 60)).save(buffer, "PNG")
    cut.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    code, _out, err = run_cli(str(cut))
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("error: cut.png: the PNG file is damaged (it ends in the middle of the image data)")
    code, _out, err = run_cli(str(cut), "--verbose")
    assert "  detail: " in err and err.count("\n") >= 2


def test_a_closed_standard_output_stops_the_printing_not_the_work(tmp_path):
    inputs = []
    for name in ("a.png", "b.png", "c.png"):
        Image.fromarray(gradient_image(30, 40, seed=len(inputs))).save(tmp_path / name)
        inputs.append(str(tmp_path / name))
    command = [sys.executable, "-m", "kmeans.cli", *inputs, "-k", "4"]
    with subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as child:
        child.stdout.readline()
        child.stdout.close()  # as `| head -1` does
        err = child.stderr.read().decode()
        code = child.wait(timeout=60)
    assert code == 0 and "Traceback" not in err and err == ""
    assert all((tmp_path / f"{n}-k4.png").exists() for n in "abc")


def _tiff_claiming(samples_per_pixel: int) -> bytes:
    """A 4 × 4 TIFF whose SamplesPerPixel libtiff refuses, printing its own line on stderr."""
    entries = [(256, 4), (257, 4), (258, 8), (259, 1), (262, 2), (273, 8 + 2 + 12 * 9 + 4), (277, samples_per_pixel),
               (278, 4), (279, 16)]
    data = b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", len(entries))
    for tag, value in entries:
        data += struct.pack("<HHIHH", tag, 3, 1, value, 0)  # SHORT values
    return data + struct.pack("<I", 0) + b"\x80" * 16


def test_a_broken_file_gets_one_line_on_stderr_and_nothing_from_its_decoder(tmp_path):
    """libtiff prints its complaints itself, on the process's stderr: they go in the details."""
    (tmp_path / "many.tif").write_bytes(_tiff_claiming(65535))
    (tmp_path / "notes.png").write_text("not an image")
    probe = "import sys\nfrom kmeans.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    args = [str(tmp_path / "many.tif"), str(tmp_path / "notes.png"), "--out-dir", str(tmp_path / "out")]
    done = subprocess.run([sys.executable, "-c", probe, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert sorted(done.stderr.splitlines()) == ["error: many.tif: not an image file this program can read",
                                                "error: notes.png: not an image file this program can read"]
    verbose = subprocess.run([sys.executable, "-c", probe, *args, "-v", "--jobs", "1"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert "  detail: the decoder said: More samples per pixel than can be decoded: 65535" in verbose.stderr



def test_a_file_that_barely_changed_says_by_how_much(tmp_path, photo_file):
    from kmeans.batch import compress_file

    first = compress_file(photo_file, k=8, out_dir=str(tmp_path / "once"))
    again = compress_file(first.output, k=8, out_dir=str(tmp_path / "twice"))  # (our own file: about the same)
    line = again.message.splitlines()[0]
    assert 0.6 < again.bytes_out / again.bytes_in < 1.5, line
    assert "1.0x" not in line and "1.0×" not in line and ("% " in line or "(the same size)" in line), line
