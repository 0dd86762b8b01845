"""The sizes the science needs (issue 27, goal 4): one long run per case within a wall budget.

    neuralpack bench --cases scale-d3        # 3D, n = 10^6, 10^5 steps: up to an hour
    neuralpack bench --cases scale-d8        # 8D, n = 10^6 in a box of 5 diameters, 10^4 steps

Opt-in only (never part of a plain ``make bench``). Each case runs once from a uniform random
start in a fresh child process on every numba thread, after a warm-up at small n. A run that
has not finished when its time (the target, an hour, or ``--scale-budget``) runs out is stopped
at its next record; the bench then reports the steps it took and the time the whole run would
take at that pace (an overestimate: steps get cheaper as f_a falls), judged against the target.
Peak memory is the child's peak resident set (imports and warm-up included).

phi: 3D at phi_c(0.02) = 0.6136 (the long-budget scan of ``phic_vs_dimension``, n = 2000); 8D
in a box of side 5 diameters at n = 10^6 (phi = n v_8(1/2) / 5^8 = 0.0406), which issue 27 puts
at phi_c(0.3). The 6D and 7D cases of the issue wait for a measured phi_c(0.3) in those
dimensions.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

from experiments.bench.measure import fmt, peak_mb
from physics_baseline.config import SimulationConfig

RECORD_EVERY = 100


@dataclass(frozen=True)
class Case:
    """One run of `steps` steps (BRO, eps in diameters) with a wall and a memory target; stopped
    after stop_s seconds (default: the wall target, budget_s)."""
    name: str
    d: int
    n: int
    phi: float
    eps: float
    steps: int
    budget_s: float = 3600.0
    memory_mb: float = 2000.0
    stop_s: float | None = None

    @property
    def stop(self) -> float:
        return self.budget_s if self.stop_s is None else self.stop_s


def box_phi(d: int, n: int, side: float) -> float:
    """The packing fraction of n unit-diameter spheres in a box of side `side` (diameters)."""
    ball = math.pi ** (d / 2) / math.gamma(d / 2 + 1) * 0.5 ** d
    return n * ball / side ** d


CASES = (
    Case("scale-d3", 3, 1_000_000, 0.6136, 0.02, 100_000),
    Case("scale-d8", 8, 1_000_000, round(box_phi(8, 1_000_000, 5.0), 4), 0.3, 10_000, memory_mb=8000.0),
)


class _OutOfTime(Exception):
    """Raised by the progress callback when the budget is spent."""


def run(case: Case, seed: int = 1) -> dict:
    """One run of case in this process (a fresh child): steps taken, wall time, peak memory."""
    from physics_baseline import simulate
    fields = dict(dynamics="bro", d=case.d, phi=case.phi, eps=case.eps, seed=seed, record_every=RECORD_EVERY)
    simulate(SimulationConfig.from_dict({**fields, "n": 3000, "steps": 20}))   # compile at small n
    config = SimulationConfig.from_dict({**fields, "n": case.n, "steps": case.steps})
    seen = {"step": 0, "active_fraction": None, "at": None}
    began = time.perf_counter()

    def progress(step: int, active_fraction: float) -> None:
        seen.update(step=step, active_fraction=active_fraction, at=time.perf_counter() - began)
        if seen["at"] > case.stop and step < case.steps:
            raise _OutOfTime

    try:
        result = simulate(config, progress=progress)
        finished, steps, wall = True, result.steps_taken, time.perf_counter() - began
        absorbed = bool(result.absorbed)
    except _OutOfTime:
        finished, steps, wall, absorbed = False, seen["step"], seen["at"], False
    import numba
    return {"case": asdict(case), "seed": seed, "finished": finished, "absorbed": absorbed, "steps": steps,
            "wall_s": wall, "final_active_fraction": seen["active_fraction"],
            "projected_s": wall if absorbed else wall * case.steps / steps if steps else None,
            "peak_mb": peak_mb(), "numba_threads": numba.get_num_threads()}


def passed(result: dict) -> bool:
    """Both targets met: the run (all its steps or absorbed, or projected so where it was stopped
    early) within budget, and memory (a run stopped before its first record fails)."""
    case, projected = result["case"], result["projected_s"]
    return projected is not None and projected <= case["budget_s"] and result["peak_mb"] < case["memory_mb"]


def lines(results: list[dict]) -> list[str]:
    """The scale table: wall time (projected where stopped) and peak memory against the targets."""
    out = ["scale: one run from a random start (wall time includes the first neighbour build; "
           "projected = the whole run at the measured pace where the budget stopped it)"]
    for r in results:
        case = r["case"]
        done = (f"absorbed at step {r['steps']}" if r["absorbed"] else f"{r['steps']:,} of {case['steps']:,} steps")
        out.append(f"  {case['name']}: d={case['d']} n={case['n']:,} phi={case['phi']} eps={case['eps']}: {done} "
                   f"in {r['wall_s']:.0f} s (projected {fmt(r['projected_s'], '.0f')} s, target < "
                   f"{case['budget_s']:.0f} s), peak {r['peak_mb']:.0f} MB (target < {case['memory_mb']:.0f}), "
                   f"f_a at the end {fmt(r['final_active_fraction'], '.4f')}: "
                   f"{'PASS' if passed(r) else 'FAIL'}")
    return out
