"""phi_c with a thermodynamic limit: finite-size scaling of quasi-stationary activity.

A quasi-stationary run (``physics_baseline.restart_pool``) samples the activity rho = f_a of a
system of n particles conditioned on survival. Its moments have a limit as the run grows at every
n, and their n dependence locates phi_c (Dickman & de Oliveira, Physica A 357, 134, 2005):

- the moment ratio m = <rho^2> / <rho>^2 tends to 1 in the active phase (rho is sharp), grows
  with n in the absorbing phase, and takes a universal value at phi_c: the curves m(phi) of two
  sizes cross at a pseudo-critical phi that converges to phi_c as the sizes grow;
- rho itself falls as a power of n at phi_c (rho ~ n^(-beta / (d nu_perp))), faster below
  (rho ~ 1/n) and not at all above: the log-log slope between consecutive sizes is the same for
  every pair of sizes only at phi_c. This second estimator needs no exponent and no crossing.

Errors: the records of each run after a discarded transient are cut into blocks, longer than the
correlation time when there are few of them, and blocks are resampled (all seeds pooled);
crossings are redrawn from those errors. Bootstraps use ``numpy.random.default_rng(seed)``.
"""
from dataclasses import dataclass

import numpy as np

from physics_baseline.criticality.estimates import (
    Estimate,
    as_count,
    as_vector,
    same_length,
)

DISCARD = 0.5   # fraction of each run's records dropped as the transient from the random start
BLOCKS = 8      # blocks per run for the error of the moments


@dataclass(frozen=True)
class Moments:
    """Quasi-stationary moments of one (n, phi): rho = <f_a>, ratio = <f_a^2> / <f_a>^2."""
    rho: Estimate
    ratio: Estimate
    records: int    # records averaged, all runs together


def block_sums(active_fraction: np.ndarray, discard: float = DISCARD,
               blocks: int = BLOCKS) -> np.ndarray:
    """(blocks, 2): the mean of f_a and of f_a^2 over each of ``blocks`` equal blocks of the
    records after the first ``discard`` fraction (records left over at the end are dropped)."""
    f = as_vector("active_fraction", active_fraction)
    if not 0.0 <= discard < 1.0:
        raise ValueError(f"discard must be in [0, 1), got {discard}")
    blocks = as_count("blocks", blocks, 1)
    kept = f[int(discard * f.size):]
    length = kept.size // blocks
    if length == 0:
        raise ValueError(f"{kept.size} records after the transient cannot fill {blocks} blocks")
    cut = kept[:length * blocks].reshape(blocks, length)
    return np.stack([cut.mean(axis=1), (cut ** 2).mean(axis=1)], axis=1)


