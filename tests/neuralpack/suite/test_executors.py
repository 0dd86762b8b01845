import csv
import logging
import os
import signal
import threading
from pathlib import Path

import dask
import numpy as np
import pytest
import yaml
from distributed import Client, LocalCluster

import physics_baseline
from neuralpack import cli
from neuralpack.suite import executors, formats, presets, store, sweep
from physics_baseline.validate import ConfigError

SMOKE = presets.shipped_path("sweeps", "smoke")
WALL_CLOCK = ("wall_time_s", "particle_steps_per_s")
SLURM = {"partition": "short", "account": "proj", "walltime": "02:00:00", "cores": 8, "memory": "16GB",
         "processes": 4, "jobs": 3}


@pytest.fixture(autouse=True)
def no_wandb(monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "disabled")


def table(out):
    """runs.csv without its wall-clock columns, which differ from one execution to the next."""
    with open(Path(out) / "runs.csv", newline="") as handle:
        return [{k: v for k, v in row.items() if k not in WALL_CLOCK} for row in csv.DictReader(handle)]


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    return code, capsys.readouterr().out.splitlines()[-1]


@pytest.mark.parametrize("settings, field", [
    ({"executor": "spark"}, "executor"), ({"retries": -1}, "retries"), ({"workers": 0}, "workers"),
    ({"dask": 3}, "dask"), ({"dask": {"adress": "tcp://h:8786"}}, "dask.adress"),
    ({"dask": {"cluster": "pbs"}}, "dask.cluster"), ({"dask": {"cluster": "slurm"}}, "dask.slurm"),
    ({"dask": {"address": "tcp://h:8786", "cluster": "local"}}, "dask.address"),
    ({"dask": {"address": ""}}, "dask.address"),
    ({"dask": {"cluster": "slurm", "slurm": {"memory": "4GB"}}}, "dask.slurm.cores"),
    ({"dask": {"cluster": "slurm", "slurm": {"cores": 4}}}, "dask.slurm.memory"),
    ({"dask": {"slurm": {**SLURM, "processes": 3}}}, "dask.slurm.processes"),
    ({"dask": {"slurm": {**SLURM, "memory": "lots"}}}, "dask.slurm.memory"),
    ({"dask": {"slurm": {**SLURM, "walltime": "2 hours"}}}, "dask.slurm.walltime"),
    ({"dask": {"slurm": {**SLURM, "adapt": "yes"}}}, "dask.slurm.adapt"),
    ({"dask": {"slurm": {**SLURM, "jobs": 0}}}, "dask.slurm.jobs"),
    ({"dask": {"slurm": {**SLURM, "partition": "a b"}}}, "dask.slurm.partition"),
    ({"dask": {"slurm": {**SLURM, "queue": "short"}}}, "dask.slurm.queue"),
])
def test_bad_settings_name_the_setting(settings, field):
    with pytest.raises(ConfigError) as error:
        executors.Execution.from_settings(settings)
    assert error.value.field == field


def test_bad_settings_on_the_command_line_exit_2_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["sweep", str(SMOKE), f"out={out}", "executor=dask", "dask.cluster=pbs"]) == 2
    assert "error: dask.cluster: must be one of local, slurm; got 'pbs'" in capsys.readouterr().err
    assert cli.main(["sweep", str(SMOKE), f"out={out}", "dask.slurm=4"]) == 2
    assert "error: dask.slurm: must be a mapping" in capsys.readouterr().err
    assert not out.exists()


def test_the_sweep_file_holds_settings_that_dotted_overrides_replace(tmp_path):
    path = tmp_path / "on_slurm.yaml"
    path.write_text(yaml.safe_dump({"base": {"n": 300, "eps": 0.02}, "grid": {"phi": [0.5, 0.6]}, "executor": "dask",
                                    "dask": {"cluster": "slurm", "slurm": {**SLURM, "walltime": 7200}}}))
    definition = sweep.load_sweep(path, {"dask.slurm.jobs": 10, "dask.slurm.adapt": True, "retries": 0})
    execution = executors.Execution.from_settings(definition)
    assert (execution.executor, execution.cluster, execution.retries) == ("dask", "slurm", 0)
    assert execution.slurm == executors.Slurm(cores=8, memory="16GB", processes=4, jobs=10, partition="short",
                                            account="proj", walltime="02:00:00", adapt=True)
    assert len(sweep.expand(definition)) == 2
    assert "up to 10 SLURM jobs of 4 Dask workers x 2 threads" in execution.describe()
    local = executors.Execution.from_settings(sweep.load_sweep(path, {"executor": "local", "workers": 2}))
    assert local.describe() == "2 local worker processes" and local.slurm.jobs == 3


def test_the_slurm_job_script_books_the_settings():
    execution = executors.Execution.from_settings({"executor": "dask", "dask": {"cluster": "slurm", "slurm": SLURM}})
    with execution.slurm.cluster() as slurm:
        script = slurm.job_script()
    for line in ("#SBATCH -p short", "#SBATCH -A proj", "#SBATCH -t 02:00:00", "#SBATCH --cpus-per-task=8",
                 "#SBATCH --mem=15G"):
        assert line in script.splitlines()
    assert "--nthreads 1" in script and "--nworkers 4" in script and "--memory-limit 3.73GiB" in script
    assert execution.slurm.threads == 2


