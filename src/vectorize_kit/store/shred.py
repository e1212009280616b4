"""Document rules: field names, EJSON values, ``_id`` types and generation, document limits.

This is what the Data API calls shredding: the checks a document passes before it is stored
(``reference/data-api.md`` §2.2 and §2.3).
"""

from __future__ import annotations

import itertools
import os
import re
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .. import limits
from ..errors import DataAPIError
from ..values import EJSON_KEYS, NUMBER_TYPES, dumps, is_ejson, is_number, json_type_name

__all__ = [
    "RESERVED_FIELDS",
    "Indexing",
    "check_doc_id",
    "check_document",
    "check_operand",
    "new_doc_id",
]

RESERVED_FIELDS = ("$vector", "$vectorize", "$lexical")
ID_TYPES = ("objectId", "uuid", "uuidv6", "uuidv7")
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
                      r"[0-9a-fA-F]{12}")
_OID_RE = re.compile(r"[0-9a-fA-F]{24}")


@dataclass(frozen=True)
class Indexing:
    """Which paths are indexed: ``allow`` or ``deny`` lists, as in createCollection options.

    Filtering and sorting work on indexed paths only, and the string, array and object size
    limits apply only to them.  ``_id`` is always indexed.
    """

    allow: tuple[str, ...] | None = None
    deny: tuple[str, ...] | None = None

    def is_indexed(self, path: str) -> bool:
        """Whether a dotted path is indexed."""
        if path == "_id":
            return True
        if self.allow is not None:
            return "*" in self.allow or any(_covers(p, path) for p in self.allow)
        if self.deny is not None:
            return not ("*" in self.deny or any(_covers(p, path) for p in self.deny))
        return True

    def is_ancestor_of_indexed(self, path: str) -> bool:
        """Whether some indexed path lies below ``path`` (objects on the way are indexed)."""
        if self.allow is None or "*" in self.allow:
            return self.is_indexed(path)
        return self.is_indexed(path) or any(p.startswith(path + ".") for p in self.allow)


def _covers(rule: str, path: str) -> bool:
    return path == rule or path.startswith(rule + ".")


def _violation(message: str) -> DataAPIError:
    return DataAPIError(
        "SHRED_DOC_LIMIT_VIOLATION",
        f"Document size limitation violated: {message}. Resend a smaller document, or leave "
        "large fields out of indexing with the collection's 'indexing' option.",
    )


def check_doc_id(value: Any) -> Any:
    """Return ``value`` if it may be a document ``_id``, else raise ``SHRED_BAD_DOCID_TYPE``."""
    if value is None or isinstance(value, (str, bool, *NUMBER_TYPES)):
        if isinstance(value, str) and not value:
            raise DataAPIError(
                "SHRED_BAD_DOCID_TYPE",
                "Document Id must not be an empty String. Resend with a non-empty '_id'.",
            )
        return value
    if is_ejson(value):
        _check_ejson(value, "_id")
        return value
    kind = "Array" if isinstance(value, list) else "Object"
    raise DataAPIError(
        "SHRED_BAD_DOCID_TYPE",
        "Document Id must be a JSON String, Number, Boolean, EJSON-Encoded Date, UUID or "
        f"ObjectId Object or NULL instead got {kind}: {dumps(value)[:100]}.",
    )


def check_operand(value: Any, code: str, where: str) -> None:
    """Check a value given to a filter or update operator: EJSON wrappers must be well
    formed and numbers finite. Raises ``code`` with a message naming ``where``."""
    if isinstance(value, (float, Decimal)) and not is_number(value):
        raise DataAPIError(code, f"The value for {where} is {value}, which is not a JSON "
                                 "number; use a finite number or null.")
    if isinstance(value, list):
        for item in value:
            check_operand(item, code, where)
    elif isinstance(value, dict):
        if is_ejson(value):
            try:
                _check_ejson(value, where)
            except DataAPIError as exc:
                raise DataAPIError(code, exc.message) from None
        else:
            for item in value.values():
                check_operand(item, code, where)


