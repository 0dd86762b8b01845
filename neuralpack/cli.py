"""The ``neuralpack`` command: simulate, train, sweep, sweep-status, experiment, report, demo, bench.

Exit codes: 0 done, 1 some runs of a sweep failed (the others are done), 2 bad input
(``error: <field>: <message>`` on stderr, nothing written), 3 training diverged (a loss or weight
became NaN or infinite; config.yaml and the last checkpoint are kept), 130 interrupted
(config.yaml and the last checkpoint are kept; ``resume=true`` continues, or for a sweep the same
command again).
"""
import argparse
import contextlib
import dataclasses
import os
import signal
import sys
import threading
from pathlib import Path

from tqdm import tqdm

from neuralpack import cluster, kinds, plots, store, sweep, tracking
from neuralpack.config import load_config, parse_overrides
from neuralpack.ssl_config import SSLConfig
from neuralpack.train_config import TrainConfig, TrainingDiverged
from physics_baseline import ConfigError, SimulationConfig
from physics_baseline.config import as_choice, as_int

RUN_OPTIONS = {"out": None, "overwrite": False, "resume": False, "tracking": "offline"}
DEMO_CONFIG = {"dynamics": "bro", "d": 3, "n": 5000, "eps": 0.02, "steps": 3000, "seed": 1, "record_every": 1}
DEMO_PHI = (0.50, 0.55, 0.58, 0.60, 0.62, 0.64)


