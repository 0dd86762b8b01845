"""Learned class manifolds against particle packings: the absorbing transition, model by model.

A study file names this analysis and gives, per profile::

    analysis: neural_vs_particle
    profiles:
      quick:
        seeds: 2
        steps: 1500             # optimiser steps (particle steps for the particle runs)
        record_every: 10
        n_classes: 256          # classes = particles
        batch_fraction: 0.5
        dimensions:             # phi grid per embedding dimension d
          - {d: 3, phi: [0.56, 0.59, 0.62, 0.65]}
        models:                 # label, then TrainConfig fields; "particle" is physics_baseline's sgd
          - {label: particle, lr: 0.04}
          - {label: embedding table, encoder: embedding_table, lr: 0.04}
          - {label: random features D/N=1, encoder: random_feature_linear, coupling: 1.0, lr: 0.002}

Every model runs on the torus with fixed radius 1/2 (so phi is set exactly as for particles) and
the paper's particle-wise SGD with the same batch fraction; ``coupling`` D/N sets the random
features of ``random_feature_linear`` to round(D/N x n_classes). For each (model, d): the fraction
of seeds absorbed within ``steps`` at each phi, phi_c where it crosses 1/2
(``criticality.phi_c_from_absorption``), f_inf (mean over seeds, 0 for an absorbed run) and the
authors' relaxation time tau; and, for each model, the contacts Z and g(r) of its densest absorbed
state in the dimension given by ``structure_dimension`` (default the second of the list).
"""
import numpy as np

from neuralpack.suite import formats, kinds, plots, sweep, sweep_table
from neuralpack.suite.report import Section, number, table
from physics_baseline import observables
from physics_baseline.criticality.critical_point import phi_c_from_absorption
from physics_baseline.validate import ConfigError

PARTICLE = "particle"


def _configs(settings: dict) -> list[tuple[str, int, list[dict]]]:
    """(model label, d, its validated run configs) for every model and dimension of the profile."""
    shared = {"n_classes": settings["n_classes"], "batch_fraction": settings["batch_fraction"],
              "steps": settings["steps"], "record_every": settings["record_every"]}
    seeds = list(range(1, settings["seeds"] + 1))
    out = []
    for model in settings["models"]:
        fields = {k: v for k, v in model.items() if k not in ("label", "coupling")}
        if "coupling" in model:
            fields["features"] = max(1, round(float(model["coupling"]) * settings["n_classes"]))
        for dimension in settings["dimensions"]:
            base = {**shared, **fields, "d": dimension["d"]}
            if model["label"] == PARTICLE:
                kind, base = kinds.PARTICLES, {"dynamics": "sgd", "n": base.pop("n_classes"), **base}
            else:
                kind = kinds.CLASS_MANIFOLDS
                base.update(space="torus", radius="fixed")
            configs = sweep.expand({"kind": kind, "base": base, "grid": {"phi": list(dimension["phi"]), "seed": seeds}})
            out.append((str(model["label"]), int(dimension["d"]), configs))
    return out


def validate(settings: dict) -> None:
    """Raise ConfigError for the first invalid run of the profile, before anything runs."""
    labels = [str(model.get("label")) for model in settings["models"]]
    if len(set(labels)) != len(labels):
        raise ConfigError("models", f"labels must be unique; got {', '.join(labels)}")
    _configs(settings)


def _phi_c(rows: list[dict]) -> tuple[float, float]:
    """phi_c and its error from the absorption outcomes; NaN when they do not cross 1/2."""
    phi = np.array([float(row["phi"]) for row in rows])
    absorbed = np.array([row["absorbed"] == "True" for row in rows])
    if absorbed.all() or not absorbed.any():
        return float("nan"), float("nan")
    fit = phi_c_from_absorption(phi, absorbed)
    return fit.phi_c.value, fit.phi_c.error


