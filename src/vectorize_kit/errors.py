"""The one error type of vectorize_kit, carrying the Data API's own error codes.

Every failure a user can cause is a :class:`DataAPIError` whose ``error_code`` is the code the
Astra DB Data API uses for the same mistake (see ``reference/data-api.md``).  The JSON and HTTP
front doors turn it into the Data API error object with :meth:`DataAPIError.to_dict`; the
Pythonic API raises it.
"""

from __future__ import annotations

import uuid
from typing import Any

__all__ = ["CODES", "HTTP_STATUS", "DataAPIError", "error_object"]

# code -> (family, scope, title). Titles are fixed per code, as in the Data API's errors.yaml.
CODES: dict[str, tuple[str, str, str]] = {
    # request shape
    "REQUEST_NOT_JSON": ("REQUEST", "", "Request is not valid JSON"),
    "COMMAND_UNKNOWN": ("REQUEST", "", "Provided command unknown"),
    "COMMAND_FIELD_UNKNOWN": ("REQUEST", "", "Provided command field unknown"),
    "COMMAND_FIELD_VALUE_INVALID": ("REQUEST", "", "Provided command field value invalid"),
    # schema objects
    "UNSUPPORTED_SCHEMA_NAME": ("REQUEST", "SCHEMA", "The used schema name is not supported"),
    "UNKNOWN_KEYSPACE": ("REQUEST", "SCHEMA", "Keyspace does not exist in the Database"),
    "UNKNOWN_COLLECTION_OR_TABLE": (
        "REQUEST", "SCHEMA", "The Collection or Table does not exist"),
    "UNSUPPORTED_COLLECTION_COMMAND": (
        "REQUEST", "", "Command is not supported by collections"),
    "INVALID_CREATE_COLLECTION_OPTIONS": (
        "REQUEST", "SCHEMA", "Invalid options for createCollection"),
    "INVALID_INDEXING_DEFINITION": ("REQUEST", "SCHEMA", "Invalid indexing definition"),
    "EXISTING_COLLECTION_DIFFERENT_SETTINGS": (
        "REQUEST", "SCHEMA", "Collection already exists with different settings"),
    "TOO_MANY_COLLECTIONS": (
        "REQUEST", "SCHEMA", "Too many collections in the database"),
    "VECTOR_SEARCH_NOT_SUPPORTED": ("REQUEST", "SCHEMA", "Vector search is not enabled"),
    "VECTOR_SEARCH_TOO_BIG_VALUE": ("REQUEST", "SCHEMA", "Vector dimension too big"),
    "EMBEDDING_SERVICE_NOT_CONFIGURED": (
        "REQUEST", "SCHEMA", "Embedding service is not configured"),
    "INVALID_USAGE_OF_VECTORIZE": ("REQUEST", "SCHEMA", "Invalid use of $vectorize"),
    "VECTORIZE_FEATURE_NOT_AVAILABLE": (
        "REQUEST", "SCHEMA", "Vectorize feature is not available"),
    # databases and workspace (no Data API equivalent: the Astra DevOps API's concepts)
    "INVALID_DATABASE_NAME": ("REQUEST", "DATABASE", "Database name is not valid"),
    "DATABASE_ALREADY_EXISTS": ("REQUEST", "DATABASE", "A database with that name exists"),
    "UNKNOWN_DATABASE": ("REQUEST", "DATABASE", "The database does not exist"),
    "WORKSPACE_LOCKED": ("SERVER", "DATABASE", "The workspace is open elsewhere"),
    "WORKSPACE_READ_ONLY": ("REQUEST", "DATABASE", "The workspace is open read-only"),
    "WORKSPACE_CLOSED": ("REQUEST", "DATABASE", "The workspace is closed"),
    "MIGRATION_NOT_COMPLETE": ("REQUEST", "SCHEMA", "The migration is not complete"),
    # vectorize: credentials, scopes and providers (data-api.md §4)
    "VECTORIZE_CREDENTIAL_INVALID": ("REQUEST", "SCHEMA", "Invalid credential for vectorize"),
    "UNKNOWN_EMBEDDING_PROVIDER": ("REQUEST", "EMBEDDING_PROVIDER", "Unknown embedding provider"),
    "UNKNOWN_CREDENTIAL": ("REQUEST", "EMBEDDING_PROVIDER", "Unknown credential"),
    "INVALID_CREDENTIAL_NAME": ("REQUEST", "EMBEDDING_PROVIDER", "Invalid credential name"),
    "CREDENTIAL_ALREADY_EXISTS": ("REQUEST", "EMBEDDING_PROVIDER", "Credential already exists"),
    "INVALID_CREDENTIAL_SECRET": ("REQUEST", "EMBEDDING_PROVIDER", "Invalid credential token"),
    "TOO_MANY_SCOPED_DATABASES": (
        "REQUEST", "EMBEDDING_PROVIDER", "Too many databases in one scope change"),
    "EMBEDDING_PROVIDER_CLIENT_ERROR": (
        "SERVER", "EMBEDDING_PROVIDER", "The Embedding Provider returned a HTTP client error"),
    "EMBEDDING_PROVIDER_SERVER_ERROR": (
        "SERVER", "EMBEDDING_PROVIDER", "The Embedding Provider returned a HTTP server error"),
    "EMBEDDING_PROVIDER_RATE_LIMITED": (
        "SERVER", "EMBEDDING_PROVIDER", "The Embedding Provider rate limited the request"),
    "EMBEDDING_PROVIDER_TIMEOUT": (
        "SERVER", "EMBEDDING_PROVIDER", "The Embedding Provider timed out"),
    "EMBEDDING_PROVIDER_UNEXPECTED_RESPONSE": (
        "SERVER", "EMBEDDING_PROVIDER", "The Embedding Provider returned an unexpected response"),
    "EMBEDDING_PROVIDER_AUTHENTICATION_KEYS_NOT_PROVIDED": (
        "SERVER", "EMBEDDING_PROVIDER", "Embedding Provider authentication keys not provided"),
    "EMBEDDING_PROVIDER_UNAVAILABLE": (
        "SERVER", "EMBEDDING_PROVIDER", "The Embedding Provider is unavailable"),
    # documents
    "DOCUMENT_ALREADY_EXISTS": ("REQUEST", "DOCUMENT", "Document the given _id already exists"),
    "DOCUMENT_REPLACE_DIFFERENT_DOCID": (
        "REQUEST", "DOCUMENT", "Replacement document has a different _id"),
    "SHRED_BAD_DOCUMENT_TYPE": ("REQUEST", "DOCUMENT", "Document is not a JSON object"),
    "SHRED_BAD_DOCID_TYPE": ("REQUEST", "DOCUMENT", "Bad type for the document _id"),
    "SHRED_BAD_EJSON_VALUE": ("REQUEST", "DOCUMENT", "Bad EJSON value"),
    "SHRED_BAD_FIELD_NAME": ("REQUEST", "DOCUMENT", "Document field name invalid"),
    "SHRED_DOC_LIMIT_VIOLATION": ("REQUEST", "DOCUMENT", "Document exceeds a size limit"),
    "SHRED_BAD_VECTOR_SIZE": ("REQUEST", "DOCUMENT", "$vector value can not be empty"),
    "SHRED_BAD_VECTOR_VALUE": ("REQUEST", "DOCUMENT", "$vector value is not a list of numbers"),
    "SHRED_BAD_BINARY_VECTOR_VALUE": ("REQUEST", "DOCUMENT", "Bad binary vector value"),
    "INVALID_VECTOR_LENGTH": ("REQUEST", "DOCUMENT", "Vector length does not match"),
    "INVALID_VECTORIZE_VALUE_TYPE": ("REQUEST", "DOCUMENT", "Invalid $vectorize value"),
    "VECTORIZE_TEXT_TOO_LONG": (
        "REQUEST", "DOCUMENT", "$vectorize text longer than the model's token limit"),
    # filter, sort, projection
    "UNSUPPORTED_FILTER_OPERATION": ("REQUEST", "FILTER", "Filter operation not supported"),
    "INVALID_FILTER_EXPRESSION": ("REQUEST", "FILTER", "Invalid filter expression"),
    "FILTER_MULTIPLE_ID_FILTER": ("REQUEST", "FILTER", "Multiple _id filters not supported"),
    "FILTER_FIELDS_LIMIT_VIOLATION": ("REQUEST", "FILTER", "Too many filter properties"),
    "UNINDEXED_FILTER_PATH": ("REQUEST", "FILTER", "Filter path is not indexed"),
    "UNINDEXED_SORT_PATH": ("REQUEST", "SORT", "Sort path is not indexed"),
    "SORT_CLAUSE_INVALID": ("REQUEST", "SORT", "Sort clause invalid"),
    "SORT_CLAUSE_VALUE_INVALID": ("REQUEST", "SORT", "Sort clause value invalid"),
    "UNSUPPORTED_PROJECTION_PARAM": ("REQUEST", "PROJECTION", "Unsupported projection parameter"),
    # updates
    "UNSUPPORTED_UPDATE_OPERATION": ("REQUEST", "UPDATE", "Unsupported update operation"),
    "UNSUPPORTED_UPDATE_OPERATION_PARAM": (
        "REQUEST", "UPDATE", "Unsupported update operation parameter"),
    "UNSUPPORTED_UPDATE_OPERATION_PATH": ("REQUEST", "UPDATE", "Invalid update operation path"),
    "UNSUPPORTED_UPDATE_OPERATION_TARGET": (
        "REQUEST", "UPDATE", "Unsupported target for update operation"),
    "UNSUPPORTED_UPDATE_OPERATOR_FOR_DOC_ID": (
        "REQUEST", "UPDATE", "Update operators cannot be used on _id"),
    "UNSUPPORTED_UPDATE_OPERATOR_FOR_VECTOR": (
        "REQUEST", "UPDATE", "Unsupported update operator for $vector"),
    "UNSUPPORTED_UPDATE_OPERATOR_FOR_VECTORIZE": (
        "REQUEST", "UPDATE", "Unsupported update operator for $vectorize"),
    "TOO_MANY_DOCUMENTS_TO_COUNT": ("REQUEST", "", "Too many documents to count"),
    # lexical search, hybrid search and reranking (titles from the Data API's errors.yaml)
    "REQUEST_STRUCTURE_MISMATCH": (
        "REQUEST", "", "Request is valid JSON but has a structural mismatch"),
    "LEXICAL_NOT_ENABLED_FOR_COLLECTION": (
        "REQUEST", "SCHEMA", "Lexical search is not enabled for the collection"),
    "SHRED_BAD_DOCUMENT_LEXICAL_TYPE": ("REQUEST", "DOCUMENT", "Bad $lexical value to shred"),
    "LEXICAL_CONTENT_TOO_LONG": (
        "REQUEST", "DOCUMENT", "Lexical content exceeds maximum length"),
    "UNSUPPORTED_UPDATE_OPERATOR_FOR_LEXICAL": (
        "REQUEST", "UPDATE", "Update operator cannot be used on $lexical field"),
    "HYBRID_FIELD_CONFLICT": ("REQUEST", "", "Conflict with $hybrid field"),
    "HYBRID_FIELD_UNSUPPORTED_VALUE_TYPE": (
        "REQUEST", "", "Unsupported JSON value type for $hybrid field"),
    "HYBRID_FIELD_UNKNOWN_SUBFIELDS": ("REQUEST", "", "Unknown sub-field(s) for $hybrid field"),
    "HYBRID_FIELD_UNSUPPORTED_SUBFIELD_VALUE_TYPE": (
        "REQUEST", "", "Unsupported JSON value type for $hybrid sub-field"),
    "UNSUPPORTED_RERANKING_COMMAND": ("REQUEST", "", "Reranking not enabled for collection"),
    "MISSING_RERANK_QUERY_TEXT": ("REQUEST", "", "Rerank query text is missing"),
    "MISSING_RERANK_ON": ("REQUEST", "", "Rerank field is missing"),
    "INVALID_RERANK_OVERRIDE": ("REQUEST", "", "Invalid rerank override"),
    "UNSUPPORTED_VECTOR_SORT_FOR_COLLECTION": (
        "REQUEST", "SORT", "Vector sorting not supported by the collection"),
    "UNSUPPORTED_VECTORIZE_SORT_FOR_COLLECTION": (
        "REQUEST", "SORT", "Vectorize sorting not supported by the collection"),
    "CANNOT_LEXICAL_SORT_NON_INDEXED_COLUMNS": (
        "REQUEST", "SORT", "Lexical sort cannot be used for non-indexed columns"),
    "CANNOT_LEXICAL_SORT_WITH_SKIP_OPTION": (
        "REQUEST", "SORT", "Skip option cannot be used with lexical sort"),
    "CANNOT_SORT_ON_SPECIAL_WITH_OTHERS": (
        "REQUEST", "SORT", "Special sort combined with other sort expressions"),
    "CANNOT_LEXICAL_FILTER_NON_INDEXED_COLUMNS": (
        "REQUEST", "FILTER", "Lexical filter cannot be used for non-indexed columns"),
    "UNSUPPORTED_INDEX_TYPE": ("REQUEST", "SCHEMA", "Index type is not supported"),
    "MISSING_HYBRID_SORT_VALUE": ("REQUEST", "SORT", "Hybrid sort has no value"),
    "UNSUPPORTED_TEXT_INDEX_FOR_DATA_TYPES": (
        "REQUEST", "SCHEMA", "Text index not supported by data types"),
    "UNSUPPORTED_JSON_TYPE_FOR_TEXT_INDEX": (
        "REQUEST", "SCHEMA", "JSON value type is not supported for creating text index"),
    # tables (data-api.md §3; titles from the Data API's errors.yaml)
    "CANNOT_ADD_EXISTING_TABLE": (
        "REQUEST", "SCHEMA", "Table with the same name exists in the keyspace schema"),
    "CANNOT_DROP_UNKNOWN_TABLE": (
        "REQUEST", "SCHEMA", "Dropped table is not defined in the keyspace schema"),
    "CANNOT_ADD_EXISTING_COLUMNS": (
        "REQUEST", "SCHEMA", "Columns with the same name are defined in the table schema"),
    "CANNOT_DROP_UNKNOWN_COLUMNS": (
        "REQUEST", "SCHEMA",
        "Columns cannot be dropped if they are not defined in the table schema"),
    "CANNOT_DROP_PRIMARY_KEY_COLUMNS": (
        "REQUEST", "SCHEMA", "Primary key columns cannot be dropped from the table schema"),
    "CANNOT_DROP_INDEXED_COLUMNS": (
        "REQUEST", "SCHEMA", "Columns used in the indexes cannot be dropped"),
    "CANNOT_VECTORIZE_NON_VECTOR_COLUMNS": (
        "REQUEST", "SCHEMA", "Columns cannot be vectorized if they are not `vector` type"),
    "CANNOT_VECTORIZE_UNKNOWN_COLUMNS": (
        "REQUEST", "SCHEMA",
        "Columns cannot be vectorized if they are not defined in the table schema"),
    "CANNOT_DROP_VECTORIZE_FROM_NON_VECTOR_COLUMNS": (
        "REQUEST", "SCHEMA",
        "Vectorize configuration cannot be dropped from columns if they are not `vector` type"),
    "CANNOT_DROP_VECTORIZE_FROM_UNKNOWN_COLUMNS": (
        "REQUEST", "SCHEMA",
        "Vectorize configuration cannot be dropped from columns if they are not defined in "
        "the table schema"),
    "MISSING_ALTER_TABLE_OPERATIONS": (
        "REQUEST", "SCHEMA", "Alter table command must include operations"),
    "CANNOT_ADD_EXISTING_INDEX": (
        "REQUEST", "SCHEMA", "Index with the same name exists in the keyspace schema"),
    "CANNOT_DROP_UNKNOWN_INDEX": (
        "REQUEST", "SCHEMA", "Dropped index is not defined in the keyspace schema"),
    "UNKNOWN_INDEX_COLUMN": (
        "REQUEST", "SCHEMA", "Index column is not defined in the table schema"),
    "UNSUPPORTED_INDEXING_FOR_DATA_TYPES": (
        "REQUEST", "SCHEMA", "Indexing not supported by data types"),
    "UNSUPPORTED_VECTOR_INDEX_FOR_DATA_TYPES": (
        "REQUEST", "SCHEMA", "Vector index not supported by data types"),
    "UNKNOWN_VECTOR_METRIC": ("REQUEST", "SCHEMA", "Vector metric is unknown"),
    "UNKNOWN_VECTOR_SOURCE_MODEL": ("REQUEST", "SCHEMA", "Vector source model is unknown"),
    "PRIMARY_KEY_DEFINITION_INCORRECT": (
        "REQUEST", "SCHEMA", "Primary key definition provided is incorrect."),
    "MISSING_PARTITION_COLUMNS": ("REQUEST", "SCHEMA", "Partitioning keys are required for tables"),
    "UNKNOWN_PARTITION_COLUMNS": (
        "REQUEST", "SCHEMA", "Partition columns are not defined in the table schema"),
    "UNKNOWN_PARTITION_SORT_COLUMNS": (
        "REQUEST", "SCHEMA", "Partition sort columns are not defined in the table schema"),
    "MISSING_DIMENSION_IN_VECTOR_COLUMN": (
        "REQUEST", "SCHEMA",
        "Dimension is required for vector column if embedding service is not specified"),
    "UNSUPPORTED_VECTOR_DIMENSION": (
        "REQUEST", "SCHEMA", "Vector definition contains unsupported dimension"),
    "UNSUPPORTED_COLUMN_TYPES": ("REQUEST", "SCHEMA", "Column types are not supported"),
    # user-defined types
    "CANNOT_ADD_EXISTING_TYPE": (
        "REQUEST", "SCHEMA", "Type with the same name exists in the keyspace schema"),
    "CANNOT_DROP_UNKNOWN_TYPE": (
        "REQUEST", "SCHEMA", "Dropped type is not defined in the keyspace schema"),
    "CANNOT_DROP_TYPE_USED_BY_TABLE": (
        "REQUEST", "SCHEMA", "Type cannot be dropped if used by tables"),
    "CANNOT_ALTER_UNKNOWN_TYPE": (
        "REQUEST", "SCHEMA", "Altered type is not defined in the keyspace schema"),
    "CANNOT_ADD_EXISTING_FIELD": (
        "REQUEST", "SCHEMA", "Field with the same name are defined in the type definition"),
    "CANNOT_RENAME_UNKNOWN_TYPE_FIELD": (
        "REQUEST", "SCHEMA", "Field cannot be renamed if it is not defined in the type"),
    "MISSING_ALTER_TYPE_OPERATIONS": (
        "REQUEST", "SCHEMA", "Alter type command must include operations"),
    "MISSING_FIELDS_FOR_TYPE_CREATION": (
        "REQUEST", "SCHEMA", "At least one field is required for type creation"),
    "UNSUPPORTED_TYPE_FIELDS": (
        "REQUEST", "SCHEMA", "Type definition contains unsupported fields."),
    "UNKNOWN_USER_DEFINED_TYPE": ("REQUEST", "SCHEMA", "User defined type is unknown"),
    "INVALID_USER_DEFINED_TYPE_NAME": (
        "REQUEST", "SCHEMA", "User defined type name is not valid."),
    "UNSUPPORTED_MAP_DEFINITION": (
        "REQUEST", "SCHEMA", "Map definition contains unsupported data types"),
    "INVALID_VECTORIZE_TABLE_CONFIGURATION": (
        "REQUEST", "SCHEMA", "Unable to parse vectorize configuration for table."),
    "EXISTING_TABLE_NOT_DATA_API_COLLECTION": (
        "REQUEST", "SCHEMA", "Existing table not a valid Data API collection"),
    "INVALID_INDEX_DEFINITION": ("REQUEST", "SCHEMA", "Provided index configuration is not valid."),
    "UNSUPPORTED_DATA_TYPE_TABLE_CREATION": (
        "REQUEST", "SCHEMA", "Table creation with unsupported data types"),
    "MISSING_PRIMARY_KEY_COLUMNS": ("REQUEST", "DOCUMENT", "Primary key columns missing"),
    "INVALID_COLUMN_VALUES": ("REQUEST", "DOCUMENT", "Column values in documents are not valid"),
    "UNKNOWN_TABLE_COLUMNS": (
        "REQUEST", "DOCUMENT", "Columns in documents are not defined in the table schema"),
    "UNSUPPORTED_VECTORIZE_WHEN_MISSING_VECTORIZE_DEFINITION": (
        "REQUEST", "DOCUMENT",
        "Vectorize not supported on column with missing vectorize configuration"),
    "UNSUPPORTED_VECTORIZE_CONFIGURATIONS": (
        "REQUEST", "DOCUMENT", "Unsupported combination of vectorize configurations"),
    "INVALID_FILTER_COLUMN_VALUES": ("REQUEST", "FILTER", "Column value in filter is not valid"),
    "UNSUPPORTED_FILTERING_FOR_COLUMN_TYPES": (
        "REQUEST", "FILTER", "Column types in the filter do not support the filter operations"),
    "FILTER_UNSUPPORTED_OPERATOR": ("REQUEST", "FILTER", "Unsupported filter operator"),
    "FILTER_INVALID_EXPRESSION": ("REQUEST", "FILTER", "Unsupported filter clause"),
    "INVALID_MAP_SET_LIST_FILTER": (
        "REQUEST", "FILTER", "Command has invalid filter against a map, set, or list column"),
    "UNSUPPORTED_COMPARISON_FILTER_AGAINST_DURATION": (
        "REQUEST", "FILTER", "Duration data type does not support comparison filters"),
    "MISSING_FILTER_FOR_UPDATE_DELETE": (
        "REQUEST", "FILTER", "Update and delete commands require a filter"),
    "MISSING_FULL_PRIMARY_KEY_FOR_UPDATE_DELETE": (
        "REQUEST", "FILTER",
        "updateOne and deleteOne commands require filtering on the full primary key"),
    "UNSUPPORTED_NON_PRIMARY_KEY_FILTER_FOR_UPDATE_DELETE": (
        "REQUEST", "FILTER",
        "Update and delete commands only support filtering on the primary key"),
    "CANNOT_SORT_ON_MULTIPLE_VECTORIZE": (
        "REQUEST", "SORT", "More than one vectorize sort provided"),
    "CANNOT_SORT_ON_MULTIPLE_VECTORS": ("REQUEST", "SORT", "More than one vector sort provided"),
    "CANNOT_SORT_UNKNOWN_COLUMNS": (
        "REQUEST", "SORT", "Sorted columns are not defined in the table schema"),
    "CANNOT_SORT_VECTOR_AND_NON_VECTOR_COLUMNS": (
        "REQUEST", "SORT", "Vector sort cannot be used with non vector sorting"),
    "CANNOT_VECTORIZE_SORT_NON_VECTOR_COLUMN": (
        "REQUEST", "SORT", "Vectorize sort columns are not `vector` type"),
    "CANNOT_VECTORIZE_SORT_WHEN_MISSING_VECTORIZE_DEFINITION": (
        "REQUEST", "SORT",
        "Vectorize sort not supported on column with missing vectorize configuration"),
    "CANNOT_VECTOR_SORT_NON_INDEXED_VECTOR_COLUMNS": (
        "REQUEST", "SORT", "Vector sort cannot be used for non indexed vector columns"),
    "CANNOT_VECTOR_SORT_NON_VECTOR_COLUMNS": (
        "REQUEST", "SORT", "Vector sort columns are not `vector` type"),
    "CANNOT_VECTOR_SORT_ON_MISMATCHED_VECTOR_DIMENSIONS": (
        "REQUEST", "SORT", "Vector sort cannot be used with mismatched vector dimensions"),
    "CANNOT_VECTOR_SORT_WITH_LIMIT_EXCEEDS_MAX": (
        "REQUEST", "SORT", "Limit exceeds the maximum allowed for vector sort"),
    "CANNOT_VECTOR_SORT_WITH_SKIP_OPTION": (
        "REQUEST", "SORT", "Skip option cannot be used with  vector sort"),
    "UNSUPPORTED_UPDATE_FOR_PRIMARY_KEY_COLUMNS": (
        "REQUEST", "UPDATE", "Primary key columns cannot be updated"),
    "UNSUPPORTED_UPDATE_OPERATIONS_FOR_TABLE": (
        "REQUEST", "UPDATE", "Update operation not supported by tables"),
    "INVALID_UPDATE_COLUMN_VALUES": (
        "REQUEST", "UPDATE", "Column value in update clause is not valid"),
    "MISSING_UPDATE_OPERATIONS": (
        "REQUEST", "UPDATE", "Update operation requires at least one operation"),
    "INVALID_PUSH_OPERATOR_USAGE": (
        "REQUEST", "UPDATE", "The command has invalid usage of $push operator"),
    "UNSUPPORTED_TABLE_COMMAND": ("REQUEST", "", "Command is not supported by tables"),
    "UNSUPPORTED_PROJECTION_DEFINITION": (
        "REQUEST", "PROJECTION", "Unsupported projection definition"),
    "UNSUPPORTED_OVERLAPPING_UPDATE_OPERATIONS": (
        "REQUEST", "UPDATE", "Columns cannot be changed by multiple update operations"),
    "UNSUPPORTED_SORT_FOR_TABLE_DELETE_COMMAND": (
        "REQUEST", "SORT", "Sorting not supported by delete command on tables"),
    "UNSUPPORTED_SORT_FOR_TABLE_UPDATE_COMMAND": (
        "REQUEST", "SORT", "Sorting not supported by update command on tables"),
    "UNSUPPORTED_UPDATE_OPERATOR": (
        "REQUEST", "UPDATE", "Update operator is not supported by target columns"),
    "UNSUPPORTED_TEXT_ANALYSIS_FOR_DATA_TYPES": (
        "REQUEST", "SCHEMA", "Analysed text index not supported by data types"),
    "CANNOT_ANALYZE_ENTRIES_ON_MAP_COLUMNS": (
        "REQUEST", "SCHEMA",
        "Can not create index on map column with index function entries and specify analyze "
        "options"),
    "INVALID_FORMAT_FOR_INDEX_CREATION_COLUMN": (
        "REQUEST", "SCHEMA", "Unable to create index, format for index creation column is "
        "invalid."),
    "INCOMPLETE_PRIMARY_KEY_FILTER": (
        "REQUEST", "FILTER", "Filter does not include the full partition key"),
    # the HTTP front door (reference/data-api.md §1.5)
    "UNSUPPORTED_CONTENT_TYPE": ("REQUEST", "", "Unsupported Content-Type"),
    "MISSING_AUTHENTICATION_TOKEN": ("REQUEST", "", "Missing authentication token"),
    "UNAUTHENTICATED_REQUEST": ("REQUEST", "", "Authentication failed"),
    "UNAUTHORIZED_ACCESS": ("SERVER", "DATABASE", "Unauthorized access to the database"),
    "REQUEST_TOO_LARGE": ("REQUEST", "", "Request body too large"),
    # a remote Data API endpoint (vectorize_kit.connect) that could not answer
    "DATA_API_UNREACHABLE": ("SERVER", "", "The Data API endpoint could not be reached"),
    "DATA_API_TIMEOUT": ("SERVER", "", "The Data API endpoint did not answer in time"),
    "DATA_API_HTTP_ERROR": ("SERVER", "", "The Data API endpoint answered with an HTTP error"),
    # warnings (status.warnings)
    "COMMAND_TARGET_INFERRED": (
        "REQUEST", "WARNING", "Table command sent to the keyspace ran on the table it names"),
    # server side
    "SERVER_UNHANDLED_ERROR": ("SERVER", "", "Unexpected server error"),
}

