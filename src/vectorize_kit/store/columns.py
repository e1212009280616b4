"""The column types of Data API tables: definitions, cells, wire forms and pandas arrays.

A column definition comes in short form (``"text"``) or long form (``{"type": "text"}``,
``{"type": "map", "keyType": "text", "valueType": "int"}``, ``{"type": "vector",
"dimension": 384, "service": {...}}``); :func:`parse_column` turns either into a
:class:`ColumnType`.  A :class:`ColumnType` then does four things with values:

- :meth:`~ColumnType.parse` checks a JSON value (or a notebook's Python value) against the type
  and returns the stored *cell*, or raises :class:`ColumnValueError` with the reason;
- :meth:`~ColumnType.to_json` renders a cell in the Data API's JSON wire form;
- :meth:`~ColumnType.array` and :meth:`~ColumnType.cells` turn cells into a typed pandas array
  (the column of a table's DataFrame) and back.

``None`` is the null cell everywhere.  Empty lists, sets and maps are stored as null, as
Cassandra does.  The Data API does not convert between JSON types: a string is never a number,
a boolean never a number, a number never a string.

Cells by type (the frame's dtype in brackets):

- ``text``, ``ascii``, ``inet``, ``uuid``, ``timeuuid``: ``str`` (``string``); inet addresses
  in their canonical form, uuids in lowercase;
- ``boolean``: ``bool`` (``boolean``);
- ``tinyint``, ``smallint``, ``int``, ``bigint``: ``int`` (``Int8`` ... ``Int64``); ``counter``
  too (``Int64``), but it cannot be written; ``varint``: ``int`` of any size (``object``);
- ``float``, ``double``: ``float``, float32-rounded for ``float`` (``Float32`` / ``Float64``,
  where NaN is a value, distinct from null);
- ``decimal``: :class:`decimal.Decimal` (``object``);
- ``date``: :class:`datetime.date` (``date32[pyarrow]``);
- ``time``: ``int`` nanoseconds since midnight (``time64[ns][pyarrow]``);
- ``timestamp``: an aware UTC :class:`datetime.datetime` truncated to milliseconds
  (``datetime64[ms, UTC]``);
- ``duration``: a ``(months, days, nanoseconds)`` tuple, all of one sign (``object``: pandas
  has no months-days-nanoseconds type);
- ``blob``: ``bytes`` (``binary[pyarrow]``);
- ``list``: a ``list`` of element cells; ``set``: a ``list`` of element cells, deduplicated and
  sorted; ``map``: a ``dict`` from key cells to value cells in key order (all ``object``);
- ``vector``: a float32 :class:`numpy.ndarray` (vectors live in matrices, not in the frame);
- ``userDefined``: a ``tuple`` of field cells in the type's field order (``object``), also as
  the elements of lists and sets and the values of maps.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import functools
import ipaddress
import math
import re
import reprlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import DataAPIError
from ..values import decode_vector

__all__ = [
    "COLLECTION_TYPES",
    "SCALAR_TYPES",
    "UDT_FIELD_TYPES",
    "ColumnType",
    "ColumnValueError",
    "Types",
    "UdtType",
    "cql_name",
    "parse_column",
    "retyped",
    "unknown_columns",
]

SCALAR_TYPES: tuple[str, ...] = (
    "ascii", "bigint", "blob", "boolean", "date", "decimal", "double", "duration", "float",
    "inet", "int", "smallint", "text", "time", "timestamp", "tinyint", "uuid", "timeuuid",
    "varint", "counter",
)
COLLECTION_TYPES: tuple[str, ...] = ("list", "set", "map")
SUPPORTED_TYPES: tuple[str, ...] = SCALAR_TYPES + COLLECTION_TYPES + ("vector",)

# Cassandra refuses counters inside any collection, and durations as set elements or map keys
# (they have no total order: is 1mo more than 30d?).
_NOT_IN_COLLECTIONS = ("counter",)
_NOT_SORTABLE = ("counter", "duration")

_UTC = dt.timezone.utc
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=_UTC)
_NANOS_PER_DAY = 86_400 * 10**9
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


class ColumnValueError(ValueError):
    """A value that does not fit a column type.

    ``str()`` is the reason, e.g. ``"expected an integer between -128 and 127, got 300"``,
    without the column's name: the caller adds it (and picks the Data API error code).
    """


# --------------------------------------------------------------------------------------------
# helpers


def _is_null(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT


def _show(value: Any) -> str:
    """The offending value, as a message shows it (short, JSON-minded)."""
    if isinstance(value, (bool, np.bool_)):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, str):
        return f"the string {reprlib.repr(str(value))}"
    if isinstance(value, (int, np.integer)):
        digits = str(int(value))
        return digits if len(digits) <= 30 else f"an integer of {len(digits)} digits"
    if isinstance(value, (float, np.floating, decimal.Decimal)):
        return str(value)
    if isinstance(value, (dt.date, dt.time)):  # datetime and pd.Timestamp included
        return f"the {type(value).__name__} {value.isoformat()}"
    if isinstance(value, (list, tuple)):
        return f"the array {reprlib.repr(list(value))}"
    if isinstance(value, dict):
        return f"the object {reprlib.repr(value)}"
    return f"a {type(value).__name__} ({reprlib.repr(value)})"


def _expected(what: str, value: Any, fix: str = "") -> ColumnValueError:
    return ColumnValueError(f"expected {what}, got {_show(value)}" + (f"; {fix}" if fix else ""))


# astrapy 2.x writes a Decimal as a marked string, then unquotes the markers of those made
# only of digits and a point: a negative Decimal, or one with an exponent, arrives marked
_ASTRAPY_DECIMAL = re.compile("\U0001040f\u4e02(.*)\u2200\U0001f1e6\U0001f1eb")


def _number_fix(value: Any) -> str:
    """The fix for a non-number where a number is expected."""
    marked = _ASTRAPY_DECIMAL.fullmatch(value) if isinstance(value, str) else None
    if marked:
        return (f"this is astrapy's wrapping of Decimal('{marked[1]}'), which astrapy 2.x "
                "sends as a string when the decimal has a sign or an exponent (a client-side "
                "limitation: the Data API receives a string); send a positive Decimal "
                "without an exponent (format(value, 'f')), or a float")
    if isinstance(value, str):
        return "send a JSON number, not a string (the Data API does not convert strings)"
    if isinstance(value, (bool, np.bool_)):
        return "send a number: booleans are not numbers here"
    return ""


def _number(value: Any) -> int | float | decimal.Decimal | None:
    """A Python number for a JSON or numpy number; ``None`` for anything else (booleans too)."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, decimal.Decimal):
        return value
    return None


