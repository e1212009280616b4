"""The loopback Hugging Face endpoint: real HTTP on 127.0.0.1, the real MiniLM model behind it.

Protocol facts asserted here come from ``reference/hf-embeddings.md`` §1 (TEI >= 1.9 status
codes and message strings).  The CLI is run as a real subprocess.
"""

from __future__ import annotations

import logging
import os
import random
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import numpy as np
import pytest

from vectorize_kit.cli import TOKEN_ENV, main
from vectorize_kit.embedding import get_provider
from vectorize_kit.embedding.hf_endpoint import Fault, HFEndpoint
from vectorize_kit.embedding.local import MODEL_NAME, count_tokens

TOKEN = "tok-a"
ROUTE = f"/hf-inference/models/{MODEL_NAME}/pipeline/feature-extraction"
# a one-token word: a text of n of them is n + 2 tokens ([CLS] and [SEP])
WORD = "river"


@pytest.fixture(scope="module")
def ep():
    with HFEndpoint(tokens={"tok-a", "tok-b"}, seed=0) as endpoint:
        yield endpoint


@pytest.fixture(autouse=True)
def _clean(request):
    yield
    if "ep" in request.fixturenames:
        request.getfixturevalue("ep").reset()


@pytest.fixture(scope="module")
def client():
    with httpx.Client(timeout=30) as c:
        yield c


