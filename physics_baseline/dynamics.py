"""One synchronous step of each packing dynamics, dimension-generic, on numba kernels.

Conventions (the paper's): lengths in diameters; hinge pair loss
U = (R_i + R_j - r) / 2 for r < R_i + R_j; grad_i L = -(1/2) sum_j n_ij with unit vectors
n_ij = (x_i - x_j) / |x_i - x_j|. Every active particle moves by ``scale_i * sum_j w_ij n_ij``:

| rule | w_ij | scale_i |
|---|---|---|
| bro | 1 | eps U_i, U_i ~ U(0, 1) |
| bro_pairwise | U_ij = U_ji ~ U(0, 1) | eps |
| bro_pairwise_nonreciprocal | U_ij, U_ji independent | eps |
| sgd, gd | 1 | lr / 2 if in the batch, else 0 |
| sme_bro (paper Eq. 1) | 1 | (eps / 2)(1 + z_i / sqrt(3)), z_i ~ N(0, 1) |
| sme_sgd (paper Eq. 3) | 1 | (lr / 2)(b_f + sqrt(b_f (1 - b_f)) z_i) |

Eq. 1's noise eps sqrt(Sigma) xi with Sigma = (1/3) g g^T is (eps / sqrt 3) g (g.xi / |g|): a
Gaussian along the gradient, hence the scalar z_i. ``ro`` (random organisation) moves each active
particle by eps U_i along a uniformly random direction instead.
"""
from dataclasses import dataclass

import numba
import numpy as np

from physics_baseline import rng
from physics_baseline.neighbours.distances import periodic

PAIR_UNIT, PAIR_RECIPROCAL, PAIR_NONRECIPROCAL = 0, 1, 2
BRO, RO, BATCH, GRADIENT, PAIRWISE, SME_BRO, SME_SGD = 0, 1, 2, 3, 4, 5, 6


@dataclass(frozen=True)
class Rule:
    """A dynamics: which step-size parameter it takes, its pair weights and its scale rule."""
    name: str
    step_size: str          # "eps" (a kick size) or "lr" (a learning rate), in diameters
    pair_mode: int
    scale_mode: int
    uses_batch_fraction: bool


RULES = {rule.name: rule for rule in (
    Rule("bro", "eps", PAIR_UNIT, BRO, False),
    Rule("bro_pairwise", "eps", PAIR_RECIPROCAL, PAIRWISE, False),
    Rule("bro_pairwise_nonreciprocal", "eps", PAIR_NONRECIPROCAL, PAIRWISE, False),
    Rule("ro", "eps", PAIR_UNIT, RO, False),
    Rule("sgd", "lr", PAIR_UNIT, BATCH, True),
    Rule("gd", "lr", PAIR_UNIT, GRADIENT, False),
    Rule("sme_bro", "eps", PAIR_UNIT, SME_BRO, False),
    Rule("sme_sgd", "lr", PAIR_UNIT, SME_SGD, True),
)}


CHUNK = 256   # particles per parallel task of the overlap sums (each task allocates its scratch once)


@numba.njit(inline="always")
def _particle_sums(i, positions, radii, box, rows, counts, pair_mode, seed, step, overlaps, unit_sum,
                   loss, touched, tag, squares, hits, weights, dims):
    """overlaps[i], unit_sum[i] and loss[i] from particle i's Verlet row, partners in label order.

    Three passes over scratch of the row's capacity: squared distances of every partner
    (squares), the overlapping partners (hits, in row order) listed without a branch, then the
    sums over the hits only. Every sum runs over the hits in row order with the same expressions
    as one pass with a test per partner would, so the values are the same bit for bit.
    dims: (0,) * d, which makes d a compile-time constant (numba unrolls the coordinate loops).
    touched[j] = tag for every partner j found overlapping, unless touched is empty.
    """
    d = len(dims)
    inverse = 1.0 / box
    for c in range(counts[i]):
        j = rows[i, c]
        r2 = 0.0
        for k in range(d):
            delta = periodic(positions[i, k] - positions[j, k], box, inverse)
            r2 += delta * delta
        squares[c] = r2
    size = 0
    for c in range(counts[i]):
        j = rows[i, c]
        contact = radii[i] + radii[j]
        hits[size] = j
        weights[size] = squares[c]
        size += squares[c] < contact * contact
    half_loss = 0.0
    for h in range(size):
        j = hits[h]
        r = np.sqrt(weights[h])
        half_loss += 0.25 * (radii[i] + radii[j] - r)
        if touched.shape[0]:
            touched[j] = tag
        weight = 1.0 / r if r > 0.0 else 0.0  # coincident centres: no direction, no push
        if pair_mode == PAIR_RECIPROCAL:
            weight *= rng.uniform(seed, step, rng.PAIR, min(i, j), max(i, j))
        elif pair_mode == PAIR_NONRECIPROCAL:
            weight *= rng.uniform(seed, step, rng.PAIR, i, j)
        weights[h] = weight
    for k in range(d):
        total = 0.0
        for h in range(size):
            total += weights[h] * periodic(positions[i, k] - positions[hits[h], k], box, inverse)
        unit_sum[i, k] = total
    overlaps[i] = size
    loss[i] = half_loss


