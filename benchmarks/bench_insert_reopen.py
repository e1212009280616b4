"""insert_many of 100,000 documents with 384-d vectors into a workspace on disk, then reopen.

Run: ``python benchmarks/bench_insert_reopen.py`` (about 1 minute; exit status 1 if a target
is missed).

Measured, each against a baseline from this run:

- insert: ``coll.insert_many(docs)`` into ``vk.Workspace(path)`` (default ``sync=True``), one
  run (documents/s).  Baseline: the minimal durable log of the same data: per chunk of 100
  documents, one record of compact JSON (without vectors) + the raw float32 vector bytes,
  written and fsynced (as many fsyncs as insert_many's 100-document commands).
- disk: bytes of the workspace directory (sum of file sizes) against the raw vector bytes
  (100000 * 384 * 4).
- reopen, in a fresh subprocess (median of REOPEN_REPEATS): seconds for ``vk.Workspace(path)``
  + ``get_database`` + ``get_collection``, and the extra peak memory of that reopen: peak RSS
  (``ru_maxrss``) after the reopen minus the RSS (``/proc/self/statm``) right before it.
  numpy, pandas, pyarrow.parquet and vectorize_kit are imported before the "before" reading,
  and the peak is reset there (``/proc/self/clear_refs``), so library imports are not counted.
  Done twice: after ``ws.close()`` (which compacts the write-ahead log into a snapshot), and
  on a copy of the files taken before the close, as a crash would leave them (the log not
  compacted since the last automatic compaction, so the reopen replays it).
  Baseline: reading the baseline log back in the same kind of subprocess (``json.loads`` per
  record, vectors ``readinto`` one preallocated matrix): about the least a reopen that keeps
  the documents as Python dicts can cost.

Target: extra peak memory of each reopen <= 2 x raw data size, where raw data size = raw
vector bytes + bytes of the documents' compact JSON without ``$vector``.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import vectorize_kit as vk

N, DIM, CHUNK = 100_000, 384, 100
REOPEN_REPEATS = 5
TARGET_MEMORY = 2.0  # extra peak RSS of a reopen / raw data size, at most

# The child process: import everything, read RSS, reset the peak, reopen, report JSON.
CHILD = r"""
import json, resource, struct, sys, time
import numpy as np, pandas, pyarrow, pyarrow.parquet
import vectorize_kit as vk
from pathlib import Path

def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()

def baseline_load(path, n, dim):
    # the lean way: vectors read straight into one preallocated matrix, docs json.loads'ed
    vectors = np.empty((n, dim), np.float32)
    docs, row = [], 0
    with open(path, "rb") as fh:
        while header := fh.read(8):
            hlen, k = struct.unpack("<II", header)
            docs.extend(json.loads(fh.read(hlen)))
            fh.readinto(memoryview(vectors[row : row + k]).cast("B"))
            row += k
    return docs, vectors

mode, path, n, dim = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
before = rss()
try:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # reset the peak RSS to the current RSS
    reset = True
except OSError:
    reset = False
t0 = time.perf_counter()
if mode == "vk":
    ws = vk.Workspace(path)
    coll = ws.get_database("bench").get_collection("docs")
    count = len(coll)
else:
    docs, vectors = baseline_load(path, n, dim)
    count = len(docs)
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "before": before, "peak": peak, "after": rss(),
                  "count": count, "reset": reset}))
"""


# A small process, started before the benchmark allocates anything, that starts every child.
# A child started straight from this (large) process would inherit its peak RSS: Linux carries
# the peak of the process image that exec replaces into ru_maxrss.
LAUNCHER = r"""
import json, subprocess, sys
for line in sys.stdin:
    out = subprocess.run(json.loads(line), capture_output=True, text=True)
    if out.returncode:
        sys.stderr.write(out.stderr)
    print(out.stdout.strip().splitlines()[-1] if out.returncode == 0 else "FAILED", flush=True)
