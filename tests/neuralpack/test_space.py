import math

import numpy as np
import pytest
import torch

from neuralpack.space import Sphere, Torus
from physics_baseline.box import (
    box_length,
    make_radii,
    minimum_image,
    packing_fraction,
    wrap,
)
from physics_baseline.validate import ConfigError


def _awkward_coordinates(side: float, rng: np.random.Generator) -> np.ndarray:
    """Coordinates around and far outside [0, side), with values that round onto the boundary."""
    special = np.array([0.0, -0.0, side, -side, np.nextafter(side, 0), np.nextafter(side, 2 * side),
                        -1e-18, -1e-300, 1e-300, 3 * side, -7 * side + 1e-15, 0.5 * side, 1e6 * side + 0.1])
    spread = rng.uniform(-5 * side, 5 * side, 500)
    return np.concatenate([special, spread]).reshape(-1, 3)                  # 13 + 500 values


@pytest.mark.parametrize("side", [1.0, 3.502525295426936, 0.7, 123.456])
def test_wrap_matches_physics_baseline_bit_for_bit(side):
    x = _awkward_coordinates(side, np.random.default_rng(0))
    wrapped = Torus(x.shape[1], side).wrap(torch.from_numpy(x)).numpy()
    expected = wrap(x, side)
    assert np.array_equal(wrapped.view(np.int64), expected.view(np.int64))
    assert np.all((wrapped >= 0) & (wrapped < side))


