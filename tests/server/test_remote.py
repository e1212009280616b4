"""``vk.connect``: the same Database / Collection / Table API over a remote Data API endpoint
(here ``vectorize-kit serve`` on loopback), checked call by call against the in-process API,
and the plots, the migration and the explorer widget run unchanged on it."""

from __future__ import annotations

import datetime as dt
import json
import threading

import httpx
import numpy as np
import pandas as pd
import pytest

import vectorize_kit as vk
from vectorize_kit.embedding.local import MODEL_NAME
from vectorize_kit.server import DataAPIServer, connect
from vectorize_kit.server.remote import RemoteCollection, RemoteDatabase, RemoteTable

LOCAL = {"provider": "local", "modelName": MODEL_NAME}
TOKEN = "AstraCS:remote-test-token"
WORDS = ["cat", "dog", "market", "stocks", "rain", "sun", "kitten", "bonds"]


@pytest.fixture
def pair(ws):
    """The same empty database twice: one used in process, one through connect()."""
    local = ws.create_database("local_db")
    served = ws.create_database("served_db")
    with DataAPIServer(served, tokens={TOKEN: "organization-administrator"}) as server:
        remote = connect(server.url, token=TOKEN)
        yield local, remote, served
        remote.close()


def outcome(call):
    """What a call gives: its value, or its error code (and the ids an InsertManyError
    inserted)."""
    try:
        value = call()
        if isinstance(value, vk.Cursor):
            return ("cursor", value.to_list())
    except vk.InsertManyError as exc:
        return ("InsertManyError", exc.error_code, sorted(map(str, exc.inserted_ids)),
                sorted(e.error_code for e in exc.errors))
    except vk.DataAPIError as exc:
        return ("DataAPIError", exc.error_code)
    if isinstance(value, pd.DataFrame):
        cells = [[c.tolist() if isinstance(c, np.ndarray) else None if c is pd.NA else c
                  for c in row] for row in value.astype(object).values.tolist()]
        return ("frame", list(value.columns), [str(t) for t in value.dtypes], cells)
    if isinstance(value, (vk.Collection, vk.Table)):
        return (type(value).__name__.removeprefix("Remote"), value.name, value.keyspace)
    return value


def collection_script(db):
    """A tour of the collection API; yields each call."""
    notes = db.create_collection("notes", service=LOCAL, metric="dot_product")
    yield lambda: db.list_collection_names()
    yield lambda: notes.options()
    texts = [f"the {a} and the {b}" for a in WORDS for b in WORDS]
    yield lambda: notes.insert_many([{"_id": i, "$vectorize": t, "a": i % 5}
                                     for i, t in enumerate(texts)])
    yield lambda: notes.insert_many([{"_id": 0}, {"_id": "new", "a": 9}])
    yield lambda: notes.find({"a": {"$gte": 3}}, sort={"$vectorize": "a sleeping kitten"},
                             limit=25, include_similarity=True)
    yield lambda: notes.find({}, projection={"a": 1})
    yield lambda: notes.find_one({"_id": 5}, projection={"$vectorize": 1})
    yield lambda: notes.count_documents({"a": 1}, upper_bound=100)
    yield lambda: notes.count_documents({}, upper_bound=10)
    yield lambda: notes.estimated_document_count()
    yield lambda: notes.update_many({"a": {"$in": [0, 1]}}, {"$inc": {"b": 1}})
    yield lambda: notes.update_one({"_id": "none"}, {"$set": {"b": 1}}, upsert=True)
    yield lambda: notes.find_one_and_update({"_id": 3}, {"$set": {"c": True}},
                                            return_document="after")
    yield lambda: notes.replace_one({"_id": 4}, {"x": 1})
    yield lambda: notes.distinct("a")
    yield lambda: notes.to_pandas({"a": 2}, projection=["a", "b"])
    yield lambda: notes.delete_one({"_id": 1})
    yield lambda: notes.delete_many({"a": {"$lt": 3}})
    yield lambda: len(notes)
    yield lambda: notes.find({}, sort={"$vector": [1.0] * 3})
    yield lambda: notes.find_one({}, sort={"$vectorize": 7})
    yield lambda: notes.insert_one({"_id": "bad", "$vector": [1.0], "$vectorize": "x"})
    yield lambda: db.get_collection("missing")
    yield lambda: db.get_table("notes")
    yield lambda: notes.delete_many({})
    yield lambda: db.drop_collection("notes")
    yield lambda: db.list_collections()