def post(client: httpx.Client, ep: HFEndpoint, body=None, *, token: str | None = TOKEN,
         model: str = MODEL_NAME, timeout: float | None = None, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    headers.update(kwargs.pop("headers", {}))
    extra = {"timeout": timeout} if timeout is not None else {}
    url = f"{ep.url}/hf-inference/models/{model}/pipeline/feature-extraction"
    if body is not None:
        kwargs["json"] = body
    return client.post(url, headers=headers, **extra, **kwargs)


def local(texts: list[str]) -> np.ndarray:
    return get_provider("local").embed(texts, model=MODEL_NAME)


def words(n_tokens: int) -> str:
    """A text of exactly ``n_tokens`` tokens, [CLS] and [SEP] included."""
    text = " ".join([WORD] * (n_tokens - 2))
    assert count_tokens([text]) == [n_tokens]
    return text


# -- success -------------------------------------------------------------------------------

def test_a_single_string_gives_one_row_of_384(ep, client):
    r = post(client, ep, {"inputs": "a cat sat on the mat"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    got = np.asarray(r.json(), dtype=np.float32)
    assert got.shape == (1, 384)
    np.testing.assert_allclose(got, local(["a cat sat on the mat"]), rtol=0, atol=1e-6)


def test_a_list_gives_one_row_per_input_in_order(ep, client):
    texts = ["short", "a somewhat longer sentence about rivers and stone houses",
             "model vectors", "short"]
    r = post(client, ep, {"inputs": texts, "truncate": True})
    assert r.status_code == 200
    got = np.asarray(r.json(), dtype=np.float32)
    assert got.shape == (4, 384)
    np.testing.assert_allclose(got, local(texts), rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_normalize_false_and_unknown_keys_change_nothing(ep, client):
    plain = post(client, ep, {"inputs": ["hello world"]}).json()
    other = post(client, ep, {"inputs": ["hello world"], "normalize": False,
                              "options": {"wait_for_model": True}, "prompt_name": None,
                              "truncation_direction": "Right"}).json()
    assert other == plain


def test_the_second_token_works_too(ep, client):
    assert post(client, ep, {"inputs": "x"}, token="tok-b").status_code == 200


def test_exactly_max_batch_size_inputs_are_served(ep, client):
    r = post(client, ep, {"inputs": [f"text {i}" for i in range(32)]})
    assert r.status_code == 200
    assert len(r.json()) == 32


# -- authentication, routing ---------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"},
                                     {"Authorization": "Basic tok-a"},
                                     {"Authorization": "Bearer"}])
def test_a_missing_or_wrong_token_is_401(ep, client, headers):
    r = client.post(ep.url + ROUTE, json={"inputs": "x"}, headers=headers)
    assert r.status_code == 401
    assert r.json() == {"error": "Invalid credentials in Authorization header"}
    assert "nope" not in r.text


def test_an_unknown_model_is_404(ep, client):
    r = post(client, ep, {"inputs": "x"}, model="BAAI/bge-small-en-v1.5")
    assert r.status_code == 404
    assert r.json() == {"error": "Model BAAI/bge-small-en-v1.5 does not exist"}


def test_the_token_is_checked_before_the_model(ep, client):
    r = post(client, ep, {"inputs": "x"}, token="nope", model="BAAI/bge-small-en-v1.5")
    assert r.status_code == 401


@pytest.mark.parametrize("path", [
    "/hf-inference/models/sentence-transformers/all-MiniLM-L6-v2",
    "/pipeline/feature-extraction/sentence-transformers/all-MiniLM-L6-v2",
    "/embed",
])
def test_an_unknown_path_is_404(ep, client, path):
    r = client.post(ep.url + path, json={"inputs": "x"},
                    headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"error": f"Not Found: {path}"}


def test_get_on_the_route_is_405(ep, client):
    r = client.get(ep.url + ROUTE)
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"


# -- validation (TEI's messages and codes) -------------------------------------------------

def test_too_many_inputs_is_422_with_teis_message(ep, client):
    r = post(client, ep, {"inputs": ["x"] * 33})
    assert r.status_code == 422
    assert r.json() == {"error": "batch size 33 > maximum allowed batch size 32",
                        "error_type": "Validation"}


def test_too_many_tokens_without_truncation_is_422_with_the_count(ep, client):
    texts = ["fine", words(300), words(400)]
    r = post(client, ep, {"inputs": texts, "truncate": False})
    assert r.status_code == 422
    assert r.json() == {"error": "Input validation error: `inputs` must have less than 256 "
                                 "tokens. Given: 300", "error_type": "Validation"}


def test_the_limit_is_inclusive_at_256_tokens(ep, client):
    assert post(client, ep, {"inputs": [words(256)], "truncate": False}).status_code == 200
    r = post(client, ep, {"inputs": words(257), "truncate": False})
    assert r.status_code == 422
    assert r.json()["error"].endswith("Given: 257")


@pytest.mark.parametrize("body", [{"truncate": True}, {}])
def test_long_inputs_are_truncated_when_allowed(ep, client, body):
    long_text = words(400)
    r = post(client, ep, {"inputs": [long_text], **body})
    assert r.status_code == 200
    np.testing.assert_allclose(np.asarray(r.json(), dtype=np.float32),
                               local([words(256)]), rtol=0, atol=1e-6)


def test_without_auto_truncate_a_missing_truncate_means_false(client):
    with HFEndpoint(tokens={TOKEN}, auto_truncate=False) as old_tei:
        r = post(client, old_tei, {"inputs": [words(260)]})
        assert r.status_code == 422
        assert r.json()["error"].endswith("Given: 260")
        assert post(client, old_tei, {"inputs": [words(260)], "truncate": True}
                    ).status_code == 200


def test_left_truncation_is_refused_only_when_it_would_cut(ep, client):
    body = {"truncate": True, "truncation_direction": "left"}
    assert post(client, ep, {"inputs": ["short"], **body}).status_code == 200
    r = post(client, ep, {"inputs": [words(300)], **body})
    assert r.status_code == 422
    assert "truncates on the right only" in r.json()["error"]


def test_an_empty_list_is_400(ep, client):
    r = post(client, ep, {"inputs": []})
    assert r.status_code == 400
    assert r.json() == {"error": "`inputs` cannot be empty", "error_type": "Empty"}


def test_an_empty_string_is_400(ep, client):
    r = post(client, ep, {"inputs": ["ok", ""]})
    assert r.status_code == 400
    assert r.json() == {"error": "Input validation error: `inputs` cannot be empty",
                        "error_type": "Empty"}


@pytest.mark.parametrize(("content", "reason"), [
    (b"{not json", "invalid JSON"),
    (b'["a", "b"]', "expected a JSON object, got list"),
    (b'{"input": "a"}', "missing field `inputs`"),
    (b'{"inputs": [1, 2]}', "`inputs` must be a string or a list of strings"),
    (b'{"inputs": "a", "truncate": "yes"}', "`truncate` must be a boolean, not 'yes'"),
])
def test_a_body_that_is_not_an_embed_request_is_422(ep, client, content, reason):
    r = post(client, ep, content=content, headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    body = r.json()
    assert body["error_type"] == "Validation"
    assert body["error"].startswith("Failed to deserialize the JSON body into the target "
                                    "type: " + reason)


# -- faults --------------------------------------------------------------------------------

def test_rate_limit_with_retry_after_applies_once(ep, client):
    fault = Fault("rate_limit", times=1, retry_after=2)
    ep.faults.append(fault)
    r = post(client, ep, {"inputs": ["x", "y"]})
    assert r.status_code == 429
    assert r.headers["retry-after"] == "2"
    assert r.json()["error"].startswith("Rate limit reached")
    assert post(client, ep, {"inputs": ["x", "y"]}).status_code == 200
    assert fault.applied == 1 and fault.exhausted
    assert [(q["status"], q["faults"]) for q in ep.requests] == [(429, ["rate_limit"]),
                                                                (200, [])]


def test_a_fractional_retry_after_is_sent_as_is(ep, client):
    ep.faults.append(Fault("rate_limit", retry_after=0.5))
    assert post(client, ep, {"inputs": "x"}).headers["retry-after"] == "0.5"
    ep.faults.clear()
    assert "retry-after" not in post(client, ep, {"inputs": "x"}).headers


def test_rate_limit_without_retry_after_has_no_header(ep, client):
    ep.faults.append(Fault("rate_limit"))
    r = post(client, ep, {"inputs": "x"})
    assert r.status_code == 429
    assert "retry-after" not in r.headers


def test_loading_gives_503_with_estimated_time(ep, client):
    ep.faults.append(Fault("loading", times=2, estimated_time=1.5))
    r = post(client, ep, {"inputs": "x"})
    assert r.status_code == 503
    assert r.json() == {"error": f"Model {MODEL_NAME} is currently loading",
                        "estimated_time": 1.5}
    assert post(client, ep, {"inputs": "x"}).status_code == 503
    assert post(client, ep, {"inputs": "x"}).status_code == 200


def test_loading_without_estimated_time_leaves_it_out(ep, client):
    ep.faults.append(Fault("loading"))
    assert post(client, ep, {"inputs": "x"}).json() == {
        "error": f"Model {MODEL_NAME} is currently loading"}


def test_unauthorized_refuses_a_good_token(ep, client):
    ep.faults.append(Fault("unauthorized", times=1))
    r = post(client, ep, {"inputs": "x"})
    assert r.status_code == 401
    assert r.json() == {"error": "Invalid credentials in Authorization header"}


def test_drop_closes_the_connection_without_a_response(ep, client):
    ep.faults.append(Fault("drop", times=1))
    with pytest.raises(httpx.RemoteProtocolError):
        post(client, ep, {"inputs": ["a", "b", "c"]})
    assert ep.requests == [{"model": MODEL_NAME, "inputs": 3, "status": None,
                            "truncate": None, "faults": ["drop"]}]
    assert post(client, ep, {"inputs": "a"}).status_code == 200  # the client recovers


@pytest.mark.parametrize(("status", "message", "expected"), [
    (502, None, "Bad Gateway"),
    (500, None, "Internal Server Error"),
    (403, "This authentication method does not have sufficient permissions",
     "This authentication method does not have sufficient permissions"),
])
def test_status_replies_with_that_status(ep, client, status, message, expected):
    ep.faults.append(Fault("status", status=status, message=message))
    r = post(client, ep, {"inputs": "x"})
    assert r.status_code == status
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {"error": expected}


def test_timeout_makes_a_short_client_timeout_fire(ep, client):
    fault = Fault("timeout", times=1, delay=1.0)
    ep.faults.append(fault)
    with pytest.raises(httpx.ReadTimeout):
        post(client, ep, {"inputs": "x"}, timeout=0.1)
    assert fault.applied == 1
    # the retry is served while the first request still sleeps
    assert post(client, ep, {"inputs": "x"}).status_code == 200
    assert [q["faults"] for q in ep.requests] == [["timeout"], []]


def test_latency_delays_then_serves_and_combines_with_other_faults(ep, client):
    ep.faults.append(Fault("latency", delay=0.01, times=2))
    ep.faults.append(Fault("rate_limit", times=1))
    assert post(client, ep, {"inputs": "x"}).status_code == 429
    assert post(client, ep, {"inputs": "x"}).status_code == 200
    assert post(client, ep, {"inputs": "x"}).status_code == 200
    assert [q["faults"] for q in ep.requests] == [["latency", "rate_limit"], ["latency"], []]


def test_the_first_fault_that_applies_wins(ep, client):
    first, second = Fault("status", status=500), Fault("rate_limit")
    ep.faults.extend([first, second])
    assert post(client, ep, {"inputs": "x"}).status_code == 500
    assert (first.applied, second.applied) == (1, 0)


def test_faults_come_before_the_token_check(ep, client):
    ep.faults.append(Fault("rate_limit", times=1))
    assert post(client, ep, {"inputs": "x"}, token="nope").status_code == 429


def test_probability_is_drawn_from_the_seeded_generator(client):
    def statuses(seed: int) -> list[int]:
        with HFEndpoint(tokens={TOKEN}, seed=seed) as endpoint:
            endpoint.faults.append(Fault("rate_limit", probability=0.5))
            return [post(client, endpoint, {"inputs": "x"}).status_code for _ in range(16)]

    rng = random.Random(7)
    expected = [429 if rng.random() < 0.5 else 200 for _ in range(16)]
    assert statuses(7) == expected
    assert statuses(7) == expected
    assert {200, 429} <= set(expected)


def test_probability_zero_never_applies(ep, client):
    fault = Fault("drop", probability=0.0)
    ep.faults.append(fault)
    assert post(client, ep, {"inputs": "x"}).status_code == 200
    assert fault.applied == 0


@pytest.mark.parametrize(("args", "kwargs", "message"), [
    (("explode",), {}, "Unknown fault kind 'explode'"),
    (("status",), {}, "A 'status' fault needs status=<100..599>, not None."),
    (("drop",), {"probability": 1.5}, "probability must be between 0 and 1, not 1.5."),
    (("latency",), {"delay": -1}, "delay must be at least 0 seconds, not -1."),
    (("drop",), {"times": -1}, "times must be None or at least 0, not -1."),
])
def test_a_bad_fault_is_refused(args, kwargs, message):
    with pytest.raises(ValueError) as info:
        Fault(*args, **kwargs)
    assert str(info.value).startswith(message)


# -- records, concurrency, life cycle ------------------------------------------------------

def test_requests_are_recorded(ep, client):
    post(client, ep, {"inputs": ["a", "b", "c"], "truncate": False})
    post(client, ep, {"inputs": "a"}, token="nope")
    post(client, ep, {"inputs": "a"}, model="x/y")
    client.post(ep.url + "/other", json={})
    assert ep.requests == [
        {"model": MODEL_NAME, "inputs": 3, "status": 200, "truncate": False, "faults": []},
        {"model": MODEL_NAME, "inputs": 1, "status": 401, "truncate": None, "faults": []},
        {"model": "x/y", "inputs": 1, "status": 404, "truncate": None, "faults": []},
        {"model": None, "inputs": None, "status": 404, "truncate": None, "faults": []},
    ]


def test_concurrent_requests_are_served_in_parallel_and_agree(ep):
    # the latency keeps each request in flight long enough for the others to arrive
    ep.faults.append(Fault("latency", delay=0.3))
    texts = [[f"text {i} {j}" for j in range(5)] for i in range(4)]
    results: dict[int, list] = {}

    def call(i: int) -> None:
        with httpx.Client(timeout=30) as c:
            results[i] = post(c, ep, {"inputs": texts[i]}).json()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ep.peak_in_flight >= 2
    for i in range(4):
        np.testing.assert_allclose(np.asarray(results[i], dtype=np.float32), local(texts[i]),
                                   rtol=0, atol=1e-6)


def test_life_cycle_and_repr():
    endpoint = HFEndpoint(tokens={"very-secret"}, port=0)
    with pytest.raises(RuntimeError):
        endpoint.url  # noqa: B018
    assert "very-secret" not in repr(endpoint)
    endpoint.start()
    url = endpoint.url
    assert url.startswith("http://127.0.0.1:") and endpoint.port > 0
    assert url in repr(endpoint) and "very-secret" not in repr(endpoint)
    with httpx.Client() as c:  # keep a connection open across stop()
        assert post(c, endpoint, {"inputs": "x"}, token="very-secret").status_code == 200
        endpoint.stop()
        endpoint.stop()  # idempotent
        with pytest.raises(httpx.TransportError):
            c.post(url + ROUTE, json={"inputs": "x"},
                   headers={"Authorization": "Bearer very-secret"})


@pytest.mark.parametrize(("tokens", "error"), [("abc", TypeError), (set(), ValueError),
                                               ({""}, ValueError)])
def test_tokens_must_be_a_set_of_strings(tokens, error):
    with pytest.raises(error):
        HFEndpoint(tokens=tokens)


def test_it_is_quiet_and_never_logs_the_token(client, caplog, capfd):
    caplog.set_level(logging.DEBUG, logger="vectorize_kit")
    with HFEndpoint(tokens={"hush-token"}) as endpoint:
        post(client, endpoint, {"inputs": "x"}, token="hush-token")
        post(client, endpoint, {"inputs": "x"}, token="wrong-token")
        endpoint.faults.append(Fault("drop"))
        with pytest.raises(httpx.RemoteProtocolError):
            post(client, endpoint, {"inputs": "x"}, token="hush-token")
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    logged = "\n".join(r.getMessage() for r in caplog.records
                       if r.name == "vectorize_kit.hf_endpoint")
    assert "POST /hf-inference/models/" in logged
    assert "hush-token" not in logged and "wrong-token" not in logged


# -- the command line ----------------------------------------------------------------------

def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    script = Path(sys.executable).with_name("vectorize-kit")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "vectorize_kit.cli"]
    full_env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    full_env.update(env or {})
    return subprocess.Popen([*command, "hf-endpoint", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=full_env)


def _stop(proc: subprocess.Popen) -> tuple[str, str]:
    proc.terminate()
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    return out, err


def _url(line: str) -> str:
    prefix, suffix = "Hugging Face endpoint on ", f" (serving {MODEL_NAME})\n"
    assert line.startswith(prefix) and line.endswith(suffix), line
    return line[len(prefix):-len(suffix)]


@pytest.mark.timeout(60)
def test_cli_serves_with_the_given_token_and_never_prints_it():
    proc = _cli("--token", "cli-secret")
    try:
        url = _url(proc.stdout.readline())
        assert url.startswith("http://127.0.0.1:")
        with httpx.Client(timeout=30) as c:
            ok = c.post(url + ROUTE, json={"inputs": "hello"},
                        headers={"Authorization": "Bearer cli-secret"})
            bad = c.post(url + ROUTE, json={"inputs": "hello"},
                         headers={"Authorization": "Bearer other"})
    finally:
        out, err = _stop(proc)
    assert ok.status_code == 200 and len(ok.json()[0]) == 384
    assert bad.status_code == 401
    assert out == ""  # nothing after the URL line
    assert "cli-secret" not in err and "Stopped." in err


@pytest.mark.timeout(60)
def test_cli_generates_a_token_and_prints_it_once():
    proc = _cli()
    try:
        url = _url(proc.stdout.readline())
        token_line = proc.stdout.readline()
        token = token_line.rsplit(": ", 1)[1].strip()
        assert len(token) >= 32
        with httpx.Client(timeout=30) as c:
            r = c.post(url + ROUTE, json={"inputs": ["a", "b"]},
                       headers={"Authorization": f"Bearer {token}"})
    finally:
        out, err = _stop(proc)
    assert r.status_code == 200 and len(r.json()) == 2
    assert token not in out + err


@pytest.mark.timeout(60)
def test_cli_takes_the_token_from_the_environment():
    proc = _cli(env={TOKEN_ENV: "env-secret"})
    try:
        url = _url(proc.stdout.readline())
        with httpx.Client(timeout=30) as c:
            r = c.post(url + ROUTE, json={"inputs": "x"},
                       headers={"Authorization": "Bearer env-secret"})
    finally:
        out, err = _stop(proc)
    assert r.status_code == 200
    assert "env-secret" not in out + err


def test_cli_reports_a_port_in_use(ep, capsys):
    assert main(["hf-endpoint", "--port", str(ep.port), "--token", "t"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"vectorize-kit: cannot listen on 127.0.0.1:{ep.port} (")
    assert "Pick another --port" in err


def test_cli_needs_a_command(capsys):
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def test_cli_runs_as_a_module():
    out = subprocess.run([sys.executable, "-m", "vectorize_kit.cli", "hf-endpoint", "--help"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: vectorize-kit hf-endpoint [-h] [--host HOST]")
