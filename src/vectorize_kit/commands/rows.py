"""Table commands on rows (``reference/data-api.md`` §3.2): insertOne, insertMany, find,
findOne, updateOne, deleteOne, deleteMany, countDocuments, estimatedDocumentCount.

Values are checked against the column types; a string for a vector column whose column has a
vectorize service is embedded here (the store takes vectors, never text).  An insert is
Cassandra's upsert: the given columns of an existing row are overwritten, the others kept.
Every command writes with one store call, so it is atomic on disk.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import limits
from ..errors import DataAPIError
from ..store.columns import ColumnType, ColumnValueError, unknown_columns
from ..store.rowfilters import RowFilter, parse_row_filter
from ..values import decode_vector
from .core import (
    Result,
    check_fields,
    count_result,
    decode_page,
    encode_page,
    field_invalid,
    get_bool,
    get_int,
    get_options,
    insert_many_request,
)
from .documents import check_lengths
from .state import TableState, model_of
from .tables import listed_columns, vector_index

__all__ = ["TABLE_ROW_COMMANDS", "export_table"]


def _names(items: Iterable[str]) -> str:
    items = list(items)
    return ", ".join(items) if items else "(none)"


def _vector_columns(table: TableState) -> list[str]:
    return [n for n, c in table.store.columns.items() if c.is_vector]


def _vectorize_columns(table: TableState) -> list[str]:
    return [n for n, c in table.store.columns.items() if c.is_vector and c.service]


def _key_schema(table: TableState) -> dict:
    return {c: table.store.columns[c].schema() for c in table.store.key}


def _key_json(table: TableState, cells: dict) -> list:
    return [table.store.columns[c].to_json(cells.get(c)) for c in table.store.key]


# -- rows in ---------------------------------------------------------------------------------

@dataclass
class _Row:
    """A row as given: cells of its non-vector columns, vectors, and texts to vectorize."""

    cells: dict
    vectors: dict = field(default_factory=dict)
    texts: dict = field(default_factory=dict)


def _missing_vectorize(table: TableState, columns: list[str], scope: str) -> DataAPIError:
    return DataAPIError(
        "UNSUPPORTED_VECTORIZE_WHEN_MISSING_VECTORIZE_DEFINITION",
        f"Vectorize can only be performed on columns that have a vectorize configuration; "
        f"add one when the table is created or later with alterTable (addVectorize). The "
        f"table {table.qualified_name} defines the vector columns with vectorize "
        f"configuration: {_names(_vectorize_columns(table))}. The command sent text for the "
        f"vector columns without vectorize configuration: {_names(columns)}. Resend the "
        "command with vectors for those columns.",
        scope=scope,
    )


def _vector_value(table: TableState, name: str, ctype: ColumnType, value: Any, row: _Row,
                  bad: list[str], scope: str) -> None:
    """A vector column's value: a vector, a text to vectorize, or null."""
    if isinstance(value, str):
        if not ctype.service:
            raise _missing_vectorize(table, [name], scope)
        if value.strip():
            row.texts[name] = value
        else:
            row.vectors[name] = None
        return
    if value is None:
        row.vectors[name] = None
        return
    try:
        vec = decode_vector(value, what=name)
    except DataAPIError as exc:
        bad.append(f"{name} ({exc.message})")
        return
    if vec.shape[0] != ctype.dimension:
        bad.append(f"{name} (expected a vector of {ctype.dimension} numbers, got "
                   f"{vec.shape[0]})")
        return
    row.vectors[name] = vec


def _prepare_row(table: TableState, raw: Any) -> _Row:
    columns = table.store.columns
    if not isinstance(raw, dict):
        raise DataAPIError("SHRED_BAD_DOCUMENT_TYPE",
                           f"A row must be a JSON object of column name -> value, not "
                           f"{type(raw).__name__}: {raw!r}.")
    unknown = [c for c in raw if c not in columns]
    if unknown:
        raise unknown_columns(table.qualified_name, columns, unknown, what="written",
                              scope="DOCUMENT")
    missing = [c for c in table.store.key if raw.get(c) is None]
    if missing:
        raise DataAPIError(
            "MISSING_PRIMARY_KEY_COLUMNS",
            f"All primary key columns must be provided when inserting a row into a table. The "
            f"table {table.qualified_name} defines the primary key columns: "
            f"{_names(table.store.key)}. The command included values for primary key columns: "
            f"{_names(c for c in table.store.key if c not in missing)}. The command did not "
            f"include values for primary key columns: {_names(missing)}. Resend the command "
            "including the missing primary key columns.")
    row, bad = _Row({}), []
    for name, value in raw.items():
        ctype = columns[name]
        if ctype.is_vector:
            _vector_value(table, name, ctype, value, row, bad, "DOCUMENT")
            continue
        try:
            row.cells[name] = ctype.parse(value)
        except ColumnValueError as exc:
            bad.append(f"{name} ({exc})")
    if bad:
        raise _invalid_values(table, bad, "INVALID_COLUMN_VALUES")
    return row


