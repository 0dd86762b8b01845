"""How good frozen features are: kNN and linear-probe accuracy on held-out labels, and PCA features.

Features are (n, d) float arrays or torch tensors (converted to float64 numpy), labels (n,)
integer class labels; accuracies are fractions of test rows classified correctly, in [0, 1].
The classifiers are scikit-learn's, fitted on the training rows only.
"""
import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from physics_baseline.validate import ConfigError, as_int


def knn_accuracy(train_features, train_labels, test_features, test_labels, k: int = 20) -> float:
    """Accuracy of the k-nearest-neighbour vote under cosine similarity.

    Rows are L2-normalised (rows of zeros stay zero), then the min(k, n_train) nearest training
    rows in Euclidean distance, i.e. the most cosine-similar, vote with equal weight; a tied vote
    goes to the smallest label (scikit-learn's rule).
    """
    train_x, train_y, test_x, test_y = _checked(train_features, train_labels, test_features, test_labels)
    k = min(as_int("k", k, 1), len(train_x))
    classifier = KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(_unit_rows(train_x), train_y)
    return float(classifier.score(_unit_rows(test_x), test_y))


def linear_probe_accuracy(train_features, train_labels, test_features, test_labels, seed: int = 0) -> float:
    """Accuracy of a multinomial logistic regression (C = 1, lbfgs, max_iter 2000) on features
    standardised with the training mean and standard deviation. seed is its random_state
    (lbfgs itself is deterministic)."""
    train_x, train_y, test_x, test_y = _checked(train_features, train_labels, test_features, test_labels)
    probe = make_pipeline(StandardScaler(),
                          LogisticRegression(C=1.0, max_iter=2000, random_state=as_int("seed", seed, 0, 2 ** 32 - 1)))
    return float(probe.fit(train_x, train_y).score(test_x, test_y))


def accuracies(train_features, train_labels, test_features, test_labels, seed: int = 0, k: int = 20) -> dict:
    """{"knn_accuracy": ..., "linear_probe_accuracy": ...} as floats."""
    data = (train_features, train_labels, test_features, test_labels)
    return {"knn_accuracy": knn_accuracy(*data, k=k), "linear_probe_accuracy": linear_probe_accuracy(*data, seed=seed)}


def pca_features(train_x, test_x, d: int) -> tuple[np.ndarray, np.ndarray]:
    """(train (n_train, d'), test (n_test, d')) float64 projections on the top principal axes.

    Rows (n, ...) of any shape are flattened; the axes are fitted on train_x only, with
    d' = min(d, n_features, n_train) components. The randomised solver scikit-learn picks for
    large inputs is seeded (random_state 0), so the result is deterministic.
    """
    train = _features("train_x", train_x, flatten=True)
    test = _features("test_x", test_x, flatten=True)
    _check_same_width(train, test, "train_x", "test_x")
    components = min(as_int("d", d, 1), train.shape[1], len(train))
    pca = PCA(n_components=components, random_state=0).fit(train)
    return pca.transform(train).astype(np.float64), pca.transform(test).astype(np.float64)


def _checked(train_features, train_labels, test_features, test_labels):
    """The four arguments as numpy arrays, or a ConfigError naming the first bad one."""
    train_x = _features("train_features", train_features)
    test_x = _features("test_features", test_features)
    _check_same_width(train_x, test_x, "train_features", "test_features")
    train_y = _labels("train_labels", train_labels, len(train_x), "train_features")
    test_y = _labels("test_labels", test_labels, len(test_x), "test_features")
    if len(np.unique(train_y)) < 2:
        raise ConfigError("train_labels", f"must hold at least 2 classes, got {np.unique(train_y).tolist()}")
    return train_x, train_y, test_x, test_y


def _features(name: str, value, flatten: bool = False) -> np.ndarray:
    """value as a finite float64 (n, d) array, n, d >= 1; with flatten, rows of any shape."""
    try:
        x = np.asarray(_numpy(value), dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(name, f"must be an array of numbers, got {type(value).__name__}") from None
    if flatten and x.ndim > 2:
        x = x.reshape(x.shape[0], int(np.prod(x.shape[1:])))
    if x.ndim != 2 or 0 in x.shape:
        rows = "rows (n, ...)" if flatten else "shape (n, d)"
        raise ConfigError(name, f"must have {rows} with at least one row and one feature, got {x.shape}")
    if not np.isfinite(x).all():
        raise ConfigError(name, f"must be finite; {np.count_nonzero(~np.isfinite(x))} entries are NaN or inf")
    return x


def _labels(name: str, value, rows: int, features_name: str) -> np.ndarray:
    """value as an integer array (rows,), one label per row of features_name."""
    y = np.asarray(_numpy(value))
    if y.shape != (rows,):
        raise ConfigError(name, f"must have shape ({rows},), one label per row of {features_name}, got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ConfigError(name, f"must hold integer class labels, got dtype {y.dtype}")
    return y


def _check_same_width(train: np.ndarray, test: np.ndarray, train_name: str, test_name: str) -> None:
    if test.shape[1] != train.shape[1]:
        raise ConfigError(test_name, f"has {test.shape[1]} features per row, {train_name} has {train.shape[1]}")


def _numpy(value):
    """A torch tensor as a numpy array (detached, on the CPU); anything else unchanged."""
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value


def _unit_rows(x: np.ndarray) -> np.ndarray:
    """x (n, d) with each nonzero row divided by its L2 norm; rows of zeros stay zero."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norms > 0, norms, 1.0)
