"""``vectorize_kit.viz``: the figures' data (traces, points, hover texts, the query overlay,
the notes in the title, ``layout.meta``), not images.

Real components only: collections embedded by the local MiniLM model (four topics of
sentences), and collections and tables holding seeded numpy vectors, for exact geometric
checks (PCA against numpy's SVD, neighbours against :func:`vectorize_kit.similarity`, the
query's point against its exact projection or the similarity-weighted mean of its results).
UMAP runs are few, small and seeded (``random_state=0``).
"""

from __future__ import annotations

import ast
import html
import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

import vectorize_kit as vk
from vectorize_kit.similarity import similarity
from vectorize_kit.viz import ModelComparison, compare_models, embedding_map, similarity_bar
from vectorize_kit.viz import projection as projection_module
from vectorize_kit.viz.compare import rank_agreement
from vectorize_kit.viz.projection import Projection, neighbours, project

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
LOCAL = {"provider": "local", "modelName": MINILM}
METRICS = ("cosine", "dot_product", "euclidean")

TOPICS = {
    "pets": [
        "The cat sleeps on the warm windowsill.",
        "My dog loves chasing the ball in the park.",
        "The kitten plays with a ball of yarn.",
        "Puppies need a lot of attention and training.",
        "The vet checked the cat's teeth and claws.",
        "Our parrot repeats every word it hears.",
        "The hamster runs on its wheel all night.",
        "A golden retriever is a friendly family dog.",
        "The cat purrs when you scratch its ears.",
        "We adopted a rescue dog from the shelter.",
        "Goldfish swim slowly around the small bowl.",
        "The puppy chewed my new leather shoes.",
    ],
    "space": [
        "The telescope captured a distant spiral galaxy.",
        "Astronauts live aboard the space station.",
        "Mars has the tallest volcano in the solar system.",
        "A rocket launched a satellite into orbit.",
        "Black holes bend light with their gravity.",
        "The moon orbits the earth every 27 days.",
        "Jupiter is the largest planet we know here.",
        "A comet's tail always points away from the sun.",
        "The astronomer counted stars in the nebula.",
        "Saturn's rings are made of ice and rock.",
        "The probe sent photos from the edge of space.",
        "Meteors burn up as they enter the atmosphere.",
    ],
    "cooking": [
        "Knead the bread dough for ten minutes.",
        "Simmer the tomato sauce with fresh basil.",
        "Whisk the eggs and sugar until fluffy.",
        "Roast the vegetables with olive oil and salt.",
        "The chef seasoned the soup with black pepper.",
        "Bake the cake at 180 degrees for forty minutes.",
        "Chop the onions finely before frying them.",
        "Marinate the chicken overnight in yogurt.",
        "Grate the cheese over the hot pasta.",
        "Stir the risotto slowly while adding broth.",
        "Fry the pancakes in butter until golden.",
        "Season the steak and grill it for four minutes.",
    ],
    "finance": [
        "The stock market closed higher on Friday.",
        "The central bank raised interest rates again.",
        "Investors sold shares after weak earnings.",
        "Inflation pushed consumer prices up this year.",
        "The company issued bonds to raise capital.",
        "Bond yields fell as traders sought safety.",
        "The bank approved a mortgage for the house.",
        "Quarterly profits beat analysts' estimates.",
        "The currency weakened against the dollar.",
        "A diversified portfolio lowers investment risk.",
        "The firm's shares doubled after the merger.",
        "Tax rules changed for retirement savings.",
    ],
}
DOCS = [
    {"_id": f"{topic}-{i:02d}", "$vectorize": text, "topic": topic, "n": 12 * t + i,
     "ref": f"{topic.upper()} #{i}"}
    for t, (topic, texts) in enumerate(TOPICS.items()) for i, text in enumerate(texts)
]
TEXT = {d["_id"]: d["$vectorize"] for d in DOCS}
TOPIC = {d["_id"]: d["topic"] for d in DOCS}


# -- fixtures and helpers --------------------------------------------------------------------

@pytest.fixture(scope="module")
def topics():
    """A collection of the 48 sentences, embedded by the local model (read only)."""
    workspace = vk.Workspace()
    coll = workspace.create_database("viz").create_collection("topics", service=LOCAL)
    coll.insert_many(DOCS)
    yield coll
    workspace.close()


@pytest.fixture
def fresh_cache():
    projection_module._CACHE.clear()
    yield projection_module._CACHE
    projection_module._CACHE.clear()


def floats(values) -> list[float]:
    return [float(x) for x in values]


def own_collection(db, name: str, vectors: np.ndarray, metric: str, **fields) -> vk.Collection:
    """A collection of ``vectors`` (``_id`` 0, 1, ...) with extra per-document ``fields``
    (name -> list of values)."""
    coll = db.create_collection(name, dimension=vectors.shape[1], metric=metric)
    docs = [{"_id": i, "$vector": floats(v), **{k: vals[i] for k, vals in fields.items()}}
            for i, v in enumerate(vectors)]
    if docs:
        coll.insert_many(docs)
    return coll


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def point_traces(fig: go.Figure) -> list:
    """The traces of the map's points (those that carry document keys)."""
    return [t for t in fig.data if t.customdata is not None]


def points_of(fig: go.Figure) -> dict[str, np.ndarray]:
    """Document key (as the figure's customdata says it) -> its (x, y) on the map."""
    out: dict[str, np.ndarray] = {}
    for trace in point_traces(fig):
        for key, x, y in zip(trace.customdata, trace.x, trace.y):
            assert key not in out
            out[key] = np.array([x, y], dtype=np.float64)
    return out


def trace(fig: go.Figure, name: str):
    (found,) = [t for t in fig.data if t.name == name]
    return found


def notes_of(fig: go.Figure) -> str:
    """The notes under the title (the ``<sup>`` text), or ``""``."""
    text = fig.layout.title.text
    return text.split("<sup>", 1)[1].split("</sup>", 1)[0] if "<sup>" in text else ""


def svd_coords(data: np.ndarray) -> np.ndarray:
    """PCA of ``data`` to 2-D with numpy's SVD (float64)."""
    data = np.asarray(data, dtype=np.float64)
    centred = data - data.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    return u[:, :2] * s[:2]


def assert_same_up_to_sign(coords: np.ndarray, reference: np.ndarray, atol: float = 1e-4):
    coords = np.asarray(coords, dtype=np.float64)
    assert coords.shape == reference.shape
    for j in range(reference.shape[1]):
        sign = 1.0 if float(coords[:, j] @ reference[:, j]) >= 0 else -1.0
        np.testing.assert_allclose(coords[:, j], sign * reference[:, j], atol=atol)


def brute_top(vectors: np.ndarray, query: np.ndarray, metric: str, k: int) -> list[int]:
    """The row numbers of the ``k`` best ``$similarity`` scores (the reference formula)."""
    scores = [similarity(query, v, metric) for v in vectors]
    return sorted(range(len(vectors)), key=lambda i: -scores[i])[:k]


