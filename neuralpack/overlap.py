"""Overlap search among class-manifold centres: exact, in memory linear in N, through FAISS.

Two geometries (neuralpack.space):
- torus: balls of radii R_i in the periodic box of side L overlap when the minimum-image distance
  is below R_i + R_j (strict), as in the particle runs;
- sphere: caps of angular radii theta_i on S^(d-1) overlap when the angle between their centres is
  below theta_i + theta_j (strict).

FAISS finds, in float32, a superset of the overlapping pairs (an exhaustive range search, with a
margin that covers every float32 rounding); the exact float64 test of neuralpack.space then
decides each candidate. On the torus, slabs along a few axes first leave out the pairs of cells
too far apart to overlap, where the box is wide enough for that. Memory is linear in N plus the
pairs found. ``dense_torus_overlaps`` and ``dense_sphere_overlaps`` are the O(N^2) torch twins that
tests compare against. Every search returns the pairs i < j as an (m, 2) int64 array sorted by
(i, j).
"""
import itertools
import math

# physics_baseline first: it shortens OpenMP's busy wait (GOMP_SPINCOUNT), which an OpenMP runtime
# reads once, when it loads (here with torch or faiss, unless something loaded one before). With
# the default wait, many small FAISS searches on shared cores ran 20x slower.
from physics_baseline import ConfigError  # noqa: I001

import faiss
import numpy as np
import torch

from physics_baseline.box import wrap
from physics_baseline.config import as_float, as_int
from neuralpack.space import Sphere, Torus

# Query rows per FAISS range search at most. Blocks are searched against themselves and the rows
# after them only, so every pair is computed once outside the diagonal blocks.
QUERY_BLOCK = 8192
# At most MAX_RESULTS candidates per search (fewer rows per block where the index is large), and
# the exact test gathers at most FILTER_VALUES coordinates at a time: memory stays bounded when
# nearly every pair is a candidate.
MAX_RESULTS = 2 ** 25
FILTER_VALUES = 2 ** 23

# Torus cells: slabs of width at least (2 max R) / CELLS_PER_REACH along the first k axes, with k
# as large as leaves CELL_ROWS centres per cell on average (FAISS calls on fewer rows cost more
# than the distances they save).
CELLS_PER_REACH = 4
CELL_ROWS = 256

# Relative widening of the FAISS search radius (the float32 margins below add their own terms).
RELATIVE_MARGIN = 1e-4

_EPS32 = float(np.finfo(np.float32).eps)


def torus_overlaps(centres, radii, side: float) -> np.ndarray:
    """Overlapping pairs of balls in the periodic box, shape (m, 2) int64, sorted.

    centres: (N, d) float64 positions (any real values; [0, side)^d in practice); radii: (N,);
    side: box side; all in diameters. NumPy arrays or torch tensors.

    FAISS has no periodic metric, so each coordinate is put on a circle of circumference L,
    x -> (L / 2 pi) (cos 2 pi x / L, sin 2 pi x / L): the chord between two such points,
    (L / pi) |sin(pi dx / L)|, is at most the periodic |dx|, so the Euclidean distance of the
    embedded points in 2d dimensions is a lower bound of the minimum-image distance, and a range
    search of radius 2 max R on them returns every overlapping pair.

    The search is exhaustive within cells and their partner cells (``_cell_groups``): in high d,
    where slabs thinner than 2 max R prune little, it computes a good fraction of all N^2 / 2
    distances (N = 10^5, d = 8, phi = 0.07: about 6 s on 2 cores).
    """
    x, r = _validated(centres, radii, "radii", math.inf)
    side = as_float("side", side, 0.0)
    n, d = x.shape
    reach = 2 * float(r.max()) if n else 0.0
    if n < 2 or reach == 0:
        return _pairs(np.empty(0, np.int64), np.empty(0, np.int64))
    scale = side / (2 * math.pi)
    phase = x * (2 * math.pi / side)
    embedded = np.concatenate([np.cos(phase), np.sin(phase)], axis=1) * scale
    # Rounding the embedded coordinates to float32 moves a chord by at most sqrt(2d) eps32 scale;
    # FAISS's |x|^2 + |y|^2 - 2 x.y in float32 errs by at most about (2d + 2) eps32 |x|^2, where
    # |x|^2 = d scale^2 for every point. Both margins are taken twice over.
    search = reach * (1 + RELATIVE_MARGIN) + 2 * math.sqrt(2 * d) * _EPS32 * scale
    threshold = search ** 2 + 4 * (2 * d + 2) * _EPS32 * d * scale ** 2
    torus, xt, rt = Torus(d, side), torch.from_numpy(x), torch.from_numpy(r)

    def overlapping(i, j):
        return _torus_overlap(torus, xt[i], xt[j], rt[i] + rt[j])

    return _range_pairs(embedded, _cell_groups(x, side, reach), lambda: faiss.IndexFlatL2(2 * d),
                        threshold, overlapping)


