"""Analysis of the absorbing transition on synthetic data with known answers.

Every random input has a fixed seed. A fitted value must lie within 3 of its own error bars of the
planted one; where a check is not of that kind, the comment derives its tolerance.
"""
import numpy as np
import pytest
from scipy.signal import lfilter
from scipy.special import expit

from physics_baseline import criticality as crit


def ar1(seed, n=8192, memory=0.8, level=0.3, sd=0.01):
    """A stationary AR(1) series: mean level, standard deviation sd, correlation memory^lag."""
    rng = np.random.default_rng(seed)
    kicks = rng.standard_normal(n + 200) * sd * np.sqrt(1 - memory ** 2)
    return level + lfilter([1.0], [1.0, -memory], kicks)[200:]


def within(estimate, planted, sigmas=3.0):
    return abs(estimate.value - planted) <= sigmas * estimate.error


# --- the authors' observables -------------------------------------------------------------------

def test_steady_state_activity_is_the_tail_mean():
    f = np.arange(100.0)
    assert crit.steady_state_activity(f) == pytest.approx(np.mean(f[-10:]))
    assert crit.steady_state_activity(f, tail=0.5) == pytest.approx(np.mean(f[-50:]))
    assert crit.steady_state_activity(np.array([0.2, 0.4]), tail=0.1) == 0.4    # at least one record


def test_relaxation_time_follows_the_authors_definition():
    steps = np.arange(0, 40, 10)
    assert crit.relaxation_time(steps, np.array([0.5, 0.4, 0.0, 0.0]), absorbed=True) == 20
    t = np.arange(1000.0)
    f = 0.3 + 0.5 * np.exp(-t / 50)
    # |f/f_inf - 1| < 0.1 first when 0.5 exp(-t/50) < 0.03 (f_inf = 0.3 + 3e-9): t > 50 ln(50/3) = 140.7
    assert crit.relaxation_time(t, f, absorbed=False) == 141
    assert np.isnan(crit.relaxation_time(np.array([]), np.array([]), absorbed=False))


# --- steady state -------------------------------------------------------------------------------

def test_autocorrelation_time_matches_the_ar1_formula():
    # AR(1) with memory 0.8 has tau_int = (1 + a) / (2 (1 - a)) = 4.5 records. One estimate from 8192
    # records scatters by ~ tau sqrt(2 (2M + 1) / n) ~ 10 % (M ~ 5 tau the window), the mean of 20 by
    # ~ 2.3 %; the window cuts off a tail of ~ 0.7 %. 10 % is 4 standard errors.
    estimates = [crit.autocorrelation_time(ar1(seed)) for seed in range(20)]
    assert np.mean(estimates) == pytest.approx(4.5, rel=0.1)
    white = np.random.default_rng(0).standard_normal(8192)
    assert crit.autocorrelation_time(white) == pytest.approx(0.5, abs=0.05)
    assert crit.autocorrelation_time(np.full(64, 0.3)) == 0.5


def test_is_steady_accepts_stationary_series():
    # 2-sigma slope test: on 8192 records the size is ~ 5 %, so P(7 or more of 20 rejected) = 0.1 %
    verdicts = [crit.is_steady(ar1(seed)) for seed in range(20)]
    assert sum(verdicts) >= 14


def test_is_steady_keeps_its_size_on_short_correlated_series():
    # 400 records, tau_int = 4.5 records: the errors come from the whole last half, so the rule rejects
    # ~ 12 % (experiments.studies.steady_rule), not the ~ 60 % of per-window errors from 50 records. Over 200
    # series the rejected share has a standard error of ~ 2.3 %; 0.2 is 3.5 of them above 12 %.
    rejected = [not crit.is_steady(ar1(seed, n=400)) for seed in range(200)]
    assert np.mean(rejected) <= 0.2


def test_is_steady_rejects_a_decay():
    t = np.arange(8192.0)
    decay = 0.2 * np.exp(-t / 2048)
    # over the last half the 4 window means fall 0.021, 0.013, 0.008, 0.005 while each window mean has
    # an error 9e-4: the slope is ~ 13 of its errors, so every series is flagged
    assert not any(crit.is_steady(decay + ar1(seed)) for seed in range(20))
    assert not crit.is_steady(0.3 + decay)
    assert crit.is_steady(np.append(0.3 + decay[:100], 0.0))     # absorbed


