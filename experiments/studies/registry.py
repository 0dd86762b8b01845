"""Studies: a shipped preset in configs/studies/ (profiles of runs) analysed by one module here.

``neuralpack experiment NAME profile=quick out=DIR`` runs the profile's missing runs into
``DIR/runs/`` (a sweep directory, so runs are stored once and skipped when done), then writes the
report into ``DIR/report/``; ``neuralpack report DIR`` rewrites that report from the stored runs
alone. ``DIR/study.yaml`` records the study, the profile and its resolved settings.
"""
from pathlib import Path

import yaml

from experiments.studies import (
    finite_size_scaling,
    neural_vs_particle,
    phase_boundary,
    quasi_stationary,
    ssl_dimension,
)
from neuralpack.suite import presets, report, tracking
from physics_baseline import atomic
from physics_baseline.validate import ConfigError

ANALYSES = {"phase_boundary": phase_boundary, "finite_size_scaling": finite_size_scaling,
            "neural_vs_particle": neural_vs_particle, "ssl_dimension": ssl_dimension,
            "quasi_stationary": quasi_stationary}
STUDY_FILE = "study.yaml"


def load(name: str, profile: str) -> dict:
    """The resolved settings of one profile of the shipped study name."""
    study = presets.shipped("studies", name, "study")
    profiles = study.get("profiles", {})
    if profile not in profiles:
        raise ConfigError("profile", f"must be one of {', '.join(profiles)}; got {profile!r}")
    if study.get("analysis") not in ANALYSES:
        raise ConfigError("analysis",
                          f"study {name} names analysis {study.get('analysis')!r}; known: {', '.join(ANALYSES)}")
    return {"study": name, "profile": profile, "analysis": study["analysis"],
            "title": study.get("title", name), "settings": profiles[profile]}


def run(name: str, profile: str, out: Path, executor=None, tracking_mode: str = "none") -> dict:
    """Run the missing runs of a study profile into out, then write and return its report, which
    is also logged to wandb unless tracking_mode is "none"."""
    resolved = load(name, profile)
    ANALYSES[resolved["analysis"]].validate(resolved["settings"])
    out.mkdir(parents=True, exist_ok=True)
    atomic.write_text(out / STUDY_FILE, yaml.safe_dump(resolved, sort_keys=False))
    payload = write_report(out, executor)
    with tracking.Tracker(tracking_mode, out, resolved, name=f"{name}-{profile}") as tracker:
        tracker.log_summary({"report": payload})
        for figure in sorted((out / "report").glob("*.png")):
            tracker.log_image(figure.stem, figure)
    return payload


def rewrite(out: Path) -> dict:
    """Rewrite the report of a finished study directory from its stored runs only."""
    path = out / STUDY_FILE
    if not path.exists():
        raise ConfigError("out", f"{out} holds no study ({STUDY_FILE} missing)")
    return write_report(out, _refuse_to_run)


def _refuse_to_run(fn, specs):
    """An executor for reports: any run that is not stored yet is an error."""
    if specs:
        raise ConfigError("runs", f"{len(specs)} runs of this study are not finished (first: "
                                  f"{specs[0].label}); rerun `neuralpack experiment` to complete them")
    yield from ()


def write_report(out: Path, executor) -> dict:
    """Analyse the study in out (running what is missing with executor) and write its report."""
    resolved = yaml.safe_load((out / STUDY_FILE).read_text())
    analysis = ANALYSES[resolved["analysis"]]
    section = analysis.report(resolved["settings"], out / "runs", out / "report", executor)
    return report.write(out / "report", resolved, section)