def test_displacement_is_the_minimum_image_and_distance_is_symmetric():
    rng = np.random.default_rng(1)
    side = 2.5
    a, b = rng.uniform(-side, 2 * side, (200, 4)), rng.uniform(-side, 2 * side, (200, 4))
    torus = Torus(4, side)
    delta = torus.displacement(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    assert np.array_equal(delta, minimum_image(a - b, side))
    assert np.all(np.abs(delta) <= side / 2)
    forward = torus.distance(torch.from_numpy(a), torch.from_numpy(b))
    backward = torus.distance(torch.from_numpy(b), torch.from_numpy(a))
    assert torch.equal(forward, backward)
    # a pair 0.1 apart across the boundary of one axis
    near_edges = torus.distance(torch.tensor([0.05, 1.0, 1.0, 1.0], dtype=torch.float64),
                                torch.tensor([side - 0.05, 1.0, 1.0, 1.0], dtype=torch.float64))
    assert near_edges.item() == pytest.approx(0.1, abs=1e-14)


@pytest.mark.parametrize("d", [2, 3, 4, 5, 6, 7, 8, 16])
@pytest.mark.parametrize("n, phi", [(1, 0.3), (1000, 0.07), (40000, 0.64)])
def test_for_packing_side_is_the_particle_box(d, n, phi):
    torus = Torus.for_packing(n, d, phi)
    assert torus.d == d
    assert torus.side == box_length(make_radii(n), d, phi)


def test_for_packing_with_another_radius_fills_phi():
    torus = Torus.for_packing(500, 6, 0.2, radius=1.3)
    assert packing_fraction(np.full(500, 1.3), 6, torus.side) == pytest.approx(0.2, rel=1e-12)


def test_invalid_geometries_name_the_argument():
    cases = [(lambda: Torus(0, 1.0), "d"), (lambda: Torus(2, 0.0), "side"),
             (lambda: Torus(2, math.inf), "side"), (lambda: Torus.for_packing(0, 3, 0.5), "n_classes"),
             (lambda: Torus.for_packing(10, 3, 0.0), "phi"),
             (lambda: Torus.for_packing(10, 3, 0.5, radius=-1), "radius"), (lambda: Sphere(1), "d"),
             (lambda: Sphere.cap_fraction(3, 4.0), "theta"),
             (lambda: Sphere.cap_fraction(3, [0.1, -0.1]), "theta"),
             (lambda: Sphere.radius_for_packing(10, 3, 10.5), "phi"),
             (lambda: Sphere.radius_for_packing(10, 3, 0), "phi")]
    for make, field in cases:
        with pytest.raises(ConfigError) as error:
            make()
        assert error.value.field == field


def test_project_and_angle():
    rng = np.random.default_rng(2)
    a, b = torch.from_numpy(rng.standard_normal((300, 8))), torch.from_numpy(rng.standard_normal((300, 8)))
    sphere = Sphere(8)
    lengths = torch.linalg.vector_norm(sphere.project(a), dim=1)
    assert torch.allclose(lengths, torch.ones(300, dtype=torch.float64), rtol=0, atol=1e-15)
    ua, ub = sphere.project(a), sphere.project(b)
    expected = torch.arccos((ua * ub).sum(dim=1).clamp(-1, 1))
    assert torch.allclose(sphere.angle(a, b), expected, rtol=0, atol=1e-12)
    assert torch.equal(sphere.angle(a, a), torch.zeros(300, dtype=torch.float64))
    assert torch.allclose(sphere.angle(a, 3 * a), torch.zeros(300, dtype=torch.float64), rtol=0, atol=1e-15)
    straight = torch.full((300,), math.pi, dtype=torch.float64)
    assert torch.allclose(sphere.angle(a, -a), straight, rtol=0, atol=1e-15)
    # accurate for tiny and nearly straight angles, where arccos of a dot product is not
    e1 = torch.tensor([1.0, 0.0], dtype=torch.float64)
    for alpha in (1e-9, math.pi - 1e-9):
        other = torch.tensor([math.cos(alpha), math.sin(alpha)], dtype=torch.float64)
        assert sphere.angle(e1, other).item() == pytest.approx(alpha, rel=1e-7, abs=1e-15)


def test_cap_fraction_closed_forms():
    theta = np.linspace(0.0, math.pi, 101)
    assert np.allclose(Sphere.cap_fraction(3, theta), (1 - np.cos(theta)) / 2, rtol=0, atol=1e-14)
    assert np.allclose(Sphere.cap_fraction(2, theta), theta / math.pi, rtol=0, atol=1e-14)
    assert np.allclose(Sphere.cap_fraction(4, theta), (theta - np.sin(theta) * np.cos(theta)) / math.pi,
                       rtol=0, atol=1e-14)
    for d in (2, 3, 5, 8, 32, 128):
        assert Sphere.cap_fraction(d, math.pi) == 1.0
        assert Sphere.cap_fraction(d, 0.0) == 0.0
        assert Sphere.cap_fraction(d, math.pi / 2) == pytest.approx(0.5, abs=1e-15)
        fractions = Sphere.cap_fraction(d, theta)
        assert np.all(np.diff(fractions) >= 0)
        assert np.allclose(fractions + Sphere.cap_fraction(d, math.pi - theta), 1.0, rtol=0, atol=1e-14)
    assert isinstance(Sphere.cap_fraction(3, 0.3), float)


def test_cap_fraction_agrees_with_monte_carlo_in_d8():
    rng = np.random.default_rng(3)
    points = rng.standard_normal((400_000, 8))
    cosines = points[:, 0] / np.linalg.norm(points, axis=1)
    for theta in (0.7, 1.2, 2.0):
        measured = np.mean(cosines > math.cos(theta))
        assert measured == pytest.approx(Sphere.cap_fraction(8, theta), abs=4e-3)


@pytest.mark.parametrize("d", [2, 3, 8, 32, 128])
@pytest.mark.parametrize("n, phi", [(10, 0.07), (10, 9.0), (1000, 0.5), (100000, 0.07)])
def test_radius_for_packing_inverts_cap_fraction(d, n, phi):
    theta = Sphere.radius_for_packing(n, d, phi)
    assert 0 < theta < math.pi
    assert n * Sphere.cap_fraction(d, theta) == pytest.approx(phi, rel=1e-10)
    if d == 2:
        assert theta == pytest.approx(math.pi * phi / n, rel=1e-12)


def test_radius_for_packing_of_a_full_cover_is_pi():
    assert Sphere.radius_for_packing(7, 5, 7) == math.pi
