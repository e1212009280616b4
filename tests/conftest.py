"""Shared fixtures: an in-memory workspace, a database, collections."""

from __future__ import annotations

import pytest

import vectorize_kit as vk


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
