import math
import os
import subprocess
import sys

import numba
import numpy as np
import pytest

from physics_baseline import box, simulate
from physics_baseline.config import SimulationConfig
from physics_baseline.dynamics import RULES
from physics_baseline.literature import CALIBRATION, CALIBRATION_ABSORPTION_STEPS
from physics_baseline.validate import ConfigError

STEP_SIZES = {"eps": {"eps": 0.03}, "lr": {"lr": 0.1}}


def kwargs_for(dynamics, **extra):
    rule = RULES[dynamics]
    values = dict(STEP_SIZES[rule.step_size])
    if rule.uses_batch_fraction:
        values["batch_fraction"] = 0.3
    values.update(extra)
    return dict(dynamics=dynamics, **values)


def test_sgd_with_full_batch_is_gd():
    common = dict(d=3, n=800, phi=0.55, lr=0.05, steps=300, seed=4)
    sgd = simulate(SimulationConfig.from_dict(dict(dynamics="sgd", batch_fraction=1.0, **common)))
    gd = simulate(SimulationConfig.from_dict(dict(dynamics="gd", **common)))
    np.testing.assert_array_equal(sgd.active_fraction, gd.active_fraction)
    np.testing.assert_array_equal(sgd.positions, gd.positions)


@pytest.mark.parametrize("d,phi_low,phi_high,polydispersity", [
    (2, 0.55, 0.95, "bidisperse"), (3, 0.35, 0.75, "mono"), (5, 0.12, 0.45, "mono")])
def test_absorbs_at_low_density_and_stays_active_at_high_density(d, phi_low, phi_high, polydispersity):
    common = dict(dynamics="bro", d=d, n=1500, eps=0.05, steps=1500, seed=2, polydispersity=polydispersity)
    low = simulate(SimulationConfig.from_dict(dict(phi=phi_low, **common)))
    high = simulate(SimulationConfig.from_dict(dict(phi=phi_high, **common)))
    assert low.absorbed and low.active_fraction[-1] == 0 and low.absorption_step == low.steps[-1]
    assert not high.absorbed and high.active_fraction[-1] > 0.2 and high.steps[-1] == 1500


@pytest.mark.parametrize("d", range(2, 9))
def test_initial_activity_matches_random_overlap_probability(d):
    phi = 0.3 / 2 ** max(0, d - 3)
    n = 4000
    run = simulate(SimulationConfig.from_dict(dict(dynamics="bro", d=d, n=n, phi=phi, eps=0.01, steps=0, seed=d)))
    # finite n: each of the n - 1 others lies within one diameter with probability v_d / L^d
    side = box.box_length(box.make_radii(n), d, phi)
    p = 1 - (1 - box.ball_volume(d) / side ** d) ** (n - 1)
    assert p == pytest.approx(box.expected_initial_active_fraction(d, phi), abs=0.01)
    # overlaps are pairwise, so indicators are positively correlated; 2x the binomial SE covers it
    assert abs(run.active_fraction[0] - p) < 5 * 2 * math.sqrt(p * (1 - p) / n)


@pytest.mark.slow
def test_the_calibration_point_of_the_literature():
    """3D BRO, N = 10000, phi = 0.55, eps = 0.02 absorbs after about 520-540 steps.

    The mean absorption step over 16 seeds must reach the interval [520, 540] within 3 standard
    errors of the mean (the seed-to-seed spread is about 40 steps).
    """
    steps = np.array([simulate(SimulationConfig.from_dict({**CALIBRATION, "steps": 3000, "record_every": 100,
                                                           "seed": seed})).absorption_step for seed in range(1, 17)])
    mean, error = steps.mean(), steps.std(ddof=1) / math.sqrt(len(steps))
    low, high = CALIBRATION_ABSORPTION_STEPS
    assert max(low - mean, mean - high, 0.0) < 3 * error, (steps, mean, error)


