"""Overlap search among class-manifold centres: exact, in memory linear in N, through FAISS.

Three geometries (neuralpack.space, and flat space):
- torus: balls of radii R_i in the periodic box of side L overlap when the minimum-image distance
  is below R_i + R_j (strict), as in the particle runs;
- sphere: caps of angular radii theta_i on S^(d-1) overlap when the angle between their centres is
  below theta_i + theta_j (strict);
- flat R^d (the centres of a self-supervised batch): balls overlap when |x_i - x_j| < R_i + R_j.

FAISS finds, in float32, a superset of the overlapping pairs (range searches with a margin that
covers every float32 rounding); the exact float64 test of neuralpack.space then decides each
candidate. FAISS has no periodic metric. In a torus at least three reaches (2 max R) wide, a grid
of cells at least a reach wide sorts the centres, and each cell is searched in its own window,
where plain coordinates relative to the cell give the minimum-image distance of every pair that
can overlap (``_window_pairs``); a small box puts every coordinate on a circle instead
(``_circle_embedding``) and searches exhaustively. Memory is linear in N plus the pairs found.
``dense_torus_overlaps``, ``dense_sphere_overlaps`` and ``dense_flat_overlaps`` are the O(N^2) torch twins that tests
compare against. Every search returns the pairs i < j as an (m, 2) int64 array sorted by (i, j).
"""
import math
import threading
from concurrent.futures import ThreadPoolExecutor

import faiss
import numpy as np
import torch

from neuralpack import overlap_grid
from neuralpack.overlap_grid import RELATIVE_MARGIN
from neuralpack.space import Sphere, Torus
from physics_baseline.neighbours.verlet import largest_displacements
from physics_baseline.validate import ConfigError, as_float, as_int

# Exhaustive searches (the sphere, boxes under three reaches): query rows per FAISS range search at
# most. Blocks are searched against themselves and the rows after them only, so every pair is
# computed once outside the diagonal blocks.
QUERY_BLOCK = 8192
# At most MAX_RESULTS candidates per search (fewer query rows where the index is large), and the
# exact test gathers at most FILTER_VALUES coordinates at a time: memory stays bounded when nearly
# every pair is a candidate.
MAX_RESULTS = 2 ** 25
FILTER_VALUES = 2 ** 23

# Window search (``overlap_grid``): the cells are searched in batches of about BATCH_ROWS centres,
# one batch per thread at a time.
BATCH_ROWS = 2048


_EPS32 = float(np.finfo(np.float32).eps)
_EPS64 = float(np.finfo(np.float64).eps)


def torus_overlaps(centres, radii, side: float) -> np.ndarray:
    """Overlapping pairs of balls in the periodic box, shape (m, 2) int64, sorted.

    centres: (N, d) float64 positions (any real values; [0, side)^d in practice); radii: (N,);
    side: box side; all in diameters. NumPy arrays or torch tensors.

    With reach = 2 max R and a box at least 3 reaches wide (and not too sparse for a grid), FAISS
    searches each cell of a grid against the centres within reach of that cell's centres' bounding
    box (``_window_pairs``): N = 10^5, d = 8, phi = 0.07 computes about 3 10^8 distances instead of
    N^2 / 2. A smaller box is searched exhaustively on the circle embedding
    (``_circle_embedding``).
    """
    x, r = _validated(centres, radii, "radii", math.inf)
    side = as_float("side", side, 0.0)
    n, d = x.shape
    reach = 2 * float(r.max()) if n else 0.0
    if n < 2 or reach == 0:
        return _pairs(np.empty(0, np.int64), np.empty(0, np.int64))
    torus, xt, rt = Torus(d, side), torch.from_numpy(x), torch.from_numpy(r)

    def overlapping(i, j):
        return _torus_overlap(torus, xt[i], xt[j], rt[i] + rt[j])

    cells = overlap_grid.cells_per_side(n, d, side, reach)
    if cells:
        return _window_pairs(x, side, reach, cells, overlapping)
    embedded, threshold = _circle_embedding(x, side, reach)
    return _range_pairs(embedded, lambda: faiss.IndexFlatL2(2 * d), threshold, overlapping)