def pairwise(points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    return np.linalg.norm(points[:, None, :] - points[None, :, :], axis=-1)


# -- import ----------------------------------------------------------------------------------

def test_import_vectorize_kit_loads_no_plotting_or_umap():
    code = ("import sys, vectorize_kit\n"
            "heavy = ('umap', 'plotly', 'numba', 'pynndescent', 'vectorize_kit.viz')\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy "
            "or m.startswith('vectorize_kit.viz')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]", done.stdout


# -- similarity_bar --------------------------------------------------------------------------

def search(coll, query: str, k: int = 5, **kwargs):
    return coll.find({}, sort={"$vectorize": query}, limit=k, include_similarity=True,
                     **kwargs)


def test_similarity_bar_cursor_list_and_dataframe_give_the_same_figure(topics):
    query = "a cat and a kitten"
    proj = {"$vectorize": 1, "topic": 1, "ref": 1}
    figs = [similarity_bar(search(topics, query, projection=proj)),
            similarity_bar(search(topics, query, projection=proj).to_list()),
            similarity_bar(search(topics, query, projection=proj).to_pandas())]
    docs = search(topics, query, projection=proj).to_list()
    for fig in figs:
        (bar,) = fig.data
        assert isinstance(bar, go.Bar) and bar.orientation == "h"
        assert bar.showlegend is False
        assert list(bar.x) == pytest.approx([d["$similarity"] for d in docs])
        assert list(bar.x) == sorted(bar.x, reverse=True)
        assert list(bar.text) == [f"{d['$similarity']:.4f}" for d in docs]
        # default label: the $vectorize text, numbered best first
        labels = [f"{i}. {d['$vectorize']}" for i, d in enumerate(docs, start=1)]
        assert list(bar.y) == labels
        assert list(fig.layout.yaxis.categoryarray) == labels
        assert fig.layout.yaxis.autorange == "reversed"
        assert fig.layout.xaxis.title.text == "$similarity"
        for hover, doc in zip(bar.hovertext, docs):
            assert f"<b>_id</b>: {doc['_id']}" in hover
            assert f"<b>topic</b>: {doc['topic']}" in hover
            assert "$similarity" not in hover  # the template adds it once
        assert "%{x:.4f}" in bar.hovertemplate
    first = figs[0].to_plotly_json()["data"]
    assert figs[1].to_plotly_json()["data"] == first
    assert figs[2].to_plotly_json()["data"] == first
    assert all(TOPIC[d["_id"]] == "pets" for d in docs[:3])


def test_similarity_bar_label_field_and_long_labels_shortened(topics):
    docs = search(topics, "interest rates and bonds", projection={"ref": 1}).to_list()
    fig = similarity_bar(docs, label="ref")
    assert list(fig.data[0].y) == [f"{i}. {d['ref']}" for i, d in enumerate(docs, start=1)]
    # without $vectorize (not projected in) and no text field: the _id
    fig = similarity_bar(docs)
    assert list(fig.data[0].y) == [f"{i}. {d['_id']}" for i, d in enumerate(docs, start=1)]
    long = [{"_id": 1, "text": "word " * 40, "$similarity": 0.9}]
    (label,) = similarity_bar(long).data[0].y
    assert label.startswith("1. word word") and label.endswith("…")
    assert len(label) == len("1. ") + 60


def test_similarity_bar_color_one_bar_trace_per_value(topics):
    docs = search(topics, "the bank and the dog", k=8,
                  projection={"$vectorize": 1, "topic": 1}).to_list()
    fig = similarity_bar(docs, color="topic")
    by_topic: dict[str, list[dict]] = {}
    for doc in docs:
        by_topic.setdefault(doc["topic"], []).append(doc)
    assert len(by_topic) >= 2  # the query spans two topics
    assert {t.name for t in fig.data} == set(by_topic)
    assert all(isinstance(t, go.Bar) and t.showlegend for t in fig.data)
    assert fig.layout.legend.title.text == "topic"
    labels = [f"{i}. {d['$vectorize']}" for i, d in enumerate(docs, start=1)]
    assert list(fig.layout.yaxis.categoryarray) == labels  # still best first over all bars
    for t in fig.data:
        assert list(t.x) == pytest.approx([d["$similarity"] for d in by_topic[t.name]])
        assert list(t.y) == [labels[docs.index(d)] for d in by_topic[t.name]]
    assert sum(len(t.x) for t in fig.data) == len(docs)
    # a document without the field goes under "(missing)"
    fig = similarity_bar([{"_id": 1, "$similarity": 0.8, "kind": "a"},
                          {"_id": 2, "$similarity": 0.7}], color="kind")
    assert {t.name: list(t.x) for t in fig.data} == {"a": [0.8], "(missing)": [0.7]}


def test_similarity_bar_hover_leaves_vectors_out(topics):
    docs = search(topics, "a rocket in orbit", k=3, projection={"*": 1}).to_list()
    assert len(docs[0]["$vector"]) == 384
    docs[0]["embedding"] = [0.5] * 16  # a vector in another field: left out too
    docs[0]["pair"] = [1, 2]  # a short list is a value, shown
    (bar,) = similarity_bar(docs).data
    for hover, doc in zip(bar.hovertext, docs):
        assert "<b>$vector</b>" not in hover and "embedding" not in hover
        assert "0.5, 0.5" not in hover
        assert f"<b>$vectorize</b>: {html.escape(doc['$vectorize'])}" in hover
    assert "<b>pair</b>: [1, 2]" in bar.hovertext[0]


def test_similarity_bar_needs_similarity(topics):
    cursor = topics.find({}, sort={"$vectorize": "stars"}, limit=3)
    with pytest.raises(ValueError, match="include_similarity=True"):
        similarity_bar(cursor)
    with pytest.raises(ValueError, match=r"results \[1\]"):
        similarity_bar([{"_id": 1, "$similarity": 0.5}, {"_id": 2}])


# -- neighbours ------------------------------------------------------------------------------

@pytest.mark.parametrize("metric", METRICS)
def test_neighbours_are_the_brute_force_ranking(metric):
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(30, 6)).astype(np.float32)
    if metric == "euclidean":
        vectors *= 0.3  # similarities spread over (0, 1)
    k = 7
    indices, distances = neighbours(vectors, k, metric)
    assert indices.shape == distances.shape == (30, k)
    for i, v in enumerate(vectors):
        scores = {j: similarity(v, w, metric) for j, w in enumerate(vectors) if j != i}
        ranked = sorted(scores, key=lambda j: -scores[j])
        assert list(indices[i]) == [i, *ranked[: k - 1]]
        assert distances[i, 0] == 0.0
        expected = [max(1.0 - scores[j], 0.0) for j in ranked[: k - 1]]
        np.testing.assert_allclose(distances[i, 1:], expected, atol=2e-5)
        assert list(distances[i]) == sorted(distances[i])


@pytest.mark.parametrize("metric", METRICS)
def test_neighbours_k_is_capped_at_the_number_of_points(metric):
    vectors = np.random.default_rng(2).normal(size=(5, 4)).astype(np.float32)
    indices, distances = neighbours(vectors, 15, metric)
    assert indices.shape == distances.shape == (5, 5)
    for i, row in enumerate(indices):
        assert row[0] == i and sorted(row) == list(range(5))


def test_neighbours_over_several_blocks():
    """More rows than one block of the matrix product: each row still finds itself first."""
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(1100, 8)).astype(np.float32)
    indices, distances = neighbours(vectors, 4, "cosine")
    data = unit(vectors.astype(np.float64))
    cos = data @ data.T
    np.fill_diagonal(cos, -np.inf)
    expected = np.argsort(-cos, axis=1, kind="stable")[:, :3]
    assert (indices[:, 0] == np.arange(1100)).all()
    assert (indices[:, 1:] == expected).all()
    assert (distances[:, 0] == 0).all()


