"""Table column types: definitions, value checks, wire forms and typed pandas arrays."""

from __future__ import annotations

import datetime as dt
import decimal
import ipaddress
import math
import uuid

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from vectorize_kit.errors import DataAPIError
from vectorize_kit.store.columns import (
    COLLECTION_TYPES,
    SCALAR_TYPES,
    ColumnType,
    ColumnValueError,
    parse_column,
)

UTC = dt.timezone.utc
D = decimal.Decimal
UUID4 = "123e4567-e89b-42d3-a456-426614174000"
UUID1 = "c2a6a3b0-0a4e-11ef-8b1a-0242ac120002"


def col(spec):
    return parse_column("c", spec)


def round_trip(spec, values):
    """parse -> array -> Series -> cells -> to_json."""
    ct = col(spec)
    series = pd.Series(ct.array([ct.parse(v) for v in values]))
    return [ct.to_json(c) for c in ct.cells(series)]


def reason(spec, value) -> str:
    with pytest.raises(ColumnValueError) as info:
        col(spec).parse(value)
    return str(info.value)


def column_error(spec) -> DataAPIError:
    with pytest.raises(DataAPIError) as info:
        parse_column("c", spec)
    return info.value


# --------------------------------------------------------------------------------------------
# type names


def test_scalar_and_collection_type_names():
    assert SCALAR_TYPES == (
        "ascii", "bigint", "blob", "boolean", "date", "decimal", "double", "duration", "float",
        "inet", "int", "smallint", "text", "time", "timestamp", "tinyint", "uuid", "timeuuid",
        "varint", "counter")
    assert COLLECTION_TYPES == ("list", "set", "map")


# --------------------------------------------------------------------------------------------
# parse_column


@pytest.mark.parametrize("type_name", SCALAR_TYPES)
def test_short_and_long_forms_give_the_same_scalar_type(type_name):
    assert col(type_name) == col({"type": type_name}) == ColumnType(type_name)


@pytest.mark.parametrize(("spec", "expected"), [
    ({"type": "list", "valueType": "text"}, ColumnType("list", value_type="text")),
    ({"type": "set", "valueType": "int"}, ColumnType("set", value_type="int")),
    ({"type": "map", "keyType": "text", "valueType": "int"},
     ColumnType("map", key_type="text", value_type="int")),
    ({"type": "list", "valueType": {"type": "duration"}},
     ColumnType("list", value_type="duration")),
    ({"type": "vector", "dimension": 3}, ColumnType("vector", dimension=3)),
    ({"type": "vector", "dimension": np.int64(3)}, ColumnType("vector", dimension=3)),
])
def test_long_form_collections_and_vectors(spec, expected):
    assert col(spec) == expected


def test_vector_with_service_and_no_dimension_leaves_dimension_for_the_caller():
    service = {"provider": "huggingface", "modelName": "sentence-transformers/all-MiniLM-L6-v2"}
    ct = col({"type": "vector", "service": service})
    assert ct == ColumnType("vector", dimension=None, service=service)
    assert ct.is_vector


@pytest.mark.parametrize(("spec", "long_form"), [
    ("text", {"type": "text"}),
    ({"type": "map", "keyType": "text", "valueType": "int"},
     {"type": "map", "keyType": "text", "valueType": "int"}),
    ({"type": "list", "valueType": "text"}, {"type": "list", "valueType": "text"}),
    ({"type": "set", "valueType": {"type": "uuid"}}, {"type": "set", "valueType": "uuid"}),
    ({"type": "vector", "dimension": 384}, {"type": "vector", "dimension": 384}),
    ({"type": "vector", "dimension": 384, "service": {"provider": "p", "modelName": "m"}},
     {"type": "vector", "dimension": 384, "service": {"provider": "p", "modelName": "m"}}),
])
def test_long_form(spec, long_form):
    assert col(spec).long_form() == long_form


def test_schema_is_the_long_form_without_service():
    ct = col({"type": "vector", "dimension": 384, "service": {"provider": "p", "modelName": "m"}})
    assert ct.schema() == {"type": "vector", "dimension": 384}
    assert col({"type": "map", "keyType": "int", "valueType": "text"}).schema() == {
        "type": "map", "keyType": "int", "valueType": "text"}


def test_is_vector_only_for_vectors():
    assert not col("text").is_vector
    assert not col({"type": "list", "valueType": "float"}).is_vector


@pytest.mark.parametrize("spec", [
    "string", "TEXT", "json", {"type": "tuple"}, {"type": 3}, 42, ["text"], {"valueType": "text"},
])
def test_unknown_types_are_unsupported(spec):
    error = column_error(spec)
    assert error.error_code == "UNSUPPORTED_COLUMN_TYPES"
    assert "'c'" in error.message


def test_unsupported_type_message_names_the_type_and_the_supported_ones():
    error = column_error("string")
    assert error.message == (
        "Column 'c' has the unsupported type 'string'. Supported types: ascii, bigint, blob, "
        "boolean, date, decimal, double, duration, float, inet, int, smallint, text, time, "
        "timestamp, tinyint, uuid, timeuuid, varint, counter, list, set, map, vector, "
        "userDefined. Resend the column definition with one of them.")


def test_user_defined_types_need_the_keyspace_to_define_them():
    with pytest.raises(DataAPIError) as caught:
        parse_column("c", {"type": "userDefined", "udtName": "address"}, {})
    assert caught.value.error_code == "UNKNOWN_USER_DEFINED_TYPE"
    assert "unknown type 'address'" in caught.value.message


@pytest.mark.parametrize("spec", [
    "list", "set", "map",
    {"type": "list"},
    {"type": "set", "valueType": "list"},
    {"type": "list", "valueType": "vector"},
    {"type": "list", "valueType": "nope"},
    {"type": "list", "valueType": {"type": "set", "valueType": "int"}},
    {"type": "map", "valueType": "int"},
    {"type": "map", "keyType": "text"},
    {"type": "map", "keyType": "map", "valueType": "int"},
    {"type": "list", "valueType": "counter"},
    {"type": "map", "keyType": "text", "valueType": "counter"},
    {"type": "set", "valueType": "duration"},
    {"type": "map", "keyType": "duration", "valueType": "int"},
])
def test_bad_key_and_value_types(spec):
    error = column_error(spec)
    assert error.error_code == "UNSUPPORTED_COLUMN_TYPES"


