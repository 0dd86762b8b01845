"""Estimates with errors, and the checks every analysis applies to its input arrays."""
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Estimate:
    """A value with its one-sigma error; ``samples``: the bootstrap or per-seed values behind the
    error (empty when the error comes from a covariance matrix)."""
    value: float
    error: float
    samples: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)

    def covers(self, planted: float, sigmas: float = 3.0) -> bool:
        """Whether planted lies within sigmas of this estimate's errors of its value."""
        return abs(self.value - planted) <= sigmas * self.error


def as_vector(name: str, values, min_size: int = 1) -> np.ndarray:
    """values as a finite 1-D float64 array of at least min_size entries, or a ValueError naming name."""
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size < min_size:
        raise ValueError(f"{name} needs at least {min_size} entries, got {array.size}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite")
    return array


def same_length(**arrays: np.ndarray) -> None:
    """A ValueError naming the arrays unless they all have the same length."""
    lengths = {name: len(array) for name, array in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError("must have the same length: " + ", ".join(f"{k} ({v})" for k, v in lengths.items()))


def as_count(name: str, value, low: int) -> int:
    """value as an int >= low, or a ValueError naming name."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def bootstrapped(value: float, samples: np.ndarray) -> Estimate:
    """value with the standard deviation of its bootstrap samples as the error."""
    return Estimate(float(value), float(np.std(samples, ddof=1)), samples)


def as_series(steps, active_fraction, min_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(t, f): steps shifted to start at 0 and strictly increasing, and the matching records."""
    t = as_vector("steps", steps, min_size)
    f = as_vector("active_fraction", active_fraction, min_size)
    same_length(steps=t, active_fraction=f)
    if np.any(np.diff(t) <= 0):
        raise ValueError("steps must be strictly increasing")
    return t - t[0], f
