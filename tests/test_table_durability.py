"""Durability of tables: acknowledged writes and schema changes survive ``kill -9``.

A writer subprocess opens a workspace directory holding one table (a text key, an int, a
``set<text>``, a 3-d vector column with a vector index, and a 2-d vector column added by
``alterTable``) and runs a long seeded sequence of table commands (inserts, upserts,
updates, deletes, one ``alterTable`` that adds a column, and now and then an explicit
checkpoint), printing an acknowledgement after each one returns.  The parent SIGKILLs it at
seeded random points, several times over the same directory, and each time opens a copy of
what the kill left (closing a workspace compacts the log, which would keep it too short to
compact on its own) to check that the table holds exactly the state after the acknowledged
commands, plus possibly all (never part) of the one in flight.  The next writer recovers
the original directory and goes on.  Many rows carry a long ``pad`` text, so that the log
grows past its compaction threshold (8 MiB) and compacts on its own as well.

The model of the table is a dict from key to row (non-null columns, JSON form), updated
with Cassandra's semantics: an insert overwrites the columns it gives and keeps the others.
"""

from __future__ import annotations

import copy
import inspect
import itertools
import random
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import crash
import numpy as np
import pytest
from crash import crash_image

from conftest import all_rows
from vectorize_kit import Workspace
from vectorize_kit.similarity import similarity

DB_NAME = "crash"
TABLE = "rows"
COLUMNS = {"id": "text", "n": "int", "tags": {"type": "set", "valueType": "text"},
           "v": {"type": "vector", "dimension": 3}, "pad": "text"}
W_COLUMN = {"w": {"type": "vector", "dimension": 2}}  # added by alterTable at setup
EXTRA_AT = 12  # the command of the sequence that adds the column "extra" (alterTable)


# -- the seeded command sequence (shared, as source, with the writer subprocess) -------------

def make_commands(seed: int) -> Iterator[dict]:
    """An endless, deterministic sequence of table commands (and ``{"checkpoint": {}}``).

    Rows are named by their text key; updates and deletes name theirs, so a command's effect
    depends only on the state it runs on.  Vector components are multiples of 1/16 (exact in
    float32) and never all zero.  Command ``EXTRA_AT`` adds the int column ``extra``; later
    commands write it too.  Explicit checkpoints come only in the first 40 of every 400
    commands, so that the log also grows past 8 MiB and compacts on its own.
    """
    rng = random.Random(seed)
    live: dict = {}  # key -> True, in insertion order
    counter = [0]

    def new_id() -> str:
        counter[0] += 1
        return f"r{counter[0]}"

    def vector(dim: int) -> list:
        return [rng.randrange(1, 64) / 16 * rng.choice([1, -1]) for _ in range(dim)]

    def columns(extra: bool, padded: bool) -> dict:
        row: dict = {}
        if rng.random() < 0.8:
            row["n"] = rng.randrange(-2**31, 2**31)
        if rng.random() < 0.5:
            row["tags"] = [rng.choice(["red", "green", "blue", "é✓"])
                           for _ in range(rng.randrange(4))]
        if rng.random() < 0.7:
            row["v"] = vector(3)
        if rng.random() < 0.4:
            row["w"] = vector(2)
        if padded:
            row["pad"] = chr(97 + rng.randrange(26)) * rng.randrange(10000, 60000)
        if extra and rng.random() < 0.5:
            row["extra"] = rng.randrange(1000)
        if rng.random() < 0.1:  # a null overwrites
            row[rng.choice(["n", "tags", "v", "w"])] = None
        return row

    def pick() -> str:
        if not live or rng.random() < 0.05:
            return new_id()  # nobody has it
        return rng.choice(list(live))

    for i in itertools.count():
        extra = i > EXTRA_AT
        r = rng.random()
        if len(live) > 150 and rng.random() < 0.5:
            r = 0.7  # a deleteMany keeps the table small
        if i == EXTRA_AT:
            yield {"alterTable": {"operation": {"add": {"columns": {"extra": "int"}}}}}
        elif r > 0.97 and i % 400 < 40:
            yield {"checkpoint": {}}
        elif r < 0.25 or r >= 0.8:
            rows = [{"id": new_id() if rng.random() < 0.85 else pick(),
                     **columns(extra, rng.random() < 0.8)}
                    for _ in range(rng.choice([1, 2, 5, 10, 20]))]
            for row in rows:
                live[row["id"]] = True
            yield {"insertMany": {"documents": rows,
                                  "options": {"ordered": rng.random() < 0.5}}}
        elif r < 0.4:  # an upsert of some columns of a row that may exist
            row = {"id": pick(), **columns(extra, rng.random() < 0.3)}
            live[row["id"]] = True
            yield {"insertOne": {"document": row}}
        elif r < 0.62:
            update: dict = {"$set": {}}
            if rng.random() < 0.6:
                update["$set"]["n"] = rng.randrange(1000)
            if rng.random() < 0.3:
                update["$set"]["pad"] = chr(97 + rng.randrange(26)) * rng.randrange(10000, 60000)
            if rng.random() < 0.3:
                update["$set"]["v"] = vector(3)
            if extra and rng.random() < 0.3:
                update["$set"]["extra"] = rng.randrange(1000)
            if rng.random() < 0.3:
                update["$push"] = {"tags": {"$each": ["pushed", rng.choice(["red", "x"])]}}
            elif rng.random() < 0.2:
                update["$unset"] = {rng.choice(["tags", "w"]): ""}
            if not update["$set"]:
                update["$set"] = {"n": 0}
            key = pick()
            yield {"updateOne": {"filter": {"id": key}, "update": update}}
        elif r < 0.68:
            key = pick()
            live.pop(key, None)
            yield {"deleteOne": {"filter": {"id": key}}}
        else:
            keys = list(dict.fromkeys(pick() for _ in range(rng.randrange(1, 8))))
            for key in keys:
                live.pop(key, None)
            yield {"deleteMany": {"filter": {"id": {"$in": keys}}}}