def test_missing_value_type_message_shows_the_fix():
    assert column_error({"type": "list"}).message == (
        "Column 'c' of type 'list' needs a 'valueType': the valueType must be one of the scalar "
        "types ascii, bigint, blob, boolean, date, decimal, double, duration, float, inet, int, "
        "smallint, text, time, timestamp, tinyint, uuid, timeuuid, varint (or a user-defined "
        'type), e.g. {"type": "list", "valueType": "text"}.')


def test_durations_are_allowed_as_list_elements_and_map_values():
    assert col({"type": "list", "valueType": "duration"}).value_type == "duration"
    assert col({"type": "map", "keyType": "int", "valueType": "duration"}).value_type == (
        "duration")


@pytest.mark.parametrize("spec", ["vector", {"type": "vector"},
                                  {"type": "vector", "dimension": None, "service": None}])
def test_vector_without_dimension_or_service(spec):
    error = column_error(spec)
    assert error.error_code == "MISSING_DIMENSION_IN_VECTOR_COLUMN"
    assert "'c'" in error.message


@pytest.mark.parametrize("dimension", [0, -3, 2.5, 3.0, "3", True, [3]])
def test_vector_dimension_must_be_a_positive_integer(dimension):
    error = column_error({"type": "vector", "dimension": dimension})
    assert error.error_code == "UNSUPPORTED_VECTOR_DIMENSION"
    assert repr(dimension) in error.message


@pytest.mark.parametrize("spec", [
    {"type": "text", "valueType": "int"},
    {"type": "list", "valueType": "int", "keyType": "text"},
    {"type": "vector", "dimension": 3, "metric": "cosine"},
    {"type": "int", "apiSupport": {}},
])
def test_unknown_fields_in_long_form(spec):
    error = column_error(spec)
    assert error.error_code == "COMMAND_FIELD_UNKNOWN"


def test_unknown_field_message_lists_the_allowed_fields():
    assert column_error({"type": "vector", "dimension": 3, "metric": "cosine"}).message == (
        "Column 'c' of type 'vector' has the unknown field(s) 'metric'; its definition may "
        "have only 'type', 'dimension', 'service'. Remove the others.")


@pytest.mark.parametrize("type_name", ["counter", "timeuuid"])
def test_counter_and_timeuuid_are_column_types(type_name):
    assert col(type_name).type == type_name


# --------------------------------------------------------------------------------------------
# dtypes


@pytest.mark.parametrize(("spec", "dtype"), [
    ("text", pd.StringDtype()),
    ("ascii", pd.StringDtype()),
    ("inet", pd.StringDtype()),
    ("uuid", pd.StringDtype()),
    ("timeuuid", pd.StringDtype()),
    ("boolean", pd.BooleanDtype()),
    ("tinyint", pd.Int8Dtype()),
    ("smallint", pd.Int16Dtype()),
    ("int", pd.Int32Dtype()),
    ("bigint", pd.Int64Dtype()),
    ("counter", pd.Int64Dtype()),
    ("varint", np.dtype(object)),
    ("float", pd.Float32Dtype()),
    ("double", pd.Float64Dtype()),
    ("decimal", np.dtype(object)),
    ("date", pd.ArrowDtype(pa.date32())),
    ("time", pd.ArrowDtype(pa.time64("ns"))),
    ("timestamp", pd.DatetimeTZDtype("ms", "UTC")),
    ("duration", np.dtype(object)),
    ("blob", pd.ArrowDtype(pa.binary())),
    ({"type": "list", "valueType": "int"}, np.dtype(object)),
    ({"type": "set", "valueType": "int"}, np.dtype(object)),
    ({"type": "map", "keyType": "text", "valueType": "int"}, np.dtype(object)),
    ({"type": "vector", "dimension": 2}, np.dtype(object)),
])
def test_dtype_of_each_type_and_series_keeps_it(spec, dtype):
    ct = col(spec)
    assert ct.dtype == dtype
    assert pd.Series(ct.array([None])).dtype == dtype


def test_string_dtype_holds_pd_na_for_null():
    series = pd.Series(col("text").array(["a", None]))
    assert series.dtype == "string"
    assert series.iloc[1] is pd.NA


def test_timestamp_dtype_string():
    assert col("timestamp").dtype == "datetime64[ms, UTC]"


# --------------------------------------------------------------------------------------------
# nulls


@pytest.mark.parametrize("type_name", SCALAR_TYPES)
@pytest.mark.parametrize("null", [None, pd.NA, pd.NaT])
def test_null_parses_to_none(type_name, null):
    assert col(type_name).parse(null) is None


@pytest.mark.parametrize("spec", [
    {"type": "list", "valueType": "int"}, {"type": "set", "valueType": "int"},
    {"type": "map", "keyType": "text", "valueType": "int"}, {"type": "vector", "dimension": 2},
])
def test_null_parses_to_none_for_collections_and_vectors(spec):
    assert col(spec).parse(None) is None


def test_to_json_of_null_is_none():
    assert col("text").to_json(None) is None
    assert col({"type": "set", "valueType": "int"}).to_json(None) is None


# --------------------------------------------------------------------------------------------
# text, ascii, inet, uuid, timeuuid


