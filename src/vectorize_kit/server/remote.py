"""The Python API against a remote Data API endpoint: :func:`connect`.

``vk.connect(api_endpoint=..., token=...)`` returns a :class:`RemoteDatabase`: the same
:class:`~vectorize_kit.Database`, ``Collection`` and ``Table`` API as a local workspace,
whose commands travel over HTTP to an Astra DB database, an HCD / DSE Data API, or a
``vectorize-kit serve`` endpoint. Notebooks, widgets and plots written against a local
database run unchanged.

What differs from a local database, because the Data API offers no more:

- bulk operations page as astrapy does: ``update_many`` follows ``nextPageState``,
  ``delete_many`` repeats while ``moreData``, ``to_pandas`` reads ``find`` pages of 20;
- ``long_text`` may only be ``"truncate"`` (the provider truncates); ``"error"`` and
  ``"chunk"`` need the local store's tokenizer (split texts with ``vk.chunk_text`` first);
- ``data_version`` changes on every read, so plots reload the vectors each time (their
  projections are still cached by the vectors' content);
- integrations (credentials, scopes) live with the endpoint: in Astra's portal, or through
  the integration commands of a ``vectorize-kit serve`` endpoint (``db.command``).

Errors are :class:`~vectorize_kit.DataAPIError` with the endpoint's own codes; a network
failure is ``DATA_API_UNREACHABLE`` or ``DATA_API_TIMEOUT``, an HTTP error without a Data API
envelope ``DATA_API_HTTP_ERROR``. The token is never shown by a repr, a log or an error.
"""

from __future__ import annotations

import decimal
import html
import itertools
import json
import re
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from .. import __version__, limits
from ..api import (
    Collection,
    Cursor,
    Database,
    DeleteResult,
    LongTextPolicy,
    Table,
    UpdateResult,
    _policy,
    _records_frame,
)
from ..commands import GENERAL, Result
from ..errors import DataAPIError
from ..store.columns import UdtType, parse_column
from ..store.rows import key_columns
from ..values import decode_vector, dumps, json_clone, loads, lossless_floats

__all__ = ["RemoteCollection", "RemoteDatabase", "RemoteTable", "connect"]

_ASTRA_HOST = re.compile(r"^(?P<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                         r"[0-9a-f]{12})-[a-z0-9-]+\.apps\.astra[a-z-]*\.datastax\.com$")
_versions = itertools.count(1)
# the commands of the general endpoint /v1: the Data API's (reference §1.1) and vectorize_kit's
_GENERAL = frozenset({*GENERAL, "createNamespace", "dropNamespace",
                      "findNamespaces"})


def _error(obj: Any) -> DataAPIError:
    """A DataAPIError from an error object of an envelope, keeping the endpoint's own
    family, scope and title."""
    if not isinstance(obj, dict):
        return DataAPIError("DATA_API_HTTP_ERROR", f"The endpoint answered an error that is "
                            f"not a Data API error object: {str(obj)[:300]}")
    err = DataAPIError(str(obj.get("errorCode") or obj.get("exceptionClass") or "UNKNOWN"),
                       str(obj.get("message", "")), document_ids=obj.get("documentIds"),
                       scope=obj.get("scope"))
    err.family = obj.get("family", err.family)
    err.title = obj.get("title", err.title)
    return err


def result_of(envelope: dict) -> Result:
    """The Result of an envelope: a command that failed as a whole (errors and nothing else)
    raises its first error, as the in-process dispatcher does."""
    errors = [_error(e) for e in envelope.get("errors") or ()]
    status, data = envelope.get("status"), envelope.get("data")
    if errors and not set(status or ()) - {"warnings"} and data is None:
        raise errors[0]
    return Result(status=status, data=data, errors=errors)


