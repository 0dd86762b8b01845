import json
import math

import numpy as np
import pytest
import torch

from neuralpack import cli, data, ssl
from neuralpack.ssl_config import SSLConfig
from neuralpack.suite import formats, kinds, runner
from physics_baseline.validate import ConfigError

TINY = {"images": 96, "batch_size": 32, "views": 4, "d": 4, "steps": 24, "eval_every": 12, "record_every": 1,
        "probe_images": 40, "knn_k": 5, "baselines": False, "device": "cpu", "seed": 3}


def test_a_tiny_run_lowers_its_loss_and_records_its_observables():
    run = ssl.train(SSLConfig.from_dict(TINY))
    assert len(run.loss) == TINY["steps"] and run.steps.tolist() == list(range(TINY["steps"]))
    assert np.mean(run.loss[-6:]) < np.mean(run.loss[:6])
    assert [e["step"] for e in run.evaluations] == [0, 12, 24]
    for evaluation in run.evaluations:
        assert 0 <= evaluation["knn_accuracy"] <= 1 and 0 <= evaluation["active_fraction"] <= 1
        assert evaluation["radius_q10"] <= evaluation["radius_q50"] <= evaluation["radius_q90"]
        assert 0 < evaluation["nn_distance"] <= evaluation["centre_distance"] <= 2
    assert run.probe_centres.shape == (40, 4) and run.probe_radii.shape == (40,)
    assert run.evaluations[-1]["radius_mean"] == pytest.approx(run.probe_radii.mean(), rel=1e-5)


def test_a_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path):
    config = {**TINY, "bank": 40, "checkpoint_every": 8}
    whole = ssl.train(SSLConfig.from_dict(config))
    ssl.train(SSLConfig.from_dict({**config, "steps": 16}), checkpoint=tmp_path / "checkpoint.npz")
    resumed = ssl.train(SSLConfig.from_dict(config), checkpoint=tmp_path / "checkpoint.npz", resume=True)
    assert resumed.steps_taken == 8
    np.testing.assert_array_equal(resumed.loss, whole.loss)
    assert resumed.evaluations == whole.evaluations
    for a, b in zip(resumed.encoder.parameters(), whole.encoder.parameters()):
        assert torch.equal(a, b)
    with pytest.raises(ConfigError) as error:
        ssl.train(SSLConfig.from_dict({**config, "r_s": 2.0}), checkpoint=tmp_path / "checkpoint.npz", resume=True)
    assert error.value.field == "checkpoint"


def test_the_summary_holds_every_baseline_with_the_same_keys(tmp_path):
    config = SSLConfig.from_dict({**TINY, "steps": 6, "eval_every": 0, "baselines": True})
    run = runner.run(kinds.get(kinds.SSL), config, tmp_path, runner.Options(show_progress=False))
    summary = formats.read_summary(tmp_path)
    assert json.loads((tmp_path / formats.SUMMARY).read_text()) == summary
    assert set(summary["baselines"]) == {"random_encoder", "pca", "raw_pixels", "infonce"}
    for values in summary["baselines"].values():
        assert 0 <= values["knn_accuracy"] <= 1 and 0 <= values["linear_probe_accuracy"] <= 1
    assert 0 <= summary["knn_accuracy"] <= 1 and 0 <= summary["linear_probe_accuracy"] <= 1
    for name in (formats.SERIES, ssl.EVALUATIONS, formats.FINAL, ssl.ENCODER, "ssl_training.png"):
        assert (tmp_path / name).exists()
    weights = torch.load(tmp_path / ssl.ENCODER, weights_only=True)
    assert all(torch.equal(weights[k], v) for k, v in run.encoder.state_dict().items())


def test_an_untrained_infonce_run_has_the_random_encoders_accuracy():
    run = ssl.train(SSLConfig.from_dict({**TINY, "steps": 0, "eval_every": 0, "baselines": True, "loss": "infonce"}))
    assert "infonce" not in run.baselines
    assert run.knn_accuracy == run.baselines["random_encoder"]["knn_accuracy"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="the machine has a GPU")
def test_cuda_without_a_gpu_is_refused_and_auto_picks_the_cpu():
    assert ssl.pick_device("auto") == torch.device("cpu")
    with pytest.raises(ConfigError) as error:
        ssl.pick_device("cuda")
    assert error.value.field == "device"


