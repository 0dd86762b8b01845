"""Embedding geometries: the periodic torus and the unit hypersphere, in any dimension d.

``Torus`` is the periodic cubic box of the particle runs, so that class manifolds embedded in it
can be compared with particle packings at equal packing fraction phi. Lengths are in diameters
(a unit-diameter ball has radius 0.5), as in physics_baseline.

``Sphere`` is the unit hypersphere S^(d-1) in R^d of self-supervised practice; a class manifold is
a cap of angular radius theta (radians) around its centre, and phi is the fraction of the sphere's
area covered by the caps (counting overlaps twice).

Points are torch tensors of shape (..., d), float64.
"""
import math

import numpy as np
import torch
from scipy.optimize import brentq
from scipy.special import betainc

from physics_baseline.box import box_length
from physics_baseline.validate import ConfigError, as_float, as_int


class Torus:
    """The periodic box [0, side)^d; side in diameters."""

    def __init__(self, d: int, side: float):
        self.d = as_int("d", d, 1)
        self.side = as_float("side", side, 0.0)

    @classmethod
    def for_packing(cls, n_classes: int, d: int, phi: float, radius: float = 0.5) -> "Torus":
        """The box in which n_classes balls of this radius fill phi = N v_d R^d / L^d.

        The side is physics_baseline.box.box_length's, so with radius 0.5 it is the box of a
        monodisperse particle run with the same N, d and phi.
        """
        n_classes = as_int("n_classes", n_classes, 1)
        d = as_int("d", d, 1)
        phi = as_float("phi", phi, 0.0)
        radius = as_float("radius", radius, 0.0)
        return cls(d, box_length(np.full(n_classes, radius), d, phi))

    def wrap(self, x: torch.Tensor) -> torch.Tensor:
        """Points folded into [0, side)^d: x - L floor(x / L), with values rounded up to L set to 0
        (bit for bit physics_baseline.box.wrap)."""
        wrapped = x - self.side * torch.floor(x / self.side)
        return torch.where(wrapped >= self.side, torch.zeros_like(wrapped), wrapped)

    def displacement(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Minimum-image a - b, components in [-L/2, L/2] (physics_baseline.box.minimum_image);
        a and b broadcast."""
        delta = a - b
        return delta - self.side * torch.round(delta / self.side)

    def distance(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Minimum-image distance |a - b|, shape of the broadcast less its last axis."""
        return torch.linalg.vector_norm(self.displacement(a, b), dim=-1)


class Sphere:
    """The unit hypersphere S^(d-1) in R^d (d >= 2); angles in radians."""

    def __init__(self, d: int):
        self.d = as_int("d", d, 2)

    @staticmethod
    def project(x: torch.Tensor) -> torch.Tensor:
        """Rows (last axis) scaled to unit length."""
        return x / torch.linalg.vector_norm(x, dim=-1, keepdim=True)

    @staticmethod
    def angle(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Geodesic angle in [0, pi] between the directions of a and b (broadcast).

        2 atan2(|a - b|, |a + b|) of the projected points: accurate to rounding everywhere,
        including nearly equal and nearly antipodal points, where arccos of a dot product is not.
        """
        a, b = Sphere.project(a), Sphere.project(b)
        return 2 * torch.atan2(torch.linalg.vector_norm(a - b, dim=-1),
                               torch.linalg.vector_norm(a + b, dim=-1))

    @staticmethod
    def cap_fraction(d: int, theta):
        """Area of a cap of angular radius theta over the area of S^(d-1).

        0.5 I_{sin^2 theta}((d - 1)/2, 1/2) for theta <= pi/2 (regularised incomplete beta),
        one minus that of pi - theta above. theta: a number or an array in [0, pi].
        """
        d = as_int("d", d, 2)
        angles = np.asarray(theta, dtype=np.float64)
        if not np.all((angles >= 0) & (angles <= math.pi)):
            raise ConfigError("theta", f"must lie in [0, pi], got {theta!r}")
        half = 0.5 * betainc((d - 1) / 2, 0.5, np.sin(angles) ** 2)
        fraction = np.where(angles <= math.pi / 2, half, 1.0 - half)
        return float(fraction) if fraction.ndim == 0 else fraction

    @staticmethod
    def radius_for_packing(n_classes: int, d: int, phi: float) -> float:
        """The cap angle theta at which n_classes caps cover phi: N cap_fraction(d, theta) = phi,
        for 0 < phi <= N."""
        n_classes = as_int("n_classes", n_classes, 1)
        d = as_int("d", d, 2)
        phi = as_float("phi", phi, 0.0, n_classes)
        if phi == n_classes:
            return math.pi
        return brentq(lambda theta: n_classes * Sphere.cap_fraction(d, theta) - phi, 0.0, math.pi,
                      xtol=1e-15, rtol=4 * np.finfo(float).eps)


__all__ = ["Sphere", "Torus"]
