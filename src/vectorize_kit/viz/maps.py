"""Maps of embedding spaces: a collection's (or a table vector column's) vectors in 2-D."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .projection import Projection, cached, project
from .results import _missing, hover_of, label_of

__all__ = ["embedding_map", "load_vectors", "VectorData"]

_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf")


@dataclass(frozen=True)
class VectorData:
    """What a map shows: the documents (or rows) with a vector, their vectors, their keys,
    the metric, and how many were left out."""

    records: list[dict]  # fields other than vectors, one per vector
    vectors: np.ndarray
    keys: list[Any]  # _id, or a row's primary key tuple
    metric: str
    column: str
    total: int  # documents or rows, with a vector or not
    without: int  # of them, how many have no vector
    noun: str


def _is_table(source: Any) -> bool:
    return hasattr(source, "definition")


def _vector_column(source: Any, column: str | None) -> str:
    if not _is_table(source):
        return "$vector"
    vectors = [n for n, c in source.definition()["columns"].items() if c["type"] == "vector"]
    if column is None and len(vectors) == 1:
        return vectors[0]
    if column not in vectors:
        raise ValueError(f"table {source.name!r} has the vector columns {vectors}: name one "
                         f"with vector_column= (not {column!r})")
    return column  # type: ignore[return-value]


def _metric(source: Any, column: str) -> str:
    if not _is_table(source):
        return (source.options().get("vector") or {}).get("metric", "cosine")
    for index in source.list_indexes():
        if index["definition"]["column"] == column:
            return index["definition"].get("options", {}).get("metric", "cosine")
    return "cosine"  # no vector index: the Data API's default metric


def load_vectors(source: Any, *, vector_column: str | None = None) -> VectorData:
    """The vectors of a collection or of a table's vector column, with their documents or
    rows (cached until the data changes)."""
    column = _vector_column(source, vector_column)

    def load() -> VectorData:
        table = _is_table(source)
        # every field, $vectorize (the text) included, and $vector as float32 arrays
        frame = source.to_pandas() if table else source.to_pandas(projection={"*": 1},
                                                                   include_vector=True)
        if column not in frame.columns:  # no document has a vector
            frame[column] = None
        has = frame[column].map(lambda v: not _missing(v)).to_numpy(dtype=bool)
        kept = frame[has]
        vectors = (np.stack(kept[column].to_list()).astype(np.float32) if len(kept)
                   else np.zeros((0, 0), dtype=np.float32))
        skip = [c for c in frame.columns if c == column or (
            table and source.definition()["columns"][c]["type"] == "vector")]
        records = [{k: v for k, v in rec.items() if k not in skip and not _missing(v)}
                   for rec in kept.to_dict("records")]
        keys = [_key_of(source, r) for r in records]
        return VectorData(records, vectors, keys, _metric(source, column), column,
                          len(frame), int((~has).sum()), "rows" if table else "documents")

    return cached(("vectors", source.data_version, column), load)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun[:-1] if n == 1 else noun}"


def _sample_rows(n: int, sample: int | None, seed: int) -> np.ndarray:
    if sample is None or n <= sample:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, sample, replace=False))


def _points(data: VectorData, rows: np.ndarray, projection: Projection, color: str | None,
            label: str | None) -> list[go.Scattergl]:
    """The map's points: one trace, or one per value of ``color`` (a continuous scale for a
    numeric field with many values)."""
    records = [data.records[i] for i in rows]
    labels = [label_of(r, label) for r in records]
    hovers = [f"<b>{html.escape(lbl)}</b><br>{hover_of(r)}" for lbl, r in zip(labels, records)]
    xy = projection.coords
    values = pd.Series([r.get(color) for r in records], dtype=object) if color else None
    numeric = values is not None and values.map(
        lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)).all() \
        and values.nunique() > 12
    marker: dict[str, Any] = {"size": 7, "opacity": 0.8}
    common = {"mode": "markers", "hovertemplate": "%{hovertext}<extra></extra>"}
    if values is None or numeric:
        if numeric:
            marker.update(color=values.astype(float).to_list(), colorscale="Viridis",
                          showscale=True, colorbar={"title": color})
        return [go.Scattergl(x=xy[:, 0], y=xy[:, 1], hovertext=hovers, name=data.noun,
                             marker=marker, customdata=[str(data.keys[i]) for i in rows],
                             **common)]
    traces = []
    groups = values.map(lambda v: "(missing)" if v is None else str(v))
    for n, group in enumerate(groups.value_counts().index):
        member = np.flatnonzero(groups.to_numpy() == group)
        traces.append(go.Scattergl(
            x=xy[member, 0], y=xy[member, 1], name=group, legendgroup=group,
            hovertext=[hovers[i] for i in member],
            customdata=[str(data.keys[rows[i]]) for i in member],
            marker={**marker, "color": _PALETTE[n % len(_PALETTE)]}, **common))
    return traces


def _query_overlay(source: Any, data: VectorData, rows: np.ndarray, projection: Projection,
                   query: Any, k: int) -> tuple[list[go.Scatter], str | None]:
    """The query's point and lines to its top-k results, and a note on any result that is
    not on the map."""
    if isinstance(query, str):
        sort = {"$vectorize" if data.column == "$vector" else data.column: query}
    else:
        sort = {data.column: [float(x) for x in np.asarray(query, dtype=np.float32)]}
    cursor = source.find({}, sort=sort, limit=k, include_similarity=True,
                         include_sort_vector=True)
    found = cursor.to_list()
    vector = np.asarray(cursor.get_sort_vector(), dtype=np.float32)
    on_map = {data.keys[r]: n for n, r in enumerate(rows)}
    results = []
    for rank, doc in enumerate(found, start=1):
        point = on_map.get(_key_of(source, doc))
        if point is not None:
            results.append((rank, point, float(doc["$similarity"])))
    where = projection.place(vector, np.array([p for _, p, _ in results], dtype=np.int64),
                             np.array([s for _, _, s in results]))[0]
    xy = projection.coords
    lines_x: list[float | None] = []
    lines_y: list[float | None] = []
    for _, point, _ in results:
        lines_x += [float(where[0]), float(xy[point, 0]), None]
        lines_y += [float(where[1]), float(xy[point, 1]), None]
    text = query if isinstance(query, str) else "query vector"
    placed = ("its exact projection" if projection.method == "pca" else
              "the similarity-weighted mean of its results' places (UMAP has no exact "
              "projection of a new point)")
    traces = [
        go.Scatter(x=lines_x, y=lines_y, mode="lines", name=f"top {k}",
                   line={"color": "rgba(80,80,80,0.6)", "width": 1}, hoverinfo="skip"),
        go.Scatter(x=[xy[p, 0] for _, p, _ in results], y=[xy[p, 1] for _, p, _ in results],
                   mode="markers", name="results",
                   marker={"size": 13, "symbol": "circle-open", "color": "black"},
                   hovertext=[f"#{rank}, $similarity {s:.4f}" for rank, _, s in results],
                   hovertemplate="%{hovertext}<extra></extra>"),
        go.Scatter(x=[where[0]], y=[where[1]], mode="markers", name="query",
                   marker={"size": 16, "symbol": "star", "color": "black"},
                   hovertext=[f"<b>query</b>: {html.escape(text[:80])}<br>placed at {placed}"],
                   hovertemplate="%{hovertext}<extra></extra>"),
    ]
    missing = len(found) - len(results)
    note = (f"{missing} of the {len(found)} results are not on the map (outside the sample)"
            if missing else None)
    return traces, note


def _key_of(source: Any, record: dict) -> Any:
    """A document's ``_id``, or a row's primary key values (a tuple)."""
    if not _is_table(source):
        return record["_id"]
    key = source.definition()["primaryKey"]
    names = [key] if isinstance(key, str) else [*key["partitionBy"],
                                               *key.get("partitionSort", {})]
    return tuple(record.get(n) for n in names)


def map_projection(data: VectorData, rows: np.ndarray, *, method: str, n_neighbors: int,
                   random_state: int | None, version: Any) -> Projection:
    """The 2-D projection of the chosen rows (cached until the data changes)."""
    return cached(("projection", version, data.column, method, n_neighbors, random_state,
                   rows.tobytes()),
                  lambda: project(data.vectors[rows], method=method, metric=data.metric,
                                  n_neighbors=n_neighbors, random_state=random_state))


def embedding_map(source: Any, *, method: str = "umap", color: str | None = None,
                  label: str | None = None, vector_column: str | None = None,
                  sample: int | None = 5000, query: Any = None, k: int = 5, seed: int = 0,
                  n_neighbors: int = 15, random_state: int | None = None,
                  title: str | None = None) -> go.Figure:
    """A 2-D map of a collection's vectors (or a table vector column's).

    Parameters
    ----------
    source
        A :class:`~vectorize_kit.Collection` or :class:`~vectorize_kit.Table`.
    method
        ``"umap"`` (neighbours under the collection's metric) or ``"pca"`` (fast, exact).
    color, label
        A field to colour the points by, and one to label them with (default: the
        ``$vectorize`` text or another text field). Hovering shows the document.
    sample
        At most this many points (a random sample, drawn with ``seed``); the figure says so.
        ``None``: every one.
    query
        A text (embedded by the collection's service) or a vector: its point goes on the map
        with lines to its ``k`` nearest results.
    random_state
        Makes UMAP repeatable (and single-threaded).

    The projection is cached until the collection changes: running the cell again is
    instant. Documents without a vector are left out (the figure says how many).
    """
    data = load_vectors(source, vector_column=vector_column)
    rows = _sample_rows(len(data.vectors), sample, seed)
    projection = map_projection(data, rows, method=method, n_neighbors=n_neighbors,
                                random_state=random_state, version=source.data_version)
    fig = go.Figure(_points(data, rows, projection, color, label))
    notes = []
    if len(rows) < len(data.vectors):
        notes.append(f"a random sample of {len(rows):,} of {len(data.vectors):,} {data.noun}")
    if data.without:
        notes.append(f"{_count(data.without, data.noun)} without a vector not shown")
    if method == "umap" and projection.method == "pca":
        notes.append("PCA: UMAP needs at least 4 points")
    if query is not None and len(rows):
        traces, note = _query_overlay(source, data, rows, projection, query, k)
        fig.add_traces(traces)
        if note:
            notes.append(note)
    heading = title or (f"{source.name}: {projection.method.upper()} map of "
                        f"{_count(len(rows), data.noun)} ({data.metric})")
    fig.update_layout(
        title={"text": heading + (f"<br><sup>{html.escape('; '.join(notes))}</sup>"
                                  if notes else "")},
        xaxis={"showticklabels": False, "title": None, "zeroline": False},
        yaxis={"showticklabels": False, "title": None, "zeroline": False},
        legend_title_text=color, height=560, margin={"l": 10, "r": 10, "t": 70, "b": 10},
        meta={"points": len(rows), "total": data.total, "without_vector": data.without,
              "method": projection.method, "metric": data.metric})
    return fig
