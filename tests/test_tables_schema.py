"""Table schema commands: createTable, dropTable, listTables, alterTable, createIndex,
createVectorIndex, listIndexes and dropIndex, through the JSON front door (envelopes) and the
Python API (``DataAPIError``); the errors, their scopes and titles; tables beside collections;
the schema's durability on disk (``reference/data-api.md`` §3.1, §4).
"""

from __future__ import annotations

import shutil
import uuid

import numpy as np
import pytest

import vectorize_kit as vk
from conftest import code

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
LOCAL = {"provider": "local", "modelName": MINILM}
OK = {"status": {"ok": 1}}

SCALARS = ("ascii", "bigint", "blob", "boolean", "date", "decimal", "double", "duration",
           "float", "inet", "int", "smallint", "text", "time", "timestamp", "tinyint", "uuid",
           "timeuuid", "varint", "counter")

# Titles of the Data API's errors.yaml (commit a51b4f8, /tmp/table-codes.md §1): fixed per code.
TITLES = {
    "CANNOT_ADD_EXISTING_TABLE": "Table with the same name exists in the keyspace schema",
    "CANNOT_DROP_UNKNOWN_TABLE": "Dropped table is not defined in the keyspace schema",
    "CANNOT_ADD_EXISTING_COLUMNS": "Columns with the same name are defined in the table schema",
    "CANNOT_DROP_UNKNOWN_COLUMNS":
        "Columns cannot be dropped if they are not defined in the table schema",
    "CANNOT_DROP_PRIMARY_KEY_COLUMNS":
        "Primary key columns cannot be dropped from the table schema",
    "CANNOT_DROP_INDEXED_COLUMNS": "Columns used in the indexes cannot be dropped",
    "CANNOT_VECTORIZE_UNKNOWN_COLUMNS":
        "Columns cannot be vectorized if they are not defined in the table schema",
    "CANNOT_VECTORIZE_NON_VECTOR_COLUMNS":
        "Columns cannot be vectorized if they are not `vector` type",
    "CANNOT_DROP_VECTORIZE_FROM_UNKNOWN_COLUMNS":
        "Vectorize configuration cannot be dropped from columns if they are not defined in "
        "the table schema",
    "CANNOT_DROP_VECTORIZE_FROM_NON_VECTOR_COLUMNS":
        "Vectorize configuration cannot be dropped from columns if they are not `vector` type",
    "MISSING_ALTER_TABLE_OPERATIONS": "Alter table command must include operations",
    "MISSING_PARTITION_COLUMNS": "Partitioning keys are required for tables",
    "MISSING_DIMENSION_IN_VECTOR_COLUMN":
        "Dimension is required for vector column if embedding service is not specified",
    "UNKNOWN_PARTITION_COLUMNS": "Partition columns are not defined in the table schema",
    "UNKNOWN_PARTITION_SORT_COLUMNS":
        "Partition sort columns are not defined in the table schema",
    "UNSUPPORTED_SCHEMA_NAME": "The used schema name is not supported",
    "UNSUPPORTED_VECTOR_DIMENSION": "Vector definition contains unsupported dimension",
    "PRIMARY_KEY_DEFINITION_INCORRECT": "Primary key definition provided is incorrect.",
    "INVALID_VECTORIZE_TABLE_CONFIGURATION":
        "Unable to parse vectorize configuration for table.",
    "UNKNOWN_INDEX_COLUMN": "Index column is not defined in the table schema",
    "UNSUPPORTED_INDEXING_FOR_DATA_TYPES": "Indexing not supported by data types",
    "UNSUPPORTED_VECTOR_INDEX_FOR_DATA_TYPES": "Vector index not supported by data types",
    "UNKNOWN_VECTOR_METRIC": "Vector metric is unknown",
    "UNKNOWN_VECTOR_SOURCE_MODEL": "Vector source model is unknown",
    "CANNOT_ADD_EXISTING_INDEX": "Index with the same name exists in the keyspace schema",
    "CANNOT_DROP_UNKNOWN_INDEX": "Dropped index is not defined in the keyspace schema",
    "UNKNOWN_KEYSPACE": "Keyspace does not exist in the Database",
    "EXISTING_TABLE_NOT_DATA_API_COLLECTION": "Existing table not a valid Data API collection",
}


# -- helpers ---------------------------------------------------------------------------------

def create(db, name, columns, primary_key="id", *, keyspace=None, **options):
    """The envelope of createTable."""
    body = {"name": name, "definition": {"columns": columns, "primaryKey": primary_key}}
    if options:
        body["options"] = options
    return db.command({"createTable": body}, keyspace=keyspace)


def alter(table, operation):
    return table.command({"alterTable": {"operation": operation}})


def only_error(envelope):
    """The one error of a failed command's envelope (no status, no data)."""
    assert set(envelope) == {"errors"}, envelope
    (error,) = envelope["errors"]
    return error


def explained(db, keyspace=None):
    return db.command({"listTables": {"options": {"explain": True}}}, keyspace=keyspace)


def indexes(table):
    return table.command({"listIndexes": {"options": {"explain": True}}})


def pk(by, sort=None):
    return {"partitionBy": by, "partitionSort": sort or {}}


def vec(dimension, service=None):
    out = {"type": "vector", "dimension": dimension}
    if service is not None:
        out["service"] = service
    return out


@pytest.fixture
def other_db(ws):
    return ws.create_database("otherdb")


@pytest.fixture
def creds(ws, db, other_db):
    """'mine' is scoped to db, 'theirs' only to other_db."""
    ws.integrations.add_credential("huggingface", "mine", "hf_token_mine", databases=[db])
    ws.integrations.add_credential("huggingface", "theirs", "hf_token_theirs",
                                   databases=[other_db])


T_COLUMNS = {
    "id": "text", "k": "int", "n": "int", "s": "text",
    "m": {"type": "map", "keyType": "text", "valueType": "int"},
    "l": {"type": "list", "valueType": "text"},
    "v": {"type": "vector", "dimension": 2},
    "w": {"type": "vector", "dimension": 384},
}
T_LONG = {
    "id": {"type": "text"}, "k": {"type": "int"}, "n": {"type": "int"}, "s": {"type": "text"},
    "m": {"type": "map", "keyType": "text", "valueType": "int"},
    "l": {"type": "list", "valueType": "text"},
    "v": vec(2), "w": vec(384),
}
T_KEY = pk(["id"], {"k": -1})


@pytest.fixture
def t(db):
    """Table 't' with a partition sort column, a map, a list, two vectors; no indexes."""
    assert create(db, "t", T_COLUMNS, T_KEY) == OK
    return db.get_table("t")


@pytest.fixture
def indexed(t):
    """'t' with indexes on s, the keys of m, and a vector index on v."""
    assert t.command({"createIndex": {"name": "i_s", "definition": {"column": "s"}}}) == OK
    assert t.command({"createIndex": {"name": "i_m",
                                      "definition": {"column": {"m": "$keys"}}}}) == OK
    assert t.command({"createVectorIndex": {"name": "vi_v",
                                            "definition": {"column": "v"}}}) == OK
    return t


# -- createTable and listTables --------------------------------------------------------------

def test_create_table_with_every_column_type_and_list_tables(db):
    columns = {"id": "text", **{f"c_{t}": t for t in SCALARS},
               "l": {"type": "list", "valueType": "text"},
               "st": {"type": "set", "valueType": "int"},
               "m": {"type": "map", "keyType": "text", "valueType": "double"},
               "v": {"type": "vector", "dimension": 3},
               "e": {"type": "vector", "service": LOCAL}}
    assert create(db, "all_types", columns) == OK
    assert db.command({"listTables": {}}) == {"status": {"tables": ["all_types"]}}
    assert db.command({"listTables": {"options": {"explain": False}}}) == {
        "status": {"tables": ["all_types"]}}
    expected_columns = {"id": {"type": "text"}, **{f"c_{t}": {"type": t} for t in SCALARS},
                        "l": {"type": "list", "valueType": "text"},
                        "st": {"type": "set", "valueType": "int"},
                        "m": {"type": "map", "keyType": "text", "valueType": "double"},
                        "v": {"type": "vector", "dimension": 3},
                        "e": {"type": "vector", "dimension": 384, "service": LOCAL}}
    assert explained(db) == {"status": {"tables": [{
        "name": "all_types",
        "definition": {"columns": expected_columns, "primaryKey": pk(["id"])}}]}}
    assert list(explained(db)["status"]["tables"][0]["definition"]["columns"]) == list(columns)
    assert db.list_table_names() == ["all_types"]
    assert db.get_table("all_types").definition() == {"columns": expected_columns,
                                                      "primaryKey": pk(["id"])}


def test_long_forms_are_the_same_table_and_key_value_types_list_short(db):
    long_columns = {"id": {"type": "text"}, **{f"c_{t}": {"type": t} for t in SCALARS},
                    "l": {"type": "list", "valueType": {"type": "text"}},
                    "st": {"type": "set", "valueType": {"type": "uuid"}},
                    "m": {"type": "map", "keyType": {"type": "text"},
                          "valueType": {"type": "int"}},
                    "v": {"type": "vector", "dimension": 5}}
    short_columns = {"id": "text", **{f"c_{t}": t for t in SCALARS},
                     "l": {"type": "list", "valueType": "text"},
                     "st": {"type": "set", "valueType": "uuid"},
                     "m": {"type": "map", "keyType": "text", "valueType": "int"},
                     "v": {"type": "vector", "dimension": 5}}
    assert create(db, "long", long_columns) == OK
    assert create(db, "short", short_columns) == OK
    tables = explained(db)["status"]["tables"]
    assert [t["name"] for t in tables] == ["long", "short"]
    assert tables[0]["definition"] == tables[1]["definition"]
    columns = tables[0]["definition"]["columns"]
    # keyType / valueType stay short-form strings (astrapy's
    # test_special_shortform_types_in_listtables)
    assert columns["l"] == {"type": "list", "valueType": "text"}
    assert columns["st"] == {"type": "set", "valueType": "uuid"}
    assert columns["m"] == {"type": "map", "keyType": "text", "valueType": "int"}
    assert columns["c_timestamp"] == {"type": "timestamp"}


def test_vector_column_dimension_comes_from_the_service_model(db):
    assert create(db, "filled", {"id": "text", "e": {"type": "vector", "service": LOCAL}}) == OK
    assert create(db, "given", {"id": "text", "e": vec(384, LOCAL)}) == OK
    tables = explained(db)["status"]["tables"]
    assert [t["definition"]["columns"]["e"] for t in tables] == [vec(384, LOCAL)] * 2


def test_primary_key_forms(db):
    assert create(db, "simple", {"id": "uuid", "x": "text"}, "id") == OK
    assert create(db, "by_only", {"a": "text", "b": "int", "x": "text"},
                  {"partitionBy": ["a", "b"]}) == OK
    assert create(db, "composite", {"a": "text", "b": "int", "c": "timestamp", "d": "bigint",
                                    "x": "text"},
                  {"partitionBy": ["b", "a"], "partitionSort": {"d": -1, "c": 1}}) == OK
    keys = {t["name"]: t["definition"]["primaryKey"]
            for t in explained(db)["status"]["tables"]}
    assert keys == {
        "by_only": {"partitionBy": ["a", "b"], "partitionSort": {}},
        "composite": {"partitionBy": ["b", "a"], "partitionSort": {"d": -1, "c": 1}},
        "simple": {"partitionBy": ["id"], "partitionSort": {}},
    }
    assert list(keys["composite"]["partitionSort"]) == ["d", "c"]  # sort order is kept
    assert db.command({"listTables": {}}) == {"status": {"tables": [
        "by_only", "composite", "simple"]}}


