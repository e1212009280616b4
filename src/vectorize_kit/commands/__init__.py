"""The Data API JSON dispatcher: one semantic core for every front door.

:func:`execute_database` and :func:`execute_collection` run one command and return a
:class:`Result`, raising :class:`~vectorize_kit.errors.DataAPIError` for a command error; the
``command()`` methods turn either into the Data API envelope.  A command that fails leaves the
store as it was: every check runs before the single write a command makes.
"""

from __future__ import annotations

from typing import Any

from .. import limits
from ..errors import DataAPIError
from ..models import LongTextPolicy
from .core import READ_COMMANDS, Result, logger, unwrap
from .documents import (
    DOCUMENT_COMMANDS,
    chunk_id,
    delete_all,
    export_rows,
    prefetch_embeddings,
    update_all,
)
from .integrations import INTEGRATION_COMMANDS
from .rerank import RERANK_COMMANDS, find_reranking_providers
from .rows import TABLE_ROW_COMMANDS, export_table
from .schema import GENERAL_COMMANDS, KEYSPACE_COMMANDS
from .state import (
    CollectionSettings,
    CollectionState,
    DatabaseState,
    SchemaObjectState,
    TableState,
    WorkspaceState,
    closed_error,
    credential_name,
)
from .tables import TABLE_KEYSPACE_COMMANDS, TABLE_SCHEMA_COMMANDS, index_owner_by_column
from .types import TYPE_COMMANDS

TABLE_COMMANDS = {**TABLE_SCHEMA_COMMANDS, **TABLE_ROW_COMMANDS}
COLLECTION_COMMANDS = {**DOCUMENT_COMMANDS, **RERANK_COMMANDS}
#: Commands of the general endpoint (``/v1``), those of a keyspace, and every command known.
GENERAL = {**GENERAL_COMMANDS, "findRerankingProviders": find_reranking_providers,
           **INTEGRATION_COMMANDS}
KNOWN_COMMANDS = frozenset({*GENERAL, *KEYSPACE_COMMANDS, *TABLE_KEYSPACE_COMMANDS,
                            *TYPE_COMMANDS, *COLLECTION_COMMANDS, *TABLE_COMMANDS})
DATABASE_COMMANDS = {**KEYSPACE_COMMANDS, **TABLE_KEYSPACE_COMMANDS, **TYPE_COMMANDS}
_NO_POLICY = LongTextPolicy()  # (frozen: one instance serves every request)

__all__ = [
    "GENERAL",
    "READ_COMMANDS",
    "INTEGRATION_COMMANDS",
    "KNOWN_COMMANDS",
    "bulk_delete",
    "chunk_id",
    "credential_name",
    "bulk_update",
    "export_documents",
    "prefetch",
    "CollectionSettings",
    "CollectionState",
    "DatabaseState",
    "Result",
    "TableState",
    "WorkspaceState",
    "export_rows_of_table",
    "envelope_of",
    "execute_collection",
    "execute_database",
]


def _unknown(name: str, kind: str, known: Any) -> DataAPIError:
    return DataAPIError(
        "COMMAND_UNKNOWN",
        f"Command '{name}' is not a {kind} command recognized by Data API. Known {kind} "
        f"commands: {', '.join(sorted(known))}.",
    )


def _read_only_check(ws: WorkspaceState, name: str) -> None:
    """A read-only workspace: the writer's latest changes taken in (at most once a
    second), and any command but a read refused with ``WORKSPACE_READ_ONLY``."""
    if ws.read_only:
        ws.maybe_refresh()
        if name in KNOWN_COMMANDS and name not in READ_COMMANDS and name != "findCredentials":
            ws.check_writable()  # (an unknown command is answered COMMAND_UNKNOWN)


def execute_database(db: DatabaseState, command: Any, *, keyspace: str | None = None) -> Result:
    """Run a database-level (general or keyspace) command."""
    if db.closed:
        raise closed_error(db.workspace.path)
    name, body = unwrap(command)
    _read_only_check(db.workspace, name)
    if name in GENERAL:
        return GENERAL[name](db, body)
    if name in DATABASE_COMMANDS:
        return DATABASE_COMMANDS[name](db, keyspace, body)
    if name in ("createVectorIndex", "createIndex", "createTextIndex"):
        return _index_on_keyspace(db, keyspace, name, body)
    if name in COLLECTION_COMMANDS or name in TABLE_COMMANDS:
        raise DataAPIError(
            "COMMAND_UNKNOWN",
            f"Command '{name}' is a collection or table command: send it to a collection "
            "or table (over HTTP: POST /v1/<keyspace>/<name>; in Python: Collection.command "
            "or Table.command), not to the database or a keyspace.",
        )
    raise _unknown(name, "Database", {**GENERAL, **DATABASE_COMMANDS})


