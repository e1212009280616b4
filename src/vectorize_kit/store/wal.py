"""Durable storage of one collection: a write-ahead log and compacted parquet snapshots.

Files in a collection's directory, for generation ``g``:

- ``snapshot-g.parquet``: every document as of the snapshot (column ``doc``: the JSON text,
  without ``$vector``; column ``has_vector``);
- ``vectors-g.f32``: the snapshot's vectors, one row per document (zeros where none),
  little-endian float32, read straight into the matrix (parquet's reader would hold about as
  much memory again as the vectors while decoding them);
- ``wal-g.log``: the changes made since that snapshot, one framed record per write command.

A record is ``b"VK" | u32 length | u32 crc32 | payload`` and holds the final state of every
document a command wrote (``put``), the ids it deleted (``delete``) or a truncation (``clear``).
It is appended and fsynced before the command is acknowledged, so an acknowledged write
survives ``kill -9``; a record torn by a crash fails its checksum and is cut off on reopen, so
a crash mid-write never touches what was there.  A snapshot is written to a temporary file,
fsynced and renamed into place, after its vectors file: the rename of ``snapshot-(g+1)`` is
the commit point, after which generation ``g``'s files are deleted.
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

__all__ = ["CollectionLog", "Record", "fsync_dir", "write_atomic"]

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
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


@dataclass
class Record:
    """One logged change: ``op`` is ``"put"``, ``"delete"`` or ``"clear"``.

    For ``put``: ``docs`` (without ``$vector``) and ``vectors`` (a float32 array or ``None``
    for each doc).  For ``delete``: ``ids``.
    """

    op: str
    docs: list[dict] | None = None
    vectors: list[np.ndarray | None] | None = None
    ids: list[Any] | None = None

    def encode(self) -> bytes:
        if self.op == "put":
            assert self.docs is not None and self.vectors is not None
            flags = [v is not None for v in self.vectors]
            header = _dumps({"op": "put", "docs": self.docs, "vec": flags}).encode()
            present = [np.asarray(v, dtype="<f4") for v in self.vectors if v is not None]
            body = b"".join(v.tobytes() for v in present)
        elif self.op == "delete":
            header = _dumps({"op": "delete", "ids": self.ids}).encode()
            body = b""
        else:
            header = _dumps({"op": self.op}).encode()
            body = b""
        payload = _U32.pack(len(header)) + header + body
        return _HEADER.pack(_MAGIC, len(payload), zlib.crc32(payload)) + payload

    @classmethod
    def decode(cls, payload: bytes, dimension: int | None) -> Record:
        (hlen,) = _U32.unpack_from(payload, 0)
        header = json.loads(payload[4 : 4 + hlen])
        op = header["op"]
        if op == "put":
            flags = header["vec"]
            vectors: list[np.ndarray | None] = []
            offset = 4 + hlen
            for flag in flags:
                if flag:
                    assert dimension is not None
                    vec = np.frombuffer(payload, dtype="<f4", count=dimension, offset=offset)
                    vectors.append(vec.astype(np.float32))
                    offset += 4 * dimension
                else:
                    vectors.append(None)
            return cls("put", docs=header["docs"], vectors=vectors)
        if op == "delete":
            return cls("delete", ids=header["ids"])
        return cls(op)


@dataclass
class SnapshotBatch:
    """A slice of a snapshot: documents, and the vectors of the rows where ``present``."""

    docs: list[dict]
    vectors: np.ndarray
    present: np.ndarray


class CollectionLog:
    """The files of one collection: load them, append records, compact into a snapshot.

    Parameters
    ----------
    directory
        The collection's directory (it exists).
    dimension
        The vector dimension, or ``None`` for a collection without vectors.
    sync
        fsync each record (the default). Tests and benchmarks of throughput may turn it off.
    """

    def __init__(self, directory: Path, dimension: int | None, *, sync: bool = True) -> None:
        self.directory = directory
        self.dimension = dimension
        self.sync = sync
        self.generation = 0
        self.snapshot_bytes = 0
        self.wal_bytes = 0
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
        for gen, path in snapshots.items():
            if gen != self.generation:
                path.unlink()
        for prefix, suffix in (("wal", ".log"), ("vectors", ".f32")):
            for gen, path in self._files(prefix, suffix).items():
                if gen != self.generation:
                    path.unlink()
        for tmp in self.directory.glob(".*.tmp"):
            tmp.unlink()
        snap = snapshots.get(self.generation)
        vec = self.directory / f"vectors-{self.generation:08d}.f32"
        self.snapshot_bytes = (snap.stat().st_size if snap else 0) + (
            vec.stat().st_size if vec.exists() else 0)
        return self._read_snapshot(snap), self._read_wal()

    def _read_snapshot(self, path: Path | None) -> Iterator[SnapshotBatch]:
        if path is None:
            return
        import pyarrow.parquet as pq

        dim = self.dimension
        vectors = None
        if dim is not None:
            vectors = open(self.directory / f"vectors-{self.generation:08d}.f32", "rb")
        try:
            parquet = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
            for batch in parquet.iter_batches(batch_size=SNAPSHOT_BATCH_ROWS):
                # one json.loads per batch: the decoder then shares field-name strings
                docs = json.loads("[" + ",".join(batch.column("doc").to_pylist()) + "]")
                if vectors is None:
                    yield SnapshotBatch(docs, np.zeros((0, 0), np.float32),
                                        np.zeros(len(docs), bool))
                    continue
                present = batch.column("has_vector").to_numpy(zero_copy_only=False)
                raw = vectors.read(len(docs) * dim * 4)
                block = np.frombuffer(raw, dtype="<f4").reshape(len(docs), dim)
                yield SnapshotBatch(docs, block[present], present)
        finally:
            if vectors is not None:
                vectors.close()

    def rows_bound(self) -> int:
        """An upper bound of the rows a load will hold: the snapshot's rows plus as many as
        the log's bytes could carry vectors for (each logged vector takes dimension*4 bytes;
        room that is never touched costs no memory)."""
        wal = self.directory / f"wal-{self.generation:08d}.log"
        logged = wal.stat().st_size if wal.exists() else 0
        return self.snapshot_rows() + logged // (4 * (self.dimension or 1))

    def snapshot_rows(self) -> int:
        """How many documents the current snapshot holds (from its footer)."""
        path = self.directory / f"snapshot-{self.generation:08d}.parquet"
        if not path.exists():
            return 0
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows

    def _read_wal(self) -> Iterator[Record]:
        """Records one at a time (the log may be as large as the snapshot)."""
        path = self.directory / f"wal-{self.generation:08d}.log"
        good = 0
        if path.exists():
            size = path.stat().st_size
            with open(path, "rb") as fh:
                while True:
                    head = fh.read(_HEADER.size)
                    if len(head) < _HEADER.size:
                        break
                    magic, length, crc = _HEADER.unpack(head)
                    payload = fh.read(length) if magic == _MAGIC else b""
                    if magic != _MAGIC or len(payload) != length or zlib.crc32(payload) != crc:
                        break  # a record torn by a crash: everything after it was never acked
                    good += _HEADER.size + length
                    yield Record.decode(payload, self.dimension)
            if good != size:
                logger.warning("%s: cut off %d bytes of a log record torn by a crash (never "
                               "acknowledged)", path, size - good)
                with open(path, "r+b") as fh:
                    fh.truncate(good)
                    os.fsync(fh.fileno())
        self.wal_bytes = good

    # -- writing -----------------------------------------------------------------------------
    def _open_wal(self) -> Any:
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

    def compact(self, batches: Iterator[SnapshotBatch]) -> None:
        """Write the current state as snapshot ``g+1`` and drop generation ``g``'s files."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        started = time.perf_counter()
        new_gen = self.generation + 1
        final = self.directory / f"snapshot-{new_gen:08d}.parquet"
        tmp = self.directory / f".{final.name}.tmp"
        vec_final = self.directory / f"vectors-{new_gen:08d}.f32"
        vec_tmp = self.directory / f".{vec_final.name}.tmp"
        fields = [pa.field("doc", pa.string())]
        if self.dimension is not None:
            fields.append(pa.field("has_vector", pa.bool_()))
        schema = pa.schema(fields)
        vec_fh = open(vec_tmp, "wb") if self.dimension is not None else None
        try:
            with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
                for batch in batches:
                    cols = [pa.array([_dumps(d) for d in batch.docs], pa.string())]
                    if vec_fh is not None:
                        cols.append(pa.array(batch.present))
                        full = np.zeros((len(batch.docs), self.dimension), "<f4")
                        full[batch.present] = batch.vectors
                        vec_fh.write(full.tobytes())
                    writer.write_batch(pa.record_batch(cols, schema=schema))
            if vec_fh is not None:
                vec_fh.flush()
                os.fsync(vec_fh.fileno())
        finally:
            if vec_fh is not None:
                vec_fh.close()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        if vec_fh is not None:
            os.replace(vec_tmp, vec_final)  # not yet referenced: the parquet rename commits
            fsync_dir(self.directory)  # so that no power loss keeps the snapshot without it
        os.replace(tmp, final)
        fsync_dir(self.directory)
        # Commit point passed: the old generation is garbage.
        self.close()
        old = [self.directory / f"{name}-{self.generation:08d}{ext}" for name, ext in
               (("wal", ".log"), ("snapshot", ".parquet"), ("vectors", ".f32"))]
        self.generation = new_gen
        self.snapshot_bytes = final.stat().st_size + (
            vec_final.stat().st_size if self.dimension is not None else 0)
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
