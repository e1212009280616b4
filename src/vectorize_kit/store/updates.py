"""Update operators for collections (``reference/data-api.md`` §2.4).

``$set``, ``$setOnInsert``, ``$unset``, ``$inc``, ``$mul``, ``$min``, ``$max``, ``$rename``,
``$push`` (``$each``, ``$position``), ``$addToSet`` (``$each``), ``$pop``, ``$currentDate``.
``$vector``, ``$vectorize`` and ``$lexical`` take ``$set``, ``$setOnInsert`` and ``$unset``
only; ``_id`` takes none (but ``$setOnInsert``, which seeds an upsert).  Setting ``$vector``
alone drops ``$vectorize``; unsetting either drops both.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

from ..errors import DataAPIError
from ..values import MISSING, canon, is_number, lossless_floats, sort_key, vectorize_type_error
from .paths import PathConflict, get_exact, overlaps, set_path, split_path, unset_path
from .shred import check_operand

__all__ = ["Update", "VectorChange", "parse_update"]

OPERATORS = ("$set", "$setOnInsert", "$unset", "$inc", "$mul", "$min", "$max", "$rename",
             "$push", "$addToSet", "$pop", "$currentDate")
_VECTOR_OPS = ("$set", "$setOnInsert", "$unset")


@dataclass
class VectorChange:
    """What an update does to the vector: ``keep``, ``clear``, ``set`` (``value``: the raw
    ``$vector`` value) or ``vectorize`` (``value``: the text to embed)."""

    action: str = "keep"
    value: Any = None


def _param(message: str) -> DataAPIError:
    return DataAPIError("UNSUPPORTED_UPDATE_OPERATION_PARAM", message)


@dataclass
class Update:
    """A parsed update clause; :meth:`apply` returns the updated copy of a document."""

    ops: list[tuple[str, str, Any]]  # (operator, path, argument)

    def apply(
        self, doc: dict, *, inserting: bool, now: Callable[[], float] = time.time
    ) -> tuple[dict, VectorChange]:
        """Apply to a copy of ``doc``; ``inserting`` enables ``$setOnInsert``.

        Raises ``UNSUPPORTED_UPDATE_OPERATION_TARGET`` when a value has the wrong type and
        ``UNSUPPORTED_UPDATE_OPERATION_PATH`` when a path runs into a scalar.
        """
        out = copy.deepcopy(doc)
        vec = VectorChange()
        for op, path, arg in self.ops:
            if op == "$setOnInsert" and not inserting:
                continue
            if path in ("$vector", "$vectorize"):
                vec = self._vector_op(out, op, path, arg, vec)
                continue
            segs = split_path(path)
            try:
                _APPLY[op](out, segs, path, arg, now)
            except PathConflict as exc:
                raise DataAPIError(
                    "UNSUPPORTED_UPDATE_OPERATION_PATH",
                    f"Invalid update operation path '{path}': the segment '{exc.segment}' "
                    f"runs into a value that is not an object or array ({exc.value!r}).",
                ) from None
        return out, vec

    @staticmethod
    def _vector_op(out: dict, op: str, path: str, arg: Any, vec: VectorChange) -> VectorChange:
        if op == "$unset":
            out.pop("$vectorize", None)
            return VectorChange("clear")
        if path == "$vector":
            if vec.action != "vectorize":  # $set of $vector alone drops $vectorize
                out.pop("$vectorize", None)
            return VectorChange("clear") if arg is None else VectorChange("set", arg)
        # $vectorize
        if arg is not None and not isinstance(arg, str):
            raise vectorize_type_error(arg)
        if arg is None or not arg.strip():
            out["$vectorize"] = arg
            return VectorChange("clear")
        out["$vectorize"] = arg
        return VectorChange("vectorize", arg)


def _set(doc: dict, segs: tuple, path: str, arg: Any, now: Any) -> None:
    set_path(doc, segs, copy.deepcopy(arg))


def _unset(doc: dict, segs: tuple, path: str, arg: Any, now: Any) -> None:
    unset_path(doc, segs)


def _number_target(doc: dict, segs: tuple, path: str, op: str) -> Any:
    cur = get_exact(doc, segs)
    if cur is not MISSING and not is_number(cur):
        raise DataAPIError(
            "UNSUPPORTED_UPDATE_OPERATION_TARGET",
            f"Unsupported target for '{op}': the value at '{path}' is {cur!r}, not a number.",
        )
    return cur


def _arith(op: str, combine: Callable[[Any, Any], Any], start: Callable[[Any], Any]
           ) -> Callable[..., None]:
    def apply(doc: dict, segs: tuple, path: str, arg: Any, now: Any) -> None:
        cur = _number_target(doc, segs, path, op)
        try:
            result = start(arg) if cur is MISSING else combine(cur, arg)
        except ArithmeticError:  # OverflowError, or decimal's Overflow
            result = math.inf
        if not is_number(result):
            raise _param(
                f"'{op}' of {arg!r} on '{path}' ({cur!r}) gives a number out of range; "
                "numbers must stay finite."
            )
        set_path(doc, segs, result)

    return apply


def _exact(combine: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """``combine`` in exact decimal arithmetic when either number is a ``Decimal`` (a float
    taken at its shortest form: 0.1 is 0.1), as the Data API computes on ``BigDecimal``."""
    def apply(cur: Any, arg: Any) -> Any:
        if not isinstance(cur, Decimal) and not isinstance(arg, Decimal):
            return combine(cur, arg)
        with localcontext() as ctx:
            # enough digits for an exact sum or product (up to 400 of them)
            ctx.prec = min(max(_digits(cur) + _digits(arg), 28), 400)
            return lossless_floats(combine(_decimal(cur), _decimal(arg)))
    return apply


def _decimal(number: Any) -> Decimal:
    return Decimal(repr(number)) if isinstance(number, float) else Decimal(number)


def _digits(number: Any) -> int:
    sign, digits, exponent = _decimal(number).as_tuple()
    return len(digits) + abs(int(exponent))


_inc = _arith("$inc", _exact(lambda cur, arg: cur + arg), lambda arg: arg)
_mul = _arith("$mul", _exact(lambda cur, arg: cur * arg), lambda arg: 0)


def _minmax(pick_new: Callable[[tuple, tuple], bool]) -> Callable[..., None]:
    def apply(doc: dict, segs: tuple, path: str, arg: Any, now: Any) -> None:
        cur = get_exact(doc, segs)
        if cur is MISSING or pick_new(sort_key(arg), sort_key(cur)):
            set_path(doc, segs, copy.deepcopy(arg))

    return apply


def _rename(doc: dict, segs: tuple, path: str, arg: Any, now: Any) -> None:
    cur = get_exact(doc, segs)
    if cur is MISSING:
        return
    unset_path(doc, segs)
    set_path(doc, split_path(arg), cur)


def _array_target(doc: dict, segs: tuple, path: str, op: str) -> list | None:
    cur = get_exact(doc, segs)
    if cur is MISSING:
        return None
    if not isinstance(cur, list):
        raise DataAPIError(
            "UNSUPPORTED_UPDATE_OPERATION_TARGET",
            f"Unsupported target for '{op}': the value at '{path}' is {cur!r}, not an array.",
        )
    return cur


def _each(arg: Any) -> tuple[list, int | None]:
    if isinstance(arg, dict) and "$each" in arg:
        return list(arg["$each"]), arg.get("$position")
    return [arg], None


def _push(doc: dict, segs: tuple, path: str, arg: Any, now: Any) -> None:
    items, position = _each(copy.deepcopy(arg))
    cur = _array_target(doc, segs, path, "$push")
    if cur is None:
        set_path(doc, segs, items)
        return
    if position is None:
        cur.extend(items)
    else:
        at = position if position >= 0 else max(len(cur) + position, 0)
        cur[at:at] = items


def _add_to_set(doc: dict, segs: tuple, path: str, arg: Any, now: Any) -> None:
    items, _ = _each(copy.deepcopy(arg))
    cur = _array_target(doc, segs, path, "$addToSet")
    if cur is None:
        cur = []
        set_path(doc, segs, cur)
    keys = {canon(v) for v in cur}
    for item in items:
        key = canon(item)
        if key not in keys:
            cur.append(item)
            keys.add(key)


def _pop(doc: dict, segs: tuple, path: str, arg: Any, now: Any) -> None:
    cur = _array_target(doc, segs, path, "$pop")
    if cur:
        cur.pop(-1 if arg > 0 else 0)


def _current_date(doc: dict, segs: tuple, path: str, arg: Any, now: Any) -> None:
    set_path(doc, segs, {"$date": int(now() * 1000)})


_APPLY: dict[str, Callable[..., None]] = {
    "$set": _set,
    "$setOnInsert": _set,
    "$unset": _unset,
    "$inc": _inc,
    "$mul": _mul,
    "$min": _minmax(lambda new, cur: new < cur),
    "$max": _minmax(lambda new, cur: new > cur),
    "$rename": _rename,
    "$push": _push,
    "$addToSet": _add_to_set,
    "$pop": _pop,
    "$currentDate": _current_date,
}


def parse_update(clause: Any) -> Update:
    """Parse and check an update clause.

    Raises ``UNSUPPORTED_UPDATE_OPERATION``, ``UNSUPPORTED_UPDATE_OPERATION_PARAM``,
    ``UNSUPPORTED_UPDATE_OPERATION_PATH`` (overlapping paths),
    ``UNSUPPORTED_UPDATE_OPERATOR_FOR_DOC_ID``, ``..._FOR_VECTOR`` and ``..._FOR_VECTORIZE``.
    """
    if not isinstance(clause, dict) or not clause:
        raise DataAPIError(
            "UNSUPPORTED_UPDATE_OPERATION",
            f"The update clause must be a non-empty object of operators, such as "
            f"{{\"$set\": {{\"field\": 1}}}}; got {clause!r}.",
        )
    ops: list[tuple[str, str, Any]] = []
    seen: dict[str, str] = {}
    for op, body in clause.items():
        if op == "$pullAll" or op not in OPERATORS:
            raise DataAPIError(
                "UNSUPPORTED_UPDATE_OPERATION",
                f"Unsupported update operator '{op}'. Supported: " + ", ".join(OPERATORS) + ".",
            )
        if not isinstance(body, dict):
            raise _param(f"The value of update operator '{op}' must be an object, not {body!r}.")
        for path, arg in body.items():
            _check_path(op, path)
            _check_arg(op, path, arg)
            check_operand(arg, "UNSUPPORTED_UPDATE_OPERATION_PARAM", f"'{op}' of '{path}'")
            targets = [path] + ([arg] if op == "$rename" else [])
            for target in targets:
                for other, other_op in seen.items():
                    if overlaps(other, target):
                        raise DataAPIError(
                            "UNSUPPORTED_UPDATE_OPERATION_PATH",
                            f"Update operator path conflict due to overlap: '{other}' "
                            f"({other_op}) vs '{target}' ({op}). Use each path once.",
                        )
                seen[target] = op
            ops.append((op, path, arg))
    return Update(ops)


def _check_path(op: str, path: Any) -> None:
    if not isinstance(path, str) or not path:
        raise DataAPIError(
            "UNSUPPORTED_UPDATE_OPERATION_PATH", f"Invalid update path {path!r} for '{op}'."
        )
    if path == "_id" or path.startswith("_id."):
        if op == "$setOnInsert":
            return
        raise DataAPIError(
            "UNSUPPORTED_UPDATE_OPERATOR_FOR_DOC_ID",
            f"Cannot use operator '{op}' on '_id': a document's '_id' can not be changed.",
        )
    if path in ("$vector", "$vectorize"):
        if op not in _VECTOR_OPS:
            code = ("UNSUPPORTED_UPDATE_OPERATOR_FOR_VECTOR" if path == "$vector"
                    else "UNSUPPORTED_UPDATE_OPERATOR_FOR_VECTORIZE")
            raise DataAPIError(
                code,
                f"Cannot use operator '{op}' on '{path}'. Supported operators for {path} "
                "field are: $set, $setOnInsert, $unset.",
            )
        return
    if path == "$lexical":
        if op not in _VECTOR_OPS:
            raise DataAPIError(
                "UNSUPPORTED_UPDATE_OPERATOR_FOR_LEXICAL",
                f"The command used the update operator: {op}.\nSupported operators for "
                "$lexical field are: $set, $setOnInsert, $unset.\n\nResend the command using "
                "only supported update operators.",
            )
        return
    if any(seg.startswith("$") or not seg for seg in split_path(path)):
        raise DataAPIError(
            "UNSUPPORTED_UPDATE_OPERATION_PATH",
            f"Invalid update path '{path}' for '{op}': names must be non-empty and must not "
            "start with '$'.",
        )


def _check_arg(op: str, path: str, arg: Any) -> None:
    if op in ("$inc", "$mul") and not is_number(arg):
        raise _param(f"'{op}' needs a number for '{path}', not {arg!r}.")
    if op == "$rename":
        if not isinstance(arg, str) or not arg or arg == path or arg.startswith("$"):
            raise _param(f"'$rename' of '{path}' needs a different, non-empty field name.")
        if arg == "_id" or arg.startswith("_id."):
            raise DataAPIError(
                "UNSUPPORTED_UPDATE_OPERATOR_FOR_DOC_ID", "'$rename' can not target '_id'."
            )
    if op == "$pop" and arg not in (1, -1) or op == "$pop" and isinstance(arg, bool):
        raise _param(f"'$pop' needs 1 (last) or -1 (first) for '{path}', not {arg!r}.")
    if op == "$currentDate" and arg is not True and arg != {"$type": "date"}:
        raise _param(f"'$currentDate' needs true or {{\"$type\": \"date\"}} for '{path}'.")
    if op in ("$push", "$addToSet") and isinstance(arg, dict) and any(
        k.startswith("$") for k in arg
    ):
        allowed = {"$each", "$position"} if op == "$push" else {"$each"}
        if "$each" not in arg or not set(arg) <= allowed or not isinstance(arg["$each"], list):
            raise _param(
                f"'{op}' modifiers for '{path}' must be {sorted(allowed)} with '$each' an array."
            )
        pos = arg.get("$position")
        if pos is not None and (not isinstance(pos, int) or isinstance(pos, bool)):
            raise _param(f"'$position' for '{path}' must be an integer.")
