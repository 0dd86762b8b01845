"""Analysis of the absorbing phase transition from recorded activity series.

The activity f_a is the fraction of particles with at least one overlap, measured before each step;
a run is absorbed when f_a = 0 (its last record is then 0). Steps are simulation steps, packing
fractions phi are dimensionless, kick sizes eps and learning rates lr are in diameters. Sections:
the authors' observables; steady state; relaxation times; phi_c at one system size and step size;
the step size -> 0 extrapolation; finite-size scaling (data collapse).

Every fit returns ``Estimate`` values (value, one-sigma error, and the bootstrap or per-seed samples
behind the error). Bootstraps use ``numpy.random.default_rng(seed)``, so results are reproducible.
"""
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize
from scipy.integrate import trapezoid

STEADY_TAIL = 0.1  # fraction of the records averaged for f_inf
MIN_WINDOW = 16    # fewest records a window of the steady-state test may hold
SOKAL_WINDOW = 5.0  # the automatic window of autocorrelation_time: sum rho up to this many tau_int
# A collapse is judged only where at least this fraction of the points lies inside another size's
# x range: otherwise a fit can slide the sizes apart until a handful of points "collapse" perfectly.
MIN_COVERED = 0.5


def steady_state_activity(active_fraction: np.ndarray, tail: float = STEADY_TAIL) -> float:
    """f_inf: the mean of the last ``tail`` fraction of the records (at least one record)."""
    count = max(1, int(round(tail * len(active_fraction))))
    return float(np.mean(active_fraction[-count:]))


def relaxation_time(steps: np.ndarray, active_fraction: np.ndarray, absorbed: bool) -> float:
    """The authors' relaxation time tau, in steps.

    Absorbed: the first step with f_a = 0. Otherwise the first step with |f_a / f_inf - 1| < 0.1,
    f_inf from ``steady_state_activity``. NaN for an empty series.
    """
    if len(steps) == 0:
        return float("nan")
    if absorbed:
        return float(steps[np.argmax(active_fraction == 0)])
    f_inf = steady_state_activity(active_fraction)
    close = np.abs(active_fraction / f_inf - 1.0) < 0.1
    return float(steps[np.argmax(close)]) if close.any() else float("nan")


@dataclass(frozen=True)
class Estimate:
    """A value with its one-sigma error; ``samples``: the bootstrap or per-seed values behind the
    error (empty when the error comes from a covariance matrix)."""
    value: float
    error: float
    samples: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)


def _vector(name: str, values, min_size: int = 1) -> np.ndarray:
    """values as a finite 1-D float64 array of at least min_size entries, or a ValueError naming name."""
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size < min_size:
        raise ValueError(f"{name} needs at least {min_size} entries, got {array.size}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite")
    return array


def _same_length(**arrays: np.ndarray) -> None:
    """A ValueError naming the arrays unless they all have the same length."""
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError("must have the same length: " + ", ".join(f"{k} ({v})" for k, v in lengths.items()))


def _count(name: str, value, low: int) -> int:
    """value as an int >= low, or a ValueError naming name."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _bootstrapped(value: float, samples: np.ndarray) -> Estimate:
    """value with the standard deviation of its bootstrap samples as the error."""
    return Estimate(float(value), float(np.std(samples, ddof=1)), samples)


def _series(steps, active_fraction, min_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(t, f): steps shifted to start at 0 and strictly increasing, and the matching records."""
    t = _vector("steps", steps, min_size)
    f = _vector("active_fraction", active_fraction, min_size)
    _same_length(steps=t, active_fraction=f)
    if np.any(np.diff(t) <= 0):
        raise ValueError("steps must be strictly increasing")
    return t - t[0], f


# --- steady state -------------------------------------------------------------------------------

def autocorrelation_time(values: np.ndarray, window: float = SOKAL_WINDOW) -> float:
    """Integrated autocorrelation time of a stationary series, in records (Sokal 1997).

    values: (n,) records, n >= 2. tau_int = 1/2 + sum_{t=1..M} rho(t), with rho the normalised
    autocorrelation about the mean and M the first lag with M >= window * tau_int (the automatic
    window; longer sums add mostly noise). The error of the mean of n records is then
    sqrt(2 tau_int var / n); an uncorrelated series has tau_int = 1/2. Returns at least 1/2 (also
    for a constant series).
    """
    x = _vector("values", values, 2)
    x = x - x.mean()
    spectrum = np.fft.rfft(x, 2 * x.size)
    covariance = np.fft.irfft(spectrum * np.conj(spectrum))[:x.size]
    if covariance[0] == 0:
        return 0.5
    rho = covariance / covariance[0]
    tau = 0.5
    for lag in range(1, x.size):
        tau += rho[lag]
        if lag >= window * tau:
            break
    return max(float(tau), 0.5)


