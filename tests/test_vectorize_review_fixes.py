"""Vectorize behaviour a review found wrong (each test failed before its fix)."""

from __future__ import annotations

import os
import stat
import threading
import traceback
import warnings

import pytest

import vectorize_kit as vk
from vectorize_kit.embedding.hf_endpoint import Fault, HFEndpoint
from vectorize_kit.embedding.huggingface import HuggingFaceProvider
from vectorize_kit.embedding.tokens import chunk_text, count_tokens
from vectorize_kit.models import PROVIDERS

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
HF = "huggingface"
TOKEN = "tok-review-5e2c91"


def chain(exc: BaseException) -> list[BaseException]:
    seen = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


@pytest.mark.parametrize("fault", [Fault("drop"), Fault("timeout", delay=1.0),
                                   Fault("status", status=500)])
def test_no_error_keeps_the_token_reachable(fault):
    with HFEndpoint(tokens={TOKEN}) as ep:
        ep.faults.append(fault)
        client = HuggingFaceProvider(base_url=ep.url, timeout=0.3, max_retries=0)
        with pytest.raises(vk.DataAPIError) as info:
            client.embed(["x"], model=MINILM, api_key=TOKEN)
    err = info.value
    assert chain(err) == [err]  # nothing behind it: no httpx request with its headers
    assert TOKEN not in "".join(traceback.format_exception(err))
    frames = traceback.walk_tb(err.__traceback__)
    assert all(TOKEN not in repr(v) for f, _ in frames for v in f.f_locals.values())
    with pytest.raises(vk.DataAPIError):  # unreachable: the other path
        HuggingFaceProvider(base_url="http://127.0.0.1:9").embed(["x"], model=MINILM,
                                                                 api_key=TOKEN)


def test_rotate_with_a_bad_token_changes_nothing(ws):
    db = ws.create_database("d")
    ws.integrations.add_credential(HF, "k1", "old", databases=[db])
    with pytest.raises(vk.DataAPIError) as info:
        ws.integrations.rotate_credential(HF, "k1", "  ")
    assert info.value.error_code == "INVALID_CREDENTIAL_SECRET"
    (cred,) = ws.integrations.list_credentials(HF)
    assert cred.databases == (db.id,)
    assert ws._state.integrations.secret(HF, "k1").reveal() == "old"


def test_rotation_never_leaves_a_gap():
    with HFEndpoint(tokens={"t1", "t2"}) as ep:
        ws = vk.Workspace(hf_endpoint=ep.url)
        db = ws.create_database("d")
        ws.integrations.add_credential(HF, "k1", "t1", databases=[db])
        coll = db.create_collection("c", service={"provider": HF, "modelName": MINILM})
        coll.insert_one({"_id": 0, "$vectorize": "cached query"})
        codes: list[str] = []
        stop = threading.Event()

        def rotate():
            token = "t1"
            while not stop.is_set():
                token = "t2" if token == "t1" else "t1"
                ws.integrations.rotate_credential(HF, "k1", token)

        worker = threading.Thread(target=rotate)
        worker.start()
        try:
            for _ in range(300):
                env = coll.command({"findOne": {"sort": {"$vectorize": "cached query"}}})
                codes.append(env.get("errors", [{}])[0].get("errorCode", "ok"))
        finally:
            stop.set()
            worker.join()
            ws.close()
    assert set(codes) == {"ok"}


def test_non_ascii_texts_are_counted():
    model = PROVIDERS["local"].model(MINILM)
    text = "한국어 문장입니다 " * 20  # 200 characters, more than 256 tokens
    (count,), _ = count_tokens([text], model)
    assert len(text) < 254 < count


def test_a_short_hangul_text_still_warns(db):
    coll = db.create_collection("c", service={"provider": "local", "modelName": MINILM})
    with pytest.warns(vk.TokenLimitWarning):
        coll.insert_one({"$vectorize": "한국어 문장입니다 " * 20})
    env = coll.command({"insertOne": {"document": {"$vectorize": "한국어 문장입니다 " * 20}}},
                       long_text="error")
    assert env["errors"][0]["errorCode"] == "VECTORIZE_TEXT_TOO_LONG"


