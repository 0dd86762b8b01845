"""The checkpoint codec shared by every loop: particle runs, encoder training, self-supervised runs.

A checkpoint is one ``.npz`` written atomically, holding::

    version   CHECKPOINT_VERSION (int)
    config    JSON of the run's resume key: its config less the fields a resumed run may change
    step      the step the state belongs to (int)
    <series>  one array per recorded series (steps, active_fraction, loss, ...), (records,)
    <arrays>  the loop's own state: positions (n, d); torch state bytes as uint8; JSON text

Loading checks the version and that the resume key is the one of the run that resumes it, and
names the fields that differ; a loop never reads a checkpoint of another run.
"""
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from physics_baseline import atomic
from physics_baseline.validate import ConfigError

CHECKPOINT_VERSION = 1
HEADER = ("version", "config", "step")


@dataclass
class Checkpoint:
    """A loaded checkpoint: its step, its series as lists, and its other arrays by name."""
    step: int
    records: dict[str, list]
    arrays: dict[str, np.ndarray]


def resume_key(config: dict, resumable: Iterable[str]) -> dict:
    """The fields of config (a ``to_dict()``) that a checkpoint must share with its resumed run."""
    free = set(resumable)
    return {key: value for key, value in config.items() if key not in free}


def refuse_unasked_resume(path: Path | None, resume: bool) -> bool:
    """Whether to continue from the checkpoint at path: True when it exists and resume is set;
    ConfigError (field checkpoint) when it exists and resume is not."""
    if path is None or not path.exists():
        return False
    if not resume:
        raise ConfigError("checkpoint", f"{path} exists; pass resume=True to continue it")
    return True


def save(path: str | Path, key: dict, step: int, records: dict[str, Sequence], **arrays) -> None:
    """Write the state at step to path atomically; key is the run's ``resume_key``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    series = {name: np.asarray(values) for name, values in records.items()}
    atomic.save_npz(path, version=CHECKPOINT_VERSION, config=json.dumps(key, sort_keys=True), step=step,
                    **series, **arrays)


def load(path: str | Path, key: dict, series: Sequence[str]) -> Checkpoint:
    """The checkpoint at path, refused (ConfigError, field checkpoint) when its version is not
    CHECKPOINT_VERSION or its resume key is not key; series names the recorded series."""
    with np.load(path) as saved:
        if int(saved["version"]) != CHECKPOINT_VERSION:
            raise ConfigError("checkpoint", f"{path} has format version {int(saved['version'])}, "
                                            f"expected {CHECKPOINT_VERSION}")
        stored = json.loads(str(saved["config"]))
        if stored != key:
            differ = sorted(k for k in stored.keys() | key.keys() if stored.get(k) != key.get(k))
            raise ConfigError("checkpoint", f"{path} belongs to another run (differs in {', '.join(differ)})")
        records = {name: saved[name].tolist() for name in series}
        arrays = {name: saved[name].copy() for name in saved.files if name not in (*HEADER, *series)}
        return Checkpoint(int(saved["step"]), records, arrays)
