"""Bench cases of the overlap search among class-manifold centres (``neuralpack.overlap``): the FAISS
window search against a periodic cKDTree or the O(n^2) torch twin on the same centres, with the
pairs compared by digest. Each search runs in a fresh child process (``cases``)."""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from experiments.bench.measure import fmt, peak_mb

WARMUP_N = 2000   # centres of the warm-up search (numba kernels and FAISS load there)


@dataclass(frozen=True)
class Case:
    """One overlap-search case: n centres uniform in the box where balls of radius 0.5 fill phi.
    reference: "ckdtree" (physics_baseline.reference.overlapping_pairs) or "dense" (the O(n^2) torch twin,
    which holds n^2 d float64 several times over: n = 4000 in d = 8 is 1 GB each)."""
    name: str
    d: int
    n: int
    phi: float
    reference: str
    reference_repeats: int         # at most; a third of it with --quick


TARGET_CASE = "overlap-d8"


TARGET_S = 1.0             # seconds for the search, N = 10^5 centres in d = 8 near phi_c


CASES = (
    Case(TARGET_CASE, 8, 100_000, 0.07, "ckdtree", 1),   # the cKDTree takes a minute
    Case("overlap-d3", 3, 100_000, 0.60, "ckdtree", 3),
    Case("overlap-d8-dense", 8, 4_000, 0.07, "dense", 3),
    Case("overlap-d3-dense", 3, 4_000, 0.60, "dense", 3),
)


def sample(case: Case, seed: int):
    """(centres (n, d), radii (n,), side) of one repeat of an overlap case, in diameters."""
    import numpy as np

    from physics_baseline import box as geometry
    radii = np.full(case.n, 0.5)
    side = geometry.box_length(radii, case.d, case.phi)
    return geometry.random_positions(case.n, case.d, side, np.random.default_rng(seed)), radii, side


def pair_digest(pairs) -> str:
    """sha1 of an (m, 2) int64 array of pairs sorted by (i, j)."""
    import hashlib

    import numpy as np
    return hashlib.sha1(np.ascontiguousarray(pairs, dtype=np.int64).tobytes()).hexdigest()


def search_child(case: Case, seeds: list[int]) -> dict:
    """Warm up (numba kernels, typed by rank and not by d; FAISS), then time torus_overlaps once
    per seed (wall and this process's CPU time, every thread); this process's peak memory."""
    import numpy as np

    from neuralpack.overlap import torus_overlaps
    torus_overlaps(np.random.default_rng(0).random((WARMUP_N, 2)) * 50.0, np.full(WARMUP_N, 0.5), 50.0)
    runs = []
    for seed in seeds:
        centres, radii, side = sample(case, seed)
        began, began_cpu = time.perf_counter(), time.process_time()
        pairs = torus_overlaps(centres, radii, side)
        runs.append({"seed": seed, "wall_s": time.perf_counter() - began, "cpu_s": time.process_time() - began_cpu,
                     "pairs": len(pairs), "digest": pair_digest(pairs)})
    return {"runs": runs, "side": side, "peak_mb": peak_mb()}


def reference_runs(case: Case, seeds: list[int]) -> list[dict]:
    """The reference search of an overlap case on the centres of every seed (sorting its pairs
    for the comparison is not timed)."""
    import numpy as np

    from neuralpack.overlap import dense_torus_overlaps
    from physics_baseline.reference import overlapping_pairs
    runs = []
    for seed in seeds:
        centres, radii, side = sample(case, seed)
        began = time.perf_counter()
        if case.reference == "ckdtree":
            i, j, _, _ = overlapping_pairs(centres, radii, side)
        else:
            pairs = dense_torus_overlaps(centres, radii, side)
        elapsed = time.perf_counter() - began
        if case.reference == "ckdtree":
            pairs = np.stack([i, j], axis=1)[np.lexsort((j, i))]
        runs.append({"seed": seed, "wall_s": elapsed, "pairs": len(pairs), "digest": pair_digest(pairs)})
    return runs


def row(case: Case, search: dict, reference: list[dict]) -> dict:
    """Medians of one overlap case; same_pairs compares the seeds that have a reference."""
    faiss_s = statistics.median(r["wall_s"] for r in search["runs"])
    reference_s = statistics.median(r["wall_s"] for r in reference) if reference else None
    digests = {r["seed"]: r["digest"] for r in search["runs"]}
    return {"case": case.name, "d": case.d, "n": case.n, "phi": case.phi, "side": search["side"],
            "reference": case.reference, "faiss_s": faiss_s,
            "faiss_cpu_s": statistics.median(r["cpu_s"] for r in search["runs"]), "reference_s": reference_s,
            "ratio": reference_s / faiss_s if reference_s else None,
            "same_pairs": all(digests[r["seed"]] == r["digest"] for r in reference) if reference else None,
            "pairs": statistics.median(r["pairs"] for r in search["runs"]), "peak_mb": search["peak_mb"],
            "search": search, "reference_runs": reference}


def table(rows: list[dict]) -> list[str]:
    header = (f"{'case':<17} {'n':>8} {'d':>2} {'phi':>5} {'FAISS s':>8} {'CPU s':>6} {'reference':>9} {'ref s':>7} "
              f"{'ref/FAISS':>9} {'same pairs':>10} {'pairs':>8} {'peak MB':>8}")
    lines = ["overlap search (neuralpack.overlap.torus_overlaps), seconds per search (median; CPU s: "
             "of every thread), "
             "against the reference on the same centres", header, "-" * len(header)]
    for row in rows:
        same = "-" if row["same_pairs"] is None else "yes" if row["same_pairs"] else "NO"
        lines.append(f"{row['case']:<17} {row['n']:>8,} {row['d']:>2} {row['phi']:>5} {row['faiss_s']:>8.3f} "
                     f"{row['faiss_cpu_s']:>6.2f} "
                     f"{row['reference']:>9} {fmt(row['reference_s'], '.3f'):>7} "
                     f"{fmt(row['ratio'], '.3g'):>9} {same:>10} {row['pairs']:>8,.0f} {row['peak_mb']:>8.0f}")
    target = next((r for r in rows if r["case"] == TARGET_CASE), None)
    if target is not None:
        verdict = "PASS" if target["faiss_s"] < TARGET_S else "FAIL"
        lines.append(f"target < {TARGET_S:.0f} s ({TARGET_CASE}, n={target['n']:,}, "
                     f"d={target['d']}, phi={target['phi']}): {verdict} (measured {target['faiss_s']:.2f} s)")
    return lines
