"""Self-supervised manifold packing against the embedding dimension d.

A study file names this analysis and gives, per profile::

    analysis: ssl_dimension
    profiles:
      quick:
        seeds: 1
        dimensions: [2, 4, 8, 32]
        run: {profile: quick, steps: 300}      # SSLConfig fields shared by every run (task=ssl)
        particle_phi_c: runs/studies/phic_vs_dimension-quick/report/report.json   # optional: a
                                               # phase_boundary report.json (a path from the working
                                               # directory) whose BRO phi_c(d) to show

For each d: the kNN and linear-probe accuracies of held-out labels for the packing-trained encoder
and its baselines (random encoder, PCA to d, raw pixels, InfoNCE at equal budget), and the packing
observables of held-out instance manifolds at the end (active fraction f_a, effective packing
fraction phi_eff, mean radius), each a mean over seeds with its standard error. The figures set
accuracy and f_a against d beside the particle phi_c(d) of BRO: the literature's
(physics_baseline.literature) and, with ``particle_phi_c``, this suite's own measurement.
"""
import json
from pathlib import Path

import numpy as np

from neuralpack.suite import formats, kinds, plots, sweep
from neuralpack.suite.report import Section, number, table
from physics_baseline.literature import reference_phi_c
from physics_baseline.validate import ConfigError, as_int

METHODS = {"packing": "", "infonce": "baselines.infonce.", "pca": "baselines.pca.",
           "random encoder": "baselines.random_encoder.", "raw pixels": "baselines.raw_pixels."}
PACKING = ("final_active_fraction", "phi_eff", "radius_mean")
GAPS = ("infonce", "pca")                 # the baselines that packing's kNN accuracy is set against


def measured_phi_c(settings: dict) -> dict[int, tuple[float, float]]:
    """BRO phi_c(d) (value, error) from the phase_boundary report.json named by ``particle_phi_c``
    ({} when the profile names none)."""
    if "particle_phi_c" not in settings:
        return {}
    path = Path(str(settings["particle_phi_c"]))
    if not path.exists():
        raise ConfigError("particle_phi_c", f"{path} does not exist; give a phase_boundary report.json")
    bro = json.loads(path.read_text()).get("phi_c", {}).get("bro", {})
    return {int(d): (entry["value"], entry["error"]) for d, entry in bro.items() if entry.get("value") is not None}


def _configs(settings: dict) -> list[tuple[int, list[dict]]]:
    """(d, its validated run configs over seeds) for every dimension of the profile."""
    seeds = list(range(as_int("seeds", settings.get("seeds", 1), 1)))
    dimensions = settings.get("dimensions")
    if not isinstance(dimensions, list) or not dimensions:
        raise ConfigError("dimensions", f"must be a non-empty list of embedding dimensions, got {dimensions!r}")
    base = {**settings.get("run", {}), "task": "ssl", "baselines": True, "loss": "packing"}
    return [(int(d), sweep.expand({"kind": kinds.SSL, "base": {**base, "d": d}, "grid": {"seed": seeds}}))
            for d in dimensions]


def validate(settings: dict) -> None:
    """Raise ConfigError for the first invalid run of the profile, before anything runs."""
    _configs(settings)
    measured_phi_c(settings)


def _column(rows: list[dict], column: str) -> np.ndarray:
    """A numeric column of rows (NaN where a row has no value)."""
    return np.array([float(row[column]) if row.get(column) not in (None, "") else np.nan for row in rows])


def _mean_and_error(values: np.ndarray) -> tuple[float, float]:
    """Mean of values and its standard error (NaN with one value)."""
    error = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else float("nan")
    return float(values.mean()), float(error)


def _mean(rows: list[dict], column: str) -> tuple[float, float]:
    """Mean over rows of a numeric column and its standard error."""
    return _mean_and_error(_column(rows, column))


def _knn_gap(rows: list[dict], method: str) -> tuple[float, float]:
    """Packing's kNN accuracy minus ``method``'s, paired by run (both are measured in the same
    run), averaged over rows, and its standard error."""
    return _mean_and_error(_column(rows, "knn_accuracy") - _column(rows, METHODS[method] + "knn_accuracy"))


