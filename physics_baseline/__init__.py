"""Spheres in a periodic box in d dimensions, driven by BRO, SGD and related absorbing-state dynamics."""
import os

# numba's OpenMP threads busy-wait (GNU default: 300,000 spins) between parallel regions. When two
# processes share the cores (two runs side by side, a sweep) the spinners steal each other's time
# slices and a run became ~100x slower here (15 instead of 1400 steps/s, n = 5000). A short spin
# keeps the single-run speed and limits that loss to the fair share. It must be set before the
# OpenMP runtime loads (at the first parallel kernel); a user's own setting wins.
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "10000")

from physics_baseline.config import ConfigError, SimulationConfig
from physics_baseline.dynamics import RULES
from physics_baseline.simulate import Run, simulate

DYNAMICS = tuple(RULES)

__all__ = ["ConfigError", "DYNAMICS", "Run", "SimulationConfig", "simulate"]
