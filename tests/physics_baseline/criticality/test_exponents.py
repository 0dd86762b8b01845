"""Analysis of the absorbing transition on synthetic data with known answers.

Every random input has a fixed seed. A fitted value must lie within 3 of its own error bars of the
planted one; where a check is not of that kind, the comment derives its tolerance.
"""
import numpy as np
import pytest

from physics_baseline.criticality import exponents


def test_exponent_table():
    three = exponents.exponents(3)
    assert (three.beta, three.nu_perp, three.nu_par) == (0.840, 0.593, 1.081)
    assert [round(exponents.exponents(d).z, 3) for d in (1, 2, 3)] == [1.393, 1.533, 1.823]
    assert exponents.exponents(4) == exponents.exponents(7) == exponents.exponents(2,
                                                                                   "mean_field") == exponents.MEAN_FIELD
    assert exponents.MEAN_FIELD.z == 2


def test_scaled_and_linear_size():
    assert exponents.linear_size(1000, 3) == pytest.approx(10.0)
    x, y = exponents.scaled(np.array([0.6, 0.7]), np.array([10.0, 100.0]), np.array([1.0, 2.0]), 0.65, 2.0, -1.0)
    np.testing.assert_allclose(x, [-5.0, 500.0])
    np.testing.assert_allclose(y, [0.1, 0.02])


def test_scaling_powers_below_and_above_the_upper_critical_dimension():
    manna = exponents.scaling_powers(exponents.exponents(3), 3)
    assert (manna.distance, manna.activity, manna.time) == pytest.approx(
        (1 / 0.593, 0.840 / 0.593, 1.081 / 0.593))
    assert exponents.scaling_powers(exponents.MEAN_FIELD, 4) == exponents.ScalingPowers(2.0, 2.0, 2.0)
    for d in (5, 6, 8):   # mean field in terms of n: f_a = n^(-1/2) F((phi - phi_c) n^(1/2))
        assert exponents.scaling_powers(exponents.MEAN_FIELD, d) == exponents.ScalingPowers(d / 2, d / 2, d / 2)
    assert exponents.scaling_powers(exponents.MEAN_FIELD, 3) == exponents.ScalingPowers(2.0, 2.0, 2.0)
    assert exponents.scaling_powers(exponents.exponents(3), 6) == manna   # Manna's powers do not stretch
