"""The portal's Settings → Integrations for one provider: credentials and their scopes."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
import traitlets

from ..api import Workspace
from ..integrations import MAX_SCOPE_PER_CALL, credential_name_rules
from ..models import PROVIDERS
from .common import (
    Message,
    Panel,
    button,
    choose,
    field,
    note,
    on_change,
    read_only_reason,
    rules_html,
    section,
    shows_errors,
)

__all__ = ["CredentialsManager"]


class _Password(w.Password):
    # the kernel's "" after taking the token is sent; the typed value is never echoed back
    value = traitlets.Unicode(help="String value").tag(sync=True, echo_update=False)


class _TokenField:
    """A password field whose value leaves the widget as soon as it arrives.

    The field syncs on Enter or when it loses focus, not per keystroke; the kernel then keeps
    the token in this object's memory only and empties the field, so the token is in no widget
    state that a saved notebook would store. :meth:`take` hands it over once.
    """

    def __init__(self, description: str, css: str) -> None:
        self.widget = field(_Password, description, css, continuous_update=False,
                            placeholder="paste the token, then press Enter or Tab")
        self.status = w.HTML()
        self.status.add_class(f"{css}-status")
        self._token: str | None = None
        self.widget.observe(self._arrived, names="value")
        self._show()

    def _arrived(self, change: dict) -> None:
        if change["new"]:
            self.widget.value = ""
            self._token = change["new"] if change["new"].strip() else None
            self._show("The token is blank: paste it again." if self._token is None else None)

    def _show(self, problem: str | None = None) -> None:
        self.status.value = note(
            problem or ("No token entered yet." if not self._token else
                        f"Token received ({len(self._token)} characters); it is kept in "
                        "memory only, until it is used."),
            colour="#b3261e" if problem else "inherit")

    @property
    def ready(self) -> bool:
        return bool(self._token)

    def take(self, token: str | None) -> str:
        """``token``, or the one entered in the field (which is forgotten)."""
        if token is not None:
            return token
        token, self._token = self._token or "", None
        self._show()
        return token

    def put_back(self, token: str) -> None:
        self._token = token or None
        self._show()


class CredentialsManager(Panel):
    """Manage one provider's credentials (user access tokens) and their scoped databases.

    Every button calls a method of this object, which calls the Python API
    (``ws.integrations``); the methods take the form's values by default: :meth:`add`,
    :meth:`rotate`, :meth:`add_scope`, :meth:`remove_scope`, :meth:`remove`. Changes made
    anywhere else in the workspace show at once.

    Parameters
    ----------
    ws
        The workspace whose integrations to manage.
    provider
        An external provider (``"huggingface"``).
    """

    def __init__(self, ws: Workspace, *, provider: str = "huggingface") -> None:
        self._ws = ws
        self.provider = provider
        ws.integrations.list_credentials(provider)  # UNKNOWN_EMBEDDING_PROVIDER for 'local'
        self.message = Message("vk-credential-message")
        title = w.HTML(f"<h3 style='margin:4px 0'>{html.escape(PROVIDERS[provider].display_name)}"
                       " · user access tokens</h3>")
        self.listing = w.HTML()
        self.listing.add_class("vk-credential-list")
        self.read_only_note = w.HTML()  # why the buttons are off, on a read-only workspace
        self.read_only_note.add_class("vk-credential-read-only")
        self.refresh_button = button("Refresh", "vk-credential-refresh")

        # add a credential (seed 000 steps 7–10)
        self.name = field(w.Text, "Token name", "vk-credential-name",
                          placeholder="e.g. prod-support-chat-created-oct-2026")
        self.rules = w.HTML()
        self.rules.add_class("vk-credential-rules")
        self.token = _TokenField("User access token", "vk-credential-token")
        self.databases = field(w.SelectMultiple, "Databases in scope", "vk-credential-databases",
                               options=[], rows=5)
        self.scope_note = w.HTML()
        self.add_button = button("Add credential", "vk-credential-add", button_style="primary",
                                 disabled=True)

        # manage one credential (seed 002: scopes, rotation, removal)
        self.selected = field(w.Dropdown, "Credential", "vk-credential-selected", options=[])
        self.details = w.HTML()
        self.new_token = _TokenField("New token", "vk-credential-new-token")
        self.rotate_button = button("Rotate token", "vk-credential-rotate", disabled=True)
        self.scope_add = field(w.SelectMultiple, "Add databases", "vk-credential-scope-add",
                               options=[], rows=4)
        self.scope_add_button = button("Add database", "vk-credential-scope-add-button",
                                       disabled=True)
        self.scope_remove = field(w.Dropdown, "Remove database", "vk-credential-scope-remove",
                                  options=[])
        self.scope_impact = w.HTML()
        self.scope_impact.add_class("vk-credential-scope-impact")
        self.scope_confirm = field(w.Text, "Type its name", "vk-credential-scope-confirm")
        self.scope_remove_button = button("Remove scope", "vk-credential-scope-remove-button",
                                          button_style="warning", disabled=True)
        self.impact = w.HTML()
        self.impact.add_class("vk-credential-impact")
        self.remove_confirm = field(w.Text, "Type its name", "vk-credential-remove-confirm")
        self.remove_button = button("Remove key", "vk-credential-remove", button_style="danger",
                                    disabled=True)

        on_change([self.name, self.databases, self.token.widget, self.selected,
                   self.new_token.widget, self.scope_add, self.scope_remove,
                   self.scope_confirm, self.remove_confirm], self._sync_quietly)
        self.on_click(self.refresh_button, self.refresh)
        self.on_click(self.add_button, self.add)
        self.on_click(self.rotate_button, self.rotate)
        self.on_click(self.scope_add_button, self.add_scope)
        self.on_click(self.scope_remove_button, self.remove_scope)
        self.on_click(self.remove_button, self.remove)
        ws.integrations.observe(self._on_change)

        self.widget = w.VBox([
            title, w.HBox([self.listing, self.refresh_button]), self.read_only_note,
            section("Add a credential"), self.name, self.rules, self.token.widget,
            self.token.status, self.databases, self.scope_note, self.add_button,
            section("Manage a credential"), self.selected, self.details,
            self.new_token.widget, self.new_token.status, self.rotate_button,
            self.scope_add, self.scope_add_button,
            self.scope_remove, self.scope_impact, self.scope_confirm, self.scope_remove_button,
            self.impact, self.remove_confirm, self.remove_button,
            self.message.widget,
        ])
        self.widget.add_class("vk-credentials")
        self.refresh()

    # -- reading -----------------------------------------------------------------------------
    def _db_names(self) -> dict[str, str]:
        """Database id -> name."""
        return {self._ws.get_database(n).id: n for n in self._ws.list_database_names()}

    def _credential(self, name: str | None) -> Any:
        return next((c for c in self._ws.integrations.list_credentials(self.provider)
                     if c.name == name), None)

    def _users(self, name: str, database: str | None = None) -> list[str]:
        """The collections and table columns using the credential (in ``database``)."""
        users = self._ws.integrations.collections_using(self.provider, name)
        return [u for u in users if database is None or u.startswith(f"{database}/")]

    def _on_change(self) -> None:
        self.refresh(_from_widget=True)

    @shows_errors
    def refresh(self) -> None:
        """Show the credentials and databases as they are now."""
        names = self._db_names()
        creds = self._ws.integrations.list_credentials(self.provider)
        rows = "".join(
            f"<tr><td><code>{html.escape(c.name)}</code></td>"
            f"<td>{html.escape(', '.join(names.get(d, d) for d in c.databases) or '(none)')}</td>"
            f"<td>{html.escape(', '.join(self._users(c.name)) or '-')}</td>"
            f"<td>{html.escape(c.created_at[:16].replace('T', ' '))}</td></tr>"
            for c in creds)
        self.listing.value = (
            "<table><tr><th>name</th><th>scoped databases</th><th>used by</th>"
            f"<th>created (UTC)</th></tr>{rows}</table>" if creds
            else "<i>No credentials yet: add one below.</i>")
        all_names = sorted(names.values())
        if list(self.databases.options) != all_names:
            self.databases.options = all_names
        choose(self.selected, [c.name for c in creds], self.selected.value)
        self.sync()

    @shows_errors
    def sync(self) -> None:
        """Check the forms as they are now: the name's rules, the scope's size, what removing
        would stop; enable each button only when its action can run."""
        existing = [c.name for c in self._ws.integrations.list_credentials(self.provider)]
        rules = credential_name_rules(self.name.value, existing)
        self.rules.value = rules_html(rules, pending=not self.name.value)
        chosen = len(self.databases.value)
        too_many = chosen > MAX_SCOPE_PER_CALL
        self.scope_note.value = note(
            f"{chosen} selected: you can add up to {MAX_SCOPE_PER_CALL} databases at once. Add "
            f"the first {MAX_SCOPE_PER_CALL}, then the rest from Manage a credential."
            if too_many else
            f"{chosen} selected (up to {MAX_SCOPE_PER_CALL} at once). A database must be in a "
            "credential's scope to use the integration.",
            colour="#b3261e" if too_many else "inherit")
        self.add_button.disabled = not (all(met for _, met in rules) and self.token.ready
                                        and not too_many)

        name = self.selected.value
        cred = self._credential(name)
        names = self._db_names()
        scoped = [] if cred is None else [names.get(d, d) for d in cred.databases]
        self.details.value = "" if cred is None else note(f"Scope: {', '.join(scoped) or '(none)'}")
        addable = [n for n in sorted(names.values()) if n not in scoped]
        if list(self.scope_add.options) != addable:
            self.scope_add.options = addable
        choose(self.scope_remove, scoped, self.scope_remove.value)
        db = self.scope_remove.value
        self.scope_impact.value = "" if cred is None or db is None else note(
            self._impact(name, self._users(name, db), f"Removing {db} from the scope of "))
        self.impact.value = "" if cred is None else note(
            self._impact(name, self._users(name), "Removing "))
        self.rotate_button.disabled = cred is None or not self.new_token.ready
        self.scope_add_button.disabled = cred is None or not (
            1 <= len(self.scope_add.value) <= MAX_SCOPE_PER_CALL)
        self.scope_remove_button.disabled = db is None or self.scope_confirm.value != db
        self.remove_button.disabled = cred is None or self.remove_confirm.value != name
        read_only = read_only_reason(self._ws)
        self.read_only_note.value = "" if read_only is None else note(read_only,
                                                                      colour="#b3261e")
        if read_only is not None:  # names and scopes show; nothing can change here
            for widget in (self.add_button, self.rotate_button, self.scope_add_button,
                           self.scope_remove_button, self.remove_button):
                widget.disabled = True

    @staticmethod
    def _impact(name: str, users: list[str], what: str) -> str:
        return (f"{what}{name} stops vectorize at once for "
                + (", ".join(users) if users else "no collection or table (none uses it)")
                + ". Type the name to confirm.")

    # -- actions (each a Python method; the buttons call them) -------------------------------
    @shows_errors
    def add(self, name: str | None = None, token: str | None = None, *,
            databases: list[str] | None = None) -> None:
        """Add a credential: ``name``, ``token`` and up to 10 ``databases`` (names) in its
        scope; each defaults to the form's (the token field's value is used once)."""
        name = self.name.value if name is None else name
        databases = list(self.databases.value) if databases is None else databases
        entered = token is None
        token = self.token.take(token)
        try:
            cred = self._ws.integrations.add_credential(self.provider, name, token,
                                                        databases=databases)
        except Exception:
            if entered:  # not used: the user fixes the form, not the token
                self.token.put_back(token)
            raise
        self.name.value = ""
        self.databases.value = ()
        self.selected.value = cred.name
        self.message.ok(f"Added credential {cred.name!r} with {len(cred.databases)} database(s) "
                        "in its scope.")

    @shows_errors
    def rotate(self, token: str | None = None, *, name: str | None = None) -> None:
        """Replace a credential's token (default: the selected credential, the New token
        field), keeping its name and scope."""
        name = self.selected.value if name is None else name
        entered = token is None
        token = self.new_token.take(token)
        try:
            self._ws.integrations.rotate_credential(self.provider, name, token)
        except Exception:
            if entered:
                self.new_token.put_back(token)
            raise
        self.message.ok(f"Rotated the token of {name!r}; its name and scope are unchanged.")

    @shows_errors
    def add_scope(self, databases: list[str] | None = None, *, name: str | None = None) -> None:
        """Add up to 10 databases (names) to a credential's scope (default: the selected
        credential and the databases chosen in the form)."""
        name = self.selected.value if name is None else name
        added = list(self.scope_add.value) if databases is None else list(databases)
        self._ws.integrations.add_scoped_databases(self.provider, name, added)
        self.message.ok(f"Added {', '.join(added)} to the scope of {name!r}.")

    @shows_errors
    def remove_scope(self, database: str | None = None, *, name: str | None = None) -> None:
        """Remove a database from a credential's scope. From the form (no arguments), the
        database's name must have been typed to confirm."""
        name = self.selected.value if name is None else name
        if database is None:
            database = self.scope_remove.value
            if database is None or self.scope_confirm.value != database:
                raise ValueError(f"type the database's name ({database!r}) to confirm")
        users = self._users(name, database)
        self._ws.integrations.remove_scoped_databases(self.provider, name, [database])
        self.scope_confirm.value = ""
        self.message.ok(f"Removed {database} from the scope of {name!r}." + (
            f" Vectorize stopped for {', '.join(users)}." if users else ""))

    @shows_errors
    def remove(self, name: str | None = None) -> None:
        """Remove a credential. From the form (no argument), the selected credential, whose
        name must have been typed to confirm."""
        if name is None:
            name = self.selected.value
            if name is None or self.remove_confirm.value != name:
                raise ValueError(f"type the credential's name ({name!r}) to confirm")
        users = self._users(name)
        self._ws.integrations.remove_credential(self.provider, name)
        self.remove_confirm.value = ""
        self.message.ok(f"Removed credential {name!r}." + (
            f" Vectorize is off for {', '.join(users)} until a credential with the same name is "
            "added again." if users else ""))

    def __repr__(self) -> str:
        return f"CredentialsManager(provider={self.provider!r})"
