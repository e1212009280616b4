"""The seeds' table workflows, run through the Data API JSON commands.

Seed 000 ("Add the integration to a table"): a table whose vector column embeds text with the
Hugging Face Serverless integration, scoped to its database, indexed, filled with text and
searched in natural language; removing the credential disables vectorize on the column.

Seed 002 ("Migrate to a new embedding model for a table", "Change the embedding provider
configuration"): add a vector column with the new service, fill it, index it, search it, then
drop the old column's index and the old column; and add or change (or drop) the vectorize
integration of an existing vector column.

The Hugging Face provider is a real loopback server (:class:`HFEndpoint`) with the local
all-MiniLM-L6-v2 behind it, so every vector below is checked against that model.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import vectorize_kit as vk
from conftest import HF_TOKEN, all_rows
from vectorize_kit.embedding import get_provider
from vectorize_kit.embedding.hf_endpoint import HFEndpoint
from vectorize_kit.similarity import similarity

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
HF = "huggingface"
TOKEN = HF_TOKEN  # the one the conftest endpoint accepts

# The passages and questions of the searches: each question has one obvious answer.
PASSAGES = [
    "Apples are crisp fruits that grow on trees in orchards.",
    "The violin is a string instrument played with a bow.",
    "Mount Everest is the highest mountain above sea level.",
    "Photosynthesis lets plants turn sunlight into chemical energy.",
    "A marathon is a long-distance running race of about 42 kilometres.",
]
QUESTION = "Which orchard fruit is crunchy?"  # -> PASSAGES[0]
QUESTION_2 = "What is the tallest peak in the world?"  # -> PASSAGES[2]


def hf_service(key: str = "hf-token") -> dict:
    return {"provider": HF, "modelName": MINILM, "authentication": {"providerKey": key}}


def local_service() -> dict:
    return {"provider": "local", "modelName": MINILM}


def embed(texts: list[str]) -> np.ndarray:
    """The model behind both providers, called directly (the reference vectors)."""
    return get_provider("local").embed(list(texts), model=MINILM)


def error_code(envelope: dict) -> str:
    assert set(envelope) == {"errors"}, envelope
    (err,) = envelope["errors"]
    return err["errorCode"]


def by_key(rows: list[dict], key: str) -> dict:
    return {r[key]: r for r in rows}


def assert_vectors(got: list[float], texts_in_batch: list[str], text: str) -> None:
    """``got`` is the model's vector of ``text`` (embedded within ``texts_in_batch``)."""
    expected = embed(texts_in_batch)[texts_in_batch.index(text)]
    # (a text embedded in another batch may differ in the last float32 bits: padding)
    np.testing.assert_allclose(np.asarray(got, np.float32), expected, rtol=0, atol=1e-5)


def expected_ranking(texts: list[str], question: str, metric: str) -> list[tuple[str, float]]:
    """(text, $similarity) of every text for the question, best first."""
    vectors = embed(texts)
    (query,) = embed([question])
    scored = [(t, similarity(v, query, metric)) for t, v in zip(texts, vectors)]
    return sorted(scored, key=lambda p: -p[1])


def assert_ranking(documents: list[dict], key: str, expected: list[tuple[str, float]]) -> None:
    assert [d[key] for d in documents] == [t for t, _ in expected]
    for doc, (_, score) in zip(documents, expected):
        assert doc["$similarity"] == pytest.approx(score, abs=1e-5)




# --------------------------------------------------------------------------------------------
# Seed 000: add the integration to a table

# The seed's createTable, with its placeholders filled in: the vector column first, then the
# text column, which is the primary key.
SEED_CREATE_TABLE = {
    "createTable": {
        "name": "passages",
        "definition": {
            "columns": {
                "passage_embedding": {
                    "type": "vector",
                    "dimension": 384,
                    "service": {
                        "provider": "huggingface",
                        "modelName": "sentence-transformers/all-MiniLM-L6-v2",
                        "authentication": {"providerKey": "hf-token"},
                    },
                },
                "passage": "text",
            },
            "primaryKey": "passage",
        },
    }
}
SEED_CREATE_VECTOR_INDEX = {
    "createVectorIndex": {
        "name": "passage_embedding_idx",
        "definition": {"column": "passage_embedding", "options": {"metric": "cosine"}},
    }
}
SEED_SEARCH = {"find": {"sort": {"passage_embedding": QUESTION},
                        "options": {"limit": 3, "includeSimilarity": True}}}


def seed_000_table(ws: vk.Workspace) -> tuple[vk.Database, vk.Table]:
    db = ws.create_database("vector_db")
    ws.integrations.add_credential(HF, "hf-token", TOKEN, databases=[db])
    assert db.command(copy.deepcopy(SEED_CREATE_TABLE)) == {"status": {"ok": 1}}
    table = db.get_table("passages")
    assert table.command(copy.deepcopy(SEED_CREATE_VECTOR_INDEX)) == {"status": {"ok": 1}}
    return db, table


def request(inputs: int) -> dict:
    """What the endpoint records of one successful feature-extraction request."""
    return {"model": MINILM, "inputs": inputs, "status": 200, "truncate": True, "faults": []}


