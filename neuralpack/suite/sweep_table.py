"""A sweep's table, runs.csv: one row per finished run, and the per-phi cells studies read from it."""
import dataclasses
from pathlib import Path

import numpy as np

from neuralpack.suite import formats
from physics_baseline.config import SimulationConfig
from physics_baseline.criticality.steady import is_steady, steady_state_activity

FIELDS = tuple(field.name for field in dataclasses.fields(SimulationConfig))


def aggregate(sweep_dir: str | Path) -> list[dict]:
    """One row per finished run under sweep_dir, also written to sweep_dir/runs.csv.

    A row holds run_key, the config fields, the summary fields (absorbed, absorption_step,
    final_active_fraction, relaxation_time, last_step, wall_time_s, ...; nested ones with dotted
    names, such as baselines.pca.knn_accuracy), f_inf, the mean of the last 10% of the recorded
    active fractions, and steady (``criticality.is_steady``; empty when the series is too short
    to tell). Rows are sorted by config, then run_key.
    """
    runs = Path(sweep_dir) / formats.RUNS
    rows = sorted((_row(summary.parent) for summary in runs.glob(f"*/{formats.SUMMARY}")), key=_order)
    formats.write_table(sweep_dir, rows)
    return rows


def cells_by_phi(rows: list[dict]) -> dict[str, np.ndarray]:
    """Per phi of table rows (``read_table``): the absorbed fraction, f_inf (0 for an absorbed run)
    and tau, means over the rows with their standard errors (0 for a single row); arrays over phi,
    sorted."""
    by_phi: dict[float, list[dict]] = {}
    for row in rows:
        by_phi.setdefault(float(row["phi"]), []).append(row)
    columns: dict[str, list] = {k: [] for k in ("phi", "absorbed", "f", "df", "tau", "dtau")}
    for phi, members in sorted(by_phi.items()):
        absorbed = np.array([row["absorbed"] == "True" for row in members])
        f = np.where(absorbed, 0.0, [float(row["f_inf"]) for row in members])
        tau = np.array([float(row["relaxation_time"]) for row in members])
        root = np.sqrt(len(members))
        columns["phi"].append(phi)
        columns["absorbed"].append(absorbed.mean())
        columns["f"].append(f.mean())
        columns["df"].append(f.std(ddof=1) / root if len(members) > 1 else 0.0)
        columns["tau"].append(tau.mean())
        columns["dtau"].append(tau.std(ddof=1) / root if len(members) > 1 else 0.0)
    return {k: np.array(v, dtype=float) for k, v in columns.items()}


def _row(run_dir: Path) -> dict:
    _, config = formats.read_config(run_dir)
    summary = _flat(formats.read_summary(run_dir))
    results = {key: value for key, value in summary.items() if key not in config and key != "config_key"}
    _, active_fraction, _ = formats.read_series(run_dir)
    try:
        steady = is_steady(active_fraction)
    except ValueError:      # too few records to tell
        steady = None
    return {"run_key": run_dir.name, **config, **results, "f_inf": steady_state_activity(active_fraction),
            "steady": steady}


def _flat(values: dict, prefix: str = "") -> dict:
    """Nested dicts as one level with dotted keys: {"a": {"b": 1}} -> {"a.b": 1}."""
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _order(row: dict) -> tuple:
    """Sort by the config fields in SimulationConfig order (unset ones first), then by run key."""
    return (*((row.get(field) is not None, row.get(field) or 0) for field in FIELDS), row["run_key"])


def load_series(sweep_dir: str | Path, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The recorded series of run key: steps (int64), active_fraction and loss (float64), each (records,)."""
    return formats.read_series(Path(sweep_dir) / formats.RUNS / key)
