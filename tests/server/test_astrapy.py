"""astrapy, the real client from PyPI, against ``vectorize-kit serve``: collections and tables,
``$vectorize`` with a header key, vector search with similarity, cursors over many pages,
updates, deletes, counts, listings and drops — each answer checked against the in-process
API on the same workspace."""

from __future__ import annotations

import base64
import datetime as dt

import numpy as np
import pytest
from astrapy import DataAPIClient
from astrapy.authentication import UsernamePasswordTokenProvider
from astrapy.constants import VectorMetric
from astrapy.data_types import DataAPIVector
from astrapy.exceptions import (
    CollectionInsertManyException,
    DataAPIHttpException,
    DataAPIResponseException,
    TooManyDocumentsToCountException,
)
from astrapy.info import (
    CollectionDefinition,
    CollectionVectorOptions,
    ColumnType,
    CreateTableDefinition,
    TableVectorIndexOptions,
    VectorServiceOptions,
)

from conftest import HF_TOKEN
from vectorize_kit.embedding import get_provider
from vectorize_kit.embedding.local import MODEL_NAME
from vectorize_kit.server import DataAPIServer

HF_SERVICE = VectorServiceOptions(provider="huggingface", model_name=MODEL_NAME)
TEXTS = [f"note {i}: " + t for i, t in enumerate(
    ["a cat sleeps on the sofa", "the stock market fell", "rain is expected tomorrow",
     "a kitten plays with yarn", "bond yields rose sharply", "sunny skies all week"] * 5)]


@pytest.fixture
def served(hf_ws):
    db = hf_ws.create_database("astra")
    with DataAPIServer(db, tokens={"AstraCS:admin": "database-administrator",
                                   "AstraCS:reader": "read-only"}) as server:
        yield db, server


@pytest.fixture
def adb(served):
    db, server = served
    return DataAPIClient(environment="other").get_database(
        server.url, token="AstraCS:admin", keyspace="default_keyspace")


def test_collection_lifecycle_and_vectorize(served, adb, endpoint):
    db, _ = served
    coll = adb.create_collection(
        "notes", definition=CollectionDefinition(vector=CollectionVectorOptions(
            metric=VectorMetric.COSINE, service=HF_SERVICE)),
        embedding_api_key=HF_TOKEN)
    assert adb.list_collection_names() == ["notes"] == db.list_collection_names()
    options = coll.options()
    assert (options.vector.dimension, options.vector.metric, options.vector.service.provider) \
        == (384, "cosine", "huggingface")
    assert options.as_dict() == db.get_collection("notes").options()

    result = coll.insert_many([{"_id": i, "$vectorize": t, "n": i}
                               for i, t in enumerate(TEXTS)])
    assert sorted(result.inserted_ids) == list(range(30))
    # astrapy sent the key in x-embedding-api-key: the endpoint saw the token, with 200s
    assert {q["status"] for q in endpoint.requests} == {200}

    hits = coll.find({}, sort={"$vectorize": "a sleeping cat"}, limit=5,
                     include_similarity=True).to_list()
    local = db.get_collection("notes", embedding_api_key=HF_TOKEN)
    expected = local.find({}, sort={"$vectorize": "a sleeping cat"}, limit=5,
                          include_similarity=True).to_list()
    assert hits == expected
    assert hits[0]["_id"] in (0, 3, 6, 9) and hits[0]["$similarity"] > 0.75

    # the stored vectors are the model's, read back through astrapy
    doc = coll.find_one({"_id": 1}, projection={"$vector": True})
    vector = np.array(doc["$vector"].data if isinstance(doc["$vector"], DataAPIVector)
                      else doc["$vector"], dtype=np.float32)
    model = get_provider("local").embed([TEXTS[1]], model=MODEL_NAME)[0]
    assert np.allclose(vector, model, atol=1e-5)

    coll.drop()
    coll.drop()  # dropping twice is fine (deleteCollection is idempotent)
    assert adb.list_collection_names() == [] == db.list_collection_names()


