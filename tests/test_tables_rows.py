"""Table row commands (``reference/data-api.md`` §3.2, §4): insertOne, insertMany, find,
findOne, updateOne, deleteOne, deleteMany, countDocuments, estimatedDocumentCount, and the
Python ``Table`` API over them.

The JSON front door (``table.command``) returns the Data API envelope and never raises; the
Python API raises :class:`vectorize_kit.DataAPIError`.  Vector tests use 3-d columns with a
vector index and compare ``$similarity`` with values computed here with numpy; vectorize tests
use the local MiniLM model.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

import vectorize_kit as vk
from conftest import code

UTC = dt.timezone.utc
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
LOCAL = {"provider": "local", "modelName": MINILM}
VEC3 = {"type": "vector", "dimension": 3}


# -- helpers ---------------------------------------------------------------------------------

def all_rows(table) -> list[dict]:
    """Every row, in the table's order, through the Cursor (all pages)."""
    return table.find({}).to_list()


def refused(table, command: dict, error_code: str, scope: str) -> dict:
    """Run a command that must fail as a whole: the envelope holds exactly one error of this
    code and scope, and the table is unchanged. Returns the error object."""
    before = all_rows(table)
    envelope = table.command(command)
    assert list(envelope) == ["errors"], envelope
    assert len(envelope["errors"]) == 1, envelope
    assert code(envelope) == error_code, envelope
    error = envelope["errors"][0]
    assert error["scope"] == scope
    assert error["family"] == "REQUEST"
    assert all_rows(table) == before
    return error


def ids(envelope: dict) -> list:
    return [d["id"] for d in envelope["data"]["documents"]]


