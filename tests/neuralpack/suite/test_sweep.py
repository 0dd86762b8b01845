import csv
import json
import sys
import types
from concurrent.futures import Future

import numpy as np
import pytest
import yaml

import physics_baseline
from neuralpack import cli
from neuralpack.suite import executors, formats, store, sweep, sweep_table
from physics_baseline import simulate
from physics_baseline.criticality.steady import steady_state_activity
from physics_baseline.validate import ConfigError

TINY = {"dynamics": "bro", "d": 3, "n": 300, "eps": 0.02, "steps": 120}
SWEEP = {"name": "tiny", "base": TINY, "grid": {"phi": [0.3, 0.5, 0.7], "seed": [1, 2]}}
WALL_CLOCK = ("wall_time_s", "particle_steps_per_s")


@pytest.fixture(autouse=True)
def no_wandb(monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")


@pytest.fixture
def sweep_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(SWEEP))
    return path


def run_cli(capsys, *argv):
    """cli.main's exit code and its last stdout line."""
    code = cli.main(list(argv))
    lines = capsys.readouterr().out.splitlines()
    return code, lines[-1] if lines else ""


def read_table(out):
    with open(out / "runs.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def without_wall_clock(rows):
    return [{key: value for key, value in row.items() if key not in WALL_CLOCK} for row in rows]


def test_expand_takes_the_product_of_the_grid_in_file_order():
    runs = sweep.expand(SWEEP)
    assert [(run.config.phi, run.config.seed) for run in runs] == [
        (0.3, 1), (0.3, 2), (0.5, 1), (0.5, 2), (0.7, 1), (0.7, 2)]
    assert all(run.config.n == 300 and run.config.steps == 120 and run.config.lr is None for run in runs)
    assert len({run.key for run in runs}) == 6
    assert len(sweep.expand({**SWEEP, "grid": {"phi": [0.5], "seed": [1, 1.0]}})) == 1


def test_expand_zips_lists_and_crosses_lists_inside_a_zip_row():
    per_d = {"base": {"dynamics": "bro", "n": 300, "eps": 0.02}, "grid": {"seed": [1, 2]},
             "zip": {"d": [2, 3], "phi": [[0.6, 0.7], 0.5]}}
    runs = sweep.expand(per_d)
    assert [(run.config.d, run.config.phi, run.config.seed) for run in runs] == [
        (2, 0.6, 1), (2, 0.7, 1), (2, 0.6, 2), (2, 0.7, 2), (3, 0.5, 1), (3, 0.5, 2)]
    dynamics = {"base": {"d": 3, "n": 300, "phi": 0.5},
                "zip": {"dynamics": ["bro", "sgd"], "eps": [0.02, None], "lr": [None, 0.1],
                        "batch_fraction": [None, 0.5]}}
    runs = sweep.expand(dynamics)
    assert [(run.config.dynamics, run.config.eps, run.config.lr,
             run.config.batch_fraction) for run in runs] == [
        ("bro", 0.02, None, None), ("sgd", None, 0.1, 0.5)]


@pytest.mark.parametrize("bad, field", [
    ({"grid": {"phi": 0.5}}, "phi"), ({"grid": {"seed": []}}, "seed"), ({"base": [1]}, "base"),
    ({"zip": {"d": [2, 3], "phi": [0.5]}}, "zip"), ({"base": {**TINY, "seed": 1}}, "seed"),
    ({"grids": {}}, "grids"),
])
def test_expand_refuses_a_malformed_sweep_by_key(bad, field):
    with pytest.raises(ConfigError) as error:
        sweep.expand({**SWEEP, **bad})
    assert error.value.field == field


def test_a_bad_run_is_named_by_index_and_field_and_nothing_is_written(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**SWEEP, "grid": {"phi": [0.5, -0.1], "seed": [1, 2]}}))
    with pytest.raises(ConfigError, match=r"sweep run 2 \(phi=-0.1, seed=1\)") as error:
        sweep.expand(sweep.load_sweep(path))
    assert error.value.field == "phi"
    assert cli.main(["sweep", str(path), f"out={tmp_path}/out", "workers=1"]) == 2
    assert "error: phi: sweep run 2" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_overrides_set_base_fields_and_fix_swept_ones(sweep_file, tmp_path):
    loaded = sweep.load_sweep(sweep_file, {"steps": 50, "seed": 3, "out": str(tmp_path / "o")})
    runs = sweep.expand(loaded)
    assert loaded["out"] == str(tmp_path / "o") and loaded["name"] == "tiny"
    assert [(run.config.phi, run.config.seed, run.config.steps) for run in runs] == [
        (0.3, 3, 50), (0.5, 3, 50), (0.7, 3, 50)]
    assert sweep.load_sweep(sweep_file)["out"] == "runs/sweeps/tiny"
    zipped = tmp_path / "zipped.yaml"
    zipped.write_text(yaml.safe_dump({"base": {"n": 300, "eps": 0.02}, "zip": {"d": [2, 3], "phi": [0.6, 0.5]}}))
    assert sweep.load_sweep(zipped)["name"] == "zipped"
    with pytest.raises(ConfigError, match="zipped") as error:
        sweep.load_sweep(zipped, {"d": 2})
    assert error.value.field == "d"


