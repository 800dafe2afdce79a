"""Many files at once on the command line (--jobs) and one file at a time from Python
(``kmeans.batch.compress_file``, what a cluster's workers call)."""

from __future__ import annotations

import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import gradient_image, run_cli
from PIL import Image

from kmeans.batch import FileResult, UsageError, compress_file


@pytest.fixture
def folder(tmp_path):
    images = tmp_path / "in"
    images.mkdir()
    for i, size in enumerate([(40, 60), (70, 50), (30, 30)]):
        Image.fromarray(gradient_image(*size, seed=i)).save(images / f"{'cba'[i]}.png")
    (images / "b-broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    return images


def test_jobs_write_the_same_files_and_lines_in_input_order(folder, tmp_path):
    code1, out1, err1 = run_cli(str(folder), "-k", "6", "--out-dir", str(tmp_path / "one"), "--jobs", "1")
    code2, out2, err2 = run_cli(str(folder), "-k", "6", "--out-dir", str(tmp_path / "two"), "--jobs", "2")
    assert code1 == code2 == 1  # (the broken file)
    names = [line.split()[0] for line in out2.splitlines() if not line.startswith(" ")]
    assert names == ["a-k6.png", "b-k6.png", "c-k6.png"]
    strip = [line.split()[:4] for line in out1.splitlines()]  # (the seconds differ)
    assert strip == [line.split()[:4] for line in out2.splitlines()]
    assert err1 == err2 and err2.startswith("error: b-broken.png: ")
    for made in (tmp_path / "one").iterdir():
        assert made.read_bytes() == (tmp_path / "two" / made.name).read_bytes()


def test_jobs_must_be_positive(folder, capsys):
    assert run_cli(str(folder), "--jobs", "0")[0] == 2
    assert "--jobs" in capsys.readouterr().err


def test_compress_file_is_the_command_line_for_one_file(folder, tmp_path):
    result = compress_file(folder / "a.png", k=6, out_dir=tmp_path / "api", dither=True, format="gif")
    assert isinstance(result, FileResult) and result.ok
    assert result.output == str(tmp_path / "api" / "a-k6.gif") and result.k == 6
    assert result.bytes_out == (tmp_path / "api" / "a-k6.gif").stat().st_size
    assert pickle.loads(pickle.dumps(result)) == result
    code, _, _ = run_cli(str(folder / "a.png"), "-k", "6", "--dither", "--format", "gif",
                         "-o", str(tmp_path / "cli.gif"))
    assert code == 0 and (tmp_path / "cli.gif").read_bytes() == (tmp_path / "api" / "a-k6.gif").read_bytes()
    chosen = compress_file(folder / "a.png", max_delta_e=8, out_dir=tmp_path / "api")
    assert chosen.ok and "chose K=" in chosen.message and chosen.delta_e <= 8
    broken = compress_file(folder / "b-broken.png", out_dir=tmp_path / "api")
    assert not broken.ok and broken.message.startswith("b-broken.png: ") and broken.output is None
    with pytest.raises(UsageError):
        compress_file(folder / "a.png", k=6, max_delta_e=3)
    with pytest.raises(UsageError):
        compress_file(folder / "a.png", colour_space="lab")


def test_the_dask_recipe_on_a_local_cluster(folder, tmp_path):
    distributed = pytest.importorskip("distributed")
    paths = sorted(str(p) for p in folder.glob("[abc].png"))
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        futures = client.map(compress_file, paths, out_dir=str(tmp_path / "dask"), k=6, pure=False)
        results = client.gather(futures)
    assert [r.ok for r in results] == [True, True, True]
    assert sorted(p.name for p in (tmp_path / "dask").iterdir()) == ["a-k6.png", "b-k6.png", "c-k6.png"]


def test_a_naming_pattern_names_the_outputs(folder, tmp_path, capsys):
    code, out, _ = run_cli(str(folder / "a.png"), "-k", "5", "--out-dir", str(tmp_path / "n"),
                           "--name", "small-{name}.{k}.{ext}", "--format", "webp")
    assert code == 0 and out.startswith("small-a.5.webp ")
    assert [p.name for p in (tmp_path / "n").iterdir()] == ["small-a.5.webp"]
    for bad in ("{name}/{k}.{ext}", "{size}.png", "{name"):
        assert run_cli(str(folder / "a.png"), "--name", bad)[0] == 2
        assert "--name" in capsys.readouterr().err


def _jobs(tmp_path, first_big: bool, n: int = 7):
    from kmeans.batch import plan
    from kmeans.options import Options

    images = tmp_path / "many"
    images.mkdir()
    rng = np.random.default_rng(3)
    for i in range(n):
        side = 900 if first_big and i == 0 else 24
        Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(images / f"f{i}.png")
    options = Options(k=64, out_dir=str(tmp_path / "out"))
    return plan(sorted(images.iterdir()), options), options


def test_a_worker_that_finishes_takes_the_next_file_while_the_first_is_still_working(tmp_path):
    from kmeans.batch import run, run_as_done

    jobs, options = _jobs(tmp_path, first_big=True)
    begun: list[int] = []
    order = [index for index, _ in run_as_done(jobs, options, processes=2, started=begun.append)]
    # The small files go through the second worker while the big one holds the first (not one by
    # one behind it), and each is told as it is done.
    assert sorted(order) == list(range(len(jobs))) and order[-1] == 0
    assert 0 in begun and len(begun) == len(set(begun))
    results = list(run(jobs, replace(options, force=True), processes=2))
    assert [r.source for r in results] == [str(job.source) for job in jobs]  # (run: in input order)


def test_a_stopped_batch_begins_no_more_files_and_reports_every_file_it_wrote(tmp_path):
    from kmeans.batch import run

    jobs, options = _jobs(tmp_path, first_big=False, n=12)
    begun: list[int] = []
    results = list(run(jobs, options, processes=2, started=begun.append, stop=lambda: bool(begun)))
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert 0 < len(written) < len(jobs)
    assert sorted(Path(r.output).name for r in results if r.ok) == written
    assert all(r.ok or r.reason == "stopped" for r in results)
    assert not (tmp_path / "out" / jobs[-1].output(options).name).exists()
