"""Sweeps: many runs from one YAML file, each stored once, executed anywhere, tabulated.

A sweep file (``configs/sweeps/NAME.yaml``) holds::

    name: NAME              # optional; the file's stem by default
    kind: particles         # optional: particles (default), class_manifolds or ssl (``kinds``)
    base:                   # config fields shared by every run
      {dynamics: bro, eps: 0.02, steps: 5000}
    grid:                   # field -> values; the runs are the Cartesian product
      {n: [1000, 2000], seed: [1, 2, 3]}
    zip:                    # optional: fields whose lists are taken together, row by row;
      d: [2, 3]             # a list inside a row is one more product axis for that row
      phi: [[0.82, 0.84], [0.60, 0.62]]
    out: runs/sweeps/NAME   # optional; this default, relative to the working directory
    executor: local         # optional settings of how and where the runs execute (SETTINGS:
    retries: 2              # executor, workers, retries, tracking, dask; ``executors``)

A field is set in one of base, grid and zip. The runs come in product order: the zip rows
outermost, then the grid fields in file order, then a row's own lists (the last varies fastest).
Every run is validated before anything is written.

Layout of the output directory OUT (``formats``)::

    OUT/runs/<run_key>/   one run directory per run; summary.json marks it done, error.txt failed
    OUT/runs.csv          one row per finished run (``sweep_table.aggregate``)

A run is keyed by the hash of its whole validated config, so a run shared by two sweeps writing
into the same OUT is stored and executed once; changing any field (steps included) is a new run.
A run that fails is attempted again (``retries``), each attempt continuing from its checkpoint.
"""
import contextlib
import copy
import dataclasses
import functools
import itertools
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from neuralpack.suite import executors, formats, kinds, runner, store, sweep_table
from neuralpack.suite.presets import read_preset
from physics_baseline import atomic
from physics_baseline.validate import ConfigError

SETTINGS = ("executor", "workers", "retries", "tracking", "dask")  # how the runs execute, not what they are
SWEEP_KEYS = ("name", "kind", "base", "grid", "zip", "out", *SETTINGS)
DONE, SKIPPED, FAILED = "done", "skipped", "failed"


class RunsFailed(RuntimeError):
    """Some runs of a sweep failed; their error.txt files say why."""


