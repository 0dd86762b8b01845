"""phi_c with a thermodynamic limit: quasi-stationary runs at doubling sizes, their finite-size
scaling, the checks that the estimate has converged in run length and size, and eps -> 0.

A study file names this analysis and gives, per profile, groups of runs that share everything but
n, phi and the seed::

    analysis: quasi_stationary
    profiles:
      quick:
        seeds: 2
        steps: 4000            # T at the smallest size; T(n) = steps (n / n_min)^budget_exponent
        budget_exponent: 0.6   # T ~ n^(z/d): 3D Manna z/d = 0.61, mean field above d = 4: 1/2
        record_every: 5
        restart_pool: 8        # stored active configurations per run (physics_baseline.restart_pool)
        pool_every: 50         # steps between stores
        rounds: 2              # optional (default 1): each further round adds ``points`` phi
        points: 2              # inside the crossing of the two largest sizes (``next_phi``)
        groups:
          - {dynamics: bro, d: 3, eps: 0.05, sizes: [250, 500, 1000], phi: [0.56, 0.57, 0.58]}
          - {dynamics: bro, d: 3, eps: 0.01, steps: 20000, sizes: [...], phi: [...]}   # its own T

Every run is quasi-stationary: it never ends absorbed. Per (group, n, phi) the moments of f_a
after the first half of each run (``criticality.quasi_stationary.moments``, errors from blocks of
all seeds) give the moment ratio m and rho; phi_c of a group is the crossing of m(phi) between
its two largest sizes, with the crossing of the pair below (the n check), the same crossing from
the first half of every run (the T check: records T/4..T/2 against T/2..T), and the equal-slopes
estimator (``equal_slopes``, three sizes or more) beside it. Groups that differ only in their
step size (eps, or lr b_f for learning-rate dynamics) make a family, extrapolated to eps -> 0
with every fit form the points allow (``criticality.step_size_limit``).
"""
from dataclasses import dataclass, field

import numpy as np

from neuralpack.suite import formats, plots, sweep
from neuralpack.suite.report import Section, number, table
from physics_baseline import box as geometry
from physics_baseline import literature, observables
from physics_baseline.criticality import quasi_stationary as qs
from physics_baseline.criticality.critical_point import step_size_limit
from physics_baseline.criticality.steady import is_steady
from physics_baseline.dynamics import RULES
from physics_baseline.validate import ConfigError, as_float, as_int

MIN_BOX = 4.0        # box sides (diameters) below which a phi_c is labelled small-box
GROUP_KEYS = ("sizes", "phi", "steps")   # group keys that are not SimulationConfig fields as given
PLANTED = 0.612      # phi_c of the synthetic check
ORDER_GAP = 0.2      # surface gap (diameters) below which two particles are bonded for Q6 / psi6
CRYSTAL_ORDER = 0.2  # a global Q6 / psi6 above this says the state has crystallised (amorphous: ~1/sqrt(bonds))


def synthetic_check(seed: int = 0) -> qs.Crossing:
    """The crossing estimator on synthetic moment ratios with a known phi_c (PLANTED): m = 1.3 -
    0.02 (phi - phi_c) L^(1/nu_perp) (3D Manna nu_perp = 0.59, L = n^(1/3)) at n = 4000 and 8000
    on 6 phi around it, with Gaussian noise of 0.002 on every m."""
    rng = np.random.default_rng(seed)
    phi = np.linspace(PLANTED - 0.006, PLANTED + 0.006, 6)
    error = np.full(phi.size, 0.002)
    m = [1.3 - 0.02 * (phi - PLANTED) * n ** (1 / (3 * 0.59)) + error * rng.standard_normal(phi.size)
         for n in (4000, 8000)]
    return qs.crossing(phi, m[0], error, m[1], error, (4000, 8000))