# -- project ---------------------------------------------------------------------------------

@pytest.mark.parametrize("metric", METRICS)
def test_project_pca_is_exact(metric):
    rng = np.random.default_rng(4)
    vectors = (rng.normal(size=(25, 10)) * rng.uniform(0.5, 3, size=(25, 1))).astype(np.float32)
    p = project(vectors, method="pca", metric=metric)
    assert isinstance(p, Projection)
    assert p.method == "pca" and p.metric == metric
    assert p.coords.shape == (25, 2)
    data = unit(vectors.astype(np.float64)) if metric == "cosine" else vectors
    assert_same_up_to_sign(p.coords, svd_coords(data))
    assert (p.axes.sum(axis=1) >= 0).all()  # the orientation is fixed
    # place() puts a stored vector exactly on its own point
    for i in (0, 7, 24):
        np.testing.assert_allclose(p.place(vectors[i], np.array([]), np.array([]))[0],
                                   p.coords[i], atol=1e-5)


def test_project_pca_cosine_ignores_the_length_of_vectors():
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(12, 6)).astype(np.float32)
    scaled = vectors * rng.uniform(0.1, 10, size=(12, 1)).astype(np.float32)
    a = project(vectors, method="pca", metric="cosine").coords
    b = project(scaled, method="pca", metric="cosine").coords
    np.testing.assert_allclose(a, b, atol=1e-5)
    c = project(scaled, method="pca", metric="euclidean").coords
    assert not np.allclose(a, c, atol=1e-2)


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_project_fewer_than_four_points_uses_pca(n):
    rng = np.random.default_rng(6)
    vectors = rng.normal(size=(n, 5)).astype(np.float32)
    p = project(vectors, method="umap", metric="euclidean", random_state=0)
    assert p.method == "pca"
    assert p.coords.shape == (n, 2)
    assert np.isfinite(p.coords).all()
    if n == 1:
        assert p.coords.tolist() == [[0.0, 0.0]]
    # up to three points lie in a plane: PCA keeps every distance between them
    np.testing.assert_allclose(pairwise(p.coords), pairwise(vectors), atol=1e-5)


def test_project_rejects_an_unknown_method():
    with pytest.raises(ValueError, match="'umap' or 'pca'"):
        project(np.zeros((5, 3)), method="tsne")


def test_project_umap_keeps_clusters_apart():
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(3, 16)) * 6
    labels = np.repeat(np.arange(3), 40)
    vectors = (centres[labels] + rng.normal(size=(120, 16))).astype(np.float32)
    p = project(vectors, method="umap", metric="euclidean", random_state=0)
    assert p.method == "umap" and p.coords.shape == (120, 2)
    assert np.isfinite(p.coords).all()
    centroids = np.array([p.coords[labels == c].mean(axis=0) for c in range(3)])
    spread = max(np.linalg.norm(p.coords[labels == c] - centroids[c], axis=1).max()
                 for c in range(3))
    apart = min(np.linalg.norm(centroids[a] - centroids[b])
                for a in range(3) for b in range(a + 1, 3))
    assert apart > 2 * spread, (apart, spread)
    nearest = np.argmin(pairwise(np.vstack([p.coords, centroids]))[:120, 120:], axis=1)
    assert (nearest == labels).all()
    # the same seed, the same map
    again = project(vectors, method="umap", metric="euclidean", random_state=0)
    np.testing.assert_allclose(again.coords, p.coords)


def test_place_on_a_umap_map_is_the_weighted_mean_of_the_neighbours():
    coords = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 8.0], [5.0, 5.0]])
    p = Projection(coords, "umap", "cosine")
    where = p.place(np.ones(3), np.array([0, 1, 2]), np.array([0.5, 0.25, 0.25]))
    np.testing.assert_allclose(where, [[1.0, 2.0]])
    where = p.place(np.ones(3), np.array([1, 3]), np.array([0.0, 0.0]))  # no weight: the mean
    np.testing.assert_allclose(where, [[4.5, 2.5]])
    assert np.isnan(p.place(np.ones(3), np.array([], dtype=np.int64), np.array([]))).all()


# -- embedding_map: collections of own vectors ------------------------------------------------

@pytest.mark.parametrize("metric", METRICS)
def test_embedding_map_pca_of_each_metric(db, metric):
    rng = np.random.default_rng(8)
    vectors = rng.normal(size=(20, 6)) * rng.uniform(0.5, 2, size=(20, 1))
    if metric == "dot_product":
        vectors = unit(vectors)
    coll = own_collection(db, "m", vectors, metric, tag=[f"t{i % 3}" for i in range(20)])
    fig = embedding_map(coll, method="pca")
    assert fig.layout.meta == {"points": 20, "total": 20, "without_vector": 0,
                               "method": "pca", "metric": metric}
    assert fig.layout.title.text == f"m: PCA map of 20 documents ({metric})"
    (points,) = fig.data
    assert points.name == "documents" and points.mode == "markers"
    assert len(points.x) == len(points.y) == 20
    assert list(points.customdata) == [str(i) for i in range(20)]
    data = unit(vectors) if metric == "cosine" else vectors
    assert_same_up_to_sign(np.column_stack([points.x, points.y]), svd_coords(data))
    for hover, i in zip(points.hovertext, range(20)):
        assert hover.startswith(f"<b>{i}</b><br>")  # no text field: the _id labels it
        assert f"<b>tag</b>: t{i % 3}" in hover and "<b>$vector</b>" not in hover


def test_embedding_map_color_by_a_category_and_by_a_number(db):
    rng = np.random.default_rng(9)
    kinds = ["red"] * 10 + ["blue"] * 6 + ["green"] * 3 + ["gone"]
    coll = own_collection(db, "c", rng.normal(size=(20, 5)), "euclidean",
                          kind=kinds, score=[float(i) * 1.5 for i in range(20)],
                          level=[i % 3 for i in range(20)])
    # drop the kind of the last document: "(missing)"
    coll.update_one({"_id": 19}, {"$unset": {"kind": ""}})
    fig = embedding_map(coll, method="pca", color="kind")
    counts = {t.name: len(t.x) for t in fig.data}
    assert counts == {"red": 10, "blue": 6, "green": 3, "(missing)": 1}
    assert fig.layout.legend.title.text == "kind"
    for t in fig.data:
        assert t.legendgroup == t.name
        assert all(f"<b>kind</b>: {t.name}" in h for h in t.hovertext) or t.name == "(missing)"
    assert len({t.marker.color for t in fig.data}) == 4
    everything = embedding_map(coll, method="pca")
    whole = points_of(everything)
    assert all(np.array_equal(xy, whole[key]) for key, xy in points_of(fig).items())
    assert len(whole) == 20
    # a number with many values: one trace, a colour scale
    fig = embedding_map(coll, method="pca", color="score")
    (points,) = fig.data
    assert len(points.x) == 20
    assert list(points.marker.color) == [float(i) * 1.5 for i in range(20)]
    assert points.marker.showscale is True and points.marker.colorscale is not None
    assert points.marker.colorbar.title.text == "score"
    # a number with few values: categories
    fig = embedding_map(coll, method="pca", color="level")
    assert {t.name: len(t.x) for t in fig.data} == {"0": 7, "1": 7, "2": 6}


