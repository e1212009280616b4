"""Workspace lifecycle on disk: lock, close, reopen; progress bars; logging."""

from __future__ import annotations

import gc
import logging
import subprocess
import sys

import pytest

import vectorize_kit as vk
from conftest import code

OPEN_IN_CHILD = (
    "import sys, vectorize_kit as vk\n"
    "try:\n"
    "    ws = vk.Workspace(sys.argv[1], read_only=eval(sys.argv[2]))\n"
    "    print('read-only' if ws.read_only else 'opened')\n"
    "    ws.close()\n"
    "except vk.DataAPIError as exc:\n"
    "    print(exc.error_code)\n"
)


def open_elsewhere(path, read_only: bool | None = None) -> str:
    out = subprocess.run([sys.executable, "-c", OPEN_IN_CHILD, str(path), repr(read_only)],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def test_one_writer_at_a_time_and_shared_within_one(tmp_path):
    ws = vk.Workspace(tmp_path / "ws")
    db = ws.create_database("d")
    again = vk.Workspace(tmp_path / "ws")  # a notebook cell run twice: the same workspace
    assert again.get_database("d").id == db.id
    assert open_elsewhere(tmp_path / "ws") == "read-only"  # another process may read
    assert open_elsewhere(tmp_path / "ws", read_only=False) == "WORKSPACE_LOCKED"
    ws.close()
    assert open_elsewhere(tmp_path / "ws") == "opened"


def test_a_forgotten_workspace_releases_its_directory(tmp_path):
    db = vk.Workspace(tmp_path / "ws").create_database("d")
    assert open_elsewhere(tmp_path / "ws", read_only=False) == "WORKSPACE_LOCKED"  # db keeps it
    del db
    gc.collect()
    assert open_elsewhere(tmp_path / "ws", read_only=False) == "opened"


def test_closed_workspace_objects_refuse_to_work(tmp_path):
    ws = vk.Workspace(tmp_path / "ws")
    db = ws.create_database("d")
    coll = db.create_collection("c")
    coll.insert_one({"_id": 1})
    ws.close()
    ws.close()  # twice is fine
    assert code(coll.command({"insertOne": {"document": {"_id": 2}}})) == "WORKSPACE_CLOSED"
    assert code(db.command({"findCollections": {}})) == "WORKSPACE_CLOSED"
    for action in (lambda: coll.find_one({}), lambda: coll.to_pandas(),
                   lambda: db.get_collection("c"), lambda: ws.get_database("d"),
                   lambda: ws.create_database("e")):
        with pytest.raises(vk.DataAPIError) as info:
            action()
        assert info.value.error_code == "WORKSPACE_CLOSED"
        assert str(tmp_path / "ws") in info.value.message
    with vk.Workspace(tmp_path / "ws") as again:
        assert again.get_database("d").get_collection("c").find({}).to_list() == [{"_id": 1}]


def test_everything_survives_reopen(tmp_path):
    with vk.Workspace(tmp_path / "ws") as ws:
        db = ws.create_database("d")
        db.create_keyspace("ks")
        c = db.create_collection("c", keyspace="ks", dimension=2, metric="dot_product",
                                 indexing={"deny": ["blob"]})
        c.insert_many([{"_id": i, "blob": "x" * 9000, "$vector": [i, 1]} for i in range(5)])
        c.delete_one({"_id": 0})
        c.update_one({"_id": 1}, {"$set": {"k": True}})
        db_id, created = db.id, db.created_at
    with vk.Workspace(tmp_path / "ws") as ws:
        db = ws.get_database("d")
        assert (db.id, db.created_at) == (db_id, created)
        assert db.list_keyspaces() == ["default_keyspace", "ks"]
        c = db.get_collection("c", keyspace="ks")
        assert c.options()["vector"] == {"dimension": 2, "metric": "dot_product",
                                         "sourceModel": "other"}
        assert [d["_id"] for d in c.find({}, sort={"$vector": [1, 0]})] == [4, 3, 2, 1]
        assert c.find_one({"k": True}, projection={"blob": 0, "$vector": 1}) == {
            "_id": 1, "k": True, "$vector": [1.0, 1.0]}
        assert code(c.command({"find": {"filter": {"blob": "x"}}})) == "UNINDEXED_FILTER_PATH"


def test_progress_bar(coll, capsys):
    coll.insert_many([{"_id": i} for i in range(250)], progress=True)
    err = capsys.readouterr().err
    assert "insert_many into docs" in err and "250/250" in err
    coll.insert_many([{"_id": i} for i in range(250, 300)])  # small: no bar by default
    assert capsys.readouterr().err == ""


def test_a_torn_log_record_is_logged(tmp_path, caplog):
    # a writer that dies without closing (os._exit: no clean-up at all), as in a crash
    script = (
        "import os, sys, vectorize_kit as vk\n"
        "ws = vk.Workspace(sys.argv[1])\n"
        "ws.create_database('d').create_collection('c').insert_one({'_id': 1})\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "ws")], check=True)
    (wal,) = (tmp_path / "ws").rglob("wal-*.log")
    with open(wal, "ab") as fh:  # and a record it was writing when it died
        fh.write(b"VK\x10\x00\x00\x00garbage")
    with caplog.at_level(logging.WARNING, logger="vectorize_kit"):
        with vk.Workspace(tmp_path / "ws") as ws:
            assert ws.get_database("d").get_collection("c").find({}).to_list() == [{"_id": 1}]
    assert "cut off 13 bytes of a log record torn by a crash" in caplog.text