def _structure(rows: list[dict], runs, contact_tolerance: float) -> dict:
    """Z (contacts with gaps up to contact_tolerance), Z without rattlers, and g(r) of the densest
    absorbed run among rows; {} when none absorbed."""
    absorbed = [row for row in rows if row["absorbed"] == "True"]
    if not absorbed:
        return {}
    densest = max(absorbed, key=lambda row: float(row["phi"]))
    final = formats.read_final(runs / formats.RUNS / densest["run_key"])
    positions = final["positions"] if "positions" in final else final["centres"]
    radii = final["radii"]
    box = float(final["box"] if "box" in final else final["side"])
    r, g = observables.pair_correlation(positions, box, min(3.0, box / 2), bins=120)
    return {"phi": float(densest["phi"]),
            "Z": observables.mean_contacts(positions, radii, box, contact_tolerance),
            "Z_without_rattlers": observables.mean_contacts(positions, radii, box, contact_tolerance,
                                                            exclude_rattlers=True),
            "r": r.tolist(), "g": g.tolist()}


def report(settings: dict, runs, figures, executor) -> Section:
    """Run what is missing, then tabulate phi_c per model and d, plot f_inf(phi) per d and the
    structure of absorbed states.

    report.json gets ``phi_c[model][d]`` = {"value", "error"}, ``activity[model][d]`` = the cells
    {"phi", "absorbed", "f", "df", "tau", "dtau"}, and ``structure[model]`` = {"phi", "Z",
    "Z_without_rattlers", "d"}.
    """
    groups = _configs(settings)
    sweep.run_sweep([c for _, _, configs in groups for c in configs], runs, executor).require_success()
    by_key = {row["run_key"]: row for row in formats.read_table(runs)}
    dimensions = [int(entry["d"]) for entry in settings["dimensions"]]
    structure_d = int(settings.get("structure_dimension", dimensions[min(1, len(dimensions) - 1)]))
    tolerance = float(settings.get("contact_tolerance", 0.02))
    phi_c: dict = {}
    activity: dict = {}
    structures: dict = {}
    for label, d, configs in groups:
        rows = [by_key[spec.key] for spec in sweep.plan(configs, runs)]
        value, error = _phi_c(rows)
        phi_c.setdefault(label, {})[str(d)] = {"value": value, "error": error}
        activity.setdefault(label, {})[str(d)] = {k: v.tolist() for k, v in sweep_table.cells_by_phi(rows).items()}
        if d == structure_d:
            structures[label] = {**_structure(rows, runs, tolerance), "d": d}
    labels = list(phi_c)
    dimensions = sorted({d for per_d in activity.values() for d in per_d}, key=int)
    plots.plot_activity_vs_phi(activity, dimensions, figures / "active_fraction_vs_phi.png")
    located = {label: [(int(d), e["value"], e["error"]) for d, e in per_d.items() if np.isfinite(e["value"])]
               for label, per_d in phi_c.items()}
    plots.plot_phi_c_vs_dimension({label: rows for label, rows in located.items() if rows}, {},
                                  figures / "phi_c_vs_dimension.png")
    plots.plot_pair_correlation({label: (s["r"], s["g"]) for label, s in structures.items() if "r" in s},
                                figures / "pair_correlation.png")
    rows = [[label, *(number(phi_c[label][str(d)]["value"], phi_c[label][str(d)]["error"]) for d in dimensions)]
            for label in labels]
    structure_rows = [[label, number(s.get("phi")), number(s.get("Z"), digits=2),
                       number(s.get("Z_without_rattlers"), digits=2), str(2 * structure_d)]
                      for label, s in structures.items()]
    text = [f"All models on the torus with radius 1/2, {settings['n_classes']} classes, batch fraction "
            f"{settings['batch_fraction']}, {settings['steps']} steps, {settings['seeds']} seeds per phi. "
            "phi_c: where the fraction of runs absorbed within the step budget crosses 1/2 (logistic "
            "maximum likelihood, bootstrap error; '-' where the phi grid does not bracket it). The "
            "embedding table is the particle run by construction (the anchor test); the other "
            "encoders couple classes through shared weights.", "",
            *table(["model", *[f"d={d}" for d in dimensions]], rows), "",
            f"Densest absorbed state of each model in d = {structure_d} (contacts: gaps up to "
            f"{tolerance:g} diameters; rattlers: fewer than d + 1 contacts):", "",
            *table(["model", "phi", "Z", "Z without rattlers", "2d (isostatic)"], structure_rows)]
    compact = {label: {k: v for k, v in s.items() if k not in ("r", "g")} for label, s in structures.items()}
    return Section(text, {"phi_c": phi_c, "activity": activity, "structure": compact})