def table_script(db):
    yield lambda: db.create_table("books", columns={
        "title": "text", "year": "int", "score": "double", "added": "timestamp",
        "tags": {"type": "set", "valueType": "text"},
        "blurb": {"type": "vector", "service": LOCAL}}, primary_key="title")
    books = db.get_table("books")
    yield lambda: books.create_vector_index("books_blurb", "blurb", metric="cosine")
    yield lambda: books.definition()
    yield lambda: books.list_indexes()
    yield lambda: books.primary_key_columns()
    yield lambda: books.vectorize_columns()
    when = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    rows = [{"title": f"T{i:02d}", "year": 1990 + i, "score": i / 4, "added": when,
             "tags": [WORDS[i % 8]], "blurb": f"a story of a {WORDS[i % 8]}"}
            for i in range(23)]
    yield lambda: books.insert_many(rows)
    yield lambda: books.insert_one({"title": "T99", "year": 3})
    yield lambda: books.insert_many([{"title": "T50", "nope": 1}])
    yield lambda: books.find({}, sort={"blurb": "a cute kitten"}, limit=5,
                             include_similarity=True, projection={"title": 1})
    yield lambda: books.find({"year": {"$gt": 2005}})
    yield lambda: books.to_pandas({"title": {"$in": ["T01", "T02", "T99"]}})
    yield lambda: books.to_pandas(projection={"title": 1, "year": 1})
    yield lambda: books.update_one({"title": "T01"}, {"$set": {"year": 1}})
    yield lambda: books.find_one({"title": "T01"}, projection={"year": 1, "title": 1})
    yield lambda: books.delete_one({"title": "T02"})
    yield lambda: books.count_documents({}, upper_bound=100)
    yield lambda: books.update_one({"year": 1}, {"$set": {"year": 2}})
    yield lambda: books.insert_dataframe(pd.DataFrame({"title": ["F1"], "text": ["a dog"]}),
                                         vectorize_column="text")
    yield lambda: books.find_one({"title": "F1"}, projection={"title": 1})
    yield lambda: books.alter({"add": {"columns": {"extra": "text"}}}).definition()
    yield lambda: db.list_table_names()
    yield lambda: db.drop_table_index("books_blurb")
    yield lambda: books.drop()
    yield lambda: db.list_table_names()


@pytest.mark.parametrize("script", [collection_script, table_script])
def test_every_call_gives_the_same_answer(pair, script):
    local, remote, _ = pair
    for n, (here, there) in enumerate(zip(script(local), script(remote), strict=True)):
        assert outcome(there) == outcome(here), f"call {n} of {script.__name__}"


def test_connect_objects_and_reprs(pair):
    local, remote, served = pair
    assert isinstance(remote, RemoteDatabase) and isinstance(remote, vk.Database)
    coll = remote.create_collection("c", dimension=2)
    table = remote.create_table("t", columns={"k": "text"}, primary_key="k")
    assert isinstance(coll, RemoteCollection) and isinstance(coll, vk.Collection)
    assert isinstance(table, RemoteTable) and isinstance(table, vk.Table)
    assert coll.database is remote and remote.name == remote.api_endpoint.split("//")[1]
    assert remote.created_at is None and remote.id == remote.api_endpoint
    shown = repr(remote) + remote._repr_html_() + repr(coll) + coll._repr_html_() + repr(table)
    assert remote.api_endpoint in shown and TOKEN not in shown
    assert remote.collection_slots() == (1, 10)
    assert remote.list_keyspaces() == ["default_keyspace"]
    remote.create_keyspace("other")
    assert served.list_keyspaces() == ["default_keyspace", "other"]
    # the data version moves on every read (the endpoint does not tell when data changes)
    assert coll.data_version != coll.data_version


def test_astra_endpoints_get_the_api_json_path_and_their_id():
    db = connect("https://01234567-89ab-cdef-0123-456789abcdef-us-east1.apps.astra.datastax.com",
                 token="AstraCS:x")
    assert db.id == "01234567-89ab-cdef-0123-456789abcdef"
    assert db._base.endswith("/api/json/v1")
    assert connect("http://127.0.0.1:8181", token="t")._base == "http://127.0.0.1:8181/v1"
    with pytest.raises(vk.DataAPIError) as caught:
        connect("127.0.0.1:8181", token="t")
    assert caught.value.error_code == "COMMAND_FIELD_VALUE_INVALID"
    with pytest.raises(vk.DataAPIError) as caught:
        connect("http://127.0.0.1:8181", token="")
    assert caught.value.error_code == "MISSING_AUTHENTICATION_TOKEN"