@pytest.mark.parametrize("kind", SCALARS)
def test_scalar_types_in_the_primary_key(db, kind):
    # Cassandra keeps durations (no order) and counters out of primary keys
    refused = kind in ("duration", "counter")
    for name, key in (("by", {"partitionBy": ["x"]}),
                      ("sort", {"partitionBy": ["y"], "partitionSort": {"x": -1}})):
        env = create(db, name, {"x": kind, "y": "int"}, key)
        if refused:
            assert code(env) == "PRIMARY_KEY_DEFINITION_INCORRECT"
            assert f"column 'x' of type {kind}" in env["errors"][0]["message"]
        else:
            assert env == OK
    assert db.list_table_names() == ([] if refused else ["by", "sort"])


def test_if_not_exists_keeps_the_existing_table(db):
    assert create(db, "t", {"id": "text", "n": "int"}) == OK
    db.get_table("t").insert_one({"id": "a", "n": 1})
    before = explained(db)
    # a different definition with ifNotExists: ok, and nothing changes
    assert create(db, "t", {"id": "int", "z": "text"}, "id", ifNotExists=True) == OK
    assert create(db, "t", {"id": "text", "n": "int"}, ifNotExists=False)["errors"][0][
        "errorCode"] == "CANNOT_ADD_EXISTING_TABLE"
    assert explained(db) == before
    assert db.get_table("t").find({}).to_list() == [{"id": "a", "n": 1}]
    table = db.create_table("t", columns={"id": "int"}, primary_key="id", if_not_exists=True)
    assert table.definition() == {"columns": {"id": {"type": "text"}, "n": {"type": "int"}},
                                  "primaryKey": pk(["id"])}


def test_python_api_create_list_get_drop(db):
    table = db.create_table("books", columns={"title": "text", "year": "int",
                                              "e": {"type": "vector", "service": LOCAL}},
                            primary_key={"partitionBy": ["title"], "partitionSort": {"year": 1}})
    assert isinstance(table, vk.Table)
    assert (table.name, table.keyspace) == ("books", "default_keyspace")
    definition = {"columns": {"title": {"type": "text"}, "year": {"type": "int"},
                              "e": vec(384, LOCAL)},
                  "primaryKey": pk(["title"], {"year": 1})}
    assert table.definition() == definition
    assert db.list_table_names() == ["books"]
    assert db.list_tables() == [{"name": "books", "definition": definition}]
    db.create_table("b2", definition={"columns": {"id": "text"}, "primaryKey": "id"})
    assert db.list_table_names() == ["b2", "books"]
    assert db.get_table("b2").definition() == {"columns": {"id": {"type": "text"}},
                                               "primaryKey": pk(["id"])}
    table.drop()
    db.drop_table("b2")
    assert db.list_table_names() == []
    assert db.list_tables() == []
    db.drop_table("b2", if_exists=True)
    with pytest.raises(vk.DataAPIError) as info:
        db.drop_table("b2")
    assert info.value.error_code == "CANNOT_DROP_UNKNOWN_TABLE"
    with pytest.raises(vk.DataAPIError) as info:
        db.get_table("books")
    assert info.value.error_code == "UNKNOWN_COLLECTION_OR_TABLE"
    assert info.value.message == (
        "The command tried to get a Collection or Table books that does not exist in the "
        "Keyspace default_keyspace. The keyspace has the existing collections or tables: []. "
        "Create it first (createCollection or createTable).")


def test_tables_in_keyspaces(db):
    db.create_keyspace("ks2")
    assert create(db, "t", {"id": "text"}, keyspace="ks2") == OK
    assert create(db, "t", {"id": "int"}) == OK  # same name, other keyspace
    assert db.command({"listTables": {}}, keyspace="ks2") == {"status": {"tables": ["t"]}}
    assert explained(db, "ks2")["status"]["tables"][0]["definition"]["columns"] == {
        "id": {"type": "text"}}
    assert explained(db)["status"]["tables"][0]["definition"]["columns"] == {
        "id": {"type": "int"}}
    assert db.get_table("t", keyspace="ks2").keyspace == "ks2"
    for cmd in ({"listTables": {}}, {"createTable": {"name": "x", "definition": {
            "columns": {"id": "text"}, "primaryKey": "id"}}},
            {"dropTable": {"name": "t"}}, {"dropIndex": {"name": "i"}}):
        env = db.command(cmd, keyspace="nope")
        assert code(env) == "UNKNOWN_KEYSPACE"
        assert "The keyspace used by the command: nope." in env["errors"][0]["message"]
    db.drop_keyspace("ks2")
    db.create_keyspace("ks2")
    assert db.list_table_names(keyspace="ks2") == []
    assert db.list_table_names() == ["t"]


def test_table_and_index_names_are_case_sensitive(db):
    assert create(db, "books", {"id": "text", "n": "int"}) == OK
    assert create(db, "Books", {"id": "text", "N": "int", "n": "text"}) == OK
    assert db.list_table_names() == ["Books", "books"]
    upper = db.get_table("Books")
    assert list(upper.definition()["columns"]) == ["id", "N", "n"]
    upper.create_index("I_n", "n")
    db.get_table("books").create_index("i_n", "n")
    assert upper.list_index_names() == ["I_n"]
    assert code(db.command({"dropIndex": {"name": "I_N"}})) == "CANNOT_DROP_UNKNOWN_INDEX"
    assert code(db.command({"dropTable": {"name": "BOOKS"}})) == "CANNOT_DROP_UNKNOWN_TABLE"


def test_empty_keyspace_lists_no_tables(db):
    assert db.command({"listTables": {}}) == {"status": {"tables": []}}
    assert explained(db) == {"status": {"tables": []}}


# -- createTable errors ----------------------------------------------------------------------

V = {"type": "vector"}
HF = {"provider": "huggingface", "modelName": MINILM}
CREATE_ERRORS = [
    # (id, name, columns, primary key, options, code, a fragment of the message)
    ("existing-table", "base", {"id": "text"}, "id", None, "CANNOT_ADD_EXISTING_TABLE",
     "existing table: base"),
    ("existing-collection", "coll", {"id": "text"}, "id", None, "CANNOT_ADD_EXISTING_TABLE",
     "coll"),
    ("name-dash", "bad-name", {"id": "text"}, "id", None, "UNSUPPORTED_SCHEMA_NAME",
     "'bad-name'"),
    ("name-49", "x" * 49, {"id": "text"}, "id", None, "UNSUPPORTED_SCHEMA_NAME", "x" * 49),
    ("name-empty", "", {"id": "text"}, "id", None, "UNSUPPORTED_SCHEMA_NAME", "''"),
    ("name-unicode", "caf\u00e9", {"id": "text"}, "id", None, "UNSUPPORTED_SCHEMA_NAME",
     "caf\u00e9"),
    ("name-space", "a b", {"id": "text"}, "id", None, "UNSUPPORTED_SCHEMA_NAME", "'a b'"),
    ("unknown-type", "t", {"id": "text", "x": "nope"}, "id", None,
     "UNSUPPORTED_COLUMN_TYPES", "'nope'"),
    ("unknown-long-type", "t", {"id": "text", "x": {"type": "tuple"}}, "id", None,
     "UNSUPPORTED_COLUMN_TYPES", "'tuple'"),
    ("user-defined", "t", {"id": "text", "x": {"type": "userDefined", "udtName": "addr"}},
     "id", None, "UNKNOWN_USER_DEFINED_TYPE", "unknown type 'addr'"),
    ("list-of-vector", "t", {"id": "text", "x": {"type": "list", "valueType": "vector"}},
     "id", None, "UNSUPPORTED_COLUMN_TYPES", "'vector'"),
    ("set-without-value-type", "t", {"id": "text", "x": {"type": "set"}}, "id", None,
     "UNSUPPORTED_COLUMN_TYPES", "valueType"),
    ("map-of-map", "t", {"id": "text", "x": {"type": "map", "keyType": "text",
                                             "valueType": "map"}},
     "id", None, "UNSUPPORTED_COLUMN_TYPES", "'map'"),
    ("map-bad-key", "t", {"id": "text", "x": {"type": "map", "keyType": "nope",
                                              "valueType": "int"}},
     "id", None, "UNSUPPORTED_COLUMN_TYPES", "'nope'"),
    ("vector-no-dimension", "t", {"id": "text", "v": V}, "id", None,
     "MISSING_DIMENSION_IN_VECTOR_COLUMN", "'v'"),
    ("vector-short-form", "t", {"id": "text", "v": "vector"}, "id", None,
     "MISSING_DIMENSION_IN_VECTOR_COLUMN", "'v'"),
    ("dimension-0", "t", {"id": "text", "v": {**V, "dimension": 0}}, "id", None,
     "UNSUPPORTED_VECTOR_DIMENSION", "dimension 0"),
    ("dimension-negative", "t", {"id": "text", "v": {**V, "dimension": -3}}, "id", None,
     "UNSUPPORTED_VECTOR_DIMENSION", "dimension -3"),
    ("dimension-string", "t", {"id": "text", "v": {**V, "dimension": "3"}}, "id", None,
     "UNSUPPORTED_VECTOR_DIMENSION", "'3'"),
    ("dimension-float", "t", {"id": "text", "v": {**V, "dimension": 2.5}}, "id", None,
     "UNSUPPORTED_VECTOR_DIMENSION", "2.5"),
    ("dimension-bool", "t", {"id": "text", "v": {**V, "dimension": True}}, "id", None,
     "UNSUPPORTED_VECTOR_DIMENSION", "True"),
    ("key-array", "t", {"id": "text"}, ["id"], None, "PRIMARY_KEY_DEFINITION_INCORRECT",
     "['id']"),
    ("key-missing", "t", {"id": "text"}, None, None, "PRIMARY_KEY_DEFINITION_INCORRECT",
     "None"),
    ("key-extra-field", "t", {"id": "text"}, {"partitionBy": ["id"], "clustering": {}}, None,
     "PRIMARY_KEY_DEFINITION_INCORRECT", "clustering"),
    ("sort-2", "t", {"id": "text", "n": "int"}, pk(["id"], {"n": 2}), None,
     "PRIMARY_KEY_DEFINITION_INCORRECT", "`1` for ascending or `-1` for descending"),
    ("sort-string", "t", {"id": "text", "n": "int"}, pk(["id"], {"n": "asc"}), None,
     "PRIMARY_KEY_DEFINITION_INCORRECT", "`1` for ascending or `-1` for descending"),
    ("sort-true", "t", {"id": "text", "n": "int"}, pk(["id"], {"n": True}), None,
     "PRIMARY_KEY_DEFINITION_INCORRECT", "`1` for ascending or `-1` for descending"),
    ("vector-in-key", "t", {"id": "text", "v": vec(2)}, "v", None,
     "PRIMARY_KEY_DEFINITION_INCORRECT", "column 'v' of type vector"),
    ("list-in-sort", "t", {"id": "text", "l": {"type": "list", "valueType": "text"}},
     pk(["id"], {"l": 1}), None, "PRIMARY_KEY_DEFINITION_INCORRECT", "column 'l' of type list"),
    ("map-in-key", "t", {"id": "text", "m": {"type": "map", "keyType": "text",
                                             "valueType": "int"}},
     {"partitionBy": ["id", "m"]}, None, "PRIMARY_KEY_DEFINITION_INCORRECT",
     "column 'm' of type map"),
    ("column-twice", "t", {"id": "text"}, pk(["id"], {"id": 1}), None,
     "PRIMARY_KEY_DEFINITION_INCORRECT", "twice"),
    ("no-partition", "t", {"id": "text", "n": "int"}, {"partitionBy": []}, None,
     "MISSING_PARTITION_COLUMNS", "id, n"),
    ("unknown-partition", "t", {"id": "text"}, "nope", None, "UNKNOWN_PARTITION_COLUMNS",
     "unknown columns: nope"),
    ("unknown-partition-2", "t", {"id": "text"}, {"partitionBy": ["id", "zz"]}, None,
     "UNKNOWN_PARTITION_COLUMNS", "unknown columns: zz"),
    ("unknown-sort", "t", {"id": "text"}, pk(["id"], {"zz": -1}), None,
     "UNKNOWN_PARTITION_SORT_COLUMNS", "unknown columns: zz"),
    ("unknown-provider", "t", {"id": "text", "e": {**V, "service": {
        "provider": "openAI", "modelName": MINILM}}}, "id", None,
     "INVALID_VECTORIZE_TABLE_CONFIGURATION", "'openAI'"),
    ("unknown-model", "t", {"id": "text", "e": {**V, "service": {
        "provider": "local", "modelName": "BAAI/bge-small-en-v1.5"}}}, "id", None,
     "INVALID_VECTORIZE_TABLE_CONFIGURATION", "'BAAI/bge-small-en-v1.5'"),
    ("dimension-mismatch", "t", {"id": "text", "e": vec(3, LOCAL)}, "id", None,
     "INVALID_VECTORIZE_TABLE_CONFIGURATION", "'3'"),
    ("hf-dimension-mismatch", "t", {"id": "text", "e": vec(384, {
        "provider": "huggingface", "modelName": "BAAI/bge-base-en-v1.5"})}, "id", None,
     "INVALID_VECTORIZE_TABLE_CONFIGURATION", "'768'"),
    ("local-with-key", "t", {"id": "text", "e": {**V, "service": {
        **LOCAL, "authentication": {"providerKey": "mine"}}}}, "id", None,
     "INVALID_VECTORIZE_TABLE_CONFIGURATION", "'local'"),
    ("hf-missing-credential", "t", {"id": "text", "e": {**V, "service": {
        **HF, "authentication": {"providerKey": "ghost"}}}}, "id", None,
     "VECTORIZE_CREDENTIAL_INVALID", "'ghost'"),
    ("hf-credential-out-of-scope", "t", {"id": "text", "e": {**V, "service": {
        **HF, "authentication": {"providerKey": "theirs"}}}}, "id", None,
     "VECTORIZE_CREDENTIAL_INVALID", "not in the scope of credential 'theirs'"),
]


