"""Every kind of bad input, through every door: load, the command line, the window.

Each bad file gets a clear message naming it; the window keeps the image it had; the command
line goes on with the next file and exits 1.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from conftest import BAD, JPEG, PNG, gradient_image
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from kmeans import ImageLoadError, quantize
from kmeans.cli import main as cli
from kmeans.imagefile import load


def _shown(name: str) -> str:
    return os.fsencode(name).decode("utf-8", "backslashreplace")


@pytest.fixture(params=sorted(BAD))
def bad_file(request, tmp_path) -> tuple[Path, str]:
    name, make, words = BAD[request.param]
    path = tmp_path / name
    make(path)
    return path, words


def test_load_raises_our_error_naming_the_file(bad_file):
    path, words = bad_file
    with pytest.raises(ImageLoadError) as info:
        load(path)
    message = str(info.value)
    assert message.startswith(_shown(path.name) + ":")
    assert words in message
    assert "\n" not in message and "Traceback" not in message
    message.encode("utf-8")


def test_unreadable_file(tmp_path, monkeypatch):
    path = tmp_path / "secret.png"
    path.write_bytes(PNG)
    if os.geteuid() != 0:
        path.chmod(0)
    else:  # root reads everything: refuse the way the kernel would for anyone else
        real_open = Image.open

        def refuse(fp, *args, **kwargs):
            if str(fp) == str(path):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(fp, *args, **kwargs)

        monkeypatch.setattr("kmeans.imagefile.Image.open", refuse)
    with pytest.raises(ImageLoadError, match=r"secret\.png: permission denied"):
        load(path)


def test_command_line_goes_on_after_each_bad_file(tmp_path, capsys):
    good = tmp_path / "good.png"
    good.write_bytes(PNG)
    paths = []
    for key in sorted(BAD):
        name, make, _words = BAD[key]
        path = tmp_path / name
        make(path)
        paths += [str(path), str(good)]
    code = cli([*paths, "-k", "4", "--out-dir", str(tmp_path), "--force", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == len(BAD)  # one line per bad file, none for the good ones
    assert all(line.startswith("error: ") for line in lines)
    assert "Traceback" not in err
    assert (tmp_path / "good-k4.png").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    ("make", "check"),
    [
        (lambda: Image.new("RGB", (1, 1), (9, 8, 7)), lambda r: r.palette.tolist() == [[9, 8, 7]]),
        (lambda: Image.new("RGB", (30, 20), (200, 10, 10)), lambda r: len(r.palette) == 1),
        (lambda: Image.fromarray(np.repeat(np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], np.uint8), 10, 0)),
         lambda r: len(r.palette) == 3 and r.notice is not None),
    ],
    ids=["1x1", "single colour", "three colours at K=256"],
)
def test_unusual_but_valid_images(tmp_path, make, check):
    path = tmp_path / "odd.png"
    make().save(path)
    image = load(path)
    result = quantize(image.pixels, 256)
    assert check(result)
    assert np.array_equal(result.to_array(), image.pixels)


def test_apng_uses_the_first_frame_and_says_so(tmp_path):
    frames = [Image.new("RGBA", (8, 8), c) for c in [(0, 200, 0, 255), (200, 0, 0, 255), (0, 0, 200, 255)]]
    path = tmp_path / "anim.png"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50)
    image = load(path, animated=False)  # (as the window opens it)
    assert image.pixels[0, 0].tolist()[:3] == [0, 200, 0]
    assert any("3 frames" in n for n in image.notices)
    whole = load(path)
    assert whole.frames == 3 and whole.pixels[8, 0].tolist()[:3] == [200, 0, 0] and whole.notices == ()


def test_srgb_profile_changes_nothing_and_a_broken_one_is_said(tmp_path):
    from PIL import ImageCms

    pixels = gradient_image(16, 16)
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    good = tmp_path / "srgb.png"
    Image.fromarray(pixels).save(good, icc_profile=srgb)
    loaded = load(good)
    assert np.array_equal(loaded.pixels, pixels) and loaded.notices == ()
    broken = tmp_path / "broken-profile.png"
    Image.fromarray(pixels).save(broken, icc_profile=b"not a colour profile at all")
    loaded = load(broken)
    assert np.array_equal(loaded.pixels, pixels)
    assert any("colour profile could not be applied" in n for n in loaded.notices)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(
    st.binary(max_size=2048),
    st.builds(lambda cut, flips: _mutate(PNG, cut, flips), st.integers(0, len(PNG)), st.lists(st.integers(0, 10**6))),
    st.builds(lambda cut, flips: _mutate(JPEG, cut, flips), st.integers(0, len(JPEG)), st.lists(st.integers(0, 10**6))),
))
def test_fuzz_load_returns_an_image_or_raises_our_error(tmp_path, data):
    path = tmp_path / "fuzz.img"
    path.write_bytes(data)
    try:
        image = load(path)
    except ImageLoadError as error:
        assert str(error).startswith("fuzz.img:")
    else:
        assert image.pixels.dtype == np.uint8 and image.pixels.ndim == 3 and image.pixels.shape[2] in (3, 4)


def _mutate(data: bytes, cut: int, flips: list[int]) -> bytes:
    out = bytearray(data[:cut] if cut > 8 else data)
    for flip in flips:
        if out:
            out[flip % len(out)] ^= 1 + flip % 255
    return bytes(out)