def main(argv: list[str] | None = None) -> int:
    """Run the command in argv (default: sys.argv[1:]) and return its exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        from experiments import bench
        return bench.main(argv[1:])
    args = _parser().parse_args(argv)
    try:
        return args.command(args.items)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except sweep.RunsFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except TrainingDiverged as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    fields = ", ".join(field.name for field in dataclasses.fields(SimulationConfig))
    parser = argparse.ArgumentParser(prog="neuralpack", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True, metavar="command")
    _add_run_command(commands, "simulate", "run one particle packing dynamics", SimulationConfig,
                     _simulate_command)
    _add_run_command(commands, "train", "train one encoder by particle-wise SGD on class manifolds "
                     "(with task=ssl: self-supervised packing of instance manifolds, keys "
                     f"{', '.join(f.name for f in dataclasses.fields(SSLConfig))}, profile=NAME of configs/ssl/)",
                     TrainConfig, _train_command, " such as configs/train/anchor.yaml")
    sweep_parser = commands.add_parser(
        "sweep", help="run every run of a sweep file once, then tabulate them",
        usage="neuralpack sweep [-h] SWEEP.yaml [key=value ...]",
        description="Run the runs of a sweep file (configs/sweeps/NAME.yaml) that are not done yet, then "
                    "write OUT/runs.csv. Keys: executor=local|dask, workers=K (processes on this "
                    "machine; default the CPU count, 1 runs in this process), retries=R (default 2), "
                    "dask.cluster=local|slurm, dask.address=tcp://HOST:PORT, dask.slurm.KEY=VALUE "
                    f"({', '.join(cluster.SLURM_KEYS)}), tracking=offline|online|none, out=DIR, and "
                    f"the run fields ({fields}), which override the sweep's base (a swept field is "
                    "then fixed to the given value). The sweep file may hold the same settings.")
    sweep_parser.add_argument("items", nargs="+", metavar="ARG", help="the sweep file, then key=value overrides")
    sweep_parser.set_defaults(command=_sweep_command)
    status_parser = commands.add_parser("sweep-status", help="count the done, unfinished and failed runs of a sweep")
    status_parser.add_argument("items", nargs=1, metavar="OUT")
    status_parser.set_defaults(command=_sweep_status_command)
    experiment_parser = commands.add_parser(
        "experiment", help="run a study of configs/studies/ and write its report",
        usage="neuralpack experiment [-h] NAME [profile=quick|paper] [out=DIR] [workers=K] "
              "[tracking=offline|online|none]",
        description="Run the missing runs of a study profile (default quick) into OUT/runs "
                    "(default runs/studies/NAME-PROFILE), then write OUT/report/ (report.md, "
                    "report.json, figures). Rerunning skips what is done.")
    experiment_parser.add_argument("items", nargs="+", metavar="ARG")
    experiment_parser.set_defaults(command=_experiment_command)
    report_parser = commands.add_parser("report", help="rewrite a study's report from its stored runs")
    report_parser.add_argument("items", nargs=1, metavar="RUNS_DIR")
    report_parser.set_defaults(command=_report_command)
    demo_parser = commands.add_parser("demo", help="3D BRO at six packing fractions, with a table and a plot")
    demo_parser.add_argument("items", nargs="*", metavar="out=DIR | tracking=MODE")
    demo_parser.set_defaults(command=_demo_command)
    commands.add_parser("bench", help="benchmarks (experiments/bench.py); the arguments are passed on")
    return parser


def _add_run_command(commands, name: str, summary: str, config_class, command, preset_example: str = "") -> None:
    """A run command (simulate, train): key=value items naming config_class fields, plus the options."""
    fields = ", ".join(field.name for field in dataclasses.fields(config_class))
    parser = commands.add_parser(
        name, help=summary,
        description=f"{summary[0].upper()}{summary[1:]}. Keys: {fields}; config=PATH (a YAML preset"
                    f"{preset_example}, read first), out=DIR, overwrite=true|false, resume=true|false, "
                    "tracking=offline|online|none.")
    parser.add_argument("items", nargs="*", metavar="key=value")
    parser.set_defaults(command=command)


def _simulate_command(items: list[str]) -> int:
    values = _preset_and_overrides(items)
    options = _run_options(values)
    config = SimulationConfig.from_dict(values)
    out = options["out"] or Path("runs/simulate") / (
        f"{config.dynamics}-d{config.d}-n{config.n}-{store.run_key(config.to_dict())}")
    run = run_in_dir(config, out, overwrite=options["overwrite"], resume=options["resume"],
                     tracking_mode=options["tracking"])
    print(f"{config.dynamics} d={config.d} n={config.n} phi={config.phi:g}: {_outcome(run)}")
    print(out)
    return 0


def _train_command(items: list[str]) -> int:
    values = _preset_and_overrides(items)
    options = _run_options(values)
    if kinds.kind_of(values) is kinds.SELF_SUPERVISED:
        return _ssl_command(SSLConfig.from_dict(values), options)
    config = TrainConfig.from_dict(values)
    out = options["out"] or Path("runs/train") / (
        f"{config.encoder}-{config.space}-d{config.d}-n{config.n_classes}-{store.run_key(config.to_dict())}")
    run = run_in_dir(config, out, overwrite=options["overwrite"], resume=options["resume"],
                     tracking_mode=options["tracking"])
    print(f"{config.encoder} on the {config.space}, d={config.d} N={config.n_classes} phi={config.phi:g}: "
          f"{_outcome(run)}")
    print(out)
    return 0


def _ssl_command(config: SSLConfig, options: dict) -> int:
    out = options["out"] or Path("runs/ssl") / (
        f"{config.loss}-{config.data}-{config.encoder}-d{config.d}-{store.run_key(config.to_dict())}")
    run = run_in_dir(config, out, overwrite=options["overwrite"], resume=options["resume"],
                     tracking_mode=options["tracking"])
    print(f"{config.loss} on {config.data}, {config.encoder} d={config.d}, {config.steps} steps: "
          f"kNN accuracy {run.knn_accuracy:.3f}, linear probe {run.linear_probe_accuracy:.3f}, "
          f"held-out f_a {run.evaluations[-1]['active_fraction']:.3f}, {run.wall_time:.1f} s")
    for name, values in run.baselines.items():
        print(f"  baseline {name.replace('_', ' ')}: kNN accuracy {values['knn_accuracy']:.3f}, "
              f"linear probe {values['linear_probe_accuracy']:.3f}")
    print(out)
    return 0


def _preset_and_overrides(items: list[str]) -> dict:
    """The values of a run command: the preset named by config=PATH (if any), then the other
    key=value items on top."""
    preset, overrides = None, []
    for item in items:
        key, _, value = item.partition("=")
        if key.strip() == "config":
            preset = value
        else:
            overrides.append(item)
    return load_config(preset, overrides)


def _outcome(run) -> str:
    """How a particle or training run ended, for the terminal."""
    outcome = (f"absorbed at step {run.absorption_step}" if run.absorbed
               else f"still active at step {run.steps[-1]}, f_a = {run.final_active_fraction:.4g}")
    return f"{outcome}, relaxation time {run.relaxation_time:g} steps, {run.wall_time:.1f} s"


def _sweep_command(items: list[str]) -> int:
    definition = sweep.load_sweep(items[0], parse_overrides(items[1:]))
    execution = cluster.Execution.from_settings(definition)
    tracking_mode = _tracking_mode(definition.get("tracking", "offline"))
    configs = sweep.expand(definition)
    out, name = Path(definition["out"]), definition["name"]
    tracked = tracking.enabled(tracking_mode)
    print(f"sweep {name}: {len(configs)} runs into {out}, on {execution.describe()}", file=sys.stderr)
    report = None
    try:
        with tqdm(total=len(configs), desc=name, unit="run", file=sys.stderr,
                  dynamic_ncols=True) as bar, _ctrl_c_at_records() as interrupted:
            def progress(state: sweep.Progress) -> None:
                _show_sweep_progress(bar, state)
                if tracked and state.outcome is not None and state.outcome.status == sweep.DONE:
                    spec = state.outcome.spec
                    tracking.log_stored_run(tracking_mode, out, spec.run_dir, spec.label, group=name)

            report = sweep.run_sweep(configs, out, execution.make_executor(), progress=progress,
                                     stop=interrupted, retries=execution.retries)
    except KeyboardInterrupt:
        pass
    if report is None or report.interrupted:
        print(f"\ninterrupted: the finished runs are kept in {out / sweep.RUNS}; run the same command "
              "again to continue (done runs are skipped, unfinished ones resume from their checkpoints)",
              file=sys.stderr)
        raise KeyboardInterrupt
    if tracked:
        _log_sweep_table(tracking_mode, out, name, sweep.plan(configs, out))
    print(f"sweep {name}: {report.count(sweep.DONE)} executed, {report.count(sweep.SKIPPED)} "
          f"skipped (already done), {report.count(sweep.FAILED)} failed; table {report.table}")
    return 1 if report.count(sweep.FAILED) else 0


def _show_sweep_progress(bar: tqdm, state: sweep.Progress) -> None:
    """Update the sweep's bar: it counts the runs executed here (a skipped run leaves its total),
    so that its rate and ETA are theirs; a failed run is written above it."""
    outcome, counts = state.outcome, state.counts
    bar.set_postfix({"done": counts[sweep.DONE], "running": state.running, "failed": counts[sweep.FAILED],
                     "remaining": state.remaining, "skipped": counts[sweep.SKIPPED]}, refresh=False)
    if outcome is None:
        bar.refresh()
    elif outcome.status == sweep.SKIPPED:
        bar.total -= 1
    else:
        bar.update()
    if outcome is not None and outcome.status == sweep.FAILED:
        bar.write(f"failed: {outcome.spec.label}: {outcome.error} (after {outcome.attempts} attempts; "
                  f"see {outcome.spec.run_dir / sweep.ERROR})", file=sys.stderr)


def _log_sweep_table(tracking_mode: str, out: Path, name: str, specs: list[sweep.RunSpec]) -> None:
    """Log the sweep's table and its f_a(t) figure (OUT/active_fraction.png, the finished runs of
    specs) to wandb, in the sweep's group; print how to upload offline runs."""
    figure = out / store.PLOT
    plots.plot_active_fraction([(spec.label, *store.read_series(spec.run_dir)[:2])
                                for spec in specs if sweep.is_done(spec.run_dir)], figure)
    tracking.log_table(tracking_mode, out, f"{name}-table", sweep.read_table(out), [figure], group=name)
    if tracking_mode == "offline":
        print(f"wandb: offline runs of group {name} in {out / store.TRACKING_DIR}; upload them with\n"
              f"  {tracking.sync_command(out)}")