def _invalid_values(table: TableState, bad: list[str], code: str) -> DataAPIError:
    return DataAPIError(
        code,
        f"Only values that are supported by the column data type can be written to a "
        f"table. The table {table.qualified_name} defines the columns: "
        f"{_describe(table)}. The command included the following columns that had invalid "
        f"values: {'; '.join(bad)}. Resend the command using only supported column values.")


def _describe(table: TableState) -> str:
    return ", ".join(f"{n}({_type_name(c)})" for n, c in table.store.columns.items())


def _type_name(ctype: ColumnType) -> str:
    value = ctype.udt.name if ctype.udt is not None else ctype.value_type
    if ctype.type == "map":
        return f"map<{ctype.key_type},{value}>"
    if ctype.type in ("list", "set"):
        return f"{ctype.type}<{value}>"
    if ctype.is_vector:
        return f"vector<float,{ctype.dimension}>"
    return value if ctype.type == "userDefined" else ctype.type


def _embed_rows(table: TableState, rows: list[_Row], labels: list[str]) -> None:
    """Vectorize the texts of the rows, in one batch per column; a request may use one
    embedding configuration (provider, model, dimension) only, as in the Data API."""
    wanted: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        for name in row.texts:
            wanted.setdefault(name, []).append(i)
    if not wanted:
        return
    columns = table.store.columns
    identities = {}
    for name in wanted:
        service = columns[name].service
        assert service is not None
        identities[name] = (service["provider"], service["modelName"], columns[name].dimension)
    if len(set(identities.values())) > 1:
        shown = sorted({f"{p}/{m}/{d}" for p, m, d in identities.values()})
        raise DataAPIError(
            "UNSUPPORTED_VECTORIZE_CONFIGURATIONS",
            f"A request can include only one unique combination of provider, model, and "
            f"dimension for vectorization. The following combinations were included in your "
            f"request (columns {_names(wanted)}): {', '.join(shown)}. Resend the command "
            "vectorizing the columns of one combination at a time.")
    for name, positions in wanted.items():
        service = columns[name].service
        assert service is not None
        texts = [rows[i].texts[name] for i in positions]
        check_lengths(table, model_of(service), texts,
                      [f"{labels[i]} column {name}" for i in positions])
        vectors = table.vectorize(service, texts)
        for i, vec in zip(positions, vectors):
            rows[i].vectors[name] = np.asarray(vec, dtype=np.float32)
            del rows[i].texts[name]


def _merged(table: TableState, rows: list[_Row]) -> tuple[list[dict], dict[str, list]]:
    """The final state of each row written: Cassandra's upsert (given columns overwrite, the
    others keep their values), in order, later rows of the same key on top of earlier ones."""
    store = table.store
    state: dict[tuple, tuple[dict, dict]] = {}
    for row in rows:
        key = store.key_of(row.cells)
        if key not in state:
            pos = store.position(key)
            if pos is None:
                state[key] = ({}, {})
            else:
                state[key] = (store.cells([pos])[0],
                              {n: store.vector(n, pos) for n in store.vectors})
        cells, vectors = state[key]
        cells.update(row.cells)
        vectors.update(row.vectors)
    finals = list(state.values())
    return ([c for c, _ in finals],
            {n: [v.get(n) for _, v in finals] for n in store.vectors})


def _write(table: TableState, rows: list[_Row]) -> None:
    cells, vectors = _merged(table, rows)
    table.store.put(cells, vectors)


def insert_one(table: TableState, body: dict) -> Result:
    check_fields("insertOne", body, ("document",))
    if body.get("document") is None:
        raise field_invalid("command.document", None, "must not be null")
    row = _prepare_row(table, body["document"])
    _embed_rows(table, [row], ["the row"])
    _write(table, [row])
    return Result(status={"primaryKeySchema": _key_schema(table),
                          "insertedIds": [_key_json(table, row.cells)]})


def insert_many(table: TableState, body: dict) -> Result:
    docs, ordered, responses = insert_many_request(body, "rows")
    outcome: list[DataAPIError | _Row | None] = []  # error, row, or None (skipped)
    for raw in docs:
        if ordered and any(isinstance(o, DataAPIError) for o in outcome):
            outcome.append(None)
            continue
        try:
            outcome.append(_prepare_row(table, raw))
        except DataAPIError as exc:
            outcome.append(exc)
    good = [o for o in outcome if isinstance(o, _Row)]
    _embed_rows(table, good, [f"row {i}" for i, o in enumerate(outcome) if isinstance(o, _Row)])
    _write(table, good)
    # identical errors are reported once (as the Data API does for tables)
    errors: list[DataAPIError] = []
    seen: dict[tuple[str, str], int] = {}
    listed = []
    for raw, item in zip(docs, outcome):
        pk = (_key_json(table, item.cells) if isinstance(item, _Row)
              else _raw_key(table, raw))
        if isinstance(item, DataAPIError):
            idx = seen.setdefault((item.error_code, item.message), len(seen))
            if idx == len(errors):
                errors.append(DataAPIError(item.error_code, item.message, document_ids=[],
                                           scope=item.scope))
            errors[idx].document_ids.append(pk)  # type: ignore[union-attr]
            listed.append({"_id": pk, "status": "ERROR", "errorsIdx": idx})
        else:
            listed.append({"_id": pk, "status": "OK" if item else "SKIPPED"})
    status: dict[str, Any] = {"primaryKeySchema": _key_schema(table)}
    if responses:
        status["documentResponses"] = listed
    else:
        status["insertedIds"] = [r["_id"] for r in listed if r["status"] == "OK"]
    return Result(status=status, errors=errors)


