"""Choosing K: the search's guarantees, the curve's estimates, and the command line's targets."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import gradient_image, run_cli
from PIL import Image

from kmeans.autok import (
    CURVE_KS,
    QUALITY_LEVELS,
    CurveSample,
    Point,
    Unreachable,
    curve,
    estimate,
    guess,
    knee,
    search,
)
from kmeans.colortable import ColorTable
from kmeans.imagefile import encode
from kmeans.options import Options, Target, parse_size
from kmeans.quantization import quantize
from kmeans.transparency import file_quality

# -- the search, on made-up curves ------------------------------------------------------------------


def _curve(delta_e) -> tuple[list[int], callable]:
    calls: list[int] = []

    def evaluate(k: int) -> Point:
        calls.append(k)
        return Point(k, k, 40.0 - 10 / k, float(delta_e(k)), 1000 * k)

    return calls, evaluate


@pytest.mark.parametrize("limit", [0.5, 1.0, 3.3, 7.0, 19.9, 20.0, 40.0])
@pytest.mark.parametrize("start", [None, 2, 3, 50, 200, 256])
def test_the_smallest_k_that_meets_a_quality_target(limit, start):
    calls, evaluate = _curve(lambda k: 40.0 / k)
    choice = search(evaluate, Target("delta_e", limit), start)
    best = next(k for k in range(2, 257) if 40.0 / k <= limit)
    assert choice.k == best and choice.point.k == best
    assert best == 2 or not Target("delta_e", limit).met(evaluate(best - 1))
    assert len(set(calls)) <= 20  # a search, not a sweep


@pytest.mark.parametrize("start", [None, 2, 17, 256])
@pytest.mark.parametrize("limit", [2000, 2500, 17_000, 255_999, 256_000, 10**7])
def test_the_largest_k_whose_file_fits(limit, start):
    _calls, evaluate = _curve(lambda k: 1.0)
    choice = search(evaluate, Target("size", limit), start)
    best = max(k for k in range(2, 257) if 1000 * k <= limit)
    assert choice.k == best
    assert best == 256 or 1000 * (best + 1) > limit
    assert ("256 is the most" in choice.reason) == (best == 256)


def test_unreachable_targets_name_the_best_there_is():
    _calls, evaluate = _curve(lambda k: 40.0 / k)
    with pytest.raises(Unreachable) as caught:
        search(evaluate, Target("delta_e", 0.1), 30)
    assert caught.value.best.k == 256
    assert str(caught.value) == "needs more than 256 colours: ΔE 0.16 at 256"
    with pytest.raises(Unreachable) as caught:
        search(evaluate, Target("size", 1999), 30)
    assert caught.value.best.k == 2 and "cannot be made that small: 2,000 B at 2 colours" in str(caught.value)


def test_where_quality_is_not_monotone_k_minus_one_still_fails():
    # A dip at 10 (k-means landing well) and a bump at 40 (landing badly).
    bumps = {10: 2.0, 40: 9.0}
    _calls, evaluate = _curve(lambda k: bumps.get(k, 100.0 / k))
    target = Target("delta_e", 2.5)
    for start in (None, 5, 30, 60, 250):
        choice = search(evaluate, target, start)
        assert target.met(choice.point)
        assert choice.k == 2 or not target.met(evaluate(choice.k - 1))


def test_targets_in_words_and_sizes_in_bytes():
    assert parse_size("50000") == 50000
    assert parse_size("48KB") == parse_size("48 kb") == parse_size("48k") == 48 * 1024
    assert parse_size("1.5MB") == int(1.5 * 1024**2)
    for bad in ("", "ten", "-5", "0", "5 GB"):
        with pytest.raises(ValueError):
            parse_size(bad)
    assert Target("delta_e", 2).words() == "ΔE ≤ 2"
    assert Target("psnr", 35).words() == "PSNR ≥ 35 dB"
    assert Target("size", 102400).words() == "at most 100.0 KB (102,400 B)"
    assert Target("delta_e", 3).measure(Point(9, 9, 30.0, 3.0004, 0)) == "ΔE 3.0004"
    assert Target("delta_e", 3).measure(Point(9, 9, 30.0, 2.9996, 0)) == "ΔE 2.9996"
    assert Target("psnr", 30).measure(Point(9, 9, 31.234, 1.0, 0)) == "PSNR 31.23 dB"
    with pytest.raises(ValueError):
        Target("delta_e", 0)
    assert list(QUALITY_LEVELS.values()) == sorted(QUALITY_LEVELS.values())


def test_guess_and_knee_read_the_curve():
    points = [Point(k, k, 20 + 3 * np.log2(k), 30.0 / k, 100 * k) for k in CURVE_KS]
    assert guess(points, Target("delta_e", 1.0)) == 30
    assert guess(points, Target("delta_e", 100.0)) == 2
    assert guess(points, Target("delta_e", 0.01)) is None
    assert guess(points, Target("size", 5000)) == 47  # (on log K between 32 and 64; 100 B a colour)
    assert knee(points) in (6, 8, 12)
    assert knee(points[:2]) is None


# -- the curve, on a small image ------------------------------------------------------------------------


def test_the_curve_follows_full_runs():
    pixels = gradient_image(200, 240)
    table = ColorTable.from_pixels(pixels)
    sample = CurveSample.of(pixels, pixels, "partial")
    points = list(curve(sample, Options(), ks=(4, 16, 64)))
    assert [p.k for p in points] == [4, 16, 64]
    for point in points:
        result = quantize(table, point.k)
        exact = file_quality(pixels, table, result.palette, result.color_labels, "partial")
        size = len(encode(result.palette, result.labels, "png"))
        assert abs(point.delta_e - exact.delta_e) < 0.1
        assert abs(point.size / size - 1) < 0.1
    assert points[0].delta_e > points[1].delta_e > points[2].delta_e
    assert points[0].size < points[1].size < points[2].size


def test_the_curve_of_a_transparent_image_in_every_format():
    pixels = np.dstack([gradient_image(80, 90), np.full((80, 90), 255, np.uint8)])
    pixels[:20, :, 3] = 0
    pixels[20:30, :, 3] = 128
    for fmt, support in (("png", "partial"), ("gif", "binary"), ("webp", "partial"), ("bmp", "none")):
        from kmeans.transparency import shown

        sample = CurveSample.of(pixels, shown(pixels, support), support)
        point = estimate(sample, 8, Options(format=fmt))
        assert point.size > 0 and 0 <= point.delta_e < 20
        assert estimate(sample, 8, Options(format=fmt, dither=True)).size > 0


def _still_background_animation(tmp_path):
    """Twelve frames of a detailed still picture with a small square moving over it."""
    background = gradient_image(72, 96, seed=4)
    frames = []
    for i in range(12):
        frame = background.copy()
        frame[30:40, 6 * i:6 * i + 10] = (250, 30, 30)
        frames.append(Image.fromarray(frame))
    path = tmp_path / "moving.png"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    return path


@pytest.mark.parametrize("fmt", ["gif", "png", "webp"])
@pytest.mark.parametrize("dither", [0, 100])
def test_the_curve_of_an_animation_is_the_size_of_the_animation(tmp_path, fmt, dither):
    # As one still picture, twelve frames that hardly change would be estimated several times over.
    from kmeans import pipeline

    options = Options(k=32, format=fmt, dither=dither)
    prepared = pipeline.prepare(pipeline.load(_still_background_animation(tmp_path), options), fmt, options.matte)
    sample = pipeline.curve_sample(prepared)
    for k in (8, 32):
        at_k = Options(k=k, format=fmt, dither=dither)
        result = pipeline.quantize(prepared, at_k)
        real = len(pipeline.encode(prepared, result, pipeline.dither(prepared, result, at_k), fmt))
        assert abs(estimate(sample, k, at_k).size / real - 1) < 0.1


def test_a_large_animation_is_measured_on_the_same_rows_of_every_frame(tmp_path, monkeypatch):
    import kmeans.autok as autok
    from kmeans import pipeline

    monkeypatch.setattr(autok, "WHOLE_ANIMATION_PIXELS", 0)
    monkeypatch.setattr(autok, "MEASURE_PIXELS", 12 * 96 * 24)
    prepared = pipeline.prepare(pipeline.load(_still_background_animation(tmp_path), Options()), "gif", "white")
    sample = pipeline.curve_sample(prepared)
    rows = sample.rows_shown.reshape(12, -1, 96, 3)
    assert 0 < rows.shape[1] < 72
    frames = prepared.pixels.reshape(12, 72, 96, 3)
    taken = [next(y for y in range(72) if (frames[0, y] == row).all()) for row in rows[0]]
    assert any(30 <= y < 40 for y in taken)  # (the sample includes rows where the square moves)
    for i in range(12):
        assert (frames[i, taken] == rows[i]).all()
    assert estimate(sample, 16, Options(k=16, format="gif")).size > 0


# -- the command line ------------------------------------------------------------------------------


@pytest.fixture
def photo_file(tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray(gradient_image(60, 80)).save(path)
    return path


def _chosen(out: str) -> int:
    return int(re.search(r"chose K=(\d+)", out).group(1))


def _real(path, k: int) -> tuple[float, int]:
    """Mean ΔE (unrounded) and bytes of ``-k k``'s file: the bytes by the command line itself."""
    code, _, _ = run_cli(str(path), "-k", str(k), "-o", str(path.with_name(f"real-{k}.png")), "--force")
    assert code == 0
    pixels = np.asarray(Image.open(path).convert("RGB"))
    table = ColorTable.from_pixels(pixels)
    result = quantize(table, k)
    delta_e = file_quality(pixels, table, result.palette, result.color_labels, "partial").delta_e
    return delta_e, path.with_name(f"real-{k}.png").stat().st_size


