"""Finite-size scaling of the steady-state activity and the relaxation time (the paper's Fig. 2).

A study file names this analysis and gives, per profile::

    analysis: finite_size_scaling
    profiles:
      quick:
        seeds: 2
        steps: 10000          # steps per run
        record_every: 20
        n: [500, 1000, 2000]
        groups:               # everything but n, phi and seed; each with its phi grid
          - {dynamics: sgd, d: 3, lr: 0.1, batch_fraction: 0.2, phi: [0.60, 0.61, 0.62]}

For each group and each (n, phi): f_inf (mean over seeds of the mean of the last 10 % of records)
and the authors' relaxation time tau, each with its standard error over seeds. f_inf is taken two
ways (OBSERVABLES): over all seeds with an absorbed run as 0 (the authors' convention), and over
the surviving seeds only, the quasi-stationary activity rho / P_surv of absorbing-state
finite-size scaling. A finite system's only true steady state is absorbed; the average with
absorbed runs as 0 mixes in the probability of having absorbed by the last step, which depends on
the step budget as well as on (phi - phi_c) L^(1/nu_perp), while the survivors' average does not.

With L = n^(1/d), f_inf L^(beta/nu_perp) and tau L^(-nu_par/nu_perp) against (phi - phi_c)
L^(1/nu_perp) are collapsed with the Manna exponents of d and with the mean-field
ones; phi_c is chosen for each to minimise the Houdayer-Hartmann quality S of the f_inf collapse
(log scale, points with f_inf > 0), and S is reported for f_inf and for tau: S ~ 1 is a collapse
within errors, larger is worse. Above d = 3, where Manna is mean field, the comparison is with
the 3D Manna exponents. A free fit of (phi_c, 1/nu_perp, beta/nu_perp) follows. Last, the
critical decay <f_a>(t) ~ t^-alpha at the largest n, which needs no steady state, is fitted in
two windows of steps (DECAY_WINDOWS) for every phi.
"""
import numpy as np

from neuralpack.suite import formats, plots, sweep, sweep_table
from neuralpack.suite.report import Section, number, table
from physics_baseline.criticality import collapse, exponents, steady

CLASSES = ("manna", "mean_field")
MANNA_DIMENSION_CAP = 3   # above d = 3 Manna is mean field; compare with the 3D Manna exponents there
PREFERENCE_RESAMPLES = 100  # seed resamples behind the fraction in which Manna collapses better
MIN_STEADY_SEEDS = 2        # steady runs a (phi, n) point needs to enter a collapse
DECAY_WINDOWS = ((0.02, 0.08), (0.08, 0.32))  # the critical-decay fit windows, fractions of the run's steps
OBSERVABLES = {"all_runs": "all runs, absorbed as 0",   # the f_inf a collapse is made of
               "surviving": "surviving runs (quasi-stationary)"}


def _configs(settings: dict) -> list[tuple[str, list[sweep.Planned]]]:
    """(group label, its planned runs) for every group of the profile."""
    out = []
    for group in settings["groups"]:
        base = {k: v for k, v in group.items() if k != "phi"}
        base.update(steps=settings["steps"], record_every=settings["record_every"])
        label = f"{group['dynamics']} d={group['d']}" + (
            f" b_f={group['batch_fraction']}" if "batch_fraction" in group else "")
        configs = sweep.expand({"base": base, "grid": {
            "n": settings["n"], "phi": group["phi"], "seed": list(range(1, settings["seeds"] + 1))}})
        out.append((label, configs))
    return out


def validate(settings: dict) -> None:
    """Raise ConfigError for the first invalid run of the profile, before anything runs."""
    _configs(settings)


