"""Every bench target at a glance: what was measured against what was asked, PASS or FAIL.

``verdicts(payload)`` reads a bench.json payload (``experiments.bench.cases``) and returns one
Verdict per target among the cases that ran; ``lines`` prints them, ``markdown`` makes the table
of docs/benchmarks.md. A target whose case did not run is left out, not failed.
"""
from __future__ import annotations

from dataclasses import dataclass

from experiments.bench import active, overlap, peer, sweep, train
from experiments.bench.measure import fmt


@dataclass(frozen=True)
class Verdict:
    """One target: `measured` (None: not measured) against `goal` ("at least" when `at_least`)."""
    case: str
    what: str
    measured: float | None
    goal: float
    unit: str
    at_least: bool

    @property
    def passed(self) -> bool | None:
        if self.measured is None:
            return None
        return self.measured >= self.goal if self.at_least else self.measured < self.goal

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "not measured"}[self.passed]

    def cells(self) -> tuple[str, str, str, str, str]:
        sign = ">=" if self.at_least else "<"
        return (self.case, self.what, f"{fmt(self.measured, '.3g')} {self.unit}".strip(),
                f"{sign} {self.goal:.3g} {self.unit}".strip(), self.verdict)


def verdicts(payload: dict) -> list[Verdict]:
    """The targets of every case in payload that ran."""
    out = []
    for row in payload.get("rows", []):
        if row["case"] == payload.get("target", {}).get("case") and row["engine_mps"] is not None:
            out.append(Verdict(row["case"], "M particle-steps/s, random start to absorption",
                               row["engine_mps"], payload["target"]["particle_steps_per_s"] / 1e6, "M/s", True))
    memory = payload.get("memory")
    if memory:
        out.append(Verdict(memory["case"]["name"], "peak memory, 3D n = 10^6", memory["peak_mb"],
                           memory["target_mb"], "MB", False))
    for result in payload.get("sweeps", []):
        out.append(Verdict(result["case"], "scheduling overhead", result["overhead"], sweep.TARGET, "", False))
    for result in payload.get("peer", []):
        out += _speed(result)
    for result in payload.get("near_critical", []):
        out += _near_critical(result)
    for row in payload.get("overlap", []):
        if row["case"] == overlap.TARGET_CASE:
            out.append(Verdict(row["case"], "FAISS overlap search, 8D N = 10^5", row["faiss_s"], overlap.TARGET_S,
                               "s", False))
    training = payload.get("training")
    if training:
        out.append(Verdict(train.CASES[0], "training step / particle SGD step", training["ratio"],
                           train.TARGET_RATIO, "x", False))
    for result in payload.get("scale", []):
        case = result["case"]
        projected = result["projected_s"] if result["projected_s"] is not None else float("inf")
        out.append(Verdict(case["name"], f"wall time, {case['steps']:,} steps (projected where stopped)",
                           projected, case["budget_s"], "s", False))
        out.append(Verdict(case["name"], "peak memory", result["peak_mb"], case["memory_mb"], "MB", False))
    return out


def _speed(result: dict) -> list[Verdict]:
    """A speed case: the engine's 2-thread rate, its ratio to sips, its 2 / 1 thread scaling."""
    engine = result["medians"].get("engine-2")
    out = [Verdict(result["case"], "engine M particle-steps/s, 2 threads",
                   engine["rate"] / 1e6 if engine else None, result["target"] / 1e6, "M/s", True)]
    ratios = {int(threads): ratio for threads, ratio in result["ratios"].items()}   # str keys in bench.json
    if 2 in ratios:
        out.append(Verdict(result["case"], "engine / sips, 2 threads", ratios[2], peer.PEER_RATIO_TARGET, "x", True))
    if result["dense"]:
        out.append(Verdict(result["case"], "engine 2 threads / 1 thread", result["scaling"], peer.SCALING_TARGET,
                           "x", True))
    return out


def _near_critical(result: dict) -> list[Verdict]:
    """A near-critical case: the step at f_a = 1 % (3D), and each run's share of its 1 / mean f_a bound."""
    out = []
    first, last = result["levels"][0], result["levels"][-1]
    if result["d"] == 3 and last["level"] == 0.01:
        out.append(Verdict(result["case"], "active step at f_a 1 % / at f_a 1", last["active"] / first["active"],
                           active.STEP_RATIO_TARGET, "", False))
    for absorb in result["absorb"]:
        out.append(Verdict(result["case"], f"gain over its 1 / mean f_a bound, phi_c - {absorb['offset']}",
                           active.efficiency(absorb), active.EFFICIENCY_TARGET, "", True))
        if result["d"] == 8 and absorb["offset"] == active.OFFSETS[0]:
            out.append(Verdict(result["case"], "M particle-steps/s to absorption", active.rate(result, absorb) / 1e6,
                               active.RATE_TARGET_8D / 1e6, "M/s", True))
    return out


def lines(found: list[Verdict]) -> list[str]:
    """The targets as a plain table."""
    if not found:
        return []
    rows = [verdict.cells() for verdict in found]
    widths = [max(len(row[k]) for row in rows + [("case", "target", "measured", "goal", "verdict")])
              for k in range(5)]
    header = "  ".join(title.ljust(width) for title, width in zip(("case", "target", "measured", "goal", "verdict"),
                                                                   widths))
    passed = sum(verdict.passed is True for verdict in found)
    out = [f"targets: {passed} of {len(found)} met", header, "-" * len(header)]
    out += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)) for row in rows]
    return out


def markdown(found: list[Verdict]) -> str:
    """The targets as a markdown table, verdicts in bold."""
    out = ["| case | target | measured | goal | verdict |", "|---|---|---|---|---|"]
    for verdict in found:
        case, what, measured, goal, word = verdict.cells()
        out.append(f"| {case} | {what} | {measured} | {goal} | **{word}** |")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    """python -m experiments.bench.targets [BENCH_JSON ...]: the markdown table of the targets of one
    or more bench.json files (default runs/bench/bench.json), with each file's date and command."""
    import argparse
    import json
    parser = argparse.ArgumentParser(prog="python -m experiments.bench.targets", description=main.__doc__)
    parser.add_argument("files", nargs="*", default=["runs/bench/bench.json"])
    for name in parser.parse_args(argv).files:
        payload = json.loads(open(name).read())
        environment = payload.get("environment", {})
        print(f"`neuralpack bench {' '.join(payload.get('argv', []))}`, {payload.get('created', '?')}, "
              f"{environment.get('cpus', '?')} CPUs, numba {environment.get('numba', '?')}, 1-min load "
              f"{fmt(payload.get('load_average_before', [None])[0], '.1f')} before:\n")
        print(markdown(verdicts(payload)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
