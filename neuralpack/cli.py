"""The ``neuralpack`` command: simulate, train, sweep, sweep-status, experiment, report, demo, bench.

Exit codes: 0 done, 1 some runs of a sweep failed (the others are done), 2 bad input
(``error: <field>: <message>`` on stderr, nothing written), 3 training diverged (a loss or weight
became NaN or infinite; config.yaml and the last checkpoint are kept), 130 interrupted
(config.yaml and the last checkpoint are kept; ``resume=true`` continues, or for a sweep the same
command again).
"""
import argparse
import dataclasses
import os
import sys
from pathlib import Path

from neuralpack.diverged import TrainingDiverged
from neuralpack.suite import (
    executors,
    formats,
    kinds,
    plots,
    progress,
    runner,
    store,
    sweep,
    tracking,
)
from neuralpack.suite.presets import load_config, parse_overrides
from physics_baseline.config import SimulationConfig
from physics_baseline.validate import ConfigError, as_int

RUN_OPTIONS = {"out": None, "overwrite": False, "resume": False}
DEMO_CONFIG = {"dynamics": "bro", "d": 3, "n": 5000, "eps": 0.02, "steps": 3000, "seed": 1, "record_every": 1}
DEMO_PHI = (0.50, 0.55, 0.58, 0.60, 0.62, 0.64)


def main(argv: list[str] | None = None) -> int:
    """Run the command in argv (default: sys.argv[1:]) and return its exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        from experiments.bench import cases as bench
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
    _add_run_command(commands, "simulate", "run one particle packing dynamics", f"Keys: {fields}",
                     _simulate_command)
    _add_run_command(commands, "train", "train one encoder by particle-wise SGD on class manifolds "
                     "(with task=ssl: self-supervised packing of instance manifolds, profile=NAME of "
                     "configs/ssl/)", "Keys: the fields of neuralpack.train_config.TrainConfig (with "
                     "task=ssl: of neuralpack.ssl_config.SSLConfig)", _train_command,
                     " such as configs/train/anchor.yaml")
    sweep_parser = commands.add_parser(
        "sweep", help="run every run of a sweep file once, then tabulate them",
        usage="neuralpack sweep [-h] SWEEP.yaml [key=value ...]",
        description="Run the runs of a sweep file (configs/sweeps/NAME.yaml) that are not done yet, then "
                    "write OUT/runs.csv. Keys: executor=local|dask, workers=K (processes on this "
                    "machine; default the CPU count, 1 runs in this process), retries=R (default 2), "
                    "dask.cluster=local|slurm, dask.address=tcp://HOST:PORT, dask.slurm.KEY=VALUE "
                    f"({', '.join(executors.SLURM_KEYS)}), tracking=offline|online|none, out=DIR, and "
                    "the run fields (particle runs: " + fields + "), which override the sweep's base (a "
                    "swept field is then fixed to the given value). The sweep file may hold the same "
                    "settings, and kind=particles|class_manifolds|ssl.")
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


def _add_run_command(commands, name: str, summary: str, keys: str, command, preset_example: str = "") -> None:
    """A run command (simulate, train): key=value items naming config fields, plus the options."""
    parser = commands.add_parser(
        name, help=summary,
        description=f"{summary[0].upper()}{summary[1:]}. {keys}; config=PATH (a YAML preset"
                    f"{preset_example}, read first), out=DIR, overwrite=true|false, resume=true|false, "
                    "tracking=offline|online|none.")
    parser.add_argument("items", nargs="*", metavar="key=value")
    parser.set_defaults(command=command)


def _simulate_command(items: list[str]) -> int:
    kind, config, options, out = _prepare(items, (kinds.PARTICLES,), kinds.PARTICLES)
    out = out or Path("runs/simulate") / (
        f"{config.dynamics}-d{config.d}-n{config.n}-{formats.run_key(config.to_dict())}")
    run = _run(kind, config, out, options)
    print(f"{config.dynamics} d={config.d} n={config.n} phi={config.phi:g}: {_outcome(run)}")
    print(out)
    return 0


def _train_command(items: list[str]) -> int:
    kind, config, options, out = _prepare(items, (kinds.CLASS_MANIFOLDS, kinds.SSL), kinds.CLASS_MANIFOLDS)
    if kind.name == kinds.SSL:
        return _ssl_command(kind, config, options, out)
    out = out or Path("runs/train") / (
        f"{config.encoder}-{config.space}-d{config.d}-n{config.n_classes}-{formats.run_key(config.to_dict())}")
    run = _run(kind, config, out, options)
    print(f"{config.encoder} on the {config.space}, d={config.d} N={config.n_classes} phi={config.phi:g}: "
          f"{_outcome(run)}")
    print(out)
    return 0


def _ssl_command(kind: kinds.Kind, config, options: runner.Options, out: Path | None) -> int:
    out = out or Path("runs/ssl") / (
        f"{config.loss}-{config.data}-{config.encoder}-d{config.d}-{formats.run_key(config.to_dict())}")
    run = _run(kind, config, out, options)
    print(f"{config.loss} on {config.data}, {config.encoder} d={config.d}, {config.steps} steps: "
          f"kNN accuracy {run.knn_accuracy:.3f}, linear probe {run.linear_probe_accuracy:.3f}, "
          f"held-out f_a {run.evaluations[-1]['active_fraction']:.3f}, {run.wall_time:.1f} s")
    for name, values in run.baselines.items():
        print(f"  baseline {name.replace('_', ' ')}: kNN accuracy {values['knn_accuracy']:.3f}, "
              f"linear probe {values['linear_probe_accuracy']:.3f}")
    print(out)
    return 0


def _prepare(items: list[str], allowed: tuple[str, ...], default: str):
    """(kind, validated config, runner.Options, out or None) of a run command's items. The kind is
    the preset's or the items' kind=, else task=ssl's, else default; it must be one of allowed."""
    values = _preset_and_overrides(items)
    options, out = _run_options(values)
    name = values.pop(formats.KIND, None) or (kinds.SSL if values.get("task") == "ssl" else default)
    kind = kinds.get(name)
    if kind.name not in allowed:
        raise ConfigError(formats.KIND, f"{kind.name} runs are run by `neuralpack {kind.command}`; this command "
                                        f"runs {' and '.join(allowed)} runs")
    return kind, kind.config(values), options, out


