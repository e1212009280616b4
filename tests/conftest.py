"""Shared fixtures: an in-memory workspace, a database, collections."""

from __future__ import annotations

import os

import pytest

import vectorize_kit as vk
from vectorize_kit.embedding.hf_endpoint import HFEndpoint

# Tests never leave the machine: a huggingface provider without an explicit endpoint goes to
# a closed loopback port (and fails at once) instead of the Hugging Face router.
os.environ["VECTORIZE_KIT_HF_ENDPOINT"] = "http://127.0.0.1:9"


# The token the loopback Hugging Face endpoint of ``endpoint`` accepts.
HF_TOKEN = "hf_test-token-5f2a9c"


@pytest.fixture
def endpoint():
    """A loopback Hugging Face endpoint (real HTTP, the local model) that accepts HF_TOKEN."""
    with HFEndpoint(tokens={HF_TOKEN}) as ep:
        yield ep


@pytest.fixture
def hf_ws(endpoint):
    """A workspace whose ``huggingface`` provider is the loopback endpoint."""
    ws = vk.Workspace(hf_endpoint=endpoint.url)
    yield ws
    ws.close()


@pytest.fixture
def ws():
    workspace = vk.Workspace()
    yield workspace
    workspace.close()


@pytest.fixture
def db(ws):
    return ws.create_database("testdb")


@pytest.fixture
def coll(db):
    """A plain collection (no vectors)."""
    return db.create_collection("docs")


@pytest.fixture
def vcoll(db):
    """A 3-d cosine vector collection."""
    return db.create_collection("vecs", dimension=3, metric="cosine")


def code(envelope: dict) -> str:
    """The error code of a failed command's envelope."""
    assert "errors" in envelope, envelope
    return envelope["errors"][0]["errorCode"]


def all_rows(table) -> list[dict]:
    """Every row of a table with every column (vectors included), over all pages of find."""
    rows: list[dict] = []
    options: dict = {}
    while True:
        answer = table.command({"find": {"options": options}})
        assert set(answer) == {"data", "status"}, answer
        rows += answer["data"]["documents"]
        if answer["data"]["nextPageState"] is None:
            return rows
        options = {"pageState": answer["data"]["nextPageState"]}


def labelled_subset(questions: int, articles: int):
    """The first ``questions`` labelled help-centre questions (each in its four languages)
    and ``articles`` articles: the ones that answer them, then others: (articles, queries)."""
    import pandas as pd

    from vectorize_kit.datasets import load_knowledge_base, load_knowledge_base_queries

    kb = load_knowledge_base()
    queries = load_knowledge_base_queries()
    queries = queries[queries["query_id"].str[1:3].astype(int) <= questions]
    answers = set(queries["article_id"])
    kb = pd.concat([kb[kb["id"].isin(answers)],
                    kb[~kb["id"].isin(answers)].head(articles - len(answers))])
    assert answers <= set(kb["id"]) and len(kb) == articles
    return kb, queries
