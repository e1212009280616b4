"""Two processes on one workspace: one writes, the others open it read-only.

Real processes: a writer subprocess holds the workspace (or this process does, with a
reader subprocess), and every check reads what the other process acknowledged.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import vectorize_kit as vk
from vectorize_kit.viz import embedding_map
from vectorize_kit.widgets import CreateCollectionForm, CredentialsManager, Explorer

TOKEN = "hf_readonlytestsecret0123456789"

# A process that runs the Python expressions it is sent (one JSON line each) against the
# workspace it opened, and answers each with one JSON line.
EVAL = r"""
import json, sys
import vectorize_kit as vk
ws = vk.Workspace(sys.argv[1], read_only=json.loads(sys.argv[2]))
db = lambda: ws.get_database("db")
coll = lambda name="notes": db().get_collection(name)
print(json.dumps({"pid": __import__("os").getpid(), "read_only": ws.read_only,
                  "repr": repr(ws)}), flush=True)
for line in sys.stdin:
    try:
        out = {"ok": eval(json.loads(line))}
    except vk.DataAPIError as exc:
        out = {"error": exc.error_code, "message": exc.message}
    print(json.dumps(out, default=str), flush=True)
"""

# A writer that inserts `commands` insertMany commands of `size` documents (384-d vectors
# whose first component is the document's number, and a field `n` equal to it), printing
# the number of acknowledged documents after each; then waits for stdin to close.
WRITER = r"""
import json, sys
import numpy as np
import vectorize_kit as vk
path, commands, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ws = vk.Workspace(path, read_only=False)
db = ws.create_database("db")
coll = db.create_collection("notes", dimension=384)
print("ready", flush=True)
rng = np.random.default_rng(0)
done = 0
for c in range(commands):
    vecs = rng.standard_normal((size, 384)).astype(np.float32)
    vecs[:, 0] = np.arange(done, done + size)
    coll.command({"insertMany": {"documents": [
        {"_id": done + i, "n": done + i, "$vector": vecs[i].tolist()} for i in range(size)]}})
    done += size
    print(done, flush=True)