# The HTTP status of a response whose first error has one of these codes (errors.yaml's
# http-status-override); every other command error is answered with 200.
HTTP_STATUS: dict[str, int] = {
    "UNSUPPORTED_CONTENT_TYPE": 415,
    "MISSING_AUTHENTICATION_TOKEN": 401,
    "UNAUTHENTICATED_REQUEST": 401,
    "UNAUTHORIZED_ACCESS": 401,
    "REQUEST_TOO_LARGE": 413,
}

# The codes the Data API uses in several scopes, with a title for each: (code, scope) -> title.
SCOPED_TITLES: dict[tuple[str, str], str] = {
    ("UNKNOWN_TABLE_COLUMNS", "DOCUMENT"):
        "Columns in documents are not defined in the table schema",
    ("UNKNOWN_TABLE_COLUMNS", "FILTER"):
        "Columns in the filter are not defined in the table schema",
    ("UNKNOWN_TABLE_COLUMNS", "UPDATE"):
        "Columns in the update are not defined in the table schema",
    ("UNKNOWN_TABLE_COLUMNS", "PROJECTION"):
        "Columns in the projection are not defined in the table schema",
    ("UNSUPPORTED_VECTORIZE_WHEN_MISSING_VECTORIZE_DEFINITION", "DOCUMENT"):
        "Vectorize not supported on column with missing vectorize configuration",
    ("UNSUPPORTED_VECTORIZE_WHEN_MISSING_VECTORIZE_DEFINITION", "UPDATE"):
        "Vectorize requires a column with vectorize definition",
}


