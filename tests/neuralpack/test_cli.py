import csv
import json
import os
import signal
import sys
import types

import numpy as np
import pytest
import yaml

import physics_baseline
from neuralpack import cli, training
from neuralpack.suite import formats
from physics_baseline.box import box_length, make_radii

SMALL = ["d=2", "n=200", "phi=0.3", "eps=0.05", "steps=50", "tracking=none"]
SGD = ["dynamics=sgd", "d=2", "n=200", "phi=0.3", "lr=0.1", "batch_fraction=0.2", "steps=5", "tracking=none"]


@pytest.fixture(autouse=True)
def no_wandb(monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")


def snapshot(run_dir):
    return {p.name: p.read_bytes() for p in sorted(run_dir.iterdir()) if p.is_file()}


def test_simulate_writes_a_consistent_run_directory(tmp_path, capsys):
    run_dir = tmp_path / "r"
    assert cli.main(["simulate", *SMALL, f"out={run_dir}"]) == 0
    assert str(run_dir) in capsys.readouterr().out

    kind, config = formats.read_config(run_dir)
    assert kind == "particles" and (config["d"], config["n"], config["phi"], config["steps"]) == (2, 200, 0.3, 50)
    summary = json.loads((run_dir / "summary.json").read_text())
    with open(run_dir / "series.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    steps = [int(row["step"]) for row in rows]
    active_fraction = [float(row["active_fraction"]) for row in rows]
    with np.load(run_dir / "final.npz") as final:
        positions, radii, box = final["positions"], final["radii"], float(final["box"])

    assert summary["config_key"] == formats.run_key(config)
    assert (summary["n"], summary["d"]) == (200, 2)
    assert steps == list(range(steps[-1] + 1)) and steps[-1] == summary["last_step"]
    assert active_fraction[-1] == summary["final_active_fraction"]
    assert summary["absorbed"] == (active_fraction[-1] == 0) == (summary["absorption_step"] == steps[-1])
    assert positions.shape == (200, 2) and np.all((positions >= 0) & (positions < box))
    assert np.array_equal(radii, make_radii(200)) and box == pytest.approx(box_length(radii, 2, 0.3))
    assert (run_dir / "active_fraction.png").stat().st_size > 0


@pytest.mark.parametrize("bad, field", [
    (["d=9"], "d"), (["n=1"], "n"), (["phi=0"], "phi"), (["phi=-1"], "phi"), (["eps=0"], "eps"),
    (["eps=nan"], "eps"), (["foo=1"], "foo"), (["dynamics=xyz"], "dynamics"),
    (["d=8", "n=10", "phi=0.5"], "phi"), (["tracking=loud"], "tracking"), (["overwrite=maybe"], "overwrite"),
    (["steps"], "override"),
])
def test_bad_input_exits_2_names_the_field_and_writes_nothing(tmp_path, capsys, bad, field):
    assert cli.main(["simulate", *SMALL, *bad, f"out={tmp_path}/r"]) == 2
    assert f"error: {field}: " in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad, field", [(["lr=inf"], "lr"), (["batch_fraction=1.5"], "batch_fraction")])
def test_bad_sgd_input_exits_2(tmp_path, capsys, bad, field):
    assert cli.main(["simulate", *SGD, *bad, f"out={tmp_path}/r"]) == 2
    assert f"error: {field}: " in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_finished_run_is_kept_unless_overwritten(tmp_path, capsys):
    run_dir = tmp_path / "r"
    assert cli.main(["simulate", *SMALL, f"out={run_dir}"]) == 0
    before = snapshot(run_dir)
    assert cli.main(["simulate", *SMALL, f"out={run_dir}"]) == 2
    assert "error: out: " in capsys.readouterr().err
    assert snapshot(run_dir) == before
    assert cli.main(["simulate", *SMALL, "seed=5", f"out={run_dir}", "overwrite=true"]) == 0
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["seed"] == 5
    assert snapshot(run_dir)["series.csv"] != before["series.csv"]


def test_resumed_run_matches_an_uninterrupted_one(tmp_path):
    dense = ["d=2", "n=200", "phi=0.8", "eps=0.05", "checkpoint_every=10", "tracking=none"]
    assert cli.main(["simulate", *dense, "steps=40", f"out={tmp_path}/split"]) == 0
    assert cli.main(["simulate", *dense, "steps=80", "resume=true", f"out={tmp_path}/split"]) == 0
    assert cli.main(["simulate", *dense, "steps=80", f"out={tmp_path}/whole"]) == 0
    summary = json.loads((tmp_path / "split" / "summary.json").read_text())
    assert summary["last_step"] == 80 and not summary["absorbed"]
    assert (tmp_path / "split" / "series.csv").read_bytes() == (tmp_path / "whole" / "series.csv").read_bytes()
    with np.load(tmp_path / "split" / "final.npz") as split, np.load(tmp_path / "whole" / "final.npz") as whole:
        assert np.array_equal(split["positions"], whole["positions"])


def test_resume_with_another_config_is_refused_untouched(tmp_path, capsys):
    run_dir = tmp_path / "r"
    assert cli.main(["simulate", *SMALL, f"out={run_dir}"]) == 0
    before = snapshot(run_dir)
    assert cli.main(["simulate", *SMALL, "phi=0.35", "resume=true", f"out={run_dir}"]) == 2
    err = capsys.readouterr().err
    assert "error: resume: " in err and "phi" in err
    assert snapshot(run_dir) == before


ENGINES = {  # command: (module, engine, the items of a dense run that a Ctrl-C at step 25 interrupts)
    "simulate": (physics_baseline, "simulate", ["d=2", "n=200", "phi=0.8", "eps=0.05"]),
    "train": (training, "train", ["encoder=embedding_table", "d=2", "n_classes=200", "phi=0.7", "lr=0.04",
                                  "batch_fraction=0.5"]),
}


@pytest.mark.parametrize("command", sorted(ENGINES))
def test_ctrl_c_keeps_config_and_checkpoint_and_resume_completes_the_run(tmp_path, capsys, monkeypatch, command):
    module, name, items = ENGINES[command]
    engine, pressed = getattr(module, name), []

    def engine_with_ctrl_c(config, *, progress, **options):
        def press_once_at_step_25(step, active_fraction):
            if step == 25 and not pressed:
                pressed.append(step)
                os.kill(os.getpid(), signal.SIGINT)
            progress(step, active_fraction)
        return engine(config, progress=press_once_at_step_25, **options)

    monkeypatch.setattr(module, name, engine_with_ctrl_c)
    dense = [*items, "steps=60", "checkpoint_every=10", "tracking=none"]
    run_dir = tmp_path / "r"
    assert cli.main([command, *dense, f"out={run_dir}"]) == 130
    assert f"neuralpack {command} config=" in capsys.readouterr().err
    assert sorted(p.name for p in run_dir.iterdir()) == ["checkpoint.npz", "config.yaml"]
    with np.load(run_dir / "checkpoint.npz") as checkpoint:
        assert int(checkpoint["step"]) == 20
    assert cli.main([command, *dense, f"out={run_dir}"]) == 2
    assert "resume=true continues it" in capsys.readouterr().err
    assert cli.main([command, *dense, f"out={run_dir}", "resume=true"]) == 0
    assert cli.main([command, *dense, f"out={tmp_path}/whole"]) == 0
    assert (run_dir / "series.csv").read_bytes() == (tmp_path / "whole" / "series.csv").read_bytes()


def test_demo_refuses_keys_it_does_not_take(tmp_path, capsys):
    assert cli.main(["demo", f"out={tmp_path}/demo", "n=100"]) == 2
    assert "error: n: " in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_bench_gets_the_remaining_arguments(monkeypatch):
    import experiments

    seen = []
    bench = types.ModuleType("experiments.bench.cases")
    bench.main = lambda argv: seen.append(argv) or 3
    monkeypatch.setitem(sys.modules, "experiments.bench.cases", bench)
    monkeypatch.setattr(experiments, "bench", bench, raising=False)
    assert cli.main(["bench", "--quick", "d=3"]) == 3
    assert seen == [["--quick", "d=3"]]


def test_a_run_of_another_kind_is_sent_to_its_command(tmp_path, capsys):
    trained = tmp_path / "t"
    assert cli.main(["train", "d=2", "n_classes=20", "phi=0.4", "steps=2", "tracking=none", f"out={trained}"]) == 0
    assert cli.main(["simulate", f"config={trained / formats.CONFIG}", f"out={tmp_path / 's'}"]) == 2
    assert "error: kind: class_manifolds runs are run by `neuralpack train`" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()
