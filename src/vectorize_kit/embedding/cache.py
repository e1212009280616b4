"""An embedding cache: the same text is never sent to a provider twice.

Keyed by (provider, model, sha256 of the exact text sent, prefixes included). A workspace on
disk keeps it in ``<workspace>/embedding-cache.sqlite`` (SQLite: durable, and safe for several
threads); an in-memory workspace keeps it in a dict, and a read-only one reads the file and
keeps its own new vectors in a dict. Only vectors and hashes are stored, never
the texts.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path

import numpy as np

__all__ = ["EmbeddingCache"]

RECENT = 8192  # vectors kept in memory by text too (no hashing for hot texts: rerank, queries)


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class EmbeddingCache:
    """Vectors by (provider, model, text).

    Parameters
    ----------
    path
        The SQLite file, or ``None`` to keep the cache in memory.
    read_only
        Read the file, never write it (a workspace another process writes): new vectors are
        kept in memory only.
    """

    def __init__(self, path: Path | None, *, read_only: bool = False) -> None:
        self._lock = threading.Lock()
        self._memory: dict[tuple[str, str, bytes], bytes] = {}
        self._db: sqlite3.Connection | None = None
        # the most recently used vectors by their text, read-only (a vector of a text never
        # changes, so this is never stale; callers copy them into the arrays they return)
        self._recent: dict[tuple[str, str, str], np.ndarray] = {}
        self.hits = 0
        self.misses = 0
        self.read_only = read_only
        if path is not None and read_only:
            try:
                self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True,
                                           check_same_thread=False, isolation_level=None)
                self._db.execute("SELECT 1 FROM vectors LIMIT 1")
            except sqlite3.Error:  # no cache there yet: this process's vectors in memory
                self._db = None
        elif path is not None:
            if not path.exists():  # private, like the workspace's other files
                path.touch(mode=0o600)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS vectors (provider TEXT, model TEXT, digest BLOB, "
                "vector BLOB, PRIMARY KEY (provider, model, digest)) WITHOUT ROWID")

    def get_many(self, provider: str, model: str, texts: list[str]
                 ) -> list[np.ndarray | None]:
        """The cached vector of each text (read-only), or ``None``."""
        with self._lock:
            out = [self._recent.get((provider, model, t)) for t in texts]
        todo = [i for i, v in enumerate(out) if v is None]
        if todo:
            digests = [_digest(texts[i]) for i in todo]
            with self._lock:
                found = {d: self._memory.get((provider, model, d)) for d in digests}
                unique = list(dict.fromkeys(d for d in digests if found[d] is None))
                for start in range(0, len(unique) if self._db is not None else 0, 500):
                    part = unique[start : start + 500]  # SQLite's parameter limit
                    try:
                        rows = self._db.execute(  # type: ignore[union-attr]
                            "SELECT digest, vector FROM vectors WHERE provider=? AND model=? "
                            f"AND digest IN ({','.join('?' * len(part))})",
                            (provider, model, *part)).fetchall()
                    except sqlite3.OperationalError:  # read-only, and the writer busy
                        if not self.read_only:
                            raise
                        rows = []
                    found.update(rows)
            fresh = {}
            for i, d in zip(todo, digests):
                if found.get(d) is not None:
                    out[i] = np.frombuffer(found[d], dtype="<f4")
                    fresh[texts[i]] = out[i]
            self._remember(provider, model, fresh)
        misses = sum(v is None for v in out) if todo else 0
        self.hits += len(out) - misses
        self.misses += misses
        return out

    def _remember(self, provider: str, model: str, vectors: dict[str, np.ndarray]) -> None:
        with self._lock:
            for text, vector in vectors.items():
                self._recent[(provider, model, text)] = vector
            while len(self._recent) > RECENT:  # the oldest first (dicts keep insertion order)
                del self._recent[next(iter(self._recent))]

    def put_many(self, provider: str, model: str, texts: list[str],
                 vectors: np.ndarray) -> None:
        rows = [(provider, model, _digest(t), np.asarray(v, dtype="<f4").tobytes())
                for t, v in zip(texts, vectors)]
        with self._lock:
            if self._db is None or self.read_only:
                self._memory.update({(p, m, d): v for p, m, d, v in rows})
            else:
                self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)", rows)
        self._remember(provider, model, {t: np.frombuffer(r[3], dtype="<f4")
                                         for t, r in zip(texts, rows)})

    def __len__(self) -> int:
        with self._lock:
            if self._db is None:
                return len(self._memory)
            return (self._db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
                    + (len(self._memory) if self.read_only else 0))

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __repr__(self) -> str:
        return f"EmbeddingCache(hits={self.hits}, misses={self.misses})"
