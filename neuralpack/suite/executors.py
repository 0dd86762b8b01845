"""Where a sweep's runs execute: a process pool on this machine, or a Dask cluster.

The settings come from the sweep file, and from the command line as key=value (dotted inside the
dask block: ``dask.slurm.jobs=8``), which wins::

    executor: dask          # local (default): a process pool on this machine; dask: Dask, below
    workers: 4              # worker processes on this machine (executor=local, or dask with a
                            # LocalCluster); default the CPU count
    retries: 2              # a failed run is attempted up to this many more times (default 2)
    dask:
      cluster: local        # local (default): a LocalCluster started for the sweep; slurm: below
      address: tcp://host:8786   # or: the scheduler of a running cluster (excludes cluster)
      slurm:                # jobs of workers submitted through dask-jobqueue (cluster: slurm)
        partition: short    # sbatch -p; default the cluster's default partition
        account: myproject  # sbatch -A; optional
        walltime: "02:00:00"  # sbatch -t per job; quote it (YAML reads 02:00:00 as 7200 seconds,
                            # which is taken as such: a bare number is seconds)
        cores: 32           # CPU cores per job (required)
        memory: 64GB        # memory per job (required)
        processes: 32       # worker processes per job (default cores), dividing cores
        jobs: 4             # jobs to run (the most at a time with adapt)
        adapt: false        # true: request up to jobs jobs while runs wait, release idle ones

Every Dask cluster is driven the same way (``dask_cluster.dask_executor``; Dask loads only
there): each run is one task, and each worker process runs one run at a time (one Dask thread)
with its share of the cores as numba threads (``share_of_cpus`` for a LocalCluster, cores /
processes on SLURM; workers of an existing scheduler are used as they were started). A run that
fails is attempted again in its worker (``sweep.run_attempts``); a run whose worker died (killed,
out of memory, out of walltime) is handed to another worker by the scheduler up to ``retries``
times (``distributed.scheduler.allowed-failures``; an existing scheduler keeps its own setting).
Every attempt continues from the run's checkpoint and a finished run is stored once under its key, so
the results do not depend on the executor or on the failures on the way.
"""
import dataclasses
import functools
import importlib.util
import logging
import math
import multiprocessing
import os
import queue
import re
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor

import numba

from physics_baseline.validate import ConfigError, as_choice, as_int

EXECUTORS = ("local", "dask")
CLUSTERS = ("local", "slurm")
DASK_KEYS = ("cluster", "address", "slurm")
SLURM_KEYS = ("partition", "account", "walltime", "cores", "memory", "processes", "jobs", "adapt")
DEFAULT_RETRIES = 2
TICK_S = 0.5  # executors report the number of running runs at least this often (seconds)

# Executor: called as executor(fn, specs), it runs fn (a picklable RunSpec -> Outcome function,
# ``sweep.run_attempts``) on every spec and yields a (spec, future) pair as each run finishes, in
# any order: future.result() returns the Outcome or raises what went wrong on the way (a lost
# worker). While runs are in progress it also yields, at least every TICK_S seconds, the number of
# runs executing now (an int). It is a generator: closing it cancels the runs not started.
Executor = Callable[[Callable, Sequence], Iterator[tuple[object, Future] | int]]
WALLTIME = re.compile(r"(\d+-)?\d+(:\d\d){0,2}")  # SLURM's minutes, MM:SS, HH:MM:SS, D-HH[:MM[:SS]]


@dataclasses.dataclass(frozen=True)
class Slurm:
    """SLURM jobs of Dask workers: each job holds cores CPU cores and memory (a size such as
    "64GB"), split among processes worker processes; walltime is SLURM's [D-]HH:MM:SS."""
    cores: int
    memory: str
    processes: int
    jobs: int = 1
    partition: str | None = None
    account: str | None = None
    walltime: str = "01:00:00"
    adapt: bool = False

    @classmethod
    def from_settings(cls, values) -> "Slurm":
        """The Slurm jobs of the dask.slurm settings, or a ConfigError naming the bad one."""
        _check_keys("dask.slurm", values, SLURM_KEYS)
        for key in ("cores", "memory"):
            if values.get(key) is None:
                raise ConfigError(f"dask.slurm.{key}", "is required with dask.cluster=slurm (per job)")
        cores = as_int("dask.slurm.cores", values["cores"], 1)
        processes = as_int("dask.slurm.processes", values.get("processes", cores), 1, cores)
        if cores % processes:
            raise ConfigError("dask.slurm.processes", f"must divide dask.slurm.cores = {cores}; got {processes}")
        adapt = values.get("adapt", False)
        if not isinstance(adapt, bool):
            raise ConfigError("dask.slurm.adapt", f"must be true or false, got {adapt!r}")
        return cls(cores=cores, memory=_memory(values["memory"]), processes=processes,
                   jobs=as_int("dask.slurm.jobs", values.get("jobs", 1), 1),
                   partition=_name("dask.slurm.partition", values.get("partition")),
                   account=_name("dask.slurm.account", values.get("account")),
                   walltime=_walltime(values.get("walltime", cls.walltime)), adapt=adapt)

    @property
    def threads(self) -> int:
        """The numba threads of each worker process."""
        return self.cores // self.processes

    def cluster(self):
        """A dask_jobqueue.SLURMCluster for these jobs, with its scheduler in this process and no
        job submitted yet (``job_script()`` shows the script each job runs)."""
        from dask_jobqueue import SLURMCluster
        # dask-jobqueue's cores are Dask threads: one per worker process; job_cpu books the cores
        return SLURMCluster(queue=self.partition, account=self.account, walltime=self.walltime,
                            cores=self.processes, processes=self.processes, job_cpu=self.cores,
                            memory=self.memory, silence_logs=logging.ERROR)


