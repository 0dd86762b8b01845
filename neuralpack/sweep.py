"""Sweeps: many particle runs from one YAML file, each run stored once, executed anywhere, tabulated.

A sweep file (``configs/sweeps/NAME.yaml``) holds::

    name: NAME              # optional; the file's stem by default
    base:                   # SimulationConfig fields shared by every run
      {dynamics: bro, eps: 0.02, steps: 5000}
    grid:                   # field -> values; the runs are the Cartesian product
      {n: [1000, 2000], seed: [1, 2, 3]}
    zip:                    # optional: fields whose lists are taken together, row by row;
      d: [2, 3]             # a list inside a row is one more product axis for that row
      phi: [[0.82, 0.84], [0.60, 0.62]]
    out: runs/sweeps/NAME   # optional; this default, relative to the working directory
    executor: local         # optional settings of how and where the runs execute (SETTINGS:
    retries: 2              # executor, workers, retries, tracking, dask; ``neuralpack.cluster``)

A field is set in one of base, grid and zip. The runs come in product order: the zip rows
outermost, then the grid fields in file order, then a row's own lists (the last varies fastest).
Every run is validated before anything is written.

Layout of the output directory OUT::

    OUT/runs/<run_key>/   one directory per run (``neuralpack.store``): config.yaml, checkpoint.npz,
                          series.csv, final.npz, summary.json (marks it done) or error.txt (failed)
    OUT/runs.csv          one row per finished run (``aggregate``)

A run is keyed by the hash of its whole validated config, so a run shared by two sweeps writing
into the same OUT is stored and executed once; changing any field (steps included) is a new run.
A run that fails is attempted again (``retries``), each attempt continuing from its checkpoint.
"""
import contextlib
import copy
import csv
import dataclasses
import functools
import io
import itertools
import json
import math
import multiprocessing
import os
import queue
import signal
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import numba
import numpy as np

from neuralpack import kinds, store
from neuralpack.config import read_preset
from physics_baseline import ConfigError, SimulationConfig
from physics_baseline.criticality import is_steady, steady_state_activity

SETTINGS = ("executor", "workers", "retries", "tracking", "dask")  # how the runs execute, not what they are
SWEEP_KEYS = ("name", "base", "grid", "zip", "out", *SETTINGS)
TICK_S = 0.5  # executors report the number of running runs at least this often (seconds)
RUNS, TABLE, ERROR = "runs", "runs.csv", "error.txt"
DONE, SKIPPED, FAILED, UNFINISHED = "done", "skipped", "failed", "unfinished"
FIELDS = tuple(field.name for field in dataclasses.fields(SimulationConfig))


class RunsFailed(RuntimeError):
    """Some runs of a sweep failed; their error.txt files say why."""


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: its validated config, its key (``store.run_key``), its directory, and a
    label naming the values that set it apart in the sweep (``phi=0.6, seed=2``)."""
    key: str
    config: dict
    run_dir: Path
    label: str


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What became of a run: status DONE, SKIPPED (already done) or FAILED, with a one-line error;
    the attempts made and the seconds they took in the worker (0 for a run skipped here)."""
    spec: RunSpec
    status: str
    error: str | None = None
    attempts: int = 1
    seconds: float = 0.0


@dataclasses.dataclass(frozen=True)
class Progress:
    """Where a sweep stands, as handed to run_sweep's progress callback: the outcome just recorded
    (None when only the number of running runs changed), the outcomes so far by status (DONE,
    SKIPPED, FAILED), the runs executing now, and the runs not started yet."""
    outcome: Outcome | None
    counts: dict[str, int]
    running: int
    remaining: int


@dataclasses.dataclass
class SweepReport:
    """The outcomes of the runs that were reached, the table written, and whether ``stop`` ended the
    sweep before every run had an outcome."""
    outcomes: list[Outcome]
    table: Path
    interrupted: bool = False

    def count(self, status: str) -> int:
        return sum(outcome.status == status for outcome in self.outcomes)

    def require_success(self) -> None:
        """Raise RunsFailed naming the first failed run, if any failed."""
        failures = [o for o in self.outcomes if o.status == FAILED]
        if failures:
            first = failures[0]
            raise RunsFailed(f"{len(failures)} runs failed, first {first.spec.label}: {first.error} "
                             f"(see {first.spec.run_dir / ERROR})")