def overlap_sums(positions, radii, box, rows, counts, pair_mode, seed, step):
    """Overlaps of every particle through its Verlet row.

    Returns (overlaps (n,) int64: number of overlapping partners; unit_sum (n, d): sum_j w_ij n_ij;
    loss (n,): half of particle i's pair losses, so that loss.sum() is the total hinge loss L).
    """
    n, d = positions.shape
    overlaps, unit_sum, loss = np.empty(n, dtype=np.int64), np.empty((n, d)), np.empty(n)
    update_overlap_sums(np.arange(n), positions, radii, box, rows, counts, pair_mode, seed, step,
                        overlaps, unit_sum, loss, np.empty(0, dtype=np.int64), 0)
    return overlaps, unit_sum, loss


def update_overlap_sums(particles, positions, radii, box, rows, counts, pair_mode, seed, step, overlaps,
                        unit_sum, loss, touched, tag):
    """Recompute, in place, the entries of ``overlap_sums`` for the given particles (m,) only;
    touched (n,): set to tag for every partner found overlapping one of them (or empty: not kept).

    Each value equals the one ``overlap_sums`` gives bit for bit (same expression, same order).
    """
    _update_sums(particles, positions, radii, box, rows, counts, pair_mode, seed, step, overlaps,
                 unit_sum, loss, touched, tag, (0,) * positions.shape[1])


