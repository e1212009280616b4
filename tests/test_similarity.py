"""The top-k selection shared by vector and lexical search (similarity.top_positions)."""

from __future__ import annotations

import numpy as np
import pytest

from vectorize_kit.similarity import top_positions


@pytest.mark.parametrize("seed", range(40))
def test_top_positions_keeps_the_first_of_equal_scores_at_the_cut(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    scores = rng.integers(0, int(rng.integers(1, 12)), n).astype(np.float32)  # many ties
    for k in {1, 2, int(rng.integers(1, n + 1)), n, n + 3}:
        expected = sorted(range(n), key=lambda i: (-scores[i], i))[:k]
        assert sorted(top_positions(scores, k).tolist()) == sorted(expected)


def test_top_positions_puts_nan_last():
    scores = np.array([0.5, np.nan, 0.9, 0.5, np.nan, 0.1], dtype=np.float32)
    assert sorted(top_positions(scores, 2).tolist()) == [0, 2]
    assert sorted(top_positions(scores, 4).tolist()) == [0, 2, 3, 5]
    assert sorted(top_positions(scores, 5).tolist()) == [0, 1, 2, 3, 5]
