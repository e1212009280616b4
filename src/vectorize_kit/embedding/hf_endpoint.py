"""A loopback Hugging Face Serverless endpoint: real HTTP, a real model, injectable faults.

Tests, benchmarks and offline demos point the ``huggingface`` provider at this server instead
of ``https://router.huggingface.co``.  It speaks the router's feature-extraction protocol
(``reference/hf-embeddings.md`` §1) and answers with all-MiniLM-L6-v2 run by
:class:`~vectorize_kit.embedding.local.LocalProvider`, so a client under test sees real
vectors, real status codes and real connection behaviour, never a mock.

Protocol (hf-embeddings.md §1.1-1.6)
------------------------------------
``POST /hf-inference/models/{model}/pipeline/feature-extraction`` (§1.1), where ``{model}``
contains a slash, with ``Authorization: Bearer <token>`` (§1.2) and a TEI ``EmbedRequest``
body (§1.3): ``{"inputs": str | [str, ...], "truncate": bool?, "normalize": bool?, ...}``.
Checks run in this order:

1. any other path: 404 ``{"error": "Not Found: <path>"}``; another method on the route: 405;
2. a body over 2,000,000 bytes (TEI's ``--payload-limit``): 413; no ``Content-Length``: 411;
3. faults (see :class:`Fault`), before anything else about the request is checked;
4. a missing or unknown bearer token: 401 ``{"error": "Invalid credentials in Authorization
   header"}`` (§1.5);
5. a model other than ``sentence-transformers/all-MiniLM-L6-v2``: 404 ``{"error": "Model
   <name> does not exist"}`` (the legacy api-inference wording; §1.5 has the status only);
6. a body that is not JSON, or not a TEI ``EmbedRequest`` (no ``inputs``, an input that is
   not a string, a non-boolean ``truncate``/``normalize``): 422 ``{"error": "Failed to
   deserialize the JSON body into the target type: ...", "error_type": "Validation"}``;
7. TEI's own validation (§1.5, TEI >= 1.9 status codes), in TEI's order:
   ``[]`` → 400 ``{"error": "`inputs` cannot be empty", "error_type": "Empty"}``;
   more than ``max_batch_size`` inputs → 422 ``"batch size N > maximum allowed batch size
   32"``; an empty string → 400 ``"Input validation error: `inputs` cannot be empty"``
   (``Empty``); with truncation off, an input over 64,000 characters (TEI's 250 characters a
   token pre-check) or over 256 tokens → 422 ``"Input validation error: `inputs` must have
   less than 256 tokens. Given: N"`` (``Validation``; N is the count of the first such input,
   ``[CLS]``/``[SEP]`` included, as TEI counts).
8. with ``cache=True`` only, the response cache (below): inputs already embedded are
   answered from it, and only the others go to the model;
9. 200 with a JSON 2-D list of floats, one row per input: a single string gives ``[[...]]``
   (1 x 384), as TEI does (§1.4).  Should the model itself fail (a broken install), the
   answer is 500 ``{"error": "<exception>", "error_type": "Backend"}``.

Cache (``HFEndpoint(cache=True)``; off by default): the serverless Inference API had a
documented cache layer that answered a request it had already seen without running the
model, and that a request could skip with the header ``x-use-cache: false`` or the legacy
body ``"options": {"use_cache": false}`` (§1.2).  This endpoint keeps one vector per (model,
truncation in effect, input text) -- per text rather than per request body, so the same
texts batched differently still hit -- for as long as it lives (no eviction: it is a test
server).  A request's cached inputs are served without the model lock; the others go to the
model together, in one batch (a text repeated within the request once), and are then
cached.  ``x-use-cache: false`` (the value in any case) or ``options.use_cache`` equal to
``false`` skips reading the cache: every input is embedded again, and the fresh vectors
replace the cached ones.  The cache is consulted only after steps 1-7, so faults, the token
check, the model check and TEI's validation apply to every request exactly as without it; the
token is no part of the key.  :attr:`HFEndpoint.cache_hits` and
:attr:`HFEndpoint.cache_misses` count the inputs answered from the cache and those that were
not.  A hit answers with the very bytes the first computation was sent as.  With the cache
the numbers are written as the shortest decimals that read back as the same float32 values
(``0.024030719``), the form TEI's serde_json gives its ``f32`` vectors; without it they are
``json.dumps`` of the float64 copies (``0.024030718952417374``).  Both read back as the
same float32 vectors; the short form is about 40 % smaller and quicker for a client to parse.

Truncation: ``"truncate"`` absent means ``auto_truncate`` (default ``True``, as TEI >= 1.9,
§1.6); truncation keeps the first 256 tokens (``"truncation_direction": "left"`` is answered
422 when it would matter, since the model only cuts on the right).  ``"normalize": false`` is
accepted but the vectors stay unit length (LocalProvider always normalises; real TEI would
return the raw mean-pooled vectors).  Unknown keys (``options``, ``prompt_name``,
``dimensions``...) are ignored, as TEI's ``EmbedRequest`` does.  Every response is
``Content-Type: application/json``.  Connections are HTTP/1.1 keep-alive.

Concurrency: each connection is served in its own thread (``ThreadingHTTPServer``).  Model
calls are serialised under one lock: onnxruntime's ``InferenceSession.run`` and the
tokenizer are safe to call from several threads, but each run already uses every CPU
(intra-op threads), so running two at once only makes them fight.  Fault delays are slept
outside that lock, so delayed requests do overlap.

The server is quiet: the request log goes to the ``vectorize_kit.hf_endpoint`` logger at
DEBUG, and no header (so no token) is ever logged or echoed.
"""

