"""Shared pieces of the dispatcher: results, the envelope, command and option checks."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from .. import limits
from ..errors import DataAPIError

__all__ = [
    "READ_COMMANDS",
    "Result",
    "check_fields",
    "decode_page",
    "encode_page",
    "get_bool",
    "get_int",
    "logger",
    "unwrap",
]

logger = logging.getLogger("vectorize_kit")

#: The commands that change nothing (a read-only token or workspace may run them).
READ_COMMANDS = frozenset({
    "find", "findOne", "countDocuments", "estimatedDocumentCount", "findCollections",
    "listTables", "listIndexes", "findKeyspaces", "findEmbeddingProviders", "listTypes",
    "findAndRerank", "findRerankingProviders",
})


@dataclass
class Result:
    """What a command produced: the envelope's ``status``, ``data`` and ``errors``."""

    status: dict | None = None
    data: dict | None = None
    errors: list[DataAPIError] = field(default_factory=list)

    def envelope(self) -> dict:
        """The Data API response: keys are left out when empty (``data`` when ``None``)."""
        out: dict[str, Any] = {}
        if self.data is not None:
            out["data"] = self.data
        if self.status:
            out["status"] = self.status
        if self.errors:
            out["errors"] = [e.to_dict() for e in self.errors]
        return out


def unwrap(command: Any) -> tuple[str, dict]:
    """The name and body of ``{"<name>": {...}}``."""
    if not isinstance(command, dict):
        raise DataAPIError(
            "REQUEST_NOT_JSON",
            f"Request is not a JSON object with one command, e.g. {{\"find\": {{}}}}; got "
            f"{type(command).__name__}.",
        )
    if len(command) != 1:
        raise DataAPIError(
            "COMMAND_UNKNOWN",
            f"A request must hold exactly one command; got {len(command)}: "
            f"{sorted(map(str, command))}.",
        )
    ((name, body),) = command.items()
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise DataAPIError(
            "COMMAND_FIELD_VALUE_INVALID",
            f"The body of command '{name}' must be a JSON object, not {body!r}.",
        )
    return name, body


def check_fields(command: str, body: dict, allowed: tuple[str, ...], where: str = "") -> None:
    """``COMMAND_FIELD_UNKNOWN`` for any key of ``body`` that is not in ``allowed``."""
    for key in body:
        if key not in allowed:
            prefix = f"{where}." if where else ""
            raise DataAPIError(
                "COMMAND_FIELD_UNKNOWN",
                f"Command field '{prefix}{key}' is unknown for command '{command}'. "
                f"Known fields: {', '.join(allowed) or 'none'}.",
            )


def field_invalid(path: str, value: Any, why: str) -> DataAPIError:
    shown = f'"{value}"' if isinstance(value, str) else json.dumps(value, default=str)
    return DataAPIError(
        "COMMAND_FIELD_VALUE_INVALID",
        f"Command field '{path}' value {shown} not valid: {why}.",
    )


def get_options(command: str, body: dict, allowed: tuple[str, ...]) -> dict:
    options = body.get("options")
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise field_invalid("command.options", options, "must be a JSON object")
    check_fields(command, options, allowed, "options")
    return options


def get_bool(options: dict, key: str, default: bool = False) -> bool:
    value = options.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise field_invalid(f"command.options.{key}", value, "must be a boolean")
    return value


def get_int(options: dict, key: str, *, minimum: int) -> int | None:
    value = options.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise field_invalid(f"command.options.{key}", value, "must be an integer")
    if value < minimum:
        why = f"{key} should be greater than {'or equal to ' if minimum == 0 else ''}`0`"
        raise field_invalid(f"command.options.{key}", value, why)
    return value


def insert_many_request(body: dict, noun: str) -> tuple[list, bool, bool]:
    """An insertMany's ``documents`` (``noun``: documents or rows), ``ordered`` and
    ``returnDocumentResponses``, checked."""
    check_fields("insertMany", body, ("documents", "options"))
    options = get_options("insertMany", body, ("ordered", "returnDocumentResponses"))
    docs = body.get("documents")
    if not isinstance(docs, list) or not docs:
        raise DataAPIError(
            "COMMAND_FIELD_VALUE_INVALID",
            f"Command field 'command.documents' not valid: must be a non-empty array of "
            f"{noun}.",
        )
    if len(docs) > limits.MAX_INSERT_MANY:
        raise DataAPIError(
            "COMMAND_FIELD_VALUE_INVALID",
            f"Command field 'command.documents' not valid: amount of {noun} to insert is over "
            f"the max limit ({len(docs)} vs {limits.MAX_INSERT_MANY}). Send them in chunks of "
            f"at most {limits.MAX_INSERT_MANY} (insert_many does this for you).",
        )
    return docs, get_bool(options, "ordered"), get_bool(options, "returnDocumentResponses")


def count_result(n: int) -> Result:
    """countDocuments' answer: the count, capped at 1000 with ``moreData``."""
    if n > limits.MAX_COUNT:
        return Result(status={"count": limits.MAX_COUNT, "moreData": True})
    return Result(status={"count": n})


def encode_page(state: dict) -> str:
    """An opaque page state."""
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()


def decode_page(value: Any, kind: str, fields: tuple[str, ...]) -> dict:
    """Read a page state made by :func:`encode_page` for the same kind of command, holding
    the non-negative integer ``fields``."""
    try:
        state = json.loads(base64.urlsafe_b64decode(value.encode()))
        if not isinstance(state, dict) or state.get("k") != kind:
            raise ValueError
        for name in fields:
            number = state.get(name)
            if isinstance(number, bool) or not isinstance(number, int) or number < -1:
                raise ValueError
        return state
    except (ValueError, AttributeError, TypeError, UnicodeError):
        raise field_invalid(
            "command.options.pageState", value,
            "not a page state returned by this command; resend the 'nextPageState' value "
            "unchanged",
        ) from None
