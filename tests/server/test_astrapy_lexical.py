"""astrapy 2.x (sync API) doing lexical and hybrid search against ``vectorize-kit serve``
(issue 15, item 2): collections with ``lexical``, ``$lexical`` sorts and ``$match`` filters,
``find_and_rerank`` with ``$hybrid`` sorts, reranking providers, and tables' text indexes."""

from __future__ import annotations

import pytest
from astrapy import DataAPIClient
from astrapy.exceptions import DataAPIResponseException
from astrapy.info import (
    CollectionDefinition,
    CollectionLexicalOptions,
    CollectionVectorOptions,
    CreateTableDefinition,
    TableTextIndexOptions,
    VectorServiceOptions,
)

from vectorize_kit.server import DataAPIServer

TOKEN = "AstraCS:lexical-admin"
DOCS = ["monkey banana", "monkey", "biking fun", "banana bread with butter", "fun"]


@pytest.fixture(scope="module")
def served():
    import vectorize_kit as vk

    ws = vk.Workspace()
    db = ws.create_database("lexical")
    with DataAPIServer(db, tokens={TOKEN: "database-administrator"}) as server:
        yield db, server
    ws.close()


@pytest.fixture
def adb(served):
    db, server = served
    yield DataAPIClient(environment="other").get_database(
        server.url, token=TOKEN, keyspace="default_keyspace")
    for name in db.list_table_names():
        db.drop_table(name)
    for name in db.list_collection_names():
        db.drop_collection(name)


def error_code(caught) -> str:
    return caught.value.error_descriptors[0].error_code


def test_lexical_sort_and_match_filter(adb):
    coll = adb.create_collection("lex")
    coll.insert_many([{"_id": f"lexical-{i}", "$lexical": t, "tag": "bottom" if i % 2 else "top"}
                      for i, t in enumerate(DOCS, 1)])
    # only the documents holding every term, best BM25 first; $lexical left out by default
    assert [d["_id"] for d in coll.find(sort={"$lexical": "banana"})] == [
        "lexical-1", "lexical-4"]
    assert coll.find_one(sort={"$lexical": "monkey banana"})["_id"] == "lexical-1"
    assert coll.find_one({"_id": "lexical-3"}) == {"_id": "lexical-3", "tag": "bottom"}
    assert coll.find_one({"_id": "lexical-3"}, projection={"$lexical": 1, "tag": 1}) == {
        "_id": "lexical-3", "tag": "bottom", "$lexical": "biking fun"}
    found = coll.find({"$lexical": {"$match": "bread butter"}}).to_list()
    assert [d["_id"] for d in found] == ["lexical-4"]
    both = coll.find({"$and": [{"$lexical": {"$match": "banana"}}, {"tag": "bottom"}]})
    assert [d["_id"] for d in both] == ["lexical-1"]
    # an update changes the ranking: "monkey monkey monkey" beats "monkey banana"
    coll.update_one({"_id": "lexical-2"}, {"$set": {"$lexical": "monkey monkey monkey"}})
    assert [d["_id"] for d in coll.find(sort={"$lexical": "monkey"})] == [
        "lexical-2", "lexical-1"]
    coll.update_one({"_id": "lexical-2"}, {"$unset": {"$lexical": ""}})
    assert [d["_id"] for d in coll.find(sort={"$lexical": "monkey"})] == ["lexical-1"]
    with pytest.raises(DataAPIResponseException) as caught:
        coll.update_one({"_id": "lexical-1"}, {"$push": {"$lexical": "x"}})
    assert error_code(caught) == "UNSUPPORTED_UPDATE_OPERATOR_FOR_LEXICAL"
    with pytest.raises(DataAPIResponseException) as caught:
        coll.find_one({"$lexical": "cheese"})
    assert error_code(caught) == "FILTER_INVALID_EXPRESSION"