class RemoteDatabase(Database):
    """A database behind a Data API endpoint (see :func:`connect`)."""

    def __init__(self, api_endpoint: str, token: str | None, *, keyspace: str | None = None,
                 api_path: str | None = None, timeout: float = 60.0) -> None:
        import httpx

        parts = urlsplit(api_endpoint.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise DataAPIError("COMMAND_FIELD_VALUE_INVALID",
                               f"api_endpoint must be an http(s) URL such as "
                               f"https://<db-id>-<region>.apps.astra.datastax.com or "
                               f"http://127.0.0.1:8181, not {api_endpoint!r}.")
        if not isinstance(token, str) or not token.strip():
            raise DataAPIError("MISSING_AUTHENTICATION_TOKEN",
                               "connect() needs the endpoint's application token: "
                               "vk.connect(api_endpoint, token='AstraCS:...').")
        token = _header_value(token.strip(), "token")
        self.keyspace = keyspace or limits.DEFAULT_KEYSPACE
        # (no user:password@ part: it would show in reprs and messages)
        self.api_endpoint = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
        found = _ASTRA_HOST.match(parts.hostname or "")
        self._id = found["id"] if found else self.api_endpoint
        if api_path is None:  # Astra's gateway serves /api/json/v1; HCD and DSE serve /v1
            api_path = "/api/json/v1" if found or "datastax.com" in parts.netloc else "/v1"
        self._base = self.api_endpoint + "/" + api_path.strip("/")
        agent = f"vectorize_kit/{__version__}"
        self._client = httpx.Client(
            timeout=timeout, headers={"Token": token, "Accept": "application/json",
                                      "User-Agent": agent})

    # -- transport -----------------------------------------------------------------------------
    def _post(self, parts: tuple[str, ...], cmd: Any, api_key: str | None = None, *,
              default: Any = None, decimals: bool = False) -> dict:
        """POST one command; the envelope (HTTP errors with an envelope included).
        ``default`` turns the command's Python values into JSON; the answer's numbers are
        read exactly (:func:`~vectorize_kit.values.loads`), or with ``decimals`` every
        number with a fraction a ``Decimal`` (for a table's decimal columns)."""
        import httpx

        url = "/".join((self._base, *parts))
        headers = {"Content-Type": "application/json"}
        if api_key:
            headers["x-embedding-api-key"] = _header_value(api_key, "embedding_api_key")
        try:
            body = dumps(cmd, default=default)
        except (TypeError, ValueError) as exc:
            raise DataAPIError("SHRED_BAD_DOCUMENT_TYPE", f"The command is not valid JSON: "
                               f"{exc}. Convert the value (e.g. NaN to null) and resend."
                               ) from None
        # Errors are raised after the ``except`` blocks, never inside them: httpx's exception
        # (whose request holds the Token header) must not be their context.
        failure = None
        try:
            response = self._client.post(url, content=body.encode(), headers=headers)
        except httpx.TimeoutException:
            failure = "timeout"
        except httpx.TransportError as exc:
            failure = type(exc).__name__
        if failure == "timeout":
            raise DataAPIError(
                "DATA_API_TIMEOUT",
                f"The Data API endpoint {self.api_endpoint} did not answer {_name(cmd)} in "
                f"time (timeout {self._client.timeout.read} s). It may still have run it: "
                "check before retrying a write.")
        if failure is not None:
            raise DataAPIError(
                "DATA_API_UNREACHABLE",
                f"Could not reach the Data API endpoint {self.api_endpoint} ({failure}). "
                "Check the URL and that the server is running.")
        try:
            envelope = (json.loads(response.content, parse_float=decimal.Decimal) if decimals
                        else loads(response.content))
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict) or not (
                response.status_code == 200 or envelope.get("errors")):
            raise DataAPIError(
                "DATA_API_HTTP_ERROR",
                f"The Data API endpoint answered HTTP {response.status_code} to {_name(cmd)} "
                f"at {url}: {response.text[:300]!r}. Check the api_endpoint and the "
                "keyspace and collection names.")
        return envelope

    def _target(self, cmd: Any, keyspace: str | None) -> tuple[str, ...]:
        name = _name(cmd)
        return () if name in _GENERAL else (keyspace or self.keyspace,)

    def _exec(self, cmd: dict, keyspace: str | None = None) -> Result:
        return result_of(self._post(self._target(cmd, keyspace), cmd))

    def command(self, cmd: dict, *, keyspace: str | None = None) -> dict:
        """Send a Data API database or keyspace command; return the endpoint's envelope."""
        try:
            return self._post(self._target(cmd, keyspace), cmd)
        except DataAPIError as exc:
            return Result(errors=[exc]).envelope()

    def close(self) -> None:
        """Close the HTTP connections."""
        self._client.close()

    def __enter__(self) -> RemoteDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what a local database knows from its workspace ----------------------------------------
    @property
    def id(self) -> str:
        """The database id of an Astra DB endpoint, else the endpoint's URL."""
        return self._id

    @property
    def name(self) -> str:
        """The endpoint's host (the Data API does not tell a database's name)."""
        return urlsplit(self.api_endpoint).netloc

    @property
    def created_at(self) -> None:  # type: ignore[override]
        """Unknown: the Data API does not tell when a database was created."""
        return None

    def collection_slots(self) -> tuple[int, int]:
        """``(used, limit)``: the collections of every keyspace, and Astra DB's usual limit
        (the endpoint does not tell its own)."""
        used = sum(len(self.list_collection_names(keyspace=ks)) for ks in self.list_keyspaces())
        return used, limits.MAX_COLLECTIONS

    def _check_exists(self, keyspace: str | None, name: str, kind: str) -> str:
        keyspace = keyspace or self.keyspace
        names = (self.list_collection_names(keyspace=keyspace) if kind == "collection"
                 else self.list_table_names(keyspace=keyspace))
        if name in names:
            return keyspace
        other = "table" if kind == "collection" else "collection"
        others = (self.list_table_names(keyspace=keyspace) if kind == "collection"
                  else self.list_collection_names(keyspace=keyspace))
        if name in others:
            raise DataAPIError("UNKNOWN_COLLECTION_OR_TABLE",
                               f"'{keyspace}.{name}' is a {other}, not a {kind}: open it with "
                               f"Database.get_{other}('{name}').")
        raise DataAPIError(
            "UNKNOWN_COLLECTION_OR_TABLE",
            f"The command tried to get a Collection or Table {name} that does not exist in "
            f"the Keyspace {keyspace}. The keyspace has the existing {kind}s: {sorted(names)}. "
            f"Create it first ({'createCollection' if kind == 'collection' else 'createTable'}).")

    def get_collection(self, name: str, *, keyspace: str | None = None,
                       embedding_api_key: str | None = None,
                       long_text: str | LongTextPolicy | None = None) -> RemoteCollection:
        """The collection ``name`` (checked to exist: one findCollections)."""
        keyspace = self._check_exists(keyspace, name, "collection")
        return RemoteCollection(self, keyspace, name, embedding_api_key=embedding_api_key,
                                long_text=long_text)

    def get_table(self, name: str, *, keyspace: str | None = None,
                  embedding_api_key: str | None = None,
                  long_text: str | LongTextPolicy | None = None) -> RemoteTable:
        """The table ``name`` (checked to exist: one listTables)."""
        keyspace = self._check_exists(keyspace, name, "table")
        return RemoteTable(self, keyspace, name, embedding_api_key=embedding_api_key,
                           long_text=long_text)

    def __repr__(self) -> str:
        return (f"RemoteDatabase(api_endpoint={self.api_endpoint!r}, "
                f"keyspace={self.keyspace!r})")

    def _repr_html_(self) -> str:
        return (f"<b>Database</b> at <code>{html.escape(self.api_endpoint)}</code> (remote "
                "Data API endpoint)")


