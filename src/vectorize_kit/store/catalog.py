"""Where a workspace keeps its databases, keyspaces and collections on disk.

::

    <root>/.lock                                 held while a Workspace has the root open
    <root>/databases/<db id>/database.json       id, name, created_at
    <root>/databases/<db id>/<keyspace>/<collection>/collection.json   name and options
    <root>/databases/<db id>/<keyspace>/<collection>/{snapshot,wal}-*  the documents

Every directory is created under a temporary name with its metadata file fsynced, then
renamed into place; removal renames it to a trash name first.  Both renames are atomic, so
a crash leaves either the old or the new state, and leftovers are swept on the next open.
With ``root=None`` nothing touches the disk.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from ..errors import DataAPIError
from .wal import CollectionLog, fsync_dir

__all__ = ["Catalog"]

_DB_FILE = "database.json"
_COLL_FILE = "collection.json"


def _write_json(path: Path, value: Any) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(value, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())


def _read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


class Catalog:
    """Files of a workspace (or nothing, in memory).

    Parameters
    ----------
    root
        The workspace directory (created if missing), or ``None`` for an in-memory workspace.
    sync
        fsync every write (default). Turning it off trades crash safety for speed.
    """

    def __init__(self, root: Path | None, *, sync: bool = True) -> None:
        self.root = root
        self.sync = sync
        self._lock_fd: int | None = None
        if root is None:
            return
        (root / "databases").mkdir(parents=True, exist_ok=True)
        self._lock(root)
        self._sweep(root / "databases")

    def _lock(self, root: Path) -> None:
        import fcntl

        fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise DataAPIError(
                "WORKSPACE_LOCKED",
                f"The workspace at '{root}' is already open (in this or another process). "
                "Close the other Workspace first (Workspace.close()), or use another path.",
            ) from None
        self._lock_fd = fd

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
        tmp = final.parent / f".vk-tmp-{uuid.uuid4().hex}"
        tmp.mkdir(parents=True)
        _write_json(tmp / meta_name, meta)
        os.rename(tmp, final)
        if self.sync:
            fsync_dir(final.parent)

    def _remove_dir(self, path: Path) -> None:
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
        out = []
        for d in sorted((self.root / "databases").iterdir()):
            if d.is_dir() and not d.name.startswith(".") and (d / _DB_FILE).exists():
                out.append(_read_json(d / _DB_FILE))
        return out

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
        return sorted(
            p.name for p in self._db_dir(db_id).iterdir()
            if p.is_dir() and not p.name.startswith(".")
        )

    def create_keyspace(self, db_id: str, name: str) -> None:
        if self.root is not None:
            self._make_dir(self._db_dir(db_id) / name, ".keyspace", {"name": name})

    def drop_keyspace(self, db_id: str, name: str) -> None:
        if self.root is not None:
            self._remove_dir(self._db_dir(db_id) / name)

    # -- collections -------------------------------------------------------------------------
    def collections(self, db_id: str, keyspace: str) -> dict[str, dict]:
        """``name -> definition`` of the collections stored in a keyspace."""
        if self.root is None:
            return {}
        out = {}
        for p in sorted((self._db_dir(db_id) / keyspace).iterdir()):
            if p.is_dir() and not p.name.startswith(".") and (p / _COLL_FILE).exists():
                out[p.name] = _read_json(p / _COLL_FILE)
        return out

    def create_collection(self, db_id: str, keyspace: str, name: str, definition: dict) -> None:
        if self.root is not None:
            self._make_dir(self._db_dir(db_id) / keyspace / name, _COLL_FILE, definition)

    def collection_log(
        self, db_id: str, keyspace: str, name: str, dimension: int | None
    ) -> CollectionLog | None:
        """The durable log of a stored collection (``None`` in memory)."""
        if self.root is None:
            return None
        return CollectionLog(
            self._db_dir(db_id) / keyspace / name, dimension, sync=self.sync
        )

    def drop_collection(self, db_id: str, keyspace: str, name: str) -> None:
        if self.root is not None:
            self._remove_dir(self._db_dir(db_id) / keyspace / name)