def sphere_overlaps(centres, angles) -> np.ndarray:
    """Overlapping pairs of caps on the unit sphere, shape (m, 2) int64, sorted.

    centres: (N, d) non-zero vectors (their directions are the cap centres; unit vectors in
    practice); angles: (N,) cap angular radii in [0, pi] (radians). NumPy arrays or torch tensors.

    An inner-product range search with threshold cos(2 max theta), less a margin, returns every
    pair whose angle may be below 2 max theta; FAISS keeps scores strictly above the threshold.
    The search is exhaustive: N^2 / 2 dot products.
    """
    x, theta = _validated(centres, angles, "angles", math.pi, sphere=True)
    n, d = x.shape
    reach = 2 * float(theta.max()) if n else 0.0
    if n < 2 or reach == 0:
        return _pairs(np.empty(0, np.int64), np.empty(0, np.int64))
    directions = x / np.linalg.norm(x, axis=1, keepdims=True)
    # A float32 dot product of unit vectors errs by at most about (d + 2) eps32 / 2; taken 4 times.
    threshold = math.cos(min(math.pi, reach * (1 + RELATIVE_MARGIN))) - 2 * (d + 2) * _EPS32
    xt, theta_t = torch.from_numpy(x), torch.from_numpy(theta)

    def overlapping(i, j):
        return _sphere_overlap(xt[i], xt[j], theta_t[i] + theta_t[j])

    return _range_pairs(directions, [(np.arange(n), np.empty(0, np.int64))], lambda: faiss.IndexFlatIP(d),
                        threshold, overlapping)


def dense_torus_overlaps(centres, radii, side: float) -> np.ndarray:
    """The O(N^2) torch twin of ``torus_overlaps`` (memory N^2 d: small N only)."""
    x, r = _validated(centres, radii, "radii", math.inf)
    torus = Torus(x.shape[1], as_float("side", side, 0.0))
    x, r = torch.from_numpy(x), torch.from_numpy(r)
    return _upper_pairs(_torus_overlap(torus, x[:, None], x[None, :], r[:, None] + r[None, :]))


def dense_sphere_overlaps(centres, angles) -> np.ndarray:
    """The O(N^2) torch twin of ``sphere_overlaps`` (memory N^2 d: small N only)."""
    x, theta = _validated(centres, angles, "angles", math.pi, sphere=True)
    x, theta = torch.from_numpy(x), torch.from_numpy(theta)
    return _upper_pairs(_sphere_overlap(x[:, None], x[None, :], theta[:, None] + theta[None, :]))


def overlap_counts(pairs, n: int) -> np.ndarray:
    """Number of overlapping partners of each of n manifolds, shape (n,) int64."""
    n = as_int("n", n, 0)
    pairs = _as_numpy(pairs).astype(np.int64, copy=False).reshape(-1, 2)
    if pairs.size and not (pairs.min() >= 0 and pairs.max() < n):
        raise ConfigError("pairs", f"indices must lie in [0, {n}), got [{pairs.min()}, {pairs.max()}]")
    return np.bincount(pairs.ravel(), minlength=n).astype(np.int64)


