"""The Data API over HTTP (vectorize_kit.server): routes, status codes, tokens and roles,
headers, and answers equal to the in-process dispatcher's. Real HTTP on loopback."""

from __future__ import annotations

import base64
import json
import logging
import re

import httpx
import pytest

import vectorize_kit as vk
from conftest import HF_TOKEN
from vectorize_kit.embedding.local import MODEL_NAME
from vectorize_kit.server import DataAPIServer, serve
from vectorize_kit.server.app import parse_body, strip_comments
from vectorize_kit.server.auth import TokenTable, command_kind

READ, ADMIN, ORG = "ro-token-1f9", "dba-token-7c2", "org-token-3e8"
JSON_ADMIN = {"Token": ADMIN, "Content-Type": "application/json"}
LOCAL = {"provider": "local", "modelName": MODEL_NAME}


@pytest.fixture
def server(db):
    with DataAPIServer(db, tokens={READ: "read-only", ADMIN: "database-administrator",
                                   ORG: "organization-administrator"}) as srv:
        yield srv


@pytest.fixture
def http(server):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def post(http, path, command, token=ADMIN, **headers):
    return http.post(path, json=command, headers={"Token": token, **headers})


def without_ids(envelope: dict) -> dict:
    """An envelope with its errors' random ids left out (they differ per instance)."""
    out = json.loads(json.dumps(envelope))
    for err in out.get("errors", []):
        err.pop("id")
    return out


# -- routes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("prefix", ["", "/api/json"])
def test_three_levels_under_both_prefixes(http, db, prefix):
    r = post(http, f"{prefix}/v1", {"findKeyspaces": {}})
    assert (r.status_code, r.json()) == (200, {"status": {"keyspaces": ["default_keyspace"]}})
    assert r.headers["content-type"] == "application/json"
    r = post(http, f"{prefix}/v1/default_keyspace",
             {"createCollection": {"name": "c", "options": {"vector": {"dimension": 2}}}})
    assert r.json() == {"status": {"ok": 1}}
    r = post(http, f"{prefix}/v1/default_keyspace/c",
             {"insertOne": {"document": {"_id": "a", "$vector": [1, 0]}}})
    assert r.json() == {"status": {"insertedIds": ["a"]}}
    assert db.get_collection("c").find_one({"_id": "a"}) == {"_id": "a"}


def test_unknown_paths_and_methods_are_plain_http_errors(http):
    assert post(http, "/v2", {"findKeyspaces": {}}).status_code == 404
    assert post(http, "/v1/a/b/c", {"find": {}}).status_code == 404
    assert http.get("/v1", headers={"Token": ADMIN}).status_code == 405


def test_command_errors_are_200_with_the_envelope(http):
    r = post(http, "/v1/nope", {"findCollections": {}})
    assert r.status_code == 200
    assert r.json()["errors"][0]["errorCode"] == "UNKNOWN_KEYSPACE"
    r = post(http, "/v1/default_keyspace/missing", {"find": {}})
    assert (r.status_code, r.json()["errors"][0]["errorCode"]) == (
        200, "UNKNOWN_COLLECTION_OR_TABLE")
    r = post(http, "/v1/default_keyspace", {"fly": {}})
    assert r.json()["errors"][0]["errorCode"] == "COMMAND_UNKNOWN"


def test_answers_equal_the_in_process_dispatcher(http, db):
    """The same commands over HTTP and through Collection.command give the same envelopes
    (one dispatcher)."""
    db.create_collection("a", dimension=2, metric="dot_product")
    db.create_collection("b", dimension=2, metric="dot_product")
    docs = [{"_id": i, "tag": "x" if i % 2 else "y", "$vector": [i / 30, 1 - i / 30]}
            for i in range(30)]
    commands = [
        {"insertMany": {"documents": docs, "options": {"returnDocumentResponses": True}}},
        {"insertOne": {"document": {"_id": 3}}},
        {"find": {"filter": {"tag": "x"}, "sort": {"$vector": [1, 0]},
                  "options": {"includeSimilarity": True, "limit": 25}}},
        {"find": {"projection": {"$vector": 1}}},
        {"countDocuments": {"filter": {"tag": "y"}}},
        {"updateMany": {"filter": {"tag": "y"}, "update": {"$inc": {"n": 1}}}},
        {"findOneAndUpdate": {"filter": {"_id": 99}, "update": {"$set": {"a": 1}}}},
        {"deleteMany": {"filter": {"tag": "x"}}},
        {"estimatedDocumentCount": {}},
        {"find": {"sort": {"$vector": [1]}}},
    ]
    local = db.get_collection("b")
    for cmd in commands:
        remote = post(http, "/v1/default_keyspace/a", cmd).json()
        assert without_ids(remote) == without_ids(local.command(cmd)), cmd