def test_cursor_pages_update_delete_count(served, adb):
    db, _ = served
    coll = adb.create_collection("many", definition=CollectionDefinition(
        vector=CollectionVectorOptions(dimension=3, metric=VectorMetric.DOT_PRODUCT)))
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((75, 3)).astype(np.float32)
    docs = [{"_id": f"d{i:02d}", "group": i % 3, "$vector": vectors[i].tolist()}
            for i in range(75)]
    coll.insert_many(docs, chunk_size=20)
    local = db.get_collection("many")

    # a cursor over more than 20 documents: astrapy follows nextPageState
    assert sorted(d["_id"] for d in coll.find({})) == sorted(d["_id"] for d in docs)
    assert len(coll.find({"group": 1}).to_list()) == 25
    query = [0.3, -0.2, 0.9]
    by_astrapy = coll.find({}, sort={"$vector": query}, limit=60,
                           include_similarity=True).to_list()
    by_local = local.find({}, sort={"$vector": query}, limit=60,
                          include_similarity=True).to_list()
    assert by_astrapy == by_local and len(by_astrapy) == 60
    assert [d["_id"] for d in by_astrapy[:5]] == [
        f"d{i:02d}" for i in np.argsort(-(vectors @ np.array(query, np.float32)))[:5]]

    assert coll.count_documents({}, upper_bound=100) == 75
    assert coll.count_documents({"group": 2}, upper_bound=100) == 25
    assert coll.estimated_document_count() == 75
    with pytest.raises(TooManyDocumentsToCountException):
        coll.count_documents({}, upper_bound=10)

    # update_many pages through nextPageState: 50 matches, 20 per call
    updated = coll.update_many({"group": {"$in": [0, 1]}}, {"$set": {"seen": True}})
    assert updated.update_info["n"] == 50 and updated.update_info["nModified"] == 50
    assert local.count_documents({"seen": True}, upper_bound=100) == 50
    one = coll.update_one({"_id": "d00"}, {"$inc": {"group": 10}})
    assert one.update_info["nModified"] == 1
    assert local.find_one({"_id": "d00"})["group"] == 10
    after = coll.find_one_and_update({"_id": "d01"}, {"$set": {"x": 1}},
                                     return_document="after", projection={"x": True})
    assert after == {"_id": "d01", "x": 1}
    assert coll.find_one_and_update({"_id": "nope"}, {"$set": {"x": 1}}) is None
    coll.replace_one({"_id": "d02"}, {"replaced": True})
    assert local.find_one({"_id": "d02"}) == {"_id": "d02", "replaced": True}

    # delete_many loops while moreData: 25 matches, 20 per call
    assert coll.delete_many({"group": 2}).deleted_count == 24  # d02 was replaced
    assert coll.delete_one({"_id": "d00"}).deleted_count == 1
    assert coll.find_one_and_delete({"_id": "d01"})["_id"] == "d01"
    assert local.count_documents({}, upper_bound=100) == 75 - 24 - 2
    assert coll.distinct("group") == local.distinct("group")
    assert coll.delete_many({}).deleted_count == -1
    assert len(local) == 0


def test_insert_many_errors_and_binary_vectors(served, adb):
    db, _ = served
    coll = adb.create_collection("v", definition=CollectionDefinition(
        vector=CollectionVectorOptions(dimension=2)))
    coll.insert_one({"_id": "a", "$vector": DataAPIVector([1.0, 0.0])})
    # astrapy sends vectors as {"$binary": base64 big-endian float32}: stored as sent
    assert db.get_collection("v").find_one({"_id": "a"}, projection={"$vector": 1})[
        "$vector"] == [1.0, 0.0]
    with pytest.raises(CollectionInsertManyException) as caught:
        coll.insert_many([{"_id": "b", "$vector": [0, 1]}, {"_id": "a"},
                          {"_id": "c", "$vector": [0.5, 0.5]}], ordered=False)
    assert sorted(caught.value.inserted_ids) == ["b", "c"]
    (error,) = caught.value.exceptions
    assert [e.error_code for e in error.error_descriptors] == ["DOCUMENT_ALREADY_EXISTS"]
    assert sorted(d["_id"] for d in db.get_collection("v").find({})) == ["a", "b", "c"]
    with pytest.raises(DataAPIResponseException) as caught:
        coll.find_one({}, sort={"$vectorize": "text"})
    assert caught.value.error_descriptors[0].error_code == "EMBEDDING_SERVICE_NOT_CONFIGURED"


def test_tables_with_vectorize(served, adb, endpoint):
    db, _ = served
    definition = (CreateTableDefinition.builder()
                  .add_column("title", ColumnType.TEXT)
                  .add_column("year", ColumnType.INT)
                  .add_column("added", ColumnType.TIMESTAMP)
                  .add_vector_column("blurb", dimension=384, service=HF_SERVICE)
                  .add_partition_by(["title"]).build())
    table = adb.create_table("books", definition=definition, embedding_api_key=HF_TOKEN)
    table.create_vector_index("books_blurb", column="blurb",
                              options=TableVectorIndexOptions(metric=VectorMetric.COSINE))
    assert adb.list_table_names() == ["books"] and table.list_index_names() == ["books_blurb"]
    assert table.definition().as_dict() == db.get_table("books").definition()

    when = dt.datetime(2024, 5, 1, 12, tzinfo=dt.timezone.utc)
    rows = [{"title": f"Book {i:02d}", "year": 1990 + i, "added": when, "blurb": TEXTS[i]}
            for i in range(24)]
    inserted = table.insert_many(rows)
    assert inserted.inserted_id_tuples == [(r["title"],) for r in rows]
    assert len(table.find({}).to_list()) == 24  # two pages

    hits = table.find({}, sort={"blurb": "markets and bonds"}, limit=4,
                      include_similarity=True, projection={"title": True}).to_list()
    local = db.get_table("books", embedding_api_key=HF_TOKEN)
    expected = local.find({}, sort={"blurb": "markets and bonds"}, limit=4,
                          include_similarity=True, projection={"title": True}).to_list()
    assert [(h["title"], h["$similarity"]) for h in hits] == [
        (e["title"], pytest.approx(e["$similarity"], abs=1e-6)) for e in expected]
    assert {h["title"] for h in hits[:2]} <= {"Book 01", "Book 04", "Book 07", "Book 10",
                                              "Book 13", "Book 16", "Book 19", "Book 22"}

    row = table.find_one({"title": "Book 03"})
    assert (row["year"], row["added"].to_datetime(tz=dt.timezone.utc)) == (1993, when)
    table.update_one({"title": "Book 03"}, {"$set": {"year": 2001}})
    assert local.find_one({"title": "Book 03"})["year"] == 2001
    table.delete_one({"title": "Book 04"})
    assert table.count_documents({}, upper_bound=100) == 23 == len(local)
    adb.drop_table_index("books_blurb")
    assert local.list_index_names() == []
    table.drop()
    assert adb.list_table_names() == [] == db.list_table_names()


