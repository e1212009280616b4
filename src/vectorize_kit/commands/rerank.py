"""``findAndRerank``: hybrid search (``reference/data-api.md``, findAndRerank).

As the Data API: a vector read (``$vectorize`` text embedded as a query, or a ``$vector``)
and a lexical read (BM25 over ``$lexical``), each with the command's filter and its own limit
(``hybridLimits``, 50 each); the candidates are merged by ``_id`` with their reciprocal rank
fusion score (``$rrf`` = the sum of ``1 / (60 + rank)`` over the reads that found them); then
every candidate is reranked against the query on its ``rerankOn`` field, and the best
``limit`` (10) are returned, by rerank score, then ``$rrf``, then ``_id``.

The Data API's reranker is NVIDIA's cross-encoder ``llama-3.2-nv-rerankqa-1b-v2``, which does
not run offline.  Here the collection's reranking service (that one, the only one the Data API
offers) is served by the local model, all-MiniLM-L6-v2: ``$rerank`` is the cosine similarity
of the query's embedding and the passage's (both through the workspace's embedding cache, so a
passage is embedded once; when the collection itself is vectorized by that model and
candidates are reranked on ``$vectorize``, their stored ``$vector`` is that very embedding,
and the query's vector is the one just searched with).  A bi-encoder scores relevance less
finely than a cross-encoder;
the order of the candidates it gives is what the fusion and the model make of them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import limits
from ..errors import DataAPIError
from ..models import PROVIDERS
from ..store.paths import split_path
from ..store.projection import parse_projection
from ..values import MISSING, dumps, json_type_name, sort_key
from .core import Result, check_fields, field_invalid, get_bool, get_int, get_options
from .documents import _check_vector, _filter, _render_rows, _select, _Sort, check_lengths
from .schema import RERANKING_PROVIDERS, check_rerank_service
from .state import CollectionState

__all__ = ["RERANK_COMMANDS", "find_reranking_providers"]

_RRF_K = 60
#: ``$vector`` of a candidate that the vector read did not find (Java's ``Integer.MIN_VALUE``).
_NOT_FOUND = float(-(2**31))
_RERANKER = {"provider": "local", "modelName": PROVIDERS["local"].models[0].name}
_OPTIONS = ("hybridLimits", "includeScores", "includeSortVector", "limit", "rerank",
            "rerankOn", "rerankQuery")


def _mismatch(problem: str) -> DataAPIError:
    return DataAPIError(
        "REQUEST_STRUCTURE_MISMATCH",
        f"Request is valid JSON but has a structural mismatch: {problem}.",
    )


def _text(value: Any) -> str | None:
    """A sort text, trimmed; blank counts as absent."""
    return value.strip() or None if isinstance(value, str) else None


class _Hybrid:
    """The parsed ``{"$hybrid": ...}`` sort."""

    def __init__(self, clause: Any) -> None:
        if not isinstance(clause, dict):
            raise _mismatch("sort clause must be an object or null")
        extra = sorted(set(clause) - {"$hybrid"})
        if extra or "$hybrid" not in clause:
            raise _mismatch("Expected fields: $hybrid. Unexpected fields: "
                            + (", ".join(extra) or "none") + ("" if "$hybrid" in clause
                                                              else ". Missing fields: $hybrid"))
        value = clause["$hybrid"]
        self.vector_raw: Any = None
        self.explicit_lexical = False
        if isinstance(value, str):
            self.vectorize = self.lexical = _text(value)
            return
        if not isinstance(value, dict):
            raise _mismatch(f"'$hybrid' must be a String or an Object, not "
                            f"{json_type_name(value)}")
        unknown = sorted(set(value) - {"$vectorize", "$vector", "$lexical"})
        if unknown:
            raise _mismatch("Expected fields: $lexical, $vector, $vectorize. Unexpected "
                            f"fields: {', '.join(unknown)}")
        for key in ("$vectorize", "$lexical"):
            if value.get(key) is not None and not isinstance(value[key], str):
                raise _mismatch(f"'{key}' of '$hybrid' must be a String, not "
                                f"{json_type_name(value[key])}")
        raw = value.get("$vector")
        if raw is not None and not isinstance(raw, (list, dict)):
            raise _mismatch(f"'$vector' of '$hybrid' must be an Array of numbers or "
                            f"{{\"$binary\": ...}}, not {json_type_name(raw)}")
        self.vectorize = _text(value.get("$vectorize"))
        self.lexical = _text(value.get("$lexical"))
        self.explicit_lexical = self.lexical is not None
        self.vector_raw = None if self.vectorize else raw  # $vectorize wins


def _hybrid_limits(value: Any) -> tuple[int, int]:
    if value is None:
        return limits.HYBRID_LIMIT, limits.HYBRID_LIMIT
    if isinstance(value, dict):
        missing = [k for k in ("$lexical", "$vector") if k not in value]
        if missing:
            raise _mismatch("hybridLimits has missing fields. Expected fields: $lexical, "
                            f"$vector. Missing fields: {', '.join(missing)}")
        pair = (value["$vector"], value["$lexical"])
    elif isinstance(value, int) and not isinstance(value, bool):
        pair = (value, value)
    else:
        raise _mismatch(f"hybridLimits must be an integer or an object, got "
                        f"{json_type_name(value).upper()}")
    for key, n in zip(("$vector", "$lexical"), pair):
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= limits.MAX_HYBRID_LIMIT:
            raise field_invalid(f"hybridLimits.{key}", n,
                                f"must be between 1 and {limits.MAX_HYBRID_LIMIT} (inclusive)")
    return pair


class _Candidates:
    """The reads' candidates, in the order found (the vector read's, then the lexical
    read's others): store rows, ``$vector`` similarity, ``$vectorRank`` and ``$bm25Rank``
    (``None``: not found by that read)."""

    def __init__(self, rows: list[int], sims: list[float]) -> None:
        self.rows = rows
        self.sims = sims
        self.vector_ranks: list[int | None] = list(range(1, len(rows) + 1))
        self.bm25_ranks: list[int | None] = [None] * len(rows)

    def add_lexical(self, rows: list[int]) -> None:
        where = dict(zip(self.rows, range(len(self.rows)))) if rows else {}
        for rank, row in enumerate(rows, 1):
            i = where.get(row)
            if i is None:
                self.rows.append(row)
                self.sims.append(_NOT_FOUND)
                self.vector_ranks.append(None)
                self.bm25_ranks.append(rank)
            else:
                self.bm25_ranks[i] = rank

    def rrf(self, i: int) -> float:
        """Candidate ``i``'s reciprocal rank fusion score."""
        v, b = self.vector_ranks[i], self.bm25_ranks[i]
        return (0.0 if v is None else 1 / (_RRF_K + v)) + (0.0 if b is None else 1 / (_RRF_K + b))


