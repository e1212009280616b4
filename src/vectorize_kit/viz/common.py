"""What the figures share: reading results, labels and hover texts, document keys, colours,
and the points of a map."""

from __future__ import annotations

import datetime as dt
import html
import json
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..api import Table

__all__ = ["PALETTE", "MISSING", "records_of", "missing", "hashable", "key_names",
           "label_of", "hover_of", "sample_rows", "point_traces", "check_positive"]

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")
MISSING = "(missing)"  # the colour group of a document without the field
_GREY = "#b0b0b0"

# the fields that name a document best, in this order, when no label field is given
_LABEL_FIELDS = ("$vectorize", "title", "name", "text", "content", "body")


def missing(value: Any) -> bool:
    """NaN, NA, NaT or None (a list, dict or array is never missing)."""
    return not isinstance(value, (list, tuple, dict, np.ndarray)) and bool(pd.isna(value))


def records_of(results: Any) -> list[dict]:
    """The documents of a ``find()`` cursor, a list of dicts or a DataFrame."""
    if isinstance(results, pd.DataFrame):
        return [{k: v for k, v in rec.items() if not missing(v)}
                for rec in results.to_dict("records")]
    if hasattr(results, "to_list"):
        return results.to_list()
    return list(results)


def hashable(value: Any) -> Any:
    """A dict key for a document key: ``{"$uuid": ...}`` or a tuple holding one becomes
    hashable."""
    if isinstance(value, tuple):
        return tuple(hashable(v) for v in value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def key_names(source: Any) -> list[str] | None:
    """A table's primary key columns; ``None`` for a collection (its key is ``_id``)."""
    return source.primary_key_columns() if isinstance(source, Table) else None


def _shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def label_of(record: dict, label: str | None, width: int = 60) -> str:
    """A short label: the ``label`` field; else a text field (``$vectorize``, ``title``...),
    the ``_id``, or (a table row) the first text value or the first value; else ``"?"``."""
    fields = (label,) if label else (*_LABEL_FIELDS, "_id")
    value = next((record[f] for f in fields if f and record.get(f) is not None), None)
    if value is None and not label:  # a table row: its first text, else its first value
        value = next((v for v in record.values() if isinstance(v, str)),
                     next(iter(record.values()), None))
    return _shorten(str("?" if value is None else value), width)


def _shown(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"$date"} and isinstance(value["$date"], int):
        value = dt.datetime.fromtimestamp(value["$date"] / 1000, dt.timezone.utc)
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def _is_vector(key: str, value: Any) -> bool:
    """``$vector``, an array, or a list of more than 8 floats (a table's vector column)."""
    return key == "$vector" or isinstance(value, np.ndarray) or (
        isinstance(value, list) and len(value) > 8
        and all(isinstance(v, float) for v in value))


def hover_of(record: dict, *, width: int = 80, fields: int = 8) -> str:
    """The document as hover text, a field a line (long values shortened; vectors and
    ``$similarity`` left out, the latter being shown apart)."""
    shown = [(k, v) for k, v in record.items()
             if k != "$similarity" and not _is_vector(k, v)]
    lines = [f"<b>{html.escape(str(k))}</b>: {html.escape(_shorten(_shown(v), width))}"
             for k, v in shown[:fields]]
    if len(shown) > fields:
        lines.append(f"… {len(shown) - fields} more field(s)")
    return "<br>".join(lines)


def sample_rows(n: int, sample: int | None, seed: int) -> np.ndarray:
    """All of ``n`` rows, or a sorted random ``sample`` of them."""
    if sample is None or n <= sample:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, sample, replace=False))


def check_positive(**values: int | None) -> None:
    for name, value in values.items():
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")


def _numeric(values: list[Any]) -> bool:
    present = [v for v in values if v is not None]
    return bool(present) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                 for v in present) and len(set(present)) > 12


def point_traces(xy: np.ndarray, records: list[dict], ids: list[str], *, color: str | None,
                 label: str | None, name: str, showlegend: bool = True) -> list[go.Scattergl]:
    """A map's points: one trace, or one per value of ``color`` (most frequent first; grey
    for documents without it), or one on a colour scale for a numeric field with many
    values. Each point's hover shows its document; ``customdata`` holds its key."""
    hovers = [f"<b>{html.escape(label_of(r, label))}</b><br>{hover_of(r)}" for r in records]
    common = {"mode": "markers", "hovertemplate": "%{hovertext}<extra></extra>"}
    marker: dict[str, Any] = {"size": 7, "opacity": 0.8}
    values = [r.get(color) for r in records] if color else None
    if values is None or _numeric(values):
        if values is not None:
            marker.update(color=[np.nan if v is None else float(v) for v in values],
                          colorscale="Viridis", showscale=True, colorbar={"title": color})
        return [go.Scattergl(x=xy[:, 0], y=xy[:, 1], hovertext=hovers, customdata=ids,
                             name=name, marker=marker, showlegend=showlegend, **common)]
    groups = pd.Series([MISSING if v is None else str(v) for v in values], dtype=object)
    order = [g for g in groups.value_counts().index if g != MISSING]
    if MISSING in set(groups):
        order.append(MISSING)
    traces = []
    for n, group in enumerate(order):
        member = np.flatnonzero(groups.to_numpy() == group)
        colour = _GREY if group == MISSING else PALETTE[n % len(PALETTE)]
        traces.append(go.Scattergl(
            x=xy[member, 0], y=xy[member, 1], name=group, legendgroup=group,
            hovertext=[hovers[i] for i in member], customdata=[ids[i] for i in member],
            marker={**marker, "color": colour}, showlegend=showlegend, **common))
    return traces
