"""The loopback endpoint's response cache (``HFEndpoint(cache=True)``).

Real HTTP on 127.0.0.1 and the real MiniLM model behind it.  The Inference API's cache layer,
the ``x-use-cache`` header and the legacy ``options.use_cache`` body are in
``reference/hf-embeddings.md`` §1.2.
"""

from __future__ import annotations

import logging
import threading
import time

import httpx
import numpy as np
import pytest

from vectorize_kit.embedding import get_provider
from vectorize_kit.embedding.hf_endpoint import Fault, HFEndpoint
from vectorize_kit.embedding.local import MODEL_NAME, count_tokens

TOKEN = "tok-cache-a"
OTHER_TOKEN = "tok-cache-b"
ROUTE = f"/hf-inference/models/{MODEL_NAME}/pipeline/feature-extraction"


@pytest.fixture(scope="module")
def ep():
    with HFEndpoint(tokens={TOKEN, OTHER_TOKEN}, cache=True) as endpoint:
        yield endpoint


@pytest.fixture(autouse=True)
def _fresh(request):
    if "ep" in request.fixturenames:
        endpoint = request.getfixturevalue("ep")
        endpoint.reset()
        endpoint.clear_cache()
    yield


@pytest.fixture(scope="module")
def client():
    with httpx.Client(timeout=30) as c:
        yield c


