"""updateOne/Many, findOneAnd*, replace, upsert, deletes (data-api.md §2.4)."""

from __future__ import annotations

import pytest

import vectorize_kit as vk
from conftest import code


@pytest.fixture
def c(coll):
    coll.insert_many([{"_id": i, "n": i, "tags": ["x"], "o": {"a": 1}} for i in range(5)])
    return coll


def one(c, doc_id):
    return c.find_one({"_id": doc_id})


@pytest.mark.parametrize("update, expected", [
    ({"$set": {"n": 10, "o.b": 2, "new.deep": True}},
     {"n": 10, "o": {"a": 1, "b": 2}, "new": {"deep": True}}),
    ({"$unset": {"n": "", "o.a": 1, "missing": 1}}, {"o": {}}),
    ({"$inc": {"n": 5, "fresh": 2}}, {"n": 6, "fresh": 2}),
    ({"$inc": {"n": 0.5}}, {"n": 1.5}),
    ({"$mul": {"n": 3, "fresh": 2}}, {"n": 3, "fresh": 0}),
    ({"$min": {"n": 0, "m": 7}}, {"n": 0, "m": 7}),
    ({"$max": {"n": 9}}, {"n": 9}),
    ({"$rename": {"n": "count", "o.a": "o2.a"}}, {"count": 1, "o": {}, "o2": {"a": 1}}),
    ({"$push": {"tags": "y"}}, {"tags": ["x", "y"]}),
    ({"$push": {"tags": {"$each": ["a", "b"], "$position": 0}}}, {"tags": ["a", "b", "x"]}),
    ({"$push": {"list": 1}}, {"list": [1]}),
    ({"$addToSet": {"tags": {"$each": ["x", "z", "z"]}}}, {"tags": ["x", "z"]}),
    ({"$pop": {"tags": 1}}, {"tags": []}),
    ({"$set": {"tags.0": "first", "tags.2": "third"}}, {"tags": ["first", None, "third"]}),
])
def test_update_operators(c, update, expected):
    env = c.command({"updateOne": {"filter": {"_id": 1}, "update": update}})
    assert env == {"status": {"matchedCount": 1, "modifiedCount": 1}}
    base = {"_id": 1, "n": 1, "tags": ["x"], "o": {"a": 1}}
    want = {**base, **expected}
    for key in ("n", "o") if "$unset" in update or "$rename" in update else ():
        if key not in expected:
            want.pop(key)
    assert one(c, 1) == want


def test_current_date(c):
    c.update_one({"_id": 1}, {"$currentDate": {"at": True}})
    at = one(c, 1)["at"]
    assert list(at) == ["$date"] and isinstance(at["$date"], int) and at["$date"] > 1.7e12


def test_no_change_means_not_modified(c):
    env = c.command({"updateOne": {"filter": {"_id": 1}, "update": {"$min": {"n": 9}}}})
    assert env == {"status": {"matchedCount": 1, "modifiedCount": 0}}
    env = c.command({"updateOne": {"filter": {"_id": 1}, "update": {"$set": {"n": 1}}}})
    assert env == {"status": {"matchedCount": 1, "modifiedCount": 0}}
    env = c.command({"updateOne": {"filter": {"_id": 99}, "update": {"$set": {"n": 1}}}})
    assert env == {"status": {"matchedCount": 0, "modifiedCount": 0}}


