"""Exact numbers (issue 15, item 3): decimals and big integers stored and returned digit for
digit in tables and collections, through the JSON entry, in filters and updates, and after a
reopen from disk."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

import vectorize_kit as vk
from conftest import code
from vectorize_kit.store.wal import _HEADER, Record
from vectorize_kit.values import dumps, json_number, loads, lossless_floats

PI = D("3.14159265358979323846264338327950288")
BIG = 123456789012345678901234567890123


def big(text: str) -> str:
    return text.replace("BIG", str(BIG))


def test_json_numbers_are_read_exactly():
    assert json_number("0.1") == 0.1 and isinstance(json_number("0.1"), float)
    assert json_number("-0.0") == 0.0 and str(json_number("-0.0")) == "-0.0"
    for text in ("1.50", "1e400", "1E-7", "0.1000000000000000000000001", "-2.5e-400"):
        value = json_number(text)
        assert isinstance(value, D) and value == D(text), text
    doc = loads(big('{"a":[1.50,0.1,1e400,BIG,0.1000000000000000000000001]}'))
    assert dumps(doc) == big('{"a":[1.50,0.1,1E+400,BIG,0.1000000000000000000000001]}')
    assert lossless_floats([D("2.5"), D("0.1000000000000000000000001")]) == [
        2.5, D("0.1000000000000000000000001")]
    assert isinstance(lossless_floats(D("2.5")), float)


def test_table_decimals_round_trip_filter_and_update(db):
    table = db.create_table("prices", columns={"id": "text", "d": "decimal", "v": "varint",
                                               "m": {"type": "map", "keyType": "text",
                                                     "valueType": "decimal"}},
                            primary_key="id")
    table.insert_many([{"id": "pi", "d": PI, "v": BIG, "m": {"x": D("1.50")}},
                       {"id": "neg", "d": D("-1E-40"), "v": -BIG}])
    assert table.find_one({"d": PI})["id"] == "pi"
    assert table.find_one({"d": {"$in": [D("-1E-40")]}})["id"] == "neg"
    assert [r["id"] for r in table.find({"d": {"$gt": D("3.1415926535897932384626433832795")}})
            ] == ["pi"]
    table.update_one({"id": "pi"}, {"$set": {"d": D("2.000000000000000000000000000001")}})
    row = table.find_one({"id": "pi"})
    assert row["d"] == D("2.000000000000000000000000000001") and row["v"] == BIG
    assert str(row["m"]["x"]) == "1.50"  # the scale is kept, as Cassandra keeps it
    answer = table.command({"findOne": {"filter": {"id": "neg"}}})
    assert dumps(answer["data"]["document"]) == (
        big('{"id":"neg","d":-1E-40,"v":-BIG}'))


def test_collection_numbers_are_exact(coll):
    coll.insert_many([{"_id": 1, "big": BIG, "dec": D("0.1000000000000000000000001"),
                       "scaled": D("1.50")},
                      {"_id": 2, "big": BIG + 1, "dec": 0.1}])
    # a decimal is not its nearest float; an int is not its nearest float either
    assert [d["_id"] for d in coll.find({"dec": D("0.1000000000000000000000001")})] == [1]
    assert [d["_id"] for d in coll.find({"dec": 0.1})] == [2]
    assert [d["_id"] for d in coll.find({"big": BIG})] == [1]
    assert [d["_id"] for d in coll.find({}, sort={"dec": -1})] == [1, 2]
    doc = coll.find_one({"_id": 1})
    assert doc == {"_id": 1, "big": BIG, "dec": D("0.1000000000000000000000001"),
                   "scaled": D("1.50")}
    # arithmetic on an exact number stays exact
    coll.update_one({"_id": 1}, {"$inc": {"dec": 0.1, "big": 1}, "$mul": {"scaled": 3}})
    doc = coll.find_one({"_id": 1})
    assert doc["dec"] == D("0.2000000000000000000000001") and doc["big"] == BIG + 1
    assert doc["scaled"] == 4.5
    # the JSON entry writes them digit for digit
    answer = coll.command({"findOne": {"filter": {"_id": 1}}})
    assert dumps(answer) == ('{"data":{"document":{"_id":1,"big":%s,'
                             '"dec":0.2000000000000000000000001,"scaled":4.5}}}'
                             ).replace("%s", str(BIG + 1))


def test_exact_numbers_survive_the_log_and_a_reopen(tmp_path):
    docs = [{"_id": "x", "d": D("1.000000000000000000001"), "s": D("1.50"), "big": BIG,
             "f": 0.1}]
    record = Record.decode(Record("put", docs=docs, vectors={}).encode()[_HEADER.size:])
    assert record.docs == docs and [type(v) for v in record.docs[0].values()] == [
        str, D, D, int, float]

    ws = vk.Workspace(tmp_path / "ws")
    db = ws.create_database("d")
    table = db.create_table("t", columns={"id": "int", "d": "decimal",
                                          "l": {"type": "list", "valueType": "decimal"}},
                            primary_key="id")
    table.insert_one({"id": 1, "d": PI, "l": [D("1.50"), D("-7E+3")]})
    db.create_collection("c").insert_many(docs)
    ws.close()  # closing writes a snapshot: the reopen reads it
    ws = vk.Workspace(tmp_path / "ws")
    db = ws.get_database("d")
    row = db.get_table("t").find_one({"id": 1})
    assert row["d"] == PI and [str(x) for x in row["l"]] == ["1.50", "-7E+3"]
    assert db.get_collection("c").find_one({"_id": "x"}) == docs[0]
    ws.close()


def test_non_finite_decimals_are_refused(coll, db):
    with pytest.raises(vk.DataAPIError) as caught:
        coll.insert_one({"_id": 1, "d": D("NaN")})
    assert caught.value.error_code == "SHRED_BAD_DOCUMENT_TYPE"
    table = db.create_table("t", columns={"id": "int", "d": "decimal"}, primary_key="id")
    assert code(table.command({"insertOne": {"document": {"id": 1, "d": D("Infinity")}}})
                ) == "INVALID_COLUMN_VALUES"
    assert coll.count_documents({}, upper_bound=10) == 0
    assert table.count_documents({}, upper_bound=10) == 0