def test_seed_000_create_index_insert_text_and_search_in_natural_language(hf_ws, endpoint):
    db, table = seed_000_table(hf_ws)
    # the table as listTables describes it: the credential is kept by name, the dimension
    # and the metric as given
    assert db.command({"listTables": {"options": {"explain": True}}}) == {"status": {"tables": [
        {"name": "passages", "definition": {
            "columns": {
                "passage_embedding": {"type": "vector", "dimension": 384, "service": {
                    "provider": HF, "modelName": MINILM,
                    "authentication": {"providerKey": "hf-token.providerKey"}}},
                "passage": {"type": "text"}},
            "primaryKey": {"partitionBy": ["passage"], "partitionSort": {}}}}]}}
    assert table.command({"listIndexes": {"options": {"explain": True}}}) == {"status": {
        "indexes": [{"name": "passage_embedding_idx",
                     "definition": {"column": "passage_embedding",
                                    "options": {"metric": "cosine", "sourceModel": "other"}},
                     "indexType": "vector"}]}}
    assert hf_ws.integrations.collections_using(HF, "hf-token") == [
        "vector_db/default_keyspace.passages.passage_embedding"]
    assert endpoint.requests == []  # creating the table and its index called nobody

    # insert: the text goes to the key column and, to be embedded, to the vector column
    answer = table.command({"insertMany": {"documents": [
        {"passage": p, "passage_embedding": p} for p in PASSAGES]}})
    assert answer == {"status": {"primaryKeySchema": {"passage": {"type": "text"}},
                                 "insertedIds": [[p] for p in PASSAGES]}}
    # one request to the provider, with every text of the command
    assert endpoint.requests == [request(len(PASSAGES))]
    stored = by_key(all_rows(table), "passage")
    assert sorted(stored) == sorted(PASSAGES)
    for p in PASSAGES:
        assert set(stored[p]) == {"passage", "passage_embedding"}
        assert_vectors(stored[p]["passage_embedding"], PASSAGES, p)

    # the seed's natural-language search: the question is embedded (one more request) and
    # the best passage comes first
    first = table.command(copy.deepcopy(SEED_SEARCH))
    assert endpoint.requests == [request(len(PASSAGES)), request(1)]
    assert set(first) == {"data", "status"}
    assert first["status"] == {"projectionSchema": {
        "passage_embedding": {"type": "vector", "dimension": 384},
        "passage": {"type": "text"}}}
    assert first["data"]["nextPageState"] is None
    documents = first["data"]["documents"]
    assert len(documents) == 3
    assert documents[0]["passage"] == PASSAGES[0]
    assert_ranking(documents, "passage", expected_ranking(PASSAGES, QUESTION, "cosine")[:3])

    # the same search again is answered from the embedding cache: no request
    second = table.command(copy.deepcopy(SEED_SEARCH))
    assert second == first
    assert endpoint.requests == [request(len(PASSAGES)), request(1)]

    # the query vector is the model's vector of the question
    answer = table.command({"find": {"sort": {"passage_embedding": QUESTION},
                                     "projection": {"passage": 1},
                                     "options": {"limit": 1, "includeSortVector": True}}})
    assert answer["data"] == {"documents": [{"passage": PASSAGES[0]}], "nextPageState": None}
    assert_vectors(answer["status"]["sortVector"], [QUESTION], QUESTION)
    assert len(endpoint.requests) == 2

    # another question finds another passage
    other = table.command({"findOne": {"sort": {"passage_embedding": QUESTION_2},
                                       "projection": {"passage": 1},
                                       "options": {"includeSimilarity": True}}})
    best = expected_ranking(PASSAGES, QUESTION_2, "cosine")[0]
    assert other["data"]["document"] == {"passage": PASSAGES[2],
                                         "$similarity": pytest.approx(best[1], abs=1e-5)}
    assert len(endpoint.requests) == 3

    # inserting a text embedded before is not sent again either
    assert table.command({"insertOne": {"document": {
        "passage": "again", "passage_embedding": PASSAGES[1]}}}) == {"status": {
            "primaryKeySchema": {"passage": {"type": "text"}}, "insertedIds": [["again"]]}}
    assert len(endpoint.requests) == 3
    again = by_key(all_rows(table), "passage")["again"]["passage_embedding"]
    assert again == stored[PASSAGES[1]]["passage_embedding"]