def _points(rows: list[dict], observable: str = "all_runs") -> dict[str, np.ndarray]:
    """Per (n, phi): n, phi, f_inf and tau with their standard errors over seeds, from the runs
    that reached their steady state (``criticality.is_steady``; absorbed runs count as steady,
    with f_inf = 0, unless observable is "surviving", which leaves them out), and under
    "f_samples" the per-seed f_inf. Cells with fewer than MIN_STEADY_SEEDS such runs are left
    out: one run gives no error, and the resolution 1/n in its place made such cells outweigh the
    rest of a collapse."""
    if observable not in OBSERVABLES:
        raise ValueError(f"observable must be one of {', '.join(OBSERVABLES)}; got {observable!r}")
    cells: dict[tuple[int, float], list[dict]] = {}
    for row in rows:
        if row["steady"] == "True" and not (observable == "surviving" and row["absorbed"] == "True"):
            cells.setdefault((int(row["n"]), float(row["phi"])), []).append(row)
    columns: dict[str, list] = {k: [] for k in ("n", "phi", "f", "df", "tau", "dtau")}
    samples = []
    for (n, phi), members in sorted(cells.items()):
        if len(members) < MIN_STEADY_SEEDS:
            continue
        f = np.array([0.0 if row["absorbed"] == "True" else float(row["f_inf"]) for row in members])
        tau = np.array([float(row["relaxation_time"]) for row in members])
        count = len(members)
        samples.append(f)
        columns["n"].append(n)
        columns["phi"].append(phi)
        columns["f"].append(f.mean())
        # the error floor 1/n is the resolution of f_a; seeds alone can agree by chance
        columns["df"].append(max(f.std(ddof=1) / np.sqrt(count), 1.0 / n))
        columns["tau"].append(tau.mean())
        columns["dtau"].append(max(tau.std(ddof=1) / np.sqrt(count), 1.0))
    return {**{k: np.array(v, dtype=float) for k, v in columns.items()}, "f_samples": samples}


def _collapsible(mask: np.ndarray, size: np.ndarray) -> bool:
    """Whether the selected points hold at least 2 sizes with at least 2 points each."""
    counts = np.unique(size[mask], return_counts=True)[1]
    return int(np.sum(counts >= 2)) >= 2 and bool(np.all(counts >= 2))


def _analyse(points: dict, d: int) -> dict:
    """Collapse quality and phi_c with Manna and mean-field exponents, and the free fit; NaN where
    too few steady points remain (fewer than 2 sizes with 2 points each)."""
    nan = float("nan")
    size = exponents.linear_size(points["n"], d) if len(points["n"]) else np.empty(0)
    active = points["f"] > 0
    timed = points["tau"] > 0
    phi_range = (points["phi"].min() - 0.05, points["phi"].max() + 0.05) if len(points["phi"]) else None
    result: dict = {}
    for cls in CLASSES:
        e = exponents.exponents(min(d, MANNA_DIMENSION_CAP), cls)
        powers = exponents.scaling_powers(e, d)
        result[cls] = {"phi_c": nan, "quality_f_inf": nan, "quality_tau": nan,
                       "beta": e.beta, "nu_perp": e.nu_perp, "nu_par": e.nu_par,
                       "powers": [powers.distance, powers.activity, powers.time]}
        if not _collapsible(active, size):
            continue
        phi_c, quality_f = collapse.collapse_at_exponents(
            points["phi"][active], size[active], points["f"][active], points["df"][active],
            powers.distance, powers.activity, phi_range, log_y=True)
        if min(phi_c - phi_range[0], phi_range[1] - phi_c) < 1e-6:
            continue        # the best phi_c sits on the edge of the search: the data do not locate it
        result[cls].update(phi_c=phi_c, quality_f_inf=quality_f)
        if _collapsible(timed, size):
            result[cls]["quality_tau"] = collapse.scaled_collapse_quality(
                points["phi"][timed], size[timed], points["tau"][timed], points["dtau"][timed], phi_c,
                powers.distance, -powers.time, log_y=True)
    result["manna_wins"] = nan
    if np.isfinite(result["manna"]["phi_c"]) and np.isfinite(result["mean_field"]["phi_c"]):
        candidates = {cls: (result[cls]["powers"][0], result[cls]["powers"][1]) for cls in CLASSES}
        wins = collapse.collapse_preference(points["phi"], size, points["f_samples"], points["df"],
                                        candidates, phi_range, n_boot=PREFERENCE_RESAMPLES)
        result["manna_wins"] = wins["manna"]
    result["fit"] = {"phi_c": [nan, nan], "inverse_nu_perp": [nan, nan], "beta_over_nu_perp": [nan, nan],
                     "quality": nan}
    if np.isfinite(result["manna"]["phi_c"]) and np.count_nonzero(active) >= 4:
        manna = exponents.exponents(min(d, MANNA_DIMENSION_CAP), "manna")
        fit = collapse.fit_collapse(points["phi"][active], size[active], points["f"][active], points["df"][active],
                                (result["manna"]["phi_c"], 1 / manna.nu_perp, manna.beta / manna.nu_perp),
                                log_y=True, n_boot=20)
        # a bootstrap that never moves the fit (too few overlapping points) gives no error bar
        result["fit"] = {name: [estimate.value, estimate.error if estimate.error > 0 else nan]
                         for name, estimate in (("phi_c", fit.phi_c), ("inverse_nu_perp", fit.x_exponent),
                                                ("beta_over_nu_perp", fit.y_exponent))}
        result["fit"]["quality"] = fit.quality
    return result


