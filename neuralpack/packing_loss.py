"""The packing loss of a self-supervised batch: instance manifolds repel where they overlap.

Image i of a batch has its view embeddings (m unit vectors of R^d), centre mu_i (their mean) and
radius R_i = r_s sqrt(trace cov_i / min(m, d)) (CLAMP). FAISS (``overlap.flat_overlaps``) finds
the overlapping pairs |mu_i - mu_j| < R_i + R_j among the batch and a ``CentreBank`` of earlier
batches' centres, held fixed; the loss per image is

    (1/B) sum_pairs (1/2)(1 - |mu_i - mu_j| / (R_i + R_j))^p + radius_weight mean_i R_i^2.

With ``detach_radii`` the hinge takes the radii as constants, as the particles' hinge takes their
fixed radii: its gradient moves the centres apart, and only the radius term shrinks the manifolds.
Otherwise the hinge can also remove an overlap by shrinking both radii. Lengths are in units of the
embedding sphere's radius.
"""
import torch

from neuralpack.loss import manifold_centres, manifold_radii, relative_hinge_pair_loss
from neuralpack.overlap import flat_overlaps


def packing_loss(embeddings: torch.Tensor, ids: torch.Tensor, bank: "CentreBank", r_s: float,
                 radius_weight: float, power: int,
                 detach_radii: bool) -> tuple[torch.Tensor, float, torch.Tensor, torch.Tensor]:
    """The packing loss of one batch (see the module docstring) and what it measured.

    embeddings (B, m, d): unit view embeddings; ids (B,) int64 image indices; bank: the fixed
    centres of earlier batches. Returns (loss (scalar with gradient), active fraction of the batch,
    centres (B, d) and radii (B,) detached).
    """
    centres, radii = manifold_centres(embeddings), manifold_radii(embeddings, r_s)
    held_centres, held_radii, held_ids = bank.contents()
    every_centre = torch.cat([centres, held_centres.to(centres)])
    every_radius = torch.cat([radii, held_radii.to(radii)])
    pairs = torch.from_numpy(flat_overlaps(every_centre.detach().cpu(), every_radius.detach().cpu()))
    i, j = pairs[:, 0], pairs[:, 1]
    every_id = torch.cat([ids, held_ids])
    keep = (i < len(ids)) & (every_id[i] != every_id[j])
    i, j = i[keep].to(centres.device), j[keep].to(centres.device)
    contact_radius = every_radius.detach() if detach_radii else every_radius
    hinge = relative_hinge_pair_loss(every_centre[i], every_centre[j], contact_radius[i], contact_radius[j], power)
    loss = hinge.sum() / len(ids) + radius_weight * radii.pow(2).mean()
    active = torch.zeros(len(ids), dtype=torch.bool)
    active[i.cpu()] = True
    active[j[j < len(ids)].cpu()] = True
    return loss, float(active.float().mean()), centres.detach(), radii.detach()


class CentreBank:
    """The ``size`` most recent batch centres and radii (first in, first out), with their image
    indices, held fixed as partners of later batches. Size 0 holds nothing."""

    def __init__(self, size: int, d: int):
        self.size = size
        self.centres = torch.empty(0, d)
        self.radii = torch.empty(0)
        self.ids = torch.empty(0, dtype=torch.int64)

    def contents(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """centres (K, d), radii (K,), image indices (K,), K <= size."""
        return self.centres, self.radii, self.ids

    def add(self, centres: torch.Tensor, radii: torch.Tensor, ids: torch.Tensor) -> None:
        """Append a batch (detached, kept on the CPU) and forget the oldest beyond size."""
        if self.size == 0:
            return
        keep = slice(-self.size, None)
        self.centres = torch.cat([self.centres, centres.detach().float().cpu()])[keep]
        self.radii = torch.cat([self.radii, radii.detach().float().cpu()])[keep]
        self.ids = torch.cat([self.ids, ids.cpu()])[keep]

    def state_dict(self) -> dict:
        return {"centres": self.centres, "radii": self.radii, "ids": self.ids}

    def load_state_dict(self, state: dict) -> None:
        self.centres, self.radii, self.ids = state["centres"], state["radii"], state["ids"]


__all__ = ["CentreBank", "packing_loss"]