def test_seed_000_a_database_outside_the_scope_cannot_use_the_credential(hf_ws, endpoint):
    db, table = seed_000_table(hf_ws)
    outside = hf_ws.create_database("outside_db")
    answer = outside.command(copy.deepcopy(SEED_CREATE_TABLE))
    assert error_code(answer) == "VECTORIZE_CREDENTIAL_INVALID"
    assert answer["errors"][0]["family"] == "REQUEST"
    assert answer["errors"][0]["scope"] == "SCHEMA"
    message = answer["errors"][0]["message"]
    assert "'outside_db' is not in the scope of credential 'hf-token'" in message
    assert TOKEN not in str(answer)
    assert outside.command({"listTables": {}}) == {"status": {"tables": []}}

    # adding a vectorize column to a table of that database fails the same way
    assert outside.command({"createTable": {"name": "plain", "definition": {
        "columns": {"id": "text", "v": {"type": "vector", "dimension": 384}},
        "primaryKey": "id"}}}) == {"status": {"ok": 1}}
    plain = outside.get_table("plain")
    before = outside.command({"listTables": {"options": {"explain": True}}})
    for operation in ({"add": {"columns": {"w": {"type": "vector", "service": hf_service()}}}},
                      {"addVectorize": {"columns": {"v": hf_service()}}}):
        answer = plain.command({"alterTable": {"operation": operation}})
        assert error_code(answer) == "VECTORIZE_CREDENTIAL_INVALID"
        assert outside.command({"listTables": {"options": {"explain": True}}}) == before
    # a credential that does not exist at all
    answer = outside.command({"createTable": {"name": "other", "definition": {
        "columns": {"id": "text", "v": {"type": "vector", "service": hf_service("nope")}},
        "primaryKey": "id"}}})
    assert error_code(answer) == "VECTORIZE_CREDENTIAL_INVALID"
    assert "no credential named 'nope'" in answer["errors"][0]["message"]

    # once the database is in the scope, the same command works
    hf_ws.integrations.add_scoped_databases(HF, "hf-token", [outside])
    assert outside.command(copy.deepcopy(SEED_CREATE_TABLE)) == {"status": {"ok": 1}}
    assert outside.command({"listTables": {}}) == {"status": {"tables": ["passages", "plain"]}}
    assert endpoint.requests == []


@pytest.mark.parametrize(("vector", "code"), [
    # MiniLM makes 384-d vectors only
    ({"type": "vector", "dimension": 768, "service": hf_service()},
     "INVALID_VECTORIZE_TABLE_CONFIGURATION"),
    ({"type": "vector", "dimension": 384, "service": {**hf_service(), "modelName": "nope/x"}},
     "INVALID_VECTORIZE_TABLE_CONFIGURATION"),
    ({"type": "vector", "dimension": 384, "service": {**hf_service(), "provider": "nope"}},
     "INVALID_VECTORIZE_TABLE_CONFIGURATION"),
    ({"type": "vector"}, "MISSING_DIMENSION_IN_VECTOR_COLUMN"),
])
def test_seed_000_a_bad_integration_setting_creates_no_table(hf_ws, endpoint, vector, code):
    db = hf_ws.create_database("vector_db")
    hf_ws.integrations.add_credential(HF, "hf-token", TOKEN, databases=[db])
    command = copy.deepcopy(SEED_CREATE_TABLE)
    command["createTable"]["definition"]["columns"]["passage_embedding"] = vector
    assert error_code(db.command(command)) == code
    assert db.command({"listTables": {}}) == {"status": {"tables": []}}
    # the dimension may be left out: it is the model's
    command["createTable"]["definition"]["columns"]["passage_embedding"] = {
        "type": "vector", "service": hf_service()}
    assert db.command(command) == {"status": {"ok": 1}}
    (listed,) = db.command({"listTables": {"options": {"explain": True}}})["status"]["tables"]
    assert listed["definition"]["columns"]["passage_embedding"]["dimension"] == 384


def test_seed_000_removing_the_credential_disables_vectorize_on_the_column(hf_ws, endpoint):
    db, table = seed_000_table(hf_ws)
    table.command({"insertMany": {"documents": [
        {"passage": p, "passage_embedding": p} for p in PASSAGES]}})
    assert len(endpoint.requests) == 1
    rows_before = all_rows(table)

    hf_ws.integrations.remove_credential(HF, "hf-token")
    # inserting or updating with text now fails, before anything is sent or stored
    for command in (
        {"insertOne": {"document": {"passage": "new", "passage_embedding": "some new text"}}},
        {"insertMany": {"documents": [{"passage": "n1", "passage_embedding": "text one"}]}},
        {"updateOne": {"filter": {"passage": PASSAGES[0]},
                       "update": {"$set": {"passage_embedding": "changed text"}}}},
        {"find": {"sort": {"passage_embedding": "a question never asked"}}},
    ):
        answer = table.command(command)
        if "insertMany" in command:
            # insertMany reports per-row failures next to its status
            assert answer["errors"][0]["errorCode"] == "VECTORIZE_CREDENTIAL_INVALID"
        else:
            assert error_code(answer) == "VECTORIZE_CREDENTIAL_INVALID"
        message = answer["errors"][0]["message"]
        assert "the credential 'hf-token' of provider 'huggingface' was removed" in message
        assert "table 'default_keyspace.passages'" in message
        assert all_rows(table) == rows_before
    assert len(endpoint.requests) == 1

    # explicit vectors still go in, and vector search with a vector still works
    (vector,) = embed(["a hand-made vector for a new row"])
    answer = table.command({"insertOne": {"document": {
        "passage": "explicit", "passage_embedding": vector.tolist()}}})
    assert answer == {"status": {"primaryKeySchema": {"passage": {"type": "text"}},
                                 "insertedIds": [["explicit"]]}}
    stored = by_key(all_rows(table), "passage")
    np.testing.assert_array_equal(np.asarray(stored["explicit"]["passage_embedding"],
                                             np.float32), vector)
    (query,) = embed([QUESTION])
    found = table.command({"findOne": {"sort": {"passage_embedding": query.tolist()},
                                       "projection": {"passage": 1}}})
    assert found == {"data": {"document": {"passage": PASSAGES[0]}},
                     "status": {"projectionSchema": {"passage": {"type": "text"}}}}
    assert len(endpoint.requests) == 1

    # a credential with the same name, and the database in its scope, restores vectorize
    hf_ws.integrations.add_credential(HF, "hf-token", TOKEN, databases=[db])
    answer = table.command({"insertOne": {"document": {
        "passage": "restored", "passage_embedding": "restored text"}}})
    assert "errors" not in answer
    assert endpoint.requests[-1] == request(1)
    assert_vectors(by_key(all_rows(table), "passage")["restored"]["passage_embedding"],
                   ["restored text"], "restored text")


