"""A vector-sorted find at 10,000 documents over HTTP (``vectorize-kit serve``) against the
same find in process, measured in the same run.

Run: ``python benchmarks/bench_server.py`` (about 1 min on 2 cores; exit status 1 if a check
fails).

The collection: 10,000 documents of 384-d seeded random unit vectors (cosine) and two fields,
in a durable workspace under ``benchmarks/.data``. The command, the same everywhere:
``{"find": {"sort": {"$vector": {"$binary": ...}}, "options": {"limit": 10,
"includeSimilarity": true}}}`` with a different query vector each time, sent as astrapy sends
vectors (base64 big-endian float32).

1. in process: ``Collection.command(...)`` on the workspace opened in this process; the
   baseline.
2. HTTP, one client: the server in its own process (``python -m vectorize_kit.cli serve``),
   one keep-alive ``httpx.Client`` sending the requests one after another.
3. HTTP, 4 clients: 4 threads of this process, one client each, sending at once.

Printed: requests/s and p50/p99 latency of each, and the ratios of HTTP to in process. The
checks (no targets were set for this measurement): every HTTP answer is HTTP 200 and holds
the same documents and similarities as the in-process answer for the same query.  On 2 cores
the server and the clients share the CPU, so the 4-client figures measure contention as
much as the server.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np

import vectorize_kit as vk

N, DIM, K = 10_000, 384, 10
WARMUP, REQUESTS, CLIENTS = 30, 600, 4
TOKEN = "AstraCS:bench-server-token"
DATA = Path(__file__).parent / ".data" / "bench_server"


def binary(v: np.ndarray) -> dict:
    return {"$binary": base64.b64encode(v.astype(">f4").tobytes()).decode()}


def command(q: np.ndarray) -> dict:
    return {"find": {"sort": {"$vector": binary(q)},
                     "options": {"limit": K, "includeSimilarity": True}}}


def percentile(values: list[float], p: float) -> float:
    return float(np.percentile(np.array(values), p))


def summary(name: str, latencies: list[float], wall: float, n: int) -> dict:
    row = {"name": name, "rps": n / wall, "p50": percentile(latencies, 50) * 1e3,
           "p99": percentile(latencies, 99) * 1e3}
    print(f"  {name:34} {row['rps']:8.0f} req/s   p50 {row['p50']:6.2f} ms   "
          f"p99 {row['p99']:6.2f} ms")
    return row


def main() -> int:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((N, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = rng.standard_normal((WARMUP + REQUESTS, DIM)).astype(np.float32)

    shutil.rmtree(DATA, ignore_errors=True)
    with vk.Workspace(DATA) as ws:
        coll = ws.create_database("bench").create_collection("docs", dimension=DIM)
        coll.insert_many([{"_id": i, "group": i % 10, "title": f"document {i}",
                           "$vector": vectors[i]} for i in range(N)], progress=False)

    # 1. in process (the workspace is closed again before the server opens it)
    with vk.Workspace(DATA) as ws:
        coll = ws.get_database("bench").get_collection("docs")
        for q in queries[:WARMUP]:
            coll.command(command(q))
        local_answers, local_t = [], []
        t0 = time.perf_counter()
        for q in queries[WARMUP:]:
            t = time.perf_counter()
            local_answers.append(coll.command(command(q)))
            local_t.append(time.perf_counter() - t)
        local_wall = time.perf_counter() - t0

    env = {**os.environ, "VECTORIZE_KIT_TOKEN": TOKEN}
    proc = subprocess.Popen([sys.executable, "-m", "vectorize_kit.cli", "serve", "--workspace",
                             str(DATA), "--database", "bench", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    results, ok = [], True
    try:
        url = re.search(r"on (http://\S+)", proc.stdout.readline())[1]
        path = url + "/v1/default_keyspace/docs"
        headers = {"Token": TOKEN}

        # 2. HTTP, one client
        with httpx.Client(headers=headers, timeout=30) as client:
            for q in queries[:WARMUP]:
                client.post(path, json=command(q))
            http_answers, http_t, statuses = [], [], set()
            t0 = time.perf_counter()
            for q in queries[WARMUP:]:
                t = time.perf_counter()
                r = client.post(path, json=command(q))
                http_t.append(time.perf_counter() - t)
                statuses.add(r.status_code)
                http_answers.append(r.json())
            http_wall = time.perf_counter() - t0

        # 3. HTTP, several clients at once, each its share of the queries
        shares: list[list[float]] = [[] for _ in range(CLIENTS)]
        answers: list[dict] = [{} for _ in range(REQUESTS)]

        def run(c: int) -> None:
            with httpx.Client(headers=headers, timeout=30) as client:
                client.post(path, json=command(queries[c]))  # its connection, warm
                for j in range(c, REQUESTS, CLIENTS):
                    t = time.perf_counter()
                    r = client.post(path, json=command(queries[WARMUP + j]))
                    shares[c].append(time.perf_counter() - t)
                    statuses.add(r.status_code)
                    answers[j] = r.json()

        threads = [threading.Thread(target=run, args=(c,)) for c in range(CLIENTS)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        many_wall = time.perf_counter() - t0
    finally:
        proc.send_signal(2)
        proc.wait(timeout=60)

    print(f"bench_server: vector-sorted find (limit {K}, includeSimilarity) on {N:,} x {DIM} "
          f"cosine documents; {REQUESTS} queries each, after {WARMUP} warm-up")
    base = summary("in process: Collection.command", local_t, local_wall, REQUESTS)
    one = summary("HTTP, 1 client (keep-alive)", http_t, http_wall, REQUESTS)
    many = summary(f"HTTP, {CLIENTS} clients at once", [t for s in shares for t in s],
                   many_wall, REQUESTS)
    print(f"\n  HTTP 1 client / in process:  req/s x {one['rps'] / base['rps']:.2f},  "
          f"p99 x {one['p99'] / base['p99']:.2f} (+{one['p99'] - base['p99']:.2f} ms)")
    print(f"  HTTP {CLIENTS} clients / in process: req/s x {many['rps'] / base['rps']:.2f},  "
          f"p99 x {many['p99'] / base['p99']:.2f}")

    def docs(answer: dict) -> list:
        return [(d["_id"], round(d["$similarity"], 6)) for d in answer["data"]["documents"]]

    same = (all(docs(a) == docs(b) for a, b in zip(local_answers, http_answers))
            and all(docs(a) == docs(b) for a, b in zip(local_answers, answers)))
    for name, good in (("every HTTP answer is 200", statuses == {200}),
                       ("HTTP answers = in-process answers, query by query", same)):
        print(f"{'PASS' if good else 'FAIL'}  {name}")
        ok = ok and good
    results.append(ok)
    shutil.rmtree(DATA, ignore_errors=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
