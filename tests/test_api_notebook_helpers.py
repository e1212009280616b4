"""The API surface added for notebooks, through the public Python API (no widgets).

Command builders, ``insert_dataframe``, ``progress=`` callables, ``Cursor.pages()``,
``Database.collection_slots()``, the name rules of credentials and schema objects, and
``WorkspaceIntegrations.observe``.
"""

from __future__ import annotations

import copy
import gc
import logging
import weakref
from datetime import datetime, timezone

import numpy as np
import pandas as pd
import pytest

import vectorize_kit as vk
from vectorize_kit.api import (
    create_collection_command,
    create_table_command,
    create_vector_index_command,
)
from vectorize_kit.integrations import credential_name_problems, credential_name_rules
from vectorize_kit.names import check_schema_name, schema_name_rules

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
LOCAL = {"provider": "local", "modelName": MINILM}
HF = "huggingface"
VEC3 = {"type": "vector", "dimension": 3}

ENDS = "must start and end with a letter or number"
CHARS = "can contain only letters, numbers, underscores and hyphens"
UNIQUE = "must be unique within the provider's integration"
TAKEN = "must be unique within the provider's integration (it is taken)"


def length_rule(n: int) -> str:
    return f"must have 2 to 50 characters (has {n})"


# -- command builders -------------------------------------------------------------------------


def test_create_collection_command_exact_dicts():
    assert create_collection_command("c") == {"createCollection": {"name": "c", "options": {}}}
    assert create_collection_command("c", dimension=3, metric="dot_product") == {
        "createCollection": {"name": "c", "options": {
            "vector": {"dimension": 3, "metric": "dot_product"}}}}
    assert create_collection_command("c", service=LOCAL) == {
        "createCollection": {"name": "c", "options": {"vector": {"service": LOCAL}}}}
    assert create_collection_command(
        "c", indexing={"deny": ["blob"]}, default_id_type="uuidv7") == {
        "createCollection": {"name": "c", "options": {
            "indexing": {"deny": ["blob"]}, "defaultId": {"type": "uuidv7"}}}}


def test_create_collection_command_merges_definition_without_mutating_it():
    definition = {"vector": {"dimension": 5, "metric": "cosine"},
                  "indexing": {"allow": ["a"]}, "defaultId": {"type": "uuid"}}
    before = copy.deepcopy(definition)
    cmd = create_collection_command("c", metric="euclidean", indexing={"deny": ["b"]},
                                    default_id_type="objectId", definition=definition)
    assert cmd == {"createCollection": {"name": "c", "options": {
        "vector": {"dimension": 5, "metric": "euclidean"},
        "indexing": {"deny": ["b"]},
        "defaultId": {"type": "objectId"}}}}
    assert definition == before
    # the command shares nothing with the definition
    cmd["createCollection"]["options"]["vector"]["dimension"] = 7
    assert definition == before
    # a definition alone is the options as they are
    assert create_collection_command("c", definition=definition) == {
        "createCollection": {"name": "c", "options": before}}
    assert definition == before


def test_create_table_command_exact_dicts():
    columns = {"id": "text", "n": {"type": "int"}}
    assert create_table_command("t", columns=columns, primary_key="id") == {
        "createTable": {"name": "t", "definition": {"columns": columns, "primaryKey": "id"},
                        "options": {"ifNotExists": False}}}
    assert create_table_command("t", if_not_exists=True) == {
        "createTable": {"name": "t", "definition": {}, "options": {"ifNotExists": True}}}
    key = {"partitionBy": ["id"], "partitionSort": {"n": -1}}
    definition = {"columns": columns, "primaryKey": "id"}
    before = copy.deepcopy(definition)
    cmd = create_table_command("t", definition=definition, primary_key=key)
    assert cmd == {"createTable": {"name": "t",
                                   "definition": {"columns": columns, "primaryKey": key},
                                   "options": {"ifNotExists": False}}}
    assert definition == before
    cmd["createTable"]["definition"]["columns"]["extra"] = "text"
    assert definition == before


def test_create_vector_index_command_exact_dicts():
    assert create_vector_index_command("vi", "v") == {"createVectorIndex": {
        "name": "vi", "definition": {"column": "v", "options": {}},
        "options": {"ifNotExists": False}}}
    assert create_vector_index_command("vi", "v", metric="dot_product",
                                       source_model="openai-v3-small",
                                       if_not_exists=True) == {"createVectorIndex": {
        "name": "vi",
        "definition": {"column": "v", "options": {"metric": "dot_product",
                                                  "sourceModel": "openai-v3-small"}},
        "options": {"ifNotExists": True}}}
    options = {"metric": "euclidean", "sourceModel": "other"}
    cmd = create_vector_index_command("vi", "v", metric="cosine", options=options)
    assert cmd["createVectorIndex"]["definition"] == {
        "column": "v", "options": {"metric": "cosine", "sourceModel": "other"}}
    assert options == {"metric": "euclidean", "sourceModel": "other"}


