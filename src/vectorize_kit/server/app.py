"""The Data API over HTTP: an ASGI application (Starlette) serving one database.

Routes (``reference/data-api.md`` §1.1), each ``POST`` only, each also under ``/api/json``
(Astra's gateway prefix, which astrapy's default environment uses):

- ``/v1``: general commands (keyspaces, ``findEmbeddingProviders``, and the integration
  commands of vectorize_kit);
- ``/v1/{keyspace}``: keyspace commands (collections, tables, ``dropIndex``, ``listTypes``);
- ``/v1/{keyspace}/{collection_or_table}``: the commands of that collection or table.

Every request goes through the same dispatcher as ``Database.command`` and
``Collection.command``, in a worker thread.  Checks, in order:

1. the ``Token`` header (or the legacy ``X-Cassandra-Token``): missing → 401
   ``MISSING_AUTHENTICATION_TOKEN``, unknown → 401 ``UNAUTHENTICATED_REQUEST``;
2. ``Content-Type`` must be JSON → else 415 ``UNSUPPORTED_CONTENT_TYPE``; a body over 20 MB →
   413 (the Data API's ``max-body-size``);
3. the body must be strict JSON (no ``NaN``, ``Infinity`` or numbers beyond a double;
   ``#`` comments outside strings are tolerated, as in the seeds' annotated curl examples),
   nested at most :data:`MAX_NESTING_DEPTH` levels → else 200 ``REQUEST_NOT_JSON``; a
   table's decimal values are read exactly;
4. the token's role must allow the command (:mod:`.auth`) → else 401 ``UNAUTHORIZED_ACCESS``
   and nothing changes;
5. general commands go to ``/v1`` and keyspace commands to a keyspace → else 200
   ``COMMAND_UNKNOWN``;
6. the command runs; command errors are answered with HTTP 200 and the error envelope.

``x-embedding-api-key`` is the provider key for that request's ``$vectorize`` texts. No
header value is ever logged; the request log (``vectorize_kit.server`` at DEBUG) has the
path, command name, status and time.
"""

from __future__ import annotations

import decimal
import json
import logging
import re
import time
from typing import Any

import anyio
import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..commands import (
    GENERAL,
    KNOWN_COMMANDS,
    DatabaseState,
    Result,
    TableState,
    envelope_of,
    execute_collection,
    execute_database,
)
from ..commands.core import unwrap
from ..errors import HTTP_STATUS, DataAPIError
from ..values import dumps, loads, lossless_floats
from .auth import TokenTable, allowed

__all__ = ["MAX_BODY_BYTES", "MAX_NESTING_DEPTH", "WORKER_THREADS", "create_app", "parse_body"]

logger = logging.getLogger("vectorize_kit.server")

#: The largest request body accepted (the Data API's quarkus.http.limits.max-body-size).
MAX_BODY_BYTES = 20 * 1024 * 1024
#: Commands run at once, each in a thread of its own.
WORKER_THREADS = 64
#: The deepest nesting of arrays and objects a request may have.  The Data API's own limit
#: is Jackson's (1000), but no command needs a tenth of it (a document may be 16 deep) and
#: the dispatcher walks values recursively: deeper bodies are refused before they reach it,
#: as ``REQUEST_NOT_JSON``, rather than failing in it with a ``RecursionError``.
MAX_NESTING_DEPTH = 200


def _reply(envelope: dict) -> Response:
    try:
        body = dumps(envelope)  # decimal columns as exact numbers
    except (TypeError, ValueError) as exc:  # a bug of ours: say so in the envelope
        logger.exception("an answer could not be written as JSON")
        envelope = Result(errors=[DataAPIError(
            "SERVER_UNHANDLED_ERROR", f"Server failed: the answer could not be written as "
            f"JSON ({exc}). This is a bug in vectorize_kit: please report it with the "
            "command that caused it.")]).envelope()
        body = dumps(envelope)
    errors = envelope.get("errors") or ()
    status = HTTP_STATUS.get(errors[0]["errorCode"], 200) if errors else 200
    # a lone surrogate (sent as "\ud800", which JSON allows) has no UTF-8 form: it goes
    # back as the same JSON escape (only surrogates fail to encode, and only inside strings)
    response = Response(body.encode("utf-8", "backslashreplace"), status_code=status,
                        media_type="application/json")
    response.error_code = errors[0]["errorCode"] if errors else ""  # for the request log
    return response


def _error(code: str, message: str) -> Response:
    return _reply(Result(errors=[DataAPIError(code, message)]).envelope())


def strip_comments(text: str) -> str:
    """``text`` without ``#`` comments (to the end of the line) outside JSON strings."""
    out, in_string, escaped, skipping = [], False, False, False
    for ch in text:
        if skipping:
            if ch in "\r\n":
                skipping = False
                out.append(ch)
            continue
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == "#":
            skipping = True
        else:
            out.append(ch)
            in_string = ch == '"'
    return "".join(out)


