"""The authors' simulator, sips (C++, pybind11, OpenMP), beside the engine from the same starts.

    neuralpack bench --peer PATH                      # every peer case; PATH holds sips.cpython-*.so
    neuralpack bench --peer PATH --cases peer-a,peer-b
    neuralpack bench --cases peer-a,peer-c-selective  # the engine alone, against the absolute targets

Opt-in: without a built peer under PATH the bench says so and runs the engine's side only. The
peer's code never enters this repository (build notes: docs/benchmarks.md). Each case starts both simulators
from the same cell-sorted uniform random positions (``physics_baseline.box.random_positions``),
one fresh child process per simulator and thread count (sips reads OMP_NUM_THREADS when it loads;
the engine runs on as many numba threads), and reports particle-steps per second, n x steps /
wall, the median over seeds, with f_a at the end (or the step of absorption). Lengths are in
diameters on both sides: sips takes radii and a box side in the same units and kicks BRO
particles by kick_size U_i sum_j n_ij, the engine's rule at eps = kick_size.
"""
from __future__ import annotations

import contextlib
import glob
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass

from experiments.bench.measure import fmt


@dataclass(frozen=True)
class Case:
    """A run from a random start: `steps` steps, or up to `steps` steps until absorbed
    (to_absorption). step_size is eps (bro) or lr (sgd), in diameters. target: the engine's
    particle-steps per second on 2 threads that issue 27 asks for, 1.5x sips's on this machine
    class (2026-12)."""
    name: str
    d: int
    n: int
    phi: float
    step_size: float
    steps: int
    target: float
    to_absorption: bool = False
    polydispersity: str = "mono"
    dynamics: str = "bro"
    batch: str | None = None
    batch_fraction: float | None = None
    dense: bool = True              # most particles active throughout: the 2-thread scaling target holds

    @property
    def has_peer(self) -> bool:
        """sips runs BRO here; its SGD (an inverse-power loss, other step conventions) has no
        counterpart case yet."""
        return self.dynamics == "bro"

    def fields(self, seed: int) -> dict:
        """The engine's config (without steps) for seed."""
        fields = dict(dynamics=self.dynamics, d=self.d, n=self.n, phi=self.phi, seed=seed,
                      polydispersity=self.polydispersity)
        fields["eps" if self.dynamics == "bro" else "lr"] = self.step_size
        if self.batch is not None:
            fields.update(batch=self.batch, batch_fraction=self.batch_fraction)
        return fields


CASES = (   # the cases of issue 27's table, with its targets (M particle-steps/s on 2 threads)
    Case("peer-a", 3, 40_000, 0.60, 0.02, 200, 11e6),
    Case("peer-c-probabilistic", 3, 40_000, 0.60, 0.04, 200, 9e6, dynamics="sgd", batch="probabilistic",
         batch_fraction=0.5),
    Case("peer-c-selective", 3, 40_000, 0.60, 0.04, 200, 9e6, dynamics="sgd", batch="selective",
         batch_fraction=0.5),
    Case("peer-d2", 2, 40_000, 0.80, 0.02, 200, 32e6, polydispersity="bidisperse"),
    Case("peer-d4", 4, 40_000, 0.40, 0.02, 200, 3.6e6),
    Case("peer-b", 3, 10_000, 0.60, 0.02, 20_000, 10e6, to_absorption=True, dense=False),
    Case("peer-e", 3, 40_000, 0.605, 0.02, 20_000, 10e6, to_absorption=True, dense=False),
)
PEER_RATIO_TARGET = 1.5      # engine / sips on 2 threads
SCALING_TARGET = 1.8         # engine on 2 threads / on 1 thread, dense cases
THREADS = (1, 2)
RECORD = 100    # steps between sips's activity records (its absorption test) in to_absorption cases


def missing(path: str) -> str | None:
    """Why the peer cannot run from path (None when a sips module is there)."""
    if not glob.glob(os.path.join(path, "sips*.so")):
        return (f"peer: no sips module (sips*.so) in {path}; the peer cases are skipped "
                "(docs/benchmarks.md says how to build it)")
    return None


def _start(case: Case, seed: int):
    """(positions (n, d), radii (n,), side): the engine's random start, in diameters."""
    import numpy as np

    from physics_baseline import box
    radii = box.make_radii(case.n, case.polydispersity)
    side = box.box_length(radii, case.d, case.phi)
    return box.random_positions(case.n, case.d, side, np.random.default_rng(seed)), radii, side


