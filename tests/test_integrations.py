"""Credentials, scoped databases and createCollection's service validation (seeds 000, 002)."""

from __future__ import annotations

import os
import stat

import pytest

import vectorize_kit as vk
from conftest import code
from vectorize_kit.integrations import credential_name_problems

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
HF = "huggingface"


def hf_service(model=MINILM, key=None, **extra):
    service = {"provider": HF, "modelName": model, **extra}
    if key is not None:
        service["authentication"] = {"providerKey": key}
    return service


@pytest.mark.parametrize("name", ["ab", "prod-support-chat-created-oct-2026",
                                  "webstore-test-jira-1234", "a_b", "A9", "x" * 50])
def test_valid_token_names(ws, name):
    assert credential_name_problems(name) == []
    assert ws.integrations.add_credential(HF, name, "tok").name == name


@pytest.mark.parametrize("name, problem", [
    ("a", "2 to 50 characters (has 1)"),
    ("x" * 51, "2 to 50 characters (has 51)"),
    ("-ab", "start and end with a letter or number"),
    ("ab_", "start and end with a letter or number"),
    ("a b", "only letters, numbers, underscores and hyphens"),
    ("a.b", "only letters, numbers, underscores and hyphens"),
    ("é1", "start and end with a letter or number"),
    ("", "start and end with a letter or number"),
])
def test_invalid_token_names(ws, name, problem):
    assert any(problem in p for p in credential_name_problems(name))
    with pytest.raises(vk.DataAPIError) as info:
        ws.integrations.add_credential(HF, name, "tok")
    assert info.value.error_code == "INVALID_CREDENTIAL_NAME"
    assert problem in info.value.message
    assert ws.integrations.list_credentials(HF) == []


def test_names_are_unique_per_provider(ws):
    ws.integrations.add_credential(HF, "key-1", "tok")
    assert credential_name_problems("key-1", ["key-1"]) == [
        "must be unique within the provider's integration (it is taken)"]
    with pytest.raises(vk.DataAPIError) as info:
        ws.integrations.add_credential(HF, "key-1", "other")
    assert info.value.error_code == "CREDENTIAL_ALREADY_EXISTS"
    with pytest.raises(vk.DataAPIError) as info:
        ws.integrations.add_credential("local", "key-2", "tok")
    assert info.value.error_code == "UNKNOWN_EMBEDDING_PROVIDER"
    with pytest.raises(vk.DataAPIError) as info:
        ws.integrations.add_credential(HF, "key-3", "  ")
    assert info.value.error_code == "INVALID_CREDENTIAL_SECRET"


def test_scopes_ten_at_a_time(ws):
    dbs = [ws.create_database(f"db{i}") for i in range(12)]
    with pytest.raises(vk.DataAPIError) as info:
        ws.integrations.add_credential(HF, "wide", "tok", databases=dbs[:11])
    assert info.value.error_code == "TOO_MANY_SCOPED_DATABASES"
    assert "up to 10 databases at once" in info.value.message and "repeat" in info.value.message
    assert ws.integrations.list_credentials(HF) == []
    ws.integrations.add_credential(HF, "wide", "tok", databases=dbs[:10])
    cred = ws.integrations.add_scoped_databases(HF, "wide", ["db10", dbs[11].id])
    assert set(cred.databases) == {d.id for d in dbs}
    with pytest.raises(vk.DataAPIError) as info:
        ws.integrations.add_scoped_databases(HF, "wide", dbs[:11])
    assert info.value.error_code == "TOO_MANY_SCOPED_DATABASES"
    cred = ws.integrations.remove_scoped_databases(HF, "wide", [dbs[0]])
    assert dbs[0].id not in cred.databases and len(cred.databases) == 11


def test_new_databases_are_in_no_scope_and_may_be_in_several(ws):
    a = ws.create_database("a")
    ws.integrations.add_credential(HF, "one", "t1", databases=[a])
    ws.integrations.add_credential(HF, "two", "t2", databases=[a])
    b = ws.create_database("b")
    assert ws.integrations.available_credentials(HF, b) == []
    assert ws.integrations.available_credentials(HF, a) == ["one", "two"]


