"""A planted token must appear in no repr, log, error, envelope or data file (only in the
user-only secrets file)."""

from __future__ import annotations

import logging
import os
import stat

import vectorize_kit as vk
from vectorize_kit.embedding.hf_endpoint import HFEndpoint

TOKEN = "tok-PLANTED-3f9a1c7e5b"  # stands for a Hugging Face user access token
HEADER_KEY = "key-PLANTED-header-8d2e"  # a per-call x-embedding-api-key
MINILM = "sentence-transformers/all-MiniLM-L6-v2"


def test_tokens_never_leak(tmp_path, caplog):
    seen: list[str] = []  # every text a user could see

    def show(value):
        seen.append(repr(value))
        seen.append(str(value))
        if hasattr(value, "_repr_html_"):
            seen.append(value._repr_html_())
        return value

    def attempt(action):
        try:
            show(action())
        except vk.DataAPIError as exc:
            show(exc)
            seen.append(exc.message)

    caplog.set_level(logging.DEBUG, logger="vectorize_kit")
    root = tmp_path / "ws"
    # a loopback Hugging Face endpoint that accepts the planted token (the per-call key it
    # refuses), so that every path runs for real, the failing ones included
    endpoint = HFEndpoint(tokens={TOKEN}).start()
    with vk.Workspace(root, hf_endpoint=endpoint.url) as ws:
        db = show(ws.create_database("d"))
        other = ws.create_database("other")
        integ = show(ws.integrations)
        show(integ.add_credential("huggingface", "planted", TOKEN, databases=[db]))
        show(integ.list_credentials())
        show(ws)
        coll = show(db.create_collection("c", service={"provider": "huggingface",
                                                       "modelName": MINILM}))
        show(coll.options())
        show(db.command({"findCollections": {"options": {"explain": True}}}))
        # every vectorize path, through the credential...
        show(coll.command({"insertOne": {"document": {"$vectorize": "hello"}}}))
        show(coll.command({"find": {"sort": {"$vectorize": "hello"}}}))
        attempt(lambda: coll.insert_many([{"$vectorize": "a"}, {"$vectorize": "b"}]))
        attempt(lambda: coll.update_one({}, {"$set": {"$vectorize": "c"}}, upsert=True))
        show(coll.find({}, projection={"*": 1}).to_list())
        # ... with a per-call key that the provider refuses (401) too
        keyed = show(db.get_collection("c", embedding_api_key=HEADER_KEY))
        show(keyed.command({"insertOne": {"document": {"$vectorize": "hello"}}}))
        show(coll.command({"insertOne": {"document": {"$vectorize": "x"}}},
                          embedding_api_key=HEADER_KEY))
        attempt(lambda: keyed.find_one({}, sort={"$vectorize": "q"}))
        # scope errors, rotation, removal
        show(other.command({"createCollection": {"name": "x", "options": {"vector": {
            "service": {"provider": "huggingface", "modelName": MINILM,
                        "authentication": {"providerKey": "planted"}}}}}}))
        attempt(lambda: integ.add_credential("huggingface", "planted", TOKEN))
        attempt(lambda: integ.add_credential("huggingface", "-bad-", TOKEN))
        show(integ.rotate_credential("huggingface", "planted", TOKEN + "-2"))
        show(integ.remove_credential("huggingface", "planted"))
        show(coll.command({"insertOne": {"document": {"$vectorize": "hello"}}}))
        show(integ.add_credential("huggingface", "planted", TOKEN, databases=[db]))
        show(coll.command({"insertOne": {"document": {"$vectorize": "restored"}}}))
    endpoint.stop()
    assert len(endpoint.requests) >= 5  # the provider was really called
    seen.append(caplog.text)
    for text in seen:
        assert TOKEN not in text and HEADER_KEY not in text, text
    secrets = root / "secrets.json"
    assert stat.S_IMODE(os.stat(secrets).st_mode) == 0o600
    assert TOKEN in secrets.read_text()  # the one place it is kept
    for path in root.rglob("*"):
        if path.is_file() and path != secrets:
            data = path.read_bytes()
            assert TOKEN.encode() not in data and HEADER_KEY.encode() not in data, path
