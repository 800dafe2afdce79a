"""The teaching tab: the lesson model (no Qt) and the tab driven offscreen."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from matplotlib.colors import to_hex
from PySide6.QtCore import QPoint, QPointF, Qt

from app.learn.lesson import ASSIGN, SEED, UPDATE, Lesson, compare_initializations, iterate, k_choice
from app.learn.tab import BlobsTab
from app.worker import running_threads
from kmeans import make_blobs

WAIT = 30_000


@pytest.fixture
def blobs():
    return make_blobs(300, 4, 0.6, 0)[0]


def test_stepping_alternates_assignment_and_update_and_inertia_never_rises(blobs):
    lesson = Lesson(blobs, 4, method="random", seed=1)
    assert lesson.labels is None and lesson.phase == ASSIGN and lesson.inertia is None
    seen = []
    phases = []
    for _ in range(40):
        phases.append(lesson.phase)
        text = lesson.step()
        if lesson.converged:
            assert "converged" in text.lower()
            break
        seen.append(lesson.inertia)
    assert lesson.converged
    assert phases[:4] == [ASSIGN, UPDATE, ASSIGN, UPDATE]
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(seen))
    assert len(lesson.trail) == lesson.iteration + 1
    assert lesson.step().startswith("Converged")


def test_assignment_colours_change_and_update_moves_centroids(blobs):
    lesson = Lesson(blobs, 3, method="random", seed=2)
    before = lesson.centroids.copy()
    assert "assigned" in lesson.step()
    assert lesson.labels is not None and np.array_equal(lesson.centroids, before)
    assert "moved" in lesson.step()
    assert not np.array_equal(lesson.centroids, before)


def test_reset_restores_the_initial_centroids(blobs):
    lesson = Lesson(blobs, 4, method="k-means++", seed=0)
    initial = lesson.initial.copy()
    for _ in range(5):
        lesson.step()
    lesson.reset()
    assert lesson.phase == SEED and len(lesson.centroids) == 0  # k-means++ chooses its starts again, one a step
    lesson.finish_seeding()
    assert np.array_equal(lesson.centroids, initial)
    assert lesson.labels is None and lesson.iteration == 0 and lesson.inertias == []


def test_iterate_converges_to_a_fixed_point(blobs):
    steps = list(iterate(blobs, blobs[:4].copy(), None))
    assert steps[-1].changed == 0
    assert all(s.changed > 0 for s in steps[:-1])


def test_ten_initializations_and_the_elbow(blobs):
    trials = compare_initializations(blobs, 4, "random")
    assert [t.seed for t in trials] == list(range(10))
    assert all(t.inertia > 0 and t.initial.shape == (4, 2) for t in trials)
    values = k_choice(blobs).inertias
    assert len(values) == 10
    assert all(b <= a for a, b in itertools.pairwise(values))


def test_the_elbow_is_not_pulled_to_one_by_a_k_with_no_inertia_left():
    few = np.array([[-6.0, 4.0], [-5.5, 3.0], [-5.0, 4.5], [3.5, -5.5], [4.0, -4.5]])
    choice = k_choice(few)
    assert choice.inertias[-1] < 1e-9  # (five points, five clusters)
    assert choice.elbow_k == 2 and choice.silhouette_k == 2


@pytest.fixture
def tab(qtbot):
    widget = BlobsTab()
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    yield widget
    widget.shutdown()
    assert not [name for name in running_threads() if name.startswith("blobs")]


def test_tab_defaults_follow_the_tutorial(tab):
    assert tab.objectName() == "blobsTab"
    assert tab.X.shape == (300, 2)
    assert tab.canvas.objectName() == "blobsCanvas"
    assert [tab.step_button.objectName(), tab.run_button.objectName(), tab.reset_button.objectName()] == [
        "stepButton", "runButton", "resetButton"]


def test_step_button_and_caption(qtbot, tab):
    qtbot.mouseClick(tab.step_button, Qt.MouseButton.LeftButton)
    assert "assigned each point" in tab.caption.text() and "Inertia" in tab.caption.text()
    qtbot.mouseClick(tab.step_button, Qt.MouseButton.LeftButton)
    assert "moved each centroid" in tab.caption.text()
    assert tab.lesson.iteration == 1


def test_run_reaches_convergence_with_progress_every_iteration(qtbot, tab, monkeypatch):
    monkeypatch.setattr("app.learn.tab.RUN_INTERVAL", 0.01)
    tab.init_seed_spin.setValue(1)
    seen = []
    tab.run_iterated.connect(lambda step: seen.append(step.changed))
    with qtbot.waitSignal(tab.run_ended, timeout=WAIT):
        tab.run_button.click()
    assert tab.lesson.converged
    assert seen[-1] == 0 and all(c > 0 for c in seen[:-1])
    assert len(tab.lesson.inertias) == tab.lesson.iteration == len(seen) - 1
    assert tab.run_button.text() == "Run"


def test_pause_and_reset(qtbot, tab, monkeypatch):
    monkeypatch.setattr("app.learn.tab.RUN_INTERVAL", 5.0)
    with qtbot.waitSignal(tab.run_iterated, timeout=WAIT):
        tab.run_button.click()
    assert tab.run_button.text() == "Pause"
    with qtbot.waitSignal(tab.run_ended, timeout=WAIT):
        tab.run_button.click()
    assert tab.run_button.text() == "Run"
    initial = tab.lesson.initial.copy()
    tab.reset_button.click()
    assert np.array_equal(tab.lesson.centroids, initial)


def test_ten_initializations_highlight_the_best_and_load_any(qtbot, tab):
    with qtbot.waitSignal(tab.trials_ready, timeout=WAIT):
        tab.try_button.click()
    assert len(tab.trials) == 10
    best = tab.best_trial
    assert tab.trial_box.count() == 10 and "best" in tab.trial_box.itemText(best)
    tab.load_trial(2)
    assert np.array_equal(tab.lesson.initial, tab.trials[2].initial)
    assert "seed 2" in tab.caption.text()


def test_elbow_values_fall_with_k(qtbot, tab):
    qtbot.waitUntil(lambda: len(tab.k_values.inertias) == 10, timeout=WAIT)
    values = tab.k_values.inertias
    assert all(b <= a for a, b in itertools.pairwise(values))


def test_keyboard_space_enter_r(qtbot, tab, monkeypatch):
    monkeypatch.setattr("app.learn.tab.RUN_INTERVAL", 0.01)
    tab.canvas.setFocus()
    qtbot.keyClick(tab.canvas, Qt.Key.Key_Space)
    assert tab.lesson.labels is not None
    qtbot.keyClick(tab.canvas, Qt.Key.Key_R)
    assert tab.lesson.labels is None
    with qtbot.waitSignal(tab.run_ended, timeout=WAIT):
        qtbot.keyClick(tab.canvas, Qt.Key.Key_Return)
    assert tab.lesson.converged


def test_new_data_changes_the_points(qtbot, tab):
    before = tab.X.copy()
    tab.new_data_button.click()
    assert tab.X.shape == before.shape and not np.array_equal(tab.X, before)
    tab.points_spin.setValue(120)
    assert tab.X.shape == (120, 2)


def test_clicking_a_bar_loads_that_start(qtbot, tab):
    with qtbot.waitSignal(tab.trials_ready, timeout=WAIT):
        tab.try_button.click()
    chart = tab.charts.inits
    qtbot.waitUntil(lambda: not tab.charts.drawing, timeout=WAIT)
    where = QPoint(chart.width() * 6 // 10, chart.height() // 2)
    x, _y = chart.data_point(QPointF(where))
    qtbot.mouseClick(chart, Qt.MouseButton.LeftButton, pos=where)
    assert np.array_equal(tab.lesson.initial, tab.trials[round(x)].initial)
    assert f"seed {round(x)}" in tab.caption.text()


def test_the_lesson_runs_on_an_images_colours(qtbot, tab):
    from app.learn.lesson import ImageColours

    rng = np.random.default_rng(3)
    colors = np.concatenate([rng.normal(c, 8, (60, 3)) for c in ((200, 30, 30), (30, 160, 40), (20, 40, 200))])
    colors = np.clip(colors, 0, 255).astype(np.uint8)
    image = ImageColours("parrots.png", 640, 480, colors, np.full(len(colors), 10))
    assert not tab.source_box.model().item(tab.source_box.findData("image")).isEnabled()
    tab.set_image_colours(image)
    tab.source_box.setCurrentIndex(tab.source_box.findData("image"))
    assert tab.sample is not None and tab.X.shape == (tab.points_spin.value(), 2)
    assert not tab.centres_spin.isEnabled()
    assert "Each point is a pixel of parrots.png in its own colour" in tab.caption.text()
    words = tab.arithmetic.text()
    assert "307,200 pixels × 24 bits = 900 KB" in words and "With K = 4: 2 bits a pixel" in words
    qtbot.waitUntil(lambda: not tab.charts.drawing, timeout=WAIT)  # pictures come from the drawing process
    tab.set_image_colours(None)
    assert tab.source_box.currentIndex() == 0 and tab.sample is None


def test_random_starts_on_an_images_colours_are_distinct_points_or_the_caption_says_so(qtbot, tab):
    from app.learn.lesson import ImageColours

    # a flat graphic: three colours, one of them nearly everywhere
    colors = np.array([[250, 250, 250], [200, 20, 20], [20, 20, 200]], np.uint8)
    tab.set_image_colours(ImageColours("flag.png", 300, 200, colors, np.array([58000, 1500, 500])))
    tab.init_box.setCurrentIndex(tab.init_box.findData("random"))
    tab.source_box.setCurrentIndex(tab.source_box.findData("image"))
    tab.k_spin.setValue(3)
    for seed in range(8):  # nearly every point is white: starts drawn by point would repeat it
        tab.init_seed_spin.setValue(seed)
        assert len(np.unique(tab.lesson.initial, axis=0)) == 3, seed
        assert "coincide" not in tab.caption.text()
    tab.k_spin.setValue(5)  # more centroids than different points: said, not hidden
    assert len(np.unique(tab.lesson.initial, axis=0)) == 3
    assert "5 centroids placed by" in tab.caption.text() and "on only 3 different points: some coincide" in \
        tab.caption.text()
    qtbot.waitUntil(lambda: not tab.charts.drawing, timeout=WAIT)
    tab.set_image_colours(None)


def test_keys_work_as_soon_as_the_tab_is_shown(qtbot):
    fresh = BlobsTab()
    qtbot.addWidget(fresh)
    fresh.show()
    assert fresh.focusWidget() is fresh.step_button  # not the Points box, which would eat Space
    fresh.shutdown()


def test_the_boxes_describe_the_start_on_screen(qtbot, tab):
    with qtbot.waitSignal(tab.trials_ready, timeout=WAIT):
        tab.try_button.click()
    tab.load_trial(1)
    assert tab.init_seed_spin.value() == 1  # the Seed box follows the loaded start
    for _ in range(4):
        tab.step()
    tab.reset()
    assert np.array_equal(tab.lesson.centroids, tab.trials[1].initial)
    tab.init_seed_spin.setValue(3)  # another seed: the chart of ten starts stays, its bar outlined
    assert len(tab.trials) == 10 and tab.trial_box.currentIndex() == 3
    assert np.array_equal(tab.lesson.initial, tab.trials[3].initial)


def test_the_figures_show_the_best_start_and_the_clusters_colours():
    """The drawing process's model, run here: bars and centroid colours, then a picture."""
    from app.learn.figures import BEST, LessonFigures
    from app.learn.lesson import ImageColours, Lesson, colour_sample

    figures = LessonFigures()
    figures.show_trials([5.0, 3.0, 4.0], 1, outlined=2)
    assert to_hex(figures.bars[1].get_facecolor()) == BEST != to_hex(figures.bars[0].get_facecolor())
    assert figures.bars[2].get_linewidth() == 2 and figures.bars[0].get_linewidth() == 0
    rng = np.random.default_rng(3)
    colors = np.concatenate([rng.normal(c, 8, (60, 3)) for c in ((200, 30, 30), (30, 160, 40), (20, 40, 200))])
    image = ImageColours("x.png", 10, 10, np.clip(colors, 0, 255).astype(np.uint8), np.full(180, 1))
    sample = colour_sample(image, 300, 0)
    figures.set_points(sample.X, sample.rgb, sample.lab)
    lesson = Lesson(sample.X, 3, "k-means++", 0)
    for _ in range(12):
        lesson.step()
    figures.show_lesson(lesson.labels, lesson.centroids, np.stack(lesson.trail), lesson.inertias)
    faces = figures.centroid_markers.get_facecolor()[:, :3]
    # Three clusters of reds, greens and blues: each centroid wears the colour its pixels average to.
    assert sorted(np.argmax(faces, axis=1).tolist()) == [0, 1, 2]
    pixels, axes = figures.draw("scatter", 320, 240, 1.0)
    assert pixels.shape == (240, 320, 4) and len(axes) == 1