@dataclass
class Group:
    """One phi_c(eps) measurement: fixed fields, the sizes and phi grid, and what was measured."""
    label: str
    base: dict                          # SimulationConfig fields other than n, phi, seed, steps
    sizes: list[int]
    phi: list[float]
    step_size: float                    # eps, or lr b_f for learning-rate dynamics
    family: str                         # the label without the step size
    steps: int | None = None            # the group's T at its smallest size (else the profile's)
    ratio: dict = field(default_factory=dict)        # (T or T/2) -> (sizes, phi) arrays of m, error
    rho: dict = field(default_factory=dict)
    crossings: dict = field(default_factory=dict)    # "T", "T/2" -> [Crossing of consecutive sizes]
    slopes: dict = field(default_factory=dict)       # "T", "T/2", "n/2" -> equal-slopes Crossing (3+ sizes)
    steady: tuple[int, int] = (0, 0)                 # runs without a trend in their second half, of all
    order: dict = field(default_factory=dict)        # phi -> mean bond order of the final states, largest n


def next_phi(group: Group, points: int) -> list[float]:
    """The phi of the next round (rounded to 5 decimals): ``points`` values evenly inside the
    interval where m of the two largest sizes crosses, or, when it does not cross, a window as
    wide as the range so far beyond the end the crossing lies past (m of the larger size above
    that of the smaller at every phi: still absorbing, so beyond the top). The sign change is the
    crossings' own (``criticality.quasi_stationary.sign_change``)."""
    ratio, error = group.ratio["T"]
    difference = ratio[-1] - ratio[-2]
    phi = np.array(group.phi)
    at = qs.sign_change(difference, np.hypot(error[-1], error[-2]))
    if at is not None:
        new = np.linspace(phi[at], phi[at + 1], points + 2)[1:-1]
    elif not (difference < 0).any():
        new = np.linspace(phi[-1], phi[-1] + np.ptp(phi), points + 1)[1:]
    else:
        new = np.linspace(phi[0] - np.ptp(phi), phi[0], points + 1)[:-1]
    return sorted(set(np.round(new, 5).tolist()) - set(group.phi))


def budget(settings: dict, n: int, smallest: int, steps: int | None = None) -> int:
    """T(n) = steps (n / smallest)^budget_exponent, in steps; steps: the group's own T at the
    smallest size, else the profile's."""
    exponent = as_float("budget_exponent", settings.get("budget_exponent", 0.6), 0.0, 2.0, low_open=False)
    return int(round((steps or settings["steps"]) * (n / smallest) ** exponent))


def groups(settings: dict) -> list[Group]:
    """The profile's groups with their labels and fixed fields; ConfigError for a malformed one."""
    out = []
    for index, spec in enumerate(settings["groups"]):
        missing = [key for key in ("dynamics", "d", "sizes", "phi") if key not in spec]
        if missing:
            raise ConfigError(f"groups[{index}]", f"needs {', '.join(missing)}")
        sizes, phi = sorted(int(n) for n in spec["sizes"]), sorted(float(p) for p in spec["phi"])
        if len(sizes) < 2 or len(phi) < 2:
            raise ConfigError(f"groups[{index}]", "needs at least 2 sizes and 2 phi")
        base = {k: v for k, v in spec.items() if k not in GROUP_KEYS}
        base.update(record_every=settings["record_every"], restart_pool=settings["restart_pool"],
                    pool_every=settings["pool_every"], checkpoint_every=settings.get("checkpoint_every", 5000))
        rule = RULES[base["dynamics"]]
        step = base.get(rule.step_size)
        if step is None:
            raise ConfigError(f"groups[{index}]", f"dynamics {base['dynamics']} needs {rule.step_size}")
        effective = step * base.get("batch_fraction", 1.0) if rule.step_size == "lr" else step
        extras = "".join(f" {k}={base[k]}" for k in ("batch_fraction", "polydispersity") if k in base)
        family = f"{base['dynamics']} d={base['d']}{extras}"
        out.append(Group(f"{family} eps={effective:g}", base, sizes, phi, float(effective), family,
                         spec.get("steps")))
    return out


