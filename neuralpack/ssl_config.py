"""The settings of a self-supervised run (``neuralpack.ssl``), validated without loading torch.

Each training image is an instance manifold: the embeddings of ``views`` augmented views of it.
"""
import dataclasses
from dataclasses import dataclass

from neuralpack.splits import digits_train_images
from physics_baseline.validate import (
    ConfigError,
    as_choice,
    as_float,
    as_int,
    refuse_unknown_keys,
)

DATASETS = ("digits", "mnist", "cifar10")
ENCODERS = ("cnn", "mlp", "resnet18")
LOSSES = ("packing", "infonce")
OPTIMIZERS = ("sgd", "adam", "lars")
DEVICES = ("auto", "cpu", "cuda")
MAX_DIMENSION = 4096
RESUMABLE = ("steps", "checkpoint_every", "device")  # the fields a resumed run may change


@dataclass
class SSLConfig:
    """One self-supervised run. Embeddings are unit vectors in R^d; lengths (radii, distances) are
    in units of that sphere's radius; steps are optimiser steps on batches of ``batch_size`` images.

    loss: packing (the manifold hinge ``(1/2)(1 - d_ij/(R_i + R_j))_+^power`` over overlapping
    centres of the batch, and of the ``bank`` most recent centres held fixed, plus
    ``radius_weight`` times the mean squared radius) or infonce (SimCLR's, at ``temperature``).
    Radii are measured, ``r_s sqrt(trace cov / min(views, d))`` (CLAMP); with ``detach_radii`` the
    hinge's gradient moves the centres only (radii as constants, as for particles), otherwise it
    can also shrink the radii.
    baselines: also measure a random encoder, PCA to d, raw pixels, and (for loss=packing) an
    InfoNCE encoder trained with the same budget. eval_every: steps between kNN evaluations and
    packing observables on the held-out images (0: at the end only). images: training images used
    (None: all of the split). device: auto picks cuda when available.
    """
    task: str = "ssl"
    data: str = "digits"
    data_root: str = "data"
    download: bool = False
    images: int | None = None
    encoder: str = "cnn"
    d: int = 8
    views: int = 8
    batch_size: int = 64
    steps: int = 1000
    loss: str = "packing"
    r_s: float = 4.0
    radius_weight: float = 0.5
    power: int = 2
    detach_radii: bool = True
    standardise: bool = True
    bank: int = 0
    temperature: float = 0.2
    optimizer: str = "adam"
    lr: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 0.0
    baselines: bool = True
    eval_every: int = 100
    probe_images: int = 512
    knn_k: int = 20
    record_every: int = 10
    checkpoint_every: int = 200
    seed: int = 0
    device: str = "auto"

    @classmethod
    def from_dict(cls, values: dict) -> "SSLConfig":
        """Build and validate from a mapping; unknown keys are refused by name."""
        refuse_unknown_keys(cls, values, "for task=ssl")
        return cls(**values).validated()

    def validated(self) -> "SSLConfig":
        """A copy with every field checked and coerced to its type."""
        for flag in ("download", "baselines", "standardise", "detach_radii"):
            if not isinstance(getattr(self, flag), bool):
                raise ConfigError(flag, f"must be true or false, got {getattr(self, flag)!r}")
        c = dataclasses.replace(
            self,
            task=as_choice("task", self.task, ("ssl",)),
            data=as_choice("data", self.data, DATASETS),
            data_root=str(self.data_root),
            images=None if self.images is None else as_int("images", self.images, 2),
            encoder=as_choice("encoder", self.encoder, ENCODERS),
            d=as_int("d", self.d, 2, MAX_DIMENSION),
            views=as_int("views", self.views, 2),
            batch_size=as_int("batch_size", self.batch_size, 2),
            steps=as_int("steps", self.steps, 0),
            loss=as_choice("loss", self.loss, LOSSES),
            r_s=as_float("r_s", self.r_s, 0.0),
            radius_weight=as_float("radius_weight", self.radius_weight, 0.0, low_open=False),
            power=as_int("power", self.power, 1, 2),
            bank=as_int("bank", self.bank, 0),
            temperature=as_float("temperature", self.temperature, 0.0),
            optimizer=as_choice("optimizer", self.optimizer, OPTIMIZERS),
            lr=as_float("lr", self.lr, 0.0),
            momentum=as_float("momentum", self.momentum, 0.0, 1.0, low_open=False),
            weight_decay=as_float("weight_decay", self.weight_decay, 0.0, low_open=False),
            eval_every=as_int("eval_every", self.eval_every, 0),
            probe_images=as_int("probe_images", self.probe_images, 2),
            knn_k=as_int("knn_k", self.knn_k, 1),
            record_every=as_int("record_every", self.record_every, 1),
            checkpoint_every=as_int("checkpoint_every", self.checkpoint_every, 1),
            seed=as_int("seed", self.seed, 0, 2 ** 63 - 1),
            device=as_choice("device", self.device, DEVICES),
        )
        if c.data == "digits":
            available = digits_train_images()
            if c.images is not None and c.images > available:
                raise ConfigError("images", f"data=digits has {available} training images; got {c.images}")
        images = c.images if c.images is not None else (available if c.data == "digits" else None)
        if images is not None and c.batch_size > images:
            raise ConfigError("batch_size", f"must be at most the {images} training images, got {c.batch_size}")
        if c.momentum >= 1:
            raise ConfigError("momentum", f"must lie in [0, 1), got {c.momentum:g}")
        return c

    @property
    def total_steps(self) -> int:
        """Optimiser steps of the whole run: the encoder's, then the InfoNCE baseline's."""
        return self.steps * (2 if self.baselines and self.loss == "packing" else 1)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