def _integral(value: Any) -> int | None:
    """The integer a number stands for (``1.0`` stands for ``1``), or ``None``."""
    x = _number(value)
    if isinstance(x, float):
        # the integer the float stands for is that of its shortest form, as everywhere here
        # (values.json_number): JSON 1e23 is 10**23, not int(1e23) = 99999999999999991611392
        return int(decimal.Decimal(repr(x))) if x.is_integer() else None
    if isinstance(x, decimal.Decimal):
        return int(x) if x.is_finite() and x == x.to_integral_value() else None
    return x


def _object_array(values: list) -> Any:
    # filled one by one: numpy would turn a list of lists into a 2-D array
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        out[i] = value
    return pd.arrays.NumpyExtensionArray(out)


def _objects(values: Any) -> list:
    """The elements of a Series or array as Python objects, ``None`` for missing ones."""
    if isinstance(values, (pd.Series, pd.Index)):
        values = values.array
    if isinstance(values, pd.api.extensions.ExtensionArray):
        return list(values.to_numpy(dtype=object, na_value=None))
    return [None if _is_null(v) else v for v in values]


def _mapped(convert: Callable[[Any], Any]) -> Callable[[Any], list]:
    return lambda values: [None if v is None else convert(v) for v in _objects(values)]


def _same(value: Any) -> Any:
    return value


# --------------------------------------------------------------------------------------------
# scalar codecs


@dataclass(frozen=True)
class _Codec:
    """How one scalar type parses, renders, sorts and sits in a DataFrame."""

    parse: Callable[[Any], Any]
    dtype: Any = np.dtype(object)
    to_json: Callable[[Any], Any] = _same
    array: Callable[[list], Any] = _object_array
    cells: Callable[[Any], list] = _objects
    key: Callable[[Any], Any] = _same  # sort key of a cell, for sets and map keys


def _masked(dtype: Any, convert: Callable[[Any], Any]) -> dict[str, Any]:
    """dtype, array and cells for pandas' own nullable dtypes (string, boolean, IntN)."""
    return {
        "dtype": dtype,
        "array": lambda cells: pd.array(cells, dtype=dtype),
        "cells": _mapped(convert),
    }


def _arrow(pa_type: Any, convert: Callable[[Any], Any]) -> dict[str, Any]:
    """dtype, array and cells for a pyarrow-backed dtype; ``convert`` maps other inputs."""
    dtype = pd.ArrowDtype(pa_type)

    def cells(values: Any) -> list:
        array = values.array if isinstance(values, (pd.Series, pd.Index)) else values
        if isinstance(array, pd.arrays.ArrowExtensionArray) and array.dtype == dtype:
            # through arrow, not numpy: time64 would lose its nanoseconds in datetime.time
            data = pa.array(array)
            return (data.cast(pa.int64()) if pa.types.is_time(pa_type) else data).to_pylist()
        return _mapped(convert)(array)

    return {
        "dtype": dtype,
        "array": lambda cells: pd.arrays.ArrowExtensionArray(pa.array(cells, type=pa_type)),
        "cells": cells,
    }


# text-like


def _parse_text(value: Any) -> str:
    if not isinstance(value, str):
        raise _expected("a string", value, "send text as a JSON string")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        # JSON lets "\ud800" through, but half a surrogate pair is no character: Cassandra's
        # text is UTF-8, which cannot hold it (nor can the frame's arrow strings)
        raise ColumnValueError(
            f"expected a string of Unicode characters, got {_show(value)} with the lone "
            f"surrogate {value[exc.start]!r} at position {exc.start} (half of a UTF-16 "
            "pair, not a character); send the whole pair, or the character itself") from None
    return str(value)


def _parse_ascii(value: Any) -> str:
    text = _parse_text(value)
    if not text.isascii():
        at = next(i for i, c in enumerate(text) if not c.isascii())
        raise ColumnValueError(
            f"expected an ASCII string, got {_show(value)} with the non-ASCII character "
            f"{text[at]!r} at position {at}; use a text column for Unicode strings")
    return text


def _parse_inet(value: Any) -> str:
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        address = value
    elif isinstance(value, str):
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            address = None
    else:
        address = None
    if address is None or getattr(address, "scope_id", None):
        raise _expected("an IPv4 or IPv6 address such as '192.168.0.1' or '2001:db8::1'",
                        value, "send the address as a string, without a zone or prefix")
    return str(address)


def _inet_key(cell: str) -> tuple[int, int]:
    address = ipaddress.ip_address(cell)
    return (address.version, int(address))


_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def _uuid_parser(*, time_based: bool) -> Callable[[Any], str]:
    what = "a version-1 (time-based) UUID" if time_based else "a UUID"

    def parse(value: Any) -> str:
        raw = value
        if isinstance(value, dict) and set(value) == {"$uuid"}:
            raw = value["$uuid"]
        if isinstance(raw, uuid.UUID):
            raw = str(raw)
        if not isinstance(raw, str) or not _UUID_RE.fullmatch(raw):
            raise _expected(f"{what} such as '123e4567-e89b-12d3-a456-426614174000'", value,
                            "send the 36-character hyphenated form as a string or "
                            "{\"$uuid\": ...}")
        if time_based and uuid.UUID(raw).version != 1:
            raise ColumnValueError(
                f"expected {what}, got the version-{uuid.UUID(raw).version} UUID {raw!r}; "
                "timeuuid columns hold version-1 UUIDs (Python: uuid.uuid1())")
        return raw.lower()

    return parse


def _timeuuid_key(cell: str) -> tuple[int, str]:
    return (uuid.UUID(cell).time, cell)


# booleans and numbers


