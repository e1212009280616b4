"""The portal's Create Collection dialog and a Create Table form."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from ..api import (
    Collection,
    Database,
    Table,
    Workspace,
    create_collection_command,
    create_table_command,
    create_vector_index_command,
)
from ..names import schema_name_rules
from .common import (
    Message,
    Panel,
    VectorSettings,
    choose,
    choose_keyspace,
    curl_command,
    database_picker,
    field,
    json_html,
    on_change,
    on_click,
    rules_html,
    shows_errors,
    watch_credentials,
)

__all__ = ["CreateCollectionForm", "CreateTableForm"]


class _SchemaForm(Panel):
    """Database and keyspace pickers, a live-checked name, the equivalent Data API JSON and
    curl command, a create button and a message line."""

    _kind = "Collection"
    _css = "vk-collection"

    def __init__(self, ws: Workspace, database: str | None, keyspace: str | None) -> None:
        self._ws = ws
        css = self._css
        self.message = Message(f"{css}-message")
        self.database = database_picker(ws, f"{css}-database", database)
        self.keyspace = field(w.Dropdown, "Keyspace", f"{css}-keyspace", options=[])
        self.name = field(w.Text, f"{self._kind} name", f"{css}-name",
                          placeholder=f"my_{self._kind.lower()}")
        self.rules = w.HTML()
        self.rules.add_class(f"{css}-rules")
        self.vector = VectorSettings(ws, f"{css}-vector")
        self.json = w.HTML()
        self.json.add_class(f"{css}-json")
        self.curl = w.HTML()
        self.curl.add_class(f"{css}-curl")
        self.create_button = w.Button(description=f"Create {self._kind.lower()}",
                                      button_style="primary", disabled=True)
        self.create_button.add_class(f"{css}-create")
        self.preview = w.Accordion(children=[self.json, self.curl],
                                   titles=("Data API JSON", "curl"), selected_index=0)
        self.refresh_button = w.Button(description="Refresh", layout=w.Layout(width="7em"))
        self.database.observe(lambda _: self._database_changed(_from_widget=True),
                              names="value")
        on_click(self.create_button, self.create)
        on_click(self.refresh_button, self.refresh)
        watch_credentials(self)

    @property
    def db(self) -> Database | None:
        return None if self.database.value is None else self._ws.get_database(
            self.database.value)

    @shows_errors
    def refresh(self) -> None:
        """Offer the databases, keyspaces and credentials as they are now."""
        choose(self.database, self._ws.list_database_names(), self.database.value)
        self._database_changed()

    @shows_errors
    def credentials_changed(self) -> None:
        self.vector.set_database(self.db)
        self._update()

    @shows_errors
    def _database_changed(self) -> None:
        choose_keyspace(self.keyspace, self.db)
        self.vector.set_database(self.db)
        self._update()

    def _taken(self) -> bool:
        db, ks = self.db, self.keyspace.value
        if db is None or ks is None:
            return False
        existing = db.list_collection_names(keyspace=ks) + db.list_table_names(keyspace=ks)
        return self.name.value in existing

    def name_rules(self) -> list[tuple[str, bool]]:
        """The name's rules, each met or not, as the form shows them."""
        rules = schema_name_rules(self.name.value, self._kind)
        rules.append((f"must not be taken by a collection or table of keyspace "
                      f"{self.keyspace.value!r}", not self._taken()))
        return rules

    def _problems(self) -> list[str]:
        return self.vector.problems()

    @shows_errors
    def _update(self) -> None:
        rules = self.name_rules()
        self.rules.value = rules_html(rules, pending=not self.name.value) + self._extra_status()
        commands = self.commands()
        self.json.value = "".join(json_html(c) for c in commands)
        keyspace = self.keyspace.value or ""
        self.curl.value = "".join(
            f"<pre style='margin:0 0 6px 0'>{html.escape(curl_command(c, keyspace))}</pre>"
            for c in commands)
        self.create_button.disabled = (self.db is None or not all(met for _, met in rules)
                                       or bool(self._problems()))

    def _extra_status(self) -> str:
        return ""

    def commands(self) -> list[dict]:
        raise NotImplementedError

    def _created(self, text: str) -> None:
        self._update()
        self.message.ok(text)


