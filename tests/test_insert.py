"""insertOne / insertMany, ids, document rules and limits (data-api.md §2.2–2.4, §2.6)."""

from __future__ import annotations

import base64
import datetime as dt
import re

import numpy as np
import pytest

import vectorize_kit as vk
from conftest import code


def all_docs(c):
    return c.find({}, projection={"*": 1}).to_list()


def test_insert_one_moves_id_first_and_generates_uuid(coll):
    env = coll.command({"insertOne": {"document": {"a": 1, "_id": "x"}}})
    assert env == {"status": {"insertedIds": ["x"]}}
    assert list(coll.find_one({"_id": "x"})) == ["_id", "a"]
    env = coll.command({"insertOne": {"document": {"a": 2}}})
    (new_id,) = env["status"]["insertedIds"]
    assert re.fullmatch(r"[0-9a-f-]{36}", new_id)
    assert coll.find_one({"_id": new_id}) == {"_id": new_id, "a": 2}


@pytest.mark.parametrize("id_type, key, pattern", [
    ("uuid", "$uuid", r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"),
    ("uuidv6", "$uuid", r"[0-9a-f]{8}-[0-9a-f]{4}-6[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"),
    ("uuidv7", "$uuid", r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"),
    ("objectId", "$objectId", r"[0-9a-f]{24}"),
])
def test_default_id_types(db, id_type, key, pattern):
    c = db.create_collection("c", default_id_type=id_type)
    ids = c.insert_many([{"n": i} for i in range(3)]).inserted_ids
    for doc_id in ids:
        assert list(doc_id) == [key] and re.fullmatch(pattern, doc_id[key])
    assert len({doc_id[key] for doc_id in ids}) == 3
    assert c.find_one({"_id": ids[1]})["n"] == 1


@pytest.mark.parametrize("doc_id", [7, 2.5, True, None, "s", {"$date": 1700000000000},
                                    {"$uuid": "123e4567-e89b-12d3-a456-426614174000"},
                                    {"$objectId": "65a1b2c3d4e5f60718293a4b"}])
def test_id_types_round_trip(coll, doc_id):
    coll.insert_one({"_id": doc_id, "v": 1})
    assert coll.find_one({"_id": doc_id}) == {"_id": doc_id, "v": 1}


@pytest.mark.parametrize("doc_id", [[1], {"a": 1}, ""])
def test_bad_id_types(coll, doc_id):
    env = coll.command({"insertOne": {"document": {"_id": doc_id}}})
    assert code(env) == "SHRED_BAD_DOCID_TYPE"


def test_numeric_ids_compare_by_value(coll):
    coll.insert_one({"_id": 1})
    assert code(coll.command({"insertOne": {"document": {"_id": 1.0}}})) == (
        "DOCUMENT_ALREADY_EXISTS")
    coll.insert_one({"_id": True})  # true is not 1
    assert coll.count_documents({}, upper_bound=10) == 2


def test_duplicate_insert_one(coll):
    coll.insert_one({"_id": "a", "v": 1})
    env = coll.command({"insertOne": {"document": {"_id": "a", "v": 2}}})
    assert code(env) == "DOCUMENT_ALREADY_EXISTS"
    assert env["errors"][0]["documentIds"] == ["a"]
    assert "'_id' (a)" in env["errors"][0]["message"]
    assert coll.find_one({"_id": "a"}) == {"_id": "a", "v": 1}


def test_insert_many_unordered_reports_each_failure(coll):
    coll.insert_one({"_id": "b"})
    env = coll.command({"insertMany": {"documents": [
        {"_id": "a"}, {"_id": "b"}, {"_id": "c"}, {"_id": "a"}]}})
    assert env["status"] == {"insertedIds": ["a", "c"]}
    assert [e["errorCode"] for e in env["errors"]] == ["DOCUMENT_ALREADY_EXISTS"] * 2
    assert [e["documentIds"] for e in env["errors"]] == [["b"], ["a"]]
    assert sorted(d["_id"] for d in all_docs(coll)) == ["a", "b", "c"]


def test_insert_many_ordered_stops_at_first_failure(coll):
    coll.insert_one({"_id": "b"})
    env = coll.command({"insertMany": {
        "documents": [{"_id": "a"}, {"_id": "b"}, {"_id": "c"}],
        "options": {"ordered": True, "returnDocumentResponses": True}}})
    assert env["status"] == {"documentResponses": [
        {"_id": "a", "status": "OK"},
        {"_id": "b", "status": "ERROR", "errorsIdx": 0},
        {"_id": "c", "status": "SKIPPED"}]}
    assert len(env["errors"]) == 1
    assert sorted(d["_id"] for d in all_docs(coll)) == ["a", "b"]


def test_insert_many_document_responses_unordered(coll):
    env = coll.command({"insertMany": {"documents": [{"_id": 1}, {"_id": 1}, {"_id": 2}],
                                       "options": {"returnDocumentResponses": True}}})
    assert env["status"]["documentResponses"] == [
        {"_id": 1, "status": "OK"}, {"_id": 1, "status": "ERROR", "errorsIdx": 0},
        {"_id": 2, "status": "OK"}]


def test_insert_many_limit_is_100(coll):
    env = coll.command({"insertMany": {"documents": [{"n": i} for i in range(101)]}})
    assert code(env) == "COMMAND_FIELD_VALUE_INVALID"
    assert "(101 vs 100)" in env["errors"][0]["message"]
    assert len(coll) == 0
    assert len(coll.command({"insertMany": {"documents": [{"n": i} for i in range(100)]}})[
        "status"]["insertedIds"]) == 100


def test_insert_many_python_api_chunks_and_raises_with_partial_result(coll):
    coll.insert_one({"_id": 150})
    with pytest.raises(vk.InsertManyError) as info:
        coll.insert_many([{"_id": i} for i in range(250)])
    assert info.value.error_code == "DOCUMENT_ALREADY_EXISTS"
    assert len(info.value.inserted_ids) == 249 and 150 not in info.value.inserted_ids
    assert len(coll) == 250


def test_a_bad_document_fails_the_whole_insert_many(coll):
    env = coll.command({"insertMany": {"documents": [{"_id": 1}, {"$bad": 2}]}})
    assert code(env) == "SHRED_BAD_FIELD_NAME" and "status" not in env
    assert len(coll) == 0


@pytest.mark.parametrize("doc, expected", [
    ({"$x": 1}, "SHRED_BAD_FIELD_NAME"),
    ({"": 1}, "SHRED_BAD_FIELD_NAME"),
    ({"a": {"$y": 1}}, "SHRED_BAD_FIELD_NAME"),
    ({"a": {"$date": "yesterday"}}, "SHRED_BAD_EJSON_VALUE"),
    ({"a": {"$uuid": "not-a-uuid"}}, "SHRED_BAD_EJSON_VALUE"),
    ({"a": {"$objectId": "xyz"}}, "SHRED_BAD_EJSON_VALUE"),
    ({"a": float("nan")}, "SHRED_BAD_DOCUMENT_TYPE"),
    ({"a": object()}, "SHRED_BAD_DOCUMENT_TYPE"),
])
def test_document_rules(coll, doc, expected):
    assert code(coll.command({"insertOne": {"document": doc}})) == expected
    assert len(coll) == 0


def test_non_object_documents(coll):
    env = coll.command({"insertMany": {"documents": [{"a": 1}, [1, 2]]}})
    assert code(env) == "SHRED_BAD_DOCUMENT_TYPE"
    assert "position 1" in env["errors"][0]["message"]


def nested(depth):
    doc = {}
    cur = doc
    for _ in range(depth - 1):
        cur["a"] = {}
        cur = cur["a"]
    cur["a"] = 1
    return doc


@pytest.mark.parametrize("doc, fragment", [
    ({"s": "x" * 8001}, "indexed String value (field 's') length (8001 bytes)"),
    ({"s": "é" * 4001}, "(8002 bytes)"),
    ({"arr": list(range(1001))}, "indexable Array (field 'arr') has (1001)"),
    ({"o": {f"k{i}": i for i in range(1001)}}, "indexable Object (field 'o') has (1001)"),
    (nested(17), "document depth exceeds maximum allowed (16)"),
    ({"n": int("9" * 101)}, "number value length (101)"),
    ({"a" * 1001: 1}, "field path length (1001)"),
    ({f"k{i}": {"a": 1, "b": 2} for i in range(700)}, "total number of indexed properties"),
    ({"big": ["x" * 7000] * 600}, "document size"),
])
def test_document_limits(coll, doc, fragment):
    env = coll.command({"insertOne": {"document": doc}})
    assert code(env) == "SHRED_DOC_LIMIT_VIOLATION"
    assert fragment in env["errors"][0]["message"]


def test_limits_at_the_boundary_are_accepted(coll):
    doc = {"s": "x" * 8000, "arr": list(range(1000)), "deep": nested(15),
           "o": {f"k{i}": i for i in range(1000)}}
    coll.insert_one({"_id": 1, **doc})
    assert coll.find_one({"_id": 1}) == {"_id": 1, **doc}


def test_unindexed_fields_skip_size_limits(db):
    c = db.create_collection("c", indexing={"deny": ["body"]})
    c.insert_one({"_id": 1, "body": "x" * 20000})
    assert len(c.find_one({"_id": 1})["body"]) == 20000
    env = c.command({"find": {"filter": {"body": "x"}}})
    assert code(env) == "UNINDEXED_FILTER_PATH"
    allow = db.create_collection("c2", indexing={"allow": ["title"]})
    allow.insert_one({"_id": 1, "title": "t", "body": "y" * 20000})
    assert allow.find_one({"title": "t"})["_id"] == 1
    assert code(allow.command({"find": {"filter": {"body": "y"}}})) == "UNINDEXED_FILTER_PATH"
    assert code(allow.command({"find": {"sort": {"body": 1}}})) == "UNINDEXED_SORT_PATH"


def test_vectors_list_binary_and_numpy(vcoll):
    raw = np.array([0.5, -1.25, 2.0], dtype=">f4").tobytes()
    vcoll.insert_many([
        {"_id": "list", "$vector": [0.5, -1.25, 2]},
        {"_id": "bin", "$vector": {"$binary": base64.b64encode(raw).decode()}},
        {"_id": "np", "$vector": np.array([0.5, -1.25, 2.0])},
        {"_id": "none"},
    ])
    for doc_id in ("list", "bin", "np"):
        assert vcoll.find_one({"_id": doc_id}, projection={"$vector": 1}) == {
            "_id": doc_id, "$vector": [0.5, -1.25, 2.0]}
    assert vcoll.find_one({"_id": "none"}, projection={"$vector": 1}) == {"_id": "none"}
    assert vcoll.find_one({"_id": "list"}) == {"_id": "list"}  # $vector is left out by default


@pytest.mark.parametrize("vector, expected", [
    ([], "SHRED_BAD_VECTOR_SIZE"),
    ([1, "a", 3], "SHRED_BAD_VECTOR_VALUE"),
    ([1, True, 3], "SHRED_BAD_VECTOR_VALUE"),
    ("text", "SHRED_BAD_VECTOR_VALUE"),
    ({"$binary": "not base64!"}, "SHRED_BAD_BINARY_VECTOR_VALUE"),
    ({"$binary": "AAAA"}, "SHRED_BAD_BINARY_VECTOR_VALUE"),
    ([1, 2], "INVALID_VECTOR_LENGTH"),
    ([0, 0, 0], "SHRED_BAD_VECTOR_VALUE"),
    ([1e39, 0, 0], "SHRED_BAD_VECTOR_VALUE"),
])
def test_bad_vectors(vcoll, vector, expected):
    assert code(vcoll.command({"insertOne": {"document": {"$vector": vector}}})) == expected
    assert len(vcoll) == 0


def test_vector_into_non_vector_collection(coll):
    env = coll.command({"insertOne": {"document": {"$vector": [1, 2]}}})
    assert code(env) == "VECTOR_SEARCH_NOT_SUPPORTED"
    assert "default_keyspace.docs" in env["errors"][0]["message"]


def test_vector_and_vectorize_are_mutually_exclusive(vcoll):
    env = vcoll.command({"insertMany": {"documents": [
        {"a": 1}, {"$vector": [1, 2, 3], "$vectorize": "text"}]}})
    assert code(env) == "INVALID_USAGE_OF_VECTORIZE"
    assert "position 1" in env["errors"][0]["message"]
    assert len(vcoll) == 0


def test_vectorize_without_service(vcoll):
    env = vcoll.command({"insertOne": {"document": {"$vectorize": "some text"}}})
    assert code(env) == "EMBEDDING_SERVICE_NOT_CONFIGURED"
    assert "'vecs' does not have embedding service configured" in env["errors"][0]["message"]
    env = vcoll.command({"insertOne": {"document": {"$vectorize": 5}}})
    assert code(env) == "INVALID_VECTORIZE_VALUE_TYPE"
    assert "needs to be String, not Number" in env["errors"][0]["message"]


def test_notebook_values_become_json(coll):
    when = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    coll.insert_one({"_id": 1, "i": np.int64(3), "f": np.float32(0.5), "arr": np.arange(2),
                     "when": when, "t": (1, 2)})
    assert coll.find_one({"_id": 1}) == {"_id": 1, "i": 3, "f": 0.5, "arr": [0, 1],
                                         "when": {"$date": 1704164645000}, "t": [1, 2]}


def test_stored_documents_are_copies(coll):
    doc = {"_id": 1, "tags": ["a"]}
    coll.insert_one(doc)
    doc["tags"].append("b")
    got = coll.find_one({"_id": 1})
    got["tags"].append("c")
    assert coll.find_one({"_id": 1}) == {"_id": 1, "tags": ["a"]}