# -- lessons beyond the blobs ------------------------------------------------------------------

def test_plusplus_seeds_are_drawn_with_the_probabilities_they_state():
    from app.learn.lesson import plusplus_seeds

    X = np.array([[0.0, 0.0], [1.0, 0.0], [4.0, 0.0], [0.0, 3.0], [10.0, 10.0]])
    seconds = {first: np.zeros(len(X)) for first in range(len(X))}
    stated = {}
    for seed in range(4000):
        first, second = plusplus_seeds(X, 2, seed)
        assert np.allclose(first.probabilities, 1 / len(X))
        d2 = ((X - X[first.index]) ** 2).sum(axis=1)
        assert np.allclose(second.probabilities, d2 / d2.sum())  # D² over its sum, as the caption says
        assert second.d2 == pytest.approx(d2[second.index]) and second.total == pytest.approx(d2.sum())
        seconds[first.index][second.index] += 1
        stated[first.index] = second.probabilities
    for first, counts in seconds.items():
        n = counts.sum()
        expected = stated[first] * n
        assert n > 600 and np.all(np.abs(counts - expected) <= 4 * np.sqrt(expected + 1)), (first, counts, expected)


def test_kmeans_plus_plus_chooses_its_starts_one_step_at_a_time(blobs):
    lesson = Lesson(blobs, 3, "k-means++", 5)
    assert lesson.phase == SEED and len(lesson.centroids) == 0 and lesson.shading is None
    text = lesson.step()
    assert "start 1 of 3" in text and len(lesson.centroids) == 1 and lesson.chosen == lesson.seeds[0].index
    assert np.allclose(lesson.shading, lesson.seeds[1].probabilities) and lesson.shading.sum() == pytest.approx(1)
    text = lesson.step()
    pick = lesson.seeds[1]
    assert f"{100 * pick.probabilities[pick.index]:.2g} %" in text and "D²" in text
    lesson.step()
    assert lesson.phase == ASSIGN and np.array_equal(lesson.centroids, lesson.initial) and lesson.shading is None
    trial = compare_initializations(blobs, 3, "k-means++", seeds=range(5, 6))[0]
    assert np.array_equal(trial.initial, lesson.initial)  # a trial starts where the lesson of its seed does


