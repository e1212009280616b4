"""JSON value semantics of the Data API: equality, ordering, EJSON wrappers and vectors.

Documents are plain JSON values (``dict``, ``list``, ``str``, ``int``/``float``, ``bool``,
``None``) plus the EJSON wrappers ``{"$date": <epoch ms>}``, ``{"$uuid": "..."}`` and
``{"$objectId": "..."}``.  Two values are equal when they are the same JSON value: ``1`` equals
``1.0`` but not ``true``; objects compare with their keys in order, as the Data API does.

Numbers are kept exactly, as the Data API keeps them (it reads every number as a Java
``BigDecimal``): integers are Python ints of any size, and a number with a fraction or an
exponent is a ``float`` when the float writes back as the same text (``0.1``, ``2.5``), else a
:class:`decimal.Decimal` (``0.1000000000000000000000001``, ``1.50``, ``1e400``).  :func:`loads`
reads JSON that way and :func:`dumps` writes it back digit for digit.  A ``Decimal`` equals,
and hashes as, the float or int of the same value, so filters and sorts mix them freely.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import decimal as _decimal
import json as _json
import math
import re as _re
import secrets as _secrets
import uuid as _uuid
from typing import Any

import numpy as np

from .errors import DataAPIError

__all__ = [
    "MISSING",
    "NUMBER_TYPES",
    "canon",
    "dumps",
    "decode_vector",
    "is_ejson",
    "json_number",
    "loads",
    "lossless_floats",
    "sort_key",
    "type_rank",
]


class _Missing:
    """The value of a path that a document does not have."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()

EJSON_KEYS = ("$date", "$uuid", "$objectId")

# the Python types of JSON numbers (``bool`` is an ``int`` but not a number: test it first)
NUMBER_TYPES = (int, float, _decimal.Decimal)


class _Bool:
    """A boolean that is not equal to 0 or 1 (Python's ``True == 1`` is not JSON's)."""

    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "true" if self.value else "false"


_TRUE, _FALSE = _Bool(True), _Bool(False)


def is_ejson(value: Any) -> bool:
    """Whether ``value`` is one of the EJSON wrappers the Data API stores as typed scalars."""
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in EJSON_KEYS


