"""Table schema commands (``reference/data-api.md`` §3.1): createTable, dropTable, listTables
and dropIndex on a keyspace; alterTable, createIndex, createVectorIndex, createTextIndex and
listIndexes on a table.

A table's schema is ``{"columns": {name: long form}, "primaryKey": {"partitionBy": [...],
"partitionSort": {...}}, "indexes": {name: index}}``; the store keeps it, and every change is
one durable ``schema`` record.  Tables do not count against the database's collection limit,
as in the Data API (whose limit counts collections only).
"""

from __future__ import annotations

import copy
from typing import Any

from .. import limits
from ..errors import DataAPIError
from ..names import check_schema_name
from ..similarity import METRICS
from ..store.columns import parse_column
from ..store.rows import key_columns
from ..values import json_type_name
from .core import Result, check_fields, field_invalid, get_bool, get_options
from .schema import SOURCE_MODELS, check_analyzer, check_service
from .state import DatabaseState, TableState

__all__ = ["TABLE_KEYSPACE_COMMANDS", "TABLE_SCHEMA_COMMANDS", "listed_columns"]


def _names(items: Any) -> str:
    return ", ".join(items) if items else "(none)"


def listed_columns(schema: dict) -> str:
    return _names(schema["columns"])


def _service_error(keyspace: str, table: str) -> Any:
    def fail(message: str) -> DataAPIError:
        return DataAPIError(
            "INVALID_VECTORIZE_TABLE_CONFIGURATION",
            f"Unable to parse vectorize configuration, schema invalid for table "
            f"'{keyspace}.{table}'.\nUnderlying problem: {message}",
        )
    return fail


def _columns(db: DatabaseState, keyspace: str, table: str, spec: Any, command: str,
             where: str) -> dict[str, dict]:
    """Check column definitions (services included); return their long forms."""
    if not isinstance(spec, dict) or not spec:
        raise field_invalid(f"command.{where}", spec,
                            "must be a non-empty object of column name -> type")
    out = {}
    for name, definition in spec.items():
        if not isinstance(name, str) or not name or name.startswith("$"):
            raise field_invalid(f"command.{where}", name,
                                "column names are non-empty and do not start with '$'")
        column = parse_column(name, definition, db.types_of(keyspace))
        long = column.long_form()
        if column.is_vector and column.service is not None:
            service, dimension = check_service(
                column.service, column.dimension, db, True, command=command,
                where=f"{where}.{name}", fail=_service_error(keyspace, table))
            long = {"type": "vector", "dimension": dimension, "service": service}
        out[name] = long
    return out


def _primary_key(spec: Any, columns: dict[str, dict]) -> dict:
    def incorrect(why: str) -> DataAPIError:
        return DataAPIError(
            "PRIMARY_KEY_DEFINITION_INCORRECT",
            f"Primary key definition provided is incorrect: {why}. Define a single primary "
            "key column as \"primaryKey\": \"id\", or a composite one as \"primaryKey\": "
            "{\"partitionBy\": [\"id\"], \"partitionSort\": {\"name\": 1, \"age\": -1}} "
            "(sort columns not in partitionBy; 1 ascending, -1 descending).",
        )

    if isinstance(spec, str):
        spec = {"partitionBy": [spec]}
    if not isinstance(spec, dict) or set(spec) - {"partitionBy", "partitionSort"}:
        raise incorrect(f"got {spec!r}")
    by, sort = spec.get("partitionBy"), spec.get("partitionSort") or {}
    if not isinstance(by, list) or not all(isinstance(c, str) for c in by):
        raise incorrect("partitionBy must be an array of column names")
    if not by:
        raise DataAPIError(
            "MISSING_PARTITION_COLUMNS",
            f"The table definition must have at least one partition key. The table "
            f"definition includes the columns: {_names(columns)}. Resend the command using "
            "at least one partition key.",
        )
    if not isinstance(sort, dict) or any(d not in (1, -1) or isinstance(d, bool)
                                         for d in sort.values()):
        raise incorrect("partitionSort values should be either `1` for ascending or `-1` for "
                        "descending")
    if len(set(by)) != len(by) or set(by) & set(sort):
        raise incorrect("a column appears twice in the primary key")
    for code, kind, used in (("UNKNOWN_PARTITION_COLUMNS", "partition", by),
                             ("UNKNOWN_PARTITION_SORT_COLUMNS", "partition sort", sort)):
        unknown = [c for c in used if c not in columns]
        if unknown:
            raise DataAPIError(
                code,
                f"The columns used in the {kind} are not present in the table schema. The "
                f"table definition includes the columns: {_names(columns)}. The {kind} "
                f"includes the unknown columns: {_names(unknown)}. Resend the command using "
                "only columns included in the table definition.",
            )
    for name in [*by, *sort]:
        kind = columns[name]["type"]
        if kind in ("vector", "list", "set", "map", "duration", "counter", "userDefined"):
            raise incorrect(f"column '{name}' of type {kind} can not be part of a primary key "
                            "(use a scalar type such as text, int or uuid)")
    return {"partitionBy": list(by), "partitionSort": dict(sort)}


