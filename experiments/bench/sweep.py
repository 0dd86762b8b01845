"""Scheduling overhead of a sweep of 1000 tiny runs, through the local process pool and a Dask LocalCluster.

    overhead = (sweep wall time x workers - sum of the runs' own times) / sum of the runs' own times

A run's own time is what ``sweep.run_attempts`` measures in its worker: the simulation and the
run's store writes (config.yaml, series.csv, final.npz, summary.json, each fsync'ed), no plot. The
sweep wall time is ``run_sweep``'s, from the call to the written table: the workers' start-up
(a fresh process importing the engine and loading its compiled kernels), scheduling, moving
specs and outcomes, stopping the workers, and the table of 1000 runs. Two fixed parts of it are
also reported on their own: the start-up, from the call to the first outcome less that run's own
time, and the tail, from the last outcome to the table. Target: overhead < 20 %.

    python -m experiments.bench.cases --cases sweep-local,sweep-dask
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

EXECUTORS = ("local", "dask")
CASES = tuple(f"sweep-{name}" for name in EXECUTORS)
RUNS = 1000
WORKERS = 2
TINY = {"dynamics": "bro", "d": 3, "n": 300, "phi": 0.65, "eps": 0.02, "steps": 300}  # smoke.yaml's size
TARGET = 0.20


def measure(executor: str, out: Path) -> dict:
    """One sweep of RUNS tiny runs (seeds 1..RUNS) through executor ("local" or "dask") with
    WORKERS workers, written into out (emptied first); its times in seconds and its overhead."""
    from neuralpack.suite import executors, formats, sweep
    shutil.rmtree(out, ignore_errors=True)
    configs = sweep.expand({"base": TINY, "grid": {"seed": list(range(1, RUNS + 1))}})
    execution = executors.Execution.from_settings({"executor": executor, "workers": WORKERS, "retries": 0})
    began, arrivals = time.perf_counter(), []

    def progress(state: sweep.Progress) -> None:
        if state.outcome is not None:
            arrivals.append(time.perf_counter() - began - (0 if arrivals else state.outcome.seconds))

    report = sweep.run_sweep(configs, out, execution.make_executor(), progress=progress)
    wall = time.perf_counter() - began
    own = sum(outcome.seconds for outcome in report.outcomes)
    simulated = sum(json.loads((o.spec.run_dir / formats.SUMMARY).read_text())["wall_time_s"]
                    for o in report.outcomes if o.status == sweep.DONE)
    overhead = (wall * WORKERS - own) / own
    return {"case": f"sweep-{executor}", "runs": RUNS, "workers": WORKERS, "done": report.count(sweep.DONE),
            "wall_s": wall, "own_s": own, "simulate_s": simulated, "start_up_s": arrivals[0],
            "tail_s": wall - arrivals[-1], "overhead": overhead, "passed": overhead < TARGET}


def lines(results: list[dict]) -> list[str]:
    """The report of measure's results, for the bench's table."""
    out = [f"sweep of {RUNS} tiny runs (3D BRO n={TINY['n']}, phi={TINY['phi']}, {TINY['steps']} steps) on "
           f"{WORKERS} workers: overhead = (wall x workers - runs' own time) / runs' own time, target < "
           f"{TARGET:.0%}"]
    for r in results:
        out.append(f"  {r['case']:<12} wall {r['wall_s']:5.1f} s (start-up {r['start_up_s']:.1f} s, tail "
                   f"{r['tail_s']:.1f} s), runs' own {r['own_s']:6.1f} s (simulate {r['simulate_s']:5.1f} s, "
                   f"the rest store writes): overhead {r['overhead']:6.1%} {'PASS' if r['passed'] else 'FAIL'}")
    return out
