"""Structure observables against their O(n^2) twins, exact lattices and ideal-gas statistics.

Integer counts (contacts, g(r) pair counts) must equal their twins exactly. Statistical tests use
fixed seeds and bounds from the known distribution: g(r) bin counts of uniform points are
binomial around their ideal value; S(q) of uniform points is exponential with mean 1 at every
wave vector; fitted exponents are held within 3 of their own standard errors.
"""
import itertools

import numpy as np
import pytest

from physics_baseline import box as geometry
from physics_baseline import observables as ob

TOUCH = 1e-3  # contact tolerance in diameters


def random_configuration(d, n, phi, seed, polydispersity="mono"):
    radii = geometry.make_radii(n, polydispersity)
    side = geometry.box_length(radii, d, phi)
    return geometry.random_positions(n, d, side, np.random.default_rng(seed)), radii, side


def lattice(d, k, spacing=1.0):
    """Hypercubic lattice of k^d sites at the given spacing: (positions, box side)."""
    sites = np.array(list(itertools.product(range(k), repeat=d)), dtype=np.float64)
    return sites * spacing, k * spacing


# --------------------------------------------------------------------------- contacts

@pytest.mark.parametrize("d", [2, 3, 5, 8])
@pytest.mark.parametrize("polydispersity", ["mono", "bidisperse"])
@pytest.mark.parametrize("tolerance", [0.0, TOUCH, 0.1])
def test_contact_pairs_equal_their_twin(d, polydispersity, tolerance):
    n = 2000 if d < 8 else 1000
    x, radii, side = random_configuration(d, n, 0.4 / 2 ** max(0, d - 3), d, polydispersity)
    fast = ob.contact_pairs(x, radii, side, tolerance)
    twin = ob.contact_pairs_brute(x, radii, side, tolerance)
    np.testing.assert_array_equal(fast, twin)
    assert len(fast) > 0
    z = ob.contacts(x, radii, side, tolerance)
    np.testing.assert_array_equal(z, np.bincount(twin.ravel(), minlength=n))
    assert ob.mean_contacts(x, radii, side, tolerance) == pytest.approx(z.mean(), rel=1e-12)


@pytest.mark.parametrize("d", [1, 2, 3, 4])
def test_lattice_at_unit_spacing_has_2d_contacts_only_within_the_tolerance(d):
    x, side = lattice(d, 5)
    radii = np.full(len(x), 0.5)
    assert np.all(ob.contacts(x, radii, side, TOUCH) == 2 * d)
    assert np.all(ob.contacts(x, radii, side, 0.0) == 0)   # exactly touching is not overlapping
    assert ob.mean_contacts(x, radii, side, TOUCH, exclude_rattlers=True) == 2 * d


def test_a_small_sphere_in_a_cubic_cell_is_a_rattler():
    x, side = lattice(3, 5)
    x = np.vstack([x, [[2.5, 2.5, 2.5]]])
    radii = np.append(np.full(125, 0.5), 0.2)   # 0.866 from its corners, reach 0.7
    z = ob.contacts(x, radii, side, TOUCH)
    assert z[-1] == 0 and np.all(z[:-1] == 6)
    assert ob.mean_contacts(x, radii, side, TOUCH) == pytest.approx(6 * 125 / 126)
    assert ob.mean_contacts(x, radii, side, TOUCH, exclude_rattlers=True) == 6


def test_rattlers_are_pruned_until_none_is_left():
    # d = 2 needs 3 contacts: 0-3 form a rigid clique; 5 hangs on 4, and 4 falls with it
    pairs = np.array([[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3], [0, 4], [1, 4], [4, 5]])
    np.testing.assert_array_equal(ob.rattlers(pairs, 7, 2), [0, 0, 0, 0, 1, 1, 1])
    assert ob.rattlers(pairs, 7, 1).tolist() == [0, 0, 0, 0, 0, 1, 1]


# --------------------------------------------------------------------------- pair correlation

