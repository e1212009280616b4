"""Collection commands: insert, find, update, delete, count (``reference/data-api.md`` §2.2–2.6).

The store takes vectors, never text: ``$vectorize`` values are turned into vectors here,
through the collection's embedding service, before anything is written.  Every command writes
with one ``store.put``/``delete``/``clear`` call, so it is atomic on disk.
"""

from __future__ import annotations

import copy
import json
import warnings
from typing import Any

import numpy as np

from .. import limits
from ..embedding.tokens import chunk_text, count_tokens
from ..errors import DataAPIError, TokenLimitWarning
from ..models import ModelInfo
from ..store.filters import Filter, parse_filter
from ..store.paths import PathConflict, get_exact, set_path, split_path
from ..store.projection import Projection, parse_projection
from ..store.shred import check_doc_id, check_document, new_doc_id
from ..store.updates import VectorChange, parse_update
from ..values import (
    bad_vector_rows,
    canon,
    decode_vector,
    is_number,
    json_clone,
    json_type_name,
    not_finite,
    sort_key,
    vectorize_type_error,
)
from .core import (
    Result,
    check_fields,
    count_result,
    decode_page,
    encode_page,
    get_bool,
    get_int,
    get_options,
    insert_many_request,
)
from .state import CollectionState, SchemaObjectState

__all__ = ["DOCUMENT_COMMANDS", "check_lengths"]


# -- documents in ----------------------------------------------------------------------------

class _Prepared:
    """A document checked for storage; ``text`` is a ``$vectorize`` text still to embed."""

    __slots__ = ("doc", "text", "vector")

    def __init__(self, doc: dict, vector: np.ndarray | None, text: str | None) -> None:
        self.doc, self.vector, self.text = doc, vector, text


def _where(position: int | None) -> str:
    return "" if position is None else f" (issue in document at position {position})"


def _check_vector(coll: CollectionState, raw: Any, what: str = "$vector", *,
                  deferred: bool = False) -> np.ndarray:
    """Decode and check a vector; ``deferred`` leaves the value checks to
    :func:`_check_values` (done once for a whole batch)."""
    settings = coll.settings
    if settings.dimension is None:
        raise DataAPIError(
            "VECTOR_SEARCH_NOT_SUPPORTED",
            f"Vector search is not enabled for collection: {coll.qualified_name}. Recreate "
            "the collection with a 'vector' option to store vectors.",
        )
    vec = decode_vector(raw, what=what, check=False)
    if vec.shape[0] != settings.dimension:
        raise DataAPIError(
            "INVALID_VECTOR_LENGTH",
            f"Length of vector parameter different from declared '{what}' dimension: root "
            f"cause: Invalid vector dimension: expected {settings.dimension} but got "
            f"{vec.shape[0]}. Resend a vector of {settings.dimension} numbers.",
        )
    if not deferred:
        _check_values(coll, vec[None, :], what=what)
    return vec


def _check_values(coll: CollectionState, block: np.ndarray, *, what: str = "$vector",
                  positions: list[int] | None = None) -> None:
    """Finite values, and not all zero under the cosine metric, for every row of a block."""
    cosine = coll.settings.metric == "cosine"
    bad = bad_vector_rows(block, zero_ok=not cosine)
    if not bad.size:
        return
    row = int(bad[0])
    where = "" if positions is None else f" (issue in document at position {positions[row]})"
    if not np.isfinite(block[row].sum(dtype=np.float64)):
        raise not_finite(what, where)
    raise DataAPIError(
        "SHRED_BAD_VECTOR_VALUE",
        f"A zero {what} can not be used with the cosine metric (its direction is "
        f"undefined){where}. Resend a vector with a non-zero value.",
    )


def _no_service(coll: CollectionState) -> DataAPIError:
    return DataAPIError(
        "EMBEDDING_SERVICE_NOT_CONFIGURED",
        f"Collection '{coll.name}' does not have embedding service configured: cannot "
        "vectorize data.\n\nCollection must be recreated with embedding service "
        "configuration to allow vectorization (or send '$vector' values).",
    )


def _vectorize_text(coll: CollectionState, value: Any, position: int | None) -> str | None:
    """The text to embed for a ``$vectorize`` value (``None`` for null or blank)."""
    if value is not None and not isinstance(value, str):
        raise vectorize_type_error(value, _where(position))
    if coll.settings.service is None:
        raise _no_service(coll)
    if value is None or not value.strip():
        return None
    return value


def _prepare(coll: CollectionState, doc: Any, position: int | None,
             *, new_id: bool = True, deferred: bool = False) -> _Prepared:
    """Check a document for storage. ``deferred``: the caller checks the vector values of
    its whole batch with :func:`_check_batch`."""
    if not isinstance(doc, dict):
        return _Prepared(check_document(doc, indexing=coll.settings.indexing,
                                        position=position), None, None)
    raw_vector = doc.get("$vector")
    try:
        clean = json_clone({k: v for k, v in doc.items() if k != "$vector"})
    except TypeError as exc:
        raise DataAPIError(
            "SHRED_BAD_DOCUMENT_TYPE",
            f"Document is not valid JSON: {exc}{_where(position)}. Convert the value (e.g. "
            "NaN to null) and resend.",
        ) from None
    clean = _checked(coll, clean, position)
    if "$vector" in doc and "$vectorize" in doc:
        raise DataAPIError(
            "INVALID_USAGE_OF_VECTORIZE",
            "'$vector' and '$vectorize' cannot be used together in same document: issue in "
            f"document at position {position or 0}.\n\nResend command with only '$vector' "
            "or '$vectorize'.",
        )
    vector = None
    if raw_vector is not None:
        vector = _check_vector(coll, raw_vector, deferred=deferred)
    elif "$vector" in doc and coll.settings.dimension is None:
        _check_vector(coll, [0.0])  # null $vector in a non-vector collection: same error
    text = _vectorize_text(coll, clean["$vectorize"], position) if "$vectorize" in clean else None
    if "_id" not in clean and new_id:
        clean = {"_id": new_doc_id(coll.settings.default_id), **clean}
    return _Prepared(clean, vector, text)


