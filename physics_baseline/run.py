"""The one shape of a finished run, whatever produced it: series, arrays, summary, extra files.

Particle runs (``physics_baseline.simulate``), encoder training (``neuralpack.training``) and
self-supervised training (``neuralpack.ssl``) each return a subclass of ``Run``; the suite writes
any of them the same way (``neuralpack.suite.formats``): ``series()`` to series.csv, ``arrays()``
to final.npz, ``extra_files()`` beside them, and ``summary()`` to summary.json, last.
"""
import math

import numpy as np

from physics_baseline.criticality.steady import relaxation_time


class Run:
    """A finished run. Subclasses hold ``config`` (a validated config object with ``to_dict``),
    ``steps``, ``active_fraction`` and ``loss`` ((records,) arrays, measured before each recorded
    step), and ``wall_time`` (seconds spent in this call)."""

    def series(self) -> dict[str, np.ndarray]:
        """The recorded series by column name, "step" first; each of shape (records,)."""
        return {"step": self.steps, "active_fraction": self.active_fraction, "loss": self.loss}

    def arrays(self) -> dict[str, np.ndarray]:
        """The final state by name (positions, centres, radii, box, ...)."""
        raise NotImplementedError

    def summary(self) -> dict:
        """The scalar results, JSON-ready (NaN as None)."""
        raise NotImplementedError

    def extra_files(self) -> dict[str, bytes]:
        """Files beyond the standard ones, by file name (an encoder's weights, an evaluation table)."""
        return {}


class AbsorbingRun(Run):
    """A run of an absorbing dynamics (particles or class manifolds): it also holds ``absorbed``
    and ``absorption_step``, and reports the relaxation time and final activity."""

    @property
    def relaxation_time(self) -> float:
        return relaxation_time(self.steps, self.active_fraction, self.absorbed)

    @property
    def final_active_fraction(self) -> float:
        return float(self.active_fraction[-1]) if len(self.active_fraction) else float("nan")

    def series_summary(self) -> dict:
        """The scalar results shared by every absorbing run, JSON-ready (NaN as None)."""
        return json_ready({
            "absorbed": self.absorbed,
            "absorption_step": self.absorption_step,
            "final_active_fraction": self.final_active_fraction,
            "final_loss": float(self.loss[-1]) if len(self.loss) else None,
            "relaxation_time": self.relaxation_time,
            "last_step": int(self.steps[-1]) if len(self.steps) else None,
            "wall_time_s": self.wall_time,
        })


def json_ready(value):
    """value with every NaN or infinity replaced by None (null in JSON), recursively."""
    if isinstance(value, dict):
        return {key: json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
