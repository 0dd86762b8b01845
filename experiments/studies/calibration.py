"""The calibration point of numbers.md: 3D BRO, N = 10000, phi = 0.55, eps = 0.02, random start,
absorbs after about 520-540 steps (the authors' simulator and an independent implementation).

    python -m experiments.studies.calibration [SEEDS]    # default 16 seeds; prints each and the mean
"""
import math
import sys

import numpy as np

from physics_baseline import simulate
from physics_baseline.config import SimulationConfig

CALIBRATION = dict(dynamics="bro", d=3, n=10_000, phi=0.55, eps=0.02, steps=3000, record_every=100)
LITERATURE = (520, 540)


def absorption_steps(seeds) -> list[int]:
    """Absorption step of the calibration run for each seed (None if it did not absorb)."""
    return [simulate(SimulationConfig.from_dict(dict(seed=seed, **CALIBRATION))).absorption_step for seed in seeds]


def mean_and_error(values) -> tuple[float, float]:
    """Sample mean and its standard error."""
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(len(values)))


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    seeds = range(1, 1 + (int(argv[0]) if argv else 16))
    steps = absorption_steps(seeds)
    mean, error = mean_and_error(steps)
    print(f"absorption steps, seeds {seeds.start}..{seeds.stop - 1}: {steps}")
    print(f"mean {mean:.1f} +- {error:.1f} (standard error); literature {LITERATURE[0]}-{LITERATURE[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
