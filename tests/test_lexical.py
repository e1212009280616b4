"""Lexical search through the JSON entry (issue 15, item 2): analyzers, BM25 as Cassandra's
SAI scores it, the $lexical field and $hybrid shorthand, findAndRerank's options and errors,
tables' text indexes, and persistence."""

from __future__ import annotations

import math

import numpy as np
import pytest

import vectorize_kit as vk
from conftest import code
from vectorize_kit.store.lexical import LexicalIndex, analyzer

DOCS = ["monkey banana", "monkey", "biking fun", "banana bread with butter", "fun"]


@pytest.mark.parametrize(("spec", "text", "terms"), [
    ("standard", "Don't run-away: 3.14 e.g. Foo_bar 東京", [
        "don't", "run", "away", "3.14", "e.g", "foo_bar", "東", "京"]),
    ("simple", "Route 66, twice!", ["route", "twice"]),
    ("whitespace", "Case Stays as-is", ["Case", "Stays", "as-is"]),
    ("keyword", "One Token", ["One Token"]),
    ("lowercase", "One Token", ["one token"]),
    ("stop", "The tent and the pad", ["tent", "pad"]),
    ("english", "The runners' shoes", ["runner", "shoe"]),
    ({"tokenizer": {"name": "standard"},
      "filters": [{"name": "lowercase"}, {"name": "asciifolding"},
                  {"name": "englishminimalstem"}]}, "Cafés and ponies", ["cafe", "and", "pony"]),
    ({"tokenizer": {"name": "standard"}, "charFilters": [{"name": "htmlstrip"}],
      "filters": [{"name": "snowballporter", "args": {"language": "French"}}]},
     "<b>chevaux</b>", ["cheval"]),
])
def test_analyzers(spec, text, terms):
    assert analyzer(spec)(text) == terms


def test_bm25_is_lucene_formula_over_documents_holding_every_term():
    index = LexicalIndex("standard")
    texts = [*DOCS, None]  # a row without text is not indexed and not counted
    index.refresh(1, lambda: texts)
    rows, scores = index.search("banana", 10)
    assert rows.tolist() == [0, 3]
    n, avg = 5, sum(len(t.split()) for t in DOCS) / 5

    def bm25(tf, dl, df):
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return tf / (tf + 1.2 * (1 - 0.75 + 0.75 * dl / avg)) * idf

    assert scores.tolist() == pytest.approx([bm25(1, 2, 2), bm25(1, 4, 2)], rel=1e-6)
    assert index.matches("bread butter").tolist() == [False, False, False, True, False, False]
    assert index.search("banana zebra", 10)[0].tolist() == []  # an unknown term: nothing
    mask = [True, False, True, False, True, False]
    assert index.search("fun", 10, mask=np.array(mask))[0].tolist() == [4, 2]


@pytest.mark.parametrize("n", [600, 5000])  # scored with whole-corpus arrays, or postings
def test_scores_are_bm25s_own_for_the_documents_holding_every_term(n):
    """Against bm25s's get_scores on the same index, bit for bit, on random queries (with
    terms common and rare, repeated, and absent from every document)."""
    from vectorize_kit.store import lexical

    assert (n <= lexical.DENSE_DOCS) == (n == 600)
    rng = np.random.default_rng(n)
    vocab = [f"w{i}" for i in range(300)]
    p = 1 / np.arange(1, 301)
    texts = [" ".join(rng.choice(vocab, size=int(rng.integers(3, 30)), p=p / p.sum()))
             for _ in range(n)]
    index = LexicalIndex("standard")
    index.refresh(1, lambda: texts)
    held = [set(t.split()) for t in texts]
    nonempty = 0
    for _ in range(150):
        words = list(rng.choice(vocab[:60], size=int(rng.integers(1, 5))))
        if rng.random() < 0.1:
            words.append("absent")
        docs, scores = index._scored(" ".join(words))
        expected = [i for i, h in enumerate(held) if set(words) <= h]
        assert docs.tolist() == expected
        if expected:
            terms = index._query(" ".join(words))
            assert scores.tolist() == index._bm25.get_scores(terms)[expected].tolist()
            nonempty += 1
    assert nonempty > 50