@pytest.mark.parametrize("d", [2, 3, 5, 8])
@pytest.mark.parametrize("r_max", [1.7, 1e3])   # the second is cut at box / 2
def test_pair_correlation_equals_its_twin(d, r_max):
    n = 2000 if d < 8 else 1000
    x, _, side = random_configuration(d, n, 0.4 / 2 ** max(0, d - 3), seed=10 + d)
    r, g = ob.pair_correlation(x, side, r_max, 40)
    r_twin, g_twin = ob.pair_correlation_brute(x, side, r_max, 40)
    np.testing.assert_array_equal(r, r_twin)
    np.testing.assert_array_equal(g, g_twin)
    assert r[-1] < min(r_max, side / 2) and g.max() > 0


@pytest.mark.parametrize("d", [2, 3, 5])
def test_ideal_gas_pair_correlation_is_one_within_poisson_error(d):
    n, side, bins = 3000, 10.0, 50
    x = np.random.default_rng(d).random((n, d)) * side
    r, g = ob.pair_correlation(x, side, side / 2, bins)
    edges = np.linspace(0.0, side / 2, bins + 1)
    ideal = n * (n - 1) / 2 * geometry.ball_volume(d) * np.diff(edges ** d) / side ** d
    z = (g - 1) * np.sqrt(ideal)              # binomial counts with p << 1: unit variance
    counted = ideal > 20
    assert counted.sum() >= 40
    assert np.all(np.abs(z[counted]) < 4.5)
    chi2 = np.sum(z[counted] ** 2)
    assert abs(chi2 - counted.sum()) < 4 * np.sqrt(2 * counted.sum())


# --------------------------------------------------------------------------- wave vectors

@pytest.mark.parametrize("d,q_max_index", [(1, 6), (2, 5), (3, 4), (4, 3), (6, 3)])
def test_wave_vectors_in_low_d_are_the_whole_half_lattice(d, q_max_index):
    vectors = ob.wave_vectors(d, q_max_index, vectors_per_shell=10 ** 6)
    full = {m for m in itertools.product(range(-q_max_index, q_max_index + 1), repeat=d)
            if 0 < sum(a * a for a in m) <= q_max_index ** 2 and next(a for a in m if a) > 0}
    assert len(vectors) == len(full) and set(map(tuple, vectors)) == full
    assert np.all(np.diff(np.sum(vectors ** 2, axis=1)) >= 0)


def test_wave_vectors_in_high_d_sample_each_shell_without_repeats():
    per_shell = 50
    vectors = ob.wave_vectors(8, 6, per_shell, seed=3)
    shells = np.sum(vectors ** 2, axis=1)
    counts = np.bincount(shells)
    assert counts[1] == 8 and np.all(counts[2:] == per_shell)  # 8 axes; 56 diagonals and up: sampled
    assert len({tuple(m) for m in vectors}) == len(vectors)
    assert np.all([row[np.flatnonzero(row)[0]] > 0 for row in vectors])
    np.testing.assert_array_equal(vectors, ob.wave_vectors(8, 6, per_shell, seed=3))
    assert not np.array_equal(vectors, ob.wave_vectors(8, 6, per_shell, seed=4))


# --------------------------------------------------------------------------- structure factor

