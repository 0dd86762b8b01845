import math

import numpy as np
import pytest
import torch

from neuralpack import overlap, overlap_grid
from neuralpack.overlap import (
    dense_flat_overlaps,
    dense_sphere_overlaps,
    dense_torus_overlaps,
    flat_overlaps,
    overlap_counts,
    sphere_overlaps,
    torus_normal_sums,
    torus_overlaps,
)
from neuralpack.space import Sphere, Torus
from physics_baseline.box import make_radii, wrap
from physics_baseline.reference import overlapping_pairs_brute
from physics_baseline.validate import ConfigError

CONTACT_GAP = 1e-9
# above 3 reaches (2 max R, up to 1.4) where d < 16: the window search applies; contacts are not wrapped
SIDES = {1: 30.0, 2: 14.0, 3: 7.0, 4: 4.4, 5: 4.4, 6: 4.4, 7: 4.4, 8: 4.4, 16: 3.0}


def _unit(rng: np.random.Generator, d: int) -> np.ndarray:
    u = rng.standard_normal(d)
    return u / np.linalg.norm(u)


def _torus_configuration(d: int, polydispersity: str, side: float, seed: int, n_random: int = 240):
    """Random centres plus centres placed on purpose: on the box edges, pairs that overlap only
    through the periodic boundary, and pairs CONTACT_GAP inside and outside contact.

    Returns centres (n, d), radii (n,), the near-contact pairs that overlap and those that do not.
    """
    rng = np.random.default_rng(seed)
    centres = list(rng.random((n_random, d)) * side)
    on_edges = rng.random((6, d)) * side
    on_edges[1], on_edges[5] = on_edges[0], on_edges[4]
    on_edges[0, 0], on_edges[1, 0] = 0.0, np.nextafter(side, 0)          # both ends of one axis
    on_edges[2, :], on_edges[3, :] = 0.0, np.nextafter(side, 0)          # opposite corners, 0 apart
    on_edges[4, 0], on_edges[5, 0] = 0.2, side - 0.2                      # 0.4 apart through the edge
    centres += list(on_edges)
    radii = list(make_radii(len(centres), polydispersity))
    touching, apart = [], []
    for k in range(24):
        first, second = rng.choice(np.unique(radii), 2)
        gap = CONTACT_GAP if k % 2 else -CONTACT_GAP
        start = rng.random(d) * side
        if k % 4 < 2:                                                     # next to an edge
            start[rng.integers(d)] = rng.choice([1e-12, side - 1e-12, 0.3, side - 0.3])
        direction = np.eye(d)[k % 3] if k % 3 < min(d, 2) else _unit(rng, d)   # along a cell axis
        partner = wrap(start + (first + second + gap) * direction, side)
        (apart if gap > 0 else touching).append((len(centres), len(centres) + 1))
        centres += [start, partner]
        radii += [first, second]
    return np.array(centres), np.array(radii), touching, apart


@pytest.fixture(params=["window", "exhaustive"])
def search(request, monkeypatch):
    """Runs a test with the window search wherever the box is at least three reaches wide (any
    number of cells per centre), and again with the exhaustive search only."""
    monkeypatch.setattr(overlap_grid, "CELLS_PER_CENTRE", math.inf if request.param == "window" else 0.0)
    return request.param


def _uses_window(centres, radii, side) -> bool:
    return overlap_grid.cells_per_side(len(centres), centres.shape[1], side, 2 * radii.max()) >= 3


