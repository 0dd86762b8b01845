"""The neighbour list the active set keeps row by row, against brute force."""
import numpy as np
import pytest

from physics_baseline import box
from physics_baseline.neighbours.cells import cells_per_side
from physics_baseline.neighbours.local_verlet import for_packing
from physics_baseline.reference import overlapping_pairs_brute


def pairs_within(rows, counts):
    """Pairs (i < j) listed in rows, sorted, shape (m, 2)."""
    i = np.repeat(np.arange(len(counts)), counts)
    j = rows[np.arange(rows.shape[1]) < counts[:, None]]
    pairs = np.stack([i, j], axis=1)
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]


@pytest.mark.parametrize("d,n,phi,method,share", [(2, 3000, 0.6, "cells", 20), (3, 3000, 0.5, "cells", 20),
                                                  (3, 3000, 0.5, "cells", 8), (5, 5000, 0.2, "cells", 8),
                                                  (3, 600, 0.5, "brute", 20), (8, 1500, 0.06, "brute", 20)])
def test_refreshed_rows_hold_exactly_the_pairs_within_the_cutoff_of_the_references(d, n, phi, method, share):
    """share: 1 / the fraction of particles moved per step; at 1/8 the cell grid searches its
    cell-sorted copy (cells.SORTED_QUERIES = 16), at 1/20 its linked lists."""
    radii = box.make_radii(n)
    side = box.box_length(radii, d, phi)
    rng = np.random.default_rng(d)
    x = box.random_positions(n, d, side, rng)
    skin = 0.3
    if method == "cells":
        assert cells_per_side(side, 1 + skin, n, d)
    neighbours = for_packing(n, d, side, 1.0, skin, method)
    neighbours.build(x)
    for _ in range(30):   # a few particles take steps of a tenth of the skin at a time
        moved = np.sort(rng.choice(n, n // share, replace=False))
        x[moved] = box.wrap(x[moved] + rng.normal(scale=0.03, size=(moved.size, d)), side)
        neighbours.follow(x, moved)
    assert neighbours.refreshes > 0
    for level in (neighbours, neighbours.outer):
        if level is None:
            continue
        listed = pairs_within(level.rows, level.counts)
        within = overlapping_pairs_brute(level.reference, np.full(n, level.cutoff / 2), side)
        np.testing.assert_array_equal(listed[listed[:, 0] < listed[:, 1]], within)   # exact
        flipped = listed[:, ::-1]
        np.testing.assert_array_equal(listed, flipped[np.lexsort((flipped[:, 1], flipped[:, 0]))])
        if level.ordered:
            for i in range(n):
                assert np.all(np.diff(level.rows[i, :level.counts[i]]) > 0)
        drift = box.minimum_image(x - level.reference, side)
        assert np.all(np.linalg.norm(drift, axis=1) <= level.slack)
    listed = set(map(tuple, pairs_within(neighbours.rows, neighbours.counts)))
    overlapping = overlapping_pairs_brute(x, radii, side)
    assert len(overlapping) and all(tuple(pair) in listed for pair in overlapping)
