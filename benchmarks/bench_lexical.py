"""Lexical search (``$lexical``) and ``findAndRerank``: vectorize_kit vs bm25s + numpy.

Run: ``python benchmarks/bench_lexical.py`` (about 30-60 s on 2 cores; exit status 1 if a
target is missed).

Every ratio is against a baseline measured in this run, on this machine, on the same data:

- corpora: (a) the 320 help-centre articles (``title + ". " + text``) with the 80 English
  labelled queries (for the ``$lexical`` timing: the first 3 terms of each question that
  occur in its article, since the whole questions match no article); (b) 100,000 synthetic
  documents of ~40 words drawn from a Zipf vocabulary
  of 20,000 words, queried with 1-3 words taken from one document (so that they match).
- ``$lexical`` sort, top 10, through the JSON entry (``coll.command({"find": ...})``) against
  bm25s called directly: the same ``standard`` analyzer, ``bm25s.BM25(k1=1.2, b=0.75,
  method="lucene")`` indexed from token ids, and per query ``get_scores`` + the documents
  holding every query term (intersection of the postings) + ``argpartition`` top 10 (where
  equal scores straddle the cut, the first documents: the product's rule, so that both give
  the same top 10).  Index builds are not timed (the product builds its index on its first
  query: printed).
- ``findAndRerank`` (top 10 of the vector top 50 + lexical top 50, reranked by the local
  all-MiniLM-L6-v2) against the same pipeline by hand: bm25s top 50, numpy cosine top 50 on
  the pre-normalised matrix, merge with reciprocal rank fusion, rerank = dot products of
  the query's and the passages' MiniLM embeddings.  The product caches embeddings (and is
  warmed once so that its cache is full); the baseline looks them up in a dict of the same
  vectors, precomputed (read from the workspace's embedding cache, where the local
  provider's vectors already are, so that nothing is embedded twice).  (a) vectorize
  collection, ``$hybrid: q``;
  (b) a 384-d collection of random vectors, ``{"$vector": v, "$lexical": q}``,
  ``rerankQuery`` q and ``rerankOn`` a short ``title`` field.
- recall@10 and MRR@10 of lexical-only, vector-only and hybrid search on the 80 English
  queries (printed only; ``$lexical`` requires every query term, as the Data API does, so
  lexical-only misses many natural questions).

Each query is timed once per pass, ours right after the baseline, over 3 passes (the
``$lexical`` ones after a warm-up pass); the median of all these timings is reported.

Targets: ours <= 1.5 x baseline (median per query) for each of the four timings; the top 10
of ours and the baseline agree on every query.
"""

from __future__ import annotations

import functools
import itertools
import statistics
import sys
import time

import bm25s
import numpy as np
from bm25s.tokenization import Tokenized

import vectorize_kit as vk
from vectorize_kit.datasets import load_knowledge_base, load_knowledge_base_queries
from vectorize_kit.embedding import get_provider
from vectorize_kit.embedding.local import MODEL_NAME
from vectorize_kit.store.lexical import analyzer

N, WORDS, VOCAB, DIM, K, HYBRID = 100_000, 40, 20_000, 384, 10, 50
SYN_QUERIES, RERANK_QUERIES = 40, 20
PASSES = 3  # timed passes over the queries (the median of all their timings is reported)
TARGET = 1.5  # ours / baseline, at most
RRF_K = 60


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:8.3f} ms"


def check(name: str, ok: bool, detail: str, results: list) -> None:
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")


class Bare:
    """bm25s on the same texts, analyzed as the product does."""

    def __init__(self, texts: list[str]) -> None:
        self.analyze = analyzer("standard")
        self.vocab: dict[str, int] = {}
        ids = []
        for text in texts:
            toks = self.analyze(text)
            for t in toks:
                self.vocab.setdefault(t, len(self.vocab))
            ids.append(np.fromiter((self.vocab[t] for t in toks), dtype=np.int64,
                                   count=len(toks)))
        self.n = len(texts)
        t0 = time.perf_counter()
        self.bm25 = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
        self.bm25.index(Tokenized(ids=ids, vocab=dict(self.vocab)), show_progress=False)
        self.build = time.perf_counter() - t0

    def top(self, text: str, count: int) -> np.ndarray:
        terms = []
        for term in dict.fromkeys(self.analyze(text)):
            if term not in self.vocab:
                return np.zeros(0, dtype=np.int64)
            terms.append(self.vocab[term])
        if not terms:
            return np.zeros(0, dtype=np.int64)
        m = self.bm25.scores
        indptr, indices = m["indptr"], m["indices"]
        docs = functools.reduce(
            lambda a, b: np.intersect1d(a, b, assume_unique=True),
            [indices[indptr[t]:indptr[t + 1]] for t in terms])
        scores = self.bm25.get_scores(terms)[docs]
        if len(docs) > count:
            top = top_first(scores, count)
            docs, scores = docs[top], scores[top]
        return docs[np.lexsort((docs, -scores))]