def same_by_method_and_command(by_method, method, by_command, command, listing):
    """Run the Python method on one object and its command on the other: both list the
    same; returns that listing."""
    method(by_method)
    assert by_command.command(command) == {"status": {"ok": 1}}
    assert listing(by_method) == listing(by_command)
    return listing(by_method)


@pytest.mark.parametrize("kwargs", [
    {},
    {"dimension": 3, "metric": "dot_product"},
    {"service": LOCAL},
    {"indexing": {"deny": ["blob"]}, "default_id_type": "uuidv7"},
    {"definition": {"vector": {"dimension": 5}, "indexing": {"allow": ["a"]}},
     "metric": "euclidean"},
])
def test_create_collection_equals_running_its_command(ws, kwargs):
    listed = same_by_method_and_command(
        ws.create_database("one"), lambda db: db.create_collection("c", **copy.deepcopy(kwargs)),
        ws.create_database("two"), create_collection_command("c", **copy.deepcopy(kwargs)),
        lambda db: db.list_collections())
    assert [c["name"] for c in listed] == ["c"]


@pytest.mark.parametrize("kwargs", [
    {"columns": {"id": "text", "n": {"type": "int"}}, "primary_key": "id"},
    {"definition": {"columns": {"a": "text", "b": "int", "v": VEC3},
                    "primaryKey": {"partitionBy": ["a"], "partitionSort": {"b": -1}}}},
    {"columns": {"title": "text", "e": {"type": "vector", "service": LOCAL}},
     "primary_key": "title", "if_not_exists": True},
])
def test_create_table_equals_running_its_command(ws, kwargs):
    listed = same_by_method_and_command(
        ws.create_database("one"), lambda db: db.create_table("t", **copy.deepcopy(kwargs)),
        ws.create_database("two"), create_table_command("t", **copy.deepcopy(kwargs)),
        lambda db: db.list_tables())
    assert [t["name"] for t in listed] == ["t"]


@pytest.mark.parametrize("kwargs", [
    {},
    {"metric": "dot_product"},
    {"metric": "euclidean", "source_model": "openai-v3-small"},
    {"options": {"metric": "dot_product"}, "if_not_exists": True},
])
def test_create_vector_index_equals_running_its_command(ws, kwargs):
    tables = []
    for name in ("one", "two"):
        db = ws.create_database(name)
        tables.append(db.create_table("t", columns={"id": "int", "v": VEC3}, primary_key="id"))
    listed = same_by_method_and_command(
        tables[0], lambda t: t.create_vector_index("vi", "v", **copy.deepcopy(kwargs)),
        tables[1], create_vector_index_command("vi", "v", **copy.deepcopy(kwargs)),
        lambda t: t.list_indexes())
    assert [i["name"] for i in listed] == ["vi"]


# -- insert_dataframe into a collection ------------------------------------------------------


def test_missing_cells_are_left_out(coll):
    frame = pd.DataFrame({
        "_id": [1, 2, 3],
        "f": [1.5, np.nan, 3.0],
        "o": pd.Series([None, "x", pd.NA], dtype=object),
        "t": pd.to_datetime(["2024-01-02T03:04:05Z", None, "2024-01-01T00:00:00Z"]),
        "s": pd.array(["a", None, "c"], dtype="string"),
        "i": pd.array([1, None, 3], dtype="Int64"),
    })
    coll.insert_dataframe(frame)
    assert coll.find({}, sort={"_id": 1}).to_list() == [
        {"_id": 1, "f": 1.5, "t": {"$date": 1704164645000}, "s": "a", "i": 1},
        {"_id": 2, "o": "x"},
        {"_id": 3, "f": 3.0, "t": {"$date": 1704067200000}, "s": "c", "i": 3},
    ]


def test_numpy_scalars_and_timestamps_become_json(coll):
    frame = pd.DataFrame({
        "_id": np.array([10, 20], dtype=np.int64),
        "i32": np.array([5, -7], dtype=np.int32),
        "f32": np.array([1.5, 0.25], dtype=np.float32),
        "obj": pd.Series([np.int16(3), np.float64(2.5)], dtype=object),
        "ts": [pd.Timestamp("2024-01-02T03:04:05Z"),
               pd.Timestamp("1970-01-01T00:00:00.001Z")],
    })
    coll.insert_dataframe(frame)
    docs = coll.find({}, sort={"_id": 1}).to_list()
    assert docs == [
        {"_id": 10, "i32": 5, "f32": 1.5, "obj": 3, "ts": {"$date": 1704164645000}},
        {"_id": 20, "i32": -7, "f32": 0.25, "obj": 2.5, "ts": {"$date": 1}},
    ]
    assert [type(docs[0][k]) for k in ("_id", "i32", "obj")] == [int, int, int]
    assert [type(docs[1][k]) for k in ("f32", "obj")] == [float, float]
    # stored as numbers and dates: filters on them work
    assert coll.find_one({"i32": {"$lt": 0}}) == docs[1]
    assert coll.find_one({"ts": {"$gt": {"$date": 1000}}}) == docs[0]