def _checked(coll: CollectionState, doc: dict, position: int | None = None) -> dict:
    """A document checked for storage, its ``$lexical`` text included."""
    doc = check_document(doc, indexing=coll.settings.indexing, position=position)
    if "$lexical" not in doc:
        return doc
    off = coll.lexical_off()
    if off is not None:
        raise off
    text = doc["$lexical"]
    if text is not None and not isinstance(text, str):
        raise DataAPIError(
            "SHRED_BAD_DOCUMENT_LEXICAL_TYPE",
            "Bad $lexical value to shred: the value for field '$lexical' must be a JSON "
            f"String, not a JSON {json_type_name(text)}{_where(position)}.",
        )
    if text and len(text) > limits.MAX_LEXICAL_BYTES // 4 and (
        coll.lexical(current=False).term_bytes(text) > limits.MAX_LEXICAL_BYTES
    ):
        raise DataAPIError(
            "LEXICAL_CONTENT_TOO_LONG",
            "The command attempted to insert or update the `$lexical` field with content "
            f"that exceeds the maximum allowed length{_where(position)}: its distinct terms "
            f"take more than {limits.MAX_LEXICAL_BYTES} bytes.\n\nThe collection: "
            f"{coll.qualified_name}.\n\nResend the command using a smaller value for the "
            "`$lexical` field.",
        )
    return doc


def _expand_hybrid(doc: Any, position: int | None) -> Any:
    """An inserted document's ``$hybrid`` shorthand: ``"text"`` is ``$vectorize`` and
    ``$lexical`` both; ``{"$vectorize": ..., "$lexical": ...}`` gives each."""
    if not isinstance(doc, dict) or "$hybrid" not in doc:
        return doc
    where = f" (Document {1 if position is None else position + 1})"
    if any(k in doc for k in ("$lexical", "$vector", "$vectorize")):
        raise DataAPIError(
            "HYBRID_FIELD_CONFLICT",
            "Field '$hybrid' cannot be used with '$lexical', '$vector', or '$vectorize'"
            f"{where}.\n\nResend command without conflicting fields.",
        )
    value = doc["$hybrid"]
    rest = {k: v for k, v in doc.items() if k != "$hybrid"}
    if value is None:
        return rest
    if isinstance(value, str):
        return {**rest, "$vectorize": value, "$lexical": value}
    if not isinstance(value, dict):
        raise DataAPIError(
            "HYBRID_FIELD_UNSUPPORTED_VALUE_TYPE",
            "Unsupported JSON value type for '$hybrid' field: expected String, Object or "
            f"`null` but received {json_type_name(value)}{where}.",
        )
    unknown = [k for k in value if k not in ("$lexical", "$vectorize")]
    if unknown:
        raise DataAPIError(
            "HYBRID_FIELD_UNKNOWN_SUBFIELDS",
            "Unknown sub-field(s) for '$hybrid' field: expected '$lexical' and/or "
            f"'$vectorize' but encountered: {', '.join(repr(k) for k in unknown)}{where}.",
        )
    for key, sub in value.items():
        if sub is not None and not isinstance(sub, str):
            raise DataAPIError(
                "HYBRID_FIELD_UNSUPPORTED_SUBFIELD_VALUE_TYPE",
                f"Unsupported JSON value type for '$hybrid' sub-field: expected String or "
                f"`null` for '{key}' but received {json_type_name(sub)}{where}.",
            )
    return {**rest, **{k: v for k, v in value.items() if v is not None}}


def _check_batch(coll: CollectionState, items: list[_Prepared]) -> None:
    positions = [i for i, item in enumerate(items) if item.vector is not None]
    if positions:
        _check_values(coll, np.stack([items[i].vector for i in positions]),  # type: ignore
                      positions=positions)


def _embed(coll: CollectionState, items: list[_Prepared]) -> None:
    """Fill in the vectors of items with a ``$vectorize`` text, in one batch."""
    pending = [p for p in items if p.text is not None]
    if not pending:
        return
    texts = [p.text for p in pending]
    check_lengths(coll, coll.model, texts,
                  [f"_id {json.dumps(p.doc['_id'])}" for p in pending])
    vectors = coll.embed(texts)  # type: ignore[arg-type]
    for item, vec in zip(pending, vectors):
        item.vector = np.asarray(vec, dtype=np.float32)
        item.text = None


