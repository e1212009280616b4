"""Application tokens, their roles, and what each role may run.

Astra DB checks every Data API request's ``Token`` header; the token's role decides what the
request may do (seed 002, "Permissions required for vectorize"):

- ``read-only``: reads (find, count, list collections, tables, indexes, keyspaces and
  embedding providers);
- ``database-administrator``: reads, writes and every schema change of the database: creating
  collections and tables with a vectorize service, altering tables, indexes, keyspaces;
- ``organization-administrator``: all of that, and the embedding provider integrations:
  credentials and their scoped databases (listing them included).

A token may also be the ``Cassandra:<base64 user>:<base64 password>`` form that astrapy's
``UsernamePasswordTokenProvider`` sends to HCD and DSE; it matches a configured token of the
same form whose user and password decode to the same values.  Tokens are compared in
constant time and never logged, shown or echoed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from typing import Literal

from ..commands import INTEGRATION_COMMANDS, KNOWN_COMMANDS, READ_COMMANDS
from ..errors import DataAPIError

__all__ = ["ROLES", "Role", "TokenTable", "allowed", "command_kind"]

Role = Literal["read-only", "database-administrator", "organization-administrator"]
#: The roles, from the least to the most allowed.
ROLES: tuple[str, ...] = ("read-only", "database-administrator", "organization-administrator")

_READS = READ_COMMANDS
_WRITES = frozenset({
    "insertOne", "insertMany", "updateOne", "updateMany", "deleteOne", "deleteMany",
    "findOneAndUpdate", "findOneAndReplace", "findOneAndDelete",
})
# the integrations (findCredentials included: credentials belong to the organisation); every
# other command the dispatcher knows is a schema change; one it does not know goes through to
# be answered COMMAND_UNKNOWN, whatever the role

_ALLOWED = {
    "read-only": {"read", "unknown"},
    "database-administrator": {"read", "write", "schema", "unknown"},
    "organization-administrator": {"read", "write", "schema", "integrations", "unknown"},
}
_WHAT = {"write": "a write", "schema": "a schema change",
         "integrations": "a change of the embedding provider integrations"}


def command_kind(name: str) -> str:
    """``read``, ``write``, ``schema``, ``integrations``, or ``unknown`` (a command the
    dispatcher does not know): what a command does."""
    if name in _READS:
        return "read"
    if name in _WRITES:
        return "write"
    if name in INTEGRATION_COMMANDS:
        return "integrations"
    return "schema" if name in KNOWN_COMMANDS else "unknown"


def allowed(role: str, command: str, where: str) -> None:
    """``UNAUTHORIZED_ACCESS`` when ``role`` may not run ``command`` (on ``where``:
    ``keyspace.collection``, a keyspace, or the database)."""
    kind = command_kind(command)
    if kind in _ALLOWED[role]:
        return
    needed = next(r for r in ROLES if kind in _ALLOWED[r])
    raise DataAPIError(
        "UNAUTHORIZED_ACCESS",
        "The command is not authorized to perform the action on the database.\n\nThe "
        "authentication details provided with the command do not allow it to perform the "
        f"action is was attempting: '{command}' is {_WHAT[kind]}, and the token's role is "
        f"{role}; it needs the {needed} role.\n\nThe command used the keyspace and table or "
        f"collection: {where}.\n\nResend the command using the correct authentication "
        "details. Nothing was changed.",
    )


def _canonical(token: str) -> bytes:
    """A token as compared: the SHA-256 of the ``Cassandra:<b64>:<b64>`` form's decoded user
    and password (so that base64 padding and the URL-safe alphabet do not matter), or of the
    token itself; the same length whatever the token, for a constant-time comparison."""
    parts = token.split(":")
    if len(parts) == 3 and parts[0] == "Cassandra":
        try:
            user, password = (base64.b64decode(p.replace("-", "+").replace("_", "/")
                                               + "=" * (-len(p) % 4), validate=True)
                              for p in parts[1:])
        except (binascii.Error, ValueError):
            pass
        else:
            return hashlib.sha256(b"cassandra:" + base64.b16encode(user) + b":"
                                  + base64.b16encode(password)).digest()
    return hashlib.sha256(b"token:" + token.encode("utf-8", "surrogatepass")).digest()


class TokenTable:
    """The tokens a server accepts, each with its role.

    Parameters
    ----------
    tokens
        ``{token: role}``; a token given as a plain string gets the organization-administrator
        role. ``None`` or empty: one token is generated (:attr:`generated`), with that role.
    """

    def __init__(self, tokens: Mapping[str, str] | Iterable[str] | str | None = None) -> None:
        if isinstance(tokens, str):
            tokens = {tokens: "organization-administrator"}
        elif tokens is not None and not isinstance(tokens, Mapping):
            tokens = dict.fromkeys(list(tokens), "organization-administrator")
        self.generated: str | None = None
        if not tokens:
            self.generated = "AstraCS:" + secrets.token_urlsafe(32)
            tokens = {self.generated: "organization-administrator"}
        self._entries: list[tuple[bytes, str]] = []
        for token, role in tokens.items():
            if not isinstance(token, str) or not token.strip():
                raise ValueError("a token must be a non-empty string")
            if role not in ROLES:
                raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
            self._entries.append((_canonical(token), role))

    def role_of(self, token: str | None) -> str | None:
        """The role of a request's token, or ``None`` for an unknown token (every entry is
        compared, in constant time each)."""
        if not token:
            return None
        given = _canonical(token)
        found = None
        for known, role in self._entries:
            if hmac.compare_digest(given, known) and found is None:
                found = role
        return found

    def roles(self) -> list[str]:
        """The role of each token (what a repr may show: never the tokens)."""
        return [role for _, role in self._entries]

    def __repr__(self) -> str:
        return f"TokenTable(roles={self.roles()})"