def _index_on_keyspace(db: DatabaseState, keyspace: str | None, name: str, body: dict
                       ) -> Result:
    """An index command sent to a keyspace, as seed 000's curl sends createVectorIndex: run
    on the one table with the column it names, with a warning that says where it belongs."""
    table = index_owner_by_column(db, keyspace, name, body)
    result = execute_collection(table, {name: body})
    warning = DataAPIError(
        "COMMAND_TARGET_INFERRED",
        f"Command '{name}' is a table command, sent to keyspace '{table.keyspace}': it ran on "
        f"table '{table.qualified_name}', the only table of the keyspace with the column it "
        f"names. Send it to the table's endpoint (/v1/{table.keyspace}/{table.name}) to say "
        "which table you mean; the Data API of Astra DB answers COMMAND_UNKNOWN here.")
    status = dict(result.status or {})
    status["warnings"] = [*status.get("warnings", []), warning.to_dict()]
    return Result(status=status, data=result.data, errors=result.errors)


def _check_usable(coll: SchemaObjectState) -> None:
    """The collection or table is neither closed with its workspace nor deleted (under its
    lock)."""
    if coll.closed:
        raise closed_error(coll.database.workspace.path)
    if coll.dropped:
        again = "createCollection" if coll.kind == "collection" else "createTable"
        raise DataAPIError(
            "UNKNOWN_COLLECTION_OR_TABLE",
            f"The command tried to get a Collection or Table {coll.name} that does not exist "
            f"in the Keyspace {coll.keyspace}: it was deleted. Create it again ({again}).",
        )


def _wrong_kind(name: str, target: SchemaObjectState) -> DataAPIError:
    table = target.kind == "table"
    return DataAPIError(
        "UNSUPPORTED_TABLE_COMMAND" if table else "UNSUPPORTED_COLLECTION_COMMAND",
        f"The command is not supported by {target.kind}s in the API. The commands supported "
        f"by tables are: {', '.join(TABLE_COMMANDS)}. The commands supported by collections "
        f"are: {', '.join(COLLECTION_COMMANDS)}. The unsupported command ran against the "
        f"{target.kind}: {target.qualified_name}. The unsupported command was: {name}. "
        "Resend using one of the supported commands.",
    )


class _request:  # noqa: N801 (a context manager, used as a function; cheaper than a generator)
    """Hold the collection's lock for one request, with that request's options set on it."""

    def __init__(self, coll: SchemaObjectState, api_key: str | None,
                 long_text: LongTextPolicy | None,
                 failure: DataAPIError | None = None) -> None:
        self.coll, self.api_key, self.long_text, self.failure = coll, api_key, long_text, failure

    def __enter__(self) -> None:
        coll = self.coll
        coll.lock.acquire()
        try:
            _check_usable(coll)
        except BaseException:
            coll.lock.release()
            raise
        coll.request_api_key = self.api_key
        coll.request_long_text = self.long_text or _NO_POLICY
        coll.request_failure = self.failure

    def __exit__(self, *exc: object) -> None:
        coll = self.coll
        coll.request_api_key = None
        coll.request_long_text = _NO_POLICY
        coll.request_failure = None
        coll.lock.release()


def _embed_ahead(coll: SchemaObjectState, name: str, body: dict, api_key: str | None,
                 long_text: LongTextPolicy | None) -> DataAPIError | None:
    """Embed an insert's ``$vectorize`` texts into the cache before it takes the collection's
    lock, so that the other commands on the collection (reads above all) do not wait on the
    provider; the insert then finds them there. How it failed, if it did: the insert reports
    it (with what else it finds wrong first), without calling the provider again."""
    if (name not in ("insertOne", "insertMany") or not isinstance(coll, CollectionState)
            or coll.settings.service is None or coll.closed or coll.dropped
            or (long_text is not None and long_text.mode != "truncate")):
        return None
    docs = body.get("documents") if name == "insertMany" else [body.get("document")]
    if not isinstance(docs, list) or len(docs) > limits.MAX_INSERT_MANY:
        return None
    try:
        prefetch_embeddings(coll, [d.get("$vectorize") for d in docs if isinstance(d, dict)],
                            api_key=api_key)
    except DataAPIError as exc:
        return exc
    except Exception:  # e.g. the workspace closed meanwhile: the insert will say so
        logger.debug("embedding an insert's texts ahead failed", exc_info=True)
    return None