def _header_value(value: str, what: str) -> str:
    """A token or key as a header can carry it (printable ASCII); the error never shows it."""
    if not isinstance(value, str) or not value or any(not 32 < ord(c) < 127 for c in value):
        raise DataAPIError(
            "COMMAND_FIELD_VALUE_INVALID",
            f"The {what} has characters an HTTP header can not carry (spaces, line breaks or "
            "non-ASCII characters): check that it was copied whole and alone.")
    return value


def _name(cmd: Any) -> str:
    return next(iter(cmd), "?") if isinstance(cmd, dict) and cmd else "?"


def _json_default(value: Any) -> Any:
    """Python values a local table accepts, in the Data API's JSON form for tables (numpy
    arrays and numbers, timestamps as EJSON dates, dates and times as ISO text, bytes as
    ``$binary``, UUIDs as text; decimals stay exact, see :func:`~vectorize_kit.values.dumps`)."""
    import base64
    import datetime as dt
    import uuid

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dt.datetime):
        when = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        return {"$date": int(when.timestamp() * 1000)}
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return {"$binary": base64.b64encode(value).decode()}
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class _RemoteHandle:
    """What remote collections and tables share: commands over HTTP to
    ``/v1/{keyspace}/{name}``."""

    _database: RemoteDatabase
    _keyspace: str
    _name: str
    _api_key: str | None
    _long_text: LongTextPolicy | None
    _noun: str

    @property
    def _state(self) -> Any:
        raise DataAPIError("COMMAND_UNKNOWN", f"{self._name!r} is on a remote Data API "
                           "endpoint: it has no local store.")

    @property
    def database(self) -> RemoteDatabase:
        return self._database

    @property
    def data_version(self) -> tuple[int, int]:
        """A new value on every call: the endpoint does not tell when data changes."""
        return id(self._database) ^ hash((self._keyspace, self._name)), next(_versions)

    def _check_policy(self, long_text: Any) -> None:
        policy = _policy(long_text) or self._long_text
        if policy is not None and policy.mode != "truncate":
            raise DataAPIError(
                "COMMAND_FIELD_VALUE_INVALID",
                f"long_text={policy.mode!r} needs the local store's tokenizer; on a remote "
                "Data API endpoint the provider truncates long texts. Split them first with "
                "vk.chunk_text (see Collection.insert_many).")

    def _send(self, cmd: dict, api_key: str | None, long_text: Any) -> dict:
        self._check_policy(long_text)
        return self._received(self._database._post(
            (self._keyspace, self._name), self._json(cmd), api_key or self._api_key,
            default=_json_default, decimals=self._decimals))

    _decimals = False

    def _json(self, cmd: dict) -> Any:
        """The command's Python values as this kind of object takes them."""
        return cmd

    def _received(self, envelope: dict) -> dict:
        return envelope

    def _exec(self, cmd: dict, *, api_key: str | None = None,
              long_text: str | LongTextPolicy | None = None) -> Result:
        return result_of(self._send(cmd, api_key, long_text))

    def command(self, cmd: dict, *, embedding_api_key: str | None = None,
                long_text: str | LongTextPolicy | None = None) -> dict:
        """Send a Data API command to this collection or table; return the endpoint's
        envelope (never raises for a command error)."""
        try:
            return self._send(cmd, embedding_api_key, long_text)
        except DataAPIError as exc:
            return Result(errors=[exc]).envelope()

    def _prefetch(self, texts: list[str]) -> None:
        """Nothing: the endpoint embeds each chunk's texts."""

    def __repr__(self) -> str:
        kind = type(self).__name__.removeprefix("Remote")
        return (f"{kind}(name={self._name!r}, keyspace={self._keyspace!r}, "
                f"api_endpoint={self._database.api_endpoint!r})")

    def _repr_html_(self) -> str:
        kind = type(self).__name__.removeprefix("Remote")
        return (f"<b>{kind}</b> {html.escape(self._keyspace)}.{html.escape(self._name)} at "
                f"<code>{html.escape(self._database.api_endpoint)}</code>")