def test_embedding_map_label_field(db):
    rng = np.random.default_rng(10)
    coll = own_collection(db, "l", rng.normal(size=(6, 4)), "cosine",
                          title=[f"Title {i}" for i in range(6)],
                          code=[f"C-{i}" for i in range(6)])
    (points,) = embedding_map(coll, method="pca").data
    assert [h.split("<br>")[0] for h in points.hovertext] == [f"<b>Title {i}</b>"
                                                               for i in range(6)]
    (points,) = embedding_map(coll, method="pca", label="code").data
    assert [h.split("<br>")[0] for h in points.hovertext] == [f"<b>C-{i}</b>" for i in range(6)]
    assert all("<b>title</b>: Title" in h for h in points.hovertext)


def test_embedding_map_sample_says_so(db):
    rng = np.random.default_rng(11)
    vectors = rng.normal(size=(60, 8))
    coll = own_collection(db, "s", vectors, "euclidean")
    fig = embedding_map(coll, method="pca", sample=20, seed=3)
    assert fig.layout.meta["points"] == 20 and fig.layout.meta["total"] == 60
    assert notes_of(fig) == "a random sample of 20 of 60 documents"
    assert "PCA map of 20 documents" in fig.layout.title.text
    shown = [int(k) for k in fig.data[0].customdata]
    assert len(set(shown)) == 20 and shown == sorted(shown)
    assert_same_up_to_sign(np.column_stack([fig.data[0].x, fig.data[0].y]),
                           svd_coords(vectors[shown]))
    # the same seed, the same sample; another seed, another
    assert list(embedding_map(coll, method="pca", sample=20, seed=3).data[0].customdata) == \
        list(fig.data[0].customdata)
    assert list(embedding_map(coll, method="pca", sample=20, seed=4).data[0].customdata) != \
        list(fig.data[0].customdata)
    # a sample as large as the collection: every document, no note
    fig = embedding_map(coll, method="pca", sample=60)
    assert fig.layout.meta["points"] == 60 and notes_of(fig) == ""
    fig = embedding_map(coll, method="pca", sample=None)
    assert fig.layout.meta["points"] == 60 and notes_of(fig) == ""


def test_embedding_map_leaves_out_documents_without_a_vector(db):
    rng = np.random.default_rng(12)
    coll = own_collection(db, "w", rng.normal(size=(8, 4)), "cosine")
    coll.insert_many([{"_id": 100, "note": "no vector"}, {"_id": 101}])
    fig = embedding_map(coll, method="pca")
    assert fig.layout.meta["points"] == 8
    assert fig.layout.meta["total"] == 10 and fig.layout.meta["without_vector"] == 2
    assert notes_of(fig) == "2 documents without a vector not shown"
    assert set(fig.data[0].customdata) == {str(i) for i in range(8)}
    coll.delete_one({"_id": 101})
    fig = embedding_map(coll, method="pca")
    assert notes_of(fig) == "1 document without a vector not shown"
    # a sample and documents without a vector: both said
    fig = embedding_map(coll, method="pca", sample=5)
    assert notes_of(fig) == ("a random sample of 5 of 8 documents; "
                             "1 document without a vector not shown")


def test_embedding_map_of_documents_none_of_which_has_a_vector(db):
    coll = db.create_collection("novec", dimension=4, metric="cosine")
    coll.insert_many([{"_id": i, "text": f"t{i}"} for i in range(3)])
    fig = embedding_map(coll, method="pca")
    assert fig.layout.meta == {"points": 0, "total": 3, "without_vector": 3,
                               "method": "pca", "metric": "cosine"}
    assert "3 documents without a vector not shown" in notes_of(fig)
    assert sum(len(t.x) for t in fig.data) == 0


@pytest.mark.parametrize("n", [1, 2, 3])
def test_embedding_map_tiny_collections_fall_back_to_pca(db, n):
    rng = np.random.default_rng(13)
    vectors = rng.normal(size=(n, 4))
    coll = own_collection(db, "tiny", vectors, "euclidean")
    fig = embedding_map(coll, method="umap", random_state=0, query=floats(vectors[0]), k=5)
    assert fig.layout.meta["method"] == "pca" and fig.layout.meta["points"] == n
    assert notes_of(fig) == "PCA: UMAP needs at least 4 points"
    noun = "document" if n == 1 else "documents"
    assert fig.layout.title.text.startswith(f"tiny: PCA map of {n} {noun} (euclidean)")
    points = points_of(fig)
    assert len(points) == n
    coords = np.array([points[str(i)] for i in range(n)])
    np.testing.assert_allclose(pairwise(coords), pairwise(vectors), atol=1e-5)
    # the query is the first document: its star sits on that point, with a line to each one
    np.testing.assert_allclose([trace(fig, "query").x[0], trace(fig, "query").y[0]],
                               points["0"], atol=1e-5)
    assert len(trace(fig, "results").x) == n
    assert len(trace(fig, "top 5").x) == 3 * n
    # asking for PCA says nothing about UMAP
    assert notes_of(embedding_map(coll, method="pca")) == ""


def test_embedding_map_umap_on_five_points_caps_the_neighbours(db):
    rng = np.random.default_rng(14)
    coll = own_collection(db, "five", rng.normal(size=(5, 6)), "cosine")
    fig = embedding_map(coll, method="umap", n_neighbors=15, random_state=0)
    assert fig.layout.meta["method"] == "umap" and fig.layout.meta["points"] == 5
    assert notes_of(fig) == ""
    assert fig.layout.title.text == "five: UMAP map of 5 documents (cosine)"
    xy = np.column_stack([fig.data[0].x, fig.data[0].y])
    assert xy.shape == (5, 2) and np.isfinite(xy).all()


def test_embedding_map_of_an_empty_collection(db):
    coll = db.create_collection("empty", dimension=4, metric="cosine")
    fig = embedding_map(coll, query=[1.0, 0.0, 0.0, 0.0])
    assert fig.layout.meta["points"] == 0 and fig.layout.meta["total"] == 0
    assert fig.layout.meta["without_vector"] == 0
    assert sum(len(t.x) for t in fig.data) == 0
    assert {t.name for t in fig.data} == {"documents"}  # no query overlay on an empty map
    assert "0 documents" in fig.layout.title.text


