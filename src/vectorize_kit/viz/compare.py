"""Two models side by side: the same documents embedded by each, and how their searches
agree."""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..api import Table
from .common import (
    PALETTE,
    check_positive,
    hashable,
    key_names,
    label_of,
    point_traces,
    sample_rows,
)
from .maps import load_vectors, map_projection

__all__ = ["ModelComparison", "compare_models", "rank_agreement", "retrieval_quality"]

_ALL = "all"  # the group of every labelled query, beside each language


@dataclass(frozen=True)
class ModelComparison:
    """What :func:`compare_models` found: ``table`` (one row per query) and ``figure`` (the
    side-by-side maps); with labelled queries, ``quality`` (recall@k and MRR@k of each side,
    per language and for all queries) and ``quality_figure`` (the same as grouped bars).
    Shown in a notebook, it is the tables; show the figures on their own."""

    table: pd.DataFrame
    figure: go.Figure
    quality: pd.DataFrame | None = None
    quality_figure: go.Figure | None = None

    def _repr_html_(self) -> str:
        quality = "" if self.quality is None else self.quality.to_html(index=False)
        return quality + self.table.to_html(index=False)


def retrieval_quality(found: list[list], answers: list, k: int) -> tuple[float, float]:
    """recall@k (the share of queries whose right document is among their first ``k``
    results) and MRR@k (the mean of 1/rank of the right document, 0 where it is not among
    the first ``k``) of the result lists ``found``, one per query, against ``answers``."""
    if isinstance(answers, str) or isinstance(found, str):
        raise ValueError("found and answers are one list each, with one entry per query "
                         "(a string is not)")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, not {k!r}")
    found, answers = [_results(lst) for lst in found], list(answers)
    if len(found) != len(answers):
        raise ValueError(f"{len(found)} result lists for {len(answers)} answers")
    if not answers:
        return float("nan"), float("nan")
    ranks = [lst[:k].index(a) + 1 if a in lst[:k] else 0 for lst, a in zip(found, answers)]
    return (sum(r > 0 for r in ranks) / len(ranks),
            sum(1 / r for r in ranks if r) / len(ranks))


def _results(found: Any) -> list:
    """One query's results as a list of keys."""
    if isinstance(found, (str, bytes, dict)):
        raise ValueError(f"each query's results are a list of document keys, not {found!r}")
    return list(found)


def _labelled(queries: Any, answers: Any, by: Any) -> tuple[list[str], list | None,
                                                           list | None, str]:
    """The query texts, each one's right document (or ``None``: unlabelled) and group, and
    what the groups are called."""
    if isinstance(queries, str):
        raise ValueError("queries must be a list of texts, not one text: pass [query]")
    name = "group"
    if not isinstance(queries, pd.DataFrame):
        texts = list(queries)
        for what, value in (("answers", answers), ("by", by)):
            if isinstance(value, str):
                raise ValueError(f"{what}={value!r} names a column: give the queries as a "
                                 f"DataFrame with that column, or {what} as a list")
    else:
        if "query" not in queries.columns:
            raise ValueError(f"the queries DataFrame needs a 'query' column (it has "
                             f"{list(queries.columns)})")
        texts = queries["query"].tolist()
        if answers is None and "article_id" in queries.columns:
            answers = "article_id"  # the help-centre's labelled set
        if by is None and answers is not None and "language" in queries.columns:
            by = "language"
        for what, value in (("answers", answers), ("by", by)):
            if isinstance(value, str) and value not in queries.columns:
                raise ValueError(f"{what}={value!r} is not a column of the queries DataFrame "
                                 f"(it has {list(queries.columns)})")
        answers = queries[answers].tolist() if isinstance(answers, str) else answers
        name = by if isinstance(by, str) else "group"
        by = queries[by].tolist() if isinstance(by, str) else by
    for what, value in (("answers", answers), ("by", by)):
        if value is not None and len(value) != len(texts):
            raise ValueError(f"{what} has {len(value)} items for {len(texts)} queries")
    if by is not None and answers is None:
        raise ValueError("by= groups labelled queries: give answers= too")
    return (texts, None if answers is None else list(answers),
            None if by is None else list(by), name)


def _quality(found: list[list[list]], answers: list, groups: list | None, sides: list[str],
             k: int, name: str) -> pd.DataFrame:
    """recall@k and MRR@k of each side, per group (in order of first appearance) and for
    all queries."""
    order = [] if groups is None else list(dict.fromkeys(groups))
    rows = []
    for group in [*order, _ALL] if len(order) != 1 else [_ALL]:
        picked = [i for i in range(len(answers)) if group == _ALL or groups[i] == group]
        row: dict[str, Any] = {name: group, "queries": len(picked)}
        figures = [retrieval_quality([f[i] for i in picked], [answers[i] for i in picked], k)
                   for f in found]
        for (recall, _), side in zip(figures, sides):
            row[f"recall@{k} {side}"] = recall
        for (_, mrr), side in zip(figures, sides):
            row[f"MRR@{k} {side}"] = mrr
        rows.append(row)
    return pd.DataFrame(rows)