def _reads(coll: CollectionState, sort: _Hybrid, flt: Any, vector_limit: int,
           lexical_limit: int) -> tuple[np.ndarray | None, _Candidates]:
    """Run the vector and lexical reads: the query vector, and the candidates."""
    settings = coll.settings
    vector = None
    if sort.vectorize is not None:
        if settings.dimension is None:
            raise _no_vector(coll)
        if settings.service is None:
            raise DataAPIError(
                "UNSUPPORTED_VECTORIZE_SORT_FOR_COLLECTION",
                "The command attempted to use vectorize sort (keyword '$vectorize' or "
                "'$hybrid') against a collection that does not have vectorize enabled.\n\n"
                f"The collection {coll.qualified_name} has no embedding service: send "
                "{\"$hybrid\": {\"$vector\": [...], \"$lexical\": \"...\"}} instead.",
            )
        check_lengths(coll, coll.model, [sort.vectorize], ["the search text"], kind="query")
        vector = np.asarray(coll.embed([sort.vectorize], kind="query")[0], dtype=np.float32)
    elif sort.vector_raw is not None:
        if settings.dimension is None:
            raise _no_vector(coll)
        vector = _check_vector(coll, sort.vector_raw)
    found = _Candidates([], [])
    if vector is not None:
        rows, sims = _select(coll, flt, _Sort(vector=vector), count=vector_limit)
        found = _Candidates(rows.tolist(), sims.tolist())  # type: ignore[union-attr]
    lexical_off = coll.lexical_off()
    if sort.explicit_lexical and lexical_off is not None:
        raise lexical_off
    if sort.lexical is not None and lexical_off is None:
        rows, _ = _select(coll, flt, _Sort(lexical=sort.lexical), count=lexical_limit)
        found.add_lexical(rows.tolist())
    if vector is None and (sort.lexical is None or lexical_off is not None):
        raise DataAPIError(
            "MISSING_HYBRID_SORT_VALUE",
            "The findAndRerank sort gives nothing to search with: send "
            "{\"$hybrid\": \"text\"}, or {\"$hybrid\": {\"$vectorize\" or \"$vector\": ..., "
            "\"$lexical\": \"text\"}} with at least one non-blank value.",
        )
    return vector, found


