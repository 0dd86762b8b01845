"""The report of a study: report.md (tables for people) and report.json (the same numbers for scripts)."""
import json
import math
from pathlib import Path

from neuralpack.store import atomic_write_text
from physics_baseline.literature import MRJ, reference_phi_c


def _number(value: float, error: float | None = None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    if error is None or not math.isfinite(error):
        return f"{value:.4f}"
    return f"{value:.4f} ± {error:.4f}"


def phi_c_table(groups: dict[str, dict]) -> list[str]:
    """Markdown rows: phi_c at each step size, phi_c(0) and the literature values, per group."""
    sizes = sorted({s for entry in groups.values() for s in entry["step_sizes"]}, reverse=True)
    head = ["group", *[f"eps={s:g}" for s in sizes], "eps -> 0 (fit)", "BRO literature", "MRJ"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, entry in groups.items():
        at = dict(zip(entry["step_sizes"], zip(entry["phi_c"], entry["error"])))
        cells = [_number(*at[s]) if s in at else "-" for s in sizes]
        literature = reference_phi_c(entry["d"], "bidisperse" if entry["d"] == 2 else "mono")
        lines.append("| " + " | ".join([label, *cells, f"{_number(entry['value'], entry['extrapolation_error'])} "
                                        f"({entry['form']})", _number(literature),
                                        _number(MRJ.get(entry["d"]))]) + " |")
    return lines


def write(directory: Path, study: dict, groups: dict[str, dict]) -> dict:
    """Write report.md and report.json into directory; returns the JSON payload.

    report.json: {"study", "profile", "phi_c": {dynamics: {d: {"value", "error", "form",
    "step_sizes", "phi_c_at_step_size", "errors_at_step_size", "label"}}}}.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    phi_c: dict = {}
    for label, entry in groups.items():
        phi_c.setdefault(entry["dynamics"], {})[str(entry["d"])] = {
            "label": label, "value": entry["value"], "error": entry["extrapolation_error"],
            "form": entry["form"], "step_sizes": entry["step_sizes"],
            "phi_c_at_step_size": entry["phi_c"], "errors_at_step_size": entry["error"]}
    payload = {"study": study["study"], "profile": study["profile"], "phi_c": phi_c}
    atomic_write_text(directory / "report.json", json.dumps(payload, indent=2, allow_nan=True) + "\n")
    figures = sorted(path.name for path in directory.glob("*.png"))
    text = [f"# {study['title']} ({study['profile']} profile)", "",
            "phi_c from the absorbing probability crossing 1/2 (logistic maximum likelihood, bootstrap "
            "errors) at each kick size eps (lr b_f for learning-rate dynamics), and its eps -> 0 "
            "extrapolation (phi_c(eps) = phi_c(0) - a eps, or - a eps^b with four or more sizes).", "",
            *phi_c_table(groups), "", *[f"![{name}]({name})" for name in figures], ""]
    atomic_write_text(directory / "report.md", "\n".join(text))
    return payload