@pytest.mark.parametrize(("name", "columns", "key", "options", "expected", "fragment"),
                         [c[1:] for c in CREATE_ERRORS], ids=[c[0] for c in CREATE_ERRORS])
def test_create_table_errors_change_nothing(db, creds, name, columns, key, options,
                                            expected, fragment):
    assert create(db, "base", {"id": "text", "n": "int"}) == OK
    db.create_collection("coll").insert_one({"_id": 1})
    tables, collections = explained(db), db.command({"findCollections": {}})
    env = create(db, name, columns, key, **(options or {}))
    error = only_error(env)
    assert error["errorCode"] == expected
    assert (error["family"], error["scope"]) == ("REQUEST", "SCHEMA")
    assert fragment in error["message"]
    assert explained(db) == tables
    assert db.command({"findCollections": {}}) == collections
    assert db.get_collection("coll").find({}).to_list() == [{"_id": 1}]
    # the Python API raises the same error
    with pytest.raises(vk.DataAPIError) as info:
        db.create_table(name, columns=columns, primary_key=key)
    assert info.value.error_code == expected
    assert explained(db) == tables


def test_create_table_on_a_collection_name_even_with_if_not_exists(db):
    db.create_collection("coll")
    for options in ({}, {"ifNotExists": True}):
        env = create(db, "coll", {"id": "text"}, **options)
        assert code(env) == "CANNOT_ADD_EXISTING_TABLE"
        assert env["errors"][0]["message"] == (
            "The command attempted to add a table that already exists in the keyspace schema. "
            "The command attempted to add the existing collection: coll. Resend the command "
            "using a table name that does not exist in the keyspace.")
    assert db.list_table_names() == []
    assert db.list_collection_names() == ["coll"]


def test_create_table_existing_table_message(db):
    assert create(db, "t", {"id": "text"}) == OK
    env = create(db, "t", {"id": "text"})
    assert only_error(env)["message"] == (
        "The command attempted to add a table that already exists in the keyspace schema. The "
        "command attempted to add the existing table: t. Resend the command using a table name "
        "that does not exist in the keyspace, or with \"ifNotExists\": true.")


def test_create_table_hf_credentials_in_scope(db, creds):
    # named: the credential in scope; unnamed: the only credential in scope is the default
    assert create(db, "named", {"id": "text", "e": {**V, "service": {
        **HF, "authentication": {"providerKey": "mine"}}}}) == OK
    assert create(db, "default", {"id": "text", "e": {**V, "service": HF}}) == OK
    service = {**HF, "authentication": {"providerKey": "mine.providerKey"}}
    assert [t["definition"]["columns"]["e"] for t in explained(db)["status"]["tables"]] == [
        vec(384, service), vec(384, service)]


def test_create_table_field_errors(db):
    cases = [
        ({"name": "t"}, "COMMAND_FIELD_VALUE_INVALID"),
        ({"name": "t", "definition": {"columns": {}, "primaryKey": "id"}},
         "COMMAND_FIELD_VALUE_INVALID"),
        ({"name": "t", "definition": {"columns": {"id": "text"}, "primaryKey": "id",
                                      "indexes": []}}, "COMMAND_FIELD_UNKNOWN"),
        ({"name": "t", "definition": {"columns": {"id": "text"}, "primaryKey": "id"},
          "extra": 1}, "COMMAND_FIELD_UNKNOWN"),
        ({"name": "t", "definition": {"columns": {"id": "text"}, "primaryKey": "id"},
          "options": {"ifNotExists": "yes"}}, "COMMAND_FIELD_VALUE_INVALID"),
        ({"name": "t", "definition": {"columns": {"id": {"type": "text", "dimension": 3}},
                                      "primaryKey": "id"}}, "COMMAND_FIELD_UNKNOWN"),
    ]
    for body, expected in cases:
        assert code(db.command({"createTable": body})) == expected, body
    assert db.list_table_names() == []


# -- dropTable, and tables beside collections ------------------------------------------------

def test_drop_table(db):
    assert create(db, "t", {"id": "text", "n": "int"}) == OK
    table = db.get_table("t")
    table.insert_one({"id": "a", "n": 1})
    table.create_index("i_n", "n")
    assert db.command({"dropTable": {"name": "t"}}) == OK
    assert db.command({"listTables": {}}) == {"status": {"tables": []}}
    assert code(table.command({"listIndexes": {}})) == "UNKNOWN_COLLECTION_OR_TABLE"
    with pytest.raises(vk.DataAPIError) as info:
        table.create_index("i_x", "n")
    assert info.value.error_code == "UNKNOWN_COLLECTION_OR_TABLE"
    env = db.command({"dropTable": {"name": "t"}})
    error = only_error(env)
    assert error["errorCode"] == "CANNOT_DROP_UNKNOWN_TABLE"
    assert error["message"].startswith(
        "The command attempted to drop a table that is not in the keyspace schema. The "
        "command attempted to drop the unknown table: t. Resend the command using a table that "
        "exists in the keyspace")
    assert error["message"].endswith("or with \"ifExists\": true.")
    assert db.command({"dropTable": {"name": "t", "options": {"ifExists": True}}}) == OK
    assert db.command({"dropTable": {"name": "t", "options": {"ifExists": False}}})[
        "errors"][0]["errorCode"] == "CANNOT_DROP_UNKNOWN_TABLE"
    # the index went with the table: its name is free, and the new table starts empty
    assert create(db, "t", {"id": "int", "n": "text"}) == OK
    assert table.find({}).to_list() == []  # the handle finds the new table by name
    assert table.list_index_names() == []
    assert table.command({"createIndex": {"name": "i_n", "definition": {"column": "n"}}}) == OK


def test_drop_table_does_not_drop_a_collection(db):
    db.create_collection("coll").insert_one({"_id": "kept"})
    assert create(db, "t", {"id": "text"}) == OK
    env = db.command({"dropTable": {"name": "coll"}})
    assert code(env) == "CANNOT_DROP_UNKNOWN_TABLE"
    assert "unknown table: coll" in env["errors"][0]["message"]
    assert "(t)" in env["errors"][0]["message"]  # the tables that do exist
    assert db.list_collection_names() == ["coll"]
    assert db.get_collection("coll").find({}).to_list() == [{"_id": "kept"}]
    # ifExists: nothing to drop, and still the collection stays
    assert db.command({"dropTable": {"name": "coll", "options": {"ifExists": True}}}) == OK
    assert db.list_collection_names() == ["coll"]


def test_delete_collection_does_not_drop_a_table(db):
    assert create(db, "t", {"id": "text"}) == OK
    db.get_table("t").insert_one({"id": "kept"})
    env = db.command({"deleteCollection": {"name": "t"}})
    error = only_error(env)
    assert (error["errorCode"], error["scope"], error["title"]) == (
        "UNSUPPORTED_TABLE_COMMAND", "", "Command is not supported by tables")
    assert "dropTable" in error["message"]
    with pytest.raises(vk.DataAPIError) as info:
        db.drop_collection("t")
    assert info.value.error_code == "UNSUPPORTED_TABLE_COMMAND"
    assert db.list_table_names() == ["t"]
    assert db.get_table("t").find({}).to_list() == [{"id": "kept"}]


def test_create_collection_on_a_table_name(db):
    assert create(db, "t", {"id": "text"}) == OK
    env = db.command({"createCollection": {"name": "t"}})
    assert code(env) == "EXISTING_TABLE_NOT_DATA_API_COLLECTION"
    assert db.list_collection_names() == []
    assert db.list_table_names() == ["t"]


def test_find_collections_and_list_tables_are_disjoint(db):
    db.create_collection("c1")
    db.create_collection("c2", dimension=2)
    assert create(db, "t1", {"id": "text"}) == OK
    assert create(db, "t2", {"id": "text"}) == OK
    assert db.command({"findCollections": {}}) == {"status": {"collections": ["c1", "c2"]}}
    assert [c["name"] for c in db.command({"findCollections": {"options": {
        "explain": True}}})["status"]["collections"]] == ["c1", "c2"]
    assert db.command({"listTables": {}}) == {"status": {"tables": ["t1", "t2"]}}
    assert [t["name"] for t in explained(db)["status"]["tables"]] == ["t1", "t2"]
    assert db.list_collection_names() == ["c1", "c2"]
    assert db.list_table_names() == ["t1", "t2"]


