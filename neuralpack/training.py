"""Training encoders by the paper's particle-wise SGD on class manifolds.

Each iteration (step k) knows every class centre exactly: the rows of an ``embedding_table``, or
for a network the mean embedding of each class's samples, recomputed by a forward pass over all
samples without gradient. With the radii (fixed by phi, or measured from the samples as in CLAMP)
it finds the overlapping pairs (neuralpack.overlap) and the active set Q, records f_a = |Q| / N,
the hinge loss per class and |Q| before the step, and stops when f_a = 0 (absorbed) or after
``steps`` steps. Otherwise it draws the batch exactly as the particle engine does
(``physics_baseline.dynamics.selective_batch``: B = int(b_f |Q|) + 1 active classes, or the
probabilistic batch, both keyed on (seed, step)) and steps the optimiser (plain SGD, or Adam) on
the hinge loss of the batch classes against their partners held fixed.

With the loss of neuralpack.loss (p = 1, R = 1/2) a batch class i then has the gradient
-(1/2) sum_{j overlapping i} n_ij of the particle rule, so that ``embedding_table`` on the torus
with plain SGD follows the trajectory of ``physics_baseline.simulate(dynamics="sgd")`` from the
same start and seed: the table is initialised with the particle run's random positions and folded
back into the box after every step, as ``dynamics.move`` does. The trajectories agree bit for bit
because the loss rounds distances as the engine does (``_EngineDistance``) and plain SGD rounds
lr g before subtracting it (``PlainSGD``): the dynamics is chaotic, and one unit in the last place
grows to a different f_a within a few hundred steps.

Lengths are in diameters on the torus (a fixed radius is 1/2, the box side follows from phi as for
monodisperse particles) and in radians on the unit sphere (a fixed cap angle theta solves
N cap_fraction(theta) = phi). Steps are optimiser steps.
"""
import dataclasses
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from neuralpack import data, state
from neuralpack.diverged import TrainingDiverged
from neuralpack.encoders import build_encoder
from neuralpack.loss import (
    _hinge,
    manifold_centres,
    manifold_radii,
    sphere_hinge_pair_loss,
)
from neuralpack.overlap import TorusOverlapList, overlap_counts, sphere_overlaps
from neuralpack.space import Sphere, Torus
from neuralpack.train_config import RESUMABLE, TrainConfig
from physics_baseline import box as geometry
from physics_baseline import checkpoint as codec
from physics_baseline import dynamics
from physics_baseline.neighbours.verlet import default_skin
from physics_baseline.run import AbsorbingRun

SERIES = ("steps", "active_fraction", "loss", "active_count")


@dataclass
class TrainRun(AbsorbingRun):
    """A finished (absorbed or out of steps) training run.

    Series have one entry per record: ``steps[k]`` is the step number; ``active_fraction[k]`` (f_a),
    ``loss[k]`` (hinge loss per class) and ``active_count[k]`` (|Q|) are measured before that step.
    """
    config: TrainConfig
    steps: np.ndarray
    active_fraction: np.ndarray
    loss: np.ndarray
    active_count: np.ndarray
    absorbed: bool
    absorption_step: int | None
    centres: np.ndarray            # (N, d) final centres: in [0, side)^d, or unit vectors
    radii: np.ndarray              # (N,) final radii: diameters (torus) or radians (sphere)
    side: float | None             # torus side in diameters; None on the sphere
    wall_time: float               # seconds spent training in this call (not counting a resumed part)
    steps_taken: int               # steps executed in this call
    encoder: nn.Module = dataclasses.field(repr=False, compare=False, default=None)  # the trained encoder

    def series(self) -> dict[str, np.ndarray]:
        """step, active_fraction, loss (hinge loss per class) and active_count (|Q|)."""
        return {**super().series(), "active_count": self.active_count}

    def arrays(self) -> dict[str, np.ndarray]:
        """centres (N, d), radii (N,), and side on the torus (absent on the sphere)."""
        side = {} if self.side is None else {"side": self.side}
        return {"centres": self.centres, "radii": self.radii, **side}

    def summary(self) -> dict:
        """The run's scalar results, JSON-ready (NaN as None), with its n_classes and d."""
        return {**self.series_summary(),
                "final_active_count": int(self.active_count[-1]) if len(self.active_count) else None,
                "steps_per_s": self.steps_taken / self.wall_time if self.wall_time > 0 else None,
                "n_classes": self.config.n_classes, "d": self.config.d}