def test_database_admin_keyspaces_and_providers(served, adb):
    db, _ = served
    admin = adb.get_database_admin()
    assert admin.list_keyspaces() == ["default_keyspace"]
    admin.create_keyspace("second")
    assert admin.list_keyspaces() == ["default_keyspace", "second"] == db.list_keyspaces()
    providers = admin.find_embedding_providers().embedding_providers
    hf = providers["huggingface"]
    assert hf.display_name == "Hugging Face - Serverless"
    assert sorted(m.name for m in hf.models) == [
        "BAAI/bge-base-en-v1.5", "BAAI/bge-large-en-v1.5", "BAAI/bge-small-en-v1.5",
        "intfloat/multilingual-e5-large", "intfloat/multilingual-e5-large-instruct",
        "sentence-transformers/all-MiniLM-L6-v2"]
    admin.drop_keyspace("second")
    assert db.list_keyspaces() == ["default_keyspace"]


def test_default_environment_uses_api_json_prefix(served):
    """astrapy's default (Astra) environment sends /api/json/v1/...: served too."""
    db, server = served
    adb = DataAPIClient().get_database(server.url, token="AstraCS:admin",
                                       keyspace="default_keyspace")
    adb.create_collection("via_prefix")
    assert db.list_collection_names() == ["via_prefix"]


def test_username_password_token_provider(hf_ws):
    db = hf_ws.create_database("hcd")
    b64 = base64.b64encode(b"cassandra").decode()
    with DataAPIServer(db, tokens={f"Cassandra:{b64}:{b64}": "database-administrator"}) as srv:
        adb = DataAPIClient(environment="hcd").get_database(
            srv.url, token=UsernamePasswordTokenProvider("cassandra", "cassandra"),
            keyspace="default_keyspace")
        adb.create_collection("hcd_style")
        assert db.list_collection_names() == ["hcd_style"]
        wrong = DataAPIClient(environment="hcd").get_database(
            srv.url, token=UsernamePasswordTokenProvider("cassandra", "wrong"),
            keyspace="default_keyspace")
        with pytest.raises(DataAPIHttpException) as caught:
            wrong.list_collection_names()
        assert caught.value.response.status_code == 401


def test_read_only_token_is_refused_writes(served):
    db, server = served
    db.create_collection("c")
    reader = DataAPIClient(environment="other").get_database(
        server.url, token="AstraCS:reader", keyspace="default_keyspace")
    coll = reader.get_collection("c")
    assert coll.find({}).to_list() == []
    with pytest.raises(DataAPIHttpException) as caught:
        coll.insert_one({"_id": 1})
    assert caught.value.response.status_code == 401
    assert caught.value.error_descriptors[0].error_code == "UNAUTHORIZED_ACCESS"
    with pytest.raises(DataAPIHttpException):
        reader.drop_collection("c")
    assert db.list_collection_names() == ["c"] and len(db.get_collection("c")) == 0


def test_the_multilingual_local_model_through_astrapy(served, adb):
    """A program picks the local multilingual-e5-small from the provider listing and
    searches English notes with a Spanish question."""
    e5 = "intfloat/multilingual-e5-small"
    providers = adb.get_database_admin().find_embedding_providers()
    local = providers.embedding_providers["local"]
    assert {m.name: m.vector_dimension for m in local.models} == {
        e5: 384, MODEL_NAME: 384}
    coll = adb.create_collection("multi", definition=CollectionDefinition(
        vector=CollectionVectorOptions(service=VectorServiceOptions(provider="local",
                                                                    model_name=e5))))
    assert coll.options().vector.dimension == 384
    coll.insert_many([{"_id": "pw", "$vectorize": "How to reset your password"},
                      {"_id": "ship", "$vectorize": "Shipping takes two business days"}])
    hit = coll.find_one({}, sort={"$vectorize": "¿Cómo cambio mi contraseña?"})
    assert hit["_id"] == "pw"
    stored = coll.find_one({"_id": "ship"}, projection={"$vector": True})["$vector"]
    stored = np.array(stored.data if isinstance(stored, DataAPIVector) else stored)
    expected = get_provider("local").embed(["passage: Shipping takes two business days"],
                                           model=e5)[0]
    assert np.allclose(stored, expected, atol=1e-6)
