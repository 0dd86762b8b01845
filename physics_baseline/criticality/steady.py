"""Steady state, relaxation and decay of recorded activity series.

The activity f_a is the fraction of particles with at least one overlap, measured before each step;
a run is absorbed when f_a = 0 (its last record is then 0). Steps are simulation steps."""
from collections.abc import Sequence

import numpy as np
from scipy import optimize
from scipy.integrate import trapezoid

from physics_baseline.criticality.estimates import (
    Estimate,
    as_count,
    as_series,
    as_vector,
    bootstrapped,
)

STEADY_TAIL = 0.1  # fraction of the records averaged for f_inf
MIN_WINDOW = 16    # fewest records a window of the steady-state test may hold
SOKAL_WINDOW = 5.0  # the automatic window of autocorrelation_time: sum rho up to this many tau_int


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


# --- steady state -------------------------------------------------------------------------------

def autocorrelation_time(values: np.ndarray, window: float = SOKAL_WINDOW) -> float:
    """Integrated autocorrelation time of a stationary series, in records (Sokal 1997).

    values: (n,) records, n >= 2. tau_int = 1/2 + sum_{t=1..M} rho(t), with rho the normalised
    autocorrelation about the mean and M the first lag with M >= window * tau_int (the automatic
    window; longer sums add mostly noise). The error of the mean of n records is then
    sqrt(2 tau_int var / n); an uncorrelated series has tau_int = 1/2. Returns at least 1/2 (also
    for a constant series).
    """
    x = as_vector("values", values, 2)
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
    f = as_vector("active_fraction", active_fraction)
    windows = as_count("windows", windows, 2)
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
    series = [as_vector(f"runs[{k}]", run) for k, run in enumerate(runs)]
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
    t, f = as_series(steps, active_fraction, 2)
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
    t, f = as_series(steps, active_fraction, 4)
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
        f = as_vector(f"runs[{k}]", run)
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
    t = as_vector("steps", steps, 3)
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
    return bootstrapped(value, samples) if samples.size >= 2 else Estimate(value, float("nan"))