class DataAPIError(Exception):
    """An error with a Data API error code.

    Parameters
    ----------
    error_code
        The Data API's code, e.g. ``"DOCUMENT_ALREADY_EXISTS"``.
    message
        What happened, the offending value and what to do about it.
    document_ids
        For per-document failures of insert and update commands: the ``_id`` values concerned.
    scope
        For the codes the Data API uses in several scopes (e.g. ``UNKNOWN_TABLE_COLUMNS`` in
        a filter, a projection or a document): the scope of this one.

    Attributes
    ----------
    family, scope, title
        Looked up from the code, as in the Data API's error catalogue.
    """

    def __init__(
        self,
        error_code: str,
        message: str,
        *,
        document_ids: list[Any] | None = None,
        scope: str | None = None,
    ) -> None:
        family, default_scope, title = CODES.get(error_code, ("REQUEST", "", error_code))
        scope = default_scope if scope is None else scope
        title = SCOPED_TITLES.get((error_code, scope), title)
        self.error_code = error_code
        self.message = message
        self.family = family
        self.scope = scope
        self.title = title
        self.document_ids = document_ids
        super().__init__(f"{error_code}: {message}")

    def to_dict(self) -> dict[str, Any]:
        """The error object of the Data API envelope."""
        out: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "family": self.family,
            "scope": self.scope,
            "errorCode": self.error_code,
            "title": self.title,
            "message": self.message,
        }
        if self.document_ids is not None:
            out["documentIds"] = list(self.document_ids)
        return out