def _no_vector(coll: CollectionState) -> DataAPIError:
    return DataAPIError(
        "UNSUPPORTED_VECTOR_SORT_FOR_COLLECTION",
        "The command attempted to vector sort against a collection that does not have vectors "
        f"enabled.\n\nThe collection {coll.qualified_name} has no 'vector' option: search it "
        "with {\"$hybrid\": {\"$lexical\": \"...\"}}, or recreate it with vectors.",
    )


def _passages(coll: CollectionState, rows: list[int], path: str, segments: tuple[str, ...]
              ) -> tuple[list[int], list[str]]:
    """The candidates (their positions in ``rows``) that are reranked, and their texts: a
    candidate without a text there (missing, null, blank) is dropped."""
    values = coll.store.values(segments, rows)
    if set(map(type, values)) <= {str} and all(values) and not any(map(str.isspace, values)):
        return list(range(len(rows))), values  # (the usual case, in C-level passes)
    docs = coll.store.docs()
    kept, texts = [], []
    for i, value in enumerate(values):
        if type(value) is not str or not value or value.isspace():
            value = _passage(value, docs[rows[i]], path)
            if value is None:
                continue
        kept.append(i)
        texts.append(value)
    return kept, texts


def _passage(value: Any, doc: dict, path: str) -> str | None:
    """The text of a value that is not a plain non-blank string (``None``: dropped)."""
    if value is MISSING or value is None or isinstance(value, str):
        return None
    if isinstance(value, (dict, list)):
        raise field_invalid(
            "command.options.rerankOn", path,
            f"document {dumps(doc.get('_id'))} holds {json_type_name(value)} there; rerank "
            "on a text field")
    return dumps(value)


def _rerank_scores(coll: CollectionState, query: str, passages: list[str], *,
                   rows: list[int], stored: bool, query_vector: np.ndarray | None
                   ) -> np.ndarray:
    """The local model's relevance of each passage (of store ``rows``) to the query (cosine
    similarity, float32; equal passages score equal). ``stored``: the passages are the rows'
    ``$vectorize`` texts in a collection the reranking model vectorizes, so their stored
    vectors are their embeddings; ``query_vector``: the query's embedding by that model, if
    already made."""
    if not passages:
        return np.zeros(0, dtype=np.float32)
    q = (query_vector if query_vector is not None else
         coll.vectorize(_RERANKER, [query], kind="query")[0])
    vectors = coll.store.vectors
    matrix = None
    if stored and vectors is not None:
        at = np.array(rows, dtype=np.intp)
        if vectors.present[at].all():
            matrix = vectors.data[at]
    if matrix is None:
        matrix = coll.vectorize(_RERANKER, passages)
    # row by row (not BLAS, whose sums depend on a row's place): equal texts score equal
    return np.einsum("ij,j->i", matrix, q.astype(np.float32, copy=False))


