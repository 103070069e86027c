"""One way to write to the embedded SQLite databases (accounts, workflow): a transaction per block.

``BEGIN IMMEDIATE`` takes the write lock up front, so two requests never interleave their reads and
writes; the block commits when it ends and rolls back on any error, so a crash mid-request leaves the
previous state intact. The schema is set up once per database and process, under a lock and in a
transaction of its own: when several requests reach a new database together, SQLite answers a
schema or journal-mode change with "database is locked" at once instead of waiting.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_SETUP_LOCK = threading.Lock()
_READY: set[tuple[str, int]] = set()


def _connect(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, timeout=30, isolation_level=None)
    con.row_factory = sqlite3.Row
    con.execute("PRAGMA foreign_keys=ON")
    # REPLACE conflict resolution fires delete triggers only with this on (the workflow's
    # "a confirmed version cannot be deleted" must hold for INSERT OR REPLACE too)
    con.execute("PRAGMA recursive_triggers=ON")
    return con


def _ensure_schema(path: Path, schema: str) -> None:
    key = (str(path), hash(schema))
    if key in _READY and path.exists():
        return
    with _SETUP_LOCK:
        if key in _READY and path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(50):  # another process may hold the database for a moment
            con = _connect(path)
            try:
                con.execute("PRAGMA journal_mode=WAL")
                con.executescript(f"BEGIN IMMEDIATE;\n{schema}\nCOMMIT;")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 49:
                    raise
                time.sleep(0.05)
            finally:
                con.close()
        _READY.add(key)


@contextmanager
def transaction(path: Path, schema: str) -> Iterator[sqlite3.Connection]:
    _ensure_schema(path, schema)
    con = _connect(path)
    try:
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    finally:
        con.close()
