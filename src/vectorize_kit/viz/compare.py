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

from .maps import _PALETTE, _is_table, _key_of, _sample_rows, load_vectors, map_projection
from .results import hover_of, label_of

__all__ = ["ModelComparison", "compare_models", "rank_agreement"]


@dataclass(frozen=True)
class ModelComparison:
    """What :func:`compare_models` found: ``table`` (one row per query) and ``figure`` (the
    side-by-side maps)."""

    table: pd.DataFrame
    figure: go.Figure

    def _repr_html_(self) -> str:
        return self.table.to_html(index=False)


def rank_agreement(first: list, second: list, k: int) -> tuple[float, float, int]:
    """How two top-k result lists agree: ``overlap@k`` (the share of the ``k`` places both
    lists fill with the same items), Spearman's rank correlation of the items both hold
    (``nan`` for fewer than 2), and how many they share."""
    shared = [item for item in first[:k] if item in second[:k]]
    overlap = len(shared) / k
    m = len(shared)
    if m < 2:
        return overlap, float("nan"), m
    rank_a = np.argsort(np.argsort([first.index(i) for i in shared]))
    rank_b = np.argsort(np.argsort([second.index(i) for i in shared]))
    d2 = float(((rank_a - rank_b) ** 2).sum())
    return overlap, 1.0 - 6.0 * d2 / (m * (m * m - 1)), m


def _model(source: Any, column: str) -> str:
    if _is_table(source):
        service = source.definition()["columns"][column].get("service") or {}
    else:
        service = (source.options().get("vector") or {}).get("service") or {}
    return service.get("modelName", "own vectors")


def _search_keys(source: Any, column: str, query: str, k: int, key: str | None) -> list:
    sort = {"$vectorize" if column == "$vector" else column: query}
    found = source.find({}, sort=sort, limit=k).to_list()
    return [doc.get(key) if key else _key_of(source, doc) for doc in found]


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
        As for :func:`embedding_map`: the projection, and how many documents to map.

    Returns
    -------
    ModelComparison
        ``table``: per query, ``overlap@k``, the rank correlation (Spearman) of the results
        both models return, and each model's top 3; ``figure``: both maps of the same
        documents.
    """
    data = [load_vectors(s, vector_column=c) for s, c in zip((first, second), vector_columns)]
    keys = [[r.get(key) for r in d.records] if key else d.keys for d in data]
    where_second = {kk: i for i, kk in enumerate(keys[1])}
    common = [(i, where_second[kk]) for i, kk in enumerate(keys[0]) if kk in where_second]
    chosen = [common[i] for i in _sample_rows(len(common), sample, seed)]
    models = [_model(s, d.column) for s, d in zip((first, second), data)]

    fig = make_subplots(rows=1, cols=2, subplot_titles=[
        f"{html.escape(s.name)}: {html.escape(m)}" for s, m in zip((first, second), models)])
    records = [data[0].records[i] for i, _ in chosen]
    groups = ([str(r.get(color, "(missing)")) for r in records] if color
              else ["documents"] * len(records))
    names = list(dict.fromkeys(groups))
    for side, (d, source) in enumerate(zip(data, (first, second))):
        rows = np.array([pair[side] for pair in chosen], dtype=np.int64)
        projection = map_projection(d, rows, method=method, n_neighbors=15,
                                    random_state=random_state, version=source.data_version)
        hovers = [f"<b>{html.escape(label_of(r, label))}</b><br>{hover_of(r)}"
                  for r in records]
        for n, group in enumerate(names):
            member = [i for i, g in enumerate(groups) if g == group]
            fig.add_trace(go.Scattergl(
                x=projection.coords[member, 0], y=projection.coords[member, 1],
                mode="markers", name=group, legendgroup=group, showlegend=side == 0,
                marker={"size": 7, "opacity": 0.8, "color": _PALETTE[n % len(_PALETTE)]},
                hovertext=[hovers[i] for i in member],
                hovertemplate="%{hovertext}<extra></extra>"), row=1, col=side + 1)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    fig.update_layout(
        title=f"The same {len(chosen):,} {data[0].noun} under two models "
              f"({method.upper()})", height=520, legend_title_text=color,
        margin={"l": 10, "r": 10, "t": 80, "b": 10},
        meta={"points": len(chosen), "common": len(common)})

    by_key = [dict(zip(kk, d.records)) for kk, d in zip(keys, data)]
    rows_out = []
    for query in queries:
        found = [_search_keys(s, d.column, query, k, key)
                 for s, d in zip((first, second), data)]
        overlap, rho, shared = rank_agreement(found[0], found[1], k)
        row = {"query": query, f"overlap@{k}": overlap, "spearman": rho, "shared": shared}
        for side, source in enumerate((first, second)):
            # the same documents: label them from either side (one may hold no text)
            row[f"top 3 in {source.name}"] = [
                label_of({"_id": kk, **by_key[1].get(kk, {}), **by_key[0].get(kk, {})}, label)
                for kk in found[side][:3]]
        rows_out.append(row)
    return ModelComparison(pd.DataFrame(rows_out), fig)