def _parse_boolean(value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise _expected("true or false", value, "send a JSON boolean")
    return bool(value)


def _int_parser(bits: int | None) -> Callable[[Any], int]:
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if bits else (None, None)
    what = f"an integer between {low} and {high}" if bits else "an integer"

    def parse(value: Any) -> int:
        number = _integral(value)
        if number is None or (bits and not low <= number <= high):
            fix = _number_fix(value)
            if not fix and number is not None:
                fix = "use a column with a larger integer type (bigint, varint)"
            raise _expected(what, value, fix)
        return number

    return parse


def _parse_counter(value: Any) -> int:
    raise ColumnValueError(
        f"counter columns cannot be written through the Data API, got {_show(value)}; leave "
        "the column out of inserts and updates, or use a bigint column for a number you set")


_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _float_parser(bits: int) -> Callable[[Any], float]:
    largest = str(np.finfo(np.float32 if bits == 32 else np.float64).max)  # numpy's short form
    what = 'a number (or "NaN", "Infinity", "-Infinity")'
    out_of_range = (f"expected a number between -{largest} and {largest}" +
                    (" (float32)" if bits == 32 else ""))
    fix = "use a double column for larger numbers" if bits == 32 else "use a decimal column"

    def parse(value: Any) -> float:
        if isinstance(value, str):
            if value in _NON_FINITE:
                return _NON_FINITE[value]
            raise _expected(what, value, "send a JSON number; only the strings \"NaN\", "
                                         "\"Infinity\" and \"-Infinity\" stand for numbers")
        number = _number(value)
        if number is None:
            raise _expected(what, value, _number_fix(value))
        try:
            result = float(number)
        except OverflowError:  # an int too large for a float
            raise ColumnValueError(f"{out_of_range}, got {_show(value)}; {fix}") from None
        except ValueError:  # Decimal('sNaN')
            raise _expected(what, value) from None
        if bits == 32:
            with np.errstate(over="ignore"):
                rounded = float(np.float32(result))
        else:
            rounded = result
        infinite = (number.is_infinite() if isinstance(number, decimal.Decimal)
                    else math.isinf(number))
        if math.isinf(rounded) and not infinite:  # a finite number beyond the range
            raise ColumnValueError(f"{out_of_range}, got {_show(value)}; {fix}")
        return rounded

    return parse


def _float_to_json(bits: int) -> Callable[[float], Any]:
    def to_json(cell: float) -> Any:
        if math.isnan(cell):
            return "NaN"
        if math.isinf(cell):
            return "Infinity" if cell > 0 else "-Infinity"
        # a float cell is float32-rounded: 1.1 is stored as 1.100000023841858; send the
        # shortest decimal that reads back as the same float32 (1.1), as the Data API does
        return float(str(np.float32(cell))) if bits == 32 else float(cell)

    return to_json


def _float_key(cell: float) -> tuple[bool, float]:
    return (math.isnan(cell), 0.0 if math.isnan(cell) else cell)  # NaN last, as Java does


def _floating(np_dtype: Any, dtype: Any) -> dict[str, Any]:
    def array(cells: list) -> Any:
        # not pd.array(cells, dtype="Float32"): that would turn NaN into null
        mask = np.array([c is None for c in cells], dtype=bool)
        data = np.array([0.0 if c is None else c for c in cells], dtype=np_dtype)
        return pd.arrays.FloatingArray(data, mask)

    return {"dtype": dtype, "array": array, "cells": _mapped(float)}


def _parse_decimal(value: Any) -> decimal.Decimal:
    if isinstance(value, decimal.Decimal):
        result = value
    elif isinstance(value, np.floating):
        result = decimal.Decimal(str(value))  # numpy's shortest form: float32(0.1) is '0.1'
    else:
        number = _number(value)
        if number is None:
            raise _expected("a number", value, _number_fix(value))
        # repr, not the float itself: 0.1 is Decimal('0.1'), not 0.1000000000000000055...
        result = decimal.Decimal(repr(number) if isinstance(number, float) else number)
    if not result.is_finite():
        raise _expected("a finite number", value, "decimal columns cannot hold NaN or Infinity")
    return result


# dates and times


_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_TIME_RE = re.compile(r"(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?")
_TIMESTAMP_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(Z|[+-]\d{2}(?::?\d{2})?)?")


def _parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise _expected("a date", value, "pass value.date() to keep only the date")
    if isinstance(value, dt.date):
        return dt.date(value.year, value.month, value.day)
    match = _DATE_RE.fullmatch(value) if isinstance(value, str) else None
    try:
        if match:
            return dt.date(*map(int, match.groups()))
    except ValueError:
        pass
    raise _expected('a date "YYYY-MM-DD", such as "2024-05-01"', value)


def _fraction_nanos(fraction: str | None) -> int:
    return int(fraction.ljust(9, "0")) if fraction else 0


def _parse_time(value: Any) -> int:
    if isinstance(value, dt.time):
        if value.tzinfo is not None:
            raise _expected("a time of day without a timezone", value,
                            "pass value.replace(tzinfo=None)")
        seconds = (value.hour * 60 + value.minute) * 60 + value.second
        return seconds * 10**9 + value.microsecond * 1000
    match = _TIME_RE.fullmatch(value) if isinstance(value, str) else None
    if match:
        hours, minutes, seconds = (int(g or 0) for g in match.groups()[:3])
        if hours < 24 and minutes < 60 and seconds < 60:
            return ((hours * 60 + minutes) * 60 + seconds) * 10**9 + _fraction_nanos(
                match.group(4))
    raise _expected('a time of day "HH:MM:SS" with up to 9 fraction digits, such as '
                    '"12:30:00.5"', value)


def _time_to_json(cell: int) -> str:
    seconds, nanos = divmod(cell, 10**9)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    fraction = f".{nanos:09d}".rstrip("0") if nanos else ""
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{fraction}"


def _millis(moment: dt.datetime) -> dt.datetime:
    """An aware datetime in UTC, truncated to milliseconds (the precision of a timestamp)."""
    moment = moment.astimezone(_UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


_TIMEZONE_FIX = ('add a timezone, e.g. "Z" for UTC ("2024-05-01T12:30:00Z") or '
                 "tzinfo=datetime.timezone.utc")


def _parse_timestamp(value: Any) -> dt.datetime:
    what = 'an ISO-8601 timestamp with a timezone, such as "2024-05-01T12:30:00Z"'
    if isinstance(value, pd.Timestamp):
        if value.tz is None:
            raise _expected("a timestamp with a timezone", value, _TIMEZONE_FIX)
        return _millis(value.tz_convert("UTC").to_pydatetime(warn=False))
    if isinstance(value, dt.datetime):
        if value.utcoffset() is None:
            raise _expected("a timestamp with a timezone", value, _TIMEZONE_FIX)
        return _millis(value)
    if isinstance(value, dict) and set(value) == {"$date"}:
        millis = value["$date"]
        if isinstance(millis, (int, np.integer)) and not isinstance(millis, (bool, np.bool_)):
            try:
                return _EPOCH + dt.timedelta(milliseconds=int(millis))
            except OverflowError:
                pass
        raise _expected("{\"$date\": <milliseconds since the epoch>} within years 1 to 9999",
                        value)
    if isinstance(value, dt.date):
        raise _expected(what, value, "a date has no time: pass a datetime with a timezone")
    match = _TIMESTAMP_RE.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise _expected(what, value)
    *fields, fraction, offset = match.groups()
    if offset is None:
        raise _expected("a timestamp with a timezone", value, _TIMEZONE_FIX)
    try:
        if offset == "Z":
            zone = _UTC
        else:
            digits = offset[1:].replace(":", "")
            shift = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
            zone = dt.timezone(-shift if offset[0] == "-" else shift)
        year, month, day, hour, minute, second = (int(f or 0) for f in fields)
        moment = dt.datetime(year, month, day, hour, minute, second,
                             _fraction_nanos(fraction) // 1000, tzinfo=zone)
        return _millis(moment)
    except (ValueError, OverflowError):
        raise _expected(what + " (a real date and time, within years 1 to 9999)",
                        value) from None


def _timestamp_to_json(cell: dt.datetime) -> str:
    c = cell.astimezone(_UTC)
    return (f"{c.year:04d}-{c.month:02d}-{c.day:02d}T{c.hour:02d}:{c.minute:02d}:"
            f"{c.second:02d}.{c.microsecond // 1000:03d}Z")


def _timestamp_cell(value: Any) -> dt.datetime:
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime(warn=False)
    return value.astimezone(_UTC)


# durations

_ISO_DURATION_RE = re.compile(
    r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d{1,9}))?S)?)?")
