"""The time loop: recording f_a and the loss, absorbing-state detection, checkpoint and resume."""
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from physics_baseline import box as geometry
from physics_baseline.algorithms import ActiveSetAlgorithm, FullAlgorithm, resolve
from physics_baseline.config import ConfigError, SimulationConfig
from physics_baseline.criticality import relaxation_time
from physics_baseline.neighbors import default_skin

ALGORITHMS = {engine.name: engine for engine in (FullAlgorithm, ActiveSetAlgorithm)}

CHECKPOINT_VERSION = 1


class AbsorbingRun:
    """What every run of an absorbing dynamics (particles or a trained encoder) reports from its
    recorded series: it needs ``steps``, ``active_fraction``, ``loss``, ``absorbed``,
    ``absorption_step`` and ``wall_time`` (seconds)."""

    @property
    def relaxation_time(self) -> float:
        return relaxation_time(self.steps, self.active_fraction, self.absorbed)

    @property
    def final_active_fraction(self) -> float:
        return float(self.active_fraction[-1]) if len(self.active_fraction) else float("nan")

    def series_summary(self) -> dict:
        """The scalar results shared by every kind of run, JSON-ready (NaN as None)."""
        values = {
            "absorbed": self.absorbed,
            "absorption_step": self.absorption_step,
            "final_active_fraction": self.final_active_fraction,
            "final_loss": float(self.loss[-1]) if len(self.loss) else None,
            "relaxation_time": self.relaxation_time,
            "last_step": int(self.steps[-1]) if len(self.steps) else None,
            "wall_time_s": self.wall_time,
        }
        return {key: None if isinstance(value, float) and not math.isfinite(value) else value
                for key, value in values.items()}


@dataclass
class Run(AbsorbingRun):
    """A finished (absorbed or out of steps) run.

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

    def summary(self) -> dict:
        """The run's scalar results, JSON-ready (NaN as None)."""
        throughput = self.config.n * self.steps_taken / self.wall_time if self.wall_time > 0 else None
        return {
            **self.series_summary(),
            "particle_steps_per_s": throughput,
            "neighbour_builds": self.neighbour_builds,
            "neighbour_method": self.neighbour_method,
            "algorithm": self.algorithm,
        }


def simulate(positions: np.ndarray | None = None, checkpoint: str | os.PathLike | None = None,
             resume: bool = False, progress: Callable[[int, float], None] | None = None,
             neighbour_method: str | None = None, **config) -> Run:
    """Run one packing dynamics until it is absorbed (f_a = 0) or ``steps`` steps are taken.

    config: the fields of ``SimulationConfig`` (dynamics, d, n, phi, eps or lr, batch_fraction,
    batch, steps, seed, record_every, polydispersity, size_ratio, skin, checkpoint_every,
    algorithm: "full", "active" or "auto", a speed choice only, see ``physics_baseline.algorithms``).
    positions: (n, d) start in diameters instead of uniform random ones (folded into the box).
    checkpoint: a path written atomically every ``checkpoint_every`` steps; with ``resume=True``
    the run continues from it when it exists (its config must match, ``steps`` may grow).
    progress: called as progress(step, active_fraction) at every record.
    neighbour_method: "cells" or "brute" to force a builder (tests); None picks by geometry.
    """
    cfg = SimulationConfig.from_dict(config)
    radii = geometry.make_radii(cfg.n, cfg.polydispersity, cfg.size_ratio)
    side = geometry.box_length(radii, cfg.d, cfg.phi)
    checkpoint = Path(checkpoint) if checkpoint is not None else None
    records = {"steps": [], "active_fraction": [], "loss": []}
    start = 0
    if checkpoint is not None and checkpoint.exists():
        if not resume:
            raise ConfigError("checkpoint", f"{checkpoint} exists; pass resume=True to continue it")
        x, start, records = _load_checkpoint(checkpoint, cfg)
    elif positions is not None:
        x = geometry.wrap(_checked_positions(positions, cfg), side)
    else:
        x = geometry.random_positions(cfg.n, cfg.d, side, np.random.default_rng(cfg.seed))
    x = np.ascontiguousarray(x, dtype=np.float64)

    skin = cfg.skin if cfg.skin is not None else default_skin(cfg.d)
    began = time.perf_counter()
    engine = ALGORITHMS[resolve(cfg.algorithm)](cfg, x, radii, side, skin, neighbour_method, start)
    absorbed = False
    step = start
    while True:
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
        engine.advance(step)
        step += 1
        if checkpoint is not None and step % cfg.checkpoint_every == 0:
            _save_checkpoint(checkpoint, cfg, x, step, records)
    elapsed = time.perf_counter() - began

    series = {k: np.asarray(v) for k, v in records.items()}
    return Run(config=cfg, steps=series["steps"].astype(np.int64),
               active_fraction=series["active_fraction"].astype(np.float64),
               loss=series["loss"].astype(np.float64), absorbed=absorbed,
               absorption_step=step if absorbed else None, positions=x, radii=radii, box=side,
               wall_time=elapsed, steps_taken=step - start, neighbour_builds=engine.neighbours.builds,
               neighbour_method=engine.neighbours.method or "", algorithm=engine.name)


def _checked_positions(positions, cfg: SimulationConfig) -> np.ndarray:
    array = np.asarray(positions, dtype=np.float64)
    if array.shape != (cfg.n, cfg.d):
        raise ConfigError("positions", f"must have shape (n, d) = ({cfg.n}, {cfg.d}), got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ConfigError("positions", "must be finite (found NaN or inf)")
    return array


def _resume_key(cfg: SimulationConfig) -> dict:
    """The config fields a checkpoint must share with the run that resumes it."""
    key = cfg.to_dict()
    for free in ("steps", "checkpoint_every", "algorithm"):
        key.pop(free, None)
    return key


def _save_checkpoint(path: Path, cfg: SimulationConfig, positions: np.ndarray, step: int,
                     records: dict) -> None:
    """Write the state at ``step`` to path atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        np.savez(handle, version=CHECKPOINT_VERSION, config=json.dumps(_resume_key(cfg), sort_keys=True),
                 positions=positions, step=step,
                 **{k: np.asarray(v) for k, v in records.items()})
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _load_checkpoint(path: Path, cfg: SimulationConfig):
    with np.load(path) as data:
        if int(data["version"]) != CHECKPOINT_VERSION:
            raise ConfigError("checkpoint", f"{path} has format version {int(data['version'])}, "
                                            f"expected {CHECKPOINT_VERSION}")
        saved = json.loads(str(data["config"]))
        if saved != _resume_key(cfg):
            differ = sorted(k for k in saved if saved.get(k) != _resume_key(cfg).get(k))
            raise ConfigError("checkpoint", f"{path} belongs to another run (differs in {', '.join(differ)})")
        records = {"steps": list(data["steps"]), "active_fraction": list(data["active_fraction"]),
                   "loss": list(data["loss"])}
        return data["positions"].copy(), int(data["step"]), records
