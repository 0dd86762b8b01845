"""Train/test splits, kept free of torch so that configs can be checked against them cheaply.

The digits split is fixed: the same images are held out whatever the seed of a run.
"""
import functools

import numpy as np
from sklearn.datasets import load_digits

from physics_baseline.validate import as_float, as_int

DIGITS_TEST_FRACTION = 0.2
DIGITS_SPLIT_SEED = 0


def held_out_split(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint sorted index arrays (train, test) of 0..n-1 from a seeded permutation; the test
    part holds ``round(test_fraction * n)`` indices."""
    n = as_int("n", n, 1)
    test_fraction = as_float("test_fraction", test_fraction, 0.0, 1.0, low_open=False)
    permutation = np.random.default_rng(as_int("seed", seed, 0)).permutation(n)
    n_test = int(round(test_fraction * n))
    return np.sort(permutation[n_test:]), np.sort(permutation[:n_test])


@functools.cache
def digits_train_images() -> int:
    """How many images the digits train split holds (read once per process)."""
    return len(held_out_split(len(load_digits().target), DIGITS_TEST_FRACTION, DIGITS_SPLIT_SEED)[0])
