"""Where a workspace keeps its databases, keyspaces and collections on disk.

::

    <root>/.lock                                 held while a Workspace has the root open for
                                                 writing; holds who: pid, host, start time
    <root>/databases/<db id>/database.json       id, name, created_at
    <root>/databases/<db id>/<keyspace>/<collection>/collection.json   name and options
    <root>/databases/<db id>/<keyspace>/<collection>/{snapshot,wal}-*  the documents
    <root>/databases/<db id>/<keyspace>/<table>/table.json   name and schema at creation
    <root>/databases/<db id>/<keyspace>/<table>/{snapshot,wal}-*       the rows (and schema)
    <root>/databases/<db id>/<keyspace>/types.json    the keyspace's user-defined types

Every directory is created under a temporary name with its metadata file fsynced, then
renamed into place; removal renames it to a trash name first.  Both renames are atomic, so
a crash leaves either the old or the new state, and leftovers are swept on the next open.
With ``root=None`` nothing touches the disk.

One process at a time holds a workspace for writing (an ``flock`` on ``.lock``, which the
kernel releases when the process ends, even by ``kill -9``). Others open it read-only: they
take no lock, change no file, and every write through them is refused with
``WORKSPACE_READ_ONLY``, naming the process that holds it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import sys
import uuid
from pathlib import Path
from typing import Any

from ..errors import DataAPIError
from .wal import StoreLog, fsync_dir, write_atomic

__all__ = ["Catalog", "read_only_error"]

_DB_FILE = "database.json"
_COLL_FILE = "collection.json"
_TABLE_FILE = "table.json"
_TYPES_FILE = "types.json"


def _write_json(path: Path, value: Any) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(value, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())


def _read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _entries(directory: Path) -> list[Path]:
    """The directory's entries, by name; none if it is gone (a reader's view of a directory
    the writer is removing)."""
    try:
        return sorted(directory.iterdir())
    except FileNotFoundError:
        return []


def _meta(path: Path) -> Any:
    """A metadata file, or ``None`` if it is not there (any more)."""
    try:
        return _read_json(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _try_lock(fd: int) -> bool:
    """Take the exclusive lock of ``fd`` if no other process holds it."""
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def read_only_error(root: Path, holder: dict | None, *, asked: bool) -> DataAPIError:
    """The error of a write through a workspace opened read-only (``asked``: with
    ``read_only=True``; else because ``holder`` holds it)."""
    if not asked:
        holder = holder or {}
        who = (f"process {holder.get('pid', '?')} on {holder.get('host', '?')} (started "
               f"{holder.get('since', '?')}, {holder.get('program', 'python')}) holds it for "
               "writing")
        fix = ("To write, close it there (Workspace.close()), then open it again here; or run "
               "vk.serve(db) there and vk.connect(url, token) here, which writes through "
               "that process.")
    else:
        who = "it was opened with read_only=True"
        fix = "To write, open it with vk.Workspace(path) (no other process may hold it)."
    return DataAPIError(
        "WORKSPACE_READ_ONLY",
        f"The workspace at '{root}' is open read-only in this process: {who}. Nothing was "
        f"written. {fix}",
    )


class Catalog:
    """Files of a workspace (or nothing, in memory).

    Parameters
    ----------
    root
        The workspace directory (created if missing), or ``None`` for an in-memory workspace.
    sync
        fsync every write (default). Turning it off trades crash safety for speed.
    read_only
        ``False``: hold the workspace for writing (``WORKSPACE_LOCKED`` if another process
        does); ``True``: open it read-only; ``None``: for writing if no other process holds
        it, else read-only.
    """

    def __init__(self, root: Path | None, *, sync: bool = True,
                 read_only: bool | None = False) -> None:
        self.root = root
        self.sync = sync
        self._lock_fd: int | None = None
        #: ``None`` when this process may write, else the error every write raises
        self.read_only: DataAPIError | None = None
        #: who holds the workspace for writing, when this process opened it read-only
        self.holder: dict | None = None
        if root is None:
            return
        if read_only is True:
            if not (root / "databases").is_dir():
                raise DataAPIError(
                    "WORKSPACE_READ_ONLY",
                    f"There is no workspace at '{root}' to open read-only: open it with "
                    "vk.Workspace(path) to create it.")
        else:
            (root / "databases").mkdir(parents=True, exist_ok=True)
            if self._lock(root, wait_for_none=read_only is None):
                self._sweep(root / "databases")
                return
        self.holder = self._holder(root) if read_only is None else None
        self.read_only = read_only_error(root, self.holder, asked=read_only is True)

    def _lock(self, root: Path, *, wait_for_none: bool) -> bool:
        """Take the write lock and say who holds it; ``False`` if another process holds it
        and ``wait_for_none`` (the caller then opens read-only)."""
        fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        if not _try_lock(fd):
            os.close(fd)
            if wait_for_none:
                return False
            holder = self._holder(root)
            who = "" if holder is None else f" by process {holder.get('pid')}"
            raise DataAPIError(
                "WORKSPACE_LOCKED",
                f"The workspace at '{root}' is already open for writing{who}. Close the other "
                "Workspace first (Workspace.close()), open it read-only "
                "(vk.Workspace(path, read_only=True)), or use another path.",
            ) from None
        self._lock_fd = fd
        me = {"pid": os.getpid(), "host": socket.gethostname(),
              "since": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
              "program": os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else
              "python"}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(me).encode(), 0)
        return True

    @staticmethod
    def held(root: Path) -> bool:
        """Whether a process holds the workspace at ``root`` for writing now."""
        try:
            fd = os.open(root / ".lock", os.O_RDWR)
        except OSError:
            return False
        try:
            return not _try_lock(fd)
        finally:
            os.close(fd)  # (releases the lock if it was taken here)

    @staticmethod
    def _holder(root: Path) -> dict | None:
        try:
            return json.loads((root / ".lock").read_text(encoding="utf-8") or "null")
        except (OSError, ValueError):
            return None

    def check_writable(self) -> None:
        if self.read_only is not None:
            raise self.read_only

    def _sweep(self, top: Path) -> None:
        for path in top.rglob(".vk-*"):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the lock
            self._lock_fd = None

    # -- helpers -----------------------------------------------------------------------------
    def _make_dir(self, final: Path, meta_name: str, meta: Any) -> None:
        self.check_writable()
        tmp = final.parent / f".vk-tmp-{uuid.uuid4().hex}"
        tmp.mkdir(parents=True)
        _write_json(tmp / meta_name, meta)
        os.rename(tmp, final)
        if self.sync:
            fsync_dir(final.parent)

    def _remove_dir(self, path: Path) -> None:
        self.check_writable()
        trash = path.parent / f".vk-trash-{uuid.uuid4().hex}"
        os.rename(path, trash)
        if self.sync:
            fsync_dir(path.parent)
        shutil.rmtree(trash, ignore_errors=True)

    def _db_dir(self, db_id: str) -> Path:
        assert self.root is not None
        return self.root / "databases" / db_id

    # -- databases ---------------------------------------------------------------------------
    def databases(self) -> list[dict]:
        """Metadata of every stored database."""
        if self.root is None:
            return []
        metas = [_meta(d / _DB_FILE) for d in _entries(self.root / "databases")
                 if not d.name.startswith(".")]
        return [m for m in metas if m is not None]

    def create_database(self, meta: dict) -> None:
        if self.root is not None:
            self._make_dir(self._db_dir(meta["id"]), _DB_FILE, meta)

    def drop_database(self, db_id: str) -> None:
        if self.root is not None:
            self._remove_dir(self._db_dir(db_id))

    # -- keyspaces ---------------------------------------------------------------------------
    def keyspaces(self, db_id: str) -> list[str]:
        if self.root is None:
            return []
        return [p.name for p in _entries(self._db_dir(db_id))
                if p.is_dir() and not p.name.startswith(".")]

    def create_keyspace(self, db_id: str, name: str) -> None:
        if self.root is not None:
            self._make_dir(self._db_dir(db_id) / name, ".keyspace", {"name": name})

    def drop_keyspace(self, db_id: str, name: str) -> None:
        if self.root is not None:
            self._remove_dir(self._db_dir(db_id) / name)

    # -- user-defined types ------------------------------------------------------------------
    def types(self, db_id: str, keyspace: str) -> list[dict]:
        """The user-defined types of a keyspace, in the order they were created: ``{"name":
        ..., "definition": {"fields": {...}}}``."""
        meta = None if self.root is None else _meta(self._db_dir(db_id) / keyspace / _TYPES_FILE)
        return [] if meta is None else meta["types"]

    def save_types(self, db_id: str, keyspace: str, types: list[dict]) -> None:
        """Replace the keyspace's types, atomically."""
        if self.root is not None:
            self.check_writable()
            data = json.dumps({"types": types}, ensure_ascii=False, indent=1).encode()
            write_atomic(self._db_dir(db_id) / keyspace / _TYPES_FILE, data)

    # -- collections and tables ----------------------------------------------------------------
    def _objects(self, db_id: str, keyspace: str, meta_name: str) -> dict[str, dict]:
        if self.root is None:
            return {}
        metas = {p.name: _meta(p / meta_name) for p in _entries(self._db_dir(db_id) / keyspace)
                 if not p.name.startswith(".")}
        return {name: meta for name, meta in metas.items() if meta is not None}

    def collections(self, db_id: str, keyspace: str) -> dict[str, dict]:
        """``name -> definition`` of the collections stored in a keyspace."""
        return self._objects(db_id, keyspace, _COLL_FILE)

    def tables(self, db_id: str, keyspace: str) -> dict[str, dict]:
        """``name -> definition at creation`` of the tables stored in a keyspace."""
        return self._objects(db_id, keyspace, _TABLE_FILE)

    def definition(self, db_id: str, keyspace: str, name: str) -> dict | None:
        """The stored definition of the collection or table ``name`` (``None``: none)."""
        if self.root is None:
            return None
        path = self._db_dir(db_id) / keyspace / name
        found = _meta(path / _COLL_FILE)
        return found if found is not None else _meta(path / _TABLE_FILE)

    # Each definition gets a "uid": what tells a collection or table from one of the same
    # name created after it was dropped (a reader in another process must load it afresh).
    def create_collection(self, db_id: str, keyspace: str, name: str, definition: dict) -> None:
        if self.root is not None:
            self._make_dir(self._db_dir(db_id) / keyspace / name, _COLL_FILE,
                           {**definition, "uid": uuid.uuid4().hex})

    def create_table(self, db_id: str, keyspace: str, name: str, definition: dict) -> None:
        if self.root is not None:
            self._make_dir(self._db_dir(db_id) / keyspace / name, _TABLE_FILE,
                           {**definition, "uid": uuid.uuid4().hex})

    def log(self, db_id: str, keyspace: str, name: str, dimensions: dict[str, int]
            ) -> StoreLog | None:
        """The durable log of a stored collection or table (``None`` in memory)."""
        if self.root is None:
            return None
        return StoreLog(self._db_dir(db_id) / keyspace / name, dimensions, sync=self.sync,
                        read_only=self.read_only)

    def drop(self, db_id: str, keyspace: str, name: str) -> None:
        """Remove a collection or table with its data."""
        if self.root is not None:
            self._remove_dir(self._db_dir(db_id) / keyspace / name)