def moments(runs: list[np.ndarray], discard: float = DISCARD, blocks: int = BLOCKS,
            n_boot: int = 400, seed: int = 0) -> Moments:
    """The quasi-stationary moments of the runs of one (n, phi) (each an f_a series, (records,))
    with bootstrap errors over their blocks (``block_sums``), all runs pooled."""
    if not runs:
        raise ValueError("runs needs at least one series")
    sums = np.concatenate([block_sums(f, discard, blocks) for f in runs])
    n_boot = as_count("n_boot", n_boot, 2)
    picks = np.random.default_rng(seed).integers(0, sums.shape[0], (n_boot, sums.shape[0]))
    resampled = sums[picks].mean(axis=1)           # (n_boot, 2)
    rho, square = sums.mean(axis=0)
    ratio = square / rho ** 2 if rho > 0 else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = resampled[:, 1] / resampled[:, 0] ** 2
    records = sum(int(len(f) - int(discard * len(f))) // blocks * blocks for f in runs)
    return Moments(Estimate(float(rho), float(np.std(resampled[:, 0], ddof=1)), resampled[:, 0]),
                   Estimate(float(ratio), float(np.nanstd(ratios, ddof=1)), ratios), records)


@dataclass(frozen=True)
class Crossing:
    """Where m(phi) of a smaller and a larger size cross, from straight lines (and from parabolas
    when each size has 4 or more phi): phi_c with its statistical error, the fit-form systematic
    |parabola - line| (0 with fewer points), whether it lies inside the phi measured, and the
    angle: the difference of the two slopes in units of its error (below about 3 the curves may
    not cross at all: noise alone gives |N(0, 1)|)."""
    sizes: tuple[int, int]
    phi_c: Estimate
    systematic: float
    bracketed: bool
    angle: float


def _fitted_root(phi: np.ndarray, curves: list[tuple[np.ndarray, np.ndarray, float]], degree: int) -> float:
    """The real root nearest the middle of phi of the sum of sign * (weighted polynomial fit of y)
    over curves = [(y, weight, sign), ...] (k,) each; NaN without one."""
    middle, span = 0.5 * (phi.min() + phi.max()), np.ptp(phi)
    x = (phi - middle) / span
    total = sum(sign * np.polyfit(x, y, degree, w=weight) for y, weight, sign in curves)
    roots = np.roots(total)
    real = roots[np.abs(roots.imag) < 1e-9].real
    if real.size == 0:
        return float("nan")
    return float(middle + span * real[np.argmin(np.abs(real))])


def _angle(phi: np.ndarray, draws: np.ndarray, slope_difference) -> float:
    """|slope_difference(draws[0])| over the standard deviation of it over draws[1:]."""
    x = phi - phi.mean()
    differences = np.array([slope_difference(x, draw) for draw in draws])
    spread = np.std(differences[1:], ddof=1)
    return float(abs(differences[0]) / spread) if spread > 0 else float("inf")


def _redrawn_root(phi, draws: np.ndarray, fit) -> Estimate:
    """fit(draws[0]) (the data themselves) with half the 16-84 % range of fit(draw) over the
    redrawn data sets draws[1:] as its error; infinite when more than 16 % of them have no root
    (the data do not fix the crossing within one sigma)."""
    found = np.array([fit(draw) for draw in draws[1:]])
    found = found[np.isfinite(found)]
    if found.size < 0.84 * (len(draws) - 1):
        return Estimate(fit(draws[0]), float("inf"), found)
    return Estimate(fit(draws[0]), 0.5 * float(np.subtract(*np.percentile(found, [84, 16]))), found)


def crossing(phi, small, small_error, large, large_error, sizes: tuple[int, int],
             n_boot: int = 400, seed: int = 0) -> Crossing:
    """The crossing of m(phi) between two sizes.

    phi: (k,) packing fractions (k >= 2) at which both sizes were measured; small, large: their
    moment ratios m; *_error: one-sigma errors (> 0). Weighted straight lines, redrawn ``n_boot``
    times from the errors for the statistical error (half the 16-84 % range of the redrawn
    crossings; infinite when more than 16 % of them do not cross); with k >= 4 parabolas too, their distance to the line crossing as the
    fit-form systematic.
    """
    phi = as_vector("phi", phi, 2)
    values = [as_vector(name, v) for name, v in
              (("small", small), ("small_error", small_error), ("large", large), ("large_error", large_error))]
    same_length(phi=phi, small=values[0], small_error=values[1], large=values[2], large_error=values[3])
    small, small_error, large, large_error = values
    if np.any(small_error <= 0) or np.any(large_error <= 0):
        raise ValueError("errors must be > 0")
    n_boot = as_count("n_boot", n_boot, 2)
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((n_boot + 1, 2, phi.size)) * np.stack([small_error, large_error])
    noise[0] = 0.0
    draws = np.stack([small, large]) + noise

    def fit(draw, degree=1):
        return _fitted_root(phi, [(draw[1], 1 / large_error, 1.0), (draw[0], 1 / small_error, -1.0)], degree)

    def slopes(x, draw):
        return np.polyfit(x, draw[1], 1, w=1 / large_error)[0] - np.polyfit(x, draw[0], 1, w=1 / small_error)[0]

    estimate = _redrawn_root(phi, draws, fit)
    return Crossing(tuple(sizes), estimate, _form_systematic(phi, draws[0], fit, estimate.value),
                    bool(phi.min() <= estimate.value <= phi.max()), _angle(phi, draws, slopes))


def _form_systematic(phi: np.ndarray, data, fit, line: float) -> float:
    """|parabola root - line root| with 4 or more phi, else 0; NaN when the parabola has no root."""
    if phi.size < 4 or not np.isfinite(line):
        return 0.0
    curved = fit(data, 2)
    return abs(curved - line) if np.isfinite(curved) else float("nan")


def equal_slopes(phi, sizes, rho, rho_error, n_boot: int = 400, seed: int = 0) -> Crossing:
    """phi_c where rho_QS(n) is a power law: the log-log slope of rho between the two smallest
    sizes equals the slope between the two largest.

    phi: (k,); sizes: (s,) ascending particle numbers, s >= 3; rho, rho_error: (k, s) quasi-
    stationary activities and their errors. The slope difference (largest pair minus smallest pair)
    is positive in the active phase (rho levels off) and negative in the absorbing one (rho ~ 1/n);
    its zero, from a weighted straight line in phi (parabola for the systematic), redrawn from the
    errors, is phi_c. ``sizes`` of the result: the smallest and largest n.
    """
    phi = as_vector("phi", phi, 2)
    sizes = as_vector("sizes", sizes, 3)
    rho, rho_error = np.asarray(rho, dtype=float), np.asarray(rho_error, dtype=float)
    if rho.shape != (phi.size, sizes.size) or rho_error.shape != rho.shape:
        raise ValueError(f"rho and rho_error must have shape (phi, sizes) = ({phi.size}, {sizes.size})")
    if np.any(np.diff(sizes) <= 0) or np.any(rho <= 0) or np.any(rho_error <= 0):
        raise ValueError("sizes must ascend, rho and rho_error be > 0")
    n_boot = as_count("n_boot", n_boot, 2)
    log_n = np.log(sizes)
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((n_boot + 1, *rho.shape)) * rho_error
    noise[0] = 0.0
    slopes = np.diff(np.log(np.clip(rho + noise, 1e-12, None)), axis=2) / np.diff(log_n)
    differences = slopes[:, :, -1] - slopes[:, :, 0]            # (n_boot + 1, k)
    spread = np.std(differences[1:], axis=0, ddof=1)
    floor = spread[spread > 0].min() if np.any(spread > 0) else 1.0
    weight = 1.0 / np.where(spread > 0, spread, floor)

    def fit(difference, degree=1):
        return _fitted_root(phi, [(difference, weight, 1.0)], degree)

    estimate = _redrawn_root(phi, differences, fit)
    return Crossing((int(sizes[0]), int(sizes[-1])), estimate,
                    _form_systematic(phi, differences[0], fit, estimate.value),
                    bool(phi.min() <= estimate.value <= phi.max()),
                    _angle(phi, differences, lambda x, difference: np.polyfit(x, difference, 1, w=weight)[0]))