def test_sweep_runs_each_config_once_and_tabulates_the_summaries(sweep_file, tmp_path, capsys):
    out = tmp_path / "out"
    code, last = run_cli(capsys, "sweep", str(sweep_file), f"out={out}", "workers=1")
    assert code == 0
    assert last == f"sweep tiny: 6 executed, 0 skipped (already done), 0 failed; table {out / 'runs.csv'}"

    rows = sweep_table.aggregate(out)
    configs = sweep.expand(SWEEP)
    assert sorted(row["run_key"] for row in rows) == sorted(config.key for config in configs)
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted(row["run_key"] for row in rows)
    for row in rows:
        run_dir = out / "runs" / row["run_key"]
        kind, config = formats.read_config(run_dir)
        summary = json.loads((run_dir / "summary.json").read_text())
        assert summary["config_key"] == row["run_key"] == formats.run_key(config)
        assert {key: row[key] for key in config} == config
        for key in ("absorbed", "absorption_step", "final_active_fraction", "relaxation_time", "last_step",
                    "wall_time_s"):
            assert row[key] == summary[key]
        steps, active_fraction, loss = sweep_table.load_series(out, row["run_key"])
        assert steps.dtype == np.int64 and steps[0] == 0 and steps[-1] == summary["last_step"]
        assert active_fraction[-1] == summary["final_active_fraction"] and loss.shape == steps.shape
        assert row["f_inf"] == steady_state_activity(active_fraction)
    assert [row["phi"] for row in rows] == [0.3, 0.3, 0.5, 0.5, 0.7, 0.7]
    table = read_table(out)
    assert [row["run_key"] for row in table] == [row["run_key"] for row in rows]
    assert [float(row["f_inf"]) for row in table] == [row["f_inf"] for row in rows]
    assert table[0]["lr"] == "" and table[0]["absorbed"] in ("True", "False")