from __future__ import annotations

import hmac
import json
import logging
import random
import re
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import numpy as np

from . import get_provider
from .local import MAX_TOKENS, MODEL_NAME, count_tokens

__all__ = ["FAULT_KINDS", "PAYLOAD_LIMIT", "ROUTE", "Fault", "FaultKind", "HFEndpoint"]

logger = logging.getLogger("vectorize_kit.hf_endpoint")

FaultKind = Literal["latency", "rate_limit", "loading", "unauthorized", "drop", "status",
                    "timeout"]
#: The fault kinds :class:`Fault` accepts.
FAULT_KINDS: tuple[str, ...] = ("latency", "rate_limit", "loading", "unauthorized", "drop",
                                "status", "timeout")
#: The one route served; ``{model}`` is filled in by the client.
ROUTE = "/hf-inference/models/{model}/pipeline/feature-extraction"
#: Largest request body accepted, in bytes (TEI's ``--payload-limit`` default, §1.6).
PAYLOAD_LIMIT = 2_000_000
#: TEI refuses, before tokenizing, a text longer than this many characters a token (§1.5).
_MAX_CHAR_MULTIPLIER = 250

_ROUTE_RE = re.compile(r"^/hf-inference/models/(?P<model>[^?#]+/[^?#]+)"
                       r"/pipeline/feature-extraction/?$")
_RATE_LIMIT_MESSAGE = ("Rate limit reached. You reached free usage limit (reset hourly). "
                       "Please subscribe to a plan at https://huggingface.co/pricing to use "
                       "the API at this rate")
_UNAUTHORIZED_MESSAGE = "Invalid credentials in Authorization header"
_DESERIALIZE = "Failed to deserialize the JSON body into the target type: "


