"""astrapy 2.x (sync API) doing ordinary collection and table work against
``vectorize-kit serve`` (issue 15): exact numbers, indexes and filters on collection columns,
maps written as lists of pairs, table lifecycle details and the collection vector options.
Every answer is checked against what the Data API gives (and, where it helps, against the
in-process API on the same workspace)."""

from __future__ import annotations

import ipaddress
import uuid
from decimal import Decimal as D

import numpy as np
import pytest
from astrapy import DataAPIClient
from astrapy.api_options import APIOptions, SerdesOptions
from astrapy.data_types import DataAPIDate, DataAPIMap, DataAPISet, DataAPITimestamp, DataAPIVector
from astrapy.exceptions import DataAPIResponseException
from astrapy.info import (
    AlterTableAddColumns,
    AlterTableAddVectorize,
    CollectionDefinition,
    CollectionVectorOptions,
    CreateTableDefinition,
    TableIndexOptions,
    TableVectorIndexOptions,
    VectorServiceOptions,
)

from vectorize_kit.server import DataAPIServer

TOKEN = "AstraCS:fidelity-admin"
PI = D("3.14159265358979323846264338327950288")
BIG = 123456789012345678901234567890123
OPENAI = VectorServiceOptions(provider="openai", model_name="text-embedding-3-small",
                              authentication={"providerKey": "my-openai"})


@pytest.fixture(scope="module")
def served():
    import vectorize_kit as vk

    ws = vk.Workspace()
    db = ws.create_database("fidelity")
    with DataAPIServer(db, tokens={TOKEN: "database-administrator"}) as server:
        yield db, server
    ws.close()


@pytest.fixture
def adb(served):
    db, server = served
    database = DataAPIClient(environment="other").get_database(
        server.url, token=TOKEN, keyspace="default_keyspace")
    yield database
    for name in db.list_table_names():
        db.drop_table(name)
    for name in db.list_collection_names():
        db.drop_collection(name)


def spawn(handle, **serdes):
    return handle.with_options(api_options=APIOptions(serdes_options=SerdesOptions(**serdes)))


def error_code(caught) -> str:
    return caught.value.error_descriptors[0].error_code


# -- item 3: exact numbers -------------------------------------------------------------------

def test_table_decimals_are_exact_in_insert_find_filter_and_update(adb, served):
    table = adb.create_table("prices", definition=(
        CreateTableDefinition.builder().add_column("id", "text").add_column("d", "decimal")
        .add_column("v", "varint").add_column("x", "double").add_partition_by(["id"]).build()))
    table.insert_many([{"id": "pi", "d": PI, "v": BIG, "x": 0.1},
                       {"id": "e", "d": D("2.71828182845904523536028747135266249"), "v": 1}])
    assert table.find_one({"id": "pi"}) == {"id": "pi", "d": PI, "v": BIG, "x": 0.1}
    assert table.find_one({"d": PI})["id"] == "pi"  # equality on an exact decimal
    assert [r["id"] for r in table.find({"d": {"$in": [PI, D("1.5")]}})] == ["pi"]
    assert [r["id"] for r in table.find(
        {"d": {"$gt": D("3.1415926535897932384626433832795028")}})] == ["pi"]
    assert [r["id"] for r in table.find({"d": {"$lt": PI}})] == ["e"]
    table.update_one({"id": "e"}, {"$set": {"d": D("0.1230000000000000000000000000001")}})
    assert table.find_one({"id": "e"})["d"] == D("0.1230000000000000000000000000001")
    # the row as the in-process API holds it
    local = served[0].get_table("prices").find_one({"id": "pi"})
    assert local["d"] == PI and local["v"] == BIG


def test_a_decimal_astrapy_sends_as_a_string_is_refused_with_the_reason(adb):
    table = adb.create_table("neg", definition=(
        CreateTableDefinition.builder().add_column("id", "text").add_column("d", "decimal")
        .add_partition_by(["id"]).build()))
    with pytest.raises(DataAPIResponseException) as caught:
        table.insert_one({"id": "a", "d": D("-1.5")})  # astrapy writes it as a marked string
    assert error_code(caught) == "INVALID_COLUMN_VALUES"
    assert "astrapy's wrapping of Decimal('-1.5')" in str(caught.value)
    assert table.find_one({"id": "a"}) is None