# Executor: called as executor(fn, specs), it runs fn (a picklable RunSpec -> Outcome function)
# on every spec and yields a (spec, future) pair as each run finishes, in any order:
# future.result() returns the Outcome or raises what went wrong on the way (a lost worker). While
# runs are in progress it also yields, at least every TICK_S seconds, the number of runs executing
# now (an int). It is a generator: closing it cancels the runs not started.
Executor = Callable[[Callable[[RunSpec], Outcome], Sequence[RunSpec]],
                    Iterator[tuple[RunSpec, Future] | int]]


def load_sweep(path: str | Path, overrides: dict | None = None) -> dict:
    """The sweep in the YAML file at path, with overrides: ``out`` replaces its output directory, a
    setting (SETTINGS; dotted for a nested one, ``dask.slurm.jobs``) replaces the file's, and a
    SimulationConfig field goes into base (a grid field is then fixed to that one value; a zipped
    field cannot be overridden). Returns name, base, grid, zip, out and the settings given; neither
    the runs nor the settings are checked yet.
    """
    path = Path(path)
    sweep = read_preset(path)
    base, grid, zipped = _sections(sweep)
    settings = {key: copy.deepcopy(sweep[key]) for key in SETTINGS if key in sweep}
    overrides = dict(overrides or {})
    name = str(sweep.get("name") or path.stem)
    out = overrides.pop("out", None) or sweep.get("out") or Path("runs/sweeps") / name
    for field, value in overrides.items():
        if field.partition(".")[0] in SETTINGS:
            _set_nested(settings, field.split("."), value)
        elif field in zipped:
            raise ConfigError(field, f"is zipped in {path} (with {', '.join(sorted(zipped))}); "
                                     "change it in the sweep file")
        else:
            grid.pop(field, None)
            base[field] = value
    return {"name": name, "base": base, "grid": grid, "zip": zipped, "out": str(out), **settings}


def _set_nested(mapping: dict, path: list[str], value) -> None:
    """mapping[path[0]][path[1]]... = value, making the mappings on the way."""
    for depth, key in enumerate(path[:-1]):
        mapping = mapping.setdefault(key, {})
        if not isinstance(mapping, dict):
            raise ConfigError(".".join(path[:depth + 1]), f"is {mapping!r}, not a mapping of settings")
    mapping[path[-1]] = value


def expand(sweep: dict) -> list[dict]:
    """The runs of a sweep (a mapping with base, grid and zip) as validated config dicts
    (``kinds.kind_of``: particle, class-manifold or self-supervised runs), in product order; runs that are equal after validation appear once.

    Raises ConfigError before anything runs: for a malformed sweep, naming the key; for a bad run,
    naming the field, the run's index in the product (from 0) and its swept values.
    """
    base, grid, zipped = _sections(sweep)
    swept = [*grid, *zipped]
    runs = {}
    for index, values in enumerate(_products(base, grid, zipped)):
        try:
            config = kinds.kind_of(values).config_class.from_dict(values).to_dict()
        except ConfigError as error:
            label = ", ".join(f"{field}={values[field]}" for field in swept)
            message = str(error).removeprefix(f"{error.field}: ")
            raise ConfigError(error.field, f"sweep run {index} ({label}): {message}") from None
        runs.setdefault(store.run_key(config), config)
    return list(runs.values())


def _sections(sweep: dict) -> tuple[dict, dict, dict]:
    """Copies of base, grid and zip, checked for shape: mappings, non-empty lists, one zip length,
    no field in two of them."""
    unknown = sorted(set(sweep) - set(SWEEP_KEYS))
    if unknown:
        raise ConfigError(unknown[0], f"unknown sweep key; a sweep holds {', '.join(SWEEP_KEYS)}")
    sections = {}
    for section in ("base", "grid", "zip"):
        values = sweep.get(section) or {}
        if not isinstance(values, dict):
            raise ConfigError(section, f"must be a mapping of field: value, got {type(values).__name__}")
        sections[section] = dict(values)
    base, grid, zipped = sections.values()
    for section, values in (("grid", grid), ("zip", zipped)):
        for field, value in values.items():
            if not isinstance(value, list) or not value or any(v == [] for v in value):
                raise ConfigError(field, f"{section} values must be a non-empty list, got {value!r}")
    if len({len(values) for values in zipped.values()}) > 1:
        lengths = ", ".join(f"{field} has {len(values)}" for field, values in zipped.items())
        raise ConfigError("zip", f"the zipped lists must be equally long; {lengths}")
    twice = sorted((base.keys() & grid.keys()) | (base.keys() & zipped.keys()) | (grid.keys() & zipped.keys()))
    if twice:
        raise ConfigError(twice[0], "is set in more than one of base, grid and zip; keep one")
    return base, grid, zipped


