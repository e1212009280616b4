"""What the widgets share: messages, live rule checklists, error capture, the database and
keyspace pickers, and the vector settings of a collection or a vector column."""

from __future__ import annotations

import functools
import html
import json
import logging
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ..api import Database, Workspace, WorkspaceIntegrations
from ..errors import DataAPIError
from ..limits import DEFAULT_KEYSPACE, MAX_VECTOR_DIMENSION
from ..models import PROVIDERS

__all__ = ["Message", "shows_errors", "rules_html", "curl_command", "json_html",
           "VectorSettings", "Panel", "DatabasePanel", "SingleDatabase", "as_workspace",
           "choose", "field", "note", "read_only_reason", "section"]

log = logging.getLogger("vectorize_kit")

LABEL = "15em"  # the width of the labels, which the notes and checklists line up with


def field(kind: type, description: str, css: str, **kw: Any) -> Any:
    """A labelled input widget with a CSS class (for the browser tests and for styling)."""
    widget = kind(description=description, style={"description_width": LABEL},
                  layout=w.Layout(width="42em"), **kw)
    widget.add_class(css)
    return widget


def button(description: str, css: str, **kw: Any) -> w.Button:
    widget = w.Button(description=description, **kw)
    widget.add_class(css)
    return widget


def note(text: str, *, colour: str = "inherit", css: str = "") -> str:
    """A small line of text under a field, lined up with the fields."""
    cls = f" class='{css}'" if css else ""
    return (f"<div{cls} style='margin-left:{LABEL};font-size:smaller;color:{colour}'>"
            f"{html.escape(text)}</div>")


def section(title: str) -> w.HTML:
    return w.HTML(f"<b>{html.escape(title)}</b>")


def rules_html(rules: list[tuple[str, bool]], *, pending: bool = False) -> str:
    """A checklist: each rule marked met (✓) or not (✗); ``pending`` (nothing typed yet):
    each listed in grey (○), neither met nor broken."""
    def item(rule: str, met: bool) -> str:
        kind, colour, mark = (("vk-pending", "#5f6368", "○") if pending else
                              ("vk-met", "#137333", "✓") if met else ("vk-unmet", "#b3261e", "✗"))
        return (f'<li class="vk-rule {kind}" style="color:{colour}">{mark} '
                f"{html.escape(rule)}</li>")

    items = "".join(item(rule, met) for rule, met in rules)
    return f'<ul style="list-style:none;margin:0 0 0 {LABEL};padding:0">{items}</ul>'


def json_html(value: Any) -> str:
    return f"<pre style='margin:0'>{html.escape(json.dumps(value, indent=2))}</pre>"


def curl_command(command: dict, keyspace: str, table: str | None = None) -> str:
    """The curl call of the seed that sends ``command`` to a Data API endpoint: to the
    keyspace, or (an index command) to the ``table``."""
    body = json.dumps(command, indent=2).replace("'", "'\\''")
    path = keyspace if table is None else f"{keyspace}/{table}"
    return (f'curl -sS -L -X POST "$API_ENDPOINT/api/json/v1/{path}" \\\n'
            '  --header "Token: $APPLICATION_TOKEN" \\\n'
            '  --header "Content-Type: application/json" \\\n'
            f"  --data '{body}'")


def choose(dropdown: w.Dropdown, options: list, keep: Any = None, default: Any = None) -> None:
    """Give a dropdown new options, keeping its value if still offered, else ``default`` if
    offered, else the first (ipywidgets may leave it empty otherwise)."""
    values = [o[1] if isinstance(o, tuple) else o for o in options]
    if list(dropdown.options) != list(options):
        dropdown.options = options
    dropdown.value = next((v for v in (keep, default) if v is not None and v in values),
                          values[0] if values else None)


