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
3. the body must be JSON (``#`` comments outside strings are tolerated, as in the seeds'
   annotated curl examples) → else 200 ``REQUEST_NOT_JSON``;
4. the token's role must allow the command (:mod:`.auth`) → else 401 ``UNAUTHORIZED_ACCESS``
   and nothing changes;
5. the command runs; command errors are answered with HTTP 200 and the error envelope.

``x-embedding-api-key`` is the provider key for that request's ``$vectorize`` texts. No
header value is ever logged; the request log (``vectorize_kit.server`` at DEBUG) has the
path, command name, status and time.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..commands import DatabaseState, Result, envelope_of, execute_collection, execute_database
from ..commands.core import unwrap
from ..errors import HTTP_STATUS, DataAPIError
from .auth import TokenTable, allowed

__all__ = ["MAX_BODY_BYTES", "create_app"]

logger = logging.getLogger("vectorize_kit.server")

#: The largest request body accepted (the Data API's quarkus.http.limits.max-body-size).
MAX_BODY_BYTES = 20 * 1024 * 1024


def _reply(envelope: dict) -> Response:
    errors = envelope.get("errors") or ()
    status = HTTP_STATUS.get(errors[0]["errorCode"], 200) if errors else 200
    body = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return Response(body.encode(), status_code=status, media_type="application/json")


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


def parse_body(raw: bytes) -> Any:
    """The request's JSON (``#`` comments tolerated); ``REQUEST_NOT_JSON`` otherwise."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataAPIError("REQUEST_NOT_JSON", f"Request not valid JSON, problem: not UTF-8 "
                           f"({exc.reason} at byte {exc.start}). Resend request as valid "
                           "JSON.") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as first:
        if "#" in text:
            try:
                return json.loads(strip_comments(text))
            except json.JSONDecodeError:
                pass
        raise DataAPIError(
            "REQUEST_NOT_JSON",
            f"Request not valid JSON, problem: {first.msg} at line {first.lineno} column "
            f"{first.colno}. Resend request as valid JSON.") from None


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def create_app(database: DatabaseState, tokens: TokenTable) -> Starlette:
    """The ASGI application serving ``database`` to requests bearing one of ``tokens``."""

    def run(role: str, keyspace: str | None, name: str | None, command: Any,
            api_key: str | None) -> dict:
        def dispatch() -> Result:
            cmd_name, _ = unwrap(command)
            where = (f"{keyspace}.{name}" if name else keyspace) or "the database"
            allowed(role, cmd_name, where)
            if name is not None:
                target = database.collection(keyspace, name)
                return execute_collection(target, command, embedding_api_key=api_key)
            return execute_database(database, command, keyspace=keyspace)

        return envelope_of(dispatch)

    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        token = request.headers.get("token") or request.headers.get("x-cassandra-token")
        if not token:
            return _error("MISSING_AUTHENTICATION_TOKEN",
                          "Role unauthorized for operation: Missing token, expecting one in "
                          "the Token header.")
        role = tokens.role_of(token)
        if role is None:
            return _error("UNAUTHENTICATED_REQUEST",
                          "Authentication failed for request due to invalid token.\n\nResend "
                          "with valid authentication token.")
        if not _is_json(request.headers.get("content-type")):
            shown = request.headers.get("content-type") or "(none)"
            return _error("UNSUPPORTED_CONTENT_TYPE",
                          f"Request sent with unsupported 'Content-Type' header: {shown}\n\n"
                          "Resend with supported 'Content-Type' header (application/json).")
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return _error("REQUEST_TOO_LARGE", f"Request body of {length} bytes is over the "
                          f"limit of {MAX_BODY_BYTES} bytes: send fewer documents at a time.")
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            return _error("REQUEST_TOO_LARGE", f"Request body of {len(raw)} bytes is over the "
                          f"limit of {MAX_BODY_BYTES} bytes: send fewer documents at a time.")
        keyspace = request.path_params.get("keyspace")
        name = request.path_params.get("collection")
        try:
            command = parse_body(raw)
        except DataAPIError as exc:
            return _reply(Result(errors=[exc]).envelope())
        api_key = request.headers.get("x-embedding-api-key") or None
        envelope = await run_in_threadpool(run, role, keyspace, name, command, api_key)
        response = _reply(envelope)
        logger.debug("%s %s %s %d %.1f ms", request.url.path,
                     next(iter(command), "?") if isinstance(command, dict) else "?", role,
                     response.status_code, (time.perf_counter() - started) * 1e3)
        return response

    routes = [Route(prefix + path, endpoint, methods=["POST"])
              for prefix in ("", "/api/json")
              for path in ("/v1", "/v1/{keyspace}", "/v1/{keyspace}/{collection}")]
    return Starlette(routes=routes)
