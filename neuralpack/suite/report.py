"""The report of a study: report.md (tables and figures for people) and report.json (the same
numbers for scripts), written atomically into one directory beside the figures."""
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from physics_baseline.atomic import write_text
from physics_baseline.run import json_ready


@dataclass
class Section:
    """What an analysis reports: markdown lines, and the numbers behind them for report.json."""
    markdown: list[str]
    data: dict = field(default_factory=dict)


def number(value: float | None, error: float | None = None, digits: int = 4) -> str:
    """``0.6123 ± 0.0040``, or ``-`` for a missing or non-finite value."""
    if value is None or not math.isfinite(value):
        return "-"
    if error is None or not math.isfinite(error):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} ± {error:.{digits}f}"


def table(head: list[str], rows: list[list[str]]) -> list[str]:
    """A markdown table."""
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head),
            *("| " + " | ".join(row) + " |" for row in rows)]


def write(directory: Path, study: dict, section: Section) -> dict:
    """Write report.md and report.json into directory; returns the JSON payload
    ({"study", "profile", **section.data}, with null for a value that could not be measured)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    payload = json_ready({"study": study["study"], "profile": study["profile"], **section.data})
    write_text(directory / "report.json", json.dumps(payload, indent=2, allow_nan=False) + "\n")
    figures = sorted(path.name for path in directory.glob("*.png"))
    text = [f"# {study['title']} ({study['profile']} profile)", "",
            f"Made by `neuralpack experiment {study['study']} profile={study['profile']}`; "
            "`neuralpack report DIR` rewrites it from the stored runs.", "",
            *section.markdown, "", *[f"![{name}]({name})" for name in figures], ""]
    write_text(directory / "report.md", "\n".join(text))
    return payload
