"""Spheres in a periodic box in d dimensions, driven by BRO, SGD and related absorbing-state dynamics."""
from physics_baseline import openmp

openmp.shorten_spin()

from physics_baseline.config import SimulationConfig  # noqa: E402  (after the spin is set)
from physics_baseline.dynamics import RULES  # noqa: E402
from physics_baseline.run import Run  # noqa: E402
from physics_baseline.simulate import ParticleRun, simulate  # noqa: E402
from physics_baseline.validate import ConfigError  # noqa: E402

DYNAMICS = tuple(RULES)

__all__ = ["ConfigError", "DYNAMICS", "ParticleRun", "Run", "SimulationConfig", "simulate"]