sys.stdin.read()
"""


class Child:
    """A subprocess that answers one JSON line per request."""

    def __init__(self, code: str, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", code, *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)

    def line(self) -> str:
        line = self.proc.stdout.readline()
        assert line, self.proc.stderr.read()
        return line.strip()

    def __call__(self, expression: str):
        self.proc.stdin.write(json.dumps(expression) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.line())

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


@pytest.fixture
def reader_of(request):
    children = []

    def start(path: Path, read_only: bool | None = None) -> tuple[Child, dict]:
        child = Child(EVAL, str(path), json.dumps(read_only))
        children.append(child)
        return child, json.loads(child.line())

    yield start
    for child in children:
        child.close()


@pytest.fixture
def writer_process(request):
    children = []

    def start(path: Path, commands: int, size: int) -> Child:
        child = Child(WRITER, str(path), str(commands), str(size))
        children.append(child)
        assert child.line() == "ready"
        return child

    yield start
    for child in children:
        if child.proc.poll() is None:
            child.proc.kill()
        child.proc.wait()


def files_of(path: Path) -> dict[str, tuple[int, int]]:
    """Every file under the workspace, with its size and modification time."""
    return {str(p.relative_to(path)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(path.rglob("*")) if p.is_file() and p.name != ".lock"
            and not p.name.startswith("embedding-cache")}


def make_workspace(path: Path) -> tuple[vk.Workspace, vk.Collection]:
    ws = vk.Workspace(path)
    db = ws.create_database("db")
    coll = db.create_collection("notes", dimension=3)
    coll.insert_many([{"_id": i, "n": i, "$vector": [1.0, i, 0.5]} for i in range(10)])
    ws.integrations.add_credential("huggingface", "helpdesk-key", TOKEN, databases=["db"])
    return ws, coll


def test_a_second_process_opens_read_only_and_reads(tmp_path, reader_of):
    ws, coll = make_workspace(tmp_path / "ws")
    reader, hello = reader_of(tmp_path / "ws")
    assert hello["read_only"] is True
    assert "read-only" in hello["repr"] and str(os.getpid()) in hello["repr"]
    assert reader("coll().count_documents({}, upper_bound=100)") == {"ok": 10}
    query = {"$vector": [1.0, 4.2, 0.5]}
    here = coll.find({}, sort=query, limit=3, include_similarity=True).to_list()
    assert reader(f"coll().find({{}}, sort={query}, limit=3, include_similarity=True)"
                  ".to_list()") == {"ok": here}
    assert reader("[(c.name, c.databases) for c in ws.integrations.list_credentials()]") == {
        "ok": [["helpdesk-key", [ws.get_database("db").id]]]}


@pytest.mark.parametrize("write", [
    "coll().insert_one({'_id': 99})",
    "coll().command({'insertOne': {'document': {'_id': 99}}})['errors'][0]['errorCode']",
    "coll().delete_many({})",
    "coll().update_one({'_id': 1}, {'$set': {'n': -1}})",
    "db().create_collection('other')",
    "db().drop_collection('notes')",
    "db().create_table('t', definition={'columns': {'k': 'text'}, 'primaryKey': 'k'})",
    "db().create_keyspace('ks')",
    "ws.create_database('db2')",
    "ws.drop_database('db')",
    "ws.integrations.add_credential('huggingface', 'other', 'hf_x', databases=['db'])",
    "ws.integrations.remove_credential('huggingface', 'helpdesk-key')",
    "ws.integrations.add_scoped_databases('huggingface', 'helpdesk-key', ['db'])",
])
def test_every_write_through_a_reader_is_refused_and_changes_nothing(tmp_path, reader_of,
                                                                     write):
    ws, coll = make_workspace(tmp_path / "ws")
    before = files_of(tmp_path / "ws")
    reader, _ = reader_of(tmp_path / "ws")
    out = reader(write)
    if "ok" in out:  # the JSON entry answers with the envelope instead of raising
        assert out["ok"] == "WORKSPACE_READ_ONLY"
        out = reader("coll().command({'insertOne': {'document': {'_id': 99}}})['errors'][0]"
                     "['message']")
        message = out["ok"]
    else:
        assert out["error"] == "WORKSPACE_READ_ONLY", out
        message = out["message"]
    # it says which process holds the workspace, and how to write
    assert f"process {os.getpid()}" in message and "vk.serve" in message
    assert "vk.connect" in message and "close it there" in message
    assert TOKEN not in message
    reader.close()
    assert files_of(tmp_path / "ws") == before
    assert coll.count_documents({}, upper_bound=100) == 10
    assert [c.name for c in ws.integrations.list_credentials()] == ["helpdesk-key"]


def test_the_reader_sees_every_acknowledged_change_after_refresh(tmp_path, reader_of):
    ws, coll = make_workspace(tmp_path / "ws")
    db = ws.get_database("db")
    reader, _ = reader_of(tmp_path / "ws")
    assert reader("coll().count_documents({}, upper_bound=100)") == {"ok": 10}
    coll.insert_many([{"_id": i, "n": i, "$vector": [0.5, i, 1.0]} for i in range(10, 15)])
    coll.delete_one({"_id": 0})
    coll.update_one({"_id": 1}, {"$set": {"n": 100}})
    db.create_collection("second").insert_one({"_id": "x"})
    table = db.create_table("t", definition={"columns": {"k": "text", "v": "int"},
                                             "primaryKey": "k"})
    table.insert_one({"k": "a", "v": 1})
    table.alter({"add": {"columns": {"w": "text"}}})
    table.insert_one({"k": "b", "v": 2, "w": "new column"})
    db.create_keyspace("archive")
    ws.integrations.remove_scoped_databases("huggingface", "helpdesk-key", ["db"])
    assert reader("ws.refresh()") == {"ok": None}
    assert reader("sorted(d['_id'] for d in coll().find({}))") == {"ok": list(range(1, 15))}
    assert reader("coll().find_one({'_id': 1})['n']") == {"ok": 100}
    assert reader("db().list_collection_names()") == {"ok": ["notes", "second"]}
    assert reader("db().list_keyspaces()") == {"ok": ["archive", "default_keyspace"]}
    assert reader("sorted(db().get_table('t').definition()['columns'])") == {
        "ok": ["k", "v", "w"]}
    assert reader("db().get_table('t').find_one({'k': 'b'})['w']") == {"ok": "new column"}
    assert reader("[c.databases for c in ws.integrations.list_credentials()]") == {
        "ok": [[]]}
    # without refresh(): a command takes the changes in within a second on its own
    coll.insert_one({"_id": 50, "n": 50})
    time.sleep(1.1)
    assert reader("coll().count_documents({}, upper_bound=100)") == {"ok": 15}
    # a collection dropped and created again with the same name is the new one
    db.drop_collection("second")
    db.create_collection("second").insert_one({"_id": "y"})
    assert reader("ws.refresh() or [d['_id'] for d in coll('second').find({})]") == {
        "ok": ["y"]}
    db.drop_collection("second")
    assert reader("ws.refresh() or db().list_collection_names()") == {"ok": ["notes"]}


def test_a_reader_searches_while_a_writer_inserts(tmp_path, writer_process):
    """The writer inserts 140 commands of 50 documents with 384-d vectors (its log passes
    8 MiB and is compacted into a snapshot on the way); this process reads all along: it
    never sees part of a command or a document without its vector, and after each refresh()
    sees every document acknowledged before it."""
    writer = writer_process(tmp_path / "ws", 140, 50)
    reader = vk.Workspace(tmp_path / "ws")
    assert reader.read_only
    coll = reader.get_database("db").get_collection("notes")
    acked, seen, generations = 0, [], set()
    directory = next((tmp_path / "ws" / "databases").glob("*/default_keyspace/notes"))
    while acked < 140 * 50:
        acked = int(writer.line())
        reader.refresh()
        count = len(coll)
        assert count >= acked and count % 50 == 0, (count, acked)
        seen.append(count)
        generations.update(int(p.name[9:17]) for p in directory.glob("snapshot-*.parquet"))
        if len(seen) % 20 == 0:  # a search over what is there: vectors match their documents
            last = coll.find_one({"_id": count - 1}, projection={"$vector": 1})["$vector"]
            hits = coll.find({}, sort={"$vector": last}, limit=5, include_similarity=True,
                             projection={"n": 1, "$vector": 1}).to_list()
            assert hits[0]["n"] == count - 1 and hits[0]["$similarity"] > 0.9999
            assert all(h["$vector"][0] == h["n"] for h in hits)
    assert seen == sorted(seen) and seen[-1] == 7000
    assert max(generations) >= 1  # the writer compacted while the reader read
    docs = coll.find({}, projection={"n": 1}).to_list()
    assert sorted(d["n"] for d in docs) == list(range(7000))
    writer.close()
    reader.close()


def test_kill_9_of_the_writer_mid_load_with_a_reader_open(tmp_path, writer_process):
    writer = writer_process(tmp_path / "ws", 10_000, 20)
    reader = vk.Workspace(tmp_path / "ws")
    coll = reader.get_database("db").get_collection("notes")
    acked = 0
    while acked < 2000:
        acked = int(writer.line())
    writer.proc.send_signal(signal.SIGKILL)
    writer.proc.wait()
    reader.refresh()
    count = len(coll)
    assert count >= acked and count % 20 == 0
    # the next process may write, and nothing acknowledged was lost
    again = vk.Workspace(tmp_path / "ws", read_only=False)
    assert not again.read_only
    mine = again.get_database("db").get_collection("notes")
    assert len(mine) == count
    assert sorted(d["n"] for d in mine.find({}, projection={"n": 1})) == list(range(count))
    mine.insert_one({"_id": "after", "n": -1})
    reader.refresh()
    assert coll.find_one({"_id": "after"})["n"] == -1
    again.close()
    reader.close()


def test_read_only_asked_for(tmp_path):
    with pytest.raises(vk.DataAPIError) as info:
        vk.Workspace(tmp_path / "nothing", read_only=True)
    assert info.value.error_code == "WORKSPACE_READ_ONLY"
    assert not (tmp_path / "nothing").exists()
    ws, coll = make_workspace(tmp_path / "ws")
    ws.close()
    reader = vk.Workspace(tmp_path / "ws", read_only=True)
    assert reader.read_only and "read-only" in repr(reader)
    assert reader.get_database("db").get_collection("notes").count_documents(
        {}, upper_bound=100) == 10
    with pytest.raises(vk.DataAPIError) as info:
        reader.get_database("db").get_collection("notes").insert_one({"_id": 99})
    assert "read_only=True" in info.value.message
    # a writer may open it meanwhile (a reader holds no lock), and the reader follows it
    writer = vk.Workspace(tmp_path / "ws", read_only=False)
    writer.get_database("db").get_collection("notes").insert_one({"_id": 99})
    reader.refresh()
    assert reader.get_database("db").get_collection("notes").count_documents(
        {}, upper_bound=100) == 11
    writer.close()
    reader.close()
    with pytest.raises(ValueError, match="in-memory"):
        vk.Workspace(read_only=True)


@pytest.fixture
def held(tmp_path, reader_of):
    """A workspace another process holds for writing (a child that wrote it, then waits),
    opened here read-only."""
    ws, _ = make_workspace(tmp_path / "ws")
    ws.close()
    holder, hello = reader_of(tmp_path / "ws", False)
    assert hello["read_only"] is False
    reader = vk.Workspace(tmp_path / "ws")
    assert reader.read_only
    yield reader, hello["pid"]
    reader.close()


def test_forms_on_a_read_only_workspace_say_why_their_buttons_are_off(held):
    reader, pid = held
    form = CreateCollectionForm(reader, database="db")
    form.name.value = "fresh"
    assert form.create_button.disabled
    assert "read-only" in form.rules.value and f"process {pid}" in form.rules.value
    manager = CredentialsManager(reader)
    assert f"process {pid}" in manager.read_only_note.value
    assert "helpdesk-key" in manager.listing.value  # names and scopes still show
    assert all(b.disabled for b in (manager.add_button, manager.rotate_button,
                                    manager.scope_add_button, manager.remove_button))
    explorer = Explorer(reader, database="db")
    explorer.target.value = ("collection", "notes")
    assert explorer.insert_button.disabled and f"process {pid}" in explorer.insert_note.value
    assert "10" in explorer.summary.value  # browsing works


def test_plots_work_on_a_read_only_workspace(held):
    reader, _ = held
    fig = embedding_map(reader.get_database("db").get_collection("notes"), method="pca")
    assert fig.layout.meta["points"] == 10


# -- the writer changing things while the reader reads ----------------------------------------

COMPACTING_WRITER = r"""
import os, sys
import vectorize_kit as vk
path, ack, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
ws = vk.Workspace(path, read_only=False)
coll = ws.create_database("db").create_collection("notes", dimension=3)
coll.insert_many([{"_id": -i - 1, "$vector": [1.0, 0.0, 0.0], "pad": "x" * 200}
                  for i in range(2000)], progress=False)
