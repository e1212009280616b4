"""User-defined types (issue 15, item 1) through the JSON entry and the Python API:
createType / alterType / dropType / listTypes, UDT columns (also inside lists, sets and maps),
rows holding full, partial and null values, filters, updates, errors, and persistence."""

from __future__ import annotations

import copy

import pytest

import vectorize_kit as vk
from conftest import code

ADDRESS = {"city": "text", "zip": {"type": "int"}}


def ok(answer: dict) -> None:
    assert answer == {"status": {"ok": 1}}, answer


def udt_table(db, name="people"):
    ok(db.command({"createType": {"name": "address", "definition": {"fields": ADDRESS}}}))
    ok(db.command({"createTable": {"name": name, "definition": {"columns": {
        "id": "text",
        "home": {"type": "userDefined", "udtName": "address"},
        "past": {"type": "list", "valueType": {"type": "userDefined", "udtName": "address"}},
        "seen": {"type": "set", "valueType": {"type": "userDefined", "udtName": "address"}},
        "by": {"type": "map", "keyType": "text",
               "valueType": {"type": "userDefined", "udtName": "address"}},
    }, "primaryKey": "id"}}}))
    return db.get_table(name)


def test_type_lifecycle_and_listings(db):
    ok(db.command({"createType": {"name": "address", "definition": {"fields": ADDRESS}}}))
    ok(db.command({"createType": {"name": "address", "definition": {"fields": {"x": "int"}},
                                  "options": {"ifNotExists": True}}}))  # kept as it was
    assert code(db.command({"createType": {"name": "address", "definition": {
        "fields": ADDRESS}}})) == "CANNOT_ADD_EXISTING_TYPE"
    db.create_type("Point", fields={"x": "double", "y": "double"})
    assert db.command({"listTypes": {}}) == {"status": {"types": ["address", "Point"]}}
    assert db.list_types()[1] == {
        "type": "userDefined", "udtName": "Point",
        "definition": {"fields": {"x": {"type": "double"}, "y": {"type": "double"}}},
        "apiSupport": {"createTable": True, "insert": True, "read": True, "filter": False,
                       "cqlDefinition": 'default_keyspace."Point"'}}
    ok(db.command({"alterType": {"name": "address", "rename": {"fields": {"zip": "postcode"}}}}))
    db.alter_type("address", add={"country": "text"})
    assert db.list_types()[0]["definition"] == {"fields": {
        "city": {"type": "text"}, "postcode": {"type": "int"}, "country": {"type": "text"}}}
    ok(db.command({"dropType": {"name": "Point"}}))
    assert code(db.command({"dropType": {"name": "Point"}})) == "CANNOT_DROP_UNKNOWN_TYPE"
    ok(db.command({"dropType": {"name": "Point", "options": {"ifExists": True}}}))
    assert db.list_type_names() == ["address"]
    # types belong to their keyspace
    db.create_keyspace("other")
    assert db.list_type_names(keyspace="other") == []
    assert code(db.command({"listTypes": {}}, keyspace="nope")) == "UNKNOWN_KEYSPACE"


@pytest.mark.parametrize(("command", "expected", "fragment"), [
    ({"createType": {"name": "t", "definition": {"fields": {}}}},
     "MISSING_FIELDS_FOR_TYPE_CREATION", "at least one field"),
    ({"createType": {"name": "t", "definition": {"fields": {"a": {"type": "list",
                                                                  "valueType": "text"}}}}},
     "UNSUPPORTED_TYPE_FIELDS", "The command used the unsupported types: list."),
    ({"createType": {"name": "t", "definition": {"fields": {"a": "vector", "b": "counter"}}}},
     "UNSUPPORTED_TYPE_FIELDS", "unsupported types: vector, counter."),
    ({"createType": {"name": "t", "definition": {"fields": {
        "a": {"type": "userDefined", "udtName": "address"}}}}},
     "UNSUPPORTED_TYPE_FIELDS", "unsupported types: userDefined."),
    ({"createType": {"name": "bad-name", "definition": {"fields": {"a": "int"}}}},
     "UNSUPPORTED_SCHEMA_NAME", "Udt"),
    ({"createType": {"name": "", "definition": {"fields": {"a": "int"}}}},
     "COMMAND_FIELD_VALUE_INVALID", "command.name"),
    ({"alterType": {"name": "address"}}, "MISSING_ALTER_TYPE_OPERATIONS", "at least one"),
    ({"alterType": {"name": "address", "add": {"fields": {}}}},
     "MISSING_ALTER_TYPE_OPERATIONS", "at least one"),
    ({"alterType": {"name": "address", "add": {"fields": {"city": "text"}}}},
     "CANNOT_ADD_EXISTING_FIELD", "The existing field name was: city."),
    ({"alterType": {"name": "address", "rename": {"fields": {"city": "zip"}}}},
     "CANNOT_ADD_EXISTING_FIELD", "The existing field name was: zip."),
    ({"alterType": {"name": "address", "rename": {"fields": {"nope": "x"}}}},
     "CANNOT_RENAME_UNKNOWN_TYPE_FIELD", "The unknown field was: nope."),
    ({"alterType": {"name": "nope", "add": {"fields": {"x": "int"}}}},
     "CANNOT_ALTER_UNKNOWN_TYPE", "unknown type: nope"),
    ({"alterType": {"name": "address", "add": {"fields": {"m": "map"}}}},
     "UNSUPPORTED_TYPE_FIELDS", "unsupported types: map."),
])
def test_type_command_errors_change_nothing(db, command, expected, fragment):
    db.create_type("address", fields=ADDRESS)
    before = db.list_types()
    answer = db.command(command)
    assert code(answer) == expected
    assert fragment in answer["errors"][0]["message"]
    assert db.list_types() == before


