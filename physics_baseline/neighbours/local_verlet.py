"""A Verlet list refreshed particle by particle, for steps in which few particles move.

Every particle i has a reference position ref_i, and its row lists every j with
|ref_i - ref_j| < cutoff (minimum image), with j in row i exactly when i is in row j. While
every particle stays within ``slack`` of its reference, a pair missing from the rows is more
than cutoff - 2 slack apart. A particle that strays further gets a new reference and a new row,
and enters or leaves the rows of the particles that enter or leave its reach (the changes are
grouped by row and applied to the rows in parallel); nothing else is touched, so keeping the
list exact costs work in proportion to the particles that strayed. When more than
``REBUILD_FRACTION`` of the particles stray at once (the first steps from a random start) the
whole list is rebuilt instead.

Where the candidates for a row come from (``for_packing`` picks):

- low d: a ``CellGrid`` of the references (3^d stencil); one list with cutoff 2 R_max + skin
  and slack skin / 2, so that no overlap is missed; rows ascending, as the step reads them.
- high d, where the box spans too few cutoffs for cells: two lists. The outer one (cutoff
  2 R_max + skin) finds its rows by testing all n references (``verlet.scan``), keeps them in
  no particular order (a change is an append or a swap with the last entry) and is refreshed
  rarely; the inner one (cutoff 2 R_max + s, s = ``INNER_SKIN_FRACTION`` skin, slack s / 2) takes
  its candidates from the outer rows and keeps its rows ascending, so that overlap sums read
  short rows and a refresh costs a row of the outer list instead of a scan of the box. This is
  exact when the outer slack is (skin - s) / 2 and a particle renewed in the outer list is
  renewed in the inner one: then |ref_i - ref_j| < 2 R_max + s for inner references implies
  |ref_i - ref_j| < 2 R_max + skin for outer ones.
"""
import numba
import numpy as np

from physics_baseline.neighbours.cells import (
    CellGrid,
    cells_per_side,
    check_cells,
    counting_sort,
    sort_row,
)
from physics_baseline.neighbours.distances import (
    periodic,
    screen_bounds,
    screen_distance2,
    transposed_single,
    within,
)
from physics_baseline.neighbours.verlet import expected_neighbours, scan

REBUILD_FRACTION = 0.25      # more strays than this fraction of n: rebuild the whole list
INNER_SKIN_FRACTION = 0.25   # high d: skin of the rows read at every step, relative to the skin
_CHUNK = 1024                # refreshed particles searched in parallel before their rows are spliced


@numba.njit(parallel=True, cache=True)
def _strays(positions, reference, moved, box, slack):
    """The particles of ``moved`` (m,) farther than slack from their reference, shape (k,)."""
    inverse = 1.0 / box
    far = np.empty(moved.shape[0], dtype=np.bool_)
    for a in numba.prange(moved.shape[0]):
        i = moved[a]
        r2 = 0.0
        for k in range(positions.shape[1]):
            delta = periodic(positions[i, k] - reference[i, k], box, inverse)
            r2 += delta * delta
        far[a] = r2 > slack * slack
    return moved[far]


@numba.njit(parallel=True, cache=True)
def _search_rows(reference, single, outer_rows, outer_counts, particles, box, cutoff, found, sizes):
    """found[a, :sizes[a]]: the particles of particles[a]'s outer row (in any order) within cutoff,
    ascending (single: the references as float32 (n, d), a screen)."""
    side = np.float32(box)
    bounds = screen_bounds(box, cutoff)
    capacity = found.shape[1]
    for a in numba.prange(particles.shape[0]):
        i = particles[a]
        count = 0
        for e in range(outer_counts[i]):
            j = outer_rows[i, e]
            if within(screen_distance2(single, i, j, side), bounds, reference, i, j, box, cutoff):
                if count < capacity:
                    found[a, count] = j
                count += 1
        sizes[a] = count
        if count <= capacity:
            sort_row(found[a, :count])


@numba.njit(cache=True)
def _changes(particles, found, sizes, rows, counts, renewed, listed):
    """What the renewal of ``particles`` (k,), ascending, changes in the rows of the others, grouped
    by row: for row j, labels[starts[j]:starts[j + 1]] (ascending) enter it where signs is +1 and
    leave it where -1. A label enters the rows of the particles that enter its new row found[a,
    :sizes[a]] and leaves those of the particles that leave it; the rows of renewed particles
    ((n,) bool) are replaced whole instead. listed: (n,) bool scratch, all False on entry and
    on return."""
    n = rows.shape[0]
    total = 0
    for a in range(particles.shape[0]):
        total += counts[particles[a]] + sizes[a]
    targets = np.empty(total, dtype=np.int64)
    labels = np.empty(total, dtype=np.int64)
    signs = np.empty(total, dtype=np.int64)
    m = 0
    for a in range(particles.shape[0]):
        i = particles[a]
        for e in range(sizes[a]):
            listed[found[a, e]] = True
        for c in range(counts[i]):
            j = rows[i, c]
            if listed[j]:
                listed[j] = False          # in both rows: no change
            elif not renewed[j]:
                targets[m], labels[m], signs[m] = j, i, -1
                m += 1
        for e in range(sizes[a]):
            j = found[a, e]
            if listed[j]:
                listed[j] = False
                if not renewed[j]:
                    targets[m], labels[m], signs[m] = j, i, 1
                    m += 1
    starts, order = counting_sort(targets[:m], n)   # stable: labels stay ascending within a row
    return starts, labels[:m][order], signs[:m][order]


