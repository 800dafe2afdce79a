"""Your colours, kept: fixed colours, palettes from files, one palette for many images."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import gradient_image, run_cli
from PIL import Image

from kmeans.colorspace import to_working
from kmeans.colortable import ColorTable
from kmeans.mapping import map_to_palette
from kmeans.palettefile import PaletteFileError, format_palette, load_palette, save_palette
from kmeans.quantization import quantize
from kmeans.transparency import file_quality

COLOURS = np.array([[255, 0, 0], [0, 128, 255], [12, 34, 56], [250, 250, 250]], np.uint8)


@pytest.mark.parametrize("suffix", [".gpl", ".pal", ".act", ".txt"])
def test_palette_files_round_trip(tmp_path, suffix):
    path = tmp_path / f"p{suffix}"
    save_palette(path, COLOURS)
    assert np.array_equal(load_palette(path), COLOURS)


def test_palette_files_from_other_programs(tmp_path):
    (tmp_path / "a.gpl").write_text("GIMP Palette\nName: x\nColumns: 4\n# a comment\n  1   2   3\tone\n4 5 6\n")
    assert load_palette(tmp_path / "a.gpl").tolist() == [[1, 2, 3], [4, 5, 6]]
    (tmp_path / "b.pal").write_bytes(b"JASC-PAL\r\n0100\r\n2\r\n7 8 9\r\n10 11 12\r\n")
    assert load_palette(tmp_path / "b.pal").tolist() == [[7, 8, 9], [10, 11, 12]]
    act = np.zeros((256, 3), np.uint8)
    act[:3] = [[1, 1, 1], [2, 2, 2], [3, 3, 3]]
    (tmp_path / "c.act").write_bytes(act.tobytes() + (3).to_bytes(2, "big") + b"\xff\xff")
    assert load_palette(tmp_path / "c.act").tolist() == [[1, 1, 1], [2, 2, 2], [3, 3, 3]]
    (tmp_path / "d.txt").write_text("#ff0000\n00ff00 ; green\n#00f\n")
    assert load_palette(tmp_path / "d.txt").tolist() == [[255, 0, 0], [0, 255, 0], [0, 0, 255]]


@pytest.mark.parametrize(("name", "content", "says"), [
    ("bad.gpl", "GIMP Palette\n1 2 3\n4 five 6\n", "bad.gpl, line 3: 'five' is not a colour value"),
    ("short.gpl", "GIMP Palette\n1 2\n", "short.gpl, line 2:"),
    ("wrong.gpl", "Not a palette\n", "wrong.gpl: not a GPL palette"),
    ("count.pal", "JASC-PAL\n0100\n3\n1 2 3\n", "count.pal: line 3 says 3 colours but the file has 1"),
    ("hex.txt", "#ff0000\nred\n", "hex.txt, line 2: 'red' is not a colour"),
    ("big.txt", "#000000\n" * 257, "big.txt: the palette has 257 colours"),
    ("empty.txt", "\n", "empty.txt: the palette has no colours"),
    ("odd.act", b"\x00" * 100, "odd.act: not an Adobe .act palette"),
])
def test_malformed_palette_files_name_the_file_and_line(tmp_path, name, content, says):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(PaletteFileError) as caught:
        load_palette(path)
    assert str(caught.value).startswith(says)


def test_locked_entries_are_marked_in_gpl():
    text = format_palette(COLOURS, "gpl", locked=np.array([True, False, False, True])).decode()
    assert [line.endswith("locked") for line in text.splitlines()[4:]] == [True, False, False, True]


def test_fixed_colours_stay_exactly_and_the_rest_move():
    pixels = gradient_image(60, 80)
    table = ColorTable.from_pixels(pixels)
    for space in ("rgb", "oklab"):
        result = quantize(table, 8, fixed=COLOURS[:3], color_space=space)
        assert len(result.palette) == 8 and result.locked.sum() == 3
        for colour in COLOURS[:3]:
            assert ((result.palette == colour).all(axis=1) & result.locked).any()
    with pytest.raises(ValueError, match="3 fixed colours do not fit in a palette of 2"):
        quantize(table, 2, fixed=COLOURS[:3])


def test_locking_colours_k_means_chose_anyway_keeps_the_quality():
    pixels = gradient_image(80, 100, seed=2)
    table = ColorTable.from_pixels(pixels)
    free = quantize(table, 16)
    locked = quantize(table, 16, fixed=free.palette[[0, 3, 7, 12]])
    before = file_quality(pixels, table, free.palette, free.color_labels, "partial").psnr
    after = file_quality(pixels, table, locked.palette, locked.color_labels, "partial").psnr
    assert abs(after - before) < 0.05


def test_mapping_to_a_palette_is_the_nearest_colour_in_its_order():
    pixels = gradient_image(30, 40)
    for space in ("rgb", "balanced"):
        result = map_to_palette(pixels, COLOURS, color_space=space)
        assert np.array_equal(result.palette, COLOURS)
        here = to_working(pixels.reshape(-1, 3), space).astype(np.float64)
        entries = to_working(COLOURS, space).astype(np.float64)
        brute = ((here[:, None, :] - entries[None]) ** 2).sum(-1).argmin(-1).reshape(pixels.shape[:2])
        assert np.array_equal(result.labels, brute), space
    rgba = np.dstack([pixels, np.full(pixels.shape[:2], 255, np.uint8)])
    rgba[:5, :, 3] = 0
    mapped = map_to_palette(rgba, COLOURS)
    assert len(mapped.palette) == 5 and mapped.palette[-1, 3] == 0 and (mapped.labels[:5] == 4).all()
    assert np.array_equal(mapped.palette[:4, :3], COLOURS)


@pytest.fixture
def photo_file(tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray(gradient_image(40, 50)).save(path)
    return path


def _png_palette(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.array(image.getpalette(), np.uint8).reshape(-1, 3)


def test_fixed_on_the_command_line_are_byte_equal_in_the_file(photo_file, tmp_path):
    code, _, _ = run_cli(str(photo_file), "-k", "6", "--fixed", "#ff0000, #0080ff", "-o", str(tmp_path / "f.png"),
                         "--palette-out", str(tmp_path / "f.gpl"))
    assert code == 0
    written = _png_palette(tmp_path / "f.png")
    assert {(255, 0, 0), (0, 128, 255)} <= {tuple(row) for row in written}
    assert (tmp_path / "f.gpl").read_text().count(" locked") == 2
    save_palette(tmp_path / "fixed.pal", COLOURS[:2])
    code, _, _ = run_cli(str(photo_file), "-k", "6", "--fixed-from", str(tmp_path / "fixed.pal"),
                         "-o", str(tmp_path / "g.png"))
    assert code == 0 and np.array_equal(_png_palette(tmp_path / "g.png"), written)


def test_palette_in_keeps_the_file_palette_in_order(photo_file, tmp_path):
    save_palette(tmp_path / "in.gpl", COLOURS)
    code, out, _ = run_cli(str(photo_file), "--palette-in", str(tmp_path / "in.gpl"), "-o", str(tmp_path / "p.png"))
    assert code == 0 and " K=4 " in out
    assert np.array_equal(_png_palette(tmp_path / "p.png")[:4], COLOURS)
    code, out, _ = run_cli(str(photo_file), "--palette-in", str(tmp_path / "in.gpl"), "--extra", "3",
                           "-o", str(tmp_path / "p7.png"))
    assert code == 0 and " K=7 " in out
    assert np.array_equal(_png_palette(tmp_path / "p7.png")[:4], COLOURS)


def test_one_shared_palette_for_many_images(tmp_path):
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"s{i}.png")
        Image.fromarray(gradient_image(30 + 5 * i, 40, seed=i)).save(paths[-1])
    code, _, _ = run_cli(*map(str, paths), "-k", "8", "--shared-palette", "--palette-out", str(tmp_path / "s.gpl"),
                         "--out-dir", str(tmp_path / "out"))
    assert code == 0
    palettes = [_png_palette(tmp_path / "out" / f"s{i}-k8.png") for i in range(3)]
    shared = load_palette(tmp_path / "s.gpl")
    assert all(np.array_equal(p[: len(shared)], shared) for p in palettes)


@pytest.mark.parametrize("args", [
    ("-k", "2", "--fixed", "#ff0000,#00ff00,#0000ff"),
    ("--fixed", "#ff00"),
    ("--extra", "2"),
    ("-k", "4", "--palette-in", "p.gpl"),
    ("--max-delta-e", "3", "--palette-in", "p.gpl"),
    ("--min-psnr", "30", "--shared-palette"),
    ("--fixed", "#ff0000", "--fixed-from", "p.gpl"),
])
def test_palette_usage_errors(photo_file, args, capsys):
    save_palette(photo_file.with_name("p.gpl"), COLOURS)
    args = tuple(str(photo_file.with_name(a)) if a == "p.gpl" else a for a in args)
    assert run_cli(str(photo_file), *args)[0] == 2
    assert "error:" in capsys.readouterr().err
    assert not list(photo_file.parent.glob("photo-k*"))


def test_a_malformed_palette_file_writes_nothing(photo_file, tmp_path):
    (tmp_path / "bad.gpl").write_text("GIMP Palette\n1 2 3\nnope\n")
    code, out, err = run_cli(str(photo_file), "-k", "4", "--fixed-from", str(tmp_path / "bad.gpl"))
    assert code == 1 and out == ""
    assert err == "error: bad.gpl, line 3: 'nope' is not a colour (three numbers, R G B)\n"
    assert not list(tmp_path.glob("photo-k*"))


def test_fixed_colours_go_with_a_target_and_are_kept(photo_file, tmp_path):
    """Auto K with locked colours, as the window has it: the chosen palette keeps them exactly."""
    out = tmp_path / "auto.png"
    code, text, err = run_cli(str(photo_file), "--max-delta-e", "6", "--fixed", "#ff0000,#00ff00", "-o", str(out))
    assert code == 0, err
    palette = np.array(Image.open(out).getpalette()).reshape(-1, 3)
    assert {(255, 0, 0), (0, 255, 0)} <= {tuple(c) for c in palette.tolist()}
    assert "chose K=" in text
