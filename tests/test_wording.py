"""Words the window and the command line show."""

from __future__ import annotations

import pytest

from kmeans.wording import size_change


@pytest.mark.parametrize(("before", "after", "words"), [
    (10_000, 1_000, "10.0× smaller"),
    (1_500, 1_000, "1.5× smaller"),
    (1_000, 1_500, "1.5× larger"),
    (2_790_013, 2_667_026, "4% smaller"),  # (a 10 MP photo at 100 colours: it said "1.0× smaller")
    (1_000, 1_120, "12% larger"),
    (1_000, 997, "0.3% smaller"),
    (1_000, 1_000, "the same size"),
    (1_000, 0, "empty"),
])
def test_a_size_change_reads_as_a_ratio_or_below_one_and_a_half_as_a_percentage(before, after, words):
    assert size_change(before, after) == words
