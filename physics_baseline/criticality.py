"""Observables of the absorbing transition computed from a recorded activity series."""
import numpy as np

STEADY_TAIL = 0.1  # fraction of the records averaged for f_inf


def steady_state_activity(active_fraction: np.ndarray, tail: float = STEADY_TAIL) -> float:
    """f_inf: the mean of the last ``tail`` fraction of the records (at least one record)."""
    count = max(1, int(round(tail * len(active_fraction))))
    return float(np.mean(active_fraction[-count:]))


def relaxation_time(steps: np.ndarray, active_fraction: np.ndarray, absorbed: bool) -> float:
    """The authors' relaxation time tau, in steps.

    Absorbed: the first step with f_a = 0. Otherwise the first step with |f_a / f_inf - 1| < 0.1,
    f_inf from ``steady_state_activity``. NaN for an empty series.
    """
    if len(steps) == 0:
        return float("nan")
    if absorbed:
        return float(steps[np.argmax(active_fraction == 0)])
    f_inf = steady_state_activity(active_fraction)
    close = np.abs(active_fraction / f_inf - 1.0) < 0.1
    return float(steps[np.argmax(close)]) if close.any() else float("nan")