@pytest.mark.parametrize("update, expected", [
    ({}, "UNSUPPORTED_UPDATE_OPERATION"),
    ({"$pullAll": {"tags": ["x"]}}, "UNSUPPORTED_UPDATE_OPERATION"),
    ({"$bogus": {"a": 1}}, "UNSUPPORTED_UPDATE_OPERATION"),
    ({"$set": 5}, "UNSUPPORTED_UPDATE_OPERATION_PARAM"),
    ({"$inc": {"n": "1"}}, "UNSUPPORTED_UPDATE_OPERATION_PARAM"),
    ({"$pop": {"tags": 2}}, "UNSUPPORTED_UPDATE_OPERATION_PARAM"),
    ({"$rename": {"n": "n"}}, "UNSUPPORTED_UPDATE_OPERATION_PARAM"),
    ({"$set": {"a": 1}, "$unset": {"a": 1}}, "UNSUPPORTED_UPDATE_OPERATION_PATH"),
    ({"$set": {"o": 1, "o.a": 2}}, "UNSUPPORTED_UPDATE_OPERATION_PATH"),
    ({"$set": {"$x": 1}}, "UNSUPPORTED_UPDATE_OPERATION_PATH"),
    ({"$set": {"n.deeper": 1}}, "UNSUPPORTED_UPDATE_OPERATION_PATH"),
    ({"$inc": {"tags": 1}}, "UNSUPPORTED_UPDATE_OPERATION_TARGET"),
    ({"$push": {"n": 1}}, "UNSUPPORTED_UPDATE_OPERATION_TARGET"),
    ({"$set": {"_id": 5}}, "UNSUPPORTED_UPDATE_OPERATOR_FOR_DOC_ID"),
    ({"$inc": {"$vector": 1}}, "UNSUPPORTED_UPDATE_OPERATOR_FOR_VECTOR"),
    ({"$push": {"$vectorize": "x"}}, "UNSUPPORTED_UPDATE_OPERATOR_FOR_VECTORIZE"),
    ({"$set": {"big": "x" * 9000}}, "SHRED_DOC_LIMIT_VIOLATION"),
])
def test_bad_updates_change_nothing(c, update, expected):
    before = c.find({}, projection={"*": 1}).to_list()
    env = c.command({"updateOne": {"filter": {"_id": 1}, "update": update}})
    assert code(env) == expected
    assert c.find({}, projection={"*": 1}).to_list() == before


def test_update_many_pages_of_twenty(coll):
    coll.insert_many([{"_id": i, "g": i % 2} for i in range(50)])
    env = coll.command({"updateMany": {"filter": {"g": 0}, "update": {"$set": {"hit": 1}}}})
    status = env["status"]
    assert status["matchedCount"] == 20 and status["modifiedCount"] == 20
    assert status["moreData"] is True
    env = coll.command({"updateMany": {"filter": {"g": 0}, "update": {"$set": {"hit": 1}},
                                       "options": {"pageState": status["nextPageState"]}}})
    assert env == {"status": {"matchedCount": 5, "modifiedCount": 5}}
    assert coll.count_documents({"hit": 1}, upper_bound=100) == 25
    result = coll.update_many({}, {"$inc": {"v": 1}})
    assert (result.matched_count, result.modified_count) == (50, 50)


def test_upserts(coll):
    r = coll.update_one({"_id": "u", "kind": "a", "n": {"$gt": 3}}, {"$set": {"x": 1},
                        "$setOnInsert": {"created": True}}, upsert=True)
    assert r == vk.UpdateResult(0, 0, "u")
    assert one(coll, "u") == {"_id": "u", "kind": "a", "x": 1, "created": True}
    r = coll.update_one({"_id": "u"}, {"$set": {"x": 2}, "$setOnInsert": {"created": False}},
                        upsert=True)
    assert r == vk.UpdateResult(1, 1, None)
    assert one(coll, "u")["created"] is True
    r = coll.update_many({"kind": "b"}, {"$set": {"y": 1}}, upsert=True)
    assert r.matched_count == 0 and r.upserted_id is not None
    assert coll.find_one({"kind": "b"}) == {"_id": r.upserted_id, "kind": "b", "y": 1}
    env = coll.command({"updateOne": {"filter": {"k": 1}, "update": {
        "$setOnInsert": {"_id": "chosen"}}, "options": {"upsert": True}}})
    assert env["status"]["upsertedId"] == "chosen"


def test_update_one_with_sort(c):
    c.update_one({}, {"$set": {"top": True}}, sort={"n": -1})
    assert c.find_one({"top": True})["_id"] == 4


def test_find_one_and_update(c):
    before = c.find_one_and_update({"_id": 2}, {"$inc": {"n": 1}}, projection={"n": 1})
    assert before == {"_id": 2, "n": 2}
    after = c.find_one_and_update({"_id": 2}, {"$inc": {"n": 1}}, return_document="after",
                                  projection={"n": 1})
    assert after == {"_id": 2, "n": 4}
    assert c.find_one_and_update({"_id": 42}, {"$set": {"a": 1}}) is None
    env = c.command({"findOneAndUpdate": {"filter": {"_id": 42}, "update": {"$set": {"a": 1}},
                                          "options": {"upsert": True, "returnDocument": "after"}}})
    assert env == {"data": {"document": {"_id": 42, "a": 1}},
                   "status": {"matchedCount": 0, "modifiedCount": 0, "upsertedId": 42}}
    env = c.command({"findOneAndUpdate": {"filter": {}, "update": {"$set": {"a": 1}},
                                          "options": {"returnDocument": "later"}}})
    assert code(env) == "COMMAND_FIELD_VALUE_INVALID"