def test_rerun_skips_done_runs_and_redoes_only_the_missing_one(sweep_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert run_cli(capsys, "sweep", str(sweep_file), f"out={out}", "workers=1")[0] == 0
    table = (out / "runs.csv").read_bytes()
    rows = without_wall_clock(read_table(out))
    code, last = run_cli(capsys, "sweep", str(sweep_file), f"out={out}", "workers=1")
    assert code == 0 and last.startswith("sweep tiny: 0 executed, 6 skipped (already done), 0 failed;")
    assert (out / "runs.csv").read_bytes() == table

    key = sweep.expand(SWEEP)[3].key
    (out / "runs" / key / "summary.json").unlink()
    code, last = run_cli(capsys, "sweep", str(sweep_file), f"out={out}", "workers=1")
    assert code == 0 and last.startswith("sweep tiny: 1 executed, 5 skipped (already done), 0 failed;")
    assert without_wall_clock(read_table(out)) == rows


def test_a_failing_run_is_reported_and_the_others_finish(sweep_file, tmp_path, capsys, monkeypatch):
    def simulate_failing_at_phi_05_seed_2(config, **engine):
        if config.phi == 0.5 and config.seed == 2:
            raise RuntimeError("boom at phi 0.5")
        return simulate(config, **engine)

    monkeypatch.setattr(physics_baseline, "simulate", simulate_failing_at_phi_05_seed_2)
    out = tmp_path / "out"
    code = cli.main(["sweep", str(sweep_file), f"out={out}", "workers=1"])
    captured = capsys.readouterr()
    key = sweep.expand(SWEEP)[3].key
    assert code == 1
    assert captured.out.splitlines()[-1].startswith("sweep tiny: 5 executed, 0 skipped (already done), 1 failed;")
    assert "failed: phi=0.5, seed=2: RuntimeError: boom at phi 0.5" in captured.err
    error_text = (out / "runs" / key / "error.txt").read_text()
    assert "Traceback" in error_text and "RuntimeError: boom at phi 0.5" in error_text
    assert key not in [row["run_key"] for row in read_table(out)] and len(read_table(out)) == 5

    assert cli.main(["sweep-status", str(out)]) == 0
    status = capsys.readouterr().out
    assert f"{out}: 5 done, 0 unfinished, 1 failed" in status and str(out / "runs" / key / "error.txt") in status

    monkeypatch.undo()
    code, last = run_cli(capsys, "sweep", str(sweep_file), f"out={out}", "workers=1")
    assert code == 0 and last.startswith("sweep tiny: 1 executed, 5 skipped")
    assert not (out / "runs" / key / "error.txt").exists() and len(read_table(out)) == 6


def test_an_interrupted_run_resumes_from_its_checkpoint_to_the_uninterrupted_state(tmp_path, capsys, monkeypatch):
    config = sweep.expand({"base": {**TINY, "phi": 0.7, "seed": 1, "checkpoint_every": 40}})
    spec, = sweep.plan(config, tmp_path / "split")
    store.prepare_run_dir(spec.run_dir, spec.config.to_dict(), overwrite=False, resume=False)
    formats.write_config(spec.run_dir, spec.kind, spec.config.to_dict())

    def interrupt(step, active_fraction):
        if step == 60:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        simulate(spec.config, checkpoint=spec.run_dir / "checkpoint.npz",
                 progress=interrupt)
    assert store.states(tmp_path / "split") == {"done": [], "unfinished": [spec.key], "failed": []}

    resumed_from = []

    def spy(config, *, checkpoint, **engine):
        with np.load(checkpoint) as saved:
            resumed_from.append(int(saved["step"]))
        return simulate(config, checkpoint=checkpoint, **engine)

    monkeypatch.setattr(physics_baseline, "simulate", spy)
    split = sweep.run_sweep(config, tmp_path / "split", executors.inline)
    monkeypatch.undo()
    whole = sweep.run_sweep(config, tmp_path / "whole", executors.inline)
    assert resumed_from == [40] and split.count(sweep.DONE) == whole.count(sweep.DONE) == 1
    run_dirs = [tmp_path / name / "runs" / spec.key for name in ("split", "whole")]
    with np.load(run_dirs[0] / "final.npz") as a, np.load(run_dirs[1] / "final.npz") as b:
        np.testing.assert_array_equal(a["positions"], b["positions"])
    assert (run_dirs[0] / "series.csv").read_bytes() == (run_dirs[1] / "series.csv").read_bytes()


def test_stop_ends_the_sweep_when_asked_and_progress_counts_the_runs(tmp_path):
    seen = []
    report = sweep.run_sweep(sweep.expand(SWEEP), tmp_path, executors.inline, progress=seen.append,
                             stop=lambda: seen[-1].outcome is not None)
    assert report.interrupted and [o.status for o in report.outcomes] == ["done"]
    assert len(read_table(tmp_path)) == 1
    assert [(p.outcome, p.running, p.remaining) for p in seen[:1]] == [(None, 1, 5)]
    assert seen[1].outcome.status == "done" and seen[1].counts == {"done": 1, "skipped": 0, "failed": 0}
    assert (seen[1].running, seen[1].remaining) == (0, 5)

    seen.clear()
    report = sweep.run_sweep(sweep.expand(SWEEP), tmp_path, executors.inline, progress=seen.append)
    assert [p.outcome.status for p in seen if p.outcome] == ["skipped"] + ["done"] * 5
    assert seen[-1].counts == {"done": 5, "skipped": 1, "failed": 0} and seen[-1].remaining == 0


def test_an_executor_failure_marks_its_runs_failed_with_an_error_file(tmp_path):
    def lost_workers(fn, specs):
        for spec in specs:
            future = Future()
            future.set_exception(RuntimeError("worker lost"))
            yield spec, future

    report = sweep.run_sweep(sweep.expand(SWEEP), tmp_path, lost_workers)
    assert report.count(sweep.FAILED) == 6 and not report.interrupted
    assert all("RuntimeError: worker lost" in (o.spec.run_dir / "error.txt").read_text() for o in report.outcomes)
    assert read_table(tmp_path) == [] and len(store.states(tmp_path)["failed"]) == 6


def test_two_worker_processes_give_the_table_of_one(sweep_file, tmp_path, capsys):
    for workers in (1, 2):
        code, last = run_cli(capsys, "sweep", str(sweep_file), f"out={tmp_path}/w{workers}", f"workers={workers}")
        assert code == 0 and last.startswith("sweep tiny: 6 executed")
    assert without_wall_clock(read_table(tmp_path / "w1")) == without_wall_clock(read_table(tmp_path / "w2"))


class FakeWandbRun:
    def __init__(self, kwargs):
        self.kwargs, self.logged, self.summary = kwargs, [], {}

    def log(self, data, step=None):
        self.logged.append((step, data))

    def finish(self, exit_code=None):
        self.exit_code = exit_code


def test_a_tracked_sweep_is_one_wandb_group_of_its_runs_and_its_table(sweep_file, tmp_path, capsys, monkeypatch):
    started = []

    def init(**kwargs):
        started.append(FakeWandbRun(kwargs))
        return started[-1]

    monkeypatch.setitem(sys.modules, "wandb", types.SimpleNamespace(
        init=init, Settings=lambda **kwargs: kwargs, Image=lambda path: ("image", path),
        Table=lambda columns, data: ("table", columns, data)))
    monkeypatch.delenv("WANDB_MODE")
    out = tmp_path / "out"
    assert cli.main(["sweep", str(sweep_file), f"out={out}", "workers=1", "tracking=offline"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith("sweep tiny: 6 executed") and lines[-2] == f"  wandb sync {out}/wandb/offline-run-*"
    assert [(run.kwargs["group"], run.kwargs["job_type"], run.kwargs["dir"]) for run in started] == (
        [("tiny", "run", out)] * 6 + [("tiny", "table", out)])
    specs = sweep.plan(sweep.expand(SWEEP), out)
    assert sorted(run.kwargs["name"] for run in started[:6]) == sorted(spec.label for spec in specs)
    for run in started[:6]:
        spec = next(spec for spec in specs if spec.label == run.kwargs["name"])
        assert run.kwargs["config"] == spec.config.to_dict() and run.exit_code == 0
        assert run.summary == json.loads((spec.run_dir / "summary.json").read_text())
        steps, active_fraction, _ = sweep_table.load_series(out, spec.key)
        assert [step for step, _ in run.logged] == steps.tolist()
        assert [data["active_fraction"] for _, data in run.logged] == active_fraction.tolist()
    (_, table), (_, figure) = started[-1].logged
    assert table["runs"][0] == "table" and len(table["runs"][2]) == 6 and "f_inf" in table["runs"][1]
    assert figure["active_fraction"] == ("image", str(out / "active_fraction.png"))

    started.clear()
    assert cli.main(["sweep", str(sweep_file), f"out={out}", "workers=1", "tracking=offline"]) == 0
    assert [run.kwargs["job_type"] for run in started] == ["table"]


def test_offline_wandb_writes_one_run_per_run_and_one_for_the_table(tmp_path, capsys, monkeypatch):
    for variable in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(variable, str(tmp_path / "wandb-home"))
    monkeypatch.delenv("WANDB_MODE")
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump({**SWEEP, "grid": {"phi": [0.3, 0.5]}, "tracking": "offline"}))
    assert cli.main(["sweep", str(path), f"out={tmp_path / 'out'}", "workers=1"]) == 0
    assert capsys.readouterr().out.splitlines()[-2].startswith("  wandb sync ")
    assert len(list((tmp_path / "out" / "wandb").glob("offline-run-*"))) == 3


def test_a_sweep_of_training_runs_stores_their_kind_and_kind_can_be_overridden(tmp_path):
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump({"kind": "class_manifolds", "base": {"d": 2, "n_classes": 20, "phi": 0.4,
                                                                          "steps": 3}, "grid": {"seed": [1, 2]}}))
    definition = sweep.load_sweep(path, {"out": str(tmp_path / "out")})
    planned = sweep.expand(definition)
    assert [p.kind for p in planned] == ["class_manifolds"] * 2
    assert sweep.run_sweep(planned, definition["out"], executors.inline).count(sweep.DONE) == 2
    kinds = {formats.read_config(spec.run_dir)[0] for spec in sweep.plan(planned, definition["out"])}
    assert kinds == {"class_manifolds"}
    with pytest.raises(ConfigError) as error:               # the same fields read as a particle sweep
        sweep.expand(sweep.load_sweep(path, {"kind": "particles"}))
    assert error.value.field == "n_classes"
