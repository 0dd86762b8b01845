"""The kinds of run: particle (physics_baseline), class-manifold training and self-supervised.

A run's settings say its kind: ``task: ssl`` is a self-supervised run (neuralpack.ssl), a named
``encoder`` a class-manifold training run (neuralpack.training), anything else a particle run.
Each kind has its config class, the function that executes it, the one that writes its files
and the fields that a resumed run may change; the torch modules load only when asked for.
"""
import importlib
from dataclasses import dataclass
from typing import Callable

from neuralpack import ssl_config, store, train_config
from physics_baseline import SimulationConfig


@dataclass(frozen=True)
class Kind:
    command: str                  # the neuralpack command that runs one: simulate | train
    config_class: type
    module: str | None            # where execute (``train``) and ``write_run`` live; None: physics_baseline
    resumable: tuple[str, ...]    # fields a resumed run may change

    def executor(self) -> tuple[Callable, Callable]:
        """(execute(**config, checkpoint, resume, progress) -> run, write(run_dir, run) -> summary)."""
        if self.module is None:
            from physics_baseline import simulate
            return simulate, store.write_run
        module = importlib.import_module(self.module)
        return module.train, module.write_run


PARTICLE = Kind("simulate", SimulationConfig, None, ("steps", "checkpoint_every", "algorithm"))
CLASS_MANIFOLDS = Kind("train", train_config.TrainConfig, "neuralpack.training", train_config.RESUMABLE)
SELF_SUPERVISED = Kind("train", ssl_config.SSLConfig, "neuralpack.ssl", ssl_config.RESUMABLE)


def kind_of(values: dict) -> Kind:
    """The kind of the run whose settings (a dict, or a config object's to_dict()) are values."""
    if values.get("task") == "ssl":
        return SELF_SUPERVISED
    return CLASS_MANIFOLDS if "encoder" in values else PARTICLE