def test_collection_numbers_are_kept_exactly(adb):
    plain = adb.create_collection("nums")
    plain.insert_one({"_id": "big", "n": BIG, "f": 0.1})
    assert plain.find_one({"n": BIG}) == {"_id": "big", "n": BIG, "f": 0.1}
    exact = spawn(plain, use_decimals_in_collections=True)
    tiny = D("0.1000000000000000000000001")
    exact.insert_one({"_id": "dec", "d": tiny, "scaled": D("1.50")})
    assert exact.find_one({"_id": "dec"}) == {"_id": "dec", "d": tiny, "scaled": D("1.50")}
    assert str(exact.find_one({"_id": "dec"})["scaled"]) == "1.50"
    assert exact.find_one({"d": tiny})["_id"] == "dec"
    assert exact.find_one({"d": D("0.1")}) is None  # a decimal is not its nearest float
    exact.update_one({"_id": "dec"}, {"$inc": {"d": D("0.1")}})
    assert exact.find_one({"_id": "dec"})["d"] == D("0.2000000000000000000000001")


# -- item 4: indexes and filters on map, set and list columns --------------------------------

def _collections_table(adb):
    table = adb.create_table("coll_cols", definition=(
        CreateTableDefinition.builder().add_column("id", "int")
        .add_map_column("ages", "text", "int").add_map_column("codes", "int", "text")
        .add_set_column("tags", "text").add_list_column("scores", "int")
        .add_vector_column("v", dimension=2).add_partition_by(["id"]).build()))
    table.insert_many([
        {"id": 1, "ages": {"ann": 30, "bob": 40}, "codes": DataAPIMap([(1, "a"), (2, "b")]),
         "tags": DataAPISet(["red", "blue"]), "scores": [1, 2, 3]},
        {"id": 2, "ages": {"cid": 30}, "codes": DataAPIMap([(3, "c")]),
         "tags": DataAPISet(["green"]), "scores": [5]},
        {"id": 3},
    ])
    return table


def test_indexes_on_map_set_and_list_columns_and_their_filters(adb):
    table = _collections_table(adb)
    table.create_index("ages_keys", column={"ages": "$keys"})
    table.create_index("ages_values", column={"ages": "$values"})
    table.create_index("codes_entries", column={"codes": "$entries"})
    table.create_index("tags_idx", column="tags",
                       options=TableIndexOptions(case_sensitive=False))
    table.create_index("scores_idx", column="scores")
    listed = {i.name: i.as_dict() for i in table.list_indexes()}
    assert listed["ages_keys"]["definition"]["column"] == {"ages": "$keys"}
    assert listed["tags_idx"]["definition"] == {"column": "tags",
                                                "options": {"caseSensitive": False}}
    assert set(table.list_index_names()) == set(listed)

    def ids(flt):
        return sorted(r["id"] for r in table.find(flt))

    assert ids({"ages": {"$keys": {"$in": ["ann", "cid"]}}}) == [1, 2]
    assert ids({"ages": {"$keys": {"$nin": ["ann"]}}}) == [2, 3]
    assert ids({"ages": {"$values": {"$all": [30, 40]}}}) == [1]
    assert ids({"codes": {"$in": [[3, "c"]]}}) == [2]  # entries as [key, value]
    assert ids({"tags": {"$all": ["red", "blue"]}}) == [1]
    assert ids({"tags": {"$nin": ["red"]}}) == [2, 3]
    assert ids({"scores": {"$in": [5, 9]}}) == [2]


def test_unsupported_collection_column_indexes_give_the_data_api_errors(adb):
    table = _collections_table(adb)
    cases = [
        ("v_idx", "v", None, "UNSUPPORTED_INDEXING_FOR_DATA_TYPES"),
        ("tags_keys", {"tags": "$keys"}, None, "UNSUPPORTED_INDEXING_FOR_DATA_TYPES"),
        ("codes_entries_ci", {"codes": "$entries"}, TableIndexOptions(case_sensitive=False),
         "CANNOT_ANALYZE_ENTRIES_ON_MAP_COLUMNS"),
        ("scores_ci", "scores", TableIndexOptions(ascii=True),
         "UNSUPPORTED_TEXT_ANALYSIS_FOR_DATA_TYPES"),
        ("bad_part", {"ages": "$everything"}, None, "INVALID_FORMAT_FOR_INDEX_CREATION_COLUMN"),
    ]
    for name, column, options, expected in cases:
        with pytest.raises(DataAPIResponseException) as caught:
            table.create_index(name, column=column, options=options)
        assert error_code(caught) == expected, name
    assert table.list_index_names() == []
    with pytest.raises(DataAPIResponseException) as caught:
        table.find_one({"tags": {"$keys": {"$in": ["red"]}}})
    assert error_code(caught) == "INVALID_MAP_SET_LIST_FILTER"