def _experiment_command(items: list[str]) -> int:
    from experiments import studies
    options = parse_overrides(items[1:])
    unknown = sorted(options.keys() - {"profile", "out", "workers", "tracking"})
    if unknown:
        raise ConfigError(unknown[0], "unknown key; experiment takes profile=, out=, workers= and tracking=")
    tracking_mode = _tracking_mode(options.get("tracking", "offline"))
    name, profile = items[0], str(options.get("profile", "quick"))
    workers = as_int("workers", options.get("workers", os.cpu_count() or 1), 1)
    out = Path(str(options.get("out", Path("runs/studies") / f"{name}-{profile}")))
    studies.run(name, profile, out, sweep.local_executor(workers), tracking_mode)
    _print_tables(out / "report")
    print(f"{name} ({profile}): report {out / 'report' / 'report.md'}")
    return 0


def _report_command(items: list[str]) -> int:
    from experiments import studies
    out = Path(items[0])
    studies.rewrite(out)
    _print_tables(out / "report")
    print(f"report {out / 'report' / 'report.md'}")
    return 0


def _print_tables(report_dir: Path) -> None:
    """The table rows of report.md, for the terminal."""
    for line in (report_dir / "report.md").read_text().splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            print(line)


def _sweep_status_command(items: list[str]) -> int:
    out = Path(items[0])
    states = sweep.sweep_status(out)
    print(f"{out}: " + ", ".join(f"{len(keys)} {state}" for state, keys in states.items()))
    for key in states[sweep.FAILED]:
        print(f"failed: {out / sweep.RUNS / key / sweep.ERROR}")
    table = out / sweep.TABLE
    print(f"table {table}" if table.exists() else f"table {table} (not written yet)")
    return 0