@pytest.mark.parametrize("d", [1, 2, 3, 4, 5, 6, 7, 8, 16])
@pytest.mark.parametrize("polydispersity", ["mono", "bidisperse"])
def test_torus_search_equals_dense_twin_and_brute_force(monkeypatch, search, d, polydispersity):
    monkeypatch.setattr(overlap, "QUERY_BLOCK", 100)                      # several exhaustive blocks
    monkeypatch.setattr(overlap, "BATCH_ROWS", 50)                        # several batches of cells
    side = SIDES[d]
    centres, radii, touching, apart = _torus_configuration(d, polydispersity, side, seed=d,
                                                           n_random=240 if d < 6 else 600)
    assert _uses_window(centres, radii, side) == (search == "window" and d < 16)
    found = torus_overlaps(centres, radii, side)
    assert found.dtype == np.int64 and found.shape[1] == 2
    assert np.array_equal(found, overlapping_pairs_brute(centres, radii, side))
    assert np.array_equal(found, dense_torus_overlaps(centres, radii, side))
    pairs = set(map(tuple, found.tolist()))
    assert set(touching) <= pairs and not set(apart) & pairs
    n = len(centres)
    assert (n - 6 - 48, n - 6 - 48 + 1) in pairs                         # both ends of one axis
    assert (n - 6 - 48 + 2, n - 6 - 48 + 3) in pairs                     # opposite corners
    assert (n - 6 - 48 + 4, n - 6 - 48 + 5) in pairs                     # through the edge only


@pytest.mark.parametrize("reaches", [2.02, 3.0003, 3.2])
@pytest.mark.parametrize("d", [2, 5, 8])
def test_torus_in_boxes_two_and_three_reaches_wide(search, d, reaches):
    # 3.0003 reaches: the window search's cells are barely a reach (times 1 + 1e-4) wide
    side = 2 * 0.7 * reaches
    centres, radii, touching, apart = _torus_configuration(d, "bidisperse", side, seed=30 + d, n_random=400)
    assert _uses_window(centres, radii, side) == (search == "window" and reaches > 3)
    found = torus_overlaps(centres, radii, side)
    assert np.array_equal(found, dense_torus_overlaps(centres, radii, side))
    pairs = set(map(tuple, found.tolist()))
    assert set(touching) <= pairs and not set(apart) & pairs


@pytest.mark.parametrize("side", [1e4, 1e6])
@pytest.mark.parametrize("d", [2, 3])
def test_torus_margin_covers_float32_in_a_wide_box(search, d, side):
    # float32 cannot tell 1 - 1e-9 from 1 + 1e-9; at L = 10^6 it steps by 0.016 along the circles
    centres, radii, touching, apart = _torus_configuration(d, "mono", side, seed=20 + d, n_random=50)
    assert _uses_window(centres, radii, side) == (search == "window")
    found = torus_overlaps(centres, radii, side)
    pairs = set(map(tuple, found.tolist()))
    assert set(touching) <= pairs and not set(apart) & pairs
    assert np.array_equal(found, overlapping_pairs_brute(centres, radii, side))