@numba.njit(parallel=True, cache=True)
def _merge(rows, counts, starts, labels, signs):
    """Apply ``_changes`` to ascending rows, one row at a time in parallel. False when a row
    overflows (the list must then be rebuilt)."""
    capacity = rows.shape[1]
    fits = True
    for i in numba.prange(rows.shape[0]):
        if starts[i] == starts[i + 1]:
            continue
        merged = np.empty(counts[i] + starts[i + 1] - starts[i], dtype=np.int64)
        size, old = 0, 0
        for e in range(starts[i], starts[i + 1]):
            while old < counts[i] and rows[i, old] < labels[e]:
                merged[size] = rows[i, old]
                size += 1
                old += 1
            if old < counts[i] and rows[i, old] == labels[e]:
                old += 1
            if signs[e] > 0:
                merged[size] = labels[e]
                size += 1
        rest = counts[i] - old
        merged[size:size + rest] = rows[i, old:counts[i]]
        size += rest
        if size > capacity:
            fits = False
            continue
        rows[i, :size] = merged[:size]
        counts[i] = size
    return fits


@numba.njit(parallel=True, cache=True)
def _apply_unordered(rows, counts, starts, labels, signs):
    """Apply ``_changes`` to rows kept in no particular order: a leaving label is swapped with the
    last entry, an entering one appended. False when a row overflows."""
    capacity = rows.shape[1]
    fits = True
    for i in numba.prange(rows.shape[0]):
        for e in range(starts[i], starts[i + 1]):
            if signs[e] < 0:
                for c in range(counts[i]):
                    if rows[i, c] == labels[e]:
                        rows[i, c] = rows[i, counts[i] - 1]
                        counts[i] -= 1
                        break
        for e in range(starts[i], starts[i + 1]):
            if signs[e] > 0:
                if counts[i] == capacity:
                    fits = False
                    break
                rows[i, counts[i]] = labels[e]
                counts[i] += 1
    return fits


@numba.njit(parallel=True, cache=True)
def _replace(particles, found, sizes, rows, counts):
    """rows[particles[a]] = found[a, :sizes[a]]. False when a row is wider than rows."""
    fits = True
    for a in numba.prange(particles.shape[0]):
        if sizes[a] > rows.shape[1]:
            fits = False
            continue
        rows[particles[a], :sizes[a]] = found[a, :sizes[a]]
        counts[particles[a]] = sizes[a]
    return fits


class _Everyone:
    """Candidates: all n references, screened in single precision (``verlet.scan``)."""

    def __init__(self, reference: np.ndarray, box: float, cutoff: float):
        self.box, self.cutoff = box, cutoff
        self.transposed = transposed_single(reference)

    def moved(self, reference: np.ndarray, particles: np.ndarray) -> None:
        self.transposed[:, particles] = transposed_single(reference[particles])

    def search(self, reference, particles, found, sizes) -> None:
        scan(reference, self.transposed, particles, self.box, self.cutoff, found, sizes)


class _OuterRows:
    """Candidates: the rows of an outer ``LocalVerletList`` with a longer cutoff."""

    def __init__(self, outer: "LocalVerletList", reference: np.ndarray, box: float, cutoff: float):
        self.outer, self.box, self.cutoff = outer, box, cutoff
        self.single = reference.astype(np.float32)

    def moved(self, reference: np.ndarray, particles: np.ndarray) -> None:
        self.single[particles] = reference[particles]

    def search(self, reference, particles, found, sizes) -> None:
        _search_rows(reference, self.single, self.outer.rows, self.outer.counts, particles, self.box,
                     self.cutoff, found, sizes)


