"""The settings of a training run (``neuralpack.training``), validated without loading torch.

Kept apart from the training loop so that the settings are checked before torch loads.
"""
import dataclasses
from dataclasses import dataclass

import numpy as np

from neuralpack.splits import digits_train_images
from physics_baseline.box import box_length
from physics_baseline.validate import (
    ConfigError,
    as_choice,
    as_float,
    as_int,
    refuse_unknown_keys,
)

ENCODERS = ("embedding_table", "random_feature_linear", "mlp", "cnn")
SPACES = ("torus", "sphere")
MAX_DIMENSION = 64
RESUMABLE = ("steps", "checkpoint_every")  # the fields a resumed run may change


@dataclass
class TrainConfig:
    """One training run. Lengths in diameters (torus) or radians (sphere); steps in optimiser steps.

    encoder: embedding_table (one free vector per class, no data), random_feature_linear, mlp, cnn
    (cnn needs image data: data=digits). space: torus (box side from phi for radius-1/2 balls) or
    sphere (unit sphere, d >= 2). phi in (0, 1]: packing fraction of the fixed radii (with
    radius=measured it still sets the torus side). lr > 0, batch_fraction b_f in (0, 1], batch
    selective | probabilistic, optimizer sgd | adam. radius: fixed, or measured (CLAMP,
    r_s sqrt(trace cov / min(m, d)); networks only). power p of the hinge: 1 or 2.
    data: synthetic (random ``manifold_dim``-balls of radius ``manifold_radius`` in R^input_dim) or
    digits (scikit-learn's 8x8 digits, one image per class, ``samples_per_class`` augmented views).
    features: random features of random_feature_linear (default n_classes, a coupling D/N = 1).
    """
    encoder: str = "embedding_table"
    space: str = "torus"
    d: int = 3
    n_classes: int = 1000
    phi: float = 0.5
    lr: float = 0.04
    batch_fraction: float = 0.5
    batch: str = "selective"
    optimizer: str = "sgd"
    radius: str = "fixed"
    r_s: float = 1.0
    power: int = 1
    data: str = "synthetic"
    samples_per_class: int = 8
    input_dim: int = 32
    manifold_dim: int = 2
    manifold_radius: float = 0.5
    features: int | None = None
    steps: int = 1000
    seed: int = 0
    record_every: int = 1
    checkpoint_every: int = 1000

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """Build and validate from a mapping; unknown keys are refused by name."""
        refuse_unknown_keys(cls, values)
        return cls(**values).validated()

    def validated(self) -> "TrainConfig":
        """A copy with every field checked and coerced to its type."""
        space = as_choice("space", self.space, SPACES)
        input_dim = as_int("input_dim", self.input_dim, 1)
        c = dataclasses.replace(
            self,
            encoder=as_choice("encoder", self.encoder, ENCODERS),
            space=space,
            d=as_int("d", self.d, 2 if space == "sphere" else 1, MAX_DIMENSION),
            n_classes=as_int("n_classes", self.n_classes, 2),
            phi=as_float("phi", self.phi, 0.0, 1.0),
            lr=as_float("lr", self.lr, 0.0),
            batch_fraction=as_float("batch_fraction", self.batch_fraction, 0.0, 1.0),
            batch=as_choice("batch", self.batch, ("selective", "probabilistic")),
            optimizer=as_choice("optimizer", self.optimizer, ("sgd", "adam")),
            radius=as_choice("radius", self.radius, ("fixed", "measured")),
            r_s=as_float("r_s", self.r_s, 0.0),
            power=as_int("power", self.power, 1, 2),
            data=as_choice("data", self.data, ("synthetic", "digits")),
            samples_per_class=as_int("samples_per_class", self.samples_per_class, 1),
            input_dim=input_dim,
            manifold_dim=as_int("manifold_dim", self.manifold_dim, 1, input_dim),
            manifold_radius=as_float("manifold_radius", self.manifold_radius, 0.0, low_open=False),
            features=None if self.features is None else as_int("features", self.features, 1),
            steps=as_int("steps", self.steps, 0),
            seed=as_int("seed", self.seed, 0, 2 ** 63 - 1),
            record_every=as_int("record_every", self.record_every, 1),
            checkpoint_every=as_int("checkpoint_every", self.checkpoint_every, 1),
        )
        c._check_combination()
        return c

    def _check_combination(self) -> None:
        """Refuse fields that are valid alone but not together."""
        if self.encoder == "embedding_table" and self.radius == "measured":
            raise ConfigError("radius", "embedding_table has one vector per class, whose measured radius "
                                        "is 0; use radius=fixed (or a network encoder)")
        if self.encoder == "cnn" and self.data != "digits":
            raise ConfigError("data", "encoder cnn takes images; use data=digits")
        if self.space == "torus":
            side = box_length(np.full(self.n_classes, 0.5), self.d, self.phi)
            if side < 2:
                raise ConfigError("phi", f"the box side {side:.3g} is narrower than 2 diameters; "
                                         "lower phi or raise n_classes")
        if self.encoder != "embedding_table" and self.data == "digits":
            images = digits_train_images()
            if self.n_classes > images:
                raise ConfigError("n_classes", f"data=digits has {images} training images (one class "
                                               f"each); got {self.n_classes}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

