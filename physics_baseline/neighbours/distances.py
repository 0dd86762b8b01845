"""Periodic distances between particles in a cubic box, exact and screened.

Every test of a distance against a cutoff (neighbour lists, overlaps) goes through ``distance2``,
or through ``within``, which gives the same answers after a single-precision screen, so that all
of them agree bit for bit: whichever structure found a pair, whichever algorithm took the step.
The screen (``screen_distance2``, float32 with fast math, per axis min(|dx|, L - |dx|)) is some 3x
cheaper in high d; a margin far above its error (``screen_margin``) separates the clear cases from
those left to the exact test.
"""
import numba
import numpy as np


@numba.njit(inline="always")
def periodic(delta, box, inverse):
    """A coordinate difference delta (diameters) folded to its minimum image, inverse = 1 / box:
    the one minimum-image expression of every kernel, so that all round alike."""
    return delta - box * np.rint(delta * inverse)


@numba.njit(inline="always")
def distance2(positions, i, j, box, inverse):
    """Squared minimum-image distance |x_i - x_j|^2 (diameters^2); inverse = 1 / box.

    Every neighbour and overlap test goes through this one expression, so all agree bit for bit
    (it is symmetric in i and j: negation and rounding to the nearest integer commute).
    """
    r2 = 0.0
    for k in range(positions.shape[1]):
        dk = periodic(positions[i, k] - positions[j, k], box, inverse)
        r2 += dk * dk
    return r2


@numba.njit(fastmath=True, cache=True)
def screen_distance2(single, i, j, side):
    """|x_i - x_j|^2 (minimum image) in single precision and fast math, from single: (n, d)
    float32 coordinates and side: float32 box. Approximate: a test against it keeps a
    ``screen_margin`` and leaves close cases to ``distance2``; it is some 3x cheaper in high d."""
    r2 = np.float32(0.0)
    for k in range(single.shape[1]):
        delta = abs(single[i, k] - single[j, k])
        delta = min(delta, side - delta)
        r2 += delta * delta
    return r2


@numba.njit(inline="always")
def screen_margin(box, reach):
    """A margin on distances up to reach (diameters) in a box of side box, far above the error of
    the single-precision screens."""
    return 1e-5 * (box + reach)


@numba.njit(inline="always")
def screen_bounds(box, cutoff):
    """float32 squared distances below which a screened pair is surely within cutoff, and from
    which it surely is not."""
    margin = screen_margin(box, cutoff)
    return np.float32((cutoff - margin) ** 2), np.float32((cutoff + margin) ** 2)


@numba.njit(inline="always")
def within(screened, bounds, positions, i, j, box, cutoff):
    """|x_i - x_j| < cutoff, exactly as ``distance2`` decides it: from screened (the single-
    precision ``screen_distance2``) where that is clear (bounds: ``screen_bounds``), else by
    ``distance2``."""
    inside, outside = bounds
    return screened < outside and (screened < inside
                                   or distance2(positions, i, j, box, 1.0 / box) < cutoff * cutoff)


def transposed_single(positions: np.ndarray) -> np.ndarray:
    """The coordinates (n, d) as float32, transposed to (d, n), for ``scan``."""
    return np.ascontiguousarray(positions.T, dtype=np.float32)


@numba.njit(fastmath=True, cache=True)
def screen_block(transposed, point, first, size, side, screened):
    """screened[:size]: squared periodic distances in single precision from point (d,) float32
    to the candidates first .. first + size - 1, accumulated one dimension at a time over
    contiguous memory (transposed: (d, n) float32). Approximate (fast math): callers only use
    them to discard candidates with a margin (``distances.within``)."""
    screened[:size] = 0.0
    for k in range(transposed.shape[0]):
        xi = point[k]
        axis = transposed[k, first:first + size]
        for q in range(size):
            delta = abs(xi - axis[q])
            delta = min(delta, side - delta)
            screened[q] += delta * delta