def test_vectorize_column_becomes_vectorize_and_is_not_kept(db):
    notes = db.create_collection("notes", service=LOCAL)
    frame = pd.DataFrame({"_id": ["a", "b", "c"], "text": ["a cat on a mat", None, "stocks fell"],
                          "k": [1, 2, 3]})
    result = notes.insert_dataframe(frame, vectorize_column="text")
    assert result.inserted_ids == ["a", "b", "c"]
    assert notes.find({}, sort={"_id": 1}, projection={"$vectorize": 1}).to_list() == [
        {"_id": "a", "k": 1, "$vectorize": "a cat on a mat"},
        {"_id": "b", "k": 2},
        {"_id": "c", "k": 3, "$vectorize": "stocks fell"},
    ]
    full = {d["_id"]: d for d in notes.find({}, projection={"*": 1})}
    assert set(full["a"]) == {"_id", "k", "$vectorize", "$vector"}
    assert len(full["a"]["$vector"]) == 384
    assert full["b"] == {"_id": "b", "k": 2}  # no text: neither $vectorize nor $vector
    assert notes.count_documents({"text": {"$exists": True}}, upper_bound=10) == 0
    assert notes.find_one({}, sort={"$vectorize": "a kitten"})["_id"] == "a"


def test_a_non_text_value_refuses_the_whole_frame(db):
    notes = db.create_collection("notes", service=LOCAL)
    texts: list = [f"text {i}" for i in range(300)]
    texts[150] = 3.14
    frame = pd.DataFrame({"_id": range(300), "text": texts})
    with pytest.raises(vk.DataAPIError) as exc:
        notes.insert_dataframe(frame, vectorize_column="text")
    assert exc.value.error_code == "INVALID_VECTORIZE_VALUE_TYPE"
    assert "index 150" in exc.value.message
    assert "3.14" in exc.value.message
    assert "1 row(s)" in exc.value.message
    assert "Nothing was inserted" in exc.value.message
    assert not isinstance(exc.value, vk.InsertManyError)
    assert notes.estimated_document_count() == 0


def test_non_text_values_are_named_by_their_index_labels(db):
    notes = db.create_collection("notes", service=LOCAL)
    frame = pd.DataFrame({"text": ["ok", 7, "fine", True]}, index=["r0", "r1", "r2", "r3"])
    with pytest.raises(vk.DataAPIError) as exc:
        notes.insert_dataframe(frame, vectorize_column="text")
    assert exc.value.error_code == "INVALID_VECTORIZE_VALUE_TYPE"
    assert "2 row(s)" in exc.value.message
    assert "index 'r1'" in exc.value.message
    assert "['r1', 'r3']" in exc.value.message
    assert notes.estimated_document_count() == 0


def test_an_unknown_vectorize_column(db):
    notes = db.create_collection("notes", service=LOCAL)
    frame = pd.DataFrame({"_id": [1], "text": ["hello"]})
    with pytest.raises(vk.DataAPIError) as exc:
        notes.insert_dataframe(frame, vectorize_column="body")
    assert exc.value.error_code == "COMMAND_FIELD_VALUE_INVALID"
    assert "'body'" in exc.value.message
    assert "['_id', 'text']" in exc.value.message
    assert notes.estimated_document_count() == 0


def test_integer_column_labels(db):
    notes = db.create_collection("notes", service=LOCAL)
    frame = pd.DataFrame([["hello world", 1], ["good night", 2]])
    assert list(frame.columns) == [0, 1]
    result = notes.insert_dataframe(frame, vectorize_column=0)
    assert len(result.inserted_ids) == 2
    docs = notes.find({}, projection={"$vectorize": 1, "1": 1}, sort={"1": 1}).to_list()
    assert [{k: v for k, v in d.items() if k != "_id"} for d in docs] == [
        {"1": 1, "$vectorize": "hello world"}, {"1": 2, "$vectorize": "good night"}]
    assert notes.count_documents({"0": {"$exists": True}}, upper_bound=10) == 0