@pytest.mark.parametrize("command", [
    {"findOneAndUpdate": {"filter": {"id": "a"}, "update": {"$set": {"n": 1}}}},
    {"findOneAndReplace": {"filter": {"id": "a"}, "replacement": {"id": "a"}}},
    {"findOneAndDelete": {"filter": {"id": "a"}}},
    {"updateMany": {"filter": {"id": "a"}, "update": {"$set": {"n": 1}}}},
])
def test_collection_only_commands_on_a_table(db, command):
    assert create(db, "t", {"id": "text", "n": "int"}) == OK
    table = db.get_table("t")
    table.insert_one({"id": "a", "n": 0})
    error = only_error(table.command(command))
    assert (error["family"], error["scope"], error["errorCode"], error["title"]) == (
        "REQUEST", "", "UNSUPPORTED_TABLE_COMMAND", "Command is not supported by tables")
    name = next(iter(command))
    assert f"The unsupported command was: {name}." in error["message"]
    assert "The unsupported command ran against the table: default_keyspace.t." in error[
        "message"]
    assert table.find({}).to_list() == [{"id": "a", "n": 0}]


@pytest.mark.parametrize("command", [
    {"alterTable": {"operation": {"add": {"columns": {"x": "int"}}}}},
    {"createIndex": {"name": "i", "definition": {"column": "x"}}},
    {"createVectorIndex": {"name": "i", "definition": {"column": "$vector"}}},
    {"listIndexes": {}},
])
def test_table_only_commands_on_a_collection(db, command):
    coll = db.create_collection("c", dimension=2)
    coll.insert_one({"_id": 1, "x": 1})
    options = db.list_collections()
    error = only_error(coll.command(command))
    assert (error["family"], error["scope"], error["errorCode"], error["title"]) == (
        "REQUEST", "", "UNSUPPORTED_COLLECTION_COMMAND", "Command is not supported by collections")
    name = next(iter(command))
    assert f"The unsupported command was: {name}." in error["message"]
    assert "The unsupported command ran against the collection: default_keyspace.c." in error[
        "message"]
    assert db.list_collections() == options
    assert db.list_table_names() == []
    assert coll.find({}).to_list() == [{"_id": 1, "x": 1}]


def test_get_collection_on_a_table_and_get_table_on_a_collection(db):
    assert create(db, "t", {"id": "text"}) == OK
    db.create_collection("c")
    with pytest.raises(vk.DataAPIError) as info:
        db.get_collection("t")
    assert info.value.error_code == "UNKNOWN_COLLECTION_OR_TABLE"
    assert info.value.message == (
        "'default_keyspace.t' is a table, not a collection: open it with "
        "Database.get_table('t').")
    with pytest.raises(vk.DataAPIError) as info:
        db.get_table("c")
    assert info.value.error_code == "UNKNOWN_COLLECTION_OR_TABLE"
    assert info.value.message == (
        "'default_keyspace.c' is a collection, not a table: open it with "
        "Database.get_collection('c').")


# -- the collection limit counts collections only --------------------------------------------

def test_tables_do_not_count_against_the_collection_limit(db):
    for i in range(10):
        db.create_collection(f"c{i}")
    for i in range(12):
        assert create(db, f"t{i}", {"id": "text"}) == OK
    assert len(db.list_table_names()) == 12
    env = db.command({"createCollection": {"name": "c10"}})
    assert code(env) == "TOO_MANY_COLLECTIONS"
    assert "database already has 10" in env["errors"][0]["message"]
    db.drop_table("t0")  # dropping a table frees no collection slot
    assert code(db.command({"createCollection": {"name": "c10"}})) == "TOO_MANY_COLLECTIONS"


def test_many_tables_then_ten_collections(db):
    db.create_keyspace("ks2")
    for i in range(15):
        assert create(db, f"t{i}", {"id": "text"}) == OK
        assert create(db, f"t{i}", {"id": "text"}, keyspace="ks2") == OK
    for i in range(10):
        assert db.command({"createCollection": {"name": f"c{i}"}}) == OK
    env = db.command({"createCollection": {"name": "c10"}}, keyspace="ks2")
    assert code(env) == "TOO_MANY_COLLECTIONS"
    assert "database already has 10" in env["errors"][0]["message"]
    assert len(db.list_collection_names()) == 10
    assert len(db.list_table_names()) == 15
    assert len(db.list_table_names(keyspace="ks2")) == 15


# -- alterTable ------------------------------------------------------------------------------

def test_alter_add_columns(db, creds, t):
    assert alter(t, {"add": {"columns": {
        "flag": "boolean",
        "tags": {"type": "set", "valueType": "text"},
        "e": {"type": "vector", "service": LOCAL},
        "h": {"type": "vector", "service": HF}}}}) == OK
    expected = {**T_LONG, "flag": {"type": "boolean"},
                "tags": {"type": "set", "valueType": "text"},
                "e": vec(384, LOCAL),
                "h": vec(384, {**HF, "authentication": {"providerKey": "mine.providerKey"}})}
    assert t.definition() == {"columns": expected, "primaryKey": T_KEY}
    assert list(t.definition()["columns"]) == [*T_COLUMNS, "flag", "tags", "e", "h"]
    assert explained(db) == {"status": {"tables": [
        {"name": "t", "definition": {"columns": expected, "primaryKey": T_KEY}}]}}
    # the new columns take values
    t.insert_one({"id": "a", "k": 1, "flag": True, "tags": ["y", "x", "y"], "e": [0.0] * 384})
    row = t.find_one({"id": "a"}, projection={"flag": 1, "tags": 1})
    assert row == {"flag": True, "tags": ["x", "y"]}


def test_alter_drop_columns(db, t):
    assert alter(t, {"drop": {"columns": ["n", "l", "w"]}}) == OK
    assert t.definition() == {
        "columns": {c: T_LONG[c] for c in ("id", "k", "s", "m", "v")}, "primaryKey": T_KEY}
    assert alter(t, {"drop": {"columns": ["s"]}}) == OK
    assert list(t.definition()["columns"]) == ["id", "k", "m", "v"]


def test_alter_add_and_drop_vectorize(db, t):
    table = t
    assert alter(t, {"addVectorize": {"columns": {"w": LOCAL}}}) == OK
    assert t.definition()["columns"]["w"] == vec(384, LOCAL)
    # text in a vectorize column is embedded with the local model, the same vector as a
    # collection with that service gets for the same text
    table.insert_one({"id": "a", "k": 1, "w": "tables hold typed rows"})
    stored = table.find_one({"id": "a"}, projection={"w": 1})["w"]
    notes = db.create_collection("notes", service=LOCAL)
    notes.insert_one({"_id": 1, "$vectorize": "tables hold typed rows"})
    assert stored == notes.find_one({"_id": 1}, projection={"$vector": 1})["$vector"]
    assert len(stored) == 384
    assert np.linalg.norm(stored) == pytest.approx(1.0, abs=1e-6)
    assert alter(t, {"dropVectorize": {"columns": ["w"]}}) == OK
    assert t.definition()["columns"]["w"] == vec(384)
    env = table.command({"insertOne": {"document": {"id": "b", "k": 1, "w": "more text"}}})
    assert code(env) == "UNSUPPORTED_VECTORIZE_WHEN_MISSING_VECTORIZE_DEFINITION"
    # the stored vector stays; dropping vectorize from a column without it is fine
    assert table.find_one({"id": "a"}, projection={"w": 1})["w"] == stored
    assert alter(t, {"dropVectorize": {"columns": ["v", "w"]}}) == OK
    assert t.definition() == {"columns": T_LONG, "primaryKey": T_KEY}


def test_alter_through_the_python_api(db, t):
    assert t.alter({"add": {"columns": {"x": "int"}}}) is t
    t.alter({"drop": {"columns": ["x"]}})
    t.alter({"addVectorize": {"columns": {"w": LOCAL}}})
    t.alter({"dropVectorize": {"columns": ["w"]}})
    assert t.definition() == {"columns": T_LONG, "primaryKey": T_KEY}
    with pytest.raises(vk.DataAPIError) as info:
        t.alter({"drop": {"columns": ["id"]}})
    assert info.value.error_code == "CANNOT_DROP_PRIMARY_KEY_COLUMNS"
    assert t.definition() == {"columns": T_LONG, "primaryKey": T_KEY}


def test_dropping_a_column_drops_its_values(db, t):
    t.insert_many([{"id": "a", "k": 1, "n": 10, "s": "x", "v": [1, 0]},
                   {"id": "b", "k": 2, "n": 20, "s": "y", "v": [0, 1]}])
    assert alter(t, {"drop": {"columns": ["n", "v"]}}) == OK
    assert t.find({}).to_list() == [{"id": "a", "k": 1, "s": "x"}, {"id": "b", "k": 2, "s": "y"}]
    # the same names again, with other types: the old values do not come back
    assert alter(t, {"add": {"columns": {"n": "text", "v": vec(3)}}}) == OK
    assert t.find({}).to_list() == [{"id": "a", "k": 1, "s": "x"}, {"id": "b", "k": 2, "s": "y"}]
    assert t.find_one({"id": "a"}, projection={"n": 1, "v": 1}) == {}
    frame = t.to_pandas()
    assert list(frame.columns) == ["id", "k", "s", "m", "l", "w", "n", "v"]
    assert frame["n"].isna().all() and frame["v"].isna().all()
    assert t.command({"countDocuments": {"filter": {}}}) == {"status": {"count": 2}}
    # and the new types are the ones that count
    t.insert_one({"id": "a", "k": 1, "n": "ten", "v": [1, 2, 3]})
    assert code(t.command({"insertOne": {"document": {"id": "b", "k": 2, "n": 20}}})) == (
        "INVALID_COLUMN_VALUES")
    assert code(t.command({"insertOne": {"document": {"id": "b", "k": 2, "v": [1, 0]}}})) == (
        "INVALID_COLUMN_VALUES")
    assert t.find({}, projection={"n": 1, "v": 1}).to_list() == [
        {"n": "ten", "v": [1.0, 2.0, 3.0]}, {}]