print("ready", flush=True)
for n in range(1, count + 1):
    coll.insert_one({"_id": n, "$vector": [1.0, float(n), 0.5]})
    with open(ack + ".tmp", "w") as f:
        f.write(str(n))
    os.replace(ack + ".tmp", ack)  # n documents acknowledged
    db = ws.get_database("db")
    db.command({"findCollections": {}})
    coll._state.store.checkpoint()  # compact after every write: a new snapshot generation
sys.stdin.read()
"""


def test_refresh_during_compactions_never_misses_an_acknowledged_write(tmp_path):
    """The writer compacts its log after every insert; each refresh() sees at least every
    document acknowledged before it started, and never fails."""
    ack = tmp_path / "acked"
    writer = Child(COMPACTING_WRITER, str(tmp_path / "ws"), str(ack), "400")
    try:
        assert writer.line() == "ready"
        reader = vk.Workspace(tmp_path / "ws", read_only=True)
        coll = reader.get_database("db").get_collection("notes")
        acked = checks = 0
        while acked < 400:
            acked = int(ack.read_text()) if ack.exists() else 0
            reader.refresh()
            assert len(coll) - 2000 >= acked
            checks += 1
        assert checks > 20
        reader.close()
    finally:
        writer.proc.kill()
        writer.proc.wait()


DROPPING_WRITER = r"""
import sys
import vectorize_kit as vk
ws = vk.Workspace(sys.argv[1], read_only=False)
db = ws.create_database("db")
db.create_collection("notes", dimension=3)
print("ready", flush=True)
for i in range(int(sys.argv[2])):
    dim = 3 if i % 2 else 5
    db.drop_collection("notes")
    db.create_collection("notes", dimension=dim).insert_many(
        [{"_id": j, "$vector": [1.0] * dim} for j in range(3)], progress=False)
    db.create_keyspace("ks")
    db.create_collection("k", dimension=2, keyspace="ks")
    db.drop_keyspace("ks")