# -- the model: what a command does to {"extra": bool, "rows": {key: row}} --------------------

def _cell(column: str, value: Any) -> Any:
    """A value as the table gives it back (``None``: null)."""
    if value is None:
        return None
    if column == "tags":
        return sorted(set(value)) or None
    if column in ("v", "w"):
        return [float(x) for x in value]
    return value


def _upsert(rows: dict, key: str, values: dict) -> None:
    row = dict(rows.get(key, {"id": key}))
    for column, value in values.items():
        cell = _cell(column, value)
        if cell is None:
            row.pop(column, None)
        else:
            row[column] = cell
    rows[key] = row


def apply_model(model: dict, cmd: dict) -> dict:
    """The state after ``cmd`` (a new dict; ``model`` is left as it is)."""
    ((name, body),) = cmd.items()
    out = {"extra": model["extra"], "rows": dict(model["rows"])}
    rows = out["rows"]
    if name in ("insertMany", "insertOne"):
        for row in body["documents"] if name == "insertMany" else [body["document"]]:
            _upsert(rows, row["id"], {k: v for k, v in row.items() if k != "id"})
    elif name == "updateOne":
        key = body["filter"]["id"]
        values = dict(body["update"]["$set"])
        current = rows.get(key, {})
        for column in body["update"].get("$unset", {}):
            values[column] = None
        if "$push" in body["update"]:
            values["tags"] = [*current.get("tags", []), *body["update"]["$push"]["tags"]["$each"]]
        if key in rows or any(v is not None for v in values.values()):
            _upsert(rows, key, values)
    elif name == "deleteOne":
        rows.pop(body["filter"]["id"], None)
    elif name == "deleteMany":
        for key in body["filter"]["id"]["$in"]:
            rows.pop(key, None)
    elif name == "alterTable":
        out["extra"] = True
    else:
        assert name == "checkpoint"
    return out