def check_lengths(target: SchemaObjectState, model: ModelInfo, texts: list[str],
                  labels: list[str], *, kind: str = "passage") -> None:
    """Warn about (or, under the ``error`` policy, refuse) texts over the token limit of
    ``model`` (the model of a collection or of a table's vector column)."""
    prefix = model.query_prefix if kind == "query" else model.passage_prefix
    # An ASCII character gives at most one token (plus [CLS] and [SEP]), so short ASCII
    # texts can not be over the limit and need no tokenizing (a cache hit then costs next to
    # nothing). Other scripts can give several tokens a character (Hangul: three).
    sure = model.max_tokens - 2 if model.tokenizer == "bert-uncased" else 0
    suspects = [i for i, t in enumerate(texts)
                if len(prefix) + len(t) > sure or not t.isascii()]
    if not suspects:
        return
    counts, exact = count_tokens([prefix + texts[i] for i in suspects], model)
    over = [(labels[i], n) for i, n in zip(suspects, counts) if n > model.max_tokens]
    if not over:
        return
    warning = TokenLimitWarning(over, model=model.name, limit=model.max_tokens, exact=exact,
                                query=kind == "query", table=target.kind == "table")
    mode = target.request_long_text.mode
    # a table row has one primary key, so it can not be split into chunks
    if mode == "error" or (mode == "chunk" and target.kind == "table"):
        fix = ("Shorten them, or insert with long_text='chunk' to split them into several "
               "documents, or 'truncate'." if target.kind == "collection" else
               "Shorten them (chunk_text splits a text into pieces that fit, to insert as "
               "rows of their own), or insert with long_text='truncate'.")
        raise DataAPIError(
            "VECTORIZE_TEXT_TOO_LONG",
            str(warning).split("; the model embeds")[0] + f". Nothing was sent or stored. {fix}",
        )
    warnings.warn(warning, stacklevel=2)


def _chunked(coll: CollectionState, items: list[_Prepared]) -> list[_Prepared]:
    """Under the ``chunk`` policy: each over-long text becomes documents of one chunk each,
    ``{"_id": "<parent>#<k>", "parent_id", "chunk_index", "chunk_count", ...fields}``."""
    policy = coll.request_long_text
    if policy.mode != "chunk" or coll.settings.service is None:
        return items
    model = coll.model
    # room for the passage prefix (its count includes [CLS] and [SEP], which chunks reserve)
    reserved = count_tokens([model.passage_prefix], model)[0][0] - 2 if model.passage_prefix else 0
    out: list[_Prepared] = []
    for item in items:
        pieces = ([item.text] if item.text is None else
                  chunk_text(item.text, model, max_tokens=policy.max_tokens,
                             overlap=policy.overlap, reserved=reserved))
        if len(pieces) <= 1:
            out.append(item)
            continue
        parent = item.doc["_id"]
        fields = {k: v for k, v in item.doc.items() if k not in ("_id", "$vectorize")}
        for k, piece in enumerate(pieces):
            # the chunk's own keys win over fields of the same name (a chunk chunked again)
            doc = {**copy.deepcopy(fields), "_id": chunk_id(parent, k),
                   "parent_id": parent, "chunk_index": k, "chunk_count": len(pieces),
                   "$vectorize": piece}
            out.append(_Prepared(doc, None, piece))
    return out


# -- documents out ---------------------------------------------------------------------------

def _vector_list(coll: CollectionState, row: int) -> list[float] | None:
    vec = coll.store.vector(row)
    return None if vec is None else vec.tolist()


def _render(coll: CollectionState, row: int, proj: Projection,
            similarity: float | None = None) -> dict:
    return _render_rows(coll, [row], proj, None if similarity is None else [similarity])[0]


def _render_rows(coll: CollectionState, rows: list[int], proj: Projection,
                 similarities: list[float] | None = None) -> list[dict]:
    """The returned documents of store ``rows``, with their ``$similarity`` if given."""
    stored = coll.store.docs()
    if proj.wants_vector:
        out = [proj.apply(stored[r], _vector_list(coll, r)) for r in rows]
    else:
        out = proj.apply_many([stored[r] for r in rows])
    if similarities is not None:
        for doc, sim in zip(out, similarities):
            doc["$similarity"] = sim
    return out


def _render_doc(doc: dict, vector: np.ndarray | None, proj: Projection) -> dict:
    return proj.apply(doc, None if vector is None else vector.tolist())


# -- selection: filter + sort ----------------------------------------------------------------

class _Sort:
    """A parsed sort: nothing, a vector (``vector``), a ``$lexical`` text or fields."""

    def __init__(self, vector: np.ndarray | None = None,
                 fields: list[tuple[str, int]] | None = None, lexical: str | None = None
                 ) -> None:
        self.vector = vector
        self.fields = fields or []
        self.lexical = lexical

    @property
    def is_vector(self) -> bool:
        return self.vector is not None


def _parse_sort(coll: CollectionState, clause: Any) -> _Sort:
    if clause is None or clause == {}:
        return _Sort()
    if not isinstance(clause, dict):
        raise DataAPIError("SORT_CLAUSE_INVALID",
                           f"Sort clause must be a JSON object, not {clause!r}.")
    if "$vector" in clause or "$vectorize" in clause:
        if len(clause) > 1:
            raise DataAPIError(
                "SORT_CLAUSE_INVALID",
                "Sort clause invalid: vector search cannot be used with other sort "
                f"expressions ({sorted(clause)}). Sort by the vector alone.",
            )
        if "$vector" in clause:
            return _Sort(vector=_check_vector(coll, clause["$vector"]))
        text = clause["$vectorize"]
        if not isinstance(text, str) or not text.strip():
            extra = ", not Array" if isinstance(text, list) else ""
            raise DataAPIError(
                "SORT_CLAUSE_VALUE_INVALID",
                "Value used for sort expression on path '$vectorize' not valid: vectorize "
                f"sort expression needs to be non-blank String value{extra}.",
            )
        if coll.settings.service is None:
            raise _no_service(coll)
        check_lengths(coll, coll.model, [text], ["the search text"], kind="query")
        (vec,) = coll.embed([text], kind="query")
        return _Sort(vector=np.asarray(vec, dtype=np.float32))
    if "$lexical" in clause and not is_number(clause["$lexical"]):
        return _Sort(lexical=_lexical_sort(coll, clause))
    clause = _json_operand(clause, "SORT_CLAUSE_INVALID", "sort clause")
    fields = []
    for path, direction in clause.items():
        if path.startswith("$") or not path:
            raise DataAPIError(
                "SORT_CLAUSE_INVALID",
                f"Sort clause path ('{path}') is not valid: use a field name, '$vector' or "
                "'$vectorize'.",
            )
        if direction not in (1, -1) or isinstance(direction, bool):
            raise DataAPIError(
                "SORT_CLAUSE_VALUE_INVALID",
                f"Sort ordering value can only be `1` for ascending or `-1` for descending "
                f"(not {direction!r}, for '{path}').",
            )
        if not coll.settings.indexing.is_indexed(path):
            raise DataAPIError(
                "UNINDEXED_SORT_PATH",
                f"The sort path ('{path}') is not indexed, so it can not be used to sort. "
                "Sort on an indexed field.",
            )
        fields.append((path, int(direction)))
    return _Sort(fields=fields)


