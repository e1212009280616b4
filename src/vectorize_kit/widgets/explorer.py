"""The Data Explorer: page through a collection or table, insert a DataFrame, search."""

from __future__ import annotations

import html
import warnings
from typing import Any

import ipywidgets as w
import pandas as pd

from ..api import Collection, Database, Table, Workspace
from ..errors import TokenLimitWarning
from ..limits import PAGE_SIZE
from .common import (
    Message,
    Panel,
    choose,
    choose_keyspace,
    database_picker,
    field,
    on_change,
    on_click,
    shows_errors,
)

__all__ = ["Explorer"]

_NONE = "(none)"


def _short(value: Any) -> Any:
    """A cell as a page shows it: long vectors cut to their first values."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list) and len(value) > 6:
        shown = ", ".join(f"{v:.4f}" if isinstance(v, float) else repr(v) for v in value[:4])
        return f"[{shown}, … {len(value)} values]"
    return value


def _frame_html(records: list[dict], css: str) -> str:
    if not records:
        return f"<div class='{css}'><i>Nothing here.</i></div>"
    frame = pd.DataFrame([{k: _short(v) for k, v in r.items()} for r in records])
    return (f"<div class='{css}' style='max-height:28em;overflow:auto'>"
            f"{frame.to_html(index=False, escape=True, na_rep='')}</div>")


class Explorer(Panel):
    """Explore one collection or table: its documents or rows a page at a time, inserting a
    DataFrame (one column's text becomes ``$vectorize``) with a progress bar and token-limit
    warnings, and ``$vectorize`` search with a chart of the ``$similarity`` scores.

    The buttons call :meth:`select`, :meth:`next_page`, :meth:`previous_page`,
    :meth:`insert` and :meth:`search`, which call the Python API.

    Parameters
    ----------
    ws
        The workspace.
    frame
        A DataFrame to offer for insertion (or give one later to :meth:`insert`).
    """

    def __init__(self, ws: Workspace, *, frame: pd.DataFrame | None = None,
                 database: str | None = None, keyspace: str | None = None) -> None:
        self._ws = ws
        self.frame = frame
        self.message = Message("vk-explorer-message")
        self.database = database_picker(ws, "vk-explorer-database", database)
        self.keyspace = field(w.Dropdown, "Keyspace", "vk-explorer-keyspace", options=[])
        self.target = field(w.Dropdown, "Collection or table", "vk-explorer-target", options=[])
        self.summary = w.HTML()
        self.summary.add_class("vk-explorer-summary")
        self.page_view = w.HTML()
        self.page_label = w.Label()
        self.page_label.add_class("vk-explorer-page-label")
        self.prev_button = w.Button(description="◀ Previous", disabled=True)
        self.next_button = w.Button(description="Next ▶", disabled=True)
        self.refresh_button = w.Button(description="Refresh")

        self.text_column = field(w.Dropdown, "Text to $vectorize", "vk-explorer-text-column",
                                 options=[_NONE])
        self.vector_column = field(w.Dropdown, "Vector column", "vk-explorer-vector-column",
                                   options=[])
        self.insert_button = w.Button(description="Insert DataFrame", disabled=True)
        self.insert_button.add_class("vk-explorer-insert")
        self.progress = w.IntProgress(value=0, min=0, max=1, description="Inserted",
                                      style={"description_width": "14em"})
        self.progress.add_class("vk-explorer-progress")
        self.warnings_view = w.HTML()
        self.warnings_view.add_class("vk-explorer-warnings")

        self.query = field(w.Text, "Search ($vectorize)", "vk-explorer-query",
                           placeholder="text to search for", continuous_update=False)
        self.limit = field(w.BoundedIntText, "Results", "vk-explorer-limit", value=5, min=1,
                           max=1000)
        self.search_button = w.Button(description="Search", button_style="primary",
                                      disabled=True)
        self.search_button.add_class("vk-explorer-search")
        self.results_view = w.HTML()
        self.chart = w.Output()
        self.figure: Any = None
        self.results: pd.DataFrame | None = None

        self._pages: list[list[dict]] = []
        self._page_iter: Any = None
        self._page = 0

        self.database.observe(lambda _: self._database_changed(_from_widget=True),
                              names="value")
        self.keyspace.observe(lambda _: self._keyspace_changed(_from_widget=True),
                              names="value")
        on_change([self.target], self._target_changed)
        on_click(self.prev_button, self.previous_page)
        on_click(self.next_button, self.next_page)
        on_click(self.refresh_button, self.refresh)
        on_click(self.insert_button, self.insert)
        on_click(self.search_button, self.search)

        section = lambda text: w.HTML(f"<b>{text}</b>")  # noqa: E731
        self.widget = w.VBox([
            w.HTML("<h3 style='margin:4px 0'>Data Explorer</h3>"),
            self.database, self.keyspace, w.HBox([self.target, self.refresh_button]),
            self.summary, self.page_view,
            w.HBox([self.prev_button, self.page_label, self.next_button]),
            section("Insert a DataFrame"), self.text_column, self.vector_column,
            w.HBox([self.insert_button, self.progress]), self.warnings_view,
            section("Vector search"), self.query, self.limit, self.search_button,
            self.results_view, self.chart, self.message.widget])
        self.widget.add_class("vk-explorer")
        self._database_changed()
        self._offer_frame()

    # -- choosing ----------------------------------------------------------------------------
    @property
    def db(self) -> Database | None:
        return None if self.database.value is None else self._ws.get_database(
            self.database.value)

    @property
    def handle(self) -> Collection | Table | None:
        """The collection or table being explored."""
        db, chosen = self.db, self.target.value
        if db is None or chosen is None:
            return None
        kind, name = chosen
        getter = db.get_collection if kind == "collection" else db.get_table
        return getter(name, keyspace=self.keyspace.value)

    @shows_errors
    def _database_changed(self) -> None:
        choose_keyspace(self.keyspace, self.db)
        self._keyspace_changed()

    @shows_errors
    def _keyspace_changed(self) -> None:
        db, ks = self.db, self.keyspace.value
        options: list[tuple[str, tuple[str, str]]] = []
        if db is not None and ks is not None:
            options = ([(f"{n} (collection)", ("collection", n))
                        for n in db.list_collection_names(keyspace=ks)]
                       + [(f"{n} (table)", ("table", n))
                          for n in db.list_table_names(keyspace=ks)])
        choose(self.target, options, self.target.value)
        self._target_changed()

    @shows_errors
    def select(self, name: str, *, keyspace: str | None = None,
               database: str | None = None) -> None:
        """Explore the collection or table ``name``."""
        if database is not None:
            self.database.value = database
        if keyspace is not None:
            self.keyspace.value = keyspace
        found = [v for _, v in self.target.options if v[1] == name]
        if not found:
            raise ValueError(f"keyspace {self.keyspace.value!r} of {self.database.value!r} has "
                             f"no collection or table named {name!r}")
        self.target.value = found[0]

    @shows_errors
    def _target_changed(self) -> None:
        handle = self.handle
        columns = handle.vectorize_columns() if isinstance(handle, Table) else []
        choose(self.vector_column, columns, self.vector_column.value)
        self.vector_column.layout.display = None if isinstance(handle, Table) else "none"
        self._load()

    @staticmethod
    def _projection(handle: Collection | Table) -> dict | None:
        # a document's $vectorize text and $vector too (shown shortened); a row has them all
        return {"*": 1} if isinstance(handle, Collection) else None

    def _searchable(self) -> bool:
        handle = self.handle
        if isinstance(handle, Table):
            return bool(handle.vectorize_columns())
        return handle is not None and bool(handle.options().get("vector", {}).get("service"))

    # -- paging ------------------------------------------------------------------------------
    @shows_errors
    def refresh(self) -> None:
        """Show databases, keyspaces, collections and tables as they are now, and the first
        page again (after changes made elsewhere)."""
        choose(self.database, self._ws.list_database_names(), self.database.value)
        self._database_changed()

    def _load(self) -> None:
        handle = self.handle
        self._pages, self._page = [], 0
        self._page_iter = None if handle is None else handle.find(
            {}, projection=self._projection(handle)).pages()
        if handle is None:
            self.summary.value = "<i>No collection or table in this keyspace yet.</i>"
        else:
            kind = "collection" if isinstance(handle, Collection) else "table"
            self.summary.value = (f"<small>{kind} <code>{html.escape(handle.keyspace)}."
                                  f"{html.escape(handle.name)}</code>: "
                                  f"{handle.estimated_document_count()} "
                                  f"{'documents' if kind == 'collection' else 'rows'}</small>")
        self._fetch()
        self._show_page()
        self.search_button.disabled = not self._searchable()
        self._offer_frame()

    def _fetch(self) -> bool:
        if self._page_iter is None:
            return False
        page = next(self._page_iter, None)
        if page is None:
            self._page_iter = None
            return False
        self._pages.append(page)
        return True

    def _show_page(self) -> None:
        page = self._pages[self._page] if self._pages else []
        self.page_view.value = _frame_html(page, "vk-explorer-page")
        self.page_label.value = f"page {self._page + 1}" if self._pages else ""
        self.prev_button.disabled = self._page == 0
        # a next page is known to exist once fetched; a full page may have one more
        self.next_button.disabled = not (self._page + 1 < len(self._pages) or (
            self._page_iter is not None and len(page) >= PAGE_SIZE))

    @property
    def page(self) -> list[dict]:
        """The documents or rows on show."""
        return self._pages[self._page] if self._pages else []

    @shows_errors
    def next_page(self) -> None:
        if self._page + 1 >= len(self._pages) and not self._fetch():
            self._show_page()
            return
        self._page += 1
        self._show_page()

    @shows_errors
    def previous_page(self) -> None:
        self._page = max(0, self._page - 1)
        self._show_page()

    # -- inserting ---------------------------------------------------------------------------
    def _offer_frame(self) -> None:
        columns = [] if self.frame is None else [str(c) for c in self.frame.columns]
        if list(self.text_column.options) != [_NONE, *columns]:  # a new frame
            choose(self.text_column, [_NONE, *columns], default="text")
        self.insert_button.disabled = self.frame is None or self.handle is None
        self.insert_button.description = ("Insert DataFrame" if self.frame is None
                                          else f"Insert {len(self.frame)} rows")

    @shows_errors
    def insert(self, frame: pd.DataFrame | None = None, *,
               vectorize_column: str | None = None) -> Any:
        """Insert a DataFrame (by default the one given to the explorer) into the collection or
        table, ``vectorize_column``'s text (by default the one chosen in the form) becoming
        ``$vectorize`` (or the vector column's text); returns the insert's result."""
        if frame is not None:
            self.frame = frame
            self._offer_frame()
        if self.frame is None:
            raise ValueError("no DataFrame to insert: pass one (explorer.insert(df))")
        if vectorize_column is not None:
            self.text_column.value = vectorize_column
        column = None if self.text_column.value == _NONE else self.text_column.value
        handle = self.handle
        if handle is None:
            raise ValueError("choose a collection or table first")
        self.progress.max, self.progress.value = max(1, len(self.frame)), 0
        self.warnings_view.value = ""

        def report(done: int, total: int) -> None:
            self.progress.value = done

        kw: dict[str, Any] = {"vectorize_column": column, "progress": report}
        if isinstance(handle, Table) and column is not None:
            kw["vector_column"] = self.vector_column.value
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", TokenLimitWarning)
            try:
                result = handle.insert_dataframe(self.frame, **kw)
            finally:
                self._show_warnings(caught)
                self._load()
        self.message.ok(f"Inserted {len(result.inserted_ids)} "
                        f"{'documents' if isinstance(handle, Collection) else 'rows'} into "
                        f"{handle.name}.")
        return result

    def _show_warnings(self, caught: list[warnings.WarningMessage]) -> None:
        texts = [str(c.message) for c in caught if issubclass(c.category, TokenLimitWarning)]
        self.warnings_view.value = "".join(
            f"<div class='vk-warning' style='color:#8a5a00'>⚠ {html.escape(t)}</div>"
            for t in texts)

    # -- searching ---------------------------------------------------------------------------
    @shows_errors
    def search(self, text: str | None = None, *, limit: int | None = None) -> pd.DataFrame:
        """Run a ``$vectorize`` search for ``text`` (default: the search box) and show the
        results with their ``$similarity`` and a chart of the scores; returns them."""
        from ..viz import similarity_bar

        if text is not None:
            self.query.value = text
        if limit is not None:
            self.limit.value = limit
        handle = self.handle
        if handle is None or not self.query.value.strip():
            raise ValueError("choose a collection or table and type a text to search for")
        if isinstance(handle, Table):
            column = self.vector_column.value
            if not column:
                raise ValueError(f"table {handle.name!r} has no vector column with a "
                                 "vectorize service to search")
            sort = {column: self.query.value}
        else:
            sort = {"$vectorize": self.query.value}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", TokenLimitWarning)
            try:
                found = handle.find({}, sort=sort, limit=self.limit.value,
                                    include_similarity=True,
                                    projection=self._projection(handle)).to_list()
            finally:
                self._show_warnings(caught)
        self.results = pd.DataFrame(found)
        self.results_view.value = _frame_html(found, "vk-explorer-results")
        label = next((c for c in ("$vectorize", "text", "title", "content")
                      if found and c in found[0]), None)
        self.figure = similarity_bar(found, label=label,
                                     title=f"{handle.name}: {self.query.value[:60]}")
        self.chart.clear_output()
        with self.chart:
            from IPython.display import display

            display(self.figure)
        self.message.ok(f"{len(found)} results for {self.query.value!r}.")
        return self.results

    def __repr__(self) -> str:
        handle = self.handle
        return f"Explorer(target={None if handle is None else handle.name!r})"
