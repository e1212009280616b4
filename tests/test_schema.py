"""Workspace, databases, keyspaces and the collection DDL commands."""

from __future__ import annotations

import datetime as dt

import pytest

import vectorize_kit as vk
from conftest import code

UTC = dt.timezone.utc


def test_database_has_id_name_and_creation_date(ws):
    before = dt.datetime.now(UTC)
    db = ws.create_database("vector-demo")
    assert db.name == "vector-demo"
    assert len(db.id) == 36
    assert before <= db.created_at <= dt.datetime.now(UTC)
    assert ws.get_database("vector-demo").id == db.id
    assert ws.get_database(db.id).name == "vector-demo"
    assert db.list_keyspaces() == ["default_keyspace"]


@pytest.mark.parametrize("name", ["", "-a", "a-", "a b", "x" * 51, "é"])
def test_bad_database_names(ws, name):
    with pytest.raises(vk.DataAPIError) as info:
        ws.create_database(name)
    assert info.value.error_code == "INVALID_DATABASE_NAME"


def test_duplicate_and_unknown_database(ws):
    ws.create_database("a")
    with pytest.raises(vk.DataAPIError) as info:
        ws.create_database("a")
    assert info.value.error_code == "DATABASE_ALREADY_EXISTS"
    with pytest.raises(vk.DataAPIError) as info:
        ws.get_database("nope")
    assert info.value.error_code == "UNKNOWN_DATABASE"
    assert info.value.scope == "DATABASE"


def test_drop_database(ws):
    ws.create_database("a")
    ws.drop_database("a")
    assert ws.list_database_names() == []


def test_create_collection_defaults_and_explain(db):
    assert db.command({"createCollection": {"name": "c1"}}) == {"status": {"ok": 1}}
    assert db.command({"createCollection": {"name": "c2", "options": {
        "vector": {"dimension": 5, "metric": "euclidean"},
        "indexing": {"deny": ["blob"]}, "defaultId": {"type": "uuidv7"}}}}) == {
        "status": {"ok": 1}}
    assert db.command({"findCollections": {}}) == {"status": {"collections": ["c1", "c2"]}}
    explained = db.command({"findCollections": {"options": {"explain": True}}})
    lexical = {"enabled": True, "analyzer": "standard"}
    rerank = {"enabled": True, "service": {"provider": "nvidia",
                                           "modelName": "nvidia/llama-3.2-nv-rerankqa-1b-v2"}}
    assert explained == {"status": {"collections": [
        {"name": "c1", "options": {"lexical": lexical, "rerank": rerank}},
        {"name": "c2", "options": {
            "defaultId": {"type": "uuidv7"},
            "vector": {"dimension": 5, "metric": "euclidean", "sourceModel": "other"},
            "indexing": {"deny": ["blob"]}, "lexical": lexical, "rerank": rerank}},
    ]}}


def test_metric_defaults_from_source_model(db):
    db.command({"createCollection": {"name": "a", "options": {"vector": {"size": 4}}}})
    db.command({"createCollection": {"name": "b", "options": {
        "vector": {"dimension": 4, "sourceModel": "openai-v3-small"}}}})
    db.command({"createCollection": {"name": "c", "options": {
        "vector": {"dimension": 4, "function": "dot_product"}}}})
    opts = {c["name"]: c["options"]["vector"] for c in db.list_collections()}
    assert opts == {
        "a": {"dimension": 4, "metric": "cosine", "sourceModel": "other"},
        "b": {"dimension": 4, "metric": "dot_product", "sourceModel": "openai-v3-small"},
        "c": {"dimension": 4, "metric": "dot_product", "sourceModel": "other"},
    }


def test_service_round_trips(ws, db):
    ws.integrations.add_credential("huggingface", "my-token", "secret", databases=[db])
    service = {"provider": "huggingface", "modelName": "sentence-transformers/all-MiniLM-L6-v2",
               "authentication": {"providerKey": "my-token"}, "parameters": {}}
    db.command({"createCollection": {"name": "hf", "options": {
        "vector": {"dimension": 384, "metric": "cosine", "service": service}}}})
    (desc,) = db.list_collections()
    # echoed as given, the key rewritten to the Data API's "<name>.providerKey" form
    assert desc["options"]["vector"]["service"] == {
        **service, "authentication": {"providerKey": "my-token.providerKey"}}


