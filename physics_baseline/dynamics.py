"""One synchronous step of each packing dynamics, dimension-generic, on numba kernels.

Conventions (../shared/reference/numbers.md): lengths in diameters; hinge pair loss
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


@numba.njit(parallel=True, cache=True)
def overlap_sums(positions, radii, box, rows, counts, pair_mode, seed, step):
    """Overlaps of every particle through its Verlet row.

    Returns (overlaps (n,) int64: number of overlapping partners; unit_sum (n, d): sum_j w_ij n_ij;
    loss (n,): half of particle i's pair losses, so that loss.sum() is the total hinge loss L).
    """
    n, d = positions.shape
    overlaps = np.zeros(n, dtype=np.int64)
    unit_sum = np.zeros((n, d))
    loss = np.zeros(n)
    inverse = 1.0 / box
    for i in numba.prange(n):
        count = 0
        half_loss = 0.0
        for c in range(counts[i]):
            j = rows[i, c]
            contact = radii[i] + radii[j]
            r2 = 0.0
            for k in range(d):
                dk = positions[i, k] - positions[j, k]
                dk -= box * np.rint(dk * inverse)
                r2 += dk * dk
            if r2 >= contact * contact:
                continue
            r = np.sqrt(r2)
            count += 1
            half_loss += 0.25 * (contact - r)
            if r == 0.0:
                continue  # coincident centres: no direction, no push (measure zero)
            weight = 1.0 / r
            if pair_mode == PAIR_RECIPROCAL:
                weight *= rng.uniform(seed, step, rng.PAIR, min(i, j), max(i, j))
            elif pair_mode == PAIR_NONRECIPROCAL:
                weight *= rng.uniform(seed, step, rng.PAIR, i, j)
            for k in range(d):  # recomputed rather than stored: overlaps are a minority of rows
                dk = positions[i, k] - positions[j, k]
                dk -= box * np.rint(dk * inverse)
                unit_sum[i, k] += weight * dk
        overlaps[i] = count
        loss[i] = half_loss
    return overlaps, unit_sum, loss


@numba.njit(parallel=True, cache=True)
def move(positions, unit_sum, overlaps, in_batch, scale_mode, step_size, batch_fraction,
         seed, step, box):
    """Move every active particle in place (synchronous update) and fold it back into the box.

    in_batch: (n,) bool, read only by the BATCH rule (SGD's selective batch).
    """
    n, d = positions.shape
    sgd_noise = np.sqrt(batch_fraction * (1.0 - batch_fraction))
    for i in numba.prange(n):
        if overlaps[i] == 0:
            continue
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
            elif scale_mode == BATCH:
                scale = 0.5 * step_size if in_batch[i] else 0.0
            elif scale_mode == GRADIENT:
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


def kick(positions: np.ndarray, overlaps: np.ndarray, unit_sum: np.ndarray, rule: Rule,
         step_size: float, batch_fraction: float, batch: str, seed: int, step: int, box: float) -> None:
    """Take one step of ``rule`` in place, from the output of ``overlap_sums`` at the same step.

    step_size: eps or lr (diameters); batch_fraction: b_f, read by sgd and sme_sgd;
    batch: "selective" (B = int(b_f |Q|) + 1 drawn from the active set) or "probabilistic".
    """
    in_batch = _NO_BATCH
    if rule.scale_mode == BATCH:
        pick = selective_batch if batch == "selective" else probabilistic_batch
        in_batch = pick(overlaps, batch_fraction, seed, step)
    move(positions, unit_sum, overlaps, in_batch, rule.scale_mode, step_size, batch_fraction,
         np.uint64(seed), np.uint64(step), box)


_NO_BATCH = np.zeros(0, dtype=np.bool_)


def batch_size(active_count: int, batch_fraction: float) -> int:
    """The authors' selective batch size B = int(b_f |Q|) + 1, capped at |Q|."""
    return min(int(batch_fraction * active_count) + 1, active_count)


def selective_batch(overlaps: np.ndarray, batch_fraction: float, seed: int, step: int) -> np.ndarray:
    """Mask (n,) of B = int(b_f |Q|) + 1 active particles drawn uniformly without replacement.

    Every particle gets a counter-based key; the batch is the B active particles with the smallest
    keys, which is a uniformly random B-subset of the active set.
    """
    active = np.flatnonzero(overlaps)
    size = batch_size(active.size, batch_fraction)
    in_batch = np.zeros(overlaps.shape[0], dtype=np.bool_)
    if size == active.size:
        in_batch[active] = True
        return in_batch
    keys = rng.uniforms(np.uint64(seed), np.uint64(step), rng.BATCH, active, np.zeros_like(active))
    in_batch[active[np.argpartition(keys, size - 1)[:size]]] = True
    return in_batch


def probabilistic_batch(overlaps: np.ndarray, batch_fraction: float, seed: int, step: int) -> np.ndarray:
    """Mask (n,): each active particle joins the batch independently with probability b_f."""
    index = np.arange(overlaps.shape[0])
    keys = rng.uniforms(np.uint64(seed), np.uint64(step), rng.BATCH, index, np.zeros_like(index))
    return (overlaps > 0) & (keys < batch_fraction)
