"""A read-only workspace's refresh() after 10,000 new documents vs reopening from scratch.

Run: ``python benchmarks/bench_refresh.py`` (about 1 min on 2 cores; exit status 1 if the
target is missed).

A workspace on disk holds a collection of 50,000 documents (``{"_id": i, "n": i,
"category": ..., "$vector": 384-d float32}``, compacted into a snapshot by ``close()``). A
writer subprocess opens it for writing; this process opens it read-only. Each of 3 rounds:
the writer inserts 10,000 new documents (100 insertMany commands of 100, each fsynced) and
says so; then, timed here:

- ``refresh()``: the reader takes in the writer's new log records;
- reopening from scratch: a new read-only ``vk.Workspace(path, read_only=True)`` and
  ``get_collection``, which loads the snapshot and the whole log (what a reader without
  refresh would do, or a second notebook started now).

Both then hold the same documents (checked). Also timed: ``refresh()`` when nothing is new
(what a reader's commands pay, at most once a second, to look for the writer's changes).
Target: ``refresh()`` at least 3 x faster than reopening, median over the rounds (its cost
grows with the new documents, a reopen's with all of them).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import vectorize_kit as vk

BASE, NEW, ROUNDS, DIM = 50_000, 10_000, 3, 384
TARGET = 3.0  # reopen time / refresh time, at least

WRITER = r"""
import sys
import numpy as np
import vectorize_kit as vk
path, new, dim = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
coll = vk.Workspace(path, read_only=False).get_database("db").get_collection("docs")
rng = np.random.default_rng(1)
start = len(coll)
print("ready", flush=True)
for line in sys.stdin:
    vecs = rng.standard_normal((new, dim), dtype=np.float32)
    for s in range(0, new, 100):
        coll.insert_many([{"_id": start + s + i, "n": start + s + i,
                           "category": f"c{(start + s + i) % 10}", "$vector": vecs[s + i]}
                          for i in range(100)], progress=False)
    start += new
    print(start, flush=True)
"""


def check(name: str, ok: bool, detail: str, results: list) -> None:
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="vk-bench-refresh-"))
    path = tmp / "ws"
    try:
        rng = np.random.default_rng(0)
        with vk.Workspace(path) as ws:
            coll = ws.create_database("db").create_collection("docs", dimension=DIM)
            vecs = rng.standard_normal((BASE, DIM), dtype=np.float32)
            coll.insert_many([{"_id": i, "n": i, "category": f"c{i % 10}", "$vector": vecs[i]}
                              for i in range(BASE)], progress=False)
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(NEW), str(DIM)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert writer.stdout.readline().strip() == "ready"
        reader = vk.Workspace(path)
        assert reader.read_only
        docs = reader.get_database("db").get_collection("docs")
        print(f"bench_refresh: a collection of {BASE:,} documents ({DIM}-d), {ROUNDS} rounds "
              f"of {NEW:,} new documents written by another process")
        refresh_t, reopen_t, idle_t = [], [], []
        for _ in range(ROUNDS):
            writer.stdin.write("go\n")
            writer.stdin.flush()
            total = int(writer.stdout.readline())
            t0 = time.perf_counter()
            reader.refresh()
            refresh_t.append(time.perf_counter() - t0)
            assert len(docs) == total
            t0 = time.perf_counter()
            reader.refresh()  # nothing new
            idle_t.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            fresh = vk.Workspace(path, read_only=True)
            again = fresh.get_database("db").get_collection("docs")
            reopen_t.append(time.perf_counter() - t0)
            assert len(again) == total
            q = rng.standard_normal(DIM, dtype=np.float32)
            same = [d["_id"] for d in docs.find({}, sort={"$vector": q}, limit=10)]
            assert same == [d["_id"] for d in again.find({}, sort={"$vector": q}, limit=10)]
            fresh.close()
        writer.stdin.close()
        writer.wait(timeout=120)
        reader.close()
        refresh_s, reopen_s = statistics.median(refresh_t), statistics.median(reopen_t)
        print(f"\n  {'measured':52} {'median':>9}   rounds (s)")
        print(f"  {'refresh() after 10,000 new documents':52} {refresh_s:8.3f}s   "
              + " ".join(f"{t:.3f}" for t in refresh_t))
        print(f"  {'reopen read-only from scratch':52} {reopen_s:8.3f}s   "
              + " ".join(f"{t:.3f}" for t in reopen_t))
        print(f"  {'refresh() with nothing new':52} {statistics.median(idle_t) * 1e3:7.2f}ms")
        print(f"  documents at the end: {total:,}\n")
        results: list[bool] = []
        ratio = reopen_s / refresh_s
        check("refresh vs reopen", ratio >= TARGET,
              f"refresh() {ratio:.1f} x faster than reopening (target >= {TARGET})", results)
        return 0 if all(results) else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