def test_max_delta_e_writes_the_file_of_the_smallest_k_that_meets_it(photo_file):
    code, out, err = run_cli(str(photo_file), "--max-delta-e", "3")
    assert code == 0 and err == ""
    k = _chosen(out)
    written = photo_file.with_name(f"photo-k{k}.png")
    assert out.startswith(f"photo-k{k}.png  80x60  K={k} ")
    assert re.search(rf"chose K={k}: \u0394E \d\.\d+ meets \u0394E ≤ 3; {k - 1} colours would not meet it", out)
    delta_e, _ = _real(photo_file, k)
    assert delta_e <= 3.0 and photo_file.with_name(f"real-{k}.png").read_bytes() == written.read_bytes()
    assert _real(photo_file, k - 1)[0] > 3.0


def test_min_psnr_with_options_is_the_same_file_as_minus_k(photo_file):
    options = ("--format", "gif", "--dither", "--color-space", "oklab", "--seed", "4")
    code, out, _ = run_cli(str(photo_file), "--min-psnr", "25", *options)
    assert code == 0
    k = _chosen(out)
    code, _, _ = run_cli(str(photo_file), "-k", str(k), "-o", str(photo_file.with_name("same.gif")), *options)
    assert code == 0
    assert photo_file.with_name("same.gif").read_bytes() == photo_file.with_name(f"photo-k{k}.gif").read_bytes()