# --------------------------------------------------------------------------------------------
# Seed 002: migrate a table to a new embedding model / provider


def create_articles(db: vk.Database) -> vk.Table:
    """A table whose vector column ``v_old`` embeds with the local provider."""
    answer = db.command({"createTable": {"name": "articles", "definition": {
        "columns": {"id": "int", "body": "text",
                    "v_old": {"type": "vector", "service": local_service()}},
        "primaryKey": "id"}}})
    assert answer == {"status": {"ok": 1}}
    table = db.get_table("articles")
    assert table.command({"createVectorIndex": {"name": "v_old_idx", "definition": {
        "column": "v_old", "options": {"metric": "cosine"}}}}) == {"status": {"ok": 1}}
    answer = table.command({"insertMany": {"documents": [
        {"id": i, "body": p, "v_old": p} for i, p in enumerate(PASSAGES)]}})
    assert answer["status"]["insertedIds"] == [[i] for i in range(len(PASSAGES))]
    return table


def search(table: vk.Table, column: str, question: str, **options) -> list[dict]:
    answer = table.command({"find": {"sort": {column: question}, "projection": {"body": 1},
                                     "options": {"includeSimilarity": True, **options}}})
    assert set(answer) == {"data", "status"}, answer
    return answer["data"]["documents"]