ALTER_ERRORS = [
    ("no-operation", {"alterTable": {}}, "MISSING_ALTER_TABLE_OPERATIONS", "None"),
    ("empty-operation", {"alterTable": {"operation": {}}}, "MISSING_ALTER_TABLE_OPERATIONS",
     "{}"),
    ("two-operations", {"alterTable": {"operation": {"add": {"columns": {"x": "int"}},
                                                     "drop": {"columns": ["n"]}}}},
     "MISSING_ALTER_TABLE_OPERATIONS", "exactly one operation"),
    ("add-existing", {"alterTable": {"operation": {"add": {"columns": {"n": "text"}}}}},
     "CANNOT_ADD_EXISTING_COLUMNS", "duplicate columns: n."),
    ("add-some-existing", {"alterTable": {"operation": {"add": {"columns": {
        "x": "int", "id": "text", "s": "text"}}}}},
     "CANNOT_ADD_EXISTING_COLUMNS", "duplicate columns: id, s."),
    ("add-bad-type", {"alterTable": {"operation": {"add": {"columns": {
        "x": "int", "y": "nope"}}}}}, "UNSUPPORTED_COLUMN_TYPES", "'nope'"),
    ("add-vector-no-dimension", {"alterTable": {"operation": {"add": {"columns": {
        "x": "int", "y": V}}}}}, "MISSING_DIMENSION_IN_VECTOR_COLUMN", "'y'"),
    ("add-vector-bad-dimension", {"alterTable": {"operation": {"add": {"columns": {
        "y": {**V, "dimension": 0}}}}}}, "UNSUPPORTED_VECTOR_DIMENSION", "dimension 0"),
    ("add-vector-bad-model", {"alterTable": {"operation": {"add": {"columns": {
        "y": {**V, "service": {"provider": "local", "modelName": "nope"}}}}}}},
     "INVALID_VECTORIZE_TABLE_CONFIGURATION", "'nope'"),
    ("add-hf-missing-credential", {"alterTable": {"operation": {"add": {"columns": {
        "y": {**V, "service": {**HF, "authentication": {"providerKey": "ghost"}}}}}}}},
     "VECTORIZE_CREDENTIAL_INVALID", "'ghost'"),
    ("add-hf-credential-out-of-scope", {"alterTable": {"operation": {"add": {"columns": {
        "y": {**V, "service": {**HF, "authentication": {"providerKey": "theirs"}}}}}}}},
     "VECTORIZE_CREDENTIAL_INVALID", "'theirs'"),
    ("drop-unknown", {"alterTable": {"operation": {"drop": {"columns": ["zz"]}}}},
     "CANNOT_DROP_UNKNOWN_COLUMNS", "unknown columns: zz."),
    ("drop-some-unknown", {"alterTable": {"operation": {"drop": {"columns": ["n", "zz"]}}}},
     "CANNOT_DROP_UNKNOWN_COLUMNS", "unknown columns: zz."),
    ("drop-partition-key", {"alterTable": {"operation": {"drop": {"columns": ["id"]}}}},
     "CANNOT_DROP_PRIMARY_KEY_COLUMNS", "primary key columns: id."),
    ("drop-sort-key", {"alterTable": {"operation": {"drop": {"columns": ["n", "k"]}}}},
     "CANNOT_DROP_PRIMARY_KEY_COLUMNS", "primary key columns: k."),
    ("drop-indexed", {"alterTable": {"operation": {"drop": {"columns": ["n", "s"]}}}},
     "CANNOT_DROP_INDEXED_COLUMNS", "indexed columns: s."),
    ("drop-map-indexed", {"alterTable": {"operation": {"drop": {"columns": ["m"]}}}},
     "CANNOT_DROP_INDEXED_COLUMNS", "indexed columns: m."),
    ("drop-vector-indexed", {"alterTable": {"operation": {"drop": {"columns": ["v"]}}}},
     "CANNOT_DROP_INDEXED_COLUMNS", "indexed columns: v."),
    ("vectorize-unknown", {"alterTable": {"operation": {"addVectorize": {"columns": {
        "zz": LOCAL}}}}}, "CANNOT_VECTORIZE_UNKNOWN_COLUMNS", "unknown columns: zz."),
    ("vectorize-some-unknown", {"alterTable": {"operation": {"addVectorize": {"columns": {
        "w": LOCAL, "zz": LOCAL}}}}}, "CANNOT_VECTORIZE_UNKNOWN_COLUMNS",
     "unknown columns: zz."),
    ("vectorize-non-vector", {"alterTable": {"operation": {"addVectorize": {"columns": {
        "s": LOCAL}}}}}, "CANNOT_VECTORIZE_NON_VECTOR_COLUMNS", "non-vector columns: s."),
    ("vectorize-some-non-vector", {"alterTable": {"operation": {"addVectorize": {"columns": {
        "w": LOCAL, "l": LOCAL}}}}}, "CANNOT_VECTORIZE_NON_VECTOR_COLUMNS",
     "non-vector columns: l."),
    ("vectorize-dimension-mismatch", {"alterTable": {"operation": {"addVectorize": {
        "columns": {"w": LOCAL, "v": LOCAL}}}}}, "INVALID_VECTORIZE_TABLE_CONFIGURATION",
     "'2'"),
    ("vectorize-hf-out-of-scope", {"alterTable": {"operation": {"addVectorize": {"columns": {
        "w": {**HF, "authentication": {"providerKey": "theirs"}}}}}}},
     "VECTORIZE_CREDENTIAL_INVALID", "'theirs'"),
    ("drop-vectorize-unknown", {"alterTable": {"operation": {"dropVectorize": {
        "columns": ["zz"]}}}}, "CANNOT_DROP_VECTORIZE_FROM_UNKNOWN_COLUMNS",
     "unknown columns: zz."),
    ("drop-vectorize-non-vector", {"alterTable": {"operation": {"dropVectorize": {
        "columns": ["e", "n"]}}}}, "CANNOT_DROP_VECTORIZE_FROM_NON_VECTOR_COLUMNS",
     "non-vector columns: n."),
]


@pytest.mark.parametrize(("command", "expected", "fragment"), [c[1:] for c in ALTER_ERRORS],
                         ids=[c[0] for c in ALTER_ERRORS])
def test_alter_table_errors_change_nothing(db, creds, indexed, command, expected, fragment):
    assert alter(indexed, {"add": {"columns": {"e": vec(384, LOCAL)}}}) == OK
    indexed.insert_one({"id": "a", "k": 1, "n": 5, "s": "x", "m": {"q": 1}, "v": [1, 0]})
    tables, index_list = explained(db), indexes(indexed)
    rows = indexed.find({}).to_list()
    error = only_error(indexed.command(command))
    assert error["errorCode"] == expected
    assert (error["family"], error["scope"]) == ("REQUEST", "SCHEMA")
    assert fragment in error["message"]
    assert explained(db) == tables
    assert indexes(indexed) == index_list
    assert indexed.find({}).to_list() == rows
    with pytest.raises(vk.DataAPIError) as info:
        indexed.alter(command["alterTable"].get("operation"))
    assert info.value.error_code == expected
    assert explained(db) == tables


def test_alter_error_messages(db, indexed):
    def message(operation):
        return only_error(alter(indexed, operation))["message"]

    assert message({"drop": {"columns": ["zz"]}}) == (
        "The command attempted to drop columns that are not in the table schema. The table "
        "default_keyspace.t defines the columns: id, k, n, s, m, l, v, w. The command "
        "attempted to drop the unknown columns: zz. Resend the command using only columns "
        "defined in the table schema.")
    assert message({"drop": {"columns": ["k"]}}) == (
        "Primary key columns cannot be dropped from the table schema. The table "
        "default_keyspace.t has the primary keys: id, k. The command attempted to drop the "
        "primary key columns: k. Resend the command without dropping the primary key columns.")
    assert message({"drop": {"columns": ["v"]}}) == (
        "Columns that are indexed cannot be dropped from the table schema. The table "
        "default_keyspace.t has indexes on the columns: s, m, v. The command attempted to drop "
        "the indexed columns: v. Drop their indexes first (dropIndex: vi_v), then resend the "
        "command.")
    assert message({"add": {"columns": {"n": "int"}}}) == (
        "Column names must be unique in the table schema. The table default_keyspace.t "
        "defines the columns: id, k, n, s, m, l, v, w. The request included the following "
        "duplicate columns: n. Resend the command using only new columns.")


def test_alter_field_errors(t):
    for operation, expected in [
        ({"rename": {"columns": {"n": "n2"}}}, "COMMAND_FIELD_UNKNOWN"),
        ({"add": {"columns": {}}}, "COMMAND_FIELD_VALUE_INVALID"),
        ({"add": {}}, "COMMAND_FIELD_VALUE_INVALID"),
        ({"drop": {"columns": []}}, "COMMAND_FIELD_VALUE_INVALID"),
        ({"drop": {"columns": "n"}}, "COMMAND_FIELD_VALUE_INVALID"),
        ({"addVectorize": {"columns": {}}}, "COMMAND_FIELD_VALUE_INVALID"),
        ({"dropVectorize": {"columns": []}}, "COMMAND_FIELD_VALUE_INVALID"),
    ]:
        assert code(alter(t, operation)) == expected, operation
    assert t.definition() == {"columns": T_LONG, "primaryKey": T_KEY}


# -- indexes ---------------------------------------------------------------------------------

def test_create_indexes_and_list_them(db, t):
    ok = [
        {"createIndex": {"name": "i_n", "definition": {"column": "n"}}},
        {"createIndex": {"name": "i_s", "definition": {"column": "s", "options": {
            "ascii": True, "caseSensitive": False, "normalize": True}}}},
        {"createIndex": {"name": "i_mk", "definition": {"column": {"m": "$keys"}}}},
        {"createIndex": {"name": "i_mv", "definition": {"column": {"m": "$values"}}}},
        {"createIndex": {"name": "i_me", "definition": {"column": {"m": "$entries"}}}},
        {"createIndex": {"name": "i_l", "definition": {"column": "l"}}},
        {"createVectorIndex": {"name": "vi_v", "definition": {"column": "v"}}},
        {"createVectorIndex": {"name": "vi_w", "definition": {"column": "w", "options": {
            "metric": "dot_product", "sourceModel": "bert"}}}},
    ]
    assert t.command({"listIndexes": {}}) == {"status": {"indexes": []}}
    for command in ok:
        assert t.command(command) == OK, command
    names = ["i_n", "i_s", "i_mk", "i_mv", "i_me", "i_l", "vi_v", "vi_w"]
    assert t.command({"listIndexes": {}}) == {"status": {"indexes": names}}
    assert t.command({"listIndexes": {"options": {"explain": False}}}) == {
        "status": {"indexes": names}}

    def regular(name, column, options=None):
        return {"name": name, "definition": {"column": column, "options": options or {}},
                "indexType": "regular"}

    expected = [
        regular("i_n", "n"),
        regular("i_s", "s", {"ascii": True, "caseSensitive": False, "normalize": True}),
        regular("i_mk", {"m": "$keys"}), regular("i_mv", {"m": "$values"}),
        regular("i_me", {"m": "$entries"}), regular("i_l", "l"),
        {"name": "vi_v", "definition": {"column": "v", "options": {
            "metric": "cosine", "sourceModel": "other"}}, "indexType": "vector"},
        {"name": "vi_w", "definition": {"column": "w", "options": {
            "metric": "dot_product", "sourceModel": "bert"}}, "indexType": "vector"},
    ]
    assert indexes(t) == {"status": {"indexes": expected}}
    assert t.list_index_names() == names
    assert t.list_indexes() == expected
    # indexes are not part of the table definition
    assert t.definition() == {"columns": T_LONG, "primaryKey": T_KEY}


@pytest.mark.parametrize("metric", ["cosine", "dot_product", "euclidean"])
def test_vector_index_metrics(t, metric):
    t.create_vector_index("vi", "v", metric=metric)
    assert t.list_indexes() == [{"name": "vi", "definition": {"column": "v", "options": {
        "metric": metric, "sourceModel": "other"}}, "indexType": "vector"}]


