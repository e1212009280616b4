"""L2 embedding providers: the local ONNX model and the Hugging Face Serverless API.

Providers are created lazily (the local model loads onnxruntime only when first used), one
instance per process and endpoint, through :func:`get_provider`.
"""

from __future__ import annotations

import atexit
import threading

from .base import Kind, Provider

__all__ = ["Provider", "Kind", "get_provider", "register_provider"]

_providers: dict[tuple[str, str | None], Provider] = {}
_lock = threading.Lock()


def get_provider(name: str, *, endpoint: str | None = None) -> Provider:
    """The provider called ``name`` (``"local"`` or ``"huggingface"``), created on first use.

    ``endpoint`` is the base URL of an external provider's API (``None``: its default).
    """
    key = (name, endpoint)
    with _lock:
        if key not in _providers:
            if name == "local":
                from .local import LocalProvider

                _providers[key] = LocalProvider()
            elif name == "huggingface":
                from .huggingface import HuggingFaceProvider

                _providers[key] = HuggingFaceProvider(base_url=endpoint)
            else:
                raise KeyError(name)
        return _providers[key]


def register_provider(provider: Provider, *, endpoint: str | None = None) -> None:
    """Use ``provider`` (e.g. a ``HuggingFaceProvider`` with other timeouts or retries) for
    its name and endpoint from now on in this process."""
    with _lock:
        _providers[(provider.name, endpoint)] = provider


@atexit.register
def _close_providers() -> None:
    for provider in list(_providers.values()):
        close = getattr(provider, "close", None)
        if close is not None:
            close()
