"""What the widgets share: messages, live rule checklists, error capture, pickers and the
vector settings of a collection or a vector column."""

from __future__ import annotations

import functools
import html
import json
import logging
import weakref
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ..api import Database, Workspace
from ..errors import DataAPIError
from ..limits import DEFAULT_KEYSPACE, MAX_VECTOR_DIMENSION
from ..models import PROVIDERS

__all__ = ["Message", "shows_errors", "rules_html", "curl_command", "json_html",
           "VectorSettings", "Panel", "database_picker", "choose", "choose_keyspace"]

log = logging.getLogger("vectorize_kit")

_STYLE = {"description_width": "14em"}


def field(kind: type, description: str, css: str, **kw: Any) -> Any:
    """A labelled input widget with a CSS class (for the browser tests and for styling)."""
    widget = kind(description=description, style=_STYLE, layout=w.Layout(width="42em"), **kw)
    widget.add_class(css)
    return widget


def rules_html(rules: list[tuple[str, bool]], *, pending: bool = False) -> str:
    """A checklist: each rule marked met (✓) or not (✗); ``pending`` (nothing typed yet):
    each listed in grey (○), neither met nor broken."""
    def item(rule: str, met: bool) -> str:
        kind, colour, mark = (("vk-pending", "#5f6368", "○") if pending else
                              ("vk-met", "#137333", "✓") if met else ("vk-unmet", "#b3261e", "✗"))
        return (f'<li class="vk-rule {kind}" style="color:{colour}">{mark} '
                f"{html.escape(rule)}</li>")

    items = "".join(item(rule, met) for rule, met in rules)
    return f'<ul style="list-style:none;margin:0 0 0 14em;padding:0">{items}</ul>'


def json_html(value: Any) -> str:
    return f"<pre style='margin:0'>{html.escape(json.dumps(value, indent=2))}</pre>"


def curl_command(command: dict, keyspace: str) -> str:
    """The curl call of the seed that sends ``command`` to a Data API endpoint."""
    body = json.dumps(command, indent=2).replace("'", "'\\''")
    return (f'curl -sS -L -X POST "$API_ENDPOINT/api/json/v1/{keyspace}" \\\n'
            '  --header "Token: $APPLICATION_TOKEN" \\\n'
            '  --header "Content-Type: application/json" \\\n'
            f"  --data '{body}'")


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
            if not isinstance(exc, DataAPIError):
                log.exception("widget action %s failed", method.__name__)
            if not _from_widget:
                raise
            return None

    return run


def on_click(button: w.Button, action: Callable) -> None:
    """Call ``action`` when ``button`` is clicked, errors shown in the widget."""
    button.on_click(lambda _: action(_from_widget=True))


def on_change(widgets: list[Any], action: Callable) -> None:
    """Call ``action`` whenever one of the widgets' values changes."""
    for widget in widgets:
        widget.observe(lambda _: action(_from_widget=True), names="value")


class Panel:
    """A widget made of ipywidgets: displays as its box (``self.widget``)."""

    widget: w.Box
    message: Message

    def _repr_mimebundle_(self, **kw: Any) -> Any:
        return self.widget._repr_mimebundle_(**kw)

    def credentials_changed(self) -> None:
        """Called when a credential or a scope of the workspace changed."""


# The panels on show, so that a credential added in one updates the methods offered in the
# others at once (the portal's forms read the integration afresh when they open).
_PANELS: weakref.WeakSet[Panel] = weakref.WeakSet()


def watch_credentials(panel: Panel) -> None:
    _PANELS.add(panel)


def credentials_changed(ws: Workspace) -> None:
    """Tell the panels of ``ws`` that its credentials or scopes changed."""
    for panel in list(_PANELS):
        if getattr(panel, "_ws", None) is ws:
            panel.credentials_changed(_from_widget=True)


def choose(dropdown: w.Dropdown, options: list, keep: Any = None, default: Any = None) -> None:
    """Give a dropdown new options, keeping its value if still offered, else ``default`` if
    offered, else the first (ipywidgets may leave it empty otherwise)."""
    values = [o[1] if isinstance(o, tuple) else o for o in options]
    dropdown.options = options
    dropdown.value = next((v for v in (keep, default) if v is not None and v in values),
                          values[0] if values else None)


def database_picker(ws: Workspace, css: str, database: str | None) -> w.Dropdown:
    names = ws.list_database_names()
    return field(w.Dropdown, "Database", css, options=names,
                 value=database if database in names else (names[0] if names else None))


def choose_keyspace(dropdown: w.Dropdown, db: Database | None) -> None:
    """Offer ``db``'s keyspaces, ``default_keyspace`` first chosen."""
    choose(dropdown, [] if db is None else db.list_keyspaces(), dropdown.value,
           DEFAULT_KEYSPACE)


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

    def __init__(self, ws: Workspace, css: str) -> None:
        self._ws = ws
        self._db: Database | None = None
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
        self.method.observe(lambda _: self._method_changed(), names="value")
        self.model.observe(lambda _: self._model_changed(), names="value")
        self.box = w.VBox([self.method, self.note, self.credential, self.model, self.dimension,
                           self.metric])

    def set_database(self, db: Database | None) -> None:
        """Offer what ``db`` can use: Hugging Face only when one of its credentials has the
        database in scope (the seed's "If the integration isn't listed")."""
        self._db = db
        options = [(_METHODS["local"], "local")]
        self._credentials = ([] if db is None else
                             self._ws.integrations.available_credentials("huggingface", db))
        if self._credentials:
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
        models = [m.name for m in PROVIDERS[method].models] if vectorize else []
        choose(self.model, models, self.model.value)
        notes = []
        if self._db is not None and not self._credentials:
            notes.append(f"{PROVIDERS['huggingface'].display_name} is not listed: no user "
                         f"access token has database {self._db.name!r} in its scope. Add it "
                         "to a credential's scope (CredentialsManager) to use it.")
        if method == "huggingface" and len(self._credentials) == 1:
            notes.append("The only user access token in scope is selected.")
        self.note.value = "<br>".join(f"<small>{html.escape(n)}</small>" for n in notes)
        self._model_changed()

    def _model_changed(self) -> None:
        method = self.method.value
        if method in ("local", "huggingface") and self.model.value:
            # the six models have one dimension each: the field follows the model
            self.dimension.value = PROVIDERS[method].model(self.model.value).dimension
            self.dimension.disabled = True
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