def test_list_and_array_cells_are_kept(vcoll):
    frame = pd.DataFrame({
        "_id": ["a", "b"],
        "$vector": [np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0], dtype=np.float32)],
        "tags": [["x", "y"], []],
        "meta": [{"k": 1}, {}],
    })
    vcoll.insert_dataframe(frame)
    docs = vcoll.find({}, sort={"_id": 1}, projection={"*": 1}).to_list()
    assert docs == [
        {"_id": "a", "$vector": [1.0, 0.0, 0.0], "tags": ["x", "y"], "meta": {"k": 1}},
        {"_id": "b", "$vector": [0.0, 1.0, 0.0], "tags": [], "meta": {}},
    ]
    assert vcoll.find_one({}, sort={"$vector": [0.1, 0.9, 0.0]})["_id"] == "b"


# -- insert_dataframe into a table -----------------------------------------------------------


def test_table_text_goes_into_the_vectorize_column_and_is_kept_when_a_column(db):
    books = db.create_table("books", columns={
        "title": "text", "summary": "text", "e": {"type": "vector", "service": LOCAL}},
        primary_key="title")
    frame = pd.DataFrame({"title": ["A", "B"], "summary": ["a cat on a mat", "stocks fell"]})
    result = books.insert_dataframe(frame, vectorize_column="summary")
    assert result.inserted_ids == [{"title": "A"}, {"title": "B"}]
    rows = {r["title"]: r for r in books.find({})}
    assert set(rows) == {"A", "B"}
    assert rows["A"]["summary"] == "a cat on a mat"
    assert set(rows["A"]) == {"title", "summary", "e"}
    assert len(rows["A"]["e"]) == 384
    books.create_vector_index("e_index", "e")
    assert books.find_one({}, sort={"e": "a kitten"})["title"] == "A"


def test_table_source_column_is_dropped_when_the_table_has_none(db):
    books = db.create_table("books", columns={
        "title": "text", "e": {"type": "vector", "service": LOCAL}}, primary_key="title")
    frame = pd.DataFrame({"title": ["A", "B"], "summary": ["a cat", None]})
    books.insert_dataframe(frame, vectorize_column="summary")
    rows = {r["title"]: r for r in books.find({})}
    assert set(rows["A"]) == {"title", "e"}
    assert len(rows["A"]["e"]) == 384
    assert rows["B"].get("e") is None  # no text, no vector
    assert "summary" not in rows["B"]


def test_table_with_two_vectorize_columns_needs_vector_column(db):
    table = db.create_table("t", columns={
        "title": "text", "e1": {"type": "vector", "service": LOCAL}, "v": VEC3,
        "e2": {"type": "vector", "service": LOCAL}}, primary_key="title")
    frame = pd.DataFrame({"title": ["A"], "s": ["some text"]})
    with pytest.raises(vk.DataAPIError) as exc:
        table.insert_dataframe(frame, vectorize_column="s")
    assert exc.value.error_code == "COMMAND_FIELD_VALUE_INVALID"
    assert "['e1', 'e2']" in exc.value.message
    assert "vector_column=" in exc.value.message
    assert table.estimated_document_count() == 0
    table.insert_dataframe(frame, vectorize_column="s", vector_column="e2")
    (row,) = table.find({}).to_list()
    assert set(row) == {"title", "e2"}
    assert len(row["e2"]) == 384


def test_table_without_vectorize_columns_refuses_vectorize_column(db):
    table = db.create_table("t", columns={"id": "int", "v": VEC3}, primary_key="id")
    with pytest.raises(vk.DataAPIError) as exc:
        table.insert_dataframe(pd.DataFrame({"id": [1], "s": ["x"]}), vectorize_column="s")
    assert exc.value.error_code == "COMMAND_FIELD_VALUE_INVALID"
    assert "0 vector columns" in exc.value.message


def test_table_dataframe_without_vectorize(db):
    table = db.create_table("t", columns={"id": "int", "x": "double", "v": VEC3},
                            primary_key="id")
    frame = pd.DataFrame({"id": np.array([1, 2], dtype=np.int64), "x": [0.5, np.nan],
                          "v": [np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])]})
    result = table.insert_dataframe(frame)
    assert result.inserted_id_tuples == [(1,), (2,)]
    rows = {r["id"]: r for r in table.find({})}
    assert rows[1]["x"] == 0.5 and rows[1]["v"] == [1.0, 0.0, 0.0]
    assert rows[2].get("x") is None and rows[2]["v"] == [0.0, 1.0, 0.0]


def test_vectorize_columns_lists_only_vector_columns_with_a_service(db):
    table = db.create_table("t", columns={
        "title": "text", "e1": {"type": "vector", "service": LOCAL}, "v": VEC3,
        "n": "int", "e2": {"type": "vector", "service": LOCAL}}, primary_key="title")
    assert table.vectorize_columns() == ["e1", "e2"]
    plain = db.create_table("p", columns={"id": "int", "v": VEC3}, primary_key="id")
    assert plain.vectorize_columns() == []
    table.alter({"dropVectorize": {"columns": ["e1"]}})
    assert table.vectorize_columns() == ["e2"]


