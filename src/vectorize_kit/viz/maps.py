"""Maps of embedding spaces: a collection's (or a table vector column's) vectors in 2-D."""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go

from ..api import Table
from ..similarity import score_matrix
from .common import check_positive, hashable, key_names, missing, point_traces, sample_rows
from .projection import Projection, cached, project

__all__ = ["embedding_map", "load_vectors", "map_projection", "VectorData"]


@dataclass(frozen=True)
class VectorData:
    """What a map shows: the documents (or rows) with a vector, their vectors and keys, the
    metric, and how many were left out."""

    records: list[dict]  # fields other than vectors, one per vector
    vectors: np.ndarray
    keys: list[Any]  # _id, or a row's primary key tuple (hashable)
    metric: str
    column: str
    total: int  # documents or rows, with a vector or not
    without: int  # of them, how many have no vector
    noun: str


def _vector_column(source: Any, column: str | None) -> str:
    if not isinstance(source, Table):
        return "$vector"
    vectors = [n for n, c in source.definition()["columns"].items() if c["type"] == "vector"]
    if column is None and len(vectors) == 1:
        return vectors[0]
    if column not in vectors:
        raise ValueError(f"table {source.name!r} has the vector columns {vectors}: name one "
                         f"with vector_column= (not {column!r})")
    return column  # type: ignore[return-value]


def _metric(source: Any, column: str) -> str:
    if not isinstance(source, Table):
        return (source.options().get("vector") or {}).get("metric", "cosine")
    for index in source.list_indexes():
        if index["definition"]["column"] == column:
            return index["definition"].get("options", {}).get("metric", "cosine")
    return "cosine"  # no vector index: the Data API's default metric


def _load(source: Any, column: str) -> VectorData:
    table = isinstance(source, Table)
    # every field ($vectorize, the text, included) and $vector as float32 arrays
    frame = source.to_pandas() if table else source.to_pandas(projection={"*": 1},
                                                               include_vector=True)
    if column not in frame.columns:  # no document has a vector
        frame[column] = None
    has = frame[column].map(lambda v: not missing(v)).to_numpy(dtype=bool)
    kept = frame[has]
    vectors = (np.stack(kept[column].to_list()).astype(np.float32) if len(kept)
               else np.zeros((0, 0), dtype=np.float32))
    skip = {column} | ({n for n, c in source.definition()["columns"].items()
                        if c["type"] == "vector"} if table else set())
    records = [{k: v for k, v in rec.items() if k not in skip and not missing(v)}
               for rec in kept.to_dict("records")]
    names = key_names(source)
    keys = [hashable(r["_id"] if names is None else tuple(r.get(n) for n in names))
            for r in records]
    return VectorData(records, vectors, keys, _metric(source, column), column, len(frame),
                      int((~has).sum()), "rows" if table else "documents")


def load_vectors(source: Any, *, vector_column: str | None = None) -> VectorData:
    """The vectors of a collection or of a table's vector column, with their documents or
    rows: read once per version of the data (one copy kept per collection or table)."""
    column = _vector_column(source, vector_column)
    number, version = source.data_version
    seen = cached(("vectors", number, column), lambda: [None, None])
    if seen[0] != version:
        seen[:] = [version, _load(source, column)]
    return seen[1]


def map_projection(data: VectorData, rows: np.ndarray, *, method: str, n_neighbors: int,
                   random_state: int | None) -> Projection:
    """The 2-D projection of the chosen rows, cached by their vectors: a write that leaves
    the vectors as they are (a field updated) keeps the map."""
    digest = hashlib.blake2b(np.ascontiguousarray(data.vectors[rows]).tobytes(),
                             digest_size=16).hexdigest()
    return cached(("projection", digest, data.metric, method, n_neighbors, random_state),
                  lambda: project(data.vectors[rows], method=method, metric=data.metric,
                                  n_neighbors=n_neighbors, random_state=random_state))


