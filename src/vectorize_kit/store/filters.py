"""Collection filters: parse a Data API filter clause and evaluate it over a DocumentStore.

Operators: ``$eq`` (implicit), ``$ne``, ``$in``, ``$nin``, ``$gt``, ``$gte``, ``$lt``, ``$lte``,
``$exists``, ``$all``, ``$size``, and the logical ``$and``, ``$or``, ``$not``;
``{"$lexical": {"$match": "text"}}`` keeps the documents whose ``$lexical`` holds every
term.  Equality on an
array field means "contains" for a scalar and exact match for an array; sub-documents match
exactly, keys in order.  Paths are dotted (``a.b.0``).

``$eq``, ``$ne``, ``$in``, ``$nin`` and ``$exists`` compare a cached column of canonical values
in one vectorised step; rows whose path crosses an array, and the other operators, are
checked document by document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import limits
from ..errors import DataAPIError
from ..values import MISSING, canon, comparable, is_ejson, is_number, json_type_name, sort_key
from .paths import resolve, split_path
from .shred import Indexing, check_operand

__all__ = ["Filter", "parse_filter"]

_COMPARISON = ("$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte", "$exists", "$all",
               "$size")
_RANGE = {"$gt": lambda a, b: a > b, "$gte": lambda a, b: a >= b,
          "$lt": lambda a, b: a < b, "$lte": lambda a, b: a <= b}


def _invalid(message: str) -> DataAPIError:
    return DataAPIError("INVALID_FILTER_EXPRESSION", message)


def _scalar0(value: Any) -> np.ndarray:
    # a 0-d object array, so numpy compares against the whole value (tuples included)
    out = np.empty((), dtype=object)
    out[()] = value
    return out


class Filter:
    """A parsed filter; :meth:`mask` evaluates it over a store."""

    everything = False  # the empty filter: every document matches (no mask to compute)

    def mask(self, store: Any) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def id_equals(self) -> list[Any] | None:
        """The ``_id`` values this filter restricts to, if it is a plain id lookup."""
        return None

    def equalities(self) -> dict[str, Any]:
        """``path: value`` pairs the filter requires (used to seed an upserted document)."""
        return {}


@dataclass
class _All(Filter):
    everything = True

    def mask(self, store: Any) -> np.ndarray:
        return np.ones(len(store), dtype=bool)


@dataclass
class _And(Filter):
    children: list[Filter]

    def mask(self, store: Any) -> np.ndarray:
        out = np.ones(len(store), dtype=bool)
        for child in self.children:
            out &= child.mask(store)
        return out

    def id_equals(self) -> list[Any] | None:
        for child in self.children:
            ids = child.id_equals()
            if ids is not None:
                return ids
        return None

    def equalities(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for child in self.children:
            out.update(child.equalities())
        return out


@dataclass
class _Or(Filter):
    children: list[Filter]

    def mask(self, store: Any) -> np.ndarray:
        out = np.zeros(len(store), dtype=bool)
        for child in self.children:
            out |= child.mask(store)
        return out


@dataclass
class _Not(Filter):
    child: Filter

    def mask(self, store: Any) -> np.ndarray:
        return ~self.child.mask(store)


@dataclass
class _Match(Filter):
    text: str
    matcher: Callable[[str], np.ndarray]

    def mask(self, store: Any) -> np.ndarray:
        return self.matcher(self.text)


#: How ``$match`` is evaluated: the lexical index's matcher, or the error to raise when the
#: collection has lexical search off.
Lexical = Callable[[str], np.ndarray] | DataAPIError | None


def _contains(value: Any, key: Any) -> bool:
    """Data API equality of a stored value with an operand's canonical key."""
    if canon(value) == key:
        return True
    return isinstance(value, list) and any(canon(v) == key for v in value)