@pytest.mark.parametrize(("spec", "value", "cell"), [
    ("text", "héllo", "héllo"),
    ("text", "", ""),
    ("text", np.str_("x"), "x"),
    ("ascii", "hello", "hello"),
    ("inet", "192.168.0.1", "192.168.0.1"),
    ("inet", "2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
    ("inet", ipaddress.ip_address("10.0.0.1"), "10.0.0.1"),
    ("inet", ipaddress.ip_address("::1"), "::1"),
    ("uuid", UUID4.upper(), UUID4),
    ("uuid", uuid.UUID(UUID4), UUID4),
    ("uuid", {"$uuid": UUID4.upper()}, UUID4),
    ("timeuuid", UUID1, UUID1),
    ("timeuuid", uuid.UUID(UUID1), UUID1),
    ("timeuuid", {"$uuid": UUID1.upper()}, UUID1),
])
def test_good_text_like_values(spec, value, cell):
    parsed = col(spec).parse(value)
    assert parsed == cell
    assert type(parsed) is str


@pytest.mark.parametrize(("spec", "value"), [
    ("text", 5), ("text", True), ("text", ["a"]), ("text", {"a": 1}), ("text", b"a"),
    ("ascii", "héllo"), ("ascii", 5),
    ("inet", "256.1.1.1"), ("inet", "example.com"), ("inet", 3232235521), ("inet", "fe80::1%eth0"),
    ("inet", "10.0.0.0/8"),
    ("uuid", "not-a-uuid"), ("uuid", UUID4.replace("-", "")), ("uuid", "{" + UUID4 + "}"),
    ("uuid", 5), ("uuid", {"$uuid": 5}),
    ("timeuuid", UUID4), ("timeuuid", "x"),
])
def test_bad_text_like_values(spec, value):
    with pytest.raises(ColumnValueError):
        col(spec).parse(value)


def test_text_reason():
    assert reason("text", 5) == "expected a string, got 5; send text as a JSON string"


def test_ascii_reason_points_at_the_character():
    assert reason("ascii", "héllo") == (
        "expected an ASCII string, got the string 'héllo' with the non-ASCII character 'é' at "
        "position 1; use a text column for Unicode strings")


def test_timeuuid_reason_names_the_version():
    assert reason("timeuuid", UUID4) == (
        f"expected a version-1 (time-based) UUID, got the version-4 UUID '{UUID4}'; timeuuid "
        "columns hold version-1 UUIDs (Python: uuid.uuid1())")


def test_text_like_round_trip():
    assert round_trip("uuid", [UUID4.upper(), None, uuid.UUID(UUID1)]) == [UUID4, None, UUID1]
    assert round_trip("inet", ["::1", None]) == ["::1", None]
    assert round_trip("ascii", [None, "a"]) == [None, "a"]


# --------------------------------------------------------------------------------------------
# booleans and integers


@pytest.mark.parametrize("value", [True, False, np.bool_(True)])
def test_good_booleans(value):
    cell = col("boolean").parse(value)
    assert cell is bool(value)


@pytest.mark.parametrize("value", [0, 1, "true", "false", 1.0, [True]])
def test_bad_booleans(value):
    with pytest.raises(ColumnValueError):
        col("boolean").parse(value)


def test_boolean_reason():
    assert reason("boolean", 1) == "expected true or false, got 1; send a JSON boolean"


def test_boolean_round_trip():
    assert round_trip("boolean", [True, None, False]) == [True, None, False]


@pytest.mark.parametrize(("spec", "value", "cell"), [
    ("tinyint", 127, 127), ("tinyint", -128, -128), ("tinyint", 5.0, 5),
    ("tinyint", np.int8(-3), -3), ("tinyint", np.float32(7.0), 7), ("tinyint", D("4"), 4),
    ("smallint", 32767, 32767), ("smallint", -32768, -32768),
    ("int", 2**31 - 1, 2**31 - 1), ("int", -(2**31), -(2**31)),
    ("bigint", 2**63 - 1, 2**63 - 1), ("bigint", -(2**63), -(2**63)), ("bigint", np.int64(9), 9),
    ("varint", 2**200, 2**200), ("varint", -(2**200), -(2**200)), ("varint", 1e20, 10**20),
])
def test_good_integers(spec, value, cell):
    parsed = col(spec).parse(value)
    assert parsed == cell
    assert type(parsed) is int


@pytest.mark.parametrize(("spec", "value"), [
    ("tinyint", 128), ("tinyint", -129), ("smallint", 32768), ("smallint", -32769),
    ("int", 2**31), ("int", -(2**31) - 1), ("bigint", 2**63), ("bigint", -(2**63) - 1),
    ("int", 1.5), ("int", float("nan")), ("int", float("inf")), ("int", D("1.5")),
    ("int", "5"), ("int", True), ("int", np.bool_(False)), ("int", [1]), ("int", {"a": 1}),
    ("varint", "5"), ("varint", False), ("varint", 0.5),
])
def test_bad_integers(spec, value):
    with pytest.raises(ColumnValueError):
        col(spec).parse(value)


@pytest.mark.parametrize(("spec", "value", "text"), [
    ("tinyint", 300, "expected an integer between -128 and 127, got 300; use a column with a "
                     "larger integer type (bigint, varint)"),
    ("smallint", -40000, "expected an integer between -32768 and 32767, got -40000; use a "
                         "column with a larger integer type (bigint, varint)"),
    ("int", "5", "expected an integer between -2147483648 and 2147483647, got the string '5'; "
                 "send a JSON number, not a string (the Data API does not convert strings)"),
    ("bigint", True, "expected an integer between -9223372036854775808 and "
                     "9223372036854775807, got the boolean true; send a number: booleans are "
                     "not numbers here"),
    ("int", 1.5, "expected an integer between -2147483648 and 2147483647, got 1.5"),
    ("varint", "5", "expected an integer, got the string '5'; send a JSON number, not a string "
                    "(the Data API does not convert strings)"),
])
def test_integer_reasons_give_the_range(spec, value, text):
    assert reason(spec, value) == text


def test_integer_round_trip_with_nulls():
    assert round_trip("tinyint", [1, None, -128, 127.0]) == [1, None, -128, 127]
    assert round_trip("bigint", [None, 2**63 - 1]) == [None, 2**63 - 1]
    assert round_trip("varint", [2**100, None]) == [2**100, None]


def test_counter_cannot_be_written():
    assert reason("counter", 5) == (
        "counter columns cannot be written through the Data API, got 5; leave the column out of "
        "inserts and updates, or use a bigint column for a number you set")


def test_counter_cells_render_and_read_back_as_ints():
    ct = col("counter")
    series = pd.Series(ct.array([3, None]))
    assert ct.cells(series) == [3, None]
    assert ct.to_json(3) == 3


# --------------------------------------------------------------------------------------------
# float and double


@pytest.mark.parametrize(("spec", "value", "cell"), [
    ("float", 1.5, 1.5), ("float", 3, 3.0), ("float", 1.1, float(np.float32(1.1))),
    ("float", D("0.25"), 0.25), ("float", np.float32(2.5), 2.5), ("float", np.int16(4), 4.0),
    ("float", 3.4028235e38, 3.4028234663852886e38), ("float", 1e-50, 0.0),
    ("double", 0.1, 0.1), ("double", 2**70, float(2**70)), ("double", D("0.1"), 0.1),
    ("double", np.float64(1e300), 1e300),
    ("double", "Infinity", math.inf), ("double", "-Infinity", -math.inf),
    ("float", "Infinity", math.inf), ("float", "-Infinity", -math.inf),
    ("float", math.inf, math.inf), ("double", -math.inf, -math.inf),
])
def test_good_floats(spec, value, cell):
    parsed = col(spec).parse(value)
    assert parsed == cell
    assert type(parsed) is float


@pytest.mark.parametrize("spec", ["float", "double"])
@pytest.mark.parametrize("value", ["NaN", math.nan, np.float32("nan"), D("NaN")])
def test_nan_values(spec, value):
    assert math.isnan(col(spec).parse(value))


@pytest.mark.parametrize(("spec", "value"), [
    ("float", 1e39), ("float", -1e39), ("float", 2**200), ("float", D("1e39")),
    ("double", 10**400), ("double", D("1e400")),
    ("float", "1.5"), ("float", "nan"), ("float", "inf"), ("float", True), ("float", [1.0]),
    ("double", "NaN "), ("double", False), ("double", {"$numberDouble": "1"}),
])
def test_bad_floats(spec, value):
    with pytest.raises(ColumnValueError):
        col(spec).parse(value)


def test_float_overflow_reason_gives_the_range():
    assert reason("float", 1e39) == (
        "expected a number between -3.4028235e+38 and 3.4028235e+38 (float32), got 1e+39; use "
        "a double column for larger numbers")


def test_double_overflow_reason_gives_the_range():
    assert reason("double", 10**400) == (
        "expected a number between -1.7976931348623157e+308 and 1.7976931348623157e+308, got an "
        "integer of 401 digits; use a decimal column")


def test_float_string_reason():
    assert reason("float", "1.5") == (
        'expected a number (or "NaN", "Infinity", "-Infinity"), got the string \'1.5\'; send a '
        'JSON number; only the strings "NaN", "Infinity" and "-Infinity" stand for numbers')


@pytest.mark.parametrize(("spec", "cell", "wire"), [
    ("float", float(np.float32(1.1)), 1.1),
    ("float", 1.5, 1.5),
    ("float", math.nan, "NaN"),
    ("float", math.inf, "Infinity"),
    ("float", -math.inf, "-Infinity"),
    ("double", 0.1, 0.1),
    ("double", math.nan, "NaN"),
    ("double", -math.inf, "-Infinity"),
])
def test_float_wire_forms(spec, cell, wire):
    assert col(spec).to_json(cell) == wire


@pytest.mark.parametrize("spec", ["float", "double"])
def test_nan_stays_distinct_from_null(spec):
    ct = col(spec)
    series = pd.Series(ct.array([ct.parse("NaN"), None, ct.parse(2.5)]))
    assert series.isna().tolist() == [False, True, False]
    cells = ct.cells(series)
    assert math.isnan(cells[0])
    assert cells[1:] == [None, 2.5]


@pytest.mark.parametrize("spec", ["float", "double"])
def test_float_round_trip_with_nulls_and_non_finite(spec):
    assert round_trip(spec, [1.5, None, "NaN", "Infinity", "-Infinity", 3]) == [
        1.5, None, "NaN", "Infinity", "-Infinity", 3.0]


def test_float_round_trip_gives_the_float32_shortest_form():
    assert round_trip("float", [1.1, 0.1]) == [1.1, 0.1]
    assert round_trip("double", [1.1, 0.1]) == [1.1, 0.1]


# --------------------------------------------------------------------------------------------
# decimal


@pytest.mark.parametrize(("value", "cell"), [
    (0.1, D("0.1")), (1, D("1")), (D("1.50"), D("1.50")), (2**70, D(2**70)),
    (np.float32(0.1), D("0.1")), (np.float64(0.1), D("0.1")), (np.int8(3), D("3")),
    (-2.5e-10, D("-2.5e-10")),
])
def test_good_decimals(value, cell):
    parsed = col("decimal").parse(value)
    assert parsed == cell
    assert str(parsed) == str(cell)


@pytest.mark.parametrize("value", ["1.5", "NaN", math.nan, math.inf, D("NaN"), D("-Infinity"),
                                   True, [1], np.float32("inf")])
def test_bad_decimals(value):
    with pytest.raises(ColumnValueError):
        col("decimal").parse(value)


def test_decimal_reasons():
    assert reason("decimal", "1.5") == (
        "expected a number, got the string '1.5'; send a JSON number, not a string (the Data API "
        "does not convert strings)")
    assert reason("decimal", math.nan) == (
        "expected a finite number, got nan; decimal columns cannot hold NaN or Infinity")


def test_decimal_round_trip_keeps_decimal_objects():
    wire = round_trip("decimal", [0.1, None, D("1.50")])
    assert wire == [D("0.1"), None, D("1.50")]
    assert [type(w) for w in wire] == [D, type(None), D]


# --------------------------------------------------------------------------------------------
# date, time, timestamp


@pytest.mark.parametrize(("value", "cell"), [
    ("2024-05-01", dt.date(2024, 5, 1)),
    ("0001-01-01", dt.date(1, 1, 1)),
    ("9999-12-31", dt.date(9999, 12, 31)),
    (dt.date(2024, 2, 29), dt.date(2024, 2, 29)),
])
def test_good_dates(value, cell):
    assert col("date").parse(value) == cell


@pytest.mark.parametrize("value", [
    "2024-02-30", "2024-5-1", "20240501", "2024-05-01T00:00:00Z", "", 20240501,
    dt.datetime(2024, 5, 1), pd.Timestamp("2024-05-01"), {"$date": 0},
])
def test_bad_dates(value):
    with pytest.raises(ColumnValueError):
        col("date").parse(value)


def test_date_reason_for_a_datetime():
    assert reason("date", dt.datetime(2024, 5, 1)) == (
        "expected a date, got the datetime 2024-05-01T00:00:00; pass value.date() to keep only "
        "the date")


def test_date_round_trip():
    assert round_trip("date", ["2024-05-01", None, dt.date(1, 1, 1)]) == [
        "2024-05-01", None, "0001-01-01"]


@pytest.mark.parametrize(("value", "cell"), [
    ("00:00:00", 0),
    ("12:30:15", (12 * 3600 + 30 * 60 + 15) * 10**9),
    ("12:30", (12 * 3600 + 30 * 60) * 10**9),
    ("23:59:59.999999999", 86_400 * 10**9 - 1),
    ("00:00:00.5", 500_000_000),
    ("00:00:01.000000001", 1_000_000_001),
    (dt.time(1, 2, 3, 4), 3_723_000_004_000),
])
def test_good_times(value, cell):
    assert col("time").parse(value) == cell


@pytest.mark.parametrize("value", [
    "24:00:00", "12:60:00", "12:00:60", "1:00:00", "12:00:00.1234567890", "12:00:00Z", "noon",
    3600, dt.time(1, 0, tzinfo=UTC), dt.datetime(2024, 1, 1, 1, 0),
])
def test_bad_times(value):
    with pytest.raises(ColumnValueError):
        col("time").parse(value)


@pytest.mark.parametrize(("cell", "wire"), [
    (0, "00:00:00"),
    (500_000_000, "00:00:00.5"),
    (1_000_000_001, "00:00:01.000000001"),
    (86_400 * 10**9 - 1, "23:59:59.999999999"),
    (3_723_000_004_000, "01:02:03.000004"),
])
def test_time_wire_form_trims_the_fraction(cell, wire):
    assert col("time").to_json(cell) == wire


def test_time_round_trip_keeps_nanoseconds():
    assert round_trip("time", ["23:59:59.999999999", None, "00:00:00.000000001", "12:30"]) == [
        "23:59:59.999999999", None, "00:00:00.000000001", "12:30:00"]


@pytest.mark.parametrize(("value", "cell"), [
    ("2024-05-01T12:30:00Z", dt.datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
    ("2024-05-01T12:30:00.123+02:00", dt.datetime(2024, 5, 1, 10, 30, 0, 123000, tzinfo=UTC)),
    ("2024-05-01T12:30:00.123987654Z", dt.datetime(2024, 5, 1, 12, 30, 0, 123000, tzinfo=UTC)),
    ("2024-05-01T12:30Z", dt.datetime(2024, 5, 1, 12, 30, tzinfo=UTC)),
    ("2024-05-01T00:30:00-0130", dt.datetime(2024, 5, 1, 2, 0, tzinfo=UTC)),
    ("2024-05-01T00:00:00+05", dt.datetime(2024, 4, 30, 19, 0, tzinfo=UTC)),
    (dt.datetime(2024, 5, 1, 12, 0, 0, 999999, tzinfo=dt.timezone(dt.timedelta(hours=1))),
     dt.datetime(2024, 5, 1, 11, 0, 0, 999000, tzinfo=UTC)),
    (pd.Timestamp("2024-05-01T12:00:00.123456789Z"),
     dt.datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)),
    (pd.Timestamp("2024-05-01T12:00:00", tz="Europe/Paris"),
     dt.datetime(2024, 5, 1, 10, 0, tzinfo=UTC)),
    ({"$date": 0}, dt.datetime(1970, 1, 1, tzinfo=UTC)),
    ({"$date": 1714566600123}, dt.datetime(2024, 5, 1, 12, 30, 0, 123000, tzinfo=UTC)),
    ({"$date": -1}, dt.datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)),
])
def test_good_timestamps(value, cell):
    parsed = col("timestamp").parse(value)
    assert parsed == cell
    assert parsed.tzinfo is UTC
    assert type(parsed) is dt.datetime


