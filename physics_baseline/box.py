"""Periodic cubic box in d dimensions: ball volumes, packing fraction and random starts.

Lengths are in units of the (small) particle diameter: a monodisperse sphere has radius 0.5.
"""
import math

import numpy as np

BIDISPERSE_SIZE_RATIO = 1.4


def ball_volume(d: int) -> float:
    """Volume of the unit d-ball, pi^(d/2) / Gamma(d/2 + 1)."""
    return math.pi ** (d / 2) / math.gamma(d / 2 + 1)


def make_radii(n: int, polydispersity: str = "mono", size_ratio: float = BIDISPERSE_SIZE_RATIO) -> np.ndarray:
    """Radii, shape (n,), in diameters of the small species.

    ``"mono"``: every radius 0.5. ``"bidisperse"``: even labels have radius 0.5, odd labels
    ``0.5 * size_ratio`` (the 50:50 mix of O'Hern et al. with ratio 1.4). Alternating labels keep
    the species mixed along the spatial order of ``random_positions``.
    """
    radii = np.full(n, 0.5)
    if polydispersity == "bidisperse":
        radii[1::2] *= size_ratio
    elif polydispersity != "mono":
        raise ValueError(f"polydispersity must be 'mono' or 'bidisperse', got {polydispersity!r}")
    return radii


def box_length(radii: np.ndarray, d: int, phi: float) -> float:
    """Side L of the cubic box in which spheres of these radii fill the packing fraction phi."""
    return float((ball_volume(d) * np.sum(radii ** d) / phi) ** (1.0 / d))


def packing_fraction(radii: np.ndarray, d: int, box: float) -> float:
    """Packing fraction sum_i v_d R_i^d / L^d."""
    return float(ball_volume(d) * np.sum(radii ** d) / box ** d)


def random_positions(n: int, d: int, box: float, rng: np.random.Generator) -> np.ndarray:
    """Uniform random positions in [0, box)^d, shape (n, d); overlaps allowed.

    Labels are handed out in the lexicographic order of unit-diameter cells: the configuration is
    as random as any other labelling, but particles near in space are near in memory, which makes
    every neighbour loop cache-friendly for the whole run (particles move little).
    """
    positions = rng.random((n, d)) * box
    cells_per_side = max(1, int(box))
    cell = np.minimum((positions / box * cells_per_side).astype(np.int64), cells_per_side - 1)
    return positions[np.lexsort(cell.T)]


def wrap(positions: np.ndarray, box: float) -> np.ndarray:
    """Positions folded into [0, box)^d."""
    wrapped = positions - box * np.floor(positions / box)
    return np.where(wrapped >= box, 0.0, wrapped)


def minimum_image(delta: np.ndarray, box: float) -> np.ndarray:
    """Separation vectors mapped to their nearest periodic image (components in [-L/2, L/2])."""
    return delta - box * np.round(delta / box)


def expected_initial_active_fraction(d: int, phi: float) -> float:
    """f_a of uniform random monodisperse spheres for n -> infinity: 1 - exp(-2^d phi)."""
    return 1.0 - math.exp(-(2 ** d) * phi)
