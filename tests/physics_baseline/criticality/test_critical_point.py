"""Analysis of the absorbing transition on synthetic data with known answers.

Every random input has a fixed seed. A fitted value must lie within 3 of its own error bars of the
planted one; where a check is not of that kind, the comment derives its tolerance.
"""
import numpy as np
import pytest
from scipy.special import expit

from physics_baseline.criticality import critical_point


def test_phi_c_from_absorption_recovers_a_planted_logistic():
    phi_c, width, seeds = 0.612, 0.004, 20
    grid = np.linspace(0.600, 0.624, 9)
    phi = np.repeat(grid, seeds)
    absorbed = np.random.default_rng(2).random(phi.size) < expit(-(phi - phi_c) / width)
    fit = critical_point.phi_c_from_absorption(phi, absorbed)
    assert fit.phi_c.covers(phi_c) and fit.width.covers(width)
    # the right order: the asymptotic error from the Fisher information at the planted parameters
    z = (grid - phi_c) / width
    gradient = np.stack([np.full_like(z, -1 / width), -z / width])
    information = (seeds * expit(z) * expit(-z) * gradient[:, None] * gradient[None]).sum(axis=-1)
    fisher = np.sqrt(np.linalg.inv(information)[0, 0])
    assert 0.5 < fit.phi_c.error / fisher < 2
    assert fit.phi_c.samples.shape == (200,)


@pytest.mark.parametrize("with_errors", [True, False])
def test_phi_c_from_power_law_recovers_the_planted_law(with_errors):
    phi_c, beta, amplitude = 0.61, 0.84, 1.3
    phi = np.append(np.linspace(0.59, 0.605, 4), np.linspace(0.615, 0.70, 12))   # absorbed side first
    f = np.where(phi > phi_c, amplitude * np.clip(phi - phi_c, 0, None) ** beta, 0.0)
    f_err = 0.03 * f + 1e-4
    observed = np.where(f > 0, f * (1 + 0.03 * np.random.default_rng(3).standard_normal(f.size)), 0.0)
    fit = critical_point.phi_c_from_power_law(phi, observed, f_err if with_errors else None)
    assert fit.phi_c.covers(phi_c) and fit.beta.covers(beta) and fit.amplitude.covers(amplitude)
    assert fit.phi_c.error < 0.005


def test_power_law_without_noise_is_exact():
    phi = np.linspace(0.62, 0.7, 8)
    fit = critical_point.phi_c_from_power_law(phi, 2.0 * (phi - 0.6) ** 0.7, n_boot=2)
    assert fit.phi_c.value == pytest.approx(0.6, abs=1e-6)
    assert fit.beta.value == pytest.approx(0.7, abs=1e-4)


# --- step size -> 0 -----------------------------------------------------------------------------

@pytest.mark.parametrize("form, exponent", [("power", 0.5), ("linear", 1.0)])
def test_extrapolation_recovers_phi_c_at_zero(form, exponent):
    eps = np.array([0.001, 0.002, 0.005, 0.01, 0.02, 0.05])
    errors = np.full(eps.size, 0.002)
    planted = 0.64 - 0.21 * eps ** exponent
    fit = critical_point.extrapolate_to_zero(eps, planted + errors * np.random.default_rng(4).standard_normal(eps.size),
                                   errors, form)
    assert fit.phi_c.covers(0.64) and fit.amplitude.covers(0.21) and fit.exponent.covers(exponent)
    assert fit.dof == eps.size - (3 if form == "power" else 2)
    exact = critical_point.extrapolate_to_zero(eps, planted, errors, form)
    assert exact.phi_c.value == pytest.approx(0.64, abs=1e-6) and exact.chi2 == pytest.approx(0, abs=1e-6)


def test_separated_absorption_data_give_the_middle_of_the_gap():
    phi = np.repeat([0.50, 0.55, 0.60, 0.65], 3)
    absorbed = phi < 0.57
    fit = critical_point.phi_c_from_absorption(phi, absorbed)
    assert fit.phi_c.value == pytest.approx(0.575)
    assert fit.phi_c.error == pytest.approx(0.05 / np.sqrt(12))


def test_linear_extrapolation_through_two_points_propagates_their_errors():
    fit = critical_point.extrapolate_to_zero([0.04, 0.02], [0.60, 0.62], [0.01, 0.01], form="linear")
    # phi_c(0) = 2 y(0.02) - y(0.04): error sqrt(4 + 1) * 0.01
    assert fit.phi_c.value == pytest.approx(0.64)
    assert fit.phi_c.error == pytest.approx(np.sqrt(5) * 0.01)
    assert fit.dof == 0


def test_quadratic_extrapolation_is_exact_through_three_points():
    eps = np.array([0.01, 0.02, 0.04])
    fit = critical_point.extrapolate_to_zero(eps, 0.64 - 0.3 * eps - 2.0 * eps ** 2, np.full(3, 0.001),
                                             "quadratic")
    assert fit.phi_c.value == pytest.approx(0.64) and fit.curvature.value == pytest.approx(2.0)
    assert fit.dof == 0 and fit.chi2 == pytest.approx(0, abs=1e-9)


def test_step_size_limit_recovers_a_planted_limit_and_reports_the_form_spread():
    eps = np.array([0.0025, 0.005, 0.01, 0.02, 0.04])
    errors = np.full(eps.size, 0.0005)
    planted = 0.64 - 0.5 * eps ** 0.8                     # none of the forms but the power is exact
    noisy = planted + errors * np.random.default_rng(3).standard_normal(eps.size)
    limit = critical_point.step_size_limit(eps, noisy, errors)
    assert set(limit.fits) == {"linear", "quadratic", "power"}
    values = [fit.phi_c.value for fit in limit.fits.values()]
    assert limit.systematic == pytest.approx(max(abs(v - limit.phi_c.value) for v in values))
    assert limit.systematic > 0
    assert abs(limit.phi_c.value - 0.64) <= 3 * np.hypot(limit.phi_c.error, limit.systematic)
    two = critical_point.step_size_limit(eps[:2], noisy[:2], errors[:2])
    assert set(two.fits) == {"linear"} and two.form == "linear" and two.systematic == 0