def test_steady_state_averages_seeds_with_absorbed_runs_as_zero():
    runs = [np.full(50, 0.2), np.full(80, 0.4), np.array([0.3, 0.1, 0.0])]
    estimate = crit.steady_state(runs)
    assert estimate.value == pytest.approx(0.2)
    assert estimate.error == pytest.approx(0.2 / np.sqrt(3))
    np.testing.assert_allclose(estimate.samples, [0.2, 0.4, 0.0])


# --- relaxation times ---------------------------------------------------------------------------

def test_relaxation_times_recover_a_planted_tau():
    rng = np.random.default_rng(1)
    t = np.arange(0.0, 4000.0)
    noise = 0.005
    f = 0.3 + 0.5 * np.exp(-t / 200) + noise * rng.standard_normal(t.size)
    exponential = crit.exponential_relaxation_time(t + 100, f)
    assert within(exponential, 200.0)
    # the right order: the Cramer-Rao error of tau alone is 2 noise sqrt(tau) / 0.5 = 0.28 steps;
    # fitting f_inf and A as well can only raise it
    assert 0.9 < exponential.error / (2 * noise * np.sqrt(200) / 0.5) < 2
    # the integral stops at the first zero crossing of g, where the signal exp(-t/tau) has fallen to
    # the level of a downward noise excursion, below 5 noise / 0.5 among ~ 1000 records: the area lost
    # beyond it is tau exp(-t/tau) < 5 noise / 0.5 of tau
    assert crit.integrated_relaxation_time(t, f) == pytest.approx(200.0, rel=5 * noise / 0.5)


def test_integrated_relaxation_time_of_an_absorbed_run():
    t = np.arange(0.0, 301.0)
    f = np.where(t < 300, 0.5 * np.exp(-t / 100), 0.0)
    # f_inf = 0, g = exp(-t/100) to step 299 and 0 at step 300 (the crossing): the integral is
    # 100 (1 - e^-2.99) plus the last trapezoid 0.5 e^-2.99, up to the trapezoid rule's relative
    # error dt^2 / (12 tau^2) ~ 1e-5
    expected = 100 * (1 - np.exp(-2.99)) + 0.5 * np.exp(-2.99)
    assert crit.integrated_relaxation_time(t, f) == pytest.approx(expected, rel=1e-4)


# --- phi_c at one system size -------------------------------------------------------------------

def test_phi_c_from_absorption_recovers_a_planted_logistic():
    phi_c, width, seeds = 0.612, 0.004, 20
    grid = np.linspace(0.600, 0.624, 9)
    phi = np.repeat(grid, seeds)
    absorbed = np.random.default_rng(2).random(phi.size) < expit(-(phi - phi_c) / width)
    fit = crit.phi_c_from_absorption(phi, absorbed)
    assert within(fit.phi_c, phi_c) and within(fit.width, width)
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
    fit = crit.phi_c_from_power_law(phi, observed, f_err if with_errors else None)
    assert within(fit.phi_c, phi_c) and within(fit.beta, beta) and within(fit.amplitude, amplitude)
    assert fit.phi_c.error < 0.005


def test_power_law_without_noise_is_exact():
    phi = np.linspace(0.62, 0.7, 8)
    fit = crit.phi_c_from_power_law(phi, 2.0 * (phi - 0.6) ** 0.7, n_boot=2)
    assert fit.phi_c.value == pytest.approx(0.6, abs=1e-6)
    assert fit.beta.value == pytest.approx(0.7, abs=1e-4)


# --- step size -> 0 -----------------------------------------------------------------------------

@pytest.mark.parametrize("form, exponent", [("power", 0.5), ("linear", 1.0)])
def test_extrapolation_recovers_phi_c_at_zero(form, exponent):
    eps = np.array([0.001, 0.002, 0.005, 0.01, 0.02, 0.05])
    errors = np.full(eps.size, 0.002)
    planted = 0.64 - 0.21 * eps ** exponent
    fit = crit.extrapolate_to_zero(eps, planted + errors * np.random.default_rng(4).standard_normal(eps.size),
                                   errors, form)
    assert within(fit.phi_c, 0.64) and within(fit.amplitude, 0.21) and within(fit.exponent, exponent)
    assert fit.dof == eps.size - (3 if form == "power" else 2)
    exact = crit.extrapolate_to_zero(eps, planted, errors, form)
    assert exact.phi_c.value == pytest.approx(0.64, abs=1e-6) and exact.chi2 == pytest.approx(0, abs=1e-6)