def error_object(error_code: str, message: str, **kwargs: Any) -> dict[str, Any]:
    """Shorthand for ``DataAPIError(error_code, message).to_dict()``."""
    return DataAPIError(error_code, message, **kwargs).to_dict()


class TokenLimitWarning(UserWarning):
    """``$vectorize`` texts longer than the model's token limit: one warning per call, listing
    the documents, their token counts, the limit and what happens to them.

    Attributes
    ----------
    items
        ``(label, token count)`` for each text, e.g. ``("_id 'doc-7'", 412)``.
    model, limit
        The model and its token limit.
    exact
        Whether the counts are exact (the model's tokenizer) or estimated.
    """

    def __init__(self, items: list[tuple[str, int]], *, model: str, limit: int,
                 exact: bool, query: bool = False, table: bool = False) -> None:
        self.items = list(items)
        self.model = model
        self.limit = limit
        self.exact = exact
        self.query = query
        self.table = table
        how = ("exact counts" if exact
               else "estimated counts: this model's tokenizer is not available offline")
        listed = ", ".join(f"{label} ({n} tokens)" for label, n in self.items[:20])
        more = f" and {len(self.items) - 20} more" if len(self.items) > 20 else ""
        advice = ("Shorten the search text." if query else
                  "A row can not be split: cut them into pieces that fit with "
                  "vectorize_kit.embedding.tokens.chunk_text (rows of their own), or pass "
                  "long_text='error' to refuse them." if table else
                  "Pass long_text='chunk' to split them into several documents, or 'error' to "
                  "refuse them.")
        super().__init__(
            f"{len(self.items)} $vectorize text(s) are longer than the {limit}-token limit of "
            f"{model} ({how}): {listed}{more}; the model embeds only their first {limit} "
            f"tokens. {advice}")

    def merged(self, other: TokenLimitWarning) -> TokenLimitWarning:
        return TokenLimitWarning(self.items + other.items, model=self.model, limit=self.limit,
                                 exact=self.exact and other.exact, table=self.table)