print("done", flush=True)
sys.stdin.read()
"""


def test_drops_and_new_objects_never_fail_a_read(tmp_path, monkeypatch):
    """The writer drops and creates collections (of other dimensions) and keyspaces in a
    loop; for 6 s the reader's commands, each refreshing first, only ever answer data or
    the Data API's error for what is not there (never a server error)."""
    from vectorize_kit.commands import state

    monkeypatch.setattr(state, "REFRESH_INTERVAL", 0.0)  # every command refreshes
    writer = Child(DROPPING_WRITER, str(tmp_path / "ws"), "100000")
    try:
        assert writer.line() == "ready"
        reader = vk.Workspace(tmp_path / "ws", read_only=True)
        db = reader.get_database("db")
        codes, reads, dims = set(), 0, set()
        stop = time.monotonic() + 6
        while time.monotonic() < stop:
            env = db.command({"findCollections": {}})
            codes.update(e["errorCode"] for e in env.get("errors", []))
            try:
                found = db.get_collection("notes").find_one({}, projection={"$vector": 1})
                if found is not None:
                    dims.add(len(found["$vector"]))
                reads += 1
            except vk.DataAPIError as exc:
                codes.add(exc.error_code)
        assert codes <= {"UNKNOWN_COLLECTION_OR_TABLE"}, codes
        assert reads > 50 and dims == {3, 5}  # it followed the collections as they came
        reader.close()
    finally:
        writer.proc.kill()
        writer.proc.wait()


