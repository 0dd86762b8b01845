import sys
import types

import numpy as np

from neuralpack.suite import tracking


class FakeRun:
    def __init__(self):
        self.logged, self.summary, self.finished = [], {}, None

    def log(self, data, step=None):
        self.logged.append((step, data))

    def finish(self, exit_code=None):
        self.finished = exit_code


def fake_wandb(monkeypatch):
    run = FakeRun()
    calls = []

    def init(**kwargs):
        calls.append(kwargs)
        return run

    module = types.SimpleNamespace(init=init, Settings=lambda **kwargs: kwargs, Image=lambda path: ("image", path))
    monkeypatch.setitem(sys.modules, "wandb", module)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    return run, calls


def test_series_is_thinned_to_increasing_simulation_steps(monkeypatch, tmp_path):
    run, calls = fake_wandb(monkeypatch)
    steps = np.arange(0, 50000, 5)
    with tracking.Tracker("offline", tmp_path, {"n": 10}, "r") as tracker:
        tracker.log_series(steps, np.linspace(1, 0, len(steps)), np.zeros(len(steps)))
        tracker.log_summary({"absorbed": True})
    logged_steps = [step for step, _ in run.logged]
    assert calls[0]["mode"] == "offline" and calls[0]["project"] == "neuralpack" and calls[0]["dir"] == tmp_path
    assert len(logged_steps) == tracking.MAX_POINTS
    assert logged_steps[0] == 0 and logged_steps[-1] == steps[-1]
    assert np.all(np.diff(logged_steps) > 0)
    assert run.summary == {"absorbed": True} and run.finished == 0


def test_none_mode_and_disabled_environment_never_start_wandb(monkeypatch, tmp_path):
    run, calls = fake_wandb(monkeypatch)
    with tracking.Tracker("none", tmp_path) as tracker:
        tracker.log_series(np.arange(3), np.ones(3), np.ones(3))
    monkeypatch.setenv("WANDB_MODE", "disabled")
    with tracking.Tracker("offline", tmp_path) as tracker:
        tracker.log_image("f_a", tmp_path / "x.png")
    assert calls == [] and run.logged == []