def test_service_validation(ws):
    db = ws.create_database("d")
    other = ws.create_database("other")
    ws.integrations.add_credential(HF, "mine", "tok", databases=[db])
    cases = [
        ({"provider": "gpt", "modelName": "x"}, "INVALID_CREATE_COLLECTION_OPTIONS",
         "Service provider 'gpt' is not supported"),
        ({"provider": "openai", "modelName": "x"}, "INVALID_CREATE_COLLECTION_OPTIONS",
         "The 'dimension' can not be left out for model 'x' of provider 'openai'"),
        (hf_service("gpt-2"), "INVALID_CREATE_COLLECTION_OPTIONS",
         "Model name 'gpt-2' for provider 'huggingface' is not supported"),
        ({"provider": HF}, "INVALID_CREATE_COLLECTION_OPTIONS", "Model name 'None'"),
        (hf_service(parameters={"x": 1}), "INVALID_CREATE_COLLECTION_OPTIONS",
         "Unexpected parameter"),
        (hf_service(key="nope"), "VECTORIZE_CREDENTIAL_INVALID",
         "has no credential named 'nope'"),
        (hf_service(authentication={"apiKey": "x"}), "INVALID_CREATE_COLLECTION_OPTIONS",
         "does not support authentication key"),
        ({"provider": "local", "modelName": MINILM, "authentication": {"providerKey": "mine"}},
         "INVALID_CREATE_COLLECTION_OPTIONS", "does not support authentication key"),
    ]
    for service, expected, fragment in cases:
        env = db.command({"createCollection": {"name": "c", "options": {
            "vector": {"service": service}}}})
        assert code(env) == expected, service
        assert fragment in env["errors"][0]["message"]
    env = db.command({"createCollection": {"name": "c", "options": {"vector": {
        "dimension": 768, "service": hf_service()}}}})
    assert code(env) == "INVALID_CREATE_COLLECTION_OPTIONS"
    assert ("The provided dimension value '768' doesn't match the model's supported dimension "
            "value '384'") in env["errors"][0]["message"]
    env = other.command({"createCollection": {"name": "c", "options": {"vector": {
        "service": hf_service(key="mine")}}}})
    assert code(env) == "VECTORIZE_CREDENTIAL_INVALID"
    assert "database not in scope" in env["errors"][0]["message"]
    assert db.list_collection_names() == [] and other.list_collection_names() == []


@pytest.mark.parametrize("model, dim", [
    (MINILM, 384), ("intfloat/multilingual-e5-large", 1024),
    ("intfloat/multilingual-e5-large-instruct", 1024), ("BAAI/bge-small-en-v1.5", 384),
    ("BAAI/bge-base-en-v1.5", 768), ("BAAI/bge-large-en-v1.5", 1024),
])
def test_the_six_models_fill_their_dimension(ws, model, dim):
    db = ws.create_database("d")
    ws.integrations.add_credential(HF, "k1", "tok", databases=[db])
    coll = db.create_collection("c", service=hf_service(model), metric="dot_product")
    assert coll.options()["vector"] == {
        "dimension": dim, "metric": "dot_product", "sourceModel": "other",
        "service": {"provider": HF, "modelName": model,
                    "authentication": {"providerKey": "k1.providerKey"}}}


def test_credential_choice(ws):
    db = ws.create_database("d")
    # no credential in scope: header-key mode (each call must bring x-embedding-api-key)
    header = db.create_collection("header", service=hf_service())
    assert "authentication" not in header.options()["vector"]["service"]
    env = header.command({"insertOne": {"document": {"$vectorize": "hi"}}})
    assert code(env) == "EMBEDDING_PROVIDER_AUTHENTICATION_KEYS_NOT_PROVIDED"
    assert "'x-embedding-api-key' header is missing" in env["errors"][0]["message"]
    ws.integrations.add_credential(HF, "only", "tok", databases=[db])
    chosen = db.create_collection("chosen", service=hf_service())
    assert chosen.options()["vector"]["service"]["authentication"] == {
        "providerKey": "only.providerKey"}
    ws.integrations.add_credential(HF, "second", "tok2", databases=[db])
    env = db.command({"createCollection": {"name": "ambiguous", "options": {
        "vector": {"service": hf_service()}}}})
    assert code(env) == "VECTORIZE_CREDENTIAL_INVALID"
    assert "['only', 'second']" in env["errors"][0]["message"]
    # the collection keeps the credential it was created with
    assert chosen.options()["vector"]["service"]["authentication"] == {
        "providerKey": "only.providerKey"}
    # idempotent with the rewritten or the plain form of the key
    for key in ("only", "only.providerKey"):
        assert db.command({"createCollection": {"name": "chosen", "options": {
            "vector": {"service": hf_service(key=key)}}}}) == {"status": {"ok": 1}}


