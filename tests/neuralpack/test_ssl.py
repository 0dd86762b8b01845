import json
import math

import numpy as np
import pytest
import torch
from torch.nn import functional

from neuralpack import cli, data, packing_loss, ssl
from neuralpack.suite import formats, kinds, runner
from neuralpack.ssl_config import SSLConfig
from physics_baseline.validate import ConfigError

TINY = {"images": 96, "batch_size": 32, "views": 4, "d": 4, "steps": 24, "eval_every": 12, "record_every": 1,
        "probe_images": 40, "knn_k": 5, "baselines": False, "device": "cpu", "seed": 3}


@pytest.mark.parametrize("name, shape, dtype", [("digits", (5, 1, 8, 8), torch.float32),
                                                ("mnist", (5, 1, 28, 28), torch.uint8),
                                                ("cifar10", (5, 3, 32, 32), torch.uint8)])
def test_augmented_views_shapes_range_determinism(name, shape, dtype):
    generator = torch.Generator().manual_seed(0)
    images = (torch.rand(shape, generator=generator) * (255 if dtype == torch.uint8 else 1)).to(dtype)
    views = data.augmented_views(images, 3, data.augmentation(name), seed=7)
    assert views.shape == (shape[0], 3, *shape[1:]) and views.dtype == torch.float32
    assert views.min() >= 0 and views.max() <= 1
    assert torch.equal(views, data.augmented_views(images, 3, data.augmentation(name), seed=7))
    assert not torch.equal(views[:, 0], views[:, 1])                   # the views differ
    with pytest.raises(ConfigError) as error:
        data.augmented_views(images[0], 3, data.augmentation(name), seed=7)
    assert error.value.field == "images"


def test_digits_splits_are_disjoint_and_labelled():
    (train, train_labels), (test, test_labels) = data.image_splits("digits", images=100)
    assert train.shape == (100, 1, 8, 8) and test.shape == (359, 1, 8, 8)
    assert set(train_labels.tolist()) == set(range(10)) and len(test_labels) == 359
    flat_train, flat_test = {tuple(x.flatten().tolist()) for x in data.image_splits("digits")[0][0]}, \
        [tuple(x.flatten().tolist()) for x in test]
    assert sum(x in flat_train for x in flat_test) < 10                 # digits has a few duplicate images


def reference_packing_loss(embeddings, ids, bank, r_s, radius_weight, power):
    """Loops over every pair of the batch and of the batch with the bank, in numpy float64."""
    z = embeddings.detach().double().numpy()
    b, m, d = z.shape
    centres = z.mean(axis=1)
    radii = np.array([r_s * math.sqrt(((zi - zi.mean(0)) ** 2).sum() / m / min(m, d)) for zi in z])
    held_c, held_r, held_ids = (t.double().numpy() for t in bank.contents())
    others = [(centres[k], radii[k], int(ids[k]), k) for k in range(b)] + \
        [(held_c[k], held_r[k], int(held_ids[k]), None) for k in range(len(held_r))]
    total, active = 0.0, np.zeros(b, bool)
    for i in range(b):
        for j, (c, r, image, row) in enumerate(others):
            if (row is not None and row <= i) or image == int(ids[i]):
                continue
            distance = np.linalg.norm(centres[i] - c)
            if distance < radii[i] + r:
                total += 0.5 * (1 - distance / (radii[i] + r)) ** power
                active[i] = True
                if row is not None:
                    active[row] = True
    return total / b + radius_weight * np.mean(radii ** 2), active.mean()


