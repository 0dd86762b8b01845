"""neuralpack: class-manifold packing with neural encoders, and the suite around the particle engine.

The ML core is this package's modules (training loops ``training`` and ``ssl``, and what they are
built of); ``neuralpack.suite`` runs, stores, sweeps, tracks and reports; ``neuralpack.cli`` is the
command line. The first line shortens the OpenMP busy wait (``physics_baseline.openmp``) before
torch or FAISS load their OpenMP runtime: a package's ``__init__`` runs before any of its modules.
"""
from physics_baseline import openmp

openmp.shorten_spin()