@pytest.mark.parametrize("value", [
    "2024-05-01T12:30:00", "2024-05-01T12:30:00.5", dt.datetime(2024, 5, 1, 12, 30),
    pd.Timestamp("2024-05-01T12:30:00"),
])
def test_timestamps_without_timezone_are_refused(value):
    assert "add a timezone, e.g. \"Z\" for UTC" in reason("timestamp", value)


def test_naive_timestamp_reason():
    assert reason("timestamp", "2024-05-01T12:30:00") == (
        "expected a timestamp with a timezone, got the string '2024-05-01T12:30:00'; add a "
        'timezone, e.g. "Z" for UTC ("2024-05-01T12:30:00Z") or tzinfo=datetime.timezone.utc')


@pytest.mark.parametrize("value", [
    "2024-05-01", "2024-13-01T00:00:00Z", "2024-05-01 12:30:00Z", "yesterday", 1714566600123,
    "2024-05-01T12:30:00+25:00", "0001-01-01T00:00:00+01:00", dt.date(2024, 5, 1),
    {"$date": "2024-05-01"}, {"$date": 1.5}, {"$date": True}, {"$date": 10**20},
])
def test_bad_timestamps(value):
    with pytest.raises(ColumnValueError):
        col("timestamp").parse(value)


@pytest.mark.parametrize(("cell", "wire"), [
    (dt.datetime(2024, 5, 1, 12, 30, tzinfo=UTC), "2024-05-01T12:30:00.000Z"),
    (dt.datetime(2024, 5, 1, 12, 30, 0, 5000, tzinfo=UTC), "2024-05-01T12:30:00.005Z"),
    (dt.datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00.000Z"),
    (dt.datetime(2024, 5, 1, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
     "2024-05-01T12:30:00.000Z"),
])
def test_timestamp_wire_form(cell, wire):
    assert col("timestamp").to_json(cell) == wire


def test_timestamp_round_trip():
    assert round_trip("timestamp", [
        "2024-05-01T12:30:00.123+02:00", None, {"$date": 0}, "2024-05-01T12:30:00.9999Z",
    ]) == ["2024-05-01T10:30:00.123Z", None, "1970-01-01T00:00:00.000Z",
           "2024-05-01T12:30:00.999Z"]


def test_timestamp_cells_are_utc_datetimes():
    ct = col("timestamp")
    cells = ct.cells(pd.Series(ct.array([ct.parse("2024-05-01T12:30:00.123Z")])))
    assert cells == [dt.datetime(2024, 5, 1, 12, 30, 0, 123000, tzinfo=UTC)]
    assert type(cells[0]) is dt.datetime


# --------------------------------------------------------------------------------------------
# duration

HOUR = 3600 * 10**9


@pytest.mark.parametrize(("value", "cell"), [
    ("P1Y2M3DT4H5M6.5S", (14, 3, 4 * HOUR + 5 * 60 * 10**9 + 6_500_000_000)),
    ("PT1H", (0, 0, HOUR)),
    ("P2W", (0, 14, 0)),
    ("-P1D", (0, -1, 0)),
    ("PT0S", (0, 0, 0)),
    ("PT0.000000001S", (0, 0, 1)),
    ("P1M", (1, 0, 0)),
    ("PT1M", (0, 0, 60 * 10**9)),
    ("1h30m", (0, 0, HOUR + 30 * 60 * 10**9)),
    ("2d", (0, 2, 0)),
    ("1y2mo3w4d5h6m7s8ms9us10ns", (14, 25, 18367 * 10**9 + 8_009_010)),
    ("-1h", (0, 0, -HOUR)),
    ("-1mo2d", (-1, -2, 0)),
    ("1H30M", (0, 0, HOUR + 30 * 60 * 10**9)),
    ("5µs", (0, 0, 5000)),
    (dt.timedelta(hours=36), (0, 1, 12 * HOUR)),
    (dt.timedelta(microseconds=-1), (0, 0, -1000)),
    (dt.timedelta(days=-2, hours=1), (0, -1, -23 * HOUR)),
    (pd.Timedelta("1ns"), (0, 0, 1)),
])
def test_good_durations(value, cell):
    assert col("duration").parse(value) == cell


@pytest.mark.parametrize("value", [
    "", "P", "PT", "P1DT", "1 h", "1h1h", "1m1h", "h", "1x", "P1.5D", "PT1.1234567891S",
    "--1h", "p1d", 3600, 1.5, True, [0, 0, 1], "P4294967296D",
])
def test_bad_durations(value):
    with pytest.raises(ColumnValueError):
        col("duration").parse(value)


def test_duration_unit_order_reason():
    assert reason("duration", "1m1h") == (
        'expected an ISO-8601 duration such as "P1Y2M3DT4H5M6.5S" or "PT1H", or a Cassandra '
        'duration such as "1h30m" or "1y2mo3w4d5h6m7s8ms9us10ns", got the string \'1m1h\'; '
        "give each unit at most once, largest first (y, mo, w, d, h, m, s, ms, us, ns)")


@pytest.mark.parametrize(("cell", "wire"), [
    ((14, 3, 4 * HOUR + 5 * 60 * 10**9 + 6_500_000_000), "P1Y2M3DT4H5M6.5S"),
    ((0, 0, 0), "PT0S"),
    ((0, -1, 0), "-P1D"),
    ((0, 0, -HOUR), "-PT1H"),
    ((12, 0, 0), "P1Y"),
    ((0, 14, 0), "P14D"),
    ((0, 0, 1), "PT0.000000001S"),
    ((0, 0, 90 * 10**9), "PT1M30S"),
])
def test_duration_wire_form(cell, wire):
    assert col("duration").to_json(cell) == wire


def test_duration_round_trip_both_syntaxes():
    assert round_trip("duration", ["1y2mo3w4d5h6m7s8ms9us10ns", None, "P2W", "-1h30m"]) == [
        "P1Y2M25DT5H6M7.00800901S", None, "P14D", "-PT1H30M"]


def test_duration_frame_holds_the_tuples():
    ct = col("duration")
    series = pd.Series(ct.array([ct.parse("1h30m"), None]))
    assert series.dtype == object
    assert series.tolist() == [(0, 0, HOUR + 30 * 60 * 10**9), None]
    assert ct.cells(series) == [(0, 0, HOUR + 30 * 60 * 10**9), None]


# --------------------------------------------------------------------------------------------
# blob


@pytest.mark.parametrize(("value", "cell"), [
    ({"$binary": "AAEC"}, b"\x00\x01\x02"),
    ({"$binary": ""}, b""),
    (b"ab", b"ab"),
    (bytearray(b"ab"), b"ab"),
    (memoryview(b"ab"), b"ab"),
])
def test_good_blobs(value, cell):
    parsed = col("blob").parse(value)
    assert parsed == cell
    assert type(parsed) is bytes


@pytest.mark.parametrize("value", [
    "AAEC", {"$binary": "not base64!"}, {"$binary": 5}, {"$binary": "AAEC", "x": 1}, [0, 1],
])
def test_bad_blobs(value):
    with pytest.raises(ColumnValueError):
        col("blob").parse(value)


def test_blob_round_trip():
    assert round_trip("blob", [b"\x00\xff", None, {"$binary": "YWI="}]) == [
        {"$binary": "AP8="}, None, {"$binary": "YWI="}]


# --------------------------------------------------------------------------------------------
# lists and sets

LIST_INT = {"type": "list", "valueType": "int"}
SET_INT = {"type": "set", "valueType": "int"}
SET_TEXT = {"type": "set", "valueType": "text"}


@pytest.mark.parametrize(("value", "cell"), [
    ([3, 1, 3], [3, 1, 3]),
    ((1, 2.0), [1, 2]),
    (np.array([5, 6]), [5, 6]),
    ([], None),
    ((), None),
])
def test_lists_keep_order_and_duplicates(value, cell):
    assert col(LIST_INT).parse(value) == cell


@pytest.mark.parametrize("value", [[1, None], [1, "2"], "1,2", 5, {"a": 1}, {1, 2}, [[1]]])
def test_bad_lists(value):
    with pytest.raises(ColumnValueError):
        col(LIST_INT).parse(value)


def test_list_element_reason_gives_the_position():
    assert reason(LIST_INT, [1, 2**40]) == (
        "element 1: expected an integer between -2147483648 and 2147483647, got 1099511627776; "
        "use a column with a larger integer type (bigint, varint)")
    assert reason(LIST_INT, [1, None]) == (
        "element 1 is null; lists and sets cannot hold nulls: remove it")


@pytest.mark.parametrize(("spec", "value", "cell"), [
    (SET_INT, [3, 1, 3, 2], [1, 2, 3]),
    (SET_INT, {5, 4}, [4, 5]),
    (SET_INT, frozenset([7]), [7]),
    (SET_INT, (2, 2.0), [2]),
    (SET_TEXT, ["b", "a", "b", "B"], ["B", "a", "b"]),
    ({"type": "set", "valueType": "uuid"}, [UUID4.upper(), UUID4], [UUID4]),
    ({"type": "set", "valueType": "float"}, ["NaN", 1, "NaN", -1], [-1.0, 1.0, math.nan]),
    ({"type": "set", "valueType": "date"}, ["2024-01-02", "2023-12-31"],
     [dt.date(2023, 12, 31), dt.date(2024, 1, 2)]),
    ({"type": "set", "valueType": "inet"}, ["10.0.0.2", "::1", "9.0.0.1"],
     ["9.0.0.1", "10.0.0.2", "::1"]),
    (SET_INT, [], None),
])
def test_sets_are_deduplicated_and_sorted(spec, value, cell):
    parsed = col(spec).parse(value)
    if cell is not None and any(isinstance(c, float) and math.isnan(c) for c in cell):
        assert parsed[:-1] == cell[:-1]
        assert math.isnan(parsed[-1])
    else:
        assert parsed == cell


@pytest.mark.parametrize("value", [[1, None], ["a"], {"a": 1}, "12"])
def test_bad_sets(value):
    with pytest.raises(ColumnValueError):
        col(SET_INT).parse(value)


def test_list_and_set_round_trips():
    assert round_trip(LIST_INT, [[3, 1, 3], None, []]) == [[3, 1, 3], None, None]
    assert round_trip(SET_INT, [[3, 1, 3], None, set()]) == [[1, 3], None, None]
    assert round_trip({"type": "list", "valueType": "float"}, [["NaN", 1.1]]) == [["NaN", 1.1]]
    assert round_trip({"type": "list", "valueType": "timestamp"}, [["2024-05-01T00:00:00Z"]]) == [
        ["2024-05-01T00:00:00.000Z"]]


# --------------------------------------------------------------------------------------------
# maps

MAP_TEXT_INT = {"type": "map", "keyType": "text", "valueType": "int"}
MAP_INT_TEXT = {"type": "map", "keyType": "int", "valueType": "text"}


@pytest.mark.parametrize(("spec", "value", "cell"), [
    (MAP_TEXT_INT, {"b": 2, "a": 1}, {"a": 1, "b": 2}),
    (MAP_TEXT_INT, [["b", 2], ["a", 1]], {"a": 1, "b": 2}),
    (MAP_TEXT_INT, [("a", 1)], {"a": 1}),
    (MAP_INT_TEXT, [[2, "b"], [1, "a"]], {1: "a", 2: "b"}),
    (MAP_INT_TEXT, {2: "b", 1: "a"}, {1: "a", 2: "b"}),
    ({"type": "map", "keyType": "uuid", "valueType": "boolean"}, [[UUID4.upper(), True]],
     {UUID4: True}),
    (MAP_TEXT_INT, {}, None),
    (MAP_INT_TEXT, [], None),
])
def test_good_maps(spec, value, cell):
    parsed = col(spec).parse(value)
    assert parsed == cell
    if cell is not None:
        assert list(parsed) == list(cell)  # key order


@pytest.mark.parametrize(("spec", "value"), [
    (MAP_TEXT_INT, {"a": None}),
    (MAP_TEXT_INT, [[None, 1]]),
    (MAP_TEXT_INT, {"a": "1"}),
    (MAP_TEXT_INT, [["a", 1], ["a", 2]]),
    (MAP_TEXT_INT, [["a", 1, 2]]),
    (MAP_TEXT_INT, ["a"]),
    (MAP_TEXT_INT, "a=1"),
    (MAP_INT_TEXT, {"1": "a"}),
    (MAP_INT_TEXT, [[1, "a"], [1.0, "b"]]),
])
def test_bad_maps(spec, value):
    with pytest.raises(ColumnValueError):
        col(spec).parse(value)


def test_map_with_non_text_keys_as_object_says_to_send_pairs():
    assert reason(MAP_INT_TEXT, {"1": "a"}) == (
        "map key: expected an integer between -2147483648 and 2147483647, got the string '1'; "
        "send a JSON number, not a string (the Data API does not convert strings); a JSON "
        "object has only text keys: send maps whose keys are not text as [key, value] pairs")


def test_map_duplicate_key_reason():
    assert reason(MAP_TEXT_INT, [["a", 1], ["a", 2]]) == (
        "the map key 'a' appears twice; keys must be unique: keep one entry per key")


def test_map_null_value_reason():
    assert reason(MAP_TEXT_INT, {"a": None}) == (
        "the map entry ['a', None] has a null; maps cannot hold null keys or values: remove the "
        "entry")


def test_map_value_reason_names_the_key():
    assert reason(MAP_TEXT_INT, {"a": "1"}) == (
        "value of map key 'a': expected an integer between -2147483648 and 2147483647, got the "
        "string '1'; send a JSON number, not a string (the Data API does not convert strings)")


def test_map_wire_form_is_an_object_for_text_keys():
    assert col(MAP_TEXT_INT).to_json({"a": 1, "b": 2}) == {"a": 1, "b": 2}
    ascii_map = col({"type": "map", "keyType": "ascii", "valueType": "double"})
    assert ascii_map.to_json({"x": math.inf}) == {"x": "Infinity"}


def test_map_wire_form_is_pairs_in_key_order_for_other_keys():
    assert col(MAP_INT_TEXT).to_json(col(MAP_INT_TEXT).parse({3: "c", 1: "a"})) == [
        [1, "a"], [3, "c"]]
    ts_map = col({"type": "map", "keyType": "timestamp", "valueType": "blob"})
    assert ts_map.to_json(ts_map.parse([[{"$date": 0}, b"a"]])) == [
        ["1970-01-01T00:00:00.000Z", {"$binary": "YQ=="}]]


def test_map_round_trips():
    assert round_trip(MAP_TEXT_INT, [{"b": 2, "a": 1}, None, {}]) == [
        {"a": 1, "b": 2}, None, None]
    assert round_trip(MAP_INT_TEXT, [[[2, "b"], [1, "a"]], None]) == [
        [[1, "a"], [2, "b"]], None]


# --------------------------------------------------------------------------------------------
# vectors

VECTOR_3 = {"type": "vector", "dimension": 3}


@pytest.mark.parametrize("value", [
    [1, 2.5, -3], (1, 2.5, -3), np.array([1, 2.5, -3]), np.array([1, 2.5, -3], dtype=np.float32),
    [np.float32(1), np.int64(2) + 0.5, -3.0],
    {"$binary": "P4AAAEAgAADAQAAA"},
])
def test_good_vectors(value):
    cell = col(VECTOR_3).parse(value)
    assert cell.dtype == np.float32
    assert cell.tolist() == [1.0, 2.5, -3.0]


@pytest.mark.parametrize("value", [
    [1, 2], [1, 2, 3, 4], [1, "2", 3], [1, True, 3], [1, math.nan, 3], [1, 1e39, 3],
    "text to vectorize", {"$binary": "!!"}, {"$binary": "AAAA"}, np.zeros((1, 3)), 5, [],
])
def test_bad_vectors(value):
    with pytest.raises(ColumnValueError):
        col(VECTOR_3).parse(value)


def test_vector_length_reason():
    assert reason(VECTOR_3, [1, 2]) == (
        "expected a vector of 3 numbers, got 2; send exactly 3 numbers")


def test_vector_string_reason_mentions_vectorize():
    assert reason(VECTOR_3, "hello") == (
        "expected an array of numbers or {\"$binary\": ...}, got the string 'hello'; a string is "
        "text to vectorize, which needs the column's service")


def test_vector_without_dimension_takes_any_length():
    ct = col({"type": "vector", "service": {"provider": "p", "modelName": "m"}})
    assert ct.parse([1, 2]).tolist() == [1.0, 2.0]


def test_vector_parse_copies_the_input():
    source = np.array([1, 2, 3], dtype=np.float32)
    cell = col(VECTOR_3).parse(source)
    source[0] = 9
    assert cell.tolist() == [1.0, 2.0, 3.0]


def test_vector_wire_form_is_a_float_list():
    ct = col(VECTOR_3)
    wire = ct.to_json(ct.parse([0.5, 1, -2]))
    assert wire == [0.5, 1.0, -2.0]
    assert [type(x) for x in wire] == [float, float, float]


def test_vector_array_and_cells():
    ct = col(VECTOR_3)
    cells = [ct.parse([1, 2, 3]), None]
    back = ct.cells(pd.Series(ct.array(cells)))
    assert back[0].tolist() == [1.0, 2.0, 3.0]
    assert back[1] is None


# --------------------------------------------------------------------------------------------
# arrays and cells


def test_array_of_no_cells_is_empty_and_typed():
    ct = col("float")
    array = ct.array([])
    assert len(array) == 0
    assert array.dtype == pd.Float32Dtype()
    assert ct.cells(pd.Series(array)) == []


def test_cells_accept_an_array_as_well_as_a_series():
    ct = col("int")
    assert ct.cells(ct.array([1, None])) == [1, None]


def test_cells_are_python_objects():
    cells = col("bigint").cells(pd.Series(col("bigint").array([1, None])))
    assert type(cells[0]) is int
    floats = col("float").cells(pd.Series(col("float").array([1.5])))
    assert type(floats[0]) is float
    flags = col("boolean").cells(pd.Series(col("boolean").array([True])))
    assert flags[0] is True


def test_dataframe_of_typed_columns_keeps_the_dtypes():
    spec = {"id": "text", "n": "tinyint", "x": "float", "when": "timestamp", "d": "date",
            "t": "time", "b": "blob", "tags": {"type": "set", "valueType": "text"}}
    rows = [
        {"id": "a", "n": 1, "x": "NaN", "when": "2024-05-01T00:00:00Z", "d": "2024-05-01",
         "t": "00:00:00.000000001", "b": b"x", "tags": ["z", "y"]},
        {"id": None, "n": None, "x": None, "when": None, "d": None, "t": None, "b": None,
         "tags": None},
    ]
    types = {name: col(s) for name, s in spec.items()}
    frame = pd.DataFrame({name: ct.array([ct.parse(r[name]) for r in rows])
                          for name, ct in types.items()})
    assert {name: frame[name].dtype for name in spec} == {
        name: ct.dtype for name, ct in types.items()}
    assert [[types[name].to_json(c) for c in types[name].cells(frame[name])]
            for name in spec] == [
        ["a", None], [1, None], ["NaN", None], ["2024-05-01T00:00:00.000Z", None],
        ["2024-05-01", None], ["00:00:00.000000001", None], [{"$binary": "eA=="}, None],
        [["y", "z"], None]]
