"""Load and faults on the Data API server: several concurrent clients inserting and searching
lose and duplicate nothing; a server killed (SIGKILL) mid-load and restarted on the same
workspace has every write it acknowledged."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import httpx
import numpy as np
import pytest

import vectorize_kit as vk
from vectorize_kit.server import DataAPIServer, connect

TOKEN = "AstraCS:load-test-token"
DIM = 8


def unit_vector(seed: int) -> list[float]:
    v = np.random.default_rng(seed).standard_normal(DIM)
    return (v / np.linalg.norm(v)).round(6).tolist()


def test_concurrent_clients_lose_and_duplicate_nothing(tmp_path):
    """Six writers (insert_many in chunks, through connect()), two searchers and two racers
    inserting the same ids at once, against one server on a durable workspace."""
    ws = vk.Workspace(tmp_path / "ws")
    db = ws.create_database("load")
    db.create_collection("docs", dimension=DIM, metric="cosine")
    writers, per_writer, racers = 6, 150, 2
    errors: list[BaseException] = []
    race_wins: Counter = Counter()
    searches = Counter()
    stop = threading.Event()
    with DataAPIServer(db, tokens=[TOKEN]) as server:
        def write(w: int) -> None:
            try:
                remote = connect(server.url, token=TOKEN)
                coll = remote.get_collection("docs")
                docs = [{"_id": f"w{w}-{i}", "w": w, "$vector": unit_vector(w * 1000 + i)}
                        for i in range(per_writer)]
                for start in range(0, per_writer, 25):
                    coll.insert_many(docs[start:start + 25], chunk_size=25)
                remote.close()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        def search(s: int) -> None:
            try:
                remote = connect(server.url, token=TOKEN)
                coll = remote.get_collection("docs")
                while not stop.is_set():
                    hits = coll.find({}, sort={"$vector": unit_vector(s)}, limit=10,
                                     include_similarity=True).to_list()
                    sims = [h["$similarity"] for h in hits]
                    assert sims == sorted(sims, reverse=True)
                    assert len({h["_id"] for h in hits}) == len(hits)
                    coll.count_documents({"w": s % writers}, upper_bound=1000)
                    searches[s] += 1
                remote.close()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        def race(r: int) -> None:
            try:
                remote = connect(server.url, token=TOKEN)
                coll = remote.get_collection("docs")
                for i in range(40):
                    try:
                        coll.insert_one({"_id": f"race-{i}", "by": r})
                        race_wins[i] += 1
                    except vk.DataAPIError as exc:
                        assert exc.error_code == "DOCUMENT_ALREADY_EXISTS"
                remote.close()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = ([threading.Thread(target=write, args=(w,)) for w in range(writers)]
                   + [threading.Thread(target=race, args=(r,)) for r in range(racers)])
        seekers = [threading.Thread(target=search, args=(s,)) for s in range(2)]
        for t in threads + seekers:
            t.start()
        for t in threads:
            t.join(timeout=300)
        stop.set()
        for t in seekers:
            t.join(timeout=60)

    assert errors == []
    assert all(searches[s] > 0 for s in range(2))
    assert race_wins == Counter({i: 1 for i in range(40)})  # each id inserted exactly once
    coll = db.get_collection("docs")
    ids = [d["_id"] for d in coll.find({}, projection={"_id": 1})]
    expected = {f"w{w}-{i}" for w in range(writers) for i in range(per_writer)}
    assert len(ids) == len(set(ids)) == writers * per_writer + 40
    assert expected <= set(ids)
    # every vector is the one sent
    doc = coll.find_one({"_id": "w3-77"}, projection={"$vector": 1})
    assert np.allclose(doc["$vector"], unit_vector(3077), atol=1e-6)
    ws.close()
    with vk.Workspace(tmp_path / "ws") as again:  # and all of it is on disk
        assert len(again.get_database("load").get_collection("docs")) == len(ids)


def _start_server(path, env) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "vectorize_kit.cli", "serve", "--workspace", str(path),
         "--database", "load", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline()
    found = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
    assert found, line + proc.stderr.read()
    return proc, found[1]


def _load(url: str, tag: str, acked: list[str], problems: list, stop: threading.Event,
          lock: threading.Lock) -> None:
    """Insert until the server goes away: insertMany of 5 (unordered) and insertOne, with a
    vector search in between; an id is acknowledged when its answer says it was inserted.
    A connection that breaks is the kill; any other failure is a problem."""
    with httpx.Client(base_url=url, headers={"Token": TOKEN}, timeout=10) as client:
        n = 0
        while not stop.is_set():
            docs = [{"_id": f"{tag}-{n + k}", "n": n + k, "$vector": unit_vector(n + k)}
                    for k in range(5)]
            many = {"insertMany": {"documents": docs,
                                   "options": {"returnDocumentResponses": True}}}
            one = {"insertOne": {"document": docs[0]}}
            try:
                answer = client.post("/v1/default_keyspace/docs", json=one if n % 2 else many)
                found = client.post("/v1/default_keyspace/docs", json={"find": {
                    "sort": {"$vector": unit_vector(n)}, "options": {"limit": 3}}})
            except httpx.TransportError:
                return  # the server is gone: what was not answered was not acknowledged
            body = answer.json()
            if answer.status_code != 200 or "errors" in body or found.status_code != 200 \
                    or len(found.json()["data"]["documents"]) != 3:
                problems.append((answer.status_code, body))
                return
            ok = (body["status"]["insertedIds"] if n % 2 else
                  [d["_id"] for d in body["status"]["documentResponses"] if d["status"] == "OK"])
            with lock:
                acked.extend(ok)
            n += 5


def test_server_killed_mid_load_loses_no_acknowledged_write(tmp_path):
    path = tmp_path / "ws"
    with vk.Workspace(path) as ws:
        ws.create_database("load").create_collection("docs", dimension=DIM)
    env = {**os.environ, "VECTORIZE_KIT_TOKEN": TOKEN}
    acked: list[str] = []
    problems: list = []
    lock = threading.Lock()
    for round_ in range(2):
        proc, url = _start_server(path, env)
        stop = threading.Event()
        clients = [threading.Thread(target=_load, args=(url, f"r{round_}c{c}", acked, problems,
                                                        stop, lock)) for c in range(4)]
        for t in clients:
            t.start()
        deadline = time.monotonic() + 60
        while len(acked) < 200 * (round_ + 1) and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # mid-load: requests are in flight
        proc.wait(timeout=30)
        stop.set()
        for t in clients:
            t.join(timeout=30)
        assert problems == []
        assert len(acked) >= 200 * (round_ + 1), "the load did not get going"
        proc.stdout.close()
        proc.stderr.close()

    # restarted on the same workspace: every acknowledged id is there, once
    proc, url = _start_server(path, env)
    try:
        remote = connect(url, token=TOKEN)
        coll = remote.get_collection("docs")
        ids = [d["_id"] for d in coll.find({}, projection={"_id": 1})]
        assert len(ids) == len(set(ids))
        missing = set(acked) - set(ids)
        assert missing == set(), sorted(missing)[:10]
        assert len(set(acked)) == len(acked)
        # the documents are whole: their vectors and fields are the ones sent
        for doc_id in sorted(acked)[:: max(1, len(acked) // 25)]:
            doc = coll.find_one({"_id": doc_id}, projection={"*": 1})
            assert np.allclose(doc["$vector"], unit_vector(doc["n"]), atol=1e-6)
        # and the restarted server takes writes again
        coll.insert_one({"_id": "after-restart"})
        assert coll.find_one({"_id": "after-restart"}) == {"_id": "after-restart"}
        remote.close()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == 0


@pytest.mark.parametrize("kind", ["collection", "table"])
def test_a_failed_command_under_load_changes_nothing(db, kind):
    """Bad commands mixed into concurrent good ones: each bad one fails whole, the good ones
    all land."""
    if kind == "collection":
        db.create_collection("t", dimension=2)
        good = [{"insertOne": {"document": {"_id": i, "$vector": [1, i]}}} for i in range(60)]
        bad = {"insertMany": {"documents": [{"_id": "x", "$vector": [1, 1]},
                                            {"_id": "y", "$vector": [1]}]}}
    else:
        db.create_table("t", columns={"k": "int", "v": {"type": "vector", "dimension": 2}},
                        primary_key="k")
        good = [{"insertOne": {"document": {"k": i, "v": [1, i]}}} for i in range(60)]
        bad = {"insertOne": {"document": {"k": 999, "v": [1]}}}
    with DataAPIServer(db, tokens=[TOKEN]) as server:
        def send(commands):
            with httpx.Client(base_url=server.url, headers={"Token": TOKEN}) as client:
                return [client.post("/v1/default_keyspace/t", json=c).json() for c in commands]

        results: list = [None] * 4
        threads = [threading.Thread(target=lambda j=j: results.__setitem__(
            j, send(good[j::3] if j < 3 else [bad] * 10))) for j in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert all("errors" not in r for batch in results[:3] for r in batch)
    assert all("errors" in r for r in results[3])
    handle = db.get_collection("t") if kind == "collection" else db.get_table("t")
    assert handle.count_documents({}, upper_bound=1000) == 60
