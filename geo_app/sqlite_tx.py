"""One way to write to the embedded SQLite databases (accounts, workflow): a transaction per block.

``BEGIN IMMEDIATE`` takes the write lock up front, so two requests never interleave their reads and
writes; the block commits when it ends and rolls back on any error, so a crash mid-request leaves the
previous state intact.
"""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def transaction(path: Path, schema: str) -> Iterator[sqlite3.Connection]:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA foreign_keys=ON")
        # REPLACE conflict resolution fires delete triggers only with this on (the workflow's
        # "a confirmed version cannot be deleted" must hold for INSERT OR REPLACE too)
        con.execute("PRAGMA recursive_triggers=ON")
        con.executescript(schema)
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    finally:
        con.close()
