"""Where a run's time goes: wall seconds per phase of the engine's step.

    python -m experiments.bench.profile dynamics=bro d=3 n=40000 phi=0.6 eps=0.02 steps=200 threads=2

The arguments are a simulate config (``key=value``, as ``neuralpack simulate`` takes them) plus
``threads`` (numba threads, default all). A two-step warm-up compiles first; then one run from
a uniform random start (its seed) is timed with a clock around each phase:

- overlap sums: ``dynamics.update_overlap_sums`` and ``dynamics.overlap_sums`` (every
  recomputation of overlap counts, unit sums and losses);
- move: ``dynamics.move`` and the choice of movers (``dynamics.movers``);
- neighbour list: ``LocalVerletList.follow`` or ``VerletList.update`` (strays, row searches,
  merges, rebuilds);
- active list: the woken particles and the list of active ones (``stepping``);
- the rest: the time loop, records, and the glue between kernels.

The clocks add a few microseconds per call; in a step of milliseconds that is noise.
"""
from __future__ import annotations

import contextlib
import sys
import time
from collections import defaultdict

PHASES = {   # phase: (module path, attribute) of the functions timed for it
    "overlap sums": [("physics_baseline.dynamics", "update_overlap_sums"),
                     ("physics_baseline.dynamics", "overlap_sums")],
    "move": [("physics_baseline.dynamics", "move"), ("physics_baseline.dynamics", "movers")],
    "neighbour list": [("physics_baseline.neighbours.local_verlet", "LocalVerletList.follow"),
                       ("physics_baseline.neighbours.verlet", "VerletList.update")],
    "active list": [("physics_baseline.stepping", "_woken"), ("physics_baseline.stepping", "_update_members"),
                    ("physics_baseline.stepping", "_list_members")],
}


@contextlib.contextmanager
def timed_phases(seconds: dict[str, float]):
    """Wrap the functions of PHASES so that seconds[phase] accumulates their wall time (a call
    inside another timed call, such as a nested list's follow, is not counted twice)."""
    import importlib
    depth = [0]
    saved = []

    def wrap(function, phase):
        def timed(*args, **kwargs):
            depth[0] += 1
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                depth[0] -= 1
                if depth[0] == 0:
                    seconds[phase] += time.perf_counter() - began
        return timed

    for phase, places in PHASES.items():
        for module_name, attribute in places:
            owner = importlib.import_module(module_name)
            *path, name = attribute.split(".")
            for part in path:
                owner = getattr(owner, part)
            saved.append((owner, name, getattr(owner, name)))
            setattr(owner, name, wrap(getattr(owner, name), phase))
    try:
        yield seconds
    finally:
        for owner, name, function in reversed(saved):
            setattr(owner, name, function)


def profile(fields: dict, threads: int | None = None) -> dict:
    """One run of the config fields, timed by phase: {"wall_s", "steps", "rate", "phases": {...}}."""
    import numba

    from physics_baseline import SimulationConfig, simulate
    if threads is not None:
        numba.set_num_threads(threads)
    config = SimulationConfig.from_dict(fields)
    simulate(SimulationConfig.from_dict({**fields, "steps": min(config.steps, 2)}))   # compiles
    seconds: dict[str, float] = defaultdict(float)
    with timed_phases(seconds):
        run = simulate(config)
    phases = {phase: seconds.get(phase, 0.0) for phase in PHASES}
    phases["the rest"] = run.wall_time - sum(phases.values())
    return {"wall_s": run.wall_time, "steps": run.steps_taken, "threads": numba.get_num_threads(),
            "rate": config.n * run.steps_taken / run.wall_time, "algorithm": run.algorithm,
            "final_active_fraction": run.final_active_fraction, "phases": phases}


def lines(result: dict) -> list[str]:
    out = [f"{result['steps']} steps in {result['wall_s']:.2f} s on {result['threads']} thread(s), "
           f"{result['rate'] / 1e6:.2f} M particle-steps/s ({result['algorithm']}), "
           f"f_a at the end {result['final_active_fraction']:.4f}"]
    for phase, seconds in result["phases"].items():
        out.append(f"  {phase:<16} {seconds:8.3f} s {100 * seconds / result['wall_s']:6.1f} %")
    return out


def main(argv=None) -> int:
    from neuralpack.suite.presets import parse_overrides
    from physics_baseline.validate import ConfigError
    try:
        fields = parse_overrides(sys.argv[1:] if argv is None else argv)
        threads = fields.pop("threads", None)
        print("\n".join(lines(profile(fields, threads))))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
