"""Figures, drawn on matplotlib's object API (Agg rendering, no pyplot state) and written atomically."""
import io
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from physics_baseline import atomic
from physics_baseline.criticality.exponents import linear_size, scaled

LEGEND_MAX = 12  # more curves than this are drawn without a legend


def plot_active_fraction(runs: list[tuple[str, np.ndarray, np.ndarray]], path: str | Path) -> None:
    """f_a(t) of several runs on log-log axes, saved as path with suffix .png and as .pdf.

    runs: (label, steps (records,), active_fraction (records,)); the labels make the legend when
    there are at most LEGEND_MAX runs. Step 0 and f_a = 0 (absorbed) have no place on log axes: a
    curve ends at its last active record.
    """
    figure = Figure(figsize=(6.0, 4.2), layout="constrained")
    axes = figure.subplots()
    for label, steps, active_fraction in runs:
        steps, active_fraction = np.asarray(steps), np.asarray(active_fraction)
        shown = (steps > 0) & (active_fraction > 0)
        axes.loglog(steps[shown], active_fraction[shown], label=label)
    axes.set_xlabel("step")
    axes.set_ylabel("active fraction $f_a$")
    if len(runs) <= LEGEND_MAX:
        axes.legend(fontsize="small")
    save_figure(figure, path)