class TorusOverlapList:
    """The overlapping pairs of moving balls in a torus, searched again only when they may differ.

    A search (``torus_overlaps`` with every radius widened by skin / 2) keeps the candidate pairs
    within R_i + R_j + skin. Each call filters them with the exact test of ``torus_overlaps``, which
    gives its pair set (sorted), while the two largest centre displacements since that search plus
    twice the largest radius growth add up to at most the skin (the criterion of
    ``physics_baseline.neighbours.verlet.VerletList``); otherwise it searches again. side, skin: diameters.
    """

    def __init__(self, side: float, skin: float):
        self.side = as_float("side", side, 0.0)
        self.skin = as_float("skin", skin, 0.0)
        self.reference = self.reference_radii = self.candidates = None
        self.searches = 0

    def __call__(self, centres, radii) -> np.ndarray:
        """Overlapping pairs (m, 2) int64, sorted, of centres (N, d) with radii (N,)."""
        x, r = _validated(centres, radii, "radii", math.inf)
        if not self._still_exact(x, r):
            self.candidates = torus_overlaps(x, r + self.skin / 2, self.side)
            self.reference, self.reference_radii = x.copy(), r.copy()
            self.searches += 1
        i, j = torch.from_numpy(self.candidates[:, 0]), torch.from_numpy(self.candidates[:, 1])
        xt, rt = torch.from_numpy(x), torch.from_numpy(r)
        keep = _torus_overlap(Torus(x.shape[1], self.side), xt[i], xt[j], rt[i] + rt[j])
        return self.candidates[keep.numpy()]

    def _still_exact(self, x: np.ndarray, r: np.ndarray) -> bool:
        if self.reference is None or self.reference.shape != x.shape:
            return False
        first, second = largest_displacements(x, self.reference, self.side)
        growth = max(0.0, float((r - self.reference_radii).max())) if len(r) else 0.0
        return first + second + 2 * growth <= self.skin


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

    return _range_pairs(directions, lambda: faiss.IndexFlatIP(d), threshold, overlapping)


def flat_overlaps(centres, radii) -> np.ndarray:
    """Overlapping pairs of balls in flat R^d, shape (m, 2) int64, sorted: |x_i - x_j| < R_i + R_j.

    centres: (N, d) float; radii: (N,) >= 0, in the centres' length unit. NumPy arrays or torch
    tensors. An exhaustive FAISS L2 range search at reach 2 max R (widened to cover float32
    rounding of |x|^2 + |y|^2 - 2 x.y) proposes the candidates; the exact float64 test decides.
    """
    x, r = _validated(centres, radii, "radii", math.inf)
    n, d = x.shape
    reach = 2 * float(r.max()) if n else 0.0
    if n < 2 or reach == 0:
        return _pairs(np.empty(0, np.int64), np.empty(0, np.int64))
    scale = float(np.abs(x).max()) * math.sqrt(d)                  # bounds every |x|
    threshold = (reach * (1 + RELATIVE_MARGIN)) ** 2 + 8 * (d + 2) * _EPS32 * scale ** 2
    xt, rt = torch.from_numpy(x), torch.from_numpy(r)

    def overlapping(i, j):
        return _flat_overlap(xt[i], xt[j], rt[i] + rt[j])

    return _range_pairs(x, lambda: faiss.IndexFlatL2(d), threshold, overlapping)


def dense_flat_overlaps(centres, radii) -> np.ndarray:
    """The O(N^2) torch twin of ``flat_overlaps`` (memory N^2 d: small N only)."""
    x, r = _validated(centres, radii, "radii", math.inf)
    x, r = torch.from_numpy(x), torch.from_numpy(r)
    return _upper_pairs(_flat_overlap(x[:, None], x[None, :], r[:, None] + r[None, :]))


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
    """|b - a|^2 < reach^2 (minimum image), the test of physics_baseline.neighbours."""
    delta = torus.displacement(b, a)
    return (delta * delta).sum(dim=-1) < reach ** 2


def _flat_overlap(a: torch.Tensor, b: torch.Tensor, reach: torch.Tensor) -> torch.Tensor:
    """|b - a|^2 < reach^2 in flat space."""
    delta = b - a
    return (delta * delta).sum(dim=-1) < reach ** 2


def _sphere_overlap(a: torch.Tensor, b: torch.Tensor, reach: torch.Tensor) -> torch.Tensor:
    """angle(a, b) < reach."""
    return Sphere.angle(a, b) < reach