def torus_normal_sums(centres: torch.Tensor, pairs, side: float) -> torch.Tensor:
    """sum_j n_ij over the overlapping partners j of each i, shape (N, d) float64.

    n_ij = (x_i - x_j) / |x_i - x_j| (minimum image) is the unit vector from j to i, so that the
    hinge loss has grad_i L = -(1/2) sum_j n_ij; coincident centres contribute nothing.
    """
    x = torch.as_tensor(centres, dtype=torch.float64)
    pairs = torch.as_tensor(_as_numpy(pairs), dtype=torch.int64, device=x.device).reshape(-1, 2)
    i, j = pairs[:, 0], pairs[:, 1]
    delta = Torus(x.shape[1], side).displacement(x[i], x[j])
    length = torch.linalg.vector_norm(delta, dim=1, keepdim=True)
    unit = torch.where(length > 0, delta / length, torch.zeros_like(delta))
    return torch.zeros_like(x).index_add_(0, i, unit).index_add_(0, j, -unit)


def _torus_overlap(torus: Torus, a: torch.Tensor, b: torch.Tensor, reach: torch.Tensor) -> torch.Tensor:
    """|b - a|^2 < reach^2 (minimum image), the test of physics_baseline.neighbors."""
    delta = torus.displacement(b, a)
    return (delta * delta).sum(dim=-1) < reach ** 2


def _sphere_overlap(a: torch.Tensor, b: torch.Tensor, reach: torch.Tensor) -> torch.Tensor:
    """angle(a, b) < reach."""
    return Sphere.angle(a, b) < reach