def test_torus_at_the_packing_side_and_from_torch():
    d, n = 4, 400
    torus = Torus.for_packing(n, d, 0.45)
    centres = torch.rand(n, d, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * torus.side
    radii = torch.full((n,), 0.5, dtype=torch.float64, requires_grad=True)
    found = torus_overlaps(centres, radii, torus.side)
    assert len(found) > 0
    assert np.array_equal(found, overlapping_pairs_brute(centres.numpy(), np.full(n, 0.5), torus.side))
    assert np.array_equal(found, dense_torus_overlaps(centres, radii, torus.side))


def test_torus_trivial_inputs_give_no_pairs():
    empty = np.empty((0, 2), dtype=np.int64)
    for centres, radii in [(np.empty((0, 3)), np.empty(0)), (np.ones((1, 3)), np.ones(1)),
                           (np.zeros((5, 3)), np.zeros(5))]:
        for search in (torus_overlaps, dense_torus_overlaps):
            found = search(centres, radii, 2.0)
            assert found.dtype == np.int64 and np.array_equal(found, empty)


def test_torus_apart_centres_give_no_pairs(search):
    grid = np.stack(np.meshgrid(*[np.arange(5) * 2.0] * 3), axis=-1).reshape(-1, 3)  # 2 apart, box side 10
    radii = np.full(len(grid), 1 - 1e-9)
    assert _uses_window(grid, radii, 10.0) == (search == "window")
    for search_pairs in (torus_overlaps, dense_torus_overlaps):
        found = search_pairs(grid, radii, 10.0)
        assert found.dtype == np.int64 and np.array_equal(found, np.empty((0, 2), dtype=np.int64))


def test_torus_window_search_in_small_pieces(monkeypatch):
    monkeypatch.setattr(overlap_grid, "CELLS_PER_CENTRE", math.inf)
    monkeypatch.setattr(overlap, "MAX_RESULTS", 50)                       # one query per search
    monkeypatch.setattr(overlap, "FILTER_VALUES", 40)                     # 20 candidates at a time
    rng = np.random.default_rng(6)
    centres, radii = rng.random((400, 2)) * 3 + 4, rng.uniform(0.2, 1.0, 400)    # a crowd, box side 12
    assert _uses_window(centres, radii, 12.0)
    found = torus_overlaps(centres, radii, 12.0)
    assert len(found) > 4000
    assert np.array_equal(found, dense_torus_overlaps(centres, radii, 12.0))


def test_torus_everything_overlapping(monkeypatch):
    monkeypatch.setattr(overlap, "MAX_RESULTS", 20000)                    # about 60 rows per search
    monkeypatch.setattr(overlap, "FILTER_VALUES", 1000)                   # 83 candidates at a time
    rng = np.random.default_rng(6)
    centres, radii = rng.random((300, 6)) * 1.5, np.full(300, 2.0)
    found = torus_overlaps(centres, radii, 1.5)
    assert len(found) == 300 * 299 // 2
    assert np.array_equal(found, dense_torus_overlaps(centres, radii, 1.5))


def test_torus_invalid_arguments_name_the_argument():
    centres = np.zeros((4, 3))
    cases = [((np.zeros(4), np.ones(4), 1.0), "centres"), ((centres * np.nan, np.ones(4), 1.0), "centres"),
             ((centres, np.ones(3), 1.0), "radii"), ((centres, -np.ones(4), 1.0), "radii"),
             ((centres, np.full(4, np.inf), 1.0), "radii"), ((centres, np.ones(4), 0.0), "side")]
    for arguments, field in cases:
        for search in (torus_overlaps, dense_torus_overlaps):
            with pytest.raises(ConfigError) as error:
                search(*arguments)
            assert error.value.field == field


def _rotate_towards(u: np.ndarray, alpha: float, rng: np.random.Generator) -> np.ndarray:
    """A unit vector at angle alpha from the unit vector u."""
    w = rng.standard_normal(u.size)
    w -= (w @ u) * u
    w /= np.linalg.norm(w)
    return math.cos(alpha) * u + math.sin(alpha) * w


def _sphere_configuration(d: int, seed: int, n_random: int = 240):
    """Random caps plus caps placed on purpose: pairs CONTACT_GAP inside and outside contact
    (generic, nearly antipodal and exactly antipodal), a cap that is the whole sphere and points
    (caps of angle 0). Returns centres (rows of various lengths), angles, touching and apart pairs."""
    rng = np.random.default_rng(seed)
    theta = Sphere.radius_for_packing(n_random, d, 2.0)
    centres = list(rng.standard_normal((n_random, d)) * rng.uniform(0.5, 2.0, (n_random, 1)))
    angles = list(theta * rng.uniform(0.5, 1.5, n_random))
    touching, apart = [], []
    for k in range(24):
        u = _unit(rng, d)
        gap = CONTACT_GAP if k % 2 else -CONTACT_GAP
        if k < 8:
            alpha = rng.uniform(0.1, 2.0)                                 # generic
        elif k < 16:
            alpha = math.pi - rng.choice([1e-3, 1e-6])                    # nearly antipodal
        else:
            alpha = math.pi                                               # antipodal
        v = -u if alpha == math.pi else _rotate_towards(u, alpha, rng)
        share = rng.uniform(0.2, 0.8)
        first, second = share * (alpha + gap), (1 - share) * (alpha + gap)
        (touching if gap > 0 else apart).append((len(centres), len(centres) + 1))
        centres += [u, v]
        angles += [first, second]
    whole, point = _unit(rng, d), _unit(rng, d)
    centres += [whole, -whole, point]
    angles += [math.pi, 0.0, 0.0]
    return np.array(centres), np.array(angles), touching, apart


@pytest.mark.parametrize("d", [3, 8, 32])
def test_sphere_search_equals_dense_twin(monkeypatch, d):
    monkeypatch.setattr(overlap, "QUERY_BLOCK", 100)
    centres, angles, touching, apart = _sphere_configuration(d, seed=d)
    found = sphere_overlaps(centres, angles)
    assert found.dtype == np.int64 and found.shape[1] == 2
    assert np.array_equal(found, dense_sphere_overlaps(centres, angles))
    pairs = set(map(tuple, found.tolist()))
    assert set(touching) <= pairs and not set(apart) & pairs
    n = len(centres)
    whole_partners = {j for i, j in pairs if i == n - 3} | {i for i, j in pairs if j == n - 3}
    assert whole_partners == set(range(n)) - {n - 3, n - 2}               # all but its antipodal point
    # independent check by arccos of the dot product, away from contact
    unit = centres / np.linalg.norm(centres, axis=1, keepdims=True)
    angle = np.arccos(np.clip(unit @ unit.T, -1, 1))
    reach = angles[:, None] + angles[None, :]
    clear = np.triu(np.abs(angle - reach) > 1e-6, 1)
    expected = np.argwhere(clear & (angle < reach))
    assert set(map(tuple, expected.tolist())) == pairs & set(map(tuple, np.argwhere(clear).tolist()))


def test_sphere_wide_caps_and_torch_input():
    rng = np.random.default_rng(7)
    centres = torch.from_numpy(rng.standard_normal((200, 8)))
    angles = torch.from_numpy(rng.uniform(0.5, 1.7, 200))
    found = sphere_overlaps(centres, angles)
    assert len(found) > 200
    assert np.array_equal(found, dense_sphere_overlaps(centres, angles))


def test_sphere_invalid_arguments_name_the_argument():
    cases = [((np.ones((3, 1)), np.ones(3)), "centres"), ((np.zeros((3, 4)), np.ones(3)), "centres"),
             ((np.ones((3, 4)), np.full(3, 3.5)), "angles"), ((np.ones((3, 4)), np.ones(2)), "angles")]
    for arguments, field in cases:
        for search in (sphere_overlaps, dense_sphere_overlaps):
            with pytest.raises(ConfigError) as error:
                search(*arguments)
            assert error.value.field == field


@pytest.mark.parametrize("d", [2, 3, 8, 32, 128])
def test_flat_search_equals_dense_twin_and_contacts(monkeypatch, d):
    """Random unit-ball centres with polydisperse radii, plus pairs placed CONTACT_GAP inside and
    outside contact; blocks of 50 rows so that several FAISS searches meet."""
    monkeypatch.setattr(overlap, "QUERY_BLOCK", 50)
    rng = np.random.default_rng(d)
    centres = rng.standard_normal((300, d))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True) * rng.uniform(1, 3, (300, 1))
    radii = rng.uniform(0.02, 0.4, 300)
    touching, apart = [], []
    for gap, kept in ((-CONTACT_GAP, touching), (CONTACT_GAP, apart)):
        first, r_a, r_b = rng.standard_normal(d) * 0.3, 0.2, 0.15
        centres = np.vstack([centres, first, first + (r_a + r_b + gap) * _unit(rng, d)])
        radii = np.concatenate([radii, [r_a, r_b]])
        kept.append((len(radii) - 2, len(radii) - 1))
    found = flat_overlaps(centres, radii)
    assert found.dtype == np.int64 and found.shape[1] == 2 and len(found) > 0
    assert np.array_equal(found, dense_flat_overlaps(centres, radii))
    pairs = set(map(tuple, found.tolist()))
    assert set(touching) <= pairs and not set(apart) & pairs
    distance = np.linalg.norm(centres[:, None] - centres[None, :], axis=-1)      # independent numpy test
    reach = radii[:, None] + radii[None, :]
    clear = np.triu(np.abs(distance - reach) > 1e-6, 1)
    assert set(map(tuple, np.argwhere(clear & (distance < reach)).tolist())) == \
        pairs & set(map(tuple, np.argwhere(clear).tolist()))