def post(client: httpx.Client, ep: HFEndpoint, body=None, *, token: str = TOKEN,
         model: str = MODEL_NAME, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    url = f"{ep.url}/hf-inference/models/{model}/pipeline/feature-extraction"
    return client.post(url, json=body, headers=headers, **kwargs)


def counters(ep: HFEndpoint) -> tuple[int, int, int]:
    return ep.cache_hits, ep.cache_misses, ep.cache_entries


def local(texts: list[str]) -> np.ndarray:
    return get_provider("local").embed(texts, model=MODEL_NAME)


def words(n_tokens: int) -> str:
    """A text of exactly ``n_tokens`` tokens, [CLS] and [SEP] included."""
    text = " ".join(["river"] * (n_tokens - 2))
    assert count_tokens([text]) == [n_tokens]
    return text


# -- hits and misses -----------------------------------------------------------------------

def test_a_hit_answers_the_very_bytes_of_the_miss(ep, client):
    texts = ["a cat sat on the mat", "stone bridge at dawn"]
    first = post(client, ep, {"inputs": texts, "truncate": True})
    assert first.status_code == 200
    assert counters(ep) == (0, 2, 2)
    again = post(client, ep, {"inputs": texts, "truncate": True})
    assert again.status_code == 200
    assert again.headers["content-type"] == "application/json"
    assert counters(ep) == (2, 2, 2)
    assert again.content == first.content
    got = np.asarray(again.json(), dtype=np.float32)
    assert got.shape == (2, 384)
    np.testing.assert_allclose(got, local(texts), rtol=0, atol=1e-6)


def test_the_same_texts_batched_differently_hit(ep, client):
    texts = ["one red boat", "two green doors", "three tall trees", "four old clocks"]
    rows = post(client, ep, {"inputs": texts}).json()
    assert counters(ep) == (0, 4, 4)
    assert post(client, ep, {"inputs": [texts[3], texts[1]]}).json() == [rows[3], rows[1]]
    assert counters(ep) == (2, 4, 4)
    # a single string is a hit too, and still answers [[...]]
    assert post(client, ep, {"inputs": texts[2]}).json() == [rows[2]]
    assert counters(ep) == (3, 4, 4)
    # hits and a miss in one request: only the miss reaches the model, the order is kept
    mixed = post(client, ep, {"inputs": [texts[0], "five blue birds", texts[0]]}).json()
    assert counters(ep) == (5, 5, 5)
    assert mixed[0] == mixed[2] == rows[0]
    np.testing.assert_allclose(np.asarray(mixed[1], dtype=np.float32),
                               local(["five blue birds"])[0], rtol=0, atol=1e-6)


def test_a_text_repeated_in_one_request_is_embedded_once(ep, client):
    rows = post(client, ep, {"inputs": ["echo", "echo", "echo"]}).json()
    assert rows[0] == rows[1] == rows[2]
    assert counters(ep) == (0, 3, 1)


def test_the_token_is_no_part_of_the_key(ep, client):
    first = post(client, ep, {"inputs": ["shared text"]})
    second = post(client, ep, {"inputs": ["shared text"]}, token=OTHER_TOKEN)
    assert second.content == first.content
    assert counters(ep) == (1, 1, 1)


# -- skipping the cache --------------------------------------------------------------------

@pytest.mark.parametrize("value", ["false", "FALSE", "False"])
def test_x_use_cache_false_embeds_again(ep, client, value):
    texts = ["cached once", "cached twice"]
    post(client, ep, {"inputs": texts})
    assert counters(ep) == (0, 2, 2)
    r = post(client, ep, {"inputs": texts}, headers={"x-use-cache": value})
    assert r.status_code == 200
    assert counters(ep) == (0, 4, 2)
    np.testing.assert_allclose(np.asarray(r.json(), dtype=np.float32), local(texts),
                               rtol=0, atol=1e-6)
    # without the header it is a hit again
    post(client, ep, {"inputs": texts})
    assert counters(ep) == (2, 4, 2)


@pytest.mark.parametrize("value", ["true", "1", ""])
def test_other_x_use_cache_values_read_the_cache(ep, client, value):
    post(client, ep, {"inputs": ["kept"]})
    post(client, ep, {"inputs": ["kept"]}, headers={"X-Use-Cache": value})
    assert counters(ep) == (1, 1, 1)


def test_options_use_cache_false_embeds_again(ep, client):
    body = {"inputs": ["legacy body"], "options": {"wait_for_model": True, "use_cache": False}}
    post(client, ep, {"inputs": ["legacy body"]})
    assert post(client, ep, body).status_code == 200
    assert counters(ep) == (0, 2, 1)
    # only a JSON false skips it
    for options in ({"use_cache": True}, {"use_cache": "false"}, {}, None, "no-cache"):
        assert post(client, ep, {"inputs": ["legacy body"], "options": options}
                    ).status_code == 200
    assert counters(ep) == (5, 2, 1)


def test_truncate_true_and_false_are_cached_apart(ep, client):
    text = "a short sentence"
    post(client, ep, {"inputs": [text], "truncate": False})
    assert counters(ep) == (0, 1, 1)
    post(client, ep, {"inputs": [text], "truncate": True})
    assert counters(ep) == (0, 2, 2)
    # no "truncate": auto_truncate (True) is in effect, so the truncate-true entry answers
    post(client, ep, {"inputs": [text]})
    post(client, ep, {"inputs": [text], "truncate": False})
    assert counters(ep) == (2, 2, 2)


def test_a_text_cached_truncated_is_still_refused_without_truncation(ep, client):
    long_text = words(300)
    ok = post(client, ep, {"inputs": [long_text], "truncate": True})
    np.testing.assert_allclose(np.asarray(ok.json(), dtype=np.float32), local([words(256)]),
                               rtol=0, atol=1e-6)
    r = post(client, ep, {"inputs": [long_text], "truncate": False})
    assert r.status_code == 422
    assert r.json() == {"error": "Input validation error: `inputs` must have less than 256 "
                                 "tokens. Given: 300", "error_type": "Validation"}
    assert counters(ep) == (0, 1, 1)


# -- everything before the cache still applies ---------------------------------------------

def test_a_cached_text_still_goes_through_auth_model_and_validation(ep, client):
    post(client, ep, {"inputs": ["guarded"]})
    assert counters(ep) == (0, 1, 1)
    bad = post(client, ep, {"inputs": ["guarded"]}, token="nope")
    assert bad.status_code == 401
    assert bad.json() == {"error": "Invalid credentials in Authorization header"}
    other = post(client, ep, {"inputs": ["guarded"]}, model="BAAI/bge-small-en-v1.5")
    assert other.status_code == 404
    assert other.json() == {"error": "Model BAAI/bge-small-en-v1.5 does not exist"}
    too_many = post(client, ep, {"inputs": ["guarded"] * 33})
    assert too_many.status_code == 422
    assert too_many.json() == {"error": "batch size 33 > maximum allowed batch size 32",
                               "error_type": "Validation"}
    empty = post(client, ep, {"inputs": ["guarded", ""]})
    assert empty.status_code == 400
    assert empty.json() == {"error": "Input validation error: `inputs` cannot be empty",
                            "error_type": "Empty"}
    not_bool = post(client, ep, {"inputs": ["guarded"], "truncate": "yes"})
    assert not_bool.status_code == 422
    assert counters(ep) == (0, 1, 1)  # none of them was served, from the cache or not
    assert [q["status"] for q in ep.requests] == [200, 401, 404, 422, 400, 422]


def test_faults_apply_to_cached_texts(ep, client):
    post(client, ep, {"inputs": ["faulty"]})
    ep.faults.append(Fault("rate_limit", times=1, retry_after=1))
    ep.faults.append(Fault("loading", times=1, estimated_time=2.0))
    ep.faults.append(Fault("drop", times=1))
    r = post(client, ep, {"inputs": ["faulty"]})
    assert (r.status_code, r.headers["retry-after"]) == (429, "1")
    r = post(client, ep, {"inputs": ["faulty"]})
    assert (r.status_code, r.json()) == (503, {"error": f"Model {MODEL_NAME} is currently "
                                                        "loading", "estimated_time": 2.0})
    with pytest.raises(httpx.RemoteProtocolError):
        post(client, ep, {"inputs": ["faulty"]})
    assert counters(ep) == (0, 1, 1)
    ep.faults.append(Fault("latency", delay=0.01, times=1))
    assert post(client, ep, {"inputs": ["faulty"]}).status_code == 200
    assert counters(ep) == (1, 1, 1)
    assert [q["faults"] for q in ep.requests] == [[], ["rate_limit"], ["loading"], ["drop"],
                                                  ["latency"]]


def test_hits_do_not_wait_for_the_model(ep, client):
    post(client, ep, {"inputs": ["fast path"]})
    # hold the model (as a long batch of other requests would): a hit is still answered,
    # a miss waits for the model
    with ep._model_lock:
        assert post(client, ep, {"inputs": ["fast path"]}, timeout=5).status_code == 200
        with pytest.raises(httpx.ReadTimeout):
            post(client, ep, {"inputs": ["slow path"]}, timeout=0.3)
    # the miss is served once the model is free (to a client that has gone)
    deadline = time.monotonic() + 10
    while ep.requests[-1]["status"] is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [q["status"] for q in ep.requests] == [200, 200, 200]
    assert counters(ep) == (1, 2, 2)


# -- counters, life cycle, logs, the default -----------------------------------------------

def test_reset_zeroes_the_counters_and_clear_cache_drops_the_vectors(ep, client):
    post(client, ep, {"inputs": ["x", "y"]})
    post(client, ep, {"inputs": ["x"]})
    assert counters(ep) == (1, 2, 2)
    ep.reset()
    assert counters(ep) == (0, 0, 2)
    post(client, ep, {"inputs": ["y"]})
    assert counters(ep) == (1, 0, 2)
    ep.clear_cache()
    post(client, ep, {"inputs": ["y"]})
    assert counters(ep) == (1, 1, 1)
    assert repr(ep).endswith(", cache=True)")


def test_the_cache_never_logs_the_token(client, caplog):
    caplog.set_level(logging.DEBUG, logger="vectorize_kit")
    with HFEndpoint(tokens={"hush-cache-token"}, cache=True) as endpoint:
        for headers in ({}, {"x-use-cache": "false"}):
            assert post(client, endpoint, {"inputs": ["quiet"]}, token="hush-cache-token",
                        headers=headers).status_code == 200
        assert counters(endpoint) == (0, 2, 1)
        post(client, endpoint, {"inputs": ["quiet"]}, token="hush-cache-token")
    logged = "\n".join(r.getMessage() for r in caplog.records
                       if r.name == "vectorize_kit.hf_endpoint")
    assert "served 1 of 1 input(s) from the cache" in logged
    assert "(bypassed on request)" in logged
    assert "hush-cache-token" not in logged


def test_the_cache_is_off_by_default(client):
    with HFEndpoint(tokens={TOKEN}) as endpoint:
        assert endpoint.cache is False
        first = post(client, endpoint, {"inputs": ["not cached", "at all"]})
        second = post(client, endpoint, {"inputs": ["not cached", "at all"]})
        assert (first.status_code, second.status_code) == (200, 200)
        assert counters(endpoint) == (0, 0, 0)
        assert "cache" not in repr(endpoint)


def test_concurrent_hits_agree(ep):
    texts = [[f"parallel {i} {j}" for j in range(4)] for i in range(4)]
    with httpx.Client(timeout=30) as c:
        expected = [post(c, ep, {"inputs": t}).content for t in texts]
    ep.faults.append(Fault("latency", delay=0.2))
    results: dict[int, bytes] = {}

    def call(i: int) -> None:
        with httpx.Client(timeout=30) as c:
            results[i] = post(c, ep, {"inputs": texts[i]}).content

    threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[i] for i in range(4)] == expected
    assert ep.peak_in_flight >= 2
    assert counters(ep) == (16, 16, 16)


@pytest.mark.timeout(60)
def test_the_command_line_turns_the_cache_on():
    """``vectorize-kit hf-endpoint --cache``: a text sent again is answered with the very
    bytes of its first answer, in the short float32 form only the cache writes."""
    import os
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "vectorize_kit.cli", "hf-endpoint", "--port", "0", "--cache",
         "--token", TOKEN], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={k: v for k, v in os.environ.items() if k != "HF_ENDPOINT_TOKEN"})
    try:
        url = proc.stdout.readline().split(" on ")[1].split(" ")[0]
        with httpx.Client(timeout=30) as client:
            answers = [client.post(url + ROUTE, json={"inputs": ["a cat", "a dog"]},
                                   headers={"Authorization": f"Bearer {TOKEN}"})
                       for _ in range(2)]
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].content == answers[1].content
    numbers = answers[0].text.strip("[]").replace("[", "").replace("]", "").split(",")
    assert len(numbers) == 768
    assert all(np.float32(n) == np.float32(float(n)) for n in numbers)
    assert max(len(n.lstrip("-")) for n in numbers) <= 14  # float32's shortest forms
