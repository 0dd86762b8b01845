"""Sweeps on Dask: a LocalCluster, SLURM jobs (dask-jobqueue) or a running scheduler.

The settings are ``executors.Execution``'s (its docstring tells them); this module, and so Dask,
loads only when a sweep asks for executor=dask.
"""
import contextlib
import functools
import logging

import dask
from distributed import Client, LocalCluster
from distributed.diagnostics.plugin import WorkerPlugin

from neuralpack.suite.executors import (
    Execution,
    Executor,
    as_finished,
    ignore_ctrl_c,
    share_of_cpus,
    with_threads,
)


def dask_executor(execution: Execution) -> Executor:
    """The Executor that submits every run as one task to the Dask cluster of execution (started
    for the sweep and stopped after it, unless it is an existing scheduler). Closing it cancels the
    runs not finished; a cluster started here stops its workers, whose runs keep their checkpoints.
    """
    def execute(fn, specs):
        if not specs:
            return
        with _client(execution) as (client, threads):
            task = fn if threads is None else functools.partial(with_threads, threads, fn)
            futures = {client.submit(task, spec, pure=False): spec for spec in specs}
            try:
                yield from as_finished(futures, functools.partial(_running, client))
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
                threads = share_of_cpus(execution.processes)
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
        ignore_ctrl_c()