@pytest.mark.parametrize(("column", "expected"), [
    ({"type": "userDefined", "udtName": "nope"}, "UNKNOWN_USER_DEFINED_TYPE"),
    ({"type": "userDefined"}, "INVALID_USER_DEFINED_TYPE_NAME"),
    ({"type": "userDefined", "udtName": " "}, "INVALID_USER_DEFINED_TYPE_NAME"),
    ({"type": "userDefined", "udtType": "address"}, "COMMAND_FIELD_UNKNOWN"),
    ({"type": "map", "keyType": {"type": "userDefined", "udtName": "address"},
      "valueType": "text"}, "UNSUPPORTED_MAP_DEFINITION"),
    ({"type": "list", "valueType": {"type": "userDefined", "udtName": "nope"}},
     "UNKNOWN_USER_DEFINED_TYPE"),
])
def test_bad_udt_columns(db, column, expected):
    db.create_type("address", fields=ADDRESS)
    answer = db.command({"createTable": {"name": "t", "definition": {
        "columns": {"id": "text", "c": column}, "primaryKey": "id"}}})
    assert code(answer) == expected
    assert db.list_table_names() == []
    answer = db.command({"createTable": {"name": "t", "definition": {
        "columns": {"id": {"type": "userDefined", "udtName": "address"}}, "primaryKey": "id"}}})
    assert code(answer) == "PRIMARY_KEY_DEFINITION_INCORRECT"


def test_udt_columns_are_listed_by_name_and_projected_with_their_definition(db):
    table = udt_table(db)
    [listed] = db.list_tables()
    support = {"createTable": True, "insert": True, "read": True, "filter": False,
               "cqlDefinition": "default_keyspace.address"}
    assert listed["definition"]["columns"] == {
        "id": {"type": "text"},
        "home": {"type": "userDefined", "udtName": "address", "apiSupport": support},
        "past": {"type": "list", "valueType": {"type": "userDefined", "udtName": "address"}},
        "seen": {"type": "set", "valueType": {"type": "userDefined", "udtName": "address"}},
        "by": {"type": "map", "keyType": "text",
               "valueType": {"type": "userDefined", "udtName": "address"}}}
    definition = {"fields": {"city": {"type": "text"}, "zip": {"type": "int"}}}
    answer = table.command({"find": {"projection": {"home": 1, "by": 1}}})
    assert answer["status"]["projectionSchema"] == {
        "home": {"type": "userDefined", "udtName": "address", "definition": definition,
                 "apiSupport": support},
        "by": {"type": "map", "keyType": "text", "valueType": {
            "type": "userDefined", "udtName": "address", "definition": definition}}}
    # alterTable adds UDT columns too
    ok(table.command({"alterTable": {"operation": {"add": {"columns": {
        "work": {"type": "userDefined", "udtName": "address"}}}}}}))
    assert db.list_tables()[0]["definition"]["columns"]["work"]["udtName"] == "address"