def test_every_chunk_fits():
    import random

    model = PROVIDERS["local"].model(MINILM)
    rng = random.Random(3)
    text = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz     ") for _ in range(5000))
    pieces = chunk_text(text, model)
    counts, _ = count_tokens(pieces, model)
    assert len(pieces) > 5 and max(counts) <= 256


def test_chunked_inserts_report_honest_counts(db):
    coll = db.create_collection("c", service={"provider": "local", "modelName": MINILM})
    coll.insert_one({"_id": "dup"})
    with pytest.raises(vk.InsertManyError) as info:
        coll.insert_many([{"_id": "p", "$vectorize": "river mountain " * 300}, {"_id": "dup"}],
                         long_text="chunk")
    assert len(info.value.inserted_ids) == 3
    assert "3 stored (from 2 given), 1 error(s)" in info.value.message


def test_re_creating_is_idempotent_whatever_credential_was_chosen(ws):
    db = ws.create_database("d")
    ws.integrations.add_credential(HF, "one", "t1", databases=[db])
    cmd = {"createCollection": {"name": "c", "options": {"vector": {"service": {
        "provider": HF, "modelName": MINILM}}}}}
    assert db.command(cmd) == {"status": {"ok": 1}}
    ws.integrations.add_credential(HF, "two", "t2", databases=[db])
    assert db.command(cmd) == {"status": {"ok": 1}}


def test_a_dimension_of_the_wrong_type(db):
    env = db.command({"createCollection": {"name": "c", "options": {"vector": {
        "dimension": "768", "service": {"provider": HF, "modelName": "BAAI/bge-base-en-v1.5"}}}}})
    assert env["errors"][0]["errorCode"] == "COMMAND_FIELD_VALUE_INVALID"
    assert "dimension must be an integer" in env["errors"][0]["message"]


def test_query_warnings_do_not_suggest_chunking(db):
    coll = db.create_collection("c", service={"provider": "local", "modelName": MINILM})
    with pytest.warns(vk.TokenLimitWarning) as record:
        coll.find_one({}, sort={"$vectorize": "river " * 400})
    assert "Shorten the search text" in str(record[0].message)
    assert "chunk" not in str(record[0].message)


def test_the_cache_file_is_private(tmp_path):
    with vk.Workspace(tmp_path / "ws"):
        pass
    mode = stat.S_IMODE(os.stat(tmp_path / "ws" / "embedding-cache.sqlite").st_mode)
    assert mode == 0o600


def test_bad_vectors_from_the_provider_are_refused():
    import json
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    answers = {"nan": [[float("nan")] * 384], "zero": [[0.0] * 384],
               "ragged": [[[0.1] * 384, [0.3] * 384], ],
               "upper": [[0.5] * 384]}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            kind = self.headers["Authorization"].split()[-1]
            body = json.dumps(answers[kind]).replace("NaN", "NaN").encode()
            self.send_response(200)
            self.send_header("Content-Type", "Application/JSON" if kind == "upper"
                             else "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = HuggingFaceProvider(base_url=f"http://127.0.0.1:{server.server_port}")
        for kind in ("nan", "zero"):
            with pytest.raises(vk.DataAPIError) as info:
                client.embed(["x"], model=MINILM, api_key=kind)
            assert info.value.error_code == "EMBEDDING_PROVIDER_UNEXPECTED_RESPONSE"
        pooled = client.embed(["x"], model=MINILM, api_key="ragged")  # token-level: pooled
        assert pooled.shape == (1, 384) and abs(float((pooled ** 2).sum()) - 1) < 1e-5
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert client.embed(["x"], model=MINILM, api_key="upper").shape == (1, 384)
    finally:
        server.shutdown()
