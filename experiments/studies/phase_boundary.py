"""A quick screen for phi_c: bracketing scans of "absorbed within T steps", eps -> 0, one table.

The quantity measured here has no thermodynamic limit (see the ``quasi_stationary`` study for one
that has); it locates the transition roughly and cheaply, and every report says so.

A study file (``configs/studies/NAME.yaml``) names this analysis and gives, per profile, groups of
runs that share everything but phi, seed and the step size::

    analysis: phase_boundary
    profiles:
      quick:
        seeds: 3            # runs per phi
        points: 5           # phi values per round
        rounds: 2           # bracketing rounds
        steps: 10000        # steps at eps = 0.02; scaled as (0.02 / eps)^budget_exponent
        budget_exponent: 1  # optional, default 1 (absorption times grow at least as 1 / eps)
        record_every: 50
        step_sizes: [0.04, 0.02, 0.01]     # eps; a learning-rate dynamics gets lr = eps / b_f
        groups:
          - {dynamics: bro, d: 3, n: 500, phi_range: [0.55, 0.65]}

A scan measures phi_c(eps) of one group at one step size: round 1 runs ``points`` values of phi
across ``phi_range`` with ``seeds`` seeds each; every further round puts ``points`` new values
inside the interval where the absorbed fraction crosses 1/2, or, when every run absorbed (or none
did), a window as wide as the range so far beyond its end. phi_c(eps) is the logistic maximum-likelihood
crossing of P_absorbed = 1/2 over all runs of the scan, with a bootstrap error (the gap's when the outcomes
are completely separated: see ``phi_c_from_absorption``); a run still active
after its ``steps`` counts as active, so phi_c is "absorbed within that many steps". phi_c(0)
comes from ``criticality.extrapolate_to_zero`` (form "linear" for 2 or 3 step sizes, "power" for 4 or more).
"""
import math
from dataclasses import dataclass, field

import numpy as np

from neuralpack.suite import formats, plots, sweep
from neuralpack.suite.report import Section, number, table
from physics_baseline import observables
from physics_baseline.criticality.critical_point import (
    extrapolate_to_zero,
    phi_c_from_absorption,
)
from physics_baseline.dynamics import RULES
from physics_baseline.literature import MRJ, ROUNDING_ERROR, reference_phi_c
from physics_baseline.validate import as_float

REFERENCE_STEP_SIZE = 0.02


@dataclass(frozen=True)
class Scan:
    """One phi_c(eps) measurement: a group's fixed fields at one step size."""
    group: str
    base: dict                 # SimulationConfig fields other than phi and seed
    step_size: float           # the effective kick size eps (= lr * b_f for learning rates)
    phi_range: tuple[float, float]


@dataclass
class ScanResult:
    scan: Scan
    phi: np.ndarray = field(default_factory=lambda: np.empty(0))
    absorbed: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    run_dirs: list = field(default_factory=list)
    phi_c: float = float("nan")
    error: float = float("nan")


def group_label(group: dict) -> str:
    """``bro d=3`` (plus the batch fraction for SGD-like dynamics)."""
    extra = f" b_f={group['batch_fraction']}" if "batch_fraction" in group else ""
    return f"{group['dynamics']} d={group['d']}{extra}"


def scans(profile: dict) -> list[Scan]:
    """Every (group, step size) of a profile as a Scan with its full base config."""
    out = []
    for group in profile["groups"]:
        fixed = {k: v for k, v in group.items() if k != "phi_range"}
        rule = RULES[fixed["dynamics"]]
        for eps in profile["step_sizes"]:
            budget = (REFERENCE_STEP_SIZE / eps) ** budget_exponent(profile)
            base = dict(fixed, record_every=profile["record_every"], steps=int(round(profile["steps"] * budget)))
            if rule.step_size == "eps":
                base["eps"] = eps
            else:
                base["lr"] = eps / fixed.get("batch_fraction", 1.0)
            out.append(Scan(group_label(group), base, eps, tuple(group["phi_range"])))
    return out


