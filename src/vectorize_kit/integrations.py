"""Embedding provider integrations: named credentials and the databases each is scoped to.

As in Astra (seed 000 steps 7–10, seed 002 "Manage scoped databases"): an external provider's
integration holds credentials (user access tokens), each with a unique, immutable name and a
set of scoped databases — the databases allowed to call the provider with it.  A new database
is in no scope; one database may be in several credentials' scopes.

Secrets are kept apart from everything else: names and scopes go to ``integrations.json``,
the tokens to ``secrets.json``, readable by the user only (mode 0600).  Neither lives under
``databases/``.  A token never appears in a repr, a log line or an error message.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import DataAPIError
from .models import PROVIDERS
from .values import Secret

__all__ = ["Integrations", "Credential", "credential_name_problems", "credential_name_rules",
           "MAX_SCOPE_PER_CALL"]

MAX_SCOPE_PER_CALL = 10
log = logging.getLogger("vectorize_kit")
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,48}[A-Za-z0-9])")


def credential_name_rules(name: str, existing: list[str] | tuple[str, ...] = ()
                          ) -> list[tuple[str, bool]]:
    """The seed's rules for a user access token name, each with whether ``name`` meets it.

    1. Must start and end with a letter or number.
    2. Can contain letters, numbers, underscores and hyphens.
    3. Must contain at least 2 characters, but no more than 50 characters.
    4. Must be unique within the embedding provider integration's settings.
    """
    ends = bool(name) and all(c.isascii() and c.isalnum() for c in (name[0], name[-1]))
    return [
        ("must start and end with a letter or number", ends),
        ("can contain only letters, numbers, underscores and hyphens",
         re.fullmatch(r"[A-Za-z0-9_-]*", name) is not None),
        (f"must have 2 to 50 characters (has {len(name)})", 2 <= len(name) <= 50),
        ("must be unique within the provider's integration (it is taken)"
         if name in existing else "must be unique within the provider's integration",
         name not in existing),
    ]


def credential_name_problems(name: str, existing: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The rules of :func:`credential_name_rules` that ``name`` breaks (empty: valid)."""
    return [rule for rule, met in credential_name_rules(name, existing) if not met]


@dataclass(frozen=True)
class Credential:
    """A named credential: its provider, scoped database ids and creation time (no secret)."""

    provider: str
    name: str
    databases: tuple[str, ...]
    created_at: str

    def __repr__(self) -> str:
        return (f"Credential(provider={self.provider!r}, name={self.name!r}, "
                f"databases={list(self.databases)!r})")


def _check_token(name: str, token: Any) -> None:
    if not isinstance(token, str) or not token.strip():
        raise DataAPIError(
            "INVALID_CREDENTIAL_SECRET",
            f"The token for credential {name!r} is empty; paste the provider's user access "
            "token.",
        )