def test_seed_002_migrate_a_table_to_a_new_vector_column(hf_ws, endpoint):
    db = hf_ws.create_database("vector_db")
    hf_ws.integrations.add_credential(HF, "hf-token", TOKEN, databases=[db])
    table = create_articles(db)
    cosine = expected_ranking(PASSAGES, QUESTION, "cosine")
    assert_ranking(search(table, "v_old", QUESTION), "body", cosine)
    assert endpoint.requests == []  # the local provider runs in-process

    # 1. a new vector column with the new embedding provider configuration
    answer = table.command({"alterTable": {"operation": {"add": {"columns": {
        "v_new": {"type": "vector", "dimension": 384, "service": hf_service()}}}}}})
    assert answer == {"status": {"ok": 1}}
    (listed,) = db.command({"listTables": {"options": {"explain": True}}})["status"]["tables"]
    assert listed["definition"]["columns"] == {
        "id": {"type": "int"}, "body": {"type": "text"},
        "v_old": {"type": "vector", "dimension": 384, "service": local_service()},
        "v_new": {"type": "vector", "dimension": 384, "service": {
            "provider": HF, "modelName": MINILM,
            "authentication": {"providerKey": "hf-token.providerKey"}}}}
    rows = by_key(all_rows(table), "id")
    assert all(set(r) == {"id", "body", "v_old"} for r in rows.values())  # v_new is null
    # no vector search on it before it is indexed
    answer = table.command({"find": {"sort": {"v_new": QUESTION}}})
    assert error_code(answer) == "CANNOT_VECTOR_SORT_NON_INDEXED_VECTOR_COLUMNS"
    # one request vectorizes with one configuration: not both columns' providers at once
    answer = table.command({"insertOne": {"document": {
        "id": 0, "v_old": PASSAGES[0], "v_new": PASSAGES[0]}}})
    assert error_code(answer) == "UNSUPPORTED_VECTORIZE_CONFIGURATIONS"
    assert by_key(all_rows(table), "id") == rows
    assert endpoint.requests == []

    # 2. generate the new embeddings: $set of each row's text into the new column for the
    # first rows, a re-insert (an upsert: the other columns are kept) for the others
    for i in (0, 1, 2):
        answer = table.command({"updateOne": {"filter": {"id": i},
                                              "update": {"$set": {"v_new": PASSAGES[i]}}}})
        assert answer == {"status": {"matchedCount": 1, "modifiedCount": 1}}
    answer = table.command({"insertMany": {"documents": [
        {"id": i, "v_new": PASSAGES[i]} for i in (3, 4)]}})
    assert answer["status"]["insertedIds"] == [[3], [4]]
    assert endpoint.requests == [request(1)] * 3 + [request(2)]
    migrated = by_key(all_rows(table), "id")
    for i, p in enumerate(PASSAGES):
        assert set(migrated[i]) == {"id", "body", "v_old", "v_new"}
        assert migrated[i]["body"] == p
        assert migrated[i]["v_old"] == rows[i]["v_old"]  # kept by the upsert
        # the same model through another provider: the same vector
        np.testing.assert_allclose(migrated[i]["v_new"], migrated[i]["v_old"], atol=1e-5)

    # 3. index the new column and search on it (dot_product: the vectors are unit length)
    assert table.command({"createVectorIndex": {"name": "v_new_idx", "definition": {
        "column": "v_new", "options": {"metric": "dot_product"}}}}) == {"status": {"ok": 1}}
    dot = expected_ranking(PASSAGES, QUESTION, "dot_product")
    assert_ranking(search(table, "v_new", QUESTION), "body", dot)
    assert len(endpoint.requests) == 5  # the question, embedded by the new provider
    assert [d["body"] for d in search(table, "v_old", QUESTION)] == [t for t, _ in cosine]

    # 4. the old column is still indexed: it can not be dropped yet
    schema_before = db.command({"listTables": {"options": {"explain": True}}})
    answer = table.command({"alterTable": {"operation": {"drop": {"columns": ["v_old"]}}}})
    assert error_code(answer) == "CANNOT_DROP_INDEXED_COLUMNS"
    assert "dropIndex: v_old_idx" in answer["errors"][0]["message"]
    assert db.command({"listTables": {"options": {"explain": True}}}) == schema_before
    assert by_key(all_rows(table), "id") == migrated

    # 5. drop the old column's index (a keyspace command), then the old column
    assert db.command({"dropIndex": {"name": "v_old_idx"}}) == {"status": {"ok": 1}}
    assert table.command({"listIndexes": {}}) == {"status": {"indexes": ["v_new_idx"]}}
    answer = table.command({"find": {"sort": {"v_old": QUESTION}}})
    assert error_code(answer) == "CANNOT_VECTOR_SORT_NON_INDEXED_VECTOR_COLUMNS"
    assert table.command({"alterTable": {"operation": {"drop": {"columns": ["v_old"]}}}}) == {
        "status": {"ok": 1}}

    # 6. the data and the searches afterwards
    (listed,) = db.command({"listTables": {"options": {"explain": True}}})["status"]["tables"]
    assert list(listed["definition"]["columns"]) == ["id", "body", "v_new"]
    after = by_key(all_rows(table), "id")
    assert after == {i: {k: v for k, v in r.items() if k != "v_old"}
                     for i, r in migrated.items()}
    assert_ranking(search(table, "v_new", QUESTION), "body", dot)
    assert len(endpoint.requests) == 5  # the cached question
    assert error_code(table.command({"find": {"sort": {"v_old": QUESTION}}})) == (
        "CANNOT_SORT_UNKNOWN_COLUMNS")
    answer = table.command({"insertOne": {"document": {"id": 9, "v_old": "x"}}})
    assert error_code(answer) == "UNKNOWN_TABLE_COLUMNS"
    # new rows are embedded by the new configuration
    answer = table.command({"insertOne": {"document": {
        "id": 5, "body": "Bananas are yellow fruits.", "v_new": "Bananas are yellow fruits."}}})
    assert answer["status"]["insertedIds"] == [[5]]
    assert endpoint.requests[-1] == request(1)
    texts = [*PASSAGES, "Bananas are yellow fruits."]
    top = search(table, "v_new", QUESTION_2, limit=2)
    assert_ranking(top, "body", expected_ranking(texts, QUESTION_2, "dot_product")[:2])
    assert top[0]["body"] == PASSAGES[2]


def create_plain_vectors(db: vk.Database) -> vk.Table:
    """A table with a vector column ``v`` without vectorize, holding explicit vectors."""
    assert db.command({"createTable": {"name": "notes", "definition": {
        "columns": {"id": "int", "body": "text", "v": {"type": "vector", "dimension": 384}},
        "primaryKey": "id"}}}) == {"status": {"ok": 1}}
    table = db.get_table("notes")
    assert table.command({"createVectorIndex": {"name": "notes_v", "definition": {
        "column": "v"}}}) == {"status": {"ok": 1}}
    vectors = embed(PASSAGES)
    answer = table.command({"insertMany": {"documents": [
        {"id": i, "body": p, "v": v.tolist()} for i, (p, v) in enumerate(zip(PASSAGES,
                                                                               vectors))]}})
    assert "errors" not in answer
    return table