def find_and_rerank(coll: CollectionState, body: dict) -> Result:
    check_fields("findAndRerank", body, ("filter", "projection", "sort", "options"))
    options = get_options("findAndRerank", body, _OPTIONS)
    flt = _filter(coll, body)
    projection = body.get("projection")
    if isinstance(projection, dict) and {"$similarity", "$hybrid"} & set(projection):
        raise DataAPIError(
            "UNSUPPORTED_PROJECTION_PARAM",
            "findAndRerank can not project '$similarity' or '$hybrid': ask for the scores "
            "with the option includeScores.",
        )
    proj = parse_projection(projection)
    sort = _Hybrid(body.get("sort"))
    limit = get_int(options, "limit", minimum=1) or limits.RERANK_LIMIT
    vector_limit, lexical_limit = _hybrid_limits(options.get("hybridLimits"))
    override = options.get("rerank")
    if override is not None:
        check_rerank_service(override, lambda why: DataAPIError("INVALID_RERANK_OVERRIDE", why))
    elif coll.settings.rerank_service is None:
        raise DataAPIError(
            "UNSUPPORTED_RERANKING_COMMAND",
            "The `findAndRerank` is not enabled for the collection: its 'rerank' option is "
            "off and a reranking service override was not provided with the command.\n\n"
            "Resend with the option \"rerank\": {\"provider\": \"nvidia\", \"modelName\": "
            f"\"{RERANKING_PROVIDERS['nvidia'][0]}\"}}, or use a collection with rerank on.",
        )
    query = _text(options.get("rerankQuery")) or sort.vectorize
    if query is None:
        raise DataAPIError(
            "MISSING_RERANK_QUERY_TEXT",
            "The findAndRerank command is missing the text to use as the query with the "
            "reranking model: give it as {\"$hybrid\": \"query text\"}, as "
            "{\"$hybrid\": {\"$vectorize\": \"query text\"}}, or as the option rerankQuery.",
        )
    rerank_on = _text(options.get("rerankOn")) or ("$vectorize" if sort.vectorize else None)
    if rerank_on is None:
        raise DataAPIError(
            "MISSING_RERANK_ON",
            "The findAndRerank command does not specify which document field to rerank on: "
            "give the option rerankOn (e.g. \"rerankOn\": \"text\").",
        )
    segments = split_path(rerank_on)
    vector, found = _reads(coll, sort, flt, vector_limit, lexical_limit)
    kept, passages = _passages(coll, found.rows, rerank_on, segments)
    rows = found.rows if len(kept) == len(found.rows) else [found.rows[i] for i in kept]
    service = coll.settings.service or {}
    by_reranker = (service.get("provider") == _RERANKER["provider"]
                   and service.get("modelName") == _RERANKER["modelName"])
    scores = _rerank_scores(
        coll, query, passages, rows=rows, stored=by_reranker and rerank_on == "$vectorize",
        query_vector=vector if by_reranker and query == sort.vectorize else None)
    # best rerank score first, then best fused rank, then _id: the fused rank is needed
    # only where scores tie (rare: they are floats)
    order = (-scores).argsort(kind="stable")
    top = scores[order[:limit + 1]]
    if (top[1:] == top[:-1]).any():
        order = np.array(sorted(range(len(rows)), key=lambda i: (
            -scores[i], -found.rrf(kept[i]), sort_key(coll.store.docs()[rows[i]].get("_id")))))
    best = order[:limit].tolist()
    status: dict[str, Any] = {}
    if get_bool(options, "includeScores"):
        status["documentResponses"] = [{"scores": {
            "$rerank": float(scores[i]), "$vector": found.sims[kept[i]],
            "$vectorRank": found.vector_ranks[kept[i]], "$bm25Rank": found.bm25_ranks[kept[i]],
            "$rrf": found.rrf(kept[i])}} for i in best]
    if get_bool(options, "includeSortVector"):
        status["sortVector"] = None if vector is None else vector.tolist()
    return Result(status=status or None,
                  data={"documents": _render_rows(coll, [rows[i] for i in best], proj),
                        "nextPageState": None})


def find_reranking_providers(db: Any, body: dict) -> Result:
    """The reranking providers (the Data API's one, served here by the local model)."""
    check_fields("findRerankingProviders", body, ("options",))
    options = get_options("findRerankingProviders", body, ("filterModelStatus",))
    wanted = str(options.get("filterModelStatus", "SUPPORTED") or "").upper()
    models = [{"name": name, "isDefault": True, "url": None,
               "apiModelSupport": {"status": "SUPPORTED"}, "properties": None}
              for name in RERANKING_PROVIDERS["nvidia"] if wanted in ("", "SUPPORTED")]
    return Result(status={"rerankingProviders": {"nvidia": {
        "isDefault": True, "displayName": "Nvidia (served offline by the local model "
                                          f"{_RERANKER['modelName']})",
        "supportedAuthentication": {"NONE": {"enabled": True, "tokens": []}},
        "models": models}}})


RERANK_COMMANDS = {"findAndRerank": find_and_rerank}
