"""UMAP maps: vectorize_kit's projection vs umap-learn with its defaults.

Run: ``python benchmarks/bench_umap.py`` (about 2 to 3 minutes on 2 cores, the first run
longer: it embeds the texts once and keeps them in ``benchmarks/.data/``; exit status 1 if a
target is missed).

Data: 10,000 × 384 real embeddings of 10,000 different sentences made from templates (20
topics, each sentence a distinct combination of opener, adjective, subject and ending drawn
with ``np.random.default_rng(0)``), embedded by the local model (all-MiniLM-L6-v2, unit
vectors).

- baseline: ``umap.UMAP().fit_transform(X)``: umap-learn's defaults (NNDescent neighbours,
  500 epochs for 10,000 points, spectral init, parallel).
- ours: ``vectorize_kit.viz.projection.project(X, method="umap", metric="cosine")``: exact
  neighbours from blocks of one matrix product, given to umap-learn as ``precomputed_knn``,
  PCA start, 80 epochs for this size, 3 negative samples (what ``embedding_map`` runs,
  without its cache).

Both run once on 5,000 of the points first, so that numba compiles every code path before
the timed runs (the defaults' NNDescent starts at 4,096 points). Then each runs 3 times,
alternating; the median time counts.

Targets: ours ≤ 1/4 of the baseline's time; trustworthiness (scikit-learn's, 5 neighbours,
over all 10,000 points, of the last run's map of each) at most 0.02 below the baseline's.
"""

from __future__ import annotations

import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

N, DIM = 10_000, 384
TIME_TARGET = 0.25
TRUST_MARGIN = 0.02
REPEATS = 3
DATA = Path(__file__).resolve().parent / ".data" / "umap-10k-minilm-v2.npy"

TOPICS = {
    "cooking": ("a recipe for", ["bread", "soup", "curry", "pancakes", "pasta sauce"]),
    "football": ("a match report on", ["the cup final", "a late penalty", "the derby"]),
    "astronomy": ("an article about", ["black holes", "the rings of Saturn", "a comet"]),
    "gardening": ("advice on", ["pruning roses", "growing tomatoes", "compost"]),
    "finance": ("news about", ["interest rates", "the stock market", "a bank merger"]),
    "music": ("a review of", ["a jazz concert", "a new violin album", "the opera"]),
    "medicine": ("research on", ["a flu vaccine", "heart surgery", "sleep disorders"]),
    "travel": ("a guide to", ["trains in Japan", "hiking in Norway", "cheap flights"]),
    "programming": ("a tutorial on", ["Python generators", "SQL joins", "unit tests"]),
    "weather": ("a forecast of", ["heavy rain", "a heatwave", "snow in the hills"]),
    "history": ("a lecture on", ["the Roman empire", "the printing press", "the cold war"]),
    "pets": ("tips about", ["training a puppy", "feeding cats", "a rabbit's hutch"]),
    "cars": ("a test of", ["an electric car", "winter tyres", "a family estate car"]),
    "fashion": ("a feature on", ["summer dresses", "leather boots", "vintage jackets"]),
    "chemistry": ("notes on", ["acids and bases", "the periodic table", "catalysts"]),
    "politics": ("a debate about", ["the new budget", "voting reform", "local elections"]),
    "film": ("a critique of", ["a horror film", "the new thriller", "an animated film"]),
    "fitness": ("a plan for", ["running a marathon", "strength training", "yoga"]),
    "housing": ("a report on", ["rising rents", "new flats", "mortgage costs"]),
    "education": ("a study of", ["reading in schools", "exam stress", "online courses"]),
}
OPENERS = ["Here is", "I read", "She wrote", "We discussed", "They published", "He shared",
           "Our club liked", "The editor chose", "My friend sent me", "You will enjoy"]
ADJECTIVES = ["", "short ", "long ", "clear ", "useful ", "detailed ", "funny ", "serious ",
              "new ", "popular "]
ENDINGS = ["last week.", "for beginners.", "with many photos.", "in plain words.",
           "that surprised everyone.", "from an expert.", "on the radio.", "for the weekend."]


def sentences() -> list[str]:
    """10,000 different sentences, 500 on each topic."""
    rng = np.random.default_rng(0)
    out: list[str] = []
    for lead, subjects in TOPICS.values():
        combos = [(o, a, s, e) for o in OPENERS for a in ADJECTIVES for s in subjects
                  for e in ENDINGS]
        for i in rng.choice(len(combos), N // len(TOPICS), replace=False):
            opener, adjective, subject, ending = combos[i]
            words = lead.split(" ", 1)  # "a recipe for" -> "a", "recipe for"
            out.append(f"{opener} {words[0]} {adjective}{words[1]} {subject} {ending}")
    assert len(set(out)) == N
    return out


def vectors() -> np.ndarray:
    if DATA.exists():
        return np.load(DATA)
    from vectorize_kit.embedding.local import MODEL_NAME, LocalProvider

    print(f"embedding {N:,} sentences with the local model (once; kept in {DATA}) ...")
    provider = LocalProvider()
    texts = sentences()
    out = np.concatenate([np.asarray(provider.embed(texts[i : i + 512], model=MODEL_NAME),
                                     dtype=np.float32) for i in range(0, N, 512)])
    DATA.parent.mkdir(exist_ok=True)
    np.save(DATA, out)
    return out


def main() -> int:
    import umap
    from sklearn.manifold import trustworthiness

    from vectorize_kit.viz.projection import project

    X = vectors()
    assert X.shape == (N, DIM), X.shape

    def baseline(data: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return umap.UMAP().fit_transform(data)

    def ours(data: np.ndarray) -> np.ndarray:
        return project(data, method="umap", metric="cosine").coords

    for run in (baseline, ours):  # compile every numba path before timing
        run(X[:5000])
    times: dict[str, list[float]] = {"baseline": [], "ours": []}
    maps: dict[str, np.ndarray] = {}
    for _ in range(REPEATS):
        for name, run in (("baseline", baseline), ("ours", ours)):
            start = time.perf_counter()
            maps[name] = run(X)
            times[name].append(time.perf_counter() - start)
    t_base, t_ours = (statistics.median(times[n]) for n in ("baseline", "ours"))
    tw_base, tw_ours = (trustworthiness(X, maps[n], n_neighbors=5)
                        for n in ("baseline", "ours"))
    ratio = t_ours / t_base
    print(f"{N:,} x {DIM} vectors (all-MiniLM-L6-v2), median of {REPEATS} runs each")
    print(f"  umap-learn defaults : {t_base:7.2f} s   trustworthiness {tw_base:.4f}")
    print(f"  vectorize_kit       : {t_ours:7.2f} s   trustworthiness {tw_ours:.4f}")
    time_ok = ratio <= TIME_TARGET
    trust_ok = tw_ours >= tw_base - TRUST_MARGIN
    print(f"{'PASS' if time_ok else 'FAIL'} time ratio {ratio:.3f} (target <= {TIME_TARGET})")
    print(f"{'PASS' if trust_ok else 'FAIL'} trustworthiness {tw_ours - tw_base:+.4f} vs the "
          f"defaults (target >= -{TRUST_MARGIN})")
    return 0 if time_ok and trust_ok else 1


if __name__ == "__main__":
    sys.exit(main())