def test_seed_002_add_change_and_drop_vectorize_on_an_existing_vector_column(hf_ws, endpoint):
    db = hf_ws.create_database("vector_db")
    hf_ws.integrations.add_credential(HF, "hf-token", TOKEN, databases=[db])
    table = create_plain_vectors(db)
    explicit = by_key(all_rows(table), "id")

    def columns() -> dict:
        (listed,) = db.command({"listTables": {"options": {"explain": True}}})["status"][
            "tables"]
        return listed["definition"]["columns"]

    # without vectorize: text is refused on insert and on sort
    answer = table.command({"insertOne": {"document": {"id": 7, "v": "text"}}})
    assert error_code(answer) == "UNSUPPORTED_VECTORIZE_WHEN_MISSING_VECTORIZE_DEFINITION"
    assert answer["errors"][0]["scope"] == "DOCUMENT"
    answer = table.command({"find": {"sort": {"v": QUESTION}}})
    assert error_code(answer) == "CANNOT_VECTORIZE_SORT_WHEN_MISSING_VECTORIZE_DEFINITION"

    # wrong targets change nothing
    for operation, code in (
        ({"addVectorize": {"columns": {"nope": hf_service()}}},
         "CANNOT_VECTORIZE_UNKNOWN_COLUMNS"),
        ({"addVectorize": {"columns": {"body": hf_service()}}},
         "CANNOT_VECTORIZE_NON_VECTOR_COLUMNS"),
        ({"dropVectorize": {"columns": ["nope"]}}, "CANNOT_DROP_VECTORIZE_FROM_UNKNOWN_COLUMNS"),
        ({"dropVectorize": {"columns": ["body"]}},
         "CANNOT_DROP_VECTORIZE_FROM_NON_VECTOR_COLUMNS"),
        ({"addVectorize": {"columns": {"v": hf_service("nope")}}},
         "VECTORIZE_CREDENTIAL_INVALID"),
        # a model of another dimension than the column's
        ({"addVectorize": {"columns": {"v": {"provider": HF,
                                             "modelName": "BAAI/bge-base-en-v1.5"}}}},
         "INVALID_VECTORIZE_TABLE_CONFIGURATION"),
    ):
        answer = table.command({"alterTable": {"operation": operation}})
        assert error_code(answer) == code, (operation, answer)
        assert columns()["v"] == {"type": "vector", "dimension": 384}

    # add the Hugging Face integration to the existing column
    answer = table.command({"alterTable": {"operation": {"addVectorize": {"columns": {
        "v": hf_service()}}}}})
    assert answer == {"status": {"ok": 1}}
    assert columns()["v"] == {"type": "vector", "dimension": 384, "service": {
        "provider": HF, "modelName": MINILM,
        "authentication": {"providerKey": "hf-token.providerKey"}}}
    assert by_key(all_rows(table), "id") == explicit  # the vectors stay as they were
    # the explicit vectors came from the same model: a text search finds the right row
    assert_ranking(search(table, "v", QUESTION), "body",
                   expected_ranking(PASSAGES, QUESTION, "cosine"))
    assert endpoint.requests == [request(1)]
    answer = table.command({"insertOne": {"document": {"id": 7, "body": "hf", "v": "hf"}}})
    assert answer["status"]["insertedIds"] == [[7]]
    assert endpoint.requests == [request(1), request(1)]
    assert_vectors(by_key(all_rows(table), "id")[7]["v"], ["hf"], "hf")

    # change the integration: the local provider instead (no more requests to the endpoint)
    answer = table.command({"alterTable": {"operation": {"addVectorize": {"columns": {
        "v": local_service()}}}}})
    assert answer == {"status": {"ok": 1}}
    assert columns()["v"] == {"type": "vector", "dimension": 384, "service": local_service()}
    assert hf_ws.integrations.collections_using(HF, "hf-token") == []
    answer = table.command({"insertOne": {"document": {"id": 8, "body": "loc", "v": "loc"}}})
    assert answer["status"]["insertedIds"] == [[8]]
    assert_vectors(by_key(all_rows(table), "id")[8]["v"], ["loc"], "loc")
    assert [d["body"] for d in search(table, "v", QUESTION_2, limit=1)] == [PASSAGES[2]]
    assert len(endpoint.requests) == 2

    # drop vectorize: back to explicit vectors only; the vectors and the index stay
    rows = all_rows(table)
    answer = table.command({"alterTable": {"operation": {"dropVectorize": {"columns": ["v"]}}}})
    assert answer == {"status": {"ok": 1}}
    assert columns()["v"] == {"type": "vector", "dimension": 384}
    assert all_rows(table) == rows
    assert table.command({"listIndexes": {}}) == {"status": {"indexes": ["notes_v"]}}
    answer = table.command({"insertOne": {"document": {"id": 9, "v": "text"}}})
    assert error_code(answer) == "UNSUPPORTED_VECTORIZE_WHEN_MISSING_VECTORIZE_DEFINITION"
    answer = table.command({"updateOne": {"filter": {"id": 1}, "update": {"$set": {"v": "x"}}}})
    assert error_code(answer) == "UNSUPPORTED_VECTORIZE_WHEN_MISSING_VECTORIZE_DEFINITION"
    assert answer["errors"][0]["scope"] == "UPDATE"
    assert error_code(table.command({"find": {"sort": {"v": QUESTION}}})) == (
        "CANNOT_VECTORIZE_SORT_WHEN_MISSING_VECTORIZE_DEFINITION")
    (query,) = embed([QUESTION])
    answer = table.command({"findOne": {"sort": {"v": query.tolist()},
                                        "projection": {"body": 1}}})
    assert answer["data"]["document"] == {"body": PASSAGES[0]}
    assert all_rows(table) == rows
    assert len(endpoint.requests) == 2