def _lexical_sort(coll: CollectionState, clause: dict) -> str:
    """The text of a ``{"$lexical": "text"}`` sort."""
    off = coll.lexical_off()
    if off is not None:
        raise off
    if len(clause) > 1:
        raise DataAPIError(
            "SORT_CLAUSE_INVALID",
            "Sort clause used by command not valid.\nProblem: if sorting by '$lexical' no "
            "other sort expressions allowed.\n\nResend the command with a valid sort clause.",
        )
    text = clause["$lexical"]
    if not isinstance(text, str):
        raise DataAPIError(
            "SORT_CLAUSE_INVALID",
            "Sort clause used by command not valid.\nProblem: if sorting by '$lexical' value "
            f"must be String, not {json_type_name(text)}.\n\nResend the command with a valid "
            "sort clause.",
        )
    return text


def _select(coll: CollectionState, flt: Filter, sort: _Sort, *, count: int
            ) -> tuple[np.ndarray, np.ndarray | None]:
    """The best ``count`` rows (row numbers) and, for a vector sort, their similarities
    (a ``$lexical`` sort gives its rows by BM25 score, without scores, as the Data API)."""
    store = coll.store
    # None: every document (the empty filter, or one that all match)
    mask = None if flt.everything else flt.mask(store) if len(store) else np.zeros(0, bool)
    if mask is not None and mask.all():
        mask = None
    if sort.lexical is not None:
        index = coll.lexical()
        rows, _ = index.search(sort.lexical, count, mask)
        return rows, None
    if sort.is_vector:
        assert store.vectors is not None and sort.vector is not None
        rows = None if mask is None else np.flatnonzero(mask)
        return store.vectors.top_k(sort.vector, count, coll.settings.metric or "cosine", rows)
    rows = np.arange(len(store)) if mask is None else np.flatnonzero(mask)
    if sort.fields:
        rows = _field_sorted(coll, rows, sort.fields)
    return rows[:count], None


def _field_sorted(coll: CollectionState, rows: np.ndarray,
                  fields: list[tuple[str, int]]) -> np.ndarray:
    docs = coll.store.docs()
    order = list(rows)
    for path, direction in reversed(fields):  # stable sorts, last key first
        segs = split_path(path)
        order.sort(key=lambda r: sort_key(get_exact(docs[r], segs)), reverse=direction == -1)
    return np.asarray(order, dtype=np.int64)


def _json_operand(value: Any, code: str, what: str) -> Any:
    """A filter, update or sort clause with notebook values (numpy scalars, datetimes)
    turned into JSON, as documents are on insert."""
    try:
        return json_clone(value)
    except TypeError as exc:
        raise DataAPIError(code, f"The {what} is not valid JSON: {exc}.") from None


def _filter(coll: CollectionState, body: dict) -> Filter:
    if body.get("filter") is None:
        return parse_filter(None)
    clause = _json_operand(body.get("filter"), "INVALID_FILTER_EXPRESSION", "filter")
    off = coll.lexical_off()
    return parse_filter(clause, indexing=coll.settings.indexing,
                        lexical=off or (lambda text: coll.lexical().matches(text)))


def _update(body: dict) -> Any:
    return parse_update(_json_operand(body.get("update"), "UNSUPPORTED_UPDATE_OPERATION_PARAM",
                                      "update clause"))


# -- inserts ---------------------------------------------------------------------------------

def _duplicate(doc_id: Any) -> DataAPIError:
    return DataAPIError(
        "DOCUMENT_ALREADY_EXISTS",
        f"Cannot insert the document: a document already exists with given '_id' "
        f"({_show_id(doc_id)}). \n\nEither resend the document with a different '_id', or use "
        "findOneAndReplace/updateOne to change the existing one.",
        document_ids=[doc_id],
    )


def chunk_id(parent: Any, index: int) -> str:
    """The ``_id`` of chunk ``index`` of a text stored as chunks: ``<parent>#<index>``."""
    return f"{_show_id(parent)}#{index}"


def _show_id(doc_id: Any) -> str:
    if isinstance(doc_id, dict):
        return str(next(iter(doc_id.values())))
    return str(doc_id)


def insert_one(coll: CollectionState, body: dict) -> Result:
    check_fields("insertOne", body, ("document",))
    if "document" not in body:
        raise DataAPIError("COMMAND_FIELD_VALUE_INVALID",
                           "Command field 'command.document' value null not valid: must not "
                           "be null.")
    items = _chunked(coll, [_prepare(coll, _expand_hybrid(body["document"], None), None)])
    for item in items:
        if coll.store.has(item.doc["_id"]):  # a per-document error: the envelope keeps status
            return Result(status={"insertedIds": []}, errors=[_duplicate(item.doc["_id"])])
    _embed(coll, items)
    coll.store.put([i.doc for i in items], [i.vector for i in items])
    return Result(status={"insertedIds": [i.doc["_id"] for i in items]})