def test_the_slurm_example_is_a_valid_sweep():
    definition = sweep.load_sweep(SMOKE.with_name("slurm_example.yaml"), {"dask.slurm.account": "myproject"})
    execution = executors.Execution.from_settings(definition)
    assert (execution.executor, execution.cluster, execution.slurm.account) == ("dask", "slurm", "myproject")
    assert execution.slurm.threads == 2 and len(sweep.expand(definition)) == 54


def test_failed_runs_are_attempted_again_and_then_reported(tmp_path, monkeypatch):
    attempts = {}

    def flaky(config, **engine):
        attempts[config.seed] = attempts.get(config.seed, 0) + 1
        if config.seed == 1 and attempts[1] == 1 or config.seed == 2:
            raise RuntimeError(f"attempt {attempts[config.seed]} of seed {config.seed}")
        return real_simulate(config, **engine)

    real_simulate = physics_baseline.simulate
    monkeypatch.setattr(physics_baseline, "simulate", flaky)
    configs = sweep.expand({"base": {"n": 300, "phi": 0.5, "eps": 0.02, "steps": 50}, "grid": {"seed": [1, 2, 3]}})
    report = sweep.run_sweep(configs, tmp_path, executors.inline, retries=2)
    outcomes = {o.spec.config.seed: o for o in report.outcomes}
    assert attempts == {1: 2, 2: 3, 3: 1}
    assert [(outcomes[s].status, outcomes[s].attempts) for s in (1, 2, 3)] == [("done", 2), ("failed", 3), ("done", 1)]
    assert outcomes[2].error == "RuntimeError: attempt 3 of seed 2"
    assert "attempt 3 of seed 2" in (outcomes[2].spec.run_dir / formats.ERROR).read_text()
    assert not (outcomes[1].spec.run_dir / formats.ERROR).exists() and len(table(tmp_path)) == 2


def test_a_dask_local_cluster_gives_the_table_of_the_process_pool(tmp_path, capsys):
    for executor in ("local", "dask"):
        code, last = run_cli(capsys, "sweep", str(SMOKE), f"out={tmp_path / executor}", f"executor={executor}",
                             "workers=2")
        assert code == 0 and last.startswith("sweep smoke: 20 executed, 0 skipped (already done), 0 failed;")
    assert table(tmp_path / "dask") == table(tmp_path / "local") and len(table(tmp_path / "local")) == 20
    code, last = run_cli(capsys, "sweep", str(SMOKE), f"out={tmp_path / 'dask'}", "executor=dask", "workers=2")
    assert code == 0 and last.startswith("sweep smoke: 0 executed, 20 skipped (already done), 0 failed;")


def test_a_killed_worker_loses_no_run_and_changes_no_number(tmp_path):
    """Kill one of two workers while both are in the middle of a run (past a checkpoint): its run
    goes to the other worker and continues from its checkpoint; every run is stored once, with
    the numbers of the same sweep executed by the local process pool. The runs stay active (phi
    above phi_c) for all their steps, so that each lasts seconds and a watcher thread catches both
    workers mid-run however fast the machine is."""
    definition = sweep.load_sweep(SMOKE, {"steps": 10000, "checkpoint_every": 100, "record_every": 10})
    definition["grid"]["phi"] = [0.65, 0.7]
    configs = sweep.expand(definition)
    killed, sweep_over = [], threading.Event()
    with dask.config.set({"distributed.scheduler.allowed-failures": 2}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, silence_logs=logging.ERROR) as local, \
            Client(local) as client:
        pids = list(client.run(os.getpid).values())

        def kill_one_worker_mid_run():
            # a run with a checkpoint but no summary is in progress: with two, each worker has one
            while not sweep_over.wait(0.01):
                under_way = [d for d in (tmp_path / "dask" / "runs").glob("*")
                             if (d / formats.CHECKPOINT).exists() and not store.is_done(d)]
                if len(under_way) == 2:
                    os.kill(pids[0], signal.SIGKILL)
                    killed.append(pids[0])
                    return

        watcher = threading.Thread(target=kill_one_worker_mid_run)
        watcher.start()
        execution = executors.Execution.from_settings({"executor": "dask",
                                                       "dask": {"address": local.scheduler_address}})
        try:
            report = sweep.run_sweep(configs, tmp_path / "dask", execution.make_executor(), retries=2)
        finally:
            sweep_over.set()
            watcher.join()
        assert killed and pids[0] not in client.run(os.getpid).values()
    assert report.count(sweep.DONE) == len(configs) == 8 and not report.interrupted
    assert sorted(o.spec.key for o in report.outcomes) == sorted(c.key for c in configs)
    local_report = sweep.run_sweep(configs, tmp_path / "local", executors.local_executor(2))
    assert local_report.count(sweep.DONE) == 8
    rows = table(tmp_path / "dask")
    assert len({row["run_key"] for row in rows}) == len(rows) == 8
    assert rows == table(tmp_path / "local")
    for row in rows:
        run_dirs = [tmp_path / name / "runs" / row["run_key"] for name in ("dask", "local")]
        assert (run_dirs[0] / formats.SERIES).read_bytes() == (run_dirs[1] / formats.SERIES).read_bytes()
        with np.load(run_dirs[0] / formats.FINAL) as a, np.load(run_dirs[1] / formats.FINAL) as b:
            np.testing.assert_array_equal(a["positions"], b["positions"])