def test_seed_002_the_migrated_table_survives_a_reopen(tmp_path, endpoint):
    """The migration's schema changes (added column, dropped index and column, changed
    vectorize) are durable, like its writes."""
    path = tmp_path / "ws"
    with vk.Workspace(path, hf_endpoint=endpoint.url) as ws:
        db = ws.create_database("vector_db")
        ws.integrations.add_credential(HF, "hf-token", TOKEN, databases=[db])
        table = create_articles(db)
        assert table.command({"alterTable": {"operation": {"add": {"columns": {
            "v_new": {"type": "vector", "service": hf_service()}}}}}}) == {"status": {"ok": 1}}
        for i, p in enumerate(PASSAGES):
            table.command({"updateOne": {"filter": {"id": i}, "update": {"$set": {"v_new": p}}}})
        table.command({"createVectorIndex": {"name": "v_new_idx", "definition": {
            "column": "v_new"}}})
        db.command({"dropIndex": {"name": "v_old_idx"}})
        table.command({"alterTable": {"operation": {"drop": {"columns": ["v_old"]}}}})
        schema = db.command({"listTables": {"options": {"explain": True}}})
        indexes = table.command({"listIndexes": {"options": {"explain": True}}})
        rows = all_rows(table)
        found = search(table, "v_new", QUESTION)
        requests = len(endpoint.requests)
    with vk.Workspace(path, hf_endpoint=endpoint.url) as ws:
        db = ws.get_database("vector_db")
        table = db.get_table("articles")
        assert db.command({"listTables": {"options": {"explain": True}}}) == schema
        assert table.command({"listIndexes": {"options": {"explain": True}}}) == indexes
        assert all_rows(table) == rows
        # the same ranking and scores (to float32 rounding: a norm computed for one row and
        # for a block of rows may differ in the last bit)
        again = search(table, "v_new", QUESTION)
        assert [d["body"] for d in again] == [d["body"] for d in found]
        assert [d["$similarity"] for d in again] == pytest.approx(
            [d["$similarity"] for d in found], abs=1e-6)
        assert_ranking(again, "body", expected_ranking(PASSAGES, QUESTION, "cosine"))
        # the question was embedded before: the cache is on disk too
        assert len(endpoint.requests) == requests


# --------------------------------------------------------------------------------------------
# Seeds 000 and 002: credentials and the vector columns that use them

TOKEN_2 = "hf_tok-tables-second-4b9d"


@pytest.fixture
def endpoint_2():
    """An endpoint that accepts two tokens (a credential and its replacement)."""
    with HFEndpoint(tokens={TOKEN, TOKEN_2}) as ep:
        yield ep


def test_seed_000_the_only_credential_in_scope_is_the_default(endpoint):
    ws = vk.Workspace(hf_endpoint=endpoint.url)
    try:
        db = ws.create_database("vector_db")
        ws.integrations.add_credential(HF, "hf-token", TOKEN, databases=[db])
        command = copy.deepcopy(SEED_CREATE_TABLE)
        del command["createTable"]["definition"]["columns"]["passage_embedding"]["service"][
            "authentication"]
        assert db.command(command) == {"status": {"ok": 1}}
        (listed,) = db.command({"listTables": {"options": {"explain": True}}})["status"][
            "tables"]
        assert listed["definition"]["columns"]["passage_embedding"]["service"] == {
            "provider": HF, "modelName": MINILM,
            "authentication": {"providerKey": "hf-token.providerKey"}}
        table = db.get_table("passages")
        answer = table.command({"insertOne": {"document": {"passage": "x",
                                                           "passage_embedding": "x"}}})
        assert "errors" not in answer and endpoint.requests == [request(1)]
        # with two credentials in scope, the command must name one
        ws.integrations.add_credential(HF, "other-token", TOKEN, databases=[db])
        command["createTable"]["name"] = "passages_2"
        answer = db.command(command)
        assert error_code(answer) == "VECTORIZE_CREDENTIAL_INVALID"
        assert "several credentials" in answer["errors"][0]["message"]
        assert db.command({"listTables": {}}) == {"status": {"tables": ["passages"]}}
    finally:
        ws.close()