_CQL_DURATION_RE = re.compile(r"(?:\d+(?:y|mo|w|d|h|ms|us|µs|ns|m|s))+", re.I)
_CQL_UNIT_RE = re.compile(r"(\d+)(y|mo|w|d|h|ms|us|µs|ns|m|s)", re.I)
# unit -> (months, days, nanoseconds) for one of it; the order is the one Cassandra requires
_CQL_UNITS = {
    "y": (12, 0, 0), "mo": (1, 0, 0), "w": (0, 7, 0), "d": (0, 1, 0),
    "h": (0, 0, 3600 * 10**9), "m": (0, 0, 60 * 10**9), "s": (0, 0, 10**9),
    "ms": (0, 0, 10**6), "us": (0, 0, 10**3), "ns": (0, 0, 1),
}
_DURATION_WHAT = ('an ISO-8601 duration such as "P1Y2M3DT4H5M6.5S" or "PT1H", or a Cassandra '
                  'duration such as "1h30m" or "1y2mo3w4d5h6m7s8ms9us10ns"')


def _parse_duration(value: Any) -> tuple[int, int, int]:
    if isinstance(value, dt.timedelta):
        if isinstance(value, pd.Timedelta):
            total = int(value.value)  # nanoseconds
        else:
            total = value // dt.timedelta(microseconds=1) * 1000
        days, nanos = divmod(abs(total), _NANOS_PER_DAY)
        return _signed(total < 0, 0, days, nanos, value)
    if not isinstance(value, str):
        raise _expected(_DURATION_WHAT, value)
    negative = value.startswith("-")
    text = value[1:] if negative else value
    iso = _ISO_DURATION_RE.fullmatch(text)
    if iso and any(g is not None for g in iso.groups()) and not text.endswith("T"):
        y, mo, w, d, h, mi, s = (int(g or 0) for g in iso.groups()[:7])
        nanos = ((h * 60 + mi) * 60 + s) * 10**9 + _fraction_nanos(iso.group(8))
        return _signed(negative, y * 12 + mo, w * 7 + d, nanos, value)
    if _CQL_DURATION_RE.fullmatch(text):
        order = list(_CQL_UNITS)
        months = days = nanos = 0
        last = -1
        for amount, unit in _CQL_UNIT_RE.findall(text):
            unit = unit.lower().replace("µ", "u")
            if order.index(unit) <= last:
                raise _expected(_DURATION_WHAT, value, "give each unit at most once, largest "
                                "first (y, mo, w, d, h, m, s, ms, us, ns)")
            last = order.index(unit)
            per_months, per_days, per_nanos = _CQL_UNITS[unit]
            months += int(amount) * per_months
            days += int(amount) * per_days
            nanos += int(amount) * per_nanos
        return _signed(negative, months, days, nanos, value)
    raise _expected(_DURATION_WHAT, value)


def _signed(negative: bool, months: int, days: int, nanos: int,
            value: Any) -> tuple[int, int, int]:
    """The duration cell, with the sign applied to all three parts; range-checked."""
    if months > _INT32[1] or days > _INT32[1] or nanos > _INT64[1]:
        raise _expected(_DURATION_WHAT, value, f"months and days must stay within "
                        f"{_INT32[1]} and nanoseconds within {_INT64[1]}")
    return (-months, -days, -nanos) if negative else (months, days, nanos)


def _duration_to_json(cell: tuple[int, int, int]) -> str:
    months, days, nanos = cell
    sign = "-" if min(cell) < 0 else ""
    months, days, nanos = abs(months), abs(days), abs(nanos)
    out = "P"
    if months // 12:
        out += f"{months // 12}Y"
    if months % 12:
        out += f"{months % 12}M"
    if days:
        out += f"{days}D"
    seconds, fraction = divmod(nanos, 10**9)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if seconds or fraction:
        clock += f"{seconds}" + (f".{fraction:09d}".rstrip("0") if fraction else "") + "S"
    if clock:
        out += "T" + clock
    return sign + (out if out != "P" else "PT0S")


def _duration_cell(value: Any) -> tuple[int, int, int]:
    return tuple(value) if isinstance(value, tuple) else _parse_duration(value)


# blobs


def _parse_blob(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, dict) and set(value) == {"$binary"} and isinstance(
            value["$binary"], str):
        try:
            return base64.b64decode(value["$binary"], validate=True)
        except (binascii.Error, ValueError):
            pass
    raise _expected('{"$binary": "<base64>"} (or bytes)', value,
                    "send the bytes base64-encoded in a {\"$binary\": ...} object")


def _blob_to_json(cell: bytes) -> dict[str, str]:
    return {"$binary": base64.b64encode(cell).decode("ascii")}


_STRING = pd.StringDtype()
_text_like = _masked(_STRING, str)
_SCALARS: dict[str, _Codec] = {
    "text": _Codec(_parse_text, **_text_like),
    "ascii": _Codec(_parse_ascii, **_text_like),
    "inet": _Codec(_parse_inet, key=_inet_key, **_text_like),
    "uuid": _Codec(_uuid_parser(time_based=False), **_text_like),
    "timeuuid": _Codec(_uuid_parser(time_based=True), key=_timeuuid_key, **_text_like),
    "boolean": _Codec(_parse_boolean, **_masked(pd.BooleanDtype(), bool)),
    "tinyint": _Codec(_int_parser(8), **_masked(pd.Int8Dtype(), int)),
    "smallint": _Codec(_int_parser(16), **_masked(pd.Int16Dtype(), int)),
    "int": _Codec(_int_parser(32), **_masked(pd.Int32Dtype(), int)),
    "bigint": _Codec(_int_parser(64), **_masked(pd.Int64Dtype(), int)),
    "counter": _Codec(_parse_counter, **_masked(pd.Int64Dtype(), int)),
    "varint": _Codec(_int_parser(None), cells=_mapped(int)),
    "float": _Codec(_float_parser(32), to_json=_float_to_json(32), key=_float_key,
                    **_floating(np.float32, pd.Float32Dtype())),
    "double": _Codec(_float_parser(64), to_json=_float_to_json(64), key=_float_key,
                     **_floating(np.float64, pd.Float64Dtype())),
    "decimal": _Codec(_parse_decimal, cells=_mapped(decimal.Decimal)),
    "date": _Codec(_parse_date, to_json=dt.date.isoformat, **_arrow(pa.date32(), _parse_date)),
    "time": _Codec(_parse_time, to_json=_time_to_json,
                   **_arrow(pa.time64("ns"), lambda v: v if isinstance(v, int) else
                            _parse_time(v))),
    "timestamp": _Codec(
        _parse_timestamp, dtype=pd.DatetimeTZDtype("ms", "UTC"), to_json=_timestamp_to_json,
        array=lambda cells: pd.array(cells, dtype=pd.DatetimeTZDtype("ms", "UTC")),
        cells=_mapped(_timestamp_cell)),
    # the frame holds the tuples themselves (object): as ISO strings in a "string" column
    # they would compare unequal to the cells of a filter
    "duration": _Codec(_parse_duration, to_json=_duration_to_json,
                       cells=_mapped(_duration_cell)),
    "blob": _Codec(_parse_blob, to_json=_blob_to_json,
                   **_arrow(pa.binary(), _parse_blob)),
}