@pytest.fixture
def lex(db):
    db.command({"createCollection": {"name": "lex"}})
    coll = db.get_collection("lex")
    coll.command({"insertMany": {"documents": [
        {"_id": f"lexical-{i}", "$lexical": t} for i, t in enumerate(DOCS, 1)]}})
    return coll


def _ids(envelope):
    return [d["_id"] for d in envelope["data"]["documents"]]


@pytest.mark.parametrize(("options", "expected"), [
    ({"enabled": True}, {"enabled": True, "analyzer": "standard"}),
    ({"enabled": True, "analyzer": {}}, {"enabled": True, "analyzer": "standard"}),
    ({"enabled": False, "analyzer": None}, {"enabled": False}),
    ({"enabled": True, "analyzer": "STANDARD"}, {"enabled": True, "analyzer": "STANDARD"}),
])
def test_lexical_options_echo(db, options, expected):
    assert db.command({"createCollection": {"name": "c", "options": {"lexical": options}}}) == {
        "status": {"ok": 1}}
    (listed,) = db.command({"findCollections": {"options": {"explain": True}}})[
        "status"]["collections"]
    assert listed["options"]["lexical"] == expected


@pytest.mark.parametrize(("options", "error"), [
    ({}, "INVALID_CREATE_COLLECTION_OPTIONS"),
    ({"enabled": False, "analyzer": "standard"}, "INVALID_CREATE_COLLECTION_OPTIONS"),
    ({"enabled": True, "analyzer": "unknown"}, "INVALID_CREATE_COLLECTION_OPTIONS"),
    ({"enabled": True, "analyzer": {"tokeniser": {}}}, "INVALID_CREATE_COLLECTION_OPTIONS"),
    ({"enabled": True, "analyzer": {"filters": [{"name": "nope"}]}},
     "INVALID_CREATE_COLLECTION_OPTIONS"),
    ({"enabled": True, "analyzer": 3}, "INVALID_CREATE_COLLECTION_OPTIONS"),
    ("yes", "REQUEST_STRUCTURE_MISMATCH"),
])
def test_bad_lexical_options(db, options, error):
    assert code(db.command({"createCollection": {"name": "c", "options": {
        "lexical": options}}})) == error
    assert db.command({"findCollections": {}})["status"]["collections"] == []


def test_bad_rerank_options(db):
    for rerank in ({}, {"enabled": False, "service": {"provider": "nvidia"}},
                   {"enabled": True, "service": {"provider": "cohere", "modelName": "x"}},
                   {"enabled": True, "service": {"provider": "nvidia", "modelName": "x"}}):
        assert code(db.command({"createCollection": {"name": "c", "options": {
            "rerank": rerank}}})) == "INVALID_CREATE_COLLECTION_OPTIONS"


def test_lexical_sorts_filters_and_errors(lex):
    assert _ids(lex.command({"find": {"sort": {"$lexical": "banana"}}})) == [
        "lexical-1", "lexical-4"]
    assert lex.command({"find": {"sort": {"$lexical": "banana"}}})["data"][
        "nextPageState"] is None
    assert lex.command({"findOne": {"sort": {"$lexical": "fun"}, "projection": {"*": 1}}})[
        "data"]["document"] == {"_id": "lexical-5", "$lexical": "fun"}
    assert _ids(lex.command({"find": {"filter": {"$or": [
        {"$lexical": {"$match": "biking"}}, {"$lexical": {"$match": "butter"}}]}}})) == [
        "lexical-3", "lexical-4"]
    assert lex.command({"deleteOne": {"sort": {"$lexical": "bread"}}})["status"] == {
        "deletedCount": 1}
    assert _ids(lex.command({"find": {"sort": {"$lexical": "banana"}}})) == ["lexical-1"]
    for body, error in (
            ({"sort": {"$lexical": "x", "other": 1}}, "SORT_CLAUSE_INVALID"),
            ({"sort": {"$lexical": ["x"]}}, "SORT_CLAUSE_INVALID"),
            ({"sort": {"$lexical": "x"}, "options": {"skip": 1}},
             "CANNOT_LEXICAL_SORT_WITH_SKIP_OPTION"),
            ({"filter": {"$lexical": {"$match": 1}}}, "FILTER_INVALID_EXPRESSION"),
            ({"filter": {"$lexical": {"$exists": True}}}, "FILTER_INVALID_EXPRESSION"),
            ({"filter": {"$not": {"$lexical": {"$match": "x"}}}}, "FILTER_INVALID_EXPRESSION"),
            ({"filter": {"title": {"$match": "x"}}}, "FILTER_INVALID_EXPRESSION")):
        assert code(lex.command({"find": body})) == error, body


