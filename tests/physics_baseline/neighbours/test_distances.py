import numpy as np
import pytest

from physics_baseline.box import minimum_image
from physics_baseline.neighbours.distances import (
    distance2,
    screen_bounds,
    screen_distance2,
    transposed_single,
    within,
)


@pytest.mark.parametrize("d", range(1, 9))
def test_distance2_is_the_numpy_minimum_image(d):
    side = 3.7
    x = np.random.default_rng(d).random((50, d)) * side
    for i, j in [(0, 1), (3, 40), (49, 7)]:
        delta = minimum_image(x[i] - x[j], side)
        assert distance2(x, i, j, side, 1 / side) == pytest.approx(delta @ delta, rel=1e-12)
        assert distance2(x, i, j, side, 1 / side) == distance2(x, j, i, side, 1 / side)


@pytest.mark.parametrize("d", [2, 5, 8])
def test_within_decides_as_the_exact_test_does_even_at_the_cutoff(d):
    side, cutoff = 4.0, 1.0
    rng = np.random.default_rng(d)
    x = rng.random((400, d)) * side
    direction = rng.normal(size=(200, d))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    x[200:] = (x[:200] + direction * (cutoff + rng.normal(0, 1e-9, (200, 1)))) % side   # pairs at the cutoff
    single = x.astype(np.float32)
    bounds = screen_bounds(side, cutoff)
    for i in range(200):
        j = i + 200
        exact = distance2(x, i, j, side, 1 / side) < cutoff * cutoff
        screened = screen_distance2(single, i, j, np.float32(side))
        assert within(screened, bounds, x, i, j, side, cutoff) == exact


def test_transposed_single_is_float32_and_contiguous():
    x = np.random.default_rng(0).random((10, 3))
    t = transposed_single(x)
    assert t.shape == (3, 10) and t.dtype == np.float32 and t.flags.c_contiguous