# --------------------------------------------------------------------------------------------
# collections and vectors


def _elements(value: Any, codec: _Codec, kinds: tuple[type, ...], what: str) -> list:
    if isinstance(value, np.ndarray) and value.ndim == 1:
        value = value.tolist()
    if not isinstance(value, kinds):
        raise _expected(what, value)
    out = []
    for i, element in enumerate(value):
        if _is_null(element):
            raise ColumnValueError(f"element {i} is null; lists and sets cannot hold nulls: "
                                   "remove it")
        try:
            out.append(codec.parse(element))
        except ColumnValueError as exc:
            raise ColumnValueError(f"element {i}: {exc}") from None
    return out


def _parse_map(value: Any, keys: _Codec, values: _Codec, key_type: str) -> dict | None:
    text_keys = key_type in ("text", "ascii")
    what = ("a JSON object or an array of [key, value] pairs" if text_keys else
            f"an array of [key, value] pairs (a JSON object only has text keys, not "
            f"{key_type})")
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, (list, tuple)):
        pairs = list(value)
        for i, pair in enumerate(pairs):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ColumnValueError(f"expected {what}, got {_show(pair)} at position {i}; "
                                       "each entry must be a [key, value] array")
    else:
        raise _expected(what, value)
    entries: dict[Any, tuple[Any, Any]] = {}  # sort key -> (key cell, value cell)
    for key, item in pairs:
        if _is_null(key) or _is_null(item):
            raise ColumnValueError(f"the map entry [{reprlib.repr(key)}, {reprlib.repr(item)}] "
                                   "has a null; maps cannot hold null keys or values: remove "
                                   "the entry")
        try:
            cell = keys.parse(key)
        except ColumnValueError as exc:
            fix = ("; a JSON object has only text keys: send maps whose keys are not text as "
                   "[key, value] pairs" if isinstance(key, str) and not text_keys else "")
            raise ColumnValueError(f"map key: {exc}{fix}") from None
        if keys.key(cell) in entries:
            raise ColumnValueError(f"the map key {reprlib.repr(key)} appears twice; keys "
                                   "must be unique: keep one entry per key")
        try:
            entries[keys.key(cell)] = (cell, values.parse(item))
        except ColumnValueError as exc:
            raise ColumnValueError(f"value of map key {reprlib.repr(key)}: {exc}") from None
    return dict(entries[k] for k in sorted(entries)) or None


def _parse_vector(value: Any, dimension: int | None) -> np.ndarray:
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, list):  # numpy scalars in a list: make them the Python numbers
        value = [v.item() if isinstance(v, np.generic) else v for v in value]
    if isinstance(value, str):
        raise _expected("an array of numbers or {\"$binary\": ...}", value,
                        "a string is text to vectorize, which needs the column's service")
    try:
        vector = decode_vector(value, what="vector")
    except DataAPIError as exc:
        raise ColumnValueError(exc.message) from None
    if dimension is not None and vector.size != dimension:
        raise ColumnValueError(f"expected a vector of {dimension} numbers, got {vector.size}; "
                               f"send exactly {dimension} numbers")
    return vector


# --------------------------------------------------------------------------------------------
# user-defined types

# a field of a user-defined type is one of these (Cassandra's UDT fields, as the Data API
# lets them be created: no collections, vectors, nested types, counters or timeuuids)
UDT_FIELD_TYPES: tuple[str, ...] = tuple(t for t in SCALAR_TYPES if t not in
                                         ("counter", "timeuuid"))


def cql_name(name: str) -> str:
    """A CQL identifier as the Data API shows it: quoted unless lower-case."""
    return name if re.fullmatch(r"[a-z][a-z0-9_]*", name) else '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class UdtType:
    """A user-defined type: its name and its fields (name, scalar type) in order.

    A value of the type is a *cell*: a tuple of field cells in field order (``None`` for a
    null field), so that renaming a field changes no stored value and an added field reads as
    null in older values (a shorter tuple), as in Cassandra.
    """

    name: str
    fields: tuple[tuple[str, str], ...]

    def definition(self) -> dict:
        """``{"fields": {name: {"type": ...}}}``, as ``listTypes`` and projections show it."""
        return {"fields": {f: {"type": t} for f, t in self.fields}}

    @classmethod
    def from_definition(cls, name: str, definition: dict) -> UdtType:
        return cls(name, tuple((f, spec["type"]) for f, spec in definition["fields"].items()))


def retyped(spec: dict, udt: UdtType) -> dict | None:
    """A column definition kept by a table's schema, with the definition of ``udt`` made
    current in it; ``None`` when the column does not use that type."""
    if spec.get("type") == "userDefined" and spec.get("udtName") == udt.name:
        return {**spec, "definition": udt.definition()}
    value = spec.get("valueType")
    if isinstance(value, dict) and value.get("udtName") == udt.name:
        return {**spec, "valueType": {**value, "definition": udt.definition()}}
    return None


def _api_support(cql: str, *, filterable: bool) -> dict:
    return {"createTable": True, "insert": True, "read": True, "filter": filterable,
            "cqlDefinition": cql}


