"""Two models side by side: the same documents embedded by each, and how their searches
agree."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..api import Table
from .common import check_positive, hashable, key_names, label_of, point_traces, sample_rows
from .maps import load_vectors, map_projection

__all__ = ["ModelComparison", "compare_models", "rank_agreement"]


@dataclass(frozen=True)
class ModelComparison:
    """What :func:`compare_models` found: ``table`` (one row per query) and ``figure`` (the
    side-by-side maps). Shown in a notebook, it is the table; show ``figure`` on its own."""

    table: pd.DataFrame
    figure: go.Figure

    def _repr_html_(self) -> str:
        return self.table.to_html(index=False)


def rank_agreement(first: list, second: list, k: int) -> tuple[float, float, int]:
    """How two top-k result lists agree: ``overlap@k`` (the share of the places both lists
    fill with the same items: of ``k``, or of the longer list when a collection holds fewer
    than ``k``), Spearman's rank correlation of the items both hold (``nan`` for fewer than
    2), and how many they share."""
    first, second = first[:k], second[:k]
    shared = [item for item in first if item in second]
    places = max(len(first), len(second))
    overlap = len(shared) / places if places else float("nan")
    m = len(shared)
    if m < 2:
        return overlap, float("nan"), m
    rank_a = np.argsort(np.argsort([first.index(i) for i in shared]))
    rank_b = np.argsort(np.argsort([second.index(i) for i in shared]))
    d2 = float(((rank_a - rank_b) ** 2).sum())
    return overlap, 1.0 - 6.0 * d2 / (m * (m * m - 1)), m


def _model(source: Any, column: str) -> str:
    if isinstance(source, Table):
        service = source.definition()["columns"][column].get("service") or {}
    else:
        service = (source.options().get("vector") or {}).get("service") or {}
    return service.get("modelName", "own vectors")


def _key_part(value: Any, kind: str) -> Any:
    """A primary key value as the DataFrame holds it, whether read from ``to_pandas()`` or
    from ``find()`` (which gives dates and times as ISO strings)."""
    if value is None or kind not in ("timestamp", "date", "time"):
        return value
    stamp = pd.Timestamp(value)
    if kind == "timestamp":
        return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.date() if kind == "date" else stamp.time()


def _keys(source: Any, records: list[dict], key: str | None) -> list[Any]:
    """Each record's key: the ``key`` field (``None`` where it lacks it), or its ``_id`` or
    primary key."""
    names = key_names(source)
    if key or names is None:
        return [hashable(r.get(key) if key else r["_id"]) for r in records]
    kinds = [source.definition()["columns"][n]["type"] for n in names]
    return [hashable(tuple(_key_part(r.get(n), t) for n, t in zip(names, kinds)))
            for r in records]


def _search_keys(source: Any, column: str, query: str, k: int, key: str | None) -> list:
    sort = {"$vectorize" if column == "$vector" else column: query}
    return _keys(source, source.find({}, sort=sort, limit=k).to_list(), key)


def compare_models(first: Any, second: Any, queries: list[str], *, k: int = 10,
                   key: str | None = None, color: str | None = None, label: str | None = None,
                   method: str = "pca", sample: int | None = 2000, seed: int = 0,
                   vector_columns: tuple[str | None, str | None] = (None, None),
                   random_state: int | None = None) -> ModelComparison:
    """Compare two collections (or table vector columns) holding the same documents under
    different models.

    Parameters
    ----------
    first, second
        The two collections or tables (e.g. before and after a migration).
    queries
        Texts searched in both (each with its own model).
    k
        How many results of each search to compare.
    key
        The field that identifies a document in both (default ``_id``, or a row's primary
        key).
    color, label
        A field to colour the maps' points by, and one to label them with.
    method, sample, seed, random_state
        As for :func:`embedding_map` (here PCA and 2,000 documents by default: two maps).

    Returns
    -------
    ModelComparison
        ``table``: per query, ``overlap@k``, the rank correlation (Spearman) of the results
        both models return, and each model's top 3; ``figure``: both maps of the same
        documents.
    """
    if isinstance(queries, str):
        raise ValueError("queries must be a list of texts, not one text: pass [query]")
    check_positive(k=k, sample=sample)
    data = [load_vectors(s, vector_column=c) for s, c in zip((first, second), vector_columns)]
    keys = [_keys(s, d.records, key) for s, d in zip((first, second), data)]
    for source, kk in zip((first, second), keys):
        present = [x for x in kk if x is not None]
        if len(set(present)) != len(present):
            raise ValueError(f"{key or '_id'!r} does not identify the documents of "
                             f"{source.name!r}: some share a value. Pass key= a field that "
                             "is unique.")
    where_second = {kk: i for i, kk in enumerate(keys[1]) if kk is not None}
    common = [(i, where_second[kk]) for i, kk in enumerate(keys[0]) if kk in where_second]
    chosen = [common[i] for i in sample_rows(len(common), sample, seed)]
    models = [_model(s, d.column) for s, d in zip((first, second), data)]
    # two columns of one table: name each side by its column
    sides = ([f"{s.name}.{d.column}" for s, d in zip((first, second), data)]
             if first.name == second.name else [first.name, second.name])

    fig = make_subplots(rows=1, cols=2, subplot_titles=[
        f"{html.escape(n)}: {html.escape(m)}" for n, m in zip(sides, models)])
    records = [data[0].records[i] for i, _ in chosen]
    ids = [str(keys[0][i]) for i, _ in chosen]
    for side, d in enumerate(data):
        rows = np.array([pair[side] for pair in chosen], dtype=np.int64)
        projection = map_projection(d, rows, method=method, n_neighbors=15,
                                    random_state=random_state)
        for trace in point_traces(projection.coords.reshape(-1, 2), records, ids, color=color,
                                  label=label, name=d.noun, showlegend=side == 0):
            fig.add_trace(trace, row=1, col=side + 1)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    unmatched = len(keys[0]) - len(common)
    fig.update_layout(
        title=f"The same {len(chosen):,} {data[0].noun} under two models "
              f"({method.upper()})" + (f"<br><sup>{unmatched:,} of {sides[0]} have no "
                                       f"match in {sides[1]}</sup>" if unmatched else ""),
        height=520, legend_title_text=color, margin={"l": 10, "r": 10, "t": 80, "b": 10},
        meta={"points": len(chosen), "common": len(common)})

    by_key = [dict(zip(kk, d.records)) for kk, d in zip(keys, data)]
    rows_out = []
    for query in queries:
        found = [_search_keys(s, d.column, query, k, key)
                 for s, d in zip((first, second), data)]
        overlap, rho, shared = rank_agreement(found[0], found[1], k)
        row = {"query": query, f"overlap@{k}": overlap, "spearman": rho, "shared": shared}
        for side, name in enumerate(sides):
            # the same documents: label them from either side (one may hold no text)
            row[f"top 3 in {name}"] = [
                label_of({"_id": kk, **by_key[1].get(kk, {}), **by_key[0].get(kk, {})}, label)
                for kk in found[side][:3]]
        rows_out.append(row)
    return ModelComparison(pd.DataFrame(rows_out), fig)
