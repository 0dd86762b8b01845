"""Throughput and memory bench of ``physics_baseline.simulate`` against a numpy + scipy reference.

For every case it measures particle-steps per second, n * steps_taken / Run.wall_time (the
stepping loop only, setup excluded), of the engine from a random start that is not absorbed
within the measured steps, and of ``experiments.bench.reference`` (a periodic cKDTree rebuilt
every step, np.bincount sums) on the very same initial configurations, and prints the ratio.

Each engine case runs in a fresh child process (multiprocessing "spawn"), which first warms up
numba (tiny simulate calls, so compilation is excluded) and then repeats the measurement with a
fresh seed each time; the median is quoted. The child reports its peak resident memory
(ru_maxrss); a baseline child that only imports physics_baseline and warms up gives the floor,
so the table shows both the peak and peak minus baseline. A memory-only case, 3D BRO with
n = 1,000,000, checks that a million particles fit in under 2 GB. The reference runs in the
parent, a few steps per repeat. Memory in MB = 10^6 bytes. The sweep cases
(``experiments.bench.sweep``) run 1000 tiny runs through the local process pool and through a
Dask LocalCluster, 2 workers each, and print the scheduling overhead against its 20 % target.
The near-critical cases (``experiments.bench.active``, one fresh child each) time the full and the
active-set algorithm per step against the active fraction and to absorption, in 3D and 8D.
The overlap cases time ``neuralpack.overlap.torus_overlaps`` (FAISS; a fresh child, after a
warm-up) on uniform random centres in the box of the particle runs (radius 0.5), and a periodic
cKDTree (``physics_baseline.reference.overlapping_pairs``) or the dense torch twin (another child) on the
very same centres, and check that both return the same pairs; they take about 4 min (the 8D
cKDTree alone 1-1.5 min), 1 min with --quick, which skips that cKDTree. Opt-in only: the speed
cases of issue 27 (``experiments.bench.peer``, beside the authors' sips with --peer) and the
scale cases (``experiments.bench.scale``, up to an hour each). The run ends with the table of
every target of the cases that ran, PASS or FAIL (``experiments.bench.targets``).

    python -m experiments.bench.cases            # everything (~10 min on 2 busy cores, +11-15 near phi_c)
    python -m experiments.bench.cases --quick    # 1 repeat, half the steps, no 1M or sweep case (~1.7 min,
                                           # +4-6 near phi_c)
    python -m experiments.bench.cases --cases bro-d3,sgd-d3
    python -m experiments.bench.cases --cases overlap-d8,overlap-d3,overlap-d8-dense,overlap-d3-dense
    python -m experiments.bench.cases --cases peer-a,peer-d2 [--peer PATH]
    python -m experiments.bench.cases --cases scale-d3 [--scale-budget SECONDS]

Writes runs/bench/bench.json (atomically) next to the printed table.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from experiments.bench import active as bench_active
from experiments.bench import overlap as bench_overlap
from experiments.bench import peer as bench_peer
from experiments.bench import scale as bench_scale
from experiments.bench import sweep as bench_sweep
from experiments.bench import targets as bench_targets
from experiments.bench import train as bench_train
from experiments.bench.measure import fmt, peak_mb
from physics_baseline import atomic
from physics_baseline.config import SimulationConfig

TARGET_CASE = "bro-d3-absorb"   # a whole run, random start to absorption, as users run it
TARGET_RATE = 10e6          # particle-steps per second, 3D BRO at n = 40000
MEMORY_CASE = "bro-d3-1M"
MEMORY_TARGET_MB = 2000.0   # 2 GB
WARMUP_N = 2000


@dataclass(frozen=True)
class Case:
    """One bench case. step_size is eps for bro and lr for sgd (diameters)."""
    name: str
    dynamics: str
    d: int
    n: int
    phi: float
    step_size: float
    steps: int                     # engine steps per repeat
    reference_steps: int           # reference steps per repeat
    polydispersity: str = "mono"
    batch_fraction: float | None = None

    def config(self, steps: int, seed: int, n: int | None = None) -> dict:
        """Keyword arguments of physics_baseline.simulate."""
        config = dict(dynamics=self.dynamics, d=self.d, n=self.n if n is None else n, phi=self.phi,
                      polydispersity=self.polydispersity, steps=steps, seed=seed)
        config["eps" if self.dynamics == "bro" else "lr"] = self.step_size
        if self.batch_fraction is not None:
            config["batch_fraction"] = self.batch_fraction
        return config


# sgd: lr = eps / b_f, so that lr * b_f = 0.02 = eps of the bro cases.
CASES = (
    Case("bro-d3", "bro", 3, 40_000, 0.60, 0.02, steps=200, reference_steps=20),
    Case(TARGET_CASE, "bro", 3, 40_000, 0.60, 0.02, steps=20_000, reference_steps=0),
    Case("sgd-d3", "sgd", 3, 40_000, 0.60, 0.10, steps=200, reference_steps=20, batch_fraction=0.2),
    Case("bro-d2", "bro", 2, 40_000, 0.80, 0.02, steps=200, reference_steps=20,
         polydispersity="bidisperse"),
    Case("bro-d5", "bro", 5, 40_000, 0.28, 0.02, steps=40, reference_steps=5),
    Case("bro-d8", "bro", 8, 10_000, 0.06, 0.02, steps=10, reference_steps=3),
    # large kicks near phi_c at a size where 6D cells prune: many particles leave their cells each step
    Case("bro-d6-large", "bro", 6, 128_000, 0.069, 0.3, steps=40, reference_steps=1),
)
MEMORY = Case(MEMORY_CASE, "bro", 3, 1_000_000, 0.60, 0.02, steps=3, reference_steps=0)


CASE_NAMES = (tuple(c.name for c in CASES) + (MEMORY_CASE,) + bench_sweep.CASES + bench_active.CASES
              + tuple(c.name for c in bench_overlap.CASES) + bench_train.CASES
              + tuple(c.name for c in bench_peer.CASES) + tuple(c.name for c in bench_scale.CASES))


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- child processes (spawned)

def _warm_up(case: Case | None) -> None:
    """Compile every numba kernel a run can reach: the same d and dynamics at small n, and both
    neighbour-list builders (the kernels are typed by dtype and rank, not by d or n)."""
    from physics_baseline import simulate
    generic = dict(dynamics="bro", d=3, n=WARMUP_N, phi=0.6, eps=0.02, steps=2, seed=0)
    for method in ("cells", "brute"):
        simulate(SimulationConfig.from_dict(generic), neighbour_method=method)
    if case is not None:
        # the tiny box must still be two diameters wide: grow n until the config validates
        n = WARMUP_N
        while True:
            try:
                simulate(SimulationConfig.from_dict(case.config(steps=2, seed=0, n=n)))
                break
            except ValueError:
                if n >= case.n:
                    raise
                n = min(case.n, 4 * n)


def _baseline_child() -> dict:
    """Peak memory of a process that imports physics_baseline and runs the warm-up only."""
    import physics_baseline  # noqa: F401
    _warm_up(None)
    return {"peak_mb": peak_mb()}


def _engine_child(case: Case, steps: int, seeds: list[int]) -> dict:
    """Warm up, then one engine run per seed; timings and this process's peak memory."""
    from physics_baseline import simulate
    began = time.perf_counter()
    _warm_up(case)
    warm_up_s = time.perf_counter() - began
    runs = []
    for seed in seeds:
        run = simulate(SimulationConfig.from_dict(case.config(steps=steps, seed=seed)))
        runs.append({
            "seed": seed,
            "steps_taken": run.steps_taken,
            "wall_time_s": run.wall_time,
            "particle_steps_per_s": case.n * run.steps_taken / run.wall_time,
            "absorbed": bool(run.absorbed),
            "initial_active_fraction": float(run.active_fraction[0]),
            "final_active_fraction": run.final_active_fraction,
            "neighbour_builds": run.neighbour_builds,
            "neighbour_method": run.neighbour_method,
        })
    import numba
    return {"runs": runs, "warm_up_s": warm_up_s, "peak_mb": peak_mb(),
            "numba_threads": numba.get_num_threads()}


