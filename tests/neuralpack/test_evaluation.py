import math

import numpy as np
import pytest
import torch

from neuralpack.evaluation import (
    accuracies,
    knn_accuracy,
    linear_probe_accuracy,
    pca_features,
)
from physics_baseline.validate import ConfigError


def blobs(per_class, classes=10, d=12, separation=10.0, seed=0):
    """Gaussian blobs, sigma = 1, centres separation * e_c (pairwise >= 10 sigma apart); labels 0..C-1."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(classes), per_class)
    return separation * np.eye(classes, d)[labels] + rng.normal(size=(len(labels), d)), labels


def pairwise_distances(a, b):
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1))


def on_circle(angles_degrees, radii):
    angles = np.radians(angles_degrees)
    return np.asarray(radii)[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def test_separated_blobs_are_classified_perfectly():
    train_x, train_y = blobs(per_class=30, seed=0)
    test_x, test_y = blobs(per_class=20, seed=1)
    assert knn_accuracy(train_x, train_y, test_x, test_y) == 1.0
    assert linear_probe_accuracy(train_x, train_y, test_x, test_y) == 1.0


@pytest.mark.parametrize("classes", [2, 5])
def test_features_independent_of_labels_give_chance_accuracy(classes):
    """Test labels drawn independently of everything: each prediction is right with probability
    exactly 1/C, so the accuracy is Binomial(n_test, 1/C) / n_test."""
    rng = np.random.default_rng(classes)
    train_x, test_x = rng.normal(size=(300, 8)), rng.normal(size=(800, 8))
    train_y, test_y = rng.integers(classes, size=300), rng.integers(classes, size=800)
    p = 1 / classes
    tolerance = 4 * math.sqrt(p * (1 - p) / len(test_y))
    result = accuracies(train_x, train_y, test_x, test_y)
    assert abs(result["knn_accuracy"] - p) < tolerance
    assert abs(result["linear_probe_accuracy"] - p) < tolerance


def test_knn_uses_cosine_similarity():
    """k = 1 on a circle: the nearest training direction wins whatever the radii. By Euclidean
    distance the small test points would all go to the small training point (label 0)."""
    train_x = on_circle([0, 90, 180, 270], [0.1, 5.0, 2.0, 30.0])
    test_x = on_circle([10, 100, 170, 280, 355], [0.1, 0.1, 0.1, 0.1, 40.0])
    train_y, test_y = np.array([0, 1, 2, 3]), np.array([0, 1, 2, 3, 0])
    assert knn_accuracy(train_x, train_y, test_x, test_y, k=1) == 1.0
    assert knn_accuracy(train_x, train_y, test_x, np.array([1, 2, 3, 0, 1]), k=1) == 0.0


def test_knn_majority_vote_and_k_capped_at_the_training_rows():
    train_x = on_circle([0, 20, 40, 180], [1.0, 1.0, 1.0, 1.0])
    train_y = np.array([0, 0, 0, 1])
    test_x = on_circle([175, 185], [1.0, 3.0])
    assert knn_accuracy(train_x, train_y, test_x, np.array([1, 1]), k=1) == 1.0
    assert knn_accuracy(train_x, train_y, test_x, np.array([0, 0]), k=3) == 1.0   # 0, 0 beat 1
    assert knn_accuracy(train_x, train_y, test_x, np.array([0, 0]), k=20) == 1.0  # k = 4: 3 votes to 1


def test_knn_tied_vote_goes_to_the_smallest_label():
    train_x = on_circle([0, 10], [1.0, 1.0])
    assert knn_accuracy(train_x, np.array([3, 1]), on_circle([5], [1.0]), np.array([1]), k=2) == 1.0


def test_rows_of_zeros_are_allowed():
    """A zero row stays zero: distance 0 to a zero training row, 1 to every unit row."""
    train_x = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    test_x = np.array([[0.0, 0.0], [3.0, 0.1]])
    assert knn_accuracy(train_x, np.array([5, 0, 1]), test_x, np.array([5, 0]), k=1) == 1.0


def test_accuracies_are_floats_and_accept_tensors():
    train_x, train_y = blobs(per_class=8, classes=3, d=4, separation=2.0, seed=2)
    test_x, test_y = blobs(per_class=8, classes=3, d=4, separation=2.0, seed=3)
    result = accuracies(train_x, train_y, test_x, test_y, seed=1)
    assert set(result) == {"knn_accuracy", "linear_probe_accuracy"}
    assert all(type(value) is float and 0 <= value <= 1 for value in result.values())
    assert result["knn_accuracy"] == knn_accuracy(train_x, train_y, test_x, test_y)
    as_tensors = [torch.tensor(train_x, dtype=torch.float32, requires_grad=True), torch.tensor(train_y),
                  torch.tensor(test_x, dtype=torch.float32), torch.tensor(test_y)]
    assert accuracies(*as_tensors, seed=1) == pytest.approx(result, abs=1 / len(test_y) + 1e-12)


def test_pca_of_a_plane_keeps_pairwise_distances():
    """Points on an affine 2-D plane of R^10, given as (n, 2, 5) rows: d = 2 is an isometry."""
    rng = np.random.default_rng(4)
    basis, _ = np.linalg.qr(rng.normal(size=(10, 2)))
    offset = rng.normal(size=10) * 3
    train_plane, test_plane = rng.normal(size=(40, 2)) * [5.0, 1.0], rng.normal(size=(15, 2))
    train_x = (train_plane @ basis.T + offset).reshape(40, 2, 5)
    test_x = (test_plane @ basis.T + offset).reshape(15, 2, 5)
    train, test = pca_features(train_x, test_x, d=2)
    assert train.shape == (40, 2) and test.shape == (15, 2) and train.dtype == test.dtype == np.float64
    np.testing.assert_allclose(pairwise_distances(train, train), pairwise_distances(train_plane, train_plane),
                               atol=1e-10)
    np.testing.assert_allclose(pairwise_distances(test, train), pairwise_distances(test_plane, train_plane), atol=1e-10)


@pytest.mark.parametrize("n_train,features,expected", [(30, 10, 10), (5, 10, 5)])
def test_pca_components_are_capped(n_train, features, expected):
    rng = np.random.default_rng(5)
    train, test = pca_features(rng.normal(size=(n_train, features)), rng.normal(size=(3, features)), d=50)
    assert train.shape == (n_train, expected) and test.shape == (3, expected)


def test_bad_accuracy_arguments_are_named():
    x, y = np.random.default_rng(6).normal(size=(6, 3)), np.array([0, 1, 0, 1, 0, 1])
    nan_row = x.copy()
    nan_row[2, 1] = math.nan
    cases = [
        ((x[:, 0], y, x, y), {}, "train_features"),
        ((x, y, np.zeros((0, 3)), y[:0]), {}, "test_features"),
        ((x, y, x[:, :2], y), {}, "test_features"),
        ((x, y, nan_row, y), {}, "test_features"),
        ((x, y[:5], x, y), {}, "train_labels"),
        ((x, np.zeros(6, dtype=int), x, y), {}, "train_labels"),
        ((x, y * 0.5, x, y), {}, "train_labels"),
        ((x, y, x, y[:, None]), {}, "test_labels"),
        ((x, y, x, y), {"k": 0}, "k"),
    ]
    for arguments, keywords, field in cases:
        with pytest.raises(ConfigError) as error:
            knn_accuracy(*arguments, **keywords)
        assert error.value.field == field, (field, error.value)
    with pytest.raises(ConfigError) as error:
        linear_probe_accuracy(x, y, x, y, seed=-1)
    assert error.value.field == "seed"


def test_bad_pca_arguments_are_named():
    x = np.random.default_rng(7).normal(size=(6, 3))
    for arguments, field in [((x, x, 0), "d"), ((x, x[:, :2], 2), "test_x"), ((x[0], x, 2), "train_x"),
                             ((x, np.full((2, 3), math.inf), 2), "test_x")]:
        with pytest.raises(ConfigError) as error:
            pca_features(*arguments)
        assert error.value.field == field
