"""The in-process model the dispatcher works on: workspace, databases, collections, tables.

These objects own the stores and the catalog; the Pythonic API (``vectorize_kit.api``) and
every front door reach them only through the dispatcher.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .. import limits
from ..embedding import Kind, get_provider
from ..embedding.cache import EmbeddingCache
from ..embedding.huggingface import missing_key_error
from ..errors import DataAPIError
from ..integrations import Integrations
from ..models import PROVIDERS, LongTextPolicy, ModelInfo
from ..names import check_database_name, check_schema_name
from ..store.catalog import Catalog
from ..store.columns import UdtType, retyped
from ..store.documents import DocumentStore
from ..store.lexical import AnalyzerError, LexicalIndex
from ..store.rows import TableStore
from ..store.shred import Indexing
from ..values import Secret

logger = logging.getLogger("vectorize_kit")
#: A read-only workspace's commands take in the writer's changes at most this often
#: (seconds); ``Workspace.refresh()`` does it at once.
REFRESH_INTERVAL = 1.0
# a read-only open retries a collection whose files the writer compacted away meanwhile
_OPEN_ATTEMPTS = 5

__all__ = ["CollectionSettings", "CollectionState", "DatabaseState", "TableState",
           "WorkspaceState"]


@dataclass(frozen=True)
class CollectionSettings:
    """A collection's definition, as createCollection accepted it.

    ``options`` is the normalised options object that ``findCollections`` with ``explain``
    echoes; the other fields are read from it (once: a definition does not change).
    """

    name: str
    options: dict

    @cached_property
    def vector(self) -> dict | None:
        return self.options.get("vector")

    @cached_property
    def dimension(self) -> int | None:
        return self.vector["dimension"] if self.vector else None

    @cached_property
    def metric(self) -> str | None:
        return self.vector["metric"] if self.vector else None

    @cached_property
    def service(self) -> dict | None:
        return self.vector.get("service") if self.vector else None

    @cached_property
    def indexing(self) -> Indexing:
        spec = self.options.get("indexing") or {}
        allow, deny = spec.get("allow"), spec.get("deny")
        return Indexing(tuple(allow) if allow is not None else None,
                        tuple(deny) if deny is not None else None)

    @cached_property
    def default_id(self) -> str | None:
        spec = self.options.get("defaultId")
        return spec["type"] if spec else None

    @cached_property
    def analyzer(self) -> str | dict | None:
        """The lexical analyzer, ``None`` when lexical search is off."""
        spec = self.options.get("lexical")
        if not isinstance(spec, dict) or spec.get("enabled") is not True:
            return None
        return spec.get("analyzer") or "standard"

    @cached_property
    def model(self) -> ModelInfo:
        """The model of the embedding service (see :func:`model_of`)."""
        assert self.service is not None
        return model_of(self.service)

    @cached_property
    def rerank_service(self) -> dict | None:
        """The reranking service, ``None`` when reranking is off."""
        spec = self.options.get("rerank")
        if not isinstance(spec, dict) or spec.get("enabled") is not True:
            return None
        return spec.get("service")


class SchemaObjectState:
    """What collections and tables share: their place, their lock, and vectorize.

    ``request_api_key`` and ``request_long_text`` are the options of the command being run
    (set under ``lock``): its x-embedding-api-key and what to do with texts over the model's
    token limit; ``request_failure``, how embedding its texts failed before it took the lock.
    """

    kind = "collection"

    def __init__(self, database: DatabaseState, keyspace: str, name: str) -> None:
        self.database = database
        self.keyspace = keyspace
        self.name = name
        self.lock = threading.RLock()
        self.dropped = False
        self.closed = False
        self.request_api_key: str | None = None
        self.request_long_text = LongTextPolicy()
        self.request_failure: DataAPIError | None = None
        # a read-only workspace's: loads the store again from the files, and what tells
        # this object from a later one of the same name (its definition's uid)
        self.reload_store: Callable[[], Any] | None = None
        self.uid: str | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.keyspace}.{self.name}"

    def vectorize(self, service: dict, texts: list[str], *, kind: Kind = "passage",
                  api_key: str | None = None) -> np.ndarray:
        """Vectors for texts through an embedding ``service`` (a collection's or a vector
        column's).

        ``kind="query"`` adds the model's query prefix (e.g. BGE's instruction), passages get
        the passage prefix. The key is the request's ``x-embedding-api-key`` when given, else
        the secret of the service's credential, which must still exist and still have the
        database in its scope. ``api_key`` is the key of a call made outside a request (an
        insert's texts embedded before it takes the collection's lock).
        """
        model = model_of(service)
        info = PROVIDERS[service["provider"]]
        key = self._api_key(service, api_key) if info.external else None
        prefix = model.query_prefix if kind == "query" else model.passage_prefix
        endpoint = self.database.workspace.endpoints.get(info.name)
        sent = [prefix + t for t in texts]
        # the cache: a text embedded before (by this provider, endpoint and model) is not
        # sent again, nor is a text repeated within this call
        cache = self.database.workspace.embedding_cache
        where = info.name if endpoint is None else f"{info.name}@{endpoint}"
        vectors = cache.get_many(where, model.name, sent)
        todo = [t for t, v in zip(sent, vectors) if v is None]
        todo = list(dict.fromkeys(todo)) if len(todo) > 1 else todo
        if todo and self.request_failure is not None:
            # these very texts just failed, before the lock: the same error, without asking
            # the provider (and waiting out its retries) a second time
            raise self.request_failure
        if todo:
            try:
                provider = get_provider(info.name, endpoint=endpoint)
            except KeyError:
                raise DataAPIError(
                    "EMBEDDING_PROVIDER_UNAVAILABLE",
                    f"The Embedding Provider is unavailable\nUnderlying problem: provider "
                    f"'{info.name}' is not installed in this version of vectorize_kit. Insert "
                    "vectors instead.",
                ) from None
            fresh = provider.embed(todo, model=model.name, kind=kind, api_key=key)
            if fresh.shape != (len(todo), model.dimension):
                raise DataAPIError(
                    "EMBEDDING_PROVIDER_UNEXPECTED_RESPONSE",
                    f"The Embedding Provider returned an unexpected response.\nUnderlying "
                    f"problem: Embedding provider '{info.name}' did not return expected "
                    f"embedding length. Expect: '{len(todo)} x {model.dimension}'. Actual: "
                    f"'{' x '.join(map(str, fresh.shape))}'.",
                )
            cache.put_many(where, model.name, todo, fresh)
            found = dict(zip(todo, fresh))
            vectors = [found[t] if v is None else v for t, v in zip(sent, vectors)]
        # one concatenation (np.stack costs ~4 x as much per vector)
        return np.concatenate(vectors).astype(np.float32, copy=False).reshape(len(vectors), -1)

    def _api_key(self, service: dict, api_key: str | None = None) -> Secret:
        provider = service["provider"]
        if api_key or self.request_api_key:
            return Secret(api_key or self.request_api_key)  # type: ignore[arg-type]
        auth = service.get("authentication")
        if not auth:
            raise missing_key_error(provider)
        name = credential_name(auth["providerKey"])
        found = self.database.workspace.integrations.resolve(provider, name, self.database.id)
        if found == "removed":
            raise DataAPIError(
                "VECTORIZE_CREDENTIAL_INVALID",
                f"Invalid credential name for vectorize, with error: the credential '{name}' "
                f"of provider '{provider}' was removed, so vectorize is disabled for "
                f"{self.kind} '{self.qualified_name}'. Add a credential named '{name}' again "
                f"with database '{self.database.name}' in its scope to restore it.",
            )
        if found == "not in scope":
            raise not_in_scope(self.database.name, name, provider)
        assert isinstance(found, Secret)
        return found

    def close_store(self) -> None:
        """Close the store for good (the object was dropped), after a command in flight."""
        with self.lock:
            self.store.close()  # type: ignore[attr-defined]
            self.dropped = True

    def refresh_store(self, *, wait: bool = True) -> None:
        """Read-only: take in the writer's new records, or load the store again after the
        writer compacted its log (the object is dropped if its files are another object's
        now). Without ``wait``, a store busy with a command is left for the next time."""
        if not self.lock.acquire(blocking=wait):
            return
        try:
            if self.dropped or self.closed:
                return
            if not self.store.refresh():  # type: ignore[attr-defined]
                assert self.reload_store is not None
                store = self.reload_store()
                self.store.close()  # type: ignore[attr-defined]
                if store is None:  # dropped, maybe created again: not this object
                    self.dropped = True
                else:
                    self.store = store
        finally:
            self.lock.release()


def model_of(service: dict) -> ModelInfo:
    """The model of an embedding service, which vectorize_kit must be able to call.

    Raises
    ------
    DataAPIError
        ``EMBEDDING_PROVIDER_UNAVAILABLE`` for a service of one of the Data API's other
        providers (stored and listed, but not callable here).
    """
    info = PROVIDERS.get(service["provider"])
    if info is None:
        raise DataAPIError(
            "EMBEDDING_PROVIDER_UNAVAILABLE",
            f"The Embedding Provider is unavailable\nUnderlying problem: provider "
            f"'{service['provider']}' (model '{service.get('modelName')}') can not be called "
            f"by vectorize_kit, which runs offline with the providers "
            f"{', '.join(sorted(PROVIDERS))}. The definition is kept as given (it works "
            "unchanged on Astra DB); here, insert vectors and sort on vectors instead of "
            "text, or define the service with the local or huggingface provider.",
        )
    model = info.model(service["modelName"])
    assert model is not None  # services of these providers are checked when defined
    return model


class CollectionState(SchemaObjectState):
    """One collection: its settings, its store and its lock."""

    def __init__(self, database: DatabaseState, keyspace: str, settings: CollectionSettings,
                 store: DocumentStore) -> None:
        super().__init__(database, keyspace, settings.name)
        self.settings = settings
        self.store = store
        self._lexical: LexicalIndex | None = None

    def lexical_off(self) -> DataAPIError | None:
        """The error for lexical content, filters and sorts, if lexical search is off."""
        if self.settings.analyzer is not None:
            return None
        return DataAPIError(
            "LEXICAL_NOT_ENABLED_FOR_COLLECTION",
            "Lexical content can only be added and filtering and sort only be used on "
            "collections for which Lexical feature is enabled.\nThe collection "
            f"{self.qualified_name} does not have Lexical feature enabled.",
        )

    def lexical(self, *, current: bool = True) -> LexicalIndex:
        """The BM25 index of the documents' ``$lexical`` texts, brought up to date with the
        store unless ``current`` is false (to analyze a text about to be stored)."""
        off = self.lexical_off()
        if off is not None:
            raise off
        if self._lexical is None:
            self._lexical = lexical_index(self.settings.analyzer, self.qualified_name)
        index = self._lexical
        if current:
            index.refresh(self.store.data_key,
                          lambda: [d.get("$lexical") for d in self.store.docs()])
        return index

    def embed(self, texts: list[str], *, kind: Kind = "passage",
              api_key: str | None = None) -> np.ndarray:
        """Vectors for ``$vectorize`` texts through the collection's embedding service."""
        assert self.settings.service is not None
        return self.vectorize(self.settings.service, texts, kind=kind, api_key=api_key)

    @property
    def model(self) -> ModelInfo:
        """The model of the collection's embedding service."""
        return self.settings.model


