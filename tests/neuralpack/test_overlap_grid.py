import numpy as np
import pytest

from neuralpack import overlap_grid
from physics_baseline.box import minimum_image
from physics_baseline.reference import overlapping_pairs_brute


@pytest.mark.parametrize("n, d, side, reach, cells", [(8100, 3, 10.0, 1.0, 5), (1000, 3, 2.5, 1.0, 0),
                                                      (10, 3, 10.0, 1.0, 0), (100000, 8, 5.0, 1.0, 3)])
def test_cells_per_side_keeps_cells_a_reach_wide_and_not_too_many(n, d, side, reach, cells):
    assert overlap_grid.cells_per_side(n, d, side, reach) == cells


@pytest.mark.parametrize("d, side, n", [(1, 20.0, 200), (3, 5.0, 600), (8, 3.6, 1500)])
def test_window_lists_meet_every_near_pair_once_at_its_minimum_image(d, side, n):
    rng = np.random.default_rng(5)
    reach = 1.0
    centres = rng.random((n, d)) * side
    cells = 3 if d > 1 else 20
    w = side / cells
    cell, offset, flat, order, start = overlap_grid.cell_sort(centres, side, cells)
    low, high = overlap_grid.cell_boxes(offset, start, w)
    seen = np.zeros((n, n), dtype=np.int64)
    workspace = np.empty((0, 2), np.int32), np.empty(0, np.int32), np.empty((0, d), np.float32)
    batches = overlap_grid.batches(cells, d, n, 5)
    assert len(batches) > 2
    for lo, hi in batches:
        *workspace, first, end = overlap_grid.window_lists(cell, offset, flat, start, lo, hi, cells, w,
                                                             reach ** 2, low, high, *workspace)
        rows, coords = workspace[1:]
        for c in range(hi - lo):
            own = start[lo + c + 1] - start[lo + c]
            block, window = order[rows[first[c]:end[c]]], coords[first[c]:end[c]].astype(float)
            assert np.all(np.abs(window) <= 1.5 * w + 1e-6)
            later = np.triu(np.ones((own, len(block)), dtype=bool), 1)    # own centres x later rows
            a, b = np.nonzero(later)
            seen[block[a], block[b]] += 1
            seen[block[b], block[a]] += 1
            true = minimum_image(centres[block[b]] - centres[block[a]], side)
            near = np.sum(true ** 2, axis=1) < reach ** 2
            assert np.allclose(window[b[near]] - window[a[near]], true[near], atol=1e-5)
    near = overlapping_pairs_brute(centres, np.full(n, reach / 2), side)
    assert len(near) > n // 10
    assert np.all(seen[near[:, 0], near[:, 1]] == 1) and seen.max() <= 1
