"""Small datasets shipped with vectorize_kit for tutorials and tests (no download).

>>> from vectorize_kit.datasets import load_knowledge_base
>>> df = load_knowledge_base()
>>> df.shape
(320, 6)
>>> from vectorize_kit.datasets import load_knowledge_base_queries
>>> load_knowledge_base_queries().shape
(320, 4)
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["CATEGORIES", "LANGUAGES", "load_knowledge_base", "load_knowledge_base_queries"]

#: The eight help-centre categories of :func:`load_knowledge_base`, 40 articles each.
CATEGORIES = (
    "orders",
    "shipping",
    "returns",
    "account",
    "product-care",
    "sizing",
    "warranty",
    "in-store",
)

#: The languages of :func:`load_knowledge_base_queries`: English, Spanish, German, French.
LANGUAGES = ("en", "es", "de", "fr")

_KNOWLEDGE_BASE = "knowledge_base.csv"
_QUERIES = "knowledge_base_queries.csv"
_DTYPES = {
    "id": "string",
    "category": "string",
    "title": "string",
    "text": "string",
    "updated": "string",
    "helpful_votes": "int64",
}
_QUERY_DTYPES = {
    "query_id": "string",
    "language": "string",
    "query": "string",
    "article_id": "string",
}


def load_knowledge_base() -> pd.DataFrame:
    """The help-centre articles of Trailhead Outfitters, a fictional outdoor-gear shop.

    320 short articles written for this project (original text, no external source), 40 in
    each of the 8 :data:`CATEGORIES`, answering customers' questions about orders, shipping,
    returns, accounts, product care, sizing, the warranty and the shop's stores.  Six of them
    are deliberately long (450 to 700 words, over 512 tokens): two in ``product-care``, two in
    ``warranty``, one in ``returns`` and one in ``sizing``, so that they exceed the token limit
    of all-MiniLM-L6-v2 (256) and of the BGE models (512); the others stay well under 256
    tokens.

    Returns
    -------
    pandas.DataFrame
        A fresh frame, one row per article, in ``id`` order, with the columns:

        - ``id`` (``string``): ``"kb-001"`` to ``"kb-320"``;
        - ``category`` (``string``): one of :data:`CATEGORIES`;
        - ``title`` (``string``): a short question-like title;
        - ``text`` (``string``): the article body, plain sentences;
        - ``updated`` (``string``): the date of the last update, ISO ``YYYY-MM-DD``, from
          2025-01-01 to 2026-10-31 (kept as text so that documents stay plain JSON);
        - ``helpful_votes`` (``int64``): readers who marked the article helpful, 0 to 500.

    Examples
    --------
    >>> df = load_knowledge_base()
    >>> int((df["category"] == "warranty").sum())
    40
    >>> df.loc[0, ["id", "category"]].tolist()
    ['kb-001', 'in-store']
    """
    import pandas as pd

    ref = resources.files(__package__) / _KNOWLEDGE_BASE
    with ref.open("r", encoding="utf-8", newline="") as f:
        return pd.read_csv(f, dtype=_DTYPES, keep_default_na=False)


def load_knowledge_base_queries(language: str | None = None) -> pd.DataFrame:
    """Labelled search queries for :func:`load_knowledge_base`, in four languages.

    80 information needs, 10 for each of the 8 :data:`CATEGORIES`, each written as a short
    customer question (6 to 15 words in English) and answered by exactly one article.  Every
    need is asked in each of the :data:`LANGUAGES` (English, Spanish, German and French) with
    the same answer, so there are 320 queries in all.  The questions paraphrase the articles
    rather than copy their titles: most still share keywords with their article, while about
    a quarter share hardly any and can only be matched by meaning, so lexical and semantic
    search each have queries to win.

    Parameters
    ----------
    language
        One of :data:`LANGUAGES` to keep only the 80 queries in that language; ``None``
        (the default) keeps all four.

    Returns
    -------
    pandas.DataFrame
        A fresh frame, one row per query, ordered by need and then language
        (``en``, ``es``, ``de``, ``fr``), with the columns:

        - ``query_id`` (``string``): ``"q01-en"`` to ``"q80-fr"``, the number naming the
          need and the suffix the language;
        - ``language`` (``string``): one of :data:`LANGUAGES`;
        - ``query`` (``string``): the question as a shopper would type it;
        - ``article_id`` (``string``): the ``id`` of the article that answers it.

        With ``language`` given, the index runs from 0 again.

    Raises
    ------
    ValueError
        If ``language`` is not ``None`` or one of :data:`LANGUAGES`.

    Examples
    --------
    >>> queries = load_knowledge_base_queries()
    >>> queries["language"].value_counts().to_dict()
    {'en': 80, 'es': 80, 'de': 80, 'fr': 80}
    >>> en = load_knowledge_base_queries("en")
    >>> en.shape
    (80, 4)
    >>> en.loc[0, ["query_id", "article_id"]].tolist()
    ['q01-en', 'kb-030']
    """
    import pandas as pd

    if language is not None and language not in LANGUAGES:
        raise ValueError(
            f"language must be None or one of {', '.join(map(repr, LANGUAGES))}, not {language!r}"
        )
    ref = resources.files(__package__) / _QUERIES
    with ref.open("r", encoding="utf-8", newline="") as f:
        queries = pd.read_csv(f, dtype=_QUERY_DTYPES, keep_default_na=False)
    if language is not None:
        queries = queries[queries["language"] == language].reset_index(drop=True)
    return queries