class TableState(SchemaObjectState):
    """One table: its store (which holds its schema) and its lock."""

    kind = "table"

    def __init__(self, database: DatabaseState, keyspace: str, name: str,
                 store: TableStore) -> None:
        super().__init__(database, keyspace, name)
        self.store = store
        self._lexical: dict[str, LexicalIndex] = {}  # index name -> its BM25 index

    @property
    def schema(self) -> dict:
        return self.store.schema

    def text_indexes(self) -> dict[str, dict]:
        """``column -> text index definition`` (createTextIndex)."""
        return {i["definition"]["column"]: i for i in self.schema["indexes"].values()
                if i["indexType"] == "text"}

    def lexical(self, column: str) -> LexicalIndex:
        """The BM25 index of a text-indexed column, current with the store."""
        index = self.text_indexes()[column]
        analyzer = index["definition"]["options"]["analyzer"]
        found = self._lexical.get(index["name"])
        if found is None or found.spec != analyzer:
            found = self._lexical[index["name"]] = lexical_index(analyzer, self.qualified_name)
        found.refresh(self.store.data_key,
                      lambda: self.store.frame[column].to_numpy(dtype=object))
        return found


def lexical_index(analyzer: str | dict, owner: str) -> LexicalIndex:
    """A new BM25 index with ``analyzer`` (one stored before analyzers were checked, that
    can not run, is refused with the reason)."""
    try:
        return LexicalIndex(analyzer)
    except AnalyzerError as exc:
        raise DataAPIError(
            "LEXICAL_NOT_ENABLED_FOR_COLLECTION",
            f"The lexical analyzer of {owner} can not run in vectorize_kit: {exc}.",
        ) from None


