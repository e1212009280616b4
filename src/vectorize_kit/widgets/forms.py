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
from ..errors import DataAPIError
from ..names import schema_name_rules
from .common import (
    LABEL,
    DatabasePanel,
    Message,
    VectorSettings,
    button,
    curl_command,
    field,
    json_html,
    note,
    on_change,
    read_only_reason,
    rules_html,
    shows_errors,
)

__all__ = ["CreateCollectionForm", "CreateTableForm"]


class _SchemaForm(DatabasePanel):
    """Database and keyspace pickers, a live-checked name, vector settings, the equivalent
    Data API JSON and curl command, a create button and a message line."""

    _kind = "Collection"
    _css = "vk-collection"

    def __init__(self, ws: Workspace | Database, database: str | None,
                 keyspace: str | None) -> None:
        css = self._css
        self.message = Message(f"{css}-message")
        super().__init__(ws, css, database, keyspace)
        self.name = field(w.Text, f"{self._kind} name", f"{css}-name",
                          placeholder=f"my_{self._kind.lower()}")
        self.rules = w.HTML()
        self.rules.add_class(f"{css}-rules")
        self.vector = VectorSettings(ws, f"{css}-vector")
        self.json = w.HTML()
        self.json.add_class(f"{css}-json")
        self.curl = w.HTML()
        self.curl.add_class(f"{css}-curl")
        self.create_button = button(f"Create {self._kind.lower()}", f"{css}-create",
                                    button_style="primary", disabled=True)
        self.preview = w.Accordion(children=[self.json, self.curl],
                                   titles=("Data API JSON", "curl"), selected_index=0)
        self.on_click(self.create_button, self.create)
        self.on_click(self.refresh_button, self.refresh)

    @shows_errors
    def _keyspace_changed(self) -> None:
        self.vector.set_database(self.db)
        self.sync()

    @shows_errors
    def _credentials_changed(self) -> None:
        self.vector.set_database(self.db)
        self.sync()

    def _taken(self, name: str) -> bool:
        db, ks = self.db, self.keyspace.value
        if db is None or ks is None:
            return False
        return name in db.list_collection_names(keyspace=ks) + db.list_table_names(keyspace=ks)

    def name_rules(self) -> list[tuple[str, bool]]:
        """The name's rules, each met or not, as the form shows them."""
        return [*schema_name_rules(self.name.value, self._kind),
                (f"must not be taken by a collection or table of keyspace "
                 f"{self.keyspace.value!r}", not self._taken(self.name.value))]

    def problems(self) -> list[str]:
        """What, besides the name, keeps the form from creating."""
        read_only = read_only_reason(self._ws)
        if read_only is not None:
            return [read_only]
        return ["choose a database (create one with ws.create_database)"] if self.db is None \
            else []

    @shows_errors
    def sync(self) -> None:
        """Check the form as it is now and show the commands it stands for."""
        rules = self.name_rules()
        problems = self.problems()
        self.rules.value = (rules_html(rules, pending=not self.name.value) + self._status()
                            + "".join(note(f"✗ {p}", colour="#b3261e") for p in problems))
        commands = self.commands()
        keyspace = self.keyspace.value or ""
        self.json.value = "".join(json_html(c) for c in commands)
        # an index command goes to its table's endpoint, the others to the keyspace's
        self.curl.value = "".join(
            f"<pre style='margin:0 0 6px 0'>"
            f"{html.escape(curl_command(c, keyspace, None if i == 0 else self.name.value))}"
            "</pre>" for i, c in enumerate(commands))
        self.create_button.disabled = not all(met for _, met in rules) or bool(problems)

    def _status(self) -> str:
        return ""

    def commands(self) -> list[dict]:
        """The Data API commands that Create runs."""
        raise NotImplementedError

    def _check(self) -> None:
        """Refuse a name the form would refuse (a Python call skips the disabled button);
        the rest the Data API checks, with its own error codes."""
        broken = [rule for rule, met in self.name_rules() if not met]
        if broken:
            raise ValueError(f"{self._kind.lower()} {self.name.value!r}: " + "; ".join(broken))