def budget_exponent(profile: dict) -> float:
    """The exponent a of the step budget steps (0.02 / eps)^a: 1 unless the profile sets it."""
    return as_float("budget_exponent", profile.get("budget_exponent", 1.0), 0.0, 4.0, low_open=False)


def validate(settings: dict) -> None:
    """Raise ConfigError for the first invalid run of the profile, before anything runs."""
    for scan in scans(settings):
        sweep.expand({"base": scan.base, "grid": {"phi": list(scan.phi_range), "seed": [1]}})


def measure(scans: list[Scan], profile: dict, out, executor) -> list[ScanResult]:
    """Run the bracketing rounds of every scan into the sweep directory out; their phi_c.

    Each round gathers the runs of all scans into one sweep, so that workers stay busy.
    """
    seeds = list(range(1, profile["seeds"] + 1))
    grids = [np.linspace(*scan.phi_range, profile["points"]) for scan in scans]
    keys: list[set[str]] = [set() for _ in scans]
    results = [ScanResult(scan) for scan in scans]
    for _ in range(profile["rounds"]):
        batches = [sweep.expand({"base": scan.base, "grid": {"phi": np.round(grid, 5).tolist(), "seed": seeds}})
                   for scan, grid in zip(scans, grids)]
        sweep.run_sweep([config for batch in batches for config in batch], out, executor).require_success()
        table = {row["run_key"]: row for row in formats.read_table(out)}
        for index, (batch, result) in enumerate(zip(batches, results)):
            keys[index] |= {spec.key for spec in sweep.plan(batch, out)}
            rows = [table[key] for key in sorted(keys[index])]
            result.phi = np.array([float(row["phi"]) for row in rows])
            result.run_dirs = [out / formats.RUNS / key for key in sorted(keys[index])]
            result.absorbed = np.array([str(row["absorbed"]) == "True" for row in rows])
            grids[index] = _next_grid(result.phi, result.absorbed, profile["points"])
    for result in results:
        if result.absorbed.any() and not result.absorbed.all():
            fit = phi_c_from_absorption(result.phi, result.absorbed)
            result.phi_c, result.error = fit.phi_c.value, fit.phi_c.error
    return results



def _next_grid(phi: np.ndarray, absorbed: np.ndarray, points: int) -> np.ndarray:
    """The phi values of the next round: inside the interval where the absorbed fraction crosses
    1/2, or a window as wide as the range so far beyond its end when it does not cross."""
    values = np.unique(phi)
    fraction = np.array([absorbed[phi == v].mean() for v in values])
    width = values[-1] - values[0]
    if fraction.min() >= 0.5:
        return np.linspace(values[-1], values[-1] + width, points + 1)[1:]
    if fraction.max() < 0.5:
        return np.clip(np.linspace(values[0] - width, values[0], points + 1)[:-1], 1e-3, None)
    ends = sorted((values[fraction >= 0.5].max(), values[fraction < 0.5].min()))
    return np.linspace(*ends, points + 2)[1:-1]


def structure(result: ScanResult) -> dict:
    """The structure of the densest absorbed state of a scan (the closest to phi_c from below).

    Contacts count gaps up to the kick size (absorbed BRO/SGD states leave gaps of up to about eps
    between neighbours): mean Z over all particles and over non-rattlers (fewer than d + 1 contacts,
    removed repeatedly). S(q) on the shells |m| <= 10 of q = 2 pi m / L, and its small-q exponent
    fitted over the five smallest shells (3D BRO at phi_c: about 0.25; mean field: 0); g(r) for
    r < 3 diameters.
    """
    if not result.absorbed.any():
        return {}
    densest = int(np.argmax(np.where(result.absorbed, result.phi, -np.inf)))
    final = formats.read_final(result.run_dirs[densest])
    positions, radii, box = final["positions"], final["radii"], float(final["box"])
    d = positions.shape[1]
    tolerance = result.scan.step_size
    q, S, count = observables.structure_factor(positions, box)
    alpha, alpha_error = observables.small_q_exponent(q, S, np.sort(q)[min(4, q.size - 1)], count)
    r, g = observables.pair_correlation(positions, box, min(3.0, box / 2), bins=120)
    return {"phi": float(result.phi[densest]), "contact_tolerance": tolerance,
            "Z": observables.mean_contacts(positions, radii, box, tolerance),
            "Z_without_rattlers": observables.mean_contacts(positions, radii, box, tolerance,
                                                            exclude_rattlers=True),
            "isostatic_Z": 2 * d, "small_q_exponent": [float(alpha), float(alpha_error)],
            "r": r.tolist(), "g": g.tolist()}