@pytest.mark.parametrize("d", [2, 3, 5, 8])
def test_structure_factor_equals_the_direct_sum_on_a_planted_wave(d):
    rng = np.random.default_rng(20 + d)
    n, side = 600, 7.3
    x = rng.random((n, d)) * side
    x[: n // 2, 0] = side / 4 * rng.integers(0, 4, n // 2) + 0.01 * rng.normal(size=n // 2)  # planes
    planted = np.zeros((1, d), dtype=np.int64)
    planted[0, 0] = 4
    vectors = np.vstack([planted, ob.wave_vectors(d, 7, 3, seed=d)[::7], [[7] + [-3] * (d - 1)]])
    fast, twin = ob.structure_factor_at(x, side, vectors), ob.structure_factor_brute(x, side, vectors)
    np.testing.assert_allclose(fast, twin, rtol=1e-9, atol=1e-9)
    assert fast[0] > n / 8   # the planted Bragg peak, n/4 in expectation


@pytest.mark.parametrize("d,k", [(2, 7), (3, 6)])
def test_lattice_has_bragg_peaks_of_height_n_and_nothing_else(d, k):
    x, side = lattice(d, k)
    vectors = ob.wave_vectors(d, k + 2, vectors_per_shell=10 ** 6)
    s = ob.structure_factor_at(x, side, vectors)
    bragg = np.all(vectors % k == 0, axis=1)
    assert bragg.sum() >= d
    np.testing.assert_allclose(s[bragg], len(x), rtol=1e-9)
    assert np.all(s[~bragg] < 1e-9)


def test_shell_average_groups_the_wave_vectors():
    x = np.random.default_rng(1).random((300, 4)) * 5.0
    q, s, count = ob.structure_factor(x, 5.0, q_max_index=4, vectors_per_shell=20, seed=2)
    vectors = ob.wave_vectors(4, 4, 20, seed=2)
    per_vector = ob.structure_factor_at(x, 5.0, vectors)
    assert count.sum() == len(vectors) and np.all(np.diff(q) > 0)
    first = np.sum(vectors ** 2, axis=1) == 1
    assert q[0] == pytest.approx(2 * np.pi / 5.0) and count[0] == 4
    assert s[0] == pytest.approx(per_vector[first].mean(), rel=1e-12)


@pytest.mark.parametrize("d,q_max_index", [(3, 10), (5, 5)])
def test_ideal_gas_structure_factor_is_one_and_flat(d, q_max_index):
    n, side = 2000, 8.0
    x = np.random.default_rng(30 + d).random((n, d)) * side
    q, s, count = ob.structure_factor(x, side, q_max_index, vectors_per_shell=64, seed=d)
    mean = np.sum(s * count) / count.sum()          # every vector: exponential of mean 1
    assert abs(mean - 1) < 4 / np.sqrt(count.sum())
    alpha, error = ob.small_q_exponent(q, s, q[len(q) // 2], count)
    assert abs(alpha) < 3 * error and error < 0.5


def test_perturbed_lattice_is_hyperuniform_with_exponent_two():
    k, sigma = 16, 0.03
    x, side = lattice(3, k)
    x += sigma * np.random.default_rng(5).normal(size=x.shape)
    q, s, count = ob.structure_factor(x, side, q_max_index=6)   # q up to 2.4, far from Bragg peaks
    expected = 1 - np.exp(-(q * sigma) ** 2)          # each vector exponential with this mean
    assert abs(np.sum((s - expected) * count)) < 4 * np.sqrt(np.sum(count * expected ** 2))
    alpha, error = ob.small_q_exponent(q, s, q[-1], count)
    assert abs(alpha - 2) < 3 * error and error < 0.25


def test_small_q_exponent_of_an_exact_power_law():
    q = np.linspace(0.1, 3.0, 30)
    alpha, error = ob.small_q_exponent(q, 0.7 * q ** 0.25, 1.0)
    assert alpha == pytest.approx(0.25, abs=1e-12) and error < 1e-10


@pytest.mark.parametrize("call,name", [
    (lambda: ob.contacts(np.zeros((5, 9)), np.full(5, 0.5), 4.0), "positions"),
    (lambda: ob.contacts(np.zeros((5, 3)), np.full(4, 0.5), 4.0), "radii"),
    (lambda: ob.contacts(np.zeros((5, 3)), np.full(5, 0.5), 4.0, tolerance=-1), "tolerance"),
    (lambda: ob.pair_correlation(np.zeros((5, 3)), -1.0, 1.0), "box"),
    (lambda: ob.pair_correlation(np.zeros((5, 3)), 4.0, 1.0, bins=0), "bins"),
    (lambda: ob.wave_vectors(3, q_max_index=0), "q_max_index"),
    (lambda: ob.structure_factor_at(np.zeros((5, 3)), 4.0, np.ones((2, 3))), "vectors"),
    (lambda: ob.small_q_exponent(np.arange(1.0, 5.0), np.ones(4), 1.5), "q_fit_max"),
])
def test_bad_input_is_refused_by_name(call, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        call()


def _fcc(cells: int) -> tuple[np.ndarray, float]:
    """An fcc crystal of touching unit spheres: 4 cells^3 sites, box side cells * sqrt(2)."""
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    grid = np.stack(np.meshgrid(*[np.arange(cells)] * 3, indexing="ij"), axis=-1).reshape(-1, 1, 3)
    side = np.sqrt(2.0)                  # nearest neighbours at side / sqrt 2 = 1 diameter
    return ((grid + basis).reshape(-1, 3) * side), cells * side


def test_bond_order_of_an_fcc_crystal_is_the_steinhardt_value():
    positions, box = _fcc(4)
    radii = np.full(len(positions), 0.5)
    assert ob.bond_order(positions, radii, box, gap=0.1) == pytest.approx(0.5745, abs=5e-4)


def test_bond_order_of_an_ideal_gas_falls_as_one_over_root_bonds():
    values = []
    for n in (500, 4000):
        box = (n / 0.5) ** (1 / 3)       # number density 0.5
        positions = np.random.default_rng(n).uniform(0, box, (n, 3))
        radii = np.full(n, 0.5)
        bonds = len(ob.contact_pairs(positions, radii, box, 0.2))
        q6 = ob.bond_order(positions, radii, box, gap=0.2)
        # random directions: |mean of Y_lm|^2 ~ 1 / (4 pi bonds) for each of the 13 m, so
        # Q6^2 ~ 1 / bonds, a sum of 13 such terms (relative scatter of Q6 ~ 0.2; 2.5 sigma here)
        assert q6 == pytest.approx(1 / np.sqrt(bonds), rel=0.5)
        values.append(q6)
    assert values[1] < values[0] / 2


def test_psi6_is_one_on_a_triangular_lattice_and_small_for_a_gas():
    i, j = np.meshgrid(np.arange(12), np.arange(12))
    lattice = np.stack([i + 0.5 * (j % 2), j * np.sqrt(3) / 2], axis=-1).reshape(-1, 2).astype(float)
    # every bond of a triangular patch (in a box too large to wrap) points along a multiple of 60 deg
    assert ob.bond_order(lattice, np.full(len(lattice), 0.5), 100.0, gap=0.05) == pytest.approx(1.0)
    gas = np.random.default_rng(1).uniform(0, 40, (2000, 2))
    assert ob.bond_order(gas, np.full(2000, 0.5), 40.0, gap=0.2) < 0.1
    with pytest.raises(ValueError, match="d = 2 or 3"):
        ob.bond_order(np.zeros((4, 4)), np.full(4, 0.5), 10.0)


def test_contacts_extrapolate_to_a_planted_zero_gap_value():
    gaps = np.geomspace(0.02, 0.3, 8)
    z = 6.0 + 9.0 * gaps ** 0.6
    z0, error, exponent = ob.contacts_at_zero_gap(gaps, z)
    assert z0 == pytest.approx(6.0, abs=1e-6) and exponent == pytest.approx(0.6, abs=1e-5)
    noisy = z + 0.02 * np.random.default_rng(4).standard_normal(gaps.size)
    z0, error, _ = ob.contacts_at_zero_gap(gaps, noisy)
    assert 0 < error < 1 and abs(z0 - 6.0) < 3 * error
    with pytest.raises(ValueError, match="ascending"):
        ob.contacts_at_zero_gap(gaps[::-1], z[::-1])


def test_contacts_against_gap_count_the_fcc_shells_and_drop_no_crystal_site():
    positions, box = _fcc(3)
    radii = np.full(len(positions), 0.5)
    # first shell at gap 0 (12 neighbours), second at sqrt(2) - 1 = 0.414 (6 more)
    z = ob.contacts_against_gap(positions, radii, box, np.array([0.01, 0.3, 0.45]))
    np.testing.assert_allclose(z, [12.0, 12.0, 18.0])
