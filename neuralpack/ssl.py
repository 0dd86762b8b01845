"""Self-supervised manifold packing: every training image is an instance manifold.

Each step draws ``batch_size`` images (a seeded permutation per epoch), makes ``views`` augmented
views of each (``neuralpack.data.augmentation``), embeds them on the unit sphere of R^d (the
encoder's output, standardised per dimension over the batch unless ``standardise=false``, then
L2-normalised) and descends one of two losses:

- packing: the instance manifolds' hinge loss with a radius term (``neuralpack.packing_loss``),
  over overlapping pairs of the batch and of the ``bank`` most recent centres, held fixed.
- infonce: SimCLR's loss over the views (``neuralpack.contrastive``), the baseline.

Packing observables are measured for both, on the batch at every record (active fraction f_a: the
share of batch images with an overlapping partner; mean radius) and, every ``eval_every`` steps,
on ``probe_images`` held-out images with fixed views: f_a, the effective packing fraction
phi_eff (the caps of chord radius R_i over the area of the unit sphere, overlaps counted twice),
radius quantiles, the mean distance between centres and to the nearest centre, and the kNN
accuracy of held-out labels. At the end: kNN and linear-probe accuracies of the trained encoder
and, with ``baselines``, of a random encoder (the same initial weights, untrained), PCA of the
pixels to d, the raw pixels, and an encoder trained by InfoNCE with the same data, steps and
optimiser. Lengths are in units of the embedding sphere's radius; steps are optimiser steps.
"""
import csv
import io
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from neuralpack import data, evaluation, state
from neuralpack.contrastive import info_nce_loss
from neuralpack.diverged import TrainingDiverged
from neuralpack.encoders import build_encoder
from neuralpack.loss import manifold_centres, manifold_radii
from neuralpack.optim import LARS
from neuralpack.overlap import flat_overlaps
from neuralpack.packing_loss import CentreBank, packing_loss
from neuralpack.space import Sphere
from neuralpack.ssl_config import RESUMABLE, SSLConfig
from physics_baseline import checkpoint as codec
from physics_baseline.run import Run, json_ready
from physics_baseline.validate import ConfigError

SERIES = ("steps", "active_fraction", "loss", "radius_mean")
OBSERVABLES = ("step", "knn_accuracy", "active_fraction", "phi_eff", "radius_mean", "radius_q10",
               "radius_q50", "radius_q90", "centre_distance", "nn_distance")
INFONCE_CHECKPOINT = "checkpoint-infonce.npz"
EVALUATIONS, ENCODER = "evaluations.csv", "encoder.pt"
EMBED_BATCH = 1024                                     # images per forward pass when evaluating


@dataclass
class SSLRun(Run):
    """A finished self-supervised run.

    Series, one entry per record (every ``record_every`` steps), measured on the batch of that
    step: ``steps``, ``active_fraction``, ``loss`` and ``radius_mean``. ``evaluations``: one dict
    per evaluation (keys OBSERVABLES) on the held-out probe images. ``baselines``: name -> its
    accuracies (and, for encoders, its final probe observables).
    """
    config: SSLConfig
    steps: np.ndarray
    active_fraction: np.ndarray
    loss: np.ndarray
    radius_mean: np.ndarray
    evaluations: list[dict]
    knn_accuracy: float
    linear_probe_accuracy: float
    baselines: dict[str, dict]
    probe_centres: np.ndarray      # (probe_images, d) final centres of the probe manifolds
    probe_radii: np.ndarray        # (probe_images,)
    wall_time: float               # seconds spent in this call (training, baselines, evaluation)
    steps_taken: int               # steps of the trained encoder executed in this call
    encoder: nn.Module = field(repr=False, compare=False, default=None)

    def summary(self) -> dict:
        """The run's results, JSON-ready (NaN as None)."""
        final = {key: value for key, value in self.evaluations[-1].items() if key != "step"}
        values = {
            "knn_accuracy": self.knn_accuracy,
            "linear_probe_accuracy": self.linear_probe_accuracy,
            "baselines": self.baselines,
            "final_active_fraction": final["active_fraction"],
            "phi_eff": final["phi_eff"],
            "radius_mean": final["radius_mean"],
            "centre_distance": final["centre_distance"],
            "nn_distance": final["nn_distance"],
            "last_step": int(self.steps[-1]) if len(self.steps) else 0,
            "wall_time_s": self.wall_time,
        }
        return json_ready({**values, "d": self.config.d})

    def series(self) -> dict[str, np.ndarray]:
        """step, active_fraction, loss and radius_mean, each of the batch of a recorded step."""
        return {**super().series(), "radius_mean": self.radius_mean}

    def arrays(self) -> dict[str, np.ndarray]:
        """The probe manifolds' final centres (P, d) and radii (P,)."""
        return {"centres": self.probe_centres, "radii": self.probe_radii}

    def extra_files(self) -> dict[str, bytes]:
        """evaluations.csv (the OBSERVABLES of each evaluation) and encoder.pt (the trained
        encoder's state dict)."""
        table = io.StringIO()
        writer = csv.writer(table, lineterminator="\n")
        writer.writerow(OBSERVABLES)
        writer.writerows([row[k] for k in OBSERVABLES] for row in self.evaluations)
        return {EVALUATIONS: table.getvalue().encode(), ENCODER: state.to_bytes(self.encoder.state_dict())}


