"""The Pythonic API: Workspace → Database → Collection, with astrapy 2.x names.

Every method builds a Data API command and runs it through the same dispatcher as
``command()``; where ``command()`` returns an error envelope, these methods raise
:class:`~vectorize_kit.errors.DataAPIError` with the same code.
"""

from __future__ import annotations

import copy
import datetime as dt
import html
import logging
import threading
import warnings
import weakref
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import limits
from .commands import (
    CollectionState,
    DatabaseState,
    Result,
    TableState,
    WorkspaceState,
    bulk_delete,
    bulk_update,
    closed_error,
    credential_name,
    envelope_of,
    execute_collection,
    execute_database,
    export_documents,
    export_rows_of_table,
    prefetch,
)
from .errors import DataAPIError, TokenLimitWarning
from .integrations import Credential
from .models import LongTextPolicy

logger = logging.getLogger("vectorize_kit")

__all__ = [
    "Table",
    "TableInsertManyResult",
    "TableInsertOneResult",
    "Collection",
    "Cursor",
    "Database",
    "DeleteResult",
    "InsertManyError",
    "InsertManyResult",
    "InsertOneResult",
    "RerankedResult",
    "UpdateResult",
    "Workspace",
    "create_collection_command",
    "create_table_command",
    "create_vector_index_command",
]


class InsertManyError(DataAPIError):
    """Some documents of an ``insert_many`` failed; the others were inserted.

    Attributes
    ----------
    inserted_ids
        The ``_id`` of every document that was inserted (for a table: the primary key of
        every row, as a dict; ``inserted_id_tuples`` has them as tuples).
    errors
        Every per-document error, in order.
    """

    def __init__(self, first: DataAPIError, inserted_ids: list[Any],
                 errors: list[DataAPIError], *, total: int) -> None:
        others = f" (and {len(errors) - 1} more errors: see .errors)" if len(errors) > 1 else ""
        super().__init__(
            first.error_code,
            f"Not every document was inserted: {len(inserted_ids)} stored (from {total} "
            f"given), {len(errors)} error(s). First error: {first.message}{others}",
            document_ids=first.document_ids,
        )
        self.inserted_ids = inserted_ids
        self.inserted_id_tuples: list[tuple] = []
        self.errors = errors


def _raise_errors(result: Result) -> Result:
    if result.errors:
        raise result.errors[0]
    return result


@dataclass(frozen=True)
class RerankedResult:
    """A document found by ``find_and_rerank`` and its scores (``$rerank``, ``$vector``,
    ``$vectorRank``, ``$bm25Rank``, ``$rrf``; empty unless ``include_scores``)."""

    document: dict
    scores: dict


@dataclass(frozen=True)
class InsertOneResult:
    inserted_id: Any


@dataclass(frozen=True)
class InsertManyResult:
    inserted_ids: list[Any]


@dataclass(frozen=True)
class UpdateResult:
    """Counts of an update: ``matched_count``, ``modified_count``, ``upserted_id``."""

    matched_count: int
    modified_count: int
    upserted_id: Any = None


@dataclass(frozen=True)
class DeleteResult:
    deleted_count: int


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


class _CallbackBar:
    """Progress reported to a function ``(done, total)`` (a widget's own progress bar)."""

    def __init__(self, report: Callable[[int, int], None], total: int) -> None:
        self._report, self._total, self._done = report, total, 0

    def update(self, n: int) -> None:
        self._done += n
        self._report(self._done, self._total)

    def close(self) -> None:
        pass


Progress = bool | Callable[[int, int], None] | None
# the codes of a remote endpoint that gave no answer (vectorize_kit.connect)
_NO_ANSWER = ("DATA_API_TIMEOUT", "DATA_API_UNREACHABLE")


def _progress(total: int, wanted: Progress, description: str) -> Any:
    """A tqdm bar (``tqdm.auto``: a widget in a notebook), a function told ``(done, total)``
    after each chunk, or a stand-in that shows nothing; ``wanted=None``: a bar for 1,000
    items or more."""
    if callable(wanted):
        return _CallbackBar(wanted, total)
    if wanted is False or (wanted is None and total < 1000):
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit="doc")


def _rewarn(found: list[warnings.WarningMessage]) -> None:
    """Warn again what a call caught, its token-limit warnings merged into one."""
    merged = None
    for w in found:
        if isinstance(w.message, TokenLimitWarning):
            merged = w.message if merged is None else merged.merged(w.message)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if merged is not None:
        warnings.warn(merged, stacklevel=3)


def _policy(value: str | LongTextPolicy | None) -> LongTextPolicy | None:
    if value is None or isinstance(value, LongTextPolicy):
        return value
    try:
        return LongTextPolicy(value)
    except ValueError as exc:
        raise DataAPIError("COMMAND_FIELD_VALUE_INVALID", f"long_text: {exc}.") from None


def _records_frame(records: list[dict], first: str | None = "_id") -> Any:
    """One row per document, ``first`` (``_id``) first, columns in first-seen order; a
    missing field is ``<NA>``; each column gets the best nullable dtype (nested values stay
    objects)."""
    import pandas as pd

    columns: dict[str, None] = {} if first is None else {first: None}
    for rec in records:
        columns.update(dict.fromkeys(rec))
    data = {
        col: pd.Series([_cell(rec.get(col)) for rec in records], dtype=object)
        for col in columns if col == first or any(col in rec for rec in records)
    }
    return pd.DataFrame(data).convert_dtypes()


def _cell(value: Any) -> Any:
    """A top-level value for a DataFrame cell: EJSON dates become UTC Timestamps."""
    if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("$date"), int):
        import pandas as pd

        return pd.Timestamp(value["$date"], unit="ms", tz="UTC")
    return value


def _missing(value: Any) -> bool:
    """NaN, NA, NaT or None (a list or array cell is never missing)."""
    import pandas as pd

    return not isinstance(value, (list, tuple, dict, np.ndarray)) and bool(pd.isna(value))


def _frame_records(frame: Any, text_column: Hashable | None, target: str, *,
                   keep: bool = False) -> list[dict]:
    """The rows of a DataFrame as documents or rows: missing values (NaN, NA, NaT) left out,
    and ``text_column`` moved (``keep``: copied) to ``target`` (``$vectorize``, or a vector
    column)."""
    if text_column is not None and text_column not in frame.columns:
        raise DataAPIError(
            "COMMAND_FIELD_VALUE_INVALID",
            f"The DataFrame has no column {text_column!r} to vectorize; its columns are "
            f"{[str(c) for c in frame.columns]}.")
    if text_column is not None:
        texts = frame[text_column]
        bad = [(label, value) for label, value in zip(frame.index, texts)
               if not isinstance(value, str) and not _missing(value)]
        if bad:
            label, value = bad[0]
            raise DataAPIError(
                "INVALID_VECTORIZE_VALUE_TYPE",
                f"Column {text_column!r} must hold text to vectorize, but {len(bad)} row(s) do "
                f"not: the first, index {label!r}, holds {value!r} (a {type(value).__name__}); "
                f"rows {[b[0] for b in bad[:10]]}. Convert them (frame[{text_column!r}]."
                "astype(str)) or drop them. Nothing was inserted.")
    records = []
    for rec in frame.to_dict("records"):
        rec = {str(k): v for k, v in rec.items() if not _missing(v)}
        key = str(text_column)
        if text_column is not None and key in rec:
            rec[target] = rec[key] if keep else rec.pop(key)
        records.append(rec)
    return records


def _uses(service: dict | None, provider: str, credential: str) -> bool:
    """Whether an embedding service uses this provider's credential."""
    service = service or {}
    key = service.get("authentication", {}).get("providerKey", "")
    return service.get("provider") == provider and credential_name(key) == credential


