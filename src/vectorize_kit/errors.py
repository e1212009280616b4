"""The one error type of vectorize_kit, carrying the Data API's own error codes.

Every failure a user can cause is a :class:`DataAPIError` whose ``error_code`` is the code the
Astra DB Data API uses for the same mistake (see ``reference/data-api.md``).  The JSON and HTTP
front doors turn it into the Data API error object with :meth:`DataAPIError.to_dict`; the
Pythonic API raises it.
"""

from __future__ import annotations

import uuid
from typing import Any

__all__ = ["CODES", "DataAPIError", "error_object"]

# code -> (family, scope, title). Titles are fixed per code, as in the Data API's errors.yaml.
CODES: dict[str, tuple[str, str, str]] = {
    # request shape
    "REQUEST_NOT_JSON": ("REQUEST", "", "Request is not valid JSON"),
    "COMMAND_UNKNOWN": ("REQUEST", "", "Provided command unknown"),
    "COMMAND_FIELD_UNKNOWN": ("REQUEST", "", "Provided command field unknown"),
    "COMMAND_FIELD_VALUE_INVALID": ("REQUEST", "", "Provided command field value invalid"),
    # schema objects
    "UNSUPPORTED_SCHEMA_NAME": ("REQUEST", "SCHEMA", "Schema name is not supported"),
    "UNKNOWN_KEYSPACE": ("REQUEST", "SCHEMA", "The keyspace does not exist"),
    "UNKNOWN_COLLECTION_OR_TABLE": (
        "REQUEST", "SCHEMA", "The Collection or Table does not exist"),
    "UNSUPPORTED_COLLECTION_COMMAND": (
        "REQUEST", "SCHEMA", "Command is not supported for collections"),
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
    "WORKSPACE_CLOSED": ("REQUEST", "DATABASE", "The workspace is closed"),
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
    # server side
    "SERVER_UNHANDLED_ERROR": ("SERVER", "", "Unexpected server error"),
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
    ) -> None:
        family, scope, title = CODES.get(error_code, ("REQUEST", "", error_code))
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
                 exact: bool, query: bool = False) -> None:
        self.items = list(items)
        self.model = model
        self.limit = limit
        self.exact = exact
        self.query = query
        how = ("exact counts" if exact
               else "estimated counts: this model's tokenizer is not available offline")
        listed = ", ".join(f"{label} ({n} tokens)" for label, n in self.items[:20])
        more = f" and {len(self.items) - 20} more" if len(self.items) > 20 else ""
        advice = ("Shorten the search text." if query else
                  "Pass long_text='chunk' to split them into several documents, or 'error' to "
                  "refuse them.")
        super().__init__(
            f"{len(self.items)} $vectorize text(s) are longer than the {limit}-token limit of "
            f"{model} ({how}): {listed}{more}; the model embeds only their first {limit} "
            f"tokens. {advice}")

    def merged(self, other: TokenLimitWarning) -> TokenLimitWarning:
        return TokenLimitWarning(self.items + other.items, model=self.model, limit=self.limit,
                                 exact=self.exact and other.exact)