# -- item 5: maps as lists of pairs ----------------------------------------------------------

MAP_KEYS = {  # key type -> (a key as astrapy takes it, the key as astrapy gives it back)
    "text": ("k", "k"),
    "ascii": ("k", "k"),
    "int": (7, 7),
    "bigint": (2**40, 2**40),
    "smallint": (-3, -3),
    "tinyint": (5, 5),
    "varint": (BIG, BIG),
    "double": (2.5, 2.5),
    "float": (0.5, 0.5),
    "boolean": (True, True),
    "uuid": (uuid.UUID("12345678-1234-5678-1234-567812345678"),
             uuid.UUID("12345678-1234-5678-1234-567812345678")),
    "date": (DataAPIDate.from_string("2024-02-29"), DataAPIDate.from_string("2024-02-29")),
    "timestamp": (DataAPITimestamp.from_string("2024-05-01T12:30:00.125Z"),
                  DataAPITimestamp.from_string("2024-05-01T12:30:00.125Z")),
    "inet": (ipaddress.ip_address("10.0.0.1"), ipaddress.ip_address("10.0.0.1")),
}


def test_maps_of_every_key_type_travel_as_lists_of_pairs(adb):
    builder = CreateTableDefinition.builder().add_column("id", "int")
    for key_type in MAP_KEYS:
        builder = builder.add_map_column(f"m_{key_type}", key_type, "int")
    table = spawn(adb.create_table("pairs", definition=builder.add_partition_by(["id"]).build()),
                  encode_maps_as_lists_in_tables="ALWAYS")
    row = {"id": 1, **{f"m_{t}": {k: 1} for t, (k, _) in MAP_KEYS.items()}}
    table.insert_one(row)
    found = table.find_one({"id": 1})
    for key_type, (_, back) in MAP_KEYS.items():
        assert dict(found[f"m_{key_type}"]) == {back: 1}, key_type
    # filters on entries, keys and values with non-text keys
    for key_type, (key, _) in MAP_KEYS.items():
        column = f"m_{key_type}"
        assert table.find_one({column: {"$keys": {"$in": [key]}}})["id"] == 1, key_type
        assert table.find_one({column: {"$in": [[key, 1]]}})["id"] == 1, key_type
    # $set (astrapy sends pairs), $push of one [key, value] entry and of several with $each,
    # $pullAll by keys, $unset
    table.update_one({"id": 1}, {"$set": {"m_int": {10: 100, 11: 110}}})
    table.update_one({"id": 1}, {"$push": {"m_int": [12, 120]}})
    table.update_one({"id": 1}, {"$push": {"m_bigint": {"$each": [[1, 1], [2, 2]]}}})
    table.update_one({"id": 1}, {"$pullAll": {"m_int": [10]}})
    table.update_one({"id": 1}, {"$unset": {"m_uuid": ""}})
    found = table.find_one({"id": 1})
    assert dict(found["m_int"]) == {11: 110, 12: 120}
    assert dict(found["m_bigint"]) == {1: 1, 2: 2, 2**40: 1}
    assert dict(found["m_uuid"]) == {}  # null, which astrapy shows as an empty map


def test_a_map_object_with_non_text_keys_is_refused(adb):
    table = adb.create_table("objmaps", definition=(
        CreateTableDefinition.builder().add_column("id", "int")
        .add_map_column("m", "int", "text").add_partition_by(["id"]).build()))
    table.insert_one({"id": 1, "m": DataAPIMap([(1, "a")])})
    # astrapy writes a $push of a dict as a JSON object, whose keys are strings
    with pytest.raises(DataAPIResponseException) as caught:
        table.update_one({"id": 1}, {"$push": {"m": {5: "e"}}})
    assert error_code(caught) == "INVALID_UPDATE_COLUMN_VALUES"
    assert "[key, value]" in str(caught.value)
    assert dict(table.find_one({"id": 1})["m"]) == {1: "a"}


