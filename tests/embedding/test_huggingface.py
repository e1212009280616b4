"""The Hugging Face provider against the loopback endpoint: real HTTP, the real model."""

from __future__ import annotations

import numpy as np
import pytest

import vectorize_kit as vk
from vectorize_kit.embedding import register_provider
from vectorize_kit.embedding.hf_endpoint import Fault, HFEndpoint
from vectorize_kit.embedding.huggingface import HuggingFaceProvider
from vectorize_kit.embedding.local import LocalProvider

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
GOOD, OTHER = "tok-good-1", "tok-good-2"
TEXTS = [f"Sentence number {i} is about {'cats' if i % 2 else 'markets'}." for i in range(70)]


@pytest.fixture(scope="module")
def endpoint():
    with HFEndpoint(tokens={GOOD, OTHER}, seed=0) as ep:
        yield ep


@pytest.fixture
def ep(endpoint):
    endpoint.faults.clear()
    endpoint.requests.clear()
    yield endpoint
    endpoint.faults.clear()


@pytest.fixture(scope="module")
def reference():
    return LocalProvider().embed(TEXTS, model=MINILM)


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def provider(ep, **options) -> HuggingFaceProvider:
    options.setdefault("sleep", Sleeps())
    return HuggingFaceProvider(base_url=ep.url, **options)


def test_batches_of_32_in_order(ep, reference):
    vectors = provider(ep, max_in_flight=3).embed(TEXTS, model=MINILM, api_key=GOOD)
    assert vectors.dtype == np.float32 and vectors.shape == (70, 384)
    assert np.allclose(vectors, reference, atol=1e-5)
    assert sorted(r["inputs"] for r in ep.requests) == [6, 32, 32]
    assert all(r["truncate"] is True and r["model"] == MINILM for r in ep.requests)


def test_retries_honour_retry_after_and_estimated_time(ep, reference):
    ep.faults.append(Fault("rate_limit", times=2, retry_after=3))
    ep.faults.append(Fault("loading", times=1, estimated_time=7.5))
    sleeps = Sleeps()
    vectors = provider(ep, sleep=sleeps, max_in_flight=1).embed(TEXTS[:5], model=MINILM,
                                                                 api_key=GOOD)
    assert np.allclose(vectors, reference[:5], atol=1e-5)
    assert sleeps == [3.0, 3.0, 7.5]
    assert [r["status"] for r in ep.requests] == [429, 429, 503, 200]


def test_backoff_grows_with_jitter(ep):
    ep.faults.append(Fault("status", status=504, times=3))
    sleeps = Sleeps()
    import random
    provider(ep, sleep=sleeps, rng=random.Random(1), backoff=1.0).embed(
        TEXTS[:1], model=MINILM, api_key=GOOD)
    assert len(sleeps) == 3
    assert all(0 <= s <= cap for s, cap in zip(sleeps, [1.0, 2.0, 4.0]))


@pytest.mark.parametrize("fault, code, fragment", [
    (Fault("rate_limit"), "EMBEDDING_PROVIDER_RATE_LIMITED",
     "Provider 'huggingface' rate limited the request with HTTP 429"),
    (Fault("loading", estimated_time=0.0), "EMBEDDING_PROVIDER_SERVER_ERROR",
     "Provider 'huggingface' returned a HTTP server error with HTTP 503; error message: "
     "\"Model sentence-transformers/all-MiniLM-L6-v2 is currently loading\""),
    (Fault("status", status=500), "EMBEDDING_PROVIDER_SERVER_ERROR", "with HTTP 500"),
    (Fault("status", status=408), "EMBEDDING_PROVIDER_TIMEOUT", "The HTTP status code was: 408"),
    (Fault("unauthorized"), "EMBEDDING_PROVIDER_CLIENT_ERROR",
     "Provider 'huggingface' returned a HTTP client error with HTTP 401; error message: "
     "\"Invalid credentials in Authorization header\""),
    (Fault("status", status=402), "EMBEDDING_PROVIDER_CLIENT_ERROR", "with HTTP 402"),
    (Fault("drop"), "EMBEDDING_PROVIDER_UNAVAILABLE", "connection"),
])
def test_failures_map_to_data_api_codes(ep, fault, code, fragment):
    ep.faults.append(fault)
    with pytest.raises(vk.DataAPIError) as info:
        provider(ep, max_retries=2).embed(TEXTS[:3], model=MINILM, api_key=GOOD)
    assert info.value.error_code == code
    assert fragment in info.value.message
    retried = fault.kind in ("rate_limit", "loading", "drop") or fault.status in (408,)
    assert len(ep.requests) == (3 if retried else 1)