def test_rows_with_full_partial_null_and_nested_udt_values(db):
    table = udt_table(db)
    rows = [
        {"id": "full", "home": {"city": "Paris", "zip": 75001},
         "past": [{"city": "Rome", "zip": 1}, {}], "seen": [{"zip": 2}, {"zip": 1}, {"zip": 2}],
         "by": {"work": {"city": "Lyon"}}},
        {"id": "partial", "home": {"zip": 5}},
        {"id": "null-fields", "home": {"city": None, "zip": None}},
        {"id": "pairs", "home": [["city", "Oslo"], ["zip", 150]]},  # the "tuple format"
    ]
    answer = table.command({"insertMany": {"documents": rows}})
    assert answer["status"]["insertedIds"] == [["full"], ["partial"], ["null-fields"],
                                               ["pairs"]]
    found = {r["id"]: r for r in table.command({"find": {}})["data"]["documents"]}
    assert found["full"] == {"id": "full", "home": {"city": "Paris", "zip": 75001},
                             "past": [{"city": "Rome", "zip": 1}, {}],
                             "seen": [{"zip": 1}, {"zip": 2}],
                             "by": {"work": {"city": "Lyon"}}}
    assert found["partial"] == {"id": "partial", "home": {"zip": 5}}  # null fields left out
    assert found["null-fields"] == {"id": "null-fields"}  # every field null: the value is null
    assert found["pairs"]["home"] == {"city": "Oslo", "zip": 150}
    frame = table.to_pandas()
    assert frame.set_index("id").loc["partial", "home"] == {"city": None, "zip": 5}


@pytest.mark.parametrize(("value", "fragment"), [
    ({"city": "x", "street": "y"}, "type 'address' has no field 'street'"),
    ({"zip": "75001"}, "field 'zip' of type 'address'"),
    ("Paris", "expected an object of the fields of type 'address'"),
    ([[1, "x"]], "UDT field name must be a string"),
])
def test_bad_udt_values_are_refused_with_the_reason(db, value, fragment):
    table = udt_table(db)
    answer = table.command({"insertOne": {"document": {"id": "a", "home": value}}})
    assert code(answer) == "INVALID_COLUMN_VALUES"
    assert fragment in answer["errors"][0]["message"]
    answer = table.command({"insertOne": {"document": {"id": "a", "past": [value]}}})
    assert code(answer) == "INVALID_COLUMN_VALUES"
    assert table.count_documents({}, upper_bound=10) == 0


def test_filters_on_udt_columns(db):
    table = udt_table(db)
    table.insert_many([
        {"id": "a", "home": {"city": "Paris"}, "past": [{"city": "Rome", "zip": 1}],
         "seen": [{"zip": 8}], "by": {"k": {"city": "Oslo"}}},
        {"id": "b", "past": [{"city": "Rome"}], "seen": [{"city": "Otto", "zip": 8}],
         "by": {"j": {"city": "Oslo"}}},
    ])

    def ids(flt):
        answer = table.command({"find": {"filter": flt}})
        assert "errors" not in answer, answer
        return sorted(r["id"] for r in answer["data"]["documents"])

    assert ids({"past": {"$in": [{"city": "Rome", "zip": 1}]}}) == ["a"]
    assert ids({"past": {"$in": [{"city": "Rome"}]}}) == ["b"]  # whole-value equality
    assert ids({"past": {"$nin": [{"city": "Rome"}]}}) == ["a"]
    assert ids({"seen": {"$all": [{"zip": 8}]}}) == ["a"]
    assert ids({"by": {"$values": {"$in": [{"city": "Oslo"}]}}}) == ["a", "b"]
    assert ids({"by": {"$in": [["j", {"city": "Oslo"}]]}}) == ["b"]
    for flt, expected in (({"home": {"city": "Paris"}}, "UNSUPPORTED_FILTERING_FOR_COLUMN_TYPES"),
                          ({"past": {"$in": [{"town": "x"}]}}, "INVALID_FILTER_COLUMN_VALUES")):
        assert code(table.command({"find": {"filter": flt}})) == expected
    assert code(table.command({"find": {"sort": {"home": 1}}})) == "SORT_CLAUSE_VALUE_INVALID"


def test_updates_of_udt_columns(db):
    table = udt_table(db)
    table.insert_one({"id": "a", "home": {"city": "Paris", "zip": 1},
                      "past": [{"city": "Rome"}], "by": {"k": {"zip": 1}}})
    ok_update = {"status": {"matchedCount": 1, "modifiedCount": 1}}
    for update in ({"$set": {"home": {"zip": 2}}},  # replaces the whole value
                   {"$push": {"past": {"$each": [{"city": "Oslo"}, {}]}}},
                   {"$push": {"by": {"j": {"city": "Lyon"}}}},
                   {"$pullAll": {"past": [{"city": "Rome"}], "by": ["k"]}}):
        assert table.command({"updateOne": {"filter": {"id": "a"}, "update": update}}
                             ) == ok_update, update
    assert table.find_one({"id": "a"}) == {"id": "a", "home": {"zip": 2},
                                           "past": [{"city": "Oslo"}, {}],
                                           "by": {"j": {"city": "Lyon"}}}
    for update, expected in (({"$set": {"home.city": "x"}}, "UNKNOWN_TABLE_COLUMNS"),
                             ({"$push": {"home": {"city": "x"}}}, "UNSUPPORTED_UPDATE_OPERATOR"),
                             ({"$set": {"home": {"town": "x"}}}, "INVALID_UPDATE_COLUMN_VALUES")):
        assert code(table.command({"updateOne": {"filter": {"id": "a"}, "update": update}})
                    ) == expected
    table.update_one({"id": "a"}, {"$unset": {"home": ""}})
    assert "home" not in table.find_one({"id": "a"})