def test_vector_index_metric_defaults_from_the_source_model(t):
    # the Data API's ApiVectorIndex.decideSimilarityFunction: the user's metric, else the
    # source model's (EmbeddingSourceModel: "other" -> cosine, every named model ->
    # dot_product), as createCollection does (data-api.md §2.1 "sourceModel only -> the
    # model's default metric")
    models = ("ada002", "bert", "cohere-v3", "gecko", "nv-qa-4", "openai-v3-large",
              "openai-v3-small", "other")
    assert alter(t, {"add": {"columns": {f"x{i}": vec(2) for i in range(len(models))}}}) == OK
    for i, model in enumerate(models):
        assert t.command({"createVectorIndex": {"name": f"vi{i}", "definition": {
            "column": f"x{i}", "options": {"sourceModel": model}}}}) == OK
    assert t.command({"createVectorIndex": {"name": "vi_metric", "definition": {
        "column": "v", "options": {"sourceModel": "bert", "metric": "euclidean"}}}}) == OK
    found = {i["definition"]["options"]["sourceModel"]: i["definition"]["options"]["metric"]
             for i in t.list_indexes() if i["name"] != "vi_metric"}
    assert found == {m: "cosine" if m == "other" else "dot_product" for m in models}
    assert t.list_indexes()[-1]["definition"]["options"] == {"metric": "euclidean",
                                                             "sourceModel": "bert"}


def test_index_python_api(db, t):
    t.create_index("i_n", "n")
    t.create_index("i_s", "s", options={"caseSensitive": False})
    t.create_index("i_m", {"m": "$values"})
    t.create_vector_index("vi_w", "w", metric="euclidean", source_model="openai-v3-small")
    t.create_index("i_n", "s", if_not_exists=True)  # exists: nothing happens
    assert t.list_index_names() == ["i_n", "i_s", "i_m", "vi_w"]
    assert t.list_indexes()[0] == {"name": "i_n", "definition": {"column": "n", "options": {}},
                                   "indexType": "regular"}
    assert t.list_indexes()[3]["definition"] == {"column": "w", "options": {
        "metric": "euclidean", "sourceModel": "openai-v3-small"}}
    with pytest.raises(vk.DataAPIError) as info:
        t.create_index("i_n", "s")
    assert info.value.error_code == "CANNOT_ADD_EXISTING_INDEX"
    db.drop_table_index("i_n")
    db.drop_table_index("i_n", if_exists=True)
    with pytest.raises(vk.DataAPIError) as info:
        db.drop_table_index("i_n")
    assert info.value.error_code == "CANNOT_DROP_UNKNOWN_INDEX"
    assert t.list_index_names() == ["i_s", "i_m", "vi_w"]


def test_index_names_are_unique_per_keyspace_across_tables(db, t):
    assert create(db, "t2", {"id": "text", "n": "int"}) == OK
    t2 = db.get_table("t2")
    assert t.command({"createIndex": {"name": "i_n", "definition": {"column": "n"}}}) == OK
    env = t2.command({"createIndex": {"name": "i_n", "definition": {"column": "n"}}})
    error = only_error(env)
    assert error["errorCode"] == "CANNOT_ADD_EXISTING_INDEX"
    assert error["message"] == (
        "The command attempted to add an index that already exists in the keyspace schema. "
        "The command attempted to add the existing index: i_n (on table default_keyspace.t). "
        "Resend the command using an index name that does not exist in the keyspace, or with "
        "\"ifNotExists\": true.")
    # a vector index shares the names of regular ones
    assert code(t.command({"createVectorIndex": {"name": "i_n", "definition": {
        "column": "v"}}})) == "CANNOT_ADD_EXISTING_INDEX"
    # ifNotExists: ok, and nothing is created on t2
    assert t2.command({"createIndex": {"name": "i_n", "definition": {"column": "n"},
                                       "options": {"ifNotExists": True}}}) == OK
    assert t2.command({"listIndexes": {}}) == {"status": {"indexes": []}}
    assert t.command({"listIndexes": {}}) == {"status": {"indexes": ["i_n"]}}
    # the same name in another keyspace is another index
    db.create_keyspace("ks2")
    assert create(db, "t", {"id": "text", "n": "int"}, keyspace="ks2") == OK
    t_ks2 = db.get_table("t", keyspace="ks2")
    assert t_ks2.command({"createIndex": {"name": "i_n", "definition": {"column": "n"}}}) == OK
    assert db.command({"dropIndex": {"name": "i_n"}}, keyspace="ks2") == OK
    assert t_ks2.list_index_names() == []
    assert t.list_index_names() == ["i_n"]


def test_drop_index(db, indexed):
    assert db.command({"dropIndex": {"name": "i_s"}}) == OK
    assert indexed.command({"listIndexes": {}}) == {"status": {"indexes": ["i_m", "vi_v"]}}
    env = db.command({"dropIndex": {"name": "i_s"}})
    error = only_error(env)
    assert (error["errorCode"], error["message"]) == (
        "CANNOT_DROP_UNKNOWN_INDEX",
        "The command attempted to drop an index that is not in the keyspace schema. The "
        "command attempted to drop the unknown index: i_s. Resend the command using an index "
        "that exists in the keyspace (listIndexes on a table lists them), or with "
        "\"ifExists\": true.")
    assert db.command({"dropIndex": {"name": "i_s", "options": {"ifExists": True}}}) == OK
    assert db.command({"dropIndex": {"name": "vi_v", "options": {"ifExists": True}}}) == OK
    assert indexed.command({"listIndexes": {}}) == {"status": {"indexes": ["i_m"]}}
    # the columns are free to drop now, and the names to reuse
    assert alter(indexed, {"drop": {"columns": ["s", "v"]}}) == OK
    assert indexed.command({"createIndex": {"name": "vi_v", "definition": {"column": "n"}}}) == OK
    # dropIndex is a keyspace command, not a table command
    assert code(indexed.command({"dropIndex": {"name": "i_m"}})) == "COMMAND_UNKNOWN"
    assert indexed.command({"listIndexes": {}}) == {"status": {"indexes": ["i_m", "vi_v"]}}


def test_search_follows_the_schema(db, t):
    """Vector search sees index drops, vectorize drops and re-typed vector columns."""
    def failure(command):
        return code(t.command(command))

    t.insert_one({"id": "a", "k": 1, "v": [1, 0]})
    t.create_vector_index("vi_v", "v")
    assert t.find({}, sort={"v": [1, 0]}, projection={"id": 1}).to_list() == [{"id": "a"}]
    db.drop_table_index("vi_v")
    assert failure({"find": {"sort": {"v": [1, 0]}}}) == (
        "CANNOT_VECTOR_SORT_NON_INDEXED_VECTOR_COLUMNS")
    t.alter({"addVectorize": {"columns": {"w": LOCAL}}})
    t.create_vector_index("vi_w", "w")
    assert t.command({"find": {"sort": {"w": "a query"}}})["data"]["documents"] == []
    t.alter({"dropVectorize": {"columns": ["w"]}})
    assert failure({"find": {"sort": {"w": "a query"}}}) == (
        "CANNOT_VECTORIZE_SORT_WHEN_MISSING_VECTORIZE_DEFINITION")
    t.alter({"drop": {"columns": ["v"]}})
    t.alter({"add": {"columns": {"v": vec(3)}}})
    t.create_vector_index("vi_v", "v")
    assert failure({"find": {"sort": {"v": [1, 0]}}}) == (
        "CANNOT_VECTOR_SORT_ON_MISMATCHED_VECTOR_DIMENSIONS")
    assert t.find({}, sort={"v": [1, 0, 0]}, projection={"id": 1}).to_list() == []


INDEX_ERRORS = [
    ("unknown-column", {"createIndex": {"name": "i", "definition": {"column": "zz"}}},
     "UNKNOWN_INDEX_COLUMN", "unknown columns: zz."),
    ("unknown-map-column", {"createIndex": {"name": "i", "definition": {
        "column": {"zz": "$keys"}}}}, "UNKNOWN_INDEX_COLUMN", "unknown columns: zz."),
    ("unknown-vector-column", {"createVectorIndex": {"name": "i", "definition": {
        "column": "zz"}}}, "UNKNOWN_INDEX_COLUMN", "unknown columns: zz."),
    ("vector-with-create-index", {"createIndex": {"name": "i", "definition": {"column": "w"}}},
     "UNSUPPORTED_INDEXING_FOR_DATA_TYPES", "createVectorIndex"),
    ("keys-of-a-list", {"createIndex": {"name": "i", "definition": {
        "column": {"l": "$keys"}}}}, "UNSUPPORTED_INDEXING_FOR_DATA_TYPES", "'l'"),
    ("keys-of-text", {"createIndex": {"name": "i", "definition": {
        "column": {"s": "$values"}}}}, "UNSUPPORTED_INDEXING_FOR_DATA_TYPES", "'s'"),
    ("vector-index-on-int", {"createVectorIndex": {"name": "i", "definition": {
        "column": "n"}}}, "UNSUPPORTED_VECTOR_INDEX_FOR_DATA_TYPES", "column 'n' is int"),
    ("vector-index-on-map", {"createVectorIndex": {"name": "i", "definition": {
        "column": "m"}}}, "UNSUPPORTED_VECTOR_INDEX_FOR_DATA_TYPES", "column 'm' is map"),
    ("unknown-metric", {"createVectorIndex": {"name": "i", "definition": {
        "column": "w", "options": {"metric": "manhattan"}}}}, "UNKNOWN_VECTOR_METRIC",
     "manhattan"),
    ("metric-case", {"createVectorIndex": {"name": "i", "definition": {
        "column": "w", "options": {"metric": "COSINE"}}}}, "UNKNOWN_VECTOR_METRIC", "COSINE"),
    ("unknown-source-model", {"createVectorIndex": {"name": "i", "definition": {
        "column": "w", "options": {"sourceModel": "gpt-9"}}}}, "UNKNOWN_VECTOR_SOURCE_MODEL",
     "gpt-9"),
    # text analysis options: text and ascii only (ApiRegularIndex.resolveAnalyzerProperty;
    # errors.yaml UNSUPPORTED_TEXT_ANALYSIS_FOR_DATA_TYPES, CANNOT_ANALYZE_ENTRIES_ON_MAP_COLUMNS)
    ("text-option-on-int", {"createIndex": {"name": "i", "definition": {
        "column": "n", "options": {"ascii": True}}}}, "UNSUPPORTED_TEXT_ANALYSIS_FOR_DATA_TYPES",
     "'n'"),
    ("text-option-on-int-map-values", {"createIndex": {"name": "i", "definition": {
        "column": {"m": "$values"}, "options": {"caseSensitive": False}}}},
     "UNSUPPORTED_TEXT_ANALYSIS_FOR_DATA_TYPES", "'m'"),
    ("text-option-on-map-entries", {"createIndex": {"name": "i", "definition": {
        "column": {"m": "$entries"}, "options": {"normalize": True}}}},
     "CANNOT_ANALYZE_ENTRIES_ON_MAP_COLUMNS", "m"),
    ("text-option-on-whole-map", {"createIndex": {"name": "i", "definition": {
        "column": "m", "options": {"normalize": True}}}},
     "CANNOT_ANALYZE_ENTRIES_ON_MAP_COLUMNS", "m"),
    ("existing-index", {"createIndex": {"name": "i_s", "definition": {"column": "n"}}},
     "CANNOT_ADD_EXISTING_INDEX", "existing index: i_s"),
    ("existing-vector-index", {"createVectorIndex": {"name": "vi_v", "definition": {
        "column": "w"}}}, "CANNOT_ADD_EXISTING_INDEX", "existing index: vi_v"),
    ("bad-name", {"createIndex": {"name": "bad-name", "definition": {"column": "n"}}},
     "UNSUPPORTED_SCHEMA_NAME", "'bad-name'"),
    ("long-name", {"createVectorIndex": {"name": "x" * 101, "definition": {"column": "w"}}},
     "UNSUPPORTED_SCHEMA_NAME", "100 characters"),
]