# -- progress= a function ---------------------------------------------------------------------


def test_progress_callable_for_a_collection(coll):
    calls, stored = [], []

    def report(done, total):
        calls.append((done, total))
        stored.append(coll.estimated_document_count())

    result = coll.insert_many([{"_id": i} for i in range(250)], progress=report)
    assert len(result.inserted_ids) == 250
    assert calls == [(100, 250), (200, 250), (250, 250)]
    assert stored == [100, 200, 250]


def test_progress_callable_with_chunk_size_and_dataframe(coll):
    calls, stored = [], []

    def report(done, total):
        calls.append((done, total))
        stored.append(coll.estimated_document_count())

    coll.insert_dataframe(pd.DataFrame({"_id": range(25), "x": range(25)}), progress=report)
    assert calls == [(25, 25)]
    assert stored == [25]
    calls.clear()
    stored.clear()
    coll.insert_many([{"_id": 100 + i} for i in range(25)], chunk_size=10, progress=report)
    assert calls == [(10, 25), (20, 25), (25, 25)]
    assert stored == [35, 45, 50]


def test_progress_callable_for_a_table(db):
    table = db.create_table("t", columns={"id": "int", "s": "text"}, primary_key="id")
    calls, stored = [], []

    def report(done, total):
        calls.append((done, total))
        stored.append(table.estimated_document_count())

    result = table.insert_many([{"id": i, "s": str(i)} for i in range(250)], progress=report)
    assert len(result.inserted_ids) == 250
    assert calls == [(100, 250), (200, 250), (250, 250)]
    assert stored == [100, 200, 250]
    calls.clear()
    stored.clear()
    table.insert_dataframe(pd.DataFrame({"id": range(250, 270), "s": ["x"] * 20}),
                           progress=report)
    assert calls == [(20, 20)]
    assert stored == [270]


def test_a_chunk_refused_whole_still_advances_the_bar(coll):
    calls, stored = [], []

    def report(done, total):
        calls.append((done, total))
        stored.append(coll.estimated_document_count())

    docs: list = [{"_id": i} for i in range(30)]
    docs[15] = {"_id": 15, "$bad": 1}  # refuses the whole chunk 10..19
    with pytest.raises(vk.InsertManyError) as exc:
        coll.insert_many(docs, chunk_size=10, ordered=False, progress=report)
    assert exc.value.error_code == "SHRED_BAD_FIELD_NAME"
    assert len(exc.value.inserted_ids) == 20
    assert calls == [(10, 30), (20, 30), (30, 30)]
    assert calls[-1] == (30, 30)
    assert stored == [10, 10, 20]


