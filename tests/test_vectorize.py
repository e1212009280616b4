"""$vectorize in collections with the local provider (the real MiniLM model on onnxruntime)."""

from __future__ import annotations

import numpy as np
import pytest

import vectorize_kit as vk
from conftest import code
from vectorize_kit.models import PROVIDERS

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
LOCAL = {"provider": "local", "modelName": MINILM}
TEXTS = ["The cat sat on the mat.", "A kitten is sleeping on a rug.",
         "Stock markets fell sharply today.", "The central bank raised interest rates."]


@pytest.fixture
def notes(db):
    coll = db.create_collection("notes", service=LOCAL)
    coll.insert_many([{"_id": i, "$vectorize": t} for i, t in enumerate(TEXTS)])
    return coll


@pytest.fixture
def header_only(ws, db):
    """A huggingface collection with no credential: any provider call fails at once."""
    return db.create_collection("hf", service={"provider": "huggingface", "modelName": MINILM})


def test_local_service_fills_the_dimension(notes):
    assert notes.options()["vector"] == {"dimension": 384, "metric": "cosine",
                                         "sourceModel": "other", "service": LOCAL}


def test_insert_embeds_and_stores_the_text(notes):
    doc = notes.find_one({"_id": 0}, projection={"*": 1})
    assert doc["$vectorize"] == TEXTS[0]
    vec = np.array(doc["$vector"])
    assert vec.shape == (384,) and abs(np.linalg.norm(vec) - 1) < 1e-4
    assert notes.find_one({"_id": 0}) == {"_id": 0}  # neither is returned unless projected
    assert notes.find_one({"_id": 0}, projection={"$vectorize": 1}) == {
        "_id": 0, "$vectorize": TEXTS[0]}
    assert notes.count_documents({"$vectorize": {"$exists": True}}, upper_bound=10) == 4


def test_vectorize_search_ranks_by_meaning(notes):
    hits = notes.find({}, sort={"$vectorize": "a small cat resting"}, limit=4,
                      include_similarity=True).to_list()
    assert [h["_id"] for h in hits[:2]] in ([0, 1], [1, 0])
    assert hits[1]["$similarity"] > hits[2]["$similarity"] + 0.1
    money = notes.find_one({}, sort={"$vectorize": "finance and the economy"})
    assert money["_id"] in (2, 3)


def test_same_text_same_vector_as_search_query(notes):
    doc = notes.find_one({}, sort={"$vectorize": TEXTS[2]}, include_similarity=True)
    assert doc["_id"] == 2 and doc["$similarity"] == pytest.approx(1.0, abs=1e-5)


def test_set_vectorize_re_embeds(notes):
    before = notes.find_one({"_id": 0}, projection={"$vector": 1})["$vector"]
    env = notes.command({"updateOne": {"filter": {"_id": 0},
                                       "update": {"$set": {"$vectorize": TEXTS[0]}}}})
    assert env == {"status": {"matchedCount": 1, "modifiedCount": 0}}  # same text
    notes.update_one({"_id": 0}, {"$set": {"$vectorize": TEXTS[2]}})
    after = notes.find_one({"_id": 0}, projection={"*": 1})
    assert after["$vectorize"] == TEXTS[2]
    twin = notes.find_one({"_id": 2}, projection={"$vector": 1})["$vector"]
    assert np.allclose(after["$vector"], twin, atol=1e-6) and not np.allclose(before, twin)
    notes.update_one({"_id": 0}, {"$unset": {"$vectorize": ""}})
    assert notes.find_one({"_id": 0}, projection={"*": 1}) == {"_id": 0}


def test_vectorize_rules(notes):
    cases = [({"$vectorize": "x", "$vector": [0.1] * 384}, "INVALID_USAGE_OF_VECTORIZE"),
             ({"$vectorize": 12}, "INVALID_VECTORIZE_VALUE_TYPE"),
             ({"$vectorize": ["a"]}, "INVALID_VECTORIZE_VALUE_TYPE")]
    for doc, expected in cases:
        assert code(notes.command({"insertOne": {"document": doc}})) == expected
    env = notes.command({"insertOne": {"document": {"$vectorize": ["a"]}}})
    assert "needs to be String, not Array" in env["errors"][0]["message"]
    assert len(notes) == 4


def test_null_or_blank_text_calls_no_model(header_only):
    # any call to the provider would fail: these succeed, so none was made
    env = header_only.command({"insertMany": {"documents": [
        {"_id": 1, "$vectorize": None}, {"_id": 2, "$vectorize": "   "}, {"_id": 3}]}})
    assert env == {"status": {"insertedIds": [1, 2, 3]}}
    assert header_only.find_one({"_id": 2}, projection={"*": 1}) == {"_id": 2,
                                                                     "$vectorize": "   "}


def test_a_failed_embedding_fails_the_whole_insert(header_only):
    env = header_only.command({"insertMany": {"documents": [
        {"_id": 1, "plain": True}, {"_id": 2, "$vectorize": "needs the provider"}]}})
    assert code(env) == "EMBEDDING_PROVIDER_AUTHENTICATION_KEYS_NOT_PROVIDED"
    assert "status" not in env and len(header_only) == 0
    with pytest.raises(vk.InsertManyError) as info:
        header_only.insert_many([{"_id": 1}, {"_id": 2, "$vectorize": "x"}])
    assert info.value.inserted_ids == [] and len(header_only) == 0


def test_query_prefixes_come_from_the_catalogue():
    hf = PROVIDERS["huggingface"]
    assert hf.model("BAAI/bge-small-en-v1.5").query_prefix == (
        "Represent this sentence for searching relevant passages: ")
    assert hf.model("intfloat/multilingual-e5-large").query_prefix == "query: "
    assert hf.model("intfloat/multilingual-e5-large").passage_prefix == "passage: "
    assert hf.model(MINILM).query_prefix == ""


def test_vectorize_survives_reopen(tmp_path):
    with vk.Workspace(tmp_path / "ws") as ws:
        coll = ws.create_database("d").create_collection("c", service=LOCAL)
        coll.insert_one({"_id": 1, "$vectorize": TEXTS[1]})
    with vk.Workspace(tmp_path / "ws") as ws:
        coll = ws.get_database("d").get_collection("c")
        assert coll.find_one({}, sort={"$vectorize": "kitten"}, projection={"$vectorize": 1}) \
            == {"_id": 1, "$vectorize": TEXTS[1]}
