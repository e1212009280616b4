"""Durability: acknowledged writes survive ``kill -9``, commands are atomic on disk, and a
torn record at the end of the write-ahead log is cut off on reopen.

The crash test runs a writer subprocess over a long seeded sequence of write commands and
SIGKILLs it at seeded random points (some during a compaction of the log), many times over
the same directory.  After each kill the parent opens a copy of the files the kill left (closing
a workspace compacts its log, which would keep the log too short to compact on its own) and
checks that the store holds exactly the state after every acknowledged command, plus possibly
the one command that was in flight (all of it or none); the next writer then recovers the
original directory and goes on from there.

A copy of the files taken while a workspace is open (``crash_image``) stands for a crash at
that point in the deterministic tests: every acknowledged write is on disk already.
"""

from __future__ import annotations

import copy
import inspect
import itertools
import json
import random
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import crash
import pytest
from crash import crash_image

from vectorize_kit import Workspace

DIM = 8
DB_NAME = "crash"
COLL_NAME = "docs"


# -- the seeded command sequence (shared, as source, with the writer subprocess) -------------

def make_commands(seed: int, dim: int) -> Iterator[dict]:
    """An endless, deterministic sequence of write commands (and ``{"checkpoint": {}}``).

    Every document has an explicit ``_id``; updates and deletes name their targets by
    ``_id`` (at most 20, one page), so a command's effect depends only on the state it runs
    on, and the generator knows which ids are live.  Vector components are multiples of
    1/16, exact in float32.  Many documents carry a long ``pad`` string, so that the log grows
    past 8 MiB and compacts on its own; explicit checkpoints come only in the first 150 of
    every 500 commands, so that the log can grow that large in between.
    """
    rng = random.Random(seed)
    live: dict = {}  # json key -> _id, in insertion order
    counter = [0]

    def new_id():
        k = counter[0]
        counter[0] += 1
        return k if k % 3 else f"k{k}"

    def vector():
        return [rng.randrange(-512, 512) / 16 for _ in range(dim)]

    def body(padded: bool) -> dict:
        d: dict = {"n": rng.randrange(1000),
                   "s": "".join(rng.choice("abcxyz") for _ in range(rng.randrange(1, 9)))}
        if rng.random() < 0.4:
            d["tags"] = [rng.choice(["red", "green", "blue", 7, None, True])
                         for _ in range(rng.randrange(4))]
        if rng.random() < 0.3:
            d["nested"] = {"a": {"b": rng.random(), "c": [rng.randrange(9), "é✓"]}}
        if padded:
            d["pad"] = chr(97 + rng.randrange(26)) * rng.randrange(3000, 7900)
        if rng.random() < 0.8:
            d["$vector"] = vector()
        return d

    def pick():
        if not live or rng.random() < 0.05:
            return new_id()  # nobody has it: the command changes nothing
        return live[rng.choice(list(live))]

    def picks(k: int) -> list:
        return list({json.dumps(i): i for i in (pick() for _ in range(k))}.values())

    def update() -> dict:
        upd: dict = {}
        if rng.random() < 0.7:
            upd["$inc"] = {"n": rng.randrange(-5, 6) or 1}
        fields: dict = {}
        if rng.random() < 0.5:
            fields["s"] = f"upd{rng.randrange(10**6)}"
        if rng.random() < 0.2:
            fields["pad"] = chr(97 + rng.randrange(26)) * rng.randrange(3000, 7900)
        if rng.random() < 0.3:
            fields["$vector"] = vector()
        if fields or not upd:
            upd["$set"] = fields or {"touched": True}
        if rng.random() < 0.15:
            field = rng.choice(["$vector", "tags", "nested"])
            if field not in fields:
                upd["$unset"] = {field: ""}
        return upd

    for i in itertools.count():
        r = rng.random()
        if len(live) > 500 and rng.random() < 0.5:
            r = 0.75  # a deleteMany keeps the collection small
        if r < 0.25:
            size = rng.choice([1, 2, 5, 10, 20, 50, 100])
            padded = rng.random() < 0.9
            docs = [{"_id": new_id(), **body(padded)} for _ in range(size)]
            if rng.random() < 0.1 and live:  # one duplicate _id: the others are inserted
                docs[rng.randrange(size)]["_id"] = pick()
            for d in docs:
                live.setdefault(json.dumps(d["_id"]), d["_id"])
            yield {"insertMany": {"documents": docs, "options": {"ordered": False}}}
        elif r < 0.33:
            doc_id = new_id() if rng.random() < 0.9 else pick()
            live.setdefault(json.dumps(doc_id), doc_id)
            yield {"insertOne": {"document": {"_id": doc_id, **body(rng.random() < 0.3)}}}
        elif r < 0.48:
            yield {"updateOne": {"filter": {"_id": pick()}, "update": update()}}
        elif r < 0.58:
            ids = picks(rng.randrange(1, 21))
            yield {"updateMany": {"filter": {"_id": {"$in": ids}}, "update": update()}}
        elif r < 0.68:
            doc_id = pick()
            live.pop(json.dumps(doc_id), None)
            yield {"deleteOne": {"filter": {"_id": doc_id}}}
        elif r < 0.78:
            ids = picks(rng.randrange(1, 21))
            for doc_id in ids:
                live.pop(json.dumps(doc_id), None)
            yield {"deleteMany": {"filter": {"_id": {"$in": ids}}}}
        elif r < 0.96 or i % 500 >= 150:
            yield {"findOneAndReplace": {"filter": {"_id": pick()},
                                         "replacement": body(rng.random() < 0.3)}}
        else:
            yield {"checkpoint": {}}