@numba.njit(parallel=True, cache=True)
def _update_sums(particles, positions, radii, box, rows, counts, pair_mode, seed, step, overlaps,
                 unit_sum, loss, touched, tag, dims):
    capacity = rows.shape[1]
    for task in numba.prange((particles.shape[0] + CHUNK - 1) // CHUNK):
        squares, weights = np.empty(capacity), np.empty(capacity)
        hits = np.empty(capacity, dtype=np.int64)
        for a in range(task * CHUNK, min(particles.shape[0], (task + 1) * CHUNK)):
            _particle_sums(particles[a], positions, radii, box, rows, counts, pair_mode, seed, step,
                           overlaps, unit_sum, loss, touched, tag, squares, hits, weights, dims)


@numba.njit(parallel=True, cache=True)
def move(positions, unit_sum, movers, scale_mode, step_size, batch_fraction, seed, step, box):
    """Move the particles ``movers`` (m,) in place (synchronous update), fold them back into the box.

    movers: the active particles, or for the BATCH rule (SGD) the batch only, which moves by
    lr / 2 times its unit sum.
    """
    d = positions.shape[1]
    sgd_noise = np.sqrt(batch_fraction * (1.0 - batch_fraction))
    for a in numba.prange(movers.shape[0]):
        i = movers[a]
        if scale_mode == RO:
            norm2 = 0.0
            direction = np.empty(d)
            for k in range(d):
                direction[k] = rng.normal(seed, step, rng.DIRECTION, i, k)
                norm2 += direction[k] * direction[k]
            size = step_size * rng.uniform(seed, step, rng.KICK, i, 0) / np.sqrt(norm2)
            for k in range(d):
                positions[i, k] += size * direction[k]
        else:
            if scale_mode == BRO:
                scale = step_size * rng.uniform(seed, step, rng.KICK, i, 0)
            elif scale_mode == BATCH or scale_mode == GRADIENT:
                scale = 0.5 * step_size
            elif scale_mode == SME_BRO:
                scale = 0.5 * step_size * (1.0 + rng.normal(seed, step, rng.KICK, i, 0) / np.sqrt(3.0))
            elif scale_mode == SME_SGD:
                z = rng.normal(seed, step, rng.KICK, i, 0)
                scale = 0.5 * step_size * (batch_fraction + sgd_noise * z)
            else:  # PAIRWISE: the random weights are already inside unit_sum
                scale = step_size
            for k in range(d):
                positions[i, k] += scale * unit_sum[i, k]
        for k in range(d):
            x = positions[i, k] - box * np.floor(positions[i, k] / box)
            positions[i, k] = 0.0 if x >= box else x


def movers(active: np.ndarray, rule: Rule, batch_fraction: float, batch: str, seed: int,
           step: int) -> np.ndarray:
    """The particles that move at ``step``, from the active ones (m,) in any order: all of them, or
    for the BATCH rule its batch only (``batch`` "selective" or "probabilistic", see ``kick``)."""
    if rule.scale_mode != BATCH:
        return active
    pick = selective_members if batch == "selective" else probabilistic_members
    return pick(active, batch_fraction, seed, step)


def kick(positions: np.ndarray, overlaps: np.ndarray, unit_sum: np.ndarray, rule: Rule,
         step_size: float, batch_fraction: float, batch: str, seed: int, step: int, box: float) -> None:
    """Take one step of ``rule`` in place, from the output of ``overlap_sums`` at the same step.

    step_size: eps or lr (diameters); batch_fraction: b_f, read by sgd and sme_sgd;
    batch: "selective" (B = int(b_f |Q|) + 1 drawn from the active set) or "probabilistic".
    """
    moving = movers(np.flatnonzero(overlaps), rule, batch_fraction, batch, seed, step)
    move(positions, unit_sum, moving, rule.scale_mode, step_size, batch_fraction,
         np.uint64(seed), np.uint64(step), box)


def batch_size(active_count: int, batch_fraction: float) -> int:
    """The authors' selective batch size B = int(b_f |Q|) + 1, capped at |Q|."""
    return min(int(batch_fraction * active_count) + 1, active_count)


def selective_members(active: np.ndarray, batch_fraction: float, seed: int, step: int) -> np.ndarray:
    """B = int(b_f |Q|) + 1 of the active particles (m,), drawn uniformly without replacement: the B
    with the smallest counter-based keys, a uniformly random B-subset (B,) whatever the order of
    ``active``."""
    size = batch_size(active.size, batch_fraction)
    if size == active.size:
        return active
    keys = rng.draws(np.uint64(seed), np.uint64(step), rng.BATCH, active, np.zeros_like(active), False)
    return active[np.argpartition(keys, size - 1)[:size]]


def probabilistic_members(active: np.ndarray, batch_fraction: float, seed: int, step: int) -> np.ndarray:
    """The active particles (m,) that join the batch, each independently with probability b_f."""
    keys = rng.draws(np.uint64(seed), np.uint64(step), rng.BATCH, active, np.zeros_like(active), False)
    return active[keys < batch_fraction]


def selective_batch(overlaps: np.ndarray, batch_fraction: float, seed: int, step: int) -> np.ndarray:
    """Mask (n,) of ``selective_members`` of the active particles (overlaps > 0)."""
    members = selective_members(np.flatnonzero(overlaps), batch_fraction, seed, step)
    return _mask(members, overlaps.shape[0])


def probabilistic_batch(overlaps: np.ndarray, batch_fraction: float, seed: int, step: int) -> np.ndarray:
    """Mask (n,): each active particle joins the batch independently with probability b_f."""
    members = probabilistic_members(np.flatnonzero(overlaps), batch_fraction, seed, step)
    return _mask(members, overlaps.shape[0])


def _mask(members: np.ndarray, n: int) -> np.ndarray:
    in_batch = np.zeros(n, dtype=np.bool_)
    in_batch[members] = True
    return in_batch
