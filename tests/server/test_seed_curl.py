"""Seed 000's curl commands, run as written (real curl, real bash) against
``vectorize-kit serve``, with ``API_ENDPOINT`` and ``APPLICATION_TOKEN`` set, then the seed's
next steps (insert with ``$vectorize``, vector search) over the loopback Hugging Face endpoint.

The commands are in ``tests/fixtures/seed_000_curl.sh``, copied from the seed with their
``#`` comments and placeholders; the test fills in the placeholders only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import vectorize_kit as vk
from conftest import HF_TOKEN
from vectorize_kit.embedding import get_provider
from vectorize_kit.embedding.local import MODEL_NAME
from vectorize_kit.server import DataAPIServer

SCRIPT = Path(__file__).parents[1] / "fixtures" / "seed_000_curl.sh"
PLACEHOLDERS = {
    "COLLECTION_NAME": "support_articles",
    "MODEL_DIMENSIONS": "384",
    "SIMILARITY_METRIC": "cosine",
    "MODEL_NAME": MODEL_NAME,
    "API_KEY_NAME": "hf-serverless-key",
    "TABLE_NAME": "support_table",
    "VECTOR_COLUMN_NAME": "embedding",
    "TEXT_COLUMN_NAME": "article_text",
    "INDEX_NAME": "support_table_embedding_idx",
}
TEXTS = ["How do I reset my password?", "Shipping takes three to five business days.",
         "Our tents are waterproof up to 3000 mm.", "Refunds are issued within 14 days."]


def seed_commands() -> list[str]:
    """The three commands, placeholders filled in."""
    text = SCRIPT.read_text()
    blocks = [b.strip() for b in re.split(r"^# --- command \d+$", text, flags=re.M)[1:]]
    assert len(blocks) == 3
    filled = []
    for block in blocks:
        for name, value in PLACEHOLDERS.items():
            block = re.sub(rf"\b{name}\b", value, block)
        filled.append(block)
    return filled


def run_curl(command: str, server: DataAPIServer) -> dict:
    env = {**os.environ, "API_ENDPOINT": server.url, "APPLICATION_TOKEN": server.token}
    done = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def curl_json(server: DataAPIServer, path: str, body: dict, *, key: str | None = None) -> dict:
    args = ["curl", "-sS", "-L", "-X", "POST", server.url + path,
            "--header", f"Token: {server.token}", "--header", "Content-Type: application/json",
            "--data", json.dumps(body)]
    if key:
        args[-2:-2] = ["--header", f"x-embedding-api-key: {key}"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def seeded(hf_ws):
    assert shutil.which("curl"), "curl is needed (Debian's curl package)"
    db = hf_ws.create_database("support")
    hf_ws.integrations.add_credential("huggingface", "hf-serverless-key", HF_TOKEN,
                                      databases=[db])
    with DataAPIServer(db) as server:
        yield db, server


def test_the_seeds_curl_commands_run_as_written(seeded):
    db, server = seeded
    create_collection, create_table, create_index = seed_commands()
    assert "$API_ENDPOINT/api/json/v1/default_keyspace" in create_collection
    assert "# This column will store vector embeddings." in create_table

    assert run_curl(create_collection, server) == {"status": {"ok": 1}}
    assert db.list_collections() == [{"name": "support_articles", "options": {
        "vector": {"dimension": 384, "metric": "cosine", "sourceModel": "other", "service": {
            "provider": "huggingface", "modelName": MODEL_NAME,
            "authentication": {"providerKey": "hf-serverless-key.providerKey"}}},
        "lexical": {"enabled": True, "analyzer": "standard"},
        "rerank": {"enabled": True, "service": {
            "provider": "nvidia", "modelName": "nvidia/llama-3.2-nv-rerankqa-1b-v2"}}}}]

    assert run_curl(create_table, server) == {"status": {"ok": 1}}
    assert db.get_table("support_table").definition() == {
        "columns": {
            "embedding": {"type": "vector", "dimension": 384, "service": {
                "provider": "huggingface", "modelName": MODEL_NAME,
                "authentication": {"providerKey": "hf-serverless-key.providerKey"}}},
            "article_text": {"type": "text"}},
        "primaryKey": {"partitionBy": ["article_text"], "partitionSort": {}}}

    # the seed sends createVectorIndex to the keyspace: it runs on the table with the column
    answer = run_curl(create_index, server)
    assert answer["status"]["ok"] == 1
    assert [w["errorCode"] for w in answer["status"]["warnings"]] == ["COMMAND_TARGET_INFERRED"]
    assert db.get_table("support_table").list_indexes() == [{
        "name": "support_table_embedding_idx", "indexType": "vector",
        "definition": {"column": "embedding",
                       "options": {"metric": "cosine", "sourceModel": "other"}}}]


def test_the_seeds_next_steps_insert_and_search_with_curl(seeded, endpoint):
    """Insert with $vectorize and search by text, through curl, with the credential the
    collection names (no key in the request): the vectors are the model's."""
    db, server = seeded
    for command in seed_commands():
        run_curl(command, server)
    ks = "/api/json/v1/default_keyspace"
    docs = [{"_id": i, "$vectorize": t} for i, t in enumerate(TEXTS)]
    assert curl_json(server, f"{ks}/support_articles", {"insertMany": {"documents": docs}}) == {
        "status": {"insertedIds": [0, 1, 2, 3]}}
    rows = [{"article_text": t, "embedding": t} for t in TEXTS]
    inserted = curl_json(server, f"{ks}/support_table", {"insertMany": {"documents": rows}})
    assert inserted["status"]["insertedIds"] == [[t] for t in TEXTS]

    found = curl_json(server, f"{ks}/support_articles", {"find": {
        "sort": {"$vectorize": "when will my order arrive"},
        "options": {"limit": 2, "includeSimilarity": True}}})["data"]["documents"]
    assert [d["_id"] for d in found][0] == 1
    best = curl_json(server, f"{ks}/support_table", {"findOne": {
        "sort": {"embedding": "is the tent rainproof"}, "projection": {"article_text": 1},
        "options": {"includeSimilarity": True}}})["data"]["document"]
    assert best["article_text"] == TEXTS[2]

    # exact similarities: the local model, with the same query text
    model = get_provider("local")
    query = model.embed(["when will my order arrive"], model=MODEL_NAME, kind="query")[0]
    stored = model.embed(TEXTS, model=MODEL_NAME)
    expected = (1 + stored @ query) / 2
    assert [d["$similarity"] for d in found] == pytest.approx(
        sorted(expected, reverse=True)[:2], abs=1e-5)
    assert np.argmax(expected) == 1
    # every embedding went to the loopback Hugging Face endpoint with the credential's token
    assert {q["status"] for q in endpoint.requests} == {200}
    assert not any(HF_TOKEN in json.dumps(q) for q in endpoint.requests)