# -- keyspace-level commands -----------------------------------------------------------------

def create_table(db: DatabaseState, keyspace: str | None, body: dict) -> Result:
    check_fields("createTable", body, ("name", "definition", "options"))
    name = check_schema_name(body.get("name"), "Table")
    if_not_exists = get_bool(get_options("createTable", body, ("ifNotExists",)), "ifNotExists")
    ks_name = keyspace or limits.DEFAULT_KEYSPACE
    definition = body.get("definition")
    if not isinstance(definition, dict):
        raise field_invalid("command.definition", definition,
                            "must be an object with 'columns' and 'primaryKey'")
    check_fields("createTable", definition, ("columns", "primaryKey"), "definition")
    with db.lock:
        existing = db.keyspace(keyspace).get(name)
        if existing is not None:
            if if_not_exists and isinstance(existing, TableState):
                return Result(status={"ok": 1})
            raise DataAPIError(
                "CANNOT_ADD_EXISTING_TABLE",
                f"The command attempted to add a table that already exists in the keyspace "
                f"schema. The command attempted to add the existing "
                f"{'table' if isinstance(existing, TableState) else 'collection'}: {name}. "
                "Resend the command using a table name that does not exist in the keyspace"
                + (", or with \"ifNotExists\": true." if isinstance(existing, TableState)
                   else "."),
            )
        columns = _columns(db, ks_name, name, definition.get("columns"), "createTable",
                           "definition.columns")
        schema = {"columns": columns,
                  "primaryKey": _primary_key(definition.get("primaryKey"), columns),
                  "indexes": {}}
        db.catalog.create_table(db.id, ks_name, name, {"name": name, "schema": schema})
        db._open_table(ks_name, name, schema)
    return Result(status={"ok": 1})


def _tables(db: DatabaseState, keyspace: str | None) -> dict[str, TableState]:
    return {n: s for n, s in db.keyspace(keyspace).items() if isinstance(s, TableState)}


def _drop_request(command: str, body: dict) -> tuple[str, bool]:
    """The ``name`` and ``ifExists`` of dropTable or dropIndex, checked."""
    check_fields(command, body, ("name", "options"))
    name = body.get("name")
    if not isinstance(name, str):
        raise field_invalid("command.name", name, "must be a string")
    return name, get_bool(get_options(command, body, ("ifExists",)), "ifExists")


def drop_table(db: DatabaseState, keyspace: str | None, body: dict) -> Result:
    name, if_exists = _drop_request("dropTable", body)
    with db.lock:
        state = _tables(db, keyspace).get(name)
        if state is None:
            if if_exists:
                return Result(status={"ok": 1})
            raise DataAPIError(
                "CANNOT_DROP_UNKNOWN_TABLE",
                f"The command attempted to drop a table that is not in the keyspace schema. "
                f"The command attempted to drop the unknown table: {name}. Resend the command "
                f"using a table that exists in the keyspace ({_names(_tables(db, keyspace))}), "
                "or with \"ifExists\": true.",
            )
        del db.keyspaces[state.keyspace][name]
        state.close_store()
        db.catalog.drop(db.id, state.keyspace, name)
    return Result(status={"ok": 1})


