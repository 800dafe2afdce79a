"""The one pipeline's own rules: options checked once, output names that never collide, and one
shared palette that every file carries."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import gradient_image, run_cli
from PIL import Image
from test_transparency import logo

from kmeans.batch import Job, compress_file, plan
from kmeans.options import Options, UsageError


@pytest.fixture
def twins(tmp_path):
    """Two different images with one name, in two folders."""
    paths = []
    for seed, folder in enumerate(("a", "b")):
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / "photo.png"
        Image.fromarray(gradient_image(30, 40, seed=seed)).save(path)
        paths.append(path)
    return paths


def test_two_inputs_with_one_name_get_two_outputs(twins, tmp_path):
    out = tmp_path / "out"
    code, text, err = run_cli(*map(str, twins), "-k", "6", "--out-dir", str(out), "--force", "-j", "1")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["photo-2-k6.png", "photo-k6.png"]
    assert [line.split()[0] for line in text.splitlines()] == ["photo-k6.png", "photo-2-k6.png"]
    # each output is its own input's, not the other one written over it
    for name, source in (("photo-k6.png", twins[0]), ("photo-2-k6.png", twins[1])):
        alone = compress_file(source, k=6, output=str(tmp_path / f"alone-{name}"))
        assert (out / name).read_bytes() == (tmp_path / f"alone-{name}").read_bytes() and alone.ok


def test_a_pattern_that_cannot_tell_them_apart_refuses_the_later_one(twins, tmp_path):
    out = tmp_path / "out"
    code, _text, err = run_cli(*map(str, twins), "-k", "6", "--out-dir", str(out), "--name", "same.{ext}", "-j", "2")
    assert code == 1
    assert [p.name for p in out.iterdir()] == ["same.png"]
    assert err.count("\n") == 1 and "b/photo.png: not written" in err and "a/photo.png" in err
    assert "{name}" in err


def test_a_file_given_twice_is_done_once(twins, tmp_path):
    code, text, err = run_cli(str(twins[0]), str(twins[0]), "-k", "4", "--out-dir", str(tmp_path / "o"))
    assert code == 0 and err == ""
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["photo-k4.png"]
    assert "given more than once" in text


def test_plan_keeps_names_that_do_not_collide(tmp_path):
    sources = [tmp_path / "x" / "a.png", tmp_path / "y" / "b.png", tmp_path / "z" / "a.png"]
    jobs = plan(sources, Options(k=8, out_dir=str(tmp_path / "out")))
    assert [job.stem for job in jobs] == ["a", "b", "a-2"] and all(job.refused is None for job in jobs)
    beside = plan(sources, Options(k=8))  # beside their inputs: different folders, no clash
    assert [job.stem for job in beside] == ["a", "b", "a"]
    assert Job(sources[0], "a").output(Options(k=8, format="gif")) == tmp_path / "x" / "a-k8.gif"


def test_shared_palette_outputs_carry_one_identical_palette(tmp_path):
    opaque, clear = tmp_path / "opaque.png", tmp_path / "clear.png"
    Image.fromarray(gradient_image(40, 40, seed=3)).save(opaque)
    Image.fromarray(logo(40)).save(clear)
    out = tmp_path / "out"
    code, text, err = run_cli(str(opaque), str(clear), "-k", "12", "--shared-palette", "--out-dir", str(out))
    assert code == 0, err
    palettes = []
    for name in ("opaque-k12.png", "clear-k12.png"):
        image = Image.open(out / name)
        palettes.append((bytes(image.getpalette()[: 3 * len(image.palette.colors)]), image.info.get("transparency")))
    assert palettes[0] == palettes[1]
    ks = {line.split("K=")[1].split()[0] for line in text.splitlines() if "K=" in line}
    assert len(ks) == 1  # and every line says the same K


def test_options_are_checked_once_with_plain_words():
    with pytest.raises(UsageError, match="-k must be between 1 and 256"):
        Options(k=300)
    with pytest.raises(UsageError, match="--palette-in and --shared-palette go with -k"):
        Options.from_names(palette_in=None, shared_palette=True, max_delta_e=3)
    with pytest.raises(UsageError, match="unknown option 'colour_space'"):
        Options.from_names(colour_space="lab")
    with pytest.raises(UsageError, match="--matte purple-ish: not a colour"):
        Options.from_names(matte="purple-ish")
    assert Options.from_names(matte="#1e1e1e", fixed="#f00, #00ff00").fixed == ((255, 0, 0), (0, 255, 0))
    assert Options.from_names(max_size="2KB").target.value == 2048


def test_kept_colours_that_leave_no_room_for_the_transparent_entry_are_refused_plainly(tmp_path):
    path = tmp_path / "ring.png"
    Image.fromarray(logo(32)).save(path)
    result = compress_file(path, k=2, fixed="#ff0000,#00ff00", out_dir=tmp_path / "o")
    assert not result.ok and result.message.startswith("ring.png: ") and "transparent entry" in result.message
    assert result.details == ""
    assert not (tmp_path / "o" / "ring-k2.png").exists()
    assert np.array_equal(np.asarray(Image.open(path)), logo(32))  # (the input untouched)
