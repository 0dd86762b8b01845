"""Run directories: one per run, keyed by a hash of its config, written atomically.

A run directory holds ``config.yaml`` (written before the run starts), ``checkpoint.npz`` (kept,
so that a run can be resumed or extended), and, once the run is finished, ``series.csv``,
``final.npz`` and ``summary.json``. ``summary.json`` is written last: its presence marks a
finished run.
"""
import contextlib
import csv
import hashlib
import io
import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np
import yaml

from physics_baseline import ConfigError, Run

CONFIG, SERIES, FINAL, SUMMARY, CHECKPOINT = "config.yaml", "series.csv", "final.npz", "summary.json", "checkpoint.npz"
PLOT = "active_fraction.png"  # with its twin active_fraction.pdf
RUN_FILES = (CONFIG, SERIES, FINAL, SUMMARY, CHECKPOINT, PLOT, "active_fraction.pdf",
             # self-supervised runs (neuralpack.ssl) also write these
             "evaluations.csv", "encoder.pt", "checkpoint-infonce.npz", "ssl_training.png", "ssl_training.pdf")
TRACKING_DIR = "wandb"


def run_key(config: dict) -> str:
    """A short stable hash of a config: the first 10 hex digits of the SHA-256 of its sorted JSON."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:10]


@contextlib.contextmanager
def _atomic(path: str | Path):
    """A binary handle on a new temporary file next to path that replaces path on a clean exit.

    The temporary file is created with mode 0o666 less the umask, like a plain open() would.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write data to path so that readers see the old file or the new one, never a part."""
    with _atomic(path) as handle:
        handle.write(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    """``atomic_write_bytes`` for UTF-8 text."""
    atomic_write_bytes(path, text.encode())


def atomic_save_npz(path: str | Path, **arrays) -> None:
    """``np.savez`` to path, atomically."""
    with _atomic(path) as handle:
        np.savez(handle, **arrays)


def prepare_run_dir(path: str | Path, config: dict, *, overwrite: bool, resume: bool,
                    may_change: tuple[str, ...] = ()) -> Path:
    """Make path ready for a run of config, or raise ConfigError (field "out" or "resume").

    A directory without run files (new, empty, or holding other files) is used as it is. An
    existing run is refused unless ``overwrite=True`` (its run files are removed, other files
    are left alone) or ``resume=True`` (its files are kept; its config may differ from config
    only in the fields ``may_change``; it is marked unfinished until the resumed run ends).
    Nothing is changed on disk before every check has passed.
    """
    path = Path(path)
    if overwrite and resume:
        raise ConfigError("resume", "resume=true continues a run and overwrite=true replaces it; pick one")
    if path.exists() and not path.is_dir():
        raise ConfigError("out", f"{path} exists and is not a directory")
    if not any((path / name).exists() for name in RUN_FILES):
        path.mkdir(parents=True, exist_ok=True)
        return path
    if overwrite:
        for name in RUN_FILES:
            (path / name).unlink(missing_ok=True)
        shutil.rmtree(path / TRACKING_DIR, ignore_errors=True)
    elif resume:
        _check_resumable(path, config, may_change)
        (path / SUMMARY).unlink(missing_ok=True)
    elif (path / SUMMARY).exists():
        raise ConfigError("out", f"{path} holds a finished run; overwrite=true replaces it "
                                 "(resume=true with more steps extends it)")
    else:
        raise ConfigError("out", f"{path} holds an unfinished run; resume=true continues it, "
                                 "overwrite=true replaces it")
    return path


def _check_resumable(path: Path, config: dict, may_change: tuple[str, ...]) -> None:
    """Refuse to resume the run in path with a config that differs beyond may_change."""
    if not (path / CONFIG).exists():
        return
    saved = yaml.safe_load((path / CONFIG).read_text())
    differ = sorted(k for k in saved.keys() | config.keys()
                    if k not in may_change and saved.get(k) != config.get(k))
    if differ:
        raise ConfigError("resume", f"{path} holds a run with other {', '.join(differ)}; a resumed run "
                                    f"may change only {', '.join(may_change) or 'nothing'}")


def write_config(run_dir: str | Path, config: dict) -> None:
    """config.yaml: the run's config, readable back as a preset."""
    atomic_write_text(Path(run_dir) / CONFIG, yaml.safe_dump(config, sort_keys=False))


def write_run(run_dir: str | Path, run: Run) -> dict:
    """Write a finished particle run: series.csv, final.npz, then summary.json; returns the summary.

    series.csv: columns step (steps), active_fraction, loss (hinge loss per particle, diameters).
    final.npz: positions (n, d) and radii (n,) in diameters, box (side length, diameters).
    summary.json: ``run.summary()`` plus config_key (``run_key`` of the config), n and d.
    """
    run_dir = Path(run_dir)
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["step", "active_fraction", "loss"])
    writer.writerows(zip(run.steps.tolist(), run.active_fraction.tolist(), run.loss.tolist()))
    atomic_write_text(run_dir / SERIES, table.getvalue())
    atomic_save_npz(run_dir / FINAL, positions=run.positions, radii=run.radii, box=run.box)
    config = run.config.to_dict()
    summary = {**run.summary(), "config_key": run_key(config), "n": config["n"], "d": config["d"]}
    atomic_write_text(run_dir / SUMMARY, json.dumps(summary, indent=2, allow_nan=False) + "\n")
    return summary


def read_series(run_dir: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """series.csv of a finished run (see ``write_run``) as steps (int64), active_fraction and loss
    (float64), each of shape (records,)."""
    table = np.loadtxt(Path(run_dir) / SERIES, delimiter=",", skiprows=1, ndmin=2)
    return table[:, 0].astype(np.int64), table[:, 1].copy(), table[:, 2].copy()
