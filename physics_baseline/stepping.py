"""Two ways to take the same steps: over every particle, or over the active set only.

Both hold the positions and, for the current step, every particle's overlap count, unit sum and
loss (``dynamics.overlap_sums``), and give bit-identical trajectories: each value is computed by
the same expression over the same partners in the same (label) order, and every random number is
a pure function of (seed, step, particle).

- ``FullAlgorithm`` recomputes every particle at every step through a ``VerletList`` rebuilt on
  the global displacement criterion. Its cost per step is proportional to n.
- ``ActiveSetAlgorithm`` keeps the active particles (those with an overlap) in a list and, after
  a step, recomputes only the particles whose sums can have changed: those active before it (the
  movers, and for SGD the unbatched ones, whose neighbours may have moved), then the inactive
  ones that these recomputations found overlapping them ("woken"). A pair that stops overlapping
  had both members active, so nothing else can change. Its neighbour list is a
  ``local_verlet.LocalVerletList``, refreshed only where particles strayed. A step costs the
  active particles times their row length; with more than ``DENSE_FRACTION`` of the particles
  active it recomputes everyone, as the full algorithm does, which is then cheaper than the
  bookkeeping; and a step with less work than ``SERIAL_WORK`` runs on one thread, which saves
  waking the others (on a shared machine, waiting for them).
"""
import numba
import numpy as np

from physics_baseline import dynamics
from physics_baseline.config import SimulationConfig
from physics_baseline.neighbours import local_verlet
from physics_baseline.neighbours.verlet import VerletList

DENSE_FRACTION = 0.4
_NOT_KEPT = np.empty(0, dtype=np.int64)   # a touched array that marks nothing
SERIAL_WORK = 30_000    # active particles x mean row length below which a step runs on one thread


def resolve(algorithm: str) -> str:
    """The algorithm ``auto`` stands for: always ``active``. While many particles are active it
    does the full algorithm's work, and less once few are; ``make bench`` measured it no slower
    per run at any n from 300 to 10^5 (3D) and in 8D, so there is nothing for ``auto`` to weigh."""
    return "active" if algorithm == "auto" else algorithm


class FullAlgorithm:
    """Every particle recomputed at every step.

    positions: (n, d), moved in place; radii (n,) and box in diameters. After construction and
    after each ``advance``, overlaps (n,), unit_sum (n, d), loss (n,) and active_count describe
    the current positions (``dynamics.overlap_sums``).
    """

    name = "full"

    def __init__(self, cfg: SimulationConfig, positions: np.ndarray, radii: np.ndarray, box: float,
                 skin: float, neighbour_method: str | None, step: int):
        self.positions, self.radii, self.box = positions, radii, box
        self.rule = dynamics.RULES[cfg.dynamics]
        self.step_size, self.batch, self.seed = cfg.step_size, cfg.batch, cfg.seed
        self.batch_fraction = cfg.batch_fraction if cfg.batch_fraction is not None else 1.0
        self.neighbours = self._neighbour_list(positions.shape, box, 2 * radii.max(), skin,
                                               neighbour_method)
        self.neighbours.build(positions)
        n, d = positions.shape
        self.everyone = np.arange(n)
        self.overlaps = np.empty(n, dtype=np.int64)
        self.unit_sum = np.empty((n, d))
        self.loss = np.empty(n)
        self._measure(step)

    @staticmethod
    def _neighbour_list(shape, box, contact, skin, method):
        """A neighbour list that finds every overlap of spheres with diameters up to contact."""
        return VerletList(box, contact + skin, skin, method)

    @property
    def loss_total(self) -> float:
        """The hinge loss L of the current positions (diameters), summed over all particles."""
        return float(self.loss.sum())

    def advance(self, step: int) -> None:
        """Take step ``step``, then measure the overlaps for step + 1."""
        dynamics.kick(self.positions, self.overlaps, self.unit_sum, self.rule, self.step_size,
                      self.batch_fraction, self.batch, self.seed, step, self.box)
        self.neighbours.update(self.positions)
        self._measure(step + 1)

    def _measure(self, step: int) -> None:
        """Recompute every particle and count the active ones."""
        self._recompute(self.everyone, step, _NOT_KEPT, 0)
        self.active_count = self._list_active()

    def _list_active(self) -> int:
        """The number of active particles (overlaps > 0)."""
        return int(np.count_nonzero(self.overlaps))

    def _recompute(self, particles: np.ndarray, step: int, touched: np.ndarray, tag: int) -> None:
        """The overlap sums of particles (m,) at the current positions, for ``step``'s pair weights."""
        dynamics.update_overlap_sums(particles, self.positions, self.radii, self.box,
                                     self.neighbours.rows, self.neighbours.counts, self.rule.pair_mode,
                                     np.uint64(self.seed), np.uint64(step), self.overlaps, self.unit_sum,
                                     self.loss, touched, tag)