def _in_child(context, function, *args):
    """function(*args) in a fresh spawned process; its return value (exceptions propagate)."""
    with context.Pool(1, maxtasksperchild=1) as pool:
        return pool.apply(function, args)


# ---------------------------------------------------------------- reference (in this process)

def _reference(case: Case, steps: int, seeds: list[int]) -> list[dict]:
    """The numpy + scipy reference from the engine's own initial configuration of every seed."""
    import numpy as np

    from physics_baseline import box as geometry
    from physics_baseline.reference import ReferenceStep, run_reference
    radii = geometry.make_radii(case.n, case.polydispersity)
    side = geometry.box_length(radii, case.d, case.phi)
    results = []
    for seed in seeds:
        x = geometry.random_positions(case.n, case.d, side, np.random.default_rng(seed))
        stepper = ReferenceStep(case.dynamics, case.step_size, case.batch_fraction or 1.0, seed=seed)
        began = time.perf_counter()
        _, taken = run_reference(x, radii, side, stepper, steps)
        elapsed = time.perf_counter() - began
        results.append({"seed": seed, "steps_taken": taken, "wall_time_s": elapsed,
                        "particle_steps_per_s": case.n * taken / elapsed if elapsed > 0 else None})
    return results


# ---------------------------------------------------------------- report