def insert_many(coll: CollectionState, body: dict) -> Result:
    docs, ordered, responses = insert_many_request(body, "documents")
    items = [_prepare(coll, _expand_hybrid(d, i), i, deferred=True) for i, d in enumerate(docs)]
    _check_batch(coll, items)
    items = _chunked(coll, items)  # long texts split into documents, when asked
    seen: set[Any] = set()
    outcome: list[DataAPIError | None | str] = []  # error, None (ok) or "SKIPPED"
    failed = False
    for item in items:
        if failed and ordered:
            outcome.append("SKIPPED")
            continue
        key = canon(item.doc["_id"])
        if key in seen or coll.store.has(item.doc["_id"]):
            outcome.append(_duplicate(item.doc["_id"]))
            failed = True
        else:
            seen.add(key)
            outcome.append(None)
    good = [item for item, out in zip(items, outcome) if out is None]
    _embed(coll, good)  # a provider failure fails the whole command: nothing is written
    coll.store.put([g.doc for g in good], [g.vector for g in good])
    errors = [o for o in outcome if isinstance(o, DataAPIError)]
    if responses:
        rows, idx = [], 0
        for item, out in zip(items, outcome):
            entry: dict[str, Any] = {"_id": item.doc["_id"]}
            if out is None:
                entry["status"] = "OK"
            elif out == "SKIPPED":
                entry["status"] = "SKIPPED"
            else:
                entry["status"] = "ERROR"
                entry["errorsIdx"] = idx
                idx += 1
            rows.append(entry)
        return Result(status={"documentResponses": rows}, errors=errors)  # type: ignore[arg-type]
    return Result(status={"insertedIds": [g.doc["_id"] for g in good]},
                  errors=errors)  # type: ignore[arg-type]


# -- reads -----------------------------------------------------------------------------------

def find(coll: CollectionState, body: dict) -> Result:
    check_fields("find", body, ("filter", "projection", "sort", "options"))
    options = get_options("find", body, ("limit", "skip", "includeSimilarity",
                                         "includeSortVector", "pageState"))
    flt = _filter(coll, body)
    proj = parse_projection(body.get("projection"))
    sort = _parse_sort(coll, body.get("sort"))
    limit = get_int(options, "limit", minimum=1)
    skip = get_int(options, "skip", minimum=0)
    with_sim = get_bool(options, "includeSimilarity")
    with_sort_vector = get_bool(options, "includeSortVector")
    page = options.get("pageState")
    fields = ("seq", "n") if sort.is_vector else ("after", "n")
    state = decode_page(page, "find", fields) if page is not None else {}
    if sort.lexical is not None:
        if skip is not None:
            raise DataAPIError(
                "CANNOT_LEXICAL_SORT_WITH_SKIP_OPTION",
                "The command attempted to lexical sort along with skip option set.\n\nA "
                "lexical sort gives the best matches in one page: lower the limit instead of "
                "skipping.\n\nResend the command without the skip option.",
            )
        if page is not None:
            raise DataAPIError(
                "SORT_CLAUSE_INVALID",
                "Sort clause used by command not valid.\nProblem: 'pageState' is not "
                "supported with non-empty sort clause.\n\nResend the command with a valid "
                "sort clause.",
            )
        count = min(limit or limits.PAGE_SIZE, limits.MAX_LEXICAL_LIMIT)
        rows, _ = _select(coll, flt, sort, count=count)
        docs = _render_rows(coll, rows.tolist(), proj)
        return Result(status={"sortVector": None} if with_sort_vector else None,
                      data={"documents": docs, "nextPageState": None})
    if skip is not None and not sort.fields and not sort.is_vector:
        raise DataAPIError("COMMAND_FIELD_VALUE_INVALID",
                           "skip options should be used with sort clause: add a sort (e.g. "
                           "{\"_id\": 1}) to page with skip, or page with nextPageState.")
    if sort.is_vector:
        if skip is not None:
            raise DataAPIError("COMMAND_FIELD_VALUE_INVALID",
                               "skip options should not be used with vector search")
        if limit is not None and limit > limits.MAX_VECTOR_LIMIT:
            raise DataAPIError(
                "COMMAND_FIELD_VALUE_INVALID",
                f"limit options should not be greater than {limits.MAX_VECTOR_LIMIT} for "
                f"vector search (got {limit}).",
            )
    status: dict[str, Any] = {}
    if with_sort_vector:
        status["sortVector"] = sort.vector.tolist() if sort.is_vector else None  # type: ignore
    if sort.is_vector:
        total = min(limit or limits.MAX_VECTOR_LIMIT, limits.MAX_VECTOR_LIMIT)
        returned = int(state.get("n", 0))
        rows, scores = _select(coll, flt, sort, count=total)
        assert scores is not None
        seqs = coll.store.seqs()[rows]
        start = _resume(seqs, scores, state) if state else 0
        stop = min(start + limits.PAGE_SIZE, len(rows), start + total - returned)
        docs = _render_rows(coll, rows[start:stop].tolist(), proj,
                            scores[start:stop].tolist() if with_sim else None)
        more = stop < len(rows) and returned + stop - start < total and not with_sort_vector
        next_page = encode_page({"k": "find", "seq": int(seqs[stop - 1]),
                                 "score": float(scores[stop - 1]),
                                 "n": returned + stop - start}) if more else None
    elif sort.fields:
        rows, _ = _select(coll, flt, sort, count=len(coll.store))
        start = skip or 0
        count = min(limit or limits.PAGE_SIZE, limits.PAGE_SIZE)
        docs = _render_rows(coll, rows[start : start + count].tolist(), proj)
        next_page = None
    else:
        rows, _ = _select(coll, flt, sort, count=len(coll.store))
        seqs = coll.store.seqs()[rows]
        start = int(np.searchsorted(seqs, state["after"], side="right")) if state else 0
        returned = int(state.get("n", 0))
        room = limits.PAGE_SIZE if limit is None else min(limits.PAGE_SIZE, limit - returned)
        stop = min(start + max(room, 0), len(rows))
        docs = _render_rows(coll, rows[start:stop].tolist(), proj)
        more = stop < len(rows) and (limit is None or returned + (stop - start) < limit) and (
            not with_sort_vector)  # the Data API gives no page state with includeSortVector
        next_page = (encode_page({"k": "find", "after": int(seqs[stop - 1]),
                                  "n": returned + stop - start}) if more else None)
    return Result(status=status or None, data={"documents": docs, "nextPageState": next_page})


