"""Experiment tracking with wandb: offline by default, online or none on request.

wandb is imported only when a run is tracked, and nothing is tracked in mode "none" or when the
environment sets ``WANDB_MODE=disabled`` (as the test suite does).
"""
import os
from pathlib import Path

import numpy as np

MODES = ("offline", "online", "none")
MAX_POINTS = 2000  # series longer than this are logged at evenly spaced records


class Tracker:
    """A context manager holding one wandb run; its methods do nothing when tracking is off.

    mode: "offline" (written under run_dir/wandb, synced later with ``wandb sync``), "online" or
    "none". config: the run's config, stored with the wandb run. name: its display name.
    """

    def __init__(self, mode: str = "offline", run_dir: str | Path | None = None,
                 config: dict | None = None, name: str | None = None):
        self.mode = mode
        self.run_dir = run_dir
        self.config = config
        self.name = name
        self._run = None

    def __enter__(self) -> "Tracker":
        if self.mode != "none" and os.environ.get("WANDB_MODE") != "disabled":
            import wandb
            self._run = wandb.init(
                project="neuralpack", mode=self.mode, dir=self.run_dir, config=self.config,
                name=self.name, reinit="create_new",
                settings=wandb.Settings(silent=True, console="off", x_disable_stats=True))
        return self

    def __exit__(self, *exc_info) -> None:
        if self._run is not None:
            self._run.finish(exit_code=0 if exc_info[0] is None else 1)
            self._run = None

    def log_series(self, steps: np.ndarray, active_fraction: np.ndarray, loss: np.ndarray) -> None:
        """Log the recorded series (each shape (records,)) against the simulation step, at no more
        than MAX_POINTS evenly spaced records (the first and the last always among them)."""
        if self._run is None or len(steps) == 0:
            return
        picked = np.unique(np.linspace(0, len(steps) - 1, min(len(steps), MAX_POINTS)).round().astype(int))
        for k in picked:
            self._run.log({"active_fraction": float(active_fraction[k]), "loss": float(loss[k])},
                          step=int(steps[k]))

    def log_summary(self, summary: dict) -> None:
        """Store the run's scalar results in the wandb summary."""
        if self._run is not None:
            self._run.summary.update(summary)

    def log_image(self, name: str, path: str | Path) -> None:
        """Log the image file at path (PNG) under name, at the last logged step."""
        if self._run is not None:
            import wandb
            self._run.log({name: wandb.Image(str(path))})