def _raw_key(table: TableState, raw: Any) -> list:
    """The primary key of a row that failed its checks, as sent (for the error report)."""
    if not isinstance(raw, dict):
        return []
    out = []
    for name in table.store.key:
        try:
            out.append(table.store.columns[name].to_json(
                table.store.columns[name].parse(raw.get(name))))
        except (ColumnValueError, TypeError, ValueError):
            out.append(raw.get(name) if isinstance(raw.get(name), (str, int, float)) else None)
    return out


# -- selection -------------------------------------------------------------------------------

def _filter(table: TableState, body: dict) -> RowFilter:
    matchers = {c: (lambda col, text: table.lexical(col).matches(text))
                for c in table.text_indexes()}
    return parse_row_filter(body.get("filter"), table.store.columns,
                            table=table.qualified_name, text_indexed=matchers)


@dataclass
class _Sort:
    """A parsed table sort: by one vector column (``column``, ``vector``, ``metric``), by
    BM25 on one text-indexed column (``column``, ``lexical``), by regular columns
    (``fields``), or nothing."""

    column: str | None = None
    vector: np.ndarray | None = None
    metric: str = "cosine"
    fields: list[tuple[str, int]] = field(default_factory=list)
    lexical: str | None = None  # a lexical sort of the text-indexed ``column``


def _sort_error(code: str, table: TableState, detail: str) -> DataAPIError:
    return DataAPIError(
        code,
        f"{detail} A vector sort names one vector column and gives a vector (an array of "
        f"numbers or {{\"$binary\": ...}}) or, if the column has a vectorize service, a text. "
        f"The table {table.qualified_name} defines the vector columns: "
        f"{_names(_vector_columns(table))}.")


def _is_vector_value(value: Any) -> bool:
    return isinstance(value, (list, tuple, np.ndarray, str)) or (
        isinstance(value, dict) and "$binary" in value)