def train(cfg: TrainConfig, *, checkpoint: str | os.PathLike | None = None, resume: bool = False,
          progress: Callable[[int, float], None] | None = None) -> TrainRun:
    """Train one encoder by particle-wise SGD until it is absorbed (f_a = 0) or ``steps`` are taken.

    cfg: a validated ``TrainConfig`` (``TrainConfig.from_dict``). checkpoint: a path written atomically every
    ``checkpoint_every`` steps; with ``resume=True`` the run continues from it when it exists (its
    config must match, ``steps`` may grow) and ends exactly where an uninterrupted run would.
    progress: called as progress(step, active_fraction) at every record.
    Raises TrainingDiverged when a loss, weight or centre becomes NaN or infinite (the last
    checkpoint written is kept).
    """
    space = (_TorusSpace if cfg.space == "torus" else _SphereSpace)(cfg)
    manifolds = (_TableManifolds if cfg.encoder == "embedding_table" else _SampleManifolds)(cfg, space)
    optimiser = _optimiser(cfg, manifolds.encoder)
    checkpoint = Path(checkpoint) if checkpoint is not None else None
    records = {name: [] for name in SERIES}
    start, saved = 0, None
    key = codec.resume_key(cfg.to_dict(), RESUMABLE)
    if codec.refuse_unasked_resume(checkpoint, resume):
        restored = codec.load(checkpoint, key, SERIES)
        states = state.from_array(restored.arrays["state"])
        manifolds.encoder.load_state_dict(states["encoder"])
        optimiser.load_state_dict(states["optimiser"])
        start, records, saved = restored.step, restored.records, restored.step
    pick = dynamics.selective_batch if cfg.batch == "selective" else dynamics.probabilistic_batch
    step = start
    began = time.perf_counter()
    while True:
        centres, radii = manifolds.centres()
        if not torch.isfinite(centres).all():
            raise TrainingDiverged(step, "a class centre", cfg.lr, checkpoint, saved)
        pairs = space.overlaps(centres, radii)
        counts = overlap_counts(pairs, cfg.n_classes)
        active = int(np.count_nonzero(counts))
        absorbed = active == 0
        if step % cfg.record_every == 0 or absorbed or step == cfg.steps:
            _record(records, step, active, _total_loss(space, centres, radii, pairs, cfg), cfg.n_classes)
            if progress is not None:
                progress(step, records["active_fraction"][-1])
        if absorbed or step >= cfg.steps:
            break
        loss = _descend(manifolds, space, optimiser, centres, radii, pairs,
                        pick(counts, cfg.batch_fraction, cfg.seed, step), cfg.power)
        step += 1
        weights = manifolds.encoder.parameters()
        if not (torch.isfinite(loss) and all(torch.isfinite(weight).all() for weight in weights)):
            raise TrainingDiverged(step, "the loss or a weight", cfg.lr, checkpoint, saved)
        if checkpoint is not None and step % cfg.checkpoint_every == 0:
            codec.save(checkpoint, key, step, records, state=state.to_array(
                {"encoder": manifolds.encoder.state_dict(), "optimiser": optimiser.state_dict()}))
            saved = step
    elapsed = time.perf_counter() - began

    series = {name: np.asarray(values) for name, values in records.items()}
    return TrainRun(config=cfg, steps=series["steps"].astype(np.int64),
                    active_fraction=series["active_fraction"].astype(np.float64),
                    loss=series["loss"].astype(np.float64),
                    active_count=series["active_count"].astype(np.int64),
                    absorbed=absorbed, absorption_step=step if absorbed else None,
                    centres=centres.numpy().copy(), radii=radii.numpy().copy(), side=space.side,
                    wall_time=elapsed, steps_taken=step - start, encoder=manifolds.encoder)


