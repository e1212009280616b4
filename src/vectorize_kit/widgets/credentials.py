"""The portal's Settings → Integrations for one provider: credentials and their scopes."""

from __future__ import annotations

import html

import ipywidgets as w

from ..api import Workspace
from ..integrations import MAX_SCOPE_PER_CALL, credential_name_rules
from ..models import PROVIDERS
from .common import (
    Message,
    Panel,
    choose,
    credentials_changed,
    field,
    on_change,
    on_click,
    rules_html,
    shows_errors,
)

__all__ = ["CredentialsManager"]


class _TokenField:
    """A password field whose value leaves the widget as soon as it arrives.

    The field syncs on Enter or when it loses focus, not per keystroke; the kernel then keeps
    the token in this object's memory only and empties the field, so the token is in no widget
    state that a saved notebook would store. :meth:`take` hands it over once.
    """

    def __init__(self, description: str, css: str, status_css: str) -> None:
        self.widget = field(w.Password, description, css, continuous_update=False,
                            placeholder="paste the token, then press Enter or Tab")
        self.status = w.HTML()
        self.status.add_class(status_css)
        self._token: str | None = None
        self.widget.observe(self._arrived, names="value")
        self._show()

    def _arrived(self, change: dict) -> None:
        if change["new"]:
            self._token = change["new"]
            self.widget.value = ""
            self._show()

    def _show(self) -> None:
        self.status.value = (
            "<small style='margin-left:14em'>No token entered yet.</small>" if not self._token
            else f"<small style='margin-left:14em'>Token received ({len(self._token)} "
                 "characters); it is kept in memory only, until it is used.</small>")

    @property
    def ready(self) -> bool:
        return bool(self._token)

    def take(self) -> str:
        token, self._token = self._token or "", None
        self._show()
        return token

    def put_back(self, token: str) -> None:
        self._token = token or None
        self._show()