def _resume(seqs: np.ndarray, scores: np.ndarray, state: dict) -> int:
    """Where the next page of a vector search starts: right after the last document of the
    previous page, so deletes and updates in between skip or repeat nothing."""
    last_seq = state["seq"]
    hit = np.flatnonzero(seqs == last_seq)
    if hit.size:
        return int(hit[0]) + 1
    # that document is gone: resume after its (score, sequence) place in the order
    last_score = state.get("score")
    if not isinstance(last_score, float):
        raise DataAPIError("COMMAND_FIELD_VALUE_INVALID",
                           "Command field 'command.options.pageState' not valid: resend the "
                           "'nextPageState' value unchanged.")
    after = (scores < last_score) | ((scores == last_score) & (seqs > last_seq))
    return int(np.argmax(after)) if after.any() else len(seqs)


def find_one(coll: CollectionState, body: dict) -> Result:
    check_fields("findOne", body, ("filter", "projection", "sort", "options"))
    options = get_options("findOne", body, ("includeSimilarity", "includeSortVector"))
    flt = _filter(coll, body)
    proj = parse_projection(body.get("projection"))
    sort = _parse_sort(coll, body.get("sort"))
    with_sim = get_bool(options, "includeSimilarity")
    rows, scores = _select(coll, flt, sort, count=1)
    doc = None
    if len(rows):
        sim = float(scores[0]) if (with_sim and scores is not None) else None
        doc = _render(coll, int(rows[0]), proj, sim)
    status = None
    if get_bool(options, "includeSortVector"):
        status = {"sortVector": sort.vector.tolist() if sort.is_vector else None}  # type: ignore
    return Result(status=status, data={"document": doc})


def count_documents(coll: CollectionState, body: dict) -> Result:
    check_fields("countDocuments", body, ("filter",))
    flt = _filter(coll, body)
    return count_result(int(flt.mask(coll.store).sum()) if len(coll.store) else 0)


def estimated_document_count(coll: CollectionState, body: dict) -> Result:
    check_fields("estimatedDocumentCount", body, ())
    return Result(status={"count": len(coll.store)})


# -- updates ---------------------------------------------------------------------------------

def _changed_vector(coll: CollectionState, change: VectorChange, old_doc: dict,
                    old: np.ndarray | None) -> tuple[np.ndarray | None, str | None]:
    """The new vector (or the text still to embed) after a vector change."""
    if change.action == "keep":
        return old, None
    if change.action == "clear":
        return None, None
    if change.action == "set":
        return _check_vector(coll, change.value), None
    if coll.settings.service is None:
        _vectorize_text(coll, change.value, None)  # raises EMBEDDING_SERVICE_NOT_CONFIGURED
    if old is not None and old_doc.get("$vectorize") == change.value:
        return old, None  # same text: no need to embed again
    return None, change.value


def _same(a_doc: dict, a_vec: np.ndarray | None, b_doc: dict, b_vec: np.ndarray | None) -> bool:
    if canon(a_doc) != canon(b_doc):
        return False
    if a_vec is None or b_vec is None:
        return a_vec is None and b_vec is None
    return bool(np.array_equal(a_vec, b_vec))


def _upsert_seed(coll: CollectionState, flt: Filter) -> dict:
    doc: dict = {}
    for path, value in flt.equalities().items():
        if path not in ("$vector", "$vectorize"):
            try:
                set_path(doc, split_path(path), json_clone(value))
            except PathConflict:
                raise DataAPIError(
                    "INVALID_FILTER_EXPRESSION",
                    f"An upsert can not build its new document from this filter: the path "
                    f"'{path}' overlaps another equality in it. Use non-overlapping paths.",
                ) from None
    return doc


def _finish_new(coll: CollectionState, doc: dict) -> dict:
    if "_id" not in doc:
        doc = {"_id": new_doc_id(coll.settings.default_id), **doc}
    check_doc_id(doc["_id"])
    return _checked(coll, doc)


def _apply_update(coll: CollectionState, rows: np.ndarray, update: Any, *,
                  upsert_filter: Filter | None) -> tuple[list[_Prepared], list[dict], Any]:
    """Updated copies of ``rows`` (or of a new upserted doc); the old docs; the upserted id."""
    store = coll.store
    docs = store.docs()
    out, before = [], []
    for r in rows:
        old = docs[r]
        new, change = update.apply(old, inserting=False)
        vec, text = _changed_vector(coll, change, old, store.vector(int(r)))
        new = _checked(coll, new)
        out.append(_Prepared(new, vec, text))
        before.append(old)
    upserted = None
    if upsert_filter is not None and not len(rows):
        new, change = update.apply(_upsert_seed(coll, upsert_filter), inserting=True)
        new = _finish_new(coll, new)
        vec, text = _changed_vector(coll, change, {}, None)
        if coll.store.has(new["_id"]):
            raise _duplicate(new["_id"])
        out.append(_Prepared(new, vec, text))
        upserted = new["_id"]
    _embed(coll, out)
    return out, before, upserted


