import itertools
import math

import numpy as np
import pytest
import torch

from neuralpack.loss import (
    ManifoldHingeLoss,
    hinge_pair_loss,
    manifold_centres,
    manifold_radii,
    relative_hinge_pair_loss,
    sphere_hinge_pair_loss,
)
from physics_baseline.validate import ConfigError


def all_pairs(n):
    return torch.tensor(list(itertools.combinations(range(n), 2)), dtype=torch.int64)


def reference_loss(centres, radii, pairs, power, side=None):
    """Python loop over pairs, numpy float64; minimum image when side is given."""
    total = 0.0
    for i, j in pairs:
        delta = centres[i] - centres[j]
        if side is not None:
            delta = delta - side * np.round(delta / side)
        overlap = radii[i] + radii[j] - math.sqrt(float(delta @ delta))
        total += 0.5 * max(overlap, 0.0) ** power
    return total


def reference_sphere_loss(centres, angles, pairs, power):
    total = 0.0
    for i, j in pairs:
        u, v = centres[i] / np.linalg.norm(centres[i]), centres[j] / np.linalg.norm(centres[j])
        overlap = angles[i] + angles[j] - math.acos(min(1.0, max(-1.0, float(u @ v))))
        total += 0.5 * max(overlap, 0.0) ** power
    return total


def overlapping_configuration(n=30, d=3, side=2.5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, side, size=(n, d)), rng.uniform(0.3, 0.6, size=n)


def minimum_image(displacement, side):
    return displacement - side * torch.round(displacement / side)


@pytest.mark.parametrize("power", [1, 2, 1.5])
def test_loss_matches_a_loop_over_pairs(power):
    centres, radii = overlapping_configuration()
    pairs = all_pairs(len(centres))
    loss = ManifoldHingeLoss(power)(torch.tensor(centres), torch.tensor(radii), pairs)
    expected = reference_loss(centres, radii, pairs.tolist(), power)
    assert expected > 0
    assert loss.dtype == torch.float64 and loss.ndim == 0
    assert loss.item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("power", [1, 2])
def test_loss_on_a_torus_with_minimum_image_displacement(power):
    side = 2.5
    centres, radii = overlapping_configuration(side=side)
    pairs = all_pairs(len(centres))
    x = torch.tensor(centres)
    displacement = minimum_image(x[pairs[:, 0]] - x[pairs[:, 1]], side)
    loss = ManifoldHingeLoss(power)(x, torch.tensor(radii), pairs, displacement)
    expected = reference_loss(centres, radii, pairs.tolist(), power, side=side)
    assert expected > reference_loss(centres, radii, pairs.tolist(), power)   # wrapping adds overlaps
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_per_pair_loss_and_scalar_radii():
    centres_i = torch.tensor([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]], dtype=torch.float64)
    centres_j = torch.tensor([[0.6, 0.0], [0.0, 1.0], [3.0, 4.0]], dtype=torch.float64)
    per_pair = hinge_pair_loss(centres_i, centres_j, 0.5, 0.5)
    torch.testing.assert_close(per_pair, torch.tensor([0.2, 0.0, 0.0], dtype=torch.float64))
    squared = hinge_pair_loss(centres_i, centres_j, 0.5, 0.5, power=2)
    torch.testing.assert_close(squared, torch.tensor([0.08, 0.0, 0.0], dtype=torch.float64))


def test_zero_loss_and_zero_gradient_without_overlap():
    centres = torch.tensor(np.arange(12.0).reshape(6, 2) * 3, requires_grad=True)
    loss = ManifoldHingeLoss()(centres, 0.5, all_pairs(6))
    loss.backward()
    assert loss.item() == 0 and torch.count_nonzero(centres.grad) == 0


@pytest.mark.parametrize("side", [None, 2.0])
def test_gradient_is_minus_half_the_sum_of_unit_vectors(side):
    """The paper's convention: p = 1, R = 1/2 (diameter 1): grad_i L = -(1/2) sum_{j overlapping i} n_ij."""
    rng = np.random.default_rng(3)
    n, d = 40, 4
    positions = rng.uniform(0, side or 2.0, size=(n, d))
    pairs = all_pairs(n)
    x = torch.tensor(positions, requires_grad=True)
    displacement = x[pairs[:, 0]] - x[pairs[:, 1]]
    if side is not None:
        displacement = minimum_image(displacement, side)
    ManifoldHingeLoss(power=1)(x, 0.5, pairs, displacement).backward()

    expected = np.zeros_like(positions)
    contacts = 0
    for i, j in pairs.tolist():
        delta = positions[i] - positions[j]
        if side is not None:
            delta -= side * np.round(delta / side)
        r = np.linalg.norm(delta)
        if r < 1.0:
            contacts += 1
            expected[i] -= 0.5 * delta / r
            expected[j] += 0.5 * delta / r
    assert contacts > n
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12, atol=1e-14)


