"""The run files: what a run directory and a sweep's table hold, written and read here only.

A run directory (``neuralpack.suite.store`` keeps its life: new, unfinished, done)::

    config.yaml      kind: <KIND>, then the run's validated config (written before the run starts)
    checkpoint.npz   the loop's state (``physics_baseline.checkpoint``), kept so that a run can be
                     resumed or extended
    series.csv       one row per record: step, active_fraction, loss, then the kind's own columns
    final.npz        the final state (``Run.arrays``: positions or centres, radii, box or side)
    <extra files>    ``Run.extra_files`` (self-supervised runs: evaluations.csv, encoder.pt)
    summary.json     ``Run.summary()`` and config_key (the run key); written last, it marks the
                     run as done
    error.txt        the traceback of a failed attempt in a sweep

A sweep directory holds ``runs/<run key>/`` and ``runs.csv``, one row per finished run.

A run's key is the hash of its config without ``kind``, so the run keys of run directories
written before config.yaml held the kind (format 1) are unchanged; reading such a config.yaml
derives its kind once, by ``kinds.format1_kind``. Every file is written atomically.
"""
import csv
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import yaml

from neuralpack.suite import kinds
from neuralpack.suite.presets import read_preset
from physics_baseline import atomic
from physics_baseline.run import Run

CONFIG, SERIES, FINAL, SUMMARY, CHECKPOINT = "config.yaml", "series.csv", "final.npz", "summary.json", "checkpoint.npz"
ERROR, TABLE, RUNS = "error.txt", "runs.csv", "runs"
PLOT = "active_fraction.png"  # with its twin active_fraction.pdf
TRACKING_DIR = "wandb"
RUN_FILES = (CONFIG, SERIES, FINAL, SUMMARY, CHECKPOINT, PLOT, "active_fraction.pdf",
             # self-supervised runs (neuralpack.ssl) also write these
             "evaluations.csv", "encoder.pt", "checkpoint-infonce.npz", "ssl_training.png", "ssl_training.pdf")
KIND = "kind"


def run_key(config: dict) -> str:
    """A short stable hash of a config (without kind): the first 10 hex digits of the SHA-256 of
    its sorted JSON."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def write_config(run_dir: str | Path, kind: str, config: dict) -> None:
    """config.yaml: ``kind`` first, then config; readable back as a preset."""
    atomic.write_text(Path(run_dir) / CONFIG, yaml.safe_dump({KIND: kind, **config}, sort_keys=False))


def read_config(run_dir: str | Path) -> tuple[str, dict]:
    """(kind, config) of the run in run_dir; the kind of a format-1 file (none stored) is derived."""
    values = read_preset(Path(run_dir) / CONFIG)
    kind = values.pop(KIND, None) or kinds.format1_kind(values)
    return kind, values


def write_run(run_dir: str | Path, run: Run) -> dict:
    """Write a finished run: series.csv, final.npz, its extra files, then summary.json (the
    summary with config_key); returns that summary."""
    run_dir = Path(run_dir)
    series = run.series()
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(series)
    writer.writerows(zip(*(np.asarray(column).tolist() for column in series.values())))
    atomic.write_text(run_dir / SERIES, table.getvalue())
    atomic.save_npz(run_dir / FINAL, **run.arrays())
    for name, data in run.extra_files().items():
        atomic.write_bytes(run_dir / name, data)
    summary = {**run.summary(), "config_key": run_key(run.config.to_dict())}
    atomic.write_text(run_dir / SUMMARY, json.dumps(summary, indent=2, allow_nan=False) + "\n")
    return summary


def read_series(run_dir: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """series.csv of a finished run as steps (int64), active_fraction and loss (float64), each of
    shape (records,)."""
    table = np.loadtxt(Path(run_dir) / SERIES, delimiter=",", skiprows=1, ndmin=2)
    return table[:, 0].astype(np.int64), table[:, 1].copy(), table[:, 2].copy()


def read_summary(run_dir: str | Path) -> dict:
    """summary.json of a finished run."""
    return json.loads((Path(run_dir) / SUMMARY).read_text())


def read_final(run_dir: str | Path) -> dict[str, np.ndarray]:
    """final.npz of a finished run, by array name."""
    with np.load(Path(run_dir) / FINAL) as final:
        return {name: final[name] for name in final.files}


def write_table(sweep_dir: str | Path, rows: list[dict]) -> None:
    """runs.csv: one row per finished run, the columns in order of first appearance."""
    columns = list(dict.fromkeys(column for row in rows for column in row))
    table = io.StringIO()
    writer = csv.DictWriter(table, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    Path(sweep_dir).mkdir(parents=True, exist_ok=True)
    atomic.write_text(Path(sweep_dir) / TABLE, table.getvalue())


def read_table(sweep_dir: str | Path) -> list[dict]:
    """The rows of runs.csv (values as strings)."""
    with open(Path(sweep_dir) / TABLE, newline="") as handle:
        return list(csv.DictReader(handle))