def _parse_sort(table: TableState, clause: Any, *, skip: int | None, limit: int | None
                ) -> _Sort:
    if clause is None or clause == {}:
        return _Sort()
    if not isinstance(clause, dict):
        raise DataAPIError("SORT_CLAUSE_INVALID",
                           f"Sort clause must be a JSON object, not {clause!r}.")
    columns = table.store.columns
    unknown = [c for c in clause if c not in columns]
    if unknown:
        raise DataAPIError(
            "CANNOT_SORT_UNKNOWN_COLUMNS",
            f"The command attempted to sort using columns that are not in the table schema. "
            f"The table {table.qualified_name} defines the columns: "
            f"{listed_columns(table.schema)}. The command attempted to sort the unknown "
            f"columns: {_names(unknown)}. Resend the command using only defined columns.")
    lexical = [c for c, v in clause.items()
               if isinstance(v, str) and columns[c].type in ("text", "ascii")]
    vector_sorts = {c: v for c, v in clause.items() if _is_vector_value(v) and c not in lexical}
    regular = [c for c in clause if c not in vector_sorts and c not in lexical]
    if lexical:
        return _lexical_sort(table, clause, lexical, list(vector_sorts), regular, skip)
    if not vector_sorts:
        fields = []
        for name in regular:
            direction = clause[name]
            if direction not in (1, -1) or isinstance(direction, bool):
                raise DataAPIError(
                    "SORT_CLAUSE_VALUE_INVALID",
                    f"Sort ordering value can only be `1` for ascending or `-1` for "
                    f"descending (not {direction!r}, for '{name}').")
            if columns[name].is_vector:
                raise _sort_error("SORT_CLAUSE_VALUE_INVALID", table,
                                  f"Vector column '{name}' can not be sorted by 1 or -1.")
            if columns[name].type in ("list", "set", "map", "userDefined", "duration"):
                raise DataAPIError(
                    "SORT_CLAUSE_VALUE_INVALID",
                    f"Column '{name}' of type {_type_name(columns[name])} can not be sorted "
                    f"on: sort on columns of primitive types such as text, int or "
                    "timestamp.")
            fields.append((name, int(direction)))
        return _Sort(fields=fields)
    texts = [c for c, v in vector_sorts.items() if isinstance(v, str)]
    if len(vector_sorts) > 1:
        code = ("CANNOT_SORT_ON_MULTIPLE_VECTORIZE" if len(texts) == len(vector_sorts)
                else "CANNOT_SORT_ON_MULTIPLE_VECTORS")
        raise _sort_error(code, table, f"Only one vector sort is allowed; the command sorted "
                                       f"on the columns: {_names(vector_sorts)}.")
    if regular:
        raise _sort_error("CANNOT_SORT_VECTOR_AND_NON_VECTOR_COLUMNS", table,
                          f"A vector sort can not be used with other sort columns; the "
                          f"command also sorted on: {_names(regular)}.")
    ((name, value),) = vector_sorts.items()
    ctype = columns[name]
    if not ctype.is_vector:
        code = ("CANNOT_VECTORIZE_SORT_NON_VECTOR_COLUMN" if isinstance(value, str)
                else "CANNOT_VECTOR_SORT_NON_VECTOR_COLUMNS")
        raise _sort_error(code, table, f"Column '{name}' is not a vector column "
                                       f"({_type_name(ctype)}).")
    if isinstance(value, str) and not ctype.service:
        raise DataAPIError(
            "CANNOT_VECTORIZE_SORT_WHEN_MISSING_VECTORIZE_DEFINITION",
            f"Vectorize sort can only be used with columns that have a vectorize "
            f"configuration (add one with alterTable addVectorize). The table "
            f"{table.qualified_name} defines the vector columns with vectorize definition: "
            f"{_names(_vectorize_columns(table))}. The command sorted with text on: {name}. "
            "Resend the command with a vector, or on a column with a vectorize definition.")
    index = vector_index(table, name)
    if index is None:
        raise _sort_error(
            "CANNOT_VECTOR_SORT_NON_INDEXED_VECTOR_COLUMNS", table,
            f"Vector sorting is only supported on vector columns that have been indexed; "
            f"column '{name}' has no vector index. Create one first (createVectorIndex).")
    if skip is not None:
        raise _sort_error("CANNOT_VECTOR_SORT_WITH_SKIP_OPTION", table,
                          "The skip option can not be used with a vector sort: page with "
                          "nextPageState, or lower the limit.")
    if limit is not None and limit > limits.MAX_VECTOR_LIMIT:
        raise DataAPIError(
            "CANNOT_VECTOR_SORT_WITH_LIMIT_EXCEEDS_MAX",
            f"Vector sorting is limited to a maximum of {limits.MAX_VECTOR_LIMIT} rows. The "
            f"command attempted to sort the vector column: {name} with a limit of {limit}. "
            f"Resend the command using a limit of {limits.MAX_VECTOR_LIMIT} or less.")
    if isinstance(value, str):
        service = ctype.service
        assert service is not None
        check_lengths(table, model_of(service), [value], ["the search text"], kind="query")
        vector = table.vectorize(service, [value], kind="query")[0]
    else:
        vector = decode_vector(value, what=name)
        if vector.shape[0] != ctype.dimension:
            raise _sort_error(
                "CANNOT_VECTOR_SORT_ON_MISMATCHED_VECTOR_DIMENSIONS", table,
                f"Target vector column is `{name}`, which has a dimension of "
                f"`{ctype.dimension}`. The command provided a vector with a dimension of "
                f"`{vector.shape[0]}`.")
    return _Sort(column=name, vector=np.asarray(vector, np.float32),
                 metric=index["definition"]["options"]["metric"])


def _lexical_sort(table: TableState, clause: dict, lexical: list[str], vector: list[str],
                  regular: list[str], skip: int | None) -> _Sort:
    """``{"column": "text"}`` on a text column: by BM25, on its own."""
    if len(clause) > 1:
        raise DataAPIError(
            "CANNOT_SORT_ON_SPECIAL_WITH_OTHERS",
            "The command used a sort clause with a special (lexical/vector/vectorize) sort "
            "combined with one or more other sort expressions:\nSpecial sorts can only be used "
            "on their own, and cannot be combined with other sort expressions.\n\nThe command "
            f"attempted to use lexical sort on columns: {_names(lexical) or '[None]'}.\nThe "
            f"command attempted to use vector/vectorize sort on columns: "
            f"{_names(vector) or '[None]'}.\nThe command attempted to use regular sort on "
            f"columns: {_names(regular) or '[None]'}.\n\nResend the command with only one "
            "special sort expression.")
    (name,) = lexical
    indexed = table.text_indexes()
    if name not in indexed:
        raise DataAPIError(
            "CANNOT_LEXICAL_SORT_NON_INDEXED_COLUMNS",
            "The command attempted to lexical sort on column that is not indexed.\n\nLexical "
            "sorting is only supported on columns that have been indexed (createTextIndex)."
            f"\n\nThe table {table.qualified_name} has indexes on columns: "
            f"{_names(indexed) or '[None]'}.\nThe command attempted to sort columns: {name}."
            "\n\nResend the command using indexed column.")
    if skip is not None:
        raise DataAPIError(
            "CANNOT_LEXICAL_SORT_WITH_SKIP_OPTION",
            "The command attempted to lexical sort column along with skip option set.\n\nA "
            "lexical sort gives the best matches in one page: lower the limit instead.\n\n"
            "Resend the command without the skip option.")
    return _Sort(column=name, lexical=clause[name])