def canon(value: Any) -> Any:
    """A hashable key with the Data API's equality: equal keys for equal JSON values.

    Strings, numbers and ``None`` stand for themselves (so that numpy and pandas can compare
    columns of them directly); booleans become singletons that equal no number; EJSON wrappers,
    arrays and objects become tagged tuples.
    """
    if value is True:
        return _TRUE
    if value is False:
        return _FALSE
    if isinstance(value, _decimal.Decimal):
        return lossless_floats(value)  # Decimal('1.50') is the JSON number 1.5
    if isinstance(value, (str, int, float)) or value is None:
        return value
    if isinstance(value, dict):
        if is_ejson(value):
            ((k, v),) = value.items()
            if k == "$uuid" and isinstance(v, str):
                v = v.lower()
            return (k, v)
        return ("{}",) + tuple((k, canon(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ("[]",) + tuple(canon(v) for v in value)
    raise TypeError(f"not a JSON value: {type(value).__name__}")


# Sort order across types (Mongo-like, as documented in the README): missing and null first,
# then numbers, strings, objects, arrays, booleans, dates, uuids, object ids.
_RANK_NULL, _RANK_NUMBER, _RANK_STRING, _RANK_OBJECT, _RANK_ARRAY = 0, 1, 2, 3, 4
_RANK_BOOL, _RANK_DATE, _RANK_UUID, _RANK_OID = 5, 6, 7, 8


def type_rank(value: Any) -> int:
    """The rank of ``value``'s type in the sort order (``null`` and missing rank lowest)."""
    if value is None or value is MISSING:
        return _RANK_NULL
    if isinstance(value, bool):
        return _RANK_BOOL
    if isinstance(value, NUMBER_TYPES):
        return _RANK_NUMBER
    if isinstance(value, str):
        return _RANK_STRING
    if isinstance(value, list):
        return _RANK_ARRAY
    if isinstance(value, dict):
        if is_ejson(value):
            return {"$date": _RANK_DATE, "$uuid": _RANK_UUID, "$objectId": _RANK_OID}[
                next(iter(value))
            ]
        return _RANK_OBJECT
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def sort_key(value: Any) -> tuple:
    """A key that orders any two JSON values: by type rank, then by value."""
    rank = type_rank(value)
    if rank == _RANK_NULL:
        return (rank,)
    if rank == _RANK_NUMBER:
        return _number_key(value)
    if rank in (_RANK_STRING, _RANK_BOOL):
        return (rank, value)
    if rank in (_RANK_DATE, _RANK_UUID, _RANK_OID):
        return (rank, next(iter(value.values())))
    if rank == _RANK_ARRAY:
        return (rank, tuple(sort_key(v) for v in value))
    return (rank, tuple((k, sort_key(v)) for k, v in value.items()))


def _number_key(value: Any) -> tuple:
    """Numbers in the order of the decimals they stand for (a float stands for its shortest
    form, 0.1 for 0.1): by the nearest float, then by what a Decimal has beyond it."""
    if isinstance(value, _decimal.Decimal):
        value = lossless_floats(value)
        if isinstance(value, _decimal.Decimal):
            nearest = float(value)
            if math.isinf(nearest):
                return (_RANK_NUMBER, nearest, value)
            return (_RANK_NUMBER, nearest, value - _decimal.Decimal(repr(nearest)))
    return (_RANK_NUMBER, value, 0)


def comparable(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` may be compared by a range operator ($gt, $lt...)."""
    ra = type_rank(a)
    return ra == type_rank(b) and ra in (_RANK_NUMBER, _RANK_STRING, _RANK_BOOL, _RANK_DATE)


def decode_vector(value: Any, *, what: str = "$vector", check: bool = True) -> np.ndarray:
    """A float32 vector from a JSON array of numbers or ``{"$binary": <base64>}``.

    The binary form is big-endian float32, as astrapy sends it.  numpy arrays are accepted
    too (the Python API passes them straight through, so nothing is converted to lists).
    ``check=False`` leaves the finiteness test to the caller (who may test a whole batch
    with :func:`bad_vector_rows` at once).
    """
    if isinstance(value, np.ndarray):
        if value.ndim != 1 or value.dtype.kind not in "iuf":
            raise DataAPIError(
                "SHRED_BAD_VECTOR_VALUE",
                f"The {what} value must be a 1-D array of numbers; got a {value.ndim}-D "
                f"array of {value.dtype}.",
            )
        with np.errstate(over="ignore"):
            out = value.astype(np.float32)
    elif isinstance(value, dict) and set(value) == {"$binary"}:
        raw = value["$binary"]
        try:
            data = base64.b64decode(raw, validate=True) if isinstance(raw, str) else None
        except (binascii.Error, ValueError):
            data = None
        if data is None or len(data) % 4:
            raise DataAPIError(
                "SHRED_BAD_BINARY_VECTOR_VALUE",
                f"Bad binary vector value for {what}: expected a base64 string of big-endian "
                f"float32 values, got {str(raw)[:40]!r}.",
            )
        out = np.frombuffer(data, dtype=">f4").astype(np.float32)
    elif isinstance(value, list):
        if not all(isinstance(x, NUMBER_TYPES) and not isinstance(x, bool) for x in value):
            bad = next(x for x in value if not isinstance(x, NUMBER_TYPES) or isinstance(x, bool))
            raise DataAPIError(
                "SHRED_BAD_VECTOR_VALUE",
                f"Only arrays of numbers are supported for {what}; found {bad!r}. "
                "Resend the document with a list of numbers.",
            )
        try:
            with np.errstate(over="ignore"):  # too large for float32: caught as not finite
                out = np.asarray(value, dtype=np.float32)
        except OverflowError:  # an integer too large even for float64
            raise not_finite(what) from None
    else:
        raise DataAPIError(
            "SHRED_BAD_VECTOR_VALUE",
            f"The {what} value must be an array of numbers or {{\"$binary\": ...}}; got "
            f"{type(value).__name__}.",
        )
    if out.size == 0:
        raise DataAPIError(
            "SHRED_BAD_VECTOR_SIZE",
            f"The {what} value can not be an empty array. Resend with at least one number.",
        )
    if check and bad_vector_rows(out[None, :], zero_ok=True).size:
        raise not_finite(what)
    return out


def not_finite(what: str, where: str = "") -> DataAPIError:
    return DataAPIError(
        "SHRED_BAD_VECTOR_VALUE",
        f"The {what} value holds a number that is not finite as float32 (NaN, Infinity or "
        f"out of range){where}. Resend with finite numbers.",
    )


def bad_vector_rows(block: np.ndarray, *, zero_ok: bool) -> np.ndarray:
    """Rows of a (n, d) float32 block that are not finite (or, unless ``zero_ok``, zero)."""
    # a float64 sum of finite float32 values is always finite: one reduction per row
    bad = ~np.isfinite(block.sum(axis=1, dtype=np.float64))
    if not zero_ok:
        bad |= ~block.any(axis=1)
    return np.flatnonzero(bad)


class Secret:
    """A secret string (an API token) that never shows itself: not in a repr, a str, a
    traceback's locals or a log line. :meth:`reveal` gives it to whoever sends it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def json_type_name(value: Any) -> str:
    """The JSON type of a value, as the Data API names it in messages."""
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, NUMBER_TYPES):
        return "Number"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, dict):
        return "Object"
    return type(value).__name__


def vectorize_type_error(value: Any, where: str = "") -> DataAPIError:
    """``INVALID_VECTORIZE_VALUE_TYPE`` for a ``$vectorize`` value that is not a string."""
    return DataAPIError(
        "INVALID_VECTORIZE_VALUE_TYPE",
        f"Invalid $vectorize value: needs to be String, not {json_type_name(value)}{where}.",
    )


def is_number(value: Any) -> bool:
    """A JSON number (``bool`` is not one; NaN and infinities are not either)."""
    if isinstance(value, _decimal.Decimal):
        return value.is_finite()
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not (
        isinstance(value, float) and (math.isnan(value) or math.isinf(value))
    )


def json_clone(value: Any, path: str = "") -> Any:
    """A deep copy of a JSON value that also turns notebook types into JSON.

    numpy scalars become Python numbers, numpy arrays lists, ``datetime`` ``{"$date": ms}``
    and ``uuid.UUID`` ``{"$uuid": ...}``; a ``Decimal`` stays as it is (exact).
    Raises ``TypeError`` for anything else, and for NaN and infinite numbers (JSON has
    neither).
    """
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise TypeError(f"{value} at '{path}' is not a JSON number")
        return float(value)
    if isinstance(value, _decimal.Decimal):
        if not value.is_finite():
            raise TypeError(f"{value} at '{path}' is not a JSON number")
        return value
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"field name {k!r} at '{path}' is not a string")
            out[k] = json_clone(v, f"{path}.{k}" if path else k)
        return out
    if isinstance(value, (list, tuple)):
        return [json_clone(v, path) for v in value]
    if isinstance(value, np.generic):
        return json_clone(value.item(), path)
    if isinstance(value, np.ndarray):
        return json_clone(value.tolist(), path)
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return {"$date": int(value.timestamp() * 1000)}
    if isinstance(value, _uuid.UUID):
        return {"$uuid": str(value)}
    raise TypeError(f"a {type(value).__name__} at '{path}' is not a JSON value")


class _HasDecimal(Exception):
    pass


def dumps(value: Any, *, default: Any = None) -> str:
    """Compact JSON (UTF-8 text, no NaN or Infinity: ``ValueError``) in which ``Decimal``
    values are exact JSON numbers, as the Data API writes them (``json.dumps`` can not write
    them; a float would lose digits).  ``default`` as for ``json.dumps``."""

    def no_decimal(v: Any) -> Any:
        if isinstance(v, _decimal.Decimal):
            raise _HasDecimal
        if default is None:
            raise TypeError(f"Object of type {type(v).__name__} is not JSON serializable")
        return default(v)

    try:  # most values hold no Decimal: one pass of the C encoder
        return _json.dumps(value, separators=(",", ":"), ensure_ascii=False,
                           allow_nan=False, default=no_decimal)
    except _HasDecimal:
        pass
    found: list[_decimal.Decimal] = []
    nonce = _secrets.token_hex(6)  # so that no text of the value can pass for a marker

    def mark(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: mark(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [mark(x) for x in v]
        if isinstance(v, _decimal.Decimal):
            found.append(v)
            return f"\x00{nonce}:{len(found) - 1}\x00"
        return v

    text = _json.dumps(mark(value), separators=(",", ":"), ensure_ascii=False,
                       allow_nan=False, default=default)
    return _re.sub(rf'"\\u0000{nonce}:(\d+)\\u0000"',
                   lambda m: _decimal_text(found[int(m[1])]), text)


def _decimal_text(number: _decimal.Decimal) -> str:
    if not number.is_finite():
        raise ValueError(f"{number} is not a JSON number")
    return str(number)


def json_number(text: str) -> float | _decimal.Decimal:
    """A JSON number with a fraction or an exponent, kept exactly: the ``float`` when the
    float writes back as the same text (``0.1``, ``2.5``), else the ``Decimal``
    (``0.1000000000000000000000001``, ``1.50``, ``1e400``), which :func:`dumps` writes back
    digit for digit (``parse_float`` for :func:`json.loads`)."""
    number = float(text)
    if repr(number) == text:
        return number
    return _decimal.Decimal(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def loads(text: str | bytes) -> Any:
    """Strict JSON (no NaN or Infinity) with exact numbers (see :func:`json_number`)."""
    return _json.loads(text, parse_float=json_number, parse_constant=_no_constant)


def lossless_floats(value: Any) -> Any:
    """``value`` with every ``Decimal`` in it that a float holds exactly made that float
    (JSON read with every fraction a ``Decimal``, where most numbers are plain floats)."""
    if isinstance(value, _decimal.Decimal):
        number = float(value)
        if math.isfinite(number) and _decimal.Decimal(repr(number)) == value:
            return number
        return value
    if isinstance(value, list):
        return [lossless_floats(v) for v in value]
    if isinstance(value, dict):
        return {k: lossless_floats(v) for k, v in value.items()}
    return value