def test_paging_over_http_follows_next_page_state(http, db):
    coll = db.create_collection("many")
    coll.insert_many([{"_id": i} for i in range(45)])
    seen, state = [], None
    while True:
        options = {"pageState": state} if state else {}
        data = post(http, "/v1/default_keyspace/many", {"find": {"options": options}},
                    token=READ).json()["data"]
        seen += [d["_id"] for d in data["documents"]]
        state = data["nextPageState"]
        if state is None:
            break
    assert sorted(seen) == list(range(45))


# -- request checks --------------------------------------------------------------------------

def test_missing_and_wrong_tokens_are_401(http, db):
    r = http.post("/v1", json={"findKeyspaces": {}})
    assert r.status_code == 401
    assert r.json()["errors"][0]["errorCode"] == "MISSING_AUTHENTICATION_TOKEN"
    r = post(http, "/v1/default_keyspace", {"createCollection": {"name": "x"}}, token="nope")
    assert r.status_code == 401
    assert r.json()["errors"][0]["errorCode"] == "UNAUTHENTICATED_REQUEST"
    assert db.list_collection_names() == []


def test_legacy_cassandra_token_header(http):
    r = http.post("/v1", json={"findKeyspaces": {}}, headers={"X-Cassandra-Token": READ})
    assert r.status_code == 200


def test_content_type_must_be_json(http, db):
    body = json.dumps({"createCollection": {"name": "x"}})
    for ctype in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Token": ADMIN} | ({"Content-Type": ctype} if ctype else {})
        r = http.post("/v1/default_keyspace", content=body, headers=headers)
        assert r.status_code == 415, ctype
        assert r.json()["errors"][0]["errorCode"] == "UNSUPPORTED_CONTENT_TYPE"
    r = http.post("/v1/default_keyspace", content=body,
                  headers={"Token": ADMIN, "Content-Type": "application/json; charset=utf-8"})
    assert r.json() == {"status": {"ok": 1}}
    assert db.list_collection_names() == ["x"]


def test_bad_json_is_request_not_json(http, db):
    db.create_table("t", columns={"k": "int", "f": "double"}, primary_key="k")
    for body in (b"{nope", b"\xff\xfe", b"[1, 2", b'{"insertOne": {"document": {"k": NaN}}}',
                 b'{"insertOne": {"document": {"k": 1, "f": Infinity}}}'):
        r = http.post("/v1/default_keyspace/t", content=body,
                      headers={"Token": ADMIN, "Content-Type": "application/json"})
        assert r.status_code == 200, body
        assert r.json()["errors"][0]["errorCode"] == "REQUEST_NOT_JSON", body
    # 1e400 is JSON: too large for a double column, kept exactly in a collection
    r = http.post("/v1/default_keyspace/t", headers=JSON_ADMIN,
                  content=b'{"insertOne": {"document": {"k": 1, "f": 1e400}}}')
    assert r.json()["errors"][0]["errorCode"] == "INVALID_COLUMN_VALUES"
    assert db.get_table("t").count_documents({}, upper_bound=10) == 0
    db.create_collection("c")
    r = http.post("/v1/default_keyspace/c", headers=JSON_ADMIN,
                  content=b'{"insertOne": {"document": {"_id": 1, "f": 1e400, "g": 1.50}}}')
    assert r.json() == {"status": {"insertedIds": [1]}}
    r = http.post("/v1/default_keyspace/c", headers=JSON_ADMIN,
                  content=b'{"findOne": {"filter": {"f": {"$gt": 1e399}}}}')
    assert r.content == b'{"data":{"document":{"_id":1,"f":1E+400,"g":1.50}}}'


