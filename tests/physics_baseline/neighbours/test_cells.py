import numpy as np
import pytest

from physics_baseline import box
from physics_baseline.neighbours.cells import (
    CellGrid,
    cell_order,
    cells_per_side,
    counting_sort,
    stencil,
)
from physics_baseline.neighbours.distances import distance2


def test_counting_sort_is_numpys_stable_argsort():
    keys = np.random.default_rng(3).integers(0, 7, 500)
    start, order = counting_sort(keys, 9)
    np.testing.assert_array_equal(order, np.argsort(keys, kind="stable"))
    np.testing.assert_array_equal(start, np.concatenate([[0], np.cumsum(np.bincount(keys, minlength=9))]))


@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_cell_order_puts_each_particle_in_the_cell_of_its_coordinates(d):
    side, m = 7.0, 4
    x = np.random.default_rng(d).random((300, d)) * side
    cell_of, start, order = cell_order(x, side, m)
    coordinates = np.minimum((x / side * m).astype(np.int64), m - 1)
    np.testing.assert_array_equal(cell_of, coordinates @ m ** np.arange(d))
    for c in range(m ** d):
        assert set(order[start[c]:start[c + 1]]) == set(np.flatnonzero(cell_of == c))


def test_the_stencil_holds_every_offset_once():
    offsets = stencil(3)
    assert offsets.shape == (27, 3) and len({tuple(o) for o in offsets}) == 27 and np.abs(offsets).max() == 1


def brute_rows(x, side, cutoff, particles):
    return [sorted(j for j in range(len(x)) if j != i and distance2(x, i, j, side, 1 / side) < cutoff ** 2)
            for i in particles]


@pytest.mark.parametrize("d, n", [(2, 400), (3, 600), (4, 900)])
def test_cell_grid_finds_every_particle_within_the_cutoff_before_and_after_moves(d, n):
    rng = np.random.default_rng(d)
    cutoff = 1.3
    side = box.box_length(box.make_radii(n), d, 0.3)
    x = rng.random((n, d)) * side
    m = cells_per_side(side, cutoff, n, d)
    assert m >= 3
    grid = CellGrid(x, side, cutoff, m)
    for moved in (np.arange(0), np.sort(rng.choice(n, 10, replace=False)), np.arange(n // 2)):
        x[moved] = (x[moved] + rng.normal(0, 0.7, (len(moved), d))) % side
        grid.moved(x, moved)
        particles = np.sort(rng.choice(n, 40, replace=False))
        found = np.empty((40, n), dtype=np.int64)
        sizes = np.empty(40, dtype=np.int64)
        grid.search(x, particles, found, sizes)
        assert [list(found[a, :sizes[a]]) for a in range(40)] == brute_rows(x, side, cutoff, particles)