# -- item 6: table lifecycle details ---------------------------------------------------------

def test_table_definitions_with_every_option_form_are_echoed_exactly(adb, served):
    local_service = VectorServiceOptions(provider="local",
                                         model_name="sentence-transformers/all-MiniLM-L6-v2")
    definition = (CreateTableDefinition.builder().add_column("id", "text")
                  .add_column("n", "int").add_column("added", "timestamp")
                  .add_vector_column("a", dimension=3)
                  .add_vector_column("b", dimension=3)
                  .add_vector_column("c", dimension=3)
                  .add_vector_column("emb", service=OPENAI)
                  .add_vector_column("txt", service=local_service)
                  .add_partition_by(["id"]).add_partition_sort({"n": -1}).build())
    table = adb.create_table("lifecycle", definition=definition)
    table.create_vector_index("a_idx", column="a", options=TableVectorIndexOptions(
        metric="euclidean", source_model="openai-v3-small"))
    table.create_vector_index("b_idx", column="b", options=TableVectorIndexOptions(
        metric="dot_product"))
    table.create_vector_index("c_idx", column="c", options=TableVectorIndexOptions(
        source_model="cohere-v3"))
    table.create_vector_index("emb_idx", column="emb")
    table.alter(AlterTableAddColumns(columns={"extra": "text"}))
    table.alter(AlterTableAddVectorize(columns={"a": VectorServiceOptions(
        provider="voyageAI", model_name="voyage-3-lite", parameters={"x": "y"})}))

    [listed] = [t for t in adb.list_tables() if t.name == "lifecycle"]
    columns = listed.as_dict()["definition"]["columns"]
    assert columns["emb"] == {"type": "vector", "dimension": 1536, "service": {
        "provider": "openai", "modelName": "text-embedding-3-small",
        "authentication": {"providerKey": "my-openai"}}}
    assert columns["a"]["service"] == {"provider": "voyageAI", "modelName": "voyage-3-lite",
                                       "parameters": {"x": "y"}}
    assert columns["extra"] == {"type": "text"}
    assert listed.as_dict()["definition"]["primaryKey"] == {
        "partitionBy": ["id"], "partitionSort": {"n": -1}}
    assert listed.as_dict() == {"name": "lifecycle", "definition": (
        served[0].get_table("lifecycle").definition())}
    assert "lifecycle" in adb.list_table_names()

    options = {i.name: i.as_dict()["definition"]["options"] for i in table.list_indexes()}
    assert options == {
        "a_idx": {"metric": "euclidean", "sourceModel": "openai-v3-small"},
        "b_idx": {"metric": "dot_product", "sourceModel": "other"},
        "c_idx": {"metric": "dot_product", "sourceModel": "cohere-v3"},
        "emb_idx": {"metric": "cosine", "sourceModel": "other"}}
    assert sorted(table.list_index_names()) == sorted(options)

    # a vector for a column of another provider is stored; text for it is refused
    table.insert_one({"id": "r", "n": 1, "emb": DataAPIVector([0.5] * 1536),
                      "a": [1, 0, 0]})
    with pytest.raises(DataAPIResponseException) as caught:
        table.insert_one({"id": "s", "n": 1, "emb": "some text to embed"})
    assert error_code(caught) == "EMBEDDING_PROVIDER_UNAVAILABLE"
    assert "openai" in str(caught.value)
    with pytest.raises(DataAPIResponseException) as caught:
        table.find_one({}, sort={"emb": "a query"})
    assert error_code(caught) == "EMBEDDING_PROVIDER_UNAVAILABLE"
    assert table.count_documents({}, upper_bound=10) == 1