def test_a_refused_chunk_advances_the_bar_for_a_table(db):
    table = db.create_table("t", columns={"id": "int", "s": "text"}, primary_key="id")
    calls = []
    rows: list = [{"id": i, "s": "x"} for i in range(30)]
    rows[5] = {"id": 5, "s": 12345}  # not text
    with pytest.raises(vk.InsertManyError):
        table.insert_many(rows, chunk_size=10, ordered=False,
                          progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (30, 30)
    assert calls == [(10, 30), (20, 30), (30, 30)]


def test_ordered_insert_stops_reporting_at_the_failed_chunk(coll):
    calls = []
    docs: list = [{"_id": i} for i in range(30)]
    docs[15] = {"_id": 15, "$bad": 1}
    with pytest.raises(vk.InsertManyError):
        coll.insert_many(docs, chunk_size=10, ordered=True,
                         progress=lambda done, total: calls.append((done, total)))
    assert calls == [(10, 30), (20, 30)]
    assert coll.estimated_document_count() == 10


# -- Cursor.pages ------------------------------------------------------------------------------


def test_pages_of_a_collection(coll):
    coll.insert_many([{"_id": i} for i in range(45)])
    pages = list(coll.find({}).pages())
    assert [len(p) for p in pages] == [20, 20, 5]
    assert sorted(d["_id"] for p in pages for d in p) == list(range(45))
    assert [len(p) for p in coll.find({}, limit=25).pages()] == [20, 5]
    assert [len(p) for p in coll.find({}, limit=40).pages()] == [20, 20]
    assert [len(p) for p in coll.find({}, limit=7).pages()] == [7]
    assert [len(p) for p in coll.find({"_id": {"$lt": 3}}).pages()] == [3]
    assert list(coll.find({"_id": -1}).pages()) == []


def test_pages_of_a_table(db):
    table = db.create_table("t", columns={"id": "int"}, primary_key="id")
    table.insert_many([{"id": i} for i in range(45)])
    pages = list(table.find({}).pages())
    assert [len(p) for p in pages] == [20, 20, 5]
    assert sorted(r["id"] for p in pages for r in p) == list(range(45))
    assert [len(p) for p in table.find({}, limit=25).pages()] == [20, 5]


def test_pages_of_a_vector_search(vcoll):
    vcoll.insert_many([{"_id": i, "$vector": [1.0, i / 10, 0.5]} for i in range(45)])
    pages = list(vcoll.find({}, sort={"$vector": [1.0, 0.0, 0.0]}, limit=45).pages())
    assert [len(p) for p in pages] == [20, 20, 5]
    ids = [d["_id"] for p in pages for d in p]
    assert ids == list(range(45))  # nearest first: the smallest second component
    cursor = vcoll.find({}, sort={"$vector": [1.0, 0.0, 0.0]}, limit=30,
                        include_sort_vector=True)
    pages = list(cursor.pages())
    assert [len(p) for p in pages] == [20, 10]
    assert [d["_id"] for p in pages for d in p] == list(range(30))
    assert cursor.get_sort_vector() == [1.0, 0.0, 0.0]


def test_pages_of_a_table_vector_search(db):
    table = db.create_table("t", columns={"id": "int", "v": VEC3}, primary_key="id")
    table.create_vector_index("vi", "v")
    table.insert_many([{"id": i, "v": [1.0, i / 10, 0.5]} for i in range(45)])
    pages = list(table.find({}, sort={"v": [1.0, 0.0, 0.0]}).pages())
    assert [len(p) for p in pages] == [20, 20, 5]
    assert [r["id"] for p in pages for r in p] == list(range(45))


# -- Database.collection_slots ---------------------------------------------------------------


def test_collection_slots_count_collections_not_tables(db):
    assert db.collection_slots() == (0, 10)
    for name in ("a", "b", "c"):
        db.create_collection(name)
    for name in ("t1", "t2"):
        db.create_table(name, columns={"id": "int"}, primary_key="id")
    assert db.collection_slots() == (3, 10)
    db.drop_collection("b")
    assert db.collection_slots() == (2, 10)


def test_collection_slots_of_an_old_database(ws):
    old = ws.create_database("old", created_at=datetime(2024, 1, 1, tzinfo=timezone.utc))
    assert old.collection_slots() == (0, 5)
    for i in range(5):
        old.create_collection(f"c{i}")
    assert old.collection_slots() == (5, 5)
    with pytest.raises(vk.DataAPIError):
        old.create_collection("one_too_many")
    assert old.collection_slots() == (5, 5)
    recent = ws.create_database("recent",
                                created_at=datetime(2024, 6, 24, tzinfo=timezone.utc))
    assert recent.collection_slots() == (0, 10)


def test_collection_slots_count_every_keyspace(db):
    db.create_keyspace("other")
    db.create_collection("a")
    db.create_collection("b", keyspace="other")
    db.create_collection("c", keyspace="other")
    db.create_table("t", columns={"id": "int"}, primary_key="id", keyspace="other")
    assert db.collection_slots() == (3, 10)


# -- credential name rules --------------------------------------------------------------------


@pytest.mark.parametrize("name, existing, rules", [
    ("ab", [], [(ENDS, True), (CHARS, True), (length_rule(2), True), (UNIQUE, True)]),
    ("my-token_1", ["other"],
     [(ENDS, True), (CHARS, True), (length_rule(10), True), (UNIQUE, True)]),
    ("-x", [], [(ENDS, False), (CHARS, True), (length_rule(2), True), (UNIQUE, True)]),
    ("a", [], [(ENDS, True), (CHARS, True), (length_rule(1), False), (UNIQUE, True)]),
    ("", [], [(ENDS, False), (CHARS, True), (length_rule(0), False), (UNIQUE, True)]),
    ("a b", [], [(ENDS, True), (CHARS, False), (length_rule(3), True), (UNIQUE, True)]),
    ("é1", [], [(ENDS, False), (CHARS, False), (length_rule(2), True), (UNIQUE, True)]),
    ("x" * 51, [], [(ENDS, True), (CHARS, True), (length_rule(51), False), (UNIQUE, True)]),
    ("x" * 50, [], [(ENDS, True), (CHARS, True), (length_rule(50), True), (UNIQUE, True)]),
    ("ab", ["ab"], [(ENDS, True), (CHARS, True), (length_rule(2), True), (TAKEN, False)]),
    ("-x", ["-x"], [(ENDS, False), (CHARS, True), (length_rule(2), True), (TAKEN, False)]),
])
def test_credential_name_rules(name, existing, rules):
    assert credential_name_rules(name, existing) == rules
    assert credential_name_rules(name, tuple(existing)) == rules
    assert credential_name_problems(name, existing) == [r for r, met in rules if not met]


def test_credential_name_rules_default_to_no_existing_names():
    assert credential_name_rules("ab") == credential_name_rules("ab", [])
    assert credential_name_problems("ab") == []
    assert credential_name_problems("AB", ["ab"]) == []  # names are case-sensitive


def test_add_credential_taken_name_is_already_exists(ws):
    ws.integrations.add_credential(HF, "tok-1", "secret")
    assert credential_name_problems("tok-1", ["tok-1"]) == [TAKEN]
    with pytest.raises(vk.DataAPIError) as exc:
        ws.integrations.add_credential(HF, "tok-1", "other")
    assert exc.value.error_code == "CREDENTIAL_ALREADY_EXISTS"
    assert [c.name for c in ws.integrations.list_credentials(HF)] == ["tok-1"]


@pytest.mark.parametrize("name", ["-x", "a", "", "a b", "x" * 51, "tok-1_"])
def test_add_credential_invalid_name_is_invalid_credential_name(ws, name):
    ws.integrations.add_credential(HF, "tok-1", "secret")
    with pytest.raises(vk.DataAPIError) as exc:
        ws.integrations.add_credential(HF, name, "secret")
    assert exc.value.error_code == "INVALID_CREDENTIAL_NAME"
    for problem in credential_name_problems(name, ["tok-1"]):
        assert problem in exc.value.message
    assert [c.name for c in ws.integrations.list_credentials(HF)] == ["tok-1"]


def test_invalid_and_taken_name_breaks_two_rules():
    # an invalid name can never be added, so this case exists only for the rules: the
    # uniqueness rule is not the only one broken, and add() reports INVALID_CREDENTIAL_NAME
    assert credential_name_problems("-x", ["-x"]) == [ENDS, TAKEN]


def test_add_credential_non_string_name(ws):
    with pytest.raises(vk.DataAPIError) as exc:
        ws.integrations.add_credential(HF, 42, "secret")  # type: ignore[arg-type]
    assert exc.value.error_code == "INVALID_CREDENTIAL_NAME"
    assert ws.integrations.list_credentials(HF) == []


# -- schema name rules ------------------------------------------------------------------------

SCHEMA_CHARS = "can contain only letters, numbers and underscores"


@pytest.mark.parametrize("name, kind, rules", [
    ("", "Collection", [("must have 1 to 48 characters (has 0)", False), (SCHEMA_CHARS, True)]),
    ("ok_name", "Collection",
     [("must have 1 to 48 characters (has 7)", True), (SCHEMA_CHARS, True)]),
    ("bad name", "Table",
     [("must have 1 to 48 characters (has 8)", True), (SCHEMA_CHARS, False)]),
    ("x" * 48, "Keyspace",
     [("must have 1 to 48 characters (has 48)", True), (SCHEMA_CHARS, True)]),
    ("x" * 49, "Collection",
     [("must have 1 to 48 characters (has 49)", False), (SCHEMA_CHARS, True)]),
    ("x" * 49, "Index",
     [("must have 1 to 100 characters (has 49)", True), (SCHEMA_CHARS, True)]),
    ("x" * 100, "Index",
     [("must have 1 to 100 characters (has 100)", True), (SCHEMA_CHARS, True)]),
    ("x" * 101, "Index",
     [("must have 1 to 100 characters (has 101)", False), (SCHEMA_CHARS, True)]),
    ("a-b" + "x" * 99, "Index",
     [("must have 1 to 100 characters (has 102)", False), (SCHEMA_CHARS, False)]),
])
def test_schema_name_rules(name, kind, rules):
    assert schema_name_rules(name, kind) == rules


NAMES = ["", "a", "ok_name", "_", "9lives", "CamelCase", "bad name", "bad-name", "dot.name",
         "é", "naïve", "x" * 48, "x" * 49, "x" * 100, "x" * 101, "tab\t", "a$b"]


@pytest.mark.parametrize("kind", ["Collection", "Table", "Keyspace", "Index"])
def test_check_schema_name_agrees_with_the_rules(kind):
    for name in NAMES:
        valid = all(met for _, met in schema_name_rules(name, kind))
        if valid:
            assert check_schema_name(name, kind) == name
        else:
            with pytest.raises(vk.DataAPIError) as exc:
                check_schema_name(name, kind)
            assert exc.value.error_code == "UNSUPPORTED_SCHEMA_NAME", name
            assert repr(name) in exc.value.message


def test_check_schema_name_accepts_exactly_the_valid_sample():
    accepted = []
    for name in NAMES:
        try:
            accepted.append(check_schema_name(name, "Collection"))
        except vk.DataAPIError:
            pass
    assert accepted == ["a", "ok_name", "_", "9lives", "CamelCase", "x" * 48]
    index_ok = [n for n in NAMES if all(met for _, met in schema_name_rules(n, "Index"))]
    assert index_ok == ["a", "ok_name", "_", "9lives", "CamelCase", "x" * 48, "x" * 49,
                        "x" * 100]


@pytest.mark.parametrize("name", [None, 5, b"abc", ["a"]])
def test_check_schema_name_non_string(name):
    with pytest.raises(vk.DataAPIError) as exc:
        check_schema_name(name, "Collection")
    assert exc.value.error_code == "UNSUPPORTED_SCHEMA_NAME"
    assert f"a {type(name).__name__}" in exc.value.message


# -- WorkspaceIntegrations.observe -----------------------------------------------------------


def test_observer_is_called_once_after_each_change(ws):
    calls = []

    def changed():
        calls.append(len(ws.integrations.list_credentials(HF)))

    ws.integrations.observe(changed)
    first = ws.create_database("first")
    second = ws.create_database("second")
    assert calls == []  # creating databases changes no credential
    ws.integrations.add_credential(HF, "tok", "secret", databases=[first])
    assert calls == [1]  # called after the change: the credential is there
    ws.integrations.rotate_credential(HF, "tok", "new-secret")
    assert len(calls) == 2
    ws.integrations.add_scoped_databases(HF, "tok", [second])
    assert len(calls) == 3
    ws.integrations.remove_scoped_databases(HF, "tok", [first])
    assert len(calls) == 4
    ws.integrations.add_credential(HF, "tok2", "secret")
    assert len(calls) == 5
    ws.integrations.remove_credential(HF, "tok2")
    assert calls[-1] == 1 and len(calls) == 6
    ws.drop_database("second")  # in tok's scope
    assert len(calls) == 7
    assert ws.integrations.list_credentials(HF)[0].databases == ()


def test_a_refused_change_does_not_notify(ws):
    calls = []

    def changed():
        calls.append(1)

    ws.integrations.observe(changed)
    ws.integrations.add_credential(HF, "tok", "secret")
    for attempt in (
        lambda: ws.integrations.add_credential(HF, "tok", "secret"),
        lambda: ws.integrations.add_credential(HF, "-bad", "secret"),
        lambda: ws.integrations.add_credential(HF, "ok2", "  "),
        lambda: ws.integrations.rotate_credential(HF, "missing", "secret"),
        lambda: ws.integrations.remove_credential(HF, "missing"),
    ):
        with pytest.raises(vk.DataAPIError):
            attempt()
    assert calls == [1]


def test_a_deleted_bound_method_is_no_longer_called(ws):
    log = []

    class Watcher:
        def changed(self):
            log.append("watcher")

    def other():
        log.append("other")

    watcher = Watcher()
    ws.integrations.observe(watcher.changed)
    ws.integrations.observe(other)
    ws.integrations.add_credential(HF, "one", "secret")
    assert log == ["watcher", "other"]
    gone = weakref.ref(watcher)
    del watcher
    gc.collect()
    assert gone() is None
    log.clear()
    ws.integrations.add_credential(HF, "two", "secret")
    ws.integrations.remove_credential(HF, "one")
    assert log == ["other", "other"]
    assert [c.name for c in ws.integrations.list_credentials(HF)] == ["two"]


def test_a_failing_observer_stops_neither_the_change_nor_the_others(ws, caplog):
    log = []

    def boom():
        log.append("boom")
        raise RuntimeError("observer bug")

    def fine():
        log.append("fine")

    ws.integrations.observe(boom)
    ws.integrations.observe(fine)
    with caplog.at_level(logging.ERROR, logger="vectorize_kit"):
        credential = ws.integrations.add_credential(HF, "tok", "secret")
    assert credential.name == "tok"
    assert [c.name for c in ws.integrations.list_credentials(HF)] == ["tok"]
    assert log == ["boom", "fine"]
    assert any("observer failed" in r.getMessage() for r in caplog.records)
    ws.integrations.rotate_credential(HF, "tok", "secret2")
    assert log == ["boom", "fine", "boom", "fine"]


def test_observers_see_changes_made_through_another_workspace_object(tmp_path):
    path = tmp_path / "ws"
    one = vk.Workspace(path)
    two = vk.Workspace(path)
    try:
        assert one is not two
        assert one.path == two.path
        calls = []

        def changed():
            calls.append([c.name for c in one.integrations.list_credentials(HF)])

        one.integrations.observe(changed)
        db = two.create_database("shared")
        two.integrations.add_credential(HF, "tok", "secret", databases=[db])
        assert calls == [["tok"]]
        assert one.integrations.list_credentials(HF)[0].databases == (db.id,)
        two.drop_database("shared")  # in tok's scope
        assert len(calls) == 2
        assert one.integrations.list_credentials(HF)[0].databases == ()
        one.integrations.remove_credential(HF, "tok")
        assert calls[-1] == [] and len(calls) == 3
    finally:
        one.close()
        two.close()
