"""A collection's vectors: one contiguous float32 matrix, row ``i`` for document row ``i``.

Search is one matrix-vector product over the rows that hold a vector (or over the rows a
filter selected), then ``argpartition`` for the top k.  The matrix grows by doubling so that
appends are amortised O(1); the L2 norm of each row is kept beside it, which serves cosine
and euclidean scores without a second, normalised copy of the matrix.
"""

from __future__ import annotations

import numpy as np

from ..similarity import score_rows, top_positions

__all__ = ["VectorMatrix"]


class VectorMatrix:
    """Row-aligned float32 vectors with a presence mask and per-row norms.

    Parameters
    ----------
    dimension
        The vector length.
    """

    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self.n = 0
        self._data = np.zeros((0, dimension), dtype=np.float32)
        self._present = np.zeros(0, dtype=bool)
        self._norms = np.zeros(0, dtype=np.float32)
        self._largest: tuple[float | None] | None = None  # (see largest_norm)

    # -- views over the used rows -------------------------------------------------------------
    @property
    def data(self) -> np.ndarray:
        """The used rows (a view; rows without a vector hold zeros)."""
        return self._data[: self.n]

    @property
    def present(self) -> np.ndarray:
        """Which rows hold a vector."""
        return self._present[: self.n]

    @property
    def norms(self) -> np.ndarray:
        return self._norms[: self.n]

    @property
    def nbytes(self) -> int:
        return self.n * self.dimension * 4

    # -- mutation ----------------------------------------------------------------------------
    def reserve(self, rows: int, *, exact: bool = False) -> None:
        """Make room for ``rows`` rows in all (``exact``: no spare room, e.g. on reopen)."""
        if rows <= self._data.shape[0]:
            return
        cap = rows if exact else max(rows, 2 * self._data.shape[0], 64)
        data = np.zeros((cap, self.dimension), dtype=np.float32)
        data[: self.n] = self._data[: self.n]
        present = np.zeros(cap, dtype=bool)
        present[: self.n] = self._present[: self.n]
        norms = np.zeros(cap, dtype=np.float32)
        norms[: self.n] = self._norms[: self.n]
        self._data, self._present, self._norms = data, present, norms

    def append(self, block: np.ndarray, present: np.ndarray) -> None:
        """Append ``len(present)`` rows; ``block`` holds the vectors of the present ones."""
        k = len(present)
        self.reserve(self.n + k)
        self._largest = None
        rows = slice(self.n, self.n + k)
        self._present[rows] = present
        self._data[rows] = 0.0
        if block.shape[0]:
            target = np.arange(self.n, self.n + k)[present]
            self._data[target] = block
            with np.errstate(over="ignore"):  # absurdly large vectors: an infinite norm
                self._norms[target] = np.linalg.norm(block, axis=1)
        self.n += k

    def set_row(self, row: int, vector: np.ndarray | None) -> None:
        """Replace (or clear, with ``None``) the vector of one row."""
        self._largest = None
        if vector is None:
            self._data[row] = 0.0
            self._present[row] = False
            self._norms[row] = 0.0
        else:
            self._data[row] = vector
            self._present[row] = True
            with np.errstate(over="ignore"):
                self._norms[row] = np.linalg.norm(vector)

    def keep(self, mask: np.ndarray) -> None:
        """Drop the rows where ``mask`` is False, keeping the others in order."""
        kept = int(mask.sum())
        self._largest = None
        self._data[:kept] = self._data[: self.n][mask]
        self._present[:kept] = self._present[: self.n][mask]
        self._norms[:kept] = self._norms[: self.n][mask]
        self.n = kept
        if self._data.shape[0] > 4 * max(kept, 64):  # give memory back after a big delete
            self._data = self._data[: 2 * max(kept, 32)].copy()
            self._present = self._present[: self._data.shape[0]].copy()
            self._norms = self._norms[: self._data.shape[0]].copy()

    def clear(self) -> None:
        self.__init__(self.dimension)  # type: ignore[misc]

    def largest_norm(self) -> float | None:
        """The largest row norm when every row holds a vector of finite, non-zero norm
        (else ``None``); kept until the next change."""
        if self._largest is None:
            norms = self.norms
            plain = self.n and self.present.all() and np.isfinite(norms).all() and (
                norms > 0).all()
            self._largest = (float(norms.max()) if plain else None,)
        return self._largest[0]

    def row(self, i: int) -> np.ndarray | None:
        """The vector of row ``i``, or ``None``."""
        return self._data[i].copy() if self._present[i] else None

    # -- search ------------------------------------------------------------------------------
    def top_k(
        self,
        query: np.ndarray,
        k: int,
        metric: str,
        rows: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best rows for ``query``, best first, and their ``$similarity``.

        Parameters
        ----------
        rows
            Candidate row numbers (sorted), e.g. those a filter selected; all rows by default.
            Rows without a vector are never returned.
        """
        largest = None
        if rows is None:
            data, norms = self.data, self.norms
            # Most collections hold a vector in every row: then no masking is needed.
            largest = self.largest_norm()
            if largest is None and not self.present.all():
                rows = np.flatnonzero(self.present)
                data, norms = data[rows], norms[rows]
        else:
            rows = rows[self._present[rows]]
            data, norms = self._data[rows], self._norms[rows]
        if data.shape[0] == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        query = query.astype(np.float32, copy=False)
        scores = score_rows(data, norms, query, metric, largest_norm=largest)
        best = top_positions(scores, k)
        best = best[np.lexsort((best, -scores[best]))]  # best first; ties in row order
        found = best if rows is None else rows[best]
        return found.astype(np.int64, copy=False), scores[best].astype(np.float64)