class Message:
    """The line where a widget says what happened: an error with its code, or a success."""

    def __init__(self, css: str) -> None:
        self.widget = w.HTML()
        self.widget.add_class(css)
        self.text = ""
        self.error_code: str | None = None

    def _show(self, kind: str, text: str, colour: str) -> None:
        self.text = text
        self.widget.value = (f'<div class="vk-message vk-{kind}" style="color:{colour}">'
                             f"{html.escape(text)}</div>")

    def ok(self, text: str) -> None:
        self.error_code = None
        self._show("ok", text, "#137333")

    def error(self, exc: BaseException) -> None:
        if isinstance(exc, DataAPIError):
            self.error_code = exc.error_code
            self._show("error", f"{exc.error_code}: {exc.message}", "#b3261e")
        else:
            self.error_code = type(exc).__name__
            self._show("error", f"{type(exc).__name__}: {exc}", "#b3261e")

    def clear(self) -> None:
        self.error_code = None
        self.text = ""
        self.widget.value = ""


def shows_errors(method: Callable) -> Callable:
    """Run a widget's action or callback, showing any error in its message line instead of
    losing it in a callback (a traceback there goes to a log nobody reads). A Python call
    still raises; a callback (``_from_widget=True``) does not."""

    @functools.wraps(method)
    def run(self: Any, *args: Any, _from_widget: bool = False, **kw: Any) -> Any:
        try:
            return method(self, *args, **kw)
        except Exception as exc:
            self.message.error(exc)
            if not isinstance(exc, (DataAPIError, ValueError)):  # not the user's mistake
                log.exception("widget action %s failed", method.__name__)
            if not _from_widget:
                raise
            return None

    return run


def on_change(widgets: list[Any], action: Callable) -> None:
    """Call ``action`` whenever one of the widgets' values changes."""
    for widget in widgets:
        widget.observe(lambda _: action(_from_widget=True), names="value")


class Panel:
    """A widget made of ipywidgets: displays as its box (``self.widget``).

    Its buttons run its methods (:meth:`on_click`): the button is disabled while the action
    runs (a second click would otherwise queue the action again), and :meth:`sync` then sets
    every button's state afresh.
    """

    widget: w.Box
    message: Message

    def _repr_mimebundle_(self, **kw: Any) -> Any:
        return self.widget._repr_mimebundle_(**kw)

    def sync(self) -> None:
        """Enable each button only when its action can run."""

    def on_click(self, widget: w.Button, action: Callable) -> None:
        def run(_: Any) -> None:
            widget.disabled = True
            try:
                action(_from_widget=True)
            finally:
                self._sync_quietly()

        widget.on_click(run)

    @shows_errors
    def _sync_quietly(self) -> None:
        self.sync()

    def close(self) -> None:
        """Close the widget and every widget in it (it disappears from the notebook)."""
        def walk(widget: Any) -> None:
            for child in getattr(widget, "children", ()):
                walk(child)
            widget.close()

        walk(self.widget)


def _is_remote(db: Database) -> bool:
    from ..server.remote import RemoteDatabase

    return isinstance(db, RemoteDatabase)


class _EndpointIntegrations:
    """The integrations of a remote database: kept with its endpoint (Astra's portal), so
    none are known here and none change here."""

    def observe(self, callback: Callable[[], None]) -> None:
        pass

    def available_credentials(self, provider: str, database: Any) -> list[str]:
        return []


