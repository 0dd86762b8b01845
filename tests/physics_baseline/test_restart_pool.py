import numpy as np
import pytest

from physics_baseline.restart_pool import RestartPool


def test_slots_fill_in_turn_then_a_stored_state_is_replaced_at_random():
    pool = RestartPool(3, (4, 2), seed=1)
    states = [np.full((4, 2), float(k)) for k in range(40)]
    for step, state in enumerate(states[:3]):
        pool.store(state, step)
    assert pool.filled == 3
    np.testing.assert_array_equal(pool.configurations[:, 0, 0], [0, 1, 2])
    for step in range(3, 40):
        pool.store(states[step], step)
    kept = set(pool.configurations[:, 0, 0])
    assert len(kept) == 3 and kept != {0.0, 1.0, 2.0}   # 37 random replacements leave none of the first


def test_restore_draws_every_slot_and_is_a_function_of_seed_and_step():
    pool = RestartPool(4, (2, 3), seed=7)
    for step in range(4):
        pool.store(np.full((2, 3), float(step)), step)
    drawn = []
    for step in range(200):
        target = np.zeros((2, 3))
        pool.restore(target, step)
        assert np.all(target == target[0, 0])
        drawn.append(target[0, 0])
    counts = np.bincount(np.array(drawn, dtype=int), minlength=4)
    assert counts.min() > 200 / 4 - 4 * np.sqrt(200 * 3 / 16)   # uniform over the 4 slots, 4 sigma
    again = RestartPool(4, (2, 3), seed=7)
    again.load(pool.state()["pool"])
    target = np.zeros((2, 3))
    again.restore(target, 199)
    assert target[0, 0] == drawn[-1]


def test_an_empty_pool_refuses_to_restore():
    with pytest.raises(RuntimeError, match="empty"):
        RestartPool(2, (3, 2), seed=0).restore(np.zeros((3, 2)), 0)
