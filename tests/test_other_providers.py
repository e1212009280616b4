"""Services of the Data API's other embedding providers (issue 15, items 6 and 7): stored and
listed as given, through the JSON entry; refused with EMBEDDING_PROVIDER_UNAVAILABLE only
when an embedding is needed, with nothing stored."""

from __future__ import annotations

import pytest

from conftest import code
from vectorize_kit.models import OTHER_PROVIDERS

OPENAI = {"provider": "openai", "modelName": "text-embedding-3-small",
          "authentication": {"providerKey": "my-key"}, "parameters": {}}


def test_a_collection_of_another_provider_is_stored_echoed_and_refuses_text(db):
    assert db.command({"createCollection": {"name": "c", "options": {
        "vector": {"service": OPENAI}}}}) == {"status": {"ok": 1}}
    [listed] = db.command({"findCollections": {"options": {"explain": True}}}
                          )["status"]["collections"]
    assert listed["options"]["vector"] == {"dimension": 1536, "metric": "cosine",
                                           "sourceModel": "other", "service": OPENAI}
    coll = db.get_collection("c")
    assert coll.command({"insertOne": {"document": {"_id": 1, "$vector": [0.5] * 1536}}}) == {
        "status": {"insertedIds": [1]}}
    for command in ({"insertOne": {"document": {"_id": 2, "$vectorize": "text"}}},
                    {"insertMany": {"documents": [{"_id": 3, "$vector": [0.5] * 1536},
                                                  {"_id": 4, "$vectorize": "text"}]}},
                    {"find": {"sort": {"$vectorize": "a query"}}},
                    {"updateOne": {"filter": {"_id": 1}, "update": {
                        "$set": {"$vectorize": "new text"}}}}):
        answer = coll.command(command)
        assert code(answer) == "EMBEDDING_PROVIDER_UNAVAILABLE", command
        assert answer["errors"][0]["family"] == "SERVER"
        assert "'openai'" in answer["errors"][0]["message"]
    # blank text needs no embedding
    assert coll.command({"insertOne": {"document": {"_id": 5, "$vectorize": ""}}}) == {
        "status": {"insertedIds": [5]}}
    assert coll.count_documents({}, upper_bound=10) == 2
    assert coll.find_one({"_id": 1}, projection={"$vector": 1})["$vector"] == [0.5] * 1536


def test_a_table_column_of_another_provider(db):
    assert db.command({"createTable": {"name": "t", "definition": {"columns": {
        "id": "text",
        "v": {"type": "vector", "service": {"provider": "huggingfaceDedicated", "parameters": {
            "endpointName": "e", "regionName": "r", "cloudName": "c"}}, "dimension": 8},
        "w": {"type": "vector", "service": {"provider": "mistral", "modelName": "mistral-embed"}},
    }, "primaryKey": "id"}}}) == {"status": {"ok": 1}}
    [table] = db.command({"listTables": {"options": {"explain": True}}})["status"]["tables"]
    assert table["definition"]["columns"]["v"] == {"type": "vector", "dimension": 8, "service": {
        "provider": "huggingfaceDedicated", "parameters": {
            "endpointName": "e", "regionName": "r", "cloudName": "c"}}}
    assert table["definition"]["columns"]["w"]["dimension"] == 1024
    t = db.get_table("t")
    assert code(t.command({"insertOne": {"document": {"id": "a", "w": "text"}}})
                ) == "EMBEDDING_PROVIDER_UNAVAILABLE"
    assert t.command({"insertOne": {"document": {"id": "a", "v": [1.0] * 8}}})[
        "status"]["insertedIds"] == [["a"]]
    assert db.command({"createTable": {"name": "t2", "definition": {"columns": {
        "id": "text", "v": {"type": "vector", "service": {"provider": "huggingfaceDedicated"}}},
        "primaryKey": "id"}}})["errors"][0]["errorCode"] == (
        "INVALID_VECTORIZE_TABLE_CONFIGURATION")


@pytest.mark.parametrize(("service", "dimension", "fragment"), [
    ({"provider": "openai", "modelName": "my-fine-tune"}, None,
     "The 'dimension' can not be left out for model 'my-fine-tune'"),
    ({"provider": "openai"}, None, "Model name 'None' for provider 'openai'"),
    ({"provider": "openai", "modelName": "text-embedding-3-small",
      "authentication": ["k"]}, None, "'authentication' of provider 'openai'"),
    ({"provider": "acme", "modelName": "m"}, 8, "Service provider 'acme' is not supported"),
])
def test_bad_services_of_other_providers(db, service, dimension, fragment):
    vector = {"service": service} | ({"dimension": dimension} if dimension else {})
    answer = db.command({"createCollection": {"name": "c", "options": {"vector": vector}}})
    assert code(answer) == "INVALID_CREATE_COLLECTION_OPTIONS"
    assert fragment in answer["errors"][0]["message"]
    assert db.list_collection_names() == []


def test_an_explicit_dimension_is_kept_for_a_model_the_catalogue_does_not_know(db):
    db.command({"createCollection": {"name": "c", "options": {"vector": {
        "dimension": 256, "service": {"provider": "openai", "modelName": "my-fine-tune"}}}}})
    assert db.get_collection("c").options()["vector"]["dimension"] == 256
    assert all(isinstance(dim, int) and dim > 0
               for models in OTHER_PROVIDERS.values() for dim in models.values())
