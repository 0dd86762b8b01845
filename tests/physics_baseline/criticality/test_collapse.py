"""Analysis of the absorbing transition on synthetic data with known answers.

Every random input has a fixed seed. A fitted value must lie within 3 of its own error bars of the
planted one; where a check is not of that kind, the comment derives its tolerance.
"""
import numpy as np
import pytest

from physics_baseline.criticality import collapse, exponents

PHI_C = 0.62
MANNA = exponents.exponents(3)
SIZES = exponents.linear_size(np.array([1000, 4000, 16000, 64000]), 3)


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


def groups(phi, size, f, f_err, planted):
    x, y = exponents.scaled(phi, size, f, PHI_C, 1 / planted.nu_perp, planted.beta / planted.nu_perp)
    dy = f_err * size ** (planted.beta / planted.nu_perp)
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
    manna = collapse.collapse_quality(x, y, dy, log_y=True)
    spread = quality_spread(x)
    assert abs(manna - 1) < 3 * spread
    mean_field = collapse.collapse_quality(*groups(*planted_activity(5), exponents.MEAN_FIELD), log_y=True)
    assert mean_field - 1 > 30 * spread
    # without errors: the mean |log y - Y| is the noise's for Manna, E|N(0, s^2)| = 0.8 s with
    # s ~ 0.05 sqrt(1.5) (the point's noise and the master curve's, half as large): 0.049
    noise_level = 0.8 * 0.05 * np.sqrt(1.5)
    assert collapse.collapse_quality(x, y, log_y=True) < 1.5 * noise_level
    mean_field_spread = collapse.collapse_quality(*groups(*planted_activity(5), exponents.MEAN_FIELD)[:2], log_y=True)
    assert mean_field_spread > 3 * noise_level


def test_collapse_quality_of_exact_curves():
    x = [np.linspace(-1, 1, 201), np.linspace(-0.5, 1.5, 101)]
    y = [np.exp(g) for g in x]
    assert collapse.collapse_quality(x, y) < 1e-4                 # relative interpolation error of exp
    assert collapse.collapse_quality(x, [y[0], 2 * y[1]]) > 0.3     # a factor 2 apart: |y / Y - 1| = 1/2 or 1
    assert collapse.collapse_quality([x[0], x[0] + 5], [y[0], y[0]]) == np.inf  # no overlap
    # a quarter of the points inside the other size's range is too little to judge; half is enough
    steps = np.arange(4.0)
    assert collapse.collapse_quality([steps, steps + 2.5], [np.ones(4), np.ones(4)]) == np.inf
    assert collapse.collapse_quality([steps, steps + 1.5], [np.ones(4), np.ones(4)]) == 0.0


@pytest.fixture(scope="module")
def collapse_fit():
    return collapse.fit_collapse(*planted_activity(6), start=(0.615, 1.5, 1.3), log_y=True)


def test_fit_collapse_recovers_the_planted_scaling(collapse_fit):
    assert collapse_fit.phi_c.covers(PHI_C)
    assert collapse_fit.x_exponent.covers(1 / MANNA.nu_perp)
    assert collapse_fit.y_exponent.covers(MANNA.beta / MANNA.nu_perp)
    assert collapse_fit.phi_c.samples.shape == (50,)
    # the minimum lies at or below S at the planted values
    assert collapse_fit.quality < 1 + 3 * quality_spread(groups(*planted_activity(6), MANNA)[0])


def test_fit_collapse_without_errors(collapse_fit):
    phi, size, f, _ = planted_activity(6)
    fit = collapse.fit_collapse(phi, size, f, None, start=(0.615, 1.5, 1.3), log_y=True, n_boot=2,
                            bounds=[(0.6, 0.64), (1.0, 2.5), (0.5, 2.5)])
    for name in ("phi_c", "x_exponent", "y_exponent"):
        assert getattr(collapse_fit, name).covers(getattr(fit, name).value)


# --- bad input ----------------------------------------------------------------------------------


def test_collapse_at_fixed_exponents_finds_the_planted_critical_point():
    rng = np.random.default_rng(5)
    e = exponents.exponents(3)
    phi_c = 0.62
    phi, size, y = [], [], []
    for L in (8.0, 12.0, 18.0):
        x = np.linspace(-2.0, 2.0, 15)
        phi.append(phi_c + x * L ** (-1 / e.nu_perp))
        size.append(np.full(15, L))
        y.append(np.log1p(np.exp(3 * x)) * L ** (-e.beta / e.nu_perp) * (1 + 0.01 * rng.normal(size=15)))
    phi, size, y = map(np.concatenate, (phi, size, y))
    dy = 0.01 * y
    best, quality = collapse.collapse_at_exponents(phi, size, y, dy, 1 / e.nu_perp, e.beta / e.nu_perp,
                                               (0.55, 0.70), log_y=True)
    assert abs(best - phi_c) < 2e-3
    assert quality < 3
    mean_field = exponents.exponents(5)
    _, worse = collapse.collapse_at_exponents(phi, size, y, dy, 1 / mean_field.nu_perp,
                                          mean_field.beta / mean_field.nu_perp, (0.55, 0.70), log_y=True)
    assert worse > 3 * quality


