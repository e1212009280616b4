"""Lexical search: text analyzers and a BM25 index (``reference/data-api.md``, lexical).

The Data API ranks ``$lexical`` sorts with Cassandra's SAI BM25: Lucene's formula with
``k1 = 1.2`` and ``b = 0.75``, ``idf = ln(1 + (N - df + 0.5) / (df + 0.5))``, over the indexed
texts only, and it returns only the texts that hold every term of the query.  The scoring here
is ``bm25s`` (its ``lucene`` method is that very formula), built once per version of the data
and asked once per query: one sparse product over the whole corpus, no loop over documents.

Analyzers follow the Lucene ones the Data API names (``standard``, ``simple``,
``whitespace``, ``stop``, ``lowercase``, ``keyword``, ``classic``, ``english``) and its custom
form ``{"tokenizer": {"name": ...}, "filters": [{"name": ...}], "charFilters": [...]}``.  The
Unicode word rules of Lucene's standard tokenizer are approximated by a regular expression
(words, numbers and ``don't``/``3.14``/``e.g`` kept whole, each CJK ideograph a token).
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..similarity import top_positions

__all__ = ["Analyzer", "AnalyzerError", "LexicalIndex", "analyzer", "ANALYZERS"]

K1, B = 1.2, 0.75
#: Indexes of at most this many texts score a query with whole-corpus arrays.
DENSE_DOCS = 4096

#: Lucene's English stop words (``EnglishAnalyzer.ENGLISH_STOP_WORDS_SET``).
STOP_WORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with".split()
)

_CJK = "\u2e80-\u2fff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_STANDARD = re.compile(rf"[{_CJK}]|(?:[^\W{_CJK}])+(?:['’.:](?:[^\W{_CJK}])+)*")
_LETTERS = re.compile(r"[^\W\d_]+")
_CLASSIC = re.compile(r"\w+(?:['’.]\w+)*")
_HTML = re.compile(r"<[^>]*>")

Tokens = list[str]


class AnalyzerError(ValueError):
    """An analyzer definition this product can not run (the message says why)."""


def _fold(token: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", token)
                   if not unicodedata.combining(c))


def _minimal_stem(token: str) -> str:
    """Lucene's ``EnglishMinimalStemmer``: plurals only."""
    n = len(token)
    if n < 3 or token[-1] != "s" or token[-2] in "us":
        return token
    if token[-2] == "e":
        if n > 3 and token[-3] == "i" and token[-4] not in "ae":
            return token[:-3] + "y"
        if token[-3] in "iaoe":
            return token
    return token[:-1]


def _possessive(token: str) -> str:
    return token[:-2] if token.endswith(("'s", "’s")) else token


def _stemmer(language: str) -> Callable[[Tokens], Tokens]:
    import Stemmer  # PyStemmer: the Snowball stemmers

    try:
        stem = Stemmer.Stemmer(language)
    except KeyError:
        raise AnalyzerError(
            f"unknown stemmer language '{language}'; use one of "
            + ", ".join(Stemmer.algorithms())) from None
    return stem.stemWords


_TOKENIZERS: dict[str, Callable[[str], Tokens]] = {
    "standard": _STANDARD.findall,
    "classic": _CLASSIC.findall,
    "letter": _LETTERS.findall,
    "whitespace": str.split,
    "keyword": lambda text: [text] if text else [],
}


def _filter(spec: Any) -> Callable[[Tokens], Tokens]:
    if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
        raise AnalyzerError(f"a filter must be an object with a 'name', not {spec!r}")
    name, args = spec["name"].lower(), spec.get("args") or {}
    if name == "lowercase":
        return lambda toks: [t.lower() for t in toks]
    if name == "uppercase":
        return lambda toks: [t.upper() for t in toks]
    if name == "asciifolding":
        return lambda toks: [_fold(t) for t in toks]
    if name == "stop":
        words = args.get("words")
        stop = STOP_WORDS if words is None else frozenset(
            w.strip() for w in (words.split(",") if isinstance(words, str) else words))
        ignore_case = str(args.get("ignoreCase", "false")).lower() == "true"
        if ignore_case:
            stop = frozenset(w.lower() for w in stop)
            return lambda toks: [t for t in toks if t.lower() not in stop]
        return lambda toks: [t for t in toks if t not in stop]
    if name in ("porterstem", "porter"):
        return _stemmer("porter")
    if name == "snowballporter":
        return _stemmer(str(args.get("language", "English")).lower())
    if name == "englishminimalstem":
        return lambda toks: [_minimal_stem(t) for t in toks]
    if name == "englishpossessive":
        return lambda toks: [_possessive(t) for t in toks]
    if name == "length":
        low, high = int(args.get("min", 0)), int(args.get("max", 1 << 30))
        return lambda toks: [t for t in toks if low <= len(t) <= high]
    raise AnalyzerError(
        f"unknown filter '{spec['name']}'; vectorize_kit runs the filters lowercase, "
        "uppercase, asciifolding, stop, porterstem, snowballporter, englishminimalstem, "
        "englishpossessive and length")