def train(cfg: SSLConfig, *, checkpoint: str | os.PathLike | None = None, resume: bool = False,
          progress: Callable[[int, float], None] | None = None) -> SSLRun:
    """Train an encoder on instance manifolds, then evaluate it and (``baselines``) its baselines.

    cfg: a validated ``SSLConfig`` (``SSLConfig.from_dict``). checkpoint:
    a path written atomically every ``checkpoint_every`` steps (the InfoNCE baseline keeps its own
    beside it); with ``resume=True`` the run continues from it and ends exactly where an
    uninterrupted run would. progress: called as progress(step, active_fraction) at every record,
    the baseline's steps counted after the encoder's (``total_steps``).
    Raises TrainingDiverged when the loss or a weight becomes NaN or infinite.
    """
    began = time.perf_counter()
    device = pick_device(cfg.device)
    (train_images, train_labels), (test_images, test_labels) = data.image_splits(
        cfg.data, cfg.data_root, cfg.download, cfg.images)
    probe = _Probe(cfg, train_images, train_labels, test_images, test_labels, device)
    checkpoint = Path(checkpoint) if checkpoint is not None else None
    trained = _fit(cfg, cfg.loss, train_images, probe, device, checkpoint, resume, progress, offset=0)
    baselines = {}
    if cfg.baselines:
        untrained = ssl_encoder(cfg, tuple(train_images.shape[1:])).to(device)
        baselines["random_encoder"] = {**probe.accuracies(untrained), **_final(probe.observe(untrained, 0))}
        train_pixels, test_pixels = _pixels(train_images), _pixels(test_images)
        baselines["pca"] = probe.label_accuracies(*evaluation.pca_features(train_pixels, test_pixels, cfg.d))
        baselines["raw_pixels"] = probe.label_accuracies(train_pixels, test_pixels)
        if cfg.loss == "packing":
            sibling = None if checkpoint is None else checkpoint.with_name(INFONCE_CHECKPOINT)
            infonce = _fit(cfg, "infonce", train_images, probe, device, sibling, resume, progress, offset=cfg.steps)
            baselines["infonce"] = {**probe.accuracies(infonce.encoder), **_final(infonce.evaluations[-1])}
    accuracies = probe.accuracies(trained.encoder)
    final = probe.manifolds(trained.encoder)
    series = {name: np.asarray(values) for name, values in trained.records.items()}
    return SSLRun(config=cfg, steps=series["steps"].astype(np.int64),
                  active_fraction=series["active_fraction"].astype(np.float64),
                  loss=series["loss"].astype(np.float64), radius_mean=series["radius_mean"].astype(np.float64),
                  evaluations=trained.evaluations, knn_accuracy=accuracies["knn_accuracy"],
                  linear_probe_accuracy=accuracies["linear_probe_accuracy"], baselines=json_ready(baselines),
                  probe_centres=final[0].numpy(), probe_radii=final[1].numpy(),
                  wall_time=time.perf_counter() - began, steps_taken=trained.steps_taken,
                  encoder=trained.encoder)


def ssl_encoder(cfg: SSLConfig, input_shape: tuple[int, ...]) -> nn.Module:
    """The encoder ``cfg.encoder`` (initial weights from cfg.seed) followed, when
    ``cfg.standardise``, by a batch normalisation of each output dimension without learnt scale
    or shift; its output (B, d) is L2-normalised by the caller."""
    encoder = build_encoder(cfg.encoder, 1, input_shape, cfg.d, seed=cfg.seed)
    return nn.Sequential(encoder, nn.BatchNorm1d(cfg.d, affine=False)) if cfg.standardise else encoder


def pick_device(name: str) -> torch.device:
    """cpu, cuda, or (auto) cuda when a GPU is visible, else cpu."""
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", "cuda was asked for but torch sees no GPU; use device=auto or cpu")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


