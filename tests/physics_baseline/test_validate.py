import math

import pytest

from physics_baseline.config import SimulationConfig
from physics_baseline.validate import (
    ConfigError,
    as_choice,
    as_float,
    as_int,
    refuse_unknown_keys,
)


@pytest.mark.parametrize("value, low, high, expected", [(3, 1, 8, 3), ("5", 1, 8, 5), (2.0, 0, math.inf, 2)])
def test_as_int_takes_integers_in_range(value, low, high, expected):
    assert as_int("n", value, low, high) == expected and type(as_int("n", value, low, high)) is int


@pytest.mark.parametrize("value", [True, 2.5, "x", None, float("inf"), 0, 9])
def test_as_int_names_the_field_and_the_range(value):
    with pytest.raises(ConfigError) as error:
        as_int("d", value, 1, 8)
    assert error.value.field == "d"
    assert str(error.value) == f"d: must be an integer in [1, 8], got {value!r}"


def test_as_float_open_and_closed_lower_ends():
    assert as_float("phi", 0.5, 0.0) == 0.5 and as_float("size_ratio", 1.0, 1.0, low_open=False) == 1.0
    with pytest.raises(ConfigError, match=r"^phi: must be a finite number in \(0.0, inf\], got 0.0$"):
        as_float("phi", 0.0, 0.0)
    with pytest.raises(ConfigError, match=r"^b: must be a finite number in \[0.0, 1.0\], got 1.5$"):
        as_float("b", 1.5, 0.0, 1.0, low_open=False)
    for bad in (float("nan"), "x", True, None):
        with pytest.raises(ConfigError):
            as_float("eps", bad, 0.0)


def test_as_choice_lists_the_choices_sorted():
    assert as_choice("batch", "selective", ("selective", "probabilistic")) == "selective"
    with pytest.raises(ConfigError, match=r"^batch: must be one of probabilistic, selective; got 'all'$"):
        as_choice("batch", "all", ("selective", "probabilistic"))


def test_refuse_unknown_keys_names_the_key_and_the_known_ones():
    with pytest.raises(ConfigError) as error:
        refuse_unknown_keys(SimulationConfig, {"dynamics": "bro", "colour": 3}, "for particles")
    assert error.value.field == "colour"
    assert str(error.value).startswith("colour: unknown key for particles; known keys: algorithm, batch")
    refuse_unknown_keys(SimulationConfig, {"dynamics": "bro", "d": 3})
