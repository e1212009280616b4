"""User-defined types through astrapy 2.x (sync API) against ``vectorize-kit serve``: the
type lifecycle astrapy's own ``test_table_udt_lifecycle_sync`` runs, tables with UDT columns
(scalar, list, set, map), rows with full, partial and empty values read back as astrapy
expects them, filters, updates, and ``to_pandas`` through ``vk.connect``."""

from __future__ import annotations

import pytest
from astrapy import DataAPIClient
from astrapy.data_types import DataAPIDictUDT, DataAPIMap, DataAPISet
from astrapy.exceptions import DataAPIResponseException
from astrapy.info import (
    AlterTypeAddFields,
    AlterTypeRenameFields,
    CreateTableDefinition,
    CreateTypeDefinition,
    TableUDTColumnDescriptor,
)

import vectorize_kit as vk
from vectorize_kit.server import DataAPIServer

TOKEN = "AstraCS:udt-admin"
UDT_DEF0 = CreateTypeDefinition(fields={"f_float0": "float", "f_float1": "float",
                                        "f_float2": "float"})
PLAYER = CreateTypeDefinition(fields={"name": "text", "age": "int"})


@pytest.fixture
def served():
    ws = vk.Workspace()
    db = ws.create_database("udts")
    with DataAPIServer(db, tokens={TOKEN: "database-administrator"}) as server:
        adb = DataAPIClient(environment="other").get_database(
            server.url, token=TOKEN, keyspace="default_keyspace")
        yield db, server, adb
    ws.close()


def error_code(caught) -> str:
    return caught.value.error_descriptors[0].error_code


def test_the_type_lifecycle_astrapy_tests(served):
    _, _, adb = served
    adb.create_type("test_udt", definition=UDT_DEF0)
    with pytest.raises(DataAPIResponseException):
        adb.create_type("test_udt", definition=UDT_DEF0)
    adb.create_type("test_udt", definition=UDT_DEF0, if_not_exists=True)
    assert "test_udt" in adb.list_type_names()
    [listed] = [t for t in adb.list_types() if t.udt_name == "test_udt"]
    assert listed.definition == UDT_DEF0
    assert listed.api_support.cql_definition == "default_keyspace.test_udt"

    adb.alter_type("test_udt", AlterTypeAddFields(fields={"f_text0": "text"}))
    adb.alter_type("test_udt", AlterTypeRenameFields(fields={"f_float0": "z_float0"}))
    with pytest.raises(DataAPIResponseException) as caught:
        adb.alter_type("test_udt", AlterTypeAddFields(fields={"f_text0": "text"}))
    assert error_code(caught) == "CANNOT_ADD_EXISTING_FIELD"
    [listed] = [t for t in adb.list_types() if t.udt_name == "test_udt"]
    assert listed.definition == CreateTypeDefinition(fields={
        "z_float0": "float", "f_float1": "float", "f_float2": "float", "f_text0": "text"})

    adb.drop_type("test_udt")
    with pytest.raises(DataAPIResponseException) as caught:
        adb.drop_type("test_udt")
    assert error_code(caught) == "CANNOT_DROP_UNKNOWN_TYPE"
    adb.drop_type("test_udt", if_exists=True)
    assert adb.list_type_names() == []


def _player_table(adb):
    adb.create_type("udt_player", definition=PLAYER)
    udt = TableUDTColumnDescriptor(udt_name="udt_player")
    definition = (
        CreateTableDefinition.builder().add_column("id", "text")
        .add_userdefinedtype_column("scalar_udt", "udt_player")
        .add_list_column("list_udt", udt).add_set_column("set_udt", udt)
        .add_map_column("map_udt", "text", udt)
        .add_partition_by(["id"]).build())
    return adb.create_table("players", definition=definition)


