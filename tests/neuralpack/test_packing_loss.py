import math

import numpy as np
import pytest
import torch
from torch.nn import functional

from neuralpack import packing_loss


def reference_packing_loss(embeddings, ids, bank, r_s, radius_weight, power):
    """Loops over every pair of the batch and of the batch with the bank, in numpy float64."""
    z = embeddings.detach().double().numpy()
    b, m, d = z.shape
    centres = z.mean(axis=1)
    radii = np.array([r_s * math.sqrt(((zi - zi.mean(0)) ** 2).sum() / m / min(m, d)) for zi in z])
    held_c, held_r, held_ids = (t.double().numpy() for t in bank.contents())
    others = [(centres[k], radii[k], int(ids[k]), k) for k in range(b)] + \
        [(held_c[k], held_r[k], int(held_ids[k]), None) for k in range(len(held_r))]
    total, active = 0.0, np.zeros(b, bool)
    for i in range(b):
        for j, (c, r, image, row) in enumerate(others):
            if (row is not None and row <= i) or image == int(ids[i]):
                continue
            distance = np.linalg.norm(centres[i] - c)
            if distance < radii[i] + r:
                total += 0.5 * (1 - distance / (radii[i] + r)) ** power
                active[i] = True
                if row is not None:
                    active[row] = True
    return total / b + radius_weight * np.mean(radii ** 2), active.mean()


@pytest.mark.parametrize("power", [1, 2])
def test_packing_loss_matches_loops_with_a_bank(power):
    generator = torch.Generator().manual_seed(power)
    bank = packing_loss.CentreBank(10, 5)
    for _ in range(2):                                                   # 12 entries: the oldest 2 dropped
        old = functional.normalize(torch.randn(6, 4, 5, generator=generator), dim=-1) * 0.2
        bank.add(old.mean(1), torch.rand(6, generator=generator) * 0.3, torch.randint(0, 30, (6,), generator=generator))
    assert len(bank.contents()[2]) == 10
    ids = torch.arange(12)
    ids[0] = bank.contents()[2][-1]                                      # an image whose old centre is in the bank
    embeddings = functional.normalize(torch.randn(12, 4, 5, generator=generator) * 0.3
                                      + torch.randn(12, 1, 5, generator=generator) * 0.2, dim=-1)
    embeddings.requires_grad_()
    loss, active, centres, radii = packing_loss.packing_loss(embeddings, ids, bank, 0.5, 0.3, power, True)
    expected, expected_active = reference_packing_loss(embeddings, ids, bank, 0.5, 0.3, power)
    assert float(loss.detach()) == pytest.approx(expected, rel=1e-5) and active == pytest.approx(expected_active)
    assert 0 < active < 1
    loss.backward()
    assert torch.isfinite(embeddings.grad).all() and embeddings.grad.abs().sum() > 0
    assert centres.shape == (12, 5) and radii.shape == (12,) and not centres.requires_grad


@pytest.mark.parametrize("detach_radii", [True, False])
def test_a_hinge_with_detached_radii_moves_every_view_of_an_image_alike(detach_radii):
    """With the radii held constant the hinge depends on the views through their mean only, so
    every view of an image gets the same gradient; through the radii the views get different ones."""
    generator = torch.Generator().manual_seed(3)
    embeddings = functional.normalize(torch.randn(10, 4, 5, generator=generator) * 0.3
                                      + torch.randn(10, 1, 5, generator=generator) * 0.2, dim=-1)
    embeddings.requires_grad_()
    loss, active, _, _ = packing_loss.packing_loss(embeddings, torch.arange(10), packing_loss.CentreBank(0, 5),
                                                   0.5, 0.0, 2, detach_radii=detach_radii)
    loss.backward()
    assert active > 0
    per_view = embeddings.grad - embeddings.grad.mean(dim=1, keepdim=True)
    moved = embeddings.grad.abs().amax(dim=(1, 2)) > 0
    assert moved.any()
    if detach_radii:
        torch.testing.assert_close(per_view, torch.zeros_like(per_view), rtol=0, atol=1e-7)
    else:
        assert per_view[moved].abs().max() > 1e-3


def test_centre_bank_is_first_in_first_out_and_size_zero_holds_nothing():
    bank = packing_loss.CentreBank(3, 2)
    for k in range(4):
        bank.add(torch.full((1, 2), float(k)), torch.tensor([k / 10]), torch.tensor([k]))
    assert bank.contents()[2].tolist() == [1, 2, 3] and bank.contents()[0][:, 0].tolist() == [1, 2, 3]
    empty = packing_loss.CentreBank(0, 2)
    empty.add(torch.ones(4, 2), torch.ones(4), torch.arange(4))
    assert len(empty.contents()[0]) == 0