def test_transport_failures_are_clear_errors(db):
    srv = DataAPIServer(db, tokens=[TOKEN])
    port = srv.port
    srv.stop()  # nothing listens there now
    remote = connect(f"http://127.0.0.1:{port}", token=TOKEN)
    with pytest.raises(vk.DataAPIError) as caught:
        remote.list_collection_names()
    assert caught.value.error_code == "DATA_API_UNREACHABLE"
    assert f"127.0.0.1:{port}" in caught.value.message and TOKEN not in str(caught.value)
    # no exception chain: httpx's would hold the request, and its Token header
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    envelope = remote.command({"findCollections": {}})
    assert envelope["errors"][0]["errorCode"] == "DATA_API_UNREACHABLE"

    with DataAPIServer(db, tokens=[TOKEN]) as server:
        wrong = connect(server.url, token="AstraCS:wrong")
        with pytest.raises(vk.DataAPIError) as caught:
            wrong.list_collection_names()
        assert caught.value.error_code == "UNAUTHENTICATED_REQUEST"
        assert "AstraCS:wrong" not in str(caught.value)
        # a path the endpoint does not serve: an HTTP error without an envelope
        odd = connect(server.url, token=TOKEN, api_path="/v2")
        with pytest.raises(vk.DataAPIError) as caught:
            odd.list_collection_names()
        assert caught.value.error_code == "DATA_API_HTTP_ERROR"
        assert "HTTP 404" in caught.value.message


