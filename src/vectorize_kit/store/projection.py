"""Projections: which fields of a document a read returns (``reference/data-api.md`` §2.5).

- Inclusion (``1``/``true``/non-zero) or exclusion (``0``/``false``), never mixed; ``_id`` is
  included unless excluded and does not decide the mode.
- ``{"*": 1}`` returns everything, ``{"*": 0}`` nothing.
- ``$vector`` and ``$vectorize`` are left out unless named with a true value (or ``"*": 1``);
  naming only them keeps exclusion mode, so the whole document comes back with them.
- ``{"field": {"$slice": n | [skip, n]}}`` cuts arrays, in either mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..errors import DataAPIError
from ..values import NUMBER_TYPES
from .paths import overlaps, split_path

__all__ = ["Projection", "parse_projection"]

_SPECIAL = ("$vector", "$vectorize", "$lexical")
_SCALARS = frozenset({str, int, float, bool, type(None)})  # immutable: shared, not copied


def _bad(message: str) -> DataAPIError:
    return DataAPIError("UNSUPPORTED_PROJECTION_PARAM", message)


@dataclass
class Projection:
    """A parsed projection; :meth:`apply` builds the returned document."""

    include: bool = False  # inclusion mode
    everything: bool = False  # {"*": 1}
    nothing: bool = False  # {"*": 0}
    paths: list[tuple[str, ...]] = field(default_factory=list)
    slices: dict[tuple[str, ...], tuple[int, int | None]] = field(default_factory=dict)
    id_excluded: bool = False
    special: set[str] = field(default_factory=set)  # $vector/$vectorize asked for

    @cached_property
    def wants_vector(self) -> bool:
        return self.everything or "$vector" in self.special

    @cached_property
    def _dropped(self) -> frozenset[str]:
        """The top-level fields an exclusion drops besides its paths."""
        return frozenset({n for n in _SPECIAL if n not in self.special}
                         | ({"_id"} if self.id_excluded else set()))

    def apply(self, doc: dict, vector: list[float] | None) -> dict:
        """The projected copy of ``doc``; ``vector`` is its ``$vector`` (stored apart)."""
        if self.nothing:
            return {}
        if self.everything:
            out = _clone(doc)
        elif self.include:
            out = {}
            if "_id" in doc and not self.id_excluded:
                out["_id"] = doc["_id"]
            for segs in [*self.paths, *self.slices]:
                _copy_path(doc, out, segs)
            for name in self.special:
                if name in doc:
                    out[name] = doc[name]
        else:
            out = self._exclude(doc)
            for segs in self.paths:
                _drop_path(out, segs)
        for segs, (skip, count) in self.slices.items():
            _slice_path(out, segs, skip, count)
        if vector is not None and self.wants_vector:
            out["$vector"] = vector
        return out

    def apply_many(self, docs: list[dict]) -> list[dict]:
        """:meth:`apply` to each of ``docs``, without vectors (one pass for the common
        projections: all fields but a few)."""
        if self.include or self.everything or self.nothing or self.paths or self.slices:
            return [self.apply(doc, None) for doc in docs]
        exclude = self._exclude
        return [exclude(doc) for doc in docs]

    def _exclude(self, doc: dict) -> dict:
        dropped = self._dropped
        return {k: v if type(v) in _SCALARS else _clone(v) for k, v in doc.items()
                if k not in dropped}


#: The projection of most reads (shared: a parsed projection is never changed).
_DEFAULT = Projection()


def _clone(value: Any) -> Any:
    """A copy of a JSON value (its objects and arrays new; scalars are immutable)."""
    if type(value) in _SCALARS:  # the most common case first
        return value
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value


def parse_projection(clause: Any) -> Projection:
    """Parse a projection clause (``None`` or ``{}``: everything but ``$vector``/``$vectorize``).

    Raises ``UNSUPPORTED_PROJECTION_PARAM`` for mixed modes, overlapping paths and bad values.
    """
    if clause is None or clause == {}:
        return _DEFAULT
    proj = Projection()
    if not isinstance(clause, dict):
        raise _bad(f"The projection must be a JSON object, not {clause!r}.")
    modes: set[bool] = set()
    seen: list[str] = []
    for path, value in clause.items():
        if isinstance(value, dict):
            if set(value) != {"$slice"}:
                raise _bad(
                    f"Unsupported projection for '{path}': {value!r}; only {{'$slice': ...}} "
                    "is supported as an object value."
                )
            proj.slices[split_path(path)] = _parse_slice(path, value["$slice"])
            continue
        if isinstance(value, (bool, *NUMBER_TYPES)):
            flag = bool(value)
        else:
            raise _bad(
                f"Unsupported projection value for '{path}': {value!r}; use 1/true to include "
                "or 0/false to exclude."
            )
        if path == "*":
            if len(clause) != 1:
                raise _bad("The wildcard '*' must be the only projection path.")
            proj.everything, proj.nothing = flag, not flag
            return proj
        if path == "_id":
            proj.id_excluded = not flag
            continue
        if path in _SPECIAL:
            if flag:
                proj.special.add(path)
            continue
        for other in seen:
            if overlaps(other, path):
                raise _bad(
                    f"Unsupported projection: paths '{other}' and '{path}' overlap; keep one."
                )
        seen.append(path)
        modes.add(flag)
        proj.paths.append(split_path(path))
    if len(modes) > 1:
        raise _bad(
            "A projection can not mix inclusions and exclusions (other than '_id'): "
            f"{clause!r}."
        )
    proj.include = modes == {True}
    return proj


def _parse_slice(path: str, arg: Any) -> tuple[int, int | None]:
    def is_int(x: Any) -> bool:
        return isinstance(x, int) and not isinstance(x, bool)

    if is_int(arg):
        return (arg, None) if arg < 0 else (0, arg)
    if isinstance(arg, list) and len(arg) == 2 and all(is_int(x) for x in arg) and arg[1] > 0:
        return arg[0], arg[1]
    raise _bad(
        f"Unsupported '$slice' for '{path}': {arg!r}; use a number n, or [skip, n] with n > 0."
    )


def _copy_path(src: Any, dst: dict, segs: tuple[str, ...]) -> None:
    head, rest = segs[0], segs[1:]
    if not isinstance(src, dict) or head not in src:
        return
    value = src[head]
    if not rest:
        dst[head] = _clone(value)
        return
    if isinstance(value, dict):
        sub = dst.setdefault(head, {})
        if isinstance(sub, dict):
            _copy_path(value, sub, rest)
    elif isinstance(value, list):
        items = dst.setdefault(head, [{} for _ in value])
        for item, target in zip(value, items):
            if isinstance(item, dict) and isinstance(target, dict):
                _copy_path(item, target, rest)


def _drop_path(doc: Any, segs: tuple[str, ...]) -> None:
    head, rest = segs[0], segs[1:]
    if isinstance(doc, list):
        for item in doc:
            _drop_path(item, segs)
        return
    if not isinstance(doc, dict) or head not in doc:
        return
    if not rest:
        del doc[head]
    else:
        _drop_path(doc[head], rest)


def _slice_path(doc: Any, segs: tuple[str, ...], skip: int, count: int | None) -> None:
    head, rest = segs[0], segs[1:]
    if not isinstance(doc, dict) or head not in doc:
        return
    if rest:
        _slice_path(doc[head], rest, skip, count)
        return
    value = doc[head]
    if not isinstance(value, list):
        return
    if count is None:  # negative n: the last n
        doc[head] = value[skip:]
    else:
        start = skip if skip >= 0 else max(len(value) + skip, 0)
        doc[head] = value[start : start + count]