def execute_collection(coll: SchemaObjectState, command: Any, *,
                       embedding_api_key: str | None = None,
                       long_text: LongTextPolicy | None = None) -> Result:
    """Run a collection-level (or table-level) command under the collection's lock.

    ``embedding_api_key`` is the Data API's ``x-embedding-api-key``: the provider key for
    this command only, in place of the collection's credential. ``long_text`` says what to do
    with ``$vectorize`` texts over the model's token limit (default: truncate, with a
    :class:`~vectorize_kit.errors.TokenLimitWarning`).
    """
    name, body = unwrap(command)
    _read_only_check(coll.database.workspace, name)
    commands, other = ((TABLE_COMMANDS, COLLECTION_COMMANDS) if isinstance(coll, TableState)
                       else (COLLECTION_COMMANDS, TABLE_COMMANDS))
    handler = commands.get(name)
    if handler is None:
        if name in other:
            raise _wrong_kind(name, coll)
        raise _unknown(name, coll.kind.title(), commands)
    failure = _embed_ahead(coll, name, body, embedding_api_key, long_text)
    with _request(coll, embedding_api_key, long_text, failure):
        return handler(coll, body)


def prefetch(coll: CollectionState, texts: list[str], *,
             embedding_api_key: str | None = None) -> None:
    """Embed ``$vectorize`` texts into the cache ahead of the commands that insert them,
    without holding the collection's lock (other commands on it do not wait meanwhile)."""
    coll.database.workspace.check_writable()
    _check_usable(coll)
    prefetch_embeddings(coll, texts, api_key=embedding_api_key)


def bulk_update(coll: CollectionState, filter: Any, update: Any, *, upsert: bool,
                embedding_api_key: str | None = None,
                long_text: LongTextPolicy | None = None) -> tuple[int, int, Any]:
    """Update every matching document in one locked write (matched, modified, upserted)."""
    coll.database.workspace.check_writable()
    with _request(coll, embedding_api_key, long_text):
        return update_all(coll, filter, update, upsert=upsert)


def bulk_delete(coll: CollectionState, filter: Any) -> int:
    """Delete every matching document in one locked write (-1 for ``{}``: all of them)."""
    coll.database.workspace.check_writable()
    with coll.lock:
        _check_usable(coll)
        return delete_all(coll, filter)


def export_documents(coll: CollectionState, filter: Any, projection: Any, *,
                     include_vector: bool = False) -> tuple[list[dict], list | None]:
    """Every matching document (projected) and, if asked, its vector, in one locked read:
    the bulk read behind ``to_pandas``, without paging."""
    coll.database.workspace.maybe_refresh()
    with coll.lock:
        _check_usable(coll)
        return export_rows(coll, filter, projection, include_vector=include_vector)


def export_rows_of_table(table: TableState, filter: Any, projection: Any) -> Any:
    """Every matching row of a table as a typed DataFrame, in one locked read."""
    table.database.workspace.maybe_refresh()
    with table.lock:
        _check_usable(table)
        return export_table(table, filter, projection)


def envelope_of(run: Any, *args: Any, **kwargs: Any) -> dict:
    """Run ``run(*args, **kwargs)`` and return the Data API envelope, never raising for a
    command error (an unexpected exception becomes ``SERVER_UNHANDLED_ERROR``)."""
    try:
        return run(*args, **kwargs).envelope()
    except DataAPIError as exc:
        return Result(errors=[exc]).envelope()
    except Exception as exc:  # a bug of ours: report it in the envelope, log the traceback
        logger.exception("unexpected error while running a command")
        err = DataAPIError(
            "SERVER_UNHANDLED_ERROR",
            f"Server failed: {type(exc).__name__}: {exc}. This is a bug in vectorize_kit: "
            "please report it with the command that caused it.",
        )
        return Result(errors=[err]).envelope()