def test_timeouts_are_retried_then_reported(ep):
    ep.faults.append(Fault("timeout", delay=0.6))
    with pytest.raises(vk.DataAPIError) as info:
        provider(ep, timeout=0.2, max_retries=1).embed(TEXTS[:1], model=MINILM, api_key=GOOD)
    assert info.value.error_code == "EMBEDDING_PROVIDER_TIMEOUT"
    assert "<CLIENT SOCKET TIMEOUT>" in info.value.message


def test_a_batch_too_large_is_halved():
    with HFEndpoint(tokens={GOOD}, max_batch_size=8) as small:
        vectors = provider(small).embed(TEXTS[:20], model=MINILM, api_key=GOOD)
        assert vectors.shape == (20, 384)
        sizes = [r["inputs"] for r in small.requests]
        assert sizes[0] == 20 and max(s for s, r in zip(sizes, small.requests)
                                      if r["status"] == 200) <= 8


def test_models_the_endpoint_lacks_give_a_client_error(ep):
    with pytest.raises(vk.DataAPIError) as info:
        provider(ep).embed(["x"], model="BAAI/bge-small-en-v1.5", api_key=GOOD)
    assert info.value.error_code == "EMBEDDING_PROVIDER_CLIENT_ERROR"
    assert "HTTP 404" in info.value.message


def test_unreachable_endpoint():
    far = HuggingFaceProvider(base_url="http://127.0.0.1:9")  # discard port: nothing there
    with pytest.raises(vk.DataAPIError) as info:
        far.embed(["x"], model=MINILM, api_key=GOOD)
    assert info.value.error_code == "EMBEDDING_PROVIDER_UNAVAILABLE"


# -- the seeds' workflows: credentials, scopes, a huggingface collection ----------------------

@pytest.fixture
def hf_ws(ep):
    ws = vk.Workspace(hf_endpoint=ep.url)
    yield ws
    ws.close()


def hf_collection(db, **auth):
    return db.create_collection("docs", service={"provider": "huggingface",
                                                 "modelName": MINILM, **auth})


def test_insert_and_search_through_a_credential(hf_ws, ep, reference):
    db = hf_ws.create_database("prod")
    hf_ws.integrations.add_credential("huggingface", "prod-key", GOOD, databases=[db])
    coll = hf_collection(db, authentication={"providerKey": "prod-key"})
    coll.insert_many([{"_id": i, "$vectorize": t} for i, t in enumerate(TEXTS)])
    stored = np.array([d["$vector"] for d in coll.find({}, sort={"_id": 1}, limit=20,
                                                       projection={"$vector": 1})])
    assert np.allclose(stored, reference[:20], atol=1e-5)
    hit = coll.find_one({}, sort={"$vectorize": TEXTS[33]}, include_similarity=True)
    assert hit["_id"] == 33 and hit["$similarity"] == pytest.approx(1.0, abs=1e-5)


def test_removing_the_credential_disables_and_re_adding_restores(hf_ws, ep):
    db = hf_ws.create_database("prod")
    hf_ws.integrations.add_credential("huggingface", "rot", GOOD, databases=[db])
    coll = hf_collection(db)
    coll.insert_one({"_id": 1, "$vectorize": TEXTS[1]})
    hf_ws.integrations.remove_credential("huggingface", "rot")
    env = coll.command({"insertOne": {"document": {"_id": 2, "$vectorize": TEXTS[2]}}})
    assert env["errors"][0]["errorCode"] == "VECTORIZE_CREDENTIAL_INVALID"
    assert "credential 'rot'" in env["errors"][0]["message"]
    requests_before = len(ep.requests)
    hf_ws.integrations.add_credential("huggingface", "rot", OTHER, databases=[db])  # rotated
    coll.insert_one({"_id": 2, "$vectorize": TEXTS[2]})
    assert len(ep.requests) == requests_before + 1 and len(coll) == 2
    assert coll.options()["vector"]["service"]["authentication"] == {
        "providerKey": "rot.providerKey"}