# --- finite-size scaling ------------------------------------------------------------------------

def test_exponent_table():
    three = crit.exponents(3)
    assert (three.beta, three.nu_perp, three.nu_par) == (0.840, 0.593, 1.081)
    assert [round(crit.exponents(d).z, 3) for d in (1, 2, 3)] == [1.393, 1.533, 1.823]
    assert crit.exponents(4) == crit.exponents(7) == crit.exponents(2, "mean_field") == crit.MEAN_FIELD
    assert crit.MEAN_FIELD.z == 2


def test_scaled_and_linear_size():
    assert crit.linear_size(1000, 3) == pytest.approx(10.0)
    x, y = crit.scaled(np.array([0.6, 0.7]), np.array([10.0, 100.0]), np.array([1.0, 2.0]), 0.65, 2.0, -1.0)
    np.testing.assert_allclose(x, [-5.0, 500.0])
    np.testing.assert_allclose(y, [0.1, 0.02])


PHI_C = 0.62
MANNA = crit.exponents(3)
SIZES = crit.linear_size(np.array([1000, 4000, 16000, 64000]), 3)


def planted_activity(seed, noise=0.05):
    """f_a = L^(-beta/nu_perp) log(1 + e^(3x)), x = (phi - 0.62) L^(1/nu_perp), 3D Manna exponents,
    with relative noise; each size samples 26 phi at x from -2.5 to 2.5 about phi = 0.621."""
    grid = np.linspace(-2.5, 2.5, 26)
    phi = 0.621 + grid[None, :] / SIZES[:, None] ** (1 / MANNA.nu_perp)
    size = np.broadcast_to(SIZES[:, None], phi.shape)
    x = (phi - PHI_C) * size ** (1 / MANNA.nu_perp)
    f = size ** (-MANNA.beta / MANNA.nu_perp) * np.log1p(np.exp(3 * x))
    f_err = noise * f
    observed = f + f_err * np.random.default_rng(seed).standard_normal(f.shape)
    return phi.ravel(), size.ravel(), observed.ravel(), f_err.ravel()


def groups(phi, size, f, f_err, exponents):
    x, y = crit.scaled(phi, size, f, PHI_C, 1 / exponents.nu_perp, exponents.beta / exponents.nu_perp)
    dy = f_err * size ** (exponents.beta / exponents.nu_perp)
    rows = [size == s for s in SIZES]
    return [x[r] for r in rows], [y[r] for r in rows], [dy[r] for r in rows]


def quality_spread(x_groups):
    """The spread of S for a collapse within errors: S is a mean of n terms of unit mean and variance
    ~ 2 (chi^2 with one degree of freedom), n the points inside another size's x range."""
    n = sum(np.any([(x >= o.min()) & (x <= o.max()) for o in x_groups if o is not x], axis=0).sum()
            for x in x_groups)
    return np.sqrt(2 / n)


def test_collapse_quality_separates_manna_from_mean_field():
    x, y, dy = groups(*planted_activity(5), MANNA)
    manna = crit.collapse_quality(x, y, dy, log_y=True)
    spread = quality_spread(x)
    assert abs(manna - 1) < 3 * spread
    mean_field = crit.collapse_quality(*groups(*planted_activity(5), crit.MEAN_FIELD), log_y=True)
    assert mean_field - 1 > 30 * spread
    # without errors: the mean |log y - Y| is the noise's for Manna, E|N(0, s^2)| = 0.8 s with
    # s ~ 0.05 sqrt(1.5) (the point's noise and the master curve's, half as large): 0.049
    noise_level = 0.8 * 0.05 * np.sqrt(1.5)
    assert crit.collapse_quality(x, y, log_y=True) < 1.5 * noise_level
    mean_field_spread = crit.collapse_quality(*groups(*planted_activity(5), crit.MEAN_FIELD)[:2], log_y=True)
    assert mean_field_spread > 3 * noise_level