# -- the model: what a command does to {_id key: document with $vector} ----------------------

def _key(doc_id: Any) -> str:
    return json.dumps(doc_id)


def _updated(doc: dict, update: dict) -> dict:
    out = copy.deepcopy(doc)
    for field, value in update.get("$set", {}).items():
        out[field] = copy.deepcopy(value)
    for field, value in update.get("$inc", {}).items():
        out[field] = out.get(field, 0) + value
    for field in update.get("$unset", {}):
        out.pop(field, None)
    return out


def apply_model(model: dict, cmd: dict) -> dict:
    """The state after ``cmd`` (a new dict; ``model`` is left as it is)."""
    ((name, body),) = cmd.items()
    out = dict(model)
    if name in ("insertMany", "insertOne"):
        docs = body["documents"] if name == "insertMany" else [body["document"]]
        for doc in docs:
            out.setdefault(_key(doc["_id"]), copy.deepcopy(doc))
    elif name in ("updateOne", "updateMany"):
        target = body["filter"]["_id"]
        for doc_id in target["$in"] if isinstance(target, dict) else [target]:
            if _key(doc_id) in out:
                out[_key(doc_id)] = _updated(out[_key(doc_id)], body["update"])
    elif name in ("deleteOne", "deleteMany"):
        target = body["filter"]["_id"]
        for doc_id in target["$in"] if isinstance(target, dict) else [target]:
            out.pop(_key(doc_id), None)
    elif name == "findOneAndReplace":
        doc_id = body["filter"]["_id"]
        if _key(doc_id) in out:
            out[_key(doc_id)] = {"_id": doc_id, **copy.deepcopy(body["replacement"])}
    else:
        assert name == "checkpoint"
    return out