def credential_name(provider_key: str) -> str:
    """The credential name in a stored ``providerKey`` (``"<name>.providerKey"``)."""
    return provider_key.removesuffix(".providerKey")


def not_in_scope(db_name: str, credential: str, provider: str) -> DataAPIError:
    return DataAPIError(
        "VECTORIZE_CREDENTIAL_INVALID",
        f"Invalid credential name for vectorize, with error: database not in scope: database "
        f"'{db_name}' is not in the scope of credential '{credential}' of provider "
        f"'{provider}'. Add the database to the credential's scope (add_scoped_databases), "
        "or use a credential that has it.",
    )


class DatabaseState:
    """One database: keyspaces of collections, persisted through the workspace's catalog."""

    def __init__(self, workspace: WorkspaceState, meta: dict) -> None:
        self.workspace = workspace
        self.id: str = meta["id"]
        self.name: str = meta["name"]
        self.created_at = dt.datetime.fromisoformat(meta["created_at"])
        self.keyspaces: dict[str, dict[str, CollectionState | TableState]] = {}
        self.types: dict[str, dict[str, UdtType]] = {}  # keyspace -> user-defined types
        self.lock = threading.RLock()
        self.index_lock = threading.RLock()  # index names; never held while taking another
        self.closed = False

    @property
    def catalog(self) -> Catalog:
        return self.workspace.catalog

    @property
    def max_collections(self) -> int:
        return limits.max_collections(self.created_at)

    def collection_count(self) -> int:
        """The collections of every keyspace: what the database's limit counts (tables are
        not counted, as in the Data API)."""
        return sum(isinstance(s, CollectionState)
                   for objs in self.keyspaces.values() for s in objs.values())

    def _load(self) -> None:
        self.keyspaces, self.types = self._scan({})
        if self.catalog.read_only is None:  # (a reader waits for the writer to)
            for ks, types in self.types.items():
                for udt in types.values():  # a crash in the middle of an alterType
                    self.retype_tables(ks, udt)

    def _scan(self, before: dict[str, dict[str, CollectionState | TableState]]
              ) -> tuple[dict, dict]:
        """The keyspaces as stored now, with their collections and tables (those of
        ``before`` that are still the same object kept, the others opened) and their types.
        Read-only, an object the writer drops as it is opened is left out."""
        keyspaces: dict[str, dict[str, CollectionState | TableState]] = {}
        types = {}
        for ks in self.catalog.keyspaces(self.id):
            types[ks] = {t["name"]: UdtType.from_definition(t["name"], t["definition"])
                         for t in self.catalog.types(self.id, ks)}
            objects: dict[str, CollectionState | TableState] = {}
            for kind, defined in ((CollectionState, self.catalog.collections(self.id, ks)),
                                  (TableState, self.catalog.tables(self.id, ks))):
                for name, definition in defined.items():
                    state = before.get(ks, {}).get(name)
                    if (isinstance(state, kind) and not state.dropped
                            and state.uid == definition.get("uid")):
                        objects[name] = state
                    elif self.catalog.read_only is None:
                        self._open(ks, name, definition, kind is CollectionState, objects)
                    else:
                        self._open_gone_or(ks, name, definition, kind is CollectionState,
                                           objects)
            keyspaces[ks] = objects
        return keyspaces, types

    def types_of(self, keyspace: str | None) -> dict[str, UdtType]:
        """The user-defined types of a keyspace (in creation order); ``UNKNOWN_KEYSPACE``."""
        self.keyspace(keyspace)
        return self.types.setdefault(keyspace or limits.DEFAULT_KEYSPACE, {})

    def save_types(self, keyspace: str) -> None:
        self.catalog.save_types(self.id, keyspace, [
            {"name": n, "definition": t.definition()} for n, t in self.types[keyspace].items()])

    def retype_tables(self, keyspace: str, udt: UdtType) -> list[str]:
        """Make the definition of ``udt`` current in the tables of the keyspace that use it
        (one durable schema change each); the names of the tables that use it."""
        users = []
        for state in list(self.keyspaces.get(keyspace, {}).values()):
            if not isinstance(state, TableState):
                continue
            with state.lock:
                schema = copy.deepcopy(state.schema)
                used = False
                for name, spec in schema["columns"].items():
                    new = retyped(spec, udt)
                    if new is not None:
                        used = True
                        schema["columns"][name] = new
                if used:
                    users.append(state.name)
                    if schema != state.schema and not state.dropped:
                        state.store.alter(schema)
        return users

    def _open_collection(self, keyspace: str, settings: CollectionSettings,
                         uid: str | None = None, into: dict | None = None) -> CollectionState:
        dims = {} if settings.dimension is None else {"$vector": settings.dimension}

        def load() -> DocumentStore:
            log = self.catalog.log(self.id, keyspace, settings.name, dims)
            return DocumentStore(dimension=settings.dimension, log=log)

        state = CollectionState(self, keyspace, settings,
                                self._loaded(load, keyspace, settings.name, uid))
        return self._opened(keyspace, settings.name, state, load, uid, into)

    def _open_table(self, keyspace: str, name: str, schema: dict,
                    uid: str | None = None, into: dict | None = None) -> TableState:
        dims = {n: c["dimension"] for n, c in schema["columns"].items() if c["type"] == "vector"}

        def load() -> TableStore:
            return TableStore(schema, log=self.catalog.log(self.id, keyspace, name, dims))

        store = self._loaded(load, keyspace, name, uid)
        return self._opened(keyspace, name, TableState(self, keyspace, name, store), load,
                            uid, into)

    def _uid(self, keyspace: str, name: str) -> str | None | bool:
        """The uid of the collection or table defined with this name now (``False``:
        none)."""
        definition = self.catalog.definition(self.id, keyspace, name)
        return False if definition is None else definition.get("uid")

    def _loaded(self, load: Callable[[], Any], keyspace: str, name: str,
                uid: str | None) -> Any:
        """``load()``. Read-only, the writer may change the files as they are read: again
        until they were the newest all along, and still the object with ``uid``
        (``FileNotFoundError`` if it is gone or another by then)."""
        if self.catalog.read_only is None:
            return load()
        for _ in range(_OPEN_ATTEMPTS):
            try:
                store = load()
            except (OSError, ValueError, KeyError):  # compacted, or dropped, meanwhile
                store = None
            if self._uid(keyspace, name) != uid:
                break
            if store is not None and store.is_current():
                return store
        raise FileNotFoundError(f"{keyspace}.{name} changed while it was read")

    def _opened(self, keyspace: str, name: str, state: Any, load: Callable[[], Any],
                uid: str | None, into: dict | None) -> Any:
        """Register an opened object (in ``into``, else in its keyspace)."""
        if self.catalog.read_only is not None:
            state.uid = uid

            def reload() -> Any:
                """The store loaded again, or ``None`` if the object's files are gone or
                now another's (dropped and created again)."""
                try:
                    return self._loaded(load, keyspace, name, uid)
                except FileNotFoundError:
                    return None

            state.reload_store = reload
        (self.keyspaces[keyspace] if into is None else into)[name] = state
        return state

    def refresh(self, *, wait: bool = True) -> None:
        """Read-only: the writer's keyspaces, types, collections and tables as they are now,
        each store brought up to date. New dicts replace the old ones whole, so that a
        command reading them meanwhile never sees one change size."""
        with self.lock:
            old = self.keyspaces
            keyspaces, types = self._scan(old)
            for ks, objects in old.items():  # dropped: gone from the disk, or another now
                for name, state in objects.items():
                    if keyspaces.get(ks, {}).get(name) is not state:
                        state.close_store()
            self.keyspaces, self.types = keyspaces, types
            for objects in keyspaces.values():
                for state in objects.values():
                    try:
                        state.refresh_store(wait=wait)
                    except (OSError, ValueError, KeyError):  # the writer changing it: the
                        logger.debug("%s: refresh skipped", state.qualified_name,  # old
                                     exc_info=True)  # store serves until the next one

    def _open_gone_or(self, keyspace: str, name: str, definition: dict, collection: bool,
                      into: dict) -> None:
        """Open a collection or table the writer made, into ``into`` (not if it went
        meanwhile)."""
        try:
            self._open(keyspace, name, definition, collection, into)
        except (OSError, ValueError, KeyError):
            logger.debug("%s.%s: not opened", keyspace, name, exc_info=True)

    def _open(self, keyspace: str, name: str, definition: dict, collection: bool,
              into: dict) -> None:
        """Open a stored collection or table, into ``into``."""
        if collection:
            self._open_collection(keyspace, CollectionSettings(name, definition["options"]),
                                  definition.get("uid"), into)
        else:
            self._open_table(keyspace, name, definition["schema"], definition.get("uid"), into)

    def keyspace(self, name: str | None) -> dict[str, CollectionState | TableState]:
        """The collections of a keyspace; ``UNKNOWN_KEYSPACE`` if it does not exist."""
        name = limits.DEFAULT_KEYSPACE if name is None else name
        try:
            return self.keyspaces[name]
        except KeyError:
            raise DataAPIError(
                "UNKNOWN_KEYSPACE",
                f"The command tried to use a Keyspace that does not exist in the Database. "
                f"The keyspace used by the command: {name}. Resend the command with an "
                f"existing keyspace ({', '.join(sorted(self.keyspaces)) or 'none'}), or "
                "create it first (createKeyspace).",
            ) from None

    def collection(self, keyspace: str | None, name: str) -> CollectionState | TableState:
        """A collection or table; ``UNKNOWN_COLLECTION_OR_TABLE`` if it does not exist."""
        self.workspace.maybe_refresh()  # read-only: the writer's latest (once a second)
        ks_name = limits.DEFAULT_KEYSPACE if keyspace is None else keyspace
        colls = self.keyspace(ks_name)
        try:
            return colls[name]
        except KeyError:
            raise DataAPIError(
                "UNKNOWN_COLLECTION_OR_TABLE",
                f"The command tried to get a Collection or Table {name} that does not exist "
                f"in the Keyspace {ks_name}. The keyspace has the existing collections or "
                f"tables: {sorted(colls)}. Create it first (createCollection or "
                "createTable).",
            ) from None

    def create_keyspace(self, name: str) -> None:
        check_schema_name(name, "Keyspace")
        with self.lock:
            if name not in self.keyspaces:
                self.catalog.create_keyspace(self.id, name)
                self.keyspaces[name] = {}
                self.types[name] = {}

    def drop_keyspace(self, name: str) -> None:
        with self.lock:
            for state in self.keyspace(name).values():
                state.close_store()
            self.catalog.drop_keyspace(self.id, name)
            del self.keyspaces[name]
            self.types.pop(name, None)

    def close(self) -> None:
        """Compact every collection's log into a snapshot (a faster reopen), then close."""
        with self.lock:
            self._close_collections()
        self.closed = True

    def _close_collections(self) -> None:
        for colls in self.keyspaces.values():
            for state in colls.values():
                with state.lock:
                    state.store.checkpoint()
                    state.store.close()
                    state.closed = True