def _table_row(d: int, points: dict, analysis: dict) -> tuple[list[str], dict]:
    """The report table's cells for one collapse (``_analyse``) from its points on, and the class
    result ("manna" or "mean_field") that collapses better, for the figure."""
    manna, mean_field, fit = analysis["manna"], analysis["mean_field"], analysis["fit"]
    decided = np.isfinite(manna["quality_f_inf"]) and np.isfinite(mean_field["quality_f_inf"])
    manna_better = decided and manna["quality_f_inf"] < mean_field["quality_f_inf"]
    better = "-" if not decided else f"Manna (d={min(d, MANNA_DIMENSION_CAP)})" if manna_better else "mean field"
    cells = [str(np.count_nonzero(points["f"] > 0)),
             number(manna["phi_c"]), f"{manna['quality_f_inf']:.3g} / {manna['quality_tau']:.3g}",
             number(mean_field["phi_c"]), f"{mean_field['quality_f_inf']:.3g} / {mean_field['quality_tau']:.3g}",
             better, "-" if not np.isfinite(analysis["manna_wins"]) else f"{analysis['manna_wins']:.2f}",
             number(*fit["phi_c"]), number(*fit["inverse_nu_perp"], digits=2),
             number(*fit["beta_over_nu_perp"], digits=2),
             " / ".join(f"{c['powers'][0]:.2f}, {c['powers'][1]:.2f}" for c in (manna, mean_field))]
    return cells, mean_field if better == "mean field" else manna


def _decay(members: list[dict], runs, windows: list[tuple[float, float]]) -> tuple[dict, dict]:
    """The critical decay at the largest n: per phi with at least two seeds, alpha of
    <f_a>(t) ~ t^-alpha over each window of steps (``criticality.decay_exponent``).

    Returns (result for report.json: {"n", "windows", "phi", "alpha": [[value, error] per window]
    per phi}, curves for the plot: {"phi = ...": (steps, seed-mean f_a)}).
    """
    n = max(int(row["n"]) for row in members)
    keys: dict[float, list[str]] = {}
    for row in members:
        if int(row["n"]) == n:
            keys.setdefault(float(row["phi"]), []).append(row["run_key"])
    result = {"n": n, "windows": windows, "phi": [], "alpha": []}
    curves = {}
    for phi, run_keys in sorted(keys.items()):
        if len(run_keys) < 2:       # decay_exponent's error needs two runs
            continue
        series = [sweep_table.load_series(runs, key)[:2] for key in run_keys]
        record_steps = max((t for t, _ in series), key=len)
        estimates = [steady.decay_exponent(record_steps, [f for _, f in series], window) for window in windows]
        result["phi"].append(phi)
        result["alpha"].append([[e.value, e.error] for e in estimates])
        mean = steady.stacked_runs([f for _, f in series], record_steps.size).mean(axis=0)
        curves[f"phi = {phi:g}"] = (record_steps, mean)
    return result, curves


