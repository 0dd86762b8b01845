"""neuralpack: class-manifold packing with neural encoders, and the suite around the particle engine.

physics_baseline is imported first on purpose: it shortens the OpenMP spin of worker threads
(GOMP_SPINCOUNT), which must be set before torch or faiss load their OpenMP runtime.
"""
import physics_baseline  # noqa: F401
