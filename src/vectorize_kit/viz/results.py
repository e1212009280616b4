"""Figures of vector search results."""

from __future__ import annotations

import html
from typing import Any

import plotly.graph_objects as go

from .common import MISSING, hover_of, label_of, records_of

__all__ = ["similarity_bar"]


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
    labels = [f"{i + 1}. {html.escape(label_of(r, label), quote=False)}"
              for i, r in enumerate(records)]
    groups: dict[Any, list[int]] = {}
    for i, r in enumerate(records):
        value = r.get(color) if color else None
        group = (MISSING if value is None else str(value)) if color else None
        groups.setdefault(group, []).append(i)
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