def _char_filter(spec: Any) -> Callable[[str], str]:
    name = spec.get("name") if isinstance(spec, dict) else None
    if isinstance(name, str) and name.lower() == "htmlstrip":
        return lambda text: _HTML.sub(" ", text)
    raise AnalyzerError(
        f"unknown char filter {name or spec!r}; vectorize_kit runs the char filter htmlstrip")


_NAMED: dict[str, dict] = {
    "standard": {"tokenizer": {"name": "standard"}, "filters": [{"name": "lowercase"}]},
    "simple": {"tokenizer": {"name": "letter"}, "filters": [{"name": "lowercase"}]},
    "whitespace": {"tokenizer": {"name": "whitespace"}},
    "stop": {"tokenizer": {"name": "letter"},
             "filters": [{"name": "lowercase"}, {"name": "stop"}]},
    "lowercase": {"tokenizer": {"name": "keyword"}, "filters": [{"name": "lowercase"}]},
    "keyword": {"tokenizer": {"name": "keyword"}},
    "classic": {"tokenizer": {"name": "classic"},
                "filters": [{"name": "lowercase"}, {"name": "stop"}]},
    "english": {"tokenizer": {"name": "standard"},
                "filters": [{"name": "englishpossessive"}, {"name": "lowercase"},
                            {"name": "stop"}, {"name": "porterstem"}]},
}
#: The analyzer names a collection's ``lexical.analyzer`` or a text index may give.
ANALYZERS = tuple(_NAMED)


class Analyzer:
    """Text to the list of terms that the index stores and the query looks up."""

    def __init__(self, spec: str | dict) -> None:
        self.spec = spec
        if isinstance(spec, str):
            if spec.lower() not in _NAMED:
                raise AnalyzerError(
                    f"unknown analyzer '{spec}'; use one of {', '.join(ANALYZERS)} or an "
                    "object {\"tokenizer\": ..., \"filters\": [...], \"charFilters\": [...]}")
            spec = _NAMED[spec.lower()]
        tokenizer = spec.get("tokenizer") or {"name": "standard"}
        name = tokenizer.get("name") if isinstance(tokenizer, dict) else None
        if not isinstance(name, str) or name.lower() not in _TOKENIZERS:
            raise AnalyzerError(
                f"unknown tokenizer {name or tokenizer!r}; vectorize_kit runs the tokenizers "
                + ", ".join(_TOKENIZERS))
        self._tokenize = _TOKENIZERS[name.lower()]
        self._filters = [_filter(f) for f in spec.get("filters") or []]
        self._chars = [_char_filter(f) for f in spec.get("charFilters") or []]

    def __call__(self, text: str) -> Tokens:
        for char_filter in self._chars:
            text = char_filter(text)
        tokens = self._tokenize(text)
        for token_filter in self._filters:
            tokens = token_filter(tokens)
        return [t for t in tokens if t]


@functools.lru_cache(maxsize=64)
def _cached(key: str) -> Analyzer:
    return Analyzer(json.loads(key))


def analyzer(spec: str | dict) -> Analyzer:
    """The analyzer of a definition (cached); :class:`AnalyzerError` if it can not run."""
    return _cached(json.dumps(spec, sort_keys=True))