def _explained(table: TableState) -> dict:
    """The table's definition as listTables explains it (user-defined types by name)."""
    return {"columns": {n: c.ddl_form(table.keyspace) for n, c in table.store.columns.items()},
            "primaryKey": copy.deepcopy(table.schema["primaryKey"])}


def list_tables(db: DatabaseState, keyspace: str | None, body: dict) -> Result:
    check_fields("listTables", body, ("options",))
    explain = get_bool(get_options("listTables", body, ("explain",)), "explain")
    tables = _tables(db, keyspace)
    if not explain:
        return Result(status={"tables": sorted(tables)})
    return Result(status={"tables": [
        {"name": name, "definition": _explained(tables[name])}
        for name in sorted(tables)]})


def drop_index(db: DatabaseState, keyspace: str | None, body: dict) -> Result:
    name, if_exists = _drop_request("dropIndex", body)
    ks_name = keyspace or limits.DEFAULT_KEYSPACE
    db.keyspace(keyspace)  # UNKNOWN_KEYSPACE
    owner = _index_owner(db, ks_name, name)
    if owner is not None:
        # the table's lock alone (a command in flight on it finishes first): taking it under
        # the database's lock would deadlock with createIndex, which holds it already
        with owner.lock, db.index_lock:
            if name in owner.schema["indexes"] and not owner.dropped:
                schema = copy.deepcopy(owner.schema)
                del schema["indexes"][name]
                owner.store.alter(schema)
                return Result(status={"ok": 1})
    if if_exists:
        return Result(status={"ok": 1})
    raise DataAPIError(
        "CANNOT_DROP_UNKNOWN_INDEX",
        f"The command attempted to drop an index that is not in the keyspace schema. The "
        f"command attempted to drop the unknown index: {name}. Resend the command using an "
        "index that exists in the keyspace (listIndexes on a table lists them), or with "
        "\"ifExists\": true.",
    )


# -- table-level schema commands -------------------------------------------------------------

def _unknown_columns(code: str, table: TableState, what: str, unknown: list[str]
                     ) -> DataAPIError:
    return DataAPIError(
        code,
        f"The command attempted to {what} columns that are not in the table schema. The "
        f"table {table.qualified_name} defines the columns: {listed_columns(table.schema)}. "
        f"The command attempted to {what} the unknown columns: {_names(unknown)}. Resend "
        "the command using only columns defined in the table schema.",
    )


def _non_vector(code: str, table: TableState, what: str, columns: list[str]) -> DataAPIError:
    vectors = [n for n, c in table.schema["columns"].items() if c["type"] == "vector"]
    return DataAPIError(
        code,
        f"Columns can only {what} if they use the `vector` column type. The table "
        f"{table.qualified_name} defines the vector columns: {_names(vectors)}. The command "
        f"attempted this on the non-vector columns: {_names(columns)}. Resend the command "
        "using only columns that use the `vector` type.",
    )


def _column_list(value: Any, path: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(c, str) for c in value):
        raise field_invalid(path, value, "must be a non-empty array of column names")
    return list(value)


