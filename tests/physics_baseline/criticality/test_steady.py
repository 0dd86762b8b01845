"""Analysis of the absorbing transition on synthetic data with known answers.

Every random input has a fixed seed. A fitted value must lie within 3 of its own error bars of the
planted one; where a check is not of that kind, the comment derives its tolerance.
"""
import numpy as np
import pytest
from scipy.signal import lfilter

from physics_baseline.criticality import steady


def ar1(seed, n=8192, memory=0.8, level=0.3, sd=0.01):
    """A stationary AR(1) series: mean level, standard deviation sd, correlation memory^lag."""
    rng = np.random.default_rng(seed)
    kicks = rng.standard_normal(n + 200) * sd * np.sqrt(1 - memory ** 2)
    return level + lfilter([1.0], [1.0, -memory], kicks)[200:]


# --- the authors' observables -------------------------------------------------------------------

def test_steady_state_activity_is_the_tail_mean():
    f = np.arange(100.0)
    assert steady.steady_state_activity(f) == pytest.approx(np.mean(f[-10:]))
    assert steady.steady_state_activity(f, tail=0.5) == pytest.approx(np.mean(f[-50:]))
    assert steady.steady_state_activity(np.array([0.2, 0.4]), tail=0.1) == 0.4    # at least one record


def test_relaxation_time_follows_the_authors_definition():
    steps = np.arange(0, 40, 10)
    assert steady.relaxation_time(steps, np.array([0.5, 0.4, 0.0, 0.0]), absorbed=True) == 20
    t = np.arange(1000.0)
    f = 0.3 + 0.5 * np.exp(-t / 50)
    # |f/f_inf - 1| < 0.1 first when 0.5 exp(-t/50) < 0.03 (f_inf = 0.3 + 3e-9): t > 50 ln(50/3) = 140.7
    assert steady.relaxation_time(t, f, absorbed=False) == 141
    assert np.isnan(steady.relaxation_time(np.array([]), np.array([]), absorbed=False))


# --- steady state -------------------------------------------------------------------------------

def test_autocorrelation_time_matches_the_ar1_formula():
    # AR(1) with memory 0.8 has tau_int = (1 + a) / (2 (1 - a)) = 4.5 records. One estimate from 8192
    # records scatters by ~ tau sqrt(2 (2M + 1) / n) ~ 10 % (M ~ 5 tau the window), the mean of 20 by
    # ~ 2.3 %; the window cuts off a tail of ~ 0.7 %. 10 % is 4 standard errors.
    estimates = [steady.autocorrelation_time(ar1(seed)) for seed in range(20)]
    assert np.mean(estimates) == pytest.approx(4.5, rel=0.1)
    white = np.random.default_rng(0).standard_normal(8192)
    assert steady.autocorrelation_time(white) == pytest.approx(0.5, abs=0.05)
    assert steady.autocorrelation_time(np.full(64, 0.3)) == 0.5


def test_is_steady_accepts_stationary_series():
    # 2-sigma slope test: on 8192 records the size is ~ 5 %, so P(7 or more of 20 rejected) = 0.1 %
    verdicts = [steady.is_steady(ar1(seed)) for seed in range(20)]
    assert sum(verdicts) >= 14


def test_is_steady_keeps_its_size_on_short_correlated_series():
    # 400 records, tau_int = 4.5 records: the errors come from the whole last half, so the rule rejects
    # ~ 12 % (experiments.studies.steady_rule), not the ~ 60 % of per-window errors from 50 records. Over 200
    # series the rejected share has a standard error of ~ 2.3 %; 0.2 is 3.5 of them above 12 %.
    rejected = [not steady.is_steady(ar1(seed, n=400)) for seed in range(200)]
    assert np.mean(rejected) <= 0.2


def test_is_steady_rejects_a_decay():
    t = np.arange(8192.0)
    decay = 0.2 * np.exp(-t / 2048)
    # over the last half the 4 window means fall 0.021, 0.013, 0.008, 0.005 while each window mean has
    # an error 9e-4: the slope is ~ 13 of its errors, so every series is flagged
    assert not any(steady.is_steady(decay + ar1(seed)) for seed in range(20))
    assert not steady.is_steady(0.3 + decay)
    assert steady.is_steady(np.append(0.3 + decay[:100], 0.0))     # absorbed


def test_steady_state_averages_seeds_with_absorbed_runs_as_zero():
    runs = [np.full(50, 0.2), np.full(80, 0.4), np.array([0.3, 0.1, 0.0])]
    estimate = steady.steady_state(runs)
    assert estimate.value == pytest.approx(0.2)
    assert estimate.error == pytest.approx(0.2 / np.sqrt(3))
    np.testing.assert_allclose(estimate.samples, [0.2, 0.4, 0.0])


