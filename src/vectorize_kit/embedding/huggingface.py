"""The Hugging Face Serverless embedding provider (``huggingface``), over httpx.

``POST {base}/hf-inference/models/{model}/pipeline/feature-extraction`` with
``Authorization: Bearer <token>`` (``reference/hf-embeddings.md`` §1):

- at most 32 inputs a request; several requests in flight (bounded); the order of the texts
  is kept;
- ``truncate`` is sent explicitly, so over-long input behaves the same on every server;
- 1-D and 2-D answers are read as vectors; a 3-D (token-level) answer is pooled the model's
  way (mean or CLS) and L2-normalised;
- 429 (honouring ``Retry-After``), 503 (honouring ``estimated_time``), 408, 504, timeouts and
  dropped connections are retried with exponential backoff and full jitter; other errors are
  not;
- a 413/422 answer about the batch size halves the batch;
- failures become the Data API's ``EMBEDDING_PROVIDER_*`` errors, whose messages give the
  status and the provider's message — never the token.

The base URL defaults to the Hugging Face router; tests and offline demos point it at the
loopback endpoint (:mod:`vectorize_kit.embedding.hf_endpoint`).
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ..errors import DataAPIError
from ..models import PROVIDERS
from ..values import Secret
from .base import Kind

__all__ = ["HuggingFaceProvider", "DEFAULT_BASE_URL"]

logger = logging.getLogger("vectorize_kit.embedding")

DEFAULT_BASE_URL = "https://router.huggingface.co"
PROVIDER = "huggingface"
_RETRY_STATUS = (408, 429, 503, 504)


def missing_key_error(provider: str) -> DataAPIError:
    """``EMBEDDING_PROVIDER_AUTHENTICATION_KEYS_NOT_PROVIDED``, as the Data API words it."""
    return DataAPIError(
        "EMBEDDING_PROVIDER_AUTHENTICATION_KEYS_NOT_PROVIDED",
        f"Missing authentication header(s) from embedding request (provider '{provider}'): "
        "'x-embedding-api-key' header is missing'). Pass embedding_api_key=... (the "
        "x-embedding-api-key header), or use a collection created with a credential "
        "(providerKey) whose scope holds the database.")


def _timeout_error(status: str, message: str) -> DataAPIError:
    return DataAPIError(
        "EMBEDDING_PROVIDER_TIMEOUT",
        "The command called an embedding provider to vectorize text, but the provider did "
        f"not respond within the allowed time.\n\nThe embedding provider was: {PROVIDER}.\n"
        f"The HTTP status code was: {status}.\nThe error message was: {message}.\n\nIt is "
        "safe to retry this request.")


class _Retryable(Exception):
    """A failure worth another try; ``final`` is the error to raise when tries run out."""

    def __init__(self, final: DataAPIError, wait: float | None = None) -> None:
        super().__init__(final.message)
        self.final = final
        self.wait = wait


class _BatchTooLarge(Exception):
    pass


def _error_text(response: Any) -> str:
    """The provider's message as the Data API quotes it: the JSON ``/error`` node."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict) and "error" in body:
        return json.dumps(body["error"])
    return json.dumps(body)[:500]