class RemoteCollection(_RemoteHandle, Collection):
    """A collection behind a Data API endpoint."""

    def _json(self, cmd: dict) -> Any:
        # as a local collection takes them: numpy, datetime ({"$date"}), UUID ({"$uuid"})
        try:
            return json_clone(cmd)
        except TypeError as exc:
            raise DataAPIError("SHRED_BAD_DOCUMENT_TYPE", f"Document is not valid JSON: "
                               f"{exc}. Convert the value (e.g. NaN to null) and resend."
                               ) from None

    def options(self) -> dict:
        """The collection's options (findCollections with explain)."""
        for entry in self._database.list_collections(keyspace=self._keyspace):
            if entry["name"] == self._name:
                return entry.get("options", {})
        self._database._check_exists(self._keyspace, self._name, "collection")
        return {}  # pragma: no cover - _check_exists raised

    def update_many(self, filter: dict, update: dict, *, upsert: bool = False,
                    long_text: str | LongTextPolicy | None = None) -> UpdateResult:
        """Update every matching document: updateMany, following ``nextPageState``."""
        matched = modified = 0
        upserted = None
        options: dict[str, Any] = {"upsert": upsert}
        while True:
            status = self._run({"updateMany": {"filter": filter, "update": update,
                                               "options": options}}, long_text).status or {}
            matched += status.get("matchedCount", 0)
            modified += status.get("modifiedCount", 0)
            upserted = status.get("upsertedId", upserted)
            if not status.get("nextPageState"):
                return UpdateResult(matched, modified, upserted)
            options = {**options, "pageState": status["nextPageState"]}

    def delete_many(self, filter: dict) -> DeleteResult:
        """Delete every matching document: deleteMany, repeated while ``moreData``."""
        total = 0
        while True:
            status = self._run({"deleteMany": {"filter": filter}}).status or {}
            count = status.get("deletedCount", 0)
            if count == -1:
                return DeleteResult(-1)
            total += count
            if not status.get("moreData"):
                return DeleteResult(total)

    def to_pandas(self, filter: dict | None = None, *, projection: dict | list | None = None,
                  include_vector: bool = False) -> Any:
        """A DataFrame of the matching documents (read a page of 20 at a time), as
        :meth:`Collection.to_pandas` makes it."""
        import pandas as pd

        if isinstance(projection, (list, tuple)):
            projection = dict.fromkeys(projection, 1)
        if include_vector and not (projection or {}).get("*"):
            # $vector is returned only when named; naming it alone keeps every other field
            projection = {**(projection or {}), "$vector": 1}
        records, vectors = [], []
        for doc in Cursor(self, {"filter": filter or {}, "projection": projection,
                                 "options": {}}):
            vector = doc.pop("$vector", None)
            records.append(doc)
            vectors.append(None if vector is None else decode_vector(vector, check=False))
        frame = _records_frame(records)
        if include_vector:
            frame["$vector"] = pd.Series(vectors, dtype=object, index=frame.index)
        return frame


