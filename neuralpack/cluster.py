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

Every Dask cluster is driven the same way (``dask_executor``): each run is one task, and each
worker process runs one run at a time (one Dask thread) with its share of the cores as numba
threads (``sweep.share_of_cpus`` for a LocalCluster, cores / processes on SLURM; workers of an
existing scheduler are used as they were started). A run that fails is attempted again in its
worker (``sweep.run_attempts``); a run whose worker died (killed, out of memory, out of walltime)
is handed to another worker by the scheduler up to ``retries`` times
(``distributed.scheduler.allowed-failures``; an existing scheduler keeps its own setting). Every
attempt continues from the run's checkpoint and a finished run is stored once under its key, so
the results do not depend on the executor or on the failures on the way.
"""
import contextlib
import dataclasses
import functools
import logging
import os
import re

import dask
from distributed import Client, LocalCluster
from distributed.diagnostics.plugin import WorkerPlugin

from neuralpack import sweep
from physics_baseline import ConfigError
from physics_baseline.config import as_choice, as_int

EXECUTORS = ("local", "dask")
CLUSTERS = ("local", "slurm")
DASK_KEYS = ("cluster", "address", "slurm")
SLURM_KEYS = ("partition", "account", "walltime", "cores", "memory", "processes", "jobs", "adapt")
DEFAULT_RETRIES = 2
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

    def make_executor(self) -> sweep.Executor:
        """The Executor: ``sweep.local_executor`` or ``dask_executor``."""
        return sweep.local_executor(self.processes) if self.executor == "local" else dask_executor(self)

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


def dask_executor(execution: Execution) -> sweep.Executor:
    """The Executor that submits every run as one task to the Dask cluster of execution (started
    for the sweep and stopped after it, unless it is an existing scheduler). Closing it cancels the
    runs not finished; a cluster started here stops its workers, whose runs keep their checkpoints.
    """
    def execute(fn, specs):
        if not specs:
            return
        with _client(execution) as (client, threads):
            task = fn if threads is None else functools.partial(sweep.with_threads, threads, fn)
            futures = {client.submit(task, spec, pure=False): spec for spec in specs}
            try:
                yield from sweep.as_finished(futures, functools.partial(_running, client))
            finally:
                client.cancel(list(futures))
    return execute


@contextlib.contextmanager
def _client(execution: Execution):
    """A Dask Client of execution's cluster, and the numba threads of each run (None: as the
    workers were started)."""
    with contextlib.ExitStack() as stack:
        if execution.address is not None:
            yield stack.enter_context(Client(execution.address)), None
            return
        with dask.config.set({"distributed.scheduler.allowed-failures": execution.retries}):
            if execution.cluster == "local":
                cluster = stack.enter_context(LocalCluster(
                    n_workers=execution.processes, threads_per_worker=1, processes=True,
                    silence_logs=logging.ERROR))
                threads = sweep.share_of_cpus(execution.processes)
            else:
                cluster = stack.enter_context(execution.slurm.cluster())
                threads = execution.slurm.threads
                if execution.slurm.adapt:
                    cluster.adapt(minimum_jobs=0, maximum_jobs=execution.slurm.jobs)
                else:
                    cluster.scale(jobs=execution.slurm.jobs)
        client = stack.enter_context(Client(cluster))
        if execution.cluster == "local":
            client.register_plugin(_IgnoreCtrlC())
        yield client, threads


def _running(client, pending: set) -> int:
    """How many of the pending futures execute now: per worker, its tasks in processing (which
    include those sent ahead to it) up to its number of threads."""
    keys = {future.key for future in pending}
    nthreads = client.nthreads()
    return sum(min(nthreads.get(worker, 0), len(keys.intersection(tasks)))
               for worker, tasks in client.processing().items())


class _IgnoreCtrlC(WorkerPlugin):
    """For workers on this machine: Ctrl-C in the terminal stops the sweep's own process, which then
    closes the cluster, rather than killing the workers in the middle of their runs."""

    def setup(self, worker) -> None:
        sweep.ignore_ctrl_c()


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