def _db_repr_time(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")


def create_collection_command(
    name: str, *, dimension: int | None = None, metric: str | None = None,
    service: dict | None = None, indexing: dict | None = None,
    default_id_type: str | None = None, definition: dict | None = None,
) -> dict:
    """The ``createCollection`` command that :meth:`Database.create_collection` runs for these
    arguments (what a form shows as the equivalent Data API JSON)."""
    options = copy.deepcopy(definition or {})
    vector = {k: v for k, v in (("dimension", dimension), ("metric", metric),
                                ("service", service)) if v is not None}
    if vector:
        options["vector"] = {**options.get("vector", {}), **vector}
    if indexing is not None:
        options["indexing"] = indexing
    if default_id_type is not None:
        options["defaultId"] = {"type": default_id_type}
    return {"createCollection": {"name": name, "options": options}}


def create_table_command(name: str, *, definition: dict | None = None,
                         columns: dict | None = None, primary_key: str | dict | None = None,
                         if_not_exists: bool = False) -> dict:
    """The ``createTable`` command that :meth:`Database.create_table` runs."""
    spec = copy.deepcopy(definition or {})
    if columns is not None:
        spec["columns"] = columns
    if primary_key is not None:
        spec["primaryKey"] = primary_key
    return {"createTable": {"name": name, "definition": spec,
                            "options": {"ifNotExists": if_not_exists}}}


def create_vector_index_command(name: str, column: str, *, metric: str | None = None,
                                source_model: str | None = None, options: dict | None = None,
                                if_not_exists: bool = False) -> dict:
    """The ``createVectorIndex`` command that :meth:`Table.create_vector_index` runs."""
    opts = dict(options or {})
    if metric is not None:
        opts["metric"] = metric
    if source_model is not None:
        opts["sourceModel"] = source_model
    return {"createVectorIndex": {"name": name, "definition": {"column": column, "options": opts},
                                  "options": {"ifNotExists": if_not_exists}}}


# Open workspaces of this process, by directory (and whether read-only was asked for):
# running ``vk.Workspace(path)`` again (a notebook cell run twice) gets the open one.
_OPEN: weakref.WeakValueDictionary[tuple[Path, bool], WorkspaceState] = (
    weakref.WeakValueDictionary())
_OPEN_LOCK = threading.Lock()


class Workspace:
    """An organisation-like workspace of databases, kept in a directory or in memory.

    Parameters
    ----------
    path
        A directory (created if missing) where everything is stored durably, or ``None`` to
        keep everything in memory.
    sync
        Keyword-only. fsync every acknowledged write (the default), so that it survives a
        crash of the process or the machine. ``False`` is faster and still survives a crash
        of the process.

    hf_endpoint
        Keyword-only. The base URL of the Hugging Face API (default: the Hugging Face router,
        or ``$VECTORIZE_KIT_HF_ENDPOINT``), e.g. a loopback endpoint started with
        ``vectorize-kit hf-endpoint`` for offline work.

    read_only
        Keyword-only. ``None`` (default): open the directory for writing, or read-only if
        another process holds it for writing (said in one log line and in the repr);
        ``True``: read-only; ``False``: for writing, or ``WORKSPACE_LOCKED``.

    One process at a time holds a directory for writing; others open it read-only. A
    read-only workspace sees what the writer has acknowledged (its databases, collections,
    tables, documents, rows, schema changes, credentials' names and scopes), taken in by its
    commands at most a second late, and at once by :meth:`refresh`; every write through it
    fails with ``WORKSPACE_READ_ONLY``, which says which process holds it. When the writer
    ends (even killed), the next ``Workspace(path)`` may write. Within a process,
    ``Workspace(path)`` again shares the open workspace (and its first options).

    Examples
    --------
    >>> ws = Workspace()
    >>> db = ws.create_database("demo")
    >>> db.name
    'demo'
    """

    def __init__(self, path: str | Path | None = None, *, sync: bool = True,
                 hf_endpoint: str | None = None, read_only: bool | None = None) -> None:
        endpoints = {"huggingface": hf_endpoint} if hf_endpoint else None
        if path is None:
            if read_only:
                raise ValueError("an in-memory workspace (path=None) can not be read-only")
            self._state = WorkspaceState(None, sync=sync, endpoints=endpoints)
            return
        resolved = Path(path).expanduser().resolve()
        key = (resolved, read_only is True)
        with _OPEN_LOCK:
            state = _OPEN.get(key)
            if (state is None or state.closed
                    or (read_only is False and state.read_only)
                    # read-only because of a writer that has gone since: write now
                    or (read_only is None and state.read_only
                        and not WorkspaceState.held(resolved))):
                state = WorkspaceState(resolved, sync=sync, endpoints=endpoints,
                                       read_only=read_only)
                _OPEN[key] = state
                # a workspace nobody refers to any more gives its directory back
                weakref.finalize(state, state.catalog.close)
                holder = state.catalog.holder
                if holder is not None:
                    logger.warning(
                        "The workspace at '%s' is held for writing by process %s on %s (since "
                        "%s): opened read-only here. Its writes show here within a second, or "
                        "at once after refresh(); writes from here are refused.", resolved,
                        holder.get("pid"), holder.get("host"), holder.get("since"))
        self._state = state

    @property
    def read_only(self) -> bool:
        """Whether this process may only read the workspace (another one holds it for
        writing, or ``read_only=True`` was asked for)."""
        return self._state.read_only

    def refresh(self) -> None:
        """Take in, now, every change that the process holding the workspace for writing
        has acknowledged (a read-only workspace's commands do it at most a second late on
        their own). A workspace that may write has nothing to take in."""
        self._state.check_open()
        self._state.refresh()

    @property
    def path(self) -> Path | None:
        return self._state.path

    @property
    def integrations(self) -> WorkspaceIntegrations:
        """Embedding provider credentials and their scoped databases (Astra's
        Settings → Integrations)."""
        return WorkspaceIntegrations(self._state)

    def create_database(self, name: str, *, created_at: dt.datetime | None = None) -> Database:
        """Create a database (with its ``default_keyspace``).

        Parameters
        ----------
        name
            1 to 50 letters, digits, ``_`` or ``-``, starting and ending with a letter or digit.
        created_at
            Keyword-only; the creation date (now by default). A database created before
            2024-06-24 holds at most 5 collections, later ones 10, as in Astra DB.
        """
        self._state.check_open()
        return Database(self._state.create_database(name, created_at=created_at))

    def get_database(self, name: str) -> Database:
        """The database with this name (or id); ``UNKNOWN_DATABASE`` if there is none."""
        self._state.check_open()
        self._state.maybe_refresh()
        return Database(self._state.find_database(name))

    def list_database_names(self) -> list[str]:
        self._state.maybe_refresh()
        return sorted(db.name for db in self._state.databases.values())

    def drop_database(self, name: str) -> None:
        """Delete a database and everything in it."""
        self._state.check_open()
        self._state.drop_database(name)

    def close(self) -> None:
        """Compact each collection's log into a snapshot (for a fast reopen) and release the
        workspace's files, so that another Workspace may open the path. Closing twice is
        fine; any later use of this workspace's objects raises ``WORKSPACE_CLOSED``."""
        if not self._state.closed:
            self._state.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read_only_note(self) -> str:
        """``""``, or how this workspace is read-only."""
        if not self.read_only:
            return ""
        holder = self._state.catalog.holder
        if holder is None:
            return "read-only"
        return f"read-only: process {holder.get('pid')} on {holder.get('host')} writes"

    def __repr__(self) -> str:
        where = "in memory" if self.path is None else f"at {str(self.path)!r}"
        note = self._read_only_note()
        return (f"Workspace({where}, {note + ', ' if note else ''}"
                f"databases={self.list_database_names()})")

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(db.name)}</td><td><code>{db.id}</code></td>"
            f"<td>{_db_repr_time(db.created_at)}</td><td>{db.collection_count()}/"
            f"{db.max_collections}</td></tr>"
            for db in self._state.databases.values()
        )
        where = "in memory" if self.path is None else html.escape(str(self.path))
        note = self._read_only_note()
        where += f" <i>({html.escape(note)})</i>" if note else ""
        return (f"<b>Workspace</b> {where}<table><tr><th>database</th><th>id</th>"
                f"<th>created</th><th>collections</th></tr>{rows}</table>")