def test_collapse_quality_of_exact_curves():
    x = [np.linspace(-1, 1, 201), np.linspace(-0.5, 1.5, 101)]
    y = [np.exp(g) for g in x]
    assert crit.collapse_quality(x, y) < 1e-4                 # relative interpolation error of exp
    assert crit.collapse_quality(x, [y[0], 2 * y[1]]) > 0.3     # a factor 2 apart: |y / Y - 1| = 1/2 or 1
    assert crit.collapse_quality([x[0], x[0] + 5], [y[0], y[0]]) == np.inf  # no overlap
    # a quarter of the points inside the other size's range is too little to judge; half is enough
    steps = np.arange(4.0)
    assert crit.collapse_quality([steps, steps + 2.5], [np.ones(4), np.ones(4)]) == np.inf
    assert crit.collapse_quality([steps, steps + 1.5], [np.ones(4), np.ones(4)]) == 0.0


@pytest.fixture(scope="module")
def collapse_fit():
    return crit.fit_collapse(*planted_activity(6), start=(0.615, 1.5, 1.3), log_y=True)


def test_fit_collapse_recovers_the_planted_scaling(collapse_fit):
    assert within(collapse_fit.phi_c, PHI_C)
    assert within(collapse_fit.x_exponent, 1 / MANNA.nu_perp)
    assert within(collapse_fit.y_exponent, MANNA.beta / MANNA.nu_perp)
    assert collapse_fit.phi_c.samples.shape == (50,)
    # the minimum lies at or below S at the planted values
    assert collapse_fit.quality < 1 + 3 * quality_spread(groups(*planted_activity(6), MANNA)[0])


def test_fit_collapse_without_errors(collapse_fit):
    phi, size, f, _ = planted_activity(6)
    fit = crit.fit_collapse(phi, size, f, None, start=(0.615, 1.5, 1.3), log_y=True, n_boot=2,
                            bounds=[(0.6, 0.64), (1.0, 2.5), (0.5, 2.5)])
    for name in ("phi_c", "x_exponent", "y_exponent"):
        assert within(getattr(collapse_fit, name), getattr(fit, name).value)


# --- bad input ----------------------------------------------------------------------------------

BAD = [
    (lambda: crit.is_steady(np.ones(100)), "active_fraction"),
    (lambda: crit.is_steady(np.ones(1000), windows=1), "windows"),
    (lambda: crit.steady_state([np.ones(5)]), "runs"),
    (lambda: crit.steady_state([np.ones(5), np.ones(5)], tail=0), "tail"),
    (lambda: crit.integrated_relaxation_time([0, 1, 1], [0.5, 0.4, 0.3]), "steps"),
    (lambda: crit.integrated_relaxation_time([0, 1], [0.5, np.nan]), "active_fraction"),
    (lambda: crit.exponential_relaxation_time([0, 1, 2, 3, 4], [0.5, 0.4, 0.3, 0.2]), "steps"),
    (lambda: crit.phi_c_from_absorption([0.6, 0.7], [1, 0]), "absorbed"),
    (lambda: crit.phi_c_from_absorption([0.6, 0.7], [True, True]), "absorbed"),
    (lambda: crit.phi_c_from_absorption([0.6, 0.6], [True, False]), "phi"),
    (lambda: crit.phi_c_from_power_law([0.6, 0.7, 0.8], [0.1, 0.2, 0.3]), "f_inf"),
    (lambda: crit.phi_c_from_power_law(np.arange(5.0), np.ones(5), -np.ones(5)), "f_err"),
    (lambda: crit.extrapolate_to_zero([0.1, 0.2], [0.6, 0.5], [0.01, 0.01]), "step_sizes"),
    (lambda: crit.extrapolate_to_zero([0.1, 0.2], [0.6, 0.5], [0.01, 0.01], "cubic"), "form"),
    (lambda: crit.extrapolate_to_zero([0.1, 0.2], [0.6, 0.5], [0.0, 0.01], "linear"), "errors"),
    (lambda: crit.exponents(0), "d"),
    (lambda: crit.exponents(3, "ising"), "cls"),
    (lambda: crit.scaled(0.6, -1.0, 1.0, 0.6, 1.0, 1.0), "L"),
    (lambda: crit.collapse_quality([np.arange(3.0)], [np.ones(3)]), "x_groups"),
    (lambda: crit.collapse_quality([np.arange(3.0)] * 2, [np.ones(3), np.ones(2)]), r"y_groups\[1\]"),
    (lambda: crit.collapse_quality([np.arange(3.0)] * 2, [np.ones(3), -np.ones(3)], log_y=True), "y_groups"),
    (lambda: crit.fit_collapse(np.arange(4.0), np.ones(4), np.ones(4), None, start=(0, 1)), "start"),
    (lambda: crit.fit_collapse(np.arange(4.0), np.full(4, 2.0), np.ones(4), None, start=(0, 1, 1)), "L"),
    (lambda: crit.fit_collapse(np.arange(4.0), [1, 2, 2, 2], np.ones(4), None, start=(0, 1, 1)), "L"),
    (lambda: crit.fit_collapse(np.arange(4.0), [1, 1, 2, 2], -np.ones(4), None, start=(0, 1, 1), log_y=True),
     "^y "),
    (lambda: crit.fit_collapse(np.arange(4.0), [1, 1, 2, 2], np.ones(4), np.zeros(4), start=(0, 1, 1)), "^dy "),
    (lambda: crit.fit_collapse(np.arange(4.0), [1, 1, 2, 2], np.ones(4), None, start=(0, 1, 1), n_boot=1),
     "n_boot"),
]


