"""The calibration point (``physics_baseline.literature.CALIBRATION``): 3D BRO, N = 10000,
phi = 0.55, eps = 0.02, random start, absorbs after about 520-540 steps.

    python -m experiments.studies.calibration [SEEDS]    # default 16 seeds; prints each and the mean
"""
import math
import sys

import numpy as np

from physics_baseline import SimulationConfig, simulate
from physics_baseline.literature import CALIBRATION, CALIBRATION_ABSORPTION_STEPS


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    seeds = range(1, 1 + (int(argv[0]) if argv else 16))
    steps = [simulate(SimulationConfig.from_dict({**CALIBRATION, "steps": 3000, "record_every": 100, "seed": seed}))
             .absorption_step for seed in seeds]
    values = np.asarray(steps, dtype=float)
    mean, error = values.mean(), values.std(ddof=1) / math.sqrt(len(values))
    low, high = CALIBRATION_ABSORPTION_STEPS
    print(f"absorption steps, seeds {seeds.start}..{seeds.stop - 1}: {steps}")
    print(f"mean {mean:.1f} +- {error:.1f} (standard error); literature {low}-{high}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