def _ordered(table: TableState, rows: np.ndarray, fields: list[tuple[str, int]]) -> np.ndarray:
    """``rows`` sorted by regular columns (nulls last), stably."""
    frame = table.store.frame.iloc[rows]
    by = [n for n, _ in fields]
    order = frame.reset_index(drop=True).sort_values(
        by=by, ascending=[d == 1 for _, d in fields], kind="stable", na_position="last",
        key=None).index.to_numpy()
    return rows[order]


# -- rows out --------------------------------------------------------------------------------

def _projection(table: TableState, spec: Any) -> list[str]:
    """The columns a projection selects, in schema order."""
    columns = list(table.store.columns)
    if spec is None or spec == {}:
        return columns
    if isinstance(spec, list):
        spec = dict.fromkeys(spec, 1)
    if not isinstance(spec, dict):
        raise DataAPIError("UNSUPPORTED_PROJECTION_DEFINITION",
                           f"A projection is an object of column -> 1 or 0, not {spec!r}.")
    spec = {k: v for k, v in spec.items() if k != "$similarity"}
    if set(spec) == {"*"}:
        return columns if spec["*"] else []
    unknown = [c for c in spec if c not in table.store.columns]
    if unknown:
        raise unknown_columns(table.qualified_name, table.store.columns, unknown,
                              what="projected", scope="PROJECTION")
    flags = {bool(v) for v in spec.values()}
    if len(flags) > 1 or not all(isinstance(v, (bool, int)) for v in spec.values()):
        raise DataAPIError(
            "UNSUPPORTED_PROJECTION_DEFINITION",
            f"A projection either includes columns (1 / true) or excludes them (0 / false), "
            f"not both: {spec!r}.")
    if flags == {True}:
        return [c for c in columns if c in spec]
    return [c for c in columns if c not in spec]


def _render(table: TableState, rows: np.ndarray, columns: list[str],
            scores: np.ndarray | None = None) -> list[dict]:
    """Rows in the Data API's JSON form: null cells are left out."""
    store = table.store
    plain = [c for c in columns if not store.columns[c].is_vector]
    vectors = [c for c in columns if store.columns[c].is_vector]
    cells = store.cells(rows, plain)
    out = []
    for i, (row, values) in enumerate(zip(rows, cells)):
        doc = {n: store.columns[n].to_json(v) for n, v in values.items() if v is not None}
        for name in vectors:
            vec = store.vector(name, int(row))
            if vec is not None:
                doc[name] = vec.tolist()
        doc = {n: doc[n] for n in columns if n in doc}
        if scores is not None:
            doc["$similarity"] = float(scores[i])
        out.append(doc)
    return out


def _projection_schema(table: TableState, columns: list[str]) -> dict:
    return {c: table.store.columns[c].schema(table.keyspace) for c in columns}


def _select(table: TableState, flt: RowFilter, sort: _Sort, count: int
            ) -> tuple[np.ndarray, np.ndarray | None]:
    store = table.store
    mask = flt.mask(store)
    if sort.lexical is not None:
        assert sort.column is not None
        rows, _ = table.lexical(sort.column).search(sort.lexical, count,
                                                    None if mask.all() else mask)
        return rows, None
    if sort.vector is not None:
        assert sort.column is not None
        rows = None if mask.all() else np.flatnonzero(mask)
        return store.vectors[sort.column].top_k(sort.vector, count, sort.metric, rows)
    rows = store.natural_order()
    rows = rows[mask[rows]]
    if sort.fields:
        rows = _ordered(table, rows, sort.fields)
    return rows, None


def find(table: TableState, body: dict) -> Result:
    check_fields("find", body, ("filter", "projection", "sort", "options"))
    options = get_options("find", body, ("limit", "skip", "includeSimilarity",
                                         "includeSortVector", "pageState"))
    limit = get_int(options, "limit", minimum=0) or None
    skip = get_int(options, "skip", minimum=0)
    with_sim = get_bool(options, "includeSimilarity")
    with_sort_vector = get_bool(options, "includeSortVector")
    flt = _filter(table, body)
    columns = _projection(table, body.get("projection"))
    sort = _parse_sort(table, body.get("sort"), skip=skip, limit=limit)
    page = options.get("pageState")
    state = decode_page(page, "tfind", ("o",)) if page is not None else {"o": 0}
    status: dict[str, Any] = {"projectionSchema": _projection_schema(table, columns)}
    if with_sort_vector:
        status["sortVector"] = None if sort.vector is None else sort.vector.tolist()
    if sort.lexical is not None:
        if page is not None:
            raise DataAPIError(
                "SORT_CLAUSE_INVALID",
                "Sort clause used by command not valid.\nProblem: 'pageState' is not "
                "supported with a lexical sort, which gives its best rows in one page.")
        count = min(limit or limits.LEXICAL_LIMIT_TABLES, limits.MAX_LEXICAL_LIMIT)
        rows, _ = _select(table, flt, sort, count)
        return Result(status=status, data={"documents": _render(table, rows, columns),
                                           "nextPageState": None})
    if sort.vector is not None:
        total = min(limit or limits.MAX_VECTOR_LIMIT, limits.MAX_VECTOR_LIMIT)
    elif sort.fields:
        total = (skip or 0) + min(limit or limits.PAGE_SIZE, limits.PAGE_SIZE)
    else:
        total = limit or len(table.store)
    rows, scores = _select(table, flt, sort, total)
    start = state["o"] if not sort.fields else (skip or 0)
    stop = min(len(rows), total, start + limits.PAGE_SIZE)
    docs = _render(table, rows[start:stop], columns,
                   scores[start:stop] if with_sim and scores is not None else None)
    more = stop < min(len(rows), total) and not sort.fields and not with_sort_vector
    next_page = encode_page({"k": "tfind", "o": stop}) if more else None
    return Result(status=status, data={"documents": docs, "nextPageState": next_page})