def _median_rate(runs: list[dict]) -> float | None:
    rates = [r["particle_steps_per_s"] for r in runs if r.get("particle_steps_per_s")]
    return statistics.median(rates) if rates else None


def _table(rows: list[dict], baseline_mb: float | None) -> list[str]:
    header = (f"{'case':<14} {'n':>9} {'steps':>6} {'engine Mps/s':>13} {'reference Mps/s':>16} "
              f"{'ratio':>8} {'peak MB':>8} {'-baseline':>10}")
    lines = [header, "-" * len(header)]
    for row in rows:
        extra = row["peak_mb"] - baseline_mb if baseline_mb is not None else None
        note = "  ABSORBED (fewer steps)" if row["absorbed"] else ""
        lines.append(
            f"{row['case']:<14} {row['n']:>9,} {row['steps']:>6} {fmt(row['engine_mps'], '.3g'):>13} "
            f"{fmt(row['reference_mps'], '.3g'):>16} {fmt(row['ratio'], '.3g'):>8} "
            f"{row['peak_mb']:>8.0f} {fmt(extra, '.0f'):>10}{note}")
    return lines


def _environment() -> dict:
    import numba
    import numpy
    import scipy
    return {"python": platform.python_version(), "numpy": numpy.__version__, "scipy": scipy.__version__,
            "numba": numba.__version__, "cpus": os.cpu_count(),
            "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
            "numba_num_threads_env": os.environ.get("NUMBA_NUM_THREADS"),
            "machine": platform.machine(), "host": platform.node()}


def _parse(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="neuralpack bench",
        description="Particle-steps per second of physics_baseline.simulate against a numpy + "
                    "scipy (cKDTree) reference step, with peak memory per case.")
    parser.add_argument("--quick", action="store_true",
                        help="1 repeat, half the engine and reference steps, a third of the overlap "
                             "references, skip the 1M memory case")
    parser.add_argument("--cases", nargs="+", metavar="NAME",
                        help=f"cases to run (comma or space separated): {', '.join(CASE_NAMES)}")
    parser.add_argument("--repeats", type=int, default=None,
                        help="engine/reference repeats per case (default 3, or 1 with --quick)")
    parser.add_argument("--peer", metavar="PATH",
                        help="the folder of a built sips module (the authors' simulator): run the peer cases "
                             "(all, or those named in --cases) beside the engine; see docs/benchmarks.md. "
                             "Without it, peer cases named in --cases run the engine alone")
    parser.add_argument("--scale-budget", type=float, default=None, metavar="SECONDS",
                        help="stop each scale case after this many seconds (default: its target, an hour) "
                             "and report the projected time of the whole run")
    parser.add_argument("--out", type=Path, default=Path("runs/bench/bench.json"),
                        help="JSON output (default runs/bench/bench.json)")
    args = parser.parse_args(argv)
    if args.cases:
        names = [name for item in args.cases for name in item.split(",") if name]
        unknown = sorted(set(names) - set(CASE_NAMES))
        if unknown:
            parser.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASE_NAMES)}")
        args.cases = names
    if args.repeats is not None and args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.scale_budget is not None and args.scale_budget <= 0:
        parser.error("--scale-budget must be positive (seconds)")
    return args


