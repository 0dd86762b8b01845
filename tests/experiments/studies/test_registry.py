import json

import numpy as np
import pytest

import physics_baseline
from experiments.studies import phase_boundary
from experiments.studies import registry as studies
from neuralpack.cli import main
from neuralpack.suite import formats, presets


def test_next_grid_zooms_into_the_crossing():
    phi = np.repeat([0.5, 0.6, 0.7], 2)
    absorbed = np.array([True, True, True, False, False, False])
    grid = phase_boundary._next_grid(phi, absorbed, 3)
    np.testing.assert_allclose(grid, [0.625, 0.65, 0.675])   # strictly inside (0.6, 0.7)


@pytest.mark.parametrize("outcome,expected", [(True, [0.8, 0.9]), (False, [0.3, 0.4])])
def test_next_grid_moves_the_window_when_nothing_crosses(outcome, expected):
    phi = np.array([0.5, 0.6, 0.7])
    grid = phase_boundary._next_grid(phi, np.full(3, outcome), 2)
    np.testing.assert_allclose(grid, expected)


def test_deviation_in_errors():
    assert phase_boundary.deviation_in_errors(0.62, 0.01, 0.64) == pytest.approx(-2.0)
    assert phase_boundary.deviation_in_errors(0.62, 0.003, 0.64, 0.004) == pytest.approx(-4.0)
    assert np.isnan(phase_boundary.deviation_in_errors(0.62, 0.01, None))
    assert np.isnan(phase_boundary.deviation_in_errors(0.62, 0.0, 0.64))
    assert np.isnan(phase_boundary.deviation_in_errors(float("nan"), 0.01, 0.64))


def test_scans_convert_kick_sizes_to_learning_rates_and_scale_steps():
    profile = studies.load("tiny", "quick")["settings"]
    scans = phase_boundary.scans(profile)
    sgd = [scan for scan in scans if scan.base["dynamics"] == "sgd"]
    for scan in sgd:
        assert scan.base["lr"] * scan.base["batch_fraction"] == pytest.approx(scan.step_size)
        assert scan.base["steps"] == round(profile["steps"] * 0.02 / scan.step_size)


def test_experiment_writes_a_report_that_the_report_command_reproduces(tmp_path, capsys):
    out = tmp_path / "tiny"
    assert main(["experiment", "tiny", f"out={out}", "workers=1"]) == 0
    report = json.loads((out / "report" / "report.json").read_text())
    bro = report["phi_c"]["bro"]["3"]
    assert len(bro["step_sizes"]) == 2 and np.isfinite(bro["value"]) and bro["error"] > 0
    assert 0.45 < min(bro["phi_c_at_step_size"]) and max(bro["phi_c_at_step_size"]) < 0.75
    for figure in ("phi_c_vs_step_size", "phi_c_vs_dimension"):
        assert (out / "report" / f"{figure}.png").stat().st_size > 0
    assert "| bro d=3 |" in (out / "report" / "report.md").read_text()
    before = (out / "report" / "report.json").read_bytes()
    assert main(["report", str(out)]) == 0
    assert (out / "report" / "report.json").read_bytes() == before


def test_report_refuses_a_study_with_missing_runs(tmp_path, capsys):
    out = tmp_path / "tiny"
    assert main(["experiment", "tiny", f"out={out}", "workers=1"]) == 0
    (next((out / "runs" / formats.RUNS).iterdir()) / "summary.json").unlink()
    assert main(["report", str(out)]) == 2
    assert "runs:" in capsys.readouterr().err


@pytest.mark.parametrize("args,field", [(["experiment", "nope"], "study"),
                                        (["experiment", "tiny", "profile=huge"], "profile"),
                                        (["experiment", "tiny", "colour=red"], "colour")])
def test_experiment_bad_input_names_the_field(tmp_path, capsys, args, field):
    assert main(args + [f"out={tmp_path / 'x'}"] * (field != "colour")) == 2
    assert capsys.readouterr().err.startswith(f"error: {field}:")
    assert not (tmp_path / "x").exists()


def test_finite_size_scaling_study_reports_both_exponent_classes(tmp_path, capsys):
    out = tmp_path / "fss"
    assert main(["experiment", "tiny_fss", f"out={out}", "workers=1"]) == 0
    group = json.loads((out / "report" / "report.json").read_text())["collapse"]["bro d=3"]
    assert 0 < group["steady_runs"] <= group["runs"]
    collapse = group["all_runs"]
    for cls in ("manna", "mean_field"):
        assert 0.5 <= collapse[cls]["phi_c"] <= 0.8
        assert collapse[cls]["quality_f_inf"] > 0
    assert collapse["manna"]["beta"] == pytest.approx(0.840)
    assert collapse["mean_field"]["nu_perp"] == pytest.approx(0.5)
    assert set(group["surviving"]) == set(collapse)
    decay = group["decay"]
    assert decay["n"] == 300      # the largest n of tiny_fss
    assert len(decay["alpha"]) == len(decay["phi"]) > 0
    assert all(len(alphas) == 2 for alphas in decay["alpha"])
    assert (out / "report" / "critical_decay.png").stat().st_size > 0
    assert (out / "report" / "collapse_best.png").stat().st_size > 0
    assert (out / "report" / "activity_vs_phi.png").stat().st_size > 0
    assert "| bro d=3 (" in capsys.readouterr().out