class RemoteTable(_RemoteHandle, Table):
    """A table behind a Data API endpoint."""

    _decimals = True  # every fraction a Decimal, then floats for columns that are not decimal

    def _received(self, envelope: dict) -> dict:
        """Numbers as a local table gives them: ``Decimal`` in decimal columns (by the
        answer's ``projectionSchema``), floats elsewhere (where a float is the number)."""
        status = envelope.get("status") or {}
        schema = status.get("projectionSchema") or {}

        def row(values: Any) -> Any:
            if not isinstance(values, dict):
                return lossless_floats(values)
            return {k: v if "decimal" in (schema.get(k) or {}).values() else lossless_floats(v)
                    for k, v in values.items()}

        data = envelope.get("data")
        if isinstance(data, dict):
            if isinstance(data.get("documents"), list):
                data["documents"] = [row(d) for d in data["documents"]]
            if data.get("document") is not None:
                data["document"] = row(data["document"])
        if status:
            envelope["status"] = lossless_floats(status)
        return envelope

    def definition(self) -> dict:
        """``{"columns": ..., "primaryKey": ...}`` (listTables with explain)."""
        for entry in self._database.list_tables(keyspace=self._keyspace):
            if entry["name"] == self._name:
                return entry["definition"]
        self._database._check_exists(self._keyspace, self._name, "table")
        return {}  # pragma: no cover - _check_exists raised

    def primary_key_columns(self) -> list[str]:
        return key_columns(self.definition())

    def to_pandas(self, filter: dict | None = None, *, projection: dict | list | None = None
                  ) -> Any:
        """A typed DataFrame of the matching rows (read a page of 20 at a time), with each
        column's own dtype, as :meth:`Table.to_pandas` makes it."""
        import pandas as pd

        if isinstance(projection, (list, tuple)):
            projection = dict.fromkeys(projection, 1)
        definition = self.definition()["columns"]
        types = {}
        if any("udtName" in str(spec) for spec in definition.values()):
            types = {t["udtName"]: UdtType.from_definition(t["udtName"], t["definition"])
                     for t in self._database.list_types(keyspace=self._keyspace)
                     if "udtName" in t}
        columns = {n: parse_column(n, _without_api_support(spec), types)
                   for n, spec in definition.items()}
        body: dict[str, Any] = {"filter": filter or {}, "options": {}}
        if projection:
            body["projection"] = projection
        rows = list(Cursor(self, body))
        if projection and any(projection.values()):
            names = [n for n in columns if projection.get(n)]
        else:
            names = [n for n in columns if not projection or projection.get(n, True)]
        data = {}
        for name in names:
            col = columns[name]
            cells = [col.parse(row.get(name)) for row in rows]
            if col.udt is not None:
                cells = [col.readable(c) for c in cells]
            data[name] = (pd.Series(cells, dtype=object) if col.is_vector
                          else pd.Series(col.array(cells)))
        return pd.DataFrame(data, index=pd.RangeIndex(len(rows)))