def test_starts_placed_by_hand_and_the_empty_cluster_rule(blobs):
    lesson = Lesson(blobs, 3, "by-hand")
    assert lesson.waiting_for_clicks and "Click" in lesson.step()
    lesson.place(-9.0, -9.0)
    lesson.place(2.0, 4.0)
    assert lesson.waiting_for_clicks and len(lesson.centroids) == 2
    text = lesson.place(60.0, 60.0)  # far from every point
    assert not lesson.waiting_for_clicks and "all 3 starts" in text
    assert np.array_equal(lesson.initial, [[-9, -9], [2, 4], [60, 60]])
    lesson.step()
    assert 2 not in lesson.labels
    text = lesson.step()
    assert "the red centroid had no points" in text.lower() and "farthest" in text
    assert np.abs(lesson.centroids[2]).max() < 20  # moved onto a point, as compute_centroids does
    assert any(np.allclose(lesson.centroids[2], p) for p in blobs)


def test_silhouette_equals_a_direct_computation():
    from app.learn.lesson import silhouette

    rng = np.random.default_rng(1)
    X = rng.normal(size=(23, 2)) + np.repeat([[0, 0], [3, 0], [0, 4]], [10, 12, 1], axis=0)
    labels = np.repeat([0, 1, 2], [10, 12, 1])
    direct = []
    for i in range(len(X)):
        d = np.sqrt(((X - X[i]) ** 2).sum(axis=1))
        own = labels == labels[i]
        if own.sum() == 1:
            direct.append(0.0)
            continue
        a = d[own].sum() / (own.sum() - 1)
        b = min(d[labels == c].mean() for c in set(labels.tolist()) - {labels[i]})
        direct.append((b - a) / max(a, b))
    assert silhouette(X, labels) == pytest.approx(np.mean(direct))