def test_the_train_command_runs_a_self_supervised_run(tmp_path, capsys):
    out = tmp_path / "run"
    items = [f"{k}={v}" for k, v in {**TINY, "steps": 4, "eval_every": 0}.items()]
    assert cli.main(["train", "task=ssl", "profile=quick", *items, f"out={out}", "tracking=none"]) == 0
    printed = capsys.readouterr().out
    assert "kNN accuracy" in printed and str(out) in printed
    summary = json.loads((out / formats.SUMMARY).read_text())
    assert summary["d"] == TINY["d"] and (out / formats.CONFIG).exists()
    assert cli.main(["train", "task=ssl", "views=1", f"out={tmp_path / 'bad'}"]) == 2
    assert "views" in capsys.readouterr().err and not (tmp_path / "bad").exists()


def test_effective_packing_fraction_sums_cap_areas():
    # a cap of chord radius sqrt(2) is a hemisphere (angle pi / 2); chord 2 covers the whole sphere
    assert ssl.effective_packing_fraction(np.array([math.sqrt(2)] * 3), 5) == pytest.approx(1.5)
    assert ssl.effective_packing_fraction(np.array([2.0, 0.0]), 8) == pytest.approx(1.0)
    # small caps on S^1 (d = 2): fraction angle / pi
    assert ssl.effective_packing_fraction(np.array([0.1]), 2) == pytest.approx(2 * math.asin(0.05) / math.pi)


def test_a_cifar_shaped_run_trains_on_uint8_images(monkeypatch):
    """The MNIST / CIFAR-10 path without their files: uint8 (n, 3, 32, 32) images in place of the
    torchvision sets, SimCLR's augmentation, the CNN with three input channels."""
    generator = torch.Generator().manual_seed(0)

    def fake_splits(name, root, download, images):
        assert name == "cifar10" and not download
        make = lambda n: ((torch.rand(n, 3, 32, 32, generator=generator) * 255).to(torch.uint8),
                          torch.randint(0, 10, (n,), generator=generator))
        return make(images), make(30)

    monkeypatch.setattr(data, "image_splits", fake_splits)
    run = ssl.train(SSLConfig.from_dict({**TINY, "data": "cifar10", "images": 64, "steps": 3, "probe_images": 20,
                                         "baselines": True, "eval_every": 0}))
    assert np.isfinite(run.loss).all() and run.probe_centres.shape == (20, TINY["d"])
    assert set(run.baselines) == {"random_encoder", "pca", "raw_pixels", "infonce"}


def test_standardise_adds_a_batch_normalisation_without_learnt_scale():
    shape = (1, 8, 8)
    plain = ssl.ssl_encoder(SSLConfig.from_dict({**TINY, "standardise": False}), shape)
    standardised = ssl.ssl_encoder(SSLConfig.from_dict(TINY), shape)
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in plain.modules())
    norm = standardised[-1]
    assert isinstance(norm, torch.nn.BatchNorm1d) and not norm.affine
    x = torch.rand(16, *shape, generator=torch.Generator().manual_seed(1))
    standardised.train()
    out = standardised(x)                                     # training mode: batch statistics
    torch.testing.assert_close(out.mean(0), torch.zeros(TINY["d"]), atol=1e-5, rtol=0)
    before = standardised[0](x).var(0, unbiased=False)          # unit variance up to BatchNorm's eps
    torch.testing.assert_close(out.var(0, unbiased=False), before / (before + norm.eps), rtol=1e-4, atol=0)
    assert torch.equal(standardised[0].state_dict()["0.weight"], plain.state_dict()["0.weight"])


def test_a_batch_larger_than_the_digits_train_split_is_refused_before_anything_runs(tmp_path, capsys):
    with pytest.raises(ConfigError) as error:
        SSLConfig.from_dict({"batch_size": 2000})
    assert error.value.field == "batch_size" and "1438" in str(error.value)
    assert cli.main(["train", "task=ssl", "images=5000", f"out={tmp_path / 'bad'}"]) == 2
    assert "images" in capsys.readouterr().err and not (tmp_path / "bad").exists()