def test_a_handle_follows_its_collection_dropped_and_created_again(tmp_path, reader_of):
    ws, coll = make_workspace(tmp_path / "ws")
    db = ws.get_database("db")
    reader, _ = reader_of(tmp_path / "ws")
    assert reader("[h := coll(), h.find_one({'_id': 3})['n']][1]") == {"ok": 3}
    db.drop_collection("notes")
    assert reader("ws.refresh() or h.find_one({})")["error"] == "UNKNOWN_COLLECTION_OR_TABLE"
    db.create_collection("notes").insert_one({"_id": "new"})
    time.sleep(1.1)  # no refresh(): the handle's next call finds the new collection
    assert reader("h.find_one({})") == {"ok": {"_id": "new"}}
    db.create_collection("fresh")
    time.sleep(1.1)
    assert reader("db().get_collection('fresh').find_one({})") == {"ok": None}


def test_a_reader_leaves_the_embedding_cache_alone(tmp_path, reader_of):
    ws = vk.Workspace(tmp_path / "ws")
    coll = ws.create_database("db").create_collection("v", service={
        "provider": "local", "modelName": "sentence-transformers/all-MiniLM-L6-v2"})
    coll.insert_one({"_id": 1, "$vectorize": "a cat on a mat"})
    cache = {p.name: p.stat().st_size for p in (tmp_path / "ws").glob("embedding-cache*")}
    rows = len(ws._state.embedding_cache)
    reader, _ = reader_of(tmp_path / "ws")
    assert reader("coll('v').find_one({}, sort={'$vectorize': 'a new query text'})['_id']") \
        == {"ok": 1}
    assert reader("coll('v').find_one({}, sort={'$vectorize': 'a new query text'})['_id']") \
        == {"ok": 1}  # (the second from the reader's own memory)
    assert len(ws._state.embedding_cache) == rows
    assert {p.name: p.stat().st_size
            for p in (tmp_path / "ws").glob("embedding-cache*")} == cache


def test_after_the_writer_closes_the_next_open_here_writes(tmp_path, reader_of):
    ws, _ = make_workspace(tmp_path / "ws")
    ws.close()
    holder, _ = reader_of(tmp_path / "ws", False)
    reader = vk.Workspace(tmp_path / "ws")
    assert reader.read_only
    assert reader.get_database("db").command({"noSuchCommand": {}})["errors"][0][
        "errorCode"] == "COMMAND_UNKNOWN"  # an unknown command is still that
    assert holder("ws.close()") == {"ok": None}
    again = vk.Workspace(tmp_path / "ws")  # what the error message says to do
    assert not again.read_only
    again.get_database("db").get_collection("notes").insert_one({"_id": "mine"})
    again.close()
    reader.close()


def test_opening_read_only_says_so_in_one_log_line(tmp_path, reader_of, caplog):
    ws, _ = make_workspace(tmp_path / "ws")
    ws.close()
    _, hello = reader_of(tmp_path / "ws", False)  # another process holds it
    with caplog.at_level("WARNING", logger="vectorize_kit"):
        reader = vk.Workspace(tmp_path / "ws")
    lines = [r.getMessage() for r in caplog.records if r.name == "vectorize_kit"]
    assert len(lines) == 1 and "opened read-only here" in lines[0]
    assert f"process {hello['pid']}" in lines[0]
    reader.close()