def is_steady(active_fraction: np.ndarray, windows: int = 4) -> bool:
    """Whether a recorded series has reached its steady state: no significant trend over its last half.

    active_fraction: (n,) records (f_a or any observable). An absorbed series (last record 0) is
    steady. Otherwise the last half of the records (its earliest remainder dropped) is cut into
    ``windows`` consecutive windows of m >= MIN_WINDOW records each, with means m_k. Under
    stationarity every m_k has the standard error s = sqrt(2 tau_int var / m), with tau_int
    (``autocorrelation_time``) and var taken from the whole last half after removing its
    least-squares line (so that a trend does not inflate them). The series is steady when the
    least-squares slope b = sum_k c_k m_k, c_k = (k - kbar) / sum (k - kbar)^2, obeys
    |b| <= 2 s sqrt(sum_k c_k^2). On stationary AR(1) series of 400 records the rule rejects 4 % at
    tau_int = 1/2 record, 9 % at 2, 12 % at 5 and 19 % at 10 (``python -m experiments.studies.steady_rule``;
    tau_int is underestimated from 200 records when it is long): records should span many
    correlation times.
    """
    f = _vector("active_fraction", active_fraction)
    windows = _count("windows", windows, 2)
    if f[-1] == 0:
        return True
    length = (f.size // 2) // windows
    if length < MIN_WINDOW:
        raise ValueError(f"active_fraction has {f.size} records; windows={windows} needs at least "
                         f"{2 * windows * MIN_WINDOW} ({MIN_WINDOW} per window in the last half)")
    half = f[f.size - windows * length:]
    index = np.arange(half.size)
    residual = half - np.polyval(np.polyfit(index, half, 1), index)
    error = np.sqrt(2.0 * autocorrelation_time(residual) * np.mean(residual ** 2) / length)
    means = half.reshape(windows, length).mean(axis=1)
    centred = np.arange(windows) - 0.5 * (windows - 1)
    weights = centred / np.sum(centred ** 2)
    return bool(abs(weights @ means) <= 2.0 * error * np.sqrt(np.sum(weights ** 2)))


def steady_state(runs: Sequence[np.ndarray], tail: float = STEADY_TAIL) -> Estimate:
    """f_inf over seeds: the mean of the per-seed f_inf and its standard error over seeds.

    runs: two or more (n_k,) activity series, one per seed (lengths may differ). A seed's f_inf is
    ``steady_state_activity(series, tail)``, or 0 when the run was absorbed (last record 0).
    samples: the per-seed f_inf.
    """
    if not 0 < tail <= 1:
        raise ValueError(f"tail must be in (0, 1], got {tail!r}")
    series = [_vector(f"runs[{k}]", run) for k, run in enumerate(runs)]
    if len(series) < 2:
        raise ValueError(f"runs needs at least 2 series for an error over seeds, got {len(series)}")
    values = np.array([0.0 if f[-1] == 0 else steady_state_activity(f, tail) for f in series])
    return Estimate(float(values.mean()), float(values.std(ddof=1) / np.sqrt(values.size)), values)


# --- relaxation times ---------------------------------------------------------------------------

def integrated_relaxation_time(steps: np.ndarray, active_fraction: np.ndarray,
                               f_inf: float | None = None) -> float:
    """Integrated relaxation time, in steps: the integral over t of
    g(t) = (f_a(t) - f_inf) / (f_a(0) - f_inf).

    steps, active_fraction: (n,) records, n >= 2, steps strictly increasing (t counted from steps[0]).
    f_inf: the steady value; by default 0 for an absorbed run (last record 0), else
    ``steady_state_activity``. Trapezoid rule, up to the first zero crossing of g (located by linear
    interpolation between records), or to the last record if g stays positive. For a pure
    exponential relaxation f_inf + A exp(-t/tau) it gives tau.
    """
    t, f = _series(steps, active_fraction, 2)
    if f_inf is None:
        f_inf = 0.0 if f[-1] == 0 else steady_state_activity(f)
    if f[0] == f_inf:
        raise ValueError("active_fraction starts at f_inf, there is no relaxation to integrate")
    g = (f - f_inf) / (f[0] - f_inf)
    crossing = np.flatnonzero(g <= 0)
    if crossing.size:
        k = crossing[0]
        t_zero = t[k - 1] + (t[k] - t[k - 1]) * g[k - 1] / (g[k - 1] - g[k])
        t, g = np.append(t[:k], t_zero), np.append(g[:k], 0.0)
    return float(trapezoid(g, t))


def exponential_relaxation_time(steps: np.ndarray, active_fraction: np.ndarray) -> Estimate:
    """tau, in steps, from a least-squares fit of f_a(t) = f_inf + A exp(-t / tau) (scipy curve_fit).

    steps, active_fraction: (n,) records, n >= 4, t counted from steps[0]; f_inf, A and tau are all
    fitted, starting from f_inf = ``steady_state_activity``, A = f_a(0) - f_inf and tau =
    ``integrated_relaxation_time`` (at least the first record interval). The error is the one from
    the fit covariance, scaled by the residuals (unweighted records).
    """
    t, f = _series(steps, active_fraction, 4)
    f_inf = steady_state_activity(f)
    tau = max(integrated_relaxation_time(t, f, f_inf), t[1])

    def model(time, level, amplitude, scale):
        return level + amplitude * np.exp(-time / scale)

    try:
        params, covariance = optimize.curve_fit(
            model, t, f, p0=(f_inf, f[0] - f_inf, tau), x_scale="jac",
            bounds=([-np.inf, -np.inf, 1e-6 * t[1]], [np.inf, np.inf, np.inf]))
    except RuntimeError as failure:
        raise ValueError(f"active_fraction: the exponential fit did not converge ({failure})") from None
    return Estimate(float(params[2]), float(np.sqrt(covariance[2, 2])))


def stacked_runs(runs: Sequence[np.ndarray], records: int) -> np.ndarray:
    """(len(runs), records): each run's activity records, followed by zeros where it stopped early
    (an absorbed run stays at f_a = 0). A run longer than records is a ValueError."""
    stacked = np.zeros((len(runs), records))
    for k, run in enumerate(runs):
        f = _vector(f"runs[{k}]", run)
        if f.size > records:
            raise ValueError(f"runs[{k}] has {f.size} records, more than the {records} steps")
        stacked[k, :f.size] = f
    return stacked


def decay_exponent(steps: np.ndarray, runs: Sequence[np.ndarray], window: tuple[float, float],
                   n_boot: int = 200, seed: int = 0) -> Estimate:
    """alpha of the critical decay f_a(t) ~ t^(-alpha): the least-squares slope of log <f_a> against
    log t over the records with window[0] <= t <= window[1] (steps), negated.

    steps: (T,) the record steps shared by the runs, strictly increasing; runs: two or more series,
    each the first T_k <= T records of a run (a run that absorbed stops early and counts as 0 after
    its last record). <f_a> is the mean over runs; the error is the standard deviation of the slope
    over n_boot resamples of the runs. NaN where <f_a> reaches 0 inside the window. At phi_c,
    alpha = beta / nu_par for times below the finite-size time L^(nu_par / nu_perp); below phi_c the
    slope steepens with t, above it flattens.
    """
    t = _vector("steps", steps, 3)
    if np.any(np.diff(t) <= 0):
        raise ValueError("steps must be strictly increasing")
    low, high = window
    if not 0 < low < high:
        raise ValueError(f"window must satisfy 0 < window[0] < window[1], got {window!r}")
    inside = (t >= low) & (t <= high)
    if np.count_nonzero(inside) < 3:
        raise ValueError(f"window {window!r} holds {np.count_nonzero(inside)} records, needs at least 3")
    if len(runs) < 2:
        raise ValueError(f"runs needs at least 2 series for an error over runs, got {len(runs)}")
    padded = stacked_runs(runs, t.size)
    log_t = np.log(t[inside])

    def slope(rows: np.ndarray) -> float:
        mean = padded[rows][:, inside].mean(axis=0)
        return float(-np.polyfit(log_t, np.log(mean), 1)[0]) if np.all(mean > 0) else float("nan")

    everyone = np.arange(len(runs))
    value = slope(everyone)
    if not np.isfinite(value):
        return Estimate(float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    samples = np.array([slope(rng.choice(everyone, everyone.size)) for _ in range(n_boot)])
    samples = samples[np.isfinite(samples)]
    return _bootstrapped(value, samples) if samples.size >= 2 else Estimate(value, float("nan"))


# --- phi_c at one system size and step size -----------------------------------------------------

@dataclass(frozen=True)
class LogisticFit:
    """P_absorbed(phi) = 1 / (1 + exp((phi - phi_c) / width)): phi_c where it crosses 1/2."""
    phi_c: Estimate
    width: Estimate


def _logistic_nll(params: np.ndarray, phi: np.ndarray, runs: np.ndarray, active: np.ndarray) -> float:
    """Binomial negative log-likelihood of P_absorbed at params = (phi_c, log width), with phi in
    the same units as phi_c and width."""
    z = (phi - params[0]) * np.exp(-params[1])
    return float(np.sum(runs * np.logaddexp(0.0, z) - active * z))


def phi_c_from_absorption(phi: np.ndarray, absorbed: np.ndarray, n_boot: int = 200,
                          seed: int = 0) -> LogisticFit:
    """phi_c from the absorption probability, by a maximum-likelihood logistic fit.

    phi: (n_runs,) packing fraction of each run (several seeds per phi); absorbed: (n_runs,) bool.
    Fits P_absorbed(phi) = 1 / (1 + exp((phi - phi_c) / w)), w > 0, to the binomial likelihood
    (Nelder-Mead in phi measured in units of the phi range span from min(phi); phi_c within
    [min(phi) - span, max(phi) + span], w within [1e-3 times the smallest phi spacing, span]).
    Errors: bootstrap over ``n_boot`` resamples of the runs within each phi (a binomial redraw of
    the absorbed count). Completely separated data (every absorbed run at a lower phi than every
    active one) have no maximum: phi_c is then the middle of the gap between the densest absorbed and
    the loosest active phi, with the error of a uniform over the gap (gap / sqrt 12), and w the
    lower bound of its range.
    """
    phi = _vector("phi", phi, 2)
    outcome = np.asarray(absorbed)
    if outcome.dtype != bool:
        raise ValueError(f"absorbed must be a bool array, got dtype {outcome.dtype}")
    _same_length(phi=phi, absorbed=outcome)
    n_boot = _count("n_boot", n_boot, 2)
    values, index = np.unique(phi, return_inverse=True)
    if values.size < 2:
        raise ValueError("phi needs at least 2 distinct values")
    if outcome.all() or not outcome.any():
        raise ValueError("absorbed needs both absorbed and active runs")
    runs = np.bincount(index).astype(float)
    active = np.bincount(index, weights=~outcome)
    span = values[-1] - values[0]
    unit_phi = (values - values[0]) / span
    densest_absorbed, loosest_active = phi[outcome].max(), phi[~outcome].min()
    if densest_absorbed < loosest_active:
        gap = loosest_active - densest_absorbed
        width = 1e-3 * span * np.min(np.diff(unit_phi))
        return LogisticFit(Estimate(float(densest_absorbed + gap / 2), float(gap / np.sqrt(12.0))),
                           Estimate(float(width), 0.0))
    bounds = optimize.Bounds([-1.0, np.log(1e-3 * np.min(np.diff(unit_phi)))], [2.0, 0.0])

    def fit(active_counts, start):
        result = optimize.minimize(_logistic_nll, start, args=(unit_phi, runs, active_counts),
                                   method="Nelder-Mead", bounds=bounds,
                                   options={"xatol": 1e-6, "fatol": 1e-9,
                                            "initial_simplex": start + [[0, 0], [0.1, 0], [0, 0.5]]})
        return result.x

    fraction = 1.0 - active / runs
    best = fit(active, np.array([unit_phi[np.argmin(np.abs(fraction - 0.5))], np.log(0.1)]))
    redraws = np.random.default_rng(seed).binomial(runs.astype(int), active / runs, (n_boot, values.size))
    samples = np.array([fit(counts.astype(float), best) for counts in redraws])
    return LogisticFit(_bootstrapped(values[0] + span * best[0], values[0] + span * samples[:, 0]),
                       _bootstrapped(span * np.exp(best[1]), span * np.exp(samples[:, 1])))


@dataclass(frozen=True)
class PowerLawFit:
    """f_inf = amplitude * (phi - phi_c)^beta on the active side."""
    phi_c: Estimate
    beta: Estimate
    amplitude: Estimate


def _power_law_profile(phi: np.ndarray, log_f: np.ndarray, weight: np.ndarray,
                       phi_c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each candidate phi_c (m,): chi^2, beta and log amplitude of the weighted straight-line
    fit of log f against log(phi - phi_c)."""
    x = np.log(phi[None, :] - phi_c[:, None])
    total = weight.sum()
    x_mean = (x * weight).sum(axis=1, keepdims=True) / total
    y_mean = (log_f * weight).sum() / total
    sxx = ((x - x_mean) ** 2 * weight).sum(axis=1)
    sxy = ((x - x_mean) * (log_f - y_mean) * weight).sum(axis=1)
    syy = ((log_f - y_mean) ** 2 * weight).sum()
    beta = sxy / sxx
    return syy - beta * sxy, beta, y_mean - beta * x_mean[:, 0]


def _fit_power_law(phi: np.ndarray, log_f: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(phi_c, beta, log amplitude) minimising chi^2: a grid over the distance delta = min(phi) - phi_c,
    log-spaced from 1e-4 to 4 times the phi span, refined by a bounded Brent search in log delta."""
    lowest, span = phi.min(), np.ptp(phi)
    log_delta = np.log(span) + np.linspace(np.log(1e-4), np.log(4.0), 97)
    chi2 = _power_law_profile(phi, log_f, weight, lowest - np.exp(log_delta))[0]
    k = int(np.argmin(chi2))
    result = optimize.minimize_scalar(
        lambda s: _power_law_profile(phi, log_f, weight, np.array([lowest - np.exp(s)]))[0][0],
        bounds=(log_delta[max(k - 1, 0)], log_delta[min(k + 1, log_delta.size - 1)]), method="bounded")
    phi_c = lowest - np.exp(result.x)
    _, beta, log_amplitude = _power_law_profile(phi, log_f, weight, np.array([phi_c]))
    return np.array([phi_c, beta[0], log_amplitude[0]])


def phi_c_from_power_law(phi: np.ndarray, f_inf: np.ndarray, f_err: np.ndarray | None = None,
                         n_boot: int = 200, seed: int = 0) -> PowerLawFit:
    """phi_c and beta from the steady activity on the active side, f_inf = A (phi - phi_c)^beta.

    phi, f_inf, f_err: (n,) packing fractions, steady activities and their errors; only the points
    with f_inf > 0 are used (at least 4), and phi_c < min(phi) there. The fit is least squares in
    log f_inf (weights (f_inf / f_err)^2, or equal weights without f_err); phi_c is searched from
    min(phi) - 4 span to min(phi) - 1e-4 span (span: the range of those phi), with log A and beta
    solved for at each phi_c. Errors: ``n_boot`` bootstrap refits, parametric with f_err
    (log f_inf redrawn with standard deviation f_err / f_inf), else by resampling the residuals.
    """
    phi = _vector("phi", phi)
    f_inf = _vector("f_inf", f_inf)
    _same_length(phi=phi, f_inf=f_inf)
    n_boot = _count("n_boot", n_boot, 2)
    keep = f_inf > 0
    distinct = np.unique(phi[keep]).size
    if distinct < 4:
        raise ValueError(f"f_inf needs at least 4 distinct phi with f_inf > 0, got {distinct}")
    phi, f = phi[keep], f_inf[keep]
    log_f = np.log(f)
    if f_err is None:
        weight = np.ones_like(f)
    else:
        f_err = _vector("f_err", f_err)
        _same_length(f_inf=f_inf, f_err=f_err)
        if np.any(f_err[keep] <= 0):
            raise ValueError("f_err must be > 0 where f_inf > 0")
        weight = (f / f_err[keep]) ** 2
    best = _fit_power_law(phi, log_f, weight)
    fitted = best[2] + best[1] * np.log(phi - best[0])
    rng = np.random.default_rng(seed)
    if f_err is None:
        residuals = (log_f - fitted) * np.sqrt(f.size / (f.size - 3))
        redraws = fitted + rng.choice(residuals, (n_boot, f.size))
    else:
        redraws = fitted + rng.standard_normal((n_boot, f.size)) / np.sqrt(weight)
    samples = np.array([_fit_power_law(phi, redraw, weight) for redraw in redraws])
    return PowerLawFit(_bootstrapped(best[0], samples[:, 0]), _bootstrapped(best[1], samples[:, 1]),
                       _bootstrapped(np.exp(best[2]), np.exp(samples[:, 2])))


# --- step size -> 0 -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Extrapolation:
    """phi_c(s) = phi_c(0) - amplitude * s^exponent fitted to phi_c measured at step sizes s."""
    phi_c: Estimate       # phi_c(0)
    amplitude: Estimate
    exponent: Estimate    # 1 with error 0 for form="linear"
    chi2: float
    dof: int


def extrapolate_to_zero(step_sizes: np.ndarray, phi_c_values: np.ndarray, errors: np.ndarray,
                        form: str = "power") -> Extrapolation:
    """The eps -> 0 (or lr -> 0) limit of phi_c.

    step_sizes, phi_c_values, errors: (n,) step sizes s > 0 (diameters), phi_c(s) and its one-sigma
    errors. form="power": phi_c(s) = phi_c(0) - a s^b (n >= 3, b > 0); form="linear":
    phi_c(s) = phi_c(0) - a s (n >= 2). Weighted least squares with the errors as absolute sigma:
    in closed form for the line (so two points give an exact line with propagated errors), by scipy
    curve_fit from the weighted line for the power; parameter errors from the covariance.
    """
    forms = {"linear": 2, "power": 3}
    if form not in forms:
        raise ValueError(f"form must be one of {', '.join(forms)}; got {form!r}")
    s = _vector("step_sizes", step_sizes, forms[form])
    y = _vector("phi_c_values", phi_c_values)
    sigma = _vector("errors", errors)
    _same_length(step_sizes=s, phi_c_values=y, errors=sigma)
    if np.any(s <= 0):
        raise ValueError("step_sizes must be > 0")
    if np.any(sigma <= 0):
        raise ValueError("errors must be > 0")

    def model(size, phi_c0, amplitude, exponent=1.0):
        return phi_c0 - amplitude * size ** exponent

    design = np.stack([np.ones_like(s), -s], axis=1) / sigma[:, None]
    covariance = np.linalg.inv(design.T @ design)
    params = covariance @ design.T @ (y / sigma)
    if form == "power":
        params, covariance = optimize.curve_fit(model, s, y, p0=[*params, 1.0], sigma=sigma,
                                                absolute_sigma=True,
                                                bounds=([-np.inf, -np.inf, 0.0], np.inf))
    errors_fit = np.sqrt(np.diag(covariance))
    exponent = Estimate(float(params[2]), float(errors_fit[2])) if form == "power" else Estimate(1.0, 0.0)
    chi2 = float(np.sum(((y - model(s, *params)) / sigma) ** 2))
    return Extrapolation(Estimate(float(params[0]), float(errors_fit[0])),
                         Estimate(float(params[1]), float(errors_fit[1])), exponent, chi2,
                         s.size - forms[form])


# --- finite-size scaling ------------------------------------------------------------------------

@dataclass(frozen=True)
class CriticalExponents:
    """Exponents of an absorbing transition: f_inf ~ (phi - phi_c)^beta, correlation length
    ~ |phi - phi_c|^-nu_perp, correlation time ~ |phi - phi_c|^-nu_par."""
    beta: float
    nu_perp: float
    nu_par: float

    @property
    def z(self) -> float:
        """Dynamical exponent nu_par / nu_perp."""
        return self.nu_par / self.nu_perp


MEAN_FIELD = CriticalExponents(beta=1.0, nu_perp=0.5, nu_par=1.0)
# Manna (conserved directed percolation) class by dimension d (Lubeck, IJMPB 18, 3977 (2004));
# the entry 4 stands for every d >= 4: mean field (upper critical dimension 4, its logarithmic
# corrections at d = 4 ignored).
EXPONENTS = {
    1: CriticalExponents(beta=0.382, nu_perp=1.347, nu_par=1.876),
    2: CriticalExponents(beta=0.639, nu_perp=0.799, nu_par=1.225),
    3: CriticalExponents(beta=0.840, nu_perp=0.593, nu_par=1.081),
    4: MEAN_FIELD,
}


def exponents(d: int, cls: str = "manna") -> CriticalExponents:
    """The exponents of the Manna class in d >= 1 dimensions (mean field for d >= 4), or of mean
    field in any d (cls="mean_field")."""
    d = _count("d", d, 1)
    if cls not in ("manna", "mean_field"):
        raise ValueError(f"cls must be 'manna' or 'mean_field', got {cls!r}")
    return EXPONENTS[min(d, 4)] if cls == "manna" else MEAN_FIELD


UPPER_CRITICAL_DIMENSION = 4


@dataclass(frozen=True)
class ScalingPowers:
    """Powers of L = N^(1/d) in the finite-size scaling forms
    ``f_a = L^(-activity) F((phi - phi_c) L^(distance))`` and ``tau = L^(time) G(same)``."""
    distance: float
    activity: float
    time: float


def scaling_powers(exponents_: CriticalExponents, d: int) -> ScalingPowers:
    """The powers of L in the scaling forms for exponents in a d-dimensional system.

    Below the upper critical dimension d_c = 4: 1/nu_perp, beta/nu_perp and nu_par/nu_perp. Mean
    field above d_c obeys the same forms with L replaced by L^(d/d_c) = N^(1/4) (the correlation
    volume saturates at N), so every power is multiplied by d/4: f_a = N^(-1/2) F((phi - phi_c)
    N^(1/2)) and tau ~ N^(1/2) in mean field, in any d >= 4.
    """
    d = _count("d", d, 1)
    stretch = d / UPPER_CRITICAL_DIMENSION if exponents_ == MEAN_FIELD and d > UPPER_CRITICAL_DIMENSION else 1.0
    e = exponents_
    return ScalingPowers(stretch / e.nu_perp, stretch * e.beta / e.nu_perp, stretch * e.nu_par / e.nu_perp)


def linear_size(n_particles, d: int) -> np.ndarray:
    """L = N^(1/d): the box side in diameters up to a constant factor (fixed phi), for the scaling forms."""
    d = _count("d", d, 1)
    n = np.asarray(n_particles, dtype=float)
    if np.any(n < 1):
        raise ValueError("n_particles must be >= 1")
    return n ** (1.0 / d)


def scaled(phi: np.ndarray, L: np.ndarray, y: np.ndarray, phi_c: float, x_exponent: float,
           y_exponent: float) -> tuple[np.ndarray, np.ndarray]:
    """(x, y_scaled) = ((phi - phi_c) L^x_exponent, y L^y_exponent); arrays broadcast together.

    f_a = L^(-beta/nu_perp) F(x): x_exponent = 1/nu_perp, y_exponent = beta/nu_perp.
    tau = L^(nu_par/nu_perp) G(x): x_exponent = 1/nu_perp, y_exponent = -nu_par/nu_perp.
    """
    size = np.asarray(L, dtype=float)
    if np.any(size <= 0):
        raise ValueError("L must be > 0")
    x = (np.asarray(phi, dtype=float) - phi_c) * size ** x_exponent
    return x, np.asarray(y, dtype=float) * size ** y_exponent


def _collapse_groups(x_groups, y_groups, dy_groups, log_y: bool):
    """Validated (x, y, dy) per group, y and dy turned into log y and dy / y when log_y (dy None
    without errors)."""
    if len(x_groups) != len(y_groups) or (dy_groups is not None and len(dy_groups) != len(x_groups)):
        raise ValueError("x_groups, y_groups and dy_groups must hold the same number of groups")
    if len(x_groups) < 2:
        raise ValueError(f"x_groups needs at least 2 groups (system sizes), got {len(x_groups)}")
    groups = []
    for k in range(len(x_groups)):
        x = _vector(f"x_groups[{k}]", x_groups[k], 2)
        y = _vector(f"y_groups[{k}]", y_groups[k])
        _same_length(**{f"x_groups[{k}]": x, f"y_groups[{k}]": y})
        dy = None
        if dy_groups is not None:
            dy = _vector(f"dy_groups[{k}]", dy_groups[k])
            _same_length(**{f"x_groups[{k}]": x, f"dy_groups[{k}]": dy})
            if np.any(dy <= 0):
                raise ValueError(f"dy_groups[{k}] must be > 0")
        if log_y:
            if np.any(y <= 0):
                raise ValueError(f"y_groups[{k}] must be > 0 with log_y=True")
            dy = None if dy is None else dy / y
            y = np.log(y)
        groups.append((x, y, dy))
    return groups


def _quality(groups, relative: bool) -> float:
    """The collapse quality of validated groups (see ``collapse_quality``); relative: without errors,
    divide the deviations by |Y|."""
    x = np.concatenate([g[0] for g in groups])
    y = np.concatenate([g[1] for g in groups])
    with_errors = groups[0][2] is not None
    label = np.repeat(np.arange(len(groups)), [g[0].size for g in groups])
    k0, kx, ky, kxx, kxy = np.zeros((5, x.size))    # sums over the pooled bracketing points
    for k, (cx, cy, cdy) in enumerate(groups):
        cx, first = np.unique(cx, return_index=True)
        if cx.size < 2:
            continue
        cy = cy[first]
        cw = 1.0 / cdy[first] ** 2 if with_errors else np.ones(cx.size)
        inside = (x >= cx[0]) & (x <= cx[-1]) & (label != k)
        upper = np.clip(np.searchsorted(cx, x, side="right"), 1, cx.size - 1)
        for index in (upper - 1, upper):
            w = np.where(inside, cw[index], 0.0)
            wx = w * cx[index]
            k0 += w
            kx += wx
            ky += w * cy[index]
            kxx += wx * cx[index]
            kxy += wx * cy[index]
    covered = k0 > 0
    if np.count_nonzero(covered) < MIN_COVERED * x.size:
        return float("inf")
    k0, kx, ky, kxx, kxy, x, y = (a[covered] for a in (k0, kx, ky, kxx, kxy, x, y))
    delta = k0 * kxx - kx ** 2
    master = (kxx * ky - kx * kxy + x * (k0 * kxy - kx * ky)) / delta
    if with_errors:
        dy = np.concatenate([g[2] for g in groups])[covered]
        return float(np.mean((y - master) ** 2 / (dy ** 2 + (kxx - 2.0 * x * kx + x ** 2 * k0) / delta)))
    deviation = np.abs(y - master)
    return float(np.mean(deviation / np.abs(master) if relative else deviation))


def collapse_quality(x_groups: Sequence[np.ndarray], y_groups: Sequence[np.ndarray],
                     dy_groups: Sequence[np.ndarray] | None = None, log_y: bool = False) -> float:
    """How well curves of several system sizes fall onto one master curve.

    x_groups, y_groups, dy_groups: one (n_k,) array per system size (n_k >= 2): scaled x, scaled y and
    the one-sigma error of y. log_y: compare log y (error dy / y), for y spanning decades (y > 0).
    With errors: the Houdayer-Hartmann measure (PRB 70, 014418 (2004)),
      S = mean over points of (y - Y)^2 / (dy^2 + dY^2),
    where Y(x) +- dY is the weighted straight-line fit through the points of every other size that
    bracket x (the nearest below and above), only where x lies inside another size's x range.
    S ~ 1 for a collapse within errors, large for a bad one. Without errors: a relative-spread
    variant (after Bhattacharjee & Seno, J. Phys. A 34, 6375 (2001)), the mean of |y - Y| / |Y|
    (of |log y - Y|, already relative, with log_y), Y from the unweighted fit: 0 for a perfect collapse.
    inf when fewer than MIN_COVERED of the points lie inside another size's x range.
    """
    return _quality(_collapse_groups(x_groups, y_groups, dy_groups, log_y), relative=not log_y)


_NO_OVERLAP = 1e30  # the quality given to parameters where too few points overlap (MIN_COVERED)


@dataclass(frozen=True)
class CollapseFit:
    """The best data collapse y L^y_exponent = F((phi - phi_c) L^x_exponent)."""
    phi_c: Estimate
    x_exponent: Estimate    # 1/nu_perp
    y_exponent: Estimate    # beta/nu_perp for f_a, -nu_par/nu_perp for tau
    quality: float          # collapse_quality at the best parameters


def fit_collapse(phi: np.ndarray, L: np.ndarray, y: np.ndarray, dy: np.ndarray | None,
                 start: Sequence[float], *, bounds: Sequence[tuple[float, float]] | None = None,
                 log_y: bool = False, n_boot: int = 50, seed: int = 0) -> CollapseFit:
    """(phi_c, x_exponent, y_exponent) minimising ``collapse_quality`` of the scaled data.

    phi, L, y, dy: (n,) packing fraction, linear size (``linear_size``), observable and its one-sigma
    error (dy None: the relative-spread quality); at least 2 sizes with 2 points each.
    start: (phi_c, x_exponent, y_exponent) to start from; bounds: optional (low, high) per parameter.
    Nelder-Mead in units of a step (phi span / 10, a tenth of each exponent, at least 0.01) from start
    and from start moved by 2 steps up and down each parameter; the best of the 7 is kept. Errors:
    ``n_boot`` bootstrap refits (from the best parameters) of the points resampled within each L.
    """
    phi = _vector("phi", phi, 4)
    size = _vector("L", L)
    values = _vector("y", y)
    _same_length(phi=phi, L=size, y=values)
    if log_y and np.any(values <= 0):
        raise ValueError("y must be > 0 with log_y=True")
    errors = None
    if dy is not None:
        errors = _vector("dy", dy)
        _same_length(y=values, dy=errors)
        if np.any(errors <= 0):
            raise ValueError("dy must be > 0")
    n_boot = _count("n_boot", n_boot, 2)
    origin = np.asarray(start, dtype=float)
    if origin.shape != (3,) or not np.all(np.isfinite(origin)):
        raise ValueError(f"start must be 3 finite numbers (phi_c, x_exponent, y_exponent), got {start!r}")
    if np.any(size <= 0):
        raise ValueError("L must be > 0")
    labels, counts = np.unique(size, return_inverse=True, return_counts=True)[1:]
    if counts.size < 2 or counts.min() < 2:
        raise ValueError("L needs at least 2 distinct sizes with at least 2 points each, "
                         f"got counts {counts.tolist()}")
    members = [np.flatnonzero(labels == k) for k in range(counts.size)]
    base = _collapse_groups([phi[m] for m in members], [values[m] for m in members],
                            None if errors is None else [errors[m] for m in members], log_y)
    sizes = [size[m[0]] for m in members]
    step = np.array([np.ptp(phi) / 10, 0.1 * max(abs(origin[1]), 0.1), 0.1 * max(abs(origin[2]), 0.1)])
    if bounds is None:
        box = None
    else:
        limits = np.asarray(bounds, dtype=float)
        if limits.shape != (3, 2) or np.any(limits[:, 0] >= limits[:, 1]):
            raise ValueError(f"bounds must be 3 (low, high) pairs with low < high, got {bounds!r}")
        box = optimize.Bounds((limits[:, 0] - origin) / step, (limits[:, 1] - origin) / step)

    def quality(u, picks):
        phi_c, x_exponent, y_exponent = origin + step * u
        groups = []
        for (x, g, dg), pick, side in zip(base, picks, sizes):
            scaled_x = (x[pick] - phi_c) * side ** x_exponent
            error = None if dg is None else dg[pick]
            if log_y:        # log(y L^y_exponent); the error dy / y does not change
                groups.append((scaled_x, g[pick] + y_exponent * np.log(side), error))
            else:
                factor = side ** y_exponent
                groups.append((scaled_x, g[pick] * factor, None if error is None else error * factor))
        value = _quality(groups, relative=not log_y)
        return value if np.isfinite(value) else _NO_OVERLAP   # keep Nelder-Mead's arithmetic finite

    def minimise(u0, picks):
        if box is not None:
            u0 = np.clip(u0, box.lb, box.ub)
        result = optimize.minimize(quality, u0, args=(picks,), method="Nelder-Mead", bounds=box,
                                   options={"initial_simplex": u0 + np.vstack([np.zeros(3), np.eye(3)]),
                                            "xatol": 1e-3, "fatol": 1e-4, "maxiter": 3000})
        return result.x, result.fun

    everything = [np.arange(len(x)) for x, _, _ in base]
    starts = [np.zeros(3)] + [sign * 2.0 * axis for axis in np.eye(3) for sign in (1.0, -1.0)]
    best, best_quality = min((minimise(u0, everything) for u0 in starts), key=lambda fit: fit[1])
    rng = np.random.default_rng(seed)
    resamples = ([rng.integers(0, len(x), len(x)) for x, _, _ in base] for _ in range(n_boot))
    samples = np.array([origin + step * minimise(best, picks)[0] for picks in resamples])
    params = origin + step * best
    return CollapseFit(*(_bootstrapped(params[k], samples[:, k]) for k in range(3)),
                       quality=float(best_quality))


def scaled_collapse_quality(phi: np.ndarray, L: np.ndarray, y: np.ndarray, dy: np.ndarray | None,
                            phi_c: float, x_exponent: float, y_exponent: float, log_y: bool = False) -> float:
    """``collapse_quality`` of the data (phi, L, y, dy, each (n,)) scaled with phi_c and the exponents
    (``scaled``), one curve per distinct L."""
    size = np.asarray(L, dtype=float)
    x, scaled_y = scaled(phi, size, y, phi_c, x_exponent, y_exponent)
    scaled_dy = None if dy is None else np.asarray(dy, dtype=float) * size ** y_exponent
    pick = [size == s for s in np.unique(size)]
    return collapse_quality([x[p] for p in pick], [scaled_y[p] for p in pick],
                            None if scaled_dy is None else [scaled_dy[p] for p in pick], log_y)


def collapse_at_exponents(phi: np.ndarray, L: np.ndarray, y: np.ndarray, dy: np.ndarray | None,
                          x_exponent: float, y_exponent: float, phi_range: tuple[float, float],
                          log_y: bool = False, grid: int = 101) -> tuple[float, float]:
    """(phi_c, quality): the phi_c in phi_range that collapses the data best with the exponents
    held fixed, and ``collapse_quality`` there.

    phi, L, y, dy: (n,) as in ``fit_collapse``. The quality is scanned on ``grid`` values of phi_c,
    then refined by a bounded scalar minimisation between the best value's neighbours.
    """
    phi = _vector("phi", phi, 4)
    size, values = _vector("L", L), _vector("y", y)
    _same_length(phi=phi, L=size, y=values)
    errors = None if dy is None else _vector("dy", dy)
    low, high = (float(v) for v in phi_range)
    if not low < high:
        raise ValueError(f"phi_range must be (low, high) with low < high, got {phi_range!r}")

    def quality(phi_c: float) -> float:     # finite, for the bounded minimiser's arithmetic
        return min(scaled_collapse_quality(phi, size, values, errors, phi_c, x_exponent, y_exponent, log_y),
                   _NO_OVERLAP)

    candidates = np.linspace(low, high, _count("grid", grid, 3))
    scores = np.array([quality(c) for c in candidates])
    best = int(np.argmin(scores))
    lo, hi = candidates[max(best - 1, 0)], candidates[min(best + 1, grid - 1)]
    result = optimize.minimize_scalar(quality, bounds=(lo, hi), method="bounded", options={"xatol": 1e-6})
    phi_c, value = (result.x, result.fun) if result.fun < scores[best] else (candidates[best], scores[best])
    return float(phi_c), float(value) if value < _NO_OVERLAP else float("inf")


def collapse_preference(phi: np.ndarray, L: np.ndarray, samples: Sequence[np.ndarray], errors: np.ndarray,
                        candidates: dict[str, tuple[float, float]], phi_range: tuple[float, float],
                        n_boot: int = 100, seed: int = 0, grid: int = 41) -> dict[str, float]:
    """How often each candidate pair of exponents collapses the data best, over seed resamples.

    phi, L, errors: (m,) one entry per cell (a packing fraction at a linear size) and the one-sigma
    error of its mean, from all its seeds; it stays fixed, since a resample of 2 or 3 seeds would
    often repeat one seed and claim no error. samples: m arrays of per-seed values y >= 0 (2 or
    more each). candidates: name -> (x_exponent, y_exponent), as in ``collapse_at_exponents``
    (log y). Each of ``n_boot`` resamples draws every cell's seeds with replacement, keeps the cells
    whose mean is > 0, and gives the win to the candidate with the lowest quality, each at its own
    best phi_c in phi_range. Returns the fraction of resamples each candidate wins, and under
    "undecided" the fraction in which too few cells remain to collapse (fewer than 2 sizes with
    2 points each) or no candidate collapses them (every quality inf). A fraction near 1 says the
    preference is not an accident of the seeds.
    """
    phi, size, error = _vector("phi", phi, 4), _vector("L", L), _vector("errors", errors)
    _same_length(phi=phi, L=size, errors=error, samples=np.empty(len(samples)))
    if np.any(error <= 0):
        raise ValueError("errors must be > 0")
    cells = [_vector(f"samples[{k}]", s, 2) for k, s in enumerate(samples)]
    if any(np.any(cell < 0) for cell in cells):
        raise ValueError("samples must be >= 0")
    if len(candidates) < 2:
        raise ValueError(f"candidates needs at least 2 entries, got {len(candidates)}")
    wins = dict.fromkeys([*candidates, "undecided"], 0)
    rng = np.random.default_rng(seed)
    for _ in range(_count("n_boot", n_boot, 1)):
        mean = np.array([cell[rng.integers(0, cell.size, cell.size)].mean() for cell in cells])
        keep = mean > 0
        counts = np.unique(size[keep], return_counts=True)[1]
        if np.sum(counts >= 2) < 2:
            wins["undecided"] += 1
            continue
        keep &= np.isin(size, np.unique(size[keep])[counts >= 2])
        quality = {name: collapse_at_exponents(phi[keep], size[keep], mean[keep], error[keep], x, y,
                                               phi_range, log_y=True, grid=grid)[1]
                   for name, (x, y) in candidates.items()}
        best = min(quality, key=quality.get)
        wins[best if np.isfinite(quality[best]) else "undecided"] += 1
    return {name: count / n_boot for name, count in wins.items()}