@pytest.mark.parametrize("dynamics", list(RULES))
def test_trajectory_does_not_depend_on_thread_count(dynamics):
    config = dict(d=3, n=1500, phi=0.6, steps=60, seed=9, **kwargs_for(dynamics))
    numba.set_num_threads(1)
    try:
        single = simulate(SimulationConfig.from_dict(config))
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    double = simulate(SimulationConfig.from_dict(config))
    np.testing.assert_array_equal(single.positions, double.positions)
    np.testing.assert_array_equal(single.loss, double.loss)


def test_trajectory_does_not_depend_on_numba_num_threads():
    """The same run in fresh processes with NUMBA_NUM_THREADS=1 and =2: identical final bytes."""
    script = ("import hashlib; from physics_baseline import SimulationConfig, simulate; "
              "r = simulate(SimulationConfig.from_dict(dict(dynamics='sgd', d=3, n=2000, phi=0.6, lr=0.1, "
              "batch_fraction=0.3, steps=50, seed=2))); print(hashlib.sha256(r.positions.tobytes()).hexdigest())")
    digests = []
    for threads in ("1", "2"):
        env = {**os.environ, "NUMBA_NUM_THREADS": threads}
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                              check=True)
        digests.append(done.stdout.strip())
    assert digests[0] == digests[1] and len(digests[0]) == 64


@pytest.mark.parametrize("dynamics", ["bro", "sgd", "bro_pairwise"])
def test_trajectory_does_not_depend_on_the_neighbour_builder(dynamics):
    config = dict(d=3, n=1500, phi=0.6, steps=80, seed=5, **kwargs_for(dynamics))
    cells = simulate(SimulationConfig.from_dict(config), neighbour_method="cells")
    brute = simulate(SimulationConfig.from_dict(config), neighbour_method="brute")
    assert cells.neighbour_method == "cells"
    np.testing.assert_array_equal(cells.positions, brute.positions)


@pytest.mark.parametrize("dynamics", ["bro", "sgd"])
def test_resume_after_interruption_ends_in_the_uninterrupted_state(tmp_path, dynamics):
    config = dict(d=3, n=1000, phi=0.62, steps=100, seed=3, checkpoint_every=20, **kwargs_for(dynamics))
    whole = simulate(SimulationConfig.from_dict(config))
    path = tmp_path / "run.npz"

    def interrupt(step, f_a):
        if step == 50:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        simulate(SimulationConfig.from_dict(config), checkpoint=path, progress=interrupt)
    assert path.exists() and not path.with_name("run.npz.tmp").exists()
    resumed = simulate(SimulationConfig.from_dict(config), checkpoint=path, resume=True)
    np.testing.assert_array_equal(resumed.positions, whole.positions)
    np.testing.assert_array_equal(resumed.steps, whole.steps)
    np.testing.assert_array_equal(resumed.active_fraction, whole.active_fraction)
    np.testing.assert_array_equal(resumed.loss, whole.loss)


def test_resume_refuses_another_runs_checkpoint(tmp_path):
    path = tmp_path / "run.npz"
    simulate(SimulationConfig.from_dict(dict(dynamics="bro", d=2, n=300, phi=0.5, eps=0.02, steps=20,
                                             checkpoint_every=10)), checkpoint=path)
    with pytest.raises(ConfigError, match="phi"):
        simulate(SimulationConfig.from_dict(dict(dynamics="bro", d=2, n=300, phi=0.6, eps=0.02, steps=20)),
                 checkpoint=path, resume=True)
    with pytest.raises(ConfigError, match="resume"):
        simulate(SimulationConfig.from_dict(dict(dynamics="bro", d=2, n=300, phi=0.5, eps=0.02, steps=20)),
                 checkpoint=path)


def test_records_follow_record_every_and_end_on_the_last_step():
    run = simulate(SimulationConfig.from_dict(dict(dynamics="bro", d=3, n=500, phi=0.8, eps=0.02, steps=95,
                                                   record_every=10, seed=1)))
    np.testing.assert_array_equal(run.steps, list(range(0, 100, 10)) + [95])
    assert run.loss.shape == run.active_fraction.shape == run.steps.shape
    assert run.positions.shape == (500, 3) and run.radii.shape == (500,)