def _cell_groups(x: np.ndarray, side: float, reach: float):
    """Groups (rows, partners) of row indices that together hold every pair of centres closer
    than reach (minimum image): each group's rows meet one another and its partners.

    Cells are slabs of width w = L / m along the first k axes. Centres in cells whose circular
    offset along an axis is delta are at least (delta - 1) w apart, so only offsets up to
    h = floor(reach / w) + 1 can hold a pair; with m >= 2h + 1 those offsets name distinct cells,
    and the partners of a cell are its cells at lexicographically positive offsets (each pair of
    cells once). Without room for such cells, one group holds every row.
    """
    n, d = x.shape
    m = min(int(side // (reach / CELLS_PER_REACH)), n // CELL_ROWS)
    h = int((reach + 1e-9 * side) // (side / m)) + 1 if m else 0
    if m < 2 * h + 1:
        return [(np.arange(n), np.empty(0, np.int64))]
    k = max(1, min(d, int(math.log(n / CELL_ROWS) / math.log(m))))
    cell = np.minimum((wrap(x[:, :k], side) / (side / m)).astype(np.int64), m - 1)
    flat = np.ravel_multi_index(tuple(cell.T), (m,) * k)
    order = np.argsort(flat, kind="stable")
    start = np.searchsorted(flat[order], np.arange(m ** k + 1))
    offsets = np.array([o for o in itertools.product(range(-h, h + 1), repeat=k) if o > (0,) * k])

    def rows_of(cells):
        return np.concatenate([order[start[c]:start[c + 1]] for c in cells])

    def groups():
        for home in np.flatnonzero(np.diff(start)):
            coords = np.array(np.unravel_index(home, (m,) * k))
            near = np.ravel_multi_index(tuple(((coords + offsets) % m).T), (m,) * k)
            yield rows_of([home]), rows_of(near)

    return groups()


def _range_pairs(points: np.ndarray, groups, new_index, threshold: float, overlapping) -> np.ndarray:
    """The pairs that a FAISS range search over points returns within the groups and
    overlapping(i, j) (int64 tensors -> bool tensor) confirms, as sorted (i < j) pairs.

    groups: (rows, partners) of row indices; new_index() makes an empty FAISS index. For each
    group, the partners are added first, then blocks of rows from the last one down, each
    searched just after it is added: a block meets itself, the rows after it and the partners,
    so every pair is found once (twice inside a block, where its rank decides).

    The first block of a group is small enough that its search returns at most MAX_RESULTS
    candidates whatever the data; later blocks are sized from the fraction of candidates seen so
    far, to return about MAX_RESULTS / 2.
    """
    points = np.ascontiguousarray(points, dtype=np.float32)
    chunk = max(1, FILTER_VALUES // points.shape[1])
    found_i, found_j = [], []
    for rows, partners in groups:
        index = new_index()
        index.add(points[partners])
        row_of = np.concatenate([partners, np.empty(len(rows), np.int64)])   # index entry -> row
        rank = np.concatenate([np.full(len(partners), len(rows)), np.empty(len(rows), np.int64)])
        size = max(1, min(QUERY_BLOCK, MAX_RESULTS // (len(partners) + len(rows))))
        end, met, candidates = len(rows), 0, 0
        while end > 0:
            start = max(0, end - size)
            block = rows[start:end]
            added = index.ntotal
            row_of[added:added + len(block)] = block
            rank[added:added + len(block)] = np.arange(start, end)
            index.add(points[block])
            lims, _, labels = index.range_search(points[block], threshold)
            counts = np.diff(lims.astype(np.int64))
            later = rank[labels] > np.repeat(np.arange(start, end), counts)
            i, j = np.repeat(block, counts)[later], row_of[labels][later]
            i, j = torch.from_numpy(np.minimum(i, j)), torch.from_numpy(np.maximum(i, j))
            for first in range(0, len(i), chunk):
                a, b = i[first:first + chunk], j[first:first + chunk]
                hit = overlapping(a, b)
                found_i.append(a[hit].numpy())
                found_j.append(b[hit].numpy())
            met, candidates = met + len(block) * index.ntotal, candidates + len(labels)
            fraction = (candidates + 1) / met
            size = max(1, min(QUERY_BLOCK, int(MAX_RESULTS / (2 * fraction * (index.ntotal + size)))))
            end = start
    return _pairs(np.concatenate(found_i), np.concatenate(found_j))


def _pairs(i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """(m, 2) int64 pairs sorted by (i, j)."""
    order = np.lexsort((j, i))
    return np.stack([i[order], j[order]], axis=1).astype(np.int64)


def _upper_pairs(hit: torch.Tensor) -> np.ndarray:
    """The pairs i < j where the (N, N) boolean matrix hit holds, sorted by (i, j)."""
    return torch.triu(hit, diagonal=1).nonzero().numpy().astype(np.int64)


def _as_numpy(array) -> np.ndarray:
    if isinstance(array, torch.Tensor):
        return array.detach().cpu().numpy()
    return np.asarray(array)


def _validated(centres, values, name: str, high: float,
               sphere: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """centres as a finite (N, d) float64 array (on a sphere: d >= 2, rows non-zero) and values
    (radii or angles) as a finite (N,) float64 array in [0, high], or a ConfigError naming the
    bad argument."""
    x = np.ascontiguousarray(_as_numpy(centres), dtype=np.float64)
    lowest = 2 if sphere else 1
    if x.ndim != 2 or x.shape[1] < lowest or not np.all(np.isfinite(x)):
        raise ConfigError("centres", f"must be a finite (N, d) array with d >= {lowest}, got shape {x.shape}")
    if sphere and np.any(np.all(x == 0, axis=1)):
        raise ConfigError("centres", "rows must be non-zero vectors on a sphere")
    v = np.ascontiguousarray(_as_numpy(values), dtype=np.float64)
    if v.shape != (x.shape[0],):
        raise ConfigError(name, f"must have shape ({x.shape[0]},) like centres, got {v.shape}")
    if not np.all(np.isfinite(v) & (v >= 0) & (v <= high)):
        raise ConfigError(name, f"must be finite and lie in [0, {high}]")
    return x, v


__all__ = ["dense_sphere_overlaps", "dense_torus_overlaps", "overlap_counts", "sphere_overlaps",
           "torus_normal_sums", "torus_overlaps"]
