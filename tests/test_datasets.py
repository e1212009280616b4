"""The datasets shipped with vectorize_kit: the Trailhead Outfitters knowledge base and its
labelled queries."""

from __future__ import annotations

import datetime as dt

import pytest

import vectorize_kit as vk
from vectorize_kit.datasets import (
    CATEGORIES,
    LANGUAGES,
    load_knowledge_base,
    load_knowledge_base_queries,
)
from vectorize_kit.embedding.local import count_tokens

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
COLUMNS = ["id", "category", "title", "text", "updated", "helpful_votes"]
QUERY_COLUMNS = ["query_id", "language", "query", "article_id"]
# Where the six deliberately long articles are.
LONG_CATEGORIES = {"product-care": 2, "warranty": 2, "returns": 1, "sizing": 1}


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base()


@pytest.fixture(scope="module")
def queries():
    return load_knowledge_base_queries()


@pytest.fixture(scope="module")
def tokens(kb):
    return count_tokens(kb["text"].tolist())


@pytest.fixture(scope="module")
def kb_collection(kb):
    """The knowledge base in an in-memory collection embedded by the local model (once)."""
    ws = vk.Workspace()
    coll = ws.create_database("d").create_collection(
        "kb", service={"provider": "local", "modelName": MINILM}
    )
    with pytest.warns(vk.TokenLimitWarning):
        result = coll.insert_dataframe(
            kb, vectorize_column="text", long_text="truncate", progress=False
        )
    assert len(result.inserted_ids) == len(kb)
    yield coll
    ws.close()


def test_shape_columns_and_dtypes(kb):
    assert kb.shape == (320, 6)
    assert list(kb.columns) == COLUMNS
    for column in COLUMNS[:-1]:
        assert kb[column].dtype == "string", column
    assert kb["helpful_votes"].dtype == "int64"
    assert not kb.isna().any().any()


def test_each_call_returns_a_fresh_frame(kb):
    other = load_knowledge_base()
    other.loc[0, "title"] = "changed"
    assert load_knowledge_base().loc[0, "title"] == kb.loc[0, "title"] != "changed"


def test_ids_titles_and_texts_are_unique(kb):
    assert kb["id"].tolist() == [f"kb-{i:03d}" for i in range(1, 321)]
    assert kb["title"].is_unique
    assert kb["text"].is_unique


def test_forty_articles_per_category(kb):
    assert CATEGORIES == (
        "orders",
        "shipping",
        "returns",
        "account",
        "product-care",
        "sizing",
        "warranty",
        "in-store",
    )
    assert set(kb["category"]) == set(CATEGORIES)
    assert kb["category"].value_counts().to_dict() == dict.fromkeys(CATEGORIES, 40)


def test_titles_and_texts_have_sensible_lengths(kb):
    title_words = kb["title"].str.split().str.len()
    assert title_words.between(4, 12).all()
    text_words = kb["text"].str.split().str.len()
    assert text_words.min() >= 15
    assert (text_words > 400).sum() == 6
    assert text_words[text_words > 400].between(450, 700).all()
    assert text_words[text_words <= 400].max() <= 90


def test_dates_and_votes_in_range(kb):
    dates = [dt.date.fromisoformat(d) for d in kb["updated"]]
    assert all(len(d) == 10 for d in kb["updated"])
    assert min(dates) >= dt.date(2025, 1, 1)
    assert max(dates) <= dt.date(2026, 10, 31)
    assert kb["helpful_votes"].between(0, 500).all()


def test_six_long_articles_exceed_the_model_limits(kb, tokens):
    long = [i for i, n in enumerate(tokens) if n > 256]
    assert len(long) == 6
    # over MiniLM's 256 tokens, and over the 512 of the BGE models (same vocabulary)
    assert all(tokens[i] > 512 for i in long)
    assert kb["category"].iloc[long].value_counts().to_dict() == LONG_CATEGORIES
    assert max(n for n in tokens if n <= 256) <= 256


@pytest.mark.parametrize(
    ("question", "category"),
    [
        ("my boots are too small, can I swap them?", "returns"),
        ("my jacket's zipper broke after a few months, will you fix it for free?", "warranty"),
        ("I forgot my password and can't log in", "account"),
        ("how do I get the smell out of my hiking shoes?", "product-care"),
    ],
)
def test_natural_questions_find_the_right_category(kb_collection, question, category):
    top = kb_collection.find(
        {}, sort={"$vectorize": question}, limit=3, projection={"category": 1, "title": 1}
    ).to_list()
    assert len(top) == 3
    assert category in [doc["category"] for doc in top], top


# -- the labelled queries --------------------------------------------------------------------


def test_queries_shape_columns_and_dtypes(queries):
    assert LANGUAGES == ("en", "es", "de", "fr")
    assert queries.shape == (320, 4)
    assert list(queries.columns) == QUERY_COLUMNS
    for column in QUERY_COLUMNS:
        assert queries[column].dtype == "string", column
    assert not queries.isna().any().any()
    assert (queries["query"].str.strip().str.len() > 0).all()


def test_query_ids_are_unique_and_name_need_and_language(queries):
    assert queries["query_id"].is_unique
    expected = [f"q{need:02d}-{lang}" for need in range(1, 81) for lang in LANGUAGES]
    assert queries["query_id"].tolist() == expected
    assert (queries["query_id"].str[-2:] == queries["language"]).all()


def test_every_query_points_at_an_existing_article(kb, queries):
    assert set(queries["article_id"]) <= set(kb["id"])


def test_ten_needs_per_category_per_language(kb, queries):
    category = queries["article_id"].map(dict(zip(kb["id"], kb["category"])))
    counts = queries.assign(category=category).groupby(["language", "category"]).size()
    assert counts.to_dict() == {(lang, cat): 10 for lang in LANGUAGES for cat in CATEGORIES}


def test_each_need_has_all_languages_with_one_article(queries):
    needs = queries.assign(need=queries["query_id"].str[:3]).groupby("need")
    assert len(needs) == 80
    assert all(sorted(langs) == sorted(LANGUAGES) for _, langs in needs["language"])
    assert (needs["article_id"].nunique() == 1).all()
    # 80 different needs, each answered by its own article
    assert needs["article_id"].first().is_unique


def test_queries_are_short_questions_not_titles(kb, queries):
    english = queries[queries["language"] == "en"]
    assert english["query"].str.split().str.len().between(6, 15).all()
    assert queries["query"].str.split().str.len().between(4, 20).all()
    assert not set(queries["query"].str.lower()) & set(kb["title"].str.lower())
    # the translations differ from the English question
    for lang in LANGUAGES[1:]:
        other = queries.loc[queries["language"] == lang, "query"].tolist()
        assert all(a != b for a, b in zip(english["query"], other)), lang


@pytest.mark.parametrize("language", LANGUAGES)
def test_language_filter(queries, language):
    subset = load_knowledge_base_queries(language)
    assert subset.shape == (80, 4)
    assert set(subset["language"]) == {language}
    assert subset.index.tolist() == list(range(80))
    assert subset["query_id"].tolist() == [f"q{n:02d}-{language}" for n in range(1, 81)]
    expected = queries[queries["language"] == language].reset_index(drop=True)
    assert subset.equals(expected)


@pytest.mark.parametrize("language", ["EN", "it", "", "english"])
def test_unknown_language_raises(language):
    with pytest.raises(ValueError, match="'en', 'es', 'de', 'fr'"):
        load_knowledge_base_queries(language)


def test_queries_none_means_all_languages(queries):
    assert load_knowledge_base_queries(None).equals(queries)
