"""The active-set algorithm against the full one, and the neighbour list it keeps row by row."""
import numpy as np
import pytest

from physics_baseline import SimulationConfig, box, simulate
from physics_baseline.validate import ConfigError
from physics_baseline.stepping import DENSE_FRACTION
from physics_baseline.dynamics import RULES
from physics_baseline.neighbors.local_verlet import for_packing
from physics_baseline.neighbors.cells import cells_per_side
from physics_baseline.reference import overlapping_pairs_brute

# (n, phi) close to the BRO transition (eps = 0.05) of each d: runs pass from many active
# particles to few, so both the incremental steps and the full recomputations are exercised
NEAR_TRANSITION = {1: (400, 0.59), 2: (400, 0.72), 3: (400, 0.55), 4: (500, 0.36), 5: (600, 0.235),
                   6: (800, 0.15), 7: (1200, 0.092), 8: (1500, 0.053)}


# random organisation (with larger kicks) and the batch rules absorb at lower densities than BRO
DENSITY_SCALE = {"ro": 0.3, "sgd": 0.9, "sme_sgd": 0.9, "gd": 0.9}
STEP_SIZE = {"ro": 0.3, "eps": 0.05, "lr": 0.1}


def near_transition(dynamics, d, **extra):
    n, phi = NEAR_TRANSITION[d]
    rule = RULES[dynamics]
    config = dict(dynamics=dynamics, d=d, n=n, phi=phi * DENSITY_SCALE.get(dynamics, 1.0), steps=250, seed=d,
                  polydispersity="bidisperse" if d == 2 else "mono")
    config[rule.step_size] = STEP_SIZE.get(dynamics, STEP_SIZE[rule.step_size])
    if rule.uses_batch_fraction:
        config["batch_fraction"] = 0.4
    return {**config, **extra}


def assert_same_run(one, other):
    np.testing.assert_array_equal(one.steps, other.steps)
    np.testing.assert_array_equal(one.active_fraction, other.active_fraction)
    np.testing.assert_array_equal(one.loss, other.loss)
    np.testing.assert_array_equal(one.positions, other.positions)


@pytest.mark.parametrize("d", range(1, 9))
@pytest.mark.parametrize("dynamics", list(RULES))
def test_active_set_steps_are_bit_identical_to_full_steps(dynamics, d):
    config = near_transition(dynamics, d)
    full = simulate(SimulationConfig.from_dict(dict(algorithm="full", **config)))
    active = simulate(SimulationConfig.from_dict(dict(algorithm="active", **config)))
    assert (full.algorithm, active.algorithm) == ("full", "active")
    assert_same_run(full, active)


@pytest.mark.parametrize("d,method", [(2, "cells"), (3, "cells"), (3, "brute"), (8, "brute")])
def test_bit_identical_while_the_neighbour_list_is_refreshed_often(d, method):
    """A thin skin: particles stray every few steps, rows are refreshed one by one."""
    config = near_transition("bro", d, skin=0.08, steps=400)
    full = simulate(SimulationConfig.from_dict(dict(algorithm="full", **config)), neighbour_method=method)
    active = simulate(SimulationConfig.from_dict(dict(algorithm="active", **config)), neighbour_method=method)
    assert_same_run(full, active)
    fractions = active.active_fraction
    assert np.any((fractions > 0) & (fractions < DENSE_FRACTION))   # the incremental path ran


@pytest.mark.parametrize("first,second", [("full", "active"), ("active", "full")])
def test_a_run_resumes_under_the_other_algorithm(tmp_path, first, second):
    config = near_transition("sgd", 3, steps=200, checkpoint_every=60)
    whole = simulate(SimulationConfig.from_dict(dict(algorithm="full", **config)))
    path = tmp_path / "checkpoint.npz"
    simulate(SimulationConfig.from_dict(dict(algorithm=first, **{**config, "steps": 130})), checkpoint=path)
    resumed = simulate(SimulationConfig.from_dict(dict(algorithm=second, **config)), checkpoint=path, resume=True)
    assert_same_run(whole, resumed)


def test_auto_runs_the_active_set_algorithm_and_is_left_out_of_the_config_dict():
    assert simulate(SimulationConfig.from_dict(near_transition("bro", 3, steps=5))).algorithm == "active"
    assert "algorithm" not in SimulationConfig(eps=0.02).validated().to_dict()
    values = SimulationConfig(eps=0.02, algorithm="full").validated().to_dict()
    assert values["algorithm"] == "full"
    assert SimulationConfig.from_dict(values).algorithm == "full"


def test_an_unknown_algorithm_is_refused_by_name():
    with pytest.raises(ConfigError) as error:
        simulate(SimulationConfig.from_dict(dict(dynamics="bro", eps=0.02, algorithm="fast")))
    assert error.value.field == "algorithm"
    assert "active" in str(error.value) and "full" in str(error.value)


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
