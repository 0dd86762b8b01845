import math

import numpy as np
import pytest

from physics_baseline import box


def test_ball_volume_known_dimensions():
    assert box.ball_volume(1) == pytest.approx(2.0)
    assert box.ball_volume(2) == pytest.approx(math.pi)
    assert box.ball_volume(3) == pytest.approx(4 * math.pi / 3)
    assert box.ball_volume(8) == pytest.approx(math.pi ** 4 / 24)


@pytest.mark.parametrize("d", range(1, 9))
@pytest.mark.parametrize("polydispersity", ["mono", "bidisperse"])
def test_box_length_gives_the_packing_fraction(d, polydispersity):
    radii = box.make_radii(101, polydispersity)
    side = box.box_length(radii, d, 0.37)
    assert box.packing_fraction(radii, d, side) == pytest.approx(0.37, rel=1e-12)


def test_monodisperse_box_matches_the_diameter_formula():
    # the packing fraction phi = N v_d 0.5^d / L^d gives L = (N v_d 0.5^d / phi)^(1/d)
    for d in range(1, 9):
        expected = (1000 * box.ball_volume(d) * 0.5 ** d / 0.4) ** (1 / d)
        assert box.box_length(box.make_radii(1000), d, 0.4) == pytest.approx(expected, rel=1e-12)


def test_bidisperse_is_a_50_50_mix_with_ratio_1_4():
    radii = box.make_radii(1000, "bidisperse")
    small, large = np.unique(radii)
    assert small == 0.5 and large == pytest.approx(0.7)
    assert np.count_nonzero(radii == small) == 500


def test_wrap_and_minimum_image_stay_in_range():
    rng = np.random.default_rng(3)
    x = rng.normal(scale=20.0, size=(500, 4))
    wrapped = box.wrap(x, 3.0)
    assert np.all((wrapped >= 0) & (wrapped < 3.0))
    shifts = (x - wrapped) / 3.0
    assert np.allclose(shifts, np.round(shifts), atol=1e-9)
    delta = box.minimum_image(x, 3.0)
    assert np.all(np.abs(delta) <= 1.5 + 1e-12)


def test_random_positions_fill_the_box_uniformly():
    rng = np.random.default_rng(0)
    x = box.random_positions(20000, 3, 10.0, rng)
    assert np.all((x >= 0) & (x < 10.0))
    # each coordinate uniform on [0, 10): mean 5 with standard error 10/sqrt(12 n)
    standard_error = 10.0 / math.sqrt(12 * 20000)
    assert np.all(np.abs(x.mean(axis=0) - 5.0) < 5 * standard_error)
