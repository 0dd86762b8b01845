import numpy as np
import pytest

from physics_baseline import box
from physics_baseline.neighbours.cells import cells_per_side
from physics_baseline.neighbours.verlet import VerletList, overlapping_pairs
from physics_baseline.reference import overlapping_pairs_brute

# (d, n, phi): moderately dense boxes, plus boxes only 2-3 diameters wide
CASES = [(d, n, phi) for d in range(1, 9) for n, phi in ((300, 0.5 / 2 ** max(0, d - 3)), (2000, 0.3))]


def narrow(d, phi, side=2.6, most=500):
    """(d, n, phi) whose monodisperse box is ``side`` diameters wide, with at most ``most`` particles."""
    volume = box.ball_volume(d) * 0.5 ** d
    n = min(most, max(2, round(phi * side ** d / volume)))
    return d, n, n * volume / side ** d


NARROW = [narrow(d, phi) for d, phi in ((2, 0.6), (3, 0.5), (4, 0.4), (5, 0.3), (6, 0.2), (7, 0.15),
                                         (8, 0.1))]


def configuration(d, n, phi, polydispersity, seed):
    radii = box.make_radii(n, polydispersity)
    side = box.box_length(radii, d, phi)
    x = box.random_positions(n, d, side, np.random.default_rng(seed))
    return x, radii, side


@pytest.mark.parametrize("d,n,phi", CASES + NARROW)
@pytest.mark.parametrize("polydispersity", ["mono", "bidisperse"])
def test_every_builder_finds_exactly_the_brute_force_pairs(d, n, phi, polydispersity):
    x, radii, side = configuration(d, n, phi, polydispersity, seed=d * n)
    if side < 4 * radii.max():
        pytest.skip("box narrower than 2 diameters is refused by the engine")
    expected = overlapping_pairs_brute(x, radii, side)
    cutoff = 2 * radii.max() + 0.3
    methods = ["brute"] + (["cells"] if cells_per_side(side, cutoff, n, d) else [])
    for method in methods:
        verlet = VerletList(side, cutoff, 0.3, method)
        np.testing.assert_array_equal(overlapping_pairs(x, radii, side, verlet), expected)
    assert len(expected) > 0


@pytest.mark.parametrize("d", [2, 3, 5, 8])
def test_rows_are_sorted_and_identical_between_builders(d):
    n = 3000 if d < 8 else 1500
    x, radii, side = configuration(d, n, 0.4 / 2 ** max(0, d - 3), "mono", seed=d)
    cutoff = 1.3
    if not cells_per_side(side, cutoff, n, d):
        pytest.skip("no cell list at this size")
    cells, brute = VerletList(side, cutoff, 0.3, "cells"), VerletList(side, cutoff, 0.3, "brute")
    cells.build(x)
    brute.build(x)
    np.testing.assert_array_equal(cells.counts, brute.counts)
    for i in range(n):
        row = cells.rows[i, :cells.counts[i]]
        assert np.all(np.diff(row) > 0)
        np.testing.assert_array_equal(row, brute.rows[i, :brute.counts[i]])


@pytest.mark.parametrize("d", [2, 3, 6])
def test_list_stays_exact_while_particles_move_less_than_half_the_skin(d):
    x, radii, side = configuration(d, 1500, 0.4 / 2 ** max(0, d - 3), "mono", seed=7)
    skin = 0.3
    verlet = VerletList(side, 1.0 + skin, skin)
    verlet.build(x)
    rng = np.random.default_rng(1)
    for _ in range(10):
        step = rng.normal(size=x.shape)
        step *= 0.06 / np.linalg.norm(step, axis=1, keepdims=True)
        x = box.wrap(x + step, side)
        np.testing.assert_array_equal(overlapping_pairs(x, radii, side, verlet),
                                      overlapping_pairs_brute(x, radii, side))
    assert 1 < verlet.builds < 11  # rebuilt on the displacement criterion, not every time


def test_row_capacity_grows_when_a_particle_has_many_neighbours():
    side = 10.0
    x = np.full((200, 3), 5.0) + np.random.default_rng(0).normal(scale=0.05, size=(200, 3))
    radii = np.full(200, 0.5)
    verlet = VerletList(side, 1.3, 0.3, "brute")
    assert len(overlapping_pairs(x, radii, side, verlet)) == 200 * 199 // 2