def test_a_body_over_20_mb_is_413(http):
    big = json.dumps({"insertOne": {"document": {"t": "x" * (21 * 1024 * 1024)}}})
    r = http.post("/v1/default_keyspace/c", content=big,
                  headers={"Token": ADMIN, "Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.json()["errors"][0]["errorCode"] == "REQUEST_TOO_LARGE"
    # sent in chunks, without a Content-Length: refused too (the server stops keeping the
    # body once it is over the limit)
    def chunks():
        for _ in range(24):
            yield b" " * (1024 * 1024)

    r = http.post("/v1/default_keyspace/c", content=chunks(),
                  headers={"Token": ADMIN, "Content-Type": "application/json"})
    assert "content-length" not in r.request.headers
    assert r.status_code == 413


def test_hash_comments_outside_strings_are_tolerated():
    text = '{\n  # a comment\n  "a": "b # not a comment", # trailing\n  "c": "\\" #"\n}'
    assert strip_comments(text) == '{\n  \n  "a": "b # not a comment", \n  "c": "\\" #"\n}'
    assert parse_body(text.encode()) == {"a": "b # not a comment", "c": '" #'}


# -- tokens and roles ------------------------------------------------------------------------

def test_command_kinds():
    assert [command_kind(c) for c in ("find", "countDocuments", "listTypes", "insertMany",
                                      "findOneAndDelete", "createCollection", "alterTable",
                                      "dropKeyspace", "addCredential", "findCredentials",
                                      "fly")] == [
        "read", "read", "read", "write", "write", "schema", "schema", "schema",
        "integrations", "integrations", "unknown"]


def test_every_command_of_the_dispatcher_has_a_kind():
    """The roles follow the dispatcher's own tables: a command added there is a schema
    change (database administrators) until it is listed as a read or a write, and an
    integration command is the organisation's."""
    from vectorize_kit.commands import INTEGRATION_COMMANDS, KNOWN_COMMANDS
    from vectorize_kit.server import auth

    assert auth._READS <= KNOWN_COMMANDS and auth._WRITES <= KNOWN_COMMANDS
    assert {command_kind(c) for c in KNOWN_COMMANDS} == {"read", "write", "schema",
                                                        "integrations"}
    assert {c for c in KNOWN_COMMANDS if command_kind(c) == "integrations"} == set(
        INTEGRATION_COMMANDS)


def test_an_unknown_command_is_command_unknown_for_every_role(http):
    for token in (READ, ADMIN, ORG):
        r = post(http, "/v1/default_keyspace", {"fly": {}}, token=token)
        assert (r.status_code, r.json()["errors"][0]["errorCode"]) == (200, "COMMAND_UNKNOWN")


def test_read_only_token_reads_and_changes_nothing(http, db):
    coll = db.create_collection("c", dimension=2)
    coll.insert_one({"_id": 1, "$vector": [1, 0]})
    assert post(http, "/v1/default_keyspace/c", {"find": {}}, token=READ).json()[
        "data"]["documents"] == [{"_id": 1}]
    refused = [
        ("/v1/default_keyspace/c", {"insertOne": {"document": {"_id": 2}}}),
        ("/v1/default_keyspace/c", {"deleteMany": {"filter": {}}}),
        ("/v1/default_keyspace/c", {"updateOne": {"filter": {"_id": 1},
                                                  "update": {"$set": {"a": 1}}}}),
        ("/v1/default_keyspace", {"deleteCollection": {"name": "c"}}),
        ("/v1/default_keyspace", {"createTable": {"name": "t", "definition": {
            "columns": {"k": "text"}, "primaryKey": "k"}}}),
        ("/v1", {"createKeyspace": {"name": "ks2"}}),
    ]
    for path, cmd in refused:
        r = post(http, path, cmd, token=READ)
        assert r.status_code == 401, cmd
        err = r.json()["errors"][0]
        assert (err["errorCode"], err["family"], err["scope"]) == (
            "UNAUTHORIZED_ACCESS", "SERVER", "DATABASE")
        assert "read-only" in err["message"] and next(iter(cmd)) in err["message"]
    assert coll.find({}).to_list() == [{"_id": 1}]
    assert db.list_collection_names() == ["c"] and db.list_table_names() == []
    assert db.list_keyspaces() == ["default_keyspace"]


def test_database_administrator_manages_data_and_schema_but_not_integrations(http, ws, db):
    assert post(http, "/v1/default_keyspace", {"createCollection": {
        "name": "c", "options": {"vector": {"service": LOCAL}}}}).json() == {"status": {"ok": 1}}
    assert post(http, "/v1", {"createKeyspace": {"name": "ks2"}}).json() == {"status": {"ok": 1}}
    r = post(http, "/v1", {"addCredential": {"provider": "huggingface", "name": "k1",
                                             "token": HF_TOKEN, "scopedDatabases": ["testdb"]}})
    assert r.status_code == 401
    assert r.json()["errors"][0]["errorCode"] == "UNAUTHORIZED_ACCESS"
    assert ws.integrations.list_credentials() == []
    # the credentials belong to the organisation: listing them is its administrator's too
    r = post(http, "/v1", {"findCredentials": {"provider": "huggingface"}})
    assert r.status_code == 401


def test_organization_administrator_manages_integrations(http, ws, db):
    other = ws.create_database("other")
    ok = {"status": {"ok": 1}}
    assert post(http, "/v1", {"addCredential": {
        "provider": "huggingface", "name": "k1", "token": HF_TOKEN,
        "scopedDatabases": ["testdb"]}}, token=ORG).json() == ok
    assert post(http, "/v1", {"addScopedDatabases": {
        "provider": "huggingface", "name": "k1", "databases": [other.id]}}, token=ORG).json() == ok
    found = post(http, "/v1", {"findCredentials": {"provider": "huggingface"}},
                 token=ORG).json()["status"]["credentials"]
    assert [(c["name"], c["scopedDatabases"]) for c in found] == [
        ("k1", [{"id": db.id, "name": "testdb"}, {"id": other.id, "name": "other"}])]
    assert post(http, "/v1", {"removeScopedDatabases": {
        "provider": "huggingface", "name": "k1", "databases": ["other"]}}, token=ORG).json() == ok
    assert post(http, "/v1", {"rotateCredential": {
        "provider": "huggingface", "name": "k1", "token": "hf_new"}}, token=ORG).json() == ok
    assert ws._state.integrations.secret("huggingface", "k1").reveal() == "hf_new"
    r = post(http, "/v1", {"addCredential": {"provider": "huggingface", "name": "-bad",
                                             "token": "hf_x"}}, token=ORG).json()
    assert r["errors"][0]["errorCode"] == "INVALID_CREDENTIAL_NAME"
    assert post(http, "/v1", {"removeCredential": {"provider": "huggingface", "name": "k1"}},
                token=ORG).json() == ok
    assert ws.integrations.list_credentials() == []


def test_cassandra_username_password_tokens(db):
    user = base64.b64encode(b"cassandra").decode()
    token = f"Cassandra:{user}:{base64.b64encode(b'cassandra').decode()}"
    table = TokenTable({token: "read-only"})
    assert table.role_of(token) == "read-only"
    # the same user and password with the padding left out is the same credential
    assert table.role_of(f"Cassandra:{user}:{user.rstrip('=')}") == "read-only"
    assert table.role_of(f"Cassandra:{user}:{base64.b64encode(b'other').decode()}") is None
    # characters outside base64 are not dropped: another token
    assert table.role_of(f"Cassandra:{user[:3]}!{user[3:]}:{user}") is None
    assert table.role_of("cassandra") is None and table.role_of("") is None
    with DataAPIServer(db, tokens={token: "database-administrator"}) as srv:
        r = httpx.post(srv.url + "/v1", json={"findKeyspaces": {}}, headers={"Token": token})
        assert r.status_code == 200


def test_token_table_checks_roles_and_generates_one_token():
    with pytest.raises(ValueError, match="unknown role"):
        TokenTable({"t": "admin"})
    with pytest.raises(ValueError, match="non-empty"):
        TokenTable({" ": "read-only"})
    generated = TokenTable()
    assert generated.generated.startswith("AstraCS:") and len(generated.generated) > 40
    assert generated.role_of(generated.generated) == "organization-administrator"
    assert TokenTable(["a", "b"]).roles() == ["organization-administrator"] * 2


def test_tokens_never_appear_in_reprs_or_logs(db, caplog):
    caplog.set_level(logging.DEBUG, logger="vectorize_kit")
    srv = serve(db, tokens={ADMIN: "database-administrator"})
    try:
        r = httpx.post(srv.url + "/v1/default_keyspace", headers={"Token": ADMIN},
                       json={"createCollection": {"name": "c"}})
        assert r.json() == {"status": {"ok": 1}}
        httpx.post(srv.url + "/v1", headers={"Token": ADMIN + "x"}, json={"findKeyspaces": {}})
        shown = repr(srv) + srv._repr_html_() + repr(srv._tokens)
        assert "database-administrator" in shown and srv.url in repr(srv)
        assert ADMIN not in shown
        assert ADMIN not in caplog.text and "/v1/default_keyspace" in caplog.text
    finally:
        srv.stop()
    assert not srv.running


# -- embedding keys, general and keyspace commands ---------------------------------------------

def test_x_embedding_api_key_header_vectorizes(hf_ws, endpoint):
    db = hf_ws.create_database("hf")
    db.create_collection("c", service={"provider": "huggingface", "modelName": MODEL_NAME})
    with DataAPIServer(db, tokens=[ADMIN]) as srv, httpx.Client(base_url=srv.url) as http:
        cmd = {"insertOne": {"document": {"_id": 1, "$vectorize": "a cat on a mat"}}}
        missing = post(http, "/v1/default_keyspace/c", cmd).json()
        assert missing["errors"][0]["errorCode"] == \
            "EMBEDDING_PROVIDER_AUTHENTICATION_KEYS_NOT_PROVIDED"
        wrong = post(http, "/v1/default_keyspace/c", cmd,
                     **{"x-embedding-api-key": "hf_wrong"}).json()
        assert wrong["errors"][0]["errorCode"] == "EMBEDDING_PROVIDER_CLIENT_ERROR"
        assert "hf_wrong" not in json.dumps(wrong)
        ok = post(http, "/v1/default_keyspace/c", cmd, **{"x-embedding-api-key": HF_TOKEN})
        assert ok.json() == {"status": {"insertedIds": [1]}}
        hit = post(http, "/v1/default_keyspace/c", {"findOne": {
            "sort": {"$vectorize": "kitten"}, "options": {"includeSimilarity": True}}},
            **{"x-embedding-api-key": HF_TOKEN}).json()["data"]["document"]
        assert hit["_id"] == 1 and hit["$similarity"] > 0.7
    assert [q["status"] for q in endpoint.requests] == [401, 200, 200]


def test_general_and_keyspace_commands(http, db):
    ok = {"status": {"ok": 1}}
    assert post(http, "/v1", {"createKeyspace": {"name": "ks2", "options": {"replication": {
        "class": "SimpleStrategy", "replication_factor": 1}}}}).json() == ok
    assert post(http, "/v1", {"findKeyspaces": {}}).json() == {
        "status": {"keyspaces": ["default_keyspace", "ks2"]}}
    assert post(http, "/v1/ks2", {"listTypes": {}}).json() == {"status": {"types": []}}
    assert post(http, "/v1/nope", {"listTypes": {}}).json()["errors"][0]["errorCode"] == \
        "UNKNOWN_KEYSPACE"
    assert post(http, "/v1", {"dropKeyspace": {"name": "ks2"}}).json() == ok
    assert db.list_keyspaces() == ["default_keyspace"]
    providers = post(http, "/v1", {"findEmbeddingProviders": {}},
                     token=READ).json()["status"]["embeddingProviders"]
    hf = providers["huggingface"]
    assert hf["displayName"] == "Hugging Face - Serverless"
    assert hf["supportedAuthentication"]["HEADER"] == {
        "enabled": True, "tokens": [{"accepted": "x-embedding-api-key",
                                     "forwarded": "Authorization"}]}
    assert [m["name"] for m in hf["models"]] == sorted(m["name"] for m in hf["models"])
    assert len(hf["models"]) == 6


def test_create_vector_index_sent_to_the_keyspace_runs_on_the_table(http, db):
    table = db.create_table("t", columns={"k": "text", "v": {"type": "vector", "dimension": 2}},
                            primary_key="k")
    db.create_table("u", columns={"k": "text", "w": {"type": "vector", "dimension": 2}},
                    primary_key="k")
    cmd = {"createVectorIndex": {"name": "t_v", "definition": {
        "column": "v", "options": {"metric": "dot_product"}}}}
    status = post(http, "/v1/default_keyspace", cmd).json()["status"]
    assert status["ok"] == 1
    (warning,) = status["warnings"]
    assert (warning["errorCode"], warning["scope"]) == ("COMMAND_TARGET_INFERRED", "WARNING")
    assert "default_keyspace.t" in warning["message"]
    assert [(i["name"], i["definition"]["options"]) for i in table.list_indexes()] == [
        ("t_v", {"metric": "dot_product", "sourceModel": "other"})]
    # a column of two tables, or of none: which table is meant can not be told
    db.create_table("w", columns={"k": "text", "v": {"type": "vector", "dimension": 2}},
                    primary_key="k")
    cmd["createVectorIndex"]["name"] = "x_v"
    err = post(http, "/v1/default_keyspace", cmd).json()["errors"][0]
    assert err["errorCode"] == "COMMAND_UNKNOWN" and "/v1/default_keyspace/<table>" in \
        err["message"]
    cmd["createVectorIndex"]["definition"]["column"] = "zz"
    assert post(http, "/v1/default_keyspace", cmd).json()["errors"][0]["errorCode"] == \
        "COMMAND_UNKNOWN"
    assert db.get_table("w").list_index_names() == []


def test_server_lifecycle(db):
    srv = DataAPIServer(db, port=0)
    assert not srv.running and srv.token.startswith("AstraCS:")
    with srv:
        assert srv.running
        assert httpx.post(srv.url + "/v1", json={"findKeyspaces": {}},
                          headers={"Token": srv.token}).status_code == 200
    assert not srv.running
    with pytest.raises(httpx.ConnectError):
        httpx.post(srv.url + "/v1", json={"findKeyspaces": {}}, headers={"Token": srv.token})
    # the port is free again
    again = DataAPIServer(db, port=srv.port)
    again.stop()


def test_two_servers_cannot_share_a_port(db):
    with DataAPIServer(db) as srv, pytest.raises(OSError):
        DataAPIServer(db, port=srv.port)


def test_requests_see_changes_made_in_the_notebook_at_once(http, db):
    coll = db.create_collection("live")
    coll.insert_one({"_id": "from-python"})
    r = post(http, "/v1/default_keyspace/live", {"insertOne": {"document": {"_id": "http"}}})
    assert r.json() == {"status": {"insertedIds": ["http"]}}
    assert sorted(d["_id"] for d in coll.find({})) == ["from-python", "http"]


def test_workspace_closed_under_the_server(ws, db):
    with DataAPIServer(db, tokens=[ADMIN]) as srv:
        ws.close()
        r = httpx.post(srv.url + "/v1", json={"findKeyspaces": {}}, headers={"Token": ADMIN})
        assert (r.status_code, r.json()["errors"][0]["errorCode"]) == (200, "WORKSPACE_CLOSED")


def test_vk_exports_serve_and_connect():
    assert vk.serve is serve
    assert vk.connect.__module__ == "vectorize_kit.server.remote"


def test_a_trailing_slash_is_served_not_redirected(http, db):
    r = post(http, "/api/json/v1/default_keyspace/", {"createCollection": {"name": "c"}})
    assert (r.status_code, r.json()) == (200, {"status": {"ok": 1}})
    r = post(http, "/v1/default_keyspace/c/", {"insertOne": {"document": {"_id": 1}}})
    assert r.json() == {"status": {"insertedIds": [1]}}
    assert post(http, "/v1/", {"findKeyspaces": {}}).status_code == 200


def test_every_request_is_logged_without_its_token(server, http, caplog):
    caplog.set_level(logging.DEBUG, logger="vectorize_kit.server")
    http.post("/v1", json={"findKeyspaces": {}})  # no token
    post(http, "/v1", {"findKeyspaces": {}}, token="wrong-token-123")
    post(http, "/v1/default_keyspace/none", {"find": {}})
    post(http, "/v1/default_keyspace", {"createCollection": {"name": "x"}}, token=READ)
    lines = [r.getMessage() for r in caplog.records if r.name == "vectorize_kit.server"]
    assert [re.sub(r" [\d.]+ ms$", "", line) for line in lines] == [
        "/v1 - role=- -> 401 MISSING_AUTHENTICATION_TOKEN",
        "/v1 - role=- -> 401 UNAUTHENTICATED_REQUEST",
        "/v1/default_keyspace/none find role=database-administrator -> 200 "
        "UNKNOWN_COLLECTION_OR_TABLE",
        "/v1/default_keyspace createCollection role=read-only -> 401 UNAUTHORIZED_ACCESS",
    ]
    assert "wrong-token-123" not in caplog.text and READ not in caplog.text


def test_unauthorized_general_command_names_no_keyspace(http):
    err = post(http, "/v1", {"createKeyspace": {"name": "k"}}, token=READ).json()["errors"][0]
    assert "collection: none (a general command)." in err["message"]


def test_general_and_keyspace_commands_go_to_their_own_level(http, db):
    r = post(http, "/v1", {"createCollection": {"name": "c"}}).json()
    assert r["errors"][0]["errorCode"] == "COMMAND_UNKNOWN"
    assert "/v1/<keyspace>" in r["errors"][0]["message"]
    r = post(http, "/v1/default_keyspace", {"findKeyspaces": {}}).json()
    assert r["errors"][0]["errorCode"] == "COMMAND_UNKNOWN"
    assert "send it to POST /v1" in r["errors"][0]["message"]
    assert db.list_collection_names() == []


def test_decimal_columns_travel_exactly(http, db):
    import decimal

    table = db.create_table("t", columns={"k": "text", "d": "decimal", "n": "varint"},
                            primary_key="k")
    exact = "3.14159265358979323846264338327950288"
    r = http.post("/v1/default_keyspace/t", headers={"Token": ADMIN,
                                                     "Content-Type": "application/json"},
                  content='{"insertOne": {"document": {"k": "pi", "d": ' + exact
                  + ', "n": 1' + "0" * 30 + '}}}')
    assert r.json()["status"]["insertedIds"] == [["pi"]]
    assert table.find_one({"k": "pi"})["d"] == decimal.Decimal(exact)
    text = post(http, "/v1/default_keyspace/t", {"find": {}}).text
    assert f'"d":{exact}' in text and '"n":1' + "0" * 30 in text


def test_a_read_does_not_wait_for_an_insert_that_is_embedding(hf_ws, endpoint):
    """An insert's $vectorize texts are embedded before it takes the collection's lock: a
    find on the same collection is answered while the insert's provider request is still
    in flight."""
    import threading

    from vectorize_kit.embedding.hf_endpoint import Fault

    db = hf_ws.create_database("busy")
    hf_ws.integrations.add_credential("huggingface", "k1", HF_TOKEN, databases=[db])
    coll = db.create_collection("c", service={"provider": "huggingface",
                                              "modelName": MODEL_NAME})
    coll.insert_one({"_id": "first", "$vectorize": "already here"})
    endpoint.faults.append(Fault("latency", delay=3.0))
    with DataAPIServer(db, tokens=[ADMIN]) as srv, httpx.Client(base_url=srv.url) as http:
        insert = threading.Thread(target=post, args=(http, "/v1/default_keyspace/c", {
            "insertMany": {"documents": [{"_id": i, "$vectorize": f"text {i}"}
                                         for i in range(10)]}}))
        before = len(endpoint.requests)
        insert.start()
        while endpoint.peak_in_flight == 0:  # the insert's request reached the provider
            insert.join(0.01)
        found = post(http, "/v1/default_keyspace/c", {"find": {}}, token=ADMIN).json()
        assert insert.is_alive()  # still waiting on the provider
        assert [d["_id"] for d in found["data"]["documents"]] == ["first"]
        insert.join(60)
    assert len(coll.find({}).to_list()) == 11
    assert len(endpoint.requests) == before + 1  # embedded once, not again under the lock


def test_an_embedding_failure_before_the_lock_is_reported_once(hf_ws, endpoint):
    db = hf_ws.create_database("fails")
    coll = db.create_collection("c", service={"provider": "huggingface",
                                              "modelName": MODEL_NAME})
    answer = coll.command({"insertMany": {"documents": [{"_id": 1, "$vectorize": "a"},
                                                        {"_id": 2}]}},
                          embedding_api_key="hf_wrong")
    assert answer["errors"][0]["errorCode"] == "EMBEDDING_PROVIDER_CLIENT_ERROR"
    assert "status" not in answer and len(coll.find({}).to_list()) == 0
    assert [q["status"] for q in endpoint.requests] == [401]  # asked once, not twice


def test_server_guards(db, ws):
    with pytest.raises(TypeError, match="local workspace"):
        DataAPIServer(vk.connect("http://127.0.0.1:9", token="t"))
    srv = DataAPIServer(db, tokens=(t for t in ["gen-token"]))
    assert srv.token == "gen-token"
    srv.start()
    srv.stop()
    with pytest.raises(RuntimeError, match="make a new one"):
        srv.start()
