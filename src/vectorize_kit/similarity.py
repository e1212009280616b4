"""The Data API's ``$similarity`` for each metric (``reference/data-api.md`` §2.5).

Scores are Cassandra's ``similarity_<metric>()`` values, which are jvector's normalisation:

- cosine: ``(1 + cos(a, b)) / 2``
- dot_product: ``(1 + a·b) / 2``
- euclidean: ``1 / (1 + ||a - b||²)``

All three grow with similarity, so the top-k are always the largest scores.
"""

from __future__ import annotations

import numpy as np

__all__ = ["METRICS", "score_matrix", "score_rows", "similarity", "top_positions"]

METRICS = ("cosine", "dot_product", "euclidean")


def score_rows(data: np.ndarray, norms: np.ndarray, query: np.ndarray, metric: str, *,
               largest_norm: float | None = None) -> np.ndarray:
    """``$similarity`` of every row of ``data`` with ``query``.

    Parameters
    ----------
    data
        The stored vectors (float32 rows).
    norms
        The L2 norms of the same rows.
    query
        The query vector.
    metric
        One of :data:`METRICS`.
    largest_norm
        The largest of ``norms`` when all are finite and non-zero (known to the caller):
        then the cosines need no check for zero or infinite norms, unless the query has one.
    """
    if metric == "cosine":
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            qn = np.sqrt(query.dot(query))  # (np.linalg.norm's own computation)
            cos = data @ query  # a new array: the rest works in place
            cos /= norms * qn
        # a zero or overflowing norm (|a·q| <= |a||q|: none when both are finite and > 0)
        if not (largest_norm is not None and 0 < qn and largest_norm * float(qn) < 1e37
                or np.isfinite(cos).all()):
            cos = np.nan_to_num(cos, nan=0.0, posinf=0.0, neginf=0.0)
        return _cosine_similarity(cos)
    if metric == "dot_product":
        with np.errstate(over="ignore", invalid="ignore"):
            dot = data @ query
        if not np.isfinite(dot).all():  # overflowed: the largest float, or 0 for inf - inf
            dot = np.nan_to_num(dot, nan=0.0)
        return (1.0 + dot) / 2.0
    if metric == "euclidean":
        # Squared distances from the differences themselves: |a|² + |q|² - 2a·q cancels
        # badly in float32 when the vectors are long and close. Chunks bound the temporary.
        sq = np.empty(data.shape[0], dtype=np.float32)
        with np.errstate(over="ignore"):
            for start in range(0, data.shape[0], 8192):
                diff = data[start : start + 8192] - query
                sq[start : start + 8192] = np.einsum("ij,ij->i", diff, diff)
        return 1.0 / (1.0 + sq)
    raise ValueError(f"unknown metric {metric!r}")


def _cosine_similarity(cos: np.ndarray) -> np.ndarray:
    """``(1 + cos) / 2``, cosines rounded past ±1 clipped (in place)."""
    np.minimum(cos, 1.0, out=cos)  # (np.clip, without its overhead)
    np.maximum(cos, -1.0, out=cos)
    cos += 1.0
    cos /= 2.0
    return cos


def top_positions(scores: np.ndarray, k: int) -> np.ndarray:
    """The positions of the ``k`` highest ``scores`` (in no order); where equal scores
    straddle the cut, the first of them, so that ties keep row order."""
    n = len(scores)
    if k >= n:
        return np.arange(n)
    part = scores.argpartition(n - k - 1)  # the (k+1)-th best placed, the k best after it
    best = part[n - k:]
    kth = scores[best].min()
    if kth != kth:  # NaN (which sorts above every number) among the best: it comes last
        return top_positions(np.where(np.isnan(scores), -np.inf, scores), k)
    if scores[part[n - k - 1]] == kth:  # the (k+1)-th as good as the k-th: a tie at the cut
        above = np.flatnonzero(scores > kth)
        best = np.concatenate([above, np.flatnonzero(scores == kth)[: k - len(above)]])
    return best


def score_matrix(queries: np.ndarray, data: np.ndarray, metric: str) -> np.ndarray:
    """``$similarity`` of every query row with every data row (one matrix product): a
    ``(len(queries), len(data))`` float32 matrix. For many queries at once, e.g. every row's
    neighbours; the euclidean distances come from the norms (close, long vectors lose a
    little precision, which does not change who the neighbours are)."""
    queries = np.asarray(queries, dtype=np.float32)
    data = np.asarray(data, dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if metric == "cosine":
            qn = np.linalg.norm(queries, axis=1, keepdims=True)
            dn = np.linalg.norm(data, axis=1)
            cos = np.nan_to_num((queries @ data.T) / (qn * dn), nan=0.0, posinf=0.0,
                                neginf=0.0)
            return (1.0 + np.clip(cos, -1.0, 1.0)) / 2.0
        if metric == "dot_product":
            return (1.0 + queries @ data.T) / 2.0
        if metric == "euclidean":
            sq = (np.einsum("ij,ij->i", queries, queries)[:, None]
                  + np.einsum("ij,ij->i", data, data)[None, :] - 2.0 * (queries @ data.T))
            return 1.0 / (1.0 + np.maximum(sq, 0.0))
    raise ValueError(f"unknown metric {metric!r}")


def similarity(a: np.ndarray, b: np.ndarray, metric: str) -> float:
    """``$similarity`` of two vectors (the reference formula, for tests and one-offs)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if metric == "cosine":
        return float((1 + a @ b / (np.linalg.norm(a) * np.linalg.norm(b))) / 2)
    if metric == "dot_product":
        return float((1 + a @ b) / 2)
    if metric == "euclidean":
        return float(1 / (1 + np.sum((a - b) ** 2)))
    raise ValueError(f"unknown metric {metric!r}")