@pytest.mark.parametrize(("command", "expected", "fragment"), [c[1:] for c in INDEX_ERRORS],
                         ids=[c[0] for c in INDEX_ERRORS])
def test_index_errors_change_nothing(db, indexed, command, expected, fragment):
    index_list, tables = indexes(indexed), explained(db)
    error = only_error(indexed.command(command))
    assert error["errorCode"] == expected
    assert (error["family"], error["scope"]) == ("REQUEST", "SCHEMA")
    assert fragment in error["message"]
    assert indexes(indexed) == index_list
    assert explained(db) == tables


def test_text_analysis_options_on_text_in_collections(t):
    # list<text> values and the text keys of map<text, int> take them (ApiRegularIndex
    # .resolveAnalyzerProperty: "List/Set that has text and ascii primitive value", "Map index
    # on keys, and keys are text and ascii")
    options = {"ascii": True, "caseSensitive": False, "normalize": True}
    assert t.command({"createIndex": {"name": "i_l", "definition": {
        "column": "l", "options": options}}}) == OK
    assert t.command({"createIndex": {"name": "i_mk", "definition": {
        "column": {"m": "$keys"}, "options": {"caseSensitive": False}}}}) == OK
    assert t.list_indexes() == [
        {"name": "i_l", "definition": {"column": "l", "options": options},
         "indexType": "regular"},
        {"name": "i_mk", "definition": {"column": {"m": "$keys"}, "options": {
            "caseSensitive": False}}, "indexType": "regular"}]


@pytest.mark.parametrize("column", [{"m": "$items"}, {"m": 1}, {"m": "$keys", "l": "$values"},
                                    5, ["m"]],
                         ids=["unknown-function", "number-function", "two-columns", "number",
                              "array"])
def test_index_column_of_a_bad_format(t, column):
    # RegularIndexColumnDeserializer / ApiIndexFunction.fromDollarCommand
    env = t.command({"createIndex": {"name": "i", "definition": {"column": column}}})
    error = only_error(env)
    assert (error["errorCode"], error["scope"], error["title"]) == (
        "INVALID_FORMAT_FOR_INDEX_CREATION_COLUMN", "SCHEMA",
        "Unable to create index, format for index creation column is invalid.")
    assert t.list_index_names() == []


def test_index_names_up_to_100_characters(t):
    name = "i" * 100
    assert t.command({"createIndex": {"name": name, "definition": {"column": "n"}}}) == OK
    assert t.list_index_names() == [name]


def test_index_field_errors(t):
    for command, expected in [
        ({"createIndex": {"name": "i"}}, "COMMAND_FIELD_VALUE_INVALID"),
        ({"createIndex": {"name": "i", "definition": {}}}, "COMMAND_FIELD_VALUE_INVALID"),
        ({"createIndex": {"name": "i", "definition": {"column": "s", "options": {
            "ascii": "yes"}}}}, "COMMAND_FIELD_VALUE_INVALID"),
        ({"createIndex": {"name": "i", "definition": {"column": "s", "options": {
            "metric": "cosine"}}}}, "COMMAND_FIELD_UNKNOWN"),
        ({"createVectorIndex": {"name": "i", "definition": {"column": "w", "options": {
            "ascii": True}}}}, "COMMAND_FIELD_UNKNOWN"),
        ({"createIndex": {"name": "i", "definition": {"column": "n"}, "options": {
            "ifNotExists": 1}}}, "COMMAND_FIELD_VALUE_INVALID"),
        ({"listIndexes": {"options": {"explain": "yes"}}}, "COMMAND_FIELD_VALUE_INVALID"),
    ]:
        assert code(t.command(command)) == expected, command
    assert t.list_index_names() == []


def test_index_errors_through_the_python_api(db, indexed):
    for action, expected in [
        (lambda: indexed.create_index("i", "zz"), "UNKNOWN_INDEX_COLUMN"),
        (lambda: indexed.create_index("i", "w"), "UNSUPPORTED_INDEXING_FOR_DATA_TYPES"),
        (lambda: indexed.create_vector_index("i", "s"), "UNSUPPORTED_VECTOR_INDEX_FOR_DATA_TYPES"),
        (lambda: indexed.create_vector_index("i", "w", metric="l2"), "UNKNOWN_VECTOR_METRIC"),
        (lambda: indexed.create_vector_index("i", "w", source_model="x"),
         "UNKNOWN_VECTOR_SOURCE_MODEL"),
        (lambda: db.drop_table_index("nope"), "CANNOT_DROP_UNKNOWN_INDEX"),
    ]:
        with pytest.raises(vk.DataAPIError) as info:
            action()
        assert info.value.error_code == expected
    assert indexed.list_index_names() == ["i_s", "i_m", "vi_v"]


# -- error objects: scopes and titles --------------------------------------------------------

def _trigger(db, t, name):
    """A command envelope that fails with the error code ``name``."""
    table_cmds = {
        "CANNOT_ADD_EXISTING_COLUMNS": {"alterTable": {"operation": {"add": {"columns": {
            "n": "int"}}}}},
        "CANNOT_DROP_UNKNOWN_COLUMNS": {"alterTable": {"operation": {"drop": {
            "columns": ["zz"]}}}},
        "CANNOT_DROP_PRIMARY_KEY_COLUMNS": {"alterTable": {"operation": {"drop": {
            "columns": ["id"]}}}},
        "CANNOT_DROP_INDEXED_COLUMNS": {"alterTable": {"operation": {"drop": {
            "columns": ["s"]}}}},
        "CANNOT_VECTORIZE_UNKNOWN_COLUMNS": {"alterTable": {"operation": {"addVectorize": {
            "columns": {"zz": LOCAL}}}}},
        "CANNOT_VECTORIZE_NON_VECTOR_COLUMNS": {"alterTable": {"operation": {"addVectorize": {
            "columns": {"n": LOCAL}}}}},
        "CANNOT_DROP_VECTORIZE_FROM_UNKNOWN_COLUMNS": {"alterTable": {"operation": {
            "dropVectorize": {"columns": ["zz"]}}}},
        "CANNOT_DROP_VECTORIZE_FROM_NON_VECTOR_COLUMNS": {"alterTable": {"operation": {
            "dropVectorize": {"columns": ["n"]}}}},
        "MISSING_ALTER_TABLE_OPERATIONS": {"alterTable": {"operation": {}}},
        "UNKNOWN_INDEX_COLUMN": {"createIndex": {"name": "i", "definition": {"column": "zz"}}},
        "UNSUPPORTED_INDEXING_FOR_DATA_TYPES": {"createIndex": {"name": "i", "definition": {
            "column": "w"}}},
        "UNSUPPORTED_VECTOR_INDEX_FOR_DATA_TYPES": {"createVectorIndex": {
            "name": "i", "definition": {"column": "n"}}},
        "UNKNOWN_VECTOR_METRIC": {"createVectorIndex": {"name": "i", "definition": {
            "column": "w", "options": {"metric": "x"}}}},
        "UNKNOWN_VECTOR_SOURCE_MODEL": {"createVectorIndex": {"name": "i", "definition": {
            "column": "w", "options": {"sourceModel": "x"}}}},
        "CANNOT_ADD_EXISTING_INDEX": {"createIndex": {"name": "i_s", "definition": {
            "column": "n"}}},
    }
    if name in table_cmds:
        return t.command(table_cmds[name])
    create_cases = {
        "CANNOT_ADD_EXISTING_TABLE": ("t", {"id": "text"}, "id"),
        "MISSING_PARTITION_COLUMNS": ("x", {"id": "text"}, {"partitionBy": []}),
        "MISSING_DIMENSION_IN_VECTOR_COLUMN": ("x", {"id": "text", "v": V}, "id"),
        "UNKNOWN_PARTITION_COLUMNS": ("x", {"id": "text"}, "zz"),
        "UNKNOWN_PARTITION_SORT_COLUMNS": ("x", {"id": "text"}, pk(["id"], {"zz": 1})),
        "UNSUPPORTED_SCHEMA_NAME": ("x-y", {"id": "text"}, "id"),
        "UNSUPPORTED_VECTOR_DIMENSION": ("x", {"id": "text", "v": {**V, "dimension": 0}}, "id"),
        "PRIMARY_KEY_DEFINITION_INCORRECT": ("x", {"id": "text"}, ["id"]),
        "INVALID_VECTORIZE_TABLE_CONFIGURATION": ("x", {"id": "text", "v": vec(3, LOCAL)},
                                                  "id"),
    }
    if name in create_cases:
        return create(db, *create_cases[name])
    if name == "CANNOT_DROP_UNKNOWN_TABLE":
        return db.command({"dropTable": {"name": "zz"}})
    if name == "CANNOT_DROP_UNKNOWN_INDEX":
        return db.command({"dropIndex": {"name": "zz"}})
    if name == "UNKNOWN_KEYSPACE":
        return db.command({"listTables": {}}, keyspace="zz")
    if name == "EXISTING_TABLE_NOT_DATA_API_COLLECTION":
        return db.command({"createCollection": {"name": "t"}})
    raise AssertionError(name)


@pytest.mark.parametrize("name", sorted(TITLES))
def test_schema_error_family_scope_and_title(db, indexed, name):
    error = only_error(_trigger(db, indexed, name))
    assert error["errorCode"] == name
    assert (error["family"], error["scope"], error["title"]) == (
        "REQUEST", "SCHEMA", TITLES[name])
    assert set(error) == {"id", "family", "scope", "errorCode", "title", "message"}
    assert str(uuid.UUID(error["id"])) == error["id"]


def test_unknown_table_columns_has_a_title_per_scope(t):
    cases = [
        ({"insertOne": {"document": {"id": "a", "k": 1, "zz": 1}}}, "DOCUMENT",
         "Columns in documents are not defined in the table schema"),
        ({"find": {"filter": {"zz": 1}}}, "FILTER",
         "Columns in the filter are not defined in the table schema"),
        ({"updateOne": {"filter": {"id": "a", "k": 1}, "update": {"$set": {"zz": 1}}}},
         "UPDATE", "Columns in the update are not defined in the table schema"),
        ({"find": {"projection": {"zz": 1}}}, "PROJECTION",
         "Columns in the projection are not defined in the table schema"),
    ]
    for command, scope, title in cases:
        error = only_error(t.command(command))
        assert (error["family"], error["errorCode"], error["scope"], error["title"]) == (
            "REQUEST", "UNKNOWN_TABLE_COLUMNS", scope, title), command
    assert t.find({}).to_list() == []


