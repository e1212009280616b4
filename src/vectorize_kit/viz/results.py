"""Figures of vector search results."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

__all__ = ["similarity_bar"]


def _label(record: dict, label: str | None, width: int = 60) -> str:
    value = record.get(label) if label else None
    text = str(value if value is not None else record.get("_id", "?"))
    return text if len(text) <= width else text[: width - 1] + "…"


def similarity_bar(results: Any, *, label: str | None = None, title: str | None = None
                   ) -> go.Figure:
    """A horizontal bar per result, its length the ``$similarity`` score, best on top.

    Parameters
    ----------
    results
        The documents or rows of a search run with ``include_similarity=True``: a list of
        dicts or a DataFrame with a ``$similarity`` column.
    label
        The field to label bars with (default ``_id``); long texts are shortened.
    """
    records = results.to_dict("records") if hasattr(results, "to_dict") else list(results)
    missing = [i for i, r in enumerate(records) if "$similarity" not in r]
    if missing:
        raise ValueError(f"results {missing[:5]} have no '$similarity': search with "
                         "include_similarity=True")
    labels = [f"{i + 1}. {_label(r, label)}" for i, r in enumerate(records)]
    scores = [float(r["$similarity"]) for r in records]
    fig = go.Figure(go.Bar(
        x=scores, y=labels, orientation="h", text=[f"{s:.4f}" for s in scores],
        textposition="auto", hovertemplate="%{y}<br>$similarity %{x:.4f}<extra></extra>"))
    fig.update_layout(
        title=title or "Search results by $similarity", xaxis_title="$similarity",
        yaxis={"autorange": "reversed"}, height=max(240, 60 + 28 * len(records)),
        margin={"l": 10, "r": 10, "t": 40, "b": 40})
    return fig
