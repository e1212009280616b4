"""Name rules for keyspaces, collections, tables, indexes and databases."""

from __future__ import annotations

import re

from .errors import DataAPIError
from .limits import MAX_INDEX_NAME, MAX_SCHEMA_NAME

__all__ = ["check_database_name", "check_schema_name", "schema_name_rules"]

_DATABASE_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,48}[A-Za-z0-9])?")


def check_schema_name(name: object, kind: str) -> str:
    """Return ``name`` if it is a valid keyspace/collection/table/index name, else raise.

    The Data API accepts ``^\\w{1,48}$`` (ASCII letters, digits and underscores), case-sensitive;
    index names may be up to 100 characters long.
    """
    longest = MAX_INDEX_NAME if kind == "Index" else MAX_SCHEMA_NAME
    if not isinstance(name, str) or not all(met for _, met in schema_name_rules(name, kind)):
        shown = repr(name) if isinstance(name, str) else f"a {type(name).__name__}"
        raise DataAPIError(
            "UNSUPPORTED_SCHEMA_NAME",
            f"The command attempted to create a {kind} with a name that is not supported: "
            f"{shown}. The supported {kind} names must not be empty, more than "
            f"{longest} characters long, or contain non-alphanumeric-underscore "
            f"characters. Resend the command with a name such as 'my_{kind.lower()}'.",
        )
    return name


def schema_name_rules(name: str, kind: str) -> list[tuple[str, bool]]:
    """The rules of :func:`check_schema_name`, each with whether ``name`` meets it (for forms
    that validate a name as it is typed)."""
    longest = MAX_INDEX_NAME if kind == "Index" else MAX_SCHEMA_NAME
    return [
        (f"must have 1 to {longest} characters (has {len(name)})", 1 <= len(name) <= longest),
        ("can contain only letters, numbers and underscores",
         re.fullmatch(r"[A-Za-z0-9_]*", name) is not None),
    ]


def check_database_name(name: object) -> str:
    """Return ``name`` if it is a valid database name, else raise ``INVALID_DATABASE_NAME``.

    Like Astra's database names: 1 to 50 letters, digits, underscores and hyphens, starting
    and ending with a letter or digit.
    """
    if not isinstance(name, str) or not _DATABASE_NAME.fullmatch(name):
        raise DataAPIError(
            "INVALID_DATABASE_NAME",
            f"Database name {name!r} is not valid: use 1 to 50 letters, digits, underscores "
            "or hyphens, starting and ending with a letter or digit (e.g. 'vector-demo').",
        )
    return name
