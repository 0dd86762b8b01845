import json
from dataclasses import asdict

import pytest

from experiments.bench import active, peer, scale, targets


def _speed(rate_2: float, rate_1: float, sips_2: float | None = None, dense: bool = True) -> dict:
    case = peer.CASES[0]
    runs = [{"simulator": "engine", "threads": 1, "rate": rate_1, "final_active_fraction": 0.9,
             "absorption_step": None},
            {"simulator": "engine", "threads": 2, "rate": rate_2, "final_active_fraction": 0.9,
             "absorption_step": None}]
    if sips_2 is not None:
        runs.append({"simulator": "sips", "threads": 2, "rate": sips_2, "final_active_fraction": 0.9,
                     "absorption_step": None})
    result = peer.summary(case, runs)
    result["dense"] = dense
    return result


def _absorb(offset: float, full_s: float, active_s: float, mean_active_fraction: float) -> dict:
    return {"offset": offset, "phi": 0.6,
            "full": {"wall_s": full_s, "steps": 1000, "absorbed": True, "mean_active_fraction": mean_active_fraction},
            "active": {"wall_s": active_s, "steps": 1000, "absorbed": True,
                       "mean_active_fraction": mean_active_fraction}}


def _by_what(found):
    return {(v.case, v.what): v for v in found}


def test_a_speed_case_passes_at_its_target_and_fails_below_it():
    case = peer.CASES[0]
    at = _by_what(targets.verdicts({"peer": [_speed(case.target, case.target / 1.8)]}))
    below = _by_what(targets.verdicts({"peer": [_speed(case.target * 0.99, case.target / 1.7)]}))
    rate, scaling = (case.name, "engine M particle-steps/s, 2 threads"), (case.name, "engine 2 threads / 1 thread")
    assert at[rate].verdict == "PASS" and at[scaling].verdict == "PASS"
    assert below[rate].verdict == "FAIL" and below[scaling].verdict == "FAIL"
    assert (case.name, "engine / sips, 2 threads") not in at   # no sips ran: no ratio target


def test_the_sips_ratio_and_the_scaling_are_judged_only_where_they_apply():
    found = _by_what(targets.verdicts({"peer": [_speed(12e6, 6e6, sips_2=7.5e6, dense=False)]}))
    ratio = found[(peer.CASES[0].name, "engine / sips, 2 threads")]
    assert ratio.measured == pytest.approx(1.6) and ratio.verdict == "PASS"
    assert (peer.CASES[0].name, "engine 2 threads / 1 thread") not in found


def test_the_near_critical_efficiency_is_the_gain_over_the_bound():
    # full 10 s, active 4 s: 2.5x sooner; mean f_a 0.25 bounds the gain at 4x: 62.5 % of it
    result = {"case": "active-d3", "d": 3, "absorb_n": 40000,
              "levels": [{"level": 1.0, "active": 0.02}, {"level": 0.01, "active": 0.0005}],
              "absorb": [_absorb(0.01, 10.0, 4.0, 0.25), _absorb(0.003, 10.0, 2.5, 0.5)]}
    found = _by_what(targets.verdicts({"near_critical": [result]}))
    low = found[("active-d3", "gain over its 1 / mean f_a bound, phi_c - 0.01")]
    high = found[("active-d3", "gain over its 1 / mean f_a bound, phi_c - 0.003")]
    assert low.measured == pytest.approx(0.625) and low.verdict == "FAIL"
    assert high.measured == pytest.approx(2.0) and high.verdict == "PASS"
    step = found[("active-d3", "active step at f_a 1 % / at f_a 1")]
    assert step.measured == pytest.approx(1 / 40) and step.verdict == "PASS"
    assert active.EFFICIENCY_TARGET == 0.8


def test_a_scale_run_stopped_by_its_budget_fails_on_its_projection():
    case = scale.CASES[0]
    stopped = {"case": asdict(case), "finished": False, "absorbed": False, "steps": case.steps // 4,
               "wall_s": case.budget_s, "projected_s": 4 * case.budget_s, "peak_mb": 900.0,
               "final_active_fraction": 0.01}
    found = _by_what(targets.verdicts({"scale": [stopped]}))
    wall = next(v for (name, what), v in found.items() if name == case.name and what.startswith("wall"))
    memory = found[(case.name, "peak memory")]
    assert wall.verdict == "FAIL" and memory.verdict == "PASS"
    assert not scale.passed(stopped)


def test_the_markdown_table_has_a_row_per_target_and_survives_json(tmp_path):
    payload = {"peer": [_speed(5e6, 3e6)], "argv": ["--cases", "peer-a"], "created": "2026-12-07"}
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(payload))   # the keys of ratios become strings in bench.json
    found = targets.verdicts(json.loads(path.read_text()))
    table = targets.markdown(found)
    assert table.count("\n") == 2 + len(found)
    assert "**FAIL**" in table
    assert targets.main([str(path)]) == 0


def test_a_scale_run_stopped_early_passes_when_its_projection_is_within_budget():
    case = scale.CASES[0]
    stopped = {"case": asdict(case), "finished": False, "absorbed": False, "steps": case.steps // 2,
               "wall_s": 0.4 * case.budget_s, "projected_s": 0.8 * case.budget_s, "peak_mb": 900.0,
               "final_active_fraction": 0.01}
    assert scale.passed(stopped)
    verdicts = [v.verdict for v in targets.verdicts({"scale": [stopped]})]
    assert verdicts == ["PASS", "PASS"]
