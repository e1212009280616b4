"""L2 embedding providers: the local ONNX model and the Hugging Face Serverless API.

Providers are created lazily (the local model loads onnxruntime only when first used), one
instance per process, through :func:`get_provider`.
"""

from __future__ import annotations

import threading

from .base import Kind, Provider

__all__ = ["Provider", "Kind", "get_provider"]

_providers: dict[str, Provider] = {}
_lock = threading.Lock()


def get_provider(name: str) -> Provider:
    """The provider called ``name`` (``"local"``), created on first use."""
    with _lock:
        if name not in _providers:
            if name == "local":
                from .local import LocalProvider

                _providers[name] = LocalProvider()
            else:
                raise KeyError(name)
        return _providers[name]