def cosine(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float((1 + a @ b / (np.linalg.norm(a) * np.linalg.norm(b))) / 2)


def dot_product(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float((1 + a @ b) / 2)


def euclidean(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(1 / (1 + np.sum((a - b) ** 2)))


FORMULAS = {"cosine": cosine, "dot_product": dot_product, "euclidean": euclidean}


def binary(vector) -> dict:
    """The Data API's binary vector form: base64 of big-endian float32."""
    return {"$binary": base64.b64encode(np.asarray(vector, dtype=">f4").tobytes()).decode()}


# -- fixtures --------------------------------------------------------------------------------

@pytest.fixture
def simple(db):
    """id text (key), n int, name text, v vector(3) with a cosine index."""
    t = db.create_table("simple", columns={"id": "text", "n": "int", "name": "text",
                                           "v": VEC3}, primary_key="id")
    t.create_vector_index("simple_v", "v", metric="cosine")
    return t


@pytest.fixture
def composite(db):
    """Primary key (p, s): p partition, s partition sort."""
    return db.create_table("composite", columns={"p": "text", "s": "int", "note": "text"},
                           primary_key={"partitionBy": ["p"], "partitionSort": {"s": 1}})


TYPED_COLUMNS = {
    "id": "text", "name": "text", "age": "int", "tiny": "tinyint", "big": "bigint",
    "score": "double", "ok": "boolean", "born": "timestamp", "day": "date", "uid": "uuid",
    "dec": "decimal", "blob": "blob",
    "tags": {"type": "set", "valueType": "text"},
    "nums": {"type": "set", "valueType": "int"},
    "lst": {"type": "list", "valueType": "int"},
    "m": {"type": "map", "keyType": "text", "valueType": "int"},
    "v": VEC3,
}


@pytest.fixture
def typed(db):
    return db.create_table("typed", columns=TYPED_COLUMNS, primary_key="id")


FILTER_ROWS = [
    {"id": "a", "n": 1, "name": "apple", "ts": "2024-01-01T00:00:00Z", "day": "2024-01-01",
     "dur": "PT1H", "tags": ["x", "y"], "lst": [1, 2], "m": {"k1": 1, "k2": 2},
     "v": [1, 0, 0]},
    {"id": "b", "n": 2, "name": "banana", "ts": "2024-02-01T00:00:00Z", "day": "2024-02-01",
     "dur": "PT2H", "tags": ["y"], "lst": [2, 3], "m": {"k2": 5}},
    {"id": "c", "n": 3, "name": "cherry", "ts": "2024-03-01T00:00:00Z", "day": "2024-03-01",
     "dur": "P1D", "tags": ["z"], "lst": [3], "m": {"k3": 1}},
    {"id": "d"},  # every other cell null
]


@pytest.fixture
def ftable(db):
    t = db.create_table("ftable", columns={
        "id": "text", "n": "int", "name": "text", "ts": "timestamp", "day": "date",
        "dur": "duration", "tags": {"type": "set", "valueType": "text"},
        "lst": {"type": "list", "valueType": "int"},
        "m": {"type": "map", "keyType": "text", "valueType": "int"}, "v": VEC3},
        primary_key="id")
    t.insert_many(FILTER_ROWS)
    return t


@pytest.fixture
def sorty(db):
    """Vector columns of every kind: v indexed, w not indexed, e and f vectorize (indexed)."""
    t = db.create_table("sorty", columns={
        "id": "text", "n": "int", "v": VEC3, "w": VEC3,
        "e": {"type": "vector", "service": LOCAL}, "f": {"type": "vector", "service": LOCAL}},
        primary_key="id")
    t.create_vector_index("sorty_v", "v")
    t.create_vector_index("sorty_e", "e")
    t.create_vector_index("sorty_f", "f")
    t.insert_many([{"id": "a", "n": 1, "v": [1, 0, 0], "w": [0, 1, 0]},
                   {"id": "b", "n": 2, "v": [0, 1, 0], "w": [1, 0, 0]}])
    return t


@pytest.fixture
def events(db):
    """Partitioned by p, rows of a partition newest first (partitionSort ts -1)."""
    t = db.create_table("events", columns={"p": "text", "ts": "timestamp", "note": "text"},
                        primary_key={"partitionBy": ["p"], "partitionSort": {"ts": -1}})
    for p, day in [("a", 2), ("b", 1), ("a", 3), ("a", 1), ("b", 5)]:
        t.insert_one({"p": p, "ts": f"2024-01-0{day}T00:00:00Z", "note": f"{p}{day}"})
    return t


# ============================================================================================
# insertOne / insertMany responses
# ============================================================================================

def test_insert_one_returns_key_schema_and_key_in_key_order(composite):
    envelope = composite.command({"insertOne": {"document": {"note": "n", "s": 7, "p": "a"}}})
    assert envelope == {"status": {
        "primaryKeySchema": {"p": {"type": "text"}, "s": {"type": "int"}},
        "insertedIds": [["a", 7]]}}
    result = composite.insert_one({"s": 8, "p": "b"})
    assert result.inserted_id == {"p": "b", "s": 8}
    assert result.inserted_id_tuple == ("b", 8)
    assert all_rows(composite) == [{"p": "a", "s": 7, "note": "n"}, {"p": "b", "s": 8}]


def test_insert_many_returns_inserted_ids_or_document_responses(composite):
    envelope = composite.command({"insertMany": {"documents": [
        {"p": "a", "s": 1}, {"p": "a", "s": 2}]}})
    assert envelope == {"status": {
        "primaryKeySchema": {"p": {"type": "text"}, "s": {"type": "int"}},
        "insertedIds": [["a", 1], ["a", 2]]}}
    envelope = composite.command({"insertMany": {
        "documents": [{"p": "b", "s": 1}, {"p": "c", "s": 2}],
        "options": {"returnDocumentResponses": True}}})
    assert envelope == {"status": {
        "primaryKeySchema": {"p": {"type": "text"}, "s": {"type": "int"}},
        "documentResponses": [{"_id": ["b", 1], "status": "OK"},
                              {"_id": ["c", 2], "status": "OK"}]}}
    result = composite.insert_many([{"p": "d", "s": 1}, {"p": "d", "s": 2}])
    assert result.inserted_ids == [{"p": "d", "s": 1}, {"p": "d", "s": 2}]
    assert result.inserted_id_tuples == [("d", 1), ("d", 2)]
    assert len(all_rows(composite)) == 6


def test_insert_many_unordered_reports_each_row_and_identical_errors_once(simple):
    envelope = simple.command({"insertMany": {"documents": [
        {"id": "a", "n": 1},
        {"id": "b", "n": "x"},
        {"id": "c", "n": 3},
        {"id": "d", "n": "x"},
        {"id": "e", "nope": 1},
    ], "options": {"ordered": False, "returnDocumentResponses": True}}})
    assert envelope["status"] == {
        "primaryKeySchema": {"id": {"type": "text"}},
        "documentResponses": [
            {"_id": ["a"], "status": "OK"},
            {"_id": ["b"], "status": "ERROR", "errorsIdx": 0},
            {"_id": ["c"], "status": "OK"},
            {"_id": ["d"], "status": "ERROR", "errorsIdx": 0},
            {"_id": ["e"], "status": "ERROR", "errorsIdx": 1},
        ]}
    errors = envelope["errors"]
    assert [(e["errorCode"], e["scope"], e["documentIds"]) for e in errors] == [
        ("INVALID_COLUMN_VALUES", "DOCUMENT", [["b"], ["d"]]),
        ("UNKNOWN_TABLE_COLUMNS", "DOCUMENT", [["e"]]),
    ]
    assert "n (" in errors[0]["message"]
    assert "nope" in errors[1]["message"]
    assert all_rows(simple) == [{"id": "a", "n": 1}, {"id": "c", "n": 3}]


def test_insert_many_ordered_stops_at_the_first_error(simple):
    envelope = simple.command({"insertMany": {"documents": [
        {"id": "a", "n": 1}, {"id": "b", "n": "x"}, {"id": "c", "n": 3}],
        "options": {"ordered": True, "returnDocumentResponses": True}}})
    assert envelope["status"]["documentResponses"] == [
        {"_id": ["a"], "status": "OK"},
        {"_id": ["b"], "status": "ERROR", "errorsIdx": 0},
        {"_id": ["c"], "status": "SKIPPED"},
    ]
    assert [(e["errorCode"], e["documentIds"]) for e in envelope["errors"]] == [
        ("INVALID_COLUMN_VALUES", [["b"]])]
    assert all_rows(simple) == [{"id": "a", "n": 1}]


def test_insert_many_without_document_responses_lists_only_inserted_keys(simple):
    envelope = simple.command({"insertMany": {"documents": [
        {"id": "a"}, {"id": "b", "n": "x"}, {"id": "c"}]}})
    assert envelope["status"] == {"primaryKeySchema": {"id": {"type": "text"}},
                                  "insertedIds": [["a"], ["c"]]}
    assert [(e["errorCode"], e["documentIds"]) for e in envelope["errors"]] == [
        ("INVALID_COLUMN_VALUES", [["b"]])]


def test_python_insert_many_raises_after_inserting_the_good_rows(simple):
    with pytest.raises(vk.InsertManyError) as info:
        simple.insert_many([{"id": "a"}, {"id": "b", "n": "x"}, {"id": "c"},
                            {"id": "d", "n": True}])
    assert info.value.error_code == "INVALID_COLUMN_VALUES"
    assert [e.error_code for e in info.value.errors] == ["INVALID_COLUMN_VALUES"] * 2
    assert [e.document_ids for e in info.value.errors] == [[["b"]], [["d"]]]
    # the same shape as TableInsertManyResult.inserted_ids (astrapy's TableInsertManyException)
    assert info.value.inserted_ids == [{"id": "a"}, {"id": "c"}]
    assert all_rows(simple) == [{"id": "a"}, {"id": "c"}]


# ============================================================================================
# values: type checks, unknown columns, primary keys
# ============================================================================================

@pytest.mark.parametrize("column, value", [
    ("name", 5),
    ("age", "5"),
    ("age", 1.5),
    ("age", True),
    ("tiny", 300),
    ("tiny", -129),
    ("big", 2**63),
    ("score", "1.5"),
    ("ok", "true"),
    ("born", "2024-05-01T12:30:00"),  # naive: no timezone
    ("born", "yesterday"),
    ("day", "2024-13-01"),
    ("uid", "not-a-uuid"),
    ("uid", "123e4567-e89b-12d3-a456-42661417400"),
    ("blob", "AAH/"),
    ("tags", "x"),
    ("nums", [1, "2"]),
    ("lst", [1, None]),
    ("m", {"k": "v"}),
    ("v", [1, 2]),
    ("v", [1, "a", 3]),
])
def test_invalid_column_values(typed, column, value):
    error = refused(typed, {"insertOne": {"document": {"id": "x", column: value}}},
                    "INVALID_COLUMN_VALUES", "DOCUMENT")
    assert error["title"] == "Column values in documents are not valid"
    assert f"{column} (" in error["message"].split("invalid values:")[1]
    with pytest.raises(vk.DataAPIError) as info:
        typed.insert_one({"id": "x", column: value})
    assert info.value.error_code == "INVALID_COLUMN_VALUES"
    assert all_rows(typed) == []


def test_naive_python_datetime_is_refused(typed):
    with pytest.raises(vk.DataAPIError) as info:
        typed.insert_one({"id": "x", "born": dt.datetime(2024, 5, 1, 12, 30)})
    assert info.value.error_code == "INVALID_COLUMN_VALUES"
    assert info.value.scope == "DOCUMENT"
    assert "born (" in info.value.message
    assert all_rows(typed) == []


@pytest.mark.parametrize("column, value, wire", [
    ("tiny", 127, 127),
    ("tiny", -128, -128),
    ("big", 2**63 - 1, 2**63 - 1),
    ("born", "2024-05-01T12:30:00Z", "2024-05-01T12:30:00.000Z"),
    ("born", "2024-05-01T14:30:00.123456+02:00", "2024-05-01T12:30:00.123Z"),
    ("born", {"$date": 1714566600000}, "2024-05-01T12:30:00.000Z"),
    ("day", "2024-02-29", "2024-02-29"),
    ("uid", "123E4567-E89B-12D3-A456-426614174000", "123e4567-e89b-12d3-a456-426614174000"),
    ("score", "NaN", "NaN"),
    ("score", "-Infinity", "-Infinity"),
    ("score", 2.5, 2.5),
    ("dec", 0.1, Decimal("0.1")),
    ("blob", {"$binary": "AAH/"}, {"$binary": "AAH/"}),
    ("tags", ["b", "a", "b"], ["a", "b"]),
    ("lst", [3, 1, 3], [3, 1, 3]),
    ("m", {"b": 2, "a": 1}, {"a": 1, "b": 2}),
    ("m", [["b", 2], ["a", 1]], {"a": 1, "b": 2}),
    ("v", [0.5, 0.25, 1], [0.5, 0.25, 1.0]),
    ("v", binary([0.5, 0.25, 1]), [0.5, 0.25, 1.0]),
])
def test_values_round_trip_in_wire_form(typed, column, value, wire):
    typed.command({"insertOne": {"document": {"id": "x", column: value}}})
    envelope = typed.command({"findOne": {"filter": {"id": "x"}}})
    assert envelope["data"]["document"] == {"id": "x", column: wire}
    assert type(envelope["data"]["document"][column]) is type(wire)


def test_empty_collections_are_null(typed):
    typed.insert_one({"id": "x", "tags": [], "lst": [], "m": {}})
    assert typed.find_one({"id": "x"}) == {"id": "x"}


def test_python_values_are_accepted_and_returned_in_wire_form(typed):
    typed.insert_one({
        "id": "py",
        "born": dt.datetime(2024, 5, 1, 14, 30, 0, 123456,
                            tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "day": dt.date(2024, 5, 1),
        "dec": Decimal("12.345"),
        "blob": b"\x00\x01\xff",
        "v": np.array([0.5, 0.25, 1.0], dtype=np.float32),
        "tags": {"b", "a"},
        "nums": frozenset({3, 1}),
        "score": np.float64(0.75),
        "age": np.int32(41),
    })
    doc = typed.find_one({"id": "py"})
    assert doc == {
        "id": "py", "age": 41, "score": 0.75, "born": "2024-05-01T12:30:00.123Z",
        "day": "2024-05-01", "dec": Decimal("12.345"), "blob": {"$binary": "AAH/"},
        "tags": ["a", "b"], "nums": [1, 3], "v": [0.5, 0.25, 1.0]}
    assert type(doc["age"]) is int
    assert type(doc["dec"]) is Decimal
    # Python values work in filters too
    assert typed.find_one({"born": dt.datetime(2024, 5, 1, 12, 30, 0, 123000, tzinfo=UTC)},
                          projection={"id": 1}) == {"id": "py"}
    assert typed.find_one({"day": dt.date(2024, 5, 1)}, projection={"id": 1}) == {"id": "py"}


def test_unknown_columns_on_insert(simple):
    error = refused(simple, {"insertOne": {"document": {"id": "a", "nope": 1, "zzz": 2}}},
                    "UNKNOWN_TABLE_COLUMNS", "DOCUMENT")
    assert error["title"] == "Columns in documents are not defined in the table schema"
    assert "nope" in error["message"] and "zzz" in error["message"]
    with pytest.raises(vk.DataAPIError) as info:
        simple.insert_one({"id": "a", "nope": 1})
    assert info.value.error_code == "UNKNOWN_TABLE_COLUMNS"
    assert info.value.scope == "DOCUMENT"


@pytest.mark.parametrize("row", [
    {"p": "a"},
    {"s": 1},
    {"p": None, "s": 1},
    {"p": "a", "s": None},
    {},
    {"note": "x"},
])
def test_missing_primary_key_columns(composite, row):
    error = refused(composite, {"insertOne": {"document": row}},
                    "MISSING_PRIMARY_KEY_COLUMNS", "DOCUMENT")
    assert error["title"] == "Primary key columns missing"
    with pytest.raises(vk.DataAPIError) as info:
        composite.insert_one(row)
    assert info.value.error_code == "MISSING_PRIMARY_KEY_COLUMNS"


def test_non_object_rows(simple):
    refused(simple, {"insertOne": {"document": ["id", "a"]}}, "SHRED_BAD_DOCUMENT_TYPE",
            "DOCUMENT")
    refused(simple, {"insertOne": {"document": "a"}}, "SHRED_BAD_DOCUMENT_TYPE", "DOCUMENT")
    envelope = simple.command({"insertMany": {"documents": [{"id": "a"}, 5],
                                              "options": {"returnDocumentResponses": True}}})
    assert [r["status"] for r in envelope["status"]["documentResponses"]] == ["OK", "ERROR"]
    assert [e["errorCode"] for e in envelope["errors"]] == ["SHRED_BAD_DOCUMENT_TYPE"]
    assert all_rows(simple) == [{"id": "a"}]


# ============================================================================================
# Cassandra upserts
# ============================================================================================

def test_insert_of_an_existing_key_overwrites_given_columns_and_keeps_others(simple):
    simple.insert_one({"id": "a", "n": 1, "name": "x", "v": [1, 0, 0]})
    envelope = simple.command({"insertOne": {"document": {"id": "a", "n": 2}}})
    assert envelope["status"]["insertedIds"] == [["a"]]
    assert all_rows(simple) == [{"id": "a", "n": 2, "name": "x", "v": [1.0, 0.0, 0.0]}]
    simple.insert_one({"id": "a", "name": None, "v": None})  # explicit null clears
    assert all_rows(simple) == [{"id": "a", "n": 2}]
    assert simple.estimated_document_count() == 1


def test_repeated_key_in_one_insert_many_last_wins_per_column(simple):
    envelope = simple.command({"insertMany": {"documents": [
        {"id": "a", "n": 1, "name": "x"},
        {"id": "b", "n": 10},
        {"id": "a", "n": 2},
        {"id": "a", "name": "y", "v": [0, 1, 0]},
    ], "options": {"ordered": True, "returnDocumentResponses": True}}})
    assert envelope["status"]["documentResponses"] == [
        {"_id": ["a"], "status": "OK"}, {"_id": ["b"], "status": "OK"},
        {"_id": ["a"], "status": "OK"}, {"_id": ["a"], "status": "OK"}]
    assert all_rows(simple) == [{"id": "a", "n": 2, "name": "y", "v": [0.0, 1.0, 0.0]},
                                {"id": "b", "n": 10}]


# ============================================================================================
# vectorize
# ============================================================================================

@pytest.fixture
def books(db):
    t = db.create_table("books", columns={
        "title": "text", "e": {"type": "vector", "service": LOCAL}, "v": VEC3},
        primary_key="title")
    t.create_vector_index("books_e", "e", metric="cosine")
    return t


def test_vectorize_on_insert_and_search_with_the_same_text(books):
    books.insert_many([{"title": "cat", "e": "The cat sat on the mat."},
                       {"title": "stocks", "e": "Stock markets fell sharply on Monday."}])
    stored = books.find_one({"title": "cat"})["e"]
    assert len(stored) == 384
    assert np.linalg.norm(stored) == pytest.approx(1.0, abs=1e-5)
    frame = books.to_pandas(projection=["title", "e"])
    assert frame["e"][0].dtype == np.float32
    assert frame["e"][0].tolist() == stored
    envelope = books.command({"find": {
        "sort": {"e": "The cat sat on the mat."}, "projection": {"title": 1},
        "options": {"includeSimilarity": True, "includeSortVector": True}}})
    docs = envelope["data"]["documents"]
    assert [d["title"] for d in docs] == ["cat", "stocks"]
    assert docs[0]["$similarity"] == pytest.approx(1.0, abs=1e-5)
    assert docs[1]["$similarity"] < 0.75
    assert envelope["status"]["projectionSchema"] == {"title": {"type": "text"}}
    assert envelope["status"]["sortVector"] == pytest.approx(stored, abs=1e-5)
    # the Python API
    found = books.find({}, sort={"e": "Stock markets fell sharply on Monday."}, limit=1,
                       include_similarity=True).to_list()
    assert [d["title"] for d in found] == ["stocks"]
    assert found[0]["$similarity"] == pytest.approx(1.0, abs=1e-5)


def test_vectorize_string_without_service(books):
    error = refused(books, {"insertOne": {"document": {"title": "a", "v": "some text"}}},
                    "UNSUPPORTED_VECTORIZE_WHEN_MISSING_VECTORIZE_DEFINITION", "DOCUMENT")
    assert "v" in error["message"].split("without vectorize configuration:")[1]
    with pytest.raises(vk.DataAPIError) as info:
        books.insert_one({"title": "a", "v": "some text"})
    assert info.value.error_code == "UNSUPPORTED_VECTORIZE_WHEN_MISSING_VECTORIZE_DEFINITION"
    assert info.value.scope == "DOCUMENT"


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_vectorize_text_is_a_null_vector(books, blank):
    books.insert_one({"title": "a", "e": "Some text"})
    books.insert_one({"title": "a", "e": blank})
    assert books.find_one({"title": "a"}) == {"title": "a"}
    assert books.to_pandas()["e"].tolist() == [None]


def test_two_vectorize_models_in_one_request_are_refused(ws, db):
    ws.integrations.add_credential("huggingface", "hf-key", "tok", databases=[db])
    t = db.create_table("mixed", columns={
        "id": "text", "e1": {"type": "vector", "service": LOCAL},
        "e2": {"type": "vector", "service": {"provider": "huggingface",
                                             "modelName": "BAAI/bge-small-en-v1.5"}}},
        primary_key="id")
    refused(t, {"insertOne": {"document": {"id": "a", "e1": "one", "e2": "two"}}},
            "UNSUPPORTED_VECTORIZE_CONFIGURATIONS", "DOCUMENT")
    refused(t, {"insertMany": {"documents": [{"id": "a", "e1": "one"},
                                             {"id": "b", "e2": "two"}]}},
            "UNSUPPORTED_VECTORIZE_CONFIGURATIONS", "DOCUMENT")
    with pytest.raises(vk.DataAPIError) as info:
        t.insert_one({"id": "a", "e1": "one", "e2": "two"})
    assert info.value.error_code == "UNSUPPORTED_VECTORIZE_CONFIGURATIONS"
    # a vector for one and text for the other is fine: one configuration is used
    t.insert_one({"id": "a", "e1": "one", "e2": [0.0] * 383 + [1.0]})
    assert [len(r["e1"]) for r in all_rows(t)] == [384]


def test_same_model_on_two_columns_in_one_request(sorty):
    sorty.insert_one({"id": "x", "e": "A red apple.", "f": "Quantum computing."})
    row = sorty.find_one({"id": "x"})
    e, f = np.asarray(row["e"]), np.asarray(row["f"])
    assert e.shape == f.shape == (384,)
    assert np.linalg.norm(e) == pytest.approx(1.0, abs=1e-5)
    assert np.linalg.norm(f) == pytest.approx(1.0, abs=1e-5)
    assert cosine(e, f) < 0.75
    top = sorty.find_one({}, sort={"f": "Quantum computing."}, include_similarity=True)
    assert top["id"] == "x"
    assert top["$similarity"] == pytest.approx(1.0, abs=1e-5)


# ============================================================================================
# find: filters
# ============================================================================================

@pytest.mark.parametrize("flt, expected", [
    ({}, ["a", "b", "c", "d"]),
    ({"n": 2}, ["b"]),
    ({"n": {"$eq": 2}}, ["b"]),
    ({"id": "c"}, ["c"]),
    ({"n": {"$ne": 2}}, ["a", "c", "d"]),
    ({"n": {"$in": [1, 3]}}, ["a", "c"]),
    ({"n": {"$nin": [1, 3]}}, ["b", "d"]),
    ({"n": {"$gt": 1}}, ["b", "c"]),
    ({"n": {"$gte": 2, "$lt": 3}}, ["b"]),
    ({"n": {"$lte": 2}}, ["a", "b"]),
    ({"name": {"$gt": "apple"}}, ["b", "c"]),
    ({"name": {"$lt": "b"}}, ["a"]),
    ({"name": {"$gte": "banana", "$lte": "banana"}}, ["b"]),
    ({"ts": {"$gte": "2024-02-01T00:00:00Z"}}, ["b", "c"]),
    ({"ts": {"$lt": "2024-02-01T01:00:00+01:00"}}, ["a"]),
    ({"ts": "2024-03-01T00:00:00.000Z"}, ["c"]),
    ({"ts": {"$lte": {"$date": 1704067200000}}}, ["a"]),
    ({"day": {"$gt": "2024-01-15"}}, ["b", "c"]),
    ({"day": {"$lte": "2024-02-01"}}, ["a", "b"]),
    ({"dur": "PT1H"}, ["a"]),
    ({"dur": "1h"}, ["a"]),
    ({"dur": {"$in": ["PT2H", "1d"]}}, ["b", "c"]),
    ({"dur": {"$ne": "PT1H"}}, ["b", "c", "d"]),
    ({"$or": [{"n": 1}, {"name": "cherry"}]}, ["a", "c"]),
    ({"$and": [{"n": {"$gte": 1}}, {"name": {"$ne": "banana"}}]}, ["a", "c"]),
    ({"$or": [{"n": 1}, {"$and": [{"n": {"$gt": 1}}, {"day": "2024-03-01"}]}]}, ["a", "c"]),
    ({"tags": {"$in": ["y"]}}, ["a", "b"]),
    ({"tags": {"$in": ["x", "z"]}}, ["a", "c"]),
    ({"tags": {"$nin": ["y"]}}, ["c", "d"]),
    ({"tags": {"$all": ["x", "y"]}}, ["a"]),
    ({"lst": {"$in": [3]}}, ["b", "c"]),
    ({"lst": {"$all": [2, 3]}}, ["b"]),
    ({"lst": {"$nin": [2]}}, ["c", "d"]),
    ({"m": {"$keys": {"$in": ["k2"]}}}, ["a", "b"]),
    ({"m": {"$keys": {"$all": ["k1", "k2"]}}}, ["a"]),
    ({"m": {"$keys": {"$nin": ["k2"]}}}, ["c", "d"]),
    ({"m": {"$values": {"$in": [1]}}}, ["a", "c"]),
    ({"m": {"$values": {"$all": [1, 2]}}}, ["a"]),
    ({"m": {"$in": [["k2", 5]]}}, ["b"]),
    ({"m": {"$all": [["k1", 1], ["k2", 2]]}}, ["a"]),
    ({"m": {"$nin": [["k1", 1]]}}, ["b", "c", "d"]),
])
def test_filters(ftable, flt, expected):
    envelope = ftable.command({"find": {"filter": flt, "projection": {"id": 1}}})
    assert sorted(ids(envelope)) == expected
    assert sorted(d["id"] for d in ftable.find(flt)) == expected
    count = ftable.command({"countDocuments": {"filter": flt}})
    assert count == {"status": {"count": len(expected)}}


@pytest.mark.parametrize("flt", [
    {"n": {"$gt": 0}}, {"n": {"$lt": 100}}, {"name": {"$in": ["apple", "banana", "cherry"]}},
    {"ts": {"$gte": "2000-01-01T00:00:00Z"}}, {"day": {"$lt": "2100-01-01"}},
    {"tags": {"$in": ["x", "y", "z"]}}, {"lst": {"$in": [1, 2, 3]}},
    {"m": {"$keys": {"$in": ["k1", "k2", "k3"]}}}, {"m": {"$values": {"$in": [1, 2, 5]}}},
])
def test_null_cells_match_only_ne_and_nin(ftable, flt):
    assert "d" not in ids(ftable.command({"find": {"filter": flt}}))


@pytest.mark.parametrize("flt, error_code", [
    ({"nope": 1}, "UNKNOWN_TABLE_COLUMNS"),
    ({"$or": [{"n": 1}, {"nope": {"$gt": 1}}]}, "UNKNOWN_TABLE_COLUMNS"),
    ({"n": "one"}, "INVALID_FILTER_COLUMN_VALUES"),
    ({"n": {"$in": [1, "two"]}}, "INVALID_FILTER_COLUMN_VALUES"),
    ({"ts": "2024-01-01T00:00:00"}, "INVALID_FILTER_COLUMN_VALUES"),
    ({"day": {"$gt": "January"}}, "INVALID_FILTER_COLUMN_VALUES"),
    ({"v": [1, 0, 0]}, "UNSUPPORTED_FILTERING_FOR_COLUMN_TYPES"),
    ({"v": {"$ne": [1, 0, 0]}}, "UNSUPPORTED_FILTERING_FOR_COLUMN_TYPES"),
    ({"n": {"$regex": "1"}}, "FILTER_UNSUPPORTED_OPERATOR"),
    ({"n": {"$nope": 1}}, "FILTER_UNSUPPORTED_OPERATOR"),
    ({"$nope": [{"n": 1}]}, "FILTER_UNSUPPORTED_OPERATOR"),
    ({"dur": {"$gt": "PT1H"}}, "UNSUPPORTED_COMPARISON_FILTER_AGAINST_DURATION"),
    ({"dur": {"$lte": "1d"}}, "UNSUPPORTED_COMPARISON_FILTER_AGAINST_DURATION"),
    ({"tags": "x"}, "INVALID_MAP_SET_LIST_FILTER"),
    ({"tags": {"$eq": ["x", "y"]}}, "INVALID_MAP_SET_LIST_FILTER"),
    ({"lst": {"$gt": 1}}, "INVALID_MAP_SET_LIST_FILTER"),
    ({"m": {"$keys": "k1"}}, "INVALID_MAP_SET_LIST_FILTER"),
    ({"m": {"$in": ["k1"]}}, "INVALID_MAP_SET_LIST_FILTER"),
    ({"m": {"$values": {"$gt": 1}}}, "INVALID_MAP_SET_LIST_FILTER"),
])
def test_filter_errors(ftable, flt, error_code):
    error = refused(ftable, {"find": {"filter": flt}}, error_code, "FILTER")
    if error_code == "UNKNOWN_TABLE_COLUMNS":
        assert error["title"] == "Columns in the filter are not defined in the table schema"
        assert "nope" in error["message"]
    refused(ftable, {"findOne": {"filter": flt}}, error_code, "FILTER")
    refused(ftable, {"countDocuments": {"filter": flt}}, error_code, "FILTER")
    with pytest.raises(vk.DataAPIError) as info:
        ftable.find(flt).to_list()
    assert info.value.error_code == error_code
    assert info.value.scope == "FILTER"


# ============================================================================================
# find: envelope, projections, similarity, pages, sorts
# ============================================================================================

SIMPLE_SCHEMA = {"id": {"type": "text"}, "n": {"type": "int"}, "name": {"type": "text"},
                 "v": {"type": "vector", "dimension": 3}}


def test_projection_schema_and_page_state_are_always_present(simple):
    assert simple.command({"find": {}}) == {
        "data": {"documents": [], "nextPageState": None},
        "status": {"projectionSchema": SIMPLE_SCHEMA}}
    assert simple.command({"findOne": {"filter": {"id": "none"}}}) == {
        "data": {"document": None}, "status": {"projectionSchema": SIMPLE_SCHEMA}}
    simple.insert_one({"id": "a", "n": None, "name": "x"})  # null cells are left out
    assert simple.command({"find": {"filter": {"id": "a"}}}) == {
        "data": {"documents": [{"id": "a", "name": "x"}], "nextPageState": None},
        "status": {"projectionSchema": SIMPLE_SCHEMA}}
    assert simple.command({"findOne": {"filter": {"n": 5}, "projection": {"n": 1}}}) == {
        "data": {"document": None}, "status": {"projectionSchema": {"n": {"type": "int"}}}}
    assert simple.find_one({"id": "none"}) is None


def test_projections(simple):
    simple.insert_one({"id": "a", "n": 1, "name": "x", "v": [1, 2, 3]})
    assert simple.command({"find": {"projection": {"v": 1, "id": 1}}}) == {
        "data": {"documents": [{"id": "a", "v": [1.0, 2.0, 3.0]}], "nextPageState": None},
        "status": {"projectionSchema": {"id": {"type": "text"},
                                        "v": {"type": "vector", "dimension": 3}}}}
    assert simple.command({"find": {"projection": {"v": 0, "name": False}}}) == {
        "data": {"documents": [{"id": "a", "n": 1}], "nextPageState": None},
        "status": {"projectionSchema": {"id": {"type": "text"}, "n": {"type": "int"}}}}
    assert simple.find_one({}, projection={"name": 1}) == {"name": "x"}
    error = refused(simple, {"find": {"projection": {"id": 1, "nope": 1}}},
                    "UNKNOWN_TABLE_COLUMNS", "PROJECTION")
    assert error["title"] == "Columns in the projection are not defined in the table schema"
    refused(simple, {"findOne": {"projection": {"nope": 0}}}, "UNKNOWN_TABLE_COLUMNS",
            "PROJECTION")
    with pytest.raises(vk.DataAPIError) as info:
        simple.find({}, projection={"nope": 1}).to_list()
    assert info.value.error_code == "UNKNOWN_TABLE_COLUMNS"
    assert info.value.scope == "PROJECTION"


QUERY = [0.8, 0.6, 0.0]
METRIC_VECTORS = {
    "a": [1.0, 0.0, 0.0],
    "b": [0.6, 0.8, 0.0],
    "c": [0.0, 0.0, 1.0],
    "d": [-0.6, 0.0, 0.8],
    "e": [2.0, 2.0, 0.0],  # long: first for cosine and dot_product, far for euclidean
}


@pytest.mark.parametrize("metric", ["cosine", "dot_product", "euclidean"])
def test_similarity_matches_the_metric_formula(db, metric):
    t = db.create_table("m", columns={"id": "text", "v": VEC3}, primary_key="id")
    t.create_vector_index("m_v", "v", metric=metric)
    t.insert_many([{"id": k, "v": v} for k, v in METRIC_VECTORS.items()])
    q32 = np.asarray(QUERY, np.float32)
    expected = {k: FORMULAS[metric](v, q32) for k, v in METRIC_VECTORS.items()}
    order = sorted(expected, key=lambda k: -expected[k])
    envelope = t.command({"find": {"sort": {"v": QUERY}, "projection": {"id": 1},
                                   "options": {"includeSimilarity": True}}})
    assert envelope["status"] == {"projectionSchema": {"id": {"type": "text"}}}
    docs = envelope["data"]["documents"]
    assert [d["id"] for d in docs] == order
    assert [d["$similarity"] for d in docs] == pytest.approx(
        [expected[k] for k in order], rel=1e-6)
    # the same by a binary vector, with a limit; and findOne
    envelope = t.command({"find": {"sort": {"v": binary(QUERY)}, "projection": {"id": 1},
                                   "options": {"includeSimilarity": True, "limit": 2}}})
    assert [d["id"] for d in envelope["data"]["documents"]] == order[:2]
    assert [d["$similarity"] for d in envelope["data"]["documents"]] == pytest.approx(
        [expected[k] for k in order[:2]], rel=1e-6)
    # a filter selects the rows the vector sort ranks
    envelope = t.command({"find": {"filter": {"id": {"$in": ["a", "c", "e"]}},
                                   "sort": {"v": QUERY}, "projection": {"id": 1}}})
    assert ids(envelope) == [k for k in order if k in ("a", "c", "e")]
    top = t.command({"findOne": {"sort": {"v": QUERY}, "options": {"includeSimilarity": True}}})
    assert top["data"]["document"]["id"] == order[0]
    assert top["data"]["document"]["$similarity"] == pytest.approx(expected[order[0]], rel=1e-6)


def test_include_sort_vector(simple):
    simple.insert_many([{"id": "a", "v": [1, 0, 0]}, {"id": "b", "v": [0, 1, 0]}])
    envelope = simple.command({"find": {"sort": {"v": binary(QUERY)},
                                        "options": {"includeSortVector": True}}})
    assert envelope["status"]["sortVector"] == np.asarray(QUERY, np.float32).tolist()
    assert ids(envelope) == ["a", "b"]
    assert "$similarity" not in envelope["data"]["documents"][0]
    envelope = simple.command({"findOne": {"sort": {"v": QUERY},
                                           "options": {"includeSortVector": True}}})
    assert envelope["status"]["sortVector"] == np.asarray(QUERY, np.float32).tolist()
    cursor = simple.find({}, sort={"v": QUERY}, include_sort_vector=True)
    assert cursor.get_sort_vector() == np.asarray(QUERY, np.float32).tolist()


@pytest.fixture
def many(db):
    t = db.create_table("many", columns={"id": "text", "n": "int"}, primary_key="id")
    t.insert_many([{"id": f"r{i:02d}", "n": i} for i in range(45)])
    return t


def test_pages_of_twenty_through_page_state(many):
    seen, page, sizes = [], None, []
    while True:
        options = {"pageState": page} if page else {}
        envelope = many.command({"find": {"options": options}})
        docs = envelope["data"]["documents"]
        sizes.append(len(docs))
        seen += [d["id"] for d in docs]
        page = envelope["data"]["nextPageState"]
        if page is None:
            break
        assert isinstance(page, str)
    assert sizes == [20, 20, 5]
    assert seen == [f"r{i:02d}" for i in range(45)]


def test_limit_and_cursor(many):
    first = many.command({"find": {"options": {"limit": 30}}})
    assert len(first["data"]["documents"]) == 20
    second = many.command({"find": {"options": {
        "limit": 30, "pageState": first["data"]["nextPageState"]}}})
    assert ids(second) == [f"r{i:02d}" for i in range(20, 30)]
    assert second["data"]["nextPageState"] is None
    assert [d["id"] for d in many.find({})] == [f"r{i:02d}" for i in range(45)]
    assert [d["id"] for d in many.find({}, limit=25)] == [f"r{i:02d}" for i in range(25)]
    assert [d["n"] for d in many.find({"n": {"$gte": 40}})] == [40, 41, 42, 43, 44]
    frame = many.find({"n": {"$lt": 3}}).to_pandas()
    assert frame.to_dict("records") == [{"id": "r00", "n": 0}, {"id": "r01", "n": 1},
                                        {"id": "r02", "n": 2}]


@pytest.fixture
def scores(db):
    t = db.create_table("scores", columns={"id": "text", "grp": "text", "n": "int"},
                        primary_key="id")
    t.insert_many([{"id": "a", "grp": "x", "n": 5}, {"id": "b", "grp": "y", "n": 3},
                   {"id": "c", "grp": "x", "n": 9}, {"id": "d", "grp": "y", "n": 1},
                   {"id": "e", "grp": "x", "n": 7}])
    return t


@pytest.mark.parametrize("sort, options, expected", [
    ({"n": 1}, {}, ["d", "b", "a", "e", "c"]),
    ({"n": -1}, {}, ["c", "e", "a", "b", "d"]),
    ({"n": -1}, {"skip": 1, "limit": 2}, ["e", "a"]),
    ({"n": 1}, {"skip": 3}, ["e", "c"]),
    ({"grp": 1, "n": -1}, {}, ["c", "e", "a", "b", "d"]),
    ({"grp": -1, "n": 1}, {"limit": 3}, ["d", "b", "a"]),
])
def test_regular_sort_with_skip_and_limit(scores, sort, options, expected):
    envelope = scores.command({"find": {"sort": sort, "options": options}})
    assert ids(envelope) == expected
    found = scores.find({}, sort=sort, skip=options.get("skip"), limit=options.get("limit"))
    assert [d["id"] for d in found] == expected


def test_natural_order_follows_partition_sort(events):
    envelope = events.command({"find": {"filter": {"p": "a"}, "projection": {"note": 1}}})
    assert [d["note"] for d in envelope["data"]["documents"]] == ["a3", "a2", "a1"]
    assert [d["note"] for d in events.find({})] == ["a3", "a2", "a1", "b5", "b1"]
    assert events.find_one({"p": "b"}) == {"p": "b", "ts": "2024-01-05T00:00:00.000Z",
                                           "note": "b5"}


# ============================================================================================
# vector sort errors
# ============================================================================================

@pytest.mark.parametrize("sort, options, error_code", [
    ({"v": [1, 0, 0], "w": [1, 0, 0]}, {}, "CANNOT_SORT_ON_MULTIPLE_VECTORS"),
    ({"e": "apples", "f": "pears"}, {}, "CANNOT_SORT_ON_MULTIPLE_VECTORIZE"),
    ({"v": [1, 0, 0], "n": 1}, {}, "CANNOT_SORT_VECTOR_AND_NON_VECTOR_COLUMNS"),
    ({"n": -1, "e": "apples"}, {}, "CANNOT_SORT_VECTOR_AND_NON_VECTOR_COLUMNS"),
    ({"w": [1, 0, 0]}, {}, "CANNOT_VECTOR_SORT_NON_INDEXED_VECTOR_COLUMNS"),
    ({"v": "apples"}, {}, "CANNOT_VECTORIZE_SORT_WHEN_MISSING_VECTORIZE_DEFINITION"),
    ({"n": [1, 0, 0]}, {}, "CANNOT_VECTOR_SORT_NON_VECTOR_COLUMNS"),
    ({"id": binary([1, 0, 0])}, {}, "CANNOT_VECTOR_SORT_NON_VECTOR_COLUMNS"),
    ({"n": "apples"}, {}, "CANNOT_VECTORIZE_SORT_NON_VECTOR_COLUMN"),
    ({"v": [1, 0, 0]}, {"skip": 1}, "CANNOT_VECTOR_SORT_WITH_SKIP_OPTION"),
    ({"e": "apples"}, {"skip": 0}, "CANNOT_VECTOR_SORT_WITH_SKIP_OPTION"),
    ({"v": [1, 0, 0]}, {"limit": 1001}, "CANNOT_VECTOR_SORT_WITH_LIMIT_EXCEEDS_MAX"),
    ({"v": [1, 0]}, {}, "CANNOT_VECTOR_SORT_ON_MISMATCHED_VECTOR_DIMENSIONS"),
    ({"v": binary([1, 0, 0, 0])}, {}, "CANNOT_VECTOR_SORT_ON_MISMATCHED_VECTOR_DIMENSIONS"),
    ({"nope": 1}, {}, "CANNOT_SORT_UNKNOWN_COLUMNS"),
    ({"nope": [1, 0, 0]}, {}, "CANNOT_SORT_UNKNOWN_COLUMNS"),
])
def test_vector_sort_errors(sorty, sort, options, error_code):
    refused(sorty, {"find": {"sort": sort, "options": options}}, error_code, "SORT")
    if not options:
        refused(sorty, {"findOne": {"sort": sort}}, error_code, "SORT")
    with pytest.raises(vk.DataAPIError) as info:
        sorty.find({}, sort=sort, **{k: v for k, v in options.items()}).to_list()
    assert info.value.error_code == error_code
    assert info.value.scope == "SORT"


def test_vector_sort_limit_of_1000_is_allowed(sorty):
    envelope = sorty.command({"find": {"sort": {"v": [1, 0, 0]}, "options": {"limit": 1000}}})
    assert ids(envelope) == ["a", "b"]


# ============================================================================================
# updateOne
# ============================================================================================

@pytest.fixture
def upd(db):
    t = db.create_table("upd", columns={
        "id": "text", "n": "int", "name": "text",
        "tags": {"type": "set", "valueType": "text"},
        "lst": {"type": "list", "valueType": "int"},
        "m": {"type": "map", "keyType": "text", "valueType": "int"},
        "v": VEC3, "e": {"type": "vector", "service": LOCAL}}, primary_key="id")
    t.create_vector_index("upd_e", "e")
    t.insert_one({"id": "a", "n": 1, "name": "x", "tags": ["t1"], "lst": [1, 2],
                  "m": {"k1": 1}, "v": [1, 0, 0]})
    return t


def row_a(table) -> dict:
    return table.find_one({"id": "a"}, projection={"e": 0})


def test_update_set_and_unset(upd):
    envelope = upd.command({"updateOne": {"filter": {"id": "a"},
                                          "update": {"$set": {"n": 5, "v": [0, 0, 1]},
                                                     "$unset": {"name": ""}}}})
    assert envelope == {"status": {"matchedCount": 1, "modifiedCount": 1}}
    assert row_a(upd) == {"id": "a", "n": 5, "tags": ["t1"], "lst": [1, 2], "m": {"k1": 1},
                          "v": [0.0, 0.0, 1.0]}
    upd.update_one({"id": "a"}, {"$unset": {"v": "", "tags": ""}})
    assert row_a(upd) == {"id": "a", "n": 5, "lst": [1, 2], "m": {"k1": 1}}


@pytest.mark.parametrize("update, changed", [
    ({"$push": {"lst": 3}}, {"lst": [1, 2, 3]}),
    ({"$push": {"lst": {"$each": [2, 9]}}}, {"lst": [1, 2, 2, 9]}),
    ({"$push": {"tags": "t0"}}, {"tags": ["t0", "t1"]}),
    ({"$push": {"tags": {"$each": ["t3", "t1", "t2"]}}}, {"tags": ["t1", "t2", "t3"]}),
    ({"$push": {"m": {"k2": 2}}}, {"m": {"k1": 1, "k2": 2}}),
    ({"$push": {"m": ["k2", 2]}}, {"m": {"k1": 1, "k2": 2}}),
    ({"$push": {"m": {"k1": 7}}}, {"m": {"k1": 7}}),
    ({"$push": {"m": {"$each": [["k3", 3], ["k2", 2]]}}}, {"m": {"k1": 1, "k2": 2, "k3": 3}}),
    ({"$push": {"m": {"$each": [{"k3": 3}, {"k2": 2}]}}}, {"m": {"k1": 1, "k2": 2, "k3": 3}}),
    ({"$pullAll": {"lst": [1]}}, {"lst": [2]}),
    ({"$pullAll": {"lst": [1, 2]}}, {"lst": None}),
    ({"$pullAll": {"tags": ["t1", "t9"]}}, {"tags": None}),
    ({"$pullAll": {"m": ["k1"]}}, {"m": None}),
    ({"$push": {"lst": 0}, "$pullAll": {"tags": ["t1"]}}, {"lst": [1, 2, 0], "tags": None}),
])
def test_update_push_and_pull_all(upd, update, changed):
    envelope = upd.command({"updateOne": {"filter": {"id": "a"}, "update": update}})
    assert envelope == {"status": {"matchedCount": 1, "modifiedCount": 1}}
    expected = {"id": "a", "n": 1, "name": "x", "tags": ["t1"], "lst": [1, 2],
                "m": {"k1": 1}, "v": [1.0, 0.0, 0.0]}
    expected.update(changed)
    assert row_a(upd) == {k: v for k, v in expected.items() if v is not None}


def test_update_of_a_missing_row_inserts_it(upd):
    envelope = upd.command({"updateOne": {"filter": {"id": "new"},
                                          "update": {"$set": {"n": 9},
                                                     "$push": {"lst": 4}}}})
    # CQL UPDATE is an upsert: the Data API reports matched 1, modified 1 for every table
    # updateOne (UpdateDBTaskPage in stargate/data-api)
    assert envelope == {"status": {"matchedCount": 1, "modifiedCount": 1}}
    assert upd.find_one({"id": "new"}) == {"id": "new", "n": 9, "lst": [4]}
    upd.update_one({"id": "new2"}, {"$set": {"name": "y"}})
    assert upd.find_one({"id": "new2"}) == {"id": "new2", "name": "y"}
    assert upd.estimated_document_count() == 3


def test_update_set_text_on_a_vectorize_column_embeds_it(upd):
    upd.update_one({"id": "a"}, {"$set": {"e": "A bowl of fresh fruit."}})
    stored = upd.find_one({"id": "a"})["e"]
    assert len(stored) == 384
    upd.update_one({"id": "a"}, {"$set": {"e": "Volcanoes erupt lava."}})
    new = upd.find_one({"id": "a"})["e"]
    assert cosine(stored, new) < 0.8
    envelope = upd.command({"findOne": {"sort": {"e": "Volcanoes erupt lava."},
                                        "options": {"includeSimilarity": True,
                                                    "includeSortVector": True}}})
    assert envelope["data"]["document"]["$similarity"] == pytest.approx(1.0, abs=1e-5)
    assert envelope["status"]["sortVector"] == pytest.approx(new, abs=1e-5)
    upd.update_one({"id": "a"}, {"$set": {"e": "  "}})
    assert "e" not in upd.find_one({"id": "a"})


def test_update_text_into_a_vector_column_without_service(upd):
    error = refused(upd, {"updateOne": {"filter": {"id": "a"},
                                        "update": {"$set": {"v": "text"}}}},
                    "UNSUPPORTED_VECTORIZE_WHEN_MISSING_VECTORIZE_DEFINITION", "UPDATE")
    assert error["title"] == "Vectorize requires a column with vectorize definition"


@pytest.mark.parametrize("flt, update, error_code, scope", [
    ({}, {"$set": {"n": 2}}, "MISSING_FILTER_FOR_UPDATE_DELETE", "FILTER"),
    ({"n": 1}, {"$set": {"name": "y"}}, "UNSUPPORTED_NON_PRIMARY_KEY_FILTER_FOR_UPDATE_DELETE",
     "FILTER"),
    ({"id": "a", "n": 1}, {"$set": {"name": "y"}},
     "UNSUPPORTED_NON_PRIMARY_KEY_FILTER_FOR_UPDATE_DELETE", "FILTER"),
    ({"id": "a"}, {"$inc": {"n": 1}}, "UNSUPPORTED_UPDATE_OPERATIONS_FOR_TABLE", "UPDATE"),
    ({"id": "a"}, {"$set": {"n": 2}, "$rename": {"name": "x"}},
     "UNSUPPORTED_UPDATE_OPERATIONS_FOR_TABLE", "UPDATE"),
    ({"id": "a"}, {"$set": {"id": "b"}}, "UNSUPPORTED_UPDATE_FOR_PRIMARY_KEY_COLUMNS",
     "UPDATE"),
    ({"id": "a"}, {"$unset": {"id": ""}}, "UNSUPPORTED_UPDATE_FOR_PRIMARY_KEY_COLUMNS",
     "UPDATE"),
    ({"id": "a"}, {"$set": {"n": "x"}}, "INVALID_UPDATE_COLUMN_VALUES", "UPDATE"),
    ({"id": "a"}, {"$set": {"v": [1, 2]}}, "INVALID_UPDATE_COLUMN_VALUES", "UPDATE"),
    ({"id": "a"}, {"$push": {"lst": "x"}}, "INVALID_UPDATE_COLUMN_VALUES", "UPDATE"),
    ({"id": "a"}, {"$set": {"nope": 1}}, "UNKNOWN_TABLE_COLUMNS", "UPDATE"),
    ({"id": "a"}, {"$unset": {"nope": ""}}, "UNKNOWN_TABLE_COLUMNS", "UPDATE"),
    ({"id": "a"}, {}, "MISSING_UPDATE_OPERATIONS", "UPDATE"),
    ({"id": "a"}, {"$set": {}}, "MISSING_UPDATE_OPERATIONS", "UPDATE"),
    ({"id": "a"}, {"$set": {"n": 2}, "$unset": {"n": ""}},
     "UNSUPPORTED_OVERLAPPING_UPDATE_OPERATIONS", "UPDATE"),
    # $push: an array without $each, $each not an array, a bad map entry (TableUpdatePushResolver)
    ({"id": "a"}, {"$push": {"lst": [3, 4]}}, "INVALID_PUSH_OPERATOR_USAGE", "UPDATE"),
    ({"id": "a"}, {"$push": {"tags": ["t2"]}}, "INVALID_PUSH_OPERATOR_USAGE", "UPDATE"),
    ({"id": "a"}, {"$push": {"lst": {"$each": 3}}}, "INVALID_PUSH_OPERATOR_USAGE", "UPDATE"),
    ({"id": "a"}, {"$push": {"m": 5}}, "INVALID_PUSH_OPERATOR_USAGE", "UPDATE"),
    ({"id": "a"}, {"$push": {"m": {"k2": 2, "k3": 3}}}, "INVALID_PUSH_OPERATOR_USAGE",
     "UPDATE"),
    ({"id": "a"}, {"$push": {"m": ["k2", 2, 3]}}, "INVALID_PUSH_OPERATOR_USAGE", "UPDATE"),
    # $push / $pullAll on a scalar column: the operator is not supported by the column
    ({"id": "a"}, {"$push": {"n": 1}}, "UNSUPPORTED_UPDATE_OPERATOR", "UPDATE"),
    ({"id": "a"}, {"$pullAll": {"name": ["x"]}}, "UNSUPPORTED_UPDATE_OPERATOR", "UPDATE"),
])
def test_update_errors(upd, flt, update, error_code, scope):
    refused(upd, {"updateOne": {"filter": flt, "update": update}}, error_code, scope)
    with pytest.raises(vk.DataAPIError) as info:
        upd.update_one(flt, update)
    assert info.value.error_code == error_code
    assert info.value.scope == scope


def test_update_and_delete_need_the_full_primary_key(composite):
    composite.insert_many([{"p": "a", "s": 1}, {"p": "a", "s": 2}])
    refused(composite, {"updateOne": {"filter": {"p": "a"}, "update": {"$set": {"note": "x"}}}},
            "MISSING_FULL_PRIMARY_KEY_FOR_UPDATE_DELETE", "FILTER")
    refused(composite, {"updateOne": {"filter": {"s": 1}, "update": {"$set": {"note": "x"}}}},
            "MISSING_FULL_PRIMARY_KEY_FOR_UPDATE_DELETE", "FILTER")
    refused(composite, {"deleteOne": {"filter": {"p": "a"}}},
            "MISSING_FULL_PRIMARY_KEY_FOR_UPDATE_DELETE", "FILTER")
    with pytest.raises(vk.DataAPIError) as info:
        composite.delete_one({"p": "a"})
    assert info.value.error_code == "MISSING_FULL_PRIMARY_KEY_FOR_UPDATE_DELETE"
    composite.update_one({"p": "a", "s": 2}, {"$set": {"note": "two"}})
    assert all_rows(composite) == [{"p": "a", "s": 1}, {"p": "a", "s": 2, "note": "two"}]


# ============================================================================================
# deleteOne / deleteMany
# ============================================================================================

def test_delete_one_by_full_key(composite):
    composite.insert_many([{"p": "a", "s": 1}, {"p": "a", "s": 2}, {"p": "b", "s": 1}])
    envelope = composite.command({"deleteOne": {"filter": {"p": "a", "s": 1}}})
    # tables cannot tell how many rows a CQL delete removed: the Data API always reports -1
    # (DeleteDBTaskPage in stargate/data-api)
    assert envelope == {"status": {"deletedCount": -1}}
    assert all_rows(composite) == [{"p": "a", "s": 2}, {"p": "b", "s": 1}]
    assert composite.command({"deleteOne": {"filter": {"p": "zz", "s": 1}}}) == {
        "status": {"deletedCount": -1}}
    composite.delete_one({"p": "b", "s": 1})
    assert all_rows(composite) == [{"p": "a", "s": 2}]


def test_delete_many_with_an_empty_filter_truncates(simple):
    simple.insert_many([{"id": "a", "v": [1, 0, 0]}, {"id": "b"}])
    assert simple.command({"deleteMany": {"filter": {}}}) == {"status": {"deletedCount": -1}}
    assert all_rows(simple) == []
    assert simple.estimated_document_count() == 0
    assert simple.command({"find": {"sort": {"v": [1, 0, 0]}}})["data"]["documents"] == []
    simple.insert_one({"id": "c", "v": [0, 1, 0]})
    assert all_rows(simple) == [{"id": "c", "v": [0.0, 1.0, 0.0]}]
    simple.delete_many({})
    assert all_rows(simple) == []


def test_delete_many_by_partition_and_by_range(events):
    envelope = events.command({"deleteMany": {"filter": {"p": "a"}}})
    assert envelope == {"status": {"deletedCount": -1}}
    assert [d["note"] for d in events.find({})] == ["b5", "b1"]
    events.delete_many({"p": "b", "ts": {"$gt": "2024-01-02T00:00:00Z"}})
    assert [d["note"] for d in events.find({})] == ["b1"]


@pytest.mark.parametrize("command, error_code", [
    ({"deleteOne": {"filter": {}}}, "MISSING_FILTER_FOR_UPDATE_DELETE"),
    ({"deleteOne": {"filter": {"note": "a1"}}},
     "UNSUPPORTED_NON_PRIMARY_KEY_FILTER_FOR_UPDATE_DELETE"),
    ({"deleteOne": {"filter": {"p": "a", "ts": "2024-01-01T00:00:00Z", "note": "a1"}}},
     "UNSUPPORTED_NON_PRIMARY_KEY_FILTER_FOR_UPDATE_DELETE"),
    ({"deleteMany": {"filter": {"note": "a1"}}},
     "UNSUPPORTED_NON_PRIMARY_KEY_FILTER_FOR_UPDATE_DELETE"),
    ({"deleteMany": {"filter": {"nope": 1}}}, "UNKNOWN_TABLE_COLUMNS"),
    ({"deleteMany": {"filter": {"ts": "yesterday", "p": "a"}}}, "INVALID_FILTER_COLUMN_VALUES"),
])
def test_delete_errors(events, command, error_code):
    refused(events, command, error_code, "FILTER")
    (name, body), = command.items()
    method = events.delete_one if name == "deleteOne" else events.delete_many
    with pytest.raises(vk.DataAPIError) as info:
        method(body["filter"])
    assert info.value.error_code == error_code


# ============================================================================================
# counts
# ============================================================================================

def test_count_documents_caps_at_1000(db):
    t = db.create_table("big", columns={"id": "int", "n": "int"}, primary_key="id")
    t.insert_many([{"id": i, "n": i % 10} for i in range(1001)])
    assert t.command({"countDocuments": {"filter": {}}}) == {
        "status": {"count": 1000, "moreData": True}}
    assert t.command({"countDocuments": {"filter": {"n": 3}}}) == {"status": {"count": 100}}
    assert t.command({"countDocuments": {"filter": {"id": {"$lt": 1000}}}}) == {
        "status": {"count": 1000}}
    assert t.command({"estimatedDocumentCount": {}}) == {"status": {"count": 1001}}
    assert t.count_documents({"n": {"$in": [1, 2]}}, upper_bound=500) == 200
    assert t.estimated_document_count() == 1001
    with pytest.raises(vk.DataAPIError) as info:
        t.count_documents({}, upper_bound=5000)
    assert info.value.error_code == "TOO_MANY_DOCUMENTS_TO_COUNT"
    with pytest.raises(vk.DataAPIError) as info:
        t.count_documents({"n": 1}, upper_bound=50)
    assert info.value.error_code == "TOO_MANY_DOCUMENTS_TO_COUNT"


def test_counts_of_an_empty_table(simple):
    assert simple.command({"countDocuments": {"filter": {}}}) == {"status": {"count": 0}}
    assert simple.command({"estimatedDocumentCount": {}}) == {"status": {"count": 0}}


# ============================================================================================
# to_pandas
# ============================================================================================

@pytest.fixture
def frame_table(db):
    t = db.create_table("frame", columns={
        "id": "text", "i": "int", "b": "bigint", "d": "double", "flag": "boolean",
        "ts": "timestamp", "v": VEC3}, primary_key="id")
    t.insert_many([
        {"id": "r1", "i": 1, "b": 2**40, "d": "NaN", "flag": True,
         "ts": "2024-05-01T12:30:00.123Z", "v": [1, 2, 3]},
        {"id": "r2"},
        {"id": "r3", "i": -5, "d": 2.5, "flag": False, "v": [0.5, 0, 0]},
    ])
    return t


def test_to_pandas_dtypes(frame_table):
    frame = frame_table.to_pandas()
    assert list(frame.columns) == ["id", "i", "b", "d", "flag", "ts", "v"]
    assert {c: str(t) for c, t in frame.dtypes.items()} == {
        "id": "string", "i": "Int32", "b": "Int64", "d": "Float64", "flag": "boolean",
        "ts": "datetime64[ms, UTC]", "v": "object"}
    assert frame["id"].tolist() == ["r1", "r2", "r3"]
    assert frame["i"].tolist() == [1, pd.NA, -5]
    assert frame["b"][0] == 2**40
    # NaN is a value, distinct from a null cell
    assert frame["d"].isna().tolist() == [False, True, False]
    assert math.isnan(frame["d"][0])
    assert frame["d"][2] == 2.5
    assert frame["flag"].tolist() == [True, pd.NA, False]
    assert frame["ts"][0] == pd.Timestamp("2024-05-01T12:30:00.123Z")
    assert frame["ts"].isna().tolist() == [False, True, True]
    vectors = frame["v"].tolist()
    assert isinstance(vectors[0], np.ndarray) and vectors[0].dtype == np.float32
    assert vectors[0].tolist() == [1.0, 2.0, 3.0]
    assert vectors[1] is None
    assert vectors[2].tolist() == [0.5, 0.0, 0.0]


def test_to_pandas_projection_and_filter(frame_table):
    frame = frame_table.to_pandas(projection=["id", "i"])
    assert list(frame.columns) == ["id", "i"]
    assert {c: str(t) for c, t in frame.dtypes.items()} == {"id": "string", "i": "Int32"}
    frame = frame_table.to_pandas(projection={"v": 0, "ts": 0})
    assert list(frame.columns) == ["id", "i", "b", "d", "flag"]
    frame = frame_table.to_pandas({"i": {"$lt": 0}}, projection={"id": 1, "v": 1})
    assert frame["id"].tolist() == ["r3"]
    assert frame["v"][0].tolist() == [0.5, 0.0, 0.0]
    frame = frame_table.to_pandas({"i": 99})
    assert len(frame) == 0
    assert str(frame["i"].dtype) == "Int32"
    with pytest.raises(vk.DataAPIError) as info:
        frame_table.to_pandas({"nope": 1})
    assert info.value.error_code == "UNKNOWN_TABLE_COLUMNS"
    assert info.value.scope == "FILTER"
    with pytest.raises(vk.DataAPIError) as info:
        frame_table.to_pandas(projection=["nope"])
    assert info.value.error_code == "UNKNOWN_TABLE_COLUMNS"
    assert info.value.scope == "PROJECTION"


# ============================================================================================
# failed commands change nothing
# ============================================================================================

def test_failed_commands_leave_the_table_as_it_was(upd):
    before = upd.to_pandas(projection={"e": 0})
    failing = [
        {"insertOne": {"document": {"id": "a", "n": "x"}}},
        {"insertOne": {"document": {"id": "z", "v": "text"}}},
        {"insertMany": {"documents": [{"id": "a", "n": 99, "nope": 1}]}},
        {"updateOne": {"filter": {"id": "a"}, "update": {"$set": {"n": 7, "name": 5}}}},
        {"updateOne": {"filter": {"id": "a"}, "update": {"$set": {"n": 7}, "$inc": {"n": 1}}}},
        {"updateOne": {"filter": {"id": "a"}, "update": {"$push": {"lst": [7, 8]}}}},
        {"updateOne": {"filter": {"id": "b"}, "update": {"$set": {"nope": 1}}}},
        {"deleteOne": {"filter": {"n": 1}}},
        {"deleteMany": {"filter": {"name": "x"}}},
    ]
    for command in failing:
        envelope = upd.command(command)
        assert "errors" in envelope, command
    after = upd.to_pandas(projection={"e": 0})
    assert after.drop(columns=["v"]).equals(before.drop(columns=["v"]))
    assert [x.tolist() for x in after["v"]] == [x.tolist() for x in before["v"]]
    assert upd.estimated_document_count() == 1
