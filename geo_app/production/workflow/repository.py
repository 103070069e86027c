"""Where the workflow keeps its state: ``$GEO_APP_HOME/workflow.sqlite3`` (versions, audit) and
``$GEO_APP_HOME/workflow/`` (uploaded files, dossiers).

- A version row holds the area definition and, frozen at save, its boundary: geometry (EPSG:9208, WKB),
  its sha256, area, perimeter, the boundary-point table, the resolution report and the check report.
- ``revision`` counts the saves of a version; a save names the revision it was edited from.
- The audit is a hash chain: each row stores the sha256 of the previous row and of its own content
  (:func:`row_sha256`), so any rewritten, removed or inserted row breaks the chain at that row.
- Triggers refuse UPDATE and DELETE of audit rows and of confirmed versions, and every INSERT that would
  replace an existing audit row or a confirmed version. They are BEFORE INSERT triggers that look the row
  up, so ``INSERT OR REPLACE`` is refused whatever ``recursive_triggers`` is.
"""
from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from geo_app.errors import ConflictError
from geo_app.io import jsontext
from geo_app.io.files import sha256_bytes
from geo_app.io.sqlite import transaction
from geo_app.settings import settings

GENESIS = "0" * 64

SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    id INTEGER PRIMARY KEY,
    product_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'submitted', 'confirmed')),
    area_json TEXT NOT NULL,
    report_json TEXT,
    comment TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    dossier_file TEXT,
    dossier_sha256 TEXT,
    package_sha256 TEXT,
    dossier_id TEXT,
    confirmed_by TEXT,
    confirmed_at TEXT,
    revision INTEGER NOT NULL DEFAULT 1,
    updated_by TEXT,
    submitted_by TEXT,
    geometry_wkb BLOB,
    geometry_sha256 TEXT,
    area_ha REAL,
    perimeter_m REAL,
    points_json TEXT,
    resolution_json TEXT,
    store_fingerprint TEXT,
    file_names_json TEXT,
    UNIQUE (product_id, version)
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    user TEXT NOT NULL,
    product_id TEXT NOT NULL,
    version INTEGER,
    action TEXT NOT NULL,
    detail_json TEXT NOT NULL,
    hashes_json TEXT NOT NULL,
    prev_sha256 TEXT,
    row_sha256 TEXT
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
-- INSERT OR REPLACE deletes the clashing row without firing the delete trigger when recursive_triggers
-- is off (sqlite3's default): look the row up before the insert instead.
CREATE TRIGGER IF NOT EXISTS audit_not_replaced BEFORE INSERT ON audit
WHEN EXISTS (SELECT 1 FROM audit WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: a row cannot be replaced'); END;
CREATE TRIGGER IF NOT EXISTS audit_chained BEFORE INSERT ON audit
WHEN NEW.prev_sha256 IS NOT COALESCE((SELECT row_sha256 FROM audit ORDER BY id DESC LIMIT 1),
                                     '0000000000000000000000000000000000000000000000000000000000000000')
BEGIN SELECT RAISE(ABORT, 'an audit row must carry the hash of the previous row'); END;
CREATE TRIGGER IF NOT EXISTS confirmed_frozen BEFORE UPDATE ON versions WHEN OLD.status = 'confirmed'
BEGIN SELECT RAISE(ABORT, 'a confirmed version cannot change'); END;
CREATE TRIGGER IF NOT EXISTS confirmed_kept BEFORE DELETE ON versions WHEN OLD.status = 'confirmed'
BEGIN SELECT RAISE(ABORT, 'a confirmed version cannot be deleted'); END;
CREATE TRIGGER IF NOT EXISTS confirmed_not_replaced BEFORE INSERT ON versions
WHEN EXISTS (SELECT 1 FROM versions WHERE status = 'confirmed'
             AND (id = NEW.id OR (product_id = NEW.product_id AND version = NEW.version)))
BEGIN SELECT RAISE(ABORT, 'a confirmed version cannot be replaced'); END;
CREATE TRIGGER IF NOT EXISTS confirmed_not_overwritten BEFORE UPDATE ON versions
WHEN EXISTS (SELECT 1 FROM versions WHERE status = 'confirmed' AND id != OLD.id
             AND (id = NEW.id OR (product_id = NEW.product_id AND version = NEW.version)))
BEGIN SELECT RAISE(ABORT, 'a confirmed version cannot be replaced'); END;
"""

#: Columns added since the first schema: added to an older database when it is opened.
_ADDED_VERSION_COLUMNS = {
    "revision": "INTEGER NOT NULL DEFAULT 1", "updated_by": "TEXT", "submitted_by": "TEXT", "geometry_wkb": "BLOB",
    "geometry_sha256": "TEXT", "area_ha": "REAL", "perimeter_m": "REAL", "points_json": "TEXT",
    "resolution_json": "TEXT", "store_fingerprint": "TEXT", "file_names_json": "TEXT",
}
_ADDED_AUDIT_COLUMNS = {"prev_sha256": "TEXT", "row_sha256": "TEXT"}


class WorkflowError(ConflictError):
    """A refused action: ``status`` 400 (bad input, ``field`` names it), 403 (not this person), 404 or 409
    (wrong state). ``detail`` carries what a page needs to explain a conflict (who changed what, when)."""

    def __init__(self, message: str, status: int = 400, field: str | None = None, detail: dict | None = None):
        super().__init__(f"{field}: {message}" if field else message)
        self.status, self.field, self.detail = status, field, detail or {}


class WritesRefused(WorkflowError):
    """The audit chain or a confirmed dossier failed verification at start: reads only."""


@dataclass(frozen=True)
class Version:
    product_id: str
    version: int
    status: str
    area: dict
    report: dict | None
    comment: str | None
    created_by: str
    created_at: str
    updated_at: str
    dossier_file: str | None
    dossier_sha256: str | None
    package_sha256: str | None
    dossier_id: str | None
    confirmed_by: str | None
    confirmed_at: str | None
    revision: int = 1
    updated_by: str | None = None
    submitted_by: str | None = None
    geometry_wkb: bytes | None = None
    geometry_sha256: str | None = None
    area_ha: float | None = None
    perimeter_m: float | None = None
    points: list | None = None
    resolution: dict | None = None
    store_fingerprint: str | None = None
    file_names: dict | None = None

    @property
    def token(self) -> str:
        """What a form sends back to say which state it was edited from: "<version>.<revision>"."""
        return f"{self.version}.{self.revision}"

    @property
    def ok(self) -> bool:
        return bool((self.report or {}).get("ok"))

    @property
    def errors(self) -> list[dict]:
        return [f for f in (self.report or {}).get("findings", []) if f.get("level") == "error"]

    def frozen(self):
        """The stored boundary as a ``geo_app.production.boundary.FrozenBoundary`` (nothing is resolved)."""
        from geo_app.production.boundary import from_stored

        return from_stored(self.geometry_wkb, self.geometry_sha256, self.area_ha or 0.0, self.perimeter_m or 0.0,
                           self.points or [], self.resolution or {}, self.report or {})


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def home() -> Path:
    return settings().home / "workflow"


def db_path() -> Path:
    return settings().home / "workflow.sqlite3"


def dumps(value) -> str:
    """Strict JSON for every stored report (no NaN/Infinity)."""
    return jsontext.dumps(value)


def area_hash(area: dict) -> str:
    return sha256_bytes(json.dumps(area, sort_keys=True, ensure_ascii=False).encode())


#: The lock file inside a confirm's staging folder, held (flock) for as long as the confirm runs.
LOCK_NAME = ".lock"


def hold(path: Path, fd: int | None = None) -> int:
    """Take an exclusive ``flock`` on ``path`` (or on the open ``fd``) for as long as the descriptor is
    open; the kernel drops it when the process dies, so recovery can tell live work from a crash's."""
    if fd is None:
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def abandoned(path: Path) -> bool:
    """True when nobody holds the ``flock`` on ``path`` (its owner finished or died)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)
    return True


_MIGRATED: set[str] = set()
_MIGRATE_LOCK = threading.Lock()


def _columns(con, table: str) -> set[str]:
    return {r[1] for r in con.execute(f"PRAGMA table_info({table})")}


def _migrate(con) -> None:
    """Bring a database made by an earlier release up to this schema (once per process and file): add
    the new columns, and seal audit rows written before the chain existed, in order, so the chain
    covers them from now on (the audit's update trigger is lifted for this one transaction only)."""
    for table, added in (("versions", _ADDED_VERSION_COLUMNS), ("audit", _ADDED_AUDIT_COLUMNS)):
        have = _columns(con, table)
        for name, decl in added.items():
            if name not in have:
                con.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")
    unsealed = con.execute("SELECT * FROM audit WHERE row_sha256 IS NULL ORDER BY id").fetchall()
    if unsealed:
        first = unsealed[0]["id"]
        prev = con.execute("SELECT row_sha256 FROM audit WHERE id < ? ORDER BY id DESC LIMIT 1", (first,)).fetchone()
        prev = prev[0] if prev else GENESIS
        con.execute("DROP TRIGGER audit_no_update")
        for row in unsealed:
            digest = row_sha256(prev, dict(row))
            con.execute("UPDATE audit SET prev_sha256 = ?, row_sha256 = ? WHERE id = ?", (prev, digest, row["id"]))
            prev = digest
        con.execute("CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit "
                    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END")


@contextmanager
def tx() -> Iterator[sqlite3.Connection]:
    """One ``BEGIN IMMEDIATE`` transaction on the workflow database."""
    path = db_path()
    key = str(path)
    if key not in _MIGRATED or not path.exists():
        with _MIGRATE_LOCK:
            with transaction(path, SCHEMA) as con:
                _migrate(con)
            _MIGRATED.add(key)
    with transaction(path, SCHEMA) as con:
        yield con


def version_from_row(row) -> Version | None:
    if row is None:
        return None
    keys = row.keys()

    def get(name):
        return row[name] if name in keys else None

    def load(name):
        text = get(name)
        return json.loads(text) if text else None

    return Version(row["product_id"], row["version"], row["status"], json.loads(row["area_json"]), load("report_json"),
                   row["comment"], row["created_by"], row["created_at"], row["updated_at"], row["dossier_file"],
                   row["dossier_sha256"], row["package_sha256"], row["dossier_id"], row["confirmed_by"],
                   row["confirmed_at"], get("revision") or 1, get("updated_by"), get("submitted_by"),
                   get("geometry_wkb"), get("geometry_sha256"), get("area_ha"), get("perimeter_m"), load("points_json"),
                   load("resolution_json"), get("store_fingerprint"), load("file_names_json"))


# --- the audit chain ---------------------------------------------------------------------------------

_CHAINED_FIELDS = ("id", "at", "user", "product_id", "version", "action", "detail_json", "hashes_json")


def row_sha256(prev: str, row: dict) -> str:
    """The hash of one audit row: sha256 over the previous row's hash and this row's fields, as a
    canonical JSON array (field order fixed, UTF-8)."""
    payload = [prev, *[row[name] for name in _CHAINED_FIELDS]]
    return sha256_bytes(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def append_audit(con, user: str, product_id: str, version: int | None, action: str, detail: dict,
                 hashes: dict) -> str:
    """Append one audit row inside the caller's transaction, chained to the last one; its hash."""
    last = con.execute("SELECT id, row_sha256 FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    prev = last["row_sha256"] if last else GENESIS
    seq = con.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit'").fetchone()
    next_id = max(seq[0] if seq else 0, last["id"] if last else 0) + 1
    row = {"id": next_id, "at": now(), "user": user, "product_id": product_id, "version": version, "action": action,
           "detail_json": dumps(detail), "hashes_json": dumps(hashes)}
    digest = row_sha256(prev, row)
    con.execute("INSERT INTO audit (id, at, user, product_id, version, action, detail_json, hashes_json, prev_sha256,"
                " row_sha256) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (*[row[n] for n in _CHAINED_FIELDS], prev, digest))
    return digest


def audit_rows(con, product_id: str | None = None) -> list[sqlite3.Row]:
    if product_id is None:
        return con.execute("SELECT * FROM audit ORDER BY id").fetchall()
    return con.execute("SELECT * FROM audit WHERE product_id = ? ORDER BY id", (product_id,)).fetchall()


# --- writes refused while the audit does not verify -------------------------------------------------

_REFUSED: dict[str, str] = {}


def refuse_writes(reason: str | None) -> None:
    """Set (or clear, with None) why this database takes no writes (a failed verification at start)."""
    if reason is None:
        _REFUSED.pop(str(db_path()), None)
    else:
        _REFUSED[str(db_path())] = reason


def writes_refused() -> str | None:
    return _REFUSED.get(str(db_path()))


def require_writable() -> None:
    reason = writes_refused()
    if reason:
        raise WritesRefused("nhật ký kiểm toán không khớp khi khởi động, hệ thống chỉ cho xem, không cho ghi; người "
                            f"quản trị cần chạy `geo-app audit verify` / the audit did not verify at start: reads only, "
                            f"no writes; an administrator must run `geo-app audit verify`. {reason}", 503, "audit")