def test_a_per_call_key(hf_ws, ep):
    db = hf_ws.create_database("dev")
    coll = hf_collection(db)  # no credential in scope: header-key mode
    keyed = db.get_collection("docs", embedding_api_key=GOOD)
    keyed.insert_one({"_id": 1, "$vectorize": TEXTS[0]})
    env = coll.command({"insertOne": {"document": {"_id": 2, "$vectorize": TEXTS[1]}}},
                       embedding_api_key=OTHER)
    assert env == {"status": {"insertedIds": [2]}}
    env = coll.command({"insertOne": {"document": {"_id": 3, "$vectorize": "x"}}},
                       embedding_api_key="wrong")
    assert env["errors"][0]["errorCode"] == "EMBEDDING_PROVIDER_CLIENT_ERROR"
    assert "HTTP 401" in env["errors"][0]["message"] and "wrong" not in str(env)
    assert len(coll) == 2


def test_a_bad_token_inserts_nothing(hf_ws, ep):
    db = hf_ws.create_database("prod")
    hf_ws.integrations.add_credential("huggingface", "stale", "tok-expired", databases=[db])
    coll = hf_collection(db)
    with pytest.raises(vk.InsertManyError) as info:
        coll.insert_many([{"_id": i, "$vectorize": t} for i, t in enumerate(TEXTS[:40])])
    assert info.value.error_code == "EMBEDDING_PROVIDER_CLIENT_ERROR"
    assert "returned a HTTP client error with HTTP 401" in info.value.message
    assert "tok-expired" not in info.value.message and len(coll) == 0


def test_thirty_percent_faults_still_embed_everything(ep):
    texts = [f"{TEXTS[i % 70]} This is copy number {i}." for i in range(1000)]
    reference = LocalProvider().embed(texts, model=MINILM)
    ep.faults.extend([Fault("rate_limit", probability=0.1, retry_after=0),
                      Fault("loading", probability=0.1, estimated_time=0.0),
                      Fault("timeout", probability=0.1, delay=2.0)])
    # a stalled answer (2 s) is far past the client's timeout; a normal one (one batch of
    # model compute, even on a busy 2-core machine) is far below it
    register_provider(HuggingFaceProvider(base_url=ep.url, timeout=1.5, max_retries=12,
                                          backoff=0.01, max_in_flight=4), endpoint=ep.url)
    ws = vk.Workspace(hf_endpoint=ep.url)
    try:
        db = ws.create_database("load")
        ws.integrations.add_credential("huggingface", "k1", GOOD, databases=[db])
        coll = hf_collection(db)
        docs = [{"_id": i, "$vectorize": t} for i, t in enumerate(texts)]
        coll.insert_many(docs, progress=False)
        assert len(coll) == 1000
        statuses = [r["status"] for r in ep.requests]
        # 1000 distinct texts embedded up front, in 32 requests; faults made it take more
        # (a stalled request still ends in 200 at the endpoint after the client gave up)
        assert statuses.count(200) >= 32 and sum(f.applied for f in ep.faults) > 0
        got = coll.to_pandas(include_vector=True)
        for _id, vec in zip(got["_id"], got["$vector"]):
            assert np.allclose(vec, reference[int(_id)], atol=1e-5)
    finally:
        ws.close()


def test_the_cache_never_sends_a_text_twice(tmp_path, ep):
    root = tmp_path / "ws"
    with vk.Workspace(root, hf_endpoint=ep.url) as ws:
        db = ws.create_database("prod")
        ws.integrations.add_credential("huggingface", "k1", GOOD, databases=[db])
        coll = hf_collection(db)
        coll.insert_many([{"_id": i, "$vectorize": TEXTS[i % 3]} for i in range(10)])
        assert [r["inputs"] for r in ep.requests] == [3]  # three distinct texts, one request
        coll.insert_one({"_id": 10, "$vectorize": TEXTS[1]})
        assert len(ep.requests) == 1
    with vk.Workspace(root, hf_endpoint=ep.url) as ws:  # kept on disk, across sessions
        coll = ws.get_database("prod").get_collection("docs")
        coll.insert_one({"_id": 11, "$vectorize": TEXTS[2]})
        coll.insert_one({"_id": 12, "$vectorize": TEXTS[5]})
        assert [r["inputs"] for r in ep.requests] == [3, 1]
        assert GOOD.encode() not in (root / "embedding-cache.sqlite").read_bytes()
        assert TEXTS[5].encode() not in (root / "embedding-cache.sqlite").read_bytes()
