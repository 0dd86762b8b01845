"""Counter-based random numbers: every draw is a pure function of (seed, step, stream, a, b).

A trajectory therefore does not depend on the number of threads, on the order in which particles
are visited, or on where a run was resumed; and any other code (the neural trainer, a test) can
reproduce the very same draws. The mixer is the splitmix64 finaliser, applied once per key word.
"""
import math

import numba
import numpy as np

# Streams: which kind of draw a number is for.
KICK = np.uint64(1)        # BRO kick magnitude U_i, or the Gaussian of the modified equations
PAIR = np.uint64(2)        # pairwise BRO U_ij
DIRECTION = np.uint64(3)   # RO: Gaussian components of a random direction, then the magnitude
BATCH = np.uint64(4)       # SGD batch keys
GAUSS = np.uint64(5)       # second uniform of a Box-Muller pair
POOL = np.uint64(6)        # quasi-stationary restarts: which stored configuration to replace or restore

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2^-53


@numba.njit(inline="always")
def _mix(z):
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@numba.njit(inline="always")
def _hash(seed, step, stream, a, b):
    h = _mix(np.uint64(seed) + _GOLDEN)
    h = _mix(h ^ (np.uint64(step) * _GOLDEN))
    h = _mix(h ^ (stream * _M1))
    h = _mix(h ^ (np.uint64(a) * _M2))
    return _mix(h ^ (np.uint64(b) + _GOLDEN))


@numba.njit(inline="always")
def uniform(seed, step, stream, a, b):
    """Uniform double in [0, 1) for the key (seed, step, stream, a, b)."""
    return float(_hash(seed, step, stream, a, b) >> _S11) * _TO_UNIT


@numba.njit(inline="always")
def normal(seed, step, stream, a, b):
    """Standard normal for the key (seed, step, stream, a, b), by Box-Muller."""
    u1 = 1.0 - uniform(seed, step, stream, a, b)
    u2 = uniform(seed, step, GAUSS, np.uint64(a) * np.uint64(0x10000) + stream, b)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@numba.njit(parallel=True, cache=True)
def draws(seed, step, stream, a, b, gaussian):
    """``uniform`` (or ``normal`` where gaussian) for every pair of the integer arrays a and b,
    shape (m,)."""
    out = np.empty(a.shape[0])
    for k in numba.prange(a.shape[0]):
        out[k] = normal(seed, step, stream, a[k], b[k]) if gaussian else uniform(seed, step, stream, a[k], b[k])
    return out