def top_first(scores: np.ndarray, count: int) -> np.ndarray:
    """The positions of the ``count`` highest scores; of equal scores at the cut, the first
    (the rule the product follows, so that both give the same top 10)."""
    n = len(scores)
    part = np.argpartition(scores, n - count - 1)
    best = part[n - count:]
    kth = scores[best].min()
    if scores[part[n - count - 1]] == kth:  # the next one as good: a tie at the cut
        above = np.flatnonzero(scores > kth)
        best = np.concatenate([above, np.flatnonzero(scores == kth)[:count - len(above)]])
    return best


def cosine_top(mn: np.ndarray, q: np.ndarray, count: int) -> np.ndarray:
    scores = mn @ q
    best = top_first(scores, count)
    return best[np.lexsort((best, -scores[best]))]


def bare_rerank(bare: Bare, mn: np.ndarray, qvec: np.ndarray, lex_q: str, rerank_vec,
                passages: list[str], emb: dict, ids: list) -> list:
    """The findAndRerank pipeline by hand: vector top 50 + bm25 top 50, RRF, rerank."""
    rrf: dict[int, float] = {}
    for rank, row in enumerate(cosine_top(mn, qvec, HYBRID).tolist(), 1):
        rrf[row] = 1 / (RRF_K + rank)
    for rank, row in enumerate(bare.top(lex_q, HYBRID).tolist(), 1):
        rrf[row] = rrf.get(row, 0.0) + 1 / (RRF_K + rank)
    rows = list(rrf)
    scores = np.stack([emb[passages[r]] for r in rows]) @ rerank_vec
    order = sorted(range(len(rows)), key=lambda i: (-scores[i], -rrf[rows[i]], ids[rows[i]]))
    return [ids[rows[i]] for i in order[:K]]


def found_ids(reply: dict) -> list:
    return [d["_id"] for d in reply["data"]["documents"]]


