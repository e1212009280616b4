"""Behaviour a first review found missing or wrong (each test failed before its fix)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import vectorize_kit as vk
from conftest import code


def test_options_are_a_copy(db):
    coll = db.create_collection("c", dimension=2)
    coll.options()["vector"]["dimension"] = 3
    db.list_collections()[0]["options"]["vector"]["metric"] = "euclidean"
    assert coll.options()["vector"] == {"dimension": 2, "metric": "cosine",
                                        "sourceModel": "other"}
    assert code(coll.command({"insertOne": {"document": {"$vector": [1, 2, 3]}}})) == (
        "INVALID_VECTOR_LENGTH")


def test_handles_follow_the_collection_by_name(db):
    coll = db.create_collection("c")
    coll.insert_many([{"_id": i} for i in range(3)])
    coll.drop()
    with pytest.raises(vk.DataAPIError) as info:
        coll.to_pandas()
    assert info.value.error_code == "UNKNOWN_COLLECTION_OR_TABLE"
    with pytest.raises(vk.DataAPIError):
        len(coll)
    assert repr(coll) == "Collection(name='c', keyspace='default_keyspace', documents=?)"
    assert "unavailable" in coll._repr_html_()
    db.create_collection("c").insert_one({"_id": "new"})
    assert coll.find({}).to_list() == [{"_id": "new"}]  # the old handle works again


def test_vector_pages_survive_deletes_between_pages(db):
    c = db.create_collection("v", dimension=2)
    c.insert_many([{"_id": i, "$vector": [1.0, i / 100]} for i in range(50)])
    q = [1.0, 0.0]
    first = c.command({"find": {"sort": {"$vector": q}}})["data"]
    ids = [d["_id"] for d in first["documents"]]
    assert ids == list(range(20))
    c.delete_one({"_id": 49})  # far down the ranking
    c.delete_one({"_id": 19})  # the last document of the page just read
    second = c.command({"find": {"sort": {"$vector": q},
                                 "options": {"pageState": first["nextPageState"]}}})["data"]
    assert [d["_id"] for d in second["documents"]] == list(range(20, 40))
    limited = c.find({}, sort={"$vector": q}, limit=25).to_list()
    assert [d["_id"] for d in limited] == [*range(19), *range(20, 26)]


def test_insert_one_error_keeps_status(coll):
    coll.insert_one({"_id": "a"})
    env = coll.command({"insertOne": {"document": {"_id": "a"}}})
    assert env["status"] == {"insertedIds": []}
    assert env["errors"][0]["errorCode"] == "DOCUMENT_ALREADY_EXISTS"


def test_insert_many_goes_on_past_a_refused_chunk(coll):
    docs = [{"_id": i} for i in range(250)]
    docs[120] = {"_id": 120, "$bad": 1}
    with pytest.raises(vk.InsertManyError) as info:
        coll.insert_many(docs)
    err = info.value
    assert err.error_code == "SHRED_BAD_FIELD_NAME"
    assert len(err.inserted_ids) == 150 and len(coll) == 150
    assert "Not every document was inserted: 150 stored (from 250 given)" in err.message
    assert "documents 100 to 199 of this insert_many" in err.message
    with pytest.raises(vk.InsertManyError) as info:
        coll.insert_many([{"_id": 1000}, {"$bad": 1}, {"_id": 1001}] * 1, ordered=True)
    assert info.value.inserted_ids == []
    with pytest.raises(vk.DataAPIError) as info:
        coll.insert_many([{}], chunk_size=0)
    assert info.value.error_code == "COMMAND_FIELD_VALUE_INVALID"


def test_notebook_values_in_filters_updates_and_sorts(coll):
    when = dt.datetime(2024, 1, 2, tzinfo=dt.timezone.utc)
    coll.insert_many([{"_id": i, "n": i, "at": when} for i in range(5)])
    frame = coll.to_pandas()
    first_id = frame["_id"].iloc[1]  # an Int64 scalar from the frame
    assert coll.find_one({"_id": np.int64(first_id)}) == {
        "_id": 1, "n": 1, "at": {"$date": 1704153600000}}
    assert coll.count_documents({"at": when}, upper_bound=10) == 5
    coll.update_one({"_id": np.int64(2)}, {"$set": {"at": when}, "$inc": {"n": np.float32(4)}})
    assert coll.find_one({"_id": 2})["n"] == 6
    assert [d["_id"] for d in coll.find({}, sort={"n": np.int64(-1)}, limit=2)] == [2, 4]


def test_include_sort_vector_pages_on(db):
    c = db.create_collection("v", dimension=2)
    c.insert_many([{"_id": i, "$vector": [1.0, i / 100]} for i in range(50)])
    cursor = c.find({}, sort={"$vector": [1.0, 0.0]}, include_sort_vector=True, limit=45)
    assert [d["_id"] for d in cursor] == list(range(45))
    assert cursor.get_sort_vector() == [1.0, 0.0]
    env = c.command({"find": {"options": {"includeSortVector": True}}})
    assert env["data"]["nextPageState"] is None and len(env["data"]["documents"]) == 20


def test_to_pandas_dates_and_list_projection(coll):
    coll.insert_many([{"_id": 1, "at": {"$date": 0}, "x": 1}, {"_id": 2, "x": 2}])
    frame = coll.to_pandas(projection=["at"])
    assert list(frame.columns) == ["_id", "at"]
    assert frame["at"].iloc[0] == pd.Timestamp(0, unit="ms", tz="UTC")
    assert isinstance(frame["at"].dtype, pd.DatetimeTZDtype)
    assert pd.isna(frame["at"].iloc[1])