def alter_table(table: TableState, body: dict) -> Result:
    check_fields("alterTable", body, ("operation",))
    operation = body.get("operation")
    ops = ("add", "drop", "addVectorize", "dropVectorize")
    if not isinstance(operation, dict) or len(operation) != 1:
        raise DataAPIError(
            "MISSING_ALTER_TABLE_OPERATIONS",
            f"The `alterTable` command must contain exactly one operation ({', '.join(ops)}) "
            f"to alter the table schema. The command included: {operation!r}. Resend the "
            "command including one change to the table.",
        )
    check_fields("alterTable", operation, ops, "operation")
    ((op, spec),) = operation.items()
    if not isinstance(spec, dict) or set(spec) != {"columns"}:
        raise field_invalid(f"command.operation.{op}", spec,
                            "must be an object with one field, 'columns'")
    where = f"operation.{op}.columns"
    schema = copy.deepcopy(table.schema)
    columns = schema["columns"]
    db = table.database
    if op == "add":
        spec_columns = spec["columns"]
        existing = [c for c in (spec_columns if isinstance(spec_columns, dict) else ())
                    if c in columns]
        if existing:
            raise DataAPIError(
                "CANNOT_ADD_EXISTING_COLUMNS",
                f"Column names must be unique in the table schema. The table "
                f"{table.qualified_name} defines the columns: {listed_columns(schema)}. The "
                f"request included the following duplicate columns: {_names(existing)}. "
                "Resend the command using only new columns.",
            )
        columns.update(_columns(db, table.keyspace, table.name, spec_columns, "alterTable",
                                where))
    elif op == "drop":
        names = _column_list(spec["columns"], f"command.{where}")
        unknown = [c for c in names if c not in columns]
        if unknown:
            raise _unknown_columns("CANNOT_DROP_UNKNOWN_COLUMNS", table, "drop", unknown)
        keys = key_columns(schema)
        in_key = [c for c in names if c in keys]
        if in_key:
            raise DataAPIError(
                "CANNOT_DROP_PRIMARY_KEY_COLUMNS",
                f"Primary key columns cannot be dropped from the table schema. The table "
                f"{table.qualified_name} has the primary keys: {_names(keys)}. The command "
                f"attempted to drop the primary key columns: {_names(in_key)}. Resend the "
                "command without dropping the primary key columns.",
            )
        indexed = {i["definition"]["column"] if isinstance(i["definition"]["column"], str)
                   else next(iter(i["definition"]["column"])): n
                   for n, i in schema["indexes"].items()}
        hit = [c for c in names if c in indexed]
        if hit:
            raise DataAPIError(
                "CANNOT_DROP_INDEXED_COLUMNS",
                f"Columns that are indexed cannot be dropped from the table schema. The table "
                f"{table.qualified_name} has indexes on the columns: {_names(indexed)}. The "
                f"command attempted to drop the indexed columns: {_names(hit)}. Drop their "
                f"indexes first (dropIndex: {_names(indexed[c] for c in hit)}), then resend "
                "the command.",
            )
        for name in names:
            del columns[name]
    elif op == "addVectorize":
        spec_columns = spec["columns"]
        if not isinstance(spec_columns, dict) or not spec_columns:
            raise field_invalid(f"command.{where}", spec_columns,
                                "must be an object of column name -> service")
        unknown = [c for c in spec_columns if c not in columns]
        if unknown:
            raise _unknown_columns("CANNOT_VECTORIZE_UNKNOWN_COLUMNS", table, "vectorize",
                                   unknown)
        plain = [c for c in spec_columns if columns[c]["type"] != "vector"]
        if plain:
            raise _non_vector("CANNOT_VECTORIZE_NON_VECTOR_COLUMNS", table, "be vectorized",
                              plain)
        for name, service in spec_columns.items():
            columns[name]["service"], _ = check_service(
                service, columns[name]["dimension"], db, True, command="alterTable",
                where=f"{where}.{name}", fail=_service_error(table.keyspace, table.name))
    else:
        names = _column_list(spec["columns"], f"command.{where}")
        unknown = [c for c in names if c not in columns]
        if unknown:
            raise _unknown_columns("CANNOT_DROP_VECTORIZE_FROM_UNKNOWN_COLUMNS", table,
                                   "drop vectorize from", unknown)
        plain = [c for c in names if columns[c]["type"] != "vector"]
        if plain:
            raise _non_vector("CANNOT_DROP_VECTORIZE_FROM_NON_VECTOR_COLUMNS", table,
                              "have vectorize dropped", plain)
        for name in names:
            columns[name].pop("service", None)
    table.store.alter(schema)
    return Result(status={"ok": 1})


