"""A table's rows in a typed pandas DataFrame, each vector column in a float32 matrix.

The frame has one column per non-vector column, with the pandas dtype of its type
(:attr:`ColumnType.dtype`: nullable integers, ``string``, ``datetime64[ms, UTC]``...), and one
row per table row, indexed by a sequence number that grows with every new row.  Each vector
column is a :class:`VectorMatrix` aligned with the frame's rows.  Rows are found by their
primary key through a dictionary.

The store also owns the table's schema (columns, primary key, indexes), because a schema
change (``alterTable``, ``createIndex``...) must be as durable as a write and ordered with
the writes: it is a ``schema`` record of the same log.  A write is the final state of each row
it touches (:meth:`TableStore.put`): Cassandra's upsert (only the given columns change) is
worked out by the caller.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from .base import AppendableFrame, StoreBase
from .columns import ColumnType, parse_column
from .vectors import VectorMatrix
from .wal import SNAPSHOT_BATCH_ROWS, Record, SnapshotBatch, StoreLog

__all__ = ["TableStore", "key_columns"]

Key = tuple


def key_columns(schema: dict) -> list[str]:
    """The primary key columns of a table schema: partition columns, then sort columns."""
    pk = schema["primaryKey"]
    return [*pk["partitionBy"], *pk.get("partitionSort", {})]


class TableStore(StoreBase):
    """Rows and vectors of one table.

    Parameters
    ----------
    schema
        The table's schema at creation: ``{"columns": {name: long form}, "primaryKey":
        {"partitionBy": [...], "partitionSort": {...}}, "indexes": [...]}``.  A stored table
        reads its current schema back from its log.
    log
        Where changes are made durable; ``None`` keeps the store in memory only.
    """

    def __init__(self, schema: dict, *, log: StoreLog | None = None) -> None:
        self._log = log
        self.version = 0  # bumped by every change; lets callers cache derived data
        self._order: tuple[int, np.ndarray] | None = None  # (version, natural order)
        self._set_schema(schema, fresh=True)
        if log is not None:
            self._load(log)

    # -- schema ------------------------------------------------------------------------------
    def _set_schema(self, schema: dict, *, fresh: bool = False) -> None:
        old = {} if fresh else self.columns
        self.schema = json.loads(json.dumps(schema))
        self.columns: dict[str, ColumnType] = {
            name: parse_column(name, spec) for name, spec in self.schema["columns"].items()}
        self.key = key_columns(self.schema)
        scalar = [n for n, c in self.columns.items() if not c.is_vector]
        if fresh:
            self._rows_frame = AppendableFrame(pd.DataFrame(
                {n: pd.Series(self.columns[n].array([]), index=_index(0)) for n in scalar},
                index=_index(0)))
            self.vectors = {n: VectorMatrix(c.dimension) for n, c in self.columns.items()
                            if c.is_vector}
            self._rows: dict[Key, int] = {}  # primary key -> sequence number
            self._next_seq = 0
        else:
            frame = self._frame
            for name in list(frame.columns):
                if name not in scalar:
                    frame = frame.drop(columns=[name])
            for name in scalar:
                if name not in frame.columns:
                    frame[name] = pd.Series(self.columns[name].array([None] * len(frame)),
                                            index=frame.index)
                elif old[name].udt != self.columns[name].udt:  # a field added to its type
                    was, now = old[name], self.columns[name]
                    frame[name] = pd.Series(now.array(
                        [now.from_stored(was.to_stored(c)) for c in was.cells(frame[name])]),
                        index=frame.index)
            self._frame = frame[scalar]
            vectors = {}
            for name, col in self.columns.items():
                if col.is_vector:
                    found = self.vectors.get(name)
                    if found is None or found.dimension != col.dimension:
                        found = VectorMatrix(col.dimension)  # type: ignore[arg-type]
                        found.append(np.zeros((0, col.dimension), np.float32),
                                     np.zeros(len(frame), bool))
                    vectors[name] = found
            self.vectors = vectors
        if self._log is not None:
            self._log.dimensions = {n: m.dimension for n, m in self.vectors.items()}

    def alter(self, schema: dict) -> None:
        """Change the schema (columns, indexes): dropped columns lose their values, added
        ones start out null."""
        self._commit(Record("schema", schema=schema), lambda: self._set_schema(schema))

    # -- reading -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._rows)

    def key_of(self, row: dict) -> Key:
        """The primary key of a row of cells, as a dictionary key."""
        return tuple(_canon(self.columns[c].to_json(row.get(c))) for c in self.key)

    def position(self, key: Key) -> int | None:
        """The row number of the row with this primary key, or ``None``."""
        seq = self._rows.get(key)
        return None if seq is None else int(self._frame.index.get_loc(seq))

    def positions(self, keys: list[Key]) -> list[int | None]:
        seqs = [self._rows.get(k) for k in keys]
        found = [s for s in seqs if s is not None]
        if not found:
            return [None] * len(keys)
        locs = iter(self._frame.index.get_indexer(found).tolist())
        return [None if s is None else next(locs) for s in seqs]

    def cells(self, rows: np.ndarray | list[int], columns: list[str] | None = None
              ) -> list[dict]:
        """The non-vector cells of these rows (all columns, or ``columns``), nulls included."""
        frame = self._frame
        names = [c for c in (columns or frame.columns) if c in frame.columns]
        rows = np.asarray(rows, dtype=np.int64)
        values = {n: self.columns[n].cells(frame[n].iloc[rows]) for n in names}
        return [{n: values[n][i] for n in names} for i in range(len(rows))]

    def vector(self, column: str, row: int) -> np.ndarray | None:
        return self.vectors[column].row(row)

    def natural_order(self) -> np.ndarray:
        """Row numbers in the table's order: partitions in the order they were first
        written, the rows of a partition by their ``partitionSort`` columns (as Cassandra
        reads a partition)."""
        if self._order is None or self._order[0] != self.version:
            frame = self._frame
            pk = self.schema["primaryKey"]
            parts = frame[pk["partitionBy"]].reset_index(drop=True)
            keys = pd.DataFrame({"partition": parts.groupby(
                pk["partitionBy"], sort=False, dropna=False).ngroup()})
            for name in pk["partitionSort"]:
                keys[name] = frame[name].reset_index(drop=True)
            order = keys.sort_values(
                ["partition", *pk["partitionSort"]], kind="stable",
                ascending=[True, *(d == 1 for d in pk["partitionSort"].values())])
            self._order = (self.version, order.index.to_numpy(dtype=np.int64))
        return self._order[1]

    # -- changing ----------------------------------------------------------------------------
    def put(self, rows: list[dict], vectors: dict[str, list[np.ndarray | None]]) -> None:
        """Insert or replace whole rows by primary key.

        ``rows`` hold the cells of the non-vector columns (a missing column is null);
        ``vectors[column]`` the vector (or ``None``) of each row, for every vector column.
        """
        if not rows:
            return
        vectors = {n: vectors.get(n) or [None] * len(rows) for n in self.vectors}
        wire = [self._wire(r) for r in rows] if self._log is not None else []  # for the log
        self._commit(Record("put", docs=wire, vectors=vectors),
                     lambda: self._apply_put(rows, vectors))

    def delete(self, keys: list[Key]) -> None:
        """Delete the rows with these primary keys (unknown keys are ignored)."""
        if keys:
            self._commit(Record("delete", ids=[list(k) for k in keys]),
                         lambda: self._apply_delete(keys))

    def _snapshot_schema(self) -> dict | None:
        return self.schema

    def _apply_put(self, rows: list[dict], vectors: dict[str, list[np.ndarray | None]]
                   ) -> None:
        fresh: dict[Key, int] = {}  # new key -> index in rows (a repeated key: the last wins)
        replaced: dict[int, int] = {}  # row number -> index in rows
        keys = [self.key_of(r) for r in rows]
        for i, (key, pos) in enumerate(zip(keys, self.positions(keys))):
            if pos is None:
                fresh[key] = i
            else:
                replaced[pos] = i
        if replaced:
            self._replace(list(replaced), [rows[i] for i in replaced.values()],
                          {n: [v[i] for i in replaced.values()] for n, v in vectors.items()})
        if fresh:
            picked = list(fresh.values())
            self._append(list(fresh), [rows[i] for i in picked],
                         {n: [v[i] for i in picked] for n, v in vectors.items()})

    def _replace(self, positions: list[int], rows: list[dict],
                 vectors: dict[str, list[np.ndarray | None]]) -> None:
        frame = self._frame
        where = np.asarray(positions, dtype=np.int64)
        for name in frame.columns:
            values = frame[name].array.copy()
            values[where] = self.columns[name].array([r.get(name) for r in rows])
            frame[name] = pd.Series(values, index=frame.index)
        for name, vecs in vectors.items():
            for pos, vec in zip(positions, vecs):
                self.vectors[name].set_row(pos, vec)

    def _append(self, keys: list[Key], rows: list[dict],
                vectors: dict[str, list[np.ndarray | None]]) -> None:
        k = len(rows)
        seqs = np.arange(self._next_seq, self._next_seq + k, dtype=np.int64)
        index = pd.Index(seqs, name="seq")
        columns = {n: pd.Series(self.columns[n].array([r.get(n) for r in rows]), index=index)
                   for n in self._rows_frame.columns}
        self._rows_frame.append(pd.DataFrame(columns, index=index))
        for name, vecs in vectors.items():
            matrix = self.vectors[name]
            present = np.fromiter((v is not None for v in vecs), dtype=bool, count=k)
            block = (np.stack([v for v in vecs if v is not None]) if present.any()
                     else np.zeros((0, matrix.dimension), np.float32))
            matrix.append(block, present)
        self._rows.update(zip(keys, seqs.tolist()))
        self._next_seq += k

    def _apply_delete(self, keys: list[Key]) -> None:
        seqs = [s for s in (self._rows.pop(k, None) for k in keys) if s is not None]
        if not seqs:
            return
        keep = ~self._frame.index.isin(seqs)
        self._frame = self._frame[keep]
        for matrix in self.vectors.values():
            matrix.keep(keep)

    def _apply_clear(self) -> None:
        self._set_schema(self.schema, fresh=True)

    # -- persistence -------------------------------------------------------------------------
    def _wire(self, row: dict) -> dict:
        """A row of cells in the form the log and snapshots keep (JSON; user-defined types
        by position), nulls left out."""
        return {n: self.columns[n].to_stored(v) for n, v in row.items()
                if v is not None and n in self.columns}

    def _parse_row(self, wire: dict) -> dict:
        return {n: self.columns[n].from_stored(v) for n, v in wire.items()
                if n in self.columns}

    def _load(self, log: StoreLog) -> None:
        batches, records = log.load()
        if log.snapshot_schema is not None:
            self._set_schema(log.snapshot_schema, fresh=True)
        for batch in batches:
            rows = [self._parse_row(d) for d in batch.docs]
            self._append([self.key_of(r) for r in rows], rows, {
                n: _unpack(batch.vectors[n], batch.present[n]) for n in self.vectors})
        self._replay(records)

    def _replay(self, records: Iterator[Record]) -> None:
        """Apply logged records."""
        for record in records:
            if record.op == "put":
                assert record.docs is not None and record.vectors is not None
                rows = [self._parse_row(d) for d in record.docs]
                self._apply_put(rows, {n: record.vectors.get(n) or [None] * len(rows)
                                       for n in self.vectors})
            elif record.op == "delete":
                assert record.ids is not None
                self._apply_delete([tuple(k) for k in record.ids])
            elif record.op == "schema":
                assert record.schema is not None
                self._set_schema(record.schema)
            else:
                self._apply_clear()
        self._frame  # noqa: B018 - concatenate once, now

    def _snapshot_batches(self) -> Iterator[SnapshotBatch]:
        frame = self._frame
        for start in range(0, len(frame), SNAPSHOT_BATCH_ROWS):
            stop = min(start + SNAPSHOT_BATCH_ROWS, len(frame))
            docs = [self._wire(r) for r in self.cells(np.arange(start, stop))]
            vectors, present = {}, {}
            for name, matrix in self.vectors.items():
                present[name] = matrix.present[start:stop]
                vectors[name] = matrix.data[start:stop][present[name]]
            yield SnapshotBatch(docs, vectors, present)



def _index(n: int) -> pd.Index:
    return pd.Index(np.arange(n, dtype=np.int64), name="seq")


def _canon(value: Any) -> str:
    """A primary key part as a string: equal for equal wire values."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _unpack(block: np.ndarray, present: np.ndarray) -> list[np.ndarray | None]:
    out: list[np.ndarray | None] = [None] * len(present)
    for i, row in zip(np.flatnonzero(present), block):
        out[i] = row
    return out