def test_equal_bm25_scores_at_the_cut_keep_row_order(db):
    db.command({"createCollection": {"name": "ties", "options": {"lexical": {
        "enabled": True, "analyzer": "standard"}}}})
    coll = db.get_collection("ties")
    coll.command({"insertMany": {"documents": [
        {"_id": f"d{i:02}", "$lexical": "red apple"} for i in range(30)]
        + [{"_id": "best", "$lexical": "apple"}]}})
    for limit in (1, 3, 7):
        found = coll.command({"find": {"sort": {"$lexical": "apple"},
                                       "options": {"limit": limit}}})
        assert _ids(found) == ["best"] + [f"d{i:02}" for i in range(limit - 1)]


def test_terms_of_a_refused_insert_match_nothing(lex):
    """A text an insert refused leaves no term behind that a search could trip on."""
    assert _ids(lex.command({"find": {"sort": {"$lexical": "fun"}}}))  # the index is built
    long = " ".join(f"zzword{i}" for i in range(1500))
    assert code(lex.command({"insertOne": {"document": {"_id": "x", "$lexical": long}}})) == (
        "LEXICAL_CONTENT_TOO_LONG")
    assert code(lex.command({"insertOne": {"document": {"_id": "lexical-1",
                                                        "$lexical": "freshterm"}}})) == (
        "DOCUMENT_ALREADY_EXISTS")
    for text in ("zzword5", "zzword1499", "freshterm", "monkey freshterm"):
        assert _ids(lex.command({"find": {"sort": {"$lexical": text}}})) == []
        assert _ids(lex.command({"find": {"filter": {"$lexical": {"$match": text}}}})) == []
    assert _ids(lex.command({"find": {"sort": {"$lexical": "monkey"}}})) == [
        "lexical-2", "lexical-1"]


def test_lexical_field_writes(lex):
    long_text = " ".join(f"word{i}" for i in range(1500))  # > 8192 bytes of distinct terms
    for doc, error in (
            ({"$lexical": {"a": 1}}, "SHRED_BAD_DOCUMENT_LEXICAL_TYPE"),
            ({"$lexical": long_text}, "LEXICAL_CONTENT_TOO_LONG"),
            ({"$hybrid": "x", "$lexical": "y"}, "HYBRID_FIELD_CONFLICT"),
            ({"$hybrid": 3}, "HYBRID_FIELD_UNSUPPORTED_VALUE_TYPE"),
            ({"$hybrid": {"$lexical": "a", "extra": 1}}, "HYBRID_FIELD_UNKNOWN_SUBFIELDS"),
            ({"$hybrid": {"$lexical": 1}}, "HYBRID_FIELD_UNSUPPORTED_SUBFIELD_VALUE_TYPE"),
            ({"sub": {"$lexical": "x"}}, "SHRED_BAD_FIELD_NAME")):
        assert code(lex.command({"insertOne": {"document": doc}})) == error, doc
    assert lex.command({"insertOne": {"document": {"_id": "words", "$lexical": " ".join(
        ["word"] * 3000)}}})["status"] == {"insertedIds": ["words"]}  # repeats count once
    lex.command({"insertOne": {"document": {"_id": "h", "$hybrid": {"$lexical": "kiwi"}}}})
    assert lex.command({"findOne": {"filter": {"_id": "h"}, "projection": {"*": 1}}})["data"][
        "document"] == {"_id": "h", "$lexical": "kiwi"}
    assert code(lex.command({"findOneAndReplace": {"filter": {"_id": "h"}, "replacement": {
        "$hybrid": "x"}}})) == "SHRED_BAD_FIELD_NAME"
    assert code(lex.command({"updateOne": {"filter": {"_id": "h"}, "update": {
        "$set": {"$lexical": 5}}}})) == "SHRED_BAD_DOCUMENT_LEXICAL_TYPE"
    lex.command({"updateOne": {"filter": {"_id": "h"}, "update": {"$set": {"$lexical": None}}}})
    assert _ids(lex.command({"find": {"sort": {"$lexical": "kiwi"}}})) == []


