"""The Lloyd core: the tutorial's two steps and the loop, against brute force and by hand."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest

from kmeans import compute_centroids, find_closest_centroids, fit, init_centroids, make_blobs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [1, 2, 7, 16, 17, 64, 300])
def test_find_closest_centroids_agrees_with_brute_force(rng, dtype, k):
    X = rng.random((5000, 3)).astype(dtype)
    centroids = rng.random((k, 3)).astype(dtype)
    labels = find_closest_centroids(X, centroids)
    distances = ((X[:, None, :].astype(np.float64) - centroids[None].astype(np.float64)) ** 2).sum(-1)
    expected = distances.argmin(axis=1)
    assert labels.dtype == np.int32
    assert labels.shape == (5000,)
    # Where float rounding makes two centroids tie, either answer is the closest.
    chosen = distances[np.arange(len(X)), labels]
    assert np.allclose(chosen, distances.min(axis=1), rtol=0, atol=1e-6 if dtype == np.float32 else 1e-12)
    assert (labels == expected).mean() > 0.999


@pytest.mark.parametrize("k", [1, 3, 5, 17, 255])
def test_labels_alone_are_the_labels_the_distances_come_with(rng, k):
    """Every kernel (column and row layout), across chunks and threads."""
    from kmeans.nearest import nearest_centroids

    X = rng.random((20_000, 7)).astype(np.float32)
    centroids = rng.random((k, 7)).astype(np.float32)
    alone, none, _ = nearest_centroids(X, centroids, distances=False)
    labels, d1, _ = nearest_centroids(X, centroids)
    assert none is None and d1 is not None
    assert np.array_equal(alone, labels)


def test_find_closest_centroids_tutorial_example():
    X = np.array([[1.0, 1.0], [5.0, 5.0], [0.0, 4.0]])
    centroids = np.array([[0.0, 0.0], [4.0, 4.0], [0.0, 5.0]])
    assert find_closest_centroids(X, centroids).tolist() == [0, 1, 2]


def test_compute_centroids_are_weighted_member_means(rng):
    X = rng.random((200, 3))
    labels = rng.integers(0, 5, 200)
    weights = rng.integers(1, 10, 200).astype(float)
    centroids = compute_centroids(X, labels, 5, weights=weights)
    for j in range(5):
        members = labels == j
        expected = (X[members] * weights[members, None]).sum(0) / weights[members].sum()
        assert np.allclose(centroids[j], expected)


def test_compute_centroids_by_hand():
    X = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0]])
    centroids = compute_centroids(X, np.array([0, 0, 1]), 2, weights=np.array([1.0, 3.0, 1.0]))
    assert centroids.tolist() == [[1.5, 0.0], [10.0, 10.0]]


def test_empty_cluster_is_reseeded_never_nan():
    X = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [9.0, 9.0]])
    centroids = compute_centroids(X, np.array([0, 0, 0, 0]), 2)
    assert np.isfinite(centroids).all()
    # The empty cluster took the sample farthest from its centroid.
    assert centroids[1].tolist() == [9.0, 9.0]


def test_fit_empty_clusters_from_duplicate_init_never_nan(rng):
    X = rng.random((300, 2))
    start = np.repeat(X[:1], 4, axis=0)  # four identical centres: three start empty
    result = fit(X, 4, init=start)
    assert np.isfinite(result.centroids).all()
    assert len(np.unique(result.labels)) == 4


def test_fit_more_clusters_than_distinct_points_does_not_crash():
    X = np.array([[0.0, 0.0]] * 5 + [[1.0, 1.0]] * 5)
    result = fit(X, 4, init="k-means++")
    assert np.isfinite(result.centroids).all()
    assert result.inertia == pytest.approx(0.0, abs=1e-12)


def test_inertia_never_increases(rng):
    X, _ = make_blobs(2000, centers=8, cluster_std=1.5, seed=3)
    seen: list[float] = []
    fit(X, 8, init="random", seed=1, tol=0, callback=lambda info: seen.append(info.inertia))
    assert len(seen) > 3
    assert all(b <= a * (1 + 1e-12) for a, b in itertools.pairwise(seen))


def test_inertia_never_increases_when_accelerated(rng):
    X = rng.random((3000, 3))
    seen: list[float] = []
    result = fit(X, 20, seed=2, tol=0, accelerate=True, callback=lambda info: seen.append(info.inertia))
    assert all(b <= a * (1 + 1e-12) for a, b in itertools.pairwise(seen))
    assert result.converged


def test_result_is_a_lloyd_fixed_point(rng):
    X = rng.random((2000, 3))
    result = fit(X, 10, tol=0)
    assert result.converged
    assert np.array_equal(result.labels, find_closest_centroids(X, result.centroids))
    assert np.allclose(result.centroids, compute_centroids(X, result.labels, 10))
    expected = ((X - result.centroids[result.labels]) ** 2).sum()
    assert result.inertia == pytest.approx(expected, rel=1e-9)


def test_weighted_distinct_samples_equal_all_samples(rng):
    """k-means over distinct rows weighted by their counts is k-means over every row."""
    distinct = rng.random((400, 3))
    counts = rng.integers(1, 20, 400)
    X_all = np.repeat(distinct, counts, axis=0)
    rng.shuffle(X_all)
    start = distinct[rng.choice(400, 12, replace=False)]

    weighted = fit(distinct, 12, weights=counts, init=start, tol=0)
    everything = fit(X_all, 12, init=start, tol=0)

    assert weighted.n_iter == everything.n_iter
    assert np.allclose(weighted.centroids, everything.centroids, rtol=0, atol=1e-12)
    assert weighted.inertia == pytest.approx(everything.inertia, rel=1e-10)
    # Same labels: each of the pixels' rows takes its distinct colour's label.
    lookup = {tuple(row): label for row, label in zip(distinct, weighted.labels, strict=False)}
    assert all(lookup[tuple(row)] == label for row, label in zip(X_all, everything.labels, strict=False))


def test_same_seed_same_result(rng):
    X = rng.random((1500, 3)).astype(np.float32)
    a, b = fit(X, 9, seed=7), fit(X, 9, seed=7)
    assert np.array_equal(a.centroids, b.centroids)
    assert np.array_equal(a.labels, b.labels)
    c = fit(X, 9, seed=8)
    assert not np.array_equal(a.centroids, c.centroids)


def test_callback_false_stops_within_one_iteration(rng):
    X = rng.random((3000, 3))
    calls = []

    def stop_at_three(info):
        calls.append(info.iteration)
        return info.iteration < 3

    result = fit(X, 30, tol=0, callback=stop_at_three)
    assert calls == [1, 2, 3]
    assert result.stopped and not result.converged
    assert result.n_iter == 3


def test_cancel_token_stops_within_one_iteration(rng):
    X = rng.random((3000, 3))
    cancel = threading.Event()
    calls = []

    def record(info):
        calls.append(info.iteration)
        if info.iteration == 2:
            cancel.set()

    result = fit(X, 30, tol=0, callback=record, cancel=cancel)
    assert calls == [1, 2]
    assert result.stopped


def test_progress_reports_rising_iterations_and_data(rng):
    X = rng.random((1000, 3))
    infos = []
    fit(X, 5, tol=0, callback=infos.append)
    assert [i.iteration for i in infos] == list(range(1, len(infos) + 1))
    last = infos[-1]
    assert last.centroids.shape == (5, 3) and not last.centroids.flags.writeable
    assert last.sizes.sum() == pytest.approx(1000)


def test_kmeans_plus_plus_spreads_centres():
    X, _ = make_blobs(400, centers=np.array([[0, 0], [50, 0], [0, 50], [50, 50]]), cluster_std=0.5, seed=1)
    centres = init_centroids(X, 4, method="k-means++", seed=0)
    nearest_blob = np.round(centres / 50).astype(int)
    assert len({tuple(c) for c in nearest_blob}) == 4


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8])
def test_kmeans_plus_plus_takes_any_numeric_samples_and_fractional_weights(dtype):
    X, _ = make_blobs(400, centers=np.array([[20, 20], [200, 20], [20, 200], [200, 200]]), cluster_std=2, seed=1)
    X = np.clip(X, 0, 255).astype(dtype)
    weights = np.random.default_rng(0).random(400) * 0.5  # (all below 1: an integer copy would be 0)
    centres = init_centroids(X, 4, weights=weights, seed=0)
    assert centres.dtype == np.float64
    assert len({tuple(c) for c in np.round(centres / 180).astype(int)}) == 4


def test_random_init_picks_distinct_samples_in_proportion_to_weight():
    X = np.arange(10, dtype=float)[:, None]
    weights = np.zeros(10)
    weights[[2, 7]] = 1.0
    for seed in range(5):
        centres = init_centroids(X, 2, method="random", weights=weights, seed=seed)
        assert sorted(centres[:, 0].tolist()) == [2.0, 7.0]


def test_init_continues_from_given_centres(rng):
    X = rng.random((500, 2))
    given = X[:3]
    centres = init_centroids(X, 6, weights=None, seed=0, given=given)
    assert np.array_equal(centres[:3], given)
    assert centres.shape == (6, 2)


def test_bad_arguments_are_refused(rng):
    X = rng.random((10, 2))
    with pytest.raises(ValueError, match="between 1 and the number of samples"):
        fit(X, 11)
    with pytest.raises(ValueError, match="NaN"):
        fit(np.array([[np.nan, 0.0]]), 1)
    with pytest.raises(ValueError, match="unknown init"):
        init_centroids(X, 2, method="kmeans")
    with pytest.raises(ValueError, match="shape"):
        fit(X, 2, init=np.zeros((3, 2)))


def test_make_blobs_matches_the_tutorial_defaults():
    X, y = make_blobs()
    assert X.shape == (300, 2) and y.shape == (300,)
    assert np.bincount(y).tolist() == [75, 75, 75, 75]
    again, _ = make_blobs()
    assert np.array_equal(X, again)
    for blob in range(4):
        assert X[y == blob].std(axis=0).mean() == pytest.approx(0.6, rel=0.25)


def test_random_starts_fall_on_distinct_values_when_samples_repeat():
    """Pixels of one colour are many samples of one value: K starts must still be K points."""
    from kmeans import init_centroids

    X = np.repeat(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0], [9.0, 1.0]]), [500, 300, 5, 3, 2], axis=0)
    for seed in range(50):
        start = init_centroids(X, 4, method="random", seed=seed)
        assert len(np.unique(start, axis=0)) == 4, seed
    few = init_centroids(X[:800], 4, method="random", seed=0)  # only two values: repeats cannot be avoided
    assert len(few) == 4 and len(np.unique(few, axis=0)) == 2
