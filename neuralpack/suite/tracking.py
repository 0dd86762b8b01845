"""Experiment tracking with wandb: offline by default, online or none on request.

wandb is imported only when a run is tracked, and nothing is tracked in mode "none" or when the
environment sets ``WANDB_MODE=disabled`` (as the test suite does). A sweep is one wandb group:
one wandb run per run of the sweep (``log_stored_run``) and one holding its table and figures
(``log_table``), all written under the sweep's directory.
"""
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np

from neuralpack.suite import formats
from physics_baseline.validate import ConfigError, as_choice

MODES = ("offline", "online", "none")
MAX_POINTS = 2000  # series longer than this are logged at evenly spaced records


def installed() -> bool:
    """Whether wandb can be imported (the tracking extra)."""
    try:
        return importlib.util.find_spec("wandb") is not None
    except ValueError:          # a module put into sys.modules without a spec (a stand-in)
        return "wandb" in sys.modules


def default_mode() -> str:
    """offline where wandb is installed, else none."""
    return "offline" if installed() else "none"


def checked_mode(value) -> str:
    """value as a tracking mode (``tracking=none`` parses as None); a mode that logs needs wandb."""
    mode = as_choice("tracking", "none" if value is None else value, MODES)
    if mode != "none" and not installed():
        raise ConfigError("tracking", f"tracking={mode} needs wandb: pip install 'neuralpack[tracking]', "
                                      "or tracking=none")
    return mode


def enabled(mode: str) -> bool:
    """Whether a Tracker in mode logs anything."""
    return mode != "none" and os.environ.get("WANDB_MODE") != "disabled"


def sync_command(directory: str | Path) -> str:
    """The command that uploads the offline wandb runs written under directory."""
    return f"wandb sync {Path(directory) / 'wandb' / 'offline-run-*'}"


class Tracker:
    """A context manager holding one wandb run; its methods do nothing when tracking is off.

    mode: "offline" (written under run_dir/wandb, synced later with ``sync_command``), "online" or
    "none". config: the run's config, stored with the wandb run. name: its display name. group and
    job_type: wandb's grouping of runs (a sweep's name; "run" or "table").
    """

    def __init__(self, mode: str = "offline", run_dir: str | Path | None = None,
                 config: dict | None = None, name: str | None = None, group: str | None = None,
                 job_type: str | None = None):
        self.mode = mode
        self.run_dir = run_dir
        self.config = config
        self.name = name
        self.group = group
        self.job_type = job_type
        self._run = None

    def __enter__(self) -> "Tracker":
        if enabled(self.mode):
            import wandb
            self._run = wandb.init(
                project="neuralpack", mode=self.mode, dir=self.run_dir, config=self.config,
                name=self.name, group=self.group, job_type=self.job_type, reinit="create_new",
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

    def log_table(self, name: str, rows: list[dict]) -> None:
        """Log rows (one mapping per row; the columns are all their keys, in order of appearance)
        as a wandb Table under name."""
        if self._run is not None:
            import wandb
            columns = list(dict.fromkeys(column for row in rows for column in row))
            self._run.log({name: wandb.Table(columns=columns, data=[[row.get(c) for c in columns] for row in rows])})


def log_stored_run(mode: str, directory: str | Path, run_dir: Path, name: str, group: str) -> None:
    """One wandb run in group, written under directory, for the finished run stored in run_dir
    (``formats``): its config, its series and its summary."""
    if not enabled(mode):
        return
    steps, active_fraction, loss = formats.read_series(run_dir)
    with Tracker(mode, directory, formats.read_config(run_dir)[1], name=name, group=group,
                 job_type="run") as tracker:
        tracker.log_series(steps, active_fraction, loss)
        tracker.log_summary(formats.read_summary(run_dir))


def log_table(mode: str, directory: str | Path, name: str, rows: list[dict], images: list[Path],
              group: str) -> None:
    """One wandb run in group, written under directory, holding rows as the table "runs" and the
    PNG images, each under its file's stem."""
    with Tracker(mode, directory, {"runs": len(rows)}, name=name, group=group, job_type="table") as tracker:
        tracker.log_table("runs", rows)
        for image in images:
            tracker.log_image(image.stem, image)