def test_lexical_search_survives_reopening(tmp_path):
    ws = vk.Workspace(tmp_path)
    db = ws.create_database("d")
    db.command({"createCollection": {"name": "c", "options": {"lexical": {
        "enabled": True, "analyzer": "english"}}}})
    db.get_collection("c").command({"insertMany": {"documents": [
        {"_id": 1, "$lexical": "Running shoes"}, {"_id": 2, "$lexical": "A tent"}]}})
    db.command({"createTable": {"name": "t", "definition": {
        "columns": {"id": "int", "body": "text"}, "primaryKey": "id"}}})
    table = db.get_table("t")
    table.command({"createTextIndex": {"name": "body_idx", "definition": {"column": "body"}}})
    table.command({"insertOne": {"document": {"id": 1, "body": "trail shoes"}}})
    ws.close()
    ws = vk.Workspace(tmp_path)
    db = ws.get_database("d")
    assert _ids(db.get_collection("c").command({"find": {"sort": {"$lexical": "run"}}})) == [1]
    found = db.get_table("t").command({"find": {"filter": {"body": {"$match": "shoes"}}}})
    assert found["data"]["documents"] == [{"id": 1, "body": "trail shoes"}]
    ws.close()


@pytest.fixture
def hybrid(db):
    db.command({"createCollection": {"name": "h", "options": {"vector": {"dimension": 2}}}})
    coll = db.get_collection("h")
    coll.command({"insertMany": {"documents": [
        {"_id": "a", "$vector": [1, 0], "$lexical": "red apple", "text": "red apple"},
        {"_id": "b", "$vector": [0, 1], "$lexical": "green pear", "text": "green pear"},
        {"_id": "c", "$vector": [1, 1], "$lexical": "red wine", "text": {"not": "text"}}]}})
    return coll


def test_find_and_rerank_response_shape(hybrid):
    answer = hybrid.command({"findAndRerank": {
        "filter": {"_id": {"$in": ["a", "b"]}},
        "sort": {"$hybrid": {"$vector": [1, 0], "$lexical": "red"}},
        "options": {"rerankQuery": "apple", "rerankOn": "text"}}})
    assert set(answer) == {"data"}  # no status without includeScores / includeSortVector
    assert _ids(answer) == ["a", "b"] and answer["data"]["nextPageState"] is None
    scores = hybrid.command({"findAndRerank": {
        "filter": {"_id": {"$in": ["a", "b"]}},
        "sort": {"$hybrid": {"$vector": [1, 0], "$lexical": "red"}},
        "options": {"rerankQuery": "apple", "rerankOn": "text", "includeScores": True,
                    "limit": 1}}})["status"]["documentResponses"]
    assert scores == [{"scores": {
        "$rerank": pytest.approx(scores[0]["scores"]["$rerank"]), "$vector": 1.0,
        "$vectorRank": 1, "$bm25Rank": 1, "$rrf": pytest.approx(2 / 61)}}]


