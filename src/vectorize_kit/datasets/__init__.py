"""Small datasets shipped with vectorize_kit for tutorials and tests (no download).

>>> from vectorize_kit.datasets import load_knowledge_base
>>> df = load_knowledge_base()
>>> df.shape
(320, 6)
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["CATEGORIES", "load_knowledge_base"]

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

_KNOWLEDGE_BASE = "knowledge_base.csv"
_DTYPES = {
    "id": "string",
    "category": "string",
    "title": "string",
    "text": "string",
    "updated": "string",
    "helpful_votes": "int64",
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