class LocalVerletList:
    """Verlet list with one reference position per particle, refreshed where particles strayed.

    rows: (n, capacity) int64 and counts: (n,): the neighbours of i in rows[i, :counts[i]],
    ascending when ``ordered`` (as ``neighbours.VerletList``), else in no particular order (cheaper
    to keep). cutoff and slack in diameters; candidates from "cells" (a ``CellGrid``), "brute"
    (all n) or an outer ``LocalVerletList``. ``builds`` counts whole rebuilds, ``refreshes``
    single rows.
    """

    def __init__(self, box: float, cutoff: float, slack: float, candidates: "str | LocalVerletList",
                 ordered: bool = True):
        self.box, self.cutoff, self.slack, self.ordered = box, cutoff, slack, ordered
        self.outer = candidates if isinstance(candidates, LocalVerletList) else None
        self.method = candidates if self.outer is None else self.outer.method
        self.rows = np.empty((0, 0), dtype=np.int64)
        self.counts = np.empty(0, dtype=np.int64)
        self.reference = None
        self.builds = self.refreshes = 0

    def build(self, positions: np.ndarray) -> None:
        """Rebuild every row; every reference becomes the current position."""
        n, d = positions.shape
        if self.outer is not None and self.outer.reference is None:
            self.outer.build(positions)
        self.reference = positions.copy()
        if self.outer is not None:
            self._candidates = _OuterRows(self.outer, self.reference, self.box, self.cutoff)
        elif self.method == "cells":
            self._candidates = CellGrid(self.reference, self.box, self.cutoff,
                                        cells_per_side(self.box, self.cutoff, n, d))
        else:
            self._candidates = _Everyone(self.reference, self.box, self.cutoff)
        if self.rows.shape[0] != n:
            self.rows = np.empty((n, expected_neighbours(n, d, self.box, self.cutoff)), dtype=np.int64)
            self.counts = np.empty(n, dtype=np.int64)
            self._renewed = np.zeros(n, dtype=np.bool_)
            self._listed = np.zeros(n, dtype=np.bool_)
        everyone = np.arange(n)
        while True:
            self._candidates.search(self.reference, everyone, self.rows, self.counts)
            largest = int(self.counts.max()) if n else 0
            if largest <= self.rows.shape[1]:
                break
            self.rows = np.empty((n, int(largest * 1.25) + 4), dtype=np.int64)
        self.builds += 1

    def follow(self, positions: np.ndarray, moved: np.ndarray) -> np.ndarray | None:
        """Keep the list exact after the particles ``moved`` (m,) moved (the others stood still).

        Returns the particles whose reference was renewed (k,), or None when all were (a rebuild).
        """
        strays = np.sort(_strays(positions, self.reference, moved, self.box, self.slack))
        if self.outer is not None:
            renewed = self.outer.follow(positions, moved)
            if renewed is None:
                self.build(positions)
                return None
            if renewed.size:
                strays = np.union1d(strays, renewed)
        if strays.size == 0:
            return strays
        if strays.size > REBUILD_FRACTION * positions.shape[0] or not self._refresh(positions, strays):
            self.build(positions)
            return None
        return strays

    def _refresh(self, positions: np.ndarray, strays: np.ndarray) -> bool:
        """New references and rows for strays (k,), ascending; False when a row overflowed."""
        self.reference[strays] = positions[strays]
        self._candidates.moved(self.reference, strays)
        found = np.empty((min(_CHUNK, strays.size), self.rows.shape[1]), dtype=np.int64)
        sizes = np.empty(found.shape[0], dtype=np.int64)
        apply = _merge if self.ordered else _apply_unordered
        for first in range(0, strays.size, _CHUNK):
            chunk = strays[first:first + _CHUNK]
            self._candidates.search(self.reference, chunk, found, sizes)
            self._renewed[chunk] = True
            starts, labels, signs = _changes(chunk, found, sizes, self.rows, self.counts, self._renewed,
                                             self._listed)
            self._renewed[chunk] = False
            if not (apply(self.rows, self.counts, starts, labels, signs)
                    and _replace(chunk, found, sizes, self.rows, self.counts)):
                return False
        self.refreshes += strays.size
        return True


def for_packing(n: int, d: int, box: float, contact: float, skin: float,
                method: str | None = None) -> LocalVerletList:
    """The list that finds every overlap of n spheres in d dimensions with diameters up to
    ``contact``: one list with the skin over cells, or an inner list over an outer one found by
    brute force (see the module). method: "cells" or "brute", or None to pick by geometry, as
    ``neighbours.VerletList`` does."""
    method = method or ("cells" if cells_per_side(box, contact + skin, n, d) else "brute")
    if method == "cells":
        check_cells(box, contact + skin, n, d)
        return LocalVerletList(box, contact + skin, 0.5 * skin, "cells")
    inner = INNER_SKIN_FRACTION * skin
    outer = LocalVerletList(box, contact + skin, 0.5 * (skin - inner), "brute", ordered=False)
    return LocalVerletList(box, contact + inner, 0.5 * inner, outer)