@dataclass
class _Leaf(Filter):
    path: str
    op: str
    operand: Any

    def __post_init__(self) -> None:
        self.segments = split_path(self.path)
        if self.op in ("$eq", "$ne"):
            self.keys = [canon(self.operand)]
        elif self.op in ("$in", "$nin", "$all"):
            self.keys = [canon(v) for v in self.operand]

    # which positive test a negated operator flips
    @property
    def _positive(self) -> str:
        return {"$ne": "$eq", "$nin": "$in"}.get(self.op, self.op)

    def id_equals(self) -> list[Any] | None:
        if self.path == "_id" and self.op == "$eq":
            return [self.operand]
        if self.path == "_id" and self.op == "$in":
            return list(self.operand)
        return None

    def equalities(self) -> dict[str, Any]:
        if self.op == "$eq":
            return {self.path: self.operand}
        return {}

    def _values(self, doc: dict) -> list[Any]:
        return list(resolve(doc, self.segments))

    def _test(self, op: str, values: list[Any]) -> bool:
        if op == "$exists":
            return bool(values) == self.operand
        if op in ("$eq", "$in"):
            return any(_contains(v, k) for v in values for k in self.keys)
        if op in _RANGE:
            cmp = _RANGE[op]
            target = sort_key(self.operand)
            for v in values:
                for item in (v if isinstance(v, list) else [v]):
                    if comparable(item, self.operand) and cmp(sort_key(item), target):
                        return True
            return False
        if op == "$all":
            return any(
                isinstance(v, list) and all(any(canon(x) == k for x in v) for k in self.keys)
                for v in values
            )
        if op == "$size":
            return any(isinstance(v, list) and len(v) == self.operand for v in values)
        raise AssertionError(op)


    def mask(self, store: Any) -> np.ndarray:
        if self.path == "$vector":
            present = store.vector_present()
            return present.copy() if self.operand else ~present
        positive = self._positive
        n = len(store)
        ids = self.id_equals() if self.op in ("$eq", "$in") else None
        if ids is not None:  # an _id lookup: no scan at all
            out = np.zeros(n, dtype=bool)
            for doc_id in ids:
                pos = store.position(doc_id) if _is_id_like(doc_id) else None
                if pos is not None:
                    out[pos] = True
        elif positive in ("$eq", "$in", "$exists"):
            values, slow = store.field(self.path)
            # np.array copies: pandas may hand back read-only arrays (copy-on-write)
            if positive == "$exists":
                out = np.array(values != _scalar0(MISSING), dtype=bool)
                if not self.operand:
                    out = ~out
            elif positive == "$eq" and not isinstance(self.keys[0], tuple):
                out = np.array(values == _scalar0(self.keys[0]), dtype=bool)
            else:
                out = np.array(pd.Series(values, dtype=object).isin(self.keys), dtype=bool)
            if slow.any():
                docs = store.docs()
                for row in np.flatnonzero(slow):
                    out[row] = self._test(positive, self._values(docs[row]))
        else:
            docs = store.docs()
            out = np.fromiter(
                (self._test(positive, self._values(d)) for d in docs), dtype=bool, count=n
            )
        return out if self.op == positive else ~out


def _is_id_like(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool)) or is_ejson(value)


# -- parsing ---------------------------------------------------------------------------------

def parse_filter(clause: Any, *, indexing: Indexing | None = None,
                 lexical: Lexical = None) -> Filter:
    """Parse a filter clause (``None`` or ``{}`` matches every document); ``lexical``
    evaluates ``$match`` (or is the error to raise for it).

    Raises ``INVALID_FILTER_EXPRESSION``, ``UNSUPPORTED_FILTER_OPERATION``,
    ``FILTER_MULTIPLE_ID_FILTER``, ``FILTER_FIELDS_LIMIT_VIOLATION`` or
    ``UNINDEXED_FILTER_PATH``.
    """
    if clause is None:
        return _All()
    if not isinstance(clause, dict):
        raise _invalid(f"The filter clause must be a JSON object, not {clause!r}.")
    parser = _Parser(indexing or Indexing(), lexical)
    node = parser.object(clause)
    if parser.count > limits.MAX_FILTER_PROPERTIES:
        raise DataAPIError(
            "FILTER_FIELDS_LIMIT_VIOLATION",
            f"The filter uses {parser.count} properties, more than the maximum allowed "
            f"({limits.MAX_FILTER_PROPERTIES}). Split the query.",
        )
    if parser.id_equalities > 1:
        raise DataAPIError(
            "FILTER_MULTIPLE_ID_FILTER",
            "The filter has more than one equality condition on '_id'; use a single "
            "'_id' condition, or '$in' to match several ids.",
        )
    return node


