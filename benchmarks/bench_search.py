"""Top-10 cosine search over 100,000 x 384 documents: vectorize_kit vs bare numpy vs pandas.

Run: ``python benchmarks/bench_search.py`` (about 30 s; exit status 1 if a target is missed).

Every ratio is against a baseline measured in this run, on this machine:

- baseline: ``Mn @ q`` on the float32 matrix with every row PRE-NORMALISED (so that the dot
  product ranks by cosine, as the collection does; normalising is not timed), then
  ``np.argpartition(-scores, 10)[:10]`` and sorting those 10.
- ours: ``coll.find({}, sort={"$vector": q}, limit=10, include_similarity=True).to_list()``
  on an in-memory collection (metric cosine) holding the same vectors (raw, not normalised).
- pandas: a DataFrame with a column of vectors, cosine computed row by row with ``.apply``,
  then ``nlargest(10)`` (few repeats: it is slow).
- filtered: the same find with ``{"category": "c3"}`` (10 % of the documents match).

Targets: ours <= 1.3 x baseline; filtered (steady state) <= 2 x the unfiltered baseline;
pandas >= 10 x baseline (a sanity check that the baseline is the fast path).
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np
import pandas as pd

import vectorize_kit as vk

N, DIM, K = 100_000, 384, 10
WARMUP, REPEATS, PANDAS_REPEATS = 3, 15, 3
TARGET_UNFILTERED = 1.3  # ours / baseline, at most
TARGET_FILTERED = 2.0  # filtered ours / unfiltered baseline, at most
TARGET_PANDAS = 10.0  # pandas / baseline, at least


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def numpy_top10(mn: np.ndarray, q: np.ndarray) -> np.ndarray:
    scores = mn @ q
    best = np.argpartition(-scores, K)[:K]
    return best[np.argsort(-scores[best])]


def numpy_top10_filtered(mn: np.ndarray, rows: np.ndarray, q: np.ndarray) -> np.ndarray:
    scores = mn[rows] @ q
    best = np.argpartition(-scores, K)[:K]
    return rows[best[np.argsort(-scores[best])]]


def pandas_top10(df: pd.DataFrame, q: np.ndarray) -> list:
    qn = np.linalg.norm(q)
    cos = df["vector"].apply(lambda v: float(np.dot(v, q) / (np.linalg.norm(v) * qn)))
    return cos.nlargest(K).index.tolist()


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:8.2f} ms"


def check(name: str, ok: bool, detail: str, results: list) -> None:
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")


def main() -> int:
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((N, DIM), dtype=np.float32)
    queries = rng.standard_normal((WARMUP + REPEATS, DIM), dtype=np.float32)
    categories = [f"c{i % 10}" for i in range(N)]
    print(f"bench_search: {N:,} x {DIM} float32, top-{K} cosine, "
          f"median of {REPEATS} after {WARMUP} warm-up queries")

    ws = vk.Workspace()
    coll = ws.create_database("bench").create_collection("docs", dimension=DIM,
                                                         metric="cosine")
    docs = [{"_id": i, "title": f"doc {i}", "category": categories[i], "n": i,
             "$vector": matrix[i]} for i in range(N)]
    t_insert, _ = timed(lambda d: coll.insert_many(d, progress=False), docs)
    del docs
    print(f"  (setup: insert_many into memory took {t_insert:.1f} s)")

    normalised = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    c3_rows = np.flatnonzero(np.array(categories) == "c3")

    def ours(q, flt):
        return coll.find(flt, sort={"$vector": q}, limit=K, include_similarity=True).to_list()

    # cold filtered query first: it builds the cached `category` column
    t_cold, cold = timed(ours, queries[0], {"category": "c3"})

    base_t, ours_t, filt_t, base_f_t = [], [], [], []
    mismatches = 0
    for i, q in enumerate(queries):
        # interleaved, so that drift of the machine hits every variant alike
        tb, best = timed(numpy_top10, normalised, q)
        to, found = timed(ours, q, {})
        tf, found_f = timed(ours, q, {"category": "c3"})
        tbf, best_f = timed(numpy_top10_filtered, normalised, c3_rows, q)
        if i < WARMUP:
            continue
        base_t.append(tb)
        ours_t.append(to)
        filt_t.append(tf)
        base_f_t.append(tbf)
        mismatches += [d["_id"] for d in found] != best.tolist()
        mismatches += [d["_id"] for d in found_f] != best_f.tolist()
        assert all(d["category"] == "c3" for d in found_f)
    assert [d["_id"] for d in cold] == numpy_top10_filtered(normalised, c3_rows,
                                                            queries[0]).tolist()

    frame = pd.DataFrame({"category": categories, "vector": list(matrix)})
    pandas_top10(frame, queries[0])  # warm-up on one query (slow)
    pandas_t = []
    for q in queries[WARMUP : WARMUP + PANDAS_REPEATS]:
        tp, top = timed(pandas_top10, frame, q)
        pandas_t.append(tp)
        mismatches += top != numpy_top10(normalised, q).tolist()

    base = statistics.median(base_t)
    rows = [
        ("bare numpy (pre-normalised M @ q + argpartition)", base, 1.0),
        ("vectorize_kit find, no filter", statistics.median(ours_t), None),
        ("vectorize_kit find, {category: c3}, steady", statistics.median(filt_t), None),
        ("vectorize_kit find, {category: c3}, COLD 1st", t_cold, None),
        ("bare numpy, same 10 % rows (info)", statistics.median(base_f_t), None),
        (f"pandas row-by-row .apply ({PANDAS_REPEATS} runs)", statistics.median(pandas_t), None),
    ]
    print(f"\n  {'variant':52} {'median':>11}   x bare numpy")
    for name, t, _ in rows:
        print(f"  {name:52} {ms(t)}   {t / base:8.2f}")
    print(f"  result mismatches against numpy: {mismatches}\n")

    results: list[bool] = []
    r_ours = statistics.median(ours_t) / base
    r_filt = statistics.median(filt_t) / base
    r_pandas = statistics.median(pandas_t) / base
    check("unfiltered search", r_ours <= TARGET_UNFILTERED,
          f"{r_ours:.2f} x bare numpy (target <= {TARGET_UNFILTERED})", results)
    check("filtered search (10 %), steady state", r_filt <= TARGET_FILTERED,
          f"{r_filt:.2f} x unfiltered bare numpy (target <= {TARGET_FILTERED}); "
          f"cold first query {t_cold * 1e3:.0f} ms", results)
    check("pandas row-by-row is the slow path", r_pandas >= TARGET_PANDAS,
          f"{r_pandas:.0f} x bare numpy (expected >= {TARGET_PANDAS:.0f})", results)
    check("same top-10 as numpy", mismatches == 0, f"{mismatches} mismatching queries",
          results)
    ws.close()
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