def _holds_decimals(spec: Any) -> bool:
    """Whether a column's values hold decimals (as its type, its elements' or its fields')."""
    if isinstance(spec, str):
        return spec == "decimal"
    if isinstance(spec, dict):
        return any(_holds_decimals(v) for k, v in spec.items()
                   if k in ("type", "keyType", "valueType", "definition", "fields")
                   or isinstance(v, dict))
    return False


def table_numbers(command: Any, schema: dict) -> Any:
    """A table command read with every fraction a ``Decimal``, made as the dispatcher takes
    it: exact in the values of decimal columns (rows inserted, ``$set``, ``$push`` and
    filters), elsewhere floats where a float is the same number (see
    :func:`~vectorize_kit.values.lossless_floats`)."""
    exact = {n for n, c in schema["columns"].items() if _holds_decimals(c)}

    def row(values: Any) -> Any:
        if not isinstance(values, dict):
            return lossless_floats(values)
        return {k: v if k in exact else lossless_floats(v) for k, v in values.items()}

    def clause(value: Any) -> Any:  # a filter: columns, possibly under $and / $or
        if isinstance(value, list):
            return [clause(v) for v in value]
        if not isinstance(value, dict):
            return lossless_floats(value)
        return {k: clause(v) if k in ("$and", "$or") else
                v if k in exact else lossless_floats(v) for k, v in value.items()}

    if not isinstance(command, dict) or len(command) != 1:
        return lossless_floats(command)
    ((name, body),) = command.items()
    if not isinstance(body, dict):
        return lossless_floats(command)
    out = {}
    for key, value in body.items():
        if key == "document":
            out[key] = row(value)
        elif key == "documents" and isinstance(value, list):
            out[key] = [row(v) for v in value]
        elif key == "update" and isinstance(value, dict):
            out[key] = {op: row(v) if op in ("$set", "$push") else lossless_floats(v)
                        for op, v in value.items()}
        elif key == "filter":
            out[key] = clause(value)
        else:
            out[key] = lossless_floats(value)
    return {name: out}