def main(argv=None) -> int:
    args = _parse(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    chosen = [c for c in CASES if args.cases is None or c.name in args.cases]
    run_memory = (MEMORY_CASE in args.cases) if args.cases else not args.quick
    sweep_cases = [name for name in bench_sweep.CASES if (name in args.cases if args.cases else not args.quick)]
    active_cases = [name for name in bench_active.CASES if args.cases is None or name in args.cases]
    overlap_cases = [c for c in bench_overlap.CASES if args.cases is None or c.name in args.cases]
    scale_cases = [c if args.scale_budget is None else dataclasses.replace(c, stop_s=args.scale_budget)
                   for c in bench_scale.CASES if c.name in (args.cases or ())]   # opt-in only
    peer_cases = [c for c in bench_peer.CASES if (args.cases is None and args.peer) or c.name in (args.cases or ())]
    seeds = list(range(1, repeats + 1))
    context = multiprocessing.get_context("spawn")
    started = time.perf_counter()
    load_before = os.getloadavg()

    _log("baseline child: import physics_baseline + warm-up")
    baseline_mb = _in_child(context, _baseline_child)["peak_mb"]
    _log(f"baseline peak {baseline_mb:.0f} MB")

    rows, details = [], []
    for case in chosen:
        steps = case.steps if not args.quick else max(1, case.steps // 2)
        reference_steps = case.reference_steps if not args.quick else case.reference_steps // 2
        _log(f"{case.name}: engine, {repeats} x {steps} steps, n={case.n:,} (fresh child)")
        engine = _in_child(context, _engine_child, case, steps, seeds)
        engine_mps = _median_rate(engine["runs"])
        _log(f"{case.name}: engine median {engine_mps / 1e6:.3f} M particle-steps/s "
             f"(warm-up {engine['warm_up_s']:.1f} s, peak {engine['peak_mb']:.0f} MB)")
        reference, reference_mps = [], None
        if case.reference_steps:
            _log(f"{case.name}: reference, {repeats} x {reference_steps} steps")
            reference = _reference(case, reference_steps, seeds)
            reference_mps = _median_rate(reference)
            _log(f"{case.name}: reference median {reference_mps / 1e6:.3f} M particle-steps/s")
        rows.append({
            "case": case.name, "dynamics": case.dynamics, "d": case.d, "n": case.n, "phi": case.phi,
            "steps": steps, "reference_steps": reference_steps,
            "engine_mps": engine_mps / 1e6 if engine_mps else None,
            "reference_mps": reference_mps / 1e6 if reference_mps else None,
            "ratio": engine_mps / reference_mps if engine_mps and reference_mps else None,
            "peak_mb": engine["peak_mb"],
            "peak_minus_baseline_mb": engine["peak_mb"] - baseline_mb,
            "absorbed": any(r["absorbed"] for r in engine["runs"]),
        })
        details.append({"case": asdict(case), "engine": engine, "reference": reference})

    memory = None
    if run_memory:
        _log(f"{MEMORY_CASE}: memory only, n={MEMORY.n:,}, {MEMORY.steps} steps (fresh child)")
        result = _in_child(context, _engine_child, MEMORY, MEMORY.steps, [1])
        memory = {"case": asdict(MEMORY), "peak_mb": result["peak_mb"],
                  "peak_minus_baseline_mb": result["peak_mb"] - baseline_mb,
                  "target_mb": MEMORY_TARGET_MB, "passed": result["peak_mb"] < MEMORY_TARGET_MB,
                  "engine": result}
        _log(f"{MEMORY_CASE}: peak {result['peak_mb']:.0f} MB")

    sweeps = []
    for name in sweep_cases:
        _log(f"{name}: {bench_sweep.RUNS} tiny runs on {bench_sweep.WORKERS} workers")
        sweeps.append(bench_sweep.measure(name.removeprefix("sweep-"), args.out.parent / name))
        _log(f"{name}: overhead {sweeps[-1]['overhead']:.1%}")

    near_critical = []
    for name in active_cases:
        _log(f"{name}: full and active-set algorithm near phi_c, {repeats} seed(s) (fresh child)")
        near_critical.append(_in_child(context, bench_active.measure, name, repeats))

    peers, peer_missing = [], bench_peer.missing(args.peer) if args.peer else None
    if peer_missing:
        _log(peer_missing)
    with_peer = bool(args.peer) and not peer_missing
    for case in peer_cases:
        simulators = "sips and the engine" if with_peer and case.has_peer else "the engine"
        _log(f"{case.name}: {simulators} on {', '.join(map(str, bench_peer.THREADS))} threads, "
             f"{repeats} seed(s) (fresh children)")
        runs = [_in_child(context, bench_peer.run_sips, args.peer, case, threads, seed)
                for seed in seeds for threads in bench_peer.THREADS] if with_peer and case.has_peer else []
        runs += [_in_child(context, bench_peer.run_engine, case, threads, seed)
                 for seed in seeds for threads in bench_peer.THREADS]
        peers.append(bench_peer.summary(case, runs))

    scales = []
    for case in scale_cases:
        _log(f"{case.name}: d={case.d}, n={case.n:,}, {case.steps:,} steps, stopped after {case.stop:.0f} s "
             "(fresh child)")
        scales.append(_in_child(context, bench_scale.run, case))
        _log(f"{case.name}: {scales[-1]['steps']:,} steps in {scales[-1]['wall_s']:.0f} s")

    training = None
    if args.cases is None or bench_train.CASES[0] in args.cases:
        _log(f"{bench_train.CASES[0]}: training step against particle step, {repeats} repeat(s) (fresh children)")
        training = bench_train.measure(repeats)

    overlaps = []
    for case in overlap_cases:
        _log(f"{case.name}: torus_overlaps, {repeats} x n={case.n:,} in d={case.d} (fresh child)")
        search = _in_child(context, bench_overlap.search_child, case, seeds)
        reference_seeds = seeds[:case.reference_repeats // (3 if args.quick else 1)]
        _log(f"{case.name}: median {statistics.median(r['wall_s'] for r in search['runs']):.3f} s; "
             f"reference ({case.reference}), {len(reference_seeds)} x (fresh child)")
        reference = _in_child(context, bench_overlap.reference_runs, case, reference_seeds) if reference_seeds else []
        overlaps.append(bench_overlap.row(case, search, reference))

    lines = [f"neuralpack bench: Mps/s = 10^6 particle-steps per second (median of {repeats}"
             f"{'; --quick: half the steps' if args.quick else ''}); "
             f"ratio = engine / reference (numpy + scipy cKDTree); MB = 10^6 bytes; "
             f"baseline (import + warm-up) {baseline_mb:.0f} MB"]
    lines += _table(rows, baseline_mb)
    target = next((r for r in rows if r["case"] == TARGET_CASE and r["engine_mps"] is not None), None)
    verdict = None if target is None else "PASS" if target["engine_mps"] * 1e6 >= TARGET_RATE else "FAIL"
    if memory is not None:
        lines.append(f"memory {MEMORY_CASE} (3D bro, n={MEMORY.n:,}, phi={MEMORY.phi}, {MEMORY.steps} steps): "
                     f"peak {memory['peak_mb']:.0f} MB (minus baseline {memory['peak_minus_baseline_mb']:.0f}), "
                     f"target < {MEMORY_TARGET_MB:.0f} MB: {'PASS' if memory['passed'] else 'FAIL'}")
    if sweeps:
        lines += bench_sweep.lines(sweeps)
    if near_critical:
        lines += bench_active.lines(near_critical)
    if overlaps:
        lines += bench_overlap.table(overlaps)
    if training is not None:
        lines += bench_train.lines(training)
    if peers:
        lines += bench_peer.lines(peers)
    if peer_missing:
        lines.append(peer_missing)
    if scales:
        lines += bench_scale.lines(scales)
    payload = {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "argv": list(sys.argv[1:] if argv is None else argv),
        "quick": args.quick, "repeats": repeats,
        "load_average_before": load_before,
        "environment": _environment(),
        "baseline_peak_mb": baseline_mb,
        "rows": rows,
        "target": {"case": TARGET_CASE, "particle_steps_per_s": TARGET_RATE, "verdict": verdict},
        "memory": memory,
        "sweeps": sweeps,
        "near_critical": near_critical,
        "overlap": overlaps,
        "training": training,
        "peer": peers,
        "scale": scales,
        "details": details,
    }
    found = bench_targets.verdicts(payload)
    lines += bench_targets.lines(found)
    total_s = time.perf_counter() - started
    load_after = os.getloadavg()
    lines.append(f"total bench time {total_s:.0f} s; 1-min load average {load_before[0]:.1f} before, "
                 f"{load_after[0]:.1f} after, on {os.cpu_count()} CPUs"
                 + (" (busy machine: rates are pessimistic)" if max(load_before[0], load_after[0])
                    > 1.5 * (os.cpu_count() or 1) else ""))
    print("\n".join(lines), flush=True)
    payload.update(total_time_s=total_s, load_average_after=load_after, table=lines,
                   targets=[{**asdict(v), "verdict": v.verdict} for v in found])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(args.out, json.dumps(payload, indent=2) + "\n")
    _log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