@pytest.mark.parametrize("call, name", BAD)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_separated_absorption_data_give_the_middle_of_the_gap():
    phi = np.repeat([0.50, 0.55, 0.60, 0.65], 3)
    absorbed = phi < 0.57
    fit = crit.phi_c_from_absorption(phi, absorbed)
    assert fit.phi_c.value == pytest.approx(0.575)
    assert fit.phi_c.error == pytest.approx(0.05 / np.sqrt(12))


def test_linear_extrapolation_through_two_points_propagates_their_errors():
    fit = crit.extrapolate_to_zero([0.04, 0.02], [0.60, 0.62], [0.01, 0.01], form="linear")
    # phi_c(0) = 2 y(0.02) - y(0.04): error sqrt(4 + 1) * 0.01
    assert fit.phi_c.value == pytest.approx(0.64)
    assert fit.phi_c.error == pytest.approx(np.sqrt(5) * 0.01)
    assert fit.dof == 0


def test_collapse_at_fixed_exponents_finds_the_planted_critical_point():
    rng = np.random.default_rng(5)
    e = crit.exponents(3)
    phi_c = 0.62
    phi, size, y = [], [], []
    for L in (8.0, 12.0, 18.0):
        x = np.linspace(-2.0, 2.0, 15)
        phi.append(phi_c + x * L ** (-1 / e.nu_perp))
        size.append(np.full(15, L))
        y.append(np.log1p(np.exp(3 * x)) * L ** (-e.beta / e.nu_perp) * (1 + 0.01 * rng.normal(size=15)))
    phi, size, y = map(np.concatenate, (phi, size, y))
    dy = 0.01 * y
    best, quality = crit.collapse_at_exponents(phi, size, y, dy, 1 / e.nu_perp, e.beta / e.nu_perp,
                                               (0.55, 0.70), log_y=True)
    assert abs(best - phi_c) < 2e-3
    assert quality < 3
    mean_field = crit.exponents(5)
    _, worse = crit.collapse_at_exponents(phi, size, y, dy, 1 / mean_field.nu_perp,
                                          mean_field.beta / mean_field.nu_perp, (0.55, 0.70), log_y=True)
    assert worse > 3 * quality


def test_scaling_powers_below_and_above_the_upper_critical_dimension():
    manna = crit.scaling_powers(crit.exponents(3), 3)
    assert (manna.distance, manna.activity, manna.time) == pytest.approx(
        (1 / 0.593, 0.840 / 0.593, 1.081 / 0.593))
    assert crit.scaling_powers(crit.MEAN_FIELD, 4) == crit.ScalingPowers(2.0, 2.0, 2.0)
    for d in (5, 6, 8):   # mean field in terms of n: f_a = n^(-1/2) F((phi - phi_c) n^(1/2))
        assert crit.scaling_powers(crit.MEAN_FIELD, d) == crit.ScalingPowers(d / 2, d / 2, d / 2)
    assert crit.scaling_powers(crit.MEAN_FIELD, 3) == crit.ScalingPowers(2.0, 2.0, 2.0)
    assert crit.scaling_powers(crit.exponents(3), 6) == manna   # Manna's powers do not stretch


