"""vectorize_kit: Astra DB's vectorize, locally in Jupyter.

A pandas-backed local store speaking the Data API (collections of JSON documents and
tables of typed rows, with vectors), reachable through a Pythonic API with astrapy's
names and through the Data API's JSON commands.

>>> import vectorize_kit as vk
>>> db = vk.Workspace().create_database("demo")
>>> coll = db.create_collection("notes", dimension=2, metric="cosine")
>>> coll.insert_one({"_id": "a", "text": "hello", "$vector": [1.0, 0.0]}).inserted_id
'a'
"""

from __future__ import annotations

import logging

from .api import (
    Collection,
    Cursor,
    Database,
    DeleteResult,
    InsertManyError,
    InsertManyResult,
    InsertOneResult,
    Table,
    TableInsertManyResult,
    TableInsertOneResult,
    UpdateResult,
    Workspace,
)
from .embedding.tokens import chunk_text
from .errors import DataAPIError, TokenLimitWarning
from .models import LongTextPolicy

__all__ = [
    "Collection",
    "Cursor",
    "DataAPIError",
    "Database",
    "DeleteResult",
    "InsertManyError",
    "InsertManyResult",
    "InsertOneResult",
    "LongTextPolicy",
    "Table",
    "TableInsertManyResult",
    "TableInsertOneResult",
    "TokenLimitWarning",
    "UpdateResult",
    "Workspace",
    "chunk_text",
    "connect",
    "serve",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # the Data API over HTTP (vectorize_kit.server), imported when first used
    if name in ("connect", "serve"):
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module 'vectorize_kit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), "connect", "serve"})

logging.getLogger("vectorize_kit").addHandler(logging.NullHandler())
