"""The cell grid of the torus window search (``neuralpack.overlap``): which cells each cell must
search, in coordinates where plain distances are minimum-image ones. numba kernels only; FAISS
runs the searches in ``neuralpack.overlap``.

A grid of ``cells`` per side (each at least a reach wide, ``cells_per_side``) sorts the centres
(``cell_sort``); every cell gets the bounding box of its centres (``cell_boxes``) and, batch by
batch of cells (``batches``), the list of the centres of later cells within reach of that box
(``window_lists``), each written relative to the cell's centre.
"""
import math

import numba
import numpy as np

from physics_baseline.neighbours.cells import counting_sort

# Cells of about CELL_ROWS centres (at least 3 and at most L / reach per side), used where the grid
# has at most CELLS_PER_CENTRE cells per centre.
CELL_ROWS = 64
CELLS_PER_CENTRE = 1.0
# Relative widening of the search radius (the float32 margins of ``overlap`` add their own terms).
RELATIVE_MARGIN = 1e-4


def cells_per_side(n: int, d: int, side: float, reach: float) -> int:
    """Cells per side of the window search's grid, or 0 where the exhaustive search is used.

    As many cells as leave about CELL_ROWS centres in each, but at least 3 per side and each at
    least a reach (times 1 + RELATIVE_MARGIN) wide; 0 where the box has no room for 3 such cells
    or the grid would have more than CELLS_PER_CENTRE cells per centre.
    """
    widest = int(side // (reach * (1 + RELATIVE_MARGIN)))
    cells = min(widest, max(3, int((n / CELL_ROWS) ** (1 / d))))
    return cells if cells >= 3 and cells ** d <= CELLS_PER_CENTRE * n else 0


def batches(cells: int, d: int, n: int, rows: int) -> list[tuple[int, int]]:
    """Ranges [lo, hi) of flat cell indices: the cells that share their coordinates along the
    slowest axes, as few axes as leave about `rows` of the n centres in each range on average
    (so that ``_forward_targets`` fixes those axes at the first steps of its search)."""
    shared = math.ceil(math.log(max(1.0, rows * cells ** d / n)) / math.log(cells))
    size = cells ** min(d, shared)
    return [(lo, lo + size) for lo in range(0, cells ** d, size)]


@numba.njit(cache=True)
def cell_sort(x, side, cells):
    """The centres sorted by grid cell (``cells.counting_sort``; axis d - 1 varies slowest).

    Returns, in sorted order, cell (n, d) int32 cell coordinates, offset (n, d) float64 position
    within the cell in [0, w) (up to rounding), flat (n,) flat cell index; and order (n,) the
    original index of each sorted centre, start (cells^d + 1,) the first sorted centre of each cell.
    """
    n, d = x.shape
    flat = np.zeros(n, np.int64)
    for i in range(n):
        for k in range(d - 1, -1, -1):
            flat[i] = flat[i] * cells + _slab(x[i, k], side, cells)[0]
    start, order = counting_sort(flat, cells ** d)
    cell, offset = np.empty((n, d), np.int32), np.empty((n, d))
    for a in range(n):
        for k in range(d):
            cell[a, k], offset[a, k] = _slab(x[order[a], k], side, cells)
    return cell, offset, flat[order], order, start


@numba.njit(inline="always")
def _slab(position, side, cells):
    """(slab, offset): the cell along one axis of a position (any real) and the position within
    that cell, of width side / cells."""
    w = side / cells
    folded = position - side * np.floor(position / side)
    slab = min(int(folded / w), cells - 1)
    return slab, folded - slab * w


@numba.njit(cache=True)
def cell_boxes(offset, start, w):
    """low, high (cells^d, d): the bounding box of each cell's centres in window coordinates
    (relative to the cell's centre); an empty cell's box is empty (low > high)."""
    d = offset.shape[1]
    low, high = np.full((len(start) - 1, d), np.inf), np.full((len(start) - 1, d), -np.inf)
    for c in range(len(start) - 1):
        for p in range(start[c], start[c + 1]):
            for k in range(d):
                low[c, k] = min(low[c, k], offset[p, k] - 0.5 * w)
                high[c, k] = max(high[c, k], offset[p, k] - 0.5 * w)
    return low, high


@numba.njit(nogil=True, cache=True)
def _forward_targets(cell, offset, flat, start, lo, hi, cells, w, limit2, pending):
    """Count, and write to pending[:count] as far as it holds them (int32 rows (t - lo, p), in the
    order of p), every occupied cell t in [lo, hi) before the cell of sorted centre p whose box
    lies closer to p than sqrt(limit2), minimum image.

    Along axis k, p lies in the target's slab (no gap), one slab above it (gap = p's distance to
    the lower face of its own cell) or one below it (gap = distance to the upper face); a
    depth-first search over axes d - 1 .. 1 adds the squared gaps and drops a branch as soon as
    they reach limit2 or its cells all fall outside [lo, cell of p); ``_leaf_targets`` takes the
    three cells along axis 0 at once.
    """
    n, d = cell.shape
    stride = np.empty(d, np.int64)
    for k in range(d):
        stride[k] = cells ** k
    count = 0
    choice, gaps, base = np.empty(d, np.int64), np.empty(d), np.empty(d, np.int64)
    for p in range(n):
        upper = min(hi, flat[p])
        if upper <= lo:
            continue
        if d == 1:
            count = _leaf_targets(cell, offset, start, lo, upper, cells, w, limit2, p, 0.0, 0, pending, count)
            continue
        level, choice[0], gaps[0], base[0] = 0, -1, 0.0, 0
        while level >= 0:
            choice[level] += 1
            k = d - 1 - level
            if choice[level] == 0:                                  # the target's slab
                gap, slab = 0.0, cell[p, k]
            elif choice[level] == 1:                                # one slab below p
                gap, slab = offset[p, k], cell[p, k] - 1 if cell[p, k] > 0 else cells - 1
            elif choice[level] == 2:                                # one slab above p
                gap, slab = w - offset[p, k], cell[p, k] + 1 if cell[p, k] < cells - 1 else 0
            else:
                level -= 1
                continue
            total = gaps[level] + gap * gap
            t = base[level] + slab * stride[k]
            if total >= limit2 or t >= upper or t + stride[k] <= lo:
                continue
            if k > 1:
                level += 1
                choice[level], gaps[level], base[level] = -1, total, t
            else:
                count = _leaf_targets(cell, offset, start, lo, upper, cells, w, limit2, p, total, t, pending, count)
    return count


@numba.njit(nogil=True, inline="always")
def _leaf_targets(cell, offset, start, lo, upper, cells, w, limit2, p, total, base, pending, count):
    """``_forward_targets`` along axis 0: the cells base + slab (slab = p's slab, the one below
    and the one above) in [lo, upper), occupied and closer than sqrt(limit2) with the squared gaps
    total of the other axes; returns the new count."""
    own, below = cell[p, 0], offset[p, 0]
    above = w - below
    for t, gap in ((base + own, 0.0), (base + (own - 1 if own > 0 else cells - 1), below),
                   (base + (own + 1 if own < cells - 1 else 0), above)):
        if total + gap * gap < limit2 and lo <= t < upper and start[t] < start[t + 1]:
            if count < len(pending):
                pending[count, 0], pending[count, 1] = t - lo, p
            count += 1
    return count


@numba.njit(nogil=True, cache=True)
def window_lists(cell, offset, flat, start, lo, hi, cells, w, limit2, low, high, pending, rows, coords):
    """The rows of the cells lo..hi - 1 for ``_window_candidates``: each cell's own centres first,
    then the centres of later cells that ``_forward_targets`` finds and that lie closer than
    sqrt(limit2) to the bounding box [low, high] of the cell's centres (``cell_boxes``).

    Returns (pending, rows, coords, first, end): cell c owns rows first[c] .. end[c] - 1 of rows
    (sorted-centre index, int32) and coords (window coordinates, float32 (R, d): position relative
    to the cell's centre, minimum image within 1.5 w). pending, rows and coords are workspaces,
    replaced by larger ones when too small.
    """
    count = _forward_targets(cell, offset, flat, start, lo, hi, cells, w, limit2, pending)
    if count > len(pending):
        pending = np.empty((2 * count, 2), np.int32)
        _forward_targets(cell, offset, flat, start, lo, hi, cells, w, limit2, pending)
    counts = start[lo + 1:hi + 1] - start[lo:hi]
    for e in range(count):
        counts[pending[e, 0]] += 1
    first = np.zeros(hi - lo + 1, np.int64)
    first[1:] = np.cumsum(counts)
    if first[-1] > len(rows):
        rows, coords = np.empty(2 * first[-1], np.int32), np.empty((2 * first[-1], cell.shape[1]), np.float32)
    end = _fill_rows(cell, offset, start, lo, hi, cells, w, limit2, low, high, pending[:count], first, rows,
                     coords)
    return pending, rows, coords, first, end


@numba.njit(nogil=True, cache=True)
def _fill_rows(cell, offset, start, lo, hi, cells, w, limit2, low, high, pending, first, rows, coords):
    """Write the rows of ``window_lists`` from first[c] on: each cell's own centres, then its
    pending centres that lie closer than sqrt(limit2) to its box; returns the end of each cell's
    rows."""
    d = cell.shape[1]
    fill = first[:-1].copy()
    for c in range(hi - lo):
        for p in range(start[lo + c], start[lo + c + 1]):
            rows[fill[c]] = p
            for k in range(d):
                coords[fill[c], k] = offset[p, k] - w / 2
            fill[c] += 1
    slabs = np.empty((hi - lo, d), np.int64)                 # the cells' coordinates
    for c in range(hi - lo):
        t = lo + c
        for k in range(d):
            slabs[c, k] = t % cells
            t //= cells
    for e in range(len(pending)):
        c, p = pending[e, 0], pending[e, 1]
        row = fill[c]
        rows[row] = p
        gaps = 0.0
        for k in range(d):
            step = cell[p, k] - slabs[c, k]                      # p lies step slabs above the cell
            step += cells if step < -1 else -cells if step > 1 else 0
            v = offset[p, k] + (step - 0.5) * w
            coords[row, k] = v
            gap = max(low[lo + c, k] - v, v - high[lo + c, k], 0.0)      # the cell is occupied: low <= high
            gaps += gap * gap
        fill[c] = row + (gaps < limit2)                          # otherwise the next one overwrites it
    return fill
