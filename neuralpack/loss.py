"""The class-manifold hinge loss: overlapping manifolds repel like soft spheres.

Manifold i has centre mu_i (mean embedding of its samples) and radius R_i (fixed, or measured from
its samples as in CLAMP). A pair overlaps when |mu_i - mu_j| < R_i + R_j and then costs
``(1/2) (R_i + R_j - |mu_i - mu_j|)^p``; with p = 1 and R = 1/2 this is the paper's particle hinge
``U(r) = (1 - r)/2`` (lengths in diameters), whose gradient is
``grad_i L = -(1/2) sum_{j overlapping i} n_ij``, n_ij = (mu_i - mu_j)/|mu_i - mu_j|.
(CLAMP divides the overlap by R_i + R_j, ``relative_hinge_pair_loss``, which self-supervised runs
use; the class-manifold runs leave it undivided so that the particle hinge is recovered exactly.)

On the unit hypersphere distances are angles between centre directions and radii are angular
radii (radians). On a periodic torus the caller passes the minimum-image displacement.
"""
import torch
from torch import nn

from physics_baseline.validate import ConfigError, as_choice, as_float

GEOMETRIES = ("euclidean", "sphere")


def manifold_centres(embeddings: torch.Tensor) -> torch.Tensor:
    """Centres (N, d): the mean of each manifold's m samples, embeddings (N, m, d)."""
    _check_embeddings(embeddings)
    return embeddings.mean(dim=1)


def manifold_radii(embeddings: torch.Tensor, r_s: float) -> torch.Tensor:
    """Radii (N,) ``r_s * sqrt(trace(cov) / min(m, d))`` (CLAMP) of embeddings (N, m, d).

    cov is the biased covariance of the m samples (divided by m), so trace(cov) is the mean
    squared distance from the centre and a single sample has radius 0. The gradient at radius 0
    is 0 (not NaN).
    """
    _check_embeddings(embeddings)
    r_s = as_float("r_s", r_s, 0.0, low_open=False)
    _, m, d = embeddings.shape
    spread = embeddings - embeddings.mean(dim=1, keepdim=True)
    trace = spread.pow(2).sum(dim=(1, 2)) / m
    positive = trace > 0
    root = torch.sqrt(torch.where(positive, trace, torch.ones_like(trace)) / min(m, d))
    return r_s * torch.where(positive, root, torch.zeros_like(root))


def hinge_pair_loss(centres_i: torch.Tensor, centres_j: torch.Tensor, radii_i: torch.Tensor,
                    radii_j: torch.Tensor, power: float = 1, displacement: torch.Tensor | None = None) -> torch.Tensor:
    """Per-pair loss (P,) ``(1/2) (R_i + R_j - |mu_i - mu_j|)_+^power`` in flat space or on a torus.

    centres_i, centres_j (P, d); radii_i, radii_j (P,) or scalars; displacement (P, d), when given,
    replaces mu_i - mu_j (e.g. the minimum image on a torus, computed by the caller) and the
    centres are then not read. Lengths in any unit shared by centres and radii.
    """
    if displacement is None:
        displacement = centres_i - centres_j
    distance = torch.linalg.vector_norm(displacement, dim=-1)
    return _hinge(radii_i + radii_j - distance, power)


def relative_hinge_pair_loss(centres_i: torch.Tensor, centres_j: torch.Tensor, radii_i: torch.Tensor,
                             radii_j: torch.Tensor, power: float = 2) -> torch.Tensor:
    """Per-pair loss (P,) ``(1/2) (1 - |mu_i - mu_j| / (R_i + R_j))_+^power`` (CLAMP's form).

    centres_i, centres_j (P, d); radii_i, radii_j (P,), with R_i + R_j > 0. The overlap is
    relative to the contact distance, so the loss has no length unit; pairs that do not overlap
    cost 0 with gradient 0.
    """
    distance = torch.linalg.vector_norm(centres_i - centres_j, dim=-1)
    return _hinge(1 - distance / (radii_i + radii_j), power)


def sphere_hinge_pair_loss(centres_i: torch.Tensor, centres_j: torch.Tensor, angles_i: torch.Tensor,
                           angles_j: torch.Tensor, power: float = 1) -> torch.Tensor:
    """Per-pair loss (P,) ``(1/2) (theta_i + theta_j - angle(mu_i, mu_j))_+^power`` on the sphere.

    centres_i, centres_j (P, d), any nonzero norm (only their directions count); angles_i,
    angles_j (P,) or scalars: angular radii in radians.
    """
    return _hinge(angles_i + angles_j - _angle(centres_i, centres_j), power)


class ManifoldHingeLoss(nn.Module):
    """Sum of the hinge loss over given pairs of manifolds.

    Args:
        power: exponent p >= 1 of the overlap (p = 1: the paper's hinge).
        geometry: "euclidean" (flat space; on a torus pass the minimum-image displacement) or
            "sphere" (angles between centre directions; radii are angular radii in radians).

    forward(centres (N, d), radii (N,) or a scalar (fixed radius), pairs (P, 2) int64 of indices
    (i, j), each unordered pair listed once, displacement (P, d) = mu_i - mu_j or None) -> scalar.
    """

    def __init__(self, power: float = 1, geometry: str = "euclidean"):
        super().__init__()
        self.power = _check_power(power)
        self.geometry = as_choice("geometry", geometry, GEOMETRIES)

    def forward(self, centres: torch.Tensor, radii, pairs: torch.Tensor,
                displacement: torch.Tensor | None = None) -> torch.Tensor:
        if centres.ndim != 2:
            raise ConfigError("centres", f"must have shape (N, d), got {tuple(centres.shape)}")
        if pairs.ndim != 2 or pairs.shape[1] != 2:
            raise ConfigError("pairs", f"must have shape (P, 2), got {tuple(pairs.shape)}")
        if displacement is not None and self.geometry == "sphere":
            raise ConfigError("displacement", "is for the euclidean geometry (torus); the sphere uses angles")
        radii = torch.broadcast_to(torch.as_tensor(radii, dtype=centres.dtype, device=centres.device),
                                   centres.shape[:1])
        i, j = pairs[:, 0], pairs[:, 1]
        if self.geometry == "sphere":
            per_pair = sphere_hinge_pair_loss(centres[i], centres[j], radii[i], radii[j], self.power)
        else:
            per_pair = hinge_pair_loss(centres[i], centres[j], radii[i], radii[j], self.power, displacement)
        return per_pair.sum()


def _hinge(overlap: torch.Tensor, power: float) -> torch.Tensor:
    """(1/2) max(overlap, 0)^power, elementwise."""
    return 0.5 * torch.relu(overlap).pow(_check_power(power))


def _angle(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Angle (radians, (P,)) between the rows of a and b (P, d): 2 atan2(|u - v|, |u + v|) for the
    unit vectors u, v, accurate near 0 and pi with a finite gradient (unlike arccos of the dot)."""
    u = a / torch.linalg.vector_norm(a, dim=-1, keepdim=True)
    v = b / torch.linalg.vector_norm(b, dim=-1, keepdim=True)
    return 2 * torch.atan2(torch.linalg.vector_norm(u - v, dim=-1), torch.linalg.vector_norm(u + v, dim=-1))


def _check_power(power: float) -> float:
    """power as a float >= 1 (below 1 the force at contact is infinite)."""
    return as_float("power", power, 1.0, low_open=False)


def _check_embeddings(embeddings: torch.Tensor) -> None:
    if embeddings.ndim != 3:
        raise ConfigError("embeddings", f"must have shape (N, m, d), got {tuple(embeddings.shape)}")
