"""Plotly figures of search results and embedding spaces (imports plotly; UMAP loads
umap-learn when first used).

- :func:`similarity_bar`: the ``$similarity`` of a search's results.
- :func:`embedding_map`: a collection's (or a table vector column's) vectors in 2-D, with UMAP
  or PCA, coloured by a field, with a query's point and lines to its results.
- :func:`compare_models`: the same documents under two models: side-by-side maps, and per
  query, how much the two models' results overlap and agree in order; with labelled
  queries, each model's recall@k and MRR@k per language, as grouped bars.
- :func:`retrieval_quality`: recall@k and MRR@k of result lists against the right answers.
"""

from __future__ import annotations

from .compare import ModelComparison, compare_models, retrieval_quality
from .maps import embedding_map
from .results import similarity_bar

__all__ = ["similarity_bar", "embedding_map", "compare_models", "ModelComparison",
           "retrieval_quality"]
