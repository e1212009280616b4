"""Plotly figures of search results and embedding spaces (imports plotly)."""

from __future__ import annotations

from .results import similarity_bar

__all__ = ["similarity_bar"]
