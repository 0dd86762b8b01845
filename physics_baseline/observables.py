"""Structure of absorbed and steady states: contacts, pair correlation g(r), structure factor S(q).

Spheres in a periodic cubic box of side ``box`` in d = 1..8 dimensions; positions (n, d) float64,
radii (n,), lengths in diameters (a monodisperse radius is 0.5), distances by minimum image.
Every function takes NumPy arrays and returns NumPy arrays (freud-style compute functions). Each
fast path (Verlet list or numba kernel) has an O(n^2) numpy twin with the ``_brute`` suffix that
tests compare it with; the twins share every floating-point operation that decides a count, so
integer counts agree exactly.
"""
import math

import numba
import numpy as np
from scipy import optimize, special
from scipy.special import digamma, polygamma

from physics_baseline.box import ball_volume, minimum_image, wrap
from physics_baseline.config import MAX_DIMENSION
from physics_baseline.neighbours.distances import distance2
from physics_baseline.neighbours.verlet import VerletList
from physics_baseline.validate import as_float, as_int

LIST_SKIN = 0.01            # diameters: margin of the one-shot Verlet lists over the exact test
_BRUTE_BLOCK = 1 << 21      # float64 entries of the (rows, n, d) separations of one twin block


# --------------------------------------------------------------------------- validation