@pytest.mark.parametrize("metric", METRICS)
def test_query_vector_overlay_on_a_pca_map(db, metric):
    rng = np.random.default_rng(15)
    vectors = rng.normal(size=(30, 8)) * rng.uniform(0.5, 2, size=(30, 1))
    if metric != "cosine":
        vectors = unit(vectors) if metric == "dot_product" else vectors * 0.4
    query = unit(rng.normal(size=(1, 8)))[0] * (1.0 if metric == "dot_product" else 2.5)
    coll = own_collection(db, "q", vectors, metric)
    k = 4
    fig = embedding_map(coll, method="pca", query=floats(query), k=k)
    assert [t.name for t in fig.data] == ["documents", f"top {k}", "results", "query"]
    points = points_of(fig)
    top = brute_top(vectors.astype(np.float32), query.astype(np.float32), metric, k)
    results = trace(fig, "results")
    expected = np.array([points[str(i)] for i in top])
    np.testing.assert_allclose(np.column_stack([results.x, results.y]), expected)
    sims = [similarity(np.float32(query), np.float32(vectors[i]), metric) for i in top]
    for n, (hover, sim) in enumerate(zip(results.hovertext, sims), start=1):
        assert hover.startswith(f"#{n}, $similarity ")
        assert float(hover.rsplit(" ", 1)[1]) == pytest.approx(sim, abs=1e-4)
    # the star: the query's exact projection (cosine: of its direction)
    p = project(vectors, method="pca", metric=metric)
    q = query / np.linalg.norm(query) if metric == "cosine" else query
    where = (q - p.mean) @ p.axes.T
    star = trace(fig, "query")
    np.testing.assert_allclose([star.x[0], star.y[0]], where, atol=1e-5)
    np.testing.assert_allclose(p.place(np.float32(query), np.array([]), np.array([]))[0],
                               where, atol=1e-5)
    assert "query vector" in star.hovertext[0] and "exact projection" in star.hovertext[0]
    # the lines: (query, result, None) for each result
    lines = trace(fig, f"top {k}")
    assert lines.mode == "lines" and len(lines.x) == len(lines.y) == 3 * k
    for n, i in enumerate(top):
        xs, ys = lines.x[3 * n : 3 * n + 3], lines.y[3 * n : 3 * n + 3]
        assert xs[2] is None and ys[2] is None
        np.testing.assert_allclose([xs[0], ys[0]], where, atol=1e-5)
        np.testing.assert_allclose([xs[1], ys[1]], points[str(i)])
    assert notes_of(fig) == ""


def test_with_a_sample_the_query_links_to_its_nearest_sampled_points(db):
    rng = np.random.default_rng(16)
    vectors = rng.normal(size=(60, 8))
    coll = own_collection(db, "out", vectors, "euclidean")
    query = vectors[5] + 0.01
    k = 10
    fig = embedding_map(coll, method="pca", sample=12, seed=1, query=floats(query), k=k)
    assert notes_of(fig) == "a random sample of 12 of 60 documents"
    shown = [int(key) for key in fig.data[0].customdata]
    # the k nearest of the 12 sampled documents, under the collection's metric
    scores = [similarity(vectors[i], query, "euclidean") for i in shown]
    nearest = [shown[i] for i in np.argsort(-np.array(scores), kind="stable")[:k]]
    points = points_of(fig)
    results = trace(fig, "results")
    np.testing.assert_allclose(np.column_stack([results.x, results.y]),
                               np.array([points[str(i)] for i in nearest]), atol=1e-9)
    assert [h.split(",")[0] for h in results.hovertext] == [
        f"#{r} among the sampled points" for r in range(1, k + 1)]
    assert len(trace(fig, f"top {k}").x) == 3 * k


# -- embedding_map: tables ---------------------------------------------------------------------

def two_vector_table(db):
    rng = np.random.default_rng(17)
    a, b = rng.normal(size=(10, 3)), rng.normal(size=(10, 4))
    table = db.create_table("t", columns={
        "id": "int", "name": "text", "a": {"type": "vector", "dimension": 3},
        "b": {"type": "vector", "dimension": 4}}, primary_key="id")
    table.insert_many([{"id": i, "name": f"row {i}", "a": floats(a[i]),
                        **({"b": floats(b[i])} if i < 7 else {})} for i in range(10)])
    return table, a, b


def test_table_with_two_vector_columns_needs_vector_column(db):
    table, _, _ = two_vector_table(db)
    with pytest.raises(ValueError, match=r"vector_column=") as info:
        embedding_map(table, method="pca")
    assert "['a', 'b']" in str(info.value)
    with pytest.raises(ValueError, match=r"vector_column="):
        embedding_map(table, method="pca", vector_column="name")


def test_table_vector_column_map_uses_its_index_metric(db):
    table, a, b = two_vector_table(db)
    table.create_vector_index("a_index", "a", metric="euclidean")
    fig = embedding_map(table, method="pca", vector_column="a")
    assert fig.layout.meta == {"points": 10, "total": 10, "without_vector": 0,
                               "method": "pca", "metric": "euclidean"}
    assert fig.layout.title.text == "t: PCA map of 10 rows (euclidean)"
    (points,) = fig.data
    assert points.name == "rows"
    assert list(points.customdata) == [str((i,)) for i in range(10)]
    assert_same_up_to_sign(np.column_stack([points.x, points.y]), svd_coords(a))
    for i, hover in enumerate(points.hovertext):
        assert hover.startswith(f"<b>row {i}</b>")  # the "name" field labels it
        assert f"<b>id</b>: {i}" in hover
        assert "<b>a</b>" not in hover and "<b>b</b>" not in hover  # no vector column
    # b: no index (cosine, the default), three rows without a vector
    fig = embedding_map(table, method="pca", vector_column="b")
    assert fig.layout.meta == {"points": 7, "total": 10, "without_vector": 3,
                               "method": "pca", "metric": "cosine"}
    assert notes_of(fig) == "3 rows without a vector not shown"
    assert_same_up_to_sign(np.column_stack([fig.data[0].x, fig.data[0].y]),
                           svd_coords(unit(b[:7])))


def test_table_query_vector_overlay(db):
    table, a, _ = two_vector_table(db)
    table.create_vector_index("a_index", "a", metric="dot_product")
    query = np.array([0.2, -0.5, 0.9])
    fig = embedding_map(table, method="pca", vector_column="a", query=floats(query), k=3)
    assert fig.layout.meta["metric"] == "dot_product"
    top = brute_top(a.astype(np.float32), np.float32(query), "dot_product", 3)
    points = points_of(fig)
    results = trace(fig, "results")
    np.testing.assert_allclose(np.column_stack([results.x, results.y]),
                               np.array([points[str((i,))] for i in top]))
    p = project(a, method="pca", metric="dot_product")
    star = trace(fig, "query")
    np.testing.assert_allclose([star.x[0], star.y[0]], (query - p.mean) @ p.axes.T, atol=1e-5)
    assert len(trace(fig, "top 3").x) == 9


def test_table_with_one_vector_column_needs_no_vector_column(db):
    table = db.create_table("one", columns={"k": "text", "v": {"type": "vector",
                                                               "dimension": 3}},
                            primary_key="k")
    table.insert_many([{"k": f"k{i}", "v": [1.0, float(i), float(i * i)]} for i in range(4)])
    fig = embedding_map(table, method="pca")
    assert fig.layout.meta["points"] == 4 and fig.layout.meta["metric"] == "cosine"
    assert list(fig.data[0].customdata) == [str((f"k{i}",)) for i in range(4)]