def _write_changed(coll: CollectionState, items: list[_Prepared], before: list[dict],
                   rows: np.ndarray) -> int:
    store = coll.store
    changed = []
    for i, item in enumerate(items):
        if i < len(before):
            if _same(before[i], store.vector(int(rows[i])), item.doc, item.vector):
                continue
        changed.append(item)
    store.put([c.doc for c in changed], [c.vector for c in changed])
    return sum(1 for c in changed if c not in items[len(before):])


def update_one(coll: CollectionState, body: dict) -> Result:
    check_fields("updateOne", body, ("filter", "update", "sort", "options"))
    options = get_options("updateOne", body, ("upsert",))
    flt, sort = _filter(coll, body), _parse_sort(coll, body.get("sort"))
    update = _update(body)
    upsert = get_bool(options, "upsert")
    rows, _ = _select(coll, flt, sort, count=1)
    items, before, upserted = _apply_update(coll, rows, update,
                                            upsert_filter=flt if upsert else None)
    modified = _write_changed(coll, items, before, rows)
    status: dict[str, Any] = {"matchedCount": len(rows), "modifiedCount": modified}
    if upserted is not None:
        status["upsertedId"] = upserted
    return Result(status=status)


def update_many(coll: CollectionState, body: dict) -> Result:
    check_fields("updateMany", body, ("filter", "update", "options"))
    options = get_options("updateMany", body, ("upsert", "pageState"))
    flt = _filter(coll, body)
    update = _update(body)
    upsert = get_bool(options, "upsert")
    page = options.get("pageState")
    state = decode_page(page, "updateMany", ("after",)) if page is not None else {}
    rows, _ = _select(coll, flt, _Sort(), count=len(coll.store))
    seqs = coll.store.seqs()[rows]
    if state:
        rows = rows[np.searchsorted(seqs, state["after"], side="right"):]
        seqs = coll.store.seqs()[rows]
    batch = rows[: limits.MAX_UPDATE_DELETE_BATCH]
    items, before, upserted = _apply_update(
        coll, batch, update, upsert_filter=flt if upsert and not state else None)
    modified = _write_changed(coll, items, before, batch)
    status: dict[str, Any] = {"matchedCount": len(batch), "modifiedCount": modified}
    if upserted is not None:
        status["upsertedId"] = upserted
    if len(rows) > len(batch):
        status["moreData"] = True
        status["nextPageState"] = encode_page({"k": "updateMany",
                                               "after": int(seqs[len(batch) - 1])})
    return Result(status=status)


def _return_before(options: dict) -> bool:
    value = options.get("returnDocument", "before")
    if value not in ("before", "after"):
        raise DataAPIError(
            "COMMAND_FIELD_VALUE_INVALID",
            f"Command field 'command.options.returnDocument' value \"{value}\" not valid: "
            "value must be 'before' or 'after'.",
        )
    return value == "before"


def find_one_and_update(coll: CollectionState, body: dict) -> Result:
    check_fields("findOneAndUpdate", body, ("filter", "update", "sort", "projection", "options"))
    options = get_options("findOneAndUpdate", body, ("upsert", "returnDocument"))
    flt, sort = _filter(coll, body), _parse_sort(coll, body.get("sort"))
    proj = parse_projection(body.get("projection"))
    update = _update(body)
    before_mode = _return_before(options)
    upsert = get_bool(options, "upsert")
    rows, _ = _select(coll, flt, sort, count=1)
    old_vec = coll.store.vector(int(rows[0])) if len(rows) else None
    items, before, upserted = _apply_update(coll, rows, update,
                                            upsert_filter=flt if upsert else None)
    modified = _write_changed(coll, items, before, rows)
    return _one_and_result(proj, before_mode, rows, items, before, old_vec, modified, upserted)


def _one_and_result(proj: Projection, before_mode: bool, rows: np.ndarray,
                    items: list[_Prepared], before: list[dict], old_vec: np.ndarray | None,
                    modified: int, upserted: Any) -> Result:
    doc = None
    if before_mode and len(rows):
        doc = _render_doc(before[0], old_vec, proj)
    elif not before_mode and items:
        doc = _render_doc(items[0].doc, items[0].vector, proj)
    status: dict[str, Any] = {"matchedCount": len(rows), "modifiedCount": modified}
    if upserted is not None:
        status["upsertedId"] = upserted
    return Result(status=status, data={"document": doc})