def _check_ejson(value: dict, path: str) -> None:
    ((key, inner),) = value.items()
    ok = (
        (key == "$date" and isinstance(inner, int) and not isinstance(inner, bool))
        or (key == "$uuid" and isinstance(inner, str) and _UUID_RE.fullmatch(inner))
        or (key == "$objectId" and isinstance(inner, str) and _OID_RE.fullmatch(inner))
    )
    if not ok:
        expected = {"$date": "an integer (milliseconds since the epoch)",
                    "$uuid": "a UUID string", "$objectId": "a 24-character hex string"}[key]
        raise DataAPIError(
            "SHRED_BAD_EJSON_VALUE",
            f"Bad EJSON value at '{path}': {{\"{key}\": {dumps(inner)}}}; the value of "
            f"'{key}' must be {expected}.",
        )


def check_document(doc: Any, *, indexing: Indexing, position: int | None = None) -> dict:
    """Validate a document to be stored; return it with ``_id`` (if any) moved first.

    ``$vector``, ``$vectorize`` and ``$lexical`` are allowed at the top level only.  Raises
    ``SHRED_BAD_DOCUMENT_TYPE``, ``SHRED_BAD_FIELD_NAME``, ``SHRED_BAD_EJSON_VALUE``,
    ``SHRED_BAD_DOCID_TYPE`` or ``SHRED_DOC_LIMIT_VIOLATION``.
    """
    if not isinstance(doc, dict):
        where = "" if position is None else f" (document at position {position})"
        raise DataAPIError(
            "SHRED_BAD_DOCUMENT_TYPE",
            f"Document to insert must be a JSON Object, instead got "
            f"{json_type_name(doc)}{where}.",
        )
    if "_id" in doc:
        check_doc_id(doc["_id"])
        doc = {"_id": doc["_id"], **{k: v for k, v in doc.items() if k != "_id"}}
    counter = itertools.count(1)
    size = 2 + max(len(doc) - 1, 0)  # braces and commas of the serialized JSON
    for key, value in doc.items():
        size += len(key) + 3
        if key == "$vector":
            continue  # stored apart, as float32
        if key in RESERVED_FIELDS or key == "_id":
            size += _json_len(value)
            continue
        size += _check_value(key, value, key, 1, indexing, counter)
    if size > limits.MAX_DOC_CHARS:
        raise _violation(
            f"document size ({size} chars) exceeds maximum allowed ({limits.MAX_DOC_CHARS})"
        )
    return doc


def _json_len(value: Any) -> int:
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, NUMBER_TYPES) and not isinstance(value, bool):
        return len(str(value))
    return len(dumps(value))


def _check_name(name: str, path: str) -> None:
    if not name:
        raise DataAPIError(
            "SHRED_BAD_FIELD_NAME",
            f"Document field name invalid: field name '' is empty (path '{path}'). "
            "Rename the field.",
        )
    if name.startswith("$"):
        raise DataAPIError(
            "SHRED_BAD_FIELD_NAME",
            f"Document field name invalid: field name '{name}' starts with '$' (path "
            f"'{path}'). Only the top-level fields $vector, $vectorize and $lexical may start "
            "with '$'.",
        )


