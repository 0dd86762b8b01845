import numpy as np
import pytest

from physics_baseline.criticality import quasi_stationary as qs

PHI_C, NU_PERP, D = 0.612, 0.59, 3
PHI = np.linspace(0.606, 0.618, 6)
SIZES = np.array([1000, 2000, 4000, 8000])


def scaling_variable(phi, n):
    return (phi - PHI_C) * (n ** (1 / D)) ** (1 / NU_PERP)


def test_block_sums_are_the_block_means_of_f_and_f_squared_after_the_transient():
    f = np.arange(20, dtype=float)
    sums = qs.block_sums(f, discard=0.5, blocks=2)
    np.testing.assert_allclose(sums, [[12.0, np.mean(np.arange(10, 15) ** 2)],
                                      [17.0, np.mean(np.arange(15, 20) ** 2)]])
    with pytest.raises(ValueError, match="blocks"):
        qs.block_sums(np.ones(10), discard=0.5, blocks=6)
    with pytest.raises(ValueError, match="discard"):
        qs.block_sums(np.ones(10), discard=1.0)


def test_moments_of_independent_exponential_activity_and_their_errors():
    """Exponential f_a: <f> = mean, <f^2> / <f>^2 = 2; the bootstrap error is the standard error."""
    rng = np.random.default_rng(11)
    runs = [rng.exponential(0.1, 4000) for _ in range(10)]
    result = qs.moments(runs)
    assert result.records == 10 * 2000
    standard_error = 0.1 / np.sqrt(result.records)
    assert result.rho.error == pytest.approx(standard_error, rel=0.25)     # 80 blocks: ~8 % scatter
    assert result.rho.covers(0.1) and result.ratio.covers(2.0)
    assert 0 < result.ratio.error < 0.1


def test_crossing_recovers_a_planted_phi_c_from_noisy_moment_ratios():
    rng = np.random.default_rng(5)
    error = 0.0003    # the slopes of the 1000/2000 pair then differ by ~6 sigma: linear propagation holds
    for small, large in zip(SIZES[:-1], SIZES[1:]):
        m = {n: 1.3 - 0.02 * scaling_variable(PHI, n) + error * rng.standard_normal(PHI.size)
             for n in (small, large)}
        result = qs.crossing(PHI, m[small], np.full(PHI.size, error), m[large], np.full(PHI.size, error),
                             (small, large))
        assert result.bracketed and result.sizes == (small, large)
        assert result.phi_c.covers(PHI_C)
        # the difference of two curves (error sqrt(2) error) fitted by a line through the 2 + 2
        # points around its sign change, known to sqrt(2) error / 2 near their middle: the
        # crossing moves by that over the difference of the slopes (more off the middle)
        slopes = [0.02 * (n ** (1 / D)) ** (1 / NU_PERP) for n in (small, large)]
        propagated = np.sqrt(2) * error / 2 / abs(slopes[1] - slopes[0])
        assert 0.75 * propagated <= result.phi_c.error < 1.5 * propagated
        assert result.angle > 4
        assert np.isfinite(result.systematic)


def test_curves_that_never_cross_give_no_phi_c_and_say_so():
    flat = np.full(PHI.size, 1.2)
    result = qs.crossing(PHI, flat, np.full(PHI.size, 1e-3), flat + 0.1 - 0.5 * (PHI - PHI[0]),
                         np.full(PHI.size, 1e-3), (1, 2))
    assert not result.bracketed and np.isnan(result.phi_c.value)


def test_the_crossing_is_fitted_around_the_sign_change_not_where_both_curves_meet_one():
    """Deep in the active phase m -> 1 at every size with tiny errors: such points must not pull
    the crossing towards them."""
    phi = np.array([0.600, 0.605, 0.610, 0.615, 0.620, 0.640])
    small = np.array([1.60, 1.50, 1.40, 1.30, 1.20, 1.0010])
    large = np.array([1.70, 1.55, 1.40, 1.25, 1.10, 1.0005])
    errors = np.array([0.01, 0.01, 0.01, 0.01, 0.01, 1e-5])
    result = qs.crossing(phi, small, errors, large, errors, (1, 2))
    assert result.phi_c.covers(0.610)


def test_curves_that_differ_by_noise_only_cross_at_no_significant_angle():
    rng = np.random.default_rng(2)
    m = [1.3 + 0.05 * rng.standard_normal(PHI.size) for _ in range(2)]
    result = qs.crossing(PHI, m[0], np.full(PHI.size, 0.05), m[1], np.full(PHI.size, 0.05), (1, 2))
    assert result.angle < 3      # |N(0, 1)| under the null: above 3 in 0.3 % of data sets


def test_equal_slopes_recover_a_planted_phi_c_from_noisy_activities():
    rng = np.random.default_rng(8)
    exponent = 1.417                             # beta / nu_perp; any value: the estimator needs none
    n = SIZES[None, :]
    rho = (n ** (1 / D)) ** -exponent * np.exp(0.5 * scaling_variable(PHI[:, None], n))
    noisy = rho * (1 + 0.005 * rng.standard_normal(rho.shape))   # expected angle ~7.5 (worked out by hand)
    result = qs.equal_slopes(PHI, SIZES, noisy, 0.005 * noisy)
    assert result.bracketed and result.sizes == (1000, 8000)
    assert result.phi_c.covers(PHI_C) and 0 < result.phi_c.error < 0.001 and result.angle > 4


def test_bad_input_is_refused_with_its_name():
    with pytest.raises(ValueError, match="errors"):
        qs.crossing(PHI, PHI, np.zeros(PHI.size), PHI, np.ones(PHI.size), (1, 2))
    with pytest.raises(ValueError, match="sizes"):
        qs.equal_slopes(PHI, [1, 2], np.ones((PHI.size, 2)), np.ones((PHI.size, 2)))
    with pytest.raises(ValueError, match="shape"):
        qs.equal_slopes(PHI, SIZES, np.ones((2, 4)), np.ones((2, 4)))


def test_a_sign_change_that_the_fitted_line_puts_elsewhere_is_not_a_crossing():
    """A single point dipping below zero among positive ones: the line through the points around
    it never reaches zero there, so the crossing is undetermined, not far away."""
    phi = np.array([0.616, 0.618, 0.620, 0.622, 0.624])
    small = np.array([1.60, 1.55, 1.50, 1.13, 1.02])
    large = np.array([1.80, 1.65, 1.49, 1.36, 1.15])
    errors = np.array([0.02, 0.02, 0.05, 0.05, 0.04])
    result = qs.crossing(phi, small, errors, large, errors, (4000, 8000))
    assert not result.bracketed and result.phi_c.error == np.inf