class SingleDatabase:
    """A database seen as a workspace that holds it alone: what the forms and the explorer
    work on when they are given a database (a local one, or one from ``vk.connect``)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.integrations: Any = (_EndpointIntegrations() if _is_remote(database) else
                                  WorkspaceIntegrations(database._state.workspace))

    def list_database_names(self) -> list[str]:
        return [self.database.name]

    def get_database(self, name: str) -> Database:
        if name in (self.database.name, self.database.id):
            return self.database
        raise DataAPIError("UNKNOWN_DATABASE",
                           f"This widget works on database {self.database.name!r} only, not "
                           f"{name!r}: give it the workspace to choose among its databases.")


def read_only_reason(source: Any) -> str | None:
    """Why a widget can not write to this workspace (another process holds it for writing,
    or it was opened read-only), or ``None``."""
    if isinstance(source, SingleDatabase):
        if _is_remote(source.database):
            return None
        source = source.database
    state = source._state
    state = getattr(state, "workspace", state)  # a database's state, or the workspace's
    error = state.catalog.read_only
    return None if error is None else error.message.replace(" Nothing was written.", "")


def as_workspace(source: Workspace | Database | SingleDatabase) -> Any:
    """A workspace, or a database seen as a workspace holding it alone."""
    if isinstance(source, (Workspace, SingleDatabase)):
        return source
    if isinstance(source, Database):
        return SingleDatabase(source)
    raise TypeError(f"expected a vk.Workspace or a vk.Database, not {type(source).__name__}")


class DatabasePanel(Panel):
    """A panel with database and keyspace pickers, which follows the workspace's credentials
    (a credential added or scoped elsewhere changes the methods it offers at once)."""

    def __init__(self, ws: Workspace | Database, css: str, database: str | None,
                 keyspace: str | None) -> None:
        ws = as_workspace(ws)
        self._ws = ws
        names = ws.list_database_names()
        if database is not None:
            database = ws.get_database(database).name  # UNKNOWN_DATABASE if there is none
        self.database = field(w.Dropdown, "Database", f"{css}-database", options=names,
                              value=database or (names[0] if names else None))
        self.keyspace = field(w.Dropdown, "Keyspace", f"{css}-keyspace", options=[])
        self.refresh_button = button("Refresh", f"{css}-refresh", layout=w.Layout(width="7em"))
        self.database.observe(lambda _: self._database_changed(_from_widget=True),
                              names="value")
        self.keyspace.observe(lambda _: self._keyspace_changed(_from_widget=True),
                              names="value")
        self._initial_keyspace = keyspace
        ws.integrations.observe(self._on_credentials)

    def _start(self) -> None:
        """Fill the pickers (the subclass's widgets exist by now)."""
        self._choose_keyspace(self._initial_keyspace)
        self._keyspace_changed()

    @property
    def db(self) -> Database | None:
        """The database chosen."""
        return None if self.database.value is None else self._ws.get_database(
            self.database.value)

    def _choose_keyspace(self, keyspace: str | None) -> None:
        db = self.db
        names = [] if db is None else db.list_keyspaces()
        if keyspace is not None and keyspace not in names:
            db.list_collection_names(keyspace=keyspace)  # type: ignore[union-attr]  # UNKNOWN_KEYSPACE
        choose(self.keyspace, names, keyspace or self.keyspace.value, DEFAULT_KEYSPACE)

    @shows_errors
    def refresh(self) -> None:
        """Show the databases, keyspaces and credentials as they are now."""
        self.message.clear()
        choose(self.database, self._ws.list_database_names(), self.database.value)
        self._choose_keyspace(None)
        self._keyspace_changed()

    @shows_errors
    def _database_changed(self) -> None:
        self._choose_keyspace(None)
        self._keyspace_changed()

    def _keyspace_changed(self) -> None:
        raise NotImplementedError

    def _on_credentials(self) -> None:
        self._credentials_changed(_from_widget=True)

    @shows_errors
    def _credentials_changed(self) -> None:
        """A credential or scope of the workspace changed (here or anywhere else)."""


_METHODS = {
    "local": "Local model (on this machine, no credential)",
    "huggingface": PROVIDERS["huggingface"].display_name,
    "byo": "Bring my own vectors",
}
METRICS = [("Cosine", "cosine"), ("Dot Product", "dot_product"), ("Euclidean", "euclidean")]


class VectorSettings:
    """The vector settings of a collection or vector column, as the portal asks for them:
    embedding generation method (only what the database can use), user access token
    (preselected and locked when only one is in scope), model, dimension (filled from the
    model; editable only for your own vectors) and metric."""

    def __init__(self, ws: Workspace | Database, css: str) -> None:
        self._ws = as_workspace(ws)
        self._db: Database | None = None
        self._credentials: list[str] = []
        self._providers_error: str | None = None
        self.method = field(w.Dropdown, "Embedding generation method", f"{css}-method",
                            options=[])
        self.credential = field(w.Dropdown, "User access token", f"{css}-credential",
                                options=[])
        self.model = field(w.Dropdown, "Embedding model", f"{css}-model", options=[])
        self.dimension = field(w.BoundedIntText, "Dimensions", f"{css}-dimension", value=384,
                               min=1, max=MAX_VECTOR_DIMENSION)
        self.metric = field(w.Dropdown, "Similarity metric", f"{css}-metric", options=METRICS,
                            value="cosine")
        self.note = w.HTML()
        self.note.add_class(f"{css}-note")
        self.model_note = w.HTML()  # a local model's languages, build and licence
        self.model_note.add_class(f"{css}-model-note")
        self.method.observe(lambda _: self._method_changed(), names="value")
        self.model.observe(lambda _: self._model_changed(), names="value")
        self.box = w.VBox([self.method, self.note, self.credential, self.model,
                           self.model_note, self.dimension, self.metric])

    def set_database(self, db: Database | None) -> None:
        """Offer what ``db`` can use: Hugging Face only when one of its credentials has the
        database in scope (the seed's "If the integration isn't listed")."""
        self._db = db
        self._credentials = ([] if db is None else
                             self._ws.integrations.available_credentials("huggingface", db))
        # what the database's endpoint offers (a remote one may lack the local model)
        reply = {} if db is None else db.command({"findEmbeddingProviders": {}})
        offered = (reply.get("status") or {}).get("embeddingProviders", {})
        self._providers_error = (reply.get("errors") or [{}])[0].get("errorCode")
        options = [(_METHODS["local"], "local")] if "local" in offered else []
        if self._credentials and "huggingface" in offered:
            options.append((_METHODS["huggingface"], "huggingface"))
        options.append((_METHODS["byo"], "byo"))
        choose(self.method, options, self.method.value)
        self._method_changed()

    def _method_changed(self) -> None:
        method = self.method.value
        vectorize = method in ("local", "huggingface")
        choose(self.credential, self._credentials if method == "huggingface" else [],
               self.credential.value)
        self.credential.layout.display = None if method == "huggingface" else "none"
        # one token in scope: selected, and the field cannot be changed (the seed)
        self.credential.disabled = len(self._credentials) <= 1
        self.model.layout.display = None if vectorize else "none"
        choose(self.model, [m.name for m in PROVIDERS[method].models] if vectorize else [],
               self.model.value)
        notes = []
        if self._providers_error:
            notes.append(f"The database's embedding providers could not be listed "
                         f"({self._providers_error}): only your own vectors are offered. "
                         "Refresh once the endpoint answers.")
        if self._db is not None and _is_remote(self._db):
            notes.append(f"{PROVIDERS['huggingface'].display_name} is not listed: the user "
                         "access tokens of a remote database are kept with its endpoint "
                         "(Astra's portal). Create the collection in code with service="
                         "{'provider': 'huggingface', 'modelName': ..., 'authentication': "
                         "{'providerKey': '<token name>'}}.")
        elif self._db is not None and not self._credentials:
            notes.append(f"{PROVIDERS['huggingface'].display_name} is not listed: no user "
                         f"access token has database {self._db.name!r} in its scope. Add it "
                         "to a credential's scope (CredentialsManager) to use it.")
        if method == "huggingface" and len(self._credentials) == 1:
            notes.append("The only user access token in scope is selected.")
        self.note.value = "".join(note(n) for n in notes)
        self._model_changed()

    def _model_changed(self) -> None:
        method = self.method.value
        self.model_note.value = ""
        if method in ("local", "huggingface") and self.model.value:
            # the catalogue's models have one dimension each: the field follows the model
            model = PROVIDERS[method].model(self.model.value)
            self.dimension.value = model.dimension
            self.dimension.disabled = True
            self.model_note.value = note(model.notice) if model.notice else ""
        else:
            self.dimension.disabled = False

    def service(self) -> dict | None:
        """The ``service`` object for the chosen method, or ``None`` (your own vectors)."""
        method = self.method.value
        if method == "local":
            return {"provider": "local", "modelName": self.model.value}
        if method == "huggingface":
            return {"provider": "huggingface", "modelName": self.model.value,
                    "authentication": {"providerKey": self.credential.value or ""}}
        return None

    def problems(self) -> list[str]:
        if self.method.value == "huggingface" and not self.credential.value:
            return ["choose a user access token"]
        return []

    @property
    def widgets(self) -> list[Any]:
        return [self.method, self.credential, self.model, self.dimension, self.metric]