def _without_api_support(spec: Any) -> Any:
    """A column definition as listTables explains it, as a createTable would send it."""
    if not isinstance(spec, dict):
        return spec
    return {k: _without_api_support(v) for k, v in spec.items() if k != "apiSupport"}


def connect(api_endpoint: str, token: str | None = None, *, keyspace: str | None = None,
            api_path: str | None = None, timeout: float = 60.0) -> RemoteDatabase:
    """The database behind a Data API endpoint, with the same API as a local one.

    Parameters
    ----------
    api_endpoint
        ``https://<db-id>-<region>.apps.astra.datastax.com`` (Astra DB), an HCD / DSE Data
        API URL, or a ``vectorize-kit serve`` URL such as ``http://127.0.0.1:8181``.
    token
        The application token (``AstraCS:...``; ``Cassandra:<b64 user>:<b64 password>`` for
        HCD and DSE).
    keyspace
        Keyword-only. The keyspace that calls without ``keyspace=`` use (default:
        ``default_keyspace``), as astrapy's ``get_database(..., keyspace=...)``.
    api_path
        Keyword-only. The path before ``{keyspace}``: ``/api/json/v1`` for Astra DB (the
        default for its hosts), ``/v1`` otherwise.
    timeout
        Keyword-only. Seconds to wait for each request.

    Examples
    --------
    >>> db = vk.connect("http://127.0.0.1:8181", token=server.token)  # doctest: +SKIP
    >>> books = db.get_collection("books")  # doctest: +SKIP
    >>> books.find_one({}, sort={"$vectorize": "space opera"})  # doctest: +SKIP
    """
    return RemoteDatabase(api_endpoint, token, keyspace=keyspace, api_path=api_path,
                          timeout=timeout)