def test_find_embedding_providers(db):
    env = db.command({"findEmbeddingProviders": {}})
    hf = env["status"]["embeddingProviders"]["huggingface"]
    assert hf["displayName"] == "Hugging Face - Serverless"
    assert hf["url"] == ("https://router.huggingface.co/hf-inference/models/{modelId}/pipeline/"
                         "feature-extraction")
    assert hf["supportedAuthentication"]["HEADER"] == {
        "enabled": True, "tokens": [{"accepted": "x-embedding-api-key",
                                     "forwarded": "Authorization"}]}
    assert [(m["name"], m["vectorDimension"]) for m in hf["models"]] == [
        ("BAAI/bge-base-en-v1.5", 768), ("BAAI/bge-large-en-v1.5", 1024),
        ("BAAI/bge-small-en-v1.5", 384), ("intfloat/multilingual-e5-large", 1024),
        ("intfloat/multilingual-e5-large-instruct", 1024), (MINILM, 384)]
    assert hf["models"][0] == {"name": "BAAI/bge-base-en-v1.5",
                               "apiModelSupport": {"status": "SUPPORTED"},
                               "vectorDimension": 768, "parameters": []}
    local = env["status"]["embeddingProviders"]["local"]
    assert local["supportedAuthentication"]["NONE"] == {"enabled": True, "tokens": []}
    deprecated = db.command({"findEmbeddingProviders": {
        "options": {"filterModelStatus": "deprecated"}}})
    assert deprecated["status"]["embeddingProviders"]["huggingface"]["models"] == []
    assert code(db.command({"findEmbeddingProviders": {
        "options": {"filterModelStatus": "gone"}}})) == "COMMAND_FIELD_VALUE_INVALID"


def test_remove_disables_and_re_adding_restores(ws):
    db = ws.create_database("d")
    ws.integrations.add_credential(HF, "rot", "tok", databases=[db])
    coll = db.create_collection("c", service=hf_service())
    before = coll.options()
    assert ws.integrations.collections_using(HF, "rot") == ["d/default_keyspace.c"]
    ws.integrations.remove_credential(HF, "rot")
    for command in ({"insertOne": {"document": {"$vectorize": "x"}}},
                    {"find": {"sort": {"$vectorize": "x"}}}):
        env = coll.command(command)
        assert code(env) == "VECTORIZE_CREDENTIAL_INVALID"
        message = env["errors"][0]["message"]
        assert "credential 'rot'" in message and "was removed" in message
        assert "Add a credential named 'rot' again with database 'd'" in message
    ws.integrations.add_credential(HF, "rot", "new-token")  # same name, database not in scope
    env = coll.command({"insertOne": {"document": {"$vectorize": "x"}}})
    assert "database not in scope" in env["errors"][0]["message"]
    ws.integrations.add_scoped_databases(HF, "rot", [db])
    assert coll.options() == before
    assert len(coll) == 0


def test_rotate_keeps_name_and_scope(ws):
    dbs = [ws.create_database(f"db{i}") for i in range(13)]
    ws.integrations.add_credential(HF, "rot", "old", databases=dbs[:10])
    ws.integrations.add_scoped_databases(HF, "rot", dbs[10:])
    before = ws.integrations.list_credentials(HF)[0]
    after = ws.integrations.rotate_credential(HF, "rot", "new")
    assert (after.name, set(after.databases)) == (before.name, set(before.databases))
    assert ws._state.integrations.secret(HF, "rot").reveal() == "new"


def test_dropping_a_database_takes_it_out_of_scopes(ws):
    db = ws.create_database("gone")
    ws.integrations.add_credential(HF, "k1", "tok", databases=[db])
    ws.drop_database("gone")
    assert ws.integrations.list_credentials(HF)[0].databases == ()


def test_credentials_persist_and_secrets_are_private(tmp_path):
    with vk.Workspace(tmp_path / "ws") as ws:
        db = ws.create_database("d")
        ws.integrations.add_credential(HF, "k1", "tok-123", databases=[db])
    root = tmp_path / "ws"
    assert stat.S_IMODE(os.stat(root / "secrets.json").st_mode) == 0o600
    assert "tok-123" in (root / "secrets.json").read_text()
    assert "tok-123" not in (root / "integrations.json").read_text()
    with vk.Workspace(root) as ws:
        (cred,) = ws.integrations.list_credentials(HF)
        assert cred.name == "k1" and cred.databases == (ws.get_database("d").id,)
        assert ws._state.integrations.secret(HF, "k1").reveal() == "tok-123"