def test_lexical_options_are_checked_echoed_and_enforced(adb):
    custom = {"tokenizer": {"name": "standard"},
              "filters": [{"name": "lowercase"}, {"name": "stop"}, {"name": "porterstem"}]}
    coll = adb.create_collection("stemmed", definition=CollectionDefinition(
        lexical=CollectionLexicalOptions(analyzer=custom)))
    listed = {c.name: c.definition for c in adb.list_collections()}
    assert listed["stemmed"].lexical.analyzer == custom
    coll.insert_one({"_id": 1, "$lexical": "The runners were running"})
    assert coll.find_one(sort={"$lexical": "run"})["_id"] == 1  # stemmed on both sides
    off = adb.create_collection("off", definition=CollectionDefinition(
        lexical=CollectionLexicalOptions(enabled=False)))
    assert {c.name: c.definition for c in adb.list_collections()}["off"].lexical.enabled is False
    for call in (lambda: off.insert_one({"$lexical": "x"}),
                 lambda: off.find_one(sort={"$lexical": "x"}),
                 lambda: off.find_one({"$lexical": {"$match": "x"}})):
        with pytest.raises(DataAPIResponseException) as caught:
            call()
        assert error_code(caught) == "LEXICAL_NOT_ENABLED_FOR_COLLECTION"
    with pytest.raises(DataAPIResponseException) as caught:
        adb.create_collection("bad", definition=CollectionDefinition(
            lexical=CollectionLexicalOptions(analyzer="no-such-analyzer")))
    assert error_code(caught) == "INVALID_CREATE_COLLECTION_OPTIONS"
    with pytest.raises(DataAPIResponseException) as caught:
        coll.insert_one({"$lexical": 3})
    assert error_code(caught) == "SHRED_BAD_DOCUMENT_LEXICAL_TYPE"
    assert coll.count_documents({}, upper_bound=10) == 1  # nothing else stored


def test_find_and_rerank_with_vectors_and_lexical(adb):
    coll = adb.create_collection("hyb", definition=CollectionDefinition(
        vector=CollectionVectorOptions(dimension=2, metric="cosine")))
    coll.insert_many([
        {"_id": "a", "$vector": [1.0, 0.0], "$lexical": "red apple", "text": "a red apple"},
        {"_id": "b", "$vector": [0.9, 0.1], "$lexical": "green pear", "text": "a green pear"},
        {"_id": "c", "$vector": [0.0, 1.0], "$lexical": "red cherry", "text": "red cherries"},
        {"_id": "d", "$vector": [0.7, 0.7], "text": "no lexical at all"},
    ])
    hits = coll.find_and_rerank(
        sort={"$hybrid": {"$vector": [1.0, 0.0], "$lexical": "red"}}, limit=10,
        rerank_query="a red fruit", rerank_on="text", include_scores=True,
        hybrid_limits={"$vector": 2, "$lexical": 5}).to_list()
    by_id = {h.document["_id"]: h.scores for h in hits}
    assert set(by_id) == {"a", "b", "c"}  # vector top 2 (a, b) + lexical "red" (a, c)
    assert by_id["a"]["$vectorRank"] == 1 and by_id["a"]["$bm25Rank"] in (1, 2)
    assert by_id["b"]["$bm25Rank"] is None and by_id["b"]["$vectorRank"] == 2
    assert by_id["c"]["$vectorRank"] is None and by_id["c"]["$vector"] == -2147483648
    assert by_id["a"]["$rrf"] == pytest.approx(1 / 61 + 1 / (60 + by_id["a"]["$bm25Rank"]))
    reranks = [h.scores["$rerank"] for h in hits]
    assert reranks == sorted(reranks, reverse=True)
    assert all("$vector" not in h.document for h in hits)
    cursor = coll.find_and_rerank(sort={"$hybrid": {"$vector": [0.0, 1.0], "$lexical": "red"}},
                                  rerank_query="cherry", rerank_on="text",
                                  include_sort_vector=True, limit=1)
    assert list(cursor.get_sort_vector()) == [0.0, 1.0]
    assert [h.document["_id"] for h in cursor] == ["c"]
    with pytest.raises(DataAPIResponseException) as caught:
        coll.find_and_rerank(sort={"$hybrid": {"$vector": [1.0, 0.0]}}).to_list()
    assert error_code(caught) == "MISSING_RERANK_QUERY_TEXT"