class WorkspaceIntegrations:
    """Credentials of the external embedding providers and the databases in their scopes.

    The portal's Settings → Integrations, in code (seed 000 steps 7–10, seed 002). Databases
    may be given as :class:`Database` objects, names or ids. Tokens are kept in the
    workspace's ``secrets.json`` (readable by the user only) and never shown.
    """

    def __init__(self, state: WorkspaceState) -> None:
        self._state = state

    def _ids(self, databases: Any) -> list[str]:
        self._state.check_open()
        if isinstance(databases, (str, Database)):
            databases = [databases]
        return [d.id if isinstance(d, Database) else self._state.find_database(d).id
                for d in databases]

    def list_credentials(self, provider: str = "huggingface") -> list[Credential]:
        """The provider's credentials (name, scoped database ids), by name."""
        return self._state.integrations.credentials(provider)

    def add_credential(self, provider: str, name: str, token: str, *,
                       databases: Any = ()) -> Credential:
        """Add a credential (a user access token) and up to 10 databases to its scope.

        Names follow the seed: 2 to 50 letters, numbers, underscores and hyphens, starting and
        ending with a letter or number, unique within the provider; they never change.
        """
        return self._state.integrations.add(provider, name, token, self._ids(databases))

    def remove_credential(self, provider: str, name: str) -> Credential:
        """Remove a credential. Vectorize stops at once for every collection that uses it
        (see :meth:`collections_using`) until a credential with the same name, and their
        databases in its scope, is added again."""
        self._state.check_open()
        return self._state.integrations.remove(provider, name)

    def rotate_credential(self, provider: str, name: str, token: str) -> Credential:
        """Replace a credential's token, keeping its name and scoped databases (the seed's
        "Rotate credentials": remove, then add with the same name and scope), in one step:
        no command sees it missing, and a bad token changes nothing."""
        self._state.check_open()
        return self._state.integrations.rotate(provider, name, token)

    def add_scoped_databases(self, provider: str, name: str, databases: Any) -> Credential:
        """Add up to 10 databases to a credential's scope (repeat for more)."""
        return self._state.integrations.add_scope(provider, name, self._ids(databases))

    def remove_scoped_databases(self, provider: str, name: str, databases: Any) -> Credential:
        """Remove databases from a credential's scope."""
        return self._state.integrations.remove_scope(provider, name, self._ids(databases))

    def available_credentials(self, provider: str, database: Any) -> list[str]:
        """Names of the provider's credentials whose scope holds ``database``."""
        (db_id,) = self._ids(database)
        return self._state.integrations.in_scope(provider, db_id)

    def observe(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every change of a credential or a scope, made here or
        through any other object of this workspace (the widgets use it to stay current). A
        bound method is held weakly (it goes when its object does); a function is kept."""
        self._state.integrations.observe(callback)

    def collections_using(self, provider: str, name: str) -> list[str]:
        """``database/keyspace.collection`` of every collection, and
        ``database/keyspace.table.column`` of every table's vector column, using the
        credential."""
        found = []
        for db in self._state.databases.values():
            for objs in db.keyspaces.values():
                for state in objs.values():
                    if isinstance(state, TableState):
                        services = {f"{state.qualified_name}.{n}": c.get("service")
                                    for n, c in state.schema["columns"].items()}
                    else:
                        services = {state.qualified_name: state.settings.service}
                    found += [f"{db.name}/{where}" for where, service in services.items()
                              if _uses(service, provider, name)]
        return sorted(found)

    def __repr__(self) -> str:
        return repr(self._state.integrations)


class Database:
    """A database: keyspaces of collections. Get one from :class:`Workspace`."""

    def __init__(self, state: DatabaseState) -> None:
        self._state = state

    @property
    def id(self) -> str:
        return self._state.id

    @property
    def name(self) -> str:
        return self._state.name

    @property
    def created_at(self) -> dt.datetime:
        return self._state.created_at

    def command(self, cmd: dict, *, keyspace: str | None = None) -> dict:
        """Run a Data API database or keyspace command; return the response envelope.

        Never raises for a command error: the envelope's ``errors`` says what went wrong.
        ``keyspace`` defaults to ``default_keyspace``.
        """
        return envelope_of(self._exec, cmd, keyspace)

    def _exec(self, cmd: dict, keyspace: str | None = None) -> Result:
        """Run a command (raises for a failed command): the one way commands go out."""
        return execute_database(self._state, cmd, keyspace=keyspace)

    def _run(self, cmd: dict, keyspace: str | None = None) -> Result:
        return _raise_errors(self._exec(cmd, keyspace))

    # -- keyspaces ---------------------------------------------------------------------------
    def create_keyspace(self, name: str) -> None:
        self._run({"createKeyspace": {"name": name}})

    def list_keyspaces(self) -> list[str]:
        return self._run({"findKeyspaces": {}}).status["keyspaces"]  # type: ignore[index]

    def drop_keyspace(self, name: str) -> None:
        self._run({"dropKeyspace": {"name": name}})

    # -- collections -------------------------------------------------------------------------
    def create_collection(
        self,
        name: str,
        *,
        keyspace: str | None = None,
        dimension: int | None = None,
        metric: str | None = None,
        service: dict | None = None,
        indexing: dict | None = None,
        default_id_type: str | None = None,
        definition: dict | None = None,
        embedding_api_key: str | None = None,
    ) -> Collection:
        """Create a collection (or get it, if one with the same settings exists).

        Parameters
        ----------
        dimension, metric, service
            The vector settings (``metric``: cosine, dot_product or euclidean).
        indexing
            ``{"allow": [...]}`` or ``{"deny": [...]}``.
        default_id_type
            ``uuid``, ``uuidv6``, ``uuidv7`` or ``objectId``.
        definition
            The raw createCollection ``options`` object, instead of the keywords.
        embedding_api_key
            A provider key for the returned object's commands (see :meth:`get_collection`).

        Examples
        --------
        A collection that embeds ``$vectorize`` text with the local model:

        >>> coll = db.create_collection(  # doctest: +SKIP
        ...     "notes", service={"provider": "local",
        ...                       "modelName": "sentence-transformers/all-MiniLM-L6-v2"})
        """
        self._run(create_collection_command(
            name, dimension=dimension, metric=metric, service=service, indexing=indexing,
            default_id_type=default_id_type, definition=definition), keyspace)
        return self.get_collection(name, keyspace=keyspace,
                                   embedding_api_key=embedding_api_key)

    def get_collection(self, name: str, *, keyspace: str | None = None,
                       embedding_api_key: str | None = None,
                       long_text: str | LongTextPolicy | None = None) -> Collection:
        """The collection ``name``; ``UNKNOWN_COLLECTION_OR_TABLE`` if it does not exist.

        ``embedding_api_key`` (the Data API's ``x-embedding-api-key``) is sent with every
        command of the returned object, in place of the collection's credential;
        ``long_text`` is its default policy for over-long ``$vectorize`` texts.
        """
        if self._state.closed:
            raise closed_error(self._state.workspace.path)
        state = _resolve(self._state, keyspace or limits.DEFAULT_KEYSPACE, name,
                         CollectionState)
        return Collection(self._state, state.keyspace, name,
                          embedding_api_key=embedding_api_key, long_text=long_text)

    def list_collection_names(self, *, keyspace: str | None = None) -> list[str]:
        return self._run({"findCollections": {}}, keyspace).status["collections"]  # type: ignore

    def list_collections(self, *, keyspace: str | None = None) -> list[dict]:
        """``{"name": ..., "options": ...}`` for each collection (findCollections, explain)."""
        result = self._run({"findCollections": {"options": {"explain": True}}}, keyspace)
        return result.status["collections"]  # type: ignore[index]

    def collection_slots(self) -> tuple[int, int]:
        """``(used, limit)``: the collections of every keyspace, and how many the database may
        hold (seed 000: about 10, or 5 for databases created before 2024-06-24; tables do not
        count)."""
        return self._state.collection_count(), self._state.max_collections

    def drop_collection(self, name: str, *, keyspace: str | None = None) -> None:
        self._run({"deleteCollection": {"name": name}}, keyspace)

    # -- tables ------------------------------------------------------------------------------
    def create_table(
        self,
        name: str,
        *,
        definition: dict | None = None,
        columns: dict | None = None,
        primary_key: str | dict | None = None,
        keyspace: str | None = None,
        if_not_exists: bool = False,
        embedding_api_key: str | None = None,
    ) -> Table:
        """Create a table of typed rows.

        Parameters
        ----------
        definition
            ``{"columns": {...}, "primaryKey": ...}`` as the createTable command takes it; or
            give ``columns`` and ``primary_key`` instead.
        columns
            ``name -> type``: ``"text"``, ``{"type": "int"}``, ``{"type": "set", "valueType":
            "text"}``, ``{"type": "vector", "dimension": 384}``, or a vector column with a
            vectorize ``service`` (its dimension may be left out).
        primary_key
            A column name, or ``{"partitionBy": [...], "partitionSort": {col: 1 | -1}}``.
        if_not_exists
            An existing table of that name is fine (it is returned as it is).

        Examples
        --------
        The seed's table: a text key and a vector column that embeds text with the local model

        >>> table = db.create_table("books", columns={  # doctest: +SKIP
        ...     "title": "text",
        ...     "embedding": {"type": "vector", "service": {
        ...         "provider": "local",
        ...         "modelName": "sentence-transformers/all-MiniLM-L6-v2"}}},
        ...     primary_key="title")
        """
        self._run(create_table_command(name, definition=definition, columns=columns,
                                       primary_key=primary_key, if_not_exists=if_not_exists),
                  keyspace)
        return self.get_table(name, keyspace=keyspace, embedding_api_key=embedding_api_key)

    def get_table(self, name: str, *, keyspace: str | None = None,
                  embedding_api_key: str | None = None,
                  long_text: str | LongTextPolicy | None = None) -> Table:
        """The table ``name``; ``UNKNOWN_COLLECTION_OR_TABLE`` if it does not exist.
        ``embedding_api_key`` and ``long_text`` as for :meth:`get_collection` (``"chunk"`` is
        for collections: a table row has one primary key)."""
        if self._state.closed:
            raise closed_error(self._state.workspace.path)
        state = _resolve(self._state, keyspace or limits.DEFAULT_KEYSPACE, name, TableState)
        return Table(self._state, state.keyspace, name, embedding_api_key=embedding_api_key,
                     long_text=long_text)

    def list_table_names(self, *, keyspace: str | None = None) -> list[str]:
        return self._run({"listTables": {}}, keyspace).status["tables"]  # type: ignore

    def list_tables(self, *, keyspace: str | None = None) -> list[dict]:
        """``{"name": ..., "definition": ...}`` for each table (listTables, explain)."""
        result = self._run({"listTables": {"options": {"explain": True}}}, keyspace)
        return result.status["tables"]  # type: ignore[index]

    def drop_table(self, name: str, *, keyspace: str | None = None,
                   if_exists: bool = False) -> None:
        """Delete a table and its rows."""
        self._run({"dropTable": {"name": name, "options": {"ifExists": if_exists}}}, keyspace)

    def drop_table_index(self, name: str, *, keyspace: str | None = None,
                         if_exists: bool = False) -> None:
        """Delete an index (regular or vector) of a table in the keyspace."""
        self._run({"dropIndex": {"name": name, "options": {"ifExists": if_exists}}}, keyspace)

    # -- user-defined types ------------------------------------------------------------------
    def create_type(self, name: str, *, fields: dict, keyspace: str | None = None,
                    if_not_exists: bool = False) -> None:
        """Create a user-defined type: ``fields`` maps each field name to a scalar type
        (``"text"`` or ``{"type": "text"}``), in order.  Tables use it as a column,
        ``{"type": "userDefined", "udtName": name}``, or as the values of a list, set or map.

        Examples
        --------
        >>> db.create_type("address", fields={"city": "text", "zip": "text"})  # doctest: +SKIP
        """
        body: dict[str, Any] = {"name": name, "definition": {"fields": fields}}
        if if_not_exists:
            body["options"] = {"ifNotExists": True}
        self._run({"createType": body}, keyspace)

    def alter_type(self, name: str, *, add: dict | None = None, rename: dict | None = None,
                   keyspace: str | None = None) -> None:
        """Add fields (``add``: name -> type, appended) and/or rename fields (``rename``: old
        name -> new name; values keep their place).  Every table using the type sees the
        change at once."""
        body: dict[str, Any] = {"name": name}
        if rename:
            body["rename"] = {"fields": rename}
        if add:
            body["add"] = {"fields": add}
        self._run({"alterType": body}, keyspace)

    def drop_type(self, name: str, *, keyspace: str | None = None,
                  if_exists: bool = False) -> None:
        """Delete a user-defined type no table uses."""
        self._run({"dropType": {"name": name, "options": {"ifExists": if_exists}}}, keyspace)

    def list_type_names(self, *, keyspace: str | None = None) -> list[str]:
        return self._run({"listTypes": {}}, keyspace).status["types"]  # type: ignore

    def list_types(self, *, keyspace: str | None = None) -> list[dict]:
        """Each type as listTypes explains it: ``{"type": "userDefined", "udtName": ...,
        "definition": {"fields": {...}}, "apiSupport": {...}}``."""
        result = self._run({"listTypes": {"options": {"explain": True}}}, keyspace)
        return result.status["types"]  # type: ignore[index]

    def __repr__(self) -> str:
        return f"Database(name={self.name!r}, id={self.id!r})"

    def _repr_html_(self) -> str:
        st = self._state
        rows = "".join(
            f"<tr><td>{html.escape(ks)}</td><td>{html.escape(name)}</td><td>{c.kind}</td>"
            f"<td>{len(c.store)}</td><td>{html.escape(_vector_summary(c))}</td></tr>"
            for ks, colls in sorted(st.keyspaces.items()) for name, c in sorted(colls.items())
        )
        return (f"<b>Database</b> {html.escape(self.name)} <code>{self.id}</code>, created "
                f"{_db_repr_time(self.created_at)}, {st.collection_count()}/"
                f"{st.max_collections} collections<table><tr><th>keyspace</th>"
                f"<th>name</th><th>kind</th><th>documents / rows</th><th>vectors</th></tr>"
                f"{rows}</table>")


class _Handle:
    """What collections and tables share: a name-resolved handle that runs commands.

    Like an astrapy collection or table, the object is a name: each call finds the object
    anew, so a handle keeps working after it is dropped and created again.
    """

    _kind: type = CollectionState
    _noun = "documents"

    def __init__(self, database: DatabaseState, keyspace: str, name: str, *,
                 embedding_api_key: str | None = None,
                 long_text: str | LongTextPolicy | None = None) -> None:
        self._database = database
        self._keyspace = keyspace
        self._name = name
        self._api_key = embedding_api_key  # never shown: not in any repr
        self._long_text = _policy(long_text)
        self._key_schema: dict | None = None  # a table's primaryKeySchema, once seen

    @property
    def _state(self) -> Any:
        if self._database.closed:
            raise closed_error(self._database.workspace.path)
        return _resolve(self._database, self._keyspace, self._name, self._kind)

    @property
    def name(self) -> str:
        return self._name

    @property
    def keyspace(self) -> str:
        return self._keyspace

    @property
    def database(self) -> Database:
        """The database this collection or table is in."""
        return Database(self._database)

    @property
    def data_version(self) -> tuple[int, int]:
        """Changes with every write to the collection or table, and when it is dropped and
        created anew: a key to cache what is derived from its data (maps, statistics)."""
        return self._state.store.data_key

    def command(self, cmd: dict, *, embedding_api_key: str | None = None,
                long_text: str | LongTextPolicy | None = None) -> dict:
        """Run a Data API command on this collection or table; return the envelope (never
        raises for a command error). ``embedding_api_key`` is the ``x-embedding-api-key``
        header; ``long_text`` what to do with texts over the model's token limit
        (:class:`~vectorize_kit.models.LongTextPolicy`)."""
        return envelope_of(self._exec, cmd, api_key=embedding_api_key, long_text=long_text)

    def _exec(self, cmd: dict, *, api_key: str | None = None,
              long_text: str | LongTextPolicy | None = None) -> Result:
        """Run a command (raises for a failed command; a Result may still carry the errors
        of some documents): the one way commands go out."""
        return execute_collection(self._state, cmd, embedding_api_key=api_key or self._api_key,
                                  long_text=_policy(long_text) or self._long_text)

    def _run(self, cmd: dict, long_text: str | LongTextPolicy | None = None) -> Result:
        return _raise_errors(self._exec(cmd, long_text=long_text))

    def _insert_chunks(self, documents: list, ordered: bool, chunk_size: int,
                       policy: LongTextPolicy | None, bar: Any
                       ) -> tuple[list[Any], list[DataAPIError]]:
        inserted: list[Any] = []
        errors: list[DataAPIError] = []
        for start in range(0, len(documents), chunk_size):
            chunk = documents[start : start + chunk_size]
            try:
                result = self._exec({"insertMany": {
                    "documents": chunk,
                    "options": {"ordered": ordered, "returnDocumentResponses": True}}},
                    long_text=policy)
            except DataAPIError as exc:  # the whole chunk was refused; nothing of it stored
                bar.update(len(chunk))
                where = f"{self._noun} {start} to {start + len(chunk) - 1}"
                # a remote endpoint that did not answer: the chunk may have been stored, and
                # the next chunks would wait in vain too
                lost = exc.error_code in _NO_ANSWER
                fate = ("whether they were inserted is not known, and the rest of this "
                        "insert_many was not sent" if lost else "none of them was inserted")
                errors.append(DataAPIError(exc.error_code, f"{exc.message} (in {where} of this "
                                           f"insert_many: {fate})",
                                           document_ids=exc.document_ids, scope=exc.scope))
                if ordered or lost:
                    break
                continue
            bar.update(len(chunk))  # the bar counts what has been through the store
            inserted += [row["_id"] for row in result.status["documentResponses"]  # type: ignore
                         if row["status"] == "OK"]
            self._key_schema = (result.status or {}).get("primaryKeySchema",
                                                         self._key_schema)
            errors.extend(result.errors)
            if result.errors and ordered:
                break
        return inserted, errors

    def find(self, filter: dict | None = None, *, projection: dict | None = None,
             sort: dict | None = None, limit: int | None = None, skip: int | None = None,
             include_similarity: bool = False, include_sort_vector: bool = False) -> Cursor:
        """A cursor over the matching documents or rows (pages of 20 are fetched as you
        iterate)."""
        body: dict[str, Any] = {"filter": filter or {}}
        if projection is not None:
            body["projection"] = projection
        if sort:
            body["sort"] = sort
        options: dict[str, Any] = {}
        if limit:
            options["limit"] = limit
        if skip is not None:
            options["skip"] = skip
        if include_similarity:
            options["includeSimilarity"] = True
        if include_sort_vector:
            options["includeSortVector"] = True
        body["options"] = options
        return Cursor(self, body)

    def find_one(self, filter: dict | None = None, *, projection: dict | None = None,
                 sort: dict | None = None, include_similarity: bool = False) -> dict | None:
        body: dict[str, Any] = {"filter": filter or {}}
        if projection is not None:
            body["projection"] = projection
        if sort:
            body["sort"] = sort
        if include_similarity:
            body["options"] = {"includeSimilarity": True}
        return self._run({"findOne": body}).data["document"]  # type: ignore[index]

    def count_documents(self, filter: dict | None = None, *, upper_bound: int) -> int:
        """Count matching documents or rows; ``TOO_MANY_DOCUMENTS_TO_COUNT`` above
        ``upper_bound`` or above the server's cap of 1000 (as astrapy)."""
        status = self._run({"countDocuments": {"filter": filter or {}}}).status or {}
        count = status["count"]
        if status.get("moreData") or count > upper_bound:
            bound = min(upper_bound, limits.MAX_COUNT) if status.get("moreData") else upper_bound
            raise DataAPIError(
                "TOO_MANY_DOCUMENTS_TO_COUNT",
                f"More than {bound} match (upper_bound={upper_bound}; the server counts "
                f"exactly up to {limits.MAX_COUNT}). Narrow the filter, raise upper_bound, or "
                "use estimated_document_count() for a total.",
            )
        return count

    def estimated_document_count(self) -> int:
        return self._run({"estimatedDocumentCount": {}}).status["count"]  # type: ignore[index]

    def __len__(self) -> int:
        return self.estimated_document_count()


def _resolve(database: DatabaseState, keyspace: str, name: str, kind: type) -> Any:
    """The collection (``kind`` CollectionState) or table (TableState) ``name``; a clear
    error when it is missing or is the other kind."""
    state = database.collection(keyspace, name)  # UNKNOWN_COLLECTION_OR_TABLE if missing
    if not isinstance(state, kind):
        wanted, found = (("collection", "table") if kind is CollectionState
                         else ("table", "collection"))
        raise DataAPIError(
            "UNKNOWN_COLLECTION_OR_TABLE",
            f"'{keyspace}.{name}' is a {found}, not a {wanted}: open it with "
            f"Database.get_{found}('{name}').",
        )
    return state


def _vector_summary(state: CollectionState | TableState) -> str:
    if isinstance(state, CollectionState):
        return str(state.settings.vector or "-")
    return ", ".join(f"{n}: {c.get('dimension')}" + (
        f" ({c['service']['modelName']})" if c.get("service") else "")
        for n, c in state.schema["columns"].items() if c["type"] == "vector") or "-"


class Collection(_Handle):
    """A collection of JSON documents. Get one from :meth:`Database.get_collection`."""

    def options(self) -> dict:
        """The collection's options, as findCollections with explain shows them (a copy)."""
        return copy.deepcopy(self._state.settings.options)

    # -- writes ------------------------------------------------------------------------------
    def insert_one(self, document: dict, *,
                   long_text: str | LongTextPolicy | None = None) -> InsertOneResult:
        """Insert one document (``$vector`` may be a list, ``{"$binary": ...}`` or a numpy
        array). With ``long_text="chunk"``, a long ``$vectorize`` text may be stored as
        several documents: ``inserted_id`` is then the first one's."""
        result = self._run({"insertOne": {"document": document}}, long_text)
        return InsertOneResult(result.status["insertedIds"][0])  # type: ignore[index]

    def insert_many(self, documents: Iterable[dict], *, ordered: bool = False,
                    chunk_size: int = limits.MAX_INSERT_MANY,
                    progress: Progress = None,
                    long_text: str | LongTextPolicy | None = None) -> InsertManyResult:
        """Insert documents in chunks of at most 100 (one insertMany command each).

        Unordered (the default) inserts every document it can and then raises
        :class:`InsertManyError` listing the failures; ordered stops at the first failure.

        Parameters
        ----------
        progress
            Show a progress bar (a widget in Jupyter, text elsewhere). By default, for inserts
            of 1,000 documents or more, or of 100 or more with ``$vectorize`` texts to embed.
            ``TQDM_DISABLE=1`` turns bars off globally. A function is called with ``(done,
            total)`` after each chunk instead.
        long_text
            What to do with ``$vectorize`` texts over the model's token limit: ``"truncate"``
            (default: a :class:`~vectorize_kit.errors.TokenLimitWarning`, and the model embeds
            their beginning), ``"error"``, or ``"chunk"`` (split into several documents with
            ``parent_id`` and ``chunk_index``); or a
            :class:`~vectorize_kit.models.LongTextPolicy` for the chunks' size and overlap.
        """
        if not 1 <= chunk_size <= limits.MAX_INSERT_MANY:
            raise DataAPIError(
                "COMMAND_FIELD_VALUE_INVALID",
                f"chunk_size must be 1 to {limits.MAX_INSERT_MANY}, not {chunk_size!r}.")
        documents = list(documents)
        policy = _policy(long_text) or self._long_text
        texts = [d["$vectorize"] for d in documents
                 if isinstance(d, dict) and isinstance(d.get("$vectorize"), str)]
        show = progress if progress is not None else len(texts) >= 100 or None
        bar = _progress(len(documents), show, f"insert_many into {self.name}")
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", TokenLimitWarning)
                if len(texts) > chunk_size and (policy is None or policy.mode == "truncate"):
                    # embed the whole call's texts at once, in parallel requests, so that the
                    # chunks find them in the cache instead of each waiting on the provider
                    # (chunked or refused texts are not embedded whole)
                    self._prefetch(texts)
                inserted, errors = self._insert_chunks(documents, ordered, chunk_size, policy,
                                                       bar)
        finally:
            bar.close()
        _rewarn(caught)  # one TokenLimitWarning for the call, not one per chunk
        if errors:
            raise InsertManyError(errors[0], inserted, errors, total=len(documents))
        return InsertManyResult(inserted)

    def _prefetch(self, texts: list[str]) -> None:
        """Embed the texts of a whole insert_many at once, in parallel requests, so that its
        100-document chunks find them in the cache instead of each waiting on the provider
        (a failure is left to the chunks, which report it per document)."""
        try:
            prefetch(self._state, texts, embedding_api_key=self._api_key)
        except DataAPIError:
            pass

    def insert_dataframe(self, frame: Any, *, vectorize_column: Hashable | None = None,
                         ordered: bool = False, progress: Progress = None,
                         long_text: str | LongTextPolicy | None = None) -> InsertManyResult:
        """Insert a DataFrame's rows as documents (:meth:`insert_many`); missing values are
        left out, and ``vectorize_column``'s text becomes each document's ``$vectorize``."""
        return self.insert_many(_frame_records(frame, vectorize_column, "$vectorize"),
                                ordered=ordered, progress=progress, long_text=long_text)

    def update_one(self, filter: dict, update: dict, *, sort: dict | None = None,
                   upsert: bool = False,
                   long_text: str | LongTextPolicy | None = None) -> UpdateResult:
        body: dict[str, Any] = {"filter": filter, "update": update, "options": {"upsert": upsert}}
        if sort:
            body["sort"] = sort
        return self._update_result(self._run({"updateOne": body}, long_text).status)

    @staticmethod
    def _update_result(status: Any) -> UpdateResult:
        return UpdateResult(status["matchedCount"], status["modifiedCount"],
                            status.get("upsertedId"))

    def update_many(self, filter: dict, update: dict, *, upsert: bool = False,
                    long_text: str | LongTextPolicy | None = None) -> UpdateResult:
        """Update every matching document, in one write (the updateMany command, through
        :meth:`command`, pages by 20 as the Data API does)."""
        matched, modified, upserted = bulk_update(
            self._state, filter, update, upsert=upsert, embedding_api_key=self._api_key,
            long_text=_policy(long_text) or self._long_text)
        return UpdateResult(matched, modified, upserted)

    def replace_one(self, filter: dict, replacement: dict, *, sort: dict | None = None,
                    upsert: bool = False) -> UpdateResult:
        body: dict[str, Any] = {"filter": filter, "replacement": replacement,
                                "options": {"upsert": upsert}}
        if sort:
            body["sort"] = sort
        return self._update_result(self._run({"findOneAndReplace": body}).status)

    def find_one_and_update(self, filter: dict, update: dict, *, sort: dict | None = None,
                            projection: dict | None = None, upsert: bool = False,
                            return_document: str = "before") -> dict | None:
        return self._find_one_and("findOneAndUpdate", "update", filter, update, sort,
                                  projection, upsert, return_document)

    def find_one_and_replace(self, filter: dict, replacement: dict, *, sort: dict | None = None,
                             projection: dict | None = None, upsert: bool = False,
                             return_document: str = "before") -> dict | None:
        return self._find_one_and("findOneAndReplace", "replacement", filter, replacement,
                                  sort, projection, upsert, return_document)

    def _find_one_and(self, name: str, key: str, filter: dict, value: dict, sort: Any,
                      projection: Any, upsert: bool, return_document: str) -> dict | None:
        body: dict[str, Any] = {"filter": filter, key: value,
                                "options": {"upsert": upsert, "returnDocument": return_document}}
        if sort:
            body["sort"] = sort
        if projection is not None:
            body["projection"] = projection
        return self._run({name: body}).data["document"]  # type: ignore[index]

    def find_and_rerank(self, filter: dict | None = None, *, sort: dict,
                        projection: dict | None = None, limit: int | None = None,
                        hybrid_limits: int | dict | None = None,
                        include_scores: bool = False, rerank_on: str | None = None,
                        rerank_query: str | None = None) -> list[RerankedResult]:
        """Hybrid search: vector and lexical candidates fused, then reranked (offline, on the
        local model), best first, e.g. ``sort={"$hybrid": "waterproof boots"}``."""
        options: dict[str, Any] = {"includeScores": include_scores}
        for key, value in (("limit", limit), ("hybridLimits", hybrid_limits),
                           ("rerankOn", rerank_on), ("rerankQuery", rerank_query)):
            if value is not None:
                options[key] = value
        body: dict[str, Any] = {"filter": filter or {}, "sort": sort, "options": options}
        if projection is not None:
            body["projection"] = projection
        result = self._run({"findAndRerank": body})
        docs = result.data["documents"]  # type: ignore[index]
        scores = (result.status or {}).get("documentResponses") or [{}] * len(docs)
        return [RerankedResult(d, s.get("scores", {})) for d, s in zip(docs, scores)]

    def find_one_and_delete(self, filter: dict, *, sort: dict | None = None,
                            projection: dict | None = None) -> dict | None:
        body: dict[str, Any] = {"filter": filter}
        if sort:
            body["sort"] = sort
        if projection is not None:
            body["projection"] = projection
        return self._run({"findOneAndDelete": body}).data["document"]  # type: ignore[index]

    def delete_one(self, filter: dict, *, sort: dict | None = None) -> DeleteResult:
        body: dict[str, Any] = {"filter": filter}
        if sort:
            body["sort"] = sort
        return DeleteResult(self._run({"deleteOne": body}).status["deletedCount"])  # type: ignore

    def delete_many(self, filter: dict) -> DeleteResult:
        """Delete every matching document, in one write; ``{}`` empties the collection
        (deleted_count -1, as in astrapy). The deleteMany command pages by 20."""
        return DeleteResult(bulk_delete(self._state, filter))

    # -- reads -------------------------------------------------------------------------------
    def distinct(self, key: str, *, filter: dict | None = None) -> list[Any]:
        """The distinct values of ``key`` (arrays contribute their elements)."""
        from .store.paths import resolve, split_path
        from .values import canon

        seen: dict[Any, Any] = {}
        segs = split_path(key)
        for doc in self.find(filter, projection={key: 1}):
            for value in resolve(doc, segs):
                for item in value if isinstance(value, list) else [value]:
                    seen.setdefault(canon(item), item)
        return list(seen.values())

    def to_pandas(self, filter: dict | None = None, *, projection: dict | None = None,
                  include_vector: bool = False) -> Any:
        """A DataFrame with one row per matching document, ``_id`` first.

        Top-level fields become columns (nested objects and arrays stay Python objects in
        their cell, ``{"$date": ...}`` becomes a UTC Timestamp); a field a document lacks is
        ``<NA>`` (``None`` in an object column); each column gets the best nullable dtype
        (``Int64``, ``Float64``, ``string``, ``boolean``, datetime or ``object``).
        ``projection`` may be a list of field names (astrapy's short form).
        With ``include_vector``, the ``$vector`` column holds float32 numpy arrays.
        """
        import pandas as pd

        if isinstance(projection, (list, tuple)):
            projection = dict.fromkeys(projection, 1)
        records, vectors = export_documents(self._state, filter, projection,
                                            include_vector=include_vector)
        frame = _records_frame(records)
        if vectors is not None:
            frame["$vector"] = pd.Series(vectors, dtype=object, index=frame.index)
        return frame

    def drop(self) -> None:
        """Delete this collection and its documents."""
        self.database._run({"deleteCollection": {"name": self.name}}, self.keyspace)

    def _describe(self) -> tuple[str, int | None]:
        try:
            state = self._state
        except DataAPIError as exc:  # dropped, or its workspace closed
            return exc.error_code, None
        vector = state.settings.vector
        desc = "no vectors" if not vector else ", ".join(f"{k}={v}" for k, v in vector.items())
        return desc, len(state.store)

    def __repr__(self) -> str:
        _, count = self._describe()
        shown = "?" if count is None else count
        return f"Collection(name={self.name!r}, keyspace={self.keyspace!r}, documents={shown})"

    def _repr_html_(self) -> str:
        desc, count = self._describe()
        title = (f"<b>Collection</b> {html.escape(self.keyspace)}.{html.escape(self.name)}")
        if count is None:
            return f"{title}: unavailable ({html.escape(desc)})"
        table = ""
        if count:  # the first five documents only: a repr must stay cheap
            head = _records_frame(self.find({}, limit=5).to_list())
            table = head.to_html(max_cols=8, notebook=True)
        return f"{title}: {count} documents, {html.escape(desc)}{table}"


@dataclass(frozen=True)
class TableInsertOneResult:
    """The primary key of the inserted row, as a dict and as a tuple (astrapy's names)."""

    inserted_id: dict
    inserted_id_tuple: tuple


@dataclass(frozen=True)
class TableInsertManyResult:
    inserted_ids: list[dict]
    inserted_id_tuples: list[tuple]


class Table(_Handle):
    """A table of typed rows. Get one from :meth:`Database.get_table`.

    Rows are dicts of column values: JSON values, or Python ones (``datetime``, ``date``,
    ``Decimal``, ``bytes``, numpy arrays for vectors).  A string in a vector column with a
    vectorize service is embedded.  Inserting a row whose primary key exists overwrites the
    columns it gives and keeps the others (Cassandra's upsert).
    """

    _kind = TableState
    _noun = "rows"

    def definition(self) -> dict:
        """``{"columns": ..., "primaryKey": ...}`` as listTables with explain shows it."""
        schema = self._state.schema
        return {"columns": copy.deepcopy(schema["columns"]),
                "primaryKey": copy.deepcopy(schema["primaryKey"])}

    def _key(self, values: list) -> tuple[dict, tuple]:
        """A primary key as a dict and a tuple, named by the insert's primaryKeySchema."""
        key = list(self._key_schema) if self._key_schema else self.primary_key_columns()
        return dict(zip(key, values)), tuple(values)

    # -- schema ------------------------------------------------------------------------------
    def alter(self, operation: dict) -> Table:
        """Change the schema: ``{"add": {"columns": {...}}}``, ``{"drop": {"columns":
        [...]}}``, ``{"addVectorize": {"columns": {col: service}}}`` or ``{"dropVectorize":
        {"columns": [...]}}``. Returns the table."""
        self._run({"alterTable": {"operation": operation}})
        return self

    def create_index(self, name: str, column: str | dict, *, options: dict | None = None,
                     if_not_exists: bool = False) -> None:
        """Index a column (``{"map_col": "$keys"}`` for a map's keys); text options
        ``ascii``, ``caseSensitive``, ``normalize``."""
        definition: dict[str, Any] = {"column": column}
        if options:
            definition["options"] = options
        self._run({"createIndex": {"name": name, "definition": definition,
                                   "options": {"ifNotExists": if_not_exists}}})

    def create_text_index(self, name: str, column: str, *,
                          analyzer: str | dict | None = None,
                          if_not_exists: bool = False) -> None:
        """Index a text column for ``$match`` filters and lexical (BM25) sorts, with an
        ``analyzer`` (``"standard"`` by default; also ``"english"``, ``"simple"``... or a
        custom ``{"tokenizer": ..., "filters": [...]}``)."""
        definition: dict[str, Any] = {"column": column}
        if analyzer is not None:
            definition["options"] = {"analyzer": analyzer}
        self._run({"createTextIndex": {"name": name, "definition": definition,
                                       "options": {"ifNotExists": if_not_exists}}})

    def create_vector_index(self, name: str, column: str, *, metric: str | None = None,
                            source_model: str | None = None, options: dict | None = None,
                            if_not_exists: bool = False) -> None:
        """Index a vector column for vector search, with a ``metric`` (cosine by default,
        dot_product or euclidean)."""
        self._run(create_vector_index_command(name, column, metric=metric,
                                              source_model=source_model, options=options,
                                              if_not_exists=if_not_exists))

    def list_index_names(self) -> list[str]:
        return self._run({"listIndexes": {}}).status["indexes"]  # type: ignore[index]

    def list_indexes(self) -> list[dict]:
        return self._run({"listIndexes": {"options": {"explain": True}}}).status[  # type: ignore
            "indexes"]

    # -- writes ------------------------------------------------------------------------------
    def insert_one(self, row: dict, *,
                   long_text: str | LongTextPolicy | None = None) -> TableInsertOneResult:
        """Insert (or upsert) one row."""
        result = self._run({"insertOne": {"document": row}}, long_text)
        self._key_schema = (result.status or {}).get("primaryKeySchema", self._key_schema)
        return TableInsertOneResult(*self._key(result.status["insertedIds"][0]))  # type: ignore

    def insert_many(self, rows: Iterable[dict], *, ordered: bool = False,
                    chunk_size: int = limits.MAX_INSERT_MANY, progress: Progress = None,
                    long_text: str | LongTextPolicy | None = None) -> TableInsertManyResult:
        """Insert (or upsert) rows in chunks of at most 100 (one insertMany command each).

        Unordered (the default) inserts every row it can and then raises
        :class:`InsertManyError` listing the failures; ordered stops at the first failure.
        ``progress`` shows a bar (by default for 1,000 rows or more); ``long_text`` as for
        collections (``"truncate"`` or ``"error"``).
        """
        if not 1 <= chunk_size <= limits.MAX_INSERT_MANY:
            raise DataAPIError(
                "COMMAND_FIELD_VALUE_INVALID",
                f"chunk_size must be 1 to {limits.MAX_INSERT_MANY}, not {chunk_size!r}.")
        rows = list(rows)
        bar = _progress(len(rows), progress, f"insert_many into {self.name}")
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", TokenLimitWarning)
                inserted, errors = self._insert_chunks(
                    rows, ordered, chunk_size, _policy(long_text) or self._long_text, bar)
        finally:
            bar.close()
        _rewarn(caught)
        keys = [self._key(k) for k in inserted]
        if errors:
            error = InsertManyError(errors[0], [k[0] for k in keys], errors, total=len(rows))
            error.inserted_id_tuples = [k[1] for k in keys]
            raise error
        return TableInsertManyResult([k[0] for k in keys], [k[1] for k in keys])

    def insert_dataframe(self, frame: Any, *, vectorize_column: Hashable | None = None,
                         vector_column: str | None = None, ordered: bool = False,
                         progress: Progress = None,
                         long_text: str | LongTextPolicy | None = None) -> TableInsertManyResult:
        """Insert a DataFrame's rows (:meth:`insert_many`); missing values are left out.
        ``vectorize_column``'s text goes into ``vector_column`` (by default the table's only
        vector column with a vectorize service) to be embedded; it is also kept in a column
        of its own name when the table has one."""
        if vectorize_column is not None and vector_column is None:
            found = self.vectorize_columns()
            if len(found) != 1:
                raise DataAPIError(
                    "COMMAND_FIELD_VALUE_INVALID",
                    f"Table {self.name!r} has {len(found)} vector columns with a vectorize "
                    f"service ({found}): name the one to fill with vector_column=.")
            (vector_column,) = found
        keep = str(vectorize_column) in self.definition()["columns"]
        records = _frame_records(frame, vectorize_column, vector_column or "", keep=keep)
        return self.insert_many(records, ordered=ordered, progress=progress,
                                long_text=long_text)

    def primary_key_columns(self) -> list[str]:
        """The primary key's columns: partition columns, then sort columns."""
        return list(self._state.store.key)

    def vectorize_columns(self) -> list[str]:
        """The vector columns that embed text with a vectorize service."""
        return [n for n, c in self.definition()["columns"].items()
                if c["type"] == "vector" and c.get("service")]

    def update_one(self, filter: dict, update: dict, *,
                   long_text: str | LongTextPolicy | None = None) -> None:
        """Update the row with this full primary key (``$set``, ``$unset``, ``$push``,
        ``$pullAll``); a row that does not exist is created (Cassandra's upsert)."""
        self._run({"updateOne": {"filter": filter, "update": update}}, long_text)

    def delete_one(self, filter: dict) -> None:
        """Delete the row with this full primary key."""
        self._run({"deleteOne": {"filter": filter}})

    def delete_many(self, filter: dict) -> None:
        """Delete the rows matching a filter on primary key columns; ``{}`` deletes all."""
        self._run({"deleteMany": {"filter": filter}})

    # -- reads -------------------------------------------------------------------------------
    def to_pandas(self, filter: dict | None = None, *, projection: dict | list | None = None
                  ) -> Any:
        """A DataFrame with one row per matching row, in the table's order, with each
        column's own dtype (``Int32``, ``string``, ``datetime64[ms, UTC]``, ``date32``...;
        vector columns hold float32 numpy arrays)."""
        if isinstance(projection, (list, tuple)):
            projection = dict.fromkeys(projection, 1)
        return export_rows_of_table(self._state, filter, projection)

    def drop(self, *, if_exists: bool = False) -> None:
        """Delete this table and its rows."""
        self.database._run({"dropTable": {"name": self.name,
                                          "options": {"ifExists": if_exists}}}, self.keyspace)

    def _describe(self) -> tuple[str, int | None]:
        try:
            state = self._state
        except DataAPIError as exc:  # dropped, or its workspace closed
            return exc.error_code, None
        columns = ", ".join(f"{n} {c['type']}" for n, c in state.schema["columns"].items())
        return f"{columns}; primary key {state.store.key}", len(state.store)

    def __repr__(self) -> str:
        _, count = self._describe()
        shown = "?" if count is None else count
        return f"Table(name={self.name!r}, keyspace={self.keyspace!r}, rows={shown})"

    def _repr_html_(self) -> str:
        desc, count = self._describe()
        title = f"<b>Table</b> {html.escape(self.keyspace)}.{html.escape(self.name)}"
        if count is None:
            return f"{title}: unavailable ({html.escape(desc)})"
        head = ""
        if count:  # the first five rows only: a repr must stay cheap
            head = self.find({}, limit=5).to_pandas().to_html(max_cols=8, notebook=True)
        return f"{title}: {count} rows; {html.escape(desc)}{head}"


class Cursor:
    """Iterates over a find's documents, fetching pages (``nextPageState``) as needed."""

    def __init__(self, collection: _Handle, body: dict) -> None:
        self._collection = collection
        self._body = body
        self._sort_vector: Any = None

    def pages(self) -> Iterator[list[dict]]:
        """The documents or rows page by page (each a list of up to 20, as the Data API
        returns them)."""
        body = dict(self._body)
        options = dict(body.get("options", {}))
        limit = options.get("limit")
        already = 0
        if options.get("includeSortVector"):
            result = self._collection._run({"find": {**body, "options": options}})
            docs = result.data["documents"]  # type: ignore[index]
            self._sort_vector = (result.status or {}).get("sortVector")
            yield docs
            if len(docs) < limits.PAGE_SIZE or (limit is not None and len(docs) >= limit):
                return
            # The Data API answers includeSortVector with no page state (data-api.md §2.5):
            # read on with the same search by that vector, past what was already returned.
            options = {k: v for k, v in options.items() if k != "includeSortVector"}
            if self._sort_vector is not None:  # by the vector of $vectorize or a column's text
                (key,) = body["sort"]
                body["sort"] = {"$vector" if key == "$vectorize" else key: self._sort_vector}
            already = len(docs)
        page = None
        while True:
            result = self._collection._run(
                {"find": {**body, "options": {**options, "pageState": page} if page else options}})
            docs = result.data["documents"]  # type: ignore[index]
            cut = min(already, len(docs))
            already -= cut
            if docs[cut:]:
                yield docs[cut:]
            page = result.data["nextPageState"]  # type: ignore[index]
            if not page:
                return

    def __iter__(self) -> Iterator[dict]:
        for page in self.pages():
            yield from page

    def to_list(self) -> list[dict]:
        return list(self)

    def to_pandas(self) -> Any:
        """The documents (``_id`` first) or rows as a DataFrame."""
        return _records_frame(self.to_list(), first=None if isinstance(
            self._collection, Table) else "_id")

    def get_sort_vector(self) -> list[float] | None:
        """The query vector of a vector search run with ``include_sort_vector=True``."""
        if self._sort_vector is None:
            for _ in self.pages():
                break
        return self._sort_vector

    def __repr__(self) -> str:
        return f"Cursor(collection={self._collection.name!r}, find={self._body!r})"