def _products(base: dict, grid: dict, zipped: dict) -> Iterator[dict]:
    """The raw run mappings: for each zip row, the product of the grid and of the row's lists."""
    rows = [dict(zip(zipped, values)) for values in zip(*zipped.values())] or [{}]
    for row in rows:
        axes = {**grid, **{field: value for field, value in row.items() if isinstance(value, list)}}
        fixed = {field: value for field, value in row.items() if not isinstance(value, list)}
        for values in itertools.product(*axes.values()):
            yield {**base, **fixed, **dict(zip(axes, values))}


def plan(configs: Sequence[dict], out_dir: str | Path) -> list[RunSpec]:
    """The RunSpec of each validated config under out_dir/runs/, labelled by the fields that vary."""
    fields = dict.fromkeys(field for config in configs for field in config)
    varying = [field for field in fields if len({repr(config.get(field)) for config in configs}) > 1]
    specs = []
    for config in configs:
        key = store.run_key(config)
        label = ", ".join(f"{field}={config[field]}" for field in varying if field in config) or key
        specs.append(RunSpec(key, config, Path(out_dir) / RUNS / key, label))
    return specs


def is_done(run_dir: Path) -> bool:
    return (run_dir / store.SUMMARY).exists()


def run_one(spec: RunSpec) -> Outcome:
    """Execute spec in its directory unless it is done, continuing from its checkpoint if there is
    one. A failure is written to error.txt (the traceback) and returned, not raised."""
    if is_done(spec.run_dir):
        return Outcome(spec, SKIPPED)
    try:
        kind = kinds.kind_of(spec.config)
        store.prepare_run_dir(spec.run_dir, spec.config, overwrite=False, resume=True)
        (spec.run_dir / ERROR).unlink(missing_ok=True)
        store.write_config(spec.run_dir, spec.config)
        execute, write = kind.executor()        # torch and FAISS load only where a run trains
        write(spec.run_dir, execute(**spec.config, checkpoint=spec.run_dir / store.CHECKPOINT, resume=True))
    except Exception as error:
        return failed(spec, error)
    return Outcome(spec, DONE)


def run_attempts(spec: RunSpec, retries: int = 0) -> Outcome:
    """``run_one`` up to 1 + retries times, until an attempt does not fail. Returns the last
    attempt's Outcome with the attempts made and their seconds; each attempt continues from the
    checkpoint of the one before."""
    began = time.perf_counter()
    for attempt in range(1, retries + 2):
        outcome = run_one(spec)
        if outcome.status != FAILED:
            break
    return dataclasses.replace(outcome, attempts=attempt, seconds=time.perf_counter() - began)


def failed(spec: RunSpec, error: BaseException) -> Outcome:
    """Write error's traceback to the run's error.txt and return the FAILED outcome."""
    spec.run_dir.mkdir(parents=True, exist_ok=True)
    store.atomic_write_text(spec.run_dir / ERROR, "".join(traceback.format_exception(error)))
    return Outcome(spec, FAILED, f"{type(error).__name__}: {error}")


def inline(fn: Callable[[RunSpec], Outcome], specs: Sequence[RunSpec]) -> Iterator[tuple[RunSpec, Future] | int]:
    """The Executor that runs every spec in this process, one after another (tests, debugging)."""
    for spec in specs:
        yield 1
        future = Future()
        try:
            future.set_result(fn(spec))
        except Exception as error:
            future.set_exception(error)
        yield spec, future