def test_flat_search_edge_cases_and_errors():
    assert flat_overlaps(np.zeros((1, 3)), np.ones(1)).shape == (0, 2)
    assert flat_overlaps(np.zeros((4, 3)), np.zeros(4)).shape == (0, 2)      # points never overlap
    assert flat_overlaps(torch.zeros(3, 2), torch.ones(3)).tolist() == [[0, 1], [0, 2], [1, 2]]
    for arguments, field in (((np.ones((3, 2)), np.ones(2)), "radii"), ((np.ones(3), np.ones(3)), "centres"),
                             ((np.ones((3, 2)), -np.ones(3)), "radii")):
        with pytest.raises(ConfigError) as error:
            flat_overlaps(*arguments)
        assert error.value.field == field


def test_overlap_counts():
    pairs = np.array([[0, 1], [0, 3], [1, 3], [2, 4]])
    assert overlap_counts(pairs, 6).tolist() == [2, 2, 1, 2, 1, 0]
    assert overlap_counts(torch.from_numpy(pairs), 6).dtype == np.int64
    assert overlap_counts(np.empty((0, 2), dtype=np.int64), 3).tolist() == [0, 0, 0]
    with pytest.raises(ConfigError) as error:
        overlap_counts(pairs, 4)
    assert error.value.field == "pairs"


