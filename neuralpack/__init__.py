"""neuralpack: class-manifold packing with neural encoders, and the suite around the particle engine.

The first line shortens the OpenMP busy wait (``physics_baseline.openmp``) before torch or FAISS
load their OpenMP runtime; a package's ``__init__`` runs before any of its modules.

``from neuralpack import train`` gives the training function of ``neuralpack.training``, imported
on first use so that the particle commands and sweep workers do not pay for torch and FAISS.
"""
from physics_baseline import openmp

openmp.shorten_spin()

__all__ = ["train"]


def __getattr__(name: str):
    if name == "train":
        from neuralpack.training import train
        return train
    raise AttributeError(f"module 'neuralpack' has no attribute {name!r}")