@functools.lru_cache(maxsize=256)
def _udt_codec(udt: UdtType) -> _Codec:
    """How a value of ``udt`` parses, renders and sorts (it sits in an ``object`` column)."""
    codecs = [(f, _SCALARS[t]) for f, t in udt.fields]
    names = [f for f, _ in udt.fields]

    def parse(value: Any) -> tuple:
        if isinstance(value, dict):
            given = dict(value)
        elif isinstance(value, (list, tuple)) and all(
                isinstance(p, (list, tuple)) and len(p) == 2 for p in value):
            given = {}
            for field_name, item in value:  # the Data API's "tuple format" of a UDT value
                if not isinstance(field_name, str):
                    raise ColumnValueError(f"UDT field name must be a string, but got "
                                           f"{_show(field_name)}")
                given[field_name] = item
        else:
            raise _expected(f"an object of the fields of type '{udt.name}' ({', '.join(names)})",
                            value)
        unknown = [k for k in given if k not in names]
        if unknown:
            raise ColumnValueError(
                f"type '{udt.name}' has no field {', '.join(repr(k) for k in unknown)}; its "
                f"fields are {', '.join(names)}")
        cells = []
        for field_name, codec in codecs:
            item = given.get(field_name)
            try:
                cells.append(None if _is_null(item) else codec.parse(item))
            except ColumnValueError as exc:
                raise ColumnValueError(f"field '{field_name}' of type '{udt.name}': {exc}"
                                       ) from None
        return tuple(cells)

    def to_json(cell: tuple) -> dict:
        return {f: codec.to_json(c) for (f, codec), c in zip(codecs, cell) if c is not None}

    def key(cell: tuple) -> tuple:  # nulls first, field by field (a frozen UDT's order)
        return tuple((0,) if c is None else (1, codec.key(c)) for (_, codec), c in
                     zip(codecs, _padded(cell, len(codecs))))

    return _Codec(parse, to_json=to_json, key=key)


def _padded(cell: tuple, size: int) -> tuple:
    return cell + (None,) * (size - len(cell)) if len(cell) < size else cell


def _udt_to_stored(udt: UdtType, cell: tuple) -> list:
    """A UDT cell as the log keeps it: field values by position."""
    return [None if c is None else _SCALARS[t].to_json(c) for (_, t), c in zip(udt.fields, cell)]


def _udt_from_stored(udt: UdtType, stored: list) -> tuple:
    values = list(stored) + [None] * (len(udt.fields) - len(stored))
    return tuple(None if v is None else _SCALARS[t].parse(v)
                 for (_, t), v in zip(udt.fields, values))


# --------------------------------------------------------------------------------------------
# the column type


@dataclass(frozen=True)
class ColumnType:
    """The type of a table column.

    Parameters
    ----------
    type
        The Data API type name: one of :data:`SCALAR_TYPES`, ``"list"``, ``"set"``, ``"map"``,
        ``"vector"`` or ``"userDefined"``.
    key_type
        The key type of a map (a scalar type).
    value_type
        The element type of a list or set, the value type of a map (a scalar type, or
        ``"userDefined"``).
    dimension
        The length of a vector; ``None`` while a vector's service has yet to fill it in.
    service
        A vector's embedding service, kept as given (the caller validates it).
    udt
        The user-defined type of a ``userDefined`` column, or of a collection's values.
    frozen
        A user-defined type's value inside a collection, which is a value even with every
        field null (a column's value with every field null is null).
    """

    type: str
    key_type: str | None = None
    value_type: str | None = None
    dimension: int | None = None
    service: dict | None = None
    udt: UdtType | None = None
    frozen: bool = False

    def _codec(self, type_name: str) -> _Codec:
        return _udt_codec(self.udt) if type_name == "userDefined" else _SCALARS[type_name]

    def _udt_form(self, *, definition: bool, keyspace: str | None, frozen: bool) -> dict:
        assert self.udt is not None
        out: dict[str, Any] = {"type": "userDefined", "udtName": self.udt.name}
        if definition:
            out["definition"] = self.udt.definition()
        if keyspace is not None and not frozen:  # a frozen UDT is fully supported
            out["apiSupport"] = _api_support(f"{cql_name(keyspace)}.{cql_name(self.udt.name)}",
                                             filterable=False)
        return out

    def _form(self, *, definition: bool, keyspace: str | None, service: bool) -> dict:
        if self.type == "userDefined":
            return self._udt_form(definition=definition, keyspace=keyspace, frozen=False)
        out: dict[str, Any] = {"type": self.type}
        if self.key_type is not None:
            out["keyType"] = self.key_type
        if self.value_type == "userDefined":
            out["valueType"] = self._udt_form(definition=definition, keyspace=keyspace,
                                              frozen=True)
        elif self.value_type is not None:
            out["valueType"] = self.value_type
        if self.dimension is not None:
            out["dimension"] = self.dimension
        if service and self.service is not None:
            out["service"] = self.service
        return out

    def long_form(self) -> dict:
        """The definition as the table's schema keeps it: ``{"type": "text"}``, ``{"type":
        "map", "keyType": "text", "valueType": "int"}``, ``{"type": "vector", "dimension":
        384, "service": {...}}``, ``{"type": "userDefined", "udtName": "address",
        "definition": {"fields": {...}}}``.  Key and value types stay short-form strings."""
        return self._form(definition=True, keyspace=None, service=True)

    def ddl_form(self, keyspace: str) -> dict:
        """The definition as ``listTables`` explains it: the long form, with a user-defined
        type named (``udtName`` and ``apiSupport``) rather than defined."""
        return self._form(definition=False, keyspace=keyspace, service=True)

    def schema(self, keyspace: str | None = None) -> dict:
        """The long form without the vector's ``service``, as ``status.projectionSchema`` and
        ``status.primaryKeySchema`` show a column (a user-defined type with its definition and,
        given the table's ``keyspace``, its ``apiSupport``)."""
        return self._form(definition=True, keyspace=keyspace, service=False)

    def element(self, role: str = "valueType") -> ColumnType:
        """The type of a collection's elements (``"valueType"``) or a map's keys
        (``"keyType"``)."""
        type_name = self.key_type if role == "keyType" else self.value_type
        assert type_name is not None
        if type_name == "userDefined":
            return ColumnType(type_name, udt=self.udt, frozen=True)
        return ColumnType(type_name)

    @property
    def is_vector(self) -> bool:
        """Whether this is a vector column."""
        return self.type == "vector"

    @property
    def dtype(self) -> Any:
        """The pandas dtype of this column in a typed DataFrame (``object`` for collections,
        vectors and user-defined types)."""
        codec = _SCALARS.get(self.type)
        return codec.dtype if codec else np.dtype(object)

    def parse(self, value: Any) -> Any:
        """The cell for a JSON (or Python) value; ``None`` for null.

        ``None``, ``pd.NA`` and ``pd.NaT`` are null; so are empty lists, sets and maps, and a
        user-defined type's value whose fields are all null.

        Raises
        ------
        ColumnValueError
            If the value does not fit the type; ``str()`` is the reason.
        """
        if _is_null(value):
            return None
        if self.type == "vector":
            return _parse_vector(value, self.dimension)
        if self.type == "userDefined":
            cell = self._codec("userDefined").parse(value)
            return None if not self.frozen and all(c is None for c in cell) else cell
        if self.type == "list":
            return _elements(value, self._codec(self.value_type), (list, tuple),
                             f"an array of {self.value_type} values") or None
        if self.type == "set":
            cells = _elements(value, self._codec(self.value_type),
                              (list, tuple, set, frozenset),
                              f"an array of {self.value_type} values")
            return self.unique(cells)
        if self.type == "map":
            return _parse_map(value, _SCALARS[self.key_type], self._codec(self.value_type),
                              self.key_type)
        return _SCALARS[self.type].parse(value)

    def unique(self, cells: list) -> list | None:
        """A set's cells: without duplicates, in the set's order (``None`` if empty)."""
        codec = self._codec(self.value_type)  # type: ignore[arg-type]
        found = {codec.key(c): c for c in cells}  # by sort key: NaN equals NaN here
        return [found[k] for k in sorted(found)] or None

    def to_json(self, cell: Any) -> Any:
        """The Data API's JSON form of a cell (``None`` for null).

        Non-finite floats and doubles become ``"NaN"``, ``"Infinity"``, ``"-Infinity"``;
        decimals stay :class:`decimal.Decimal` (the JSON encoder writes them as numbers);
        maps are JSON objects when their keys are text or ascii, else arrays of
        ``[key, value]`` pairs in key order; a user-defined type's value is an object of its
        fields, null fields left out.
        """
        if cell is None:
            return None
        if self.type == "vector":
            return cell.tolist()
        if self.type == "userDefined":
            return self._codec("userDefined").to_json(cell)
        if self.type in ("list", "set"):
            codec = self._codec(self.value_type)  # type: ignore[arg-type]
            return [codec.to_json(c) for c in cell]
        if self.type == "map":
            keys, values = _SCALARS[self.key_type], self._codec(self.value_type)
            if self.key_type in ("text", "ascii"):
                return {k: values.to_json(v) for k, v in cell.items()}
            return [[keys.to_json(k), values.to_json(v)] for k, v in cell.items()]
        return _SCALARS[self.type].to_json(cell)

    def to_stored(self, cell: Any) -> Any:
        """A cell as the table's log keeps it: :meth:`to_json`, except that user-defined
        types keep their fields by position (and maps of them are pairs)."""
        if self.udt is None or cell is None:
            return self.to_json(cell)
        if self.type == "userDefined":
            return _udt_to_stored(self.udt, cell)
        if self.type in ("list", "set"):
            return [_udt_to_stored(self.udt, c) for c in cell]
        keys = _SCALARS[self.key_type]  # a map of a user-defined type
        return [[keys.to_json(k), _udt_to_stored(self.udt, v)] for k, v in cell.items()]

    def from_stored(self, value: Any) -> Any:
        """The cell for a value :meth:`to_stored` wrote (under this or an older version of a
        user-defined type: renamed fields keep their place, added ones are null)."""
        if self.udt is None or value is None:
            return self.parse(value)
        if self.type == "userDefined":
            return _udt_from_stored(self.udt, value)
        cells = [_udt_from_stored(self.udt, v) for v in
                 (value if self.type != "map" else [v for _, v in value])]
        if self.type == "list":
            return cells
        if self.type == "set":
            return self.unique(cells)
        keys = _SCALARS[self.key_type]
        entries = {keys.key(c): (c, v) for c, v in
                   zip((keys.parse(k) for k, _ in value), cells)}
        return dict(entries[k] for k in sorted(entries))

    def readable(self, cell: Any) -> Any:
        """A cell as a DataFrame shows it: a user-defined type's value as a dict of every
        field (``None`` for null ones), also inside lists, sets and maps; other cells as
        they are."""
        if self.udt is None or cell is None:
            return cell
        names = [f for f, _ in self.udt.fields]

        def fields(c: tuple) -> dict:
            return dict(zip(names, _padded(c, len(names))))

        if self.type == "userDefined":
            return fields(cell)
        if self.type == "map":
            return {k: fields(v) for k, v in cell.items()}
        return [fields(c) for c in cell]

    def array(self, cells: list) -> Any:
        """A pandas array of :attr:`dtype` holding ``cells`` (``None`` for null), for
        ``pd.Series(...)`` to keep its dtype."""
        codec = _SCALARS.get(self.type)
        return codec.array(list(cells)) if codec else _object_array(list(cells))

    def cells(self, values: Any) -> list:
        """The cells of a Series or array of this column (``None`` for null): the inverse of
        :meth:`array`.  Collection cells are the stored objects, not copies."""
        codec = _SCALARS.get(self.type)
        return codec.cells(values) if codec else _objects(values)


