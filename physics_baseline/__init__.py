"""Spheres in a periodic box in d dimensions, driven by BRO, SGD and related absorbing-state dynamics."""
from physics_baseline.config import ConfigError, SimulationConfig
from physics_baseline.dynamics import RULES
from physics_baseline.simulate import Run, simulate

DYNAMICS = tuple(RULES)

__all__ = ["ConfigError", "DYNAMICS", "Run", "SimulationConfig", "simulate"]
