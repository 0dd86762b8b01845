import json

import numpy as np
import pytest

from experiments.studies import quasi_stationary as study
from neuralpack.cli import main
from physics_baseline.validate import ConfigError

SETTINGS = {"seeds": 1, "steps": 1000, "budget_exponent": 0.5, "record_every": 5, "restart_pool": 4,
            "pool_every": 20, "groups": [
                {"dynamics": "sgd", "d": 3, "lr": 0.1, "batch_fraction": 0.5, "sizes": [400, 100],
                 "phi": [0.6, 0.55]},
                {"dynamics": "bro", "d": 2, "eps": 0.02, "polydispersity": "bidisperse",
                 "sizes": [100, 200], "phi": [0.8, 0.82], "steps": 3000}]}


def test_groups_carry_the_effective_step_and_the_quasi_stationary_fields():
    sgd, bro = study.groups(SETTINGS)
    assert sgd.step_size == pytest.approx(0.05) and sgd.label == "sgd d=3 batch_fraction=0.5 eps=0.05"
    assert sgd.sizes == [100, 400] and sgd.phi == [0.55, 0.6]        # sorted
    assert sgd.base["restart_pool"] == 4 and sgd.base["pool_every"] == 20
    assert bro.family == "bro d=2 polydispersity=bidisperse"
    configs = study.planned(SETTINGS, sgd)
    assert len(configs) == 4
    assert {c.config.n: c.config.steps for c in configs} == {100: 1000, 400: 2000}   # T ~ n^0.5
    assert {c.config.n: c.config.steps for c in study.planned(SETTINGS, bro)} == {100: 3000, 200: 4243}


@pytest.mark.parametrize("change,field", [({"sizes": [100]}, "groups[0]"), ({"phi": None}, "groups[0]"),
                                          ({"lr": None}, "groups[0]")])
def test_malformed_groups_are_refused_by_name(change, field):
    group = {k: v for k, v in {**SETTINGS["groups"][0], **change}.items() if v is not None}
    with pytest.raises(ConfigError) as error:
        study.validate({**SETTINGS, "groups": [group]})
    assert error.value.field == field


def _group_with_ratios(difference: list[float]) -> study.Group:
    group = study.Group("g", {"d": 3}, [100, 200], [0.60, 0.61, 0.62], 0.02, "f")
    group.ratio["T"] = np.stack([np.stack([np.full(3, 1.3), 1.3 + np.array(difference)]), np.ones((2, 3))])
    return group


@pytest.mark.parametrize("difference,expected", [
    ([0.1, 0.05, -0.02], [0.61333, 0.61667]),     # crosses between 0.61 and 0.62: zoom in
    ([0.1, 0.05, 0.02], [0.63, 0.64]),            # the larger size still above: absorbing, go up
    ([-0.1, -0.05, -0.02], [0.58, 0.59])])        # below everywhere: active, go down
def test_next_phi_zooms_into_the_crossing_or_moves_toward_it(difference, expected):
    assert study.next_phi(_group_with_ratios(difference), 2) == pytest.approx(expected)


def test_rounds_and_points_are_checked():
    for key, value in (("rounds", 0), ("points", 0)):
        with pytest.raises(ConfigError) as error:
            study.validate({**SETTINGS, key: value})
        assert error.value.field == key


def test_the_synthetic_check_recovers_its_planted_phi_c():
    for seed in range(3):
        check = study.synthetic_check(seed)
        assert check.bracketed and check.phi_c.covers(study.PLANTED)


def test_families_extrapolate_step_sizes_and_skip_crossings_outside_the_grid():
    rows = [{"d": 3, "dynamics": "bro", "eps": eps, "phi_c": 0.64 - 1.2 * eps, "phi_c_error": 0.001,
             "phi_c_systematic": 0.0005, "bracketed": eps != 0.08} for eps in (0.01, 0.02, 0.04, 0.08)]
    groups = [study.Group(f"bro d=3 eps={r['eps']}", {"d": 3}, [1, 2], [0.6, 0.61], r["eps"], "bro d=3")
              for r in rows]
    family = study.families(rows, groups)["bro d=3"]
    assert family["step_sizes"] == [0.01, 0.02, 0.04]
    assert family["limit"]["phi_c"] == pytest.approx(0.64, abs=1e-9)
    assert set(family["limit"]["forms"]) == {"linear", "quadratic", "power"}
    cells, limit_rows = study.eps_limit_rows({"bro d=3": family})
    assert limit_rows[0]["eps"] == 0.0 and limit_rows[0]["phi_c"] == pytest.approx(0.64, abs=1e-9)
    # the deviation from the literature's 0.64 counts the literature's rounding: about 0 here
    assert cells[0][5] == "0.6400 ± 0.0029" and float(cells[0][6]) == pytest.approx(0.0, abs=0.05)


def test_the_quick_profile_writes_rows_that_the_report_command_reproduces(tmp_path):
    out = tmp_path / "phi_c_limit"
    assert main(["experiment", "phi_c_limit", f"out={out}", "workers=1"]) == 0
    report = json.loads((out / "report" / "report.json").read_text())
    row = report["rows"][0]
    assert {"d", "dynamics", "eps", "phi_c", "phi_c_error", "phi_c_systematic", "L", "n", "T",
            "estimator"} <= set(row)
    assert row["n"] == 600 and row["T"] == round(1500 * 4 ** 0.6) and row["eps"] == 0.1
    assert row["steady_runs"][1] == 2 * 3 * (3 + 2)       # seeds x sizes x (3 phi + 2 of round 2)
    for figure in ("moment_ratio", "activity"):
        assert (out / "report" / f"{figure}.png").exists()
    (out / "report" / "report.json").unlink()
    assert main(["report", str(out)]) == 0
    assert json.loads((out / "report" / "report.json").read_text()) == report
