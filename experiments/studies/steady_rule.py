"""How often ``criticality.is_steady`` calls a stationary series unsteady, and how often it catches a
slow decay, on synthetic AR(1) series of the length a study records (400 records by default).

    python -m experiments.studies.steady_rule [SERIES] [RECORDS]    # default 2000 series of 400 records

AR(1) with memory a has the integrated autocorrelation time tau_int = (1 + a) / (2 (1 - a)) records.
Prints, for tau_int = 0.5 .. 20 records, the fraction of stationary series rejected (the test's
size; 2 sigma would be 5 %), and the fraction of series rejected when a decay
amplitude * exp(-t / (n / 2)) rides on a series with tau_int = 5 (the test's power).
"""
import sys

import numpy as np
from scipy.signal import lfilter

from physics_baseline.criticality.steady import is_steady

TAUS = (0.5, 2.0, 5.0, 10.0, 20.0)
DECAYS = (0.01, 0.02, 0.05)  # amplitudes of the decay; the series' standard deviation is 0.01


def ar1(rng: np.random.Generator, records: int, tau_int: float, level: float = 0.3, sd: float = 0.01) -> np.ndarray:
    """(records,) stationary AR(1) series with mean level, standard deviation sd and the given tau_int."""
    memory = (2 * tau_int - 1) / (2 * tau_int + 1)
    kicks = rng.standard_normal(records + 2000) * sd * np.sqrt(1 - memory ** 2)
    return level + lfilter([1.0], [1.0, -memory], kicks)[2000:]


def rejection_rate(series) -> float:
    """Fraction of the series that ``is_steady`` rejects."""
    return float(np.mean([not is_steady(s) for s in series]))


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    count = int(argv[0]) if argv else 2000
    records = int(argv[1]) if len(argv) > 1 else 400
    rng = np.random.default_rng(0)
    print(f"{count} AR(1) series of {records} records each")
    for tau in TAUS:
        rejected = rejection_rate(ar1(rng, records, tau) for _ in range(count))
        print(f"stationary, tau_int = {tau:>4} records: rejected {rejected:.3f}")
    decay = np.exp(-np.arange(records) / (records / 2))
    for amplitude in DECAYS:
        rate = rejection_rate(ar1(rng, records, 5.0) + amplitude * decay for _ in range(count))
        print(f"decay {amplitude} * exp(-t / {records // 2}) on tau_int = 5 (sd 0.01): rejected {rate:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