@dataclass(eq=False)
class Fault:
    """A failure the endpoint injects into the requests it receives.

    Faults are checked in the order of :attr:`HFEndpoint.faults`, for each request to the
    feature-extraction route, before the token or the body is looked at.  ``latency`` faults
    that apply are all served (their delays add up) and checking goes on; the first other
    fault that applies decides the request and checking stops.

    Parameters
    ----------
    kind
        - ``"latency"``: sleep ``delay`` seconds, then go on (other faults, then normal
          service);
        - ``"rate_limit"``: 429 ``{"error": "Rate limit reached. ..."}``;
        - ``"loading"``: 503 ``{"error": "Model <model> is currently loading",
          "estimated_time": estimated_time}`` (``estimated_time`` left out when ``None``);
        - ``"unauthorized"``: 401 ``{"error": "Invalid credentials in Authorization header"}``
          whatever the token;
        - ``"drop"``: read the request, then close the connection without any response;
        - ``"status"``: reply ``status`` with ``{"error": message}`` (``message`` defaults to
          the status' reason phrase, e.g. ``"Bad Gateway"``);
        - ``"timeout"``: sleep ``delay`` seconds, then serve normally (no further fault is
          checked), so a client with a shorter read timeout times out.
    times
        Apply to at most this many requests, then never again; ``None``: no limit.
    probability
        Chance, per request, that the fault applies, drawn from the endpoint's
        ``random.Random(seed)`` (one draw per request and fault, only for a probability
        strictly between 0 and 1), so a given sequence of requests is reproducible.
    status
        The HTTP status of a ``"status"`` fault (required there, 100-599).
    retry_after
        Seconds sent as a ``Retry-After`` header with any fault's reply (an integer is sent
        as ``"2"``, a fraction as ``"0.5"``); ``None``: no header.
    delay
        Seconds to sleep for ``"latency"`` and ``"timeout"``.
    estimated_time
        ``estimated_time`` of a ``"loading"`` body.
    message
        Replaces the ``error`` text of the reply (not part of the original interface; handy
        for e.g. the router's 403 permission message).

    Attributes
    ----------
    applied
        How many requests this fault has been applied to so far.
    """

    kind: FaultKind
    times: int | None = field(default=None, kw_only=True)
    probability: float = field(default=1.0, kw_only=True)
    status: int | None = field(default=None, kw_only=True)
    retry_after: float | None = field(default=None, kw_only=True)
    delay: float = field(default=0.0, kw_only=True)
    estimated_time: float | None = field(default=None, kw_only=True)
    message: str | None = field(default=None, kw_only=True)
    applied: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"Unknown fault kind {self.kind!r}; use one of "
                             f"{', '.join(FAULT_KINDS)}.")
        if self.kind == "status" and (self.status is None or not 100 <= self.status <= 599):
            raise ValueError(f"A 'status' fault needs status=<100..599>, not {self.status!r}.")
        if self.times is not None and self.times < 0:
            raise ValueError(f"times must be None or at least 0, not {self.times}.")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"probability must be between 0 and 1, not {self.probability}.")
        if self.delay < 0:
            raise ValueError(f"delay must be at least 0 seconds, not {self.delay}.")

    @property
    def exhausted(self) -> bool:
        """True once the fault has been applied ``times`` times."""
        return self.times is not None and self.applied >= self.times


