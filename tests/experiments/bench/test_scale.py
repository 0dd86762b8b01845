import numpy as np
import pytest

from experiments.bench import scale
from physics_baseline import box


@pytest.mark.parametrize("d", [3, 6, 8])
def test_box_phi_gives_the_box_that_box_length_makes(d):
    n, side = 5000, 4.0
    phi = scale.box_phi(d, n, side)
    assert box.box_length(box.make_radii(n, "mono"), d, phi) == pytest.approx(side, rel=1e-12)


def test_the_8d_case_is_a_million_spheres_in_a_box_of_five_diameters():
    case = next(c for c in scale.CASES if c.d == 8)
    assert case.n == 1_000_000
    assert box.box_length(box.make_radii(case.n, "mono"), 8, case.phi) == pytest.approx(5.0, abs=1e-3)


def test_a_run_over_budget_stops_and_projects_the_whole_run():
    case = scale.Case("tiny", 3, 2000, 0.62, 0.02, steps=10**9, budget_s=3600.0, stop_s=0.3)
    result = scale.run(case)
    assert not result["finished"]
    assert 0 < result["steps"] < case.steps
    assert result["wall_s"] > case.stop
    assert result["projected_s"] == pytest.approx(result["wall_s"] * case.steps / result["steps"])
    assert not scale.passed(result)   # a billion steps of n = 2000 take longer than an hour


def test_a_run_within_budget_passes_on_time_and_memory():
    case = scale.Case("tiny", 3, 2000, 0.5, 0.02, steps=50, budget_s=600.0, memory_mb=1e9)
    result = scale.run(case)
    assert result["finished"] and scale.passed(result)
    assert result["steps"] <= 50 and np.isfinite(result["projected_s"])