class CredentialsManager(Panel):
    """Manage one provider's credentials (user access tokens) and their scoped databases.

    Every button calls a method of this object, which calls the Python API
    (``ws.integrations``): :meth:`add`, :meth:`rotate`, :meth:`add_scope`,
    :meth:`remove_scope`, :meth:`remove`.

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
        self.message = Message("vk-credential-message")
        title = w.HTML(f"<h3 style='margin:4px 0'>{html.escape(PROVIDERS[provider].display_name)}"
                       " · user access tokens</h3>")
        self.listing = w.HTML()
        self.listing.add_class("vk-credential-list")

        # add a credential (seed 000 steps 7–10)
        self.name = field(w.Text, "Token name", "vk-credential-name",
                          placeholder="e.g. prod-support-chat-created-oct-2026")
        self.rules = w.HTML()
        self.rules.add_class("vk-credential-rules")
        self.token = _TokenField("User access token", "vk-credential-token",
                                 "vk-credential-token-status")
        self.databases = field(w.SelectMultiple, "Databases in scope", "vk-credential-databases",
                               options=[], rows=5)
        self.scope_note = w.HTML()
        self.add_button = w.Button(description="Add credential", button_style="primary",
                                   disabled=True)
        self.add_button.add_class("vk-credential-add")

        # manage one credential (seed 002: scopes, rotation, removal)
        self.selected = field(w.Dropdown, "Credential", "vk-credential-selected", options=[])
        self.details = w.HTML()
        self.new_token = _TokenField("New token", "vk-credential-new-token",
                                     "vk-credential-new-token-status")
        self.rotate_button = w.Button(description="Rotate token", disabled=True)
        self.rotate_button.add_class("vk-credential-rotate")
        self.scope_add = field(w.SelectMultiple, "Add databases", "vk-credential-scope-add",
                               options=[], rows=4)
        self.scope_add_button = w.Button(description="Add database", disabled=True)
        self.scope_add_button.add_class("vk-credential-scope-add-button")
        self.scope_remove = field(w.Dropdown, "Remove database", "vk-credential-scope-remove",
                                  options=[])
        self.scope_confirm = field(w.Text, "Type its name", "vk-credential-scope-confirm")
        self.scope_remove_button = w.Button(description="Remove scope", button_style="warning",
                                            disabled=True)
        self.scope_remove_button.add_class("vk-credential-scope-remove-button")
        self.impact = w.HTML()
        self.impact.add_class("vk-credential-impact")
        self.remove_confirm = field(w.Text, "Type its name", "vk-credential-remove-confirm")
        self.remove_button = w.Button(description="Remove key", button_style="danger",
                                      disabled=True)
        self.remove_button.add_class("vk-credential-remove")

        on_change([self.name, self.databases], self._check_add)
        self.token.widget.observe(lambda _: self._check_add(_from_widget=True), names="value")
        self.new_token.widget.observe(lambda _: self._check_manage(_from_widget=True),
                                      names="value")
        on_change([self.selected], self._show_selected)
        on_change([self.scope_add, self.scope_remove, self.scope_confirm, self.remove_confirm],
                  self._check_manage)
        on_click(self.add_button, self.add)
        on_click(self.rotate_button, self.rotate)
        on_click(self.scope_add_button, self.add_scope)
        on_click(self.scope_remove_button, self.remove_scope)
        on_click(self.remove_button, self.remove)

        section = lambda text: w.HTML(f"<b>{text}</b>")  # noqa: E731
        self.widget = w.VBox([
            title, self.listing,
            section("Add a credential"), self.name, self.rules, self.token.widget,
            self.token.status, self.databases, self.scope_note, self.add_button,
            section("Manage a credential"), self.selected, self.details,
            self.new_token.widget, self.new_token.status, self.rotate_button,
            self.scope_add, self.scope_add_button,
            self.scope_remove, self.scope_confirm, self.scope_remove_button,
            self.impact, self.remove_confirm, self.remove_button,
            self.message.widget,
        ])
        self.widget.add_class("vk-credentials")
        self.refresh()

    # -- reading -----------------------------------------------------------------------------
    def _db_names(self) -> dict[str, str]:
        """Database id -> name."""
        return {self._ws.get_database(n).id: n for n in self._ws.list_database_names()}

    def _changed(self) -> None:
        self.refresh()
        credentials_changed(self._ws)  # forms on show offer Hugging Face, or stop offering it

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
        self.databases.options = sorted(names.values())
        choose(self.selected, [c.name for c in creds], self.selected.value)
        self._check_add()
        self._show_selected()

    def _users(self, name: str) -> list[str]:
        return self._ws.integrations.collections_using(self.provider, name)

    @shows_errors
    def _check_add(self) -> None:
        existing = [c.name for c in self._ws.integrations.list_credentials(self.provider)]
        rules = credential_name_rules(self.name.value, existing)
        self.rules.value = rules_html(rules, pending=not self.name.value)
        chosen = len(self.databases.value)
        too_many = chosen > MAX_SCOPE_PER_CALL
        self.scope_note.value = (
            f"<small style='margin-left:14em;color:{'#b3261e' if too_many else 'inherit'}'>"
            + (f"{chosen} selected: you can add up to {MAX_SCOPE_PER_CALL} databases at once. "
               f"Add the first {MAX_SCOPE_PER_CALL}, then the rest from Manage a credential."
               if too_many else
               f"{chosen} selected (up to {MAX_SCOPE_PER_CALL} at once). A database must be in "
               "a credential's scope to use the integration.")
            + "</small>")
        self.add_button.disabled = not (all(met for _, met in rules) and self.token.ready
                                        and not too_many)

    @shows_errors
    def _show_selected(self) -> None:
        name = self.selected.value
        names = self._db_names()
        cred = next((c for c in self._ws.integrations.list_credentials(self.provider)
                     if c.name == name), None)
        scoped = [] if cred is None else [names.get(d, d) for d in cred.databases]
        self.details.value = "" if cred is None else (
            f"<small style='margin-left:14em'>Scope: {html.escape(', '.join(scoped) or '(none)')}"
            "</small>")
        self.scope_add.options = [n for n in sorted(names.values()) if n not in scoped]
        choose(self.scope_remove, scoped, self.scope_remove.value)
        users = [] if name is None else self._users(name)
        self.impact.value = "" if name is None else (
            "<small>Removing <code>" + html.escape(name) + "</code> stops vectorize at once "
            + ("for: " + html.escape(", ".join(users)) if users
               else "for no collection or table (none uses it)")
            + ". Type the credential's name to confirm.</small>")
        self._check_manage()

    @shows_errors
    def _check_manage(self) -> None:
        name = self.selected.value
        none = name is None
        self.rotate_button.disabled = none or not self.new_token.ready
        self.scope_add_button.disabled = none or not (
            1 <= len(self.scope_add.value) <= MAX_SCOPE_PER_CALL)
        self.scope_remove_button.disabled = none or not self.scope_remove.value or (
            self.scope_confirm.value != self.scope_remove.value)
        self.remove_button.disabled = none or self.remove_confirm.value != name

    # -- actions (each a Python method; the buttons call them) -------------------------------
    @shows_errors
    def add(self) -> None:
        """Add the credential in the form (name, token, databases in scope)."""
        name, token = self.name.value, self.token.take()
        try:
            cred = self._ws.integrations.add_credential(
                self.provider, name, token, databases=list(self.databases.value))
        except Exception:
            self.token.put_back(token)  # not used: the user fixes the form, not the token
            self._check_add()  # e.g. the name was taken meanwhile: the checklist says so
            raise
        self.name.value = ""
        self.databases.value = ()
        self._changed()
        self.selected.value = cred.name
        self.message.ok(f"Added credential {cred.name!r} with {len(cred.databases)} database(s) "
                        "in its scope.")

    @shows_errors
    def rotate(self) -> None:
        """Replace the selected credential's token, keeping its name and scope."""
        name = self.selected.value
        token = self.new_token.take()
        try:
            self._ws.integrations.rotate_credential(self.provider, name, token)
        except Exception:
            self.new_token.put_back(token)
            raise
        self._changed()
        self.message.ok(f"Rotated the token of {name!r}; its name and scope are unchanged.")

    @shows_errors
    def add_scope(self) -> None:
        """Add the chosen databases (up to 10) to the selected credential's scope."""
        name, added = self.selected.value, list(self.scope_add.value)
        self._ws.integrations.add_scoped_databases(self.provider, name, added)
        self._changed()
        self.message.ok(f"Added {', '.join(added)} to the scope of {name!r}.")

    @shows_errors
    def remove_scope(self) -> None:
        """Remove the chosen database from the selected credential's scope (its name typed
        to confirm)."""
        name, db = self.selected.value, self.scope_remove.value
        if self.scope_confirm.value != db:
            raise ValueError(f"type the database's name ({db!r}) to confirm")
        self._ws.integrations.remove_scoped_databases(self.provider, name, [db])
        self.scope_confirm.value = ""
        self._changed()
        self.message.ok(f"Removed {db} from the scope of {name!r}.")

    @shows_errors
    def remove(self) -> None:
        """Remove the selected credential (its name typed to confirm)."""
        name = self.selected.value
        if self.remove_confirm.value != name:
            raise ValueError(f"type the credential's name ({name!r}) to confirm")
        users = self._users(name)
        self._ws.integrations.remove_credential(self.provider, name)
        self.remove_confirm.value = ""
        self._changed()
        self.message.ok(f"Removed credential {name!r}." + (
            f" Vectorize is off for {', '.join(users)} until a credential with the same name is "
            "added again." if users else ""))

    def __repr__(self) -> str:
        return f"CredentialsManager(provider={self.provider!r})"