def _run(kind: kinds.Kind, config, out: Path, options: runner.Options):
    """runner.run, saying on Ctrl-C what was kept and how to continue."""
    try:
        return runner.run(kind, config, out, options)
    except KeyboardInterrupt:
        checkpoint = out / formats.CHECKPOINT
        kept = (f"the checkpoint {checkpoint}" if checkpoint.exists()
                else f"no checkpoint yet (one is written every {config.checkpoint_every} steps)")
        print(f"\ninterrupted: kept {out / formats.CONFIG} and {kept}; continue with\n"
              f"  neuralpack {kind.command.split()[0]} config={out / formats.CONFIG} out={out} resume=true",
              file=sys.stderr)
        raise


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
    execution = executors.Execution.from_settings(definition)
    tracking_mode = tracking.checked_mode(definition.get("tracking", tracking.default_mode()))
    configs = sweep.expand(definition)
    out, name = Path(definition["out"]), definition["name"]
    tracked = tracking.enabled(tracking_mode)
    print(f"sweep {name}: {len(configs)} runs into {out}, on {execution.describe()}", file=sys.stderr)
    report = None
    try:
        with progress.bar(len(configs), name, "run") as bar, progress.ctrl_c_at_records() as interrupted:
            def report_progress(state: sweep.Progress) -> None:
                _show_sweep_progress(bar, state)
                if tracked and state.outcome is not None and state.outcome.status == sweep.DONE:
                    spec = state.outcome.spec
                    tracking.log_stored_run(tracking_mode, out, spec.run_dir, spec.label, group=name)

            report = sweep.run_sweep(configs, out, execution.make_executor(), progress=report_progress,
                                     stop=interrupted, retries=execution.retries)
    except KeyboardInterrupt:
        pass
    if report is None or report.interrupted:
        print(f"\ninterrupted: the finished runs are kept in {out / formats.RUNS}; run the same command "
              "again to continue (done runs are skipped, unfinished ones resume from their checkpoints)",
              file=sys.stderr)
        raise KeyboardInterrupt
    if tracked:
        _log_sweep_table(tracking_mode, out, name, sweep.plan(configs, out))
    print(f"sweep {name}: {report.count(sweep.DONE)} executed, {report.count(sweep.SKIPPED)} "
          f"skipped (already done), {report.count(sweep.FAILED)} failed; table {report.table}")
    return 1 if report.count(sweep.FAILED) else 0


def _show_sweep_progress(bar, state: sweep.Progress) -> None:
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
                  f"see {outcome.spec.run_dir / formats.ERROR})", file=sys.stderr)


