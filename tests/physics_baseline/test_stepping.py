"""The active-set algorithm against the full one."""
import numpy as np
import pytest

from physics_baseline import SimulationConfig, simulate
from physics_baseline.dynamics import RULES
from physics_baseline.stepping import DENSE_FRACTION
from physics_baseline.validate import ConfigError

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