def _demo_command(items: list[str]) -> int:
    values = load_config(None, items)
    unknown = sorted(values.keys() - {"out", "tracking"})
    if unknown:
        raise ConfigError(unknown[0], "unknown key; demo takes out=DIR and tracking=offline|online|none")
    options = _run_options(values)
    out = options["out"] or Path("runs/demo")
    configs = [SimulationConfig.from_dict({**DEMO_CONFIG, "phi": phi}) for phi in DEMO_PHI]
    runs = [run_in_dir(config, out / f"phi{config.phi:.2f}", overwrite=True, resume=False,
                       tracking_mode=options["tracking"]) for config in configs]
    print(f"3D BRO, n = {DEMO_CONFIG['n']}, eps = {DEMO_CONFIG['eps']}, seed {DEMO_CONFIG['seed']}, "
          f"at most {DEMO_CONFIG['steps']} steps")
    print(f"{'phi':>5} {'absorbed':>9} {'absorption step':>16} {'final f_a':>10} {'relaxation time':>16}")
    for run in runs:
        step = "-" if run.absorption_step is None else run.absorption_step
        print(f"{run.config.phi:5.2f} {'yes' if run.absorbed else 'no':>9} {step:>16} "
              f"{run.final_active_fraction:10.4f} {run.relaxation_time:16g}")
    plot = out / store.PLOT
    plots.plot_active_fraction([(f"phi = {run.config.phi:.2f}", run.steps, run.active_fraction) for run in runs],
                               plot)
    print(f"f_a(t): {plot} and {plot.with_suffix('.pdf')}")
    return 0