def _window_pairs(x: np.ndarray, side: float, reach: float, cells: int, overlapping) -> np.ndarray:
    """The overlapping pairs, sorted (i < j), by a FAISS range search per cell of a grid.

    Cells have side w = L / cells >= reach, so every overlapping pair lies in cells that are
    neighbours or the same along every axis, and cells >= 3 makes those neighbours distinct.
    ``overlap_grid.window_lists`` gives each cell the centres of later cells (grid order) closer than reach to
    the bounding box of its own centres, in coordinates relative to the cell's centre (each
    centre's image within 1.5 w of it): there the plain distance of a pair equals the
    minimum-image one whenever either is below w. ``_window_candidates`` searches each cell. The
    batches of cells (``overlap_grid.batches``) run on as many threads as FAISS would use, with one FAISS
    thread each.
    """
    d = x.shape[1]
    w = side / cells
    cell, offset, flat, order, start = overlap_grid.cell_sort(x, side, cells)
    low, high = overlap_grid.cell_boxes(offset, start, w)
    # Positions are float64: the grid and the bounds err by a few eps64 L.
    limit = reach * (1 + RELATIVE_MARGIN) + 8 * _EPS64 * side
    # Window coordinates lie within 1.5 w of the cell centre: rounding them to float32 moves a
    # distance by at most sqrt(d) w eps32; FAISS's |x|^2 + |y|^2 - 2 x.y in float32 errs by at
    # most about (d + 2) eps32 (|x|^2 + |y|^2) <= (d + 2) eps32 2.5 d w^2. Both taken twice over.
    search = limit + 2 * math.sqrt(d) * w * _EPS32
    threshold = search ** 2 + 10 * d * (d + 2) * _EPS32 * w ** 2
    chunk = max(1, FILTER_VALUES // d)
    workspace = threading.local()

    def start_worker():
        faiss.omp_set_num_threads(1)   # this worker thread only: the batches run in parallel
        # reused from batch to batch (fresh memory is slow to touch), grown by overlap_grid.window_lists
        workspace.arrays = np.empty((0, 2), np.int32), np.empty(0, np.int32), np.empty((0, d), np.float32)

    def batch_pairs(batch):
        lo, hi = batch
        *workspace.arrays, first, end = overlap_grid.window_lists(
            cell, offset, flat, start, lo, hi, cells, w, limit ** 2, low, high, *workspace.arrays)
        members = np.diff(start[lo:hi + 1])
        return [_confirmed(order[a], order[b], overlapping, chunk)
                for a, b in _window_candidates(*workspace.arrays[1:], first, end, members, threshold)]

    batches = overlap_grid.batches(cells, d, len(x), BATCH_ROWS)
    found = [(np.empty(0, np.int64), np.empty(0, np.int64))]
    # FAISS computes distances through BLAS (x.y) only where queries x dimension exceeds this
    # global threshold (128000 in FAISS 1.15: 16000 queries in 8D); for these windows BLAS is about
    # 30 % faster than its pair-by-pair loop, and the float32 margins above cover either form.
    blas_threshold = faiss.cvar.distance_compute_blas_threshold
    faiss.cvar.distance_compute_blas_threshold = 1
    try:
        with ThreadPoolExecutor(faiss.omp_get_max_threads(), initializer=start_worker) as pool:
            found += [pairs for parts in pool.map(batch_pairs, batches) for pairs in parts]
    finally:
        faiss.cvar.distance_compute_blas_threshold = blas_threshold
    return _pairs(np.concatenate([i for i, _ in found]), np.concatenate([j for _, j in found]))


def _window_candidates(rows: np.ndarray, coords: np.ndarray, first: np.ndarray, end: np.ndarray,
                       members: np.ndarray, threshold: float):
    """FAISS range searches of a batch of cells; yields candidate pairs (a, b) of sorted centres,
    a < b, about MAX_RESULTS at a time at most.

    Cell c of the batch owns rows first[c] .. end[c] - 1 of rows (sorted-centre index) and
    coords (window coordinates, float32), its members[c] own centres first. Each cell's rows make
    one FAISS index, searched with the own centres as queries, in blocks of at most MAX_RESULTS
    candidates. A result is kept when its row comes after the query's: any row of a later cell, or
    a later own centre.
    """
    queries, labels, held = [], [], 0
    for c in np.flatnonzero(members):
        begin, own = first[c], first[c] + members[c]
        index = faiss.IndexFlatL2(coords.shape[1])
        index.add(coords[begin:end[c]])
        block = max(1, MAX_RESULTS // (end[c] - begin))
        for query in range(begin, own, block):
            stop = min(own, query + block)
            lims, _, found = index.range_search(coords[query:stop], threshold)
            queries.append(np.repeat(np.arange(query, stop), np.diff(lims.astype(np.int64))))
            labels.append(found + begin)
            held += len(found)
            if held >= MAX_RESULTS:
                yield _later(rows, queries, labels)
                queries, labels, held = [], [], 0
    if labels:
        yield _later(rows, queries, labels)


def _later(rows: np.ndarray, queries: list, labels: list) -> tuple[np.ndarray, np.ndarray]:
    """The results (query row a, found row b) with b > a, as sorted centres (rows[a], rows[b])."""
    a, b = np.concatenate(queries), np.concatenate(labels)
    return rows[a[b > a]], rows[b[b > a]]


def _confirmed(i: np.ndarray, j: np.ndarray, overlapping, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """The candidate pairs (i, j) (int64, i != j) that overlapping confirms, as (min, max); chunk
    candidates at a time."""
    i, j = torch.from_numpy(np.minimum(i, j)), torch.from_numpy(np.maximum(i, j))
    found_i, found_j = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
    for low in range(0, len(i), chunk):
        a, b = i[low:low + chunk], j[low:low + chunk]
        hit = overlapping(a, b)
        found_i.append(a[hit].numpy())
        found_j.append(b[hit].numpy())
    return np.concatenate(found_i), np.concatenate(found_j)


def _circle_embedding(x: np.ndarray, side: float, reach: float) -> tuple[np.ndarray, float]:
    """The centres on circles, shape (N, 2d), and the squared FAISS radius that keeps every pair
    closer than reach (minimum image).

    Each coordinate is put on a circle of circumference L, x -> (L / 2 pi) (cos 2 pi x / L,
    sin 2 pi x / L): the chord between two such points, (L / pi) |sin(pi dx / L)|, is at most the
    periodic |dx|, so the Euclidean distance of the embedded points is a lower bound of the
    minimum-image distance.
    """
    d = x.shape[1]
    scale = side / (2 * math.pi)
    phase = x * (2 * math.pi / side)
    embedded = np.concatenate([np.cos(phase), np.sin(phase)], axis=1) * scale
    # Rounding the embedded coordinates to float32 moves a chord by at most sqrt(2d) eps32 scale;
    # FAISS's |x|^2 + |y|^2 - 2 x.y in float32 errs by at most about (2d + 2) eps32 |x|^2, where
    # |x|^2 = d scale^2 for every point. Both margins are taken twice over.
    search = reach * (1 + RELATIVE_MARGIN) + 2 * math.sqrt(2 * d) * _EPS32 * scale
    return embedded, search ** 2 + 4 * (2 * d + 2) * _EPS32 * d * scale ** 2


def _range_pairs(points: np.ndarray, new_index, threshold: float, overlapping) -> np.ndarray:
    """The pairs that an exhaustive FAISS range search over points returns and overlapping(i, j)
    (int64 tensors -> bool tensor) confirms, as sorted (i < j) pairs.

    new_index() makes an empty FAISS index. Blocks of rows are added from the last one down, each
    searched just after it is added: a block meets itself and the rows after it, so every pair is
    found once (twice inside a block, where the row order decides). The first block is small
    enough that its search returns at most MAX_RESULTS candidates whatever the data; later blocks
    are sized from the fraction of candidates seen so far, to return about MAX_RESULTS / 2.
    """
    points = np.ascontiguousarray(points, dtype=np.float32)
    n = len(points)
    chunk = max(1, FILTER_VALUES // points.shape[1])
    index, row_of = new_index(), np.empty(n, np.int64)          # index entry -> row
    found = []
    size = max(1, min(QUERY_BLOCK, MAX_RESULTS // n))
    end, met, candidates = n, 0, 0
    while end > 0:
        start = max(0, end - size)
        row_of[index.ntotal:index.ntotal + end - start] = np.arange(start, end)
        index.add(points[start:end])
        lims, _, labels = index.range_search(points[start:end], threshold)
        counts = np.diff(lims.astype(np.int64))
        i, j = np.repeat(np.arange(start, end), counts), row_of[labels]
        found.append(_confirmed(i[j > i], j[j > i], overlapping, chunk))
        met, candidates = met + (end - start) * index.ntotal, candidates + len(labels)
        fraction = (candidates + 1) / met
        size = max(1, min(QUERY_BLOCK, int(MAX_RESULTS / (2 * fraction * (index.ntotal + size)))))
        end = start
    return _pairs(np.concatenate([i for i, _ in found]), np.concatenate([j for _, j in found]))


def _pairs(i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """(m, 2) int64 pairs sorted by (i, j); i, j non-negative int64."""
    span = int(j.max()) + 1 if len(j) else 1
    key = np.sort(i * span + j)
    return np.stack([key // span, key % span], axis=1)


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


__all__ = ["TorusOverlapList", "dense_flat_overlaps", "dense_sphere_overlaps", "dense_torus_overlaps", "flat_overlaps",
           "overlap_counts",
           "sphere_overlaps", "torus_normal_sums", "torus_overlaps"]
