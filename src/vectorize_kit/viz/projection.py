"""2-D projections of vectors: PCA, and UMAP on exact nearest neighbours.

UMAP spends most of its time, with umap-learn's defaults, finding approximate neighbours
(NNDescent) and running 500 epochs (200 above 10,000 points). Here the neighbours are exact,
from blocks of one matrix product under the collection's own metric (so the map agrees with
the searches), and handed to umap-learn as ``precomputed_knn``; from exact neighbours and a
PCA start, the layout settles in fewer epochs: 200 up to 2,000 points, 120 up to 5,000, 80
beyond (an epoch costs time in proportion to the points), each with 3 negative samples per
edge instead of 5. ``benchmarks/bench_umap.py`` measures time and trustworthiness against
umap-learn's defaults.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Projection", "neighbours", "project", "cached", "epochs_for"]

UMAP_MIN_POINTS = 4  # below this, UMAP's graph is too small: PCA is used instead
_BLOCK_CELLS = 2**24  # scores per block (64 MiB of float32): rows = this / the row count


def neighbours(vectors: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """The exact ``k`` nearest neighbours of every row under ``metric``, itself first: their
    indices and distances (``1 - $similarity``, so 0 for itself), nearest first.

    Blocks of rows are ranked against all rows with one matrix product each (two blocks at
    a time: numpy's partition runs while BLAS multiplies the next block), and only the
    ``k`` best of a row are turned into ``$similarity`` scores.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    n = len(vectors)
    k = min(k, n)
    data = _prepare(vectors, metric)  # unit rows for cosine: the dot product ranks them
    sq = np.einsum("ij,ij->i", data, data)
    indices = np.empty((n, k), dtype=np.int64)
    distances = np.empty((n, k), dtype=np.float32)

    step = max(16, min(1024, _BLOCK_CELLS // max(n, 1)))

    def block(start: int) -> None:
        rows = slice(start, min(start + step, n))
        dots = data[rows] @ data.T
        # the larger, the nearer: a dot product, or minus a squared distance up to a
        # constant of the row (|a|² + |b|² - 2a·b)
        rank = dots if metric != "euclidean" else 2.0 * dots - sq[None, :]
        own = np.arange(rows.stop - rows.start)
        rank[own, start + own] = np.inf  # each row is its own nearest neighbour
        top = np.argpartition(rank, n - k, axis=1)[:, n - k:]
        order = np.argsort(-np.take_along_axis(rank, top, axis=1), axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        best = np.take_along_axis(dots, top, axis=1)
        if metric == "euclidean":
            scores = 1.0 / (1.0 + np.maximum(sq[rows, None] + sq[top] - 2.0 * best, 0.0))
        else:
            scores = (1.0 + np.clip(best, -1.0, 1.0) if metric == "cosine" else 1.0 + best) / 2
        scores[:, 0] = 1.0
        indices[rows] = top
        distances[rows] = np.maximum(1.0 - scores, 0.0)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(block, range(0, n, step)))
    return indices, distances


@dataclass(frozen=True)
class Projection:
    """2-D coordinates of some vectors, and how they were made.

    ``method`` is the one used (``"pca"`` when ``"umap"`` was asked for fewer than 4
    points); :meth:`place` puts a new vector (a query) on the same map.
    """

    coords: np.ndarray
    method: str
    metric: str
    mean: np.ndarray | None = None  # PCA: the centre and the two axes
    axes: np.ndarray | None = None

    def place(self, vector: np.ndarray, neighbour_rows: np.ndarray,
              weights: np.ndarray) -> np.ndarray:
        """Where ``vector`` goes: its exact projection for PCA; for UMAP (which has no exact
        projection of a new point) the ``weights``-weighted mean of its neighbours' places."""
        if self.method == "pca" and self.axes is not None:
            return (_prepare(vector[None, :], self.metric) - self.mean) @ self.axes.T
        if len(neighbour_rows) == 0:
            return np.full((1, 2), np.nan)
        w = np.asarray(weights, dtype=np.float64)
        w = w / w.sum() if w.sum() > 0 else np.full(len(w), 1 / len(w))
        return (self.coords[neighbour_rows] * w[:, None]).sum(axis=0, keepdims=True)


def _prepare(vectors: np.ndarray, metric: str) -> np.ndarray:
    """Cosine compares directions: map the unit vectors."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if metric != "cosine":
        return vectors
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


def _pca(vectors: np.ndarray, metric: str) -> Projection:
    data = _prepare(vectors, metric).astype(np.float64)
    mean = data.mean(axis=0) if len(data) else np.zeros(data.shape[1])
    centred = data - mean
    axes = np.zeros((2, data.shape[1]))
    if len(data) > 1:
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        axes[: min(2, len(vt))] = vt[:2]
        axes *= np.where(axes.sum(axis=1, keepdims=True) < 0, -1, 1)  # a stable orientation
    return Projection(centred @ axes.T, "pca", metric, mean, axes)


def epochs_for(n: int) -> int:
    """UMAP's epochs for ``n`` points (see the module's docstring)."""
    return 200 if n <= 2_000 else 120 if n <= 5_000 else 80


def _umap(vectors: np.ndarray, metric: str, n_neighbors: int, n_epochs: int | None,
          random_state: int | None) -> Projection:
    import umap  # lazy: umap-learn (and numba) load in seconds

    k = min(n_neighbors, len(vectors) - 1)
    knn = neighbours(vectors, k, metric)
    with warnings.catch_warnings():
        # "n_jobs overridden by random_state", "graph is not fully connected": expected here
        warnings.simplefilter("ignore")
        reducer = umap.UMAP(n_neighbors=k, n_components=2, metric="euclidean",
                            precomputed_knn=(*knn, None),
                            n_epochs=n_epochs or epochs_for(len(vectors)),
                            random_state=random_state, init="pca",
                            negative_sample_rate=3,
                            # use the neighbours given even below 4096 points
                            force_approximation_algorithm=True)
        coords = reducer.fit_transform(_prepare(vectors, metric))
    return Projection(np.asarray(coords, dtype=np.float64), "umap", metric)


def project(vectors: np.ndarray, *, method: str = "umap", metric: str = "cosine",
            n_neighbors: int = 15, n_epochs: int | None = None,
            random_state: int | None = None) -> Projection:
    """Map vectors to 2-D with ``"umap"`` (exact neighbours under ``metric``) or ``"pca"``.

    ``n_epochs`` defaults to :func:`epochs_for` the number of points; ``random_state`` makes
    UMAP repeatable (and single-threaded). Fewer than 4 points are mapped with PCA
    (``Projection.method`` says which was used).
    """
    if method not in ("umap", "pca"):
        raise ValueError(f"method must be 'umap' or 'pca', not {method!r}")
    vectors = np.asarray(vectors, dtype=np.float32)
    if method == "pca" or len(vectors) < UMAP_MIN_POINTS:
        return _pca(vectors, metric)
    return _umap(vectors, metric, n_neighbors, n_epochs, random_state)


_CACHE: OrderedDict[Any, Any] = OrderedDict()
_CACHE_SIZE = 16


def cached(key: Any, make: Any) -> Any:
    """``make()``, remembered under ``key`` (the last 16 kept): a cell run again with the
    same data and settings gets its map at once."""
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    value = make()
    _CACHE[key] = value
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return value
