"""The Data Explorer: page through a collection or table, insert a DataFrame, search."""

from __future__ import annotations

import html
import warnings
from collections.abc import Hashable
from typing import Any

import ipywidgets as w
import pandas as pd

from ..api import Collection, Database, Table, Workspace
from ..errors import DataAPIError, TokenLimitWarning
from ..limits import PAGE_SIZE
from .common import (
    DatabasePanel,
    Message,
    button,
    choose,
    field,
    note,
    on_change,
    read_only_reason,
    section,
    shows_errors,
)

__all__ = ["Explorer"]

_NONE = "(none)"
_FROM_FORM: Any = ...  # "the column chosen in the form"
LONG_TEXT = [("Truncate, with a warning", "truncate"), ("Split into chunks", "chunk"),
             ("Refuse the insert", "error")]


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


def _warnings_html(caught: list[warnings.WarningMessage]) -> str:
    return "".join(f"<div class='vk-warning' style='color:#8a5a00'>⚠ "
                   f"{html.escape(str(c.message))}</div>"
                   for c in caught if issubclass(c.category, TokenLimitWarning))


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class Explorer(DatabasePanel):
    """Explore one collection or table: its documents or rows a page at a time, inserting a
    DataFrame (one column's text becomes ``$vectorize``) with a progress bar and token-limit
    warnings, and ``$vectorize`` search with a chart of the ``$similarity`` scores.

    The buttons call :meth:`select`, :meth:`refresh`, :meth:`next_page`,
    :meth:`previous_page`, :meth:`insert` and :meth:`search`, which call the Python API.

    Parameters
    ----------
    ws
        The workspace, or one database (a local one, or one from ``vk.connect`` on a remote
        Data API endpoint such as Astra DB).
    frame
        A DataFrame to offer for insertion (or give one later to :meth:`insert`).
    database, keyspace
        Where to start (default: the first database, ``default_keyspace``).
    """

    def __init__(self, ws: Workspace | Database, *, frame: pd.DataFrame | None = None,
                 database: str | None = None, keyspace: str | None = None) -> None:
        self.message = Message("vk-explorer-message")
        super().__init__(ws, "vk-explorer", database, keyspace)
        self.frame = frame
        self.target = field(w.Dropdown, "Collection or table", "vk-explorer-target", options=[])
        self.summary = w.HTML()
        self.summary.add_class("vk-explorer-summary")
        self.page_view = w.HTML()
        self.page_label = w.Label()
        self.page_label.add_class("vk-explorer-page-label")
        self.prev_button = button("◀ Previous", "vk-explorer-previous", disabled=True)
        self.next_button = button("Next ▶", "vk-explorer-next", disabled=True)

        self.text_column = field(w.Dropdown, "Text to $vectorize", "vk-explorer-text-column",
                                 options=[_NONE])
        self.vector_column = field(w.Dropdown, "Into vector column", "vk-explorer-vector-column",
                                   options=[])
        self.long_text = field(w.Dropdown, "Texts over the limit", "vk-explorer-long-text",
                               options=LONG_TEXT, value="truncate")
        self.insert_button = button("Insert DataFrame", "vk-explorer-insert", disabled=True)
        self.progress = w.IntProgress(value=0, min=0, max=1, description="Progress",
                                      style={"description_width": "6em"})
        self.progress.add_class("vk-explorer-progress")
        self.insert_warnings = w.HTML()
        self.insert_warnings.add_class("vk-explorer-warnings")
        self.insert_note = w.HTML()  # why Insert is off, on a read-only workspace
        self.insert_note.add_class("vk-explorer-insert-note")

        self.search_column = field(w.Dropdown, "Search vector column",
                                   "vk-explorer-search-column", options=[])
        self.query = field(w.Text, "Search ($vectorize)", "vk-explorer-query",
                           placeholder="text to search for, then Enter", continuous_update=False)
        self.limit = field(w.BoundedIntText, "Results", "vk-explorer-limit", value=5, min=1,
                           max=1000)
        self.search_button = button("Search", "vk-explorer-search", button_style="primary",
                                    disabled=True)
        self.search_note = w.HTML()
        self.search_warnings = w.HTML()
        self.search_warnings.add_class("vk-explorer-search-warnings")
        self.results_view = w.HTML()
        self.chart = w.Output()
        self.figure: Any = None
        self.results: pd.DataFrame | None = None

        self._search_problem: str | None = None
        self._pages: list[list[dict]] = []
        self._page_iter: Any = None
        self._page = 0

        on_change([self.target], self._target_changed)
        on_change([self.search_column], self._sync_quietly)
        # Enter (or leaving the field) after typing a query runs the search
        self._typed = True
        self.query.observe(self._query_typed, names="value")
        self.on_click(self.prev_button, self.previous_page)
        self.on_click(self.next_button, self.next_page)
        self.on_click(self.refresh_button, self.refresh)
        self.on_click(self.insert_button, self.insert)
        self.on_click(self.search_button, self.search)

        self.widget = w.VBox([
            w.HTML("<h3 style='margin:4px 0'>Data Explorer</h3>"),
            self.database, self.keyspace, w.HBox([self.target, self.refresh_button]),
            self.summary, self.page_view,
            w.HBox([self.prev_button, self.page_label, self.next_button]),
            section("Insert a DataFrame"), self.text_column, self.vector_column,
            self.long_text, w.HBox([self.insert_button, self.progress]), self.insert_note,
            self.insert_warnings,
            section("Vector search"), self.search_column, self.query, self.limit,
            self.search_button, self.search_note, self.search_warnings, self.results_view,
            self.chart, self.message.widget])
        self.widget.add_class("vk-explorer")
        self._start()

    # -- choosing ----------------------------------------------------------------------------
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
    def _keyspace_changed(self) -> None:
        db, ks = self.db, self.keyspace.value
        options: list[tuple[str, tuple[str, str]]] = []
        if db is not None and ks is not None:
            options = ([(f"{n} (collection)", ("collection", n))
                        for n in db.list_collection_names(keyspace=ks)]
                       + [(f"{n} (table)", ("table", n))
                          for n in db.list_table_names(keyspace=ks)])
        keep = self.target.value
        choose(self.target, options, keep)
        if self.target.value == keep:  # no change event: show it afresh all the same
            self._target_changed()

    @shows_errors
    def select(self, name: str, *, keyspace: str | None = None,
               database: str | None = None) -> None:
        """Explore the collection or table ``name`` (of ``keyspace`` of ``database``)."""
        if database is not None:
            choose(self.database, self._ws.list_database_names(),
                   self._ws.get_database(database).name)  # UNKNOWN_DATABASE
        self._choose_keyspace(keyspace)  # UNKNOWN_KEYSPACE
        self._keyspace_changed()  # what exists now, not what existed when last shown
        found = [v for _, v in self.target.options if v[1] == name]
        if not found:
            raise DataAPIError(
                "UNKNOWN_COLLECTION_OR_TABLE",
                f"Keyspace {self.keyspace.value!r} of database {self.database.value!r} has no "
                f"collection or table named {name!r}; it has "
                f"{[v[1] for _, v in self.target.options]}.")
        self.target.value = found[0]

    @shows_errors
    def _target_changed(self) -> None:
        self.message.clear()
        self.results, self.figure = None, None
        self.results_view.value = self.search_warnings.value = self.insert_warnings.value = ""
        self._clear_chart()
        handle = self.handle
        table = isinstance(handle, Table)
        columns = handle.vectorize_columns() if table else []
        choose(self.vector_column, columns, self.vector_column.value)
        indexed = set()
        if table:
            indexed = {i["definition"]["column"] for i in handle.list_indexes()}
        choose(self.search_column, [c for c in columns if c in indexed],
               self.search_column.value)
        for widget in (self.vector_column, self.search_column):
            widget.layout.display = None if table else "none"
        self._offer_frame(new=False)
        self._load()

    def _clear_chart(self) -> None:
        if _in_kernel():  # outside a kernel, clear_output() would print terminal codes
            self.chart.clear_output()

    def _query_typed(self, change: dict) -> None:
        if self._typed and change["new"].strip():
            self.search(_from_widget=True)

    def _vectorizes(self) -> bool:
        """Whether the target embeds text (a collection's or a vector column's service)."""
        handle = self.handle
        if isinstance(handle, Table):
            return bool(handle.vectorize_columns())
        return handle is not None and bool(handle.options().get("vector", {}).get("service"))

    # -- paging ------------------------------------------------------------------------------
    @staticmethod
    def _projection(handle: Collection | Table) -> dict | None:
        # a document's $vectorize text and $vector too (shown shortened); a row has them all
        return {"*": 1} if isinstance(handle, Collection) else None

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
        self.sync()

    def _fetch(self) -> bool:
        page = None if self._page_iter is None else next(self._page_iter, None)
        if page is None:
            self._page_iter = None
            return False
        self._pages.append(page)
        return True

    def _show_page(self) -> None:
        self.page_view.value = _frame_html(self.page, "vk-explorer-page")
        self.page_label.value = f"page {self._page + 1}" if self._pages else ""

    @property
    def page(self) -> list[dict]:
        """The documents or rows on show."""
        return self._pages[self._page] if self._pages else []

    @shows_errors
    def next_page(self) -> None:
        """Show the next page (fetched when first shown)."""
        if self._page + 1 < len(self._pages) or self._fetch():
            self._page += 1
        self._show_page()

    @shows_errors
    def previous_page(self) -> None:
        self._page = max(0, self._page - 1)
        self._show_page()

    @shows_errors
    def sync(self) -> None:
        """Enable each button only when its action can run."""
        handle = self.handle
        self.prev_button.disabled = self._page == 0
        # a next page is known to exist once fetched; a full page may have one more
        self.next_button.disabled = not (self._page + 1 < len(self._pages) or (
            self._page_iter is not None and len(self.page) >= PAGE_SIZE))
        read_only = None if handle is None else read_only_reason(self._ws)
        self.insert_button.disabled = self.frame is None or handle is None or bool(read_only)
        self.insert_note.value = "" if read_only is None else note(read_only,
                                                                   colour="#b3261e")
        self.insert_button.description = ("Insert DataFrame" if self.frame is None
                                          else f"Insert {len(self.frame)} rows")
        reason = None
        if handle is None:
            reason = "Choose a collection or table to search."
        elif isinstance(handle, Table) and not self.search_column.options:
            reason = (f"Table {handle.name!r} has no indexed vector column with a vectorize "
                      "service: create a vector index on one "
                      "(table.create_vector_index(name, column)).")
        elif isinstance(handle, Collection) and not self._vectorizes():
            reason = (f"Collection {handle.name!r} has no vectorize service: search it by "
                      "vector in Python (find(sort={'$vector': [...]})).")
        self._search_problem = reason
        self.search_note.value = "" if reason is None else note(reason)
        self.search_button.disabled = reason is not None

    # -- inserting ---------------------------------------------------------------------------
    def _offer_frame(self, *, new: bool) -> None:
        """Offer the frame's columns as the text to vectorize: ``text`` if it has one, else its
        only text column; none for a target without a vectorize service."""
        frame = self.frame
        options = [(_NONE, _NONE)] + ([] if frame is None else [(str(c), c) for c in frame.columns])
        default = _NONE
        if frame is not None and self._vectorizes():
            texts = [c for c in frame.columns
                     if frame[c].map(lambda v: isinstance(v, str)).any()]
            default = "text" if "text" in frame.columns else (
                texts[0] if len(texts) == 1 else _NONE)
        keep = None if new or self.text_column.value == _NONE else self.text_column.value
        choose(self.text_column, options, keep, default)

    @shows_errors
    def insert(self, frame: pd.DataFrame | None = None, *,
               vectorize_column: Hashable | None = _FROM_FORM,
               long_text: str | None = None) -> Any:
        """Insert a DataFrame (by default the one given to the explorer) into the collection
        or table; ``vectorize_column``'s text (by default the column chosen in the form;
        ``None``: no column) becomes ``$vectorize`` or the vector column's text. Returns the
        insert's result."""
        if frame is not None:
            self.frame = frame
            self._offer_frame(new=True)
        if vectorize_column is not _FROM_FORM:
            self.text_column.value = _NONE if vectorize_column is None else vectorize_column
        if long_text is not None:
            self.long_text.value = long_text
        if self.frame is None:
            raise ValueError("no DataFrame to insert: pass one (explorer.insert(df))")
        handle = self.handle
        if handle is None:
            raise ValueError("choose a collection or table first")
        column = None if self.text_column.value == _NONE else self.text_column.value
        self.progress.max, self.progress.value = max(1, len(self.frame)), 0
        notes = self._missing_texts(column)

        def report(done: int, total: int) -> None:
            self.progress.value = done

        kw: dict[str, Any] = {"vectorize_column": column, "progress": report,
                              "long_text": self.long_text.value}
        if isinstance(handle, Table) and column is not None:
            kw["vector_column"] = self.vector_column.value
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", TokenLimitWarning)
            try:
                result = handle.insert_dataframe(self.frame, **kw)
            finally:
                self.insert_warnings.value = "".join(
                    f"<div class='vk-warning' style='color:#8a5a00'>⚠ {html.escape(n)}</div>"
                    for n in notes) + _warnings_html(caught)
                self._load()
        self.message.ok(f"Inserted {len(result.inserted_ids)} "
                        f"{'documents' if isinstance(handle, Collection) else 'rows'} into "
                        f"{handle.name}.")
        return result

    def _missing_texts(self, column: Hashable | None) -> list[str]:
        """Why some rows will be stored without a vector."""
        if not self._vectorizes():
            return []
        if column is None:
            return ["No column is chosen as the text to vectorize: the rows are stored without "
                    "vectors (search will not find them)."]
        missing = self.frame.index[self.frame[column].isna()].tolist()  # type: ignore[index]
        if not missing:
            return []
        return [f"{len(missing)} row(s) have no text in {str(column)!r} (index "
                f"{missing[:10]}): they are stored without vectors."]

    # -- searching ---------------------------------------------------------------------------
    @shows_errors
    def search(self, text: str | None = None, *, limit: int | None = None) -> pd.DataFrame:
        """Run a ``$vectorize`` search for ``text`` (default: the search box) and show the
        results with their ``$similarity`` and a chart of the scores; returns them."""
        from ..viz import similarity_bar

        if text is not None:
            self._typed = False  # not a search of its own from the box
            try:
                self.query.value = text
            finally:
                self._typed = True
        if limit is not None:
            self.limit.value = limit
        self.sync()
        handle = self.handle
        if self._search_problem:
            raise ValueError(self._search_problem)
        query = self.query.value
        if not query.strip():
            raise ValueError("type a text to search for")
        sort = ({self.search_column.value: query} if isinstance(handle, Table)
                else {"$vectorize": query})
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", TokenLimitWarning)
            try:
                found = handle.find(  # type: ignore[union-attr]
                    {}, sort=sort, limit=self.limit.value, include_similarity=True,
                    projection=self._projection(handle)).to_list()  # type: ignore[arg-type]
            finally:
                self.search_warnings.value = _warnings_html(caught)
        self.results = pd.DataFrame(found)
        self.results_view.value = _frame_html(found, "vk-explorer-results")
        label = next((c for c in ("$vectorize", "text", "title", "content")
                      if found and c in found[0]), None)
        shown = query if len(query) <= 60 else query[:59] + "…"
        self.figure = similarity_bar(found, label=label, title=f"{handle.name}: {shown}")
        self._clear_chart()
        if _in_kernel():  # outside a kernel, display() would print the figure
            with self.chart:
                from IPython.display import display

                display(self.figure)
        self.message.ok(f"{len(found)} results for {shown!r}.")
        return self.results

    def __repr__(self) -> str:
        return f"Explorer(database={self.database.value!r}, target={self.target.value!r})"