def test_max_size_writes_the_largest_k_that_fits(photo_file):
    code, out, _ = run_cli(str(photo_file), "--max-size", "3KB")
    assert code == 0
    k = _chosen(out)
    assert photo_file.with_name(f"photo-k{k}.png").stat().st_size <= 3 * 1024
    assert _real(photo_file, k + 1)[1] > 3 * 1024
    assert "would not fit" in out


def test_an_unreachable_target_writes_nothing_and_the_others_go_on(photo_file, tmp_path):
    flat = tmp_path / "flat.png"
    Image.fromarray(np.full((20, 20, 3), 90, np.uint8)).save(flat)
    code, out, err = run_cli(str(photo_file), str(flat), "--max-delta-e", "0.05", "--out-dir", str(tmp_path / "o"))
    assert code == 1
    assert re.fullmatch(r"error: photo\.png: not written: needs more than 256 colours: \u0394E \d+\.\d\d at 256\n",
                        err)
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["flat-k2.png"]  # one colour meets it at K=2
    assert "flat-k2.png" in out
    code, _, err = run_cli(str(photo_file), "--max-size", "50", "--out-dir", str(tmp_path / "o2"))
    assert code == 1 and "cannot be made that small" in err
    assert not any((tmp_path / "o2").iterdir())


@pytest.mark.parametrize("args", [
    ("-k", "8", "--max-delta-e", "2"),
    ("--max-delta-e", "2", "--min-psnr", "30"),
    ("--min-psnr", "30", "--max-size", "10KB"),
    ("--max-size", "ten"),
    ("--max-delta-e", "0"),
    ("--min-psnr", "nan"),
])
def test_k_and_targets_are_one_choice(photo_file, args, capsys):
    code, out, _ = run_cli(str(photo_file), *args)
    assert code == 2 and out == ""
    assert "error:" in capsys.readouterr().err  # (argparse's own stream)
    assert not list(photo_file.parent.glob("photo-k*"))