def planned(settings: dict, group: Group) -> list:
    """The sweep configs of a group: every size, phi and seed, each size with its budget T(n)."""
    seeds = list(range(1, settings["seeds"] + 1))
    configs = []
    for n in group.sizes:
        base = dict(group.base, n=n, steps=budget(settings, n, group.sizes[0], group.steps))
        configs += sweep.expand({"base": base, "grid": {"phi": group.phi, "seed": seeds}})
    return configs


def validate(settings: dict) -> None:
    """Raise ConfigError for the first invalid run of the profile, before anything runs."""
    as_int("rounds", settings.get("rounds", 1), 1, 10)
    as_int("points", settings.get("points", 2), 1, 20)
    for group in groups(settings):
        planned(settings, group)


def _halves(series: np.ndarray) -> dict[str, np.ndarray]:
    """The records a run has at T and at T/2 (its first half)."""
    return {"T": series, "T/2": series[:series.size // 2]}


def _series(settings: dict, group: Group, out) -> dict[tuple[int, float], list[np.ndarray]]:
    """The f_a series of group's finished runs in the sweep directory out, by (n, phi)."""
    series: dict[tuple[int, float], list[np.ndarray]] = {}
    for spec in sweep.plan(planned(settings, group), out):
        _, active_fraction, _ = formats.read_series(spec.run_dir)
        series.setdefault((spec.config.n, spec.config.phi), []).append(active_fraction)
    return series


def check_states(settings: dict, group: Group, out) -> None:
    """Fill group's steady-run count and the bond order of its final states at the largest n
    (d = 2, 3), once, after the last round."""
    steady, specs = 0, sweep.plan(planned(settings, group), out)
    orders: dict[float, list[float]] = {}
    for spec in specs:
        steady += is_steady(formats.read_series(spec.run_dir)[1])
        if spec.config.n == group.sizes[-1] and spec.config.d in (2, 3):
            final = formats.read_final(spec.run_dir)
            orders.setdefault(spec.config.phi, []).append(
                observables.bond_order(final["positions"], final["radii"], float(final["box"]), ORDER_GAP))
    group.steady = (steady, len(specs))
    group.order = {phi: float(np.mean(values)) for phi, values in orders.items()}


def measure(settings: dict, group: Group, out) -> None:
    """Fill group's moments, crossings and equal-slopes estimate from its finished runs in the
    sweep directory out."""
    series = _series(settings, group, out)
    shape = (len(group.sizes), len(group.phi))
    for budget_label in ("T", "T/2"):
        ratio, rho = np.full((2, *shape), np.nan), np.full((2, *shape), np.nan)
        for a, n in enumerate(group.sizes):
            for b, phi in enumerate(group.phi):
                runs = [_halves(f)[budget_label] for f in series[(n, phi)]]
                result = qs.moments(runs, seed=a * shape[1] + b)
                ratio[:, a, b] = result.ratio.value, result.ratio.error
                rho[:, a, b] = result.rho.value, result.rho.error
        group.ratio[budget_label], group.rho[budget_label] = ratio, rho
        group.crossings[budget_label] = [
            qs.crossing(group.phi, ratio[0, a], ratio[1, a], ratio[0, a + 1], ratio[1, a + 1],
                        (group.sizes[a], group.sizes[a + 1]))
            for a in range(len(group.sizes) - 1)]
    if len(group.sizes) >= 3:
        for label, budget_label, sizes in (("T", "T", slice(None)), ("T/2", "T/2", slice(None)),
                                           ("n/2", "T", slice(None, -1))):
            rho = group.rho[budget_label][:, sizes]
            if rho.shape[1] >= 3:
                group.slopes[label] = qs.equal_slopes(group.phi, group.sizes[sizes], rho[0].T, rho[1].T)


def headline(group: Group, steps: int) -> dict:
    """The group's phi_c (the crossing of its two largest sizes at T) with its errors, box side and
    the two convergence checks: the shift to the crossing of the pair below (n) and to the same
    crossing at T/2 (T), each against the combined error; steps: T at the largest size."""
    best = group.crossings["T"][-1]
    half = group.crossings["T/2"][-1]
    below = group.crossings["T"][-2] if len(group.crossings["T"]) > 1 else None
    n = group.sizes[-1]
    radii = geometry.make_radii(n, group.base.get("polydispersity", "mono"),
                                group.base.get("size_ratio", geometry.BIDISPERSE_SIZE_RATIO))
    value = best.phi_c.value if best.bracketed else float("nan")   # undetermined crossings report none
    side = geometry.box_length(radii, group.base["d"], value) if np.isfinite(value) and value > 0 else float("nan")

    def shift(other, reference=best):
        if other is None or not (other.bracketed and reference.bracketed):
            return float("nan"), float("nan")
        return (other.phi_c.value - reference.phi_c.value,
                float(np.hypot(other.phi_c.error, reference.phi_c.error)))

    most_ordered = max(group.order, key=group.order.get) if group.order else None
    order = group.order.get(most_ordered)
    return {"label": group.label, "d": group.base["d"], "dynamics": group.base["dynamics"],
            "eps": group.step_size, "phi_c": value, "phi_c_error": best.phi_c.error,
            "phi_c_systematic": best.systematic, "angle": best.angle, "bracketed": best.bracketed,
            "L": side, "small_box": bool(side < MIN_BOX), "n": n, "steady_runs": list(group.steady),
            "bond_order": order, "bond_order_phi": most_ordered, "crystallised": order is not None and order > CRYSTAL_ORDER,
            "T": steps, "estimator": f"moment-ratio crossing n = {best.sizes[0]}, {best.sizes[1]}",
            "shift_n": shift(below), "shift_T": shift(half),
            "equal_slopes": _slopes_entry(group.slopes, shift)}


def _slopes_entry(slopes: dict, shift) -> dict | None:
    """The equal-slopes estimate at T with its n/2 (the three smaller sizes) and T/2 shifts."""
    if "T" not in slopes:
        return None
    at_t = slopes["T"]
    return {"phi_c": at_t.phi_c.value if at_t.bracketed else float("nan"), "error": at_t.phi_c.error,
            "systematic": at_t.systematic, "angle": at_t.angle, "bracketed": at_t.bracketed,
            "shift_n": shift(slopes.get("n/2"), at_t), "shift_T": shift(slopes.get("T/2"), at_t)}


def _converged(shift: tuple[float, float]) -> str:
    """"yes" when a check's shift lies within its combined error, "no" when not, "-" without it."""
    moved, error = shift
    if not (np.isfinite(moved) and np.isfinite(error)):
        return "-"
    return "yes" if abs(moved) <= error else "no"


def families(rows: list[dict], group_list: list[Group]) -> dict[str, dict]:
    """Per family (groups differing only in step size): phi_c(eps) and, with 2 or more usable
    step sizes, its eps -> 0 limit from every fit form."""
    out: dict[str, dict] = {}
    for group, row in zip(group_list, rows):
        entry = out.setdefault(group.family, {"d": row["d"], "dynamics": row["dynamics"], "step_sizes": [],
                                              "phi_c": [], "error": [], "polydispersity":
                                              group.base.get("polydispersity", "mono")})
        usable = np.isfinite(row["phi_c"]) and np.isfinite(row["phi_c_error"]) and row["phi_c_error"] > 0
        if usable and row["bracketed"]:
            entry["step_sizes"].append(row["eps"])
            entry["phi_c"].append(row["phi_c"])
            entry["error"].append(float(np.hypot(row["phi_c_error"], row["phi_c_systematic"])))
    for entry in out.values():
        entry["limit"] = None
        if len(entry["step_sizes"]) >= 2:
            limit = step_size_limit(entry["step_sizes"], entry["phi_c"], entry["error"])
            entry["limit"] = {"phi_c": limit.phi_c.value, "error": limit.phi_c.error,
                              "systematic": limit.systematic, "form": limit.form,
                              "forms": {form: [fit.phi_c.value, fit.phi_c.error, fit.chi2, fit.dof]
                                        for form, fit in limit.fits.items()}}
    return out


def report(settings: dict, runs, figures, executor) -> Section:
    """Measure every group (running what is missing), draw the figures into figures, and tabulate.

    report.json: ``rows``, one object per group and per eps -> 0 limit, with the keys d, dynamics,
    eps (0 for the limit), phi_c, phi_c_error, phi_c_systematic, L, n, T, estimator (and the checks
    behind them); ``families`` with phi_c(eps) and every fit form.
    """
    group_list = groups(settings)
    for round_index in range(settings.get("rounds", 1)):
        if round_index:
            for group in group_list:
                group.phi = sorted(group.phi + next_phi(group, settings.get("points", 2)))
        sweep.run_sweep([config for group in group_list for config in planned(settings, group)], runs,
                        executor).require_success()
        for group in group_list:
            measure(settings, group, runs)
    rows = []
    for group in group_list:
        check_states(settings, group, runs)
        rows.append(headline(group, budget(settings, group.sizes[-1], group.sizes[0], group.steps)))
    by_family = families(rows, group_list)
    plots.plot_moment_ratios([(row["label"], g.sizes, g.phi, g.ratio["T"], row["phi_c"])
                              for g, row in zip(group_list, rows)], figures / "moment_ratio.png")
    plots.plot_quasi_stationary_activity([(g.label, g.sizes, g.phi, g.rho["T"]) for g in group_list],
                                         figures / "activity.png")
    if any(entry["limit"] for entry in by_family.values()):
        plots.plot_step_size_limits(by_family, figures / "phi_c_vs_step_size.png")
    check = synthetic_check()
    text = [
        f"Estimator check: on synthetic moment ratios with phi_c = {PLANTED} planted "
        f"(``synthetic_check``) the crossing gives {number(check.phi_c.value, check.phi_c.error)} "
        f"({(check.phi_c.value - PLANTED) / check.phi_c.error:+.1f} errors).", "",
        "Quasi-stationary runs (an absorbed run continues from one of its stored active states; "
        f"pool of {settings['restart_pool']}, one stored every {settings['pool_every']} steps) at "
        "doubling sizes n; the moments of f_a over the second half of each run, errors from "
        f"{qs.BLOCKS} blocks per run (all seeds pooled). phi_c: where the moment ratio "
        "m = <f_a^2> / <f_a>^2 of the two largest sizes crosses (weighted lines; the error is "
        "statistical, from redraws of m; the systematic is the distance to the crossing of "
        "parabolas). Angle: how many errors apart the two slopes are (below ~3 the curves may not "
        "cross). Checks: the shift to the crossing of the next smaller pair (n halved) and to the "
        "crossing from the first half of every run (T halved), against the combined error. "
        "Steady: the runs whose second half shows no trend (``criticality.is_steady``); every run "
        "enters the moments, steady or not, so a group with unsteady runs has not reached its "
        "quasi-stationary state everywhere and its phi_c is provisional. Order: the global bond "
        f"order of the final states (Steinhardt Q6 in 3D, psi6 in 2D; bonds: gaps below {ORDER_GAP:g} "
        "diameters), the seed mean at the largest n, the largest over the phi measured; above "
        f"{CRYSTAL_ORDER:g} the state has crystallised (amorphous states give about 1 / sqrt(bonds)). "
        f"L: the box side in diameters at the largest n; below {MIN_BOX:g} the value is labelled "
        "small-box and kept out of the eps -> 0 limits' headline.", "",
        *table(["group", "phi_c (crossing)", "systematic (form)", "angle", "L", "n", "T", "steady", "order",
                "shift n/2 (converged)", "shift T/2 (converged)",
                "phi_c (equal slopes; its shifts)"],
               [_row_cells(row) for row in rows])]
    limits, limit_rows = eps_limit_rows(by_family)
    rows += limit_rows
    if limits:
        text += ["", "eps -> 0: every fit form the step sizes allow (linear from 2, quadratic and power "
                 "from 3); the chosen form has the smallest chi^2 per degree of freedom, the systematic "
                 "is the largest distance of another form's value. The deviation is in combined errors: "
                 "statistical and form systematic of the fit, and the literature's own (its rounding to "
                 "two decimals; for MRJ also the protocol spread), ``physics_baseline.literature``.", "",
                 *table(["family", "phi_c(0)", "systematic (forms)", "form", "every form",
                         "BRO literature", "(fit - literature) / error", "MRJ"], limits)]
    return Section(text, {"rows": rows, "families": by_family,
                          "synthetic_check": {"planted": PLANTED, "phi_c": check.phi_c.value,
                                              "error": check.phi_c.error}})


def eps_limit_rows(by_family: dict[str, dict]) -> tuple[list[list[str]], list[dict]]:
    """For every family with an eps -> 0 limit: its markdown table cells (value, form systematic,
    every form, the literature with its own error, the deviation in combined errors, MRJ) and its
    report.json row (eps = 0)."""
    cells, rows = [], []
    for family, entry in by_family.items():
        if entry["limit"] is None:
            continue
        limit = entry["limit"]
        reference = literature.BRO_PHI_C_REFERENCES.get(entry["d"]) if entry["polydispersity"] == "mono" else None
        mrj = literature.MRJ_REFERENCES.get(entry["d"])
        total = float(np.hypot(limit["error"], limit["systematic"]))
        forms = ", ".join(f"{form} {number(v, e)}" for form, (v, e, _, _) in limit["forms"].items())
        cells.append([family, number(limit["phi_c"], limit["error"]), number(limit["systematic"]),
                      limit["form"], forms,
                      "-" if reference is None else number(reference.value, reference.error),
                      f"{literature.deviation(limit['phi_c'], total, reference):+.1f}",
                      "-" if mrj is None else number(mrj.value, mrj.error)])
        rows.append({"label": f"{family} eps -> 0", "d": entry["d"], "dynamics": entry["dynamics"], "eps": 0.0,
                     "phi_c": limit["phi_c"], "phi_c_error": limit["error"],
                     "phi_c_systematic": limit["systematic"], "L": None, "n": None, "T": None,
                     "estimator": f"eps -> 0 ({limit['form']}) of the moment-ratio crossings"})
    return cells, rows


def _row_cells(row: dict) -> list[str]:
    slopes = row["equal_slopes"]
    return [row["label"] + (" (small box)" if row["small_box"] else ""),
            number(row["phi_c"], row["phi_c_error"]) if row["bracketed"] else "not determined", number(row["phi_c_systematic"]),
            f"{row['angle']:.1f}", f"{row['L']:.1f}", str(row["n"]), str(row["T"]),
            "{}/{}".format(*row["steady_runs"]),
            "-" if row["bond_order"] is None else f"{row['bond_order']:.3f}" + (" (crystal)" if row["crystallised"] else ""),
            f"{number(row['shift_n'][0])} ({_converged(row['shift_n'])})",
            f"{number(row['shift_T'][0])} ({_converged(row['shift_T'])})",
            "-" if slopes is None else
            f"{number(slopes['phi_c'], slopes['error'])}; n/2 {number(slopes['shift_n'][0])} "
            f"({_converged(slopes['shift_n'])}), T/2 {number(slopes['shift_T'][0])} ({_converged(slopes['shift_T'])})"]