class _Parser:
    def __init__(self, indexing: Indexing, lexical: Lexical) -> None:
        self.indexing = indexing
        self.lexical = lexical
        self.count = 0
        self.id_equalities = 0
        self.negated = 0  # depth of $not around the clause being parsed

    def object(self, clause: dict, *, in_and: bool = True) -> Filter:
        children = [self.entry(k, v, in_and=in_and) for k, v in clause.items()]
        if not children:
            return _All()
        return children[0] if len(children) == 1 else _And(children)

    def entry(self, key: str, value: Any, *, in_and: bool) -> Filter:
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not value or not all(
                isinstance(v, dict) for v in value
            ):
                raise _invalid(f"'{key}' must be a non-empty array of filter objects.")
            kids = [self.object(v, in_and=in_and and key == "$and") for v in value]
            return _And(kids) if key == "$and" else _Or(kids)
        if key == "$not":
            if not isinstance(value, dict) or not value:
                raise _invalid("'$not' must be a non-empty filter object.")
            self.negated += 1
            try:
                return _Not(self.object(value, in_and=False))
            finally:
                self.negated -= 1
        if key == "$lexical":
            return self.match(value)
        if isinstance(value, dict) and "$match" in value:
            raise DataAPIError(
                "FILTER_INVALID_EXPRESSION",
                f"Unsupported filter clause: '$match' operator can only be used with the "
                f"'$lexical' field, not '{key}'.\n\nResend the command using only supported "
                "filter expressions and paths.",
            )
        if key.startswith("$") and key not in ("$vector", "$vectorize"):
            raise DataAPIError(
                "UNSUPPORTED_FILTER_OPERATION",
                f"Unsupported filter operator '{key}' at the top level of a filter; use "
                "$and, $or or $not there, or a field name.",
            )
        if not key:
            raise _invalid("A filter field name must not be empty.")
        if not self.indexing.is_ancestor_of_indexed(key):
            raise DataAPIError(
                "UNINDEXED_FILTER_PATH",
                f"The filter path ('{key}') is not indexed, so it can not be used in a "
                "filter. Filter on an indexed field, or recreate the collection with this "
                "path indexed.",
            )
        if isinstance(value, dict) and value and all(k.startswith("$") for k in value) and (
            not is_ejson(value)
        ):
            leaves = [self.leaf(key, op, arg, in_and=in_and) for op, arg in value.items()]
            return leaves[0] if len(leaves) == 1 else _And(leaves)
        if isinstance(value, dict) and any(k.startswith("$") for k in value) and (
            not is_ejson(value)
        ):
            raise _invalid(
                f"The filter for '{key}' mixes operators and field names: {value!r}."
            )
        return self.leaf(key, "$eq", value, in_and=in_and)

    def match(self, value: Any) -> Filter:
        """``{"$lexical": {"$match": "text"}}``, the one filter on ``$lexical``."""
        def invalid(problem: str) -> DataAPIError:
            return DataAPIError(
                "FILTER_INVALID_EXPRESSION",
                f"Unsupported filter clause: {problem}.\n\nResend the command using only "
                "supported filter expressions and paths.",
            )
        if not callable(self.lexical):
            raise self.lexical or DataAPIError(
                "LEXICAL_NOT_ENABLED_FOR_COLLECTION",
                "Lexical search is not enabled here: '$match' needs a collection with "
                "lexical enabled.")
        self.count += 1
        if not isinstance(value, dict) or set(value) != {"$match"}:
            ops = list(value) if isinstance(value, dict) and value else ["$eq"]
            other = next((o for o in ops if o != "$match"), "$eq")
            raise invalid(f"cannot filter on '$lexical' field using operator '{other}': only "
                          "'$match' is supported")
        text = value["$match"]
        if not isinstance(text, str):
            raise invalid(f"$match operator must have `String` value, was "
                          f"`{json_type_name(text)}`")
        if self.negated:
            raise invalid("cannot use $not to invert $match operator")
        return _Match(text, self.lexical)

    def leaf(self, path: str, op: str, arg: Any, *, in_and: bool) -> Filter:
        self.count += 1
        if op not in _COMPARISON:
            raise DataAPIError(
                "UNSUPPORTED_FILTER_OPERATION",
                f"Unsupported filter operator '{op}' (on '{path}'). Supported: "
                + ", ".join(_COMPARISON) + ".",
            )
        if path == "$vector" and op != "$exists":
            raise DataAPIError(
                "UNSUPPORTED_FILTER_OPERATION",
                f"Only '$exists' can be used to filter on '$vector', not '{op}'. Use a "
                "vector sort to search by similarity.",
            )
        if op in ("$in", "$nin", "$all"):
            if not isinstance(arg, list):
                raise _invalid(f"'{op}' operator (on '{path}') must have an array value.")
            if op != "$all" and len(arg) > limits.MAX_IN_VALUES:
                raise _invalid(
                    f"'{op}' operator (on '{path}') has {len(arg)} values, more than the "
                    f"maximum allowed ({limits.MAX_IN_VALUES})."
                )
        elif op == "$exists":
            if not isinstance(arg, bool):
                raise _invalid(f"'$exists' operator (on '{path}') must have a boolean value.")
        elif op == "$size":
            if not is_number(arg) or arg < 0 or int(arg) != arg:
                raise _invalid(
                    f"'$size' operator (on '{path}') must have a non-negative integer value."
                )
            arg = int(arg)
        elif op in _RANGE:
            if isinstance(arg, (list,)) or (isinstance(arg, dict) and not is_ejson(arg)) or (
                arg is None
            ):
                raise _invalid(
                    f"'{op}' operator (on '{path}') must have a number, string, boolean or "
                    f"date value, not {arg!r}."
                )
        try:
            _check_json(arg)
        except TypeError:
            raise _invalid(f"The value for '{path}' is not a JSON value: {arg!r}.") from None
        check_operand(arg, "INVALID_FILTER_EXPRESSION", f"'{op}' on '{path}'")
        if path == "_id" and op == "$eq" and in_and:
            self.id_equalities += 1
        return _Leaf(path, op, arg)


def _check_json(value: Any) -> None:
    canon(value)