def test_table_vectorize_column_with_a_text_query(db):
    table = db.create_table("books", columns={
        "title": "text", "topic": "text", "e": {"type": "vector", "service": LOCAL}},
        primary_key="title")
    chosen = [d for d in DOCS if d["n"] % 4 == 0]  # 12 rows, 3 of each topic
    table.insert_many([{"title": d["$vectorize"], "topic": d["topic"], "e": d["$vectorize"]}
                       for d in chosen])
    table.create_vector_index("e_index", "e", metric="dot_product")
    query = "a cat purring"
    fig = embedding_map(table, method="pca", query=query, k=3, color="topic")
    assert fig.layout.meta == {"points": 12, "total": 12, "without_vector": 0,
                               "method": "pca", "metric": "dot_product"}
    assert {t.name: len(t.x) for t in point_traces(fig)} == {topic: 3 for topic in TOPICS}
    cursor = table.find({}, sort={"e": query}, limit=3, include_similarity=True,
                        include_sort_vector=True)
    found = cursor.to_list()
    points = points_of(fig)
    results = trace(fig, "results")
    np.testing.assert_allclose(np.column_stack([results.x, results.y]),
                               np.array([points[str((r["title"],))] for r in found]))
    vectors = np.stack(table.to_pandas()["e"].to_list())
    p = project(vectors, method="pca", metric="dot_product")
    where = (np.asarray(cursor.get_sort_vector()) - p.mean) @ p.axes.T
    star = trace(fig, "query")
    np.testing.assert_allclose([star.x[0], star.y[0]], where, atol=1e-5)
    assert f"<b>query</b>: {query}" in star.hovertext[0]
    for t in point_traces(fig):  # the title labels each row
        for key, hover in zip(t.customdata, t.hovertext):
            assert hover.startswith(f"<b>{html.escape(ast.literal_eval(key)[0])}</b>")


# -- embedding_map: the local model ------------------------------------------------------------

def test_map_of_a_vectorize_collection_umap_with_a_text_query(topics):
    k = 5
    query = "a cat purring"
    fig = embedding_map(topics, color="topic", query=query, k=k, random_state=0)
    assert fig.layout.meta == {"points": 48, "total": 48, "without_vector": 0,
                               "method": "umap", "metric": "cosine"}
    assert fig.layout.title.text == "topics: UMAP map of 48 documents (cosine)"
    counts = {t.name: len(t.x) for t in point_traces(fig)}
    assert counts == {topic: 12 for topic in TOPICS}
    points = points_of(fig)
    assert set(points) == set(TEXT)
    for t in point_traces(fig):
        assert all(TOPIC[key] == t.name for key in t.customdata)
        assert all(f"<b>topic</b>: {t.name}" in h and "<b>$vector</b>" not in h
                   for h in t.hovertext)
    # topics come out as regions of the map: nearer to their own kind than to others
    within, between = [], []
    keys = list(points)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            d = float(np.linalg.norm(points[a] - points[b]))
            (within if TOPIC[a] == TOPIC[b] else between).append(d)
    assert np.mean(within) < 0.5 * np.mean(between)
    # the overlay: the results' own points, the star at their similarity-weighted mean
    found = search(topics, query, k=k).to_list()
    assert all(TOPIC[d["_id"]] == "pets" for d in found)
    results = trace(fig, "results")
    expected = np.array([points[d["_id"]] for d in found])
    np.testing.assert_allclose(np.column_stack([results.x, results.y]), expected)
    weights = np.array([d["$similarity"] for d in found])
    where = (expected * weights[:, None]).sum(axis=0) / weights.sum()
    star = trace(fig, "query")
    np.testing.assert_allclose([star.x[0], star.y[0]], where, rtol=1e-6, atol=1e-6)
    assert f"<b>query</b>: {query}" in star.hovertext[0]
    assert "similarity-weighted mean" in star.hovertext[0]
    lines = trace(fig, f"top {k}")
    assert len(lines.x) == 3 * k
    assert list(lines.x[2::3]) == [None] * k
    np.testing.assert_allclose(np.array(lines.x[1::3], dtype=float), expected[:, 0])
    assert notes_of(fig) == ""


def test_map_of_a_vectorize_collection_labels_points_with_their_text(topics):
    """The default label is the ``$vectorize`` text, and hovering shows the document (as
    ``embedding_map``'s docstring says): the map's documents must carry their text."""
    fig = embedding_map(topics, method="pca")
    (points,) = fig.data
    for key, hover in zip(points.customdata, points.hovertext):
        assert hover.startswith(f"<b>{html.escape(TEXT[key])}</b>"), hover
        assert f"<b>$vectorize</b>: {html.escape(TEXT[key])}" in hover, hover


def test_map_of_a_vectorize_collection_label_field(topics):
    fig = embedding_map(topics, method="pca", label="ref")
    refs = {d["_id"]: d["ref"] for d in DOCS}
    (points,) = fig.data
    for key, hover in zip(points.customdata, points.hovertext):
        assert hover.startswith(f"<b>{refs[key]}</b><br>")
        assert f"<b>n</b>: {DOCS[list(TEXT).index(key)]['n']}" in hover
    # a numeric field with many values: a colour scale
    fig = embedding_map(topics, method="pca", color="n")
    (points,) = fig.data
    assert sorted(points.marker.color) == [float(i) for i in range(48)]


# -- caching ---------------------------------------------------------------------------------

def test_the_map_is_cached_until_the_collection_changes(db, fresh_cache):
    rng = np.random.default_rng(18)
    coll = own_collection(db, "cache", rng.normal(size=(30, 8)), "cosine")
    first = embedding_map(coll, random_state=0)
    assert len(fresh_cache) == 2  # the vectors and the projection
    (made,) = [v for key, v in fresh_cache.items() if key[0] == "projection"]
    assert isinstance(made, Projection) and made.method == "umap"
    again = embedding_map(coll, random_state=0)
    assert len(fresh_cache) == 2
    (still,) = [v for key, v in fresh_cache.items() if key[0] == "projection"]
    assert still is made
    assert list(again.data[0].x) == list(first.data[0].x)
    assert list(again.data[0].y) == list(first.data[0].y)
    np.testing.assert_array_equal(np.asarray(first.data[0].x), made.coords[:, 0])
    # other settings, another projection; the vectors are read once
    embedding_map(coll, method="pca")
    assert len(fresh_cache) == 3
    embedding_map(coll, method="pca", color="x", label="y")  # only the figure differs
    assert len(fresh_cache) == 3
    # a write: the map is made again, with the new document
    version = coll.data_version
    coll.insert_one({"_id": 30, "$vector": floats(rng.normal(size=8))})
    assert coll.data_version != version
    fig = embedding_map(coll, random_state=0)
    assert fig.layout.meta["points"] == 31
    assert "30" in fig.data[0].customdata
    assert len(fresh_cache) == 4  # one copy of the vectors (replaced), three projections
    projections = [v for key, v in fresh_cache.items() if key[0] == "projection"]
    assert len(projections) == 3 and projections[-1] is not made
    assert projections[-1].coords.shape == (31, 2)
    # a write that leaves the vectors as they are keeps the map
    coll.update_one({"_id": 30}, {"$set": {"x": 1}})
    assert embedding_map(coll, random_state=0).layout.meta["points"] == 31
    assert len(fresh_cache) == 4