def report(settings: dict, runs, figures, executor) -> Section:
    """Run what is missing, collapse every group, draw the collapses, and tabulate.

    report.json gets ``collapse[group]`` = {"steady_runs", "runs", and per OBSERVABLES key: {"manna"
    and "mean_field": {"phi_c", "quality_f_inf", "quality_tau", exponents, "powers" of L},
    "manna_wins" (fraction of seed resamples), "fit": {"phi_c", "inverse_nu_perp",
    "beta_over_nu_perp": [value, error], "quality"}}, "decay": the critical decay (``_decay``)}.
    """
    groups = _configs(settings)
    sweep.run_sweep([c for _, configs in groups for c in configs], runs, executor).require_success()
    by_key = {row["run_key"]: row for row in formats.read_table(runs)}
    collapse, rows, panels, activity, decay_panels, decay_rows = {}, [], [], {}, [], []
    windows = [(low * settings["steps"], high * settings["steps"]) for low, high in DECAY_WINDOWS]
    for label, configs in groups:
        d = configs[0].config.d
        members = [by_key[spec.key] for spec in sweep.plan(configs, runs)]
        for n in sorted({int(row["n"]) for row in members}):
            activity.setdefault(f"n = {n}", {})[label] = sweep_table.cells_by_phi(
                [row for row in members if int(row["n"]) == n])
        steady = sum(row["steady"] == "True" for row in members)
        collapse[label] = {"steady_runs": steady, "runs": len(members)}
        for observable, description in OBSERVABLES.items():
            points = _points(members, observable)
            analysis = collapse[label][observable] = _analyse(points, d)
            row, better = _table_row(d, points, analysis)
            rows.append([f"{label} ({steady}/{len(members)} steady)", description, *row])
            panels.append((f"{label}, {description}", d, points, better))
        decay, curves = _decay(members, runs, windows)
        collapse[label]["decay"] = decay
        manna_decay = exponents.exponents(min(d, MANNA_DIMENSION_CAP), "manna")
        references = {"Manna beta/nu_par": manna_decay.beta / manna_decay.nu_par,
                      "mean field": exponents.MEAN_FIELD.beta / exponents.MEAN_FIELD.nu_par}
        decay_panels.append((f"{label}, n = {decay['n']}", curves, references, decay["windows"]))
        decay_rows += [[label, str(decay["n"]), f"{phi:g}", *(number(*alpha, digits=2) for alpha in alphas),
                        " / ".join(f"{value:.2f}" for value in references.values())]
                       for phi, alphas in zip(decay["phi"], decay["alpha"])]
    plots.plot_collapses(panels, figures / "collapse_best.png")
    plots.plot_activity_vs_phi(activity, [label for label, _ in groups], figures / "activity_vs_phi.png",
                               title="{}")
    plots.plot_critical_decay(decay_panels, figures / "critical_decay.png")
    text = ["Finite-size scaling with L = n^(1/d): f_inf L^(beta/nu_perp) and tau L^(-nu_par/nu_perp) "
            "against (phi - phi_c) L^(1/nu_perp); above the upper critical dimension 4, mean field "
            "replaces L by L^(d/4) = n^(1/4), so that its powers are d/2 (`criticality.scaling_powers`). "
            "The first figure shows each group at its better collapse; the second the raw data it "
            "is made of: f_inf (all seeds, steady or not, absorbed runs as 0) and the absorbed fraction "
            "against phi for each n. Each group is collapsed twice: with f_inf over all runs, an "
            "absorbed run counting as 0 (the authors' convention), and over the surviving runs only "
            "(the quasi-stationary activity of absorbing-state finite-size scaling, which does not "
            "depend on the step budget through the chance of having absorbed). "
            "S is the Houdayer-Hartmann collapse quality "
            "(~1: collapse within errors; larger: worse), for f_inf / tau, each at the phi_c that "
            "collapses f_inf best with those exponents. 'Manna better in' is the fraction of "
            f"{PREFERENCE_RESAMPLES} resamples of the seeds (`criticality.collapse_preference`) in which "
            "the Manna f_inf collapse beats the mean-field one: near 1 or 0, the verdict is not an "
            "accident of the seeds. Only runs that reached their steady state "
            "count (the rule of `criticality.is_steady`); near phi_c that needs far more steps than "
            "a quick profile has, so quick-profile collapses are a check of the machinery, not a "
            "measurement of exponents.", "",
            *table(["group", "f_inf over", "cells with f_inf > 0", "phi_c (Manna)", "S Manna",
                    "phi_c (mean field)", "S mean field", "better collapse", "Manna better in (seed resamples)",
                    "phi_c (free fit)", "1/nu_perp (fit)", "beta/nu_perp (fit)",
                    "powers of L (1/nu_perp, beta/nu_perp): Manna / mean field"], rows),
            "", "Critical decay (third figure): at the largest n, the mean over seeds of f_a(t) "
            "(absorbed runs as 0) falls as t^-alpha at phi_c, with alpha = beta/nu_par, until the "
            "finite-size time; below phi_c it bends down (alpha grows from the earlier window to the "
            "later), above it levels off (alpha shrinks). alpha is the least-squares slope on log-log "
            "axes in each window of steps (`criticality.decay_exponent`), its error from resampling "
            "the seeds. It needs no steady state. In the Manna class the decay from a random start "
            "can be slower than beta/nu_par (an initial-condition effect known in d = 1); mean field "
            "decays as t^-1.", "",
            *table(["group", "n", "phi",
                    *(f"alpha, steps {low:g}-{high:g}" for low, high in windows),
                    "beta/nu_par: Manna / mean field"], decay_rows)]
    return Section(text, {"collapse": collapse})