def run_sips(path: str, case: Case, threads: int, seed: int) -> dict:
    """One sips run of case (in a fresh child: OMP_NUM_THREADS is read when sips loads)."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    sys.path.insert(0, path)
    import sips

    x, radii, side = _start(case, seed)
    with tempfile.TemporaryDirectory() as out, _quiet_stdout():
        algorithm = getattr(sips.algorithms, f"ParticlewiseBROCList{case.d}D")(
            case.step_size, radii.tolist(), [side] * case.d, x.ravel().tolist(), 1.0, True)
        # sips records the activity every n_rec steps and stops where it falls below 1/n; it saves
        # the state (with its activity) every n_save steps: here at the start and at step `steps`
        record = RECORD if case.to_absorption else case.steps + 1
        began = time.perf_counter()
        algorithm.run(case.steps + 1, case.steps, record, 0, 1.0, out + os.sep, "concise", False)
        wall = time.perf_counter() - began
        with open(os.path.join(out, "stat_data.json")) as handle:
            stats = json.load(handle)
        if case.to_absorption:
            steps, active_fraction = stats["time_steps"][-1], stats["activities"][-1]
        else:
            with open(os.path.join(out, f"data_iter{case.steps}.json")) as handle:
                steps, active_fraction = case.steps + 1, json.load(handle)["activity"]
    absorbed = case.to_absorption and active_fraction < 1 / case.n
    return {"simulator": "sips", "threads": threads, "seed": seed, "wall_s": wall, "steps": steps,
            "rate": case.n * steps / wall, "final_active_fraction": active_fraction,
            "absorption_step": steps if absorbed else None}


def run_engine(case: Case, threads: int, seed: int) -> dict:
    """One engine run of case on `threads` numba threads (after a small warm-up run)."""
    import numba

    from physics_baseline import SimulationConfig, simulate
    numba.set_num_threads(threads)
    x, _, _ = _start(case, seed)
    fields = case.fields(seed)
    simulate(SimulationConfig.from_dict({**fields, "n": 500, "steps": 3}))
    run = simulate(SimulationConfig.from_dict({**fields, "steps": case.steps, "record_every": RECORD}), positions=x)
    return {"simulator": "engine", "threads": threads, "seed": seed, "wall_s": run.wall_time,
            "steps": run.steps_taken, "rate": case.n * run.steps_taken / run.wall_time,
            "final_active_fraction": float(run.active_fraction[-1]), "absorption_step": run.absorption_step}


@contextlib.contextmanager
def _quiet_stdout():
    """Silence what the C++ code prints to file descriptor 1 (a line per saved step)."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def summary(case: Case, runs: list[dict]) -> dict:
    """Medians per simulator and thread count, the engine / sips ratio of each thread count, and
    the engine's 2 / 1 thread ratio."""
    rows = {}
    for simulator in ("sips", "engine"):
        for threads in THREADS:
            mine = [r for r in runs if r["simulator"] == simulator and r["threads"] == threads]
            if mine:
                absorbed = [r["absorption_step"] for r in mine if r["absorption_step"] is not None]
                rows[f"{simulator}-{threads}"] = {
                    "rate": statistics.median(r["rate"] for r in mine),
                    "final_active_fraction": statistics.median(r["final_active_fraction"] for r in mine),
                    "absorption_step": statistics.median(absorbed) if absorbed else None}
    ratios = {threads: rows[f"engine-{threads}"]["rate"] / rows[f"sips-{threads}"]["rate"]
              for threads in THREADS if f"engine-{threads}" in rows and f"sips-{threads}" in rows}
    scaling = (rows["engine-2"]["rate"] / rows["engine-1"]["rate"]
               if "engine-1" in rows and "engine-2" in rows else None)
    return {"case": case.name, "dynamics": case.dynamics, "d": case.d, "n": case.n, "phi": case.phi,
            "step_size": case.step_size, "steps": case.steps, "to_absorption": case.to_absorption,
            "dense": case.dense, "target": case.target, "medians": rows, "ratios": ratios,
            "scaling": scaling, "runs": runs}


def lines(results: list[dict]) -> list[str]:
    """The speed table: M particle-steps/s of each simulator on 1 and 2 threads, engine / sips, the
    engine's 2 / 1 thread ratio and its 2-thread target."""
    header = (f"{'case':<20} {'d':>1} {'n':>7} {'phi':>5} {'sips 1':>7} {'sips 2':>7} {'engine 1':>8} "
              f"{'engine 2':>8} {'target':>6} {'ratio 1':>7} {'ratio 2':>7} {'2/1':>5} "
              f"{'f_a or absorbed at (sips / engine)':>36}")
    out = ["speed: the engine (and the authors' sips with --peer) from the same starts, M particle-steps/s "
           "(median over seeds); ratio = engine / sips; 2/1 = the engine's 2-thread / 1-thread rate",
           header, "-" * len(header)]
    for r in results:
        m = r["medians"]

        def rate(key):
            return fmt(m[key]["rate"] / 1e6 if key in m else None, ".2f")

        def outcome(key):
            if key not in m:
                return "-"
            step = m[key]["absorption_step"]
            return f"step {step:.0f}" if step is not None else f"{m[key]['final_active_fraction']:.4f}"
        out.append(f"{r['case']:<20} {r['d']:>1} {r['n']:>7,} {r['phi']:>5} {rate('sips-1'):>7} "
                   f"{rate('sips-2'):>7} {rate('engine-1'):>8} {rate('engine-2'):>8} {r['target'] / 1e6:>6.1f} "
                   f"{fmt(r['ratios'].get(1), '.2f'):>7} {fmt(r['ratios'].get(2), '.2f'):>7} "
                   f"{fmt(r['scaling'], '.2f'):>5} {outcome('sips-2') + ' / ' + outcome('engine-2'):>36}")
    return out