def _query_vector(source: Any, column: str, query: Any) -> np.ndarray:
    """The query as a vector: given, or the collection's service's embedding of the text
    (the sort vector of a one-result search)."""
    if not isinstance(query, str):
        return np.asarray(query, dtype=np.float32).ravel()
    cursor = source.find({}, sort={"$vectorize" if column == "$vector" else column: query},
                         limit=1, include_sort_vector=True)
    return np.asarray(cursor.get_sort_vector(), dtype=np.float32)


def _query_overlay(data: VectorData, rows: np.ndarray, projection: Projection,
                   vector: np.ndarray, text: str, k: int, sampled: bool) -> list[go.Scatter]:
    """The query's point, and lines to its ``k`` nearest points on the map under the
    collection's metric (its search results, or with a sample, the nearest sampled ones)."""
    scores = score_matrix(vector[None, :], data.vectors[rows], data.metric)[0]
    nearest = np.argsort(-scores, kind="stable")[:k]
    where = projection.place(vector, nearest, scores[nearest])[0]
    xy = projection.coords
    lines_x: list[float | None] = []
    lines_y: list[float | None] = []
    for point in nearest:
        lines_x += [float(where[0]), float(xy[point, 0]), None]
        lines_y += [float(where[1]), float(xy[point, 1]), None]
    placed = ("its exact projection" if projection.method == "pca" else
              "the similarity-weighted mean of its results' places (UMAP has no exact "
              "projection of a new point)")
    among = " among the sampled points" if sampled else ""
    return [
        go.Scatter(x=lines_x, y=lines_y, mode="lines", name=f"top {k}",
                   line={"color": "rgba(80,80,80,0.6)", "width": 1}, hoverinfo="skip"),
        go.Scatter(x=xy[nearest, 0], y=xy[nearest, 1], mode="markers", name="results",
                   marker={"size": 13, "symbol": "circle-open", "color": "black"},
                   hovertext=[f"#{rank}{among}, $similarity {scores[p]:.4f}"
                              for rank, p in enumerate(nearest, start=1)],
                   hovertemplate="%{hovertext}<extra></extra>"),
        go.Scatter(x=[where[0]], y=[where[1]], mode="markers", name="query",
                   marker={"size": 16, "symbol": "star", "color": "black"},
                   hovertext=[f"<b>query</b>: {html.escape(text[:80])}<br>placed at {placed}"],
                   hovertemplate="%{hovertext}<extra></extra>"),
    ]


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun[:-1] if n == 1 else noun}"


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
        ``None``: every one (UMAP's neighbours then cost time in the square of the count).
    query
        A text (embedded by the collection's service) or a vector: its point goes on the map
        with lines to its ``k`` nearest points under the collection's metric (the search's
        results; with a sample, the nearest sampled points).
    random_state
        Makes UMAP repeatable (and single-threaded).

    The projection is cached by the vectors mapped: running the cell again, or changing
    ``color``, ``label`` or ``query``, is instant. Documents without a vector are left out
    (the figure says how many).
    """
    check_positive(k=k, sample=sample, n_neighbors=n_neighbors)
    data = load_vectors(source, vector_column=vector_column)
    rows = sample_rows(len(data.vectors), sample, seed)
    projection = map_projection(data, rows, method=method, n_neighbors=n_neighbors,
                                random_state=random_state)
    records = [data.records[i] for i in rows]
    fig = go.Figure(point_traces(projection.coords, records,
                                 [str(data.keys[i]) for i in rows], color=color, label=label,
                                 name=data.noun))
    sampled = len(rows) < len(data.vectors)
    notes = []
    if sampled:
        notes.append(f"a random sample of {len(rows):,} of {len(data.vectors):,} {data.noun}")
    if data.without:
        notes.append(f"{_count(data.without, data.noun)} without a vector not shown")
    if method == "umap" and projection.method == "pca":
        notes.append("PCA: UMAP needs at least 4 points")
    if query is not None and len(rows):
        vector = _query_vector(source, data.column, query)
        text = query if isinstance(query, str) else "query vector"
        fig.add_traces(_query_overlay(data, rows, projection, vector, text, k, sampled))
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