class LexicalIndex:
    """BM25 over one text per row of a store (``None``: the row is not indexed).

    :meth:`refresh` rebuilds the index when the store's ``data_key`` changed; the terms of a
    text are computed once (:meth:`terms`, also used to check a text on insert) and kept while
    the text is stored, so a rebuild re-tokenizes nothing.
    """

    def __init__(self, spec: str | dict) -> None:
        self.spec = spec
        self.analyzer = analyzer(spec)
        self._vocab: dict[str, int] = {}
        self._words: list[str] = []  # term id -> term
        self._terms: dict[str, np.ndarray] = {}
        self._key: Any = None
        self._bm25: Any = None
        self._rows = np.zeros(0, dtype=np.int64)  # index document -> store row
        self._size = 0  # rows of the store
        self._indexed = 0  # terms the index was built with (later ones are in no document)

    def terms(self, text: str) -> np.ndarray:
        """The term ids of ``text`` (with repeats), learning new terms."""
        ids = self._terms.get(text)
        if ids is None:
            vocab, words = self._vocab, self._words
            tokens = self.analyzer(text)
            for term in tokens:
                if term not in vocab:
                    vocab[term] = len(words)
                    words.append(term)
            ids = np.fromiter((vocab[t] for t in tokens), dtype=np.int64, count=len(tokens))
            self._terms[text] = ids
        return ids

    def term_bytes(self, text: str) -> int:
        """The UTF-8 size of the distinct terms of ``text`` (what the Data API limits)."""
        return sum(len(self._words[i].encode("utf-8")) for i in set(self.terms(text).tolist()))

    def refresh(self, key: Any, texts: Callable[[], Sequence[Any]]) -> None:
        """Rebuild for the store's ``key`` (its ``data_key``), reading ``texts`` if needed."""
        if key == self._key:
            return
        import bm25s
        from bm25s.tokenization import Tokenized

        values = texts()
        rows = np.fromiter((i for i, t in enumerate(values) if isinstance(t, str)),
                           dtype=np.int64)
        docs = [values[i] for i in rows]
        ids = [self.terms(t) for t in docs]
        self._terms = {t: self._terms[t] for t in docs}  # forget texts no longer stored
        bm25 = None
        if len(docs):
            bm25 = bm25s.BM25(k1=K1, b=B, method="lucene")
            bm25.index(Tokenized(ids=ids, vocab=dict(self._vocab)), show_progress=False)
        self._bm25, self._rows, self._size, self._key = bm25, rows, len(values), key
        self._indexed = len(self._vocab)

    def _query(self, text: str) -> list[int] | None:
        """The distinct term ids of a query; ``None`` if some term is in no document (terms
        learnt after the index was built, e.g. from a text an insert then refused, are in
        none)."""
        known = []
        indexed = self._indexed if self._bm25 is not None else 0
        for term in dict.fromkeys(self.analyzer(text)):
            tid = self._vocab.get(term)
            if tid is None or tid >= indexed:
                return None
            known.append(tid)
        return known

    def _scored(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Index documents holding every term of ``text`` (ascending), and their BM25
        scores: bm25s's own sums (its ``get_scores``: each term's precomputed scores added
        in term order, float32), for the matching documents only."""
        terms = self._query(text)
        if not terms:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self._bm25.nonoccurrence_array is not None:  # (not Lucene's BM25)
            docs = self._sparse(terms)[0]
            return docs, self._bm25.get_scores(terms)[docs]
        if len(self._rows) <= DENSE_DOCS:
            return self._dense(terms)
        return self._sparse(terms)

    def _dense(self, terms: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_scored` in a few whole-corpus steps (fewer calls: small corpora)."""
        matrix = self._bm25.scores
        indptr, indices = matrix["indptr"], matrix["indices"]
        spans = [(indptr[t], indptr[t + 1]) for t in terms]
        flat = np.concatenate([indices[lo:hi] for lo, hi in spans])
        n = len(self._rows)
        docs = np.flatnonzero(np.bincount(flat, minlength=n) == len(terms))
        if not len(docs):
            return docs, np.zeros(0, dtype=np.float32)
        data = matrix["data"]
        scores = np.zeros(n, dtype=data.dtype)
        np.add.at(scores, flat, np.concatenate([data[lo:hi] for lo, hi in spans]))
        return docs, scores[docs]

    def _sparse(self, terms: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`_scored` on the postings alone (big corpora): intersected shortest first,
        by binary search in the longer lists (no sorting), then scored."""
        matrix = self._bm25.scores
        indptr, indices = matrix["indptr"], matrix["indices"]
        postings = sorted((indices[indptr[t]:indptr[t + 1]] for t in terms), key=len)
        docs = postings[0].astype(np.int64)
        for other in postings[1:]:
            pos = np.searchsorted(other, docs)
            np.minimum(pos, len(other) - 1, out=pos)
            docs = docs[other[pos] == docs]
            if not len(docs):
                break
        data = matrix["data"]
        scores = np.zeros(len(docs), dtype=data.dtype)
        for t in terms if len(docs) else ():
            lo, hi = indptr[t], indptr[t + 1]
            scores += data[lo:hi][np.searchsorted(indices[lo:hi], docs)]
        return docs, scores

    def matches(self, text: str) -> np.ndarray:
        """A mask over the store's rows: those whose text holds every term of ``text``."""
        mask = np.zeros(self._size, dtype=bool)
        mask[self._rows[self._scored(text)[0]]] = True
        return mask

    def search(self, text: str, count: int, mask: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """The best ``count`` rows (of those in ``mask``) holding every term of ``text``,
        by BM25 score, highest first (ties: the earlier row), and their scores."""
        docs, scores = self._scored(text)
        if not len(docs):
            return docs, scores
        rows = self._rows[docs]
        if mask is not None:
            keep = mask[rows]
            rows, scores = rows[keep], scores[keep]
        if len(rows) > count:
            top = top_positions(scores, count)
            rows, scores = rows[top], scores[top]
        order = np.lexsort((rows, -scores))
        return rows[order], scores[order]