def test_timeout_is_data_api_timeout(db):
    """A server that accepts the connection and never answers."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    try:
        remote = connect(f"http://127.0.0.1:{listener.getsockname()[1]}", token=TOKEN,
                         timeout=0.5)
        with pytest.raises(vk.DataAPIError) as caught:
            remote.list_collection_names()
        assert caught.value.error_code == "DATA_API_TIMEOUT"
    finally:
        listener.close()


def test_remote_long_text_policies_other_than_truncate_are_refused(pair):
    _, remote, served = pair
    coll = remote.create_collection("c", service=LOCAL)
    with pytest.raises(vk.DataAPIError) as caught:
        coll.insert_one({"$vectorize": "text"}, long_text="chunk")
    assert caught.value.error_code == "COMMAND_FIELD_VALUE_INVALID"
    assert "vk.chunk_text" in caught.value.message
    assert coll.command({"insertOne": {"document": {"_id": 1}}}, long_text="error")[
        "errors"][0]["errorCode"] == "COMMAND_FIELD_VALUE_INVALID"
    assert len(served.get_collection("c")) == 0


def test_python_values_travel_as_json(pair):
    local, remote, _ = pair
    for db in (local, remote):
        db.create_collection("v", dimension=3)
    doc = {"_id": "a", "when": dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc),
           "n": np.int64(5), "f": np.float32(0.5), "$vector": np.array([1, 2, 3], np.float32)}
    results = []
    for db in (local, remote):
        coll = db.get_collection("v")
        coll.insert_one(dict(doc))
        results.append(coll.find_one({"_id": "a"}, projection={"*": 1}))
    assert results[0] == results[1]
    assert results[1]["when"] == {"$date": 1714979289000}


def test_integrations_over_the_served_endpoint(pair, ws):
    """An organization administrator manages the workspace's credentials through db.command
    on the endpoint."""
    _, remote, served = pair
    assert remote.command({"addCredential": {
        "provider": "huggingface", "name": "k1", "token": "hf_abc",
        "scopedDatabases": ["served_db"]}}) == {"status": {"ok": 1}}
    assert ws.integrations.available_credentials("huggingface", served) == ["k1"]
    listed = remote.command({"findCredentials": {"provider": "huggingface"}})
    assert "hf_abc" not in json.dumps(listed)


def test_plots_run_unchanged_on_a_remote_collection(pair):
    from vectorize_kit.viz import compare_models, embedding_map, similarity_bar

    local, remote, _ = pair
    docs = [{"_id": i, "$vectorize": f"the {a} met the {b}", "kind": a}
            for i, (a, b) in enumerate((a, b) for a in WORDS for b in WORDS[:4])]
    for db in (local, remote):
        db.create_collection("m", service=LOCAL).insert_many(docs)
    here, there = local.get_collection("m"), remote.get_collection("m")

    maps = [embedding_map(c, method="pca", color="kind", query="a small cat", k=3)
            for c in (here, there)]
    assert maps[1].layout.meta == maps[0].layout.meta
    for a, b in zip(maps[0].data, maps[1].data):
        assert a.name == b.name
        assert np.allclose(np.array(a.x, float), np.array(b.x, float), atol=1e-5,
                           equal_nan=True)

    bars = [similarity_bar(c.find({}, sort={"$vectorize": "stocks"}, limit=5,
                                  include_similarity=True)) for c in (here, there)]
    assert bars[0].data[0].x == bars[1].data[0].x and bars[0].data[0].y == bars[1].data[0].y

    comparison = compare_models(here, there, ["a cat", "the markets"], k=5)
    assert list(comparison.table["overlap@5"]) == [1.0, 1.0]


def test_migration_runs_unchanged_on_a_remote_collection(pair):
    from vectorize_kit.migrate import Migration

    _, remote, served = pair
    source = remote.create_collection("src", service=LOCAL)
    source.insert_many([{"_id": i, "$vectorize": f"note about {w}"}
                        for i, w in enumerate(WORDS * 4)])
    migration = Migration(source, "dst", service=LOCAL, metric="euclidean")
    migration.run(progress=False)
    target = served.get_collection("dst")
    assert len(target) == len(WORDS) * 4
    assert target.options()["vector"]["metric"] == "euclidean"
    report = migration.verify(["note about rain"])
    assert report.missing == []


def test_concurrent_use_of_one_connection(pair):
    """One RemoteDatabase used from several threads (httpx's client is thread-safe)."""
    _, remote, served = pair
    coll = remote.create_collection("c")
    errors = []

    def work(t):
        try:
            for i in range(20):
                coll.insert_one({"_id": f"{t}-{i}"})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(served.get_collection("c")) == 80


def test_server_side_errors_keep_their_titles(pair):
    _, remote, _ = pair
    with pytest.raises(vk.DataAPIError) as caught:
        remote.create_collection("bad name!")
    err = caught.value
    assert (err.error_code, err.family, err.scope) == ("UNSUPPORTED_SCHEMA_NAME", "REQUEST",
                                                       "SCHEMA")
    assert httpx  # (the module is used by the transport)


def test_explorer_and_forms_run_on_a_remote_database(pair):
    """The widgets take a database (here one from connect()) as well as a workspace."""
    from vectorize_kit.widgets import CreateCollectionForm, CreateTableForm, Explorer

    _, remote, served = pair
    form = CreateCollectionForm(remote)
    assert form.database.options == (remote.name,)
    methods = [v for _, v in form.vector.method.options]
    assert methods == ["local", "byo"]  # the endpoint lists the local model; no HF tokens here
    assert "kept with its endpoint" in form.vector.note.value
    form.name.value = "notes"
    form.vector.method.value = "local"
    form.create_button.click()
    assert form.message.error_code is None, form.message.text
    assert served.get_collection("notes").options()["vector"]["service"] == LOCAL

    frame = pd.DataFrame({"text": ["The cat sleeps on the sofa.", "Stocks fell today.",
                                   "A kitten naps in the sun."], "n": [1, 2, 3]})
    explorer = Explorer(remote, frame=frame)
    explorer.select("notes")
    explorer.insert(vectorize_column="text")
    assert explorer.message.text == "Inserted 3 documents into notes."
    assert len(served.get_collection("notes")) == 3
    found = explorer.search("a sleeping cat", limit=2)
    assert list(found["$vectorize"])[0] in ("The cat sleeps on the sofa.",
                                            "A kitten naps in the sun.")
    assert list(explorer.figure.data[0].x) == list(found["$similarity"])

    table_form = CreateTableForm(remote)
    assert table_form.database.value == remote.name


def test_widgets_take_a_local_database_too(db, ws):
    from vectorize_kit.widgets import CreateCollectionForm, Explorer

    other = ws.create_database("other")
    ws.integrations.add_credential("huggingface", "k1", "hf_token_xyz", databases=[db])
    form = CreateCollectionForm(db)
    assert form.database.options == ("testdb",)
    assert [v for _, v in form.vector.method.options] == ["local", "huggingface", "byo"]
    explorer = Explorer(other)
    assert explorer.database.options == ("other",)
    with pytest.raises(vk.DataAPIError) as caught:
        explorer.select("x", database="testdb")
    assert caught.value.error_code == "UNKNOWN_DATABASE"
    with pytest.raises(TypeError):
        Explorer("not a workspace")


def test_connect_keyspace_and_missing_token(pair):
    _, remote, served = pair
    served.create_keyspace("other")
    served.create_collection("there", keyspace="other")
    scoped = connect(remote.api_endpoint, token=TOKEN, keyspace="other")
    assert scoped.keyspace == "other" and scoped.list_collection_names() == ["there"]
    scoped.get_collection("there").insert_one({"_id": 1})
    assert len(served.get_collection("there", keyspace="other")) == 1
    assert remote.list_collection_names() == []  # default_keyspace
    with pytest.raises(vk.DataAPIError) as caught:
        connect(remote.api_endpoint)
    assert caught.value.error_code == "MISSING_AUTHENTICATION_TOKEN"
    assert "connect" in dir(vk) and "serve" in dir(vk)


def test_tokens_and_keys_a_header_can_not_carry_are_refused_unseen(pair):
    _, remote, served = pair
    served.create_collection("c", service=LOCAL)
    for bad in ("AstraCS:SEC\nRET", "AstraCS:SE CRET", "AstraCS:SECRÉT"):
        with pytest.raises(vk.DataAPIError) as caught:
            connect(remote.api_endpoint, token=bad)
        assert caught.value.error_code == "COMMAND_FIELD_VALUE_INVALID"
        assert "SECR" not in str(caught.value)
    # a token read from a file, with its line break, works
    assert connect(remote.api_endpoint, token=TOKEN + "\n").list_collection_names() == ["c"]
    coll = remote.get_collection("c", embedding_api_key="hf_KEY\nSECRET")
    with pytest.raises(vk.DataAPIError) as caught:
        coll.insert_one({"$vectorize": "x"})
    assert caught.value.error_code == "COMMAND_FIELD_VALUE_INVALID"
    assert "SECRET" not in str(caught.value) and caught.value.__context__ is None


def test_insert_many_stops_when_the_endpoint_does_not_answer(db):
    srv = DataAPIServer(db, tokens=[TOKEN])
    port = srv.port
    srv.stop()
    remote = connect(f"http://127.0.0.1:{port}", token=TOKEN)
    coll = RemoteCollection(remote, "default_keyspace", "c")  # (not looked up: it is down)
    with pytest.raises(vk.InsertManyError) as caught:
        coll.insert_many([{"_id": i} for i in range(250)])
    assert len(caught.value.errors) == 1  # the first chunk failed; the others were not sent
    assert caught.value.error_code == "DATA_API_UNREACHABLE"
    assert "the rest of this insert_many was not sent" in caught.value.message


def test_remote_values_as_the_local_api_takes_them(pair):
    import decimal
    import uuid

    local, remote, _ = pair
    answers = []
    for db in (local, remote):
        coll = db.create_collection("docs")
        tid = uuid.UUID("12345678-1234-5678-1234-567812345678")
        coll.insert_one({"_id": "u", "ref": tid})
        answers.append(coll.find_one({"ref": tid}))
        # decimals are kept exactly in collections too (the Data API's BigDecimal)
        coll.insert_one({"_id": "d", "price": decimal.Decimal("1.000000000000000000001")})
        answers.append(coll.find_one({"price": decimal.Decimal("1.000000000000000000001")}))
        assert answers[-1]["price"] == decimal.Decimal("1.000000000000000000001")
        table = db.create_table("t", columns={"k": "text", "d": "decimal", "u": "uuid",
                                             "b": "blob", "when": "date"}, primary_key="k")
        exact = decimal.Decimal("3.14159265358979323846264338327950288")
        table.insert_one({"k": "a", "d": exact, "u": tid, "b": b"\x00\x01",
                          "when": dt.date(2024, 2, 29)})
        row = table.find_one({"k": "a"})
        answers.append(row)
        assert row["d"] == exact and isinstance(row["d"], decimal.Decimal)
    assert answers[:3] == answers[3:]
