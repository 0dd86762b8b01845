import io
import json

import faiss
import numba
import numpy as np
import pytest
import torch

from neuralpack import cli
from neuralpack.diverged import TrainingDiverged
from neuralpack.suite import formats
from neuralpack.train_config import TrainConfig
from neuralpack.training import PlainSGD, train
from physics_baseline import simulate
from physics_baseline.config import SimulationConfig
from physics_baseline.validate import ConfigError

TINY = ["encoder=embedding_table", "d=2", "n_classes=200", "phi=0.6", "lr=0.04", "batch_fraction=0.5",
        "steps=30", "tracking=none"]


@pytest.fixture(autouse=True)
def no_wandb(monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")


@pytest.fixture(autouse=True)
def one_thread_per_pool():
    """Run numba, torch and FAISS on one thread each. These systems are tiny, and on shared cores
    the three OpenMP pools, waiting for one another's workers at every parallel region, made the
    tests many times slower; results do not depend on the thread counts."""
    threads = numba.get_num_threads(), torch.get_num_threads(), faiss.omp_get_max_threads()
    numba.set_num_threads(1)
    torch.set_num_threads(1)
    faiss.omp_set_num_threads(1)
    yield
    numba.set_num_threads(threads[0])
    torch.set_num_threads(threads[1])
    faiss.omp_set_num_threads(threads[2])


def periodic_gap(a, b, side):
    """Largest minimum-image coordinate difference between two (n, d) configurations."""
    delta = a - b
    return np.abs(delta - side * np.round(delta / side)).max()


# (d, n, phi, batch, batch_fraction, steps): each run stays active for more than 100 steps (some absorb)
ANCHOR_CASES = [
    (2, 400, 0.62, "selective", 0.5, 250),
    (3, 400, 0.55, "selective", 0.5, 300),
    (5, 300, 0.2, "selective", 0.5, 200),
    (3, 400, 0.55, "probabilistic", 0.5, 300),
    (3, 400, 0.55, "selective", 1.0, 200),
]


@pytest.mark.parametrize("d, n, phi, batch, batch_fraction, steps", ANCHOR_CASES)
def test_embedding_table_on_the_torus_follows_particle_sgd(d, n, phi, batch, batch_fraction, steps):
    common = dict(d=d, phi=phi, lr=0.04, batch_fraction=batch_fraction, batch=batch, steps=steps, seed=1,
                  record_every=1)
    particles = simulate(SimulationConfig.from_dict(dict(dynamics="sgd", n=n, **common)))
    run = train(TrainConfig.from_dict(dict(encoder="embedding_table", space="torus", n_classes=n, **common)))

    assert len(run.steps) > 100 and run.active_fraction[-1] < 0.9 * run.active_fraction[0]
    assert np.array_equal(run.steps, particles.steps)
    assert np.array_equal(run.active_fraction, particles.active_fraction)
    assert np.array_equal(run.active_count, np.rint(particles.active_fraction * n).astype(np.int64))
    assert np.allclose(run.loss, particles.loss, rtol=1e-12, atol=1e-15)
    assert (run.absorbed, run.absorption_step) == (particles.absorbed, particles.absorption_step)
    assert run.side == particles.box
    assert periodic_gap(run.centres, particles.positions, run.side) <= 1e-9
    assert run.relaxation_time == particles.relaxation_time


ENCODER_CASES = [
    ("embedding_table", {}),
    ("random_feature_linear", {"features": 64}),
    ("mlp", {"radius": "measured", "r_s": 3.0}),
    ("cnn", {"data": "digits", "optimizer": "adam", "lr": 1e-3}),
]


@pytest.mark.parametrize("space", ["torus", "sphere"])
@pytest.mark.parametrize("encoder, options", ENCODER_CASES)
def test_every_encoder_trains_on_both_spaces(encoder, options, space):
    values = {"lr": 1e-3, **options}
    run = train(TrainConfig.from_dict(dict(encoder=encoder, space=space, d=3, n_classes=30, phi=0.4,
                                           samples_per_class=4, steps=4, seed=2, **values)))

    assert run.steps_taken == len(run.steps) - 1 or run.absorbed
    assert np.all(np.isfinite(run.loss)) and np.all(run.loss >= 0)
    assert np.array_equal(run.active_count, np.rint(run.active_fraction * 30).astype(np.int64))
    assert run.centres.shape == (30, 3) and run.centres.dtype == np.float64 and run.radii.shape == (30,)
    if space == "torus":
        assert np.all((run.centres >= 0) & (run.centres < run.side))
    else:
        assert run.side is None and np.allclose(np.linalg.norm(run.centres, axis=1), 1.0)


def test_mlp_loss_decreases_on_synthetic_manifolds():
    run = train(TrainConfig.from_dict(dict(encoder="mlp", space="torus", d=3, n_classes=100, phi=0.3, lr=3e-4,
                                           samples_per_class=4, steps=40, seed=1)))
    half = len(run.loss) // 2
    assert run.loss[half:].mean() < 0.5 * run.loss[:half].mean()
    assert run.active_fraction[-1] < run.active_fraction[0]


def test_same_seed_same_run_and_other_seed_other_run():
    config = dict(encoder="random_feature_linear", space="sphere", d=4, n_classes=40, phi=0.5, lr=1e-3,
                  samples_per_class=4, steps=5)
    first, again, other = (train(TrainConfig.from_dict({**config, "seed": seed})) for seed in (3, 3, 4))
    assert np.array_equal(first.centres, again.centres) and np.array_equal(first.loss, again.loss)
    assert not np.array_equal(first.centres, other.centres)


@pytest.mark.parametrize("encoder, options", [
    ("embedding_table", {"d": 2, "n_classes": 200, "phi": 0.7, "lr": 0.04}),
    ("mlp", {"d": 3, "n_classes": 40, "phi": 0.3, "lr": 1e-3, "optimizer": "adam", "samples_per_class": 4}),
])
def test_resumed_run_equals_an_uninterrupted_one(tmp_path, encoder, options):
    config = dict(encoder=encoder, seed=1, checkpoint_every=5, **options)
    checkpoint = tmp_path / "checkpoint.npz"
    first = train(TrainConfig.from_dict(dict(steps=10, **config)), checkpoint=checkpoint)
    assert not first.absorbed
    resumed = train(TrainConfig.from_dict(dict(steps=20, **config)), checkpoint=checkpoint, resume=True)
    whole = train(TrainConfig.from_dict(dict(steps=20, **config)))

    assert resumed.steps_taken == 10 and list(resumed.steps) == list(whole.steps)
    for series in ("active_fraction", "loss", "active_count"):
        assert np.array_equal(getattr(resumed, series), getattr(whole, series))
    assert np.array_equal(resumed.centres, whole.centres)


def test_existing_checkpoint_needs_resume_and_the_same_config(tmp_path):
    config, checkpoint = dict(d=2, n_classes=100, phi=0.6, steps=4, checkpoint_every=2), tmp_path / "c.npz"
    train(TrainConfig.from_dict(config), checkpoint=checkpoint)
    with pytest.raises(ConfigError) as error:
        train(TrainConfig.from_dict(config), checkpoint=checkpoint)
    assert error.value.field == "checkpoint"
    with pytest.raises(ConfigError, match="differs in lr"):
        train(TrainConfig.from_dict({**config, "lr": 0.05}), checkpoint=checkpoint, resume=True)


def test_nan_weight_stops_with_an_error_and_keeps_a_loadable_checkpoint(tmp_path, monkeypatch):
    real_step, calls = PlainSGD.step, []

    def step_then_poison(self):
        real_step(self)
        calls.append(None)
        if len(calls) == 5:
            with torch.no_grad():
                self.param_groups[0]["params"][0][7, 0] = float("nan")

    monkeypatch.setattr(PlainSGD, "step", step_then_poison)
    checkpoint = tmp_path / "checkpoint.npz"
    with pytest.raises(TrainingDiverged, match="step 5.*smaller lr") as error:
        train(TrainConfig.from_dict(dict(d=2, n_classes=200, phi=0.7, steps=50, checkpoint_every=2)),
              checkpoint=checkpoint)
    assert error.value.step == 5 and error.value.checkpoint == checkpoint
    with np.load(checkpoint) as saved:
        assert int(saved["step"]) == 4 and list(saved["steps"]) == [0, 1, 2, 3]
        state = torch.load(io.BytesIO(saved["state"].tobytes()), weights_only=True)
    assert torch.isfinite(state["encoder"]["weight"]).all()


def test_cli_exits_3_when_training_diverges_and_keeps_the_checkpoint(tmp_path, capsys):
    run_dir = tmp_path / "r"
    code = cli.main(["train", "encoder=mlp", "n_classes=30", "samples_per_class=4", "lr=1e30", "steps=20",
                     "checkpoint_every=1", "tracking=none", f"out={run_dir}"])
    assert code == 3
    assert "error: training diverged at step" in capsys.readouterr().err
    assert sorted(p.name for p in run_dir.iterdir()) == ["checkpoint.npz", "config.yaml"]
    with np.load(run_dir / "checkpoint.npz") as saved:
        assert int(saved["step"]) >= 1


@pytest.mark.parametrize("bad, field", [
    (["lr=-1"], "lr"), (["space=cube"], "space"), (["encoder=cnn"], "data"), (["bar=2"], "bar"),
    (["tracking=loud"], "tracking"),
])
def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, bad, field):
    assert cli.main(["train", *TINY, *bad, f"out={tmp_path}/r"]) == 2
    assert f"error: {field}: " in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_writes_a_consistent_run_directory(tmp_path, capsys):
    run_dir = tmp_path / "r"
    assert cli.main(["train", *TINY, f"out={run_dir}"]) == 0
    assert str(run_dir) in capsys.readouterr().out

    kind, config = formats.read_config(run_dir)
    assert TrainConfig.from_dict(config).to_dict() == config and config["n_classes"] == 200
    summary = json.loads((run_dir / "summary.json").read_text())
    table = np.loadtxt(run_dir / "series.csv", delimiter=",", skiprows=1)
    assert (run_dir / "series.csv").read_text().splitlines()[0] == "step,active_fraction,loss,active_count"
    with np.load(run_dir / "final.npz") as final:
        centres, radii, side = final["centres"], final["radii"], float(final["side"])

    assert summary["config_key"] == formats.run_key(config) and (summary["n_classes"], summary["d"]) == (200, 2)
    assert list(table[:, 0]) == list(range(31)) and summary["last_step"] == 30
    assert table[-1, 1] == summary["final_active_fraction"] and table[-1, 3] == summary["final_active_count"]
    assert np.array_equal(table[:, 3], np.rint(table[:, 1] * 200))
    assert centres.shape == (200, 2) and np.all((centres >= 0) & (centres < side)) and np.all(radii == 0.5)
    assert (run_dir / "active_fraction.png").stat().st_size > 0


def test_cli_resume_equals_an_uninterrupted_run(tmp_path):
    args = [*TINY, "phi=0.7", "checkpoint_every=10"]
    assert cli.main(["train", *args, "steps=20", f"out={tmp_path}/split"]) == 0
    assert cli.main(["train", *args, "steps=40", "resume=true", f"out={tmp_path}/split"]) == 0
    assert cli.main(["train", *args, "steps=40", f"out={tmp_path}/whole"]) == 0
    assert json.loads((tmp_path / "split" / "summary.json").read_text())["last_step"] == 40
    assert (tmp_path / "split" / "series.csv").read_bytes() == (tmp_path / "whole" / "series.csv").read_bytes()
    with np.load(tmp_path / "split" / "final.npz") as split, np.load(tmp_path / "whole" / "final.npz") as whole:
        assert np.array_equal(split["centres"], whole["centres"])