def test_udt_rows_in_every_column_shape(served):
    db, _, adb = served
    table = _player_table(adb)
    listed = {t.name: t for t in adb.list_tables()}["players"].as_dict()
    assert listed["definition"]["columns"]["scalar_udt"]["udtName"] == "udt_player"
    assert listed["definition"]["columns"]["list_udt"]["valueType"] == {
        "type": "userDefined", "udtName": "udt_player"}

    john = {"name": "John", "age": 90}
    table.insert_one({"id": "full", "scalar_udt": john, "list_udt": [john, {"age": 8}],
                      "set_udt": DataAPISet([DataAPIDictUDT(john)]),
                      "map_udt": DataAPIMap([("k", DataAPIDictUDT({"name": "Ann"}))])})
    table.insert_many([{"id": "partial", "scalar_udt": {"age": 90}},
                       {"id": "empty", "scalar_udt": None, "list_udt": [{}]}])
    full = table.find_one({"id": "full"})
    assert full["scalar_udt"] == DataAPIDictUDT(john)
    assert list(full["list_udt"]) == [DataAPIDictUDT(john),
                                      DataAPIDictUDT({"name": None, "age": 8})]
    assert list(full["set_udt"]) == [DataAPIDictUDT(john)]
    assert dict(full["map_udt"]) == {"k": DataAPIDictUDT({"name": "Ann", "age": None})}
    # astrapy fills the fields the Data API leaves out (null ones) with None
    assert table.find_one({"id": "partial"})["scalar_udt"] == DataAPIDictUDT(
        {"name": None, "age": 90})
    empty = table.find_one({"id": "empty"}, projection={"scalar_udt": True, "list_udt": True})
    assert empty["scalar_udt"] == DataAPIDictUDT({"name": None, "age": None})
    assert list(empty["list_udt"]) == [DataAPIDictUDT({"name": None, "age": None})]
    # the in-process API holds the same rows
    assert db.get_table("players").find_one({"id": "partial"}) == {
        "id": "partial", "scalar_udt": {"age": 90}}


def test_udt_filters_updates_and_errors(served):
    _, _, adb = served
    table = _player_table(adb)
    otto = {"name": "Otto", "age": 8}
    table.insert_many([{"id": "a", "list_udt": [otto], "map_udt": {"k": otto}},
                       {"id": "b", "list_udt": [{"age": 8}], "set_udt": [{"age": 8}]}])
    assert [r["id"] for r in table.find({"list_udt": {"$in": [otto]}})] == ["a"]
    assert [r["id"] for r in table.find({"list_udt": {"$in": [{"age": 8}]}})] == ["b"]
    assert [r["id"] for r in table.find({"map_udt": {"$values": {"$all": [otto]}}})] == ["a"]
    assert [r["id"] for r in table.find({"set_udt": {"$nin": [{"age": 8}]}})] == ["a"]
    with pytest.raises(DataAPIResponseException) as caught:
        table.find_one({"scalar_udt": otto})
    assert error_code(caught) == "UNSUPPORTED_FILTERING_FOR_COLUMN_TYPES"

    table.update_one({"id": "a"}, {"$set": {"scalar_udt": {"name": "Ann"}}})
    table.update_one({"id": "a"}, {"$push": {"list_udt": {"name": "Bea"}}})
    row = table.find_one({"id": "a"})
    assert row["scalar_udt"] == DataAPIDictUDT({"name": "Ann", "age": None})
    assert [u["name"] for u in row["list_udt"]] == ["Otto", "Bea"]
    with pytest.raises(DataAPIResponseException) as caught:
        table.update_one({"id": "a"}, {"$set": {"scalar_udt.name": "x"}})
    assert error_code(caught) == "UNKNOWN_TABLE_COLUMNS"
    with pytest.raises(DataAPIResponseException) as caught:
        table.insert_one({"id": "c", "scalar_udt": {"nick": "x"}})
    assert error_code(caught) == "INVALID_COLUMN_VALUES"
    with pytest.raises(DataAPIResponseException) as caught:
        adb.drop_type("udt_player")
    assert error_code(caught) == "CANNOT_DROP_TYPE_USED_BY_TABLE"
    with pytest.raises(DataAPIResponseException) as caught:
        adb.create_table("bad", definition=CreateTableDefinition.builder()
                         .add_column("id", "text").add_userdefinedtype_column("u", "nope")
                         .add_partition_by(["id"]).build())
    assert error_code(caught) == "UNKNOWN_USER_DEFINED_TYPE"


def test_connect_gives_the_same_udt_frames_as_the_local_api(served):
    db, server, adb = served
    table = _player_table(adb)
    table.insert_many([{"id": "a", "scalar_udt": {"name": "Ann", "age": 3},
                        "list_udt": [{"age": 1}]}, {"id": "b"}])
    remote = vk.connect(server.url, TOKEN).get_table("players")
    local = db.get_table("players")
    assert remote.to_pandas().to_dict("records") == local.to_pandas().to_dict("records")
    assert local.to_pandas().set_index("id").loc["a", "list_udt"] == [{"name": None, "age": 1}]
    assert remote.find_one({"id": "a"}) == local.find_one({"id": "a"})
    remote_db = vk.connect(server.url, TOKEN)
    remote_db.alter_type("udt_player", add={"team": "text"})
    assert db.list_types()[0]["definition"]["fields"]["team"] == {"type": "text"}