def test_python_errors_carry_scope_and_title(db, t):
    with pytest.raises(vk.DataAPIError) as info:
        t.alter({"dropVectorize": {"columns": ["n"]}})
    err = info.value
    assert (err.error_code, err.family, err.scope, err.title) == (
        "CANNOT_DROP_VECTORIZE_FROM_NON_VECTOR_COLUMNS", "REQUEST", "SCHEMA",
        TITLES["CANNOT_DROP_VECTORIZE_FROM_NON_VECTOR_COLUMNS"])
    with pytest.raises(vk.DataAPIError) as info:
        t.insert_one({"id": "a", "k": 1, "zz": 1})
    assert (info.value.scope, info.value.title) == (
        "DOCUMENT", "Columns in documents are not defined in the table schema")


# -- durability of the schema ----------------------------------------------------------------

def _build(ws):
    """Tables altered and indexed in several steps, with rows written between them."""
    db = ws.create_database("d")
    db.create_keyspace("ks2")
    books = db.create_table("books", columns={
        "id": "text", "k": "int", "n": "int", "note": "text",
        "tags": {"type": "set", "valueType": "text"},
        "meta": {"type": "map", "keyType": "text", "valueType": "text"},
        "v": vec(2), "e": vec(384)},
        primary_key={"partitionBy": ["id"], "partitionSort": {"k": -1}})
    books.insert_many([
        {"id": "a", "k": 1, "n": 10, "note": "first", "tags": ["x", "y"],
         "meta": {"lang": "en"}, "v": [1, 0]},
        {"id": "a", "k": 2, "n": 20, "v": [0, 1]},
        {"id": "b", "k": 1, "n": 30, "tags": ["z"], "v": [0.5, 0.5]},
    ])
    books.alter({"drop": {"columns": ["n"]}})
    books.alter({"add": {"columns": {"n": "text", "year": "smallint"}}})
    books.alter({"addVectorize": {"columns": {"e": LOCAL}}})
    books.create_index("i_tags", "tags")
    books.create_index("i_meta", {"meta": "$entries"})
    books.create_index("i_note", "note", options={"caseSensitive": False})
    books.create_vector_index("vi_v", "v", metric="euclidean")
    books.create_vector_index("vi_e", "e", metric="cosine", source_model="bert")
    books.insert_one({"id": "c", "k": 1, "n": "new", "year": 2024, "e": "a text to embed",
                      "v": [1, 1]})
    db.drop_table_index("i_note")
    books.alter({"drop": {"columns": ["note"]}})
    gone = db.create_table("gone", columns={"id": "text"}, primary_key="id")
    gone.insert_one({"id": "x"})
    gone.drop()
    other = db.create_table("other", columns={"id": "int", "s": "text"}, primary_key="id",
                            keyspace="ks2")
    other.insert_one({"id": 1, "s": "one"})
    other.create_index("i_tags", "s")  # the same index name, another keyspace
    db.create_collection("coll").insert_one({"_id": "doc"})
    # commands that change nothing must leave nothing in the log either
    again = db.create_table("books", columns={"id": "int"}, primary_key="id",
                            if_not_exists=True)
    assert again.definition() == EXPECTED_BOOKS
    failing = [
        {"alterTable": {"operation": {"add": {"columns": {"extra": "int", "bad": "nope"}}}}},
        {"alterTable": {"operation": {"drop": {"columns": ["year", "id"]}}}},
        {"alterTable": {"operation": {"addVectorize": {"columns": {"e": LOCAL, "v": LOCAL}}}}},
        {"createIndex": {"name": "i_zz", "definition": {"column": "zz"}}},
        {"createIndex": {"name": "vi_v", "definition": {"column": "year"}}},
        {"createVectorIndex": {"name": "vi_x", "definition": {"column": "v", "options": {
            "metric": "manhattan"}}}},
    ]
    for command in failing:
        assert "errors" in books.command(command), command
    assert "errors" in create(db, "bad", {"id": "text", "x": "nope"})
    assert "errors" in create(db, "books", {"id": "text"})
    return db


EXPECTED_BOOKS = {
    "columns": {"id": {"type": "text"}, "k": {"type": "int"},
                "tags": {"type": "set", "valueType": "text"},
                "meta": {"type": "map", "keyType": "text", "valueType": "text"},
                "v": vec(2), "e": vec(384, LOCAL), "n": {"type": "text"},
                "year": {"type": "smallint"}},
    "primaryKey": {"partitionBy": ["id"], "partitionSort": {"k": -1}},
}
EXPECTED_BOOKS_INDEXES = [
    {"name": "i_tags", "definition": {"column": "tags", "options": {}}, "indexType": "regular"},
    {"name": "i_meta", "definition": {"column": {"meta": "$entries"}, "options": {}},
     "indexType": "regular"},
    {"name": "vi_v", "definition": {"column": "v", "options": {
        "metric": "euclidean", "sourceModel": "other"}}, "indexType": "vector"},
    {"name": "vi_e", "definition": {"column": "e", "options": {
        "metric": "cosine", "sourceModel": "bert"}}, "indexType": "vector"},
]


def _state(db):
    books, other = db.get_table("books"), db.get_table("other", keyspace="ks2")
    return {
        "tables": explained(db), "ks2": explained(db, "ks2"),
        "collections": db.command({"findCollections": {}}),
        "books_indexes": indexes(books), "other_indexes": indexes(other),
        "books": books.find({}, projection={"e": 0}).to_list(),
        "embedded": books.find_one({"id": "c", "k": 1}, projection={"e": 1})["e"],
        "other": other.find({}).to_list(),
    }


def _check_expected(state):
    assert state["tables"] == {"status": {"tables": [
        {"name": "books", "definition": EXPECTED_BOOKS}]}}
    assert state["ks2"] == {"status": {"tables": [{"name": "other", "definition": {
        "columns": {"id": {"type": "int"}, "s": {"type": "text"}},
        "primaryKey": pk(["id"])}}]}}
    assert state["collections"] == {"status": {"collections": ["coll"]}}
    assert state["books_indexes"] == {"status": {"indexes": EXPECTED_BOOKS_INDEXES}}
    assert state["other_indexes"] == {"status": {"indexes": [
        {"name": "i_tags", "definition": {"column": "s", "options": {}},
         "indexType": "regular"}]}}
    assert state["books"] == [
        {"id": "a", "k": 2, "v": [0.0, 1.0]},
        {"id": "a", "k": 1, "tags": ["x", "y"], "meta": {"lang": "en"}, "v": [1.0, 0.0]},
        {"id": "b", "k": 1, "tags": ["z"], "v": [0.5, 0.5]},
        {"id": "c", "k": 1, "v": [1.0, 1.0], "n": "new", "year": 2024},
    ]
    assert len(state["embedded"]) == 384
    assert state["other"] == [{"id": 1, "s": "one"}]


def _check_usable(db):
    """The reopened schema still works: vectorize, vector search, its errors."""
    books = db.get_table("books")
    books.insert_one({"id": "d", "k": 1, "e": "something else entirely", "v": [0, 2]})
    found = books.find({}, sort={"e": "a text to embed"}, projection={"id": 1}, limit=1)
    assert found.to_list() == [{"id": "c"}]
    assert code(books.command({"alterTable": {"operation": {"drop": {"columns": ["tags"]}}}})) \
        == "CANNOT_DROP_INDEXED_COLUMNS"
    assert code(books.command({"createIndex": {"name": "i_note", "definition": {
        "column": "note"}}})) == "UNKNOWN_INDEX_COLUMN"
    assert code(books.command({"createIndex": {"name": "i_meta", "definition": {
        "column": "n"}}})) == "CANNOT_ADD_EXISTING_INDEX"
    assert code(db.command({"dropTable": {"name": "gone"}})) == "CANNOT_DROP_UNKNOWN_TABLE"


def test_schema_survives_close_and_reopen(tmp_path):
    ws = vk.Workspace(tmp_path / "ws")
    before = _state(_build(ws))
    _check_expected(before)
    ws.close()
    with vk.Workspace(tmp_path / "ws") as again:
        db = again.get_database("d")
        after = _state(db)
        assert after == before
        _check_usable(db)


def test_schema_survives_a_crash(tmp_path):
    ws = vk.Workspace(tmp_path / "ws")
    try:
        db = _build(ws)
        before = _state(db)
        _check_expected(before)
        # the directory as a crash leaves it: copied while the workspace is open, unclosed
        shutil.copytree(tmp_path / "ws", tmp_path / "crashed")
        with vk.Workspace(tmp_path / "crashed") as copy_ws:
            copied = copy_ws.get_database("d")
            assert _state(copied) == before
            _check_usable(copied)
    finally:
        ws.close()


def test_schema_changes_after_a_reopen_survive_a_crash(tmp_path):
    with vk.Workspace(tmp_path / "ws") as ws:
        _build(ws)
    ws = vk.Workspace(tmp_path / "ws")
    try:
        db = ws.get_database("d")
        books = db.get_table("books")
        # on top of the snapshot: drop and re-add a column with another type, a vector
        # column with another dimension, and drop an index
        db.drop_table_index("vi_v")
        books.alter({"drop": {"columns": ["v", "year"]}})
        books.alter({"add": {"columns": {"v": vec(3), "year": "text"}}})
        books.alter({"dropVectorize": {"columns": ["e"]}})
        db.drop_table("other", keyspace="ks2")
        before = _state_after_changes(db)
        assert before["books"] == [
            {"id": "a", "k": 2}, {"id": "a", "k": 1, "tags": ["x", "y"], "meta": {"lang": "en"}},
            {"id": "b", "k": 1, "tags": ["z"]}, {"id": "c", "k": 1, "n": "new"}]
        assert before["definition"] == {
            "columns": {**{c: EXPECTED_BOOKS["columns"][c]
                           for c in ("id", "k", "tags", "meta", "n")},
                        "e": vec(384), "v": vec(3), "year": {"type": "text"}},
            "primaryKey": EXPECTED_BOOKS["primaryKey"]}
        assert list(before["definition"]["columns"]) == [
            "id", "k", "tags", "meta", "e", "n", "v", "year"]
        assert before["indexes"] == [i["name"] for i in EXPECTED_BOOKS_INDEXES
                                     if i["name"] != "vi_v"]
        assert before["ks2"] == {"status": {"tables": []}}
        shutil.copytree(tmp_path / "ws", tmp_path / "crashed")
        with vk.Workspace(tmp_path / "crashed") as copy_ws:
            assert _state_after_changes(copy_ws.get_database("d")) == before
    finally:
        ws.close()
    with vk.Workspace(tmp_path / "ws") as again:
        assert _state_after_changes(again.get_database("d")) == before


def _state_after_changes(db):
    books = db.get_table("books")
    return {"books": books.find({}, projection={"e": 0}).to_list(),
            "definition": books.definition(), "indexes": books.list_index_names(),
            "embedded": books.find_one({"id": "c", "k": 1})["e"],
            "ks2": db.command({"listTables": {}}, keyspace="ks2")}
