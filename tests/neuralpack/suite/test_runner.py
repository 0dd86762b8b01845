import pytest

from neuralpack.suite import formats, kinds, runner
from physics_baseline.validate import ConfigError

PARTICLES = kinds.get(kinds.PARTICLES)


@pytest.fixture
def config():
    return PARTICLES.config({"d": 2, "n": 100, "phi": 0.6, "eps": 0.05, "steps": 40, "checkpoint_every": 20, "seed": 2})


def test_a_run_writes_its_kind_files_and_figure(tmp_path, config):
    run = runner.run(PARTICLES, config, tmp_path / "r", runner.Options(show_progress=False))
    run_dir = tmp_path / "r"
    assert formats.read_config(run_dir) == ("particles", config.to_dict())
    assert formats.read_summary(run_dir)["last_step"] == run.steps[-1] == 40
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(
        ["config.yaml", "checkpoint.npz", "series.csv", "final.npz", "summary.json", "active_fraction.png",
         "active_fraction.pdf"])


def test_a_sweep_worker_writes_no_figure_and_resumes(tmp_path, config):
    runner.run(PARTICLES, config, tmp_path / "r", runner.SWEEP_WORKER)
    assert not (tmp_path / "r" / formats.PLOT).exists()
    longer = PARTICLES.config({**config.to_dict(), "steps": 60})
    assert runner.run(PARTICLES, longer, tmp_path / "r", runner.SWEEP_WORKER).steps_taken == 20


def test_a_finished_run_is_kept_unless_told(tmp_path, config):
    quiet = runner.Options(show_progress=False, plot=False)
    runner.run(PARTICLES, config, tmp_path / "r", quiet)
    before = (tmp_path / "r" / formats.SERIES).read_bytes()
    with pytest.raises(ConfigError, match="holds a finished run") as error:
        runner.run(PARTICLES, config, tmp_path / "r", quiet)
    assert error.value.field == "out" and (tmp_path / "r" / formats.SERIES).read_bytes() == before