def test_equal_scores_are_ordered_by_the_rules(adb):
    """Through astrapy: equal vector or BM25 scores at the limit keep insertion order, and
    findAndRerank candidates with the same passage go by $rrf, then _id."""
    coll = adb.create_collection("ties", definition=CollectionDefinition(
        vector=CollectionVectorOptions(dimension=2, metric="cosine")))
    coll.insert_many([{"_id": f"t{i:02}", "$vector": [1.0, 1.0], "$lexical": "same words",
                       "text": "same words"} for i in range(40)]
                     + [{"_id": "z", "$vector": [0.0, 1.0], "$lexical": "other",
                         "text": "same words"}])
    for limit in (1, 5, 7, 16):
        expected = [f"t{i:02}" for i in range(limit)]
        assert [d["_id"] for d in coll.find(sort={"$vector": [1.0, 0.9]}, limit=limit)
                ] == expected
        assert [d["_id"] for d in coll.find(sort={"$lexical": "words"}, limit=limit)
                ] == expected
    hits = coll.find_and_rerank(
        sort={"$hybrid": {"$vector": [0.0, 1.0], "$lexical": "same"}}, rerank_query="words",
        rerank_on="text", include_scores=True, hybrid_limits=3).to_list()
    # z: vector rank 1; t00: vector 2 and bm25 1; t01: vector 3 and bm25 2; t02: bm25 3
    assert [h.document["_id"] for h in hits] == ["t00", "t01", "z", "t02"]
    assert len({h.scores["$rerank"] for h in hits}) == 1
    assert [h.scores["$rrf"] for h in hits] == pytest.approx(
        [1 / 62 + 1 / 61, 1 / 63 + 1 / 62, 1 / 61, 1 / 63])
    hits = coll.find_and_rerank(
        sort={"$hybrid": {"$vector": [0.0, 1.0], "$lexical": "same"}}, rerank_query="words",
        rerank_on="text", hybrid_limits={"$vector": 1, "$lexical": 1}).to_list()
    assert [h.document["_id"] for h in hits] == ["t00", "z"]  # the same $rrf: by _id


def test_find_and_rerank_with_vectorize_and_providers(adb):
    coll = adb.create_collection("kb", definition=CollectionDefinition(
        vector=CollectionVectorOptions(service=VectorServiceOptions(
            provider="local", model_name="sentence-transformers/all-MiniLM-L6-v2"))))
    texts = {"ship": "We ship parcels to every state within five days.",
             "refund": "Refunds go back to your card within a week of the return.",
             "boots": "Waterproof boots need wax twice a season."}
    coll.insert_many([{"_id": k, "$hybrid": v, "title": k} for k, v in texts.items()])
    top = coll.find_and_rerank(sort={"$hybrid": "when will my refund arrive"},
                               projection={"title": 1}, limit=1).to_list()
    assert [h.document for h in top] == [{"_id": "refund", "title": "refund"}]
    providers = adb.get_database_admin().find_reranking_providers()
    (nvidia,) = providers.reranking_providers.values()
    assert [m.name for m in nvidia.models] == ["nvidia/llama-3.2-nv-rerankqa-1b-v2"]


def test_table_text_index_match_and_lexical_sort(adb):
    table = adb.create_table("tagged", definition=(
        CreateTableDefinition.builder().add_column("id", "text").add_column("tags", "text")
        .add_column("other", "text").add_partition_by(["id"]).build()))
    table.create_text_index("tags_idx", "tags", options=TableTextIndexOptions(
        analyzer="standard"))
    indexes = {i.name: i for i in table.list_indexes()}
    assert indexes["tags_idx"].definition.column == "tags"
    assert indexes["tags_idx"].definition.options.analyzer == "standard"
    table.insert_many([{"id": "1", "tags": "tag1"}, {"id": "2", "tags": "tag2"},
                       {"id": "3", "tags": "tag3"}, {"id": "4", "tags": "tag1 tag2 tag3"}])
    assert [r["id"] for r in table.find(sort={"tags": "tag2"})] == ["2", "4"]
    assert [r["id"] for r in table.find(sort={"tags": "tag1 'tag3'"})] == ["4"]
    assert sorted(r["id"] for r in table.find({"tags": {"$match": "tag3"}})) == ["3", "4"]
    for call, code in (
            (lambda: table.find_one({"other": {"$match": "x"}}),
             "CANNOT_LEXICAL_FILTER_NON_INDEXED_COLUMNS"),
            (lambda: table.find(sort={"other": "x"}).to_list(),
             "CANNOT_LEXICAL_SORT_NON_INDEXED_COLUMNS"),
            (lambda: table.find(sort={"tags": "x"}, skip=1, limit=2).to_list(),
             "CANNOT_LEXICAL_SORT_WITH_SKIP_OPTION"),
            (lambda: table.create_text_index("id_idx", "id", options=TableTextIndexOptions(
                analyzer=3)), "UNSUPPORTED_JSON_TYPE_FOR_TEXT_INDEX")):
        with pytest.raises(DataAPIResponseException) as caught:
            call()
        assert error_code(caught) == code
