"""Figures of vector search results, and the labels and hover texts the maps share."""

from __future__ import annotations

import html
import json
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

__all__ = ["similarity_bar", "records_of", "label_of", "hover_of"]

# the fields that name a document best, in this order, when no label field is given
_LABEL_FIELDS = ("$vectorize", "title", "name", "text", "content", "body")


def records_of(results: Any) -> list[dict]:
    """The documents of a ``find()`` cursor, a list of dicts or a DataFrame."""
    if isinstance(results, pd.DataFrame):
        return [{k: v for k, v in rec.items() if not _missing(v)}
                for rec in results.to_dict("records")]
    if hasattr(results, "to_list"):
        return results.to_list()
    return list(results)


def _missing(value: Any) -> bool:
    return not isinstance(value, (list, tuple, dict, np.ndarray)) and bool(pd.isna(value))


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def label_of(record: dict, label: str | None, width: int = 60) -> str:
    """A short label: the ``label`` field, else a text field (``$vectorize``, ``title``...),
    else the ``_id``."""
    fields = (label,) if label else _LABEL_FIELDS
    value = next((record[f] for f in fields if f and record.get(f) is not None), None)
    if value is None:
        value = record.get("_id", "?")
    return _shorten(str(value), width)


def _is_vector(value: Any) -> bool:
    return isinstance(value, np.ndarray) or (
        isinstance(value, list) and len(value) > 8
        and all(isinstance(v, (int, float)) for v in value[:8]))


def hover_of(record: dict, *, skip: tuple[str, ...] = (), width: int = 80,
             fields: int = 8) -> str:
    """The document as hover text: each field on a line (long values shortened, vectors
    left out)."""
    lines = []
    for key, value in record.items():
        if key in skip or key in ("$vector", "$similarity") or _is_vector(value):
            continue
        shown = value if isinstance(value, str) else json.dumps(value, default=str)
        lines.append(f"<b>{html.escape(str(key))}</b>: {html.escape(_shorten(shown, width))}")
        if len(lines) == fields:
            break
    return "<br>".join(lines)


def similarity_bar(results: Any, *, label: str | None = None, color: str | None = None,
                   title: str | None = None) -> go.Figure:
    """A horizontal bar per result, its length the ``$similarity`` score, best on top.

    Parameters
    ----------
    results
        A search run with ``include_similarity=True``: a ``find()`` cursor, a list of
        documents or rows, or a DataFrame with a ``$similarity`` column.
    label
        The field that labels the bars (default: ``$vectorize`` or another text field, else
        ``_id``); long texts are shortened. The hover text shows the whole document.
    color
        A field to colour the bars by (one legend entry per value).
    """
    records = records_of(results)
    missing = [i for i, r in enumerate(records) if "$similarity" not in r]
    if missing:
        raise ValueError(f"results {missing[:5]} have no '$similarity': search with "
                         "include_similarity=True")
    labels = [f"{i + 1}. {label_of(r, label)}" for i, r in enumerate(records)]
    groups: dict[Any, list[int]] = {}
    for i, r in enumerate(records):
        groups.setdefault(str(r.get(color, "(none)")) if color else None, []).append(i)
    fig = go.Figure()
    for group, rows in groups.items():
        scores = [float(records[i]["$similarity"]) for i in rows]
        fig.add_trace(go.Bar(
            x=scores, y=[labels[i] for i in rows], orientation="h", name=group or "results",
            text=[f"{s:.4f}" for s in scores], textposition="auto",
            hovertext=[hover_of(records[i]) for i in rows],
            hovertemplate="%{hovertext}<br><b>$similarity</b>: %{x:.4f}<extra></extra>",
            showlegend=group is not None))
    fig.update_layout(
        title=title or "Search results by $similarity", xaxis_title="$similarity",
        yaxis={"autorange": "reversed", "categoryorder": "array", "categoryarray": labels},
        height=max(240, 60 + 28 * len(records)), legend_title_text=color,
        margin={"l": 10, "r": 10, "t": 40, "b": 40})
    return fig