def _descend(manifolds, space, optimiser: torch.optim.Optimizer, centres: torch.Tensor, radii: torch.Tensor,
             pairs: np.ndarray, in_batch: np.ndarray, power: int) -> torch.Tensor:
    """One optimiser step on the batch loss (see ``_batch_loss``); returns that loss."""
    optimiser.zero_grad(set_to_none=True)
    loss = _batch_loss(manifolds, space, centres, radii, pairs, in_batch, power)
    loss.backward()
    optimiser.step()
    manifolds.settle()
    return loss


def _batch_loss(manifolds, space, centres: torch.Tensor, radii: torch.Tensor, pairs: np.ndarray,
                in_batch: np.ndarray, power: int) -> torch.Tensor:
    """Hinge loss of the batch classes against their partners held fixed (a scalar with gradient).

    centres (N, d), radii (N,): every class, without gradient; pairs (P, 2) overlapping i < j;
    in_batch (N,) bool. Each pair counts once for each of its members in the batch, that member
    live and the other detached, so that with p = 1 a batch class i has the particle gradient
    -(1/2) sum_{j overlapping i} n_ij whether or not its partners are in the batch too. The terms
    are ordered by (live, held) class, so that each gradient is summed over the partners in the
    order of the particle engine's neighbour rows, rounding included: the pairs come sorted by
    (i, j), so a stable sort by the live class of the terms (j live, then i live) is enough.
    """
    i, j = pairs[:, 0], pairs[:, 1]
    first, second = in_batch[i], in_batch[j]
    live = np.concatenate([j[second], i[first]])
    held = np.concatenate([i[second], j[first]])
    order = np.argsort(live, kind="stable")
    live, held = live[order], torch.from_numpy(held[order])
    classes = np.flatnonzero(in_batch)
    row = np.empty(len(in_batch), dtype=np.int64)
    row[classes] = np.arange(len(classes))
    batch_centres, batch_radii = manifolds.batch(torch.from_numpy(classes))
    live_row = torch.from_numpy(row[live])
    terms = space.pair_loss(batch_centres[live_row], centres[held], batch_radii[live_row], radii[held], power)
    return terms.sum()


def _total_loss(space, centres: torch.Tensor, radii: torch.Tensor, pairs: np.ndarray,
                cfg: TrainConfig) -> float:
    """The hinge loss of every overlapping pair, summed (diameters or radians to the power p)."""
    i, j = torch.from_numpy(np.ascontiguousarray(pairs.T))
    with torch.no_grad():
        return float(space.pair_loss(centres[i], centres[j], radii[i], radii[j], cfg.power).sum())


def _record(records: dict, step: int, active: int, total_loss: float, n_classes: int) -> None:
    records["steps"].append(step)
    records["active_fraction"].append(active / n_classes)
    records["loss"].append(total_loss / n_classes)
    records["active_count"].append(active)