@pytest.mark.parametrize("power", [1, 2])
def test_packing_loss_matches_loops_with_a_bank(power):
    generator = torch.Generator().manual_seed(power)
    bank = packing_loss.CentreBank(10, 5)
    for _ in range(2):                                                   # 12 entries: the oldest 2 dropped
        old = functional.normalize(torch.randn(6, 4, 5, generator=generator), dim=-1) * 0.2
        bank.add(old.mean(1), torch.rand(6, generator=generator) * 0.3, torch.randint(0, 30, (6,), generator=generator))
    assert len(bank.contents()[2]) == 10
    ids = torch.arange(12)
    ids[0] = bank.contents()[2][-1]                                      # an image whose old centre is in the bank
    embeddings = functional.normalize(torch.randn(12, 4, 5, generator=generator) * 0.3 + torch.randn(12, 1, 5, generator=generator) * 0.2, dim=-1)
    embeddings.requires_grad_()
    loss, active, centres, radii = packing_loss.packing_loss(embeddings, ids, bank, 0.5, 0.3, power, True)
    expected, expected_active = reference_packing_loss(embeddings, ids, bank, 0.5, 0.3, power)
    assert float(loss.detach()) == pytest.approx(expected, rel=1e-5) and active == pytest.approx(expected_active)
    assert 0 < active < 1
    loss.backward()
    assert torch.isfinite(embeddings.grad).all() and embeddings.grad.abs().sum() > 0
    assert centres.shape == (12, 5) and radii.shape == (12,) and not centres.requires_grad


@pytest.mark.parametrize("detach_radii", [True, False])
def test_a_hinge_with_detached_radii_moves_every_view_of_an_image_alike(detach_radii):
    """With the radii held constant the hinge depends on the views through their mean only, so
    every view of an image gets the same gradient; through the radii the views get different ones."""
    generator = torch.Generator().manual_seed(3)
    embeddings = functional.normalize(torch.randn(10, 4, 5, generator=generator) * 0.3
                                      + torch.randn(10, 1, 5, generator=generator) * 0.2, dim=-1)
    embeddings.requires_grad_()
    loss, active, _, _ = packing_loss.packing_loss(embeddings, torch.arange(10), packing_loss.CentreBank(0, 5),
                                                   0.5, 0.0, 2, detach_radii=detach_radii)
    loss.backward()
    assert active > 0
    per_view = embeddings.grad - embeddings.grad.mean(dim=1, keepdim=True)
    moved = embeddings.grad.abs().amax(dim=(1, 2)) > 0
    assert moved.any()
    if detach_radii:
        torch.testing.assert_close(per_view, torch.zeros_like(per_view), rtol=0, atol=1e-7)
    else:
        assert per_view[moved].abs().max() > 1e-3


def test_centre_bank_is_first_in_first_out_and_size_zero_holds_nothing():
    bank = packing_loss.CentreBank(3, 2)
    for k in range(4):
        bank.add(torch.full((1, 2), float(k)), torch.tensor([k / 10]), torch.tensor([k]))
    assert bank.contents()[2].tolist() == [1, 2, 3] and bank.contents()[0][:, 0].tolist() == [1, 2, 3]
    empty = packing_loss.CentreBank(0, 2)
    empty.add(torch.ones(4, 2), torch.ones(4), torch.arange(4))
    assert len(empty.contents()[0]) == 0


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


@pytest.mark.parametrize("field, value", [("views", 1), ("d", 1), ("loss", "triplet"), ("data", "imagenet"),
                                          ("batch_size", 200), ("images", 5000), ("optimizer", "rmsprop"), ("momentum", 1.0),
                                          ("profile", "nope"), ("colour", 3), ("baselines", "yes"),
                                          ("detach_radii", "no")])
def test_bad_settings_name_their_field(field, value):
    with pytest.raises(ConfigError) as error:
        SSLConfig.from_dict({"images": 100, field: value})
    assert error.value.field == field


def test_the_quick_profile_is_a_valid_preset_and_keys_override_it():
    config = kinds.get(kinds.SSL).config({"profile": "quick", "d": 3})
    assert config.d == 3 and config.encoder == "cnn" and config.data == "digits" and config.baselines
    assert config.total_steps == 2 * config.steps


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


def test_torchvision_sets_are_read_from_disk_only_and_laid_out_as_images(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True"):
        data.image_splits("mnist", root=tmp_path)
    mnist_like = type("D", (), {"data": torch.zeros(3, 28, 28, dtype=torch.uint8), "targets": [1, 2, 3]})
    cifar_like = type("D", (), {"data": np.zeros((3, 32, 32, 3), dtype=np.uint8), "targets": [4, 5, 6]})
    images, labels = data._as_tensors(mnist_like)
    assert images.shape == (3, 1, 28, 28) and images.dtype == torch.uint8 and labels.tolist() == [1, 2, 3]
    images, labels = data._as_tensors(cifar_like)
    assert images.shape == (3, 3, 32, 32) and labels.dtype == torch.int64


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
