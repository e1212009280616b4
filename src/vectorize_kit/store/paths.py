"""Dotted paths into JSON documents (``"metadata.tags.0"``), with the Data API's escapes.

A literal dot in a field name is written ``&.`` and a literal ampersand ``&&``.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from ..values import MISSING

__all__ = ["get_exact", "resolve", "set_path", "split_path", "unset_path"]


def overlaps(a: str, b: str) -> bool:
    """Whether two dotted paths are the same or one lies inside the other."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


@lru_cache(maxsize=4096)
def split_path(path: str) -> tuple[str, ...]:
    """The segments of a dotted path; ``&.`` and ``&&`` escape a dot and an ampersand."""
    if "&" not in path:
        return tuple(path.split("."))
    parts, cur, i = [], [], 0
    while i < len(path):
        c = path[i]
        if c == "&" and i + 1 < len(path) and path[i + 1] in ".&":
            cur.append(path[i + 1])
            i += 2
            continue
        if c == ".":
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    return tuple(parts)


def _is_index(segment: str) -> bool:
    return segment.isdigit() and (segment == "0" or not segment.startswith("0"))


def resolve(doc: Any, segments: tuple[str, ...]) -> Iterator[Any]:
    """Every value a path reaches, Mongo-style: a name segment applied to an array reaches
    into each of its objects; a numeric segment indexes the array."""
    if not segments:
        yield doc
        return
    head, rest = segments[0], segments[1:]
    if isinstance(doc, dict):
        if head in doc:
            yield from resolve(doc[head], rest)
    elif isinstance(doc, list):
        if _is_index(head):
            idx = int(head)
            if idx < len(doc):
                yield from resolve(doc[idx], rest)
        for item in doc:
            if isinstance(item, dict):
                yield from resolve(item, segments)


def get_exact(doc: Any, segments: tuple[str, ...]) -> Any:
    """The single value at a path without reaching through arrays by name, or MISSING."""
    cur = doc
    for seg in segments:
        if isinstance(cur, dict):
            if seg not in cur:
                return MISSING
            cur = cur[seg]
        elif isinstance(cur, list) and _is_index(seg):
            idx = int(seg)
            if idx >= len(cur):
                return MISSING
            cur = cur[idx]
        else:
            return MISSING
    return cur


class PathConflict(Exception):
    """A path runs into a value that is neither an object nor an array."""

    def __init__(self, segment: str, value: Any) -> None:
        self.segment = segment
        self.value = value
        super().__init__(segment)


def set_path(doc: dict, segments: tuple[str, ...], value: Any) -> None:
    """Set the value at a path, creating objects on the way (arrays are padded with nulls)."""
    cur: Any = doc
    for i, seg in enumerate(segments):
        last = i == len(segments) - 1
        if isinstance(cur, dict):
            if last:
                cur[seg] = value
                return
            if seg not in cur or cur[seg] is None:
                cur[seg] = {}
            nxt = cur[seg]
        elif isinstance(cur, list) and _is_index(seg):
            idx = int(seg)
            if idx >= len(cur):
                cur.extend([None] * (idx + 1 - len(cur)))
            if last:
                cur[idx] = value
                return
            if cur[idx] is None:
                cur[idx] = {}
            nxt = cur[idx]
        else:
            raise PathConflict(seg, cur)
        if not isinstance(nxt, (dict, list)):
            raise PathConflict(segments[i + 1], nxt)
        cur = nxt


def unset_path(doc: dict, segments: tuple[str, ...]) -> bool:
    """Remove the value at a path (an array element becomes null); whether anything changed."""
    parent = get_exact(doc, segments[:-1]) if len(segments) > 1 else doc
    last = segments[-1]
    if isinstance(parent, dict) and last in parent:
        del parent[last]
        return True
    if isinstance(parent, list) and _is_index(last) and int(last) < len(parent):
        if parent[int(last)] is None:
            return False
        parent[int(last)] = None
        return True
    return False
