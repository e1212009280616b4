"""User-defined types (``reference/data-api.md`` §3.1): createType, alterType, dropType and
listTypes on a keyspace.

A type is a named list of scalar fields.  Tables use it as a column (``{"type":
"userDefined", "udtName": ...}``) or as the values of a list, set or map; each table's schema
keeps the type's definition, which alterType makes current in every table using it.  The
keyspace's types are one catalogue file, replaced atomically; an alterType interrupted
between that file and the tables is completed when the workspace is opened again.
"""

from __future__ import annotations

from typing import Any

from .. import limits
from ..errors import DataAPIError
from ..names import check_schema_name
from ..store.columns import SCALAR_TYPES, UDT_FIELD_TYPES, UdtType, cql_name
from .core import Result, check_fields, field_invalid, get_bool, get_options
from .state import DatabaseState, TableState

__all__ = ["TYPE_COMMANDS"]


def _fields(spec: Any, where: str) -> list[tuple[str, str]]:
    """``{"fields": {name: type}}`` checked: (name, scalar type) in order."""
    if not isinstance(spec, dict):
        raise field_invalid(f"command.{where}", spec, "must be an object with 'fields'")
    fields = spec.get("fields")
    check_fields("createType" if where == "definition" else "alterType", spec, ("fields",),
                 where)
    if not fields:
        raise DataAPIError(
            "MISSING_FIELDS_FOR_TYPE_CREATION",
            "The type definition must have at least one field.\n\nResend the command "
            "providing at least one field.")
    if not isinstance(fields, dict):
        raise field_invalid(f"command.{where}.fields", fields,
                            "must be an object of field name -> type")
    out, bad = [], []
    for name, field in fields.items():
        if not name:
            raise field_invalid(f"command.{where}.fields", name, "field names are not empty")
        type_name = field.get("type") if isinstance(field, dict) else field
        if isinstance(field, dict) and set(field) != {"type"} and type_name in SCALAR_TYPES:
            raise field_invalid(f"command.{where}.fields.{name}", field,
                                "a field is a type name or {\"type\": <name>}")
        if type_name in UDT_FIELD_TYPES:
            out.append((name, type_name))
        else:
            bad.append(type_name if isinstance(type_name, str) else repr(field))
    if bad:
        raise DataAPIError(
            "UNSUPPORTED_TYPE_FIELDS",
            f"The command attempted to create a user defined type with field definitions "
            f"that use unsupported types.\n\nThe supported field data types are: "
            f"{', '.join(UDT_FIELD_TYPES)}.\nThe command used the unsupported types: "
            f"{', '.join(bad)}.\n\nResend the command using only supported field data types.")
    return out


def _type_name(body: dict) -> str:
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise field_invalid("command.name", name, "must not be empty")
    return name


def create_type(db: DatabaseState, keyspace: str | None, body: dict) -> Result:
    check_fields("createType", body, ("name", "definition", "options"))
    name = check_schema_name(_type_name(body), "Udt")
    if_not_exists = get_bool(get_options("createType", body, ("ifNotExists",)), "ifNotExists")
    fields = _fields(body.get("definition"), "definition")
    ks_name = keyspace or limits.DEFAULT_KEYSPACE
    with db.lock:
        types = db.types_of(keyspace)
        if name in types:
            if if_not_exists:  # as CQL's IF NOT EXISTS: the existing type is kept as it is
                return Result(status={"ok": 1})
            raise DataAPIError(
                "CANNOT_ADD_EXISTING_TYPE",
                f"The command attempted to add a type that already exists in the keyspace "
                f"schema.\n\nThe command attempted to add the existing type: "
                f"{cql_name(name)}.\n\nResend the command using a type name that does not exist "
                "in the keyspace, or with \"ifNotExists\": true.")
        types[name] = UdtType(name, tuple(fields))
        db.save_types(ks_name)
    return Result(status={"ok": 1})


def _unknown_type(name: str, action: str, types: dict) -> DataAPIError:
    code = "CANNOT_DROP_UNKNOWN_TYPE" if action == "drop" else "CANNOT_ALTER_UNKNOWN_TYPE"
    return DataAPIError(
        code,
        f"The command attempted to {action} a type that is not in the keyspace schema.\n\n"
        f"The command attempted to {action} the unknown type: {cql_name(name)}.\n\nResend the "
        f"command using a type that exists in the keyspace ({', '.join(types) or 'none'}).")