def test_torus_normal_sums_are_minus_twice_the_hinge_gradient():
    rng = np.random.default_rng(8)
    d, side = 3, 4.0
    centres = torch.from_numpy(rng.random((60, d)) * side)
    pairs = torus_overlaps(centres, np.full(60, 0.5), side)
    sums = torus_normal_sums(centres, pairs, side)
    x = centres.clone().requires_grad_(True)
    torus = Torus(d, side)
    i, j = torch.from_numpy(pairs[:, 0]), torch.from_numpy(pairs[:, 1])
    loss = ((1.0 - torus.distance(x[i], x[j])) / 2).sum()                # U(r) = (2R - r) / 2
    loss.backward()
    assert torch.allclose(sums, -2 * x.grad, rtol=0, atol=1e-12)
    coincident = torus_normal_sums(torch.zeros(2, d, dtype=torch.float64), np.array([[0, 1]]), side)
    assert torch.equal(coincident, torch.zeros(2, d, dtype=torch.float64))


@pytest.mark.parametrize("d", [2, 3, 5, 8])
def test_the_overlap_list_gives_the_full_search_while_balls_move_and_grow(d):
    """Random walks with steps from tiny to a jump across the box, and radii that grow and shrink:
    every call equals a fresh torus_overlaps, and small steps reuse the candidates."""
    rng = np.random.default_rng(d)
    n, side = 300, SIDES[d]
    centres, radii = rng.uniform(0, side, (n, d)), rng.uniform(0.3, 0.6, n)
    search = overlap.TorusOverlapList(side, skin=0.3)
    for step in range(40):
        scale = 0.01 if step % 10 else 0.5                                   # every tenth step a big move
        centres = (centres + rng.normal(0, scale / math.sqrt(d), (n, d))) % side
        radii = np.clip(radii + rng.normal(0, 0.002, n), 0.3, 0.6)
        found = search(centres, radii)
        assert np.array_equal(found, torus_overlaps(centres, radii, side)), step
    assert len(found) > 0 and 4 <= search.searches < 40


def test_the_overlap_list_searches_again_for_another_number_of_balls():
    search = overlap.TorusOverlapList(5.0, skin=0.3)
    rng = np.random.default_rng(0)
    for n in (50, 60):
        centres, radii = rng.uniform(0, 5, (n, 3)), np.full(n, 0.5)
        assert np.array_equal(search(centres, radii), torus_overlaps(centres, radii, 5.0))
    assert search.searches == 2
    with pytest.raises(ConfigError) as error:
        overlap.TorusOverlapList(5.0, skin=0.0)
    assert error.value.field == "skin"