def test_serve_command_line_with_curl(tmp_path, endpoint):
    """``vectorize-kit serve`` in its own process: it prints its URL and generated token; the
    seed's createCollection runs against it; Ctrl-C (SIGINT) stops it and the workspace keeps
    the collection."""
    ws = vk.Workspace(tmp_path / "ws")
    db = ws.create_database("support")
    ws.integrations.add_credential("huggingface", "hf-serverless-key", HF_TOKEN, databases=[db])
    ws.close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vectorize_kit.cli", "serve", "--workspace",
         str(tmp_path / "ws"), "--port", "0", "--hf-endpoint", endpoint.url],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first, second = proc.stdout.readline(), proc.stdout.readline()
        url = re.search(r"on (http://127\.0\.0\.1:\d+)", first)[1]
        token = re.search(r"\): (AstraCS:\S+)$", second.strip())[1]
        assert "database 'support'" in first and "organization-administrator" in second

        class Server:  # what run_curl needs
            pass
        server = Server()
        server.url, server.token = url, token
        assert run_curl(seed_commands()[0], server) == {"status": {"ok": 1}}
    finally:
        proc.send_signal(2)
        proc.wait(timeout=30)
    assert proc.returncode == 0
    assert "Stopped." in proc.stderr.read()
    with vk.Workspace(tmp_path / "ws") as again:
        assert again.get_database("support").list_collection_names() == ["support_articles"]


def test_serve_command_line_refuses_an_ambiguous_or_unknown_database(tmp_path, capsys):
    from vectorize_kit.cli import main

    ws = vk.Workspace(tmp_path / "ws")
    ws.create_database("a")
    ws.create_database("b")
    ws.close()
    for extra in ([], ["--database", "zzz"]):
        assert main(["serve", "--workspace", str(tmp_path / "ws"), "--port", "0", *extra]) == 1
        err = capsys.readouterr().err
        assert "it has a, b. Choose one with --database" in err, err
    with vk.Workspace(tmp_path / "ws") as again:  # no database was made for the typo
        assert again.list_database_names() == ["a", "b"]


def test_serve_command_line_tokens_and_roles(capsys, tmp_path):
    from vectorize_kit.cli import main, parse_tokens

    assert parse_tokens(["read-only=abc", "AstraCS:x==", "plain", "database-administrator=a=b",
                         "Cassandra:Y2Fz:Y2Fz"]) == {
        "abc": "read-only", "AstraCS:x==": "organization-administrator",
        "plain": "organization-administrator", "a=b": "database-administrator",
        "Cassandra:Y2Fz:Y2Fz": "organization-administrator"}
    # a mistyped role is refused, not read as a token with every right
    for bad, why in (("readonly=secret-1", "unknown role 'readonly'"),
                     ("read-only=", "no token after the role")):
        with pytest.raises(ValueError, match=why) as caught:
            parse_tokens([bad])
        assert "secret-1" not in str(caught.value)
        assert main(["serve", "--workspace", str(tmp_path / "ws"), "--token", bad]) == 2
        err = capsys.readouterr().err
        assert why in err and "secret-1" not in err
    assert not (tmp_path / "ws").exists()  # refused before anything was opened