def test_the_shapes_are_drawn_by_seed_with_their_true_groups():
    from app.learn.lesson import DATASETS

    for key in ("moons", "circles", "stretched", "uneven"):
        make = DATASETS[key].make
        X, y = make(200, 3, 0.6, 4)
        assert X.shape == (200, 2) and np.isfinite(X).all() and len(np.unique(y)) >= 2
        assert np.array_equal(make(200, 3, 0.6, 4)[0], X) and not np.array_equal(make(200, 3, 0.6, 5)[0], X)
    X, y = DATASETS["uneven"].make(300, 3, 0.6, 0)
    sizes = np.bincount(y)
    assert sizes[0] > 3 * sizes[1] > 0  # one big blob


def test_the_tab_offers_the_shapes_with_captions(qtbot, tab):
    for key in ("moons", "circles", "stretched", "uneven"):
        tab.source_box.setCurrentIndex(tab.source_box.findData(key))
        assert tab.truth is not None and len(tab.truth) == len(tab.X)
        assert tab.dataset_caption.objectName() == "datasetCaption" and "k-means" in tab.dataset_caption.text()
    assert tab.k_spin.value() == tab.centres_spin.value()  # K set to the true groups, so the mismatch shows
    tab.source_box.setCurrentIndex(tab.source_box.findData("moons"))
    assert tab.k_spin.value() == 2 and "straight line" in tab.dataset_caption.text()
    with qtbot.waitSignal(tab.elbow_ready, timeout=WAIT):
        tab.source_box.setCurrentIndex(tab.source_box.findData("circles"))
    assert tab.findChild(type(tab.canvas), "silhouetteChart") is tab.charts.silhouette
    assert "Silhouette: highest at K =" in tab.k_caption.text() and "2 groups" in tab.k_caption.text()