class CreateCollectionForm(_SchemaForm):
    """Create a collection as the portal's Data Explorer does (seed 000 "Use the Astra
    Portal"): database and keyspace, a name checked as it is typed (rules, taken, collection
    slots used), vector-enabled or not, the embedding generation method the database can use,
    the user access token, model, dimensions and metric; the equivalent Data API JSON and curl
    command follow the form. :meth:`create` (the button) calls
    :meth:`Database.create_collection`.
    """

    def __init__(self, ws: Workspace, *, database: str | None = None,
                 keyspace: str | None = None) -> None:
        super().__init__(ws, database, keyspace)
        self.vector_enabled = field(w.Checkbox, "Vector-enabled collection",
                                    "vk-collection-vector-enabled", value=True)
        self.created: Collection | None = None
        on_change([self.keyspace, self.name, self.vector_enabled, *self.vector.widgets],
                  self._update)
        self.vector_enabled.observe(lambda _: self._toggle_vector(), names="value")
        self.widget = w.VBox([
            w.HTML("<h3 style='margin:4px 0'>Create collection</h3>"),
            w.HBox([self.database, self.refresh_button]), self.keyspace, self.name,
            self.rules, self.vector_enabled,
            self.vector.box, self.preview, self.create_button, self.message.widget])
        self.widget.add_class("vk-create-collection")
        self._database_changed()

    def _toggle_vector(self) -> None:
        self.vector.box.layout.display = None if self.vector_enabled.value else "none"

    def _extra_status(self) -> str:
        db = self.db
        if db is None:
            return ("<small style='margin-left:14em;color:#b3261e'>No database yet: create "
                    "one first (ws.create_database).</small>")
        used, limit = db.collection_slots()
        full = used >= limit
        return (f"<small class='vk-collection-slots' style='margin-left:14em;color:"
                f"{'#b3261e' if full else 'inherit'}'>{used} of {limit} collection slots of "
                f"{html.escape(db.name)} used" + (
                    ": the collection limit is reached (TOO_MANY_COLLECTIONS); delete a "
                    "collection before creating another." if full else ".") + "</small>")

    def _problems(self) -> list[str]:
        db = self.db
        problems = [] if db is None else (
            ["collection limit reached"] if db.collection_slots()[0] >= db.collection_slots()[1]
            else [])
        return problems + (self.vector.problems() if self.vector_enabled.value else [])

    def options(self) -> dict[str, Any]:
        """The keyword arguments of :meth:`Database.create_collection` the form stands for."""
        if not self.vector_enabled.value:
            return {}
        return {"dimension": self.vector.dimension.value, "metric": self.vector.metric.value,
                "service": self.vector.service()}

    def commands(self) -> list[dict]:
        return [create_collection_command(self.name.value, **self.options())]

    @shows_errors
    def create(self) -> Collection:
        """Create the collection the form describes (as the Create button does)."""
        db = self.db
        if db is None:
            raise ValueError("no database chosen: create one with ws.create_database()")
        if self._taken():  # createCollection would return the existing one unchanged
            raise ValueError(f"{self.keyspace.value}.{self.name.value} already exists")
        self.created = db.create_collection(self.name.value, keyspace=self.keyspace.value,
                                            **self.options())
        self._created(f"Created collection {self.keyspace.value}.{self.name.value} in "
                      f"{db.name}.")
        return self.created

    def __repr__(self) -> str:
        return f"CreateCollectionForm(database={self.database.value!r})"


COLUMN_TYPES = ["text", "int", "bigint", "smallint", "tinyint", "varint", "float", "double",
                "decimal", "boolean", "timestamp", "date", "time", "duration", "uuid", "inet",
                "blob", "ascii"]


class _ColumnRow:
    def __init__(self, name: str, kind: str, on_remove: Any) -> None:
        self.name = w.Text(value=name, placeholder="column name", layout=w.Layout(width="16em"))
        self.name.add_class("vk-table-column-name")
        self.type = w.Dropdown(options=COLUMN_TYPES, value=kind, layout=w.Layout(width="10em"))
        self.type.add_class("vk-table-column-type")
        self.remove = w.Button(description="remove", layout=w.Layout(width="6em"))
        self.remove.on_click(lambda _: on_remove(self))
        self.box = w.HBox([self.name, self.type, self.remove],
                          layout=w.Layout(margin="0 0 0 14em"))


