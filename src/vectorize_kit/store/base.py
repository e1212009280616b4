"""What the document and table stores share: a DataFrame that takes appends cheaply, and the
write path through the durable log."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pandas as pd

from .wal import Record, SnapshotBatch, StoreLog

__all__ = ["AppendableFrame", "StoreBase"]

_STORE_NUMBERS = itertools.count(1)


class AppendableFrame:
    """A frame whose appended parts are concatenated lazily, in one go, when it is next read
    (concatenating the whole frame on every insert command would make a long run of inserts
    quadratic).

    Holds a frame (:attr:`frame`) and the parts appended to it since it was last read."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self._head = frame
        self._tail: list[pd.DataFrame] = []

    @property
    def frame(self) -> pd.DataFrame:
        if self._tail:
            self._head = pd.concat([self._head, *self._tail]) if len(self._head) else (
                pd.concat(self._tail) if len(self._tail) > 1 else self._tail[0])
            self._tail = []
        return self._head

    @frame.setter
    def frame(self, frame: pd.DataFrame) -> None:
        self._head, self._tail = frame, []

    def append(self, part: pd.DataFrame) -> None:
        self._tail.append(part)
        if len(self._tail) >= 64:
            self.frame  # noqa: B018 - concatenates the pending parts

    @property
    def columns(self) -> pd.Index:
        """The columns (without concatenating)."""
        return self._head.columns


class StoreBase:
    """What the document store and the table store share: rows in an
    :class:`AppendableFrame` (``_rows_frame``), a durable log (``_log``, or ``None`` in
    memory) that every change goes to first, and ``version``, bumped by every change.

    Subclasses apply changes (``_apply_clear``) and give their snapshot
    (``_snapshot_batches``, and ``_snapshot_schema`` for a table).
    """

    _rows_frame: AppendableFrame
    _log: StoreLog | None
    version: int

    @property
    def _frame(self) -> pd.DataFrame:
        return self._rows_frame.frame

    @_frame.setter
    def _frame(self, frame: pd.DataFrame) -> None:
        self._rows_frame.frame = frame

    @property
    def frame(self) -> pd.DataFrame:
        """The rows (read it, do not change it)."""
        return self._rows_frame.frame

    @property
    def data_key(self) -> tuple[int, int]:
        """``(number, version)``: changes with every write, and differs between two stores
        (one dropped, another created with its name): a key to cache derived data by."""
        if "_number" not in self.__dict__:
            self._number = next(_STORE_NUMBERS)
        return self._number, self.version

    def _commit(self, record: Record, apply: Callable[[], None]) -> None:
        """Make ``record`` durable, then ``apply`` it (compacting the log when it is due)."""
        if self._log is not None:
            self._log.append(record)
        apply()
        self.version += 1
        if self._log is not None and self._log.wants_compaction():
            self._log.compact(self._snapshot_batches(), schema=self._snapshot_schema())

    def clear(self) -> None:
        """Delete every document or row."""
        self._commit(Record("clear"), self._apply_clear)

    def checkpoint(self) -> None:
        """Compact the log into a snapshot now (makes the next open faster); a read-only
        store leaves that to the writer."""
        if self._log is not None and self._log.wal_bytes and self._log.read_only is None:
            self._log.compact(self._snapshot_batches(), schema=self._snapshot_schema())

    def refresh(self) -> bool:
        """For a store read from another process's files: take in the records the writer
        has appended since. ``False`` if the store must be loaded again instead (the writer
        compacted its log into a new snapshot, or dropped the files)."""
        assert self._log is not None and self._log.read_only is not None
        change = self._log.poll()
        if change == "more":
            before = self._log.wal_bytes
            self._replay(self._log.more())
            if self._log.wal_bytes != before:  # whole records were applied (not a torn tail)
                self.version += 1
            # the writer may have compacted meanwhile, its log gone before it was read
            change = self._log.poll()
        return change != "reload"

    def is_current(self) -> bool:
        """For a store just loaded from another process's files: whether they are still the
        newest (``False``: the writer compacted them meanwhile; load again)."""
        return self._log is None or self._log.poll() != "reload"

    def close(self) -> None:
        if self._log is not None:
            self._log.close()

    def _apply_clear(self) -> None:
        raise NotImplementedError

    def _replay(self, records: Iterator[Record]) -> None:
        raise NotImplementedError

    def _snapshot_batches(self) -> Iterator[SnapshotBatch]:
        raise NotImplementedError

    def _snapshot_schema(self) -> dict | None:
        return None