def test_a_failing_run_stops_the_study_with_exit_code_1(tmp_path, capsys, monkeypatch):
    def broken(config, **engine):
        raise FloatingPointError("planted failure")

    monkeypatch.setattr(physics_baseline, "simulate", broken)
    assert main(["experiment", "tiny", f"out={tmp_path / 'x'}", "workers=1"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "planted failure" in error and "error.txt" in error


@pytest.mark.slow
def test_equivalence_quick_profile_supports_the_papers_claim(tmp_path, capsys):
    """The quick profile of `equivalence` (a few minutes): BRO's phi_c(eps = 0.02) sits near 0.61
    (the paper), phi_c rises as eps shrinks, and BRO, SGD and both modified equations extrapolate
    to the same phi_c(0) within 3 combined standard errors."""
    out = tmp_path / "equivalence"
    assert main(["experiment", "equivalence", f"out={out}", "tracking=none"]) == 0
    phi_c = json.loads((out / "report" / "report.json").read_text())["phi_c"]
    bro = phi_c["bro"]["3"]
    at = dict(zip(bro["step_sizes"], bro["phi_c_at_step_size"]))
    assert 0.60 < at[0.02] < 0.63
    assert at[0.04] < at[0.02] < at[0.01]
    limits = [(phi_c[name]["3"]["value"], phi_c[name]["3"]["error"]) for name in ("bro", "sgd", "sme_bro", "sme_sgd")]
    for a, (value_a, error_a) in enumerate(limits):
        for value_b, error_b in limits[a + 1:]:
            assert abs(value_a - value_b) < 3 * np.hypot(error_a, error_b)


@pytest.mark.slow
def test_neural_vs_particle_study_reports_every_model_and_the_anchor_agrees(tmp_path, capsys):
    out = tmp_path / "neural"
    assert main(["experiment", "tiny_neural", f"out={out}", "workers=1"]) == 0
    payload = json.loads((out / "report" / "report.json").read_text())
    models = ["particle", "embedding table", "random features D/N=1"]
    assert list(payload["phi_c"]) == models
    for model in models:
        assert set(payload["activity"][model]) == {"2", "3"}
    # the embedding table is the particle run (the anchor test), so every cell agrees exactly
    assert payload["activity"]["embedding table"] == payload["activity"]["particle"]
    assert payload["structure"]["embedding table"] == payload["structure"]["particle"]
    assert (out / "report" / "active_fraction_vs_phi.png").stat().st_size > 0


def test_the_ssl_dimension_study_reports_every_method_per_dimension(tmp_path, capsys):
    out = tmp_path / "ssl"
    assert main(["experiment", "tiny_ssl", f"out={out}", "workers=1", "tracking=none"]) == 0
    payload = json.loads((out / "report" / "report.json").read_text())
    assert set(payload["by_dimension"]) == {"2", "4"} and payload["phi_c_particles"]["4"] == pytest.approx(0.45,
                                                                                                           abs=0.01)
    assert payload["phi_c_particles_measured"] == {}
    for entry in payload["by_dimension"].values():
        assert set(entry) == {"packing", "infonce", "pca", "random encoder", "raw pixels", "held_out_manifolds",
                              "knn_gap"}
        for method in ("infonce", "pca"):      # paired by run: the mean gap is the gap of the means
            gap = entry["packing"]["knn_accuracy"][0] - entry[method]["knn_accuracy"][0]
            assert entry["knn_gap"][method][0] == pytest.approx(gap, abs=1e-12)
        for method in ("packing", "infonce", "pca", "random encoder", "raw pixels"):
            for metric in ("knn_accuracy", "linear_probe_accuracy"):
                assert 0 <= entry[method][metric][0] <= 1
        assert 0 <= entry["held_out_manifolds"]["final_active_fraction"][0] <= 1
    # raw pixels do not depend on d or the seed: the same accuracy everywhere, error 0
    raw = [entry["raw pixels"]["knn_accuracy"] for entry in payload["by_dimension"].values()]
    assert raw[0] == raw[1] and raw[0][1] == 0
    assert (out / "report" / "accuracy_and_packing_vs_dimension.png").stat().st_size > 0
    assert "| 4 |" in capsys.readouterr().out


def test_a_budget_exponent_grows_the_step_budget_faster_than_one_over_eps():
    profile = {**studies.load("tiny", "quick")["settings"], "budget_exponent": 2}
    for scan in phase_boundary.scans(profile):
        assert scan.base["steps"] == round(profile["steps"] * (0.02 / scan.step_size) ** 2)
    with pytest.raises(physics_baseline.ConfigError) as error:
        phase_boundary.scans({**profile, "budget_exponent": -1})
    assert error.value.field == "budget_exponent"


def test_a_particle_report_is_read_by_explicit_path_and_a_missing_one_is_named(tmp_path):
    from experiments.studies import ssl_dimension
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"phi_c": {"bro": {"3": {"value": 0.63, "error": 0.01}, "8": {"value": None}}}}))
    settings = {**studies.load("tiny_ssl", "quick")["settings"], "particle_phi_c": str(report)}
    assert ssl_dimension.measured_phi_c(settings) == {3: (0.63, 0.01)}
    with pytest.raises(physics_baseline.ConfigError) as error:
        ssl_dimension.validate({**settings, "particle_phi_c": str(tmp_path / "none.json")})
    assert error.value.field == "particle_phi_c"


@pytest.mark.parametrize("name", presets.shipped_names("studies"))
def test_every_profile_of_every_study_expands_to_valid_runs(name):
    """A typo in a large profile (a cluster's, say) must fail here, not hours into a job."""
    profiles = presets.shipped("studies", name, "study")["profiles"]
    for profile in profiles:
        resolved = studies.load(name, profile)
        studies.ANALYSES[resolved["analysis"]].validate(resolved["settings"])
