"""The InfoNCE contrastive loss (SimCLR's NT-Xent) for m >= 2 views of each image.

The B*m views are L2-normalised to z and compared by the scaled cosine similarity
``s_ab = z_a . z_b / temperature``. For an anchor view a of image i the positives are the other
m - 1 views of image i, and the denominator sums over every other view, positive or not:

    loss = mean over anchors a and their positives p of  -log( exp(s_ap) / sum_{k != a} exp(s_ak) )

With m = 2 this is exactly SimCLR's NT-Xent (Chen et al. 2020): each anchor has one positive,
its partner view, and 2B - 2 negatives.
"""
import torch
from torch import nn
from torch.nn import functional as F

from physics_baseline.validate import ConfigError, as_float


def info_nce_loss(embeddings: torch.Tensor, temperature: float) -> torch.Tensor:
    """The InfoNCE loss (scalar) of embeddings (B, m, d): B >= 2 images, m >= 2 views each.

    Views of any nonzero norm (only their directions count); temperature > 0 (dimensionless,
    it divides cosine similarities in [-1, 1]). The log-denominator is a logsumexp, so small
    temperatures do not overflow.
    """
    _check_embeddings(embeddings)
    temperature = _check_temperature(temperature)
    images, views, _ = embeddings.shape
    z = F.normalize(embeddings.reshape(images * views, -1), dim=1)
    similarity = z @ z.T / temperature
    itself = torch.eye(images * views, dtype=torch.bool, device=embeddings.device)
    log_denominator = torch.logsumexp(similarity.masked_fill(itself, -torch.inf), dim=1, keepdim=True)
    image = torch.arange(images, device=embeddings.device).repeat_interleave(views)
    positive = (image[:, None] == image[None, :]) & ~itself
    return (log_denominator - similarity)[positive].mean()


class InfoNCELoss(nn.Module):
    """The InfoNCE / NT-Xent loss of m views per image (see the module docstring).

    Args:
        temperature: > 0, divides the cosine similarities (SimCLR uses 0.1 to 0.5).

    forward(embeddings (B, m, d), B >= 2 images, m >= 2 views) -> scalar.
    """

    def __init__(self, temperature: float = 0.2):
        super().__init__()
        self.temperature = _check_temperature(temperature)

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        return info_nce_loss(embeddings, self.temperature)


def _check_temperature(temperature: float) -> float:
    return as_float("temperature", temperature, 0.0)


def _check_embeddings(embeddings: torch.Tensor) -> None:
    if embeddings.ndim != 3 or embeddings.shape[0] < 2 or embeddings.shape[1] < 2 or embeddings.shape[2] < 1:
        raise ConfigError("embeddings", "must have shape (B, m, d) with B >= 2 images, m >= 2 views "
                                        f"and d >= 1, got {tuple(embeddings.shape)}")