def test_mean_field_collapse_in_five_dimensions_uses_the_particle_number():
    """A planted mean-field scaling in n (f = n^(-1/2) F((phi - phi_c) n^(1/2))) in d = 5 collapses
    within errors with the d = 5 powers, and not with the d = 4 ones in terms of L."""
    rng = np.random.default_rng(3)
    phi_c, d = 0.29, 5
    n = np.array([1000, 4000, 16000, 64000])
    phi = (phi_c + np.linspace(-2.0, 2.0, 15)[None, :] / np.sqrt(n)[:, None]).ravel()
    size = crit.linear_size(np.repeat(n, 15), d)
    x = (phi - phi_c) * np.sqrt(np.repeat(n, 15))
    y = np.log1p(np.exp(3 * x)) / np.sqrt(np.repeat(n, 15)) * (1 + 0.01 * rng.normal(size=x.size))
    dy = 0.01 * y
    right = crit.scaling_powers(crit.MEAN_FIELD, d)
    wrong = crit.scaling_powers(crit.MEAN_FIELD, 4)
    best, quality = crit.collapse_at_exponents(phi, size, y, dy, right.distance, right.activity,
                                               (0.25, 0.33), log_y=True)
    assert abs(best - phi_c) < 2e-3
    assert quality < 3
    _, worse = crit.collapse_at_exponents(phi, size, y, dy, wrong.distance, wrong.activity,
                                          (0.25, 0.33), log_y=True)
    assert worse > 3 * quality


def seeded_cells(exponents, seeds=3, noise=0.05, seed=11):
    """Per-seed activities planted with exponents (the scaling function of ``planted_activity``) on
    13 phi per size: (phi, L, samples, errors), errors the standard errors over the seeds."""
    grid = np.linspace(-2.5, 2.5, 13)
    phi = (0.621 + grid[None, :] / SIZES[:, None] ** (1 / MANNA.nu_perp)).ravel()
    size = np.repeat(SIZES, grid.size)
    x = (phi - PHI_C) * size ** (1 / exponents.nu_perp)
    f = size ** (-exponents.beta / exponents.nu_perp) * np.log1p(np.exp(3 * x))
    rng = np.random.default_rng(seed)
    samples = [value * (1 + noise * rng.standard_normal(seeds)) for value in f]
    return phi, size, samples, np.array([s.std(ddof=1) / np.sqrt(seeds) for s in samples])


@pytest.mark.parametrize("planted, name", [(MANNA, "manna"), (crit.MEAN_FIELD, "mean_field")])
def test_collapse_preference_picks_the_planted_exponents(planted, name):
    candidates = {cls: (1 / e.nu_perp, e.beta / e.nu_perp) for cls, e in
                  (("manna", MANNA), ("mean_field", crit.MEAN_FIELD))}
    phi, size, samples, errors = seeded_cells(planted)
    wins = crit.collapse_preference(phi, size, samples, errors, candidates, (0.55, 0.70), n_boot=20)
    # the wrong exponents collapse tens of spreads worse (test above): no resample may flip that
    assert wins[name] == 1.0
    assert sum(wins.values()) == pytest.approx(1.0)