def save_figure(figure: Figure, path: str | Path) -> None:
    """Write figure as path with suffix .png (150 dpi) and as .pdf, each atomically."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    for suffix in (".png", ".pdf"):
        buffer = io.BytesIO()
        figure.savefig(buffer, format=suffix[1:], dpi=150)
        atomic.write_bytes(Path(path).with_suffix(suffix), buffer.getvalue())


def plot_phi_c_vs_step_size(groups: dict[str, dict], path: str | Path,
                            reference: float | None = None) -> None:
    """phi_c(eps) with error bars per group, and each group's eps -> 0 value at eps = 0.

    groups: label -> {"step_sizes", "phi_c", "error": lists; "value", "extrapolation_error": floats}.
    reference: a literature phi_c(0), drawn as a dashed line.
    """
    figure = Figure(figsize=(6.0, 4.2), layout="constrained")
    axes = figure.subplots()
    if reference is not None:
        axes.axhline(reference, color="black", linestyle="--", linewidth=1, label="literature")
    for index, (label, entry) in enumerate(groups.items()):
        colour = f"C{index % 10}"
        axes.errorbar(entry["step_sizes"], entry["phi_c"], yerr=entry["error"], fmt="o-", color=colour,
                      label=label, capsize=3)
        if np.isfinite(entry["value"]):
            axes.errorbar([0.0], [entry["value"]], yerr=[entry["extrapolation_error"]], fmt="s",
                          color=colour, mfc="none", capsize=3)
    axes.set_xlabel(r"kick size $\varepsilon$ (= lr $b_f$), diameters")
    axes.set_ylabel(r"$\phi_c$ (open squares: $\varepsilon \to 0$)")
    axes.legend(fontsize="small")
    save_figure(figure, path)


def plot_phi_c_vs_dimension(points: dict[str, list[tuple[int, float, float]]],
                            references: dict[str, dict[int, float]], path: str | Path) -> None:
    """phi_c(eps -> 0) against d on a log axis, per dynamics, beside literature values.

    points: dynamics -> [(d, phi_c, error)]; references: name -> {d: value}.
    """
    figure = Figure(figsize=(6.0, 4.2), layout="constrained")
    axes = figure.subplots()
    for label, rows in points.items():
        d, value, error = (np.array(column, dtype=float) for column in zip(*rows))
        axes.errorbar(d, value, yerr=error, fmt="o-", label=label, capsize=3)
    for marker, (label, values) in zip("x+*", references.items()):
        axes.plot(list(values), list(values.values()), marker, color="black", label=label)
    axes.set_yscale("log")
    axes.set_xlabel("dimension d")
    axes.set_ylabel(r"$\phi_c$")
    axes.legend(fontsize="small")
    save_figure(figure, path)


def plot_activity_vs_phi(activity: dict[str, dict[str, dict]], columns: list[str], path: str | Path,
                         title: str = "d = {}") -> None:
    """One column per entry of columns: f_inf (top) and the absorbed fraction (bottom) against phi,
    a curve per label of activity.

    activity: curve label -> column -> {"phi", "f", "df", "absorbed"} (arrays or lists over phi,
    as ``sweep_table.cells_by_phi`` gives); title: each column's title, with the column for {}.
    """
    figure = Figure(figsize=(3.6 * len(columns), 6.0), layout="constrained")
    axes = figure.subplots(2, len(columns), squeeze=False)
    for index, column in enumerate(columns):
        for label, per_column in activity.items():
            if column not in per_column:
                continue
            cell = per_column[column]
            axes[0, index].errorbar(cell["phi"], cell["f"], yerr=cell["df"], fmt="o-", ms=3, capsize=2,
                                    label=label)
            axes[1, index].plot(cell["phi"], cell["absorbed"], "o-", ms=3, label=label)
        axes[0, index].set_title(title.format(column), fontsize="small")
        axes[0, index].set_ylabel(r"$f_\infty$")
        axes[1, index].set_ylabel("fraction absorbed")
        axes[1, index].set_xlabel(r"$\phi$")
        for row in (0, 1):      # at most four ticks: phi grids with 4-5 digits would collide
            axes[row, index].xaxis.set_major_locator(MaxNLocator(4))
    axes[0, 0].legend(fontsize="x-small")
    save_figure(figure, path)


def plot_collapses(panels: list[tuple[str, int, dict, dict]], path: str | Path) -> None:
    """One column per group: f_inf (top) and tau (bottom) scaled with the given powers of L.

    panels: (label, d, points, collapse) with points {"n", "phi", "f", "df", "tau", "dtau"} (arrays
    over (n, phi) cells) and collapse {"phi_c", "powers": [distance, activity, time]}
    (``criticality.scaling_powers``); L = n^(1/d).
    """
    figure = Figure(figsize=(4.2 * len(panels), 7.0), layout="constrained")
    axes = figure.subplots(2, len(panels), squeeze=False)
    for column, (label, d, points, collapse) in enumerate(panels):
        size = linear_size(points["n"], d)
        distance, activity, time = collapse["powers"]
        for row, (key, power, name) in enumerate((("f", activity, rf"$f_\infty L^{{{activity:.2f}}}$"),
                                                  ("tau", -time, rf"$\tau L^{{-{time:.2f}}}$"))):
            panel = axes[row, column]
            x, y = scaled(points["phi"], size, points[key], collapse["phi_c"], distance, power)
            for n in np.unique(points["n"]):
                pick = (points["n"] == n) & (points[key] > 0)
                panel.errorbar(x[pick], y[pick], yerr=points["d" + key][pick] * size[pick] ** power,
                               fmt="o", ms=3, capsize=2, label=f"n = {int(n)}")
            panel.set_yscale("log")
            panel.set_xlabel(rf"$(\phi - \phi_c) L^{{{distance:.2f}}}$")
            panel.set_ylabel(name)
            panel.set_title(f"{label}, phi_c = {collapse['phi_c']:.4f}", fontsize="small")
        axes[0, column].legend(fontsize="x-small")
    save_figure(figure, path)


def plot_critical_decay(panels: list[tuple[str, dict, dict, list]], path: str | Path) -> None:
    """One log-log panel per group: the seed-mean f_a(t) at each phi, with reference slopes.

    panels: (title, curves {label: (steps (records,), mean f_a (records,))}, references {label:
    alpha} drawn as dashed and dotted t^-alpha lines through the middle curve at the first window's
    start, windows [(t0, t1)] shaded: the fit windows of ``criticality.decay_exponent``).
    """
    figure = Figure(figsize=(4.6 * len(panels), 4.2), layout="constrained")
    for axes, (title, curves, references, windows) in zip(figure.subplots(1, len(panels), squeeze=False)[0],
                                                          panels):
        for label, (steps, mean) in curves.items():
            shown = (steps > 0) & (mean > 0)
            axes.loglog(steps[shown], mean[shown], label=label, lw=1)
        for low, high in windows:
            axes.axvspan(low, high, color="grey", alpha=0.12)
        steps, mean = list(curves.values())[len(curves) // 2]
        t0 = windows[0][0]
        f0 = np.interp(t0, steps, mean)
        t = np.array([t0, windows[-1][1]])
        for (label, alpha), style in zip(references.items(), ("k--", "k:")):
            axes.loglog(t, f0 * (t / t0) ** -alpha, style, lw=1.5, label=rf"{label}: $t^{{-{alpha:.2f}}}$")
        axes.set_xlabel("step")
        axes.set_ylabel(r"$\langle f_a \rangle$ over seeds")
        axes.set_title(title, fontsize="small")
        axes.legend(fontsize="xx-small", ncol=2)
    save_figure(figure, path)


def plot_pair_correlation(curves: dict[str, tuple[list, list]], path: str | Path) -> None:
    """g(r) per label (r in diameters), offset by 1 per curve so that they can be told apart."""
    figure = Figure(figsize=(6.0, 4.2), layout="constrained")
    axes = figure.subplots()
    for offset, (label, (r, g)) in enumerate(curves.items()):
        axes.plot(r, np.asarray(g) + offset, label=f"{label} (+{offset})" if offset else label)
    axes.set_xlabel("r (diameters)")
    axes.set_ylabel("g(r), offset")
    axes.set_ylim(0, None)
    axes.legend(fontsize="x-small")
    save_figure(figure, path)


SSL_PLOT = "ssl_training.png"  # with its twin ssl_training.pdf


def plot_ssl_training(evaluations: list[dict], baselines: dict[str, dict], path: str | Path) -> None:
    """A self-supervised run over training: left, the kNN accuracy of held-out labels with each
    baseline's final one as a dashed line; right, the probe manifolds' active fraction f_a and
    mean radius. evaluations: dicts with step, knn_accuracy, active_fraction, radius_mean."""
    steps = [e["step"] for e in evaluations]
    figure = Figure(figsize=(10.0, 4.0), layout="constrained")
    accuracy, packing = figure.subplots(1, 2)
    accuracy.plot(steps, [e["knn_accuracy"] for e in evaluations], "o-", label="trained encoder")
    for k, (name, values) in enumerate(sorted(baselines.items())):
        if values.get("knn_accuracy") is not None:
            accuracy.axhline(values["knn_accuracy"], linestyle="--", color=f"C{k + 1}", label=name.replace("_", " "))
    accuracy.set_xlabel("step")
    accuracy.set_ylabel("kNN accuracy (held-out labels)")
    accuracy.legend(fontsize="small")
    packing.plot(steps, [e["active_fraction"] for e in evaluations], "o-", label="active fraction $f_a$")
    packing.plot(steps, [e["radius_mean"] for e in evaluations], "s-", label="mean radius")
    packing.set_xlabel("step")
    packing.set_ylabel("held-out instance manifolds")
    packing.legend(fontsize="small")
    save_figure(figure, path)


def plot_ssl_dimension(by_dimension: dict[int, dict], references: dict[str, dict[int, float | None]],
                       path: str | Path) -> None:
    """Left: kNN accuracy against embedding dimension d for each method (mean ± error over seeds).
    Right (log axes): the held-out active fraction f_a and effective packing fraction phi_eff of
    the packing-trained encoder against d, and each labelled particle phi_c(d) where known.
    by_dimension[d]: {"accuracy": {method: {"knn_accuracy": (mean, error)}}, "packing":
    {"final_active_fraction": (mean, error), "phi_eff": (mean, error)}}."""
    dimensions = sorted(by_dimension)
    figure = Figure(figsize=(10.0, 4.0), layout="constrained")
    accuracy, packing = figure.subplots(1, 2)
    for method in by_dimension[dimensions[0]]["accuracy"]:
        mean, error = zip(*(by_dimension[d]["accuracy"][method]["knn_accuracy"] for d in dimensions))
        accuracy.errorbar(dimensions, mean, yerr=np.nan_to_num(error), marker="o", capsize=3, label=method)
    accuracy.set_xscale("log", base=2)
    accuracy.set_xlabel("embedding dimension d")
    accuracy.set_ylabel("kNN accuracy (held-out labels)")
    accuracy.legend(fontsize="small")
    for observable, label in (("final_active_fraction", "held-out $f_a$"),
                              ("phi_eff", r"held-out $\phi_{\mathrm{eff}}$")):
        mean, error = zip(*(by_dimension[d]["packing"][observable] for d in dimensions))
        packing.errorbar(dimensions, mean, yerr=np.nan_to_num(error), marker="o", capsize=3,
                         label=f"{label} (packing encoder)")
    for label, reference in references.items():
        known = sorted(d for d, value in reference.items() if value is not None)
        if known:
            packing.plot(known, [reference[d] for d in known], "s--", label=rf"particle $\phi_c$ ({label})")
    packing.set_xscale("log", base=2)
    packing.set_yscale("log")
    packing.set_xlabel("embedding dimension d")
    packing.set_ylabel("active fraction, packing fraction")
    packing.legend(fontsize="small")
    save_figure(figure, path)


def _panels(count: int, width: float = 4.4):
    """A figure with count panels in rows of at most 4, and the list of those count axes (the
    grid's spare ones hidden)."""
    columns = min(count, 4)
    rows = -(-count // columns)
    figure = Figure(figsize=(width * columns, 3.8 * rows), layout="constrained")
    every = list(figure.subplots(rows, columns, squeeze=False).flat)
    for spare in every[count:]:
        spare.set_visible(False)
    return figure, every[:count]


def plot_moment_ratios(panels: list[tuple[str, list, list, np.ndarray, float]], path: str | Path) -> None:
    """One panel per group: the quasi-stationary moment ratio m(phi) with errors, a curve per size,
    and the crossing of the two largest sizes as a vertical line.

    panels: (title, sizes (s,), phi (k,), ratio (2, s, k): values and errors, crossing phi or NaN).
    """
    figure, axes_list = _panels(len(panels))
    for axes, (title, sizes, phi, ratio, crossing) in zip(axes_list, panels):
        for a, n in enumerate(sizes):
            axes.errorbar(phi, ratio[0, a], yerr=ratio[1, a], fmt="o-", ms=3, capsize=2, label=f"n = {n}")
        if np.isfinite(crossing):
            axes.axvline(crossing, color="black", linestyle="--", linewidth=1, label="crossing")
        axes.set_xlabel(r"$\phi$")
        axes.set_ylabel(r"$m = \langle f_a^2 \rangle / \langle f_a \rangle^2$")
        axes.set_title(title, fontsize="small")
        axes.legend(fontsize="x-small")
    save_figure(figure, path)


def plot_quasi_stationary_activity(panels: list[tuple[str, list, list, np.ndarray]], path: str | Path) -> None:
    """One panel per group: the quasi-stationary activity rho against n on log axes, a curve per
    phi (at phi_c a straight line; above it levels off, below it falls as 1/n, drawn dotted).

    panels: (title, sizes (s,), phi (k,), rho (2, s, k): values and errors).
    """
    figure, axes_list = _panels(len(panels))
    for axes, (title, sizes, phi, rho) in zip(axes_list, panels):
        for b, value in enumerate(phi):
            axes.errorbar(sizes, rho[0, :, b], yerr=rho[1, :, b], fmt="o-", ms=3, capsize=2,
                          label=rf"$\phi$ = {value:g}")
        n = np.array([sizes[0], sizes[-1]], dtype=float)
        axes.plot(n, rho[0, 0, 0] * n[0] / n, "k:", lw=1, label=r"$1/n$")
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("n")
        axes.set_ylabel(r"$\rho_{QS} = \langle f_a \rangle$")
        axes.set_title(title, fontsize="small")
        if len(phi) <= LEGEND_MAX:
            axes.legend(fontsize="xx-small", ncol=2)
    save_figure(figure, path)


def plot_step_size_limits(families: dict[str, dict], path: str | Path) -> None:
    """One panel per family with an eps -> 0 limit: phi_c(eps) with errors and the value at eps = 0
    of every fit form (linear, quadratic, power), the chosen one filled.

    families: label -> {"step_sizes", "phi_c", "error": lists; "limit": {"form", "forms": {form:
    [phi_c(0), error, chi2, dof]}} or None}.
    """
    shown = {label: entry for label, entry in families.items() if entry["limit"]}
    figure, axes_list = _panels(len(shown))
    for axes, (label, entry) in zip(axes_list, shown.items()):
        axes.errorbar(entry["step_sizes"], entry["phi_c"], yerr=entry["error"], fmt="o", color="C0",
                      capsize=3, label=r"$\phi_c(\varepsilon)$")
        for index, (form, (value, error, _, _)) in enumerate(entry["limit"]["forms"].items()):
            chosen = form == entry["limit"]["form"]
            axes.errorbar([-0.03 * max(entry["step_sizes"]) * index], [value], yerr=[error], fmt="s",
                          color=f"C{index + 1}", mfc=None if chosen else "none", capsize=3,
                          label=f"{form}" + (" (chosen)" if chosen else ""))
        axes.set_xlabel(r"kick size $\varepsilon$ (= lr $b_f$), diameters")
        axes.set_ylabel(r"$\phi_c$")
        axes.set_title(label, fontsize="small")
        axes.legend(fontsize="x-small")
    save_figure(figure, path)
