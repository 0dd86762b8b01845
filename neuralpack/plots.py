"""Figures, drawn on matplotlib's object API (Agg rendering, no pyplot state) and written atomically."""
import io
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from neuralpack.store import atomic_write_bytes


def plot_active_fraction(runs: list[tuple[str, np.ndarray, np.ndarray]], path: str | Path) -> None:
    """f_a(t) of several runs on log-log axes, saved as path with suffix .png and as .pdf.

    runs: (label, steps (records,), active_fraction (records,)). Step 0 and f_a = 0 (absorbed)
    have no place on log axes: a curve ends at its last active record.
    """
    figure = Figure(figsize=(6.0, 4.2), layout="constrained")
    axes = figure.subplots()
    for label, steps, active_fraction in runs:
        steps, active_fraction = np.asarray(steps), np.asarray(active_fraction)
        shown = (steps > 0) & (active_fraction > 0)
        axes.loglog(steps[shown], active_fraction[shown], label=label)
    axes.set_xlabel("step")
    axes.set_ylabel("active fraction $f_a$")
    axes.legend(fontsize="small")
    for suffix in (".png", ".pdf"):
        buffer = io.BytesIO()
        figure.savefig(buffer, format=suffix[1:], dpi=150)
        atomic_write_bytes(Path(path).with_suffix(suffix), buffer.getvalue())