def _index_owner(db: DatabaseState, keyspace: str, name: str) -> TableState | None:
    """The table of the keyspace that has an index of this name (index names are unique in
    a keyspace)."""
    for state in list(db.keyspaces.get(keyspace, {}).values()):
        if isinstance(state, TableState) and name in state.schema["indexes"]:
            return state
    return None


def _index_command(table: TableState, body: dict, command: str) -> tuple[str, bool, dict]:
    check_fields(command, body, ("name", "definition", "options"))
    name = check_schema_name(body.get("name"), "Index")
    if_not_exists = get_bool(get_options(command, body, ("ifNotExists",)), "ifNotExists")
    definition = body.get("definition")
    if not isinstance(definition, dict) or "column" not in definition:
        raise field_invalid("command.definition", definition,
                            "must be an object with 'column' (and optional 'options')")
    check_fields(command, definition, ("column", "options"), "definition")
    options = definition.get("options") or {}
    if not isinstance(options, dict):
        raise field_invalid("command.definition.options", options, "must be an object")
    return name, if_not_exists, options


def _add_index(table: TableState, name: str, if_not_exists: bool, index: dict) -> Result:
    db = table.database
    with db.index_lock:  # innermost lock: names stay unique across the keyspace's tables
        owner = _index_owner(db, table.keyspace, name)
        if owner is not None:
            if if_not_exists:
                return Result(status={"ok": 1})
            raise DataAPIError(
                "CANNOT_ADD_EXISTING_INDEX",
                f"The command attempted to add an index that already exists in the keyspace "
                f"schema. The command attempted to add the existing index: {name} (on table "
                f"{owner.qualified_name}). Resend the command using an index name that does "
                "not exist in the keyspace, or with \"ifNotExists\": true.",
            )
        schema = copy.deepcopy(table.schema)
        schema["indexes"][name] = index
        table.store.alter(schema)
    return Result(status={"ok": 1})


def _unknown_index_column(table: TableState, column: str) -> DataAPIError:
    return DataAPIError(
        "UNKNOWN_INDEX_COLUMN",
        f"The command attempted to create an index on a column that is not in the table "
        f"schema. The table {table.qualified_name} defines the columns: "
        f"{listed_columns(table.schema)}. The command attempted to index the unknown columns: "
        f"{column}. Resend the command using only columns defined in the table schema.",
    )


def create_index(table: TableState, body: dict) -> Result:
    name, if_not_exists, options = _index_command(table, body, "createIndex")
    check_fields("createIndex", options, ("ascii", "caseSensitive", "normalize"),
                 "definition.options")
    column, part = _index_column(body["definition"]["column"])
    spec = table.schema["columns"].get(column)
    if spec is None:
        raise _unknown_index_column(table, column)
    kind = spec["type"]
    if kind in ("vector", "duration", "counter", "userDefined") or (
            part is not None and kind != "map"):
        raise DataAPIError(
            "UNSUPPORTED_INDEXING_FOR_DATA_TYPES",
            f"The command attempted to create an index on a column that uses a data type not "
            f"supported for indexing: column '{column}' of type {kind}"
            + (f" (with '{part}', which only map columns take)" if part else "") + ". "
            + ("Vector columns are indexed with createVectorIndex." if kind == "vector" else
               "Index a column of a primitive type such as text or int, or a list, set or "
               "map column (of a user-defined type too)."),
        )
    for key in ("ascii", "caseSensitive", "normalize"):
        if key in options and not isinstance(options[key], bool):
            raise field_invalid(f"command.definition.options.{key}", options[key],
                                "must be a boolean")
    if options:
        _check_analysis(column, spec, part)
    index = {"name": name,
             "definition": {"column": column if part is None else {column: part},
                            "options": dict(options)},
             "indexType": "regular"}
    return _add_index(table, name, if_not_exists, index)


