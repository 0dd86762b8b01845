"""The life of one run, the same from the command line, a sweep's worker and a study.

prepare (the run directory, config.yaml with its kind) -> loop (the kind's engine, with a
checkpoint, a progress bar and Ctrl-C at the next record) -> write (``formats.write_run``) ->
plot (f_a(t), and a self-supervised run's training curves) -> track (wandb).
"""
from dataclasses import dataclass
from pathlib import Path

from neuralpack.suite import formats, plots, progress, store, tracking
from neuralpack.suite.kinds import SSL, Kind
from physics_baseline.run import Run


@dataclass(frozen=True)
class Options:
    """How a run is run. overwrite / resume: what to do with a run already in the directory
    (``store.prepare_run_dir``); show_progress: a progress bar on stderr; plot: write the run's
    figures; tracking: wandb mode (offline, online, none)."""
    overwrite: bool = False
    resume: bool = False
    show_progress: bool = True
    plot: bool = True
    tracking: str = "none"


SWEEP_WORKER = Options(resume=True, show_progress=False, plot=False)  # a sweep's run: quiet, resumed


def run(kind: Kind, config, run_dir: str | Path, options: Options = Options()) -> Run:
    """Run config (a validated config object of kind) in run_dir and write its files; returns the
    Run. A KeyboardInterrupt (Ctrl-C) leaves config.yaml and the last checkpoint to resume from."""
    run_dir = Path(run_dir)
    values = config.to_dict()
    engine = kind.engine_function()
    store.prepare_run_dir(run_dir, values, overwrite=options.overwrite, resume=options.resume,
                          may_change=kind.resumable)
    formats.write_config(run_dir, kind.name, values)
    result = _loop(engine, config, run_dir, options)
    summary = formats.write_run(run_dir, result)
    if options.plot:
        plots.plot_active_fraction([(run_dir.name, result.steps, result.active_fraction)], run_dir / formats.PLOT)
        if kind.name == SSL:
            plots.plot_ssl_training(result.evaluations, result.baselines, run_dir / plots.SSL_PLOT)
    _track(options.tracking, run_dir, values, result, summary)
    return result


def _loop(engine, config, run_dir: Path, options: Options) -> Run:
    """engine(config) with its checkpoint in run_dir, a progress bar and Ctrl-C at records."""
    total = getattr(config, "total_steps", config.steps)
    with progress.ctrl_c_at_records() as interrupted:
        bar = progress.bar(total, run_dir.name, "step") if options.show_progress else None

        def report(step: int, active_fraction: float) -> None:
            if bar is not None:
                bar.update(step - bar.n)
                bar.set_postfix(f_a=f"{active_fraction:.4f}", refresh=False)
            if interrupted():
                raise KeyboardInterrupt

        try:
            return engine(config, checkpoint=run_dir / formats.CHECKPOINT, resume=options.resume,
                          progress=report)
        finally:
            if bar is not None:
                bar.close()


def _track(mode: str, run_dir: Path, values: dict, result: Run, summary: dict) -> None:
    """Log the run's series, summary, evaluations and figures to wandb (nothing in mode none)."""
    if not tracking.enabled(mode):
        return
    with tracking.Tracker(mode, run_dir, values, name=run_dir.name) as tracker:
        tracker.log_series(result.steps, result.active_fraction, result.loss)
        tracker.log_summary(summary)
        if hasattr(result, "evaluations"):
            tracker.log_table("evaluations", result.evaluations)
        for figure in (formats.PLOT, plots.SSL_PLOT):
            if (run_dir / figure).exists():
                tracker.log_image(Path(figure).stem, run_dir / figure)
