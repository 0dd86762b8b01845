import math

import numpy as np

from physics_baseline import SimulationConfig, simulate
from physics_baseline.run import json_ready


def test_json_ready_replaces_every_non_finite_float_at_any_depth():
    value = {"a": math.nan, "b": [1.0, math.inf, {"c": -math.inf, "d": "x"}], "e": (2, None)}
    assert json_ready(value) == {"a": None, "b": [1.0, None, {"c": None, "d": "x"}], "e": [2, None]}


def test_a_particle_run_has_the_one_run_shape():
    run = simulate(SimulationConfig.from_dict(dict(d=2, n=64, phi=0.3, eps=0.05, steps=200, seed=1)))
    series = run.series()
    assert list(series) == ["step", "active_fraction", "loss"]
    assert all(len(column) == len(run.steps) for column in series.values())
    assert set(run.arrays()) == {"positions", "radii", "box"} and run.extra_files() == {}
    summary = run.summary()
    assert summary["absorbed"] and summary["last_step"] == run.absorption_step == run.steps[-1]
    assert (summary["n"], summary["d"]) == (64, 2) and summary["final_active_fraction"] == 0.0
    assert summary["relaxation_time"] == run.relaxation_time == float(run.absorption_step)
    assert np.all(np.diff(run.steps) > 0)