class CreateTableForm(_SchemaForm):
    """Create a table: its columns, primary key, and a vector column with vectorize and its
    vector index (seed 000 "Add the integration to a table": createTable, then
    createVectorIndex). :meth:`create` (the button) calls :meth:`Database.create_table` and
    :meth:`Table.create_vector_index`.
    """

    _kind = "Table"
    _css = "vk-table"

    def __init__(self, ws: Workspace, *, database: str | None = None,
                 keyspace: str | None = None) -> None:
        super().__init__(ws, database, keyspace)
        self.created: Table | None = None
        self.rows: list[_ColumnRow] = []
        self.columns_box = w.VBox()
        self.add_column_button = w.Button(description="Add column",
                                          layout=w.Layout(margin="0 0 0 14em"))
        self.add_column_button.add_class("vk-table-add-column")
        self.primary_key = field(w.SelectMultiple, "Primary key (partition by)",
                                 "vk-table-primary-key", options=[], rows=3)
        self.vector_column = field(w.Text, "Vector column", "vk-table-vector-column",
                                   value="vector", placeholder="empty: no vector column")
        self.index_name = field(w.Text, "Vector index name", "vk-table-index-name",
                                placeholder="default: <table>_<column>_idx")
        on_change([self.keyspace, self.name, self.primary_key, self.vector_column,
                   self.index_name, *self.vector.widgets], self._update)
        self.add_column_button.on_click(lambda _: self.add_column(_from_widget=True))
        self.widget = w.VBox([
            w.HTML("<h3 style='margin:4px 0'>Create table</h3>"),
            w.HBox([self.database, self.refresh_button]), self.keyspace, self.name,
            self.rules, w.HTML("<b style='margin-left:14em'>Columns</b>"), self.columns_box,
            self.add_column_button, self.primary_key, self.vector_column, self.vector.box,
            self.index_name, self.preview, self.create_button, self.message.widget])
        self.widget.add_class("vk-create-table")
        self.add_column("text", "text")
        self.primary_key.value = ("text",)
        self._database_changed()

    @shows_errors
    def add_column(self, name: str = "", kind: str = "text") -> None:
        """Add a column row to the form."""
        row = _ColumnRow(name, kind, lambda r: self.remove_column(r, _from_widget=True))
        on_change([row.name, row.type], self._update)
        self.rows.append(row)
        self.columns_box.children = [r.box for r in self.rows]
        self._update()

    @shows_errors
    def remove_column(self, row: _ColumnRow) -> None:
        self.rows.remove(row)
        self.columns_box.children = [r.box for r in self.rows]
        self._update()

    def _update(self, *args: Any, **kw: Any) -> None:
        names = [r.name.value for r in self.rows if r.name.value]
        keep = tuple(n for n in self.primary_key.value if n in names)
        self.primary_key.options = names
        self.primary_key.value = keep
        super()._update(*args, **kw)

    def _index_name(self) -> str:
        return self.index_name.value or f"{self.name.value}_{self.vector_column.value}_idx"

    def definition(self) -> dict:
        """The createTable ``definition`` the form stands for."""
        columns: dict[str, Any] = {r.name.value: r.type.value for r in self.rows}
        if self.vector_column.value:
            column: dict[str, Any] = {"type": "vector",
                                      "dimension": self.vector.dimension.value}
            service = self.vector.service()
            if service:
                column["service"] = service
            columns[self.vector_column.value] = column
        key = list(self.primary_key.value)
        return {"columns": columns,
                "primaryKey": key[0] if len(key) == 1 else {"partitionBy": key}}

    def commands(self) -> list[dict]:
        commands = [create_table_command(self.name.value, definition=self.definition())]
        if self.vector_column.value:
            commands.append(create_vector_index_command(
                self._index_name(), self.vector_column.value, metric=self.vector.metric.value))
        return commands

    def _problems(self) -> list[str]:
        problems = list(self.vector.problems())
        names = [r.name.value.strip() for r in self.rows] + (
            [self.vector_column.value] if self.vector_column.value else [])
        if not all(names):
            problems.append("every column needs a name")
        if len(set(names)) != len(names):
            problems.append("column names must be different")
        if not self.primary_key.value:
            problems.append("choose the primary key column(s)")
        if self.vector_column.value:
            problems += [f"index name {rule}" for rule, met
                         in schema_name_rules(self._index_name(), "Index") if not met]
        return problems

    def _extra_status(self) -> str:
        problems = self._problems()
        return "".join(f"<small style='margin-left:14em;color:#b3261e'>✗ "
                       f"{html.escape(p)}</small><br>" for p in problems)

    @shows_errors
    def create(self) -> Table:
        """Create the table the form describes, then its vector index."""
        db = self.db
        if db is None:
            raise ValueError("no database chosen: create one with ws.create_database()")
        problems = self._problems()
        if problems:
            raise ValueError("; ".join(problems))
        table = db.create_table(self.name.value, definition=self.definition(),
                                keyspace=self.keyspace.value)
        self.created = table
        where = f"{self.keyspace.value}.{self.name.value}"
        if self.vector_column.value:
            try:  # the table exists even if its index fails: the form then shows it taken
                table.create_vector_index(self._index_name(), self.vector_column.value,
                                          metric=self.vector.metric.value)
            finally:
                self._update()
        self._created(f"Created table {where} in {db.name}" + (
            f" with vector index {self._index_name()!r}." if self.vector_column.value else "."))
        return table

    def __repr__(self) -> str:
        return f"CreateTableForm(database={self.database.value!r})"
