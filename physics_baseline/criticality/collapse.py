"""Finite-size scaling by data collapse: the quality of a collapse, its fit, and the choice between exponent classes."""
from collections.abc import Sequence
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
from physics_baseline.criticality.exponents import scaled

# A collapse is judged only where at least this fraction of the points lies inside another size's
# x range: otherwise a fit can slide the sizes apart until a handful of points "collapse" perfectly.
MIN_COVERED = 0.5


def _collapse_groups(x_groups, y_groups, dy_groups, log_y: bool):
    """Validated (x, y, dy) per group, y and dy turned into log y and dy / y when log_y (dy None
    without errors)."""
    if len(x_groups) != len(y_groups) or (dy_groups is not None and len(dy_groups) != len(x_groups)):
        raise ValueError("x_groups, y_groups and dy_groups must hold the same number of groups")
    if len(x_groups) < 2:
        raise ValueError(f"x_groups needs at least 2 groups (system sizes), got {len(x_groups)}")
    groups = []
    for k in range(len(x_groups)):
        x = as_vector(f"x_groups[{k}]", x_groups[k], 2)
        y = as_vector(f"y_groups[{k}]", y_groups[k])
        same_length(**{f"x_groups[{k}]": x, f"y_groups[{k}]": y})
        dy = None
        if dy_groups is not None:
            dy = as_vector(f"dy_groups[{k}]", dy_groups[k])
            same_length(**{f"x_groups[{k}]": x, f"dy_groups[{k}]": dy})
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
    phi = as_vector("phi", phi, 4)
    size = as_vector("L", L)
    values = as_vector("y", y)
    same_length(phi=phi, L=size, y=values)
    if log_y and np.any(values <= 0):
        raise ValueError("y must be > 0 with log_y=True")
    errors = None
    if dy is not None:
        errors = as_vector("dy", dy)
        same_length(y=values, dy=errors)
        if np.any(errors <= 0):
            raise ValueError("dy must be > 0")
    n_boot = as_count("n_boot", n_boot, 2)
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
    return CollapseFit(*(bootstrapped(params[k], samples[:, k]) for k in range(3)),
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
    phi = as_vector("phi", phi, 4)
    size, values = as_vector("L", L), as_vector("y", y)
    same_length(phi=phi, L=size, y=values)
    errors = None if dy is None else as_vector("dy", dy)
    low, high = (float(v) for v in phi_range)
    if not low < high:
        raise ValueError(f"phi_range must be (low, high) with low < high, got {phi_range!r}")

    def quality(phi_c: float) -> float:     # finite, for the bounded minimiser's arithmetic
        return min(scaled_collapse_quality(phi, size, values, errors, phi_c, x_exponent, y_exponent, log_y),
                   _NO_OVERLAP)

    candidates = np.linspace(low, high, as_count("grid", grid, 3))
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
    phi, size, error = as_vector("phi", phi, 4), as_vector("L", L), as_vector("errors", errors)
    same_length(phi=phi, L=size, errors=error, samples=np.empty(len(samples)))
    if np.any(error <= 0):
        raise ValueError("errors must be > 0")
    cells = [as_vector(f"samples[{k}]", s, 2) for k, s in enumerate(samples)]
    if any(np.any(cell < 0) for cell in cells):
        raise ValueError("samples must be >= 0")
    if len(candidates) < 2:
        raise ValueError(f"candidates needs at least 2 entries, got {len(candidates)}")
    wins = dict.fromkeys([*candidates, "undecided"], 0)
    rng = np.random.default_rng(seed)
    for _ in range(as_count("n_boot", n_boot, 1)):
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
