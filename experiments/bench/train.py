"""Cost of a training step against a particle step: ``embedding_table`` on the torus against
``physics_baseline.simulate(dynamics="sgd")`` with the same N, d, phi, lr, batch fraction and seed
(the anchor pair, so both follow the same trajectory). Target: a training step within 10x.

Each measurement runs in a fresh process (spawn) after a warm-up run that compiles the kernels;
the time per step is the run's wall time over its steps, the median over repeats is quoted.

    python -m experiments.bench.cases --cases train-d3
"""
from __future__ import annotations

import multiprocessing
import statistics

CASES = ("train-d3",)
SETTINGS = {"d": 3, "phi": 0.5, "lr": 0.04, "batch_fraction": 0.5, "steps": 50, "record_every": 10}
CLASSES = 10_000
TARGET_RATIO = 10.0


def _seconds_per_step(kind: str, seed: int) -> float:
    """One run's wall time per step (seconds), after a small warm-up run of the same kind."""
    if kind == "train":
        from neuralpack.train_config import TrainConfig
        from neuralpack.training import train

        def execute(n, s):
            return train(TrainConfig.from_dict(dict(encoder="embedding_table", space="torus", n_classes=n, seed=s,
                                                    **SETTINGS)))
    else:
        from physics_baseline import SimulationConfig, simulate

        def execute(n, s):
            return simulate(SimulationConfig.from_dict(dict(dynamics="sgd", n=n, seed=s, **SETTINGS)))
    execute(500, seed + 1000)
    run = execute(CLASSES, seed)
    return run.wall_time / max(run.steps_taken, 1)


def measure(repeats: int) -> dict:
    """Median seconds per step of training and of the particle engine over repeats, and their ratio."""
    context = multiprocessing.get_context("spawn")
    times = {}
    for kind in ("train", "particle"):
        with context.Pool(1) as pool:
            times[kind] = [pool.apply(_seconds_per_step, (kind, seed)) for seed in range(1, repeats + 1)]
    train_s, particle_s = statistics.median(times["train"]), statistics.median(times["particle"])
    return {"case": CASES[0], "train_s_per_step": train_s, "particle_s_per_step": particle_s,
            "ratio": train_s / particle_s, "repeats": repeats, "passed": train_s / particle_s <= TARGET_RATIO}


def lines(result: dict) -> list[str]:
    """The bench table's lines for the result of ``measure``."""
    return [f"training step, embedding_table on the torus, N={CLASSES:,}, d={SETTINGS['d']}, "
            f"phi={SETTINGS['phi']} (median of {result['repeats']}): "
            f"{1e3 * result['train_s_per_step']:.1f} ms against a particle SGD step "
            f"{1e3 * result['particle_s_per_step']:.1f} ms, ratio {result['ratio']:.1f}x, "
            f"target <= {TARGET_RATIO:.0f}x: {'PASS' if result['passed'] else 'FAIL'}"]