@dataclass
class _Fit:
    encoder: nn.Module
    records: dict
    evaluations: list[dict]
    steps_taken: int


def _fit(cfg: SSLConfig, loss_name: str, images: torch.Tensor, probe: "_Probe", device: torch.device,
         checkpoint: Path | None, resume: bool, progress, offset: int) -> _Fit:
    """Train a fresh encoder (seeded by cfg.seed) with loss_name for cfg.steps steps."""
    encoder = ssl_encoder(cfg, tuple(images.shape[1:])).to(device)
    optimiser = _optimiser(cfg, encoder)
    bank = CentreBank(cfg.bank if loss_name == "packing" else 0, cfg.d)
    records, evaluations, start, saved = {name: [] for name in SERIES}, [], 0, None
    key = {**codec.resume_key(cfg.to_dict(), RESUMABLE), "trained_loss": loss_name}
    if codec.refuse_unasked_resume(checkpoint, resume):
        restored = codec.load(checkpoint, key, SERIES)
        states = state.from_array(restored.arrays["state"])
        encoder.load_state_dict(states["encoder"])
        optimiser.load_state_dict(states["optimiser"])
        bank.load_state_dict(states["bank"])
        start, records, saved = restored.step, restored.records, restored.step
        evaluations = json.loads(str(restored.arrays["evaluations"]))
    augment = data.augmentation(cfg.data)
    batches_per_epoch = len(images) // cfg.batch_size
    if batches_per_epoch == 0:
        raise ConfigError("batch_size", f"must be at most the {len(images)} training images, got {cfg.batch_size}")
    for step in range(start, cfg.steps + 1):
        due = cfg.eval_every and step % cfg.eval_every == 0
        if (due or step == cfg.steps) and not any(e["step"] == step for e in evaluations):
            evaluations.append(probe.observe(encoder, step))
        if step == cfg.steps:
            break
        ids = torch.from_numpy(_batch(cfg.seed, step, len(images), cfg.batch_size, batches_per_epoch))
        views = data.augmented_views(images[ids], cfg.views, augment, _step_seed(cfg.seed, step)).to(device)
        encoder.train()
        embeddings = functional.normalize(encoder(views.flatten(0, 1)), dim=-1).view(len(ids), cfg.views, cfg.d)
        recorded = step % cfg.record_every == 0
        if loss_name == "packing":
            loss, active, centres, radii = packing_loss(embeddings, ids, bank, cfg.r_s, cfg.radius_weight, cfg.power,
                                                        cfg.detach_radii)
            bank.add(centres, radii, ids)
        else:
            loss = info_nce_loss(embeddings, cfg.temperature)
            if recorded:                        # the packing observables only, without gradient
                with torch.no_grad():
                    _, active, _, radii = packing_loss(embeddings, ids, bank, cfg.r_s, 0.0, cfg.power, cfg.detach_radii)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        if not (torch.isfinite(loss) and all(torch.isfinite(w).all() for w in encoder.parameters())):
            raise TrainingDiverged(step + 1, f"the {loss_name} loss or a weight", cfg.lr, checkpoint, saved)
        if recorded:
            for name, value in zip(SERIES, (step, active, float(loss.detach()), float(radii.mean()))):
                records[name].append(value)
            if progress is not None:
                progress(offset + step + 1, active)
        if checkpoint is not None and (step + 1) % cfg.checkpoint_every == 0:
            states = {"encoder": encoder.state_dict(), "optimiser": optimiser.state_dict(), "bank": bank.state_dict()}
            codec.save(checkpoint, key, step + 1, records, evaluations=json.dumps(evaluations),
                       state=state.to_array(states))
            saved = step + 1
    return _Fit(encoder, records, evaluations, cfg.steps - start)


def _batch(seed: int, step: int, n: int, size: int, per_epoch: int) -> np.ndarray:
    """The image indices (size,) of a step: its slice of the epoch's seeded permutation of 0..n-1."""
    epoch, k = divmod(step, per_epoch)
    order = np.random.default_rng([seed, epoch]).permutation(n)
    return order[k * size:(k + 1) * size].astype(np.int64)


def _step_seed(seed: int, step: int, stream: int = 1) -> int:
    """The augmentation seed of a step (stream 1; stream 2: the probe views), independent of
    every other step's and stream's."""
    return int(np.random.SeedSequence([seed, step, stream]).generate_state(1, dtype=np.uint64)[0] >> 1)


