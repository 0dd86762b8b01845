"""Kick statistics of every rule against paper Eq. 1 and Eq. 3, for two and three particles.

Each test repeats one step from the same configuration with M independent draws (the counter-based
RNG: a different step number is a fresh draw) and compares the sample mean and covariance of a
particle's displacement with the prediction, within 5 standard errors computed from the samples.
"""
import numpy as np
import pytest

from physics_baseline import dynamics
from physics_baseline.neighbours.verlet import VerletList

SIDE = 6.0
M = 20_000
PAIR = np.array([[2.0, 2.0, 2.0], [2.6, 2.4, 2.0]])                         # one overlap
TRIANGLE = np.array([[2.0, 2.0, 2.0], [2.7, 2.0, 2.0], [2.0, 2.6, 2.2]])    # 0 touches 1 and 2


def displacements(positions, rule_name, step_size, batch_fraction=1.0, batch="selective"):
    """(M, n, d) displacements of M independent single steps from the same positions."""
    rule = dynamics.RULES[rule_name]
    radii = np.full(len(positions), 0.5)
    verlet = VerletList(SIDE, 1.3, 0.3, "brute")
    verlet.build(positions)
    out = np.empty((M,) + positions.shape)
    for step in range(M):
        x = positions.copy()
        overlaps, unit_sum, _ = dynamics.overlap_sums(x, radii, SIDE, verlet.rows, verlet.counts,
                                                      rule.pair_mode, np.uint64(3), np.uint64(step))
        dynamics.kick(x, overlaps, unit_sum, rule, step_size, batch_fraction, batch, 3, step, SIDE)
        out[step] = x - positions
    return out


def gradient(positions, i):
    """grad_i L = -(1/2) sum_j n_ij over the partners overlapping i."""
    g = np.zeros(positions.shape[1])
    for j in range(len(positions)):
        r = positions[i] - positions[j]
        if j != i and np.linalg.norm(r) < 1.0:
            g -= 0.5 * r / np.linalg.norm(r)
    return g


def assert_moments(samples, mean, covariance):
    """Sample mean and covariance of (M, d) samples agree with the prediction within 5 SE."""
    centred = samples - samples.mean(axis=0)
    mean_se = np.sqrt(np.diag(np.cov(samples.T)) / len(samples)) + 1e-12  # floor: deterministic cases differ by rounding only
    assert np.all(np.abs(samples.mean(axis=0) - mean) < 5 * mean_se), (samples.mean(axis=0), mean)
    products = np.einsum("mi,mj->mij", centred, centred)
    cov_se = products.std(axis=0) / np.sqrt(len(samples)) + 1e-12  # floor: deterministic cases differ by rounding only
    assert np.all(np.abs(products.mean(axis=0) - covariance) < 5 * cov_se), (products.mean(axis=0), covariance)


@pytest.mark.parametrize("positions", [PAIR, TRIANGLE], ids=["two", "three"])
@pytest.mark.parametrize("rule", ["bro", "sme_bro"])
def test_bro_and_its_modified_equation_follow_eq1(positions, rule):
    eps = 0.02
    g = gradient(positions, 0)
    samples = displacements(positions, rule, eps)[:, 0]
    assert_moments(samples, -eps * g, eps ** 2 * np.outer(g, g) / 3)   # Sigma = (1/3) g g^T


@pytest.mark.parametrize("positions", [PAIR, TRIANGLE], ids=["two", "three"])
@pytest.mark.parametrize("b_f", [0.2, 0.5, 0.9])
def test_selective_sgd_follows_eq3(positions, b_f):
    lr = 0.05
    active = len(positions)
    effective = dynamics.batch_size(active, b_f) / active     # Eq. 3's b_f = B / |Q|
    g = gradient(positions, 0)
    samples = displacements(positions, "sgd", lr, b_f)[:, 0]
    assert_moments(samples, -lr * effective * g, lr ** 2 * (effective - effective ** 2) * np.outer(g, g))


@pytest.mark.parametrize("rule,batch", [("sgd", "probabilistic"), ("sme_sgd", "selective")])
def test_probabilistic_sgd_and_its_modified_equation_follow_eq3(rule, batch):
    lr, b_f = 0.05, 0.3
    g = gradient(TRIANGLE, 0)
    samples = displacements(TRIANGLE, rule, lr, b_f, batch)[:, 0]
    assert_moments(samples, -lr * b_f * g, lr ** 2 * (b_f - b_f ** 2) * np.outer(g, g))


def test_selective_batch_has_the_authors_size_and_is_uniform():
    overlaps = np.zeros(1000, dtype=np.int64)
    overlaps[::3] = 1                                 # |Q| = 334
    hits = np.zeros(1000)
    for step in range(2000):
        chosen = dynamics.selective_batch(overlaps, 0.25, seed=1, step=step)
        assert chosen.sum() == int(0.25 * 334) + 1
        assert not chosen[overlaps == 0].any()
        hits += chosen
    p = (int(0.25 * 334) + 1) / 334
    frequency = hits[::3] / 2000
    assert np.all(np.abs(frequency - p) < 5 * np.sqrt(p * (1 - p) / 2000))


def test_gd_is_deterministic_gradient_descent():
    lr = 0.05
    samples = displacements(TRIANGLE, "gd", lr)
    for i in range(3):
        np.testing.assert_allclose(samples[:, i], np.broadcast_to(-lr * gradient(TRIANGLE, i), (M, 3)),
                                   atol=1e-12)


@pytest.mark.parametrize("rule", ["bro_pairwise", "bro_pairwise_nonreciprocal"])
def test_pairwise_bro_kicks(rule):
    eps = 0.02
    samples = displacements(PAIR, rule, eps)
    n01 = (PAIR[0] - PAIR[1]) / np.linalg.norm(PAIR[0] - PAIR[1])
    assert_moments(samples[:, 0], eps / 2 * n01, eps ** 2 / 12 * np.outer(n01, n01))
    momentum = samples[:, 0] + samples[:, 1]
    if rule == "bro_pairwise":            # U_ij = U_ji: the pair's centre does not move
        np.testing.assert_allclose(momentum, 0.0, atol=1e-13)
    else:                                 # independent U_ij, U_ji: correlation zero
        u0, u1 = samples[:, 0] @ n01, -samples[:, 1] @ n01
        assert abs(np.corrcoef(u0, u1)[0, 1]) < 5 / np.sqrt(M)


def test_ro_kicks_are_isotropic_with_uniform_size():
    eps = 0.05
    samples = displacements(PAIR, "ro", eps)[:, 0]
    size = np.linalg.norm(samples, axis=1)
    assert np.all(size <= eps)
    assert abs(size.mean() - eps / 2) < 5 * eps / np.sqrt(12 * M)
    # isotropic: mean zero and covariance (E|x|^2 / d) I = (eps^2 / 3) / 3 I
    assert_moments(samples, np.zeros(3), np.eye(3) * eps ** 2 / 9)


def test_inactive_particles_never_move():
    apart = np.array([[1.0, 1.0, 1.0], [3.0, 3.0, 3.0]])
    for rule in dynamics.RULES:
        np.testing.assert_array_equal(displacements(apart, rule, 0.05, 0.5)[:50], 0.0)
