import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from neuralpack.contrastive import InfoNCELoss, info_nce_loss
from physics_baseline.validate import ConfigError


def reference_info_nce(embeddings, temperature):
    """Python loops over anchors and positives, numpy float64; view v of image i is row i*m + v."""
    images, views, d = embeddings.shape
    z = embeddings.reshape(images * views, d)
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    terms = []
    for a in range(images * views):
        denominator = sum(math.exp(z[a] @ z[k] / temperature) for k in range(images * views) if k != a)
        for p in range(images * views):
            if p != a and p // views == a // views:
                terms.append(-math.log(math.exp(z[a] @ z[p] / temperature) / denominator))
    return sum(terms) / len(terms)


def simclr_nt_xent(view_1, view_2, temperature):
    """SimCLR's NT-Xent: rows [view_1; view_2] (2B, d), the partner row as the cross-entropy target."""
    batch = len(view_1)
    z = F.normalize(torch.cat([view_1, view_2]), dim=1)
    logits = z @ z.T / temperature
    logits.fill_diagonal_(-math.inf)
    partner = torch.cat([torch.arange(batch, 2 * batch), torch.arange(batch)])
    return F.cross_entropy(logits, partner)


@pytest.mark.parametrize("images,views,d,temperature", [(2, 2, 3, 0.5), (5, 2, 8, 0.2), (4, 3, 6, 0.1), (3, 5, 2, 1.0)])
def test_loss_matches_a_loop_over_anchors_and_positives(images, views, d, temperature):
    embeddings = np.random.default_rng(images * views * d).normal(size=(images, views, d))
    loss = InfoNCELoss(temperature)(torch.tensor(embeddings))
    assert loss.dtype == torch.float64 and loss.ndim == 0
    assert loss.item() == pytest.approx(reference_info_nce(embeddings, temperature), rel=1e-12)


@pytest.mark.parametrize("temperature", [0.07, 0.5])
def test_two_views_is_simclr_nt_xent(temperature):
    embeddings = torch.tensor(np.random.default_rng(1).normal(size=(16, 2, 10)))
    expected = simclr_nt_xent(embeddings[:, 0], embeddings[:, 1], temperature)
    torch.testing.assert_close(info_nce_loss(embeddings, temperature), expected, rtol=1e-12, atol=0)


def test_coinciding_views_of_orthogonal_images_give_the_known_low_loss():
    """All m views of image i equal e_i: s_ap = 1/T, s_ak = 0 across images, so the loss is
    log(m - 1 + (B - 1) m exp(-1/T)), near its floor log(m - 1) and far below the loss of random
    embeddings (about log(B m - 1))."""
    images, views, temperature = 6, 3, 0.2
    embeddings = torch.eye(images, dtype=torch.float64)[:, None, :].expand(images, views, images)
    loss = info_nce_loss(embeddings, temperature).item()
    assert loss == pytest.approx(math.log(views - 1 + (images - 1) * views * math.exp(-1 / temperature)), rel=1e-12)
    random = torch.tensor(np.random.default_rng(2).normal(size=(images, views, images)))
    assert loss + 1 < info_nce_loss(random, temperature).item()


def test_rescaling_a_view_does_not_change_the_loss():
    rng = np.random.default_rng(3)
    embeddings = rng.normal(size=(5, 3, 4))
    scales = rng.uniform(0.01, 100.0, size=(5, 3, 1))
    torch.testing.assert_close(info_nce_loss(torch.tensor(embeddings * scales), 0.3),
                               info_nce_loss(torch.tensor(embeddings), 0.3), rtol=1e-12, atol=0)


def test_small_temperature_in_float32_is_finite_with_a_finite_gradient():
    """s up to 1/T = 100: exp(s) overflows float32, the logsumexp does not."""
    embeddings = np.random.default_rng(4).normal(size=(8, 4, 5))
    x = torch.tensor(embeddings, dtype=torch.float32, requires_grad=True)
    loss = info_nce_loss(x, 0.01)
    loss.backward()
    assert torch.isfinite(x.grad).all() and torch.count_nonzero(x.grad) > 0
    assert loss.item() == pytest.approx(info_nce_loss(torch.tensor(embeddings), 0.01).item(), rel=1e-4)


@pytest.mark.parametrize("temperature", [0, -0.1, math.nan, math.inf, "warm"])
def test_bad_temperature_is_named(temperature):
    with pytest.raises(ConfigError) as error:
        InfoNCELoss(temperature)
    assert error.value.field == "temperature"
    with pytest.raises(ConfigError) as error:
        info_nce_loss(torch.zeros(2, 2, 3), temperature)
    assert error.value.field == "temperature"


@pytest.mark.parametrize("shape", [(4, 3), (1, 2, 3), (4, 1, 3), (4, 2, 0), (2, 2, 2, 2)])
def test_bad_embedding_shapes_are_named(shape):
    with pytest.raises(ConfigError) as error:
        InfoNCELoss()(torch.zeros(shape))
    assert error.value.field == "embeddings"
