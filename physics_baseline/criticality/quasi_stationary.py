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


WINDOW = 2      # phi points on each side of a sign change that the crossing fits use


@dataclass(frozen=True)
class Crossing:
    """Where a difference curve D(phi) (m of the larger size minus m of the smaller; or, for equal
    slopes, the slope of the largest pair minus that of the smallest) changes sign: phi_c with its
    statistical error from a straight line through the points around the sign change, the
    fit-form systematic |parabola root - line root| (0 with fewer than 4 points), whether the data
    change sign (bracketed; else phi_c is NaN) and the line's root lies among the points it was
    fitted to (else bracketed is False and the error infinite: the crossing is not determined),
    and the angle: the line's slope in units of its error (below about 3 the curves may not cross
    at all: noise alone gives |N(0, 1)|)."""
    sizes: tuple[int, int]
    phi_c: Estimate
    systematic: float
    bracketed: bool
    angle: float


def sign_change(difference: np.ndarray, error: np.ndarray) -> int | None:
    """The most significant sign change of difference (k,) with errors (k,): the index a such
    that it changes sign between a and a + 1 with the largest |D_a| / e_a + |D_a+1| / e_a+1 (a zero
    counts as positive); None when it never changes sign."""
    negative = difference < 0
    changes = np.flatnonzero(negative[:-1] != negative[1:])
    if changes.size == 0:
        return None
    significance = np.abs(difference[changes]) / error[changes] + np.abs(difference[changes + 1]) / error[changes + 1]
    return int(changes[np.argmax(significance)])


def _root(x: np.ndarray, y: np.ndarray, weight: np.ndarray, degree: int) -> float:
    """The real root nearest the middle of x of the weighted polynomial fit of y; NaN without one."""
    middle, span = 0.5 * (x.min() + x.max()), np.ptp(x)
    roots = np.roots(np.polyfit((x - middle) / span, y, degree, w=weight))
    real = roots[np.abs(roots.imag) < 1e-9].real
    return float(middle + span * real[np.argmin(np.abs(real))]) if real.size else float("nan")


def _zero_crossing(phi: np.ndarray, draws: np.ndarray, error: np.ndarray, sizes: tuple[int, int],
                   window: int) -> Crossing:
    """The Crossing of draws[0] (k,) (the data; draws[1:] redrawn from its errors (k,)) through
    zero: roots of lines through the points around its sign change, the error half the 16-84 %
    range of the redrawn roots (infinite when more than 16 % of the redraws have none)."""
    at = sign_change(draws[0], error)
    if at is None:
        return Crossing(sizes, Estimate(float("nan"), float("nan")), float("nan"), False, 0.0)
    kept = slice(max(0, at + 1 - window), min(phi.size, at + 1 + window))   # window points each side
    x, weight = phi[kept], 1.0 / error[kept]
    roots = np.array([_root(x, draw[kept], weight, 1) for draw in draws])
    found = roots[1:][np.isfinite(roots[1:])]
    spread = 0.5 * float(np.subtract(*np.percentile(found, [84, 16]))) if found.size else float("inf")
    if found.size < 0.84 * (len(draws) - 1):
        spread = float("inf")
    if not x.min() <= roots[0] <= x.max():      # the line through the points disagrees with their sign change
        return Crossing(sizes, Estimate(roots[0], float("inf"), found), float("nan"), False, 0.0)
    slopes = np.array([np.polyfit(x - x.mean(), draw[kept], 1, w=weight)[0] for draw in draws])
    angle = float(abs(slopes[0]) / np.std(slopes[1:], ddof=1))
    systematic = 0.0
    if x.size >= 4:
        curved = _root(x, draws[0][kept], weight, 2)
        systematic = abs(curved - roots[0]) if np.isfinite(curved) else float("nan")
    return Crossing(sizes, Estimate(roots[0], spread, found), systematic, True, angle)


def crossing(phi, small, small_error, large, large_error, sizes: tuple[int, int],
             n_boot: int = 400, seed: int = 0, window: int = WINDOW) -> Crossing:
    """The crossing of m(phi) between two sizes.

    phi: (k,) ascending packing fractions (k >= 2) at which both sizes were measured; small,
    large: their moment ratios m; *_error: one-sigma errors (> 0). The difference large - small
    (error: both added in quadrature) is fitted around its sign change (``window`` points each
    side), redrawn ``n_boot`` times from the errors (see ``Crossing``).
    """
    phi = as_vector("phi", phi, 2)
    values = [as_vector(name, v) for name, v in
              (("small", small), ("small_error", small_error), ("large", large), ("large_error", large_error))]
    same_length(phi=phi, small=values[0], small_error=values[1], large=values[2], large_error=values[3])
    small, small_error, large, large_error = values
    if np.any(small_error <= 0) or np.any(large_error <= 0):
        raise ValueError("errors must be > 0")
    if np.any(np.diff(phi) <= 0):
        raise ValueError("phi must ascend")
    n_boot = as_count("n_boot", n_boot, 2)
    error = np.hypot(small_error, large_error)
    noise = np.random.default_rng(seed).standard_normal((n_boot + 1, phi.size)) * error
    noise[0] = 0.0
    return _zero_crossing(phi, large - small + noise, error, tuple(sizes), window)


def equal_slopes(phi, sizes, rho, rho_error, n_boot: int = 400, seed: int = 0,
                 window: int = WINDOW) -> Crossing:
    """phi_c where rho_QS(n) is a power law: the log-log slope of rho between the two smallest
    sizes equals the slope between the two largest.

    phi: (k,) ascending; sizes: (s,) ascending particle numbers, s >= 3; rho, rho_error: (k, s)
    quasi-stationary activities and their errors. The slope difference (largest pair minus
    smallest pair) is positive in the active phase (rho levels off) and negative in the absorbing
    one (rho ~ 1/n); it is fitted around its sign change, its error the spread of redraws of rho.
    ``sizes`` of the result: the smallest and largest n.
    """
    phi = as_vector("phi", phi, 2)
    sizes = as_vector("sizes", sizes, 3)
    rho, rho_error = np.asarray(rho, dtype=float), np.asarray(rho_error, dtype=float)
    if rho.shape != (phi.size, sizes.size) or rho_error.shape != rho.shape:
        raise ValueError(f"rho and rho_error must have shape (phi, sizes) = ({phi.size}, {sizes.size})")
    if np.any(np.diff(sizes) <= 0) or np.any(np.diff(phi) <= 0) or np.any(rho <= 0) or np.any(rho_error <= 0):
        raise ValueError("sizes and phi must ascend, rho and rho_error be > 0")
    n_boot = as_count("n_boot", n_boot, 2)
    noise = np.random.default_rng(seed).standard_normal((n_boot + 1, *rho.shape)) * rho_error
    noise[0] = 0.0
    slopes = np.diff(np.log(np.clip(rho + noise, 1e-12, None)), axis=2) / np.diff(np.log(sizes))
    differences = slopes[:, :, -1] - slopes[:, :, 0]            # (n_boot + 1, k)
    spread = np.std(differences[1:], axis=0, ddof=1)
    error = np.where(spread > 0, spread, spread[spread > 0].min() if np.any(spread > 0) else 1.0)
    return _zero_crossing(phi, differences, error, (int(sizes[0]), int(sizes[-1])), window)