def _optimiser(cfg: SSLConfig, encoder: nn.Module) -> torch.optim.Optimizer:
    parameters = list(encoder.parameters())
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "lars":
        return LARS(parameters, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    return torch.optim.Adam(parameters, lr=cfg.lr, weight_decay=cfg.weight_decay)


class _Probe:
    """Evaluation on held-out labels and packing observables on fixed held-out instance manifolds."""

    def __init__(self, cfg: SSLConfig, train_images, train_labels, test_images, test_labels, device):
        self.cfg, self.device = cfg, device
        self.train_images, self.train_labels = train_images, train_labels
        self.test_images, self.test_labels = test_images, test_labels
        probe = test_images[:cfg.probe_images]
        self.views = data.augmented_views(probe, cfg.views, data.augmentation(cfg.data),
                                          _step_seed(cfg.seed, 0, stream=2))

    @torch.no_grad()
    def embed(self, encoder: nn.Module, images: torch.Tensor) -> torch.Tensor:
        """Unit embeddings (n, d) float32 on the CPU of images (n, C, H, W), in eval mode."""
        encoder.eval()
        chunks = [functional.normalize(encoder(data.as_float_images(images[k:k + EMBED_BATCH]).to(self.device)), dim=-1)
                  for k in range(0, len(images), EMBED_BATCH)]
        return torch.cat(chunks).float().cpu()

    def manifolds(self, encoder: nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
        """Centres (P, d) and radii (P,) of the probe images' view manifolds."""
        n, m = self.views.shape[:2]
        embeddings = self.embed(encoder, self.views.flatten(0, 1)).view(n, m, -1)
        return manifold_centres(embeddings), manifold_radii(embeddings, self.cfg.r_s)

    def label_accuracies(self, train_features, test_features) -> dict:
        """kNN and linear-probe accuracies of features (n, f) of the train and test images."""
        return evaluation.accuracies(train_features, self.train_labels, test_features, self.test_labels,
                                     seed=self.cfg.seed, k=self.cfg.knn_k)

    def accuracies(self, encoder: nn.Module) -> dict:
        """kNN and linear-probe accuracies of the encoder's frozen unit embeddings."""
        return self.label_accuracies(self.embed(encoder, self.train_images), self.embed(encoder, self.test_images))

    def observe(self, encoder: nn.Module, step: int) -> dict:
        """The OBSERVABLES at step: kNN accuracy and the probe manifolds' packing."""
        centres, radii = self.manifolds(encoder)
        pairs = flat_overlaps(centres, radii)
        active = np.zeros(len(centres), dtype=bool)
        active[pairs.ravel()] = True
        distances = torch.cdist(centres.double(), centres.double())
        upper = distances[torch.triu_indices(len(centres), len(centres), 1).unbind()]
        distances.fill_diagonal_(math.inf)
        knn = evaluation.knn_accuracy(self.embed(encoder, self.train_images), self.train_labels,
                                      self.embed(encoder, self.test_images), self.test_labels, k=self.cfg.knn_k)
        r = radii.double()
        q10, q50, q90 = torch.quantile(r, torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)).tolist()
        return {"step": int(step), "knn_accuracy": float(knn), "active_fraction": float(active.mean()),
                "phi_eff": effective_packing_fraction(r.numpy(), self.cfg.d), "radius_mean": float(r.mean()),
                "radius_q10": q10, "radius_q50": q50, "radius_q90": q90,
                "centre_distance": float(upper.mean()), "nn_distance": float(distances.min(dim=1).values.mean())}


def effective_packing_fraction(radii: np.ndarray, d: int) -> float:
    """phi_eff = sum_i of the area fraction of S^(d-1) covered by a cap of the chord radius R_i
    (angle 2 arcsin(R_i / 2)): the sphere's packing fraction, as in ``space.Sphere``, of manifolds
    whose centres lie near the unit sphere. Overlaps count twice; radii (n,) in sphere radii."""
    angles = 2 * np.arcsin(np.clip(np.asarray(radii, dtype=np.float64), 0, 2) / 2)
    return float(np.sum(Sphere.cap_fraction(d, angles)))


def _pixels(images: torch.Tensor) -> np.ndarray:
    """Images (n, C, H, W) as float64 pixel rows (n, C H W) in [0, 1]."""
    return data.as_float_images(images).flatten(1).double().numpy()


def _final(observed: dict) -> dict:
    """The packing observables of an evaluation, named as in the summary."""
    return {"final_active_fraction": observed["active_fraction"], "phi_eff": observed["phi_eff"],
            "radius_mean": observed["radius_mean"]}


__all__ = ["SSLRun", "effective_packing_fraction", "pick_device", "ssl_encoder", "train"]