class CreateCollectionForm(_SchemaForm):
    """Create a collection as the portal's Data Explorer does (seed 000 "Use the Astra
    Portal"): database and keyspace, a name checked as it is typed (rules, taken, collection
    slots used), vector-enabled or not, the embedding generation method the database can use,
    the user access token, model, dimensions and metric; the equivalent Data API JSON and curl
    command follow the form. :meth:`create` (the button) calls
    :meth:`Database.create_collection`. Give it the workspace, or one database (a local one,
    or one from ``vk.connect``).
    """

    def __init__(self, ws: Workspace | Database, *, database: str | None = None,
                 keyspace: str | None = None) -> None:
        super().__init__(ws, database, keyspace)
        self.vector_enabled = field(w.Checkbox, "Vector-enabled collection",
                                    "vk-collection-vector-enabled", value=True)
        self.created: Collection | None = None
        on_change([self.name, self.vector_enabled, *self.vector.widgets], self.sync)
        self.vector_enabled.observe(lambda _: self._toggle_vector(), names="value")
        self.widget = w.VBox([
            w.HTML("<h3 style='margin:4px 0'>Create collection</h3>"),
            w.HBox([self.database, self.refresh_button]), self.keyspace, self.name,
            self.rules, self.vector_enabled, self.vector.box, self.preview, self.create_button,
            self.message.widget])
        self.widget.add_class("vk-create-collection")
        self._start()

    def _toggle_vector(self) -> None:
        self.vector.box.layout.display = None if self.vector_enabled.value else "none"

    def _slots(self) -> tuple[int, int] | None:
        db = self.db
        return None if db is None else db.collection_slots()

    def _status(self) -> str:
        slots = self._slots()
        if slots is None:
            return ""
        used, limit = slots
        full = used >= limit
        return note(f"{used} of {limit} collection slots of {self.database.value} used" + (
            ": the collection limit is reached (TOO_MANY_COLLECTIONS); delete a collection "
            "before creating another." if full else "."),
            colour="#b3261e" if full else "inherit", css="vk-collection-slots")

    def problems(self) -> list[str]:
        problems = super().problems()
        slots = self._slots()
        if slots is not None and slots[0] >= slots[1]:
            problems.append("the collection limit is reached")
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
        self._check()  # createCollection would return an existing one unchanged
        self.created = self.db.create_collection(  # type: ignore[union-attr]
            self.name.value, keyspace=self.keyspace.value, **self.options())
        self.message.ok(f"Created collection {self.keyspace.value}.{self.name.value} in "
                        f"{self.database.value}.")
        return self.created

    def __repr__(self) -> str:
        return f"CreateCollectionForm(database={self.database.value!r})"


COLUMN_TYPES = ["text", "int", "bigint", "smallint", "tinyint", "varint", "float", "double",
                "decimal", "boolean", "timestamp", "date", "time", "duration", "uuid", "inet",
                "blob", "ascii"]


class _ColumnRow:
    """One column of the table form: its name, type, and whether it is in the primary key."""

    def __init__(self, name: str, kind: str, key: bool) -> None:
        self.name = w.Text(value=name, placeholder="column name", layout=w.Layout(width="16em"))
        self.name.add_class("vk-table-column-name")
        self.type = w.Dropdown(options=COLUMN_TYPES, value=kind, layout=w.Layout(width="10em"))
        self.type.add_class("vk-table-column-type")
        self.key = w.Checkbox(value=key, description="primary key", indent=False,
                              layout=w.Layout(width="9em"))
        self.key.add_class("vk-table-column-key")
        self.remove = w.Button(description="remove", layout=w.Layout(width="6em"))
        self.box = w.HBox([self.name, self.type, self.key, self.remove],
                          layout=w.Layout(margin=f"0 0 0 {LABEL}"))