def test_seed_002_rotate_the_credential_of_a_table(endpoint_2):
    """Remove the credential, then add one with the same name and the database in its scope:
    only then does the table's vectorize work again, with the new token."""
    ws = vk.Workspace(hf_endpoint=endpoint_2.url)
    try:
        db, table = seed_000_table(ws)

        def insert(key: str) -> dict:
            return table.command({"insertOne": {"document": {
                "passage": key, "passage_embedding": f"text of {key}"}}})

        assert "errors" not in insert("before")
        ws.integrations.remove_credential(HF, "hf-token")
        assert error_code(insert("removed")) == "VECTORIZE_CREDENTIAL_INVALID"
        # another name is not detected as the replacement
        ws.integrations.add_credential(HF, "hf-token-new", TOKEN_2, databases=[db])
        assert error_code(insert("other-name")) == "VECTORIZE_CREDENTIAL_INVALID"
        # the same name, but the database not in its scope yet
        ws.integrations.add_credential(HF, "hf-token", TOKEN_2)
        answer = insert("no-scope")
        assert error_code(answer) == "VECTORIZE_CREDENTIAL_INVALID"
        assert "not in the scope of credential 'hf-token'" in answer["errors"][0]["message"]
        ws.integrations.add_scoped_databases(HF, "hf-token", [db])
        assert "errors" not in insert("rotated")
        assert len(endpoint_2.requests) == 2
        # the table now sends the new token: a token the provider refuses fails the command
        ws.integrations.rotate_credential(HF, "hf-token", "hf_revoked-token")
        answer = insert("revoked")
        assert error_code(answer) == "EMBEDDING_PROVIDER_CLIENT_ERROR"
        assert "HTTP 401" in answer["errors"][0]["message"]
        assert "hf_revoked-token" not in str(answer)
        assert sorted(by_key(all_rows(table), "passage")) == ["before", "rotated"]
        # removing the database from the scope disables vectorize too
        ws.integrations.rotate_credential(HF, "hf-token", TOKEN)
        assert "errors" not in insert("back")
        ws.integrations.remove_scoped_databases(HF, "hf-token", [db])
        assert error_code(insert("unscoped")) == "VECTORIZE_CREDENTIAL_INVALID"
        assert sorted(by_key(all_rows(table), "passage")) == ["back", "before", "rotated"]
    finally:
        ws.close()


def test_seed_002_each_vector_column_has_its_own_credential(endpoint_2):
    """A table may attach a different integration and credential to each vector column; a
    vector search uses one column at a time."""
    ws = vk.Workspace(hf_endpoint=endpoint_2.url)
    try:
        db = ws.create_database("vector_db")
        ws.integrations.add_credential(HF, "k1", TOKEN, databases=[db])
        ws.integrations.add_credential(HF, "k2", TOKEN_2, databases=[db])
        assert db.command({"createTable": {"name": "two", "definition": {"columns": {
            "id": "int",
            "v1": {"type": "vector", "service": hf_service("k1")},
            "v2": {"type": "vector", "service": hf_service("k2")},
            "v3": {"type": "vector", "service": local_service()}},
            "primaryKey": "id"}}}) == {"status": {"ok": 1}}
        table = db.get_table("two")
        for column in ("v1", "v2", "v3"):
            assert table.command({"createVectorIndex": {"name": f"{column}_idx", "definition": {
                "column": column}}}) == {"status": {"ok": 1}}
        assert ws.integrations.collections_using(HF, "k1") == [
            "vector_db/default_keyspace.two.v1"]
        assert ws.integrations.collections_using(HF, "k2") == [
            "vector_db/default_keyspace.two.v2"]
        for column in ("v1", "v2", "v3"):
            answer = table.command({"insertMany": {"documents": [
                {"id": i, column: p} for i, p in enumerate(PASSAGES)]}})
            assert "errors" not in answer, answer
        # v2's texts were embedded for v1 already: the cache (by provider, model and text,
        # whichever credential paid) serves them; v3 is embedded in-process
        assert endpoint_2.requests == [request(len(PASSAGES))]
        rows = by_key(all_rows(table), "id")
        for i, p in enumerate(PASSAGES):
            assert_vectors(rows[i]["v1"], PASSAGES, p)
            assert rows[i]["v1"] == rows[i]["v2"]
            np.testing.assert_allclose(rows[i]["v3"], rows[i]["v1"], atol=1e-5)
        for column in ("v1", "v2", "v3"):
            found = table.command({"findOne": {"sort": {column: QUESTION_2},
                                               "projection": {"id": 1}}})
            assert found["data"]["document"] == {"id": 2}
        # one vector column at a time
        answer = table.command({"find": {"sort": {"v1": QUESTION, "v2": QUESTION}}})
        assert error_code(answer) == "CANNOT_SORT_ON_MULTIPLE_VECTORIZE"
        (query,) = embed([QUESTION])
        answer = table.command({"find": {"sort": {"v1": query.tolist(),
                                                  "v2": query.tolist()}}})
        assert error_code(answer) == "CANNOT_SORT_ON_MULTIPLE_VECTORS"
        # removing one credential disables its column only
        ws.integrations.remove_credential(HF, "k1")
        answer = table.command({"updateOne": {"filter": {"id": 0},
                                              "update": {"$set": {"v1": "changed"}}}})
        assert error_code(answer) == "VECTORIZE_CREDENTIAL_INVALID"
        answer = table.command({"updateOne": {"filter": {"id": 0},
                                              "update": {"$set": {"v2": "changed"}}}})
        assert answer == {"status": {"matchedCount": 1, "modifiedCount": 1}}
        after = by_key(all_rows(table), "id")
        assert after[0]["v1"] == rows[0]["v1"]
        assert_vectors(after[0]["v2"], ["changed"], "changed")
    finally:
        ws.close()