@dataclasses.dataclass(frozen=True)
class Execution:
    """How a sweep's runs execute (the module docstring tells the settings). workers: processes on
    this machine (None: the CPU count); slurm: the dask.slurm settings, if given."""
    executor: str = "local"
    workers: int | None = None
    retries: int = DEFAULT_RETRIES
    cluster: str = "local"
    address: str | None = None
    slurm: Slurm | None = None

    @classmethod
    def from_settings(cls, settings: dict) -> "Execution":
        """The Execution of a sweep's settings (``sweep.load_sweep``; keys other than executor,
        workers, retries and dask are not read), or a ConfigError naming the bad setting.
        The dask block is checked with any executor and used with executor=dask."""
        executor = as_choice("executor", settings.get("executor", "local"), EXECUTORS)
        if executor == "dask" and not all(importlib.util.find_spec(name) for name in ("dask", "distributed")):
            raise ConfigError("executor", "executor=dask needs the 'cluster' extra: pip install 'neuralpack[cluster]'")
        workers = settings.get("workers")
        block = settings.get("dask") or {}
        _check_keys("dask", block, DASK_KEYS)
        cluster = as_choice("dask.cluster", block.get("cluster", "local"), CLUSTERS)
        address = _name("dask.address", block.get("address"))
        if address is not None and "cluster" in block:
            raise ConfigError("dask.address", "connects to a running scheduler; drop dask.cluster, which "
                                              "starts a cluster for the sweep")
        slurm = block.get("slurm")
        if cluster == "slurm" and slurm is None:
            raise ConfigError("dask.slurm", "is required with dask.cluster=slurm (cores, memory, jobs, ...)")
        return cls(executor=executor, workers=None if workers is None else as_int("workers", workers, 1),
                   retries=as_int("retries", settings.get("retries", DEFAULT_RETRIES), 0),
                   cluster=cluster, address=address,
                   slurm=None if slurm is None else Slurm.from_settings(slurm))

    @property
    def processes(self) -> int:
        """The worker processes started on this machine (a process pool or a LocalCluster)."""
        return self.workers or os.cpu_count() or 1

    def make_executor(self) -> Executor:
        """The Executor: ``local_executor`` or ``dask_cluster.dask_executor``."""
        if self.executor == "local":
            return local_executor(self.processes)
        from neuralpack.suite import dask_cluster
        return dask_cluster.dask_executor(self)

    def describe(self) -> str:
        """Where the runs execute, in a few words for the terminal."""
        if self.executor == "local":
            return f"{self.processes} local worker processes" if self.processes > 1 else "this process"
        if self.address is not None:
            return f"the Dask scheduler at {self.address}"
        if self.cluster == "local":
            return f"a Dask LocalCluster of {self.processes} workers"
        jobs = f"up to {self.slurm.jobs}" if self.slurm.adapt else str(self.slurm.jobs)
        return (f"{jobs} SLURM jobs of {self.slurm.processes} Dask workers x {self.slurm.threads} "
                f"threads (partition {self.slurm.partition or 'default'}, walltime {self.slurm.walltime})")


def inline(fn: Callable, specs: Sequence) -> Iterator[tuple[object, Future] | int]:
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


def with_threads(threads: int, fn: Callable, spec):
    """fn(spec) with numba using at most threads threads in the calling thread (numba's setting is
    per thread, so a worker that runs tasks in a thread pool is covered too)."""
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    return fn(spec)


def as_finished(futures: dict, running: Callable) -> Iterator[tuple[object, Future] | int]:
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


def _check_keys(block: str, values, allowed: tuple[str, ...]) -> None:
    if not isinstance(values, dict):
        raise ConfigError(block, f"must be a mapping of {', '.join(allowed)}; got {values!r}")
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ConfigError(f"{block}.{unknown[0]}", f"unknown setting; {block} takes {', '.join(allowed)}")


def _name(field: str, value) -> str | None:
    """value if it is None or a non-empty string without spaces."""
    if value is not None and (not isinstance(value, str) or not value or " " in value):
        raise ConfigError(field, f"must be a name without spaces, got {value!r}")
    return value


def _memory(value) -> str:
    """value as a memory size that Dask reads ("64GB", "16 GiB")."""
    from dask.utils import parse_bytes
    try:
        if parse_bytes(str(value)) > 0:
            return str(value)
    except ValueError:
        pass
    raise ConfigError("dask.slurm.memory", f"must be a size such as 64GB or 16GiB per job, got {value!r}")


def _walltime(value) -> str:
    """value as SLURM's walltime: a string in one of its formats, or seconds as HH:MM:SS."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return f"{value // 3600:02d}:{value // 60 % 60:02d}:{value % 60:02d}"
    if isinstance(value, str) and WALLTIME.fullmatch(value):
        return value
    raise ConfigError("dask.slurm.walltime", f"must be [D-]HH:MM:SS (quoted in YAML) or seconds, got {value!r}")