def process_pool(workers: int) -> Executor:
    """The Executor that runs the specs in ``workers`` fresh processes (spawned, so that nothing of
    this process's threads is inherited), each using its share of the CPUs for numba threads.
    Workers ignore Ctrl-C: on closing, the runs in progress finish and the queued ones are cancelled.
    """
    def execute(fn, specs):
        if not specs:
            return
        count = min(workers, len(specs))
        task = functools.partial(with_threads, share_of_cpus(count), fn)
        pool = ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=ignore_ctrl_c)
        try:
            futures = {pool.submit(task, spec): spec for spec in specs}
            yield from as_finished(futures, lambda pending: min(count, sum(f.running() for f in pending)))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    return execute


def ignore_ctrl_c() -> None:
    """Let Ctrl-C in the terminal reach the sweep's own process only, not its workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def share_of_cpus(workers: int) -> int:
    """The numba threads of each of workers processes sharing this machine's CPUs (at least 1)."""
    return max(1, (os.cpu_count() or 1) // workers)


def with_threads(threads: int, fn: Callable[[RunSpec], Outcome], spec: RunSpec) -> Outcome:
    """fn(spec) with numba using at most threads threads in the calling thread (numba's setting is
    per thread, so a worker that runs tasks in a thread pool is covered too)."""
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    return fn(spec)


def as_finished(futures: dict, running: Callable) -> Iterator[tuple[RunSpec, Future] | int]:
    """The Executor's stream for futures (future -> spec; any futures with ``add_done_callback``):
    each finished (spec, future) pair, and running(pending), the number of the pending futures
    executing now, at least every TICK_S seconds."""
    finished = queue.SimpleQueue()
    for future in futures:
        future.add_done_callback(finished.put)
    pending, reported = set(futures), -math.inf
    while pending:
        try:
            future = finished.get(timeout=TICK_S)
            pending.remove(future)
            yield futures[future], future
        except queue.Empty:
            pass
        if pending and time.monotonic() - reported >= TICK_S:
            yield running(pending)
            reported = time.monotonic()


def local_executor(workers: int | None = None) -> Executor:
    """``inline`` for workers=1, else a ``process_pool`` of workers processes (default: the CPU count)."""
    workers = (os.cpu_count() or 1) if workers is None else workers
    return inline if workers == 1 else process_pool(workers)


def run_sweep(configs: Sequence[dict], out_dir: str | Path, executor: Executor | None = None,
              progress: Callable[[Progress], None] | None = None,
              stop: Callable[[], bool] | None = None, retries: int = 0) -> SweepReport:
    """Execute the validated configs (``expand``) under out_dir, skipping the runs already done, then
    write the table (``aggregate``).

    executor: an Executor (default ``local_executor()``). progress: called with a Progress for each
    Outcome as it comes (the skipped runs first) and whenever the executor reports its running
    runs. stop: asked after each of these; True ends the sweep early (the executor is closed) and
    the report says interrupted. retries: a failed run is attempted up to this many more times in
    its worker (``run_attempts``); a failed run never stops the others.
    """
    out_dir = Path(out_dir)
    outcomes, counts, running = [], dict.fromkeys((DONE, SKIPPED, FAILED), 0), 0
    specs, pending = plan(configs, out_dir), []

    def report(outcome: Outcome | None) -> None:
        if outcome is not None:
            outcomes.append(outcome)
            counts[outcome.status] += 1
        if progress is not None:
            left = len(specs) - len(outcomes)
            progress(Progress(outcome, dict(counts), min(running, left), left - min(running, left)))

    for spec in specs:
        if is_done(spec.run_dir):
            report(Outcome(spec, SKIPPED))
        else:
            pending.append(spec)
    task = functools.partial(run_attempts, retries=retries)
    with contextlib.closing((executor or local_executor())(task, pending)) as results:
        for item in results:
            if isinstance(item, int):
                running = item
                report(None)
            else:
                spec, future = item
                try:
                    outcome = future.result()
                except Exception as error:  # the worker itself failed (killed, out of memory)
                    outcome = failed(spec, error)
                running = max(0, running - 1)
                report(outcome)
            if stop is not None and stop():
                break
    aggregate(out_dir)
    return SweepReport(outcomes, out_dir / TABLE, interrupted=len(outcomes) < len(specs))


def aggregate(out_dir: str | Path) -> list[dict]:
    """One row per finished run under out_dir, also written atomically to out_dir/runs.csv.

    A row holds run_key, the config fields, the summary fields (absorbed, absorption_step,
    final_active_fraction, relaxation_time, last_step, wall_time_s, ...; nested ones with dotted
    names, such as baselines.pca.knn_accuracy), f_inf, the mean of
    the last 10% of the recorded active fractions, and steady (``criticality.is_steady``; empty
    when the series is too short to tell). Rows are sorted by config, then run_key.
    """
    out_dir = Path(out_dir)
    rows = sorted((_row(summary.parent) for summary in (out_dir / RUNS).glob(f"*/{store.SUMMARY}")),
                  key=_order)
    columns = list(dict.fromkeys(column for row in rows for column in row))
    table = io.StringIO()
    writer = csv.DictWriter(table, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    store.atomic_write_text(out_dir / TABLE, table.getvalue())
    return rows


def read_table(out_dir: str | Path) -> list[dict]:
    """The rows of out_dir/runs.csv as written by ``aggregate`` (values as strings)."""
    with open(Path(out_dir) / TABLE, newline="") as handle:
        return list(csv.DictReader(handle))


def cells_by_phi(rows: list[dict]) -> dict[str, np.ndarray]:
    """Per phi of table rows (``read_table``): the absorbed fraction, f_inf (0 for an absorbed run)
    and tau, means over the rows with their standard errors (0 for a single row); arrays over phi,
    sorted."""
    by_phi: dict[float, list[dict]] = {}
    for row in rows:
        by_phi.setdefault(float(row["phi"]), []).append(row)
    columns: dict[str, list] = {k: [] for k in ("phi", "absorbed", "f", "df", "tau", "dtau")}
    for phi, members in sorted(by_phi.items()):
        absorbed = np.array([row["absorbed"] == "True" for row in members])
        f = np.where(absorbed, 0.0, [float(row["f_inf"]) for row in members])
        tau = np.array([float(row["relaxation_time"]) for row in members])
        root = np.sqrt(len(members))
        columns["phi"].append(phi)
        columns["absorbed"].append(absorbed.mean())
        columns["f"].append(f.mean())
        columns["df"].append(f.std(ddof=1) / root if len(members) > 1 else 0.0)
        columns["tau"].append(tau.mean())
        columns["dtau"].append(tau.std(ddof=1) / root if len(members) > 1 else 0.0)
    return {k: np.array(v, dtype=float) for k, v in columns.items()}


def _row(run_dir: Path) -> dict:
    config = read_preset(run_dir / store.CONFIG)
    summary = _flat(json.loads((run_dir / store.SUMMARY).read_text()))
    results = {key: value for key, value in summary.items() if key not in config and key != "config_key"}
    _, active_fraction, _ = store.read_series(run_dir)
    try:
        steady = is_steady(active_fraction)
    except ValueError:      # too few records to tell
        steady = None
    return {"run_key": run_dir.name, **config, **results, "f_inf": steady_state_activity(active_fraction),
            "steady": steady}


def _flat(values: dict, prefix: str = "") -> dict:
    """Nested dicts as one level with dotted keys: {"a": {"b": 1}} -> {"a.b": 1}."""
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _order(row: dict) -> tuple:
    """Sort by the config fields in SimulationConfig order (unset ones first), then by run key."""
    return (*((row.get(field) is not None, row.get(field) or 0) for field in FIELDS), row["run_key"])


def load_series(out_dir: str | Path, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The recorded series of run key: steps (int64), active_fraction and loss (float64), each (records,)."""
    return store.read_series(Path(out_dir) / RUNS / key)


def sweep_status(out_dir: str | Path) -> dict[str, list[str]]:
    """The run keys under out_dir by state: DONE (summary.json), FAILED (error.txt, no summary) and
    UNFINISHED (config.yaml only: interrupted, or running now)."""
    runs = Path(out_dir) / RUNS
    if not runs.is_dir():
        raise ConfigError("out", f"{out_dir} holds no sweep (no {runs} directory)")
    states = {DONE: [], UNFINISHED: [], FAILED: []}
    for run_dir in sorted(path for path in runs.iterdir() if path.is_dir()):
        if is_done(run_dir):
            states[DONE].append(run_dir.name)
        elif (run_dir / ERROR).exists():
            states[FAILED].append(run_dir.name)
        elif (run_dir / store.CONFIG).exists():
            states[UNFINISHED].append(run_dir.name)
    return states