def test_find_and_rerank_ties_go_by_fused_rank_then_id(db):
    """Candidates reranked on the same text score the same: the best fused rank ($rrf)
    comes first, and where that ties too, the smaller _id."""
    db.command({"createCollection": {"name": "t", "options": {"vector": {"dimension": 2}}}})
    coll = db.get_collection("t")
    coll.command({"insertMany": {"documents": [
        {"_id": "p", "$vector": [1, 0], "$lexical": "red", "text": "same words"},
        {"_id": "q", "$vector": [0, 1], "$lexical": "blue", "text": "same words"},
        {"_id": "r", "$vector": [1, 0.5], "$lexical": "green", "text": "same words"}]}})

    def ranked(sort, **options):
        out = coll.command({"findAndRerank": {"sort": {"$hybrid": sort}, "options": {
            "rerankQuery": "words", "rerankOn": "text", "includeScores": True, **options}}})
        scores = [s["scores"] for s in out["status"]["documentResponses"]]
        assert len({s["$rerank"] for s in scores}) == 1
        return _ids(out), [s["$rrf"] for s in scores]

    # p: vector rank 1 and bm25 rank 1; r: vector rank 2; q: vector rank 3
    assert ranked({"$vector": [1, 0], "$lexical": "red"}) == (
        ["p", "r", "q"], [pytest.approx(2 / 61), pytest.approx(1 / 62), pytest.approx(1 / 63)])
    # q found by the vector read only, p by the lexical read only: the same $rrf, so by _id
    assert ranked({"$vector": [0, 1], "$lexical": "red"}, hybridLimits=1) == (
        ["p", "q"], [pytest.approx(1 / 61)] * 2)


def test_find_and_rerank_reads_passages_as_they_are_now(hybrid):
    """Passages follow every write, on the first read after it and on the reads after."""
    body = {"findAndRerank": {"filter": {"_id": {"$in": ["a", "b"]}},
                              "sort": {"$hybrid": {"$vector": [1, 0], "$lexical": "red"}},
                              "options": {"rerankQuery": "apple", "rerankOn": "text",
                                          "includeScores": True}}}

    def reranks():
        out = hybrid.command(body)
        return dict(zip(_ids(out), (s["scores"]["$rerank"]
                                    for s in out["status"]["documentResponses"])))

    before = [reranks() for _ in range(3)]
    assert before[0] == before[1] == before[2] and set(before[0]) == {"a", "b"}
    hybrid.command({"updateOne": {"filter": {"_id": "b"}, "update": {"$set": {"text": None}}}})
    assert [set(reranks()) for _ in range(3)] == [{"a"}] * 3  # b has no passage now
    hybrid.command({"updateOne": {"filter": {"_id": "b"},
                                  "update": {"$set": {"text": {"not": "text"}}}}})
    assert [code(hybrid.command(body)) for _ in range(3)] == ["COMMAND_FIELD_VALUE_INVALID"] * 3
    hybrid.command({"updateOne": {"filter": {"_id": "b"},
                                  "update": {"$set": {"text": "red apple"}}}})
    after = [reranks() for _ in range(3)]
    assert after[0] == after[1] == after[2]
    assert after[0]["b"] == after[0]["a"]  # the same text now: the same score