def report(settings: dict, runs, figures, executor) -> Section:
    """Run what is missing, then tabulate and plot accuracy and packing against d.

    report.json gets ``by_dimension[d]`` = {method: {"knn_accuracy": [mean, error],
    "linear_probe_accuracy": [...]}, "held_out_manifolds": {observable: [mean, error]},
    "knn_gap": {"infonce" | "pca": [mean, error] of packing's kNN accuracy minus theirs}} and
    ``phi_c_particles[d]`` (literature BRO phi_c, null where none is published).
    """
    groups = _configs(settings)
    sweep.run_sweep([c for _, configs in groups for c in configs], runs, executor).require_success()
    by_key = {row["run_key"]: row for row in formats.read_table(runs)}
    by_dimension = {}
    for d, configs in groups:
        rows = [by_key[spec.key] for spec in sweep.plan(configs, runs)]
        by_dimension[d] = {
            "accuracy": {method: {metric: _mean(rows, prefix + metric)
                                  for metric in ("knn_accuracy", "linear_probe_accuracy")}
                         for method, prefix in METHODS.items()},
            "packing": {observable: _mean(rows, observable) for observable in PACKING},
            "knn_gap": {method: _knn_gap(rows, method) for method in GAPS}}
    reference = {d: reference_phi_c(d) for d, _ in groups}
    measured = measured_phi_c(settings)
    plots.plot_ssl_dimension(by_dimension, {"BRO, literature": reference,
                                            "BRO, this suite": {d: v for d, (v, _) in measured.items()}},
                             figures / "accuracy_and_packing_vs_dimension.png")
    dimensions = [d for d, _ in groups]
    accuracy_rows = [[str(d), *(number(*by_dimension[d]["accuracy"][m]["knn_accuracy"], digits=3) for m in METHODS),
                      *(number(*by_dimension[d]["knn_gap"][m], digits=3) for m in GAPS)]
                     for d in dimensions]
    probe_rows = [[str(d), *(number(*by_dimension[d]["accuracy"][m]["linear_probe_accuracy"], digits=3)
                             for m in METHODS)]
                  for d in dimensions]
    packing_rows = [[str(d), *(number(*by_dimension[d]["packing"][o], digits=3) for o in PACKING),
                     number(reference[d], digits=3), number(*measured.get(d, (None, None)), digits=3)]
                    for d in dimensions]
    run = settings.get("run", {})
    text = [f"Self-supervised packing on {run.get('data', 'digits')} ({len(groups[0][1])} seeds per d; "
            f"run settings {run}). Accuracies of held-out labels from frozen d-dimensional features; "
            "each baseline measured in the same run (InfoNCE: same encoder, data, steps and optimiser). "
            "Mean ± standard error over seeds.", "",
            "kNN accuracy (the last columns: packing minus InfoNCE and minus PCA, paired by run; negative "
            "where packing falls short):", "",
            *table(["d", *METHODS, "packing - InfoNCE", "packing - PCA"], accuracy_rows), "",
            "Linear-probe accuracy:", "",
            *table(["d", *METHODS], probe_rows), "",
            "Held-out instance manifolds of the packing-trained encoder at the end (f_a: share with an "
            "overlapping partner; phi_eff: summed area fractions of the sphere covered by caps of the "
            "manifolds' radii), beside the particle "
            f"phi_c(d) of BRO (eps -> 0; the literature's, and this suite's from "
            f"{settings.get('particle_phi_c', 'no report')}):", "",
            *table(["d", "f_a", "phi_eff", "mean radius", "BRO phi_c (literature)", "BRO phi_c (this suite)"],
                   packing_rows)]
    data = {"by_dimension": {str(d): {**{m: {k: list(v) for k, v in values.items()}
                                         for m, values in entry["accuracy"].items()},
                                      "held_out_manifolds": {k: list(v) for k, v in entry["packing"].items()},
                                      "knn_gap": {k: list(v) for k, v in entry["knn_gap"].items()}}
                             for d, entry in by_dimension.items()},
            "phi_c_particles": {str(d): value for d, value in reference.items()},
            "phi_c_particles_measured": {str(d): list(value) for d, value in measured.items()}}
    return Section(text, data)