@dataclasses.dataclass(frozen=True)
class Planned:
    """One run of a sweep: its kind (``kinds``) and its validated config object."""
    kind: str
    config: object

    @functools.cached_property
    def values(self) -> dict:
        """The config as stored (``to_dict()``)."""
        return self.config.to_dict()

    @functools.cached_property
    def key(self) -> str:
        return formats.run_key(self.values)


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One run of a sweep in its place: its key, kind, validated config object and directory, and
    a label naming the values that set it apart in the sweep (``phi=0.6, seed=2``)."""
    key: str
    kind: str
    config: object
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
                             f"(see {first.spec.run_dir / formats.ERROR})")


def load_sweep(path: str | Path, overrides: dict | None = None) -> dict:
    """The sweep in the YAML file at path, with overrides: ``out`` and ``kind`` replace the file's, a
    setting (SETTINGS; dotted for a nested one, ``dask.slurm.jobs``) replaces the file's, and a
    config field goes into base (a grid field is then fixed to that one value; a zipped field
    cannot be overridden). Returns name, kind, base, grid, zip, out and the settings given;
    neither the runs nor the settings are checked yet.
    """
    path = Path(path)
    sweep = read_preset(path)
    base, grid, zipped = _sections(sweep)
    settings = {key: copy.deepcopy(sweep[key]) for key in SETTINGS if key in sweep}
    overrides = dict(overrides or {})
    name = str(sweep.get("name") or path.stem)
    out = overrides.pop("out", None) or sweep.get("out") or Path("runs/sweeps") / name
    kind = overrides.pop("kind", None) or sweep.get("kind", kinds.PARTICLES)
    for field, value in overrides.items():
        if field.partition(".")[0] in SETTINGS:
            _set_nested(settings, field.split("."), value)
        elif field in zipped:
            raise ConfigError(field, f"is zipped in {path} (with {', '.join(sorted(zipped))}); "
                                     "change it in the sweep file")
        else:
            grid.pop(field, None)
            base[field] = value
    return {"name": name, "kind": kind, "base": base, "grid": grid,
            "zip": zipped, "out": str(out), **settings}


def _set_nested(mapping: dict, path: list[str], value) -> None:
    """mapping[path[0]][path[1]]... = value, making the mappings on the way."""
    for depth, key in enumerate(path[:-1]):
        mapping = mapping.setdefault(key, {})
        if not isinstance(mapping, dict):
            raise ConfigError(".".join(path[:depth + 1]), f"is {mapping!r}, not a mapping of settings")
    mapping[path[-1]] = value


def expand(sweep: dict) -> list[Planned]:
    """The runs of a sweep (a mapping with kind, base, grid and zip; kind particles by default),
    validated here, once, in product order; runs that are equal after validation appear once.

    Raises ConfigError before anything runs: for a malformed sweep, naming the key; for a bad run,
    naming the field, the run's index in the product (from 0) and its swept values.
    """
    kind = kinds.get(sweep.get("kind", kinds.PARTICLES))
    base, grid, zipped = _sections(sweep)
    swept = [*grid, *zipped]
    runs = {}
    for index, values in enumerate(_products(base, grid, zipped)):
        try:
            config = kind.config(values)
        except ConfigError as error:
            label = ", ".join(f"{field}={values[field]}" for field in swept)
            message = str(error).removeprefix(f"{error.field}: ")
            raise ConfigError(error.field, f"sweep run {index} ({label}): {message}") from None
        planned = Planned(kind.name, config)
        runs.setdefault(planned.key, planned)
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


def plan(runs: Sequence[Planned], out_dir: str | Path) -> list[RunSpec]:
    """The RunSpec of each planned run under out_dir/runs/, labelled by the fields that vary."""
    stored = [planned.values for planned in runs]
    fields = dict.fromkeys(field for values in stored for field in values)
    varying = [field for field in fields if len({repr(values.get(field)) for values in stored}) > 1]
    specs = []
    for planned, values in zip(runs, stored):
        label = ", ".join(f"{field}={values[field]}" for field in varying if field in values) or planned.key
        specs.append(RunSpec(planned.key, planned.kind, planned.config, Path(out_dir) / formats.RUNS / planned.key,
                             label))
    return specs


def run_one(spec: RunSpec) -> Outcome:
    """Execute spec in its directory (``runner.run``, resumed from its checkpoint if there is one)
    unless it is done. A failure is written to error.txt (the traceback) and returned, not raised."""
    if store.is_done(spec.run_dir):
        return Outcome(spec, SKIPPED)
    try:
        kind = kinds.get(spec.kind)
        (spec.run_dir / formats.ERROR).unlink(missing_ok=True)
        runner.run(kind, spec.config, spec.run_dir, runner.SWEEP_WORKER)
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
    atomic.write_text(spec.run_dir / formats.ERROR, "".join(traceback.format_exception(error)))
    return Outcome(spec, FAILED, f"{type(error).__name__}: {error}")


def run_sweep(runs: Sequence[Planned], out_dir: str | Path, executor: executors.Executor | None = None,
              progress: Callable[[Progress], None] | None = None,
              stop: Callable[[], bool] | None = None, retries: int = 0) -> SweepReport:
    """Execute the planned runs (``expand``) under out_dir, skipping the runs already done, then
    write the table (``sweep_table.aggregate``).

    executor: an Executor (default ``executors.local_executor()``). progress: called with a
    Progress for each Outcome as it comes (the skipped runs first) and whenever the executor
    reports its running runs. stop: asked after each of these; True ends the sweep early (the
    executor is closed) and the report says interrupted. retries: a failed run is attempted up to
    this many more times in its worker (``run_attempts``); a failed run never stops the others.
    """
    out_dir = Path(out_dir)
    outcomes, counts, running = [], dict.fromkeys((DONE, SKIPPED, FAILED), 0), 0
    specs, pending = plan(runs, out_dir), []

    def report(outcome: Outcome | None) -> None:
        if outcome is not None:
            outcomes.append(outcome)
            counts[outcome.status] += 1
        if progress is not None:
            left = len(specs) - len(outcomes)
            progress(Progress(outcome, dict(counts), min(running, left), left - min(running, left)))

    for spec in specs:
        if store.is_done(spec.run_dir):
            report(Outcome(spec, SKIPPED))
        else:
            pending.append(spec)
    task = functools.partial(run_attempts, retries=retries)
    with contextlib.closing((executor or executors.local_executor())(task, pending)) as results:
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
    sweep_table.aggregate(out_dir)
    return SweepReport(outcomes, out_dir / formats.TABLE, interrupted=len(outcomes) < len(specs))