def find_one_and_replace(coll: CollectionState, body: dict) -> Result:
    check_fields("findOneAndReplace", body,
                 ("filter", "replacement", "sort", "projection", "options"))
    options = get_options("findOneAndReplace", body, ("upsert", "returnDocument"))
    flt, sort = _filter(coll, body), _parse_sort(coll, body.get("sort"))
    proj = parse_projection(body.get("projection"))
    before_mode = _return_before(options)
    upsert = get_bool(options, "upsert")
    replacement = _prepare(coll, body.get("replacement"), None, new_id=False)
    rows, _ = _select(coll, flt, sort, count=1)
    store = coll.store
    before: list[dict] = []
    old_vec = None
    upserted = None
    if len(rows):
        old = store.docs()[rows[0]]
        old_vec = store.vector(int(rows[0]))
        if "_id" in replacement.doc and canon(replacement.doc["_id"]) != canon(old["_id"]):
            raise DataAPIError(
                "DOCUMENT_REPLACE_DIFFERENT_DOCID",
                f"The replace document and document resolved by the filter have different "
                f"'_id's: {_show_id(replacement.doc['_id'])} vs {_show_id(old['_id'])}. Leave "
                "'_id' out of the replacement, or use the same one.",
            )
        replacement.doc = {"_id": old["_id"],
                           **{k: v for k, v in replacement.doc.items() if k != "_id"}}
        before = [old]
        items = [replacement]
    elif upsert:
        seed = {"_id": flt.equalities()["_id"]} if "_id" in flt.equalities() else {}
        replacement.doc = _finish_new(coll, {**seed, **replacement.doc})
        if store.has(replacement.doc["_id"]):
            raise _duplicate(replacement.doc["_id"])
        upserted = replacement.doc["_id"]
        items = [replacement]
    else:
        items = []
    _embed(coll, items)
    modified = _write_changed(coll, items, before, rows)
    return _one_and_result(proj, before_mode, rows, items, before, old_vec, modified, upserted)


# -- deletes ---------------------------------------------------------------------------------

def delete_one(coll: CollectionState, body: dict) -> Result:
    check_fields("deleteOne", body, ("filter", "sort"))
    flt, sort = _filter(coll, body), _parse_sort(coll, body.get("sort"))
    rows, _ = _select(coll, flt, sort, count=1)
    if len(rows):
        coll.store.delete([coll.store.docs()[rows[0]]["_id"]])
    return Result(status={"deletedCount": len(rows)})


def delete_many(coll: CollectionState, body: dict) -> Result:
    check_fields("deleteMany", body, ("filter",))
    if not body.get("filter"):
        parse_filter(body.get("filter"))
        coll.store.clear()
        return Result(status={"deletedCount": -1})
    flt = _filter(coll, body)
    rows, _ = _select(coll, flt, _Sort(), count=len(coll.store))
    batch = rows[: limits.MAX_UPDATE_DELETE_BATCH]
    docs = coll.store.docs()
    coll.store.delete([docs[r]["_id"] for r in batch])
    status: dict[str, Any] = {"deletedCount": len(batch)}
    if len(rows) > len(batch):
        status["moreData"] = True
    return Result(status=status)


def find_one_and_delete(coll: CollectionState, body: dict) -> Result:
    check_fields("findOneAndDelete", body, ("filter", "sort", "projection"))
    flt, sort = _filter(coll, body), _parse_sort(coll, body.get("sort"))
    proj = parse_projection(body.get("projection"))
    rows, _ = _select(coll, flt, sort, count=1)
    if not len(rows):
        return Result(status={"deletedCount": 0}, data={"document": None})
    doc = _render(coll, int(rows[0]), proj)
    coll.store.delete([coll.store.docs()[rows[0]]["_id"]])
    return Result(status={"deletedCount": 1}, data={"document": doc})


def update_all(coll: CollectionState, filter: Any, update: Any, *,
               upsert: bool) -> tuple[int, int, Any]:
    """updateMany over every match in one write (the Python API's bulk path; the Data API
    command pages by 20): (matched, modified, upserted id)."""
    flt = _filter(coll, {"filter": filter})
    parsed = _update({"update": update})
    rows, _ = _select(coll, flt, _Sort(), count=len(coll.store))
    items, before, upserted = _apply_update(coll, rows, parsed,
                                            upsert_filter=flt if upsert else None)
    return len(rows), _write_changed(coll, items, before, rows), upserted


def delete_all(coll: CollectionState, filter: Any) -> int:
    """deleteMany over every match in one write; ``{}`` empties the collection (-1)."""
    if not filter:
        coll.store.clear()
        return -1
    rows, _ = _select(coll, _filter(coll, {"filter": filter}), _Sort(), count=len(coll.store))
    docs = coll.store.docs()
    coll.store.delete([docs[r]["_id"] for r in rows])
    return len(rows)


def prefetch_embeddings(coll: CollectionState, texts: list[Any], *,
                        api_key: str | None = None) -> None:
    """Embed texts ahead of the inserts that will use them, all at once (the provider sends
    its requests in parallel) and into the cache, where those inserts then find them.
    Without the collection's lock: ``api_key`` is the inserts' x-embedding-api-key."""
    if coll.settings.service is None:
        return
    todo = [t for t in dict.fromkeys(texts) if isinstance(t, str) and t.strip()]
    if todo:  # (no length check here: the inserts that use them warn once)
        coll.embed(todo, api_key=api_key)


def export_rows(coll: CollectionState, filter: Any, projection: Any, *,
                include_vector: bool) -> tuple[list[dict], list | None]:
    """Matching documents, projected, and their vectors (float32 arrays) if asked."""
    flt = _filter(coll, {"filter": filter})
    proj = parse_projection(projection)
    store = coll.store
    rows = np.flatnonzero(flt.mask(store)) if len(store) else np.zeros(0, dtype=np.int64)
    docs = store.docs()
    records = [proj.apply(docs[r], None) for r in rows]
    vectors = [store.vector(int(r)) for r in rows] if include_vector else None
    return records, vectors


DOCUMENT_COMMANDS = {
    "insertOne": insert_one,
    "insertMany": insert_many,
    "find": find,
    "findOne": find_one,
    "countDocuments": count_documents,
    "estimatedDocumentCount": estimated_document_count,
    "updateOne": update_one,
    "updateMany": update_many,
    "findOneAndUpdate": find_one_and_update,
    "findOneAndReplace": find_one_and_replace,
    "deleteOne": delete_one,
    "deleteMany": delete_many,
    "findOneAndDelete": find_one_and_delete,
}