def find_one(table: TableState, body: dict) -> Result:
    check_fields("findOne", body, ("filter", "projection", "sort", "options"))
    options = get_options("findOne", body, ("includeSimilarity", "includeSortVector"))
    flt = _filter(table, body)
    columns = _projection(table, body.get("projection"))
    sort = _parse_sort(table, body.get("sort"), skip=None, limit=None)
    rows, scores = _select(table, flt, sort, 1)
    status: dict[str, Any] = {"projectionSchema": _projection_schema(table, columns)}
    if get_bool(options, "includeSortVector"):
        status["sortVector"] = None if sort.vector is None else sort.vector.tolist()
    doc = None
    if len(rows):
        with_sim = get_bool(options, "includeSimilarity") and scores is not None
        doc = _render(table, rows[:1], columns, scores[:1] if with_sim else None)[0]
    return Result(status=status, data={"document": doc})


def count_documents(table: TableState, body: dict) -> Result:
    check_fields("countDocuments", body, ("filter",))
    return count_result(int(_filter(table, body).mask(table.store).sum()))


def estimated_document_count(table: TableState, body: dict) -> Result:
    check_fields("estimatedDocumentCount", body, ())
    return Result(status={"count": len(table.store)})


# -- updates and deletes ---------------------------------------------------------------------

def _key_filter(table: TableState, body: dict, command: str, *, full: bool) -> RowFilter:
    """The filter of an update or delete: on primary key columns only; ``full``: an ``$eq``
    on every one of them (one row)."""
    flt = _filter(table, body)
    key = table.store.key
    if flt.is_empty:
        raise DataAPIError(
            "MISSING_FILTER_FOR_UPDATE_DELETE",
            f"Update and delete commands for tables require a filter. The table "
            f"{table.qualified_name} defines the primary keys: {_names(key)}. Resend the "
            f"command using a filter{' on the full primary key' if full else ''} (deleteMany "
            "with an empty filter deletes every row).")
    others = sorted(flt.columns - set(key))
    if others:
        raise DataAPIError(
            "UNSUPPORTED_NON_PRIMARY_KEY_FILTER_FOR_UPDATE_DELETE",
            f"The {command} command can only filter using columns that are part of the "
            f"primary key. The table {table.qualified_name} defines the primaryKeys: "
            f"{_names(key)}. The filter used the non primary key columns: {_names(others)}. "
            "Resend the command with a filter that only uses the primary key columns (find the "
            "rows first to learn their keys).")
    if full:
        eq = flt.equalities or {}
        missing = [c for c in key if c not in eq]
        if flt.equalities is None or missing:
            raise DataAPIError(
                "MISSING_FULL_PRIMARY_KEY_FOR_UPDATE_DELETE",
                f"The `{command}` command can only filter by the full primary key, each "
                f"column with an equality. The table {table.qualified_name} defines the "
                f"primaryKeys: {_names(key)}. The filter was missing the primary key columns: "
                f"{_names(missing or key)}. Resend the command using a filter that fully "
                "specifies the primary key to identify a single row.")
    return flt


_TABLE_UPDATES = ("$set", "$unset", "$push", "$pullAll")