def _loads(text: str, exact: bool) -> Any:
    """Strict JSON (no NaN or Infinity, as the Data API) with exact numbers: ``exact``, every
    number with a fraction a ``Decimal``, else a float where the float is the same number
    (:func:`~vectorize_kit.values.loads`)."""
    if not exact:
        return loads(text)
    return json.loads(text, parse_float=decimal.Decimal, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


_ESCAPE = re.compile(rb"\\.", re.S)  # a backslash and the character it escapes
_STRING = re.compile(rb'"[^"]*"')  # a string, once its escapes are gone
_NOT_MARKS = bytes(c for c in range(256) if c not in b'[]{}"')


def _nesting_depth(text: bytes) -> int:
    """How deep arrays and objects nest in the valid JSON ``text`` (without recursing, and
    at C speed: the brackets outside strings, counted up and down by numpy)."""
    if b"\\" in text:
        text = _ESCAPE.sub(b"", text)
    marks = np.frombuffer(_STRING.sub(b"", text.translate(None, _NOT_MARKS)), np.uint8)
    steps = ((marks == 91) | (marks == 123)).astype(np.int32) - ((marks == 93) | (marks == 125))
    return int(steps.cumsum().max(initial=0))


def _checked_depth(text: bytes, value: Any) -> Any:
    """``value``, parsed from ``text``, unless it nests deeper than :data:`MAX_NESTING_DEPTH`."""
    # that deep only with that many brackets: most bodies are not measured at all
    if (text.count(b"[") + text.count(b"{") > MAX_NESTING_DEPTH
            and _nesting_depth(text) > MAX_NESTING_DEPTH):
        raise DataAPIError("REQUEST_NOT_JSON", _too_deep_message())
    return value


def _too_deep_message() -> str:
    return (f"Request not valid JSON, problem: arrays and objects nested more than "
            f"{MAX_NESTING_DEPTH} levels deep. Resend request with less nesting (a document "
            "may be nested at most 16 levels).")


def parse_body(raw: bytes, *, exact: bool = False) -> Any:
    """The request's JSON (``#`` comments tolerated); ``REQUEST_NOT_JSON`` otherwise.
    ``exact``: numbers with a fraction as ``Decimal`` (for a table's decimal columns)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataAPIError("REQUEST_NOT_JSON", f"Request not valid JSON, problem: not UTF-8 "
                           f"({exc.reason} at byte {exc.start}). Resend request as valid "
                           "JSON.") from None
    problem = None
    try:
        return _checked_depth(raw, _loads(text, exact))
    except json.JSONDecodeError as exc:
        problem = f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    except ValueError as exc:
        problem = str(exc)
    except RecursionError:  # nested deeper than the parser's stack: refused all the same
        raise DataAPIError("REQUEST_NOT_JSON", _too_deep_message()) from None
    if "#" in text:
        try:
            bare = strip_comments(text)
            return _checked_depth(bare.encode(), _loads(bare, exact))
        except (ValueError, RecursionError):
            pass
    raise DataAPIError("REQUEST_NOT_JSON", f"Request not valid JSON, problem: {problem}. "
                       "Resend request as valid JSON.")


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _check_level(command: str, keyspace: str | None) -> None:
    """General commands go to ``/v1``, keyspace commands to ``/v1/{keyspace}``, as in the
    Data API (``COMMAND_UNKNOWN`` elsewhere)."""
    if keyspace is None and command not in GENERAL and command in KNOWN_COMMANDS:
        raise DataAPIError(
            "COMMAND_UNKNOWN",
            f"Command '{command}' is not a general command: send it to a keyspace (POST "
            f"/v1/<keyspace>, e.g. /v1/default_keyspace) or to a collection or table (POST "
            "/v1/<keyspace>/<name>), not to /v1.")
    if keyspace is not None and command in GENERAL:
        raise DataAPIError(
            "COMMAND_UNKNOWN",
            f"Command '{command}' is a general command: send it to POST /v1, not to keyspace "
            f"'{keyspace}'.")


async def _body(request: Request) -> bytes | None:
    """The body, or ``None`` once it is over :data:`MAX_BODY_BYTES` (read no further, with
    or without a Content-Length)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(database: DatabaseState, tokens: TokenTable) -> Starlette:
    """The ASGI application serving ``database`` to requests bearing one of ``tokens``."""
    # commands run in worker threads (they take locks, write files and call providers);
    # more of them than anyio's default 40, so that requests waiting on one busy collection
    # leave threads for the others
    workers = anyio.CapacityLimiter(WORKER_THREADS)

    def run(role: str, keyspace: str | None, name: str | None, command: Any, raw: bytes,
            api_key: str | None) -> dict:
        def dispatch() -> Result:
            body = command
            cmd_name, _ = unwrap(command)
            where = (f"{keyspace}.{name}" if name else keyspace) or "none (a general command)"
            allowed(role, cmd_name, where)
            if name is not None:
                target = database.collection(keyspace, name)
                if isinstance(target, TableState):
                    body = table_numbers(parse_body(raw, exact=True), target.schema)
                return execute_collection(target, body, embedding_api_key=api_key)
            _check_level(cmd_name, keyspace)
            return execute_database(database, command, keyspace=keyspace)

        return envelope_of(dispatch)

    async def answer(request: Request) -> tuple[Response, Any, str | None]:
        """The response, the command (once read) and the token's role (once known)."""
        token = request.headers.get("token") or request.headers.get("x-cassandra-token")
        if not token:
            return _error("MISSING_AUTHENTICATION_TOKEN",
                          "Role unauthorized for operation: Missing token, expecting one in "
                          "the Token header."), None, None
        role = tokens.role_of(token)
        if role is None:
            return _error("UNAUTHENTICATED_REQUEST",
                          "Authentication failed for request due to invalid token.\n\nResend "
                          "with valid authentication token."), None, None
        if not _is_json(request.headers.get("content-type")):
            shown = request.headers.get("content-type") or "(none)"
            return _error("UNSUPPORTED_CONTENT_TYPE",
                          f"Request sent with unsupported 'Content-Type' header: {shown}\n\n"
                          "Resend with supported 'Content-Type' header (application/json)."
                          ), None, role
        raw = await _body(request)
        if raw is None:
            return _error("REQUEST_TOO_LARGE", f"Request body over the limit of "
                          f"{MAX_BODY_BYTES} bytes: send fewer documents at a time."), None, role
        try:
            command = parse_body(raw)
        except DataAPIError as exc:
            return _reply(Result(errors=[exc]).envelope()), None, role
        api_key = request.headers.get("x-embedding-api-key") or None
        envelope = await anyio.to_thread.run_sync(
            run, role, request.path_params.get("keyspace"),
            request.path_params.get("collection"), command, raw, api_key, limiter=workers)
        return _reply(envelope), command, role

    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        response, command, role = await answer(request)
        if logger.isEnabledFor(logging.DEBUG):  # never a header: no token, no provider key
            name = next(iter(command), "?") if isinstance(command, dict) and command else "-"
            code = getattr(response, "error_code", "")
            logger.debug("%s %s role=%s -> %d%s %.1f ms", request.url.path, name, role or "-",
                         response.status_code, f" {code}" if code else "",
                         (time.perf_counter() - started) * 1e3)
        return response

    # each path with and without a trailing slash (no redirect: a redirected POST loses its
    # body with clients that do not follow 307s)
    paths = ("/v1", "/v1/{keyspace}", "/v1/{keyspace}/{collection}")
    routes = [Route(prefix + path + slash, endpoint, methods=["POST"])
              for prefix in ("", "/api/json") for path in paths for slash in ("", "/")]
    app = Starlette(routes=routes)
    app.router.redirect_slashes = False
    return app
