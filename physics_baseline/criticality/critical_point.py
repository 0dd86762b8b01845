"""phi_c at one system size and step size (absorption outcomes, power laws), and its step size -> 0
extrapolation. Packing fractions phi are dimensionless; kick sizes eps and learning rates lr are in
diameters. Bootstraps use ``numpy.random.default_rng(seed)``, so results are reproducible."""
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from physics_baseline.criticality.estimates import (
    Estimate,
    as_count,
    as_vector,
    bootstrapped,
    same_length,
)

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
    phi = as_vector("phi", phi, 2)
    outcome = np.asarray(absorbed)
    if outcome.dtype != bool:
        raise ValueError(f"absorbed must be a bool array, got dtype {outcome.dtype}")
    same_length(phi=phi, absorbed=outcome)
    n_boot = as_count("n_boot", n_boot, 2)
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
    return LogisticFit(bootstrapped(values[0] + span * best[0], values[0] + span * samples[:, 0]),
                       bootstrapped(span * np.exp(best[1]), span * np.exp(samples[:, 1])))


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
    phi = as_vector("phi", phi)
    f_inf = as_vector("f_inf", f_inf)
    same_length(phi=phi, f_inf=f_inf)
    n_boot = as_count("n_boot", n_boot, 2)
    keep = f_inf > 0
    distinct = np.unique(phi[keep]).size
    if distinct < 4:
        raise ValueError(f"f_inf needs at least 4 distinct phi with f_inf > 0, got {distinct}")
    phi, f = phi[keep], f_inf[keep]
    log_f = np.log(f)
    if f_err is None:
        weight = np.ones_like(f)
    else:
        f_err = as_vector("f_err", f_err)
        same_length(f_inf=f_inf, f_err=f_err)
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
    return PowerLawFit(bootstrapped(best[0], samples[:, 0]), bootstrapped(best[1], samples[:, 1]),
                       bootstrapped(np.exp(best[2]), np.exp(samples[:, 2])))


# --- step size -> 0 -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Extrapolation:
    """phi_c(s) = phi_c(0) - amplitude * s^exponent - curvature * s^2 fitted to phi_c measured at
    step sizes s (curvature 0 except for the quadratic form)."""
    phi_c: Estimate       # phi_c(0)
    amplitude: Estimate
    exponent: Estimate    # 1 with error 0 for the linear and quadratic forms
    chi2: float
    dof: int
    curvature: Estimate = Estimate(0.0, 0.0)


FORMS = {"linear": 2, "quadratic": 3, "power": 3}   # fit form: its number of parameters


def extrapolate_to_zero(step_sizes: np.ndarray, phi_c_values: np.ndarray, errors: np.ndarray,
                        form: str = "power") -> Extrapolation:
    """The eps -> 0 (or lr -> 0) limit of phi_c.

    step_sizes, phi_c_values, errors: (n,) step sizes s > 0 (diameters), phi_c(s) and its one-sigma
    errors. form="power": phi_c(s) = phi_c(0) - a s^b (n >= 3, b > 0); form="linear":
    phi_c(s) = phi_c(0) - a s (n >= 2); form="quadratic": phi_c(0) - a s - c s^2 (n >= 3).
    Weighted least squares with the errors as absolute sigma: in closed form for the polynomials
    (so that n = parameters gives an exact curve with propagated errors), by scipy curve_fit from
    the weighted line for the power; parameter errors from the covariance.
    """
    if form not in FORMS:
        raise ValueError(f"form must be one of {', '.join(FORMS)}; got {form!r}")
    s = as_vector("step_sizes", step_sizes, FORMS[form])
    y = as_vector("phi_c_values", phi_c_values)
    sigma = as_vector("errors", errors)
    same_length(step_sizes=s, phi_c_values=y, errors=sigma)
    if np.any(s <= 0):
        raise ValueError("step_sizes must be > 0")
    if np.any(sigma <= 0):
        raise ValueError("errors must be > 0")

    def model(size, phi_c0, amplitude, exponent=1.0, curvature=0.0):
        return phi_c0 - amplitude * size ** exponent - curvature * size ** 2

    columns = [np.ones_like(s), -s] + ([-s ** 2] if form == "quadratic" else [])
    design = np.stack(columns, axis=1) / sigma[:, None]
    covariance = np.linalg.inv(design.T @ design)
    params = covariance @ design.T @ (y / sigma)
    if form == "power":
        params, covariance = optimize.curve_fit(model, s, y, p0=[*params, 1.0], sigma=sigma,
                                                absolute_sigma=True,
                                                bounds=([-np.inf, -np.inf, 0.0], np.inf))
    errors_fit = np.sqrt(np.diag(covariance))
    estimates = [Estimate(float(value), float(error)) for value, error in zip(params, errors_fit)]
    exponent = estimates[2] if form == "power" else Estimate(1.0, 0.0)
    curvature = estimates[2] if form == "quadratic" else Estimate(0.0, 0.0)
    residual = y - model(s, params[0], params[1], exponent.value, curvature.value)
    return Extrapolation(estimates[0], estimates[1], exponent, float(np.sum((residual / sigma) ** 2)),
                         s.size - FORMS[form], curvature)


@dataclass(frozen=True)
class StepSizeLimit:
    """phi_c(0) from several fit forms: the chosen form's value and statistical error, and the
    largest distance of another form's value from it as the fit-form systematic."""
    phi_c: Estimate
    systematic: float
    form: str
    fits: dict            # form -> Extrapolation, every form the data allow


def step_size_limit(step_sizes, phi_c_values, errors) -> StepSizeLimit:
    """phi_c(0) with every form of FORMS that the number of step sizes allows (linear from 2,
    quadratic and power from 3). The chosen form is the one with the smallest chi^2 per degree
    of freedom among forms with dof >= 1 (the linear one when none has); the systematic is the
    largest |phi_c(0) of a form - chosen|, over the forms with dof >= 1 when there are such."""
    s = as_vector("step_sizes", step_sizes, 2)
    fits = {}
    for form, parameters in FORMS.items():
        if s.size >= parameters:
            try:
                fits[form] = extrapolate_to_zero(s, phi_c_values, errors, form)
            except RuntimeError:        # curve_fit found no optimum: the form is left out
                continue
    with_dof = {form: fit for form, fit in fits.items() if fit.dof >= 1}
    form = min(with_dof, key=lambda f: with_dof[f].chi2 / with_dof[f].dof) if with_dof else "linear"
    tested = with_dof or fits
    chosen = fits[form].phi_c.value
    systematic = max(abs(fit.phi_c.value - chosen) for fit in tested.values())
    return StepSizeLimit(fits[form].phi_c, systematic, form, fits)