def test_given_start_is_used_and_folded_into_the_box():
    n, d, phi = 200, 2, 0.3
    side = box.box_length(box.make_radii(n), d, phi)
    start = np.random.default_rng(0).random((n, d)) * side + side   # one box too far
    run = simulate(SimulationConfig.from_dict(dict(dynamics="gd", d=d, n=n, phi=phi, lr=0.05, steps=0)),
                   positions=start)
    np.testing.assert_allclose(run.positions, start - side, atol=1e-12)


def test_relaxation_time_follows_the_authors_definition():
    absorbed = simulate(SimulationConfig.from_dict(dict(dynamics="bro", d=3, n=500, phi=0.3, eps=0.05, steps=2000,
                                                        seed=1)))
    assert absorbed.absorbed and absorbed.relaxation_time == absorbed.absorption_step
    active = simulate(SimulationConfig.from_dict(dict(dynamics="bro", d=3, n=500, phi=0.8, eps=0.05, steps=400,
                                                      seed=1)))
    f_inf = active.active_fraction[-len(active.steps) // 10:].mean()
    tau = active.relaxation_time
    first = active.steps[np.argmax(np.abs(active.active_fraction / f_inf - 1) < 0.1)]
    assert tau == first


def test_bad_positions_are_refused():
    with pytest.raises(ConfigError, match="positions"):
        simulate(SimulationConfig.from_dict(dict(dynamics="bro", d=2, n=10, phi=0.3, eps=0.02)),
                 positions=np.zeros((10, 3)))
    bad = np.zeros((10, 2))
    bad[3, 1] = np.nan
    with pytest.raises(ConfigError, match="positions"):
        simulate(SimulationConfig.from_dict(dict(dynamics="bro", d=2, n=10, phi=0.3, eps=0.02)), positions=bad)


QUASI_STATIONARY = dict(dynamics="bro", d=3, n=600, phi=0.58, eps=0.03, steps=3000, seed=4, record_every=5,
                        restart_pool=6, pool_every=40)


def test_a_quasi_stationary_run_restarts_instead_of_absorbing():
    plain = simulate(SimulationConfig.from_dict({k: v for k, v in QUASI_STATIONARY.items()
                                                 if k not in ("restart_pool", "pool_every")}))
    run = simulate(SimulationConfig.from_dict(QUASI_STATIONARY))
    assert plain.absorbed and plain.absorption_step < 3000          # below phi_c it absorbs ...
    assert not run.absorbed and run.restarts > 0 and run.steps[-1] == 3000   # ... and is restarted
    assert np.all(run.active_fraction > 0)                         # absorbed states are never recorded
    assert run.summary()["restarts"] == run.restarts
    upto = np.searchsorted(run.steps, plain.absorption_step)       # the same run until it first absorbs
    np.testing.assert_array_equal(run.active_fraction[:upto], plain.active_fraction[:upto])


@pytest.mark.parametrize("algorithm", ["full", "active"])
def test_a_quasi_stationary_run_resumes_and_does_not_depend_on_the_algorithm(tmp_path, algorithm):
    config = dict(QUASI_STATIONARY, steps=1500, checkpoint_every=300)
    whole = simulate(SimulationConfig.from_dict(config))

    def interrupt(step, f_a):
        if step == 1000:
            raise KeyboardInterrupt

    path = tmp_path / "run.npz"
    with pytest.raises(KeyboardInterrupt):
        simulate(SimulationConfig.from_dict(dict(config, algorithm=algorithm)), checkpoint=path,
                 progress=interrupt)
    resumed = simulate(SimulationConfig.from_dict(dict(config, algorithm=algorithm)), checkpoint=path,
                       resume=True)
    assert whole.restarts > 0 and resumed.restarts == whole.restarts
    np.testing.assert_array_equal(resumed.active_fraction, whole.active_fraction)
    np.testing.assert_array_equal(resumed.positions, whole.positions)
