"""The slow, obviously correct twins of the fast kernels: overlapping pairs by brute force
(``overlapping_pairs_brute``, O(n^2) numpy) and by a periodic cKDTree, and one packing step in
plain numpy + scipy, which is also the yardstick of ``experiments.bench``.

The step is the straightforward implementation one would write without numba: every step builds a
periodic ``scipy.spatial.cKDTree``, asks it for all pairs within the largest contact distance,
keeps those with |x_i - x_j| < R_i + R_j (minimum image), sums the unit vectors
n_ij = (x_i - x_j) / |x_i - x_j| per particle with ``np.bincount`` and moves the active particles
by the same rules as ``physics_baseline.dynamics``:

| dynamics | displacement of an active particle i |
|---|---|
| bro | eps U_i sum_j n_ij, U_i ~ U(0, 1) from numpy's Generator |
| sgd | lr / 2 sum_j n_ij if i is in the selective batch of B = int(b_f |Q|) + 1 active particles |
| gd  | lr / 2 sum_j n_ij |

Random draws come from a ``numpy.random.Generator``, not the engine's counter-based streams, so
BRO and SGD trajectories differ from the engine's draw by draw; GD has no randomness and agrees
with the engine to rounding. Lengths are in diameters of the (small) particles.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from physics_baseline.box import minimum_image, wrap

DYNAMICS = ("bro", "sgd", "gd")


def overlapping_pairs_brute(positions: np.ndarray, radii: np.ndarray, box: float) -> np.ndarray:
    """The O(n^2) numpy twin: every pair i < j with |x_i - x_j| < R_i + R_j, shape (m, 2), sorted."""
    pairs = []
    for i in range(positions.shape[0] - 1):
        delta = minimum_image(positions[i + 1:] - positions[i], box)
        hit = np.einsum("md,md->m", delta, delta) < (radii[i] + radii[i + 1:]) ** 2
        partners = i + 1 + np.flatnonzero(hit)
        pairs.append(np.stack([np.full(partners.size, i), partners], axis=1))
    return np.concatenate(pairs).astype(np.int64) if pairs else np.empty((0, 2), dtype=np.int64)


def overlapping_pairs(positions: np.ndarray, radii: np.ndarray, box: float):
    """Overlapping pairs by a periodic cKDTree.

    Returns (i, j, delta, r): pair labels i < j (shape (m,)), minimum-image separations
    x_i - x_j (shape (m, d)) and distances (shape (m,)), for every pair with r < R_i + R_j.
    """
    tree = cKDTree(positions, boxsize=box)
    pairs = tree.query_pairs(r=2.0 * float(radii.max()), output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    delta = minimum_image(positions[i] - positions[j], box)
    r2 = np.einsum("md,md->m", delta, delta)
    hit = r2 < (radii[i] + radii[j]) ** 2   # query_pairs is closed (<= r); contact is strict
    return i[hit], j[hit], delta[hit], np.sqrt(r2[hit])


def overlap_sums(positions: np.ndarray, radii: np.ndarray, box: float):
    """(overlaps (n,) int64: overlapping partners of each particle; unit_sum (n, d): sum_j n_ij)."""
    n, d = positions.shape
    i, j, delta, r = overlapping_pairs(positions, radii, box)
    overlaps = np.bincount(i, minlength=n) + np.bincount(j, minlength=n)
    unit_sum = np.zeros((n, d))
    moving = r > 0.0                        # coincident centres: no direction, as in the engine
    i, j = i[moving], j[moving]
    unit = delta[moving] / r[moving, None]
    for k in range(d):
        unit_sum[:, k] = np.bincount(i, weights=unit[:, k], minlength=n) \
            - np.bincount(j, weights=unit[:, k], minlength=n)
    return overlaps, unit_sum


@dataclass
class ReferenceStep:
    """One synchronous step of bro, sgd or gd; ``step`` returns the new positions and active mask."""
    dynamics: str
    step_size: float                  # eps for bro, lr for sgd and gd (diameters)
    batch_fraction: float = 1.0       # sgd only
    seed: int = 0

    def __post_init__(self):
        if self.dynamics not in DYNAMICS:
            raise ValueError(f"dynamics must be one of {', '.join(DYNAMICS)}, got {self.dynamics!r}")
        self.rng = np.random.default_rng(self.seed)

    def step(self, positions: np.ndarray, radii: np.ndarray, box: float):
        """(new positions (n, d) folded into the box, active mask (n,) before the move)."""
        overlaps, unit_sum = overlap_sums(positions, radii, box)
        active = overlaps > 0
        moved = positions.copy()
        if self.dynamics == "bro":
            kick = self.step_size * self.rng.random(positions.shape[0])
            moved[active] += kick[active, None] * unit_sum[active]
        elif self.dynamics == "gd":
            moved[active] += 0.5 * self.step_size * unit_sum[active]
        else:
            members = np.flatnonzero(active)
            size = min(int(self.batch_fraction * members.size) + 1, members.size)
            batch = self.rng.choice(members, size=size, replace=False)
            moved[batch] += 0.5 * self.step_size * unit_sum[batch]
        return wrap(moved, box), active


def run_reference(positions: np.ndarray, radii: np.ndarray, box: float, stepper: ReferenceStep,
                  steps: int) -> tuple[np.ndarray, int]:
    """Take ``steps`` steps (stopping early if absorbed); returns (positions, steps taken)."""
    x = np.ascontiguousarray(positions, dtype=np.float64)
    for taken in range(steps):
        x_next, active = stepper.step(x, radii, box)
        if not active.any():
            return x, taken
        x = x_next
    return x, steps