class CreateTableForm(_SchemaForm):
    """Create a table: its columns and primary key, and a vector column with vectorize and its
    vector index (seed 000 "Add the integration to a table": createTable, then
    createVectorIndex). :meth:`create` (the button) calls :meth:`Database.create_table` and
    :meth:`Table.create_vector_index`.
    """

    _kind = "Table"
    _css = "vk-table"

    def __init__(self, ws: Workspace | Database, *, database: str | None = None,
                 keyspace: str | None = None) -> None:
        super().__init__(ws, database, keyspace)
        self.created: Table | None = None
        self.rows: list[_ColumnRow] = []
        self.columns_box = w.VBox()
        self.add_column_button = button("Add column", "vk-table-add-column",
                                        layout=w.Layout(margin=f"0 0 0 {LABEL}"))
        self.vector_column = field(w.Text, "Vector column", "vk-table-vector-column",
                                   value="vector", placeholder="empty: no vector column")
        self.index_name = field(w.Text, "Vector index name", "vk-table-index-name",
                                placeholder="default: <table>_<column>_idx")
        on_change([self.name, self.vector_column, self.index_name, *self.vector.widgets],
                  self.sync)
        self.add_column_button.on_click(lambda _: self.add_column(_from_widget=True))
        self.widget = w.VBox([
            w.HTML("<h3 style='margin:4px 0'>Create table</h3>"),
            w.HBox([self.database, self.refresh_button]), self.keyspace, self.name,
            self.rules, w.HTML(f"<b style='margin-left:{LABEL}'>Columns</b>"), self.columns_box,
            self.add_column_button, self.vector_column, self.vector.box, self.index_name,
            self.preview, self.create_button, self.message.widget])
        self.widget.add_class("vk-create-table")
        self.add_column("text", "text", key=True)
        self._start()

    @shows_errors
    def add_column(self, name: str = "", kind: str = "text", *, key: bool = False) -> None:
        """Add a column to the form (``key``: in the primary key)."""
        row = _ColumnRow(name, kind, key)
        row.remove.on_click(lambda _: self.remove_column(row, _from_widget=True))
        on_change([row.name, row.type, row.key], self.sync)
        self.rows.append(row)
        self.columns_box.children = [r.box for r in self.rows]
        self.sync()

    @shows_errors
    def remove_column(self, row: _ColumnRow) -> None:
        """Take a column out of the form."""
        self.rows.remove(row)
        self.columns_box.children = [r.box for r in self.rows]
        self.sync()

    def _index_name(self) -> str:
        return self.index_name.value or f"{self.name.value}_{self.vector_column.value}_idx"

    def _index_names_taken(self) -> list[str]:
        """Index names are unique in a keyspace, across its tables."""
        db, ks = self.db, self.keyspace.value
        if db is None or ks is None:
            return []
        return [index for table in db.list_table_names(keyspace=ks)
                for index in db.get_table(table, keyspace=ks).list_index_names()]

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
        key = [r.name.value for r in self.rows if r.key.value]
        return {"columns": columns,
                "primaryKey": key[0] if len(key) == 1 else {"partitionBy": key}}

    def commands(self) -> list[dict]:
        commands = [create_table_command(self.name.value, definition=self.definition())]
        if self.vector_column.value:
            commands.append(create_vector_index_command(
                self._index_name(), self.vector_column.value, metric=self.vector.metric.value))
        return commands

    def problems(self) -> list[str]:
        problems = super().problems() + self.vector.problems()
        names = [r.name.value for r in self.rows]
        vector = self.vector_column.value
        if not all(n.strip() for n in names):
            problems.append("every column needs a name")
        if len(set(names + ([vector] if vector else []))) != len(names) + bool(vector):
            problems.append("column names must be different (the vector column's too)")
        if not any(r.key.value for r in self.rows):
            problems.append("tick the primary key column(s)")
        if vector:
            index = self._index_name()
            problems += [f"vector index name {index!r} {rule}"
                         for rule, met in schema_name_rules(index, "Index") if not met]
            if index in self._index_names_taken():
                problems.append(f"vector index name {index!r} is taken in keyspace "
                                f"{self.keyspace.value!r}")
        return problems

    @shows_errors
    def create(self) -> Table:
        """Create the table the form describes, then its vector index."""
        self._check()
        db, name, ks = self.db, self.name.value, self.keyspace.value
        table = db.create_table(name, definition=self.definition(),  # type: ignore[union-attr]
                                keyspace=ks)
        self.created = table
        if self.vector_column.value:
            index = self._index_name()
            try:
                table.create_vector_index(index, self.vector_column.value,
                                          metric=self.vector.metric.value)
            except DataAPIError as exc:
                raise DataAPIError(exc.error_code, f"Table {ks}.{name} was created, but not its "
                                   f"vector index: {exc.message} Create it with "
                                   f"db.get_table({name!r}).create_vector_index({index!r}, "
                                   f"{self.vector_column.value!r}).", scope=exc.scope) from None
        self.message.ok(f"Created table {ks}.{name} in {self.database.value}" + (
            f" with vector index {self._index_name()!r}." if self.vector_column.value else "."))
        return table

    def __repr__(self) -> str:
        return f"CreateTableForm(database={self.database.value!r})"