def test_a_collection_created_again_is_not_served_from_the_cache(db, fresh_cache):
    rng = np.random.default_rng(19)
    coll = own_collection(db, "again", rng.normal(size=(6, 3)), "cosine")
    before = embedding_map(coll, method="pca")
    coll.drop()
    coll = own_collection(db, "again", rng.normal(size=(9, 3)), "euclidean")
    after = embedding_map(coll, method="pca")
    assert before.layout.meta["points"] == 6
    assert after.layout.meta["points"] == 9 and after.layout.meta["metric"] == "euclidean"


# -- compare_models --------------------------------------------------------------------------

def test_rank_agreement_exact_values():
    assert rank_agreement([1, 2, 3, 4], [1, 2, 4, 3], 4) == (1.0, pytest.approx(0.8), 4)
    assert rank_agreement([1, 2, 3, 4], [1, 2, 3, 4], 4) == (1.0, 1.0, 4)
    assert rank_agreement([1, 2, 3], [3, 2, 1], 3) == (1.0, -1.0, 3)
    assert rank_agreement(["a", "b", "c", "d"], ["a", "x", "b", "y"], 4) == (0.5, 1.0, 2)
    overlap, rho, shared = rank_agreement([1, 2, 3], [4, 5, 6], 3)
    assert overlap == 0.0 and math.isnan(rho) and shared == 0
    overlap, rho, shared = rank_agreement([1, 2, 3, 4], [9, 8, 1, 7], 4)
    assert overlap == 0.25 and math.isnan(rho) and shared == 1
    # only the first k of each list count
    assert rank_agreement([1, 2, 3, 4, 5], [2, 1, 9, 9, 3], 2) == (1.0, -1.0, 2)
    # 3 places shared, two in the same order and one swapped: rho from the ranks 0,1,2
    overlap, rho, shared = rank_agreement([1, 2, 3, 4, 5], [2, 1, 3, 7, 8], 5)
    assert (overlap, shared) == (0.6, 3) and rho == pytest.approx(0.5)


@pytest.fixture
def copied(db, topics):
    """The topics' documents with their vectors copied in: a euclidean collection that embeds
    queries with the same model."""
    coll = db.create_collection("copied", dimension=384, metric="euclidean", service=LOCAL)
    frame = topics.to_pandas(include_vector=True)
    coll.insert_many([{"_id": r["_id"], "topic": r["topic"], "ref": r["ref"],
                       "$vector": floats(r["$vector"])} for _, r in frame.iterrows()])
    return coll


QUERIES = ["a playful kitten", "planets and stars", "baking bread", "interest rates"]


def test_compare_models_same_vectors_agree_fully(topics, copied):
    k = 5
    result = compare_models(topics, copied, QUERIES, k=k, color="topic")
    assert isinstance(result, ModelComparison)
    table = result.table
    assert list(table.columns) == ["query", f"overlap@{k}", "spearman", "shared",
                                   "top 3 in topics", "top 3 in copied"]
    assert list(table["query"]) == QUERIES
    assert list(table[f"overlap@{k}"]) == [1.0] * 4
    assert list(table["spearman"]) == [1.0] * 4
    assert list(table["shared"]) == [k] * 4
    for _, row in table.iterrows():
        assert len(row["top 3 in topics"]) == 3
        assert row["top 3 in topics"] == row["top 3 in copied"]
    assert "<table" in result._repr_html_()
    fig = result.figure
    assert fig.layout.meta == {"points": 48, "common": 48}
    assert [a.text for a in fig.layout.annotations] == [f"topics: {MINILM}",
                                                        f"copied: {MINILM}"]
    left = [t for t in fig.data if t.xaxis == "x"]
    right = [t for t in fig.data if t.xaxis == "x2"]
    assert len(left) == len(right) == 4
    assert {t.name: len(t.x) for t in left} == {t.name: len(t.x) for t in right} == {
        topic: 12 for topic in TOPICS}
    assert all(t.showlegend for t in left) and not any(t.showlegend for t in right)
    # the same documents on both sides, in the same order: the same hover texts
    assert [list(t.hovertext) for t in left] == [list(t.hovertext) for t in right]
    # cosine of unit vectors vs euclidean of the same vectors: one PCA up to sign
    lxy = np.concatenate([np.column_stack([t.x, t.y]) for t in left])
    rxy = np.concatenate([np.column_stack([t.x, t.y]) for t in right])
    assert_same_up_to_sign(lxy, rxy, atol=1e-4)


def test_compare_models_different_texts(db, topics):
    other = db.create_collection("other", service=LOCAL)
    # the same documents, described by their topic and a word of the text only
    other.insert_many([{"_id": d["_id"], "topic": d["topic"], "ref": d["ref"],
                        "$vectorize": f"{d['topic']}: {d['$vectorize'].split()[1]}"}
                       for d in DOCS])
    k = 6
    result = compare_models(topics, other, QUERIES, k=k, label="ref")
    table = result.table
    assert len(table) == len(QUERIES)
    for query, (_, row) in zip(QUERIES, table.iterrows()):
        mine = [[d["_id"] for d in search(c, query, k=k).to_list()] for c in (topics, other)]
        overlap, rho, shared = rank_agreement(mine[0], mine[1], k)
        assert 0.0 <= row[f"overlap@{k}"] <= 1.0
        assert row[f"overlap@{k}"] == overlap and row["shared"] == shared
        assert (math.isnan(row["spearman"]) and math.isnan(rho)) or row["spearman"] == rho
        assert row["shared"] == round(row[f"overlap@{k}"] * k)
        refs = {d["_id"]: d["ref"] for d in DOCS}
        assert row["top 3 in topics"] == [refs[i] for i in mine[0][:3]]
        assert row["top 3 in other"] == [refs[i] for i in mine[1][:3]]
    assert table[f"overlap@{k}"].min() < 1.0  # the other model does not agree everywhere
    fig = result.figure
    assert len(fig.data) == 2  # no colour: one trace per side
    assert [len(t.x) for t in fig.data] == [48, 48]
    assert [t.showlegend for t in fig.data] == [True, False]
    assert fig.layout.title.text == "The same 48 documents under two models (PCA)"


def test_compare_models_top_3_are_labelled_with_the_text_by_default(topics, copied):
    """Like the maps' labels, each model's top 3 default to the ``$vectorize`` text."""
    table = compare_models(topics, copied, QUERIES[:1], k=3).table
    mine = [d["_id"] for d in search(topics, QUERIES[0], k=3).to_list()]
    assert table.iloc[0]["top 3 in topics"] == [TEXT[i] for i in mine]


