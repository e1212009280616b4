"""Is the new model better? recall@k and MRR of labelled queries, per language, in
compare_models and Migration.verify (the local models: MiniLM, then multilingual-e5-small)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest

import vectorize_kit as vk
from conftest import labelled_subset
from vectorize_kit.migrate import Migration
from vectorize_kit.viz import compare_models, retrieval_quality

MINILM = {"provider": "local", "modelName": "sentence-transformers/all-MiniLM-L6-v2"}
E5 = {"provider": "local", "modelName": "intfloat/multilingual-e5-small"}
DOCS = [
    ("pw", "To reset your password, open Sign in and choose Forgot password."),
    ("ship", "Orders ship within two business days; tracking arrives by email."),
    ("ret", "Returns are free within 30 days if the tags are still on."),
    ("size", "Our boots run small: order half a size up."),
]
QUERIES = pd.DataFrame({
    "query": ["I forgot my password", "when will my order arrive", "can I send it back",
              "¿Cómo restablezco mi contraseña?", "¿Cuándo llega mi pedido?",
              "¿Puedo devolver un artículo?"],
    "article_id": ["pw", "ship", "ret", "pw", "ship", "ret"],
    "language": ["en", "en", "en", "es", "es", "es"],
})


def test_retrieval_quality_by_hand():
    found = [["a", "b", "c"], ["c", "a"], ["x", "y"]]
    answers = ["b", "c", "z"]
    # ranks 2, 1 and none: recall 2/3, MRR (1/2 + 1/1 + 0) / 3
    assert retrieval_quality(found, answers, k=3) == pytest.approx((2 / 3, 0.5))
    # k=1: only the second query has its answer first
    assert retrieval_quality(found, answers, k=1) == pytest.approx((1 / 3, 1 / 3))
    assert retrieval_quality([["a"]], ["a"], k=5) == (1.0, 1.0)
    with pytest.raises(ValueError, match="2 result lists for 1 answers"):
        retrieval_quality([[], []], ["a"], k=1)


@pytest.fixture(scope="module")
def pair():
    db = vk.Workspace().create_database("db")
    out = []
    for name, service in (("old", MINILM), ("new", E5)):
        coll = db.create_collection(name, service=service)
        coll.insert_many([{"_id": i, "$vectorize": t} for i, t in DOCS], progress=False)
        out.append(coll)
    return out


def test_compare_models_reports_recall_and_mrr_per_language(pair):
    old, new = pair
    result = compare_models(old, new, QUERIES, k=2)
    table = result.table
    assert table["language"].tolist() == QUERIES["language"].tolist()
    quality = result.quality
    assert quality["language"].tolist() == ["en", "es", "all"]
    assert quality["queries"].tolist() == [3, 3, 6]
    # each figure is the mean over the queries of the group of the per-query ranks
    for side in ("old", "new"):
        ranks = table[f"rank in {side}"]
        for group, picked in (("en", table["language"] == "en"),
                              ("es", table["language"] == "es"), ("all", table.index >= 0)):
            row = quality[quality["language"] == group].iloc[0]
            r = ranks[picked]
            assert row[f"recall@2 {side}"] == pytest.approx(r.notna().mean())
            assert row[f"MRR@2 {side}"] == pytest.approx((1 / r.dropna()).sum() / len(r))
    # the multilingual model answers every Spanish question first
    es = quality[quality["language"] == "es"].iloc[0]
    assert es["MRR@2 new"] == 1.0 and es["MRR@2 new"] > es["MRR@2 old"]

    fig = result.quality_figure
    bars = [t for t in fig.data if isinstance(t, go.Bar)]
    assert len(bars) == 4  # recall and MRR, old and new
    assert [b.name for b in bars[:2]] == [f"old ({MINILM['modelName']})",
                                          f"new ({E5['modelName']})"]
    assert list(bars[1].x) == ["en", "es", "all"]
    assert list(bars[1].y) == quality["recall@2 new"].tolist()
    assert "recall@2" in result._repr_html_()


def test_answers_and_groups_given_as_lists(pair):
    old, new = pair
    result = compare_models(old, new, QUERIES["query"].tolist(), k=2,
                            answers=QUERIES["article_id"].tolist(),
                            by=QUERIES["language"].tolist())
    from_frame = compare_models(old, new, QUERIES, k=2).quality
    assert list(result.quality.columns) == ["group", *from_frame.columns[1:]]
    assert result.quality.to_numpy().tolist() == from_frame.to_numpy().tolist()
    plain = compare_models(old, new, ["password"], k=2)  # unlabelled: as before
    assert plain.quality is None and plain.quality_figure is None
    assert "rank in old" not in plain.table.columns


@pytest.mark.parametrize("kwargs, message", [
    ({"queries": pd.DataFrame({"text": ["a"]})}, "needs a 'query' column"),
    ({"queries": QUERIES, "answers": "answer"}, "answers='answer' is not a column"),
    ({"queries": ["a", "b"], "answers": ["pw"]}, "answers has 1 items for 2 queries"),
    ({"queries": ["a"], "by": ["en"]}, "give answers= too"),
    ({"queries": "a"}, "not one text"),
    ({"queries": ["a"], "answers": "article_id"}, "names a column: give the queries as a"),
    ({"queries": ["a", "b"], "answers": [1, 2]}, "none of the answers is the key of a "
                                                 "document: e.g. 1 \\(int\\)"),
])
def test_labelled_queries_are_checked(pair, kwargs, message):
    with pytest.raises(ValueError, match=message):
        compare_models(*pair, **kwargs)


def test_migration_verify_answers_is_the_new_model_better():
    """MiniLM -> multilingual-e5-small on 40 help-centre articles and their labelled
    questions in four languages: the non-English questions improve."""
    kb, queries = labelled_subset(10, 40)
    db = vk.Workspace().create_database("db")
    old = db.create_collection("articles", service=MINILM)
    old.insert_dataframe(kb.rename(columns={"id": "_id"}), vectorize_column="text",
                         progress=False)
    migration = Migration(old, "articles_e5", service=E5)
    migration.run(progress=False)
    check = migration.verify(queries, k=5)
    quality = check.comparison.quality.set_index("language")
    assert quality.index.tolist() == ["en", "es", "de", "fr", "all"]
    for lang in ("es", "de", "fr"):
        assert quality.loc[lang, "recall@5 articles_e5"] > quality.loc[lang, "recall@5 articles"]
    assert quality.loc["all", "recall@5 articles_e5"] >= 0.8
    before, after = quality.loc["all", ["recall@5 articles", "recall@5 articles_e5"]]
    assert f"recall@5 {before:.2f} before, {after:.2f} after" in str(check)
    assert check.ok


def test_retrieval_quality_refuses_what_is_not_one_list_per_query():
    assert retrieval_quality(pd.Series([["a", "b"], ["c"]]), pd.Series(["b", "x"]), k=2) == \
        pytest.approx((0.5, 0.25))  # pandas columns are lists too
    for bad_k in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="k must be a positive integer"):
            retrieval_quality([["a"]], ["a"], k=bad_k)
    with pytest.raises(ValueError, match="a string is not"):
        retrieval_quality([["a"]], "a", k=1)
    with pytest.raises(ValueError, match="a list of document keys, not 'abc'"):
        retrieval_quality(["abc"], ["a"], k=1)


def test_a_dataframe_without_answers_is_compared_unlabelled(pair):
    result = compare_models(*pair, QUERIES[["query", "language"]], k=2)
    assert result.quality is None and "rank in old" not in result.table.columns


def test_some_answers_unknown_warn(pair):
    with pytest.warns(UserWarning, match="1 of 2 answers are the key of no document"):
        result = compare_models(*pair, ["password", "pear"], k=2, answers=["pw", "nope"])
    assert result.quality["recall@2 new"].iloc[-1] == 0.5


def test_a_text_stored_as_chunks_counts_as_its_document(db):
    """A long article chunked by the migration is found as its parent: recall counts it,
    and its chunks take one place among the results."""
    long = " ".join(["Warranty claims are reviewed within ten days."] * 120)
    docs = [{"_id": "long", "text": long}, *({"_id": i, "text": t} for i, t in DOCS)]
    old = db.create_collection("old2", service=MINILM)
    with pytest.warns(vk.TokenLimitWarning):  # MiniLM embeds its first 256 tokens
        old.insert_many([{"_id": d["_id"], "$vectorize": d["text"]} for d in docs],
                        progress=False)
    migration = Migration(old, "chunked", service=E5, long_text="chunk")
    migration.run(progress=False)
    new = db.get_collection("chunked")
    assert len(new) > len(docs)  # the long one is stored as several documents
    result = compare_models(old, new, ["how long does a warranty claim take?"], k=3,
                            answers=["long"])
    table = result.table
    assert table["rank in chunked"].tolist() == [1]
    assert result.quality["recall@3 chunked"].iloc[-1] == 1.0
