"""The Data API's operational and document limits (``reference/data-api.md`` §2.3 and §4)."""

from __future__ import annotations

import datetime as _dt

# Operations (OperationsConfig).
PAGE_SIZE = 20
MAX_INSERT_MANY = 100
MAX_UPDATE_DELETE_BATCH = 20
MAX_FILTER_PROPERTIES = 64
MAX_IN_VALUES = 100
MAX_VECTOR_LIMIT = 1000
MAX_COUNT = 1000

# Lexical search and findAndRerank (the Data API's OperationsConfig and SAI's limits).
MAX_LEXICAL_BYTES = 8192  # the distinct analyzed terms of a $lexical text
LEXICAL_LIMIT_TABLES = 100  # rows a lexical sort of a table gives without a limit
MAX_LEXICAL_LIMIT = 1000
RERANK_LIMIT = 10  # documents findAndRerank returns without a limit
HYBRID_LIMIT = 50  # candidates of each findAndRerank read without hybridLimits
MAX_HYBRID_LIMIT = 100

# Vectors.
MAX_VECTOR_DIMENSION = 4096

# Documents (DocumentLimitsConfig).
MAX_DOC_CHARS = 4_000_000
MAX_DOC_DEPTH = 16
MAX_PATH_LENGTH = 1000
MAX_OBJECT_PROPERTIES = 1000
MAX_INDEXED_PROPERTIES = 2000
MAX_STRING_BYTES = 8000
MAX_ARRAY_LENGTH = 1000
MAX_NUMBER_CHARS = 100

# Schema.
MAX_SCHEMA_NAME = 48
MAX_INDEX_NAME = 100
DEFAULT_KEYSPACE = "default_keyspace"

# Collections per database (seed 000: about 10, or about 5 for databases created before
# 2024-06-24). Counted across keyspaces.
COLLECTIONS_LIMIT_CUTOFF = _dt.datetime(2024, 6, 24, tzinfo=_dt.timezone.utc)
MAX_COLLECTIONS = 10
MAX_COLLECTIONS_BEFORE_CUTOFF = 5


def max_collections(created_at: _dt.datetime) -> int:
    """How many collections a database created at ``created_at`` may hold."""
    if created_at < COLLECTIONS_LIMIT_CUTOFF:
        return MAX_COLLECTIONS_BEFORE_CUTOFF
    return MAX_COLLECTIONS