def test_compare_models_common_documents_sample_and_key(db, topics):
    # a second collection holding 30 of the 48 documents, under other _ids
    subset = [d for d in DOCS if d["n"] % 8 < 5]
    assert len(subset) == 30
    renamed = db.create_collection("renamed", service=LOCAL)
    renamed.insert_many([{**d, "_id": f"x-{d['_id']}"} for d in subset])
    # by _id: nothing in common
    result = compare_models(topics, renamed, QUERIES[:2], k=4)
    assert result.figure.layout.meta == {"points": 0, "common": 0}
    assert list(result.table["overlap@4"]) == [0.0, 0.0]
    assert list(result.table["shared"]) == [0, 0]
    assert sum(len(t.x) for t in result.figure.data) == 0
    # by a field both hold: the 30 common documents, on both sides
    result = compare_models(topics, renamed, QUERIES[:2], k=4, key="ref")
    assert result.figure.layout.meta == {"points": 30, "common": 30}
    assert [len(t.x) for t in result.figure.data] == [30, 30]
    for _, row in result.table.iterrows():
        assert 0.0 <= row["overlap@4"] <= 1.0
    # a sample of the common documents, the same ones on both sides
    result = compare_models(topics, renamed, QUERIES[:1], k=4, key="ref", sample=10,
                            color="topic")
    assert result.figure.layout.meta == {"points": 10, "common": 30}
    left = {t.name: len(t.x) for t in result.figure.data if t.xaxis == "x"}
    right = {t.name: len(t.x) for t in result.figure.data if t.xaxis == "x2"}
    assert left == right and sum(left.values()) == 10
    assert result.figure.layout.legend.title.text == "topic"


def test_compare_models_own_vectors_model_name(db):
    rng = np.random.default_rng(20)
    vectors = rng.normal(size=(10, 5))
    first = own_collection(db, "first", vectors, "euclidean")
    second = own_collection(db, "second", vectors * 2, "cosine")
    result = compare_models(first, second, [], k=3)
    assert [a.text for a in result.figure.layout.annotations] == [
        "first: own vectors", "second: own vectors"]
    assert len(result.table) == 0
    left, right = result.figure.data
    assert_same_up_to_sign(np.column_stack([left.x, left.y]), svd_coords(vectors))
    assert_same_up_to_sign(np.column_stack([right.x, right.y]), svd_coords(unit(vectors)))


def test_compare_models_table_types(topics, copied):
    table = compare_models(topics, copied, QUERIES[:1], k=3).table
    assert isinstance(table, pd.DataFrame)
    row = table.iloc[0]
    assert isinstance(row["top 3 in topics"], list)
    assert row["overlap@3"] == 1.0 and row["shared"] == 3


# -- review findings: keys of every kind, short lists, bad arguments ---------------------------

def test_collections_with_ejson_ids_map_and_compare(db):
    rng = np.random.default_rng(30)
    vectors = rng.normal(size=(12, 4))
    colls = []
    for name in ("u1", "u2"):
        coll = db.create_collection(name, dimension=4, default_id_type="uuidv7")
        colls.append(coll)
    ids = [d for d in colls[0].insert_many(
        [{"$vector": floats(v)} for v in vectors]).inserted_ids]
    colls[1].insert_many([{"_id": i, "$vector": floats(v)} for i, v in zip(ids, vectors)])
    fig = embedding_map(colls[0], method="pca", query=floats(vectors[3]), k=3)
    results, star = trace(fig, "results"), trace(fig, "query")
    assert len(results.x) == 3
    # the query is document 3's vector: PCA puts it on that point, the first result
    np.testing.assert_allclose([star.x[0], star.y[0]], [results.x[0], results.y[0]],
                               atol=1e-6)
    assert points_of(fig)[json.dumps(ids[3])].tolist() == [results.x[0], results.y[0]]
    result = compare_models(colls[0], colls[1], [], method="pca")
    assert result.figure.layout.meta == {"points": 12, "common": 12}


def test_a_table_keyed_by_a_timestamp(db):
    tables = []
    for name in ("tt1", "tt2"):
        table = db.create_table(name, columns={"pk": "timestamp", "v": {
            "type": "vector", "service": LOCAL}}, primary_key="pk")
        table.create_vector_index(f"{name}_v", "v")
        table.insert_many([{"pk": f"2024-01-{i + 1:02d}T10:00:00Z", "v": text}
                           for i, text in enumerate(TOPICS["pets"][:6] + TOPICS["space"][:6])])
        tables.append(table)
    fig = embedding_map(tables[0], method="umap", query="a sleepy cat", k=3, random_state=0)
    star = trace(fig, "query")
    assert np.isfinite([star.x[0], star.y[0]]).all() and notes_of(fig) == ""
    assert len(trace(fig, "top 3").x) == 9
    assert fig.data[0].hovertext[0].startswith("<b>2024-01-01")  # a row without text
    result = compare_models(tables[0], tables[1], ["a sleepy cat"], k=3)
    assert result.figure.layout.meta == {"points": 12, "common": 12}
    assert result.table["overlap@3"].tolist() == [1.0]


def test_rank_agreement_with_fewer_results_than_k():
    assert rank_agreement([1, 2, 3], [1, 2, 3], 10) == (1.0, 1.0, 3)
    assert rank_agreement([1, 2, 3], [1, 2, 3, 4], 10) == (0.75, 1.0, 3)
    overlap, rho, shared = rank_agreement([], [], 5)
    assert math.isnan(overlap) and math.isnan(rho) and shared == 0


def test_compare_by_a_key_some_documents_lack_or_share(db):
    rng = np.random.default_rng(32)
    vectors = rng.normal(size=(6, 3))
    refs = ["a", None, "c", None, "e", "f"]
    one = own_collection(db, "k1", vectors, "cosine", ref=refs)
    two = own_collection(db, "k2", vectors, "cosine", ref=refs)
    result = compare_models(one, two, [], key="ref", method="pca")
    assert result.figure.layout.meta == {"points": 4, "common": 4}
    assert "2 of k1 have no match in k2" in result.figure.layout.title.text
    same = own_collection(db, "k3", vectors, "cosine", ref=["a"] * 6)
    with pytest.raises(ValueError) as err:
        compare_models(same, two, [], key="ref")
    assert "'ref' does not identify the documents of 'k3'" in str(err.value)


def test_bad_arguments_are_refused(db):
    coll = own_collection(db, "args", np.eye(4), "cosine")
    for kwargs in ({"k": 0, "query": [1.0, 0, 0, 0]}, {"sample": 0}, {"n_neighbors": 0}):
        with pytest.raises(ValueError) as err:
            embedding_map(coll, method="pca", **kwargs)
        assert "must be a whole number of at least 1" in str(err.value)
    with pytest.raises(ValueError) as err:
        compare_models(coll, coll, "cat")
    assert str(err.value) == "queries must be a list of texts, not one text: pass [query]"


def test_bar_labels_are_text_not_markup():
    fig = similarity_bar([{"_id": 1, "title": "<b>bold</b> & co", "$similarity": 0.9}],
                         label="title")
    assert list(fig.data[0].y) == ["1. &lt;b&gt;bold&lt;/b&gt; &amp; co"]


def test_numeric_colour_with_a_missing_value_keeps_one_scale(db):
    values = [float(i) for i in range(20)]
    values[3] = None
    coll = own_collection(db, "scale", np.random.default_rng(33).normal(size=(20, 3)),
                          "cosine", n=values)
    fig = embedding_map(coll, method="pca", color="n")
    (points,) = fig.data
    assert points.marker.showscale and math.isnan(points.marker.color[3])
