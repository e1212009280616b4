"""A collection's documents in a pandas DataFrame, vectors in a row-aligned float32 matrix.

The frame has one row per document, indexed by a sequence number that grows with every new
document (so that paging survives deletes).  Its columns are ``_id`` and ``doc`` (the document
as a dict, without ``$vector``), plus, for each path a filter has used, a cached column of the
path's values in canonical form (``f:<path>``) and a flag for rows whose value must be checked
document by document because the path runs through an array (``c:<path>``).  The cached
columns are what make an equality filter one vectorised comparison.

Every change goes through :meth:`put`, :meth:`delete` or :meth:`clear`, which write the
change to the durable log first (when the store has one).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from ..values import MISSING, canon, is_ejson
from .base import AppendableFrame, StoreBase
from .paths import get_exact, split_path
from .vectors import VectorMatrix
from .wal import SNAPSHOT_BATCH_ROWS, Record, SnapshotBatch, StoreLog

__all__ = ["DocumentStore"]

_MAX_CACHED_PATHS = 32
_VECTOR = "$vector"  # the vector column's name in the log


def _objects(values: Iterable[Any], count: int) -> np.ndarray:
    # np.fromiter keeps tuples and lists as single objects (np.array would nest them)
    return np.fromiter(values, dtype=object, count=count)


def field_cell(doc: dict, segments: tuple[str, ...]) -> tuple[Any, bool]:
    """A path's value in canonical form, and whether it must be checked document by document
    (the path crosses an array, or ends on an array or object)."""
    cur: Any = doc
    for seg in segments:
        if isinstance(cur, dict) and not is_ejson(cur):
            if seg not in cur:
                return MISSING, False
            cur = cur[seg]
        elif isinstance(cur, list):
            return MISSING, True
        else:
            return MISSING, False
    if isinstance(cur, list) or (isinstance(cur, dict) and not is_ejson(cur)):
        return MISSING, True
    return canon(cur), False


class DocumentStore(StoreBase):
    """Documents and vectors of one collection.

    Parameters
    ----------
    dimension
        The vector dimension, or ``None`` for a collection without vectors.
    log
        Where changes are made durable; ``None`` keeps the store in memory only.
    """

    def __init__(self, *, dimension: int | None, log: StoreLog | None = None) -> None:
        self.dimension = dimension
        self.vectors = VectorMatrix(dimension) if dimension else None
        self._log = log
        self._rows_frame = AppendableFrame(self._empty_frame())
        self._next_seq = 0
        self._rows: dict[Any, int] = {}  # canonical _id -> sequence number
        self._cached: dict[str, tuple[str, ...]] = {}
        self.version = 0  # bumped by every change; lets callers cache derived data
        if log is not None:
            self._load(log)

    # -- reading -----------------------------------------------------------------------------
    @staticmethod
    def _empty_frame() -> pd.DataFrame:
        index = pd.Index([], dtype="int64", name="seq")
        return pd.DataFrame(
            {"_id": pd.Series([], dtype=object, index=index),
             "doc": pd.Series([], dtype=object, index=index)}
        )


    def __len__(self) -> int:
        return len(self._rows)

    def docs(self) -> np.ndarray:
        """Every document, in row order (an object array of dicts; do not change it)."""
        key = (self.version, len(self._rows))
        cached = self.__dict__.get("_docs")
        if cached is None or cached[0] != key:
            cached = self._docs = (key, self._frame["doc"].to_numpy())
        return cached[1]

    def values(self, segments: tuple[str, ...], rows: list[int]) -> list[Any]:
        """The value at a path (``get_exact``; ``MISSING`` where there is none) of the
        documents at ``rows``. A second read of the path between two writes keeps every
        document's value (until the next write), for reads that look at one field of many
        rows; the first one after a write looks at its rows only."""
        key = (self.version, len(self._rows))
        cached = self.__dict__.setdefault("_values", {})
        found = cached.get(segments)
        docs = self.docs()
        if found is None or found[0] != key:
            if found is None and len(cached) >= _MAX_CACHED_PATHS:
                cached.clear()
            cached[segments] = (key, None)
            return [get_exact(docs[r], segments) for r in rows]
        column = found[1]
        if column is None:
            column = [get_exact(d, segments) for d in docs]
            cached[segments] = (key, column)
        return [column[r] for r in rows]

    def seqs(self) -> np.ndarray:
        """The sequence number of every row, ascending."""
        return self._frame.index.to_numpy()

    def has(self, doc_id: Any) -> bool:
        """Whether a document with this ``_id`` is stored (a dictionary lookup)."""
        return canon(doc_id) in self._rows

    def position(self, doc_id: Any) -> int | None:
        """The row of the document with this ``_id``, or ``None``."""
        seq = self._rows.get(canon(doc_id))
        return None if seq is None else int(self._frame.index.get_loc(seq))

    def vector(self, row: int) -> np.ndarray | None:
        return None if self.vectors is None else self.vectors.row(row)

    def vector_present(self) -> np.ndarray:
        if self.vectors is None:
            return np.zeros(len(self), dtype=bool)
        return self.vectors.present

    def field(self, path: str) -> tuple[np.ndarray, np.ndarray]:
        """The cached canonical values of ``path`` and the rows to check one by one."""
        vcol, ccol = f"f:{path}", f"c:{path}"
        if path not in self._cached:
            if len(self._cached) >= _MAX_CACHED_PATHS:
                oldest = next(iter(self._cached))
                del self._cached[oldest]
                self._frame = self._frame.drop(columns=[f"f:{oldest}", f"c:{oldest}"])
            segments = split_path(path)
            values, flags = self._cells(self.docs(), segments)
            self._frame[vcol] = pd.Series(values, dtype=object, index=self._frame.index)
            self._frame[ccol] = flags
            self._cached[path] = segments
        return self._frame[vcol].to_numpy(), self._frame[ccol].to_numpy()

    @staticmethod
    def _cells(docs: Any, segments: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        n = len(docs)
        cells = [field_cell(d, segments) for d in docs]
        values = _objects((c[0] for c in cells), n)
        flags = np.fromiter((c[1] for c in cells), dtype=bool, count=n)
        return values, flags

    # -- changing ----------------------------------------------------------------------------
    def put(self, docs: list[dict], vectors: list[np.ndarray | None]) -> None:
        """Insert or replace documents by ``_id`` (each with its vector, or ``None``)."""
        if docs:
            record = Record("put", docs=docs,
                            vectors={} if self.vectors is None else {_VECTOR: vectors})
            self._commit(record, lambda: self._apply_put(docs, vectors))

    def delete(self, doc_ids: list[Any]) -> None:
        """Delete the documents with these ``_id`` values (unknown ids are ignored)."""
        if doc_ids:
            self._commit(Record("delete", ids=doc_ids), lambda: self._apply_delete(doc_ids))

    def _apply_put(self, docs: list[dict], vectors: list[np.ndarray | None]) -> None:
        fresh: dict[Any, tuple[dict, np.ndarray | None]] = {}
        for doc, vec in zip(docs, vectors):
            key = canon(doc["_id"])
            seq = self._rows.get(key)
            if seq is None:
                fresh[key] = (doc, vec)  # a repeated new _id: the last one wins
            else:
                self._replace_row(int(self._frame.index.get_loc(seq)), doc, vec)
        if fresh:
            self._append_rows(list(fresh.keys()), [v[0] for v in fresh.values()],
                              [v[1] for v in fresh.values()])

    def _replace_row(self, pos: int, doc: dict, vec: np.ndarray | None) -> None:
        frame = self._frame
        frame.iat[pos, frame.columns.get_loc("doc")] = doc
        for path, segments in self._cached.items():
            value, flag = field_cell(doc, segments)
            frame.iat[pos, frame.columns.get_loc(f"f:{path}")] = value
            frame.iat[pos, frame.columns.get_loc(f"c:{path}")] = flag
        if self.vectors is not None:
            self.vectors.set_row(pos, vec)

    def _append_rows(
        self, keys: list[Any], docs: list[dict], vectors: list[np.ndarray | None]
    ) -> None:
        k = len(docs)
        present = np.fromiter((v is not None for v in vectors), dtype=bool, count=k)
        if self.vectors is not None:
            block = (np.stack([v for v in vectors if v is not None]) if present.any()
                     else np.zeros((0, self.dimension), np.float32))
            self.vectors.append(block, present)
        self._append_frame(keys, docs)

    def _append_frame(self, keys: list[Any], docs: list[dict]) -> None:
        k = len(docs)
        seqs = np.arange(self._next_seq, self._next_seq + k, dtype=np.int64)
        index = pd.Index(seqs, name="seq")
        columns: dict[str, Any] = {
            "_id": pd.Series(_objects((d["_id"] for d in docs), k), dtype=object, index=index),
            "doc": pd.Series(_objects(docs, k), dtype=object, index=index),
        }
        for path, segments in self._cached.items():
            values, flags = self._cells(docs, segments)
            columns[f"f:{path}"] = pd.Series(values, dtype=object, index=index)
            columns[f"c:{path}"] = pd.Series(flags, index=index)
        self._rows_frame.append(pd.DataFrame(columns))
        self._rows.update(zip(keys, seqs.tolist()))
        self._next_seq += k

    def _apply_delete(self, doc_ids: list[Any]) -> None:
        seqs = [s for s in (self._rows.pop(canon(i), None) for i in doc_ids) if s is not None]
        if not seqs:
            return
        keep = ~self._frame.index.isin(seqs)
        self._frame = self._frame[keep]
        if self.vectors is not None:
            self.vectors.keep(keep)

    def _apply_clear(self) -> None:
        cached = list(self._cached)
        self._frame = self._empty_frame()
        self._cached.clear()
        self._rows.clear()
        if self.vectors is not None:
            self.vectors.clear()
        for path in cached:  # keep the same paths cached
            self.field(path)

    # -- persistence -------------------------------------------------------------------------
    def _load(self, log: StoreLog) -> None:
        batches, records = log.load()
        if self.vectors is not None:
            bound = log.rows_bound(_VECTOR)
            # a reader in another process expects the writer to add more: room to take them
            # in without copying the matrix (room never written costs no memory)
            self.vectors.reserve(bound if log.read_only is None else 2 * bound + 64,
                                 exact=True)
        for batch in batches:
            keys = [canon(d["_id"]) for d in batch.docs]
            if self.vectors is not None:
                self.vectors.append(batch.vectors[_VECTOR], batch.present[_VECTOR])
            self._append_frame(keys, batch.docs)
        self._replay(records)

    def _replay(self, records: Iterator[Record]) -> None:
        """Apply logged records, gathering runs of puts of new documents into one append
        each."""
        run_docs: list[dict] = []
        run_vecs: list[np.ndarray | None] = []
        run_keys: set[Any] = set()

        def flush() -> None:
            if run_docs:
                self._apply_put(run_docs, run_vecs)
                run_docs.clear(), run_vecs.clear(), run_keys.clear()

        for record in records:
            if record.op == "put":
                assert record.docs is not None and record.vectors is not None
                keys = [canon(d["_id"]) for d in record.docs]
                if any(k in self._rows or k in run_keys for k in keys) or len(
                    run_docs
                ) >= SNAPSHOT_BATCH_ROWS:
                    flush()
                run_docs.extend(record.docs)
                run_vecs.extend(record.vectors.get(_VECTOR) or [None] * len(record.docs))
                run_keys.update(keys)
                continue
            flush()
            if record.op == "delete":
                assert record.ids is not None
                self._apply_delete(record.ids)
            else:
                self._apply_clear()
        flush()
        self._frame  # noqa: B018 - concatenate once, now

    def _snapshot_batches(self) -> Iterator[SnapshotBatch]:
        docs = self.docs()
        for start in range(0, len(docs), SNAPSHOT_BATCH_ROWS):
            stop = min(start + SNAPSHOT_BATCH_ROWS, len(docs))
            if self.vectors is None:
                yield SnapshotBatch(list(docs[start:stop]), {}, {})
            else:
                present = self.vectors.present[start:stop]
                block = self.vectors.data[start:stop][present]
                yield SnapshotBatch(list(docs[start:stop]), {_VECTOR: block},
                                    {_VECTOR: present})