class _TorusSpace:
    """The periodic box [0, side)^d in which N balls of radius 1/2 fill phi (diameters)."""

    def __init__(self, cfg: TrainConfig):
        self.torus = Torus.for_packing(cfg.n_classes, cfg.d, cfg.phi)
        self.side = self.torus.side
        self.fixed_radius = 0.5
        self.search = TorusOverlapList(self.side, default_skin(cfg.d))

    def start(self, n: int, d: int, seed: int) -> np.ndarray:
        """(n, d) uniform random points of the box, the start of a particle run with this seed."""
        return geometry.random_positions(n, d, self.side, np.random.default_rng(seed))

    def place(self, x: torch.Tensor) -> torch.Tensor:
        """Points (..., d) folded into the box."""
        return self.torus.wrap(x)

    def samples(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Sample embeddings (N, m, d) as they are: the loss takes minimum images."""
        return embeddings

    def measured_radii(self, samples: torch.Tensor, r_s: float) -> torch.Tensor:
        """CLAMP radii (N,) of samples (N, m, d), in diameters."""
        return manifold_radii(samples, r_s)

    def overlaps(self, centres: torch.Tensor, radii: torch.Tensor) -> np.ndarray:
        """Overlapping pairs (P, 2), i < j sorted (minimum image), from a candidate list with the
        particle engine's skin, searched again only when a centre may have moved into reach."""
        return self.search(centres, radii)

    def pair_loss(self, a: torch.Tensor, b: torch.Tensor, radii_a: torch.Tensor, radii_b: torch.Tensor,
                  power: int) -> torch.Tensor:
        """Per-pair hinge (P,) (1/2)(R_a + R_b - r)_+^p of centres a, b (P, d) at the minimum-image
        distance r (neuralpack.loss's hinge, with the particle engine's rounding of r)."""
        return _hinge(radii_a + radii_b - _EngineDistance.apply(self.torus.displacement(a, b)), power)


class _EngineDistance(torch.autograd.Function):
    """Lengths r (P,) of displacements (P, d), rounded bit for bit as ``dynamics.overlap_sums`` rounds
    them: squares summed over the axes in order, a correctly rounded square root (numpy's; torch's
    float64 sqrt may differ by one unit in the last place), and the gradient g delta (g / r), 0 at
    r = 0, whose rounding is that of the engine's unit vectors delta (1 / r) scaled by g = -1/2.
    One unit in the last place, grown by the chaotic dynamics, would otherwise part a trained
    embedding table from its particle twin within a few hundred steps."""

    @staticmethod
    def forward(ctx, delta: torch.Tensor) -> torch.Tensor:
        squares = delta[:, 0] * delta[:, 0]
        for k in range(1, delta.shape[1]):
            squares = squares + delta[:, k] * delta[:, k]
        length = torch.from_numpy(np.sqrt(squares.numpy()))
        ctx.save_for_backward(delta, length)
        return length

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        delta, length = ctx.saved_tensors
        scale = torch.where(length > 0, grad / length, torch.zeros_like(length))
        return delta * scale[:, None]


class _SphereSpace:
    """The unit sphere S^(d-1), on which N caps of the fixed angle theta cover phi (radians)."""

    def __init__(self, cfg: TrainConfig):
        self.fixed_radius = Sphere.radius_for_packing(cfg.n_classes, cfg.d, cfg.phi)
        self.side = None

    def start(self, n: int, d: int, seed: int) -> np.ndarray:
        """(n, d) uniform random unit vectors (normalised Gaussians)."""
        x = np.random.default_rng(seed).standard_normal((n, d))
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    def place(self, x: torch.Tensor) -> torch.Tensor:
        """Vectors (..., d) scaled to unit length."""
        return Sphere.project(x)

    def samples(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Sample embeddings (N, m, d) projected on the sphere, as in self-supervised practice."""
        return Sphere.project(embeddings)

    def measured_radii(self, samples: torch.Tensor, r_s: float) -> torch.Tensor:
        """CLAMP radii (N,) of unit samples (N, m, d): chord spreads, read as angles, at most pi."""
        return torch.clamp(manifold_radii(samples, r_s), max=math.pi)

    def overlaps(self, centres: torch.Tensor, radii: torch.Tensor) -> np.ndarray:
        """Overlapping pairs of caps (P, 2), i < j sorted."""
        return sphere_overlaps(centres, radii)

    def pair_loss(self, a: torch.Tensor, b: torch.Tensor, radii_a: torch.Tensor, radii_b: torch.Tensor,
                  power: int) -> torch.Tensor:
        """Per-pair hinge (P,) of the caps around the directions a, b (P, d)."""
        return sphere_hinge_pair_loss(a, b, radii_a, radii_b, power)


class _TableManifolds:
    """embedding_table: row c of the float64 table is the centre of class c, its radius the fixed
    one. The table starts at ``space.start`` (on the torus: the particle run's start) and is put
    back in the space (folded into the box, or normalised) after every step."""

    def __init__(self, cfg: TrainConfig, space):
        self.space = space
        self.encoder = build_encoder("embedding_table", cfg.n_classes, (), cfg.d, seed=cfg.seed)
        self.encoder.initialise(space.start(cfg.n_classes, cfg.d, cfg.seed))
        self.radii = torch.full((cfg.n_classes,), space.fixed_radius, dtype=torch.float64)

    def centres(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Centres (N, d) and radii (N,) of every class, without gradient."""
        return self.encoder.weight.detach(), self.radii

    def batch(self, classes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Centres (B, d) with gradient and radii (B,) of the classes (B,)."""
        return self.encoder(classes), self.radii[classes]

    def settle(self) -> None:
        with torch.no_grad():
            self.encoder.weight.copy_(self.space.place(self.encoder.weight))


class _SampleManifolds:
    """A network over each class's m samples: centre = mean sample embedding (float64), radius the
    fixed one or measured from the samples (CLAMP, r_s)."""

    def __init__(self, cfg: TrainConfig, space):
        self.space = space
        self.cfg = cfg
        self.inputs = _class_inputs(cfg)
        features = cfg.features if cfg.features is not None else cfg.n_classes
        options = {"features": features} if cfg.encoder == "random_feature_linear" else {}
        self.encoder = build_encoder(cfg.encoder, cfg.n_classes, tuple(self.inputs.shape[2:]), cfg.d,
                                     seed=cfg.seed, **options)
        self.fixed_radii = torch.full((cfg.n_classes,), space.fixed_radius, dtype=torch.float64)

    def centres(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Centres (N, d) placed in the space and radii (N,) of every class, without gradient."""
        with torch.no_grad():
            centres, radii = self._describe(self.inputs)
        return self.space.place(centres), radii

    def batch(self, classes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Centres (B, d) and radii (B,) with gradient of the classes (B,)."""
        return self._describe(self.inputs[classes])

    def settle(self) -> None:
        """Nothing to do: the weights are free."""

    def _describe(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Centres (B, d) and radii (B,) of the classes whose samples are inputs (B, m, *shape)."""
        b, m = inputs.shape[:2]
        embeddings = self.encoder(inputs.flatten(0, 1)).to(torch.float64).reshape(b, m, self.cfg.d)
        samples = self.space.samples(embeddings)
        if self.cfg.radius == "measured":
            return manifold_centres(samples), self.space.measured_radii(samples, self.cfg.r_s)
        return manifold_centres(samples), self.fixed_radii[:b]


def _class_inputs(cfg: TrainConfig) -> torch.Tensor:
    """The samples of every class, (N, m, *input_shape) float32, made from the seed."""
    if cfg.data == "digits":
        views, _ = data.digits_views(cfg.n_classes, cfg.samples_per_class, seed=cfg.seed)
        return views
    x, _ = data.synthetic_manifolds(cfg.n_classes, cfg.samples_per_class, cfg.input_dim, cfg.manifold_dim,
                                    cfg.manifold_radius, seed=cfg.seed)
    return x.reshape(cfg.n_classes, cfg.samples_per_class, cfg.input_dim)


def _optimiser(cfg: TrainConfig, encoder: nn.Module) -> torch.optim.Optimizer:
    """Plain SGD or Adam (torch defaults) at lr over the encoder's weights."""
    kind = PlainSGD if cfg.optimizer == "sgd" else torch.optim.Adam
    return kind(encoder.parameters(), lr=cfg.lr)


class PlainSGD(torch.optim.Optimizer):
    """Plain SGD, w <- w - (lr g), the product rounded before the subtraction as the particle engine
    rounds its kicks. torch.optim.SGD fuses the two into one multiply-add on CPUs with FMA, which
    rounds once and parts an embedding table from its particle twin (see ``_EngineDistance``)."""

    def __init__(self, params, lr: float):
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            for weight in group["params"]:
                if weight.grad is not None:
                    weight.sub_(group["lr"] * weight.grad)


__all__ = ["TrainConfig", "TrainRun", "TrainingDiverged", "train"]
