"""The Data API over HTTP, and the Python API against a remote Data API endpoint.

- :func:`serve` / :class:`DataAPIServer` (``vectorize-kit serve`` on the command line): a
  database of a workspace as a Data API endpoint on loopback, for curl, astrapy and
  :func:`connect`;
- :func:`connect`: the same :class:`~vectorize_kit.Database` / ``Collection`` / ``Table`` API
  backed by a remote Data API endpoint (Astra DB, HCD, or a :class:`DataAPIServer`).

The server needs starlette and uvicorn (imported when a server is made); :func:`connect`
needs only httpx.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ROLES", "DataAPIServer", "connect", "serve"]


def __getattr__(name: str) -> Any:
    if name in ("DataAPIServer", "serve"):
        from . import run

        return getattr(run, name)
    if name == "connect":
        from .remote import connect

        return connect
    if name == "ROLES":
        from .auth import ROLES

        return ROLES
    raise AttributeError(name)