def _write_private(path: Path, value: Any) -> None:
    """Write JSON atomically to a file only the user can read."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(value, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


class Integrations:
    """Credentials and scopes of every external provider of a workspace.

    Parameters
    ----------
    root
        The workspace directory, or ``None`` to keep everything in memory.
    guard
        Called before every change (it raises for a read-only workspace).
    """

    def __init__(self, root: Path | None, *, guard: Callable[[], None] = lambda: None
                 ) -> None:
        self._root = root
        self._guard = guard
        self._lock = threading.RLock()
        # provider -> name -> {"databases": [ids], "created_at": iso}
        self._meta: dict[str, dict[str, dict]] = {}
        self._secrets: dict[str, dict[str, str]] = {}
        self._observers: list[Callable[[], Any]] = []
        self._read()

    def _read(self) -> bool:
        """Load names, scopes and tokens from the files; whether they changed."""
        if self._root is None or not (self._root / "integrations.json").exists():
            return False
        try:
            meta = json.loads((self._root / "integrations.json").read_text())
            secrets = self._root / "secrets.json"
            tokens = json.loads(secrets.read_text()) if secrets.exists() else {}
        except (OSError, ValueError):  # replaced by the writer as it was read: next time
            return False
        changed = (meta, tokens) != (self._meta, self._secrets)
        self._meta, self._secrets = meta, tokens
        return changed

    def reload(self) -> None:
        """Read the files again (a read-only workspace: the writer's changes), telling the
        observers if anything changed."""
        with self._lock:
            changed = self._read()
        if changed:
            self._notify()

    def _save(self) -> None:
        # secrets first: a crash between the two writes leaves at worst an unused secret,
        # never a credential without its token
        if self._root is not None:
            _write_private(self._root / "secrets.json", self._secrets)
            _write_private(self._root / "integrations.json", self._meta)
        self._notify()

    def observe(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every change of a credential or a scope. A bound method
        is held weakly (it goes when its object does); a function is kept."""
        ref = (weakref.WeakMethod(callback) if hasattr(callback, "__self__")
               else lambda: callback)
        self._observers.append(ref)

    def _notify(self) -> None:
        self._observers = [ref for ref in self._observers if ref() is not None]
        for ref in list(self._observers):
            callback = ref()
            if callback is not None:
                try:
                    callback()
                except Exception:  # an observer's failure is its own, never the change's
                    log.exception("an integrations observer failed")

    @staticmethod
    def _provider(provider: str) -> str:
        info = PROVIDERS.get(provider)
        if info is None or not info.external:
            external = sorted(p for p, i in PROVIDERS.items() if i.external)
            raise DataAPIError(
                "UNKNOWN_EMBEDDING_PROVIDER",
                f"Provider {provider!r} has no credentials to manage: external providers "
                f"are {external}" + (" ('local' needs no credential)." if provider == "local"
                                     else "."),
            )
        return provider

    def _entry(self, provider: str, name: str) -> dict:
        entry = self._meta.get(self._provider(provider), {}).get(name)
        if entry is None:
            raise DataAPIError(
                "UNKNOWN_CREDENTIAL",
                f"Provider {provider!r} has no credential named {name!r}; it has "
                f"{sorted(self._meta.get(provider, {}))}. Add it first (add_credential).",
            )
        return entry

    @staticmethod
    def _check_batch(db_ids: list[str], verb: str) -> None:
        if len(db_ids) > MAX_SCOPE_PER_CALL:
            raise DataAPIError(
                "TOO_MANY_SCOPED_DATABASES",
                f"You can {verb} up to {MAX_SCOPE_PER_CALL} databases at once, not "
                f"{len(db_ids)}: give the first {MAX_SCOPE_PER_CALL} now, then repeat for "
                f"the rest with add_scoped_databases(), {MAX_SCOPE_PER_CALL} at a time.",
            )

    # -- reading -----------------------------------------------------------------------------
    def credentials(self, provider: str) -> list[Credential]:
        """Every credential of ``provider``, by name."""
        with self._lock:
            entries = self._meta.get(self._provider(provider), {})
            return [Credential(provider, name, tuple(e["databases"]), e["created_at"])
                    for name, e in sorted(entries.items())]

    def get(self, provider: str, name: str) -> Credential | None:
        with self._lock:
            entry = self._meta.get(provider, {}).get(name)
            if entry is None:
                return None
            return Credential(provider, name, tuple(entry["databases"]), entry["created_at"])

    def in_scope(self, provider: str, db_id: str) -> list[str]:
        """Names of the credentials of ``provider`` whose scope holds the database."""
        with self._lock:
            return sorted(n for n, e in self._meta.get(provider, {}).items()
                          if db_id in e["databases"])

    def secret(self, provider: str, name: str) -> Secret | None:
        """The token of a credential (for calling the provider; it never shows itself)."""
        with self._lock:
            token = self._secrets.get(provider, {}).get(name)
            return None if token is None else Secret(token)

    def resolve(self, provider: str, name: str, db_id: str) -> Secret | str:
        """In one step: the credential's token if it exists and its scope holds the
        database, else why not (``"removed"`` or ``"not in scope"``)."""
        with self._lock:
            entry = self._meta.get(provider, {}).get(name)
            token = self._secrets.get(provider, {}).get(name)
            if entry is None or token is None:
                return "removed"
            if db_id not in entry["databases"]:
                return "not in scope"
            return Secret(token)

    def rotate(self, provider: str, name: str, token: str) -> Credential:
        """Replace a credential's token, keeping its name and scope, in one step (what
        removing it and adding it again with the same name and scope comes to)."""
        with self._lock:
            self._guard()
            entry = self._entry(provider, name)
            _check_token(name, token)
            self._secrets.setdefault(provider, {})[name] = token
            self._save()
            return Credential(provider, name, tuple(entry["databases"]), entry["created_at"])

    # -- changing ----------------------------------------------------------------------------
    def add(self, provider: str, name: str, token: str, db_ids: list[str]) -> Credential:
        """Add a credential with its first scoped databases (at most 10)."""
        with self._lock:
            self._guard()
            existing = list(self._meta.get(self._provider(provider), {}))
            rules = credential_name_rules(name if isinstance(name, str) else "", existing)
            problems = [rule for rule, met in rules if not met]
            if problems == [rules[-1][0]]:  # only the last rule, uniqueness, is broken
                raise DataAPIError(
                    "CREDENTIAL_ALREADY_EXISTS",
                    f"Provider {provider!r} already has a credential named {name!r}. Choose "
                    "another name, or replace its token with rotate_credential().",
                )
            if problems:
                raise DataAPIError(
                    "INVALID_CREDENTIAL_NAME",
                    f"User access token name {name!r} is not valid: it "
                    + "; it ".join(problems) + ". Names can not be changed later.",
                )
            _check_token(name, token)
            self._check_batch(db_ids, "add")
            entry = {"databases": list(dict.fromkeys(db_ids)),
                     "created_at": dt.datetime.now(dt.timezone.utc).isoformat()}
            self._meta.setdefault(provider, {})[name] = entry
            self._secrets.setdefault(provider, {})[name] = token
            self._save()
            return Credential(provider, name, tuple(entry["databases"]), entry["created_at"])

    def remove(self, provider: str, name: str) -> Credential:
        """Remove a credential and its token; returns what it was (to re-create it)."""
        with self._lock:
            self._guard()
            entry = self._entry(provider, name)
            del self._meta[provider][name]
            self._secrets.get(provider, {}).pop(name, None)
            self._save()
            return Credential(provider, name, tuple(entry["databases"]), entry["created_at"])

    def add_scope(self, provider: str, name: str, db_ids: list[str]) -> Credential:
        """Add databases (at most 10 per call) to a credential's scope."""
        with self._lock:
            self._guard()
            entry = self._entry(provider, name)
            self._check_batch(db_ids, "add")
            entry["databases"] = list(dict.fromkeys([*entry["databases"], *db_ids]))
            self._save()
            return self.get(provider, name)  # type: ignore[return-value]

    def remove_scope(self, provider: str, name: str, db_ids: list[str]) -> Credential:
        """Remove databases from a credential's scope."""
        with self._lock:
            self._guard()
            entry = self._entry(provider, name)
            entry["databases"] = [d for d in entry["databases"] if d not in db_ids]
            self._save()
            return self.get(provider, name)  # type: ignore[return-value]

    def forget_database(self, db_id: str) -> None:
        """Take a dropped database out of every scope."""
        with self._lock:
            self._guard()
            scoped = [entry for entries in self._meta.values() for entry in entries.values()
                      if db_id in entry["databases"]]
            for entry in scoped:
                entry["databases"].remove(db_id)
            if scoped:
                self._save()

    def __repr__(self) -> str:
        counts = {p: len(c) for p, c in self._meta.items()}
        return f"Integrations(credentials={counts})"