# --- relaxation times ---------------------------------------------------------------------------

def test_relaxation_times_recover_a_planted_tau():
    rng = np.random.default_rng(1)
    t = np.arange(0.0, 4000.0)
    noise = 0.005
    f = 0.3 + 0.5 * np.exp(-t / 200) + noise * rng.standard_normal(t.size)
    exponential = steady.exponential_relaxation_time(t + 100, f)
    assert exponential.covers(200.0)
    # the right order: the Cramer-Rao error of tau alone is 2 noise sqrt(tau) / 0.5 = 0.28 steps;
    # fitting f_inf and A as well can only raise it
    assert 0.9 < exponential.error / (2 * noise * np.sqrt(200) / 0.5) < 2
    # the integral stops at the first zero crossing of g, where the signal exp(-t/tau) has fallen to
    # the level of a downward noise excursion, below 5 noise / 0.5 among ~ 1000 records: the area lost
    # beyond it is tau exp(-t/tau) < 5 noise / 0.5 of tau
    assert steady.integrated_relaxation_time(t, f) == pytest.approx(200.0, rel=5 * noise / 0.5)


def test_integrated_relaxation_time_of_an_absorbed_run():
    t = np.arange(0.0, 301.0)
    f = np.where(t < 300, 0.5 * np.exp(-t / 100), 0.0)
    # f_inf = 0, g = exp(-t/100) to step 299 and 0 at step 300 (the crossing): the integral is
    # 100 (1 - e^-2.99) plus the last trapezoid 0.5 e^-2.99, up to the trapezoid rule's relative
    # error dt^2 / (12 tau^2) ~ 1e-5
    expected = 100 * (1 - np.exp(-2.99)) + 0.5 * np.exp(-2.99)
    assert steady.integrated_relaxation_time(t, f) == pytest.approx(expected, rel=1e-4)


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
        estimate = steady.decay_exponent(steps, _planted_decay(rng, 0.78, 12, steps), (240, 3840), n_boot=100)
        z.append((estimate.value - 0.78) / estimate.error)
    assert np.mean(np.abs(z) < 2) >= 0.85
    assert np.mean(np.abs(z) < 2) < 1.0      # errors that are not grossly inflated miss sometimes


def test_decay_exponent_counts_absorbed_runs_as_zero_and_sees_a_subcritical_bend():
    steps = np.arange(20, 12001, 20, dtype=float)
    critical = 0.3 * steps ** -0.5
    subcritical = critical * np.exp(-steps / 2000)
    alive, absorbed = [critical, critical * 1.1], [critical, critical[:50]]  # the second absorbs at step 1000
    early, late = (240, 960), (960, 3840)
    assert steady.decay_exponent(steps, alive, early).value == pytest.approx(0.5, abs=1e-9)
    # the second run ends at step 1000: from there on it counts as 0 and the mean halves
    inside = (steps >= late[0]) & (steps <= late[1])
    halved = np.where(steps <= 1000, critical, critical / 2)[inside]
    expected = -np.polyfit(np.log(steps[inside]), np.log(halved), 1)[0]
    assert steady.decay_exponent(steps, absorbed, late).value == pytest.approx(expected, rel=1e-9)
    assert expected > 0.55
    bend = [steady.decay_exponent(steps, [subcritical, subcritical], w).value for w in (early, late)]
    assert bend[1] > bend[0] > 0.5
    assert np.isnan(steady.decay_exponent(steps, [critical[:10], critical[:10]], early).value)


@pytest.mark.parametrize("kwargs,message", [({"window": (0, 100)}, "window must satisfy"),
                                            ({"window": (301, 319)}, "holds 0 records"),
                                            ({"runs": [np.ones(3)]}, "at least 2 series"),
                                            ({"runs": [np.ones(700), np.ones(3)]}, "more than the")])
def test_decay_exponent_rejects_bad_input_by_name(kwargs, message):
    arguments = {"steps": np.arange(20, 12001, 20), "runs": [np.ones(3), np.ones(3)], "window": (240, 3840)}
    with pytest.raises(ValueError, match=message):
        steady.decay_exponent(**{**arguments, **kwargs})


def test_stacked_runs_pads_a_run_that_stopped_early_with_zeros():
    stacked = steady.stacked_runs([np.array([0.5, 0.4, 0.3]), np.array([0.6, 0.0])], 3)
    assert stacked.tolist() == [[0.5, 0.4, 0.3], [0.6, 0.0, 0.0]]
    with pytest.raises(ValueError, match="runs\\[0\\] has 3 records, more than the 2"):
        steady.stacked_runs([np.ones(3)], 2)