@pytest.mark.parametrize(("body", "error"), [
    ({"sort": {"$lexical": "x"}}, "REQUEST_STRUCTURE_MISMATCH"),
    ({"sort": {"$hybrid": 3}}, "REQUEST_STRUCTURE_MISMATCH"),
    ({"sort": {"$hybrid": {"$vectorise": "x"}}}, "REQUEST_STRUCTURE_MISMATCH"),
    ({"sort": {"$hybrid": "x"}, "options": {"hybridLimits": 0}}, "COMMAND_FIELD_VALUE_INVALID"),
    ({"sort": {"$hybrid": "x"}, "options": {"hybridLimits": {"$vector": 5}}},
     "REQUEST_STRUCTURE_MISMATCH"),
    ({"sort": {"$hybrid": "x"}, "options": {"skip": 1}}, "COMMAND_FIELD_UNKNOWN"),
    ({"sort": {"$hybrid": "x"}, "options": {"limit": 0}}, "COMMAND_FIELD_VALUE_INVALID"),
    ({"sort": {"$hybrid": "x"}}, "UNSUPPORTED_VECTORIZE_SORT_FOR_COLLECTION"),
    ({"sort": {"$hybrid": {"$vector": [1, 0]}}}, "MISSING_RERANK_QUERY_TEXT"),
    ({"sort": {"$hybrid": {"$vector": [1, 0]}}, "options": {"rerankQuery": "q"}},
     "MISSING_RERANK_ON"),
    ({"sort": {"$hybrid": {"$vector": [1, 0, 0]}},
      "options": {"rerankQuery": "q", "rerankOn": "text"}}, "INVALID_VECTOR_LENGTH"),
    ({"sort": {"$hybrid": {"$lexical": "red"}}, "options": {"rerankQuery": "q",
                                                           "rerankOn": "text"}},
     "COMMAND_FIELD_VALUE_INVALID"),  # "c" holds an object at rerankOn
    ({"sort": {"$hybrid": {"$lexical": "x"}}, "options": {
        "rerankQuery": "q", "rerankOn": "text", "rerank": {"provider": "nvidia",
                                                          "modelName": "nope"}}},
     "INVALID_RERANK_OVERRIDE"),
    ({"sort": {"$hybrid": {"$lexical": "x"}}, "projection": {"$similarity": 1},
      "options": {"rerankQuery": "q", "rerankOn": "text"}}, "UNSUPPORTED_PROJECTION_PARAM"),
])
def test_find_and_rerank_errors(hybrid, body, error):
    assert code(hybrid.command({"findAndRerank": body})) == error


def test_find_and_rerank_needs_rerank_and_is_collection_only(db):
    db.command({"createCollection": {"name": "norerank", "options": {
        "vector": {"dimension": 2}, "rerank": {"enabled": False}}}})
    coll = db.get_collection("norerank")
    body = {"sort": {"$hybrid": {"$vector": [1, 0]}},
            "options": {"rerankQuery": "q", "rerankOn": "t"}}
    assert code(coll.command({"findAndRerank": body})) == "UNSUPPORTED_RERANKING_COMMAND"
    body["options"]["rerank"] = {"provider": "nvidia",
                                 "modelName": "nvidia/llama-3.2-nv-rerankqa-1b-v2"}
    assert coll.command({"findAndRerank": body}) == {
        "data": {"documents": [], "nextPageState": None}}
    db.command({"createTable": {"name": "t", "definition": {
        "columns": {"id": "int"}, "primaryKey": "id"}}})
    assert code(db.get_table("t").command({"findAndRerank": {}})) == "UNSUPPORTED_TABLE_COMMAND"