def test_radii_match_numpy_covariance():
    rng = np.random.default_rng(4)
    for m, d in [(8, 5), (3, 6), (1, 4)]:
        embeddings = rng.normal(size=(7, m, d))
        radii = manifold_radii(torch.tensor(embeddings), r_s=1.7)
        traces = [np.trace(np.atleast_2d(np.cov(views.T, bias=True))) for views in embeddings]
        expected = 1.7 * np.sqrt(np.array(traces) / min(m, d))
        np.testing.assert_allclose(radii.numpy(), expected, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(manifold_centres(torch.tensor(embeddings)).numpy(), embeddings.mean(axis=1))


def test_collapsed_manifold_has_radius_zero_and_finite_gradient():
    embeddings = torch.ones(3, 4, 2, dtype=torch.float64, requires_grad=True)
    radii = manifold_radii(embeddings, r_s=1.0)
    radii.sum().backward()
    assert torch.count_nonzero(radii) == 0 and torch.isfinite(embeddings.grad).all()


@pytest.mark.parametrize("power", [1, 2])
def test_sphere_loss_matches_a_loop_over_pairs(power):
    rng = np.random.default_rng(5)
    centres = rng.normal(size=(25, 3)) * rng.uniform(0.2, 1.0, size=(25, 1))   # any norm
    angles = rng.uniform(0.2, 0.5, size=25)
    pairs = all_pairs(25)
    loss = ManifoldHingeLoss(power, geometry="sphere")(torch.tensor(centres), torch.tensor(angles), pairs)
    expected = reference_sphere_loss(centres, angles, pairs.tolist(), power)
    assert expected > 0
    assert loss.item() == pytest.approx(expected, rel=1e-10)


def test_sphere_angles_are_exact_at_zero_and_pi():
    a = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 2.0]], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([[3.0, 0.0], [-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    per_pair = sphere_hinge_pair_loss(a, b, 2.0, 2.0)
    torch.testing.assert_close(per_pair, 0.5 * (4.0 - torch.tensor([0.0, math.pi, math.pi / 2], dtype=torch.float64)))
    per_pair.sum().backward()
    assert torch.isfinite(a.grad).all()


@pytest.mark.parametrize("kwargs,field", [({"power": 0.5}, "power"), ({"geometry": "torus"}, "geometry")])
def test_bad_loss_settings_are_named(kwargs, field):
    with pytest.raises(ConfigError) as error:
        ManifoldHingeLoss(**kwargs)
    assert error.value.field == field


def test_bad_shapes_are_named():
    centres = torch.zeros(4, 2, dtype=torch.float64)
    with pytest.raises(ConfigError) as error:
        ManifoldHingeLoss()(centres, 0.5, torch.tensor([0, 1]))
    assert error.value.field == "pairs"
    with pytest.raises(ConfigError) as error:
        manifold_radii(centres, 1.0)
    assert error.value.field == "embeddings"


@pytest.mark.parametrize("power", [1, 2])
def test_relative_hinge_matches_a_loop_and_has_the_contact_gradient(power):
    centres, radii = overlapping_configuration(n=25, d=4, side=2.0, seed=power)
    pairs = all_pairs(25)
    i, j = pairs[:, 0], pairs[:, 1]
    x = torch.from_numpy(centres).requires_grad_()
    per_pair = relative_hinge_pair_loss(x[i], x[j], torch.from_numpy(radii)[i], torch.from_numpy(radii)[j], power)
    expected = []
    for a, b in pairs.tolist():
        distance = math.sqrt(float((centres[a] - centres[b]) @ (centres[a] - centres[b])))
        expected.append(0.5 * max(1 - distance / (radii[a] + radii[b]), 0.0) ** power)
    np.testing.assert_allclose(per_pair.detach().numpy(), expected, rtol=1e-12, atol=0)
    assert 0 < np.count_nonzero(expected) < len(expected)
    per_pair.sum().backward()
    # the gradient on i of one overlapping pair: -(p/2) o^(p-1) n_ij / (R_i + R_j), o the relative overlap
    a, b = next((a, b) for (a, b), value in zip(pairs.tolist(), expected) if value > 0)
    x2 = torch.from_numpy(centres).requires_grad_()
    relative_hinge_pair_loss(x2[a:a + 1], x2[b:b + 1], torch.tensor([radii[a]]), torch.tensor([radii[b]]),
                             power).sum().backward()
    delta = centres[a] - centres[b]
    distance = np.linalg.norm(delta)
    overlap = 1 - distance / (radii[a] + radii[b])
    expected_grad = -(power / 2) * overlap ** (power - 1) * delta / distance / (radii[a] + radii[b])
    np.testing.assert_allclose(x2.grad[a].numpy(), expected_grad, rtol=1e-10)
