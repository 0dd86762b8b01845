"""The quasi-stationary method: an absorbed run restarts from one of its own earlier active states.

A finite absorbing system absorbs at any phi if one waits long enough, so "the activity after T
steps" has no limit as T grows. The quasi-stationary method (de Oliveira & Dickman, PRE 71,
016129, 2005) measures the activity conditioned on survival instead: the run keeps a pool of
``size`` configurations it visited while active, stores its current configuration every ``every``
steps in a slot of the pool (the slots in turn until all are filled, then a random one), and when
it absorbs, continues from a random stored configuration. Its activity then settles to a
quasi-stationary distribution whose moments have a limit in T at every n, and whose finite-size
scaling locates phi_c (``criticality.quasi_stationary``).

Slots are drawn with the counter-based ``rng`` (stream POOL) from (seed, step), so a run stays a
pure function of its config and seed: resumed, on any number of threads, or with either stepping
algorithm, it follows the same trajectory.
"""
import numpy as np

from physics_baseline import rng

_STORE, _RESTORE = 0, 1   # the draw's first key word: a slot to overwrite, or one to restart from


class RestartPool:
    """Up to ``size`` stored configurations (size, n, d) of one run; ``filled`` of them in use."""

    def __init__(self, size: int, shape: tuple[int, int], seed: int):
        self.configurations = np.empty((size, *shape))
        self.filled = 0
        self.seed = np.uint64(seed)

    def store(self, positions: np.ndarray, step: int) -> None:
        """Keep positions (n, d): in the next free slot, or once all are used, in a random one."""
        size = self.configurations.shape[0]
        slot = self.filled if self.filled < size else self._draw(step, _STORE, size)
        self.configurations[slot] = positions
        self.filled = max(self.filled, slot + 1)

    def restore(self, positions: np.ndarray, step: int) -> None:
        """Overwrite positions (n, d) in place with a random stored configuration."""
        if self.filled == 0:
            raise RuntimeError("the restart pool is empty: store an active configuration first")
        positions[:] = self.configurations[self._draw(step, _RESTORE, self.filled)]

    def _draw(self, step: int, purpose: int, count: int) -> int:
        return min(int(rng.uniform(self.seed, np.uint64(step), rng.POOL, purpose, 0) * count), count - 1)

    def state(self) -> dict[str, np.ndarray]:
        """The arrays a checkpoint keeps: the filled configurations."""
        return {"pool": self.configurations[:self.filled]}

    def load(self, pool: np.ndarray) -> None:
        """Take back the filled configurations of ``state()``."""
        self.filled = pool.shape[0]
        self.configurations[:self.filled] = pool