def _log_sweep_table(tracking_mode: str, out: Path, name: str, specs: list[sweep.RunSpec]) -> None:
    """Log the sweep's table and its f_a(t) figure (OUT/active_fraction.png, the finished runs of
    specs) to wandb, in the sweep's group; print how to upload offline runs."""
    figure = out / formats.PLOT
    plots.plot_active_fraction([(spec.label, *formats.read_series(spec.run_dir)[:2])
                                for spec in specs if store.is_done(spec.run_dir)], figure)
    tracking.log_table(tracking_mode, out, f"{name}-table", formats.read_table(out), [figure], group=name)
    if tracking_mode == "offline":
        print(f"wandb: offline runs of group {name} in {out / formats.TRACKING_DIR}; upload them with\n"
              f"  {tracking.sync_command(out)}")


def _experiment_command(items: list[str]) -> int:
    from experiments.studies import registry as studies
    options = parse_overrides(items[1:])
    unknown = sorted(options.keys() - {"profile", "out", "workers", "tracking"})
    if unknown:
        raise ConfigError(unknown[0], "unknown key; experiment takes profile=, out=, workers= and tracking=")
    tracking_mode = tracking.checked_mode(options.get("tracking", tracking.default_mode()))
    name, profile = items[0], str(options.get("profile", "quick"))
    workers = as_int("workers", options.get("workers", os.cpu_count() or 1), 1)
    out = Path(str(options.get("out", Path("runs/studies") / f"{name}-{profile}")))
    studies.run(name, profile, out, executors.local_executor(workers), tracking_mode)
    _print_tables(out / "report")
    print(f"{name} ({profile}): report {out / 'report' / 'report.md'}")
    return 0


def _report_command(items: list[str]) -> int:
    from experiments.studies import registry as studies
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
    states = store.states(out)
    print(f"{out}: " + ", ".join(f"{len(keys)} {state}" for state, keys in states.items()))
    for key in states[store.FAILED]:
        print(f"failed: {out / formats.RUNS / key / formats.ERROR}")
    table = out / formats.TABLE
    print(f"table {table}" if table.exists() else f"table {table} (not written yet)")
    return 0


def _demo_command(items: list[str]) -> int:
    values = load_config(None, items)
    unknown = sorted(values.keys() - {"out", "tracking"})
    if unknown:
        raise ConfigError(unknown[0], "unknown key; demo takes out=DIR and tracking=offline|online|none")
    options, out = _run_options(values)
    out = out or Path("runs/demo")
    kind = kinds.get(kinds.PARTICLES)
    configs = [kind.config({**DEMO_CONFIG, "phi": phi}) for phi in DEMO_PHI]
    options = dataclasses.replace(options, overwrite=True, resume=False)
    runs = [_run(kind, config, out / f"phi{config.phi:.2f}", options) for config in configs]
    print(f"3D BRO, n = {DEMO_CONFIG['n']}, eps = {DEMO_CONFIG['eps']}, seed {DEMO_CONFIG['seed']}, "
          f"at most {DEMO_CONFIG['steps']} steps")
    print(f"{'phi':>5} {'absorbed':>9} {'absorption step':>16} {'final f_a':>10} {'relaxation time':>16}")
    for run in runs:
        step = "-" if run.absorption_step is None else run.absorption_step
        print(f"{run.config.phi:5.2f} {'yes' if run.absorbed else 'no':>9} {step:>16} "
              f"{run.final_active_fraction:10.4f} {run.relaxation_time:16g}")
    plot = out / formats.PLOT
    plots.plot_active_fraction([(f"phi = {run.config.phi:.2f}", run.steps, run.active_fraction) for run in runs],
                               plot)
    print(f"f_a(t): {plot} and {plot.with_suffix('.pdf')}")
    return 0


def _run_options(values: dict) -> tuple[runner.Options, Path | None]:
    """Pop and check the run keys (out, overwrite, resume, tracking) from values: the runner's
    Options, and out (None when not given)."""
    options = {key: values.pop(key, default) for key, default in RUN_OPTIONS.items()}
    for flag in ("overwrite", "resume"):
        if not isinstance(options[flag], bool):
            raise ConfigError(flag, f"must be true or false, got {options[flag]!r}")
    out = None if options["out"] is None else Path(str(options["out"]))
    mode = tracking.checked_mode(values.pop("tracking", tracking.default_mode()))
    return runner.Options(overwrite=options["overwrite"], resume=options["resume"], tracking=mode), out