def _parse_update(table: TableState, spec: Any) -> dict[str, dict]:
    if not isinstance(spec, dict) or not spec:
        raise DataAPIError(
            "MISSING_UPDATE_OPERATIONS",
            f"The update clause must contain at least one update operation "
            f"({', '.join(_TABLE_UPDATES)}), not {spec!r}.", scope="UPDATE")
    unsupported = [op for op in spec if op not in _TABLE_UPDATES]
    if unsupported:
        raise DataAPIError(
            "UNSUPPORTED_UPDATE_OPERATIONS_FOR_TABLE",
            f"The command included update operations that are not supported by tables. API "
            f"tables support the update operations: {', '.join(_TABLE_UPDATES)}. The update "
            f"included the unsupported operations: {_names(unsupported)}. Resend the command "
            "using only supported update operations.")
    columns = table.store.columns
    seen: dict[str, str] = {}
    for op, targets in spec.items():
        if not isinstance(targets, dict) or not targets:
            raise DataAPIError("MISSING_UPDATE_OPERATIONS",
                               f"'{op}' takes an object of column -> value, not {targets!r}.",
                               scope="UPDATE")
        unknown = [c for c in targets if c not in columns]
        if unknown:
            raise unknown_columns(table.qualified_name, columns, unknown, what="updated",
                                  scope="UPDATE")
        in_key = [c for c in targets if c in table.store.key]
        if in_key:
            raise DataAPIError(
                "UNSUPPORTED_UPDATE_FOR_PRIMARY_KEY_COLUMNS",
                f"Columns in the primary key for the table cannot be updated. The table "
                f"{table.qualified_name} defines the primary keys: {_names(table.store.key)}. "
                f"The update included the following primary keys: {_names(in_key)}. Resend "
                "the command without updating primary key columns (insert a new row instead).")
        for name in targets:
            if name in seen:
                raise DataAPIError(
                    "UNSUPPORTED_OVERLAPPING_UPDATE_OPERATIONS",
                    f"Column '{name}' is updated by both '{seen[name]}' and '{op}': use one "
                    "operation a column.")
            seen[name] = op
            if op in ("$push", "$pullAll") and columns[name].type not in ("list", "set", "map"):
                raise DataAPIError(
                    "UNSUPPORTED_UPDATE_OPERATOR",
                    f"Update operator '{op}' is not supported by column '{name}' of type "
                    f"{_type_name(columns[name])}: $push and $pullAll are only supported "
                    "against map, set and list columns. Use $set to replace its value.")
    return spec


def _updated_row(table: TableState, spec: dict, cells: dict, bad: list[str]) -> _Row:
    """The columns an update writes, as a row of given values (merged like an insert)."""
    columns = table.store.columns
    row = _Row({})
    for op, targets in spec.items():
        for name, value in targets.items():
            ctype = columns[name]
            try:
                if op == "$unset":
                    if ctype.is_vector:
                        row.vectors[name] = None
                    else:
                        row.cells[name] = None
                elif op == "$set":
                    if ctype.is_vector:
                        _vector_value(table, name, ctype, value, row, bad, "UPDATE")
                    else:
                        row.cells[name] = ctype.parse(value)
                else:
                    row.cells[name] = _collection_change(ctype, op, value, cells.get(name))
            except ColumnValueError as exc:
                bad.append(f"{name} ({exc})")
    return row


def _bad_push(reason: str) -> DataAPIError:
    return DataAPIError(
        "INVALID_PUSH_OPERATOR_USAGE",
        f"The command has invalid usage of $push operator, {reason}. $push adds one element "
        "({\"$push\": {\"listColumn\": \"value\"}}, {\"$push\": {\"mapColumn\": "
        "[\"key1\", \"value1\"]}} or {\"mapColumn\": {\"key1\": \"value1\"}}); combine it "
        "with $each to add several ({\"$push\": {\"listColumn\": {\"$each\": [\"v1\", "
        "\"v2\"]}}}).")


def _pushed(ctype: ColumnType, value: Any) -> list:
    """The elements (or, for a map, ``[key, value]`` entries) a ``$push`` adds."""
    if isinstance(value, dict) and "$each" in value:
        items = value["$each"]
        if len(value) != 1 or not isinstance(items, list):
            raise _bad_push("invalid usage of $each, $each value needs to be an array")
    elif ctype.type != "map" and isinstance(value, list):
        raise _bad_push("an array is pushed with $each")
    else:
        items = [value]
    if ctype.type != "map":
        return items
    entries = []
    for item in items:
        if isinstance(item, dict) and len(item) == 1:
            entries.append(list(next(iter(item.items()))))
        elif isinstance(item, list) and len(item) == 2:
            entries.append(item)
        else:
            raise _bad_push(f"a map entry is one {{key: value}} object or one [key, value] "
                            f"pair, not {item!r}")
    return entries


def _collection_change(ctype: ColumnType, op: str, value: Any, old: Any) -> Any:
    """A list, set or map cell after ``$push`` (see :func:`_pushed`) or ``$pullAll`` (an
    array of elements, or of map keys)."""
    if op == "$push":
        added = ctype.parse(_pushed(ctype, value))
        if ctype.type == "map":  # an empty collection is null, as in Cassandra
            return {**(old or {}), **(added or {})} or None
        joined = [*(old or []), *(added or [])]
        return ctype.unique(joined) if ctype.type == "set" else (joined or None)
    if not isinstance(value, list):
        raise ColumnValueError(f"$pullAll takes an array of elements, not {value!r}")
    if ctype.type == "map":
        keys = {ctype.element("keyType").parse(k) for k in value}
        kept = {k: v for k, v in (old or {}).items() if k not in keys}
    else:
        drop = [ctype.element().parse(v) for v in value]
        kept = [x for x in (old or []) if x not in drop]
    return kept or None


