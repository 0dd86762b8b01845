"""The bench's numpy + scipy reference step does the same physics as the engine."""
import numpy as np
import pytest

from physics_baseline import simulate
from physics_baseline.box import box_length, make_radii, minimum_image, random_positions
from physics_baseline.config import SimulationConfig
from physics_baseline.reference import (
    ReferenceStep,
    overlap_sums,
    overlapping_pairs_brute,
    run_reference,
)

D, N, PHI = 3, 300, 0.5


@pytest.fixture
def start():
    radii = make_radii(N)
    side = box_length(radii, D, PHI)
    positions = random_positions(N, D, side, np.random.default_rng(7))
    return positions, radii, side


def test_bro_active_set_is_the_set_of_overlapping_particles(start):
    positions, radii, side = start
    moved, active = ReferenceStep("bro", 0.02, seed=3).step(positions, radii, side)
    pairs = overlapping_pairs_brute(positions, radii, side)
    assert 0 < active.sum() < N            # a meaningful test: some, not all, particles overlap
    assert set(np.flatnonzero(active)) == set(np.unique(pairs))
    displacement = minimum_image(moved - positions, side)
    assert np.all(displacement[~active] == 0.0)
    assert np.all(np.linalg.norm(displacement[active], axis=1) > 0.0)


def test_overlap_counts_match_brute_force(start):
    positions, radii, side = start
    overlaps, _ = overlap_sums(positions, radii, side)
    pairs = overlapping_pairs_brute(positions, radii, side)
    np.testing.assert_array_equal(overlaps, np.bincount(pairs.ravel(), minlength=N))


def test_gd_step_matches_engine(start):
    positions, radii, side = start
    lr = 0.1
    moved, _ = ReferenceStep("gd", lr).step(positions, radii, side)
    run = simulate(SimulationConfig.from_dict(dict(dynamics="gd", d=D, n=N, phi=PHI, lr=lr, steps=1, seed=0)),
                   positions=positions)
    assert run.steps_taken == 1 and run.box == pytest.approx(side, rel=0, abs=0)
    reference = minimum_image(moved - positions, side)
    engine = minimum_image(run.positions - positions, side)
    assert np.abs(reference).max() > 1e-3
    np.testing.assert_allclose(engine, reference, rtol=0, atol=1e-12)
    assert np.all((run.positions >= 0) & (run.positions < side))
    assert np.all((moved >= 0) & (moved < side))


def test_bidisperse_pairs_use_contact_distance():
    radii = make_radii(400, "bidisperse")
    side = box_length(radii, 2, 0.8)
    positions = random_positions(400, 2, side, np.random.default_rng(1))
    overlaps, _ = overlap_sums(positions, radii, side)
    pairs = overlapping_pairs_brute(positions, radii, side)
    np.testing.assert_array_equal(overlaps, np.bincount(pairs.ravel(), minlength=400))


def test_sgd_moves_the_selective_batch_only(start):
    positions, radii, side = start
    b_f = 0.2
    moved, active = ReferenceStep("sgd", 0.1, b_f, seed=5).step(positions, radii, side)
    moving = np.linalg.norm(minimum_image(moved - positions, side), axis=1) > 0
    assert moving.sum() == min(int(b_f * active.sum()) + 1, active.sum())
    assert not np.any(moving & ~active)


def test_run_reference_stops_when_absorbed():
    radii = make_radii(50)
    side = box_length(radii, 3, 0.05)
    positions = random_positions(50, 3, side, np.random.default_rng(0))
    positions[1] = positions[0] + np.array([0.5, 0.0, 0.0])   # one overlapping pair
    positions = positions % side
    final, taken = run_reference(positions, radii, side, ReferenceStep("gd", 1.0), 10)
    assert 1 <= taken < 10
    assert overlap_sums(final, radii, side)[0].sum() == 0