def _read(ws: Workspace) -> dict:
    coll = ws.get_database(DB_NAME).get_collection(COLL_NAME)
    docs = coll.find({}, projection={"*": 1}).to_list()
    state = {_key(d["_id"]): d for d in docs}
    assert len(state) == len(docs) == coll.estimated_document_count()
    # every document is reachable by its _id, too
    for d in docs[:: max(1, len(docs) // 10)]:
        assert coll.find_one({"_id": d["_id"]}, projection={"*": 1}) == d
    return state


def read_state(path: Path) -> dict:
    """Open the workspace, read every document with its vector, close it (closing compacts
    the log into a snapshot, so the state is also read back from that snapshot)."""
    ws = Workspace(path)
    try:
        state = _read(ws)
    finally:
        ws.close()
    assert_swept(path)
    again = Workspace(path)
    try:
        assert _read(again) == state
    finally:
        again.close()
    return state


def make_collection(path: Path) -> None:
    with Workspace(path) as ws:
        ws.create_database(DB_NAME).create_collection(COLL_NAME, dimension=DIM,
                                                      metric="euclidean")


def collection_dir(path: Path) -> Path:
    (found,) = path.glob(f"databases/*/default_keyspace/{COLL_NAME}")
    return found


def generation(path: Path) -> int:
    return crash.generation(collection_dir(path))


def _names(path: Path) -> set[str]:
    return crash.file_names(collection_dir(path))


def _clean_names(gen: int) -> set[str]:
    """The files of a collection at generation ``gen`` (its log may not exist)."""
    names = {"collection.json", f"wal-{gen:08d}.log"}
    if gen:
        names |= {f"snapshot-{gen:08d}.parquet", f"vectors-{gen:08d}-0.f32"}
    return names


def assert_swept(path: Path) -> None:
    """Only the files of the current generation are left: no temporary file, nothing of an
    older or of an unfinished newer generation."""
    gen = generation(path)
    assert _clean_names(gen) - {f"wal-{gen:08d}.log"} <= _names(path) <= _clean_names(gen)


# -- the writer subprocess -------------------------------------------------------------------

WRITER_MAIN = textwrap.dedent('''
    import itertools, json, random, sys
    from vectorize_kit import Workspace

    def main():
        path, seed, start, stop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        ws = Workspace(path)
        coll = ws.get_database(DB_NAME).get_collection(COLL_NAME)
        commands = itertools.islice(make_commands(seed, DIM), start, stop)
        for i, cmd in enumerate(commands, start):
            if "checkpoint" in cmd:
                coll._state.store.checkpoint()
                codes = []
            else:
                answer = coll.command(cmd)
                codes = [e["errorCode"] for e in answer.get("errors", [])]
            gen = coll._state.store._log.generation  # to count compactions
            sys.stdout.write(json.dumps({"i": i, "errors": codes, "gen": gen}) + "\\n")
            sys.stdout.flush()
        ws.close()

    main()
''')


def write_writer(tmp_path: Path) -> Path:
    script = tmp_path / "writer.py"
    script.write_text(
        "from __future__ import annotations\n"
        f"DIM = {DIM}\nDB_NAME = {DB_NAME!r}\nCOLL_NAME = {COLL_NAME!r}\n"
        "import itertools, json, random\n\n" + inspect.getsource(make_commands) + WRITER_MAIN,
        encoding="utf-8",
    )
    return script


def test_kill_9_at_random_points_loses_no_acknowledged_write(tmp_path: Path) -> None:
    """The state after a kill is that of the acknowledged commands, plus all or nothing of
    the one in flight; each writer then recovers the same directory and goes on."""
    seed = 20240611
    cycles = 32
    rng = random.Random(seed)
    path = tmp_path / "ws"
    make_collection(path)
    script = write_writer(tmp_path)
    commands = make_commands(seed, DIM)
    cache: list[dict] = []  # the commands generated so far

    def command(i: int) -> dict:
        while len(cache) <= i:
            cache.append(next(commands))
        return cache[i]

    model: dict = {}
    start = 0
    applied_inflight = 0
    natural = 0  # compactions the log did on its own, after a write
    mid_compaction = 0  # kills that left files of an unfinished compaction behind
    stderr_path = tmp_path / "writer.err"
    for cycle in range(cycles + 1):
        final = cycle == cycles
        # kill after `wait_acks` acknowledgements and a random delay (0 acks: maybe while
        # the writer opens the workspace); the last cycle runs to its end and exits cleanly
        wait_acks = rng.choice([0, 2, 5, 10, 20, 40, 60, 80, 120])
        delay = rng.random() * 0.02
        stop = start + (60 if final else wait_acks + 400)
        gen = generation(path)
        lines, _ = crash.run_writer(
            [str(script), str(path), str(seed), str(start), str(stop)], stderr_path,
            wait_acks=wait_acks, delay=delay, final=final)
        last, compacted, gen = crash.parse_acks(
            lines, start, gen, allowed_errors=frozenset({"DOCUMENT_ALREADY_EXISTS"}))
        if not final and generation(path) != gen:  # compacted by the command in flight
            assert generation(path) == gen + 1
            compacted.append(last + 1)
        natural += sum("checkpoint" not in command(i) for i in compacted)
        mid_compaction += not _names(path) <= _clean_names(generation(path))
        for i in range(start, last + 1):
            model = apply_model(model, command(i))

        if final:
            state = read_state(path)
        else:
            # read a copy: closing the workspace compacts its log, and the log should grow
            # across cycles (to compact on its own); the next writer opens the original
            state = read_state(crash_image(path, tmp_path / "image"))
        if final:
            assert last == stop - 1
            assert state == model
            break
        inflight = command(last + 1)
        after = apply_model(model, inflight)
        if state == model:
            start = last + 1  # the command in flight left no trace: run it again
        else:
            assert state == after, (
                f"cycle {cycle}: the state after the kill is neither the state after the "
                f"{last + 1} acknowledged commands nor that plus command {last + 1} "
                f"({next(iter(inflight))})"
            )
            model = after
            start = last + 2
            applied_inflight += 1

    assert start > 1000, "too few commands were acknowledged to mean anything"
    assert len(model) > 100
    # the log was compacted, by checkpoints and on its own
    assert natural >= 1
    assert generation(path) > natural + 5
    print(f"{start} commands, {len(model)} documents, {generation(path)} compactions "
          f"({natural} on their own), {applied_inflight} kills after the write of an "
          f"unacknowledged command, {mid_compaction} kills during a compaction")


# -- deterministic tests ---------------------------------------------------------------------

def test_write_close_reopen_keeps_every_document(tmp_path: Path) -> None:
    path = tmp_path / "ws"
    make_collection(path)
    commands = make_commands(7, DIM)
    model: dict = {}
    for _ in range(4):
        with Workspace(path) as ws:
            coll = ws.get_database(DB_NAME).get_collection(COLL_NAME)
            for _ in range(80):
                cmd = next(commands)
                if "checkpoint" in cmd:
                    coll._state.store.checkpoint()
                else:
                    answer = coll.command(cmd)
                    assert {e["errorCode"] for e in answer.get("errors", [])} <= {
                        "DOCUMENT_ALREADY_EXISTS"}
                model = apply_model(model, cmd)
            live = {_key(d["_id"]): d for d in coll.find({}, projection={"*": 1})}
            assert live == model
            # the files as they are before closing: a snapshot and the log written since
            assert read_state(crash_image(path, tmp_path / "image")) == model
        assert read_state(path) == model

    assert len(model) > 50
    assert generation(path) >= 4
    # emptying the collection is durable too
    with Workspace(path) as ws:
        coll = ws.get_database(DB_NAME).get_collection(COLL_NAME)
        assert coll.command({"deleteMany": {}}) == {"status": {"deletedCount": -1}}
        coll.insert_one({"_id": "after-clear", "$vector": [0.5] * DIM})
        expected = {_key("after-clear"): {"_id": "after-clear", "$vector": [0.5] * DIM}}
        assert read_state(crash_image(path, tmp_path / "image")) == expected
    assert read_state(path) == expected


def _wal(path: Path) -> Path:
    (wal,) = collection_dir(path).glob("wal-*.log")
    return wal


def _docs(start: int, count: int) -> list[dict]:
    return [{"_id": i, "v": f"doc{i}", "$vector": [i / 4] * DIM}
            for i in range(start, start + count)]


def _expected(ids: range) -> dict:
    return {_key(i): {"_id": i, "v": f"doc{i}", "$vector": [i / 4] * DIM} for i in ids}


@pytest.mark.parametrize("tear", ["garbage", "half-header", "long-length", "bad-crc",
                                  "cut-last-record", "cut-last-header"])
def test_torn_wal_tail_is_cut_off_and_later_writes_persist(tmp_path: Path, tear: str) -> None:
    path = tmp_path / "ws"
    make_collection(path)
    sizes = []
    with Workspace(path) as ws:
        coll = ws.get_database(DB_NAME).get_collection(COLL_NAME)
        for k in range(5):
            coll.insert_many(_docs(10 * k, 10))
            sizes.append(_wal(path).stat().st_size)
        crashed = crash_image(path, tmp_path / "crashed")  # killed after 5 commands
    wal = _wal(crashed)
    data = wal.read_bytes()
    assert len(data) == sizes[-1]
    rng = random.Random(tear)
    if tear == "garbage":
        data += bytes(rng.randrange(256) for _ in range(37))
        kept, good = range(50), sizes[-1]
    elif tear == "half-header":
        data += b"VK\x10\x00"
        kept, good = range(50), sizes[-1]
    elif tear == "long-length":  # a header announcing more bytes than there are
        data += b"VK" + (1 << 20).to_bytes(4, "little") + b"\x00" * 4 + b"{}" * 10
        kept, good = range(50), sizes[-1]
    elif tear == "bad-crc":  # flip one byte in the payload of the last record
        pos = sizes[-2] + 10 + rng.randrange(sizes[-1] - sizes[-2] - 10)
        data = data[:pos] + bytes([data[pos] ^ 0x55]) + data[pos + 1:]
        kept, good = range(40), sizes[-2]
    elif tear == "cut-last-record":
        data = data[: (sizes[-2] + sizes[-1]) // 2]
        kept, good = range(40), sizes[-2]
    else:
        data = data[: sizes[-2] + 5]
        kept, good = range(40), sizes[-2]
    wal.write_bytes(data)

    with Workspace(crashed) as ws:
        assert _wal(crashed).stat().st_size == good  # the torn tail was cut off on open
        assert _read(ws) == _expected(kept)
        coll = ws.get_database(DB_NAME).get_collection(COLL_NAME)
        coll.insert_many(_docs(100, 5))
        assert coll.update_one({"_id": 0}, {"$set": {"v": "doc0!"}}).matched_count == 1
        assert coll.delete_one({"_id": 1}).deleted_count == 1
        expected = _expected(kept) | _expected(range(100, 105))
        expected[_key(0)]["v"] = "doc0!"
        del expected[_key(1)]
        # the records written after the cut follow on from the good ones
        assert _wal(crashed).stat().st_size > good
        assert read_state(crash_image(crashed, tmp_path / "crashed-again")) == expected
    assert read_state(crashed) == expected


@pytest.mark.parametrize("crash_point", ["vectors-written", "snapshot-written",
                                         "snapshot-renamed"])
def test_leftovers_of_a_compaction_cut_short_are_swept(tmp_path: Path, crash_point: str) -> None:
    """The files a compaction killed half-way leaves behind: temporary files, the vectors
    of a snapshot not renamed into place yet, or the files of the previous generation."""
    path = tmp_path / "ws"
    make_collection(path)
    with Workspace(path) as ws:
        coll = ws.get_database(DB_NAME).get_collection(COLL_NAME)
        coll.insert_many(_docs(0, 30))
        coll.delete_one({"_id": 3})
        old_wal = _wal(path).read_bytes()
        coll._state.store.checkpoint()  # generation 1
        coll.insert_many(_docs(30, 5) + _docs(3, 1))
        coll.update_one({"_id": 0}, {"$set": {"v": "changed"}})
        coll._state.store.checkpoint()  # generation 2
        coll.insert_one(_docs(50, 1)[0])  # in the log of generation 2
        crashed = crash_image(path, tmp_path / "crashed")
    expected = _expected(range(35)) | _expected(range(50, 51))
    expected[_key(0)]["v"] = "changed"
    directory = collection_dir(crashed)
    assert _names(crashed) == _clean_names(2)
    snapshot = (directory / "snapshot-00000002.parquet").read_bytes()
    vectors = (directory / "vectors-00000002-0.f32").read_bytes()
    if crash_point == "vectors-written":
        # killed while writing generation 3: torn temporary files
        (directory / ".vectors-00000003-0.f32.tmp").write_bytes(vectors[:20])
        (directory / ".snapshot-00000003.parquet.tmp").write_bytes(snapshot[:100])
    elif crash_point == "snapshot-written":
        # killed after renaming the vectors of generation 3, before its snapshot
        (directory / "vectors-00000003-0.f32").write_bytes(vectors + vectors[:12])
        (directory / ".snapshot-00000003.parquet.tmp").write_bytes(snapshot)
    else:
        # killed after renaming snapshot 2 into place, before removing generation 1; its
        # log is still there (here: an older one, whose records would undo later changes
        # if they were replayed)
        (directory / "snapshot-00000001.parquet").write_bytes(snapshot)
        (directory / "vectors-00000001-0.f32").write_bytes(vectors)
        (directory / "wal-00000001.log").write_bytes(old_wal)
    with Workspace(crashed) as ws:
        assert _names(crashed) == _clean_names(2)  # swept on open
        assert _read(ws) == expected
        ws.get_database(DB_NAME).get_collection(COLL_NAME).insert_many(_docs(40, 2))
    assert read_state(crashed) == expected | _expected(range(40, 42))