def update_one(table: TableState, body: dict) -> Result:
    check_fields("updateOne", body, ("filter", "update", "sort", "options"))
    get_options("updateOne", body, ("upsert",))
    if body.get("sort"):
        raise DataAPIError("UNSUPPORTED_SORT_FOR_TABLE_UPDATE_COMMAND",
                           "updateOne on a table does not take a sort: its filter names the "
                           "row by its full primary key.")
    flt = _key_filter(table, body, "updateOne", full=True)
    spec = _parse_update(table, body.get("update"))
    key_cells = dict(flt.equalities or {})
    store = table.store
    pos = store.position(store.key_of(key_cells))
    old = store.cells([pos])[0] if pos is not None else {}
    bad: list[str] = []
    row = _updated_row(table, spec, old, bad)
    if bad:
        raise _invalid_values(table, bad, "INVALID_UPDATE_COLUMN_VALUES")
    row.cells.update(key_cells)
    _embed_rows(table, [row], ["the row"])
    cells = {k: v for k, v in row.cells.items() if k not in store.key}
    if pos is None:  # an update creates the row (Cassandra's upsert) when it sets a value
        changed = any(v is not None for v in [*cells.values(), *row.vectors.values()])
    else:
        changed = any(not _same(old.get(k), v) for k, v in cells.items()) or any(
            not _same(store.vector(k, pos), v) for k, v in row.vectors.items())
    if changed:
        _write(table, [row])
    # as the Data API: a CQL update is an upsert, so it reports one row matched and modified
    return Result(status={"matchedCount": 1, "modifiedCount": 1})


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return a is not None and b is not None and np.array_equal(a, b)
    return a == b and type(a) is type(b)


def delete_one(table: TableState, body: dict) -> Result:
    check_fields("deleteOne", body, ("filter", "sort"))
    if body.get("sort"):
        raise DataAPIError("UNSUPPORTED_SORT_FOR_TABLE_DELETE_COMMAND",
                           "deleteOne on a table does not take a sort: its filter names the "
                           "row by its full primary key.")
    flt = _key_filter(table, body, "deleteOne", full=True)
    key = table.store.key_of(dict(flt.equalities or {}))
    if table.store.position(key) is not None:
        table.store.delete([key])
    return Result(status={"deletedCount": -1})  # as the Data API: tables do not count


def delete_many(table: TableState, body: dict) -> Result:
    check_fields("deleteMany", body, ("filter",))
    if not body.get("filter"):
        table.store.clear()
        return Result(status={"deletedCount": -1})
    flt = _key_filter(table, body, "deleteMany", full=False)
    pk = table.schema["primaryKey"]
    sort = list(pk["partitionSort"])
    used = [c in flt.columns for c in sort]
    # a Cassandra DELETE names its partition, and a prefix of its sort columns
    missing = [c for c in pk["partitionBy"] if c not in flt.columns] + [
        c for i, c in enumerate(sort) if not used[i] and any(used[i + 1:])]
    if missing:
        raise DataAPIError(
            "INCOMPLETE_PRIMARY_KEY_FILTER",
            f"deleteMany on table {table.qualified_name} needs the full partition key "
            f"({_names(pk['partitionBy'])}) in its filter, and partition sort columns only in "
            f"order ({_names(sort)}); the filter lacks: {_names(missing)}. Add them, or use an "
            "empty filter to delete every row.")
    rows = np.flatnonzero(flt.mask(table.store))
    keys = [table.store.key_of(c) for c in table.store.cells(rows, table.store.key)]
    table.store.delete(keys)
    return Result(status={"deletedCount": -1})


def export_table(table: TableState, filter: Any, columns: Any) -> Any:
    """Every matching row as a typed DataFrame (the projected columns, vector columns as
    float32 arrays), in the table's order: the bulk read behind ``Table.to_pandas``."""
    import pandas as pd

    flt = _filter(table, {"filter": filter})
    names = _projection(table, columns)
    store = table.store
    rows = store.natural_order()
    rows = rows[flt.mask(store)[rows]]
    frame = store.frame.iloc[rows][[n for n in names if n in store.frame.columns]]
    frame = frame.reset_index(drop=True)
    for name in names:
        column = store.columns[name]
        if column.is_vector:
            matrix = store.vectors[name]
            values = [matrix.row(int(r)) for r in rows]
            frame[name] = pd.Series(values, dtype=object)
        elif column.udt is not None:
            frame[name] = pd.Series([column.readable(c) for c in column.cells(frame[name])],
                                    dtype=object)
    return frame[names]


TABLE_ROW_COMMANDS = {
    "insertOne": insert_one,
    "insertMany": insert_many,
    "find": find,
    "findOne": find_one,
    "updateOne": update_one,
    "deleteOne": delete_one,
    "deleteMany": delete_many,
    "countDocuments": count_documents,
    "estimatedDocumentCount": estimated_document_count,
}