class ActiveSetAlgorithm(FullAlgorithm):
    """Only the active particles and their overlapping partners recomputed at each step."""

    name = "active"

    def __init__(self, cfg: SimulationConfig, positions: np.ndarray, radii: np.ndarray, box: float,
                 skin: float, neighbour_method: str | None, step: int):
        n = positions.shape[0]
        self.members = np.empty(n, dtype=np.int64)   # the active particles in members[:active_count]
        self.slot = np.empty(n, dtype=np.int64)      # i's index in members, -1 when inactive
        self.touched = np.full(n, -1, dtype=np.int64)  # the last step i overlapped a recomputed one
        self.queue = np.empty(n, dtype=np.int64)
        self.members_sorted = False
        super().__init__(cfg, positions, radii, box, skin, neighbour_method, step)
        self.row_length = max(1.0, float(self.neighbours.counts.mean()))

    @staticmethod
    def _neighbour_list(shape, box, contact, skin, method):
        return local_verlet.for_packing(*shape, box, contact, skin, method)

    def advance(self, step: int) -> None:
        threads = numba.get_num_threads()
        if self.active_count * self.row_length < SERIAL_WORK:
            numba.set_num_threads(1)
        try:
            self._advance(step)
        finally:
            numba.set_num_threads(threads)

    def _advance(self, step: int) -> None:
        listed = self.members[:self.active_count]
        active = listed.copy() if self.members_sorted else np.sort(listed)  # not a view: members change
        moving = dynamics.movers(active, self.rule, self.batch_fraction, self.batch, self.seed, step)
        dynamics.move(self.positions, self.unit_sum, moving, self.rule.scale_mode, self.step_size,
                      self.batch_fraction, np.uint64(self.seed), np.uint64(step), self.box)
        self.neighbours.follow(self.positions, moving)
        if self.active_count > DENSE_FRACTION * self.positions.shape[0]:
            self._measure(step + 1)
            return
        self._recompute(active, step + 1, self.touched, step + 1)
        rows, counts = self.neighbours.rows, self.neighbours.counts
        woken = _woken(moving, rows, counts, self.touched, step + 1, self.slot, self.queue)
        self._recompute(woken, step + 1, self.touched, step + 1)
        for recomputed in (active, woken):
            self.active_count = _update_members(recomputed, self.overlaps, self.members, self.slot,
                                                self.active_count)
        self.members_sorted = False

    def _list_active(self) -> int:
        """List the active particles from scratch, ascending; their number."""
        self.members_sorted = True
        return _list_members(self.overlaps, self.members, self.slot)


@numba.njit(cache=True)
def _woken(moving, rows, counts, touched, tag, slot, out):
    """The particles inactive before the step that overlap a mover now, out[:k] (k,): those the
    recomputation of the movers marked touched[j] == tag; they are unmarked as they are listed."""
    size = 0
    for a in range(moving.shape[0]):
        i = moving[a]
        for c in range(counts[i]):
            j = rows[i, c]
            if touched[j] == tag and slot[j] < 0:
                touched[j] = -1
                out[size] = j
                size += 1
    return out[:size]


@numba.njit(cache=True)
def _update_members(recomputed, overlaps, members, slot, active_count):
    """Add to or remove from the active list the recomputed particles whose state changed."""
    for a in range(recomputed.shape[0]):
        i = recomputed[a]
        if overlaps[i] > 0 and slot[i] < 0:
            members[active_count] = i
            slot[i] = active_count
            active_count += 1
        elif overlaps[i] == 0 and slot[i] >= 0:
            last = members[active_count - 1]
            members[slot[i]] = last
            slot[last] = slot[i]
            slot[i] = -1
            active_count -= 1
    return active_count


@numba.njit(cache=True)
def _list_members(overlaps, members, slot):
    """Fill the active list from scratch, ascending; returns its length."""
    active_count = 0
    for i in range(overlaps.shape[0]):
        if overlaps[i] > 0:
            members[active_count] = i
            slot[i] = active_count
            active_count += 1
        else:
            slot[i] = -1
    return active_count