class HuggingFaceProvider:
    """Embeds texts with a model of the Hugging Face Serverless API.

    Parameters
    ----------
    base_url
        The API's base; default ``$VECTORIZE_KIT_HF_ENDPOINT`` or the Hugging Face router.
    max_in_flight
        Requests sent at the same time (by every call of this provider together). While an
        answer is parsed, the next request is already on its way.
    batch_size
        Inputs per request (the API takes at most 32).
    timeout
        Seconds to wait for one answer.
    max_retries
        Extra tries of a request that failed in a way worth retrying.
    backoff, max_backoff
        The first wait and the longest wait between tries, in seconds.
    sleep, rng
        Injected for tests (``time.sleep``, ``random.Random()``).
    """

    name = PROVIDER

    def __init__(self, *, base_url: str | None = None, max_in_flight: int = 4,
                 batch_size: int = 32, timeout: float = 30.0, max_retries: int = 5,
                 backoff: float = 0.5, max_backoff: float = 20.0,
                 sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None) -> None:
        self.base_url = (base_url or os.environ.get("VECTORIZE_KIT_HF_ENDPOINT")
                         or DEFAULT_BASE_URL).rstrip("/")
        self.max_in_flight = max_in_flight
        self.batch_size = min(batch_size, 32)
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._client: Any = None
        self._client_lock = threading.Lock()
        # requests on the wire; a batch holds a slot only while its request is answered, not
        # while its answer is parsed
        self._slots = threading.BoundedSemaphore(max_in_flight)

    def __repr__(self) -> str:
        return f"HuggingFaceProvider(base_url={self.base_url!r})"

    def _http(self) -> Any:
        with self._client_lock:
            if self._client is None:
                import httpx

                self._client = httpx.Client(
                    timeout=self.timeout,
                    limits=httpx.Limits(max_connections=self.max_in_flight))
            return self._client

    def close(self) -> None:
        """Close the HTTP connections (a later call opens new ones)."""
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def url(self, model: str) -> str:
        # the model id goes in verbatim, its slash included, as the Data API does
        return f"{self.base_url}/hf-inference/models/{model}/pipeline/feature-extraction"

    # -- the public call ---------------------------------------------------------------------
    def embed(self, texts: list[str], *, model: str, kind: Kind = "passage",
              api_key: Secret | str | None = None, truncate: bool = True) -> np.ndarray:
        """One L2-normalised float32 vector per text, in order (see the module docstring).

        Errors come out with no exception chain (nothing that could hold the token)."""
        key = Secret(api_key) if isinstance(api_key, str) else api_key
        del api_key  # from here on only the Secret, which never shows itself, is around
        try:
            return self._embed(texts, model, key, truncate)
        except DataAPIError as exc:
            error = exc
        error.__cause__ = error.__context__ = None
        raise error.with_traceback(None)

    def _embed(self, texts: list[str], model: str, api_key: Secret | None,
               truncate: bool) -> np.ndarray:
        info = PROVIDERS[PROVIDER].model(model)
        if info is None:
            raise DataAPIError(
                "EMBEDDING_PROVIDER_UNAVAILABLE",
                f"The Embedding Provider is unavailable\nUnderlying problem: model '{model}' is "
                f"not one of provider '{PROVIDER}''s models.")
        if api_key is None or not api_key.reveal():
            raise missing_key_error(PROVIDER)
        if not texts:
            return np.zeros((0, info.dimension), dtype=np.float32)
        batches = [texts[i : i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        key = api_key
        run = lambda batch: self._embed_batch(batch, info, key, truncate)  # noqa: E731
        if len(batches) == 1 or self.max_in_flight == 1:
            parts = [run(b) for b in batches]
        else:
            # twice the slots: a batch whose answer is being parsed has freed its slot for
            # the next one
            workers = min(len(batches), 2 * self.max_in_flight)
            with ThreadPoolExecutor(max_workers=workers) as pool:
                parts = list(pool.map(run, batches))  # map keeps the order
        return np.concatenate(parts).astype(np.float32, copy=False)

    # -- one batch ---------------------------------------------------------------------------
    def _embed_batch(self, batch: list[str], info: Any, api_key: Secret,
                     truncate: bool) -> np.ndarray:
        try:
            return self._with_retries(batch, info, api_key, truncate)
        except _BatchTooLarge:
            if len(batch) == 1:
                raise DataAPIError(
                    "EMBEDDING_PROVIDER_CLIENT_ERROR",
                    f"Provider '{PROVIDER}' returned a HTTP client error: it refused a batch "
                    "of a single input as too large.") from None
            half = len(batch) // 2
            logger.info("%s refused a batch of %d inputs as too large; halving it",
                        PROVIDER, len(batch))
            return np.concatenate([self._embed_batch(batch[:half], info, api_key, truncate),
                                   self._embed_batch(batch[half:], info, api_key, truncate)])

    def _with_retries(self, batch: list[str], info: Any, api_key: Secret,
                      truncate: bool) -> np.ndarray:
        attempt = 0
        while True:
            try:
                return self._post(batch, info, api_key, truncate)
            except _Retryable as exc:
                retry = exc
            if attempt >= self.max_retries:
                raise retry.final
            with self._rng_lock:  # exponential backoff with full jitter
                jitter = self._rng.uniform(0, min(self.max_backoff, self.backoff * 2 ** attempt))
            # the server's own hint (Retry-After, estimated_time) wins, up to two minutes
            wait = min(retry.wait, 120.0) if retry.wait is not None else jitter
            logger.info("%s: %s; retry %d of %d in %.2f s", PROVIDER, retry.final.error_code,
                        attempt + 1, self.max_retries, wait)
            self._sleep(wait)
            attempt += 1

    def _post(self, batch: list[str], info: Any, api_key: Secret, truncate: bool) -> np.ndarray:
        import httpx

        # Errors are raised after the ``except`` blocks, never inside them: an exception
        # raised there would keep httpx's (whose request holds the Authorization header) as
        # its ``__context__``.
        failure = None
        try:
            with self._slots:
                response = self._http().post(
                    self.url(info.name),
                    json={"inputs": batch, "truncate": truncate},
                    headers={"Authorization": f"Bearer {api_key.reveal()}"},
                )
        except httpx.TimeoutException:
            failure = "timeout"
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            failure = f"dropped:{type(exc).__name__}"
        except httpx.TransportError as exc:  # nothing listening, DNS...: not worth retrying
            failure = f"unreachable:{type(exc).__name__}"
        if failure == "timeout":
            raise _Retryable(_timeout_error("<CLIENT SOCKET TIMEOUT>",
                                            f"no answer within {self.timeout:g} s"))
        if failure is not None and failure.startswith("dropped:"):
            raise _Retryable(DataAPIError(
                "EMBEDDING_PROVIDER_UNAVAILABLE",
                f"The Embedding Provider is unavailable\nUnderlying problem: the connection "
                f"to '{self.base_url}' was dropped ({failure[8:]})."))
        if failure is not None:
            raise DataAPIError(
                "EMBEDDING_PROVIDER_UNAVAILABLE",
                f"The Embedding Provider is unavailable\nUnderlying problem: cannot reach "
                f"'{self.base_url}' ({failure[12:]}).")
        status = response.status_code
        if status == 200:
            return self._vectors(response, batch, info)
        message = _error_text(response)
        if status in (413, 422) and "batch size" in message.lower():
            raise _BatchTooLarge()
        if status in _RETRY_STATUS:
            raise _Retryable(self._http_error(status, message), self._wait_hint(response))
        raise self._http_error(status, message)

    @staticmethod
    def _wait_hint(response: Any) -> float | None:
        header = response.headers.get("retry-after")
        if header is not None:
            try:
                return max(float(header), 0.0)
            except ValueError:
                return None
        if response.status_code == 503:
            try:
                return float(response.json().get("estimated_time"))
            except (ValueError, TypeError, AttributeError):
                return None
        return None

    @staticmethod
    def _http_error(status: int, message: str) -> DataAPIError:
        if status in (408, 504):
            return _timeout_error(str(status), message)
        if status == 429:
            return DataAPIError(
                "EMBEDDING_PROVIDER_RATE_LIMITED",
                f"Provider '{PROVIDER}' rate limited the request with HTTP {status}; error "
                f"message: {message}")
        if 400 <= status < 500:
            return DataAPIError(
                "EMBEDDING_PROVIDER_CLIENT_ERROR",
                f"Provider '{PROVIDER}' returned a HTTP client error with HTTP {status}; error "
                f"message: {message}")
        if status >= 500:
            return DataAPIError(
                "EMBEDDING_PROVIDER_SERVER_ERROR",
                f"Provider '{PROVIDER}' returned a HTTP server error with HTTP {status}; error "
                f"message: {message}")
        return DataAPIError(
            "EMBEDDING_PROVIDER_UNEXPECTED_RESPONSE",
            f"The Embedding Provider returned an unexpected response.\nUnderlying problem: "
            f"HTTP {status}; {message}.")

    @staticmethod
    def _vectors(response: Any, batch: list[str], info: Any) -> np.ndarray:
        def unexpected(problem: str) -> DataAPIError:
            return DataAPIError(
                "EMBEDDING_PROVIDER_UNEXPECTED_RESPONSE",
                f"The Embedding Provider returned an unexpected response.\nUnderlying problem: "
                f"{problem}.")

        kind = response.headers.get("content-type", "")
        if not kind.lower().startswith(("application/json", "text/json")):
            raise unexpected(f"Expected response Content-Type ('application/json' or "
                             f"'text/json') but found '{kind}'; HTTP Status: 200; The response "
                             f"body is: '{response.text[:200]}'")
        data = None
        try:
            body = response.json()
            if (isinstance(body, list) and body and isinstance(body[0], list) and body[0]
                    and isinstance(body[0][0], list)):
                # token-level hidden states, one (tokens x dim) array a text: pool each the
                # model's way (texts have different token counts)
                pooled = [np.asarray(t, dtype=np.float32) for t in body]
                data = np.stack([t[0] if info.pooling == "cls" else t.mean(axis=0)
                                 for t in pooled])
                norms = np.linalg.norm(data, axis=1, keepdims=True)
                data = data / np.where(norms == 0, 1, norms)
            else:
                data = np.asarray(body, dtype=np.float32)
        except (ValueError, TypeError, IndexError):
            pass
        if data is None:
            raise unexpected("the answer is not an array of numbers")
        if data.ndim == 1 and len(batch) == 1:
            data = data[None, :]
        if data.ndim != 2:
            raise unexpected(f"an array of {data.ndim} dimensions")
        if data.shape[0] != len(batch):
            raise unexpected(f"Embedding provider '{PROVIDER}' returned {data.shape[0]} "
                             f"vectors for {len(batch)} texts")
        if data.shape[1] != info.dimension:
            raise unexpected(f"Embedding provider '{PROVIDER}' did not return expected "
                             f"embedding length. Expect: '{info.dimension}'. Actual: "
                             f"'{data.shape[1]}'")
        bad = ~np.isfinite(data).all(axis=1) | ~data.any(axis=1)
        if bad.any():
            raise unexpected(f"Embedding provider '{PROVIDER}' returned a vector that is not "
                             f"finite or is all zeros (text {int(np.argmax(bad))} of the batch)")
        return data