class _Reply(Exception):
    """Raised inside request handling to answer with an error (status, JSON body)."""

    def __init__(self, status: int, body: dict[str, Any],
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _tei_error(status: int, message: str, error_type: str) -> _Reply:
    return _Reply(status, {"error": message, "error_type": error_type})


def _retry_after_header(seconds: float | None) -> dict[str, str]:
    if seconds is None:
        return {}
    value = int(seconds) if float(seconds).is_integer() else seconds
    return {"Retry-After": str(value)}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    endpoint: HFEndpoint

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints tracebacks to stderr; a client that went away is not news.
        logger.debug("error while serving %s", client_address, exc_info=True)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the router
    server_version = "vectorize-kit-hf-endpoint/1"
    sys_version = ""
    timeout = 60  # an idle keep-alive connection is closed after this many seconds
    # Headers and body are two writes; with Nagle's algorithm and the client's delayed ACK the
    # body would wait ~40 ms on every keep-alive request.
    disable_nagle_algorithm = True
    server: _Server

    # -- plumbing --------------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        self.server.endpoint._connection_opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.endpoint._connection_closed(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        # Only the request line and status reach here, never a header.
        logger.debug("%s %s", self.address_string(), format % args)

    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        # bytes are a body already encoded (the response cache's rows)
        data = (body if isinstance(body, bytes)
                else json.dumps(body, separators=(",", ":")).encode("utf-8"))
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:  # the client gave up (e.g. it timed out during a "timeout" fault)
            self.close_connection = True
            logger.debug("client %s went away before the reply", self.address_string())

    def _not_post(self) -> None:
        path = self.path.split("?", 1)[0]
        if _ROUTE_RE.match(path):
            self._send_json(405, {"error": "Method Not Allowed"}, {"Allow": "POST"})
        else:
            self._send_json(404, {"error": f"Not Found: {path}"})

    do_GET = do_PUT = do_DELETE = do_PATCH = _not_post

    def do_HEAD(self) -> None:
        self.close_connection = True
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    # -- the route ---------------------------------------------------------------------------

    def do_POST(self) -> None:
        self.server.endpoint._handle(self)


class HFEndpoint:
    """A Hugging Face feature-extraction endpoint on loopback, for tests and offline demos.

    Parameters
    ----------
    tokens
        The bearer tokens accepted (a set of strings; at least one).
    host
        Address to listen on; ``127.0.0.1`` by default (never expose it: it is a test server).
    port
        Port to listen on; ``0`` picks a free one (read it from :attr:`url`).
    max_batch_size
        Most inputs a request may carry (TEI's ``--max-client-batch-size``, 32).
    seed
        Seed of the ``random.Random`` that draws the faults' probabilities.
    auto_truncate
        What a request without ``"truncate"`` gets: ``True`` as TEI >= 1.9, ``False`` as TEI
        <= 1.8 (an over-long input is then a 422).  Not part of the original interface.
    cache
        Answer inputs seen before from a response cache, as the serverless Inference API did
        (see the module docstring); ``False`` (the default): every input goes to the model.

    Attributes
    ----------
    requests
        One dict per request received, in arrival order: ``{"model": str | None, "inputs":
        int | None (how many texts), "status": int | None, "truncate": bool | None (as sent),
        "faults": list[str] (kinds applied)}``.  A record is added when the request has
        been read, and its ``status`` filled in when the reply is sent: it is ``None`` while
        a ``latency``/``timeout`` fault sleeps, and stays ``None`` for a dropped connection.
    faults
        The active :class:`Fault` objects; append to and clear it freely.
    peak_in_flight
        The most requests that were being handled at the same time (for asserting that a
        client really sends requests concurrently, without timing anything).
    cache_hits, cache_misses
        With ``cache=True``: how many inputs were answered from the cache, and how many were
        not (and so were embedded by the model), since the start or the last :meth:`reset`;
        they stay 0 without the cache.

    Examples
    --------
    >>> with HFEndpoint(tokens={"tok"}) as ep:                     # doctest: +SKIP
    ...     ep.faults.append(Fault("rate_limit", times=1, retry_after=1))
    ...     httpx.post(f"{ep.url}/hf-inference/models/{MODEL_NAME}/pipeline/"
    ...                "feature-extraction", json={"inputs": ["hi"]},
    ...                headers={"Authorization": "Bearer tok"}).status_code
    429
    """

    def __init__(self, *, tokens: Iterable[str], host: str = "127.0.0.1", port: int = 0,
                 max_batch_size: int = 32, seed: int = 0, auto_truncate: bool = True,
                 cache: bool = False) -> None:
        if isinstance(tokens, str):
            raise TypeError("tokens must be a set of strings, not one string: "
                            "HFEndpoint(tokens={'my-token'}).")
        accepted = frozenset(tokens)
        if not accepted or not all(isinstance(t, str) and t for t in accepted):
            raise ValueError("tokens must hold at least one non-empty string: an endpoint "
                             "without a token would answer 401 to every request.")
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be at least 1, not {max_batch_size}.")
        self._tokens = tuple(t.encode("utf-8") for t in accepted)
        self.host = host
        self._port = port
        self.max_batch_size = max_batch_size
        self.auto_truncate = auto_truncate
        self.requests: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.peak_in_flight = 0
        self._in_flight = 0
        self.cache = cache
        self.cache_hits = 0
        self.cache_misses = 0
        # (model, truncate in effect, text) -> the vector as sent, JSON-encoded
        self._cache: dict[tuple[str, bool, str], bytes] = {}
        self._cache_lock = threading.Lock()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()  # faults, requests, counters, connections
        self._model_lock = threading.Lock()  # one model run at a time (see module docstring)
        # the process' one local provider: the model is loaded once, whoever uses it
        self._provider = get_provider("local")
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "not started"
        return (f"HFEndpoint({where}, tokens=<{len(self._tokens)} hidden>, "
                f"max_batch_size={self.max_batch_size}, faults={len(self.faults)}"
                f"{', cache=True' if self.cache else ''})")

    # -- life cycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:43121``; the route is :data:`ROUTE` under it."""
        if self._server is None:
            raise RuntimeError("The endpoint is not started: call start() or use `with`.")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def port(self) -> int:
        """The port listened on (the one picked, when created with ``port=0``)."""
        if self._server is None:
            return self._port
        return int(self._server.server_address[1])

    def start(self) -> HFEndpoint:
        """Load the model, listen, and serve in a daemon thread; returns ``self``.

        The model is loaded here rather than on the first request, so that no request pays
        for it (a client's timeout would otherwise fire on the first call).
        """
        if self._server is not None:
            raise RuntimeError("The endpoint is already started.")
        self._provider.embed(["warm-up"], model=MODEL_NAME)
        server_class = _Server6 if ":" in self.host else _Server
        server = server_class((self.host, self._port), _Handler)
        server.endpoint = self
        self._stopping.clear()
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={
            "poll_interval": 0.05}, name=f"hf-endpoint:{self.port}", daemon=True)
        self._thread.start()
        logger.debug("Hugging Face endpoint listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and wake sleeping faults; idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:  # idle keep-alive connections would otherwise stay served
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> HFEndpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Clear :attr:`faults`, :attr:`requests`, :attr:`peak_in_flight` and the cache
        counters (the cached vectors stay: :meth:`clear_cache` drops them)."""
        with self._lock:
            self.faults.clear()
            self.requests.clear()
            self.peak_in_flight = self._in_flight
        with self._cache_lock:
            self.cache_hits = self.cache_misses = 0

    def clear_cache(self) -> None:
        """Drop every cached vector (the counters are left as they are)."""
        with self._cache_lock:
            self._cache.clear()

    @property
    def cache_entries(self) -> int:
        """How many (model, truncation, text) vectors the cache holds."""
        with self._cache_lock:
            return len(self._cache)

    def _connection_opened(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)

    def _connection_closed(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)

    # -- one request ---------------------------------------------------------------------------

    def _handle(self, handler: _Handler) -> None:
        path = handler.path.split("?", 1)[0]
        match = _ROUTE_RE.match(path)
        record: dict[str, Any] = {"model": match["model"] if match else None, "inputs": None,
                                  "status": None, "truncate": None, "faults": []}
        with self._lock:
            self.requests.append(record)
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
        try:
            status, body, headers = self._answer(handler, path, match, record)
        except _Reply as reply:
            status, body, headers = reply.status, reply.body, reply.headers
        except Exception as exc:  # a bug or a broken model install: say so, keep serving
            logger.debug("request failed", exc_info=True)
            status, body, headers = 500, {"error": f"{type(exc).__name__}: {exc}",
                                          "error_type": "Backend"}, {}
        finally:
            with self._lock:
                self._in_flight -= 1
        if status is None:  # a "drop" fault: no response at all
            handler.close_connection = True
            return
        record["status"] = status
        handler._send_json(status, body, headers)

    def _answer(self, handler: _Handler, path: str, match: re.Match[str] | None,
                record: dict[str, Any]) -> tuple[int | None, Any, dict[str, str]]:
        # The body is read first, whatever the answer, so that the connection stays usable.
        length_header = handler.headers.get("Content-Length")
        if length_header is None:
            handler.close_connection = True
            raise _Reply(411, {"error": "Content-Length required"})
        try:
            length = int(length_header)
        except ValueError:
            handler.close_connection = True
            raise _Reply(400, {"error": f"Invalid Content-Length {length_header!r}"}) from None
        if length > PAYLOAD_LIMIT:
            handler.close_connection = True  # the body is left unread
            raise _Reply(413, {"error": "Failed to buffer the request body: length limit "
                                        f"exceeded ({length} > {PAYLOAD_LIMIT} bytes)"})
        raw = handler.rfile.read(length) if length > 0 else b""
        if match is None:
            raise _Reply(404, {"error": f"Not Found: {path}"})

        payload, parse_error = _parse(raw)
        if isinstance(payload, dict):
            inputs = payload.get("inputs")
            record["inputs"] = (1 if isinstance(inputs, str)
                                else len(inputs) if isinstance(inputs, list) else None)
            truncate = payload.get("truncate")
            record["truncate"] = truncate if isinstance(truncate, bool) else None

        fault_reply = self._apply_faults(record, match["model"])
        if fault_reply is not None:
            return fault_reply

        if not self._authorized(handler.headers.get("Authorization")):
            raise _Reply(401, {"error": _UNAUTHORIZED_MESSAGE})
        model = match["model"]
        if model != MODEL_NAME:
            raise _Reply(404, {"error": f"Model {model} does not exist"})
        if parse_error is not None:
            raise _tei_error(422, _DESERIALIZE + parse_error, "Validation")
        texts, single, truncate = self._validate(payload)
        if self.cache:
            return 200, self._from_cache(model, texts, truncate,
                                         read=_reads_cache(handler, payload)), {}
        with self._model_lock:
            vectors = self._provider.embed(texts, model=MODEL_NAME)
        logger.debug("embedded %d input(s)%s", len(texts), " (single string)" if single else "")
        return 200, vectors.tolist(), {}

    def _from_cache(self, model: str, texts: list[str], truncate: bool, *,
                    read: bool) -> bytes:
        """The JSON answer for ``texts``: cached rows where there are some (when ``read``),
        the model's for the others, which are then cached."""
        keys = [(model, truncate, text) for text in texts]
        if read:
            with self._cache_lock:
                rows: list[bytes | None] = [self._cache.get(key) for key in keys]
        else:
            rows = [None] * len(keys)
        missing = [i for i, row in enumerate(rows) if row is None]
        fresh: dict[str, bytes] = {}
        if missing:
            distinct = list(dict.fromkeys(texts[i] for i in missing))
            with self._model_lock:
                vectors = self._provider.embed(distinct, model=MODEL_NAME)
            # kept encoded, so that a hit costs no encoding and is byte for byte what the miss
            # sent
            fresh = dict(zip(distinct, _encode_rows(vectors), strict=True))
            for i in missing:
                rows[i] = fresh[texts[i]]
        with self._cache_lock:
            self._cache.update({(model, truncate, text): row for text, row in fresh.items()})
            self.cache_hits += len(texts) - len(missing)
            self.cache_misses += len(missing)
        logger.debug("served %d of %d input(s) from the cache%s", len(texts) - len(missing),
                     len(texts), "" if read else " (bypassed on request)")
        return b"[" + b",".join(rows) + b"]"

    def _authorized(self, header: str | None) -> bool:
        if not header:
            return False
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        given = token.strip().encode("utf-8")
        # compare with every token, in constant time, so timing says nothing about them
        return any([hmac.compare_digest(given, t) for t in self._tokens])

    def _apply_faults(self, record: dict[str, Any],
                      model: str) -> tuple[int | None, Any, dict[str, str]] | None:
        delay = 0.0
        chosen: Fault | None = None
        with self._lock:
            for fault in list(self.faults):
                if fault.exhausted or fault.probability <= 0.0:
                    continue
                if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                    continue
                fault.applied += 1
                record["faults"].append(fault.kind)
                if fault.kind == "latency":
                    delay += fault.delay
                    continue
                chosen = fault
                break
        if chosen is not None and chosen.kind == "timeout":
            delay += chosen.delay
        if delay > 0 and self._stopping.wait(delay):  # stop() wakes it: no reply then
            return None, None, {}
        if chosen is None or chosen.kind == "timeout":
            return None
        headers = _retry_after_header(chosen.retry_after)
        kind = chosen.kind
        if kind == "drop":
            return None, None, {}
        if kind == "rate_limit":
            return 429, {"error": chosen.message or _RATE_LIMIT_MESSAGE}, headers
        if kind == "loading":
            body: dict[str, Any] = {"error": chosen.message
                                    or f"Model {model} is currently loading"}
            if chosen.estimated_time is not None:
                body["estimated_time"] = chosen.estimated_time
            return 503, body, headers
        if kind == "unauthorized":
            return 401, {"error": chosen.message or _UNAUTHORIZED_MESSAGE}, headers
        assert kind == "status" and chosen.status is not None
        try:
            phrase = HTTPStatus(chosen.status).phrase
        except ValueError:
            phrase = "Error"
        return chosen.status, {"error": chosen.message or phrase}, headers

    def _validate(self, payload: dict[str, Any]) -> tuple[list[str], bool, bool]:
        """TEI's checks on an ``EmbedRequest`` (§1.3, §1.5): texts, single?, truncate."""
        truncate = payload.get("truncate")
        truncate = self.auto_truncate if truncate is None else truncate
        inputs = payload["inputs"]
        single = isinstance(inputs, str)
        texts = [inputs] if single else inputs
        if not single and not texts:
            raise _tei_error(400, "`inputs` cannot be empty", "Empty")
        if len(texts) > self.max_batch_size:
            raise _tei_error(422, f"batch size {len(texts)} > maximum allowed batch size "
                                  f"{self.max_batch_size}", "Validation")
        direction = payload.get("truncation_direction") or "right"
        left = direction in ("left", "Left")
        # TEI validates the inputs one by one and reports the first failure, in input order.
        counts = count_tokens(texts) if not truncate or left else None
        max_chars = MAX_TOKENS * _MAX_CHAR_MULTIPLIER
        for i, text in enumerate(texts):
            if text == "":
                raise _tei_error(400, "Input validation error: `inputs` cannot be empty",
                                 "Empty")
            if counts is None:
                continue
            if not truncate:
                if len(text) > max_chars:
                    raise _tei_error(422, "Input validation error: `inputs` must have less "
                                          f"than {max_chars} characters. Given: {len(text)}",
                                     "Validation")
                if counts[i] > MAX_TOKENS:
                    raise _tei_error(422, "Input validation error: `inputs` must have less "
                                          f"than {MAX_TOKENS} tokens. Given: {counts[i]}",
                                     "Validation")
            elif counts[i] > MAX_TOKENS:
                raise _tei_error(422, "Input validation error: this loopback endpoint "
                                      f"truncates on the right only, and input {i} has "
                                      f"{counts[i]} tokens. Send \"truncation_direction\": "
                                      "\"right\" (or shorter inputs).", "Validation")
        return texts, single, truncate


def _encode_rows(vectors: np.ndarray) -> list[bytes]:
    """Each float32 row as a JSON array of the shortest decimals that read back as the same
    float32 values, the form TEI's serde_json gives an ``f32`` (``0.024030719``, where
    ``json.dumps`` of the float64 would write ``0.024030718952417374``): about 40 % fewer
    bytes for a client to parse, and the same vectors."""
    if not np.isfinite(vectors).all():  # a broken model: numpy would write nan/inf, which
        # no JSON reader takes; json.dumps writes NaN/Infinity, as the answer without the cache
        return [json.dumps(row, separators=(",", ":")).encode("ascii")
                for row in vectors.tolist()]
    return [("[" + ",".join(row) + "]").encode("ascii")
            for row in vectors.astype(np.str_).tolist()]


def _reads_cache(handler: _Handler, payload: dict[str, Any]) -> bool:
    """False when the request asks to skip the cache: the header ``x-use-cache: false`` or
    the legacy body ``"options": {"use_cache": false}`` (§1.2)."""
    header = handler.headers.get("x-use-cache")
    if header is not None and header.strip().lower() == "false":
        return False
    options = payload.get("options")
    return not (isinstance(options, dict) and options.get("use_cache") is False)


def _parse(raw: bytes) -> tuple[Any, str | None]:
    """The request body as TEI's ``EmbedRequest`` would accept it, or the reason why not."""
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, f"invalid JSON ({exc})"
    if not isinstance(payload, dict):
        return payload, f"expected a JSON object, got {type(payload).__name__}"
    if "inputs" not in payload:
        return payload, "missing field `inputs`"
    inputs = payload["inputs"]
    if not (isinstance(inputs, str)
            or isinstance(inputs, list) and all(isinstance(t, str) for t in inputs)):
        # TEI also takes token ids; this endpoint serves text only
        return payload, "`inputs` must be a string or a list of strings"
    for key in ("truncate", "normalize"):
        if payload.get(key) is not None and not isinstance(payload[key], bool):
            return payload, f"`{key}` must be a boolean, not {payload[key]!r}"
    direction = payload.get("truncation_direction")
    if direction is not None and direction not in ("left", "Left", "right", "Right"):
        return payload, (f"unknown variant {direction!r} for `truncation_direction`, "
                         "expected one of `Left`, `Right`")
    return payload, None
