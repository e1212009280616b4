"""What an embedding provider is: texts in, one float32 vector per text out."""

from __future__ import annotations

from typing import Literal, Protocol

import numpy as np

from ..values import Secret

__all__ = ["Provider", "Kind"]

Kind = Literal["passage", "query"]


class Provider(Protocol):
    """An embedding provider (``local``, ``huggingface``...).

    ``embed`` returns an ``(len(texts), dimension)`` float32 array, in the order of
    ``texts``.  ``kind`` says whether the texts are documents (``"passage"``) or a search
    query (``"query"``), for models that prefix queries differently.  ``api_key`` is the
    secret to call an external provider with (``None`` for hosted-style providers).
    Failures raise :class:`~vectorize_kit.errors.DataAPIError` with the Data API's
    ``EMBEDDING_PROVIDER_*`` codes.
    """

    name: str

    def embed(self, texts: list[str], *, model: str, kind: Kind = "passage",
              api_key: Secret | None = None) -> np.ndarray: ...
