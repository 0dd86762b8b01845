"""`pip install .` without extras: the particle commands run, and a command that needs an extra
says which. A fresh interpreter hides the extras (None in sys.modules: importing one fails as a
missing module does, and find_spec finds nothing)."""
import subprocess
import sys

from neuralpack.suite import presets

EXTRAS = ("torch", "torchvision", "faiss", "sklearn", "wandb", "dask", "distributed", "dask_jobqueue")
HIDE = f"""
import sys
sys.modules.update(dict.fromkeys({EXTRAS!r}))
from neuralpack import cli
"""


def run_without_extras(arguments: list[str]) -> subprocess.CompletedProcess:
    script = HIDE + f"code = cli.main({arguments!r})\nimport sys\nsys.exit(code)"
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)


def test_simulate_and_a_particle_sweep_run_without_extras(tmp_path):
    simulated = run_without_extras(["simulate", "d=2", "n=100", "phi=0.5", "eps=0.05", "steps=20",
                                    f"out={tmp_path / 'one'}"])
    assert simulated.returncode == 0, simulated.stderr
    assert (tmp_path / "one" / "summary.json").exists() and not (tmp_path / "one" / "wandb").exists()
    swept = run_without_extras(["sweep", str(presets.shipped_path("sweeps", "smoke")), f"out={tmp_path / 'sweep'}",
                                "workers=1", "steps=20"])
    assert swept.returncode == 0, swept.stderr
    assert (tmp_path / "sweep" / "runs.csv").exists()


def test_a_command_that_needs_an_extra_names_it(tmp_path):
    trained = run_without_extras(["train", "d=2", "n_classes=20", "phi=0.5", "steps=5", f"out={tmp_path / 't'}"])
    assert trained.returncode == 2 and "pip install 'neuralpack[ml]'" in trained.stderr
    tracked = run_without_extras(["simulate", "d=2", "n=100", "phi=0.5", "eps=0.05", "tracking=offline",
                                  f"out={tmp_path / 's'}"])
    assert tracked.returncode == 2 and "pip install 'neuralpack[tracking]'" in tracked.stderr
    dask = run_without_extras(["sweep", str(presets.shipped_path("sweeps", "smoke")), f"out={tmp_path / 'd'}",
                               "executor=dask"])
    assert dask.returncode == 2 and "pip install 'neuralpack[cluster]'" in dask.stderr
    assert not (tmp_path / "t").exists() and not (tmp_path / "s").exists()
