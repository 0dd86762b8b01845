"""Analysis of the absorbing transition on synthetic data with known answers.

Every random input has a fixed seed. A fitted value must lie within 3 of its own error bars of the
planted one; where a check is not of that kind, the comment derives its tolerance.
"""
import numpy as np
import pytest

from physics_baseline.criticality import collapse, critical_point, exponents, steady
from physics_baseline.criticality.estimates import Estimate

PHI_C = 0.62
MANNA = exponents.exponents(3)
SIZES = exponents.linear_size(np.array([1000, 4000, 16000, 64000]), 3)


BAD = [
    (lambda: steady.is_steady(np.ones(100)), "active_fraction"),
    (lambda: steady.is_steady(np.ones(1000), windows=1), "windows"),
    (lambda: steady.steady_state([np.ones(5)]), "runs"),
    (lambda: steady.steady_state([np.ones(5), np.ones(5)], tail=0), "tail"),
    (lambda: steady.integrated_relaxation_time([0, 1, 1], [0.5, 0.4, 0.3]), "steps"),
    (lambda: steady.integrated_relaxation_time([0, 1], [0.5, np.nan]), "active_fraction"),
    (lambda: steady.exponential_relaxation_time([0, 1, 2, 3, 4], [0.5, 0.4, 0.3, 0.2]), "steps"),
    (lambda: critical_point.phi_c_from_absorption([0.6, 0.7], [1, 0]), "absorbed"),
    (lambda: critical_point.phi_c_from_absorption([0.6, 0.7], [True, True]), "absorbed"),
    (lambda: critical_point.phi_c_from_absorption([0.6, 0.6], [True, False]), "phi"),
    (lambda: critical_point.phi_c_from_power_law([0.6, 0.7, 0.8], [0.1, 0.2, 0.3]), "f_inf"),
    (lambda: critical_point.phi_c_from_power_law(np.arange(5.0), np.ones(5), -np.ones(5)), "f_err"),
    (lambda: critical_point.extrapolate_to_zero([0.1, 0.2], [0.6, 0.5], [0.01, 0.01]), "step_sizes"),
    (lambda: critical_point.extrapolate_to_zero([0.1, 0.2], [0.6, 0.5], [0.01, 0.01], "cubic"), "form"),
    (lambda: critical_point.extrapolate_to_zero([0.1, 0.2], [0.6, 0.5], [0.0, 0.01], "linear"), "errors"),
    (lambda: exponents.exponents(0), "d"),
    (lambda: exponents.exponents(3, "ising"), "cls"),
    (lambda: exponents.scaled(0.6, -1.0, 1.0, 0.6, 1.0, 1.0), "L"),
    (lambda: collapse.collapse_quality([np.arange(3.0)], [np.ones(3)]), "x_groups"),
    (lambda: collapse.collapse_quality([np.arange(3.0)] * 2, [np.ones(3), np.ones(2)]), r"y_groups\[1\]"),
    (lambda: collapse.collapse_quality([np.arange(3.0)] * 2, [np.ones(3), -np.ones(3)], log_y=True), "y_groups"),
    (lambda: collapse.fit_collapse(np.arange(4.0), np.ones(4), np.ones(4), None, start=(0, 1)), "start"),
    (lambda: collapse.fit_collapse(np.arange(4.0), np.full(4, 2.0), np.ones(4), None, start=(0, 1, 1)), "L"),
    (lambda: collapse.fit_collapse(np.arange(4.0), [1, 2, 2, 2], np.ones(4), None, start=(0, 1, 1)), "L"),
    (lambda: collapse.fit_collapse(np.arange(4.0), [1, 1, 2, 2], -np.ones(4), None, start=(0, 1, 1), log_y=True),
     "^y "),
    (lambda: collapse.fit_collapse(np.arange(4.0), [1, 1, 2, 2], np.ones(4), np.zeros(4), start=(0, 1, 1)), "^dy "),
    (lambda: collapse.fit_collapse(np.arange(4.0), [1, 1, 2, 2], np.ones(4), None, start=(0, 1, 1), n_boot=1),
     "n_boot"),
]


@pytest.mark.parametrize("call, name", BAD)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_an_estimate_covers_what_lies_within_its_errors():
    estimate = Estimate(1.0, 0.1)
    assert estimate.covers(1.29) and estimate.covers(0.71) and not estimate.covers(1.31)
    assert estimate.covers(1.19, sigmas=2) and not estimate.covers(1.21, sigmas=2)
