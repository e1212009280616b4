"""Texts over the model's token limit: warnings, the error policy, chunking (seed 002)."""

from __future__ import annotations

import warnings

import pytest

import vectorize_kit as vk
from conftest import code
from vectorize_kit.embedding.tokens import chunk_text, count_tokens
from vectorize_kit.models import PROVIDERS

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
MODEL = PROVIDERS["local"].model(MINILM)
WORDS = ("river mountain forest valley ocean desert island meadow glacier canyon "
         "harbor village castle bridge tower garden orchard vineyard lighthouse cliff").split()
LONG = " ".join(WORDS[i % len(WORDS)] for i in range(600))  # 602 tokens with [CLS]/[SEP]


@pytest.fixture
def notes(db):
    return db.create_collection("notes", service={"provider": "local", "modelName": MINILM})


def test_counts_are_exact_for_bert_vocabulary_models():
    assert count_tokens(["hello world", LONG], MODEL) == ([4, 602], True)
    bge = PROVIDERS["huggingface"].model("BAAI/bge-small-en-v1.5")
    assert count_tokens(["hello world"], bge) == ([4], True)
    e5 = PROVIDERS["huggingface"].model("intfloat/multilingual-e5-large")
    counts, exact = count_tokens(["x" * 300], e5)
    assert exact is False and counts == [102]


def test_one_warning_per_call_lists_the_documents(notes):
    docs = [{"_id": i, "$vectorize": "short text"} for i in range(150)]
    docs[3]["$vectorize"] = LONG
    docs[120]["$vectorize"] = LONG + " extra words here"
    with pytest.warns(vk.TokenLimitWarning) as record:
        notes.insert_many(docs, progress=False)
    assert len(record) == 1  # two chunks of insertMany commands, one warning
    warning = record[0].message
    assert warning.items == [("_id 3", 602), ("_id 120", 605)]
    text = str(warning)
    assert "2 $vectorize text(s) are longer than the 256-token limit of " + MINILM in text
    assert "(exact counts)" in text and "first 256 tokens" in text and "long_text='chunk'" in text
    assert len(notes) == 150  # truncated, not refused
    head = " ".join(LONG.split()[:200])  # the model sees only the first 254 word pieces
    hit = notes.find_one({}, sort={"$vectorize": head}, include_similarity=True)
    assert hit["_id"] in (3, 120) and hit["$similarity"] > 0.95


def test_the_error_policy_refuses_before_sending(notes):
    with pytest.raises(vk.InsertManyError) as info:
        notes.insert_many([{"_id": 1, "$vectorize": "fine"}, {"_id": 2, "$vectorize": LONG}],
                          long_text="error")
    assert info.value.error_code == "VECTORIZE_TEXT_TOO_LONG"
    assert "_id 2 (602 tokens)" in info.value.message and len(notes) == 0
    env = notes.command({"insertOne": {"document": {"$vectorize": LONG}}}, long_text="error")
    assert code(env) == "VECTORIZE_TEXT_TOO_LONG"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning is left over in error mode
        notes.insert_one({"_id": 3, "$vectorize": "fine"}, long_text="error")


def test_chunking_stores_limit_sized_pieces(notes):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is truncated, so nothing to warn about
        result = notes.insert_many([{"_id": "doc", "topic": "geo", "$vectorize": LONG},
                                    {"_id": "small", "$vectorize": "a short note"}],
                                   long_text="chunk")
    assert result.inserted_ids == ["doc#0", "doc#1", "doc#2", "small"]
    chunks = notes.find({"parent_id": "doc"}, sort={"chunk_index": 1},
                        projection={"*": 1}).to_list()
    assert [(c["chunk_index"], c["chunk_count"], c["topic"]) for c in chunks] == [
        (0, 3, "geo"), (1, 3, "geo"), (2, 3, "geo")]
    texts = [c["$vectorize"] for c in chunks]
    assert count_tokens(texts, MODEL)[0] == [256, 256, 94]
    assert " ".join(texts).split() == LONG.split()
    assert notes.find_one({"_id": "small"}) == {"_id": "small"}


def test_chunks_overlap_when_asked(notes):
    policy = vk.LongTextPolicy("chunk", overlap=20, max_tokens=128)
    notes.insert_one({"_id": "doc", "$vectorize": LONG}, long_text=policy)
    texts = [c["$vectorize"] for c in notes.find({}, sort={"chunk_index": 1},
                                                 projection={"$vectorize": 1})]
    assert all(n <= 128 for n in count_tokens(texts, MODEL)[0])
    first, second = texts[0].split(), texts[1].split()
    assert first[-20:] == second[:20]
    assert chunk_text("short", MODEL) == ["short"]


def test_a_long_search_text_warns(notes):
    notes.insert_one({"_id": 1, "$vectorize": "mountains"})
    with pytest.warns(vk.TokenLimitWarning, match="the search text \\(602 tokens\\)"):
        notes.find_one({}, sort={"$vectorize": LONG})


def test_estimated_counts_say_so(ws, db):
    e5 = db.create_collection("e5", service={"provider": "huggingface",
                                             "modelName": "intfloat/multilingual-e5-large"})
    with pytest.warns(vk.TokenLimitWarning, match="estimated counts"):
        env = e5.command({"insertOne": {"document": {"$vectorize": "x" * 2000}}})
    assert code(env) == "EMBEDDING_PROVIDER_AUTHENTICATION_KEYS_NOT_PROVIDED"


def test_bad_policy(notes):
    with pytest.raises(vk.DataAPIError) as info:
        notes.insert_one({"$vectorize": "x"}, long_text="shorten")
    assert info.value.error_code == "COMMAND_FIELD_VALUE_INVALID"
