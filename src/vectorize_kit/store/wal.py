"""Durable storage of one collection or table: a write-ahead log and compacted snapshots.

Files in a collection's (or table's) directory, for generation ``g``:

- ``snapshot-g.parquet``: every document (or row) as of the snapshot (column ``doc``: the JSON
  text, without vectors; a column ``has:<name>`` for each vector column (a collection's is
  ``$vector``)); its key-value metadata ``vk`` holds the vector dimensions and, for a table,
  its schema;
- ``vectors-g-k.f32``: the snapshot's vectors of vector column ``k``, one row per document
  (zeros where none), little-endian float32, read straight into the matrix (parquet's reader
  would hold about as much memory again as the vectors while decoding them);
- ``wal-g.log``: the changes made since that snapshot, one framed record per write command.

A record is ``b"VK" | u32 length | u32 crc32 | payload`` and holds the final state of every
document a command wrote (``put``), the ids it deleted (``delete``), a truncation (``clear``)
or a table's new schema (``schema``).
It is appended and fsynced before the command is acknowledged, so an acknowledged write
survives ``kill -9``; a record torn by a crash fails its checksum and is cut off on reopen, so
a crash mid-write never touches what was there.  A snapshot is written to a temporary file,
fsynced and renamed into place, after its vectors file: the rename of ``snapshot-(g+1)`` is
the commit point, after which generation ``g``'s files are deleted.

A read-only log (another process holds the workspace for writing) changes no file: it reads
the newest snapshot and the complete records of its log, and :meth:`StoreLog.poll` then says
whether the writer has appended records since (read them with :meth:`StoreLog.more`) or
compacted the log into a new snapshot (load again). A record the writer is still appending
fails its length or checksum and is left for the next poll, so a reader never applies part
of a command.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..values import dumps, loads

__all__ = ["Record", "SnapshotBatch", "StoreLog", "fsync_dir", "write_atomic"]

logger = logging.getLogger("vectorize_kit.store")
_MAGIC = b"VK"
_HEADER = struct.Struct("<2sII")
_U32 = struct.Struct("<I")
SNAPSHOT_BATCH_ROWS = 8192


def fsync_dir(path: Path) -> None:
    """fsync a directory, so that renames and new files in it are durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically and durably (temporary file + rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def _dumps(value: Any) -> str:
    return dumps(value)  # exact numbers (Decimal too): read back with values.loads


@dataclass
class Record:
    """One logged change: ``op`` is ``"put"``, ``"delete"``, ``"clear"`` or ``"schema"``.

    For ``put``: ``docs`` (without vectors) and ``vectors``: for each vector column, a float32
    array or ``None`` for each doc.  For ``delete``: ``ids``.  For ``schema``: ``schema``.
    A record names the dimension of each vector it holds, so it reads back on its own.
    """

    op: str
    docs: list[dict] | None = None
    vectors: dict[str, list[np.ndarray | None]] | None = None
    ids: list[Any] | None = None
    schema: dict | None = None

    def encode(self) -> bytes:
        body = b""
        if self.op == "put":
            assert self.docs is not None and self.vectors is not None
            dims = {col: [0 if v is None else len(v) for v in vecs]
                    for col, vecs in self.vectors.items()}
            header = _dumps({"op": "put", "docs": self.docs, "vec": dims}).encode()
            body = b"".join(np.asarray(v, dtype="<f4").tobytes()
                            for vecs in self.vectors.values() for v in vecs if v is not None)
        elif self.op == "delete":
            header = _dumps({"op": "delete", "ids": self.ids}).encode()
        elif self.op == "schema":
            header = _dumps({"op": "schema", "schema": self.schema}).encode()
        else:
            header = _dumps({"op": self.op}).encode()
        payload = _U32.pack(len(header)) + header + body
        return _HEADER.pack(_MAGIC, len(payload), zlib.crc32(payload)) + payload

    @classmethod
    def decode(cls, payload: bytes) -> Record:
        (hlen,) = _U32.unpack_from(payload, 0)
        header = loads(payload[4 : 4 + hlen])
        op = header["op"]
        if op == "put":
            vectors: dict[str, list[np.ndarray | None]] = {}
            offset = 4 + hlen
            for col, dims in header["vec"].items():
                vecs: list[np.ndarray | None] = []
                for dim in dims:
                    if dim:
                        vec = np.frombuffer(payload, dtype="<f4", count=dim, offset=offset)
                        vecs.append(vec.astype(np.float32))
                        offset += 4 * dim
                    else:
                        vecs.append(None)
                vectors[col] = vecs
            return cls("put", docs=header["docs"], vectors=vectors)
        if op == "delete":
            return cls("delete", ids=header["ids"])
        if op == "schema":
            return cls("schema", schema=header["schema"])
        return cls(op)


@dataclass
class SnapshotBatch:
    """A slice of a snapshot: documents, and for each vector column the vectors of the rows
    where its mask is set (``vectors[col]``, ``present[col]``)."""

    docs: list[dict]
    vectors: dict[str, np.ndarray]
    present: dict[str, np.ndarray]


class StoreLog:
    """The files of one collection or table: load them, append records, compact.

    Parameters
    ----------
    directory
        The collection's (or table's) directory (it exists).
    dimensions
        The dimension of each vector column (``{"$vector": d}`` for a collection with
        vectors); a table's change with its schema (:meth:`set_dimensions`).
    sync
        fsync each record (the default). Tests and benchmarks of throughput may turn it off.
    read_only
        ``None``, or the error to raise on any write: the log is then only read, and no file
        is changed (not even a torn record cut off: the writer does that).
    """

    def __init__(self, directory: Path, dimensions: dict[str, int], *, sync: bool = True,
                 read_only: Exception | None = None) -> None:
        self.directory = directory
        self.dimensions = dict(dimensions)
        self.sync = sync
        self.read_only = read_only
        self.generation = 0
        self.snapshot_bytes = 0
        self.wal_bytes = 0
        self.snapshot_schema: dict | None = None  # the schema the snapshot was written with
        self._wal: Any = None

    # -- reading -----------------------------------------------------------------------------
    def _files(self, prefix: str, suffix: str) -> dict[int, Path]:
        out = {}
        for p in self.directory.glob(f"{prefix}-*{suffix}"):
            stem = p.name[len(prefix) + 1 : -len(suffix)]
            if stem.isdigit():
                out[int(stem)] = p
        return out

    def load(self) -> tuple[Iterator[SnapshotBatch], Iterator[Record]]:
        """Open the newest snapshot and its log: (snapshot batches, log records).

        Consume the batches first, then the records.  Files of older generations and torn
        temporary files are removed; a torn record at the end of the log is cut off.
        """
        snapshots = self._files("snapshot", ".parquet")
        self.generation = max(snapshots, default=0)
        if self.read_only is None:  # the writer's files of other generations are its own
            self._sweep(snapshots)
        snap = snapshots.get(self.generation)
        self.snapshot_bytes = 0
        if snap is not None:
            import pyarrow.parquet as pq

            meta = json.loads(pq.read_metadata(snap).metadata[b"vk"])
            self.dimensions = meta["vectors"]
            self.snapshot_schema = meta["schema"]
            self.snapshot_bytes = snap.stat().st_size + sum(
                self._vector_file(k).stat().st_size for k in range(len(self.dimensions)))
        return self._read_snapshot(snap), self._read_wal()

    def _sweep(self, snapshots: dict[int, Path]) -> None:
        """Remove the files of older generations and torn temporary files."""
        for gen, path in snapshots.items():
            if gen != self.generation:
                path.unlink()
        for path in self.directory.glob("wal-*.log"):
            if path.name != f"wal-{self.generation:08d}.log":
                path.unlink()
        for path in self.directory.glob("vectors-*.f32"):
            if not path.name.startswith(f"vectors-{self.generation:08d}-"):
                path.unlink()
        for tmp in self.directory.glob(".*.tmp"):
            tmp.unlink()

    def poll(self) -> str:
        """What changed since the log was read (for a read-only log): ``"same"``,
        ``"more"`` (records were appended: :meth:`more`) or ``"reload"`` (the log was
        compacted into a newer snapshot, or the files are gone: load again)."""
        newest = max(self._files("snapshot", ".parquet"), default=0)
        if newest != self.generation:
            return "reload"
        try:
            size = (self.directory / f"wal-{self.generation:08d}.log").stat().st_size
        except FileNotFoundError:
            size = 0
        if size < self.wal_bytes:
            return "reload"  # cut back: not the log that was read
        return "more" if size > self.wal_bytes else "same"

    def more(self) -> Iterator[Record]:
        """The complete records appended since the log was last read."""
        return self._read_wal(self.wal_bytes)

    def _vector_file(self, k: int, generation: int | None = None) -> Path:
        gen = self.generation if generation is None else generation
        return self.directory / f"vectors-{gen:08d}-{k}.f32"

    def _read_snapshot(self, path: Path | None) -> Iterator[SnapshotBatch]:
        if path is None:
            return
        import pyarrow.parquet as pq

        dims = dict(self.dimensions)
        files = [open(self._vector_file(k), "rb") for k in range(len(dims))]
        try:
            parquet = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
            for batch in parquet.iter_batches(batch_size=SNAPSHOT_BATCH_ROWS):
                # one json.loads per batch: the decoder then shares field-name strings
                docs = loads("[" + ",".join(batch.column("doc").to_pylist()) + "]")
                vectors, present = {}, {}
                for fh, (col, dim) in zip(files, dims.items()):
                    mask = batch.column(f"has:{col}").to_numpy(zero_copy_only=False)
                    raw = fh.read(len(docs) * dim * 4)
                    block = np.frombuffer(raw, dtype="<f4").reshape(len(docs), dim)
                    vectors[col], present[col] = block[mask], mask
                yield SnapshotBatch(docs, vectors, present)
        finally:
            for fh in files:
                fh.close()

    def rows_bound(self, column: str) -> int:
        """An upper bound of the rows with a vector in ``column`` that a load will hold: the
        snapshot's rows plus as many as the log's bytes could carry vectors for (each logged
        vector takes dimension*4 bytes; room that is never touched costs no memory)."""
        wal = self.directory / f"wal-{self.generation:08d}.log"
        logged = wal.stat().st_size if wal.exists() else 0
        return self.snapshot_rows() + logged // (4 * self.dimensions[column])

    def snapshot_rows(self) -> int:
        """How many documents the current snapshot holds (from its footer)."""
        path = self.directory / f"snapshot-{self.generation:08d}.parquet"
        if not path.exists():
            return 0
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows

    def _read_wal(self, start: int = 0) -> Iterator[Record]:
        """Records one at a time (the log may be as large as the snapshot), from byte
        ``start``."""
        path = self.directory / f"wal-{self.generation:08d}.log"
        good = start
        try:
            fh = open(path, "rb")
        except FileNotFoundError:  # none yet (or, read-only, compacted away: poll() says so)
            fh = None
        if fh is not None:
            size = os.fstat(fh.fileno()).st_size
            with fh:
                fh.seek(start)
                while True:
                    head = fh.read(_HEADER.size)
                    if len(head) < _HEADER.size:
                        break
                    magic, length, crc = _HEADER.unpack(head)
                    payload = fh.read(length) if magic == _MAGIC else b""
                    if magic != _MAGIC or len(payload) != length or zlib.crc32(payload) != crc:
                        break  # a record torn by a crash: everything after it was never acked
                    good += _HEADER.size + length
                    self.wal_bytes = good
                    yield Record.decode(payload)
            if good != size and self.read_only is None:
                logger.warning("%s: cut off %d bytes of a log record torn by a crash (never "
                               "acknowledged)", path, size - good)
                with open(path, "r+b") as fh:
                    fh.truncate(good)
                    os.fsync(fh.fileno())
        self.wal_bytes = good

    # -- writing -----------------------------------------------------------------------------
    def _open_wal(self) -> Any:
        if self.read_only is not None:
            raise self.read_only
        if self._wal is None:
            path = self.directory / f"wal-{self.generation:08d}.log"
            new = not path.exists()
            self._wal = open(path, "ab")
            if new and self.sync:
                fsync_dir(self.directory)
        return self._wal

    def append(self, record: Record) -> None:
        """Append one record and make it durable before returning."""
        data = record.encode()
        fh = self._open_wal()
        fh.write(data)
        fh.flush()
        if self.sync:
            os.fsync(fh.fileno())
        self.wal_bytes += len(data)

    def wants_compaction(self) -> bool:
        """Whether the log has grown past the snapshot (and 8 MiB): then compact."""
        return self.wal_bytes > max(8 << 20, self.snapshot_bytes)

    def compact(self, batches: Iterator[SnapshotBatch], *, schema: dict | None = None) -> None:
        """Write the current state (and a table's ``schema``) as snapshot ``g+1`` and drop
        generation ``g``'s files."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.read_only is not None:
            raise self.read_only
        started = time.perf_counter()
        new_gen = self.generation + 1
        final = self.directory / f"snapshot-{new_gen:08d}.parquet"
        tmp = self.directory / f".{final.name}.tmp"
        dims = dict(self.dimensions)
        vec_files = [self._vector_file(k, new_gen) for k in range(len(dims))]
        vec_tmps = [p.with_name(f".{p.name}.tmp") for p in vec_files]
        meta = {b"vk": _dumps({"vectors": dims, "schema": schema}).encode()}
        schema_pa = pa.schema([pa.field("doc", pa.string())]
                              + [pa.field(f"has:{col}", pa.bool_()) for col in dims],
                              metadata=meta)
        handles = [open(p, "wb") for p in vec_tmps]
        try:
            with pq.ParquetWriter(tmp, schema_pa, compression="zstd") as writer:
                for batch in batches:
                    cols = [pa.array([_dumps(d) for d in batch.docs], pa.string())]
                    for fh, (col, dim) in zip(handles, dims.items()):
                        present = batch.present[col]
                        cols.append(pa.array(present))
                        full = np.zeros((len(batch.docs), dim), "<f4")
                        full[present] = batch.vectors[col]
                        fh.write(full.tobytes())
                    writer.write_batch(pa.record_batch(cols, schema=schema_pa))
            for fh in handles:
                fh.flush()
                os.fsync(fh.fileno())
        finally:
            for fh in handles:
                fh.close()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        for p_tmp, p_final in zip(vec_tmps, vec_files):
            os.replace(p_tmp, p_final)  # not yet referenced: the parquet rename commits
        if vec_files:
            fsync_dir(self.directory)  # so that no power loss keeps the snapshot without them
        os.replace(tmp, final)
        fsync_dir(self.directory)
        # Commit point passed: the old generation is garbage.
        self.close()
        old = [self.directory / f"wal-{self.generation:08d}.log",
               self.directory / f"snapshot-{self.generation:08d}.parquet",
               *self.directory.glob(f"vectors-{self.generation:08d}-*.f32")]
        self.generation = new_gen
        self.snapshot_schema = schema
        self.snapshot_bytes = final.stat().st_size + sum(p.stat().st_size for p in vec_files)
        self.wal_bytes = 0
        for p in old:
            if p.exists():
                p.unlink()
        fsync_dir(self.directory)
        logger.debug("%s: compacted the log into snapshot %d (%d bytes) in %.2f s",
                     self.directory, new_gen, self.snapshot_bytes, time.perf_counter() - started)

    def close(self) -> None:
        if self._wal is not None:
            self._wal.close()
            self._wal = None
