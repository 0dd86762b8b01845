import numpy as np
import pytest
import torch
import torchvision

from neuralpack import data
from physics_baseline.validate import ConfigError


def test_synthetic_manifolds_shapes_labels_and_determinism():
    x, labels = data.synthetic_manifolds(4, 6, 10, 3, 0.5, seed=3)
    assert x.shape == (24, 10) and x.dtype == torch.float32
    assert labels.dtype == torch.int64 and labels.tolist() == [c for c in range(4) for _ in range(6)]
    again, _ = data.synthetic_manifolds(4, 6, 10, 3, 0.5, seed=3)
    other, _ = data.synthetic_manifolds(4, 6, 10, 3, 0.5, seed=4)
    assert torch.equal(x, again) and not torch.equal(x, other)


def test_synthetic_manifolds_are_balls_of_the_given_radius_and_dimension():
    radius, k = 0.3, 2
    x, _ = data.synthetic_manifolds(3, 200, 8, k, radius, seed=0)
    for samples in x.double().reshape(3, 200, 8):
        spread = samples - samples.mean(dim=0)
        assert torch.linalg.vector_norm(spread, dim=1).max() < 2 * radius
        singular = torch.linalg.svdvals(spread)
        assert singular[k] < 1e-5 * singular[0]                     # spans exactly k dimensions


def test_synthetic_manifolds_names_the_bad_argument():
    with pytest.raises(ConfigError) as error:
        data.synthetic_manifolds(3, 5, 4, 5, 0.1, seed=0)
    assert error.value.field == "manifold_dim"


def test_held_out_split_is_disjoint_and_complete():
    train, test = data.held_out_split(100, 0.2, seed=1)
    assert len(test) == 20 and len(train) == 80
    assert not set(train) & set(test) and sorted(set(train) | set(test)) == list(range(100))
    again_train, _ = data.held_out_split(100, 0.2, seed=1)
    np.testing.assert_array_equal(train, again_train)


def test_digits_views_shapes_range_labels_and_determinism():
    views, labels = data.digits_views(n_images=30, views=4, seed=5)
    assert views.shape == (30, 4, 1, 8, 8) and views.dtype == torch.float32
    assert views.min() >= 0 and views.max() <= 1
    assert labels.shape == (30,) and labels.dtype == torch.int64
    assert 0 <= labels.min() and labels.max() <= 9
    assert torch.equal(views, data.digits_views(n_images=30, views=4, seed=5)[0])
    assert not torch.equal(views, data.digits_views(n_images=30, views=4, seed=6)[0])


def test_digits_views_leave_the_global_rng_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    data.digits_views(n_images=2, views=2, seed=1)
    assert torch.equal(torch.rand(3), expected)


def test_views_of_one_image_differ_but_stay_close():
    views, _ = data.digits_views(n_images=60, views=2, seed=0)
    within = (views[:, 0] - views[:, 1]).abs().mean(dim=(1, 2, 3))
    across = (views[1:, 0] - views[:-1, 1]).abs().mean()
    assert (within > 0).all()
    # pixels in [0, 1]; a one-pixel shift of an 8x8 digit moves most of the ink, hence ~0.2
    assert within.mean() < 0.3 and within.mean() < across


def test_digits_train_and_test_images_are_disjoint():
    train, test = data.held_out_split(1797, data.DIGITS_TEST_FRACTION, data.DIGITS_SPLIT_SEED)
    assert not set(train) & set(test) and len(train) + len(test) == 1797
    _, test_labels = data.digits_views(views=1, train=False)
    assert len(test_labels) == len(test)


def test_torchvision_dataset_builds_the_named_dataset(monkeypatch, tmp_path):
    calls = []

    class Fake:
        def __init__(self, root, train, download, transform):
            calls.append((root, train, download))

    monkeypatch.setitem(data.TORCHVISION_DATASETS, "cifar10", Fake)
    assert isinstance(data.torchvision_dataset("cifar10", tmp_path, train=False), Fake)
    assert calls == [(str(tmp_path), False, False)]
    assert data.TORCHVISION_DATASETS["mnist"] is torchvision.datasets.MNIST


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_missing_dataset_says_to_download(tmp_path, name):
    with pytest.raises(FileNotFoundError, match="download=True"):
        data.torchvision_dataset(name, tmp_path)


def test_unknown_dataset_names_the_name_field(tmp_path):
    with pytest.raises(ConfigError) as error:
        data.torchvision_dataset("imagenet", tmp_path)
    assert error.value.field == "name"


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


def test_torchvision_sets_are_read_from_disk_only_and_laid_out_as_images(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True"):
        data.image_splits("mnist", root=tmp_path)
    mnist_like = type("D", (), {"data": torch.zeros(3, 28, 28, dtype=torch.uint8), "targets": [1, 2, 3]})
    cifar_like = type("D", (), {"data": np.zeros((3, 32, 32, 3), dtype=np.uint8), "targets": [4, 5, 6]})
    images, labels = data._as_tensors(mnist_like)
    assert images.shape == (3, 1, 28, 28) and images.dtype == torch.uint8 and labels.tolist() == [1, 2, 3]
    images, labels = data._as_tensors(cifar_like)
    assert images.shape == (3, 3, 32, 32) and labels.dtype == torch.int64