# --------------------------------------------------------------------------------------------
# column definitions

_FIELDS = {"list": ("type", "valueType"), "set": ("type", "valueType"),
           "map": ("type", "keyType", "valueType"),
           "vector": ("type", "dimension", "service"),
           "userDefined": ("type", "udtName")}

# the types a keyspace defines (name -> type), for definitions a user sends; ``None`` reads a
# definition the table's schema kept (whose user-defined types carry their definition)
Types = dict[str, UdtType]


def _unsupported(name: str, type_name: Any) -> DataAPIError:
    return DataAPIError(
        "UNSUPPORTED_COLUMN_TYPES",
        f"Column '{name}' has the unsupported type {type_name!r}. Supported types: "
        f"{', '.join(SUPPORTED_TYPES)}, userDefined. Resend the column definition with one "
        "of them.")


def _user_type(name: str, spec: dict, types: Types | None) -> UdtType:
    """The user-defined type a ``{"type": "userDefined", "udtName": ...}`` names."""
    udt_name = spec.get("udtName")
    if types is None:  # kept by the table's schema, with its definition
        return UdtType.from_definition(udt_name, spec["definition"])
    unknown = [k for k in spec if k not in _FIELDS["userDefined"]]
    if unknown:
        raise DataAPIError(
            "COMMAND_FIELD_UNKNOWN",
            f"Column '{name}' definition contains unknown field "
            f"{', '.join(repr(k) for k in unknown)}: not one of recognized fields "
            "'type', 'udtName'. Remove the others.")
    if not isinstance(udt_name, str) or not udt_name.strip():
        raise DataAPIError(
            "INVALID_USER_DEFINED_TYPE_NAME",
            f"User defined type name is not valid: {udt_name!r}.\n\nThe user defined type name "
            "\"udtName\" must not be empty.\n\nResend the command using a valid user defined "
            "type name.")
    found = types.get(udt_name)
    if found is None:
        raise DataAPIError(
            "UNKNOWN_USER_DEFINED_TYPE",
            f"The column uses a user defined type that is not known.\n\nColumn '{name}': "
            f"unknown type '{udt_name}'; the keyspace defines the types: "
            f"{', '.join(types) or '(none)'}.\n\nResend the command using a known user "
            "defined type (createType creates one).")
    return found


