"""The time loop: recording f_a and the loss, absorbing-state detection, checkpoint and resume."""
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from physics_baseline import box as geometry
from physics_baseline import checkpoint as codec
from physics_baseline.config import RESUMABLE, SimulationConfig
from physics_baseline.neighbours.verlet import default_skin
from physics_baseline.restart_pool import RestartPool
from physics_baseline.run import AbsorbingRun
from physics_baseline.stepping import ActiveSetAlgorithm, FullAlgorithm, resolve
from physics_baseline.validate import ConfigError

ALGORITHMS = {engine.name: engine for engine in (FullAlgorithm, ActiveSetAlgorithm)}
SERIES = ("steps", "active_fraction", "loss")


@dataclass
class ParticleRun(AbsorbingRun):
    """A finished (absorbed or out of steps) particle run.

    Series have one entry per record: ``steps[k]`` is the step number, ``active_fraction[k]`` and
    ``loss[k]`` (hinge loss per particle, diameters) are measured before that step is taken.
    """
    config: SimulationConfig
    steps: np.ndarray
    active_fraction: np.ndarray
    loss: np.ndarray
    absorbed: bool
    absorption_step: int | None
    positions: np.ndarray          # (n, d) final positions in [0, box)^d
    radii: np.ndarray              # (n,)
    box: float
    wall_time: float               # seconds spent stepping in this call (not counting a resumed part)
    steps_taken: int               # steps executed in this call
    neighbour_builds: int = 0
    neighbour_method: str = ""
    algorithm: str = ""            # the algorithm that ran: "full" or "active"
    restarts: int = 0              # quasi-stationary runs: absorptions undone from the pool, in all calls

    def arrays(self) -> dict[str, np.ndarray]:
        """positions (n, d) and radii (n,) in diameters, box (side length, diameters)."""
        return {"positions": self.positions, "radii": self.radii, "box": self.box}

    def summary(self) -> dict:
        """The run's scalar results, JSON-ready (NaN as None), with its n and d (and the restarts
        of a quasi-stationary run)."""
        throughput = self.config.n * self.steps_taken / self.wall_time if self.wall_time > 0 else None
        restarts = {"restarts": self.restarts} if self.config.restart_pool else {}   # plain runs keep their columns
        return {
            **self.series_summary(),
            "particle_steps_per_s": throughput,
            "neighbour_builds": self.neighbour_builds,
            "neighbour_method": self.neighbour_method,
            "algorithm": self.algorithm,
            **restarts,
            "n": self.config.n,
            "d": self.config.d,
        }


def simulate(cfg: SimulationConfig, *, positions: np.ndarray | None = None,
             checkpoint: str | os.PathLike | None = None, resume: bool = False,
             progress: Callable[[int, float], None] | None = None,
             neighbour_method: str | None = None) -> ParticleRun:
    """Run one packing dynamics until it is absorbed (f_a = 0) or ``cfg.steps`` steps are taken.

    With ``cfg.restart_pool`` > 0 the run is quasi-stationary: on absorption it continues from a
    stored active configuration (``physics_baseline.restart_pool``), so it ends only after
    ``cfg.steps`` steps (or when its very first state is absorbed); absorbed states are not recorded.

    cfg: a validated ``SimulationConfig`` (``SimulationConfig.from_dict``); its ``algorithm``
    ("full", "active" or "auto") is a speed choice only, see ``physics_baseline.stepping``.
    positions: (n, d) start in diameters instead of uniform random ones (folded into the box).
    checkpoint: a path written atomically every ``checkpoint_every`` steps; with ``resume=True``
    the run continues from it when it exists (its config must match, ``steps`` may grow).
    progress: called as progress(step, active_fraction) at every record.
    neighbour_method: "cells" or "brute" to force a builder (tests); None picks by geometry.
    """
    radii = geometry.make_radii(cfg.n, cfg.polydispersity, cfg.size_ratio)
    side = geometry.box_length(radii, cfg.d, cfg.phi)
    checkpoint = Path(checkpoint) if checkpoint is not None else None
    records = {name: [] for name in SERIES}
    start = restarts = 0
    pool = RestartPool(cfg.restart_pool, (cfg.n, cfg.d), cfg.seed) if cfg.restart_pool else None
    key = codec.resume_key(cfg.to_dict(), RESUMABLE)
    if codec.refuse_unasked_resume(checkpoint, resume):
        saved = codec.load(checkpoint, key, SERIES)
        x, start, records = saved.arrays["positions"], saved.step, saved.records
        if pool is not None:
            pool.load(saved.arrays["pool"])
            restarts = int(saved.arrays["restarts"])
    elif positions is not None:
        x = geometry.wrap(_checked_positions(positions, cfg), side)
    else:
        x = geometry.random_positions(cfg.n, cfg.d, side, np.random.default_rng(cfg.seed))
    x = np.ascontiguousarray(x, dtype=np.float64)

    skin = cfg.skin if cfg.skin is not None else default_skin(cfg.d)
    began = time.perf_counter()
    algorithm = ALGORITHMS[resolve(cfg.algorithm)]
    engine = algorithm(cfg, x, radii, side, skin, neighbour_method, start)
    builds = 0
    absorbed = False
    step = start
    while True:
        if engine.active_count == 0 and pool is not None and pool.filled:
            pool.restore(x, step)
            builds += engine.neighbours.builds
            engine = algorithm(cfg, x, radii, side, skin, neighbour_method, step)
            restarts += 1
        absorbed = engine.active_count == 0
        if step % cfg.record_every == 0 or absorbed or step == cfg.steps:
            f_a = engine.active_count / cfg.n
            records["steps"].append(step)
            records["active_fraction"].append(f_a)
            records["loss"].append(engine.loss_total / cfg.n)
            if progress is not None:
                progress(step, f_a)
        if absorbed or step >= cfg.steps:
            break
        if pool is not None and step % cfg.pool_every == 0:
            pool.store(x, step)
        engine.advance(step)
        step += 1
        if checkpoint is not None and step % cfg.checkpoint_every == 0:
            state = {**pool.state(), "restarts": restarts} if pool is not None else {}
            codec.save(checkpoint, key, step, records, positions=x, **state)
    elapsed = time.perf_counter() - began

    series = {k: np.asarray(v) for k, v in records.items()}
    return ParticleRun(config=cfg, steps=series["steps"].astype(np.int64),
                       active_fraction=series["active_fraction"].astype(np.float64),
                       loss=series["loss"].astype(np.float64), absorbed=absorbed,
                       absorption_step=step if absorbed else None, positions=x, radii=radii, box=side,
                       wall_time=elapsed, steps_taken=step - start,
                       neighbour_builds=builds + engine.neighbours.builds,
                       neighbour_method=engine.neighbours.method or "", algorithm=engine.name,
                       restarts=restarts)


def _checked_positions(positions, cfg: SimulationConfig) -> np.ndarray:
    array = np.asarray(positions, dtype=np.float64)
    if array.shape != (cfg.n, cfg.d):
        raise ConfigError("positions", f"must have shape (n, d) = ({cfg.n}, {cfg.d}), got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ConfigError("positions", "must be finite (found NaN or inf)")
    return array