def _click(qtbot, tab, x, y, button=Qt.MouseButton.LeftButton, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.waitUntil(lambda: not tab.charts.drawing, timeout=WAIT)
    where = tab.canvas.widget_point(x, y)
    qtbot.mouseClick(tab.canvas, button, modifier, where.toPoint())
    return tab.canvas.data_point(QPointF(where.toPoint()))


def test_drawn_points_land_where_clicked_and_the_nearest_goes(qtbot, tab):
    tab.source_box.setCurrentIndex(tab.source_box.findData("drawn"))
    assert len(tab.X) == 0 and "No points yet" in tab.lesson.step()
    assert not tab.new_data_button.isEnabled()  # (nothing to clear)
    landed = [_click(qtbot, tab, x, y) for x, y in ((-5.0, -5.0), (6.0, 4.0), (6.5, 3.0), (-4.0, -6.0))]
    assert tab.new_data_button.isEnabled() and tab.new_data_button.text() == "Clear points"
    assert np.allclose(tab.X, landed) and np.allclose(tab.X, [[-5, -5], [6, 4], [6.5, 3], [-4, -6]], atol=0.2)
    _click(qtbot, tab, 6.4, 3.1, Qt.MouseButton.RightButton)
    assert len(tab.X) == 3 and not np.any(np.all(np.isclose(tab.X, landed[2]), axis=1))
    _click(qtbot, tab, -4.1, -5.9, modifier=Qt.KeyboardModifier.ShiftModifier)
    assert np.allclose(tab.X, landed[:2])
    tab.k_spin.setValue(2)
    for _ in range(4):
        tab.step()
    assert sorted(tab.lesson.labels.tolist()) == [0, 1]


def test_click_mapping_follows_the_picture_at_any_pixel_ratio(qtbot, tab):
    from app.learn.plots import _Picture

    qtbot.waitUntil(lambda: not tab.charts.drawing, timeout=WAIT)
    canvas = tab.canvas
    w, h = canvas.width(), canvas.height()
    # A picture drawn at device pixel ratio 2: twice the pixels, the axes' bounds in those pixels.
    canvas._picture = _Picture(np.zeros((2 * h, 2 * w, 4), np.uint8), (((80, 60, 2 * w - 100, 2 * h - 90),
                                                                         (-3.0, 7.0), (10.0, 30.0)),))
    for x, y in ((-2.99, 10.01), (6.99, 29.99), (1.5, 22.0)):
        assert canvas.data_point(canvas.widget_point(x, y)) == pytest.approx((x, y))
    assert canvas.data_point(QPointF(1, 1)) is None  # outside the axes


def test_starts_placed_by_clicks_then_step(qtbot, tab):
    tab.k_spin.setValue(2)
    tab.init_box.setCurrentIndex(tab.init_box.findData("by-hand"))
    assert "Click the plot 2 times" in tab.caption.text() and not tab.try_button.isEnabled()
    first = _click(qtbot, tab, -8.0, -8.0)
    assert np.allclose(tab.lesson.centroids, [first]) and tab.lesson.waiting_for_clicks
    _click(qtbot, tab, 5.0, 5.0)
    assert not tab.lesson.waiting_for_clicks and len(tab.X) == 300  # (clicks placed starts, not points)
    tab.step()
    tab.step()
    assert tab.lesson.iteration == 1
    tab.reset()
    assert np.allclose(tab.lesson.centroids[0], first)  # back to the placed starts
    tab.reset()
    assert tab.lesson.waiting_for_clicks and len(tab.lesson.centroids) == 0  # a second Reset: place anew