class WorkspaceState:
    """All databases of a workspace directory (or of memory)."""

    def __init__(self, path: str | Path | None, *, sync: bool = True,
                 endpoints: dict[str, str] | None = None,
                 read_only: bool | None = False) -> None:
        self.path = None if path is None else Path(path).expanduser().resolve()
        self.endpoints = dict(endpoints or {})  # provider -> base URL of its API
        self.catalog = Catalog(self.path, sync=sync, read_only=read_only)
        self.integrations = Integrations(self.path, guard=self.check_writable)
        self.embedding_cache = EmbeddingCache(
            None if self.path is None else self.path / "embedding-cache.sqlite",
            read_only=self.read_only)
        self.databases: dict[str, DatabaseState] = {}
        self.lock = threading.RLock()
        self.closed = False
        self.refreshed_at = time.monotonic()
        for meta in self.catalog.databases():
            db = DatabaseState(self, meta)
            db._load()
            self.databases[db.id] = db

    @property
    def read_only(self) -> bool:
        return self.catalog.read_only is not None

    @staticmethod
    def held(path: Path) -> bool:
        """Whether a process holds the workspace directory for writing now."""
        return Catalog.held(path)

    def check_writable(self) -> None:
        """``WORKSPACE_READ_ONLY`` (saying which process holds it) for a read-only one."""
        self.catalog.check_writable()

    def refresh(self, *, wait: bool = True) -> None:
        """Read-only: take in every change the writer has acknowledged (databases,
        keyspaces, types, collections, tables, their documents and rows, credentials'
        names and scopes). Without ``wait``, only if no other thread is refreshing, and
        collections busy with a command are left for the next time."""
        if not self.read_only or self.closed:
            return
        if not self.lock.acquire(blocking=wait):
            return  # another thread is at it
        try:
            if not wait and time.monotonic() - self.refreshed_at < REFRESH_INTERVAL:
                return  # done by another thread meanwhile
            databases = {}
            for meta in self.catalog.databases():
                db = self.databases.get(meta["id"])
                try:
                    if db is None:
                        db = DatabaseState(self, meta)
                        db._load()
                    else:
                        db.refresh(wait=wait)
                except (OSError, ValueError, KeyError):  # dropped while it was read
                    logger.debug("database %s: refresh skipped", meta["id"], exc_info=True)
                    continue
                databases[db.id] = db
            for db_id, gone in self.databases.items():
                if db_id not in databases:
                    for objects in gone.keyspaces.values():
                        for state in objects.values():
                            state.close_store()
                    gone.closed = True
            self.databases = databases
            self.integrations.reload()
            self.refreshed_at = time.monotonic()
        finally:
            self.lock.release()

    def maybe_refresh(self) -> None:
        """Read-only: :meth:`refresh` if the last one is older than REFRESH_INTERVAL (by one
        thread; the others go on with what they have)."""
        if self.read_only and time.monotonic() - self.refreshed_at >= REFRESH_INTERVAL:
            self.refresh(wait=False)

    def find_database(self, name_or_id: str) -> DatabaseState:
        for db in self.databases.values():
            if name_or_id in (db.id, db.name):
                return db
        raise DataAPIError(
            "UNKNOWN_DATABASE",
            f"No database named {name_or_id!r} in this workspace; it has: "
            f"{sorted(d.name for d in self.databases.values())}. Create it first "
            "(Workspace.create_database).",
        )

    def create_database(self, name: str, *, created_at: dt.datetime | None = None) -> DatabaseState:
        check_database_name(name)
        self.check_writable()
        with self.lock:
            if any(db.name == name for db in self.databases.values()):
                raise DataAPIError(
                    "DATABASE_ALREADY_EXISTS",
                    f"A database named {name!r} already exists in this workspace; use "
                    "get_database() to open it, or choose another name.",
                )
            when = created_at or dt.datetime.now(dt.timezone.utc)
            if when.tzinfo is None:
                when = when.replace(tzinfo=dt.timezone.utc)
            meta = {"id": str(uuid.uuid4()), "name": name, "created_at": when.isoformat()}
            self.catalog.create_database(meta)
            db = DatabaseState(self, meta)
            self.databases[db.id] = db
            db.create_keyspace(limits.DEFAULT_KEYSPACE)
            return db

    def drop_database(self, name_or_id: str) -> None:
        self.check_writable()
        with self.lock:
            db = self.find_database(name_or_id)
            db.close()
            self.catalog.drop_database(db.id)
            self.integrations.forget_database(db.id)
            del self.databases[db.id]

    def close(self) -> None:
        with self.lock:
            for db in self.databases.values():
                db.close()
            self.embedding_cache.close()
            self.catalog.close()
            self.closed = True

    def check_open(self) -> None:
        if self.closed:
            raise closed_error(self.path)


def closed_error(path: Path | None) -> DataAPIError:
    again = "vk.Workspace()" if path is None else f"vk.Workspace({str(path)!r})"
    return DataAPIError(
        "WORKSPACE_CLOSED",
        f"The workspace was closed (Workspace.close()), so this object can no longer read or "
        f"write. Open it again with {again} and get the database and collection from it.",
    )