def test_create_collection_is_idempotent_only_with_equal_settings(db):
    cmd = {"createCollection": {"name": "c", "options": {"vector": {"dimension": 3}}}}
    assert db.command(cmd) == {"status": {"ok": 1}}
    assert db.command(cmd) == {"status": {"ok": 1}}
    other = db.command({"createCollection": {"name": "c", "options": {
        "vector": {"dimension": 4}}}})
    assert code(other) == "EXISTING_COLLECTION_DIFFERENT_SETTINGS"
    assert other["errors"][0]["scope"] == "SCHEMA"


@pytest.mark.parametrize("options, expected", [
    ({"vector": {"metric": "cosine"}}, "INVALID_CREATE_COLLECTION_OPTIONS"),
    ({"vector": {"dimension": 0}}, "COMMAND_FIELD_VALUE_INVALID"),
    ({"vector": {"dimension": "3"}}, "COMMAND_FIELD_VALUE_INVALID"),
    ({"vector": {"dimension": 4097}}, "VECTOR_SEARCH_TOO_BIG_VALUE"),
    ({"vector": {"dimension": 3, "metric": "manhattan"}}, "COMMAND_FIELD_VALUE_INVALID"),
    ({"vector": {"dimension": 3, "sourceModel": "gpt"}}, "COMMAND_FIELD_VALUE_INVALID"),
    ({"vector": {"dimension": 3, "service": {"modelName": "x"}}},
     "INVALID_CREATE_COLLECTION_OPTIONS"),
    ({"vector": {"dimension": 3, "bogus": 1}}, "COMMAND_FIELD_UNKNOWN"),
    ({"indexing": {"allow": ["a"], "deny": ["b"]}}, "INVALID_INDEXING_DEFINITION"),
    ({"indexing": {"deny": ["a", "a"]}}, "INVALID_INDEXING_DEFINITION"),
    ({"indexing": {"allow": ["*", "a"]}}, "INVALID_INDEXING_DEFINITION"),
    ({"indexing": {"deny": ["$x"]}}, "INVALID_INDEXING_DEFINITION"),
    ({"defaultId": {"type": "serial"}}, "COMMAND_FIELD_VALUE_INVALID"),
    ({"nonsense": True}, "COMMAND_FIELD_UNKNOWN"),
])
def test_invalid_collection_options(db, options, expected):
    env = db.command({"createCollection": {"name": "c", "options": options}})
    assert code(env) == expected
    assert db.command({"findCollections": {}}) == {"status": {"collections": []}}


@pytest.mark.parametrize("name", ["", "a-b", "x" * 49, "naïve", 7, None])
def test_unsupported_schema_names(db, name):
    env = db.command({"createCollection": {"name": name}})
    assert code(env) == "UNSUPPORTED_SCHEMA_NAME"
    assert "48" in env["errors"][0]["message"]


def test_schema_name_edge_cases_accepted(db):
    for name in ["x" * 48, "_under", "9lives", "CamelCase"]:
        assert db.command({"createCollection": {"name": name}}) == {"status": {"ok": 1}}


def test_collection_limit_is_ten_across_keyspaces(db):
    db.create_keyspace("other")
    for i in range(6):
        db.create_collection(f"c{i}")
    for i in range(4):
        db.create_collection(f"o{i}", keyspace="other")
    env = db.command({"createCollection": {"name": "one_more"}})
    assert code(env) == "TOO_MANY_COLLECTIONS"
    msg = env["errors"][0]["message"]
    assert "maximum number of collections per database is 10" in msg
    assert "already has 10" in msg and "Delete a collection first" in msg
    # the same settings as an existing one is not a new collection
    assert db.command({"createCollection": {"name": "c0"}}) == {"status": {"ok": 1}}
    db.drop_collection("c0")
    assert db.command({"createCollection": {"name": "one_more"}}) == {"status": {"ok": 1}}


