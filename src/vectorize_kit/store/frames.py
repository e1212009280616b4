"""A DataFrame that takes appends cheaply: the appended parts are concatenated lazily, in
one go, when the frame is next read (concatenating the whole frame on every insert command
would make a long run of inserts quadratic)."""

from __future__ import annotations

import pandas as pd

__all__ = ["AppendableFrame", "FrameOwner"]


class AppendableFrame:
    """Holds a frame (:attr:`frame`) and the parts appended to it since it was last read."""

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


class FrameOwner:
    """A store whose rows are an :class:`AppendableFrame` (``_rows_frame``): ``_frame`` reads
    and replaces it, :attr:`frame` is the read-only view callers get."""

    _rows_frame: AppendableFrame

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
