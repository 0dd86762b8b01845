"""The kinds of run, each named by the ``kind`` field that config.yaml stores.

| kind | command | config | engine | extra to install |
|---|---|---|---|---|
| particles | simulate | ``physics_baseline.SimulationConfig`` | ``physics_baseline.simulate`` | none |
| class_manifolds | train | ``neuralpack.train_config.TrainConfig`` | ``neuralpack.training.train`` | ml |
| ssl | train task=ssl | ``neuralpack.ssl_config.SSLConfig`` | ``neuralpack.ssl.train`` | ml |

Each kind knows its config class, its engine, the fields a resumed run may change and the extra
(``pip install 'neuralpack[ml]'``) its modules need; the modules load only when a run of that
kind is configured or executed, so that particle runs never import torch, FAISS or scikit-learn.
"""
import importlib
from dataclasses import dataclass
from typing import Callable

from neuralpack.suite import presets
from physics_baseline.validate import ConfigError, as_choice

PARTICLES, CLASS_MANIFOLDS, SSL = "particles", "class_manifolds", "ssl"


@dataclass(frozen=True)
class Kind:
    name: str                     # the value of config.yaml's kind field
    command: str                  # the neuralpack command that runs one
    config_class: str             # "module:Class" of its config (from_dict validates, to_dict stores)
    engine: str                   # "module:function": engine(config, *, checkpoint, resume, progress) -> Run
    extra: str | None             # the pip extra its modules need; None: the base install
    profiles: str | None = None   # the shipped preset folder that profile=NAME reads from

    def config(self, values: dict):
        """The validated config object of values, read on top of the shipped profile they name
        (profile=NAME, where the kind has profiles); a ConfigError names a bad field."""
        return _load(self.config_class, self.extra).from_dict(presets.with_profile(self.profiles, values))

    def engine_function(self) -> Callable:
        return _load(self.engine, self.extra)

    @property
    def resumable(self) -> tuple[str, ...]:
        """The fields a resumed run may change: RESUMABLE of its config's module."""
        module = self.config_class.partition(":")[0]
        return _load(f"{module}:RESUMABLE", self.extra)


KINDS = {kind.name: kind for kind in (
    Kind(PARTICLES, "simulate", "physics_baseline.config:SimulationConfig", "physics_baseline:simulate", None),
    Kind(CLASS_MANIFOLDS, "train", "neuralpack.train_config:TrainConfig", "neuralpack.training:train", "ml"),
    Kind(SSL, "train task=ssl", "neuralpack.ssl_config:SSLConfig", "neuralpack.ssl:train", "ml", profiles="ssl"),
)}


def get(name: str) -> Kind:
    """The kind called name, or a ConfigError (field kind) naming the kinds."""
    return KINDS[as_choice("kind", name, KINDS)]


def format1_kind(values: dict) -> str:
    """The kind of a config stored before config.yaml held one (run-file format 1): task=ssl was
    a self-supervised run, a named encoder a class-manifold run, anything else a particle run."""
    if values.get("task") == "ssl":
        return SSL
    return CLASS_MANIFOLDS if "encoder" in values else PARTICLES


def _load(target: str, extra: str | None):
    """The object named "module:attribute", or a ConfigError saying which extra to install."""
    module, _, attribute = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attribute)
    except ModuleNotFoundError as error:
        if extra is None:
            raise
        raise ConfigError("kind", f"needs the {extra!r} extra ({error.name} is missing); install it with "
                                  f"pip install 'neuralpack[{extra}]'") from None