def test_old_databases_hold_five_collections(ws):
    old = ws.create_database("old", created_at=dt.datetime(2024, 6, 23, 23, 59, tzinfo=UTC))
    new = ws.create_database("new", created_at=dt.datetime(2024, 6, 24, tzinfo=UTC))
    for i in range(5):
        old.create_collection(f"c{i}")
        new.create_collection(f"c{i}")
    env = old.command({"createCollection": {"name": "c5"}})
    assert code(env) == "TOO_MANY_COLLECTIONS"
    assert "is 5, database already has 5" in env["errors"][0]["message"]
    assert new.command({"createCollection": {"name": "c5"}}) == {"status": {"ok": 1}}


def test_delete_collection_is_idempotent(db):
    db.create_collection("c").insert_one({"_id": 1})
    assert db.command({"deleteCollection": {"name": "c"}}) == {"status": {"ok": 1}}
    assert db.command({"deleteCollection": {"name": "c"}}) == {"status": {"ok": 1}}
    assert db.list_collection_names() == []


def test_dropped_collection_handle_reports_unknown(db):
    coll = db.create_collection("c")
    coll.drop()
    env = coll.command({"find": {}})
    assert code(env) == "UNKNOWN_COLLECTION_OR_TABLE"


def test_unknown_collection_and_keyspace(db):
    with pytest.raises(vk.DataAPIError) as info:
        db.get_collection("missing")
    assert info.value.error_code == "UNKNOWN_COLLECTION_OR_TABLE"
    env = db.command({"findCollections": {}}, keyspace="nope")
    assert code(env) == "UNKNOWN_KEYSPACE"
    assert "nope" in env["errors"][0]["message"]


def test_keyspace_commands(db):
    assert db.command({"createKeyspace": {"name": "ks2"}}) == {"status": {"ok": 1}}
    assert db.command({"findKeyspaces": {}}) == {"status": {"keyspaces": [
        "default_keyspace", "ks2"]}}
    db.create_collection("c", keyspace="ks2")
    assert db.list_collection_names(keyspace="ks2") == ["c"]
    assert db.list_collection_names() == []
    assert db.command({"dropKeyspace": {"name": "ks2"}}) == {"status": {"ok": 1}}
    assert db.list_keyspaces() == ["default_keyspace"]


def test_unknown_commands_and_fields(db, coll):
    assert code(db.command({"frobnicate": {}})) == "COMMAND_UNKNOWN"
    assert code(db.command({"find": {}})) == "COMMAND_UNKNOWN"
    assert code(coll.command({"createCollection": {"name": "x"}})) == "COMMAND_UNKNOWN"
    assert code(coll.command({"find": {}, "findOne": {}})) == "COMMAND_UNKNOWN"
    assert code(coll.command({"find": {"filtre": {}}})) == "COMMAND_FIELD_UNKNOWN"
    assert code(coll.command({"find": {"options": {"limitt": 3}}})) == "COMMAND_FIELD_UNKNOWN"
    assert code(coll.command(["find"])) == "REQUEST_NOT_JSON"


def test_error_object_shape(coll):
    env = coll.command({"find": {"filter": {"a": {"$regex": "x"}}}})
    (err,) = env["errors"]
    assert set(err) == {"id", "family", "scope", "errorCode", "title", "message"}
    assert err["family"] == "REQUEST" and err["scope"] == "FILTER"
    assert err["errorCode"] == "UNSUPPORTED_FILTER_OPERATION"
    assert "$regex" in err["message"]


def test_reprs(ws, db):
    coll = db.create_collection("c", dimension=2)
    coll.insert_one({"_id": "a", "x": 1, "$vector": [1, 0]})
    assert repr(coll) == "Collection(name='c', keyspace='default_keyspace', documents=1)"
    assert "testdb" in ws._repr_html_() and "1/10" in ws._repr_html_()
    assert "<table" in coll._repr_html_() and "dimension=2" in coll._repr_html_()
    assert repr(ws) == "Workspace(in memory, databases=['testdb'])"