def test_table_text_index_errors_and_listing(db):
    db.command({"createTable": {"name": "t", "definition": {
        "columns": {"id": "int", "body": "text", "tags": {"type": "set", "valueType": "text"}},
        "primaryKey": "id"}}})
    table = db.get_table("t")
    for body, error in (
            ({"name": "i", "definition": {"column": "tags"}},
             "UNSUPPORTED_TEXT_INDEX_FOR_DATA_TYPES"),
            ({"name": "i", "definition": {"column": "nope"}}, "UNKNOWN_INDEX_COLUMN"),
            ({"name": "i", "definition": {"column": "body", "options": {"analyzer": "zz"}}},
             "INVALID_INDEX_DEFINITION"),
            ({"name": "i", "definition": {"column": "body"}, "indexType": "vector"},
             "UNSUPPORTED_INDEX_TYPE")):
        assert code(table.command({"createTextIndex": body})) == error, body
    custom = {"tokenizer": {"name": "whitespace"}, "filters": [{"name": "lowercase"}]}
    assert table.command({"createTextIndex": {"name": "i", "definition": {
        "column": "body", "options": {"analyzer": custom}}}}) == {"status": {"ok": 1}}
    assert code(table.command({"createTextIndex": {"name": "i", "definition": {
        "column": "body"}}})) == "CANNOT_ADD_EXISTING_INDEX"
    assert table.command({"listIndexes": {"options": {"explain": True}}})["status"] == {
        "indexes": [{"name": "i", "definition": {"column": "body", "options": {
            "analyzer": custom}}, "indexType": "text"}]}
    table.command({"insertMany": {"documents": [{"id": 1, "body": "Trail-Shoes here"},
                                                {"id": 2, "body": "trail-shoes"}]}})
    found = table.command({"find": {"sort": {"body": "TRAIL-SHOES"}}})
    assert [r["id"] for r in found["data"]["documents"]] == [2, 1]
    assert "projectionSchema" in found["status"]
    assert code(table.command({"find": {"sort": {"body": "x", "id": 1}}})) == (
        "CANNOT_SORT_ON_SPECIAL_WITH_OTHERS")
    db.command({"dropIndex": {"name": "i"}})
    assert code(table.command({"find": {"sort": {"body": "x"}}})) == (
        "CANNOT_LEXICAL_SORT_NON_INDEXED_COLUMNS")


def test_python_api_find_and_rerank_and_text_index(db, hybrid):
    hits = hybrid.find_and_rerank(sort={"$hybrid": {"$vector": [1, 0], "$lexical": "red"}},
                                  filter={"_id": {"$in": ["a", "b"]}}, rerank_query="apple",
                                  rerank_on="text", include_scores=True, limit=2)
    assert [h.document["_id"] for h in hits] == ["a", "b"]
    assert hits[0].scores["$bm25Rank"] == 1 and hits[1].scores["$bm25Rank"] is None
    plain = hybrid.find_and_rerank(sort={"$hybrid": {"$lexical": "green"}},
                                   rerank_query="pear", rerank_on="text")
    assert [(h.document["_id"], h.scores) for h in plain] == [("b", {})]
    table = db.create_table("notes", definition={"columns": {"id": "int", "body": "text"},
                                                 "primaryKey": "id"})
    table.create_text_index("body_idx", "body", analyzer="english")
    table.insert_many([{"id": 1, "body": "Running late"}, {"id": 2, "body": "A tent"}])
    assert [r["id"] for r in table.find({"body": {"$match": "runs"}})] == [1]
    assert table.list_indexes()[0]["definition"]["options"] == {"analyzer": "english"}


def test_rerank_on_vectorize_uses_the_models_own_embeddings(db):
    """A collection vectorized by the reranking model, reranked on $vectorize (its stored
    vectors), scores exactly as reranking on a plain field holding the same texts (embedded
    by the model), and as the model's cosine computed here."""
    from vectorize_kit.embedding import get_provider
    from vectorize_kit.embedding.local import MODEL_NAME

    texts = ["red apples are sweet", "green pears are crisp", "red wine from France",
             "apple pie with cinnamon"]
    db.command({"createCollection": {"name": "v", "options": {"vector": {"service": {
        "provider": "local", "modelName": MODEL_NAME}}}}})
    coll = db.get_collection("v")
    coll.command({"insertMany": {"documents": [
        {"_id": i, "$hybrid": t, "text": t} for i, t in enumerate(texts)]}})

    def scores(rerank_on):
        out = coll.command({"findAndRerank": {"sort": {"$hybrid": "red apple"}, "options": {
            "rerankOn": rerank_on, "includeScores": True}}})
        return _ids(out), [s["scores"]["$rerank"] for s in out["status"]["documentResponses"]]

    by_stored, by_text = scores("$vectorize"), scores("text")
    assert by_stored == by_text
    model = get_provider("local")
    q = model.embed(["red apple"], model=MODEL_NAME, kind="query")[0]
    docs = model.embed([texts[i] for i in by_stored[0]], model=MODEL_NAME)
    assert by_stored[1] == pytest.approx((docs @ q).tolist(), abs=1e-6)
