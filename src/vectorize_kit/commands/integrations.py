"""Integration commands: embedding provider credentials and their scoped databases.

Astra DB manages integrations in its portal and DevOps API, not in the Data API; vectorize_kit
offers the same operations as general commands (``POST /v1``) in the Data API's style, so
that a served workspace can be administered over HTTP by a token with the
organization-administrator role (seed 002, "Manage integration credentials and scoped
databases"). Databases are named by name or id. A credential's token goes in and never
comes out: no answer, error or log line holds it.

- ``findCredentials {"provider"}`` → ``status.credentials``: ``[{"name", "scopedDatabases":
  [{"id", "name"}], "createdAt"}]``;
- ``addCredential {"provider", "name", "token", "scopedDatabases"?: [...]}``;
- ``rotateCredential {"provider", "name", "token"}``;
- ``removeCredential {"provider", "name"}``;
- ``addScopedDatabases`` / ``removeScopedDatabases {"provider", "name", "databases": [...]}``.

Each change answers ``{"status": {"ok": 1}}``.
"""

from __future__ import annotations

from typing import Any

from ..errors import DataAPIError
from ..integrations import Credential
from .core import Result, check_fields, field_invalid
from .state import DatabaseState

__all__ = ["INTEGRATION_COMMANDS"]


def _string(body: dict, key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        shown = "<hidden>" if key == "token" else value
        raise field_invalid(f"command.{key}", shown, "must be a string")
    return value


def _database_ids(db: DatabaseState, body: dict, key: str) -> list[str]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise field_invalid(f"command.{key}", value,
                            "must be an array of database names or ids")
    return [db.workspace.find_database(v).id for v in value]


def _shown(db: DatabaseState, cred: Credential) -> dict:
    names = {d.id: d.name for d in db.workspace.databases.values()}
    return {"name": cred.name,
            "scopedDatabases": [{"id": i, "name": names.get(i)} for i in cred.databases],
            "createdAt": cred.created_at}


def find_credentials(db: DatabaseState, body: dict) -> Result:
    check_fields("findCredentials", body, ("provider",))
    creds = db.workspace.integrations.credentials(_string(body, "provider"))
    return Result(status={"credentials": [_shown(db, c) for c in creds]})


def add_credential(db: DatabaseState, body: dict) -> Result:
    check_fields("addCredential", body, ("provider", "name", "token", "scopedDatabases"))
    ids = _database_ids(db, body, "scopedDatabases")
    db.workspace.integrations.add(_string(body, "provider"), _string(body, "name"),
                                  _string(body, "token"), ids)
    return Result(status={"ok": 1})


def rotate_credential(db: DatabaseState, body: dict) -> Result:
    check_fields("rotateCredential", body, ("provider", "name", "token"))
    db.workspace.integrations.rotate(_string(body, "provider"), _string(body, "name"),
                                     _string(body, "token"))
    return Result(status={"ok": 1})


def remove_credential(db: DatabaseState, body: dict) -> Result:
    check_fields("removeCredential", body, ("provider", "name"))
    db.workspace.integrations.remove(_string(body, "provider"), _string(body, "name"))
    return Result(status={"ok": 1})


def _scope_change(command: str, change: Any) -> Any:
    def run(db: DatabaseState, body: dict) -> Result:
        check_fields(command, body, ("provider", "name", "databases"))
        if "databases" not in body:
            raise DataAPIError("COMMAND_FIELD_VALUE_INVALID",
                               f"Command '{command}' needs 'databases': the names or ids of "
                               "the databases.")
        ids = _database_ids(db, body, "databases")
        change(db.workspace.integrations, _string(body, "provider"), _string(body, "name"), ids)
        return Result(status={"ok": 1})
    return run


INTEGRATION_COMMANDS = {
    "findCredentials": find_credentials,
    "addCredential": add_credential,
    "rotateCredential": rotate_credential,
    "removeCredential": remove_credential,
    "addScopedDatabases": _scope_change("addScopedDatabases",
                                        lambda i, p, n, ids: i.add_scope(p, n, ids)),
    "removeScopedDatabases": _scope_change("removeScopedDatabases",
                                           lambda i, p, n, ids: i.remove_scope(p, n, ids)),
}