def _run_options(values: dict) -> dict:
    """Pop and check the run keys (out, overwrite, resume, tracking) from values."""
    options = {key: values.pop(key, default) for key, default in RUN_OPTIONS.items()}
    for flag in ("overwrite", "resume"):
        if not isinstance(options[flag], bool):
            raise ConfigError(flag, f"must be true or false, got {options[flag]!r}")
    options["tracking"] = _tracking_mode(options["tracking"])
    if options["out"] is not None:
        options["out"] = Path(str(options["out"]))
    return options


def _tracking_mode(value) -> str:
    """The tracking mode from a parsed override (``tracking=none`` reads as None)."""
    return as_choice("tracking", "none" if value is None else value, tracking.MODES)


def run_in_dir(config: SimulationConfig | TrainConfig | SSLConfig, out: Path, *, overwrite: bool, resume: bool,
               tracking_mode: str):
    """Simulate or train config in the run directory out: config.yaml first, then the run with a
    progress bar and checkpoints, its files and f_a plot, and its tracking. Returns the
    physics_baseline Run, the neuralpack.training TrainRun or the neuralpack.ssl SSLRun."""
    values = config.to_dict()
    kind = kinds.kind_of(values)
    execute, write = kind.executor()       # torch and FAISS load only for training runs
    store.prepare_run_dir(out, values, overwrite=overwrite, resume=resume, may_change=kind.resumable)
    checkpoint = out / store.CHECKPOINT
    total = getattr(config, "total_steps", config.steps)
    try:
        store.write_config(out, values)
        with tqdm(total=total, desc=out.name, unit="step", file=sys.stderr,
                  dynamic_ncols=True) as bar, _ctrl_c_at_records() as interrupted:
            def progress(step: int, active_fraction: float) -> None:
                bar.update(step - bar.n)
                bar.set_postfix(f_a=f"{active_fraction:.4f}", refresh=False)
                if interrupted():
                    raise KeyboardInterrupt

            run = execute(**values, checkpoint=checkpoint, resume=resume, progress=progress)
        summary = write(out, run)
        plots.plot_active_fraction([(out.name, run.steps, run.active_fraction)], out / store.PLOT)
        with tracking.Tracker(tracking_mode, out, values, name=out.name) as tracker:
            tracker.log_series(run.steps, run.active_fraction, run.loss)
            tracker.log_summary(summary)
            if isinstance(config, SSLConfig):
                tracker.log_table("evaluations", run.evaluations)
            for figure in (store.PLOT, plots.SSL_PLOT):
                if (out / figure).exists():
                    tracker.log_image(Path(figure).stem, out / figure)
    except KeyboardInterrupt:
        kept = (f"the checkpoint {checkpoint}" if checkpoint.exists()
                else f"no checkpoint yet (one is written every {config.checkpoint_every} steps)")
        print(f"\ninterrupted: kept {out / store.CONFIG} and {kept}; continue with\n"
              f"  neuralpack {kind.command} config={out / store.CONFIG} out={out} resume=true", file=sys.stderr)
        raise
    return run


@contextlib.contextmanager
def _ctrl_c_at_records():
    """Yield a function telling whether Ctrl-C was pressed, and keep that press from raising.

    A KeyboardInterrupt raised inside a numba kernel comes out as a SystemError, so the first
    Ctrl-C only sets a flag that the progress callback turns into a KeyboardInterrupt at the next
    record; a second Ctrl-C raises at once. Outside the main thread, Ctrl-C is left alone.
    """
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    pressed = threading.Event()

    def on_ctrl_c(signum, frame):
        pressed.set()
        signal.signal(signal.SIGINT, previous)

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield pressed.is_set
    finally:
        signal.signal(signal.SIGINT, previous)