def _quality_figure(quality: pd.DataFrame, sides: list[str], models: list[str],
                    k: int) -> go.Figure:
    """Grouped bars: per language, recall@k and MRR@k of the first side beside the
    second's."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=[f"recall@{k}", f"MRR@{k}"],
                        horizontal_spacing=0.08)
    groups = quality.iloc[:, 0].astype(str).tolist()
    for col, measure in enumerate((f"recall@{k}", f"MRR@{k}"), 1):
        for side, (name, model) in enumerate(zip(sides, models)):
            fig.add_trace(go.Bar(
                x=groups, y=quality[f"{measure} {name}"], name=f"{name} ({model})",
                marker_color=PALETTE[side], legendgroup=name, showlegend=col == 1,
                text=[f"{v:.2f}" for v in quality[f"{measure} {name}"]],
                textposition="outside", hovertemplate=f"{html.escape(name)}<br>%{{x}}: "
                                                      f"{measure} %{{y:.3f}}<extra></extra>"),
                row=1, col=col)
    fig.update_yaxes(range=[0, 1.1], tickformat=".1f")
    fig.update_layout(barmode="group", height=420, legend={"orientation": "h", "y": -0.15},
                      title=f"Which model finds the right document? recall@{k}: among the "
                            f"first {k}; MRR@{k}: how near the top "
                            f"({int(quality['queries'].iloc[-1])} labelled queries)",
                      margin={"l": 10, "r": 10, "t": 80, "b": 10})
    return fig


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


def _check_answers(answers: list, keys: list[list], data: list) -> None:
    """Every answer should be the key of a document (or of a chunked text's parent): none
    is an error (say, ids given as numbers where they are strings), some a warning."""
    known = {kk for side in keys for kk in side}
    for d in data:
        known.update(hashable(r["parent_id"]) for r in d.records if "parent_id" in r)
    unknown = [a for a in answers if a not in known]
    if not unknown:
        return
    example = next(iter(sorted(known, key=str)), None)
    if len(unknown) == len(answers):
        raise ValueError(
            f"none of the answers is the key of a document: e.g. {answers[0]!r} "
            f"({type(answers[0]).__name__}), where the documents' keys look like "
            f"{example!r} ({type(example).__name__}). Give each query's right document by "
            "its _id (or key=, or a table's primary key).")
    warnings.warn(f"{len(unknown)} of {len(answers)} answers are the key of no document "
                  f"(e.g. {unknown[0]!r}): those queries count as misses", stacklevel=3)


def _search_keys(source: Any, column: str, query: str, k: int, key: str | None) -> list:
    """The keys of a search's first ``k`` documents; a long text stored as chunks (documents
    with ``parent_id`` and ``chunk_index``) counts once, as its parent document."""
    sort = {"$vectorize" if column == "$vector" else column: query}
    limit = k
    while True:
        records = source.find({}, sort=sort, limit=limit).to_list()
        keys = _keys(source, records, key)
        if key is None and key_names(source) is None:
            keys = [hashable(r["parent_id"]) if "parent_id" in r and "chunk_index" in r
                    else kk for r, kk in zip(records, keys)]
            keys = list(dict.fromkeys(keys))
        if len(keys) >= k or len(records) < limit or limit >= 1000:
            return keys[:k]
        limit = min(4 * limit, 1000)  # chunks of one text took several places: more


def compare_models(first: Any, second: Any, queries: Any, *, k: int = 10,
                   answers: Any = None, by: Any = None, key: str | None = None,
                   color: str | None = None, label: str | None = None,
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
        Texts searched in both (each with its own model): a list, or a DataFrame with a
        ``query`` column, such as the labelled help-centre questions of
        :func:`~vectorize_kit.datasets.load_knowledge_base_queries`.
    k
        How many results of each search to compare.
    answers
        For labelled queries: each query's right document (its ``key``), as a list, or the
        name of the DataFrame's column (default: its ``article_id`` column if it has one).
    by
        The group of each labelled query (a list, or a column; default: the DataFrame's
        ``language`` column if it has one): quality is reported per group.
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
        both models return, and each model's top 3 (with answers: the right document's
        rank in each, ``None`` when it is not in the top ``k``); ``figure``: both maps of
        the same documents; with answers, ``quality`` and ``quality_figure``: recall@k and
        MRR@k of each side per group and for all queries.
    """
    queries, answers, groups, group_name = _labelled(queries, answers, by)
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
    if answers is not None and key is None and key_names(first) is not None:
        answers = [a if isinstance(a, tuple) else (a,) for a in answers]  # a primary key
    answers = None if answers is None else [hashable(a) for a in answers]
    if answers is not None:
        _check_answers(answers, keys, data)
    rows_out, all_found = [], []
    for i, query in enumerate(queries):
        found = [_search_keys(s, d.column, query, k, key)
                 for s, d in zip((first, second), data)]
        all_found.append(found)
        overlap, rho, shared = rank_agreement(found[0], found[1], k)
        row = {"query": query, f"overlap@{k}": overlap, "spearman": rho, "shared": shared}
        if answers is not None:
            if groups is not None:
                row[group_name] = groups[i]
            for side, name in enumerate(sides):
                row[f"rank in {name}"] = (found[side].index(answers[i]) + 1
                                          if answers[i] in found[side] else None)
        for side, name in enumerate(sides):
            # the same documents: label them from either side (one may hold no text)
            row[f"top 3 in {name}"] = [
                label_of({"_id": kk, **by_key[1].get(kk, {}), **by_key[0].get(kk, {})}, label)
                for kk in found[side][:3]]
        rows_out.append(row)
    if answers is None:
        return ModelComparison(pd.DataFrame(rows_out), fig)
    quality = _quality([[f[side] for f in all_found] for side in (0, 1)], answers, groups,
                       sides, k, group_name)
    return ModelComparison(pd.DataFrame(rows_out), fig, quality,
                           _quality_figure(quality, sides, models, k))