def test_finds_on_non_key_columns_projections_of_vectors_and_unset_vectors(adb):
    table = adb.create_table("vt", definition=(
        CreateTableDefinition.builder().add_column("id", "text").add_column("n", "int")
        .add_vector_column("v", dimension=3).add_vector_column("w", dimension=2)
        .add_partition_by(["id"]).build()))
    table.create_vector_index("v_idx", column="v")
    table.insert_many([{"id": "a", "n": 1, "v": [1, 0, 0], "w": [0, 1]},
                       {"id": "b", "n": 2, "v": [0, 1, 0], "w": [1, 0]},
                       {"id": "c", "n": 1, "v": [0, 0, 1]}])
    rows = table.find({"n": 1}, projection={"id": True, "v": True, "w": True}).to_list()
    assert sorted((r["id"], list(r["v"]), r["w"] and list(r["w"])) for r in rows) == [
        ("a", [1.0, 0.0, 0.0], [0.0, 1.0]), ("c", [0.0, 0.0, 1.0], None)]
    hits = table.find({"n": 1}, sort={"v": DataAPIVector([1, 0, 0])}, limit=2,
                      projection={"n": True, "w": True}, include_similarity=True).to_list()
    assert [(h["n"], h["$similarity"]) for h in hits] == [(1, 1.0), (1, 0.5)]
    assert list(hits[0]["w"]) == [0.0, 1.0]
    table.update_one({"id": "a"}, {"$unset": {"v": "", "w": ""}})
    after = table.find_one({"id": "a"}, projection={"id": True, "v": True, "w": True})
    assert after == {"id": "a", "v": None, "w": None}
    assert table.find_one({"id": "a"}) == {"id": "a", "n": 1, "v": None, "w": None}


# -- item 7: collections ---------------------------------------------------------------------

def test_collection_vectors_as_binary_or_numpy_and_the_sort_vector(adb):
    coll = adb.create_collection("vecs", definition=CollectionDefinition(
        vector=CollectionVectorOptions(dimension=3, metric="dot_product")))
    coll.insert_one({"_id": "bin", "$vector": DataAPIVector([0.0, 1.0, 0.0])})
    numpy_coll = spawn(coll, unroll_iterables_to_lists=True)
    numpy_coll.insert_one({"_id": "np", "$vector": np.array([1, 0, 0], dtype=np.float32)})
    numpy_coll.insert_many([{"_id": f"n{i}", "$vector": np.full(3, 0.1 * i)}
                            for i in range(1, 4)])
    doc = coll.find_one({"_id": "np"}, projection={"$vector": True})
    assert list(doc["$vector"]) == [1.0, 0.0, 0.0]
    cursor = coll.find({}, sort={"$vector": [1.0, 0.0, 0.0]}, limit=3,
                       include_sort_vector=True, include_similarity=True)
    hits = cursor.to_list()
    assert [h["_id"] for h in hits] == ["np", "n3", "n2"]
    assert list(cursor.get_sort_vector()) == [1.0, 0.0, 0.0]
    assert hits[0]["$similarity"] == 1.0
    # the sort vector of a findOne, from a numpy query
    found = numpy_coll.find_one({}, sort={"$vector": np.array([0.0, 1.0, 0.0])})
    assert found["_id"] == "bin"


def test_collections_of_other_providers_are_stored_and_echoed(adb, served):
    service = VectorServiceOptions(provider="cohere", model_name="embed-english-v3.0",
                                   authentication={"providerKey": "my-cohere"})
    coll = adb.create_collection("cohere_docs", definition=CollectionDefinition(
        vector=CollectionVectorOptions(metric="dot_product", service=service)))
    options = coll.options()
    assert options.vector.dimension == 1024
    assert options.vector.service.as_dict() == {
        "provider": "cohere", "modelName": "embed-english-v3.0",
        "authentication": {"providerKey": "my-cohere"}}
    assert options.as_dict() == served[0].get_collection("cohere_docs").options()
    coll.insert_one({"_id": 1, "$vector": [0.25] * 1024, "t": "kept"})
    assert coll.find_one({}, sort={"$vector": [0.25] * 1024})["t"] == "kept"
    for call in (lambda: coll.insert_one({"$vectorize": "embed me"}),
                 lambda: coll.find_one({}, sort={"$vectorize": "find me"})):
        with pytest.raises(DataAPIResponseException) as caught:
            call()
        assert error_code(caught) == "EMBEDDING_PROVIDER_UNAVAILABLE"
    assert coll.count_documents({}, upper_bound=10) == 1
    # the same definition again is idempotent; an unknown provider is refused
    adb.create_collection("cohere_docs", definition=CollectionDefinition(
        vector=CollectionVectorOptions(metric="dot_product", service=service)))
    with pytest.raises(DataAPIResponseException) as caught:
        adb.create_collection("bad", definition=CollectionDefinition(
            vector=CollectionVectorOptions(service=VectorServiceOptions(
                provider="acme", model_name="m"))))
    assert error_code(caught) == "INVALID_CREATE_COLLECTION_OPTIONS"