def test_mean_field_collapse_in_five_dimensions_uses_the_particle_number():
    """A planted mean-field scaling in n (f = n^(-1/2) F((phi - phi_c) n^(1/2))) in d = 5 collapses
    within errors with the d = 5 powers, and not with the d = 4 ones in terms of L."""
    rng = np.random.default_rng(3)
    phi_c, d = 0.29, 5
    n = np.array([1000, 4000, 16000, 64000])
    phi = (phi_c + np.linspace(-2.0, 2.0, 15)[None, :] / np.sqrt(n)[:, None]).ravel()
    size = exponents.linear_size(np.repeat(n, 15), d)
    x = (phi - phi_c) * np.sqrt(np.repeat(n, 15))
    y = np.log1p(np.exp(3 * x)) / np.sqrt(np.repeat(n, 15)) * (1 + 0.01 * rng.normal(size=x.size))
    dy = 0.01 * y
    right = exponents.scaling_powers(exponents.MEAN_FIELD, d)
    wrong = exponents.scaling_powers(exponents.MEAN_FIELD, 4)
    best, quality = collapse.collapse_at_exponents(phi, size, y, dy, right.distance, right.activity,
                                               (0.25, 0.33), log_y=True)
    assert abs(best - phi_c) < 2e-3
    assert quality < 3
    _, worse = collapse.collapse_at_exponents(phi, size, y, dy, wrong.distance, wrong.activity,
                                          (0.25, 0.33), log_y=True)
    assert worse > 3 * quality


def seeded_cells(planted, seeds=3, noise=0.05, seed=11):
    """Per-seed activities planted with exponents (the scaling function of ``planted_activity``) on
    13 phi per size: (phi, L, samples, errors), errors the standard errors over the seeds."""
    grid = np.linspace(-2.5, 2.5, 13)
    phi = (0.621 + grid[None, :] / SIZES[:, None] ** (1 / MANNA.nu_perp)).ravel()
    size = np.repeat(SIZES, grid.size)
    x = (phi - PHI_C) * size ** (1 / planted.nu_perp)
    f = size ** (-planted.beta / planted.nu_perp) * np.log1p(np.exp(3 * x))
    rng = np.random.default_rng(seed)
    samples = [value * (1 + noise * rng.standard_normal(seeds)) for value in f]
    return phi, size, samples, np.array([s.std(ddof=1) / np.sqrt(seeds) for s in samples])


@pytest.mark.parametrize("planted, name", [(MANNA, "manna"), (exponents.MEAN_FIELD, "mean_field")])
def test_collapse_preference_picks_the_planted_exponents(planted, name):
    candidates = {cls: (1 / e.nu_perp, e.beta / e.nu_perp) for cls, e in
                  (("manna", MANNA), ("mean_field", exponents.MEAN_FIELD))}
    phi, size, samples, errors = seeded_cells(planted)
    wins = collapse.collapse_preference(phi, size, samples, errors, candidates, (0.55, 0.70), n_boot=20)
    # the wrong exponents collapse tens of spreads worse (test above): no resample may flip that
    assert wins[name] == 1.0
    assert sum(wins.values()) == pytest.approx(1.0)


def test_collapse_preference_is_undecided_without_activity():
    phi, size, samples, errors = seeded_cells(MANNA)
    silent = [np.zeros(3) if k % 13 else s for k, s in enumerate(samples)]   # one active cell per size
    wins = collapse.collapse_preference(phi, size, silent, errors, {"a": (1.0, 1.0), "b": (2.0, 2.0)},
                                    (0.55, 0.70), n_boot=5)
    assert wins == {"a": 0.0, "b": 0.0, "undecided": 1.0}
    # x = phi - phi_c for every size (x_exponent 0): ranges that never overlap collapse for no phi_c
    apart = collapse.collapse_preference([0.60, 0.61, 0.70, 0.71], [10.0, 10.0, 20.0, 20.0],
                                     [np.full(3, 0.1), np.full(3, 0.2)] * 2, np.full(4, 1e-3),
                                     {"a": (0.0, 1.0), "b": (0.0, 2.0)}, (0.5, 0.8), n_boot=3)
    assert apart == {"a": 0.0, "b": 0.0, "undecided": 1.0}
    with pytest.raises(ValueError, match="errors"):
        collapse.collapse_preference(phi, size, samples, 0 * errors, {"a": (1, 1), "b": (2, 2)}, (0.5, 0.7))
    with pytest.raises(ValueError, match="candidates"):
        collapse.collapse_preference(phi, size, samples, errors, {"a": (1, 1)}, (0.5, 0.7))
