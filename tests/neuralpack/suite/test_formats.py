"""The run files: written and read back, and run directories of format 1 (before config.yaml held
the kind; tests/fixtures/format1, written by the code at dc63a58) still resume and report."""
import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from neuralpack import cli
from neuralpack.suite import formats, kinds, runner, store, sweep
from physics_baseline import SimulationConfig, simulate

FORMAT1 = Path(__file__).resolve().parents[2] / "fixtures" / "format1"
WALL_CLOCK = ("wall_time_s", "particle_steps_per_s", "steps_per_s")


@pytest.fixture(autouse=True)
def no_wandb(monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")


@pytest.fixture
def format1(tmp_path) -> Path:
    """A copy of the format-1 run directories (the committed ones are never written)."""
    return Path(shutil.copytree(FORMAT1, tmp_path / "format1"))


@pytest.fixture
def one_torch_thread():
    """torch on one thread, as made_by.py wrote the checkpoints: its sums depend on the count."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def rows_of(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return [{k: v for k, v in row.items() if k not in WALL_CLOCK} for row in csv.DictReader(handle)]


def test_a_written_run_reads_back(tmp_path):
    config = SimulationConfig.from_dict(dict(d=2, n=100, phi=0.5, eps=0.05, steps=30, seed=1))
    run = simulate(config)
    formats.write_config(tmp_path, kinds.PARTICLES, config.to_dict())
    summary = formats.write_run(tmp_path, run)
    assert formats.read_config(tmp_path) == (kinds.PARTICLES, config.to_dict())
    assert formats.read_summary(tmp_path) == summary and summary["config_key"] == formats.run_key(config.to_dict())
    steps, active_fraction, loss = formats.read_series(tmp_path)
    np.testing.assert_array_equal(steps, run.steps)
    np.testing.assert_array_equal(active_fraction, run.active_fraction)
    np.testing.assert_array_equal(loss, run.loss)
    final = formats.read_final(tmp_path)
    np.testing.assert_array_equal(final["positions"], run.positions)
    assert set(final) == {"positions", "radii", "box"}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [formats.CONFIG, formats.SERIES, formats.FINAL, formats.SUMMARY])


def test_the_run_key_leaves_out_the_kind(tmp_path):
    config = {"dynamics": "bro", "d": 3, "n": 200, "phi": 0.5, "eps": 0.02}
    formats.write_config(tmp_path, kinds.PARTICLES, config)
    assert formats.read_config(tmp_path)[1] == config
    assert formats.run_key(formats.read_config(tmp_path)[1]) == formats.run_key(config)


def test_a_format1_config_gets_its_kind_from_its_fields(format1):
    assert formats.read_config(format1 / "particles-done")[0] == kinds.PARTICLES
    assert formats.read_config(format1 / "train-unfinished")[0] == kinds.CLASS_MANIFOLDS
    assert formats.read_config(format1 / "ssl-unfinished")[0] == kinds.SSL


def test_a_format1_particle_run_resumes_to_the_uninterrupted_run(format1, capsys):
    run_dir = format1 / "particles-unfinished"
    assert cli.main(["simulate", f"config={run_dir / formats.CONFIG}", f"out={run_dir}", "resume=true"]) == 0
    done = format1 / "particles-done"
    assert (run_dir / formats.SERIES).read_bytes() == (done / formats.SERIES).read_bytes()
    np.testing.assert_array_equal(formats.read_final(run_dir)["positions"], formats.read_final(done)["positions"])
    assert formats.read_summary(run_dir)["config_key"] == formats.read_summary(done)["config_key"]
    assert formats.read_config(run_dir)[0] == kinds.PARTICLES


@pytest.mark.parametrize("name, kind", [("train-unfinished", kinds.CLASS_MANIFOLDS), ("ssl-unfinished", kinds.SSL)])
def test_a_format1_training_run_resumes_to_the_uninterrupted_run(format1, tmp_path, one_torch_thread, name, kind):
    run_dir = format1 / name
    stored_kind, values = formats.read_config(run_dir)
    config = kinds.get(stored_kind).config(values)
    quiet = runner.Options(resume=True, show_progress=False, plot=False)
    resumed = runner.run(kinds.get(kind), config, run_dir, quiet)
    whole = runner.run(kinds.get(kind), config, tmp_path / "whole", runner.Options(show_progress=False, plot=False))
    np.testing.assert_array_equal(resumed.active_fraction, whole.active_fraction)
    np.testing.assert_array_equal(resumed.loss, whole.loss)
    assert (run_dir / formats.SERIES).read_bytes() == (tmp_path / "whole" / formats.SERIES).read_bytes()
    assert formats.read_summary(run_dir)["config_key"] == formats.run_key(values)


def test_a_format1_sweep_finishes_its_unfinished_run_and_reports(format1):
    out = format1 / "sweep"
    assert store.states(out) == {store.DONE: ["3b03af38d9"], store.UNFINISHED: ["76c65025ff"], store.FAILED: []}
    committed = rows_of(out / formats.TABLE)
    definition = sweep.load_sweep(format1 / "sweep.yaml", {"out": str(out)})
    planned = sweep.expand(definition)
    assert sorted(p.key for p in planned) == sorted(row["run_key"] for row in committed)
    report = sweep.run_sweep(planned, out)
    assert (report.count(sweep.DONE), report.count(sweep.SKIPPED)) == (1, 1)
    assert rows_of(out / formats.TABLE) == committed


def test_a_format1_study_reports_the_same_numbers(format1, capsys):
    study = format1 / "study-tiny"
    assert cli.main(["report", str(study)]) == 0
    committed = json.loads((FORMAT1 / "study-tiny" / "report" / "report.json").read_text())
    assert json.loads((study / "report" / "report.json").read_text()) == committed
    assert (study / "report" / "phi_c_vs_step_size.png").exists()
    assert rows_of(study / "runs" / formats.TABLE) == rows_of(FORMAT1 / "study-tiny" / "runs" / formats.TABLE)