def test_collapse_preference_is_undecided_without_activity():
    phi, size, samples, errors = seeded_cells(MANNA)
    silent = [np.zeros(3) if k % 13 else s for k, s in enumerate(samples)]   # one active cell per size
    wins = crit.collapse_preference(phi, size, silent, errors, {"a": (1.0, 1.0), "b": (2.0, 2.0)},
                                    (0.55, 0.70), n_boot=5)
    assert wins == {"a": 0.0, "b": 0.0, "undecided": 1.0}
    # x = phi - phi_c for every size (x_exponent 0): ranges that never overlap collapse for no phi_c
    apart = crit.collapse_preference([0.60, 0.61, 0.70, 0.71], [10.0, 10.0, 20.0, 20.0],
                                     [np.full(3, 0.1), np.full(3, 0.2)] * 2, np.full(4, 1e-3),
                                     {"a": (0.0, 1.0), "b": (0.0, 2.0)}, (0.5, 0.8), n_boot=3)
    assert apart == {"a": 0.0, "b": 0.0, "undecided": 1.0}
    with pytest.raises(ValueError, match="errors"):
        crit.collapse_preference(phi, size, samples, 0 * errors, {"a": (1, 1), "b": (2, 2)}, (0.5, 0.7))
    with pytest.raises(ValueError, match="candidates"):
        crit.collapse_preference(phi, size, samples, errors, {"a": (1, 1)}, (0.5, 0.7))


def _planted_decay(rng, alpha, runs, steps, noise=0.05):
    """runs series A t^-alpha with independent multiplicative noise of relative size noise."""
    return [0.3 * steps ** -alpha * (1 + noise * rng.standard_normal(steps.size)) for _ in range(runs)]


def test_decay_exponent_finds_a_planted_power_law_and_its_error_covers_it():
    """Over 100 planted data sets of 12 runs, the planted alpha lies within 2 bootstrap errors in
    about 95 % of them: at least 85 % (3 binomial standard deviations below 95 %, less a little
    for the bootstrap's small-sample bias)."""
    rng = np.random.default_rng(7)
    steps = np.arange(20, 12001, 20)
    z = []
    for _ in range(100):
        estimate = crit.decay_exponent(steps, _planted_decay(rng, 0.78, 12, steps), (240, 3840), n_boot=100)
        z.append((estimate.value - 0.78) / estimate.error)
    assert np.mean(np.abs(z) < 2) >= 0.85
    assert np.mean(np.abs(z) < 2) < 1.0      # errors that are not grossly inflated miss sometimes


def test_decay_exponent_counts_absorbed_runs_as_zero_and_sees_a_subcritical_bend():
    steps = np.arange(20, 12001, 20, dtype=float)
    critical = 0.3 * steps ** -0.5
    subcritical = critical * np.exp(-steps / 2000)
    alive, absorbed = [critical, critical * 1.1], [critical, critical[:50]]  # the second absorbs at step 1000
    early, late = (240, 960), (960, 3840)
    assert crit.decay_exponent(steps, alive, early).value == pytest.approx(0.5, abs=1e-9)
    # the second run ends at step 1000: from there on it counts as 0 and the mean halves
    inside = (steps >= late[0]) & (steps <= late[1])
    halved = np.where(steps <= 1000, critical, critical / 2)[inside]
    expected = -np.polyfit(np.log(steps[inside]), np.log(halved), 1)[0]
    assert crit.decay_exponent(steps, absorbed, late).value == pytest.approx(expected, rel=1e-9)
    assert expected > 0.55
    bend = [crit.decay_exponent(steps, [subcritical, subcritical], w).value for w in (early, late)]
    assert bend[1] > bend[0] > 0.5
    assert np.isnan(crit.decay_exponent(steps, [critical[:10], critical[:10]], early).value)


@pytest.mark.parametrize("kwargs,message", [({"window": (0, 100)}, "window must satisfy"),
                                            ({"window": (301, 319)}, "holds 0 records"),
                                            ({"runs": [np.ones(3)]}, "at least 2 series"),
                                            ({"runs": [np.ones(700), np.ones(3)]}, "more than the")])
def test_decay_exponent_rejects_bad_input_by_name(kwargs, message):
    arguments = {"steps": np.arange(20, 12001, 20), "runs": [np.ones(3), np.ones(3)], "window": (240, 3840)}
    with pytest.raises(ValueError, match=message):
        crit.decay_exponent(**{**arguments, **kwargs})


def test_stacked_runs_pads_a_run_that_stopped_early_with_zeros():
    stacked = crit.stacked_runs([np.array([0.5, 0.4, 0.3]), np.array([0.6, 0.0])], 3)
    assert stacked.tolist() == [[0.5, 0.4, 0.3], [0.6, 0.0, 0.0]]
    with pytest.raises(ValueError, match="runs\\[0\\] has 3 records, more than the 2"):
        crit.stacked_runs([np.ones(3)], 2)