def alter_type(db: DatabaseState, keyspace: str | None, body: dict) -> Result:
    """Rename fields, then add fields (both may come in one command, as in the Data API)."""
    check_fields("alterType", body, ("name", "rename", "add"))
    name = _type_name(body)
    rename, add = body.get("rename"), body.get("add")
    renames: dict[str, str] = {}
    if rename is not None:
        if not isinstance(rename, dict):
            raise field_invalid("command.rename", rename, "must be an object with 'fields'")
        check_fields("alterType", rename, ("fields",), "rename")
        renames = rename.get("fields") or {}
        if not isinstance(renames, dict) or not all(
                isinstance(v, str) and v for v in renames.values()):
            raise field_invalid("command.rename.fields", renames,
                                "must be an object of old field name -> new field name")
    added = _fields(add, "add") if add is not None and (add.get("fields") if isinstance(
        add, dict) else True) else []
    if not renames and not added:
        raise DataAPIError(
            "MISSING_ALTER_TYPE_OPERATIONS",
            "The `alterType` command must contain at least one operation to alter the type "
            "schema, such as adding or renaming fields.\n\nResend the command including "
            "changes to the type.")
    ks_name = keyspace or limits.DEFAULT_KEYSPACE
    with db.lock:
        types = db.types_of(keyspace)
        udt = types.get(name)
        if udt is None:
            raise _unknown_type(name, "alter", types)
        fields = list(udt.fields)
        names = [f for f, _ in fields]
        for old, new in renames.items():
            if old not in names:
                raise _field_error("CANNOT_RENAME_UNKNOWN_TYPE_FIELD", name, old)
            if new in names and new != old:
                raise _field_error("CANNOT_ADD_EXISTING_FIELD", name, new)
            at = names.index(old)
            names[at] = new
            fields[at] = (new, fields[at][1])
        for field, type_name in added:
            if field in names:
                raise _field_error("CANNOT_ADD_EXISTING_FIELD", name, field)
            names.append(field)
            fields.append((field, type_name))
        types[name] = UdtType(name, tuple(fields))
        db.save_types(ks_name)  # first the type, then the tables (see the module's note)
        db.retype_tables(ks_name, types[name])
    return Result(status={"ok": 1})


def _field_error(code: str, type_name: str, field: str) -> DataAPIError:
    if code == "CANNOT_ADD_EXISTING_FIELD":
        what = ("add a field with a name that already exists in the type definition",
                f"The existing field name was: {field}.", "Resend the command using only new "
                "field names.")
    else:
        what = ("rename a field that is not defined in the named type",
                f"The unknown field was: {field}.", "Resend the command using only fields "
                "defined in the type.")
    return DataAPIError(
        code, f"The command attempted to {what[0]}.\n\nThe command altered the type: "
              f"{cql_name(type_name)}.\n{what[1]}\n\n{what[2]}")


def drop_type(db: DatabaseState, keyspace: str | None, body: dict) -> Result:
    check_fields("dropType", body, ("name", "options"))
    name = _type_name(body)
    if_exists = get_bool(get_options("dropType", body, ("ifExists",)), "ifExists")
    ks_name = keyspace or limits.DEFAULT_KEYSPACE
    with db.lock:
        types = db.types_of(keyspace)
        udt = types.get(name)
        if udt is None:
            if if_exists:
                return Result(status={"ok": 1})
            raise _unknown_type(name, "drop", types)
        users = _tables_using(db, ks_name, name)
        if users:
            raise DataAPIError(
                "CANNOT_DROP_TYPE_USED_BY_TABLE",
                f"The command attempted to drop a type that is used by tables.\n\nThe command "
                f"attempted to drop the type: {cql_name(name)}.\nThe command is used by the "
                f"tables: {', '.join(users)}.\n\nResend the command using a type that is not "
                "used by a table (drop or alter those tables first).")
        del types[name]
        db.save_types(ks_name)
    return Result(status={"ok": 1})


def _tables_using(db: DatabaseState, keyspace: str, name: str) -> list[str]:
    return sorted(n for n, state in db.keyspaces.get(keyspace, {}).items()
                  if isinstance(state, TableState) and any(
                      c.udt is not None and c.udt.name == name
                      for c in state.store.columns.values()))


def list_types(db: DatabaseState, keyspace: str | None, body: dict) -> Result:
    """The keyspace's types: names, or (``explain``) each as a column of it is described."""
    check_fields("listTypes", body, ("options",))
    explain = get_bool(get_options("listTypes", body, ("explain",)), "explain")
    ks_name = keyspace or limits.DEFAULT_KEYSPACE
    types = db.types_of(keyspace)
    if not explain:
        return Result(status={"types": list(types)})
    return Result(status={"types": [
        {"type": "userDefined", "udtName": n, "definition": t.definition(),
         "apiSupport": {"createTable": True, "insert": True, "read": True, "filter": False,
                        "cqlDefinition": f"{cql_name(ks_name)}.{cql_name(n)}"}}
        for n, t in types.items()]})


TYPE_COMMANDS = {
    "createType": create_type,
    "alterType": alter_type,
    "dropType": drop_type,
    "listTypes": list_types,
}
