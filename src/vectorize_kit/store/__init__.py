"""L2 store: documents in pandas, vectors in float32 matrices, filters, persistence."""

from .catalog import Catalog
from .documents import DocumentStore
from .filters import parse_filter
from .projection import parse_projection
from .shred import Indexing, check_document
from .updates import parse_update

__all__ = ["Catalog", "DocumentStore", "Indexing", "check_document", "parse_filter",
           "parse_projection", "parse_update"]
