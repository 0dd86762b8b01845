import numpy as np
from scipy import stats

from physics_baseline import rng


def draws(stream, gaussian=False, count=100_000, seed=11, step=5, b=0):
    a = np.arange(count, dtype=np.int64)
    return rng.draws(np.uint64(seed), np.uint64(step), stream, a, np.full_like(a, b), gaussian)


def test_uniforms_are_uniform_and_reproducible():
    u = draws(rng.KICK)
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    assert np.all((u >= 0) & (u < 1))
    assert np.array_equal(u, draws(rng.KICK))


def test_normals_are_standard_normal():
    z = draws(rng.KICK, gaussian=True)
    assert stats.kstest(z, "norm").pvalue > 1e-3


def test_every_key_word_changes_the_draw():
    base = draws(rng.KICK)
    others = [draws(rng.KICK, seed=12), draws(rng.KICK, step=6),
              draws(rng.PAIR), draws(rng.KICK, b=1)]
    for other in others:
        # independent uniforms: correlation ~ N(0, 1/n)
        assert abs(np.corrcoef(base, other)[0, 1]) < 5 / np.sqrt(base.size)
        assert np.mean(base == other) < 1e-4


def test_neighbouring_labels_are_uncorrelated():
    # particles near in space have near labels (box.random_positions), so this matters
    u = draws(rng.KICK, count=400_000)
    for lag in (1, 2, 64):
        assert abs(np.corrcoef(u[:-lag], u[lag:])[0, 1]) < 5 / np.sqrt(u.size)