def _index_column(value: Any) -> tuple[str, str | None]:
    """The column and map part (``$keys``, ``$values``, ``$entries``) an index names."""
    if isinstance(value, str):
        return value, None
    if (isinstance(value, dict) and len(value) == 1 and isinstance(next(iter(value)), str)
            and next(iter(value.values())) in ("$keys", "$values", "$entries")):
        ((column, part),) = value.items()
        return column, part
    raise DataAPIError(
        "INVALID_FORMAT_FOR_INDEX_CREATION_COLUMN",
        f"Unable to create index, format for index creation column is invalid: {value!r}. "
        "Name a column (\"column\": \"name\"), or a map column's keys, values or entries "
        "(\"column\": {\"tags\": \"$keys\"}).",
    )


def _check_analysis(column: str, spec: dict, part: str | None) -> None:
    """Text options (ascii, caseSensitive, normalize) need text: a text or ascii column, a
    list or set of text, or a map's text keys or values (not its entries)."""
    kind = spec["type"]
    if kind == "map" and part in (None, "$entries"):
        raise DataAPIError(
            "CANNOT_ANALYZE_ENTRIES_ON_MAP_COLUMNS",
            f"Can not create an index on the entries of map column '{column}' with text "
            "analysis options: index its $keys or $values instead, or leave the options out.",
        )
    element = {"map": spec.get("keyType") if part == "$keys" else spec.get("valueType"),
               "list": spec.get("valueType"), "set": spec.get("valueType")}.get(kind, kind)
    if element not in ("text", "ascii"):
        raise DataAPIError(
            "UNSUPPORTED_TEXT_ANALYSIS_FOR_DATA_TYPES",
            f"Text analysis options (ascii, caseSensitive, normalize) only apply to text and "
            f"ascii values; column '{column}' indexes {element} values. Resend the command "
            "without them.",
        )


def create_vector_index(table: TableState, body: dict) -> Result:
    name, if_not_exists, options = _index_command(table, body, "createVectorIndex")
    check_fields("createVectorIndex", options, ("metric", "sourceModel"), "definition.options")
    column = body["definition"]["column"]
    if not isinstance(column, str):
        raise field_invalid("command.definition.column", column, "must be a column name")
    spec = table.schema["columns"].get(column)
    if spec is None:
        raise _unknown_index_column(table, column)
    if spec["type"] != "vector":
        raise DataAPIError(
            "UNSUPPORTED_VECTOR_INDEX_FOR_DATA_TYPES",
            f"The command attempted to create a vector index on a column that is not a "
            f"`vector` type: column '{column}' is {spec['type']}. Vector indexes can only be "
            "created on columns of type `vector`; index other columns with createIndex.",
        )
    source = options.get("sourceModel", "other")
    metric = options.get("metric", "cosine" if source == "other" else "dot_product")
    if metric not in METRICS:
        raise DataAPIError(
            "UNKNOWN_VECTOR_METRIC",
            f"The command attempted to create a vector index using a metric that is not "
            f"known by the API. The known metrics are: {', '.join(METRICS)}. The command "
            f"attempted to use the metric: {metric}. Resend the command using a known metric.",
        )
    if source not in SOURCE_MODELS:
        raise DataAPIError(
            "UNKNOWN_VECTOR_SOURCE_MODEL",
            f"The command attempted to create a vector index using a source model that is "
            f"not known by the API. The known source models are: {', '.join(SOURCE_MODELS)}. "
            f"The command attempted to use the source model: {source}.",
        )
    index = {"name": name,
             "definition": {"column": column,
                            "options": {"metric": metric, "sourceModel": source}},
             "indexType": "vector"}
    return _add_index(table, name, if_not_exists, index)