def main() -> int:
    t_start = time.perf_counter()
    rng = np.random.default_rng(0)
    provider = get_provider("local")
    ws = vk.Workspace()

    def embed(texts):
        """MiniLM vectors of texts: those the product cached (the same vectors it ranks
        with), the model for any other."""
        texts = list(texts)
        cached = ws._state.embedding_cache.get_many("local", MODEL_NAME, texts)
        todo = [t for t, v in zip(texts, cached) if v is None]
        fresh = dict(zip(todo, provider.embed(todo, model=MODEL_NAME))) if todo else {}
        return np.stack([fresh[t] if v is None else v for t, v in zip(texts, cached)]
                        ).astype(np.float32)

    results: list[bool] = []
    rows_out: list[tuple[str, float, float, int, int]] = []

    # -- (a) the 320 articles ----------------------------------------------------------------
    kb = load_knowledge_base()
    queries = load_knowledge_base_queries("en")
    kb_ids = kb["id"].tolist()
    kb_texts = (kb["title"] + ". " + kb["text"]).tolist()
    qs, answers = queries["query"].tolist(), queries["article_id"].tolist()
    print(f"bench_lexical: {len(kb_ids)} articles / {len(qs)} queries and {N:,} synthetic "
          f"documents of {WORDS} words; top {K}, median per query")

    db = ws.create_database("b")
    db.command({"createCollection": {"name": "kb", "options": {"vector": {"service": {
        "provider": "local", "modelName": MODEL_NAME}}}}})
    kb_coll = db.get_collection("kb")
    t_kb_insert = time.perf_counter()
    for start in range(0, len(kb_ids), 100):
        kb_coll.command({"insertMany": {"documents": [
            {"_id": i, "$hybrid": t} for i, t in
            zip(kb_ids[start:start + 100], kb_texts[start:start + 100])]}})
    t_kb_insert = time.perf_counter() - t_kb_insert

    def lex_find(coll, q):
        return found_ids(coll.command({"find": {"sort": {"$lexical": q},
                                                "options": {"limit": K}}}))

    t_build_kb, _ = timed(lex_find, kb_coll, qs[0])
    bare_kb = Bare(kb_texts)
    # The questions hardly ever hold every term of one article, so the timed queries are
    # their first 3 terms that occur in the right article (they match it, and maybe others).
    kb_row = {a: i for i, a in enumerate(kb_ids)}
    lex_qs = []
    for q, a in zip(qs, answers):
        held = set(bare_kb.analyze(kb_texts[kb_row[a]]))
        lex_qs.append(" ".join([t for t in dict.fromkeys(bare_kb.analyze(q)) if t in held][:3]))
    kb_sizes = [len(bare_kb.top(q, len(kb_ids))) for q in lex_qs]
    base_t, ours_t, agree = [], [], 0
    for q in lex_qs:  # interleaved; the first pass is the warm-up
        for n in range(1 + PASSES):
            tb, best = timed(bare_kb.top, q, K)
            to, found = timed(lex_find, kb_coll, q)
            if n:
                base_t.append(tb)
                ours_t.append(to)
                agree += n == 1 and found == [kb_ids[r] for r in best.tolist()]
    rows_out.append(("$lexical find, 320 articles", statistics.median(base_t),
                     statistics.median(ours_t), agree, len(lex_qs)))
    print(f"  (setup: 320 $hybrid inserts {t_kb_insert:.1f} s; product index build on first "
          f"query {t_build_kb * 1e3:.0f} ms, bm25s build {bare_kb.build * 1e3:.0f} ms; timed "
          f"queries of 1-3 terms match {min(kb_sizes)} to {max(kb_sizes)} articles, median "
          f"{int(statistics.median(kb_sizes))})")

    # findAndRerank, 320 articles, $hybrid: q
    def hybrid_kb(q):
        return found_ids(kb_coll.command({"findAndRerank": {"sort": {"$hybrid": q},
                                                            "options": {"limit": K}}}))

    hybrid_found = [hybrid_kb(q) for q in qs]  # warm-up: fills the product's cache
    kb_matrix = embed(kb_texts)  # the documents' $vector, unit length
    kb_emb = dict(zip(kb_texts, kb_matrix))
    q_emb = dict(zip(qs, embed(qs)))
    base_t, ours_t, agree = [], [], 0
    for n, (q, first) in itertools.product(range(PASSES), zip(qs, hybrid_found)):
        tb, best = timed(bare_rerank, bare_kb, kb_matrix, q_emb[q], q, q_emb[q], kb_texts,
                         kb_emb, kb_ids)
        to, found = timed(hybrid_kb, q)
        base_t.append(tb)
        ours_t.append(to)
        agree += n == 0 and found == best == first
    rows_out.append(("findAndRerank $hybrid, 320 articles", statistics.median(base_t),
                     statistics.median(ours_t), agree, len(qs)))

    # recall@10 / MRR@10
    def quality(lists):
        hits = [lst.index(a) + 1 if a in lst else 0 for lst, a in zip(lists, answers)]
        return (sum(h > 0 for h in hits) / len(hits),
                sum(1 / h for h in hits if h) / len(hits))

    lexical_lists = [lex_find(kb_coll, q) for q in qs]
    vector_lists = [found_ids(kb_coll.command({"find": {"sort": {"$vectorize": q},
                                                        "options": {"limit": K}}}))
                    for q in qs]
    quality_rows = [("lexical-only ($lexical find)", quality(lexical_lists)),
                    ("vector-only ($vectorize find)", quality(vector_lists)),
                    ("hybrid (findAndRerank $hybrid)", quality(hybrid_found))]
    no_lexical_hit = sum(not lst for lst in lexical_lists)

    # -- (b) 100,000 synthetic documents -----------------------------------------------------
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = np.array(["".join(w) for w in letters[rng.integers(0, 26, (VOCAB, 6))]])
    words = np.unique(words)
    rng.shuffle(words)
    p = 1.0 / np.arange(1, len(words) + 1)
    lengths = rng.integers(WORDS - 10, WORDS + 11, N)
    flat = rng.choice(len(words), size=int(lengths.sum()), p=p / p.sum())
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    doc_words = [words[flat[bounds[i]:bounds[i + 1]]] for i in range(N)]
    texts = [" ".join(w) for w in doc_words]
    titles = [" ".join(w[:5]) for w in doc_words]
    matrix = rng.standard_normal((N, DIM), dtype=np.float32)
    mn = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    syn_q = []
    for _ in range(SYN_QUERIES):
        w = doc_words[int(rng.integers(N))]
        syn_q.append(" ".join(rng.choice(w, size=int(rng.integers(1, 4)), replace=False)))
    qvecs = rng.standard_normal((RERANK_QUERIES, DIM), dtype=np.float32)

    db.command({"createCollection": {"name": "syn", "options": {"vector": {
        "dimension": DIM, "metric": "cosine"}}}})
    syn = db.get_collection("syn")
    t_insert, _ = timed(lambda d: syn.insert_many(d, progress=False),
                        [{"_id": i, "title": titles[i], "$lexical": texts[i],
                          "$vector": matrix[i]} for i in range(N)])
    t_build, _ = timed(lex_find, syn, syn_q[0])
    t_bare = time.perf_counter()
    bare = Bare(texts)
    t_bare = time.perf_counter() - t_bare
    print(f"  (setup: insert_many of {N:,} documents {t_insert:.1f} s; product index build on "
          f"first query {t_build:.2f} s; bm25s tokenize + build {t_bare:.2f} s, of which "
          f"build {bare.build:.2f} s)")

    base_t, ours_t, agree, sizes = [], [], 0, []
    for q in syn_q:
        for n in range(1 + PASSES):
            tb, best = timed(bare.top, q, K)
            to, found = timed(lex_find, syn, q)
            if n:
                base_t.append(tb)
                ours_t.append(to)
                agree += n == 1 and found == best.tolist()
        sizes.append(len(bare.top(q, N)))
    rows_out.append((f"$lexical find, {N:,} documents", statistics.median(base_t),
                     statistics.median(ours_t), agree, len(syn_q)))
    print(f"  (synthetic queries match {min(sizes):,} to {max(sizes):,} documents, median "
          f"{int(statistics.median(sizes)):,})")

    # findAndRerank, 100k, {"$vector": v, "$lexical": q}, rerankOn title
    rq = syn_q[:RERANK_QUERIES]
    bodies = [{"findAndRerank": {"sort": {"$hybrid": {"$vector": v.tolist(), "$lexical": q}},
                                 "options": {"limit": K, "rerankQuery": q,
                                             "rerankOn": "title"}}}
              for v, q in zip(qvecs, rq)]
    warm_found = [found_ids(syn.command(b)) for b in bodies]  # fills the product's cache
    needed = set()
    for v, q in zip(qvecs, rq):
        needed.update(cosine_top(mn, v, HYBRID).tolist())
        needed.update(bare.top(q, HYBRID).tolist())
    needed_titles = list(dict.fromkeys(titles[r] for r in needed))
    t_emb = time.perf_counter()
    title_emb = dict(zip(needed_titles, embed(needed_titles)))
    rq_emb = dict(zip(rq, embed(rq)))
    t_emb = time.perf_counter() - t_emb
    print(f"  (rerank warm-up: {len(needed_titles):,} candidate titles embedded in "
          f"{t_emb:.1f} s for the baseline, or read from the product's cache)")
    all_ids = list(range(N))
    base_t, ours_t, agree = [], [], 0
    for n, (v, q, body, first) in itertools.product(
            range(PASSES), zip(qvecs, rq, bodies, warm_found)):
        tb, best = timed(bare_rerank, bare, mn, v, q, rq_emb[q], titles, title_emb, all_ids)
        to, found = timed(lambda b: found_ids(syn.command(b)), body)
        base_t.append(tb)
        ours_t.append(to)
        agree += n == 0 and found == best == first
    rows_out.append((f"findAndRerank $vector+$lexical, {N:,}", statistics.median(base_t),
                     statistics.median(ours_t), agree, len(rq)))

    # -- report ------------------------------------------------------------------------------
    print(f"\n  {'measured':40} {'baseline':>11} {'ours':>11}   ratio   same top 10")
    for name, tb, to, same, n in rows_out:
        print(f"  {name:40} {ms(tb)} {ms(to)}   {to / tb:5.2f}   {same}/{n}")
    print(f"\n  quality on the {len(qs)} English queries ({no_lexical_hit} of them match no "
          "article holding every term):")
    for name, (recall, mrr) in quality_rows:
        print(f"  {name:36} recall@10 {recall:.3f}   MRR@10 {mrr:.3f}")
    print()
    for name, tb, to, same, n in rows_out:
        check(name, to / tb <= TARGET, f"{to / tb:.2f} x baseline (target <= {TARGET})",
              results)
        check(f"{name}: same top 10", same == n, f"{same}/{n} queries agree", results)
    ws.close()
    print(f"  (total {time.perf_counter() - t_start:.0f} s)")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