def _checked(positions, box, radii=None):
    """(positions folded into [0, box)^d as C-contiguous float64, box as float), or a ValueError."""
    box = as_float("box", box, 0.0)
    x = np.asarray(positions, dtype=np.float64)
    if x.ndim != 2 or not 1 <= x.shape[1] <= MAX_DIMENSION or x.shape[0] < 2:
        raise ValueError(f"positions: must have shape (n, d) with n >= 2 and 1 <= d <= {MAX_DIMENSION}, "
                         f"got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("positions: must be finite (found NaN or inf)")
    if radii is not None:
        r = np.asarray(radii, dtype=np.float64)
        if r.shape != (x.shape[0],) or not np.all(np.isfinite(r)) or np.any(r <= 0):
            raise ValueError(f"radii: must be {x.shape[0]} finite positive numbers (shape (n,)), "
                             f"got shape {r.shape}")
    return np.ascontiguousarray(wrap(x, box)), box


def _squared_distance(delta: np.ndarray) -> np.ndarray:
    """|delta|^2 over the last axis, summed one dimension at a time in order (as the kernels do)."""
    total = delta[..., 0] * delta[..., 0]
    for k in range(1, delta.shape[-1]):
        total = total + delta[..., k] * delta[..., k]
    return total


# --------------------------------------------------------------------------- contacts

def contact_pairs(positions: np.ndarray, radii: np.ndarray, box: float, tolerance: float = 0.0) -> np.ndarray:
    """Pairs in contact, (m, 2) int64, i < j, sorted: |x_i - x_j| < R_i + R_j + tolerance.

    tolerance (diameters, >= 0): the widest surface gap that still counts as a contact. An absorbed
    state has no overlap at all (every |x_i - x_j| >= R_i + R_j), so tolerance=0 finds no contact
    there: its near-contacts are left gaps spread from 0 up to about the kick size eps by the last
    kicks, so Z grows with the tolerance and is quoted with it (a small one such as 1e-3 diameters
    counts the pairs that touch to within 1e-3; scan a few tolerances up to eps to see the spread).
    On an active state tolerance=0 counts the overlaps. Pairs are found through a Verlet list of
    cutoff 2 R_max + tolerance + LIST_SKIN.
    """
    x, box = _checked(positions, box, radii)
    tolerance = as_float("tolerance", tolerance, 0.0, low_open=False)
    radii = np.asarray(radii, dtype=np.float64)
    verlet = VerletList(box, 2 * radii.max() + tolerance + LIST_SKIN, LIST_SKIN)
    verlet.build(x)
    n = x.shape[0]
    i = np.repeat(np.arange(n), verlet.counts)
    j = verlet.rows[np.arange(verlet.rows.shape[1]) < verlet.counts[:, None]]
    i, j = i[j > i], j[j > i]
    reach = radii[i] + radii[j] + tolerance
    hit = _squared_distance(minimum_image(x[j] - x[i], box)) < reach * reach
    return np.stack([i[hit], j[hit]], axis=1)


def contact_pairs_brute(positions: np.ndarray, radii: np.ndarray, box: float,
                        tolerance: float = 0.0) -> np.ndarray:
    """The O(n^2) numpy twin of ``contact_pairs``: every pair tested, one particle i at a time."""
    x, box = _checked(positions, box, radii)
    tolerance = as_float("tolerance", tolerance, 0.0, low_open=False)
    radii = np.asarray(radii, dtype=np.float64)
    pairs = [np.empty((0, 2), dtype=np.int64)]
    for i in range(x.shape[0] - 1):
        reach = radii[i] + radii[i + 1:] + tolerance
        hit = _squared_distance(minimum_image(x[i + 1:] - x[i], box)) < reach * reach
        partners = i + 1 + np.flatnonzero(hit)
        pairs.append(np.stack([np.full(partners.size, i), partners], axis=1))
    return np.concatenate(pairs).astype(np.int64)


def contacts(positions: np.ndarray, radii: np.ndarray, box: float, tolerance: float = 0.0) -> np.ndarray:
    """Contact number Z of every particle, (n,) int64 (pairs as in ``contact_pairs``)."""
    pairs = contact_pairs(positions, radii, box, tolerance)
    return np.bincount(pairs.ravel(), minlength=len(positions)).astype(np.int64)


def rattlers(pairs: np.ndarray, n: int, d: int) -> np.ndarray:
    """Rattlers, (n,) bool: particles left with fewer than d + 1 contacts after repeated pruning.

    A particle with fewer than d + 1 contacts cannot be held in place (a rattler); its contacts
    then hold nothing either, so they are removed from its partners' counts and the test repeats
    until no new rattler appears (the usual backbone definition for jammed packings).
    """
    rattler = np.zeros(n, dtype=bool)
    while True:
        kept = pairs[~rattler[pairs[:, 0]] & ~rattler[pairs[:, 1]]]
        z = np.bincount(kept.ravel(), minlength=n)
        found = ~rattler & (z < d + 1)
        if not found.any():
            return rattler
        rattler |= found


def mean_contacts(positions: np.ndarray, radii: np.ndarray, box: float, tolerance: float = 0.0,
                  exclude_rattlers: bool = False) -> float:
    """Mean contact number <Z>; with exclude_rattlers, over the non-rattlers (``rattlers``) and
    counting only contacts between non-rattlers (NaN when every particle is a rattler)."""
    pairs = contact_pairs(positions, radii, box, tolerance)
    n, d = np.shape(positions)
    if not exclude_rattlers:
        return 2.0 * len(pairs) / n
    rattler = rattlers(pairs, n, d)
    kept = pairs[~rattler[pairs[:, 0]] & ~rattler[pairs[:, 1]]]
    backbone = n - int(rattler.sum())
    return 2.0 * len(kept) / backbone if backbone else math.nan


# --------------------------------------------------------------------------- pair correlation

@numba.njit(parallel=True, cache=True)
def _pair_histogram(positions, box, rows, counts, cutoff2, width, bins, chunks):
    """Pairs i < j of the Verlet rows with r^2 < cutoff2, counted in bins of the given width;
    rows are dealt round-robin to ``chunks`` partial histograms filled in parallel."""
    n = positions.shape[0]
    inverse = 1.0 / box
    histogram = np.zeros((chunks, bins), dtype=np.int64)
    for c in numba.prange(chunks):
        for i in range(c, n, chunks):
            for a in range(counts[i]):
                j = rows[i, a]
                if j <= i:
                    continue
                r2 = distance2(positions, j, i, box, inverse)
                if r2 < cutoff2:
                    histogram[c, min(int(np.sqrt(r2) / width), bins - 1)] += 1
    return histogram.sum(axis=0)


def _histogram_range(positions, box, r_max, bins):
    """Validated inputs and the binning shared by both g(r) paths: x, box, r_cut, bins, width."""
    x, box = _checked(positions, box)
    r_cut = min(as_float("r_max", r_max, 0.0), box / 2)
    bins = as_int("bins", bins, 1)
    return x, box, r_cut, bins, r_cut / bins


def _normalised(pair_counts, n, d, box, r_cut, bins):
    """(bin centres, g): pair counts over the ideal-gas count n (n - 1) / 2 * shell volume / box^d."""
    edges = np.linspace(0.0, r_cut, bins + 1)
    shell = ball_volume(d) * (edges[1:] ** d - edges[:-1] ** d)
    ideal = 0.5 * n * (n - 1) * shell / box ** d
    return 0.5 * (edges[1:] + edges[:-1]), pair_counts / ideal


def pair_correlation(positions: np.ndarray, box: float, r_max: float, bins: int = 100):
    """Pair correlation g(r) for r < min(r_max, box / 2) in ``bins`` equal bins (diameters).

    Returns (r, g), each (bins,): bin centres and the number of pairs i < j per bin divided by its
    ideal-gas value n (n - 1) / 2 * v_d (r2^d - r1^d) / box^d, so that uniform random points give
    g = 1 in expectation exactly (the Poisson error of a bin is 1 / sqrt(ideal count)). Below
    box / 2 every shell lies inside the minimum-image cell, so the shell volume is exact. Pairs come
    from a Verlet list of cutoff r + LIST_SKIN: memory n times the neighbours within r_max.
    """
    x, box, r_cut, bins, width = _histogram_range(positions, box, r_max, bins)
    verlet = VerletList(box, r_cut + LIST_SKIN, LIST_SKIN)
    verlet.build(x)
    pair_counts = _pair_histogram(x, box, verlet.rows, verlet.counts, r_cut * r_cut, width, bins,
                                  min(len(x), 4 * numba.get_num_threads()))
    return _normalised(pair_counts, *x.shape, box, r_cut, bins)


def pair_correlation_brute(positions: np.ndarray, box: float, r_max: float, bins: int = 100):
    """The O(n^2) numpy twin of ``pair_correlation``: all pairs, a block of rows at a time."""
    x, box, r_cut, bins, width = _histogram_range(positions, box, r_max, bins)
    n, d = x.shape
    pair_counts = np.zeros(bins, dtype=np.int64)
    block = max(1, _BRUTE_BLOCK // (n * d))
    for first in range(0, n, block):
        rows = np.arange(first, min(n, first + block))
        r2 = _squared_distance(minimum_image(x[None, :, :] - x[rows, None, :], box))
        keep = (np.arange(n)[None, :] > rows[:, None]) & (r2 < r_cut * r_cut)
        index = np.minimum((np.sqrt(r2[keep]) / width).astype(np.int64), bins - 1)
        pair_counts += np.bincount(index, minlength=bins)
    return _normalised(pair_counts, n, d, box, r_cut, bins)


# --------------------------------------------------------------------------- structure factor

def _shell_sizes(d: int, largest: int) -> np.ndarray:
    """sizes[j, t]: integer vectors (m_j, ..., m_{d-1}) with sum of squares t, for t <= largest."""
    sizes = np.zeros((d + 1, largest + 1), dtype=np.int64)
    sizes[d, 0] = 1
    for j in range(d - 1, -1, -1):
        for a in range(math.isqrt(largest) + 1):
            sizes[j, a * a:] += (1 if a == 0 else 2) * sizes[j + 1, :largest + 1 - a * a]
    return sizes


def _unrank(shells: np.ndarray, ranks: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """The integer vectors of the given ranks within half-shells |m|^2 = s, shape (k, d).

    A half-shell holds the vectors whose first non-zero component is positive (one of each pair
    m, -m). Vectors are ranked by their components in turn, each over the values -a..a (the leading
    zeros and then a positive value while no component is non-zero yet).
    """
    d = sizes.shape[0] - 1
    rest, rank = shells.astype(np.int64), ranks.astype(np.int64)
    leading = np.ones(len(rest), dtype=bool)
    vectors = np.empty((len(rest), d), dtype=np.int64)
    for j in range(d):
        reach = math.isqrt(int(rest.max())) if len(rest) else 0
        values = np.arange(-reach, reach + 1)
        after = rest[:, None] - values[None, :] ** 2
        ways = np.where(after >= 0, sizes[j + 1][np.maximum(after, 0)], 0)
        ways[leading[:, None] & (values[None, :] < 0)] = 0
        ways[leading, reach] = sizes[j + 1][rest[leading]] // 2
        below = np.cumsum(ways, axis=1)
        choice = np.argmax(below > rank[:, None], axis=1)
        rank = rank - (below[np.arange(len(rank)), choice] - ways[np.arange(len(rank)), choice])
        vectors[:, j] = values[choice]
        rest = rest - values[choice] ** 2
        leading &= values[choice] == 0
    return vectors


def wave_vectors(d: int, q_max_index: int = 10, vectors_per_shell: int = 128, seed: int = 0) -> np.ndarray:
    """Integer vectors m (q = 2 pi m / box), shape (k, d) int64, ordered by |m|^2.

    The rule, the same in every d: for each shell |m|^2 = s, s = 1 .. q_max_index^2, take one of
    each pair m, -m (S(q) = S(-q)); if the half-shell holds at most ``vectors_per_shell`` vectors
    take them all, else ``vectors_per_shell`` of them drawn uniformly without replacement
    (numpy Generator seeded with ``seed``). Low d thus gets the full lattice |m| <= q_max_index
    (3D with the defaults), high d a bounded uniform sample of every shell.
    """
    d = as_int("d", d, 1, MAX_DIMENSION)
    q_max_index = as_int("q_max_index", q_max_index, 1, 1000)
    vectors_per_shell = as_int("vectors_per_shell", vectors_per_shell, 1)
    rng = np.random.default_rng(as_int("seed", seed, 0))
    largest = q_max_index * q_max_index
    sizes = _shell_sizes(d, largest)
    shells, ranks = [], []
    for s in range(1, largest + 1):
        half = int(sizes[0, s]) // 2
        if half <= vectors_per_shell:
            chosen = np.arange(half)
        else:
            chosen = np.sort(rng.choice(half, size=vectors_per_shell, replace=False))
        shells.append(np.full(len(chosen), s))
        ranks.append(chosen)
    return _unrank(np.concatenate(shells), np.concatenate(ranks), sizes)


@numba.njit(parallel=True, cache=True)
def _fourier_power(phases, vectors):
    """|sum_j exp(i m . phase_j)|^2 / n for every integer vector m, phases = 2 pi x / box."""
    n, d = phases.shape
    power = np.empty(vectors.shape[0])
    for a in numba.prange(vectors.shape[0]):
        real = 0.0
        imaginary = 0.0
        for j in range(n):
            angle = 0.0
            for k in range(d):
                angle += vectors[a, k] * phases[j, k]
            real += np.cos(angle)
            imaginary += np.sin(angle)
        power[a] = (real * real + imaginary * imaginary) / n
    return power


def _checked_vectors(vectors, d):
    m = np.asarray(vectors)
    if m.ndim != 2 or m.shape[1] != d or not np.issubdtype(m.dtype, np.integer):
        raise ValueError(f"vectors: must be integers of shape (k, {d}), got {m.dtype} {m.shape}")
    return np.ascontiguousarray(m, dtype=np.int64)


def structure_factor_at(positions: np.ndarray, box: float, vectors: np.ndarray) -> np.ndarray:
    """S(q) = |sum_j exp(i q . x_j)|^2 / n at q = 2 pi m / box for each integer row m of vectors.

    vectors: (k, d) integers; returns (k,) float64. A numba kernel, parallel over vectors, memory
    linear in n.
    """
    x, box = _checked(positions, box)
    return _fourier_power(np.ascontiguousarray(2 * np.pi * x / box), _checked_vectors(vectors, x.shape[1]))


def structure_factor_brute(positions: np.ndarray, box: float, vectors: np.ndarray) -> np.ndarray:
    """The numpy twin of ``structure_factor_at``: the complex sum, q . x as a matrix product."""
    x, box = _checked(positions, box)
    q = 2 * np.pi * _checked_vectors(vectors, x.shape[1]) / box
    return np.abs(np.exp(1j * (x @ q.T)).sum(axis=0)) ** 2 / x.shape[0]


def structure_factor(positions: np.ndarray, box: float, q_max_index: int = 10,
                     vectors_per_shell: int = 128, seed: int = 0):
    """S(q) averaged over shells |m|^2 = s of ``wave_vectors`` (q = 2 pi |m| / box, 1/diameters).

    Returns (q, S, count), each (shells,): the shell's |q|, the mean of S over its vectors and
    their number (empty shells, such as |m|^2 = 3 in 2D, are left out).
    """
    x, box = _checked(positions, box)
    vectors = wave_vectors(x.shape[1], q_max_index, vectors_per_shell, seed)
    power = structure_factor_at(x, box, vectors)
    shells, index, count = np.unique(np.einsum("kd,kd->k", vectors, vectors), return_inverse=True,
                                     return_counts=True)
    mean = np.bincount(index, weights=power) / count
    return 2 * np.pi * np.sqrt(shells) / box, mean, count


def small_q_exponent(q: np.ndarray, S: np.ndarray, q_fit_max: float, count: np.ndarray | None = None):
    """alpha and its standard error from a least-squares fit of log S = log A + alpha log q, q <= q_fit_max.

    Without count: ordinary least squares over the points. With count (vectors per shell, as
    returned by ``structure_factor``): each shell mean S of c vectors is treated as a mean of c
    independent exponential variables (Gaussian Fourier modes, which holds away from Bragg peaks),
    so log S is corrected for its bias digamma(c) - log c and weighted by 1 / trigamma(c). The
    standard error comes from the scatter of the residuals (at least 3 points are needed).
    """
    q, S = np.asarray(q, dtype=np.float64), np.asarray(S, dtype=np.float64)
    if q.shape != S.shape or q.ndim != 1:
        raise ValueError(f"q, S: must be 1-d arrays of one length, got shapes {q.shape} and {S.shape}")
    q_fit_max = as_float("q_fit_max", q_fit_max, 0.0)
    inside = (q > 0) & (q <= q_fit_max)
    if inside.sum() < 3:
        raise ValueError(f"q_fit_max: {q_fit_max:.4g} leaves {int(inside.sum())} points with 0 < q <= "
                         f"q_fit_max; the fit needs at least 3")
    if np.any(S[inside] <= 0):
        raise ValueError("S: must be positive for every q <= q_fit_max (a log-log fit)")
    y = np.log(S[inside])
    weight = np.ones(int(inside.sum()))
    if count is not None:
        c = np.asarray(count, dtype=np.float64)[inside]
        y -= digamma(c) - np.log(c)
        weight = 1.0 / polygamma(1, c)
    design = np.stack([np.ones_like(y), np.log(q[inside])], axis=1)
    root = np.sqrt(weight)
    solution, *_ = np.linalg.lstsq(design * root[:, None], y * root, rcond=None)
    residual = (y - design @ solution) * root
    scatter = residual @ residual / (len(y) - 2)
    covariance = scatter * np.linalg.inv((design * weight[:, None]).T @ design)
    return float(solution[1]), float(np.sqrt(covariance[1, 1]))


__all__ = ["LIST_SKIN", "contact_pairs", "contact_pairs_brute", "contacts", "rattlers", "mean_contacts",
           "pair_correlation", "pair_correlation_brute", "wave_vectors", "structure_factor_at",
           "structure_factor_brute", "structure_factor", "small_q_exponent"]


def bond_order(positions: np.ndarray, radii: np.ndarray, box: float, gap: float = 0.2, l: int = 6) -> float:
    """Global bond-orientational order of the bonds between neighbours (surface gap < gap, diameters).

    d = 3: Steinhardt Q_l = sqrt(4 pi / (2l + 1) sum_m |<Y_lm(bond)>|^2), the mean over all bonds
    (each counted once: Y_lm of -r is (-1)^l Y_lm of r, so even l ignores the direction). An fcc
    crystal with its 12 nearest neighbours gives Q_6 = 0.5745, and Q_6 of an ideal gas falls to 0 as
    1 / sqrt(bonds). d = 2: psi_l = |<exp(i l theta_bond)>|, 1 on a triangular lattice for l = 6.
    NaN without bonds; other d are refused.
    """
    x, box = _checked(positions, box, radii)
    d = x.shape[1]
    if d not in (2, 3):
        raise ValueError(f"bond_order needs d = 2 or 3, got d = {d}")
    if l < 1 or l % 2:
        raise ValueError(f"l must be a positive even integer, got {l}")
    pairs = contact_pairs(x, radii, box, gap)
    if pairs.shape[0] == 0:
        return float("nan")
    bond = minimum_image(x[pairs[:, 1]] - x[pairs[:, 0]], box)
    if d == 2:
        return float(abs(np.mean(np.exp(1j * l * np.arctan2(bond[:, 1], bond[:, 0])))))
    polar = np.arccos(np.clip(bond[:, 2] / np.sqrt(_squared_distance(bond)), -1.0, 1.0))
    azimuth = np.arctan2(bond[:, 1], bond[:, 0])
    power = sum(abs(np.mean(special.sph_harm_y(l, m, polar, azimuth))) ** 2 for m in range(-l, l + 1))
    return float(np.sqrt(4 * np.pi / (2 * l + 1) * power))


def contacts_against_gap(positions: np.ndarray, radii: np.ndarray, box: float, gaps: np.ndarray) -> np.ndarray:
    """Mean contacts of the non-rattlers Z(h) at every gap tolerance h of gaps (k,) (diameters),
    rattlers pruned recursively at each h (``mean_contacts`` with exclude_rattlers), shape (k,)."""
    return np.array([mean_contacts(positions, radii, box, float(h), exclude_rattlers=True) for h in gaps])


def contacts_at_zero_gap(gaps: np.ndarray, z: np.ndarray) -> tuple[float, float, float]:
    """Z extrapolated to a vanishing gap tolerance from Z(h) = Z0 + A h^a (0 < a <= 2).

    gaps, z: (k,) ascending tolerances h > 0 (diameters) and the contacts counted with them
    (``contacts_against_gap``), k >= 4, taken beyond the gaps that the last kicks spread (h above
    about the kick size): an absorbed state's near-contacts are left gaps from 0 up to ~eps, so
    Z(h) itself falls to 0 as h -> 0, and the power law of the gaps above them is what points to
    the contact number of the state. Returns (Z0, its error from the fit covariance scaled by the
    residual scatter, a).
    """
    h, z = np.asarray(gaps, dtype=float), np.asarray(z, dtype=float)
    if h.ndim != 1 or h.shape != z.shape or h.size < 4 or np.any(h <= 0) or np.any(np.diff(h) <= 0):
        raise ValueError("gaps and z must be matching 1-D arrays of at least 4 ascending gaps > 0")

    def model(gap, z0, amplitude, exponent):
        return z0 + amplitude * gap ** exponent

    start = [z[0], (z[-1] - z[0]) / max(h[-1] ** 0.5 - h[0] ** 0.5, 1e-12), 0.5]
    # no errors given: curve_fit scales the covariance by the residual scatter
    params, covariance = optimize.curve_fit(model, h, z, p0=start,
                                            bounds=([-np.inf, -np.inf, 1e-3], [np.inf, np.inf, 2.0]))
    return float(params[0]), float(np.sqrt(covariance[0, 0])), float(params[2])
