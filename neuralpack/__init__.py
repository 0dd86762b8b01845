"""neuralpack: class-manifold packing with neural encoders, and the suite around the particle engine.

physics_baseline is imported first on purpose: it shortens the OpenMP spin of worker threads
(GOMP_SPINCOUNT), which must be set before torch or faiss load their OpenMP runtime.

``from neuralpack import train`` gives the training function of ``neuralpack.training``, imported
on first use so that the particle commands and sweep workers do not pay for torch and FAISS.
"""
import physics_baseline  # noqa: F401

__all__ = ["train"]


def __getattr__(name: str):
    if name == "train":
        from neuralpack.training import train
        return train
    raise AttributeError(f"module 'neuralpack' has no attribute {name!r}")