def _element_type(name: str, kind: str, role: str, spec: Any,
                  types: Types | None) -> tuple[str, UdtType | None]:
    """The key or value type of a collection, checked: a scalar type, or (as the values of
    a list, set or map) a user-defined type."""
    if isinstance(spec, dict) and spec.get("type") == "userDefined":
        if role == "keyType":
            raise DataAPIError(
                "UNSUPPORTED_MAP_DEFINITION",
                f"The command attempted to create a map column that used unsupported types "
                f"for either the key or value.\n\nMaps can use most primitive types for the "
                f"key and value, and userDefined types for the value.\n\nColumn '{name}' used "
                f"the key type: userDefined.\n\nResend the command using a supported key and "
                "value type.")
        return "userDefined", _user_type(name, spec, types)
    if isinstance(spec, dict) and set(spec) == {"type"}:
        spec = spec["type"]  # {"type": "text"} is accepted for "text"
    refused = _NOT_SORTABLE if (kind == "set" or role == "keyType") else _NOT_IN_COLLECTIONS
    if spec is None:
        problem = f"needs a '{role}'"
    elif not isinstance(spec, str) or spec not in SCALAR_TYPES:
        problem = f"cannot have the {role} {spec!r}"
    elif spec in refused:
        problem = f"cannot have the {role} {spec!r}, which Cassandra does not allow there"
    else:
        return spec, None
    scalars = [t for t in SCALAR_TYPES if t not in refused]
    example = {"list": '{"type": "list", "valueType": "text"}',
               "set": '{"type": "set", "valueType": "text"}',
               "map": '{"type": "map", "keyType": "text", "valueType": "int"}'}[kind]
    also = "" if role == "keyType" else " (or a user-defined type)"
    raise DataAPIError(
        "UNSUPPORTED_COLUMN_TYPES",
        f"Column '{name}' of type '{kind}' {problem}: the {role} must be one of the scalar "
        f"types {', '.join(scalars)}{also}, e.g. {example}.")


def parse_column(name: str, spec: Any, types: Types | None = None) -> ColumnType:
    """The type of column ``name`` from its definition in short or long form.

    Accepts ``"text"`` and ``{"type": "text"}`` for every scalar type, ``{"type": "list" |
    "set", "valueType": ...}``, ``{"type": "map", "keyType": ..., "valueType": ...}``,
    ``{"type": "vector", "dimension": 3, "service": {...}}`` and ``{"type": "userDefined",
    "udtName": "address"}`` (also as a list's, set's or map's ``valueType``).  A vector with a
    service may omit its dimension: it is then ``None``, for the caller to fill in from the
    model.  ``types`` are the keyspace's user-defined types, for a definition a user sent;
    without it, the definition is one a table's schema kept (see :meth:`ColumnType.long_form`).

    Raises
    ------
    DataAPIError
        ``UNSUPPORTED_COLUMN_TYPES`` for an unknown type or a bad key or value type;
        ``UNKNOWN_USER_DEFINED_TYPE`` / ``INVALID_USER_DEFINED_TYPE_NAME`` for a user-defined
        type the keyspace does not have; ``UNSUPPORTED_MAP_DEFINITION`` for a map keyed by
        one; ``MISSING_DIMENSION_IN_VECTOR_COLUMN`` for a vector with neither dimension nor
        service; ``UNSUPPORTED_VECTOR_DIMENSION`` for a dimension that is not a positive
        integer; ``COMMAND_FIELD_UNKNOWN`` for unknown fields in a long-form definition.
    """
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, dict):
        raise DataAPIError(
            "UNSUPPORTED_COLUMN_TYPES",
            f"Column '{name}' has the definition {_show(spec)}; a column definition is a type "
            "name such as \"text\" or an object such as {\"type\": \"text\"}.")
    type_name = spec.get("type")
    if type_name is None:
        raise DataAPIError(
            "UNSUPPORTED_COLUMN_TYPES",
            f"Column '{name}' has no \"type\" in its definition {_show(spec)}. Add one of: "
            f"{', '.join(SUPPORTED_TYPES)}, userDefined.")
    if type_name == "userDefined":
        return ColumnType("userDefined", udt=_user_type(name, spec, types))
    if not isinstance(type_name, str) or type_name not in SUPPORTED_TYPES:
        raise _unsupported(name, type_name)
    allowed = _FIELDS.get(type_name, ("type",))
    unknown = [k for k in spec if k not in allowed]
    if unknown:
        raise DataAPIError(
            "COMMAND_FIELD_UNKNOWN",
            f"Column '{name}' of type '{type_name}' has the unknown field(s) "
            f"{', '.join(repr(k) for k in unknown)}; its definition may have only "
            f"{', '.join(repr(k) for k in allowed)}. Remove the others.")
    if type_name in ("list", "set"):
        value_type, udt = _element_type(name, type_name, "valueType", spec.get("valueType"),
                                        types)
        return ColumnType(type_name, value_type=value_type, udt=udt)
    if type_name == "map":
        key_type, _ = _element_type(name, "map", "keyType", spec.get("keyType"), types)
        value_type, udt = _element_type(name, "map", "valueType", spec.get("valueType"), types)
        return ColumnType("map", key_type=key_type, value_type=value_type, udt=udt)
    if type_name == "vector":
        dimension, service = spec.get("dimension"), spec.get("service")
        if dimension is None:
            if service is None:
                raise DataAPIError(
                    "MISSING_DIMENSION_IN_VECTOR_COLUMN",
                    f"Column '{name}' is a vector without a dimension. Add \"dimension\": "
                    "<the number of floats>, or a \"service\" whose model sets it.")
        elif (not isinstance(dimension, (int, np.integer)) or isinstance(dimension, bool)
              or dimension < 1):
            raise DataAPIError(
                "UNSUPPORTED_VECTOR_DIMENSION",
                f"Column '{name}' has the vector dimension {dimension!r}; a dimension must be "
                "a positive integer, such as 384.")
        return ColumnType("vector", dimension=None if dimension is None else int(dimension),
                          service=service)
    return ColumnType(type_name)


def unknown_columns(table: str, defined: Any, unknown: list[str], *, what: str,
                    scope: str) -> DataAPIError:
    """``UNKNOWN_TABLE_COLUMNS``: a row, filter, update or projection (``scope``) names
    columns the table ``table`` (``keyspace.name``) does not have."""
    return DataAPIError(
        "UNKNOWN_TABLE_COLUMNS",
        f"Only columns defined in the table schema can be {what}. The table {table} defines "
        f"the columns: {', '.join(defined)}. The command included the following unknown "
        f"columns: {', '.join(unknown)}. Resend the command using only defined columns (or "
        "add them with alterTable).",
        scope=scope,
    )