def test_find_one_and_replace_and_replace_one(c):
    old = c.find_one_and_replace({"_id": 3}, {"fresh": 1})
    assert old == {"_id": 3, "n": 3, "tags": ["x"], "o": {"a": 1}}
    assert one(c, 3) == {"_id": 3, "fresh": 1}
    env = c.command({"findOneAndReplace": {"filter": {"_id": 3}, "replacement": {"_id": 4}}})
    assert code(env) == "DOCUMENT_REPLACE_DIFFERENT_DOCID"
    r = c.replace_one({"_id": 77}, {"v": 1}, upsert=True)
    assert r.upserted_id == 77 and one(c, 77) == {"_id": 77, "v": 1}
    r = c.replace_one({"n": 4}, {"v": 2})
    assert (r.matched_count, r.modified_count) == (1, 1) and one(c, 4) == {"_id": 4, "v": 2}
    assert code(c.command({"findOneAndReplace": {"filter": {"_id": 1},
                                                 "replacement": {"$x": 1}}})) == (
        "SHRED_BAD_FIELD_NAME")


def test_vector_updates(vcoll):
    vcoll.insert_one({"_id": 1, "$vector": [1, 0, 0]})
    vcoll.update_one({"_id": 1}, {"$set": {"$vector": [0, 1, 0]}})
    assert vcoll.find_one({}, projection={"$vector": 1})["$vector"] == [0, 1, 0]
    assert code(vcoll.command({"updateOne": {"filter": {}, "update": {
        "$set": {"$vector": [1, 2]}}}})) == "INVALID_VECTOR_LENGTH"
    vcoll.update_one({"_id": 1}, {"$unset": {"$vector": 1}})
    assert vcoll.find_one({}, projection={"*": 1}) == {"_id": 1}
    assert vcoll.find({}, sort={"$vector": [1, 0, 0]}).to_list() == []
    env = vcoll.command({"updateOne": {"filter": {}, "update": {"$set": {"$vectorize": "t"}}}})
    assert code(env) == "EMBEDDING_SERVICE_NOT_CONFIGURED"


def test_vector_replacement_and_find_one_and_delete_by_similarity(vcoll):
    vcoll.insert_many([{"_id": i, "$vector": v} for i, v in
                       enumerate([[1, 0, 0], [0, 1, 0], [0, 0, 1]])])
    gone = vcoll.find_one_and_delete({}, sort={"$vector": [0, 0.9, 0.1]},
                                     projection={"$vector": 1})
    assert gone == {"_id": 1, "$vector": [0, 1, 0]}
    vcoll.find_one_and_replace({"_id": 0}, {"$vector": [0, 0, 2], "k": 1})
    assert vcoll.find_one({}, sort={"$vector": [0, 0, 1]}, projection={"*": 1}) == {
        "_id": 0, "$vector": [0, 0, 2], "k": 1}
    assert vcoll.delete_one({}, sort={"$vector": [0, 0, 1]}).deleted_count == 1
    assert len(vcoll) == 1


def test_deletes(coll):
    coll.insert_many([{"_id": i, "g": i % 3} for i in range(70)])
    assert coll.command({"deleteOne": {"filter": {"_id": 5}}}) == {"status": {"deletedCount": 1}}
    assert coll.command({"deleteOne": {"filter": {"_id": 5}}}) == {"status": {"deletedCount": 0}}
    env = coll.command({"deleteMany": {"filter": {"g": 0}}})
    assert env == {"status": {"deletedCount": 20, "moreData": True}}
    assert coll.delete_many({"g": 0}).deleted_count == 4  # 24 matched, 20 went above
    assert coll.count_documents({"g": 0}, upper_bound=100) == 0
    assert coll.command({"findOneAndDelete": {"filter": {"_id": 999}}}) == {
        "data": {"document": None}, "status": {"deletedCount": 0}}
    doc = coll.command({"findOneAndDelete": {"filter": {"g": 1}, "sort": {"_id": -1}}})
    assert doc == {"data": {"document": {"_id": 67, "g": 1}}, "status": {"deletedCount": 1}}
    assert coll.command({"deleteMany": {"filter": {}}}) == {"status": {"deletedCount": -1}}
    assert len(coll) == 0
    coll.insert_one({"_id": 1})
    assert coll.delete_many({}).deleted_count == -1 and len(coll) == 0
