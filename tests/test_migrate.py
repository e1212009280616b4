"""Seed 002, "Change the embedding provider configuration for a collection or table" and
"Migrate to a new embedding model": :class:`Migration` re-embeds a collection into a new
collection with another service, :class:`ColumnMigration` a table's text into a new vector
column; each estimates, runs (resumably), verifies and switches.

The old model is the local all-MiniLM-L6-v2; the new one is the same model behind the loopback
Hugging Face endpoint (the only model it serves), so every migrated vector must equal the
local one, and the endpoint's request log shows what was embedded.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import vectorize_kit as vk
from conftest import HF_TOKEN, all_rows
from vectorize_kit.embedding.hf_endpoint import Fault
from vectorize_kit.embedding.tokens import count_tokens
from vectorize_kit.migrate import ColumnMigration, Migration
from vectorize_kit.models import LongTextPolicy, find_model

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
LOCAL = {"provider": "local", "modelName": MINILM}
HF = {"provider": "huggingface", "modelName": MINILM, "authentication": {"providerKey": "key"}}
MODEL = find_model("huggingface", MINILM)

TOPICS = [
    "Apples are crisp fruits that grow on trees in orchards.",
    "The violin is a string instrument played with a bow.",
    "Mount Everest is the highest mountain above sea level.",
    "Photosynthesis lets plants turn sunlight into chemical energy.",
    "A marathon is a long-distance running race of about 42 kilometres.",
]
LONG = ["the quick brown fox jumps over the lazy dog " * 45,  # 405 words
        "rivers carry fresh water and fish down to the sea " * 40]  # 400 words


@pytest.fixture
def hf_db(hf_ws):
    """A database whose credential "key" is the token the loopback endpoint accepts."""
    db = hf_ws.create_database("migrations")
    hf_ws.integrations.add_credential("huggingface", "key", HF_TOKEN, databases=[db])
    return db


def make_source(db, *, n_notes=30, long=True, **options):
    """A local-model collection: 5 topics, ``n_notes`` short notes, 2 long texts (unless not
    ``long``) and 2 documents without a text (``n_notes + 9`` documents, or ``+ 7``)."""
    src = db.create_collection("src", service=LOCAL, **options)
    docs = ([{"_id": f"t{i}", "kind": "topic", "n": i, "$vectorize": t}
             for i, t in enumerate(TOPICS)]
            + [{"_id": f"n{i}", "kind": "note", "n": i, "$vectorize": f"note number {i}"}
               for i in range(n_notes)]
            + [{"_id": f"long{i}", "kind": "long", "$vectorize": t}
               for i, t in enumerate(LONG if long else [])]
            + [{"_id": "bare0", "kind": "bare", "tags": ["a", "b"]},
               {"_id": "bare1", "kind": "bare", "nested": {"x": 1}}])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", vk.TokenLimitWarning)
        src.insert_many(docs, progress=False)
    return src


def by_id(coll) -> dict:
    return {d["_id"]: d for d in coll.find({}, projection={"*": 1})}


def without_vector(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != "$vector"}


def texts_of(coll) -> list[tuple[str, str]]:
    return [(d["_id"], d["$vectorize"]) for d in coll.find({}, projection={"*": 1})
            if "$vectorize" in d]


def ids(coll) -> set:
    return {d["_id"] for d in coll.find({}, projection={"_id": 1})}


def failing_first_chunk(endpoint, fault):
    """A progress callback, and the fault it lifts after the first chunk: every embedding
    request of the first insertMany chunk (and of the prefetch before it) fails."""
    endpoint.faults.append(fault)

    def progress(done, total):
        endpoint.faults.clear()

    return progress


# -- estimate --------------------------------------------------------------------------------

def test_estimate_counts_documents_texts_tokens_requests_and_long_texts(hf_db, endpoint):
    src = make_source(hf_db)
    before = by_id(src)
    texts = texts_of(src)
    counts, exact = count_tokens([MODEL.passage_prefix + t for _, t in texts], MODEL)
    assert exact and len(texts) == 37

    est = Migration(src, "dst", service=HF).estimate()

    assert (est.model, est.documents, est.done, est.to_copy, est.texts) == (
        MINILM, 39, 0, 39, 37)
    assert est.tokens == sum(counts) and est.tokens_exact is True
    assert est.requests == math.ceil(37 / 32) == 2
    assert est.max_tokens == 256
    long_counts = dict(zip([i for i, _ in texts], counts, strict=True))
    assert est.over_limit == [("long0", long_counts["long0"]), ("long1", long_counts["long1"])]
    assert all(n > 256 for _, n in est.over_limit)
    assert str(est).startswith(f"Migration to {MINILM}: 39 of 39 documents to copy (0 already "
                               f"copied); 37 texts to embed, {sum(counts):,} tokens in 2 "
                               "requests.\n2 text(s) are over the model's limit of 256 tokens")
    # a dry run: nothing created, nothing embedded, the source as it was
    assert "dst" not in hf_db.list_collection_names()
    assert endpoint.requests == []
    assert by_id(src) == before


# -- run -------------------------------------------------------------------------------------

def test_run_copies_every_document_with_the_new_models_vectors(hf_db, endpoint):
    src = make_source(hf_db, metric="dot_product", indexing={"deny": ["nested"]},
                      default_id_type="uuid")
    migration = Migration(src, "dst", service=HF)
    with pytest.warns(vk.TokenLimitWarning) as record:
        report = migration.run(progress=False)
    assert (report.copied, report.skipped, report.failed) == (39, 0, [])
    assert str(report) == "Copied 39 (skipped 0 already copied)."
    warned = [w.message for w in record if isinstance(w.message, vk.TokenLimitWarning)]
    assert len(warned) == 1
    counts, _ = count_tokens(LONG, MODEL)
    assert sorted(warned[0].items) == [('_id "long0"', counts[0]), ('_id "long1"', counts[1])]

    dst = hf_db.get_collection("dst")
    options = dst.options()
    assert options["vector"]["dimension"] == 384
    assert options["vector"]["metric"] == "dot_product"
    assert options["vector"]["service"]["provider"] == "huggingface"
    assert options["vector"]["service"]["modelName"] == MINILM
    assert options["indexing"] == {"deny": ["nested"]}
    assert options["defaultId"] == {"type": "uuid"}
    assert src.options()["vector"]["service"] == LOCAL  # the source keeps its model

    old, new = by_id(src), by_id(dst)
    assert set(new) == set(old)
    for key, doc in old.items():
        assert without_vector(new[key]) == without_vector(doc)
        if "$vectorize" in doc:  # the same model: the same vector, computed again
            np.testing.assert_allclose(new[key]["$vector"], doc["$vector"], atol=1e-5)
        else:
            assert "$vector" not in new[key]
    # the 37 texts, in the 2 requests the estimate foresaw
    assert sorted((r["inputs"], r["status"]) for r in endpoint.requests) == [(5, 200),
                                                                            (32, 200)]

    hits = dst.find(sort={"$vectorize": "Which fruit grows on trees?"}, limit=3)
    assert next(iter(hits))["_id"] == "t0"
    hits = list(dst.find(sort={"$vectorize": "a musical instrument with strings"}, limit=1))
    assert hits[0]["_id"] == "t1"


def test_run_uses_the_metric_given(hf_db, endpoint):
    src = make_source(hf_db, n_notes=0, long=False, metric="dot_product")
    Migration(src, "dst", service=HF, metric="euclidean").run(progress=False)
    assert hf_db.get_collection("dst").options()["vector"]["metric"] == "euclidean"


@pytest.mark.parametrize("fault, code", [
    (Fault("unauthorized"), "EMBEDDING_PROVIDER_CLIENT_ERROR"),
    (Fault("status", status=500), "EMBEDDING_PROVIDER_SERVER_ERROR"),
])
def test_run_resumes_without_embedding_copied_documents_again(hf_db, endpoint, fault, code):
    # 130 documents: an insertMany chunk of 100, then one of 30
    src = make_source(hf_db, n_notes=123, long=False)
    total = 130
    progress = failing_first_chunk(endpoint, fault)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", vk.TokenLimitWarning)
        first = Migration(src, "dst", service=HF).run(progress=progress)
    dst = hf_db.get_collection("dst")
    copied = ids(dst)
    assert first.copied == len(copied) == 30 < total
    assert first.skipped == 0
    assert first.failed and {c for _, c in first.failed} == {code}
    assert fault.applied >= 1
    not_copied = ids(src) - copied

    # a fresh object, as after a restarted kernel, estimates and runs the rest only
    migration = Migration(src, "dst", service=HF)
    est = migration.estimate()
    assert (est.documents, est.done, est.to_copy) == (total, 30, 100)
    after_first = len(endpoint.requests)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", vk.TokenLimitWarning)
        second = migration.run(progress=False)
    assert (second.copied, second.skipped, second.failed) == (100, 30, [])
    assert ids(dst) == ids(src)
    embedded = sum(r["inputs"] for r in endpoint.requests[after_first:])
    assert embedded <= len(not_copied) == 100
    assert all(r["status"] == 200 for r in endpoint.requests[after_first:])

    after_second = len(endpoint.requests)
    third = migration.run(progress=False)
    assert (third.copied, third.skipped, third.failed) == (0, total, [])
    assert len(endpoint.requests) == after_second
    assert dst.estimated_document_count() == total


def test_run_report_names_every_failed_document(hf_db, endpoint):
    src = make_source(hf_db, n_notes=123, long=False)
    progress = failing_first_chunk(endpoint, Fault("unauthorized"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", vk.TokenLimitWarning)
        report = Migration(src, "dst", service=HF).run(progress=progress)
    not_copied = ids(src) - ids(hf_db.get_collection("dst"))
    assert len(not_copied) == 100
    assert sorted(i for i, _ in report.failed) == sorted(not_copied)
    assert str(report).startswith("Copied 30 (skipped 0 already copied); 100 failed")


def test_column_run_report_names_every_failed_row(hf_db, endpoint):
    table, _ = make_table(hf_db, 130, long=False)
    migration = ColumnMigration(table, old_column="v", new_column="v2", service=HF,
                                text_column="body")
    report = migration.run(progress=failing_first_chunk(endpoint, Fault("unauthorized")))
    assert report.copied == 30
    assert sorted(k for k, _ in report.failed) == sorted(migration.verify().missing)


def test_a_chunked_migration_resumes_and_completes(hf_db, endpoint):
    src = make_source(hf_db, n_notes=0)  # 9 documents, 2 of them chunked in the target
    migration = Migration(src, "dst", service=HF, long_text="chunk")
    first = migration.run(progress=False)
    assert (first.copied, first.failed) == (9, [])
    parents = {d.get("parent_id") for d in hf_db.get_collection("dst").find({})}
    assert {"long0", "long1"} <= parents
    # the long documents were copied (as chunks): a second run has nothing left to do
    second = migration.run(progress=False)
    assert (second.copied, second.failed) == (0, [])
    assert migration.verify().missing == []
    assert migration.switch().name == "dst"


def test_text_field_migrates_own_vectors_to_vectorize(hf_db, endpoint):
    src = hf_db.create_collection("own", dimension=384)
    rng = np.random.default_rng(7)
    src.insert_many([{"_id": i, "text": t, "$vector": rng.normal(size=384).tolist()}
                     for i, t in enumerate(TOPICS)] + [{"_id": 99, "other": "no text"}],
                    progress=False)
    est = Migration(src, "dst", service=HF, text_field="text").estimate()
    assert (est.documents, est.to_copy, est.texts, est.requests) == (6, 6, 5, 1)

    report = Migration(src, "dst", service=HF, text_field="text").run(progress=False)
    assert (report.copied, report.failed) == (6, [])
    dst = hf_db.get_collection("dst")
    assert dst.options()["vector"]["metric"] == "cosine"
    with vk.Workspace() as local:  # the local model's vectors of the same texts
        ref = local.create_database("ref").create_collection("ref", service=LOCAL)
        ref.insert_many([{"_id": i, "$vectorize": t} for i, t in enumerate(TOPICS)])
        expected = by_id(ref)
    old, new = by_id(src), by_id(dst)
    for i, text in enumerate(TOPICS):
        assert new[i]["$vectorize"] == text == new[i]["text"]
        assert not np.allclose(new[i]["$vector"], old[i]["$vector"], atol=1e-3)
        np.testing.assert_allclose(new[i]["$vector"], expected[i]["$vector"], atol=1e-5)
    assert new[99] == {"_id": 99, "other": "no text"}
    hit = next(iter(dst.find(sort={"$vectorize": "the tallest peak on Earth"}, limit=1)))
    assert hit["_id"] == 2


# -- verify and switch -----------------------------------------------------------------------

def test_verify_and_switch_refuse_until_complete_then_switch(hf_db, endpoint):
    src = make_source(hf_db, n_notes=123, long=False)
    migration = Migration(src, "dst", service=HF)
    check = migration.verify(["violin"])
    assert (check.source_count, check.target_count, check.ok) == (130, 0, False)
    assert sorted(check.missing) == sorted(ids(src))
    assert check.comparison is None
    assert str(check).startswith("NOT DONE: 130 in the source, 0 in the target; 130 not "
                                 "copied yet")

    progress = failing_first_chunk(endpoint, Fault("unauthorized"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", vk.TokenLimitWarning)
        migration.run(progress=progress)
    check = migration.verify()
    not_copied = ids(src) - ids(hf_db.get_collection("dst"))
    assert (check.source_count, check.target_count, check.ok) == (130, 30, False)
    assert sorted(check.missing) == sorted(not_copied)
    assert str(check).startswith("NOT DONE: 130 in the source, 30 in the target; 100 not")

    with pytest.raises(vk.DataAPIError) as exc:
        migration.switch(drop_source=True)
    assert exc.value.error_code == "MIGRATION_NOT_COMPLETE"
    assert set(hf_db.list_collection_names()) == {"src", "dst"}
    assert src.estimated_document_count() == 130

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", vk.TokenLimitWarning)
        migration.run(progress=False)
    queries = ["Which fruit grows on trees?", "running race", "note number 7"]
    check = migration.verify(queries, k=5)
    assert (check.source_count, check.target_count, check.missing, check.ok) == (
        130, 130, [], True)
    table = check.comparison.table
    assert list(table["query"]) == queries
    assert list(table["overlap@5"]) == [1.0, 1.0, 1.0]  # the same model on both sides
    assert str(check).startswith("OK: 130 in the source, 130 in the target; mean overlap@5 "
                                 "of the 3 queries: 1.00")

    new = migration.switch()
    assert isinstance(new, vk.Collection) and new.name == "dst"
    assert set(hf_db.list_collection_names()) == {"src", "dst"}
    new = migration.switch(drop_source=True)
    assert new.name == "dst" and hf_db.list_collection_names() == ["dst"]
    assert next(iter(new.find(sort={"$vectorize": "photosynthesis"}, limit=1)))["_id"] == "t3"


def test_target_with_another_service_is_refused(hf_db, endpoint):
    src = make_source(hf_db, n_notes=0, long=False)
    hf_db.create_collection("dst", service=LOCAL)
    migration = Migration(src, "dst", service=HF)
    with pytest.raises(vk.DataAPIError) as exc:
        migration.run(progress=False)
    assert exc.value.error_code == "EXISTING_COLLECTION_DIFFERENT_SETTINGS"
    with pytest.raises(vk.DataAPIError) as exc:
        migration.estimate()
    assert exc.value.error_code == "EXISTING_COLLECTION_DIFFERENT_SETTINGS"
    dst = hf_db.get_collection("dst")
    assert dst.estimated_document_count() == 0
    assert dst.options()["vector"]["service"] == LOCAL
    assert endpoint.requests == []


def test_an_unknown_model_is_refused(db):
    src = db.create_collection("src", service=LOCAL)
    table = db.create_table("t", columns={"id": "int", "body": "text", "v": {
        "type": "vector", "dimension": 384, "service": LOCAL}}, primary_key="id")
    service = {"provider": "huggingface", "modelName": "no-such/model"}
    with pytest.raises(vk.DataAPIError) as exc:
        Migration(src, "dst", service=service)
    assert exc.value.error_code == "INVALID_CREATE_COLLECTION_OPTIONS"
    with pytest.raises(vk.DataAPIError) as exc:
        ColumnMigration(table, old_column="v", new_column="v2", service=service,
                        text_column="body")
    assert exc.value.error_code == "INVALID_CREATE_COLLECTION_OPTIONS"
    assert db.list_collection_names() == ["src"]
    assert list(table.definition()["columns"]) == ["id", "body", "v"]


# -- a table's vector column -----------------------------------------------------------------

def make_table(db, n_rows, *, long=True):
    """Rows 0..n-1 with a text ("body", embedded into "v" by the local model), the last two
    with long texts (if ``long``), and row 10_000 without a text; "v" indexed with
    dot_product."""
    table = db.create_table("books", columns={
        "id": "int", "body": "text",
        "v": {"type": "vector", "dimension": 384, "service": LOCAL}}, primary_key="id")
    table.create_vector_index("books_v_idx", "v", metric="dot_product")
    extra = LONG if long else []
    texts = [*TOPICS, *(f"note number {i}" for i in range(n_rows - 5 - len(extra))), *extra]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", vk.TokenLimitWarning)
        table.insert_many([{"id": i, "body": t, "v": t} for i, t in enumerate(texts)]
                          + [{"id": 10_000}], progress=False)
    return table, texts


def test_column_migration_estimate_and_run(hf_db, endpoint):
    table, texts = make_table(hf_db, 40)
    migration = ColumnMigration(table, old_column="v", new_column="v2", service=HF,
                                text_column="body")
    est = migration.estimate()
    counts, _ = count_tokens([MODEL.passage_prefix + t for t in texts], MODEL)
    assert (est.documents, est.done, est.to_copy, est.texts) == (41, 1, 40, 40)
    assert (est.tokens, est.requests) == (sum(counts), 2)
    assert est.over_limit == [((38,), counts[38]), ((39,), counts[39])]
    assert "v2" not in table.definition()["columns"] and endpoint.requests == []

    with pytest.warns(vk.TokenLimitWarning):
        report = migration.run(progress=False)
    assert (report.copied, report.skipped, report.failed) == (40, 1, [])
    column = table.definition()["columns"]["v2"]
    assert (column["type"], column["dimension"]) == ("vector", 384)
    assert (column["service"]["provider"], column["service"]["modelName"]) == (
        "huggingface", MINILM)
    indexes = {i["definition"]["column"]: i for i in table.list_indexes()}
    assert indexes["v2"]["indexType"] == "vector"
    assert indexes["v2"]["definition"]["options"]["metric"] == "dot_product"
    rows = {r["id"]: r for r in all_rows(table)}
    assert len(rows) == 41
    for i, text in enumerate(texts):
        assert rows[i]["body"] == text
        np.testing.assert_allclose(rows[i]["v2"], rows[i]["v"], atol=1e-5)
    assert rows[10_000].get("v2") is None and rows[10_000].get("v") is None

    again = migration.run(progress=False)
    assert (again.copied, again.skipped, again.failed) == (0, 41, [])


def test_column_migration_resumes_verifies_and_switches(hf_db, endpoint):
    # 130 rows with a text: insertMany chunks of 100 and 30
    table, texts = make_table(hf_db, 130, long=False)
    migration = ColumnMigration(table, old_column="v", new_column="v2", service=HF,
                                text_column="body")
    progress = failing_first_chunk(endpoint, Fault("status", status=500))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", vk.TokenLimitWarning)
        first = migration.run(progress=progress)
    assert first.copied == 30 and first.skipped == 1
    assert first.failed and {c for _, c in first.failed} == {"EMBEDDING_PROVIDER_SERVER_ERROR"}
    filled = {r["id"] for r in all_rows(table) if r.get("v2") is not None}
    assert len(filled) == 30
    check = migration.verify()
    assert (check.source_count, check.target_count, check.ok) == (131, 31, False)
    assert sorted(check.missing) == sorted((i,) for i in range(130) if i not in filled)
    with pytest.raises(vk.DataAPIError) as exc:
        migration.switch()
    assert exc.value.error_code == "MIGRATION_NOT_COMPLETE"
    assert "v" in table.definition()["columns"]
    assert "books_v_idx" in table.list_index_names()

    after_first = len(endpoint.requests)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", vk.TokenLimitWarning)
        second = migration.run(progress=False)
    assert (second.copied, second.skipped, second.failed) == (100, 31, [])
    assert sum(r["inputs"] for r in endpoint.requests[after_first:]) <= 100
    assert migration.run(progress=False).copied == 0

    queries = ["Which fruit grows on trees?", "a string instrument"]
    check = migration.verify(queries, k=5)
    assert (check.source_count, check.target_count, check.missing, check.ok) == (
        131, 131, [], True)
    assert list(check.comparison.table["query"]) == queries
    assert list(check.comparison.table["overlap@5"]) == [1.0, 1.0]
    assert str(check).startswith("OK: 131 in the source, 131 in the target")

    result = migration.switch()
    assert result.name == "books"
    assert list(table.definition()["columns"]) == ["id", "body", "v2"]
    assert table.list_index_names() == ["books_v2_idx"]
    hits = list(table.find(sort={"v2": "the highest mountain"}, limit=2))
    assert hits[0]["id"] == 2


def test_column_comparison_shows_both_columns_top_results(hf_db, endpoint):
    table, _ = make_table(hf_db, 12, long=False)
    migration = ColumnMigration(table, old_column="v", new_column="v2", service=HF,
                                text_column="body")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", vk.TokenLimitWarning)
        migration.run(progress=False)
    columns = migration.verify(["violin"], k=3).comparison.table.columns
    # one "top 3" column per side (old column v, new column v2), as for two collections
    assert len([c for c in columns if c.startswith("top 3")]) == 2


def test_column_migration_on_a_text_primary_key(hf_db, endpoint):
    table = hf_db.create_table("titles", columns={
        "title": "text", "v": {"type": "vector", "dimension": 384, "service": LOCAL}},
        primary_key="title")
    table.create_vector_index("titles_v", "v", metric="euclidean")
    table.insert_many([{"title": t, "v": t} for t in TOPICS])
    migration = ColumnMigration(table, old_column="v", new_column="v2", service=HF,
                                text_column="title")
    est = migration.estimate()
    assert (est.documents, est.to_copy, est.requests, est.over_limit) == (5, 5, 1, [])
    report = migration.run(progress=False)
    assert (report.copied, report.skipped, report.failed) == (5, 0, [])
    assert [i["definition"]["options"]["metric"] for i in table.list_indexes()
            if i["definition"]["column"] == "v2"] == ["euclidean"]
    assert migration.verify().ok
    migration.switch()
    assert table.list_index_names() == ["titles_v2_idx"]
    hit = next(iter(table.find(sort={"v2": "Which fruit grows on trees?"}, limit=1)))
    assert hit["title"] == TOPICS[0]


# -- review findings ---------------------------------------------------------------------------

def test_a_parent_id_field_is_not_taken_for_a_chunk(db):
    src = db.create_collection("posts", service=LOCAL)
    src.insert_one({"_id": "reply", "parent_id": "post", "$vectorize": "me too"})
    migration = Migration(src, "posts_v2", service=LOCAL)
    migration.run(progress=False)
    src.insert_one({"_id": "post", "$vectorize": "my boots leak"})
    report = migration.run(progress=False)
    assert (report.copied, report.skipped, report.failed) == (1, 1, [])
    assert migration.verify().ok


def test_a_chunked_source_chunked_again_completes(db):
    src = db.create_collection("long", service=LOCAL)
    src.insert_one({"_id": "P", "$vectorize": "boots " * 900}, long_text="chunk")
    chunks = sorted(d["_id"] for d in src.find({}))
    assert len(chunks) > 1
    small = LongTextPolicy("chunk", max_tokens=64)
    migration = Migration(src, "long_v2", service=LOCAL, long_text=small)
    first = migration.run(progress=False)
    assert first.failed == [] and first.copied == len(chunks)
    pieces = db.get_collection("long_v2").find({}, projection={"*": 1}).to_list()
    assert {p["parent_id"] for p in pieces} == set(chunks)  # each piece names its own chunk
    again = migration.run(progress=False)
    assert (again.copied, again.skipped, again.failed) == (0, len(chunks), [])
    assert migration.verify().ok


def test_the_target_must_be_another_collection(db):
    src = db.create_collection("same", service=LOCAL)
    with pytest.raises(vk.DataAPIError) as exc:
        Migration(src, "same", service=LOCAL)
    assert exc.value.error_code == "EXISTING_COLLECTION_DIFFERENT_SETTINGS"
    empty = Migration(src, "other", service=LOCAL)
    with pytest.raises(vk.DataAPIError) as exc:
        empty.switch(drop_source=True)  # nothing run: no target to switch to
    assert exc.value.error_code == "MIGRATION_NOT_COMPLETE"
    assert db.list_collection_names() == ["same"]