def _check_value(
    name: str,
    value: Any,
    path: str,
    depth: int,
    indexing: Indexing,
    counter: Any,
    *,
    element: bool = False,
) -> int:
    # ``element``: an array element, which is a value but not a property of its own
    _check_name(name, path)
    if len(path) > limits.MAX_PATH_LENGTH:
        raise _violation(
            f"field path length ({len(path)}) exceeds maximum allowed "
            f"({limits.MAX_PATH_LENGTH}) (path ends with '{path[-20:]}')"
        )
    if depth > limits.MAX_DOC_DEPTH:
        raise _violation(f"document depth exceeds maximum allowed ({limits.MAX_DOC_DEPTH})")
    indexed = indexing.is_indexed(path)
    if indexed and not element and next(counter) > limits.MAX_INDEXED_PROPERTIES:
        raise _violation(
            "total number of indexed properties in document exceeds maximum allowed "
            f"({limits.MAX_INDEXED_PROPERTIES})"
        )
    # Returns the value's length as serialized JSON (escapes aside), for the size limit.
    if value is None or value is True:
        return 4
    if value is False:
        return 5
    if isinstance(value, NUMBER_TYPES):
        if not is_number(value):
            raise DataAPIError(
                "SHRED_BAD_DOCUMENT_TYPE",
                f"Field '{path}' holds {value}, which is not a JSON number; use a finite "
                "number or null.",
            )
        text = str(value)
        if len(text) > limits.MAX_NUMBER_CHARS:
            raise _violation(
                f"number value length ({len(text)}) exceeds the maximum allowed "
                f"({limits.MAX_NUMBER_CHARS}) (field '{path}')"
            )
        return len(text)
    if isinstance(value, str):
        if indexed and len(value) * 4 > limits.MAX_STRING_BYTES:  # cheap test first
            nbytes = len(value.encode("utf-8"))
            if nbytes > limits.MAX_STRING_BYTES:
                raise _violation(
                    f"indexed String value (field '{path}') length ({nbytes} bytes) exceeds "
                    f"maximum allowed ({limits.MAX_STRING_BYTES} bytes)"
                )
        return len(value) + 2
    if isinstance(value, list):
        if indexed and len(value) > limits.MAX_ARRAY_LENGTH:
            raise _violation(
                f"number of elements an indexable Array (field '{path}') has ({len(value)}) "
                f"exceeds maximum allowed ({limits.MAX_ARRAY_LENGTH})"
            )
        size = 2 + max(len(value) - 1, 0)
        for item in value:
            if isinstance(item, dict) and not is_ejson(item):
                size += 2 + max(len(item) - 1, 0)
                for k, v in item.items():
                    size += len(k) + 3 + _check_value(
                        k, v, f"{path}.{k}", depth + 2, indexing, counter)
            elif isinstance(item, dict):
                _check_ejson_or_name(item, path)
                size += _json_len(item)
            else:
                size += _check_value("_", item, path, depth + 1, indexing, counter,
                                     element=True)
        return size
    if isinstance(value, dict):
        if value and next(iter(value)) in EJSON_KEYS:
            _check_ejson_or_name(value, path)
            return _json_len(value)
        if indexed and len(value) > limits.MAX_OBJECT_PROPERTIES:
            raise _violation(
                f"number of properties an indexable Object (field '{path}') has "
                f"({len(value)}) exceeds maximum allowed ({limits.MAX_OBJECT_PROPERTIES})"
            )
        size = 2 + max(len(value) - 1, 0)
        for k, v in value.items():
            size += len(k) + 3 + _check_value(k, v, f"{path}.{k}", depth + 1, indexing, counter)
        return size
    raise DataAPIError(
        "SHRED_BAD_DOCUMENT_TYPE",
        f"Field '{path}' holds a {type(value).__name__}, which is not a JSON value.",
    )


def _check_ejson_or_name(value: dict, path: str) -> None:
    if len(value) != 1:
        bad = next(k for k in value if k.startswith("$"))
        _check_name(bad, path)
    _check_ejson(value, path)


# --- _id generation -------------------------------------------------------------------------

_oid_counter = itertools.count(int.from_bytes(os.urandom(3), "big"))
_oid_machine = os.urandom(5)


def new_doc_id(id_type: str | None) -> Any:
    """A new ``_id`` for the collection's ``defaultId`` type (a UUIDv4 string by default)."""
    if id_type is None:
        return str(uuid.uuid4())
    if id_type == "uuid":
        return {"$uuid": str(uuid.uuid4())}
    if id_type == "uuidv7":
        return {"$uuid": str(_uuid7())}
    if id_type == "uuidv6":
        return {"$uuid": str(_uuid6())}
    if id_type == "objectId":
        ts = int(time.time()).to_bytes(4, "big")
        count = (next(_oid_counter) & 0xFFFFFF).to_bytes(3, "big")
        return {"$objectId": (ts + _oid_machine + count).hex()}
    raise ValueError(id_type)


def _uuid7() -> uuid.UUID:
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80 | (0x7 << 76) | ((rand >> 62) & 0xFFF) << 64
    value |= (0b10 << 62) | (rand & ((1 << 62) - 1))
    return uuid.UUID(int=value)


def _uuid6() -> uuid.UUID:
    # RFC 9562: the v1 timestamp reordered most significant bits first.
    ts = time.time_ns() // 100 + 0x01B21DD213814000
    high, mid, low = (ts >> 28) & 0xFFFFFFFF, (ts >> 12) & 0xFFFF, ts & 0x0FFF
    rand = int.from_bytes(os.urandom(8), "big")
    value = high << 96 | mid << 80 | (0x6 << 76) | low << 64
    value |= (0b10 << 62) | (rand & ((1 << 62) - 1))
    return uuid.UUID(int=value)
