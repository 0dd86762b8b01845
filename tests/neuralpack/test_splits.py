import numpy as np
import pytest

from neuralpack.splits import DIGITS_TEST_FRACTION, digits_train_images, held_out_split
from physics_baseline.validate import ConfigError


def test_a_split_is_disjoint_complete_sorted_and_seeded():
    train, test = held_out_split(100, 0.25, seed=3)
    assert len(test) == 25 and len(train) == 75
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(100))
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)
    again, other = held_out_split(100, 0.25, seed=3), held_out_split(100, 0.25, seed=4)
    assert np.array_equal(again[1], test) and not np.array_equal(other[1], test)


@pytest.mark.parametrize("n, fraction, seed, field", [(0, 0.2, 0, "n"), (10, 1.5, 0, "test_fraction"),
                                                      (10, 0.2, -1, "seed")])
def test_bad_split_arguments_are_named(n, fraction, seed, field):
    with pytest.raises(ConfigError) as error:
        held_out_split(n, fraction, seed)
    assert error.value.field == field


def test_the_digits_train_split_holds_four_fifths_of_the_1797_images():
    assert digits_train_images() == 1797 - round(DIGITS_TEST_FRACTION * 1797)