"""


class Launcher:
    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", LAUNCHER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def run(self, argv: list[str]) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(argv) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().strip()
        if line in ("FAILED", ""):
            raise RuntimeError(f"child failed: {argv[3:]}")
        return line

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait()


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def make_docs(matrix: np.ndarray) -> list[dict]:
    return [{"_id": i, "title": f"doc {i}", "category": f"c{i % 10}", "n": i,
             "$vector": matrix[i]} for i in range(len(matrix))]


def compact_json(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def baseline_insert(docs: list[dict], path: Path) -> float:
    """The minimal durable log: one fsynced record per chunk of CHUNK documents."""
    t0 = time.perf_counter()
    with open(path, "wb") as fh:
        for start in range(0, len(docs), CHUNK):
            chunk = docs[start : start + CHUNK]
            header = compact_json([{k: v for k, v in d.items() if k != "$vector"}
                                   for d in chunk]).encode()
            vectors = np.stack([d["$vector"] for d in chunk]).astype("<f4", copy=False)
            fh.write(struct.pack("<II", len(header), len(chunk)) + header + vectors.tobytes())
            fh.flush()
            os.fsync(fh.fileno())
    return time.perf_counter() - t0


def reopen(launcher: Launcher, mode: str, path: Path) -> list[dict]:
    runs = []
    for _ in range(REOPEN_REPEATS):
        run = json.loads(launcher.run([sys.executable, "-c", CHILD, mode, str(path), str(N),
                                       str(DIM)]))
        assert run["count"] == N, run
        runs.append(run)
    return runs


def summary(runs: list[dict]) -> tuple[float, int, int]:
    """median seconds, worst extra peak bytes, median extra RSS still held after the reopen."""
    return (statistics.median(r["seconds"] for r in runs),
            max(r["peak"] - r["before"] for r in runs),
            int(statistics.median(r["after"] - r["before"] for r in runs)))


def mib(n: float) -> str:
    return f"{n / 2**20:7.1f} MiB"


def main() -> int:
    launcher = Launcher()
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((N, DIM), dtype=np.float32)
    docs = make_docs(matrix)
    vector_bytes = N * DIM * 4
    json_bytes = sum(len(compact_json({k: v for k, v in d.items() if k != "$vector"})
                         .encode()) for d in docs)
    raw_bytes = vector_bytes + json_bytes
    print(f"bench_insert_reopen: {N:,} docs, {DIM}-d float32 vectors; raw data = "
          f"{mib(vector_bytes).strip()} vectors + {mib(json_bytes).strip()} JSON = "
          f"{mib(raw_bytes).strip()}")

    tmp = Path(tempfile.mkdtemp(prefix="vk-bench-"))
    results: list[bool] = []
    try:
        base_log = tmp / "baseline.log"
        t_base = baseline_insert(docs, base_log)

        ws_path = tmp / "ws"
        ws = vk.Workspace(ws_path)
        coll = ws.create_database("bench").create_collection("docs", dimension=DIM,
                                                             metric="cosine")
        t0 = time.perf_counter()
        coll.insert_many(docs, progress=False)
        t_insert = time.perf_counter() - t0
        crash_path = tmp / "ws-crashed"  # the files as a kill -9 would leave them
        shutil.copytree(ws_path, crash_path)
        t0 = time.perf_counter()
        ws.close()
        t_close = time.perf_counter() - t0
        del ws, coll
        gc.collect()
        disk_after_insert = dir_bytes(ws_path)
        files = sorted(p.name for p in ws_path.rglob("*") if p.is_file()
                       and p.name.startswith(("wal-", "snapshot-", "vectors-")))

        print("\ninsert (one run)")
        print(f"  vectorize_kit insert_many, sync=True   {t_insert:7.2f} s  "
              f"{N / t_insert:9,.0f} docs/s   {t_insert / t_base:5.2f} x baseline")
        print(f"  baseline: fsynced log, {CHUNK}/record       {t_base:7.2f} s  "
              f"{N / t_base:9,.0f} docs/s")
        print(f"  disk after insert and close: {mib(disk_after_insert)} = "
              f"{disk_after_insert / vector_bytes:.2f} x raw vector bytes "
              f"(baseline log {base_log.stat().st_size / vector_bytes:.2f} x); files: "
              f"{', '.join(files)}")

        base_runs = reopen(launcher, "baseline", base_log)
        closed_runs = reopen(launcher, "vk", ws_path)
        crash_files = sorted(p.name for p in crash_path.rglob("*") if p.is_file()
                             and p.name.startswith(("wal-", "snapshot-")))
        crash_runs = reopen(launcher, "vk", crash_path)

        t_b = summary(base_runs)[0]
        print(f"\nreopen in a fresh process (median time of {REOPEN_REPEATS}; memory = worst "
              f"extra peak RSS; extra held = RSS still held after it; "
              f"limit {TARGET_MEMORY:g} x raw = {mib(TARGET_MEMORY * raw_bytes)})")
        print(f"  {'variant':34} {'time':>8} {'x base':>7}  {'extra peak':>11} {'x raw':>6}"
              f"  {'extra held':>11}")
        rows = [("baseline: read fsynced log", base_runs),
                ("vectorize_kit, after close()", closed_runs),
                ("vectorize_kit, after a crash", crash_runs)]
        for name, runs in rows:
            t, m, held = summary(runs)
            print(f"  {name:34} {t:6.2f} s {t / t_b:7.2f}  {mib(m)} {m / raw_bytes:6.2f}"
                  f"  {mib(held)}")
        print(f"  close() (compacts the log) took {t_close:.2f} s; files left by a crash: "
              f"{', '.join(crash_files)}")
        if not all(r["reset"] for _, runs in rows for r in runs):
            print("  note: could not reset the peak RSS; the peaks include the imports")
        print()

        for name, runs in rows[1:]:
            _, m, _ = summary(runs)
            ok = m <= TARGET_MEMORY * raw_bytes
            results.append(ok)
            print(f"{'PASS' if ok else 'FAIL'}  reopen memory, {name[15:]}: "
                  f"{m / raw_bytes:.2f} x raw data size (target <= {TARGET_MEMORY:g})")
    finally:
        launcher.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