def extrapolations(results: list[ScanResult]) -> dict[str, dict]:
    """Per group: phi_c at each step size, and phi_c(0) with its error and fit form."""
    table: dict[str, dict] = {}
    for result in results:
        entry = table.setdefault(result.scan.group, {"step_sizes": [], "phi_c": [], "error": [],
                                                     "d": result.scan.base["d"],
                                                     "dynamics": result.scan.base["dynamics"]})
        entry["step_sizes"].append(result.scan.step_size)
        entry["phi_c"].append(result.phi_c)
        entry["error"].append(result.error)
    for entry in table.values():
        s, y, e = (np.array(entry[k], dtype=float) for k in ("step_sizes", "phi_c", "error"))
        ok = np.isfinite(y) & np.isfinite(e) & (e > 0)
        entry["form"] = "power" if ok.sum() >= 4 else "linear"
        entry["value"] = entry["extrapolation_error"] = float("nan")
        if ok.sum() >= 2:
            fit = extrapolate_to_zero(s[ok], y[ok], e[ok], form=entry["form"])
            entry["value"], entry["extrapolation_error"] = fit.phi_c.value, fit.phi_c.error
    return table


def report(settings: dict, runs, figures, executor) -> Section:
    """Measure every scan (running what is missing), draw the figures into figures, and tabulate.

    report.json gets ``phi_c[dynamics][d]`` = {"label", "value", "error", "form", "step_sizes",
    "phi_c_at_step_size", "errors_at_step_size"}.
    """
    results = measure(scans(settings), settings, runs, executor)
    groups = extrapolations(results)
    smallest = {}
    for result in results:      # the structure at each group's smallest step size
        if result.scan.step_size <= smallest.get(result.scan.group, (np.inf,))[0]:
            smallest[result.scan.group] = (result.scan.step_size, result)
    structures = {label: structure(result) for label, (_, result) in smallest.items()}
    plots.plot_pair_correlation({label: (s["r"], s["g"]) for label, s in structures.items() if s},
                                figures / "pair_correlation.png")
    dimensions = sorted({entry["d"] for entry in groups.values()})
    reference = reference_phi_c(dimensions[0], _polydispersity(dimensions[0])) if len(dimensions) == 1 else None
    plots.plot_phi_c_vs_step_size(groups, figures / "phi_c_vs_step_size.png", reference)
    if len(dimensions) > 1:
        by_dynamics: dict[str, list] = {}
        for entry in groups.values():
            by_dynamics.setdefault(entry["dynamics"], []).append(
                (entry["d"], entry["value"], entry["extrapolation_error"]))
        literature = {d: reference_phi_c(d, _polydispersity(d)) for d in dimensions}
        plots.plot_phi_c_vs_dimension(
            by_dynamics, {"BRO literature": {d: v for d, v in literature.items() if v},
                          "MRJ (Skoge et al.)": {d: MRJ[d] for d in dimensions if d in MRJ}},
            figures / "phi_c_vs_dimension.png")
    sizes = sorted({s for entry in groups.values() for s in entry["step_sizes"]}, reverse=True)
    rows = []
    phi_c: dict = {}
    for label, entry in groups.items():
        at = dict(zip(entry["step_sizes"], zip(entry["phi_c"], entry["error"])))
        literature = reference_phi_c(entry["d"], _polydispersity(entry["d"]))
        deviation = deviation_in_errors(entry["value"], entry["extrapolation_error"], literature)
        rounded = deviation_in_errors(entry["value"], entry["extrapolation_error"], literature, ROUNDING_ERROR)
        rows.append([label, *(number(*at[s]) if s in at else "-" for s in sizes),
                     f"{number(entry['value'], entry['extrapolation_error'])} ({entry['form']})",
                     number(literature), *(f"{z:+.1f}" if np.isfinite(z) else "-" for z in (deviation, rounded)),
                     number(MRJ.get(entry["d"]))])
        phi_c.setdefault(entry["dynamics"], {})[str(entry["d"])] = {
            "label": label, "value": entry["value"], "error": entry["extrapolation_error"],
            "form": entry["form"], "step_sizes": entry["step_sizes"],
            "phi_c_at_step_size": entry["phi_c"], "errors_at_step_size": entry["error"],
            "literature": literature, "deviation_in_errors": deviation,
            "deviation_with_literature_rounding": rounded}
    text = ["**Quick screen, not a measurement of phi_c:** \"half the runs absorb within T steps\" at "
            "fixed n has no limit (a finite absorbing system absorbs at any phi if one waits long "
            "enough), so these values move with T and n. phi_c with a thermodynamic limit: the "
            "`phi_c_limit` study (quasi-stationary finite-size scaling).", "",
            "phi_c from the absorbing probability crossing 1/2 (logistic maximum likelihood, bootstrap "
            "errors) at each kick size eps (lr b_f for learning-rate dynamics), and its eps -> 0 "
            "extrapolation (phi_c(eps) = phi_c(0) - a eps, or - a eps^b with four or more sizes). "
            f"Runs last {settings['steps']} steps at eps = 0.02 (scaled as (0.02 / eps)^"
            f"{budget_exponent(settings):g}): a run still "
            "active then counts as active. The literature's phi_c are quoted to two decimals; the "
            f"last column adds their rounding (standard deviation {ROUNDING_ERROR:.4f}) to the error.", "",
            *table(["group", *[f"eps={s:g}" for s in sizes], "eps -> 0 (fit)", "BRO literature",
                    "(fit - literature) / error", "same, with the literature's rounding", "MRJ"], rows)]
    structure_rows = [[label, number(s.get("phi")), f"{s['contact_tolerance']:g}", number(s["Z"], digits=2),
                       number(s["Z_without_rattlers"], digits=2), str(s["isostatic_Z"]),
                       number(*s["small_q_exponent"], digits=2)]
                      for label, s in structures.items() if s]
    text += ["", "Structure of the densest absorbed state of each group at its smallest kick size "
             "(contacts: gaps up to the kick size; rattlers: fewer than d + 1 contacts; S(q) ~ q^alpha "
             "fitted over the five smallest shells of q = 2 pi m / L; small boxes leave few shells):", "",
             *table(["group", "phi", "contact tolerance", "Z", "Z without rattlers", "2d (isostatic)",
                     "small-q exponent alpha"], structure_rows)]
    compact = {label: {k: v for k, v in s.items() if k not in ("r", "g")} for label, s in structures.items()}
    return Section(text, {"phi_c": phi_c, "structure": compact})


def deviation_in_errors(value: float, error: float, literature: float | None,
                        literature_error: float = 0.0) -> float:
    """(value - literature) / sqrt(error^2 + literature_error^2): how many standard errors of the
    difference a result lies from the literature; NaN without a literature value or a finite,
    positive error."""
    if literature is None or not (np.isfinite(value) and np.isfinite(error) and error > 0):
        return float("nan")
    return (value - literature) / math.hypot(error, literature_error)


def _polydispersity(d: int) -> str:
    """The studies run 2D bidisperse (monodisperse BRO crystallises there), other d monodisperse."""
    return "bidisperse" if d == 2 else "mono"