def create_text_index(table: TableState, body: dict) -> Result:
    """A text index (BM25 over an analyzed text column), for ``$match`` and lexical sorts."""
    body = dict(body)
    index_type = body.pop("indexType", "text")
    if index_type != "text":
        raise DataAPIError(
            "UNSUPPORTED_INDEX_TYPE",
            f"createTextIndex creates indexes of type 'text', not {index_type!r}: leave "
            "'indexType' out, or use createIndex / createVectorIndex.")
    name, if_not_exists, options = _index_command(table, body, "createTextIndex")
    check_fields("createTextIndex", options, ("analyzer",), "definition.options")
    column = body["definition"]["column"]
    if not isinstance(column, str):
        raise field_invalid("command.definition.column", column, "must be a column name")
    spec = table.schema["columns"].get(column)
    if spec is None:
        raise _unknown_index_column(table, column)
    if spec["type"] != "text":
        raise DataAPIError(
            "UNSUPPORTED_TEXT_INDEX_FOR_DATA_TYPES",
            "The command attempted to create a text index on a column that is not a `text` "
            "type.\n\nText indexes can only be created on columns of type `text`.\n\nThe "
            f"table {table.qualified_name} defines the columns: "
            f"{listed_columns(table.schema)}.\nThe command attempted to text index the "
            f"unsupported columns: {column}.\n\nResend the command using columns of `text` "
            "type.")
    analyzer = options.get("analyzer", "standard")
    if not isinstance(analyzer, (str, dict)):
        raise DataAPIError(
            "UNSUPPORTED_JSON_TYPE_FOR_TEXT_INDEX",
            "The command attempted to create a text index using an unsupported JSON value "
            "type.\n\nThe supported JSON value types are: String, Object.\nThe command used "
            f"the unsupported JSON value type: {json_type_name(analyzer)}.\n\nResend the "
            "command using a supported JSON value type.")
    analyzer = check_analyzer(analyzer, lambda why: DataAPIError(
        "INVALID_INDEX_DEFINITION", f"Invalid text index analyzer: {why}."), "options")
    index = {"name": name, "definition": {"column": column, "options": {"analyzer": analyzer}},
             "indexType": "text"}
    return _add_index(table, name, if_not_exists, index)


def list_indexes(table: TableState, body: dict) -> Result:
    check_fields("listIndexes", body, ("options",))
    explain = get_bool(get_options("listIndexes", body, ("explain",)), "explain")
    indexes = table.schema["indexes"]
    if not explain:
        return Result(status={"indexes": list(indexes)})
    return Result(status={"indexes": [copy.deepcopy(i) for i in indexes.values()]})


def vector_index(table: TableState, column: str) -> dict | None:
    """The vector index on ``column`` (its definition), or ``None``."""
    for index in table.schema["indexes"].values():
        if index["indexType"] == "vector" and index["definition"]["column"] == column:
            return index
    return None


def index_owner_by_column(db: DatabaseState, keyspace: str | None, command: str,
                          body: dict) -> TableState:
    """The table an index command sent to a keyspace means: the only table of the keyspace
    with the column its ``definition.column`` names (seed 000's curl sends createVectorIndex
    to the keyspace endpoint, where the Data API expects it on the table's)."""
    definition = body.get("definition")
    column = definition.get("column") if isinstance(definition, dict) else None
    if isinstance(column, dict) and len(column) == 1:
        (column,) = column  # {"map_column": "$keys"}
    tables = _tables(db, keyspace)
    owners = [t for t in tables.values()
              if isinstance(column, str) and column in t.schema["columns"]]
    if len(owners) == 1:
        return owners[0]
    ks_name = keyspace or limits.DEFAULT_KEYSPACE
    which = ("no table of the keyspace has a column "
             f"'{column}'" if not owners else
             f"tables {_names({t.name: t for t in owners})} all have a column '{column}'")
    method = "create_vector_index" if command == "createVectorIndex" else "create_index"
    raise DataAPIError(
        "COMMAND_UNKNOWN",
        f"Command '{command}' is a table command: send it to the table (POST "
        f"/v1/{ks_name}/<table>, or Table.{method}). Sent to keyspace '{ks_name}', it runs on "
        f"the table that has the column it names, but {which}.",
    )


TABLE_KEYSPACE_COMMANDS = {
    "createTable": create_table,
    "dropTable": drop_table,
    "listTables": list_tables,
    "dropIndex": drop_index,
}
TABLE_SCHEMA_COMMANDS = {
    "alterTable": alter_table,
    "createIndex": create_index,
    "createVectorIndex": create_vector_index,
    "createTextIndex": create_text_index,
    "listIndexes": list_indexes,
}