def test_indexes_on_udt_columns(db):
    table = udt_table(db)
    for name, column in (("past_idx", "past"), ("seen_idx", "seen"),
                         ("by_values", {"by": "$values"}), ("by_entries", {"by": "$entries"})):
        ok(table.command({"createIndex": {"name": name, "definition": {"column": column}}}))
    answer = table.command({"createIndex": {"name": "home_idx",
                                            "definition": {"column": "home"}}})
    assert code(answer) == "UNSUPPORTED_INDEXING_FOR_DATA_TYPES"
    answer = table.command({"createIndex": {"name": "past_ci", "definition": {
        "column": "past", "options": {"caseSensitive": False}}}})
    assert code(answer) == "UNSUPPORTED_TEXT_ANALYSIS_FOR_DATA_TYPES"


def test_altering_a_type_changes_every_table_and_keeps_the_values(db):
    table = udt_table(db)
    other = db.create_table("visits", columns={
        "id": "int", "at": {"type": "userDefined", "udtName": "address"}}, primary_key="id")
    table.insert_one({"id": "a", "home": {"city": "Paris", "zip": 1}, "past": [{"zip": 2}]})
    other.insert_one({"id": 1, "at": {"zip": 3}})
    db.alter_type("address", rename={"zip": "postcode"}, add={"country": "text"})
    assert table.find_one({"id": "a"}) == {"id": "a", "home": {"city": "Paris", "postcode": 1},
                                           "past": [{"postcode": 2}]}
    assert other.find_one({"id": 1}) == {"id": 1, "at": {"postcode": 3}}
    table.insert_one({"id": "b", "home": {"country": "NO"}, "past": [{"postcode": 2}]})
    # an old value and a new one with the same fields set are equal
    assert sorted(r["id"] for r in table.find({"past": {"$in": [{"postcode": 2}]}})) == [
        "a", "b"]
    answer = db.command({"dropType": {"name": "address"}})
    assert code(answer) == "CANNOT_DROP_TYPE_USED_BY_TABLE"
    assert "people, visits" in answer["errors"][0]["message"]
    db.drop_table("visits")
    ok(table.command({"alterTable": {"operation": {"drop": {"columns": [
        "home", "past", "seen", "by"]}}}}))
    ok(db.command({"dropType": {"name": "address"}}))


def test_types_and_udt_rows_survive_a_reopen(tmp_path):
    ws = vk.Workspace(tmp_path / "ws")
    db = ws.create_database("d")
    table = udt_table(db)
    table.insert_one({"id": "a", "home": {"city": "Paris", "zip": 1}, "seen": [{"zip": 2}],
                      "by": {"k": {"city": "Oslo"}}})
    db.alter_type("address", rename={"zip": "postcode"})
    table.insert_one({"id": "b", "home": {"postcode": 9}})
    db.alter_type("address", add={"country": "text"})
    expected = [r for r in table.find({})]
    types = db.list_types()
    ws.close()
    ws = vk.Workspace(tmp_path / "ws")
    db = ws.get_database("d")
    assert db.list_types() == types
    assert list(db.get_table("people").find({})) == expected
    ws.close()


def test_an_alter_type_cut_short_is_completed_on_the_next_open(tmp_path):
    """The type's file is written first, then each table: a crash in between (the table's
    schema record never written) leaves the table with the old definition, which the next
    open makes current."""
    ws = vk.Workspace(tmp_path / "ws")
    db = ws.create_database("d")
    table = udt_table(db)
    table.insert_one({"id": "a", "home": {"city": "Paris", "zip": 1}})
    state = db._state
    ks = "default_keyspace"
    udt = state.types[ks]["address"]
    # what alterType writes before it touches the tables
    renamed = type(udt)("address", (("city", "text"), ("postcode", "int")))
    state.types[ks]["address"] = renamed
    state.save_types(ks)
    ws.close()
    ws = vk.Workspace(tmp_path / "ws")
    db = ws.get_database("d")
    assert db.get_table("people").find_one({"id": "a"})["home"] == {"city": "Paris",
                                                                   "postcode": 1}
    schema = copy.deepcopy(db.get_table("people")._state.schema)
    assert schema["columns"]["home"]["definition"]["fields"]["postcode"] == {"type": "int"}
    ws.close()