def definition(extra: bool) -> dict:
    """The table as listTables explains it."""
    long = {name: {"type": spec} if isinstance(spec, str) else spec
            for name, spec in COLUMNS.items()}
    columns = {**long, **W_COLUMN, **({"extra": {"type": "int"}} if extra else {})}
    return {"columns": columns, "primaryKey": {"partitionBy": ["id"], "partitionSort": {}}}


INDEXES = {"status": {"indexes": [{"name": "v_idx", "definition": {
    "column": "v", "options": {"metric": "cosine", "sourceModel": "other"}},
    "indexType": "vector"}]}}
QUERY = [0.5, -1.25, 2.0]


def _read(ws: Workspace) -> dict:
    """The table's state: its definition and every row (checked for consistency)."""
    db = ws.get_database(DB_NAME)
    table = db.get_table(TABLE)
    (listed,) = db.command({"listTables": {"options": {"explain": True}}})["status"]["tables"]
    assert table.command({"listIndexes": {"options": {"explain": True}}}) == INDEXES
    rows = all_rows(table)
    state = {"extra": "extra" in listed["definition"]["columns"],
             "rows": {r["id"]: r for r in rows}}
    assert listed["definition"] == definition(state["extra"])
    assert len(state["rows"]) == len(rows) == table.command(
        {"estimatedDocumentCount": {}})["status"]["count"]
    # every row is reachable by its key, and the vector index serves the rows with a vector
    for row in rows[:: max(1, len(rows) // 8)]:
        found = table.command({"findOne": {"filter": {"id": row["id"]}}})
        assert found["data"]["document"] == row
    with_v = [r for r in rows if "v" in r]
    answer = table.command({"find": {"sort": {"v": QUERY}, "projection": {"id": 1},
                                     "options": {"limit": 5, "includeSimilarity": True}}})
    scores = sorted((similarity(np.asarray(r["v"]), np.asarray(QUERY), "cosine")
                     for r in with_v), reverse=True)[:5]
    assert [d["$similarity"] for d in answer["data"]["documents"]] == pytest.approx(
        scores, abs=1e-6)
    return state


def read_state(path: Path) -> dict:
    """Open the workspace, read the table, close it (closing compacts the log into a
    snapshot), and check that the snapshot reads back the same."""
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


def table_dir(path: Path) -> Path:
    (found,) = path.glob(f"databases/*/default_keyspace/{TABLE}")
    return found


def generation(path: Path) -> int:
    return crash.generation(table_dir(path))


def _names(path: Path) -> set[str]:
    return crash.file_names(table_dir(path))


def _clean_names(gen: int, vector_columns: int) -> set[str]:
    """The files of a table at generation ``gen`` (its log may not exist)."""
    names = {"table.json", f"wal-{gen:08d}.log"}
    if gen:
        names |= {f"snapshot-{gen:08d}.parquet"}
        names |= {f"vectors-{gen:08d}-{k}.f32" for k in range(vector_columns)}
    return names


def assert_swept(path: Path) -> None:
    """Only the files of the current generation are left (two vector columns: v and w)."""
    gen = generation(path)
    clean = _clean_names(gen, 2)
    assert clean - {f"wal-{gen:08d}.log"} <= _names(path) <= clean


def make_table(path: Path) -> None:
    with Workspace(path) as ws:
        db = ws.create_database(DB_NAME)
        assert db.command({"createTable": {"name": TABLE, "definition": {
            "columns": COLUMNS, "primaryKey": "id"}}}) == {"status": {"ok": 1}}
        table = db.get_table(TABLE)
        assert table.command({"createVectorIndex": {"name": "v_idx", "definition": {
            "column": "v", "options": {"metric": "cosine"}}}}) == {"status": {"ok": 1}}
        assert table.command({"alterTable": {"operation": {"add": {"columns": W_COLUMN}}}}) == {
            "status": {"ok": 1}}


# -- the writer subprocess -------------------------------------------------------------------

WRITER_MAIN = textwrap.dedent('''
    import itertools, json, sys
    from vectorize_kit import Workspace

    def main():
        path, seed, start, stop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        ws = Workspace(path)
        table = ws.get_database(DB_NAME).get_table(TABLE)
        commands = itertools.islice(make_commands(seed), start, stop)
        for i, cmd in enumerate(commands, start):
            if "checkpoint" in cmd:
                table._state.store.checkpoint()
                codes = []
            else:
                answer = table.command(cmd)
                codes = [e["errorCode"] for e in answer.get("errors", [])]
            gen = table._state.store._log.generation  # to count compactions
            sys.stdout.write(json.dumps({"i": i, "errors": codes, "gen": gen}) + "\\n")
            sys.stdout.flush()
        ws.close()

    main()
''')


def write_writer(tmp_path: Path) -> Path:
    script = tmp_path / "writer.py"
    script.write_text(
        "from __future__ import annotations\n"
        f"DB_NAME = {DB_NAME!r}\nTABLE = {TABLE!r}\nEXTRA_AT = {EXTRA_AT!r}\n"
        "import itertools, random\nfrom collections.abc import Iterator\n\n"
        + inspect.getsource(make_commands) + WRITER_MAIN,
        encoding="utf-8",
    )
    return script


def test_kill_9_at_random_points_loses_no_acknowledged_table_write(tmp_path: Path) -> None:
    """The state after a kill is that of the acknowledged commands, plus all or nothing of
    the one in flight; each writer then recovers the same directory and goes on."""
    seed = 20260611
    cycles = 7
    rng = random.Random(seed)
    path = tmp_path / "ws"
    make_table(path)
    script = write_writer(tmp_path)
    commands = make_commands(seed)
    cache: list[dict] = []  # the commands generated so far

    def command(i: int) -> dict:
        while len(cache) <= i:
            cache.append(next(commands))
        return cache[i]

    model: dict = {"extra": False, "rows": {}}
    start = 0
    applied_inflight = 0
    natural = 0  # compactions the log did on its own, after a write
    stderr_path = tmp_path / "writer.err"
    # the first kill lands around the alterTable, the others anywhere
    plan = [EXTRA_AT, *(rng.choice([0, 3, 10, 30, 60, 90]) for _ in range(cycles - 1))]
    for cycle in range(cycles + 1):
        final = cycle == cycles
        wait_acks = 0 if final else plan[cycle]
        delay = rng.random() * 0.01
        stop = start + (40 if final else wait_acks + 300)
        gen = generation(path)
        lines, _ = crash.run_writer(
            [str(script), str(path), str(seed), str(start), str(stop)], stderr_path,
            wait_acks=wait_acks, delay=delay, final=final)
        last, compacted, gen = crash.parse_acks(lines, start, gen, allowed_errors=frozenset())
        if not final and generation(path) != gen:  # compacted by the command in flight
            assert generation(path) == gen + 1
            compacted.append(last + 1)
        natural += sum("checkpoint" not in command(i) for i in compacted)
        for i in range(start, last + 1):
            model = apply_model(model, command(i))

        if final:
            state = read_state(path)
            assert last == stop - 1
            assert state == model
            break
        # read a copy: closing the workspace compacts its log, which should grow across
        # cycles (to compact on its own); the next writer opens the original
        state = read_state(crash_image(path, tmp_path / "image"))
        inflight = command(last + 1)
        after = apply_model(model, inflight)
        if state == model:
            start = last + 1  # the command in flight left no trace: run it again
        else:
            assert state == after, (
                f"cycle {cycle}: the state after the kill is neither the state after the "
                f"{last + 1} acknowledged commands nor that plus command {last + 1} "
                f"({next(iter(inflight))})")
            model = after
            start = last + 2
            applied_inflight += 1

    assert start > 300, "too few commands were acknowledged to mean anything"
    assert model["extra"]  # the alterTable was acknowledged (or applied) at some point
    assert len(model["rows"]) > 20
    assert any("extra" in r for r in model["rows"].values())
    assert any("w" in r for r in model["rows"].values())
    # the log was compacted, by checkpoints and on its own
    assert natural >= 1
    assert generation(path) > natural


def test_write_close_reopen_keeps_every_row_and_the_schema(tmp_path: Path) -> None:
    """Without a crash: what a workspace holds when it is closed (and, before that, what a
    copy of its files holds) is the model's state, across several sessions."""
    path = tmp_path / "ws"
    make_table(path)
    commands = make_commands(7)
    model: dict = {"extra": False, "rows": {}}
    for _ in range(3):
        with Workspace(path) as ws:
            table = ws.get_database(DB_NAME).get_table(TABLE)
            for _ in range(40):
                cmd = next(commands)
                if "checkpoint" in cmd:
                    table._state.store.checkpoint()
                else:
                    answer = table.command(copy.deepcopy(cmd))
                    assert "errors" not in answer, answer
                model = apply_model(model, cmd)
            assert _read(ws) == model
            assert read_state(crash_image(path, tmp_path / "image")) == model
        assert read_state(path) == model
    assert model["extra"] and len(model["rows"]) > 10


def _wal(path: Path) -> Path:
    (wal,) = table_dir(path).glob("wal-*.log")
    return wal


@pytest.mark.parametrize("cut", ["inside-the-last-put", "inside-the-schema-record",
                                 "after-the-schema-record"])
def test_a_torn_log_tail_loses_only_the_unacknowledged_command(tmp_path: Path, cut: str):
    """A crash while a record is appended (the log cut inside it) loses that command only,
    a schema change (alterTable) included; later writes follow on from the good records."""
    path = tmp_path / "ws"
    make_table(path)
    commands = [
        {"insertMany": {"documents": [{"id": f"a{i}", "n": i, "v": [1.0, i + 1.0, 0.5]}
                                      for i in range(5)]}},
        {"updateOne": {"filter": {"id": "a1"}, "update": {"$set": {"n": 100},
                                                           "$push": {"tags": {"$each": ["x"]}}}}},
        {"alterTable": {"operation": {"add": {"columns": {"extra": "int"}}}}},
        {"insertOne": {"document": {"id": "a2", "extra": 7, "w": [0.5, 0.25]}}},
    ]
    sizes = []
    model: dict = {"extra": False, "rows": {}}
    states = [model]
    with Workspace(path) as ws:
        table = ws.get_database(DB_NAME).get_table(TABLE)
        for cmd in commands:
            assert "errors" not in table.command(copy.deepcopy(cmd))
            sizes.append(_wal(path).stat().st_size)
            model = apply_model(model, cmd)
            states.append(model)
        crashed = crash_image(path, tmp_path / "crashed")
    wal = _wal(crashed)
    data = wal.read_bytes()
    assert len(data) == sizes[-1]
    if cut == "inside-the-last-put":
        data, kept = data[: (sizes[2] + sizes[3]) // 2], 3
    elif cut == "inside-the-schema-record":
        data, kept = data[: (sizes[1] + sizes[2]) // 2], 2
    else:
        data, kept = data[: sizes[2]], 3
    wal.write_bytes(data)
    expected = states[kept]
    assert read_state(crash_image(crashed, tmp_path / "copy")) == expected
    with Workspace(crashed) as ws:
        table = ws.get_database(DB_NAME).get_table(TABLE)
        assert _read(ws) == expected
        # the next commands go on from there
        more = {"insertOne": {"document": {"id": "b1", "n": 1}}}
        assert "errors" not in table.command(copy.deepcopy(more))
        expected = apply_model(expected, more)
        if not expected["extra"]:
            answer = table.command({"insertOne": {"document": {"id": "b2", "extra": 1}}})
            assert answer["errors"][0]["errorCode"] == "UNKNOWN_TABLE_COLUMNS"
        assert read_state(crash_image(crashed, tmp_path / "again")) == expected
    assert read_state(crashed) == expected
