"""Filters on a table's typed columns (``reference/data-api.md`` §3.2).

Scalar columns take ``$eq`` (also implicit), ``$ne``, ``$in``, ``$nin``, ``$gt``, ``$gte``,
``$lt`` and ``$lte``; ``list`` and ``set`` columns take ``$in``, ``$nin`` and ``$all`` over
their elements; ``map`` columns take them over ``$keys``, ``$values`` or, directly, over
``[key, value]`` entries (elements of a user-defined type match whole: a partial value
matches a stored value with the same fields set).  ``$match`` keeps the rows whose
text-indexed column holds every term of a text.  ``$and`` and ``$or`` combine.  Operands
are parsed with the column's type, so ``"2024-05-01"`` compares as a date in a ``date``
column.  A null cell matches ``$ne`` and ``$nin`` only.  Comparisons on the common dtypes are
one vectorised pandas operation; the others compare cell by cell.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import limits
from ..errors import DataAPIError
from ..values import EJSON_KEYS
from .columns import ColumnType, ColumnValueError, unknown_columns
from .rows import TableStore

__all__ = ["RowFilter", "parse_row_filter"]

_COMPARE = {"$eq": operator.eq, "$ne": operator.ne, "$gt": operator.gt,
            "$gte": operator.ge, "$lt": operator.lt, "$lte": operator.le}
_MEMBERSHIP = ("$in", "$nin", "$all")
_VECTORISED = ("Int8", "Int16", "Int32", "Int64", "Float32", "Float64", "boolean", "string",
               "datetime64[ms, UTC]")


class _Node:
    def mask(self, store: TableStore) -> np.ndarray:
        raise NotImplementedError


class _Logic(_Node):
    def __init__(self, op: str, parts: list[_Node]) -> None:
        self.op, self.parts = op, parts

    def mask(self, store: TableStore) -> np.ndarray:
        out = np.ones(len(store), bool) if self.op == "$and" else np.zeros(len(store), bool)
        for part in self.parts:
            out = (out & part.mask(store)) if self.op == "$and" else (out | part.mask(store))
        return out


class _Compare(_Node):
    """A scalar column against one value (``$eq``...) or a list of values (``$in``...)."""

    def __init__(self, column: str, ctype: ColumnType, op: str, operand: Any) -> None:
        self.column, self.ctype, self.op, self.operand = column, ctype, op, operand

    def mask(self, store: TableStore) -> np.ndarray:
        series = store.frame[self.column]
        negated = self.op in ("$ne", "$nin")
        if str(series.dtype) in ("Float32", "Float64") and self.op not in ("$in", "$nin"):
            hit = self._floats(series)
        elif str(series.dtype) in _VECTORISED:
            if self.op in ("$in", "$nin"):
                hit = series.isin(self.operand).to_numpy(dtype=bool, na_value=False)
            else:
                op = _COMPARE["$eq" if self.op == "$ne" else self.op]
                hit = op(series, self.operand).to_numpy(dtype=bool, na_value=False)
        else:
            cells = self.ctype.cells(series)
            if self.op in ("$in", "$nin"):
                hit = np.fromiter((c is not None and c in self.operand for c in cells), bool,
                                  len(cells))
            else:
                op = _COMPARE["$eq" if self.op == "$ne" else self.op]
                hit = np.fromiter((c is not None and bool(op(c, self.operand)) for c in cells),
                                  bool, len(cells))
        return ~hit if negated else hit

    def _floats(self, series: Any) -> np.ndarray:
        """A float column against a number, NaN included: NaN equals NaN and is above every
        number, as Java (and so Cassandra, and this store's sort) orders doubles."""
        null = series.isna().to_numpy(dtype=bool)
        values = series.to_numpy(dtype=float, na_value=0.0)
        nan = np.isnan(values) & ~null
        op = "$eq" if self.op == "$ne" else self.op
        if np.isnan(self.operand):
            below = ~nan & ~null
            return {"$eq": nan, "$gte": nan, "$gt": np.zeros_like(nan), "$lt": below,
                    "$lte": below | nan}[op]
        with np.errstate(invalid="ignore"):
            hit = _COMPARE[op](values, self.operand) & ~nan & ~null
        return hit | nan if op in ("$gt", "$gte") else hit


class _Contains(_Node):
    """A list, set or map column holding any (``$in``), none (``$nin``) or all (``$all``) of
    some elements: of its items, its map's ``$keys``, ``$values``, or ``[key, value]``
    entries."""

    def __init__(self, column: str, ctype: ColumnType, part: str | None, op: str,
                 items: list) -> None:
        self.column, self.ctype, self.part, self.op, self.items = column, ctype, part, op, items

    def _elements(self, cell: Any) -> list:
        if cell is None:
            return []
        if self.ctype.type != "map":
            return cell
        if self.part == "$keys":
            return list(cell)
        if self.part == "$values":
            return list(cell.values())
        return [(k, v) for k, v in cell.items()]

    def mask(self, store: TableStore) -> np.ndarray:
        cells = self.ctype.cells(store.frame[self.column])
        items = [_nan_free(x) for x in self.items]
        out = np.zeros(len(cells), bool)
        for i, cell in enumerate(cells):
            have = [_nan_free(x) for x in self._elements(cell)]
            if self.op == "$all":
                out[i] = bool(have) and all(x in have for x in items)
            else:
                out[i] = any(x in have for x in items) != (self.op == "$nin")
        return out


_NAN = object()  # stands for every NaN, so that NaN elements equal NaN, as in Cassandra


def _nan_free(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return _NAN
    if isinstance(value, tuple):  # a map entry, a user-defined type's value
        return tuple(_nan_free(v) for v in value)
    return value


#: ``(column, text) -> mask``: the rows whose text-indexed ``column`` match ``text``.
Matcher = Callable[[str, str], np.ndarray]


class _Match(_Node):
    def __init__(self, column: str, text: str, matcher: Matcher) -> None:
        self.column, self.text, self.matcher = column, text, matcher

    def mask(self, store: TableStore) -> np.ndarray:
        return self.matcher(self.column, self.text)


class RowFilter:
    """A parsed table filter: :meth:`mask` selects rows of a :class:`TableStore`.

    Attributes
    ----------
    columns
        Every column the filter reads.
    equalities
        ``column -> cell`` when the filter is only a conjunction of ``$eq`` on distinct
        columns (what identifies a row by its primary key), else ``None``.
    """

    def __init__(self, root: _Node | None, columns: set[str],
                 equalities: dict[str, Any] | None) -> None:
        self._root = root
        self.columns = columns
        self.equalities = equalities

    @property
    def is_empty(self) -> bool:
        return self._root is None

    def mask(self, store: TableStore) -> np.ndarray:
        if self._root is None or not len(store):
            return np.ones(len(store), bool)
        return self._root.mask(store)


def _wrapped_value(condition: dict) -> bool:
    """Whether ``condition`` is a value in its wire form (``{"$binary": ...}`` for a blob,
    ``{"$uuid": ...}``, ``{"$date": ...}``: what astrapy sends for bytes, UUIDs and
    datetimes), not an operator."""
    return len(condition) == 1 and next(iter(condition)) in (*EJSON_KEYS, "$binary")


def _error(code: str, message: str) -> DataAPIError:
    return DataAPIError(code, message, scope="FILTER")


class _Parser:
    def __init__(self, columns: dict[str, ColumnType], table: str,
                 text_indexed: dict[str, Matcher]) -> None:
        self.columns = columns
        self.table = table
        self.text_indexed = text_indexed
        self.used: set[str] = set()
        self.count = 0

    def defined(self) -> str:
        return ", ".join(self.columns)

    def clause(self, clause: Any) -> list[_Node]:
        if not isinstance(clause, dict):
            raise _error("FILTER_INVALID_EXPRESSION",
                         f"Filter clause must be a JSON object, not {clause!r}: e.g. "
                         "{\"title\": \"Dune\"}.")
        nodes = []
        for key, value in clause.items():
            if key in ("$and", "$or"):
                if not isinstance(value, list) or not value:
                    raise _error("FILTER_INVALID_EXPRESSION",
                                 f"'{key}' takes a non-empty array of filter clauses, not "
                                 f"{value!r}.")
                parts = [_Logic("$and", self.clause(c)) for c in value]
                nodes.append(_Logic(key, parts))
            elif key.startswith("$"):
                raise _error("FILTER_UNSUPPORTED_OPERATOR",
                             f"Filter operator '{key}' is not supported on tables: use $and, "
                             "$or, or a column name.")
            else:
                nodes.extend(self.column(key, value))
        return nodes

    def column(self, name: str, condition: Any) -> list[_Node]:
        ctype = self.columns.get(name)
        if ctype is None:
            raise unknown_columns(self.table, self.columns, [name], what="filtered on",
                                  scope="FILTER")
        if ctype.is_vector:
            raise _error(
                "UNSUPPORTED_FILTERING_FOR_COLUMN_TYPES",
                f"Filtering is not supported on vector columns. The table {self.table} "
                f"defines the columns: {self.defined()}. The request filtered on the vector "
                f"column: {name}. Sort on it (vector search) instead of filtering.")
        if ctype.type == "userDefined":
            raise _error(
                "UNSUPPORTED_FILTERING_FOR_COLUMN_TYPES",
                f"Filtering is only supported on primitive data types such as `text`, and "
                f"on the elements of `list`, `set` and `map` columns. The table {self.table} "
                f"defines the columns: {self.defined()}. The request filtered on the "
                f"user-defined type column: {name}. Filter on the other columns (a list, set "
                "or map of a user-defined type can be filtered on its elements).")
        self.used.add(name)
        self.count += 1
        if self.count > limits.MAX_FILTER_PROPERTIES:
            raise _error("FILTER_FIELDS_LIMIT_VIOLATION",
                         f"Filter has more conditions than allowed "
                         f"({limits.MAX_FILTER_PROPERTIES}). Split the query.")
        ops = (condition if isinstance(condition, dict) and condition
               and all(isinstance(k, str) and k.startswith("$") for k in condition)
               and not _wrapped_value(condition)
               else {"$eq": condition})
        if "$match" in ops:
            return [self.match(name, op, arg) for op, arg in ops.items()]
        if ctype.type in ("list", "set", "map"):
            return [self.container(name, ctype, op, arg) for op, arg in ops.items()]
        return [self.scalar(name, ctype, op, arg) for op, arg in ops.items()]

    def match(self, name: str, op: str, arg: Any) -> _Node:
        """``{"column": {"$match": "text"}}`` on a text-indexed column."""
        if name not in self.text_indexed:
            raise _error(
                "CANNOT_LEXICAL_FILTER_NON_INDEXED_COLUMNS",
                "The command attempted to lexical filter on column that is not text-indexed."
                "\n\nLexical filtering is only supported on columns that have been "
                f"text-indexed.\n\nThe table {self.table} has text indexes on columns: "
                f"{', '.join(self.text_indexed) or '[None]'}.\nThe command attempted to "
                f"filter column(s): {name}.\n\nResend the command using indexed column(s) "
                "(createTextIndex adds a text index).")
        if op != "$match" or not isinstance(arg, str):
            raise _error(
                "FILTER_INVALID_EXPRESSION",
                f"Unsupported filter clause: '$match' on column '{name}' takes a String and no "
                f"other operator (got {op!r}: {arg!r}).")
        return _Match(name, arg, self.text_indexed[name])

    def value(self, name: str, ctype: ColumnType, raw: Any) -> Any:
        try:
            cell = ctype.parse(raw)
        except ColumnValueError as exc:
            cell, why = None, str(exc)
        else:
            why = "null can not be compared: filter on the other columns"
        if cell is None:
            raise _error(
                "INVALID_FILTER_COLUMN_VALUES",
                f"Only values that are supported by the column data type can be included "
                f"when filtering. The table {self.table} defines the columns: "
                f"{self.defined()}. The command included the column {name} that has "
                f"{ctype.type} type defined, with the value {raw!r}: {why}.")
        return cell

    def values(self, name: str, ctype: ColumnType, op: str, raw: Any) -> list:
        if not isinstance(raw, list):
            raise _error("FILTER_INVALID_EXPRESSION",
                         f"'{op}' on column '{name}' takes an array of values, not {raw!r}.")
        if op != "$all" and len(raw) > limits.MAX_IN_VALUES:
            raise _error("FILTER_INVALID_EXPRESSION",
                         f"'{op}' on column '{name}' has {len(raw)} values, over the maximum "
                         f"allowed ({limits.MAX_IN_VALUES}).")
        return [self.value(name, ctype, v) for v in raw]

    def scalar(self, name: str, ctype: ColumnType, op: str, arg: Any) -> _Node:
        if op == "$all" or (op not in _COMPARE and op not in _MEMBERSHIP):
            raise _error("FILTER_UNSUPPORTED_OPERATOR",
                         f"Filter operator '{op}' is not supported on column '{name}' of type "
                         f"{ctype.type}: use $eq, $ne, $in, $nin, $gt, $gte, $lt or $lte.")
        if ctype.type == "duration" and op in ("$gt", "$gte", "$lt", "$lte"):
            raise _error(
                "UNSUPPORTED_COMPARISON_FILTER_AGAINST_DURATION",
                f"Comparison operator '{op}' can not be used on the duration column "
                f"'{name}': durations have no order (a month has no fixed length). Use $eq, "
                "$ne, $in or $nin.")
        if op in _MEMBERSHIP:
            return _Compare(name, ctype, op, self.values(name, ctype, op, arg))
        return _Compare(name, ctype, op, self.value(name, ctype, arg))

    def container(self, name: str, ctype: ColumnType, op: str, arg: Any) -> _Node:
        part = None
        if ctype.type == "map" and op in ("$keys", "$values"):
            if not isinstance(arg, dict) or len(arg) != 1:
                raise _error("INVALID_MAP_SET_LIST_FILTER",
                             f"'{op}' on map column '{name}' takes one operator, e.g. "
                             f"{{\"{op}\": {{\"$in\": [...]}}}}.")
            part, (op, arg) = op, next(iter(arg.items()))
        if op not in _MEMBERSHIP:
            raise _error(
                "INVALID_MAP_SET_LIST_FILTER",
                f"Filter operator '{op}' can not be used on the {ctype.type} column '{name}': "
                "use $in, $nin or $all" + (" (on $keys, $values, or [key, value] entries)"
                                           if ctype.type == "map" else "") + ".")
        if ctype.type != "map":
            element = ctype.element()
            return _Contains(name, ctype, None, op, self.values(name, element, op, arg))
        key_t, value_t = ctype.element("keyType"), ctype.element()
        if part is not None:
            element = key_t if part == "$keys" else value_t
            return _Contains(name, ctype, part, op, self.values(name, element, op, arg))
        if not isinstance(arg, list) or not all(
                isinstance(e, (list, tuple)) and len(e) == 2 for e in arg):
            raise _error("INVALID_MAP_SET_LIST_FILTER",
                         f"'{op}' on map column '{name}' takes an array of [key, value] "
                         f"entries, not {arg!r} (or filter on $keys / $values).")
        entries = [(self.value(name, key_t, k), self.value(name, value_t, v)) for k, v in arg]
        return _Contains(name, ctype, None, op, entries)


def parse_row_filter(clause: Any, columns: dict[str, ColumnType], *, table: str,
                     text_indexed: dict[str, Matcher] | None = None) -> RowFilter:
    """Parse a table filter; ``table`` (``keyspace.name``) is for messages;
    ``text_indexed`` gives the ``$match`` matcher of each text-indexed column."""
    if clause is None or clause == {}:
        return RowFilter(None, set(), {})
    parser = _Parser(columns, table, text_indexed or {})
    nodes = parser.clause(clause)
    equalities: dict[str, Any] | None = {}
    for node in nodes:
        if (isinstance(node, _Compare) and node.op == "$eq"
                and node.column not in equalities):  # type: ignore[operator]
            equalities[node.column] = node.operand  # type: ignore[index]
        else:
            equalities = None
            break
    return RowFilter(_Logic("$and", nodes), parser.used, equalities)
