"""Web accounts and roles in an embedded SQLite database (nothing to install or start).

The database lives at ``$GEO_APP_HOME/web.sqlite3``. Passwords are hashed with Argon2id
(argon2-cffi), a memory-hard function. Framework-free: the CLI and the Flask views call these.

Roles, from least to most: viewer (district staff), officer, approver, admin.

Every user has a ``session_version``: a login records it in the session, each request checks it, and
logging out, a password change or disabling the account increments it, so every session cookie
issued before (even a copy kept by someone else) stops working.
"""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from geo_app.errors import InputError
from geo_app.io.sqlite import transaction
from geo_app.settings import settings

ROLES = ("viewer", "officer", "approver", "admin")
ROLE_LABELS = {
    "viewer": {"vi": "Người xem", "en": "Viewer"},
    "officer": {"vi": "Cán bộ", "en": "Officer"},
    "approver": {"vi": "Người phê duyệt", "en": "Approver"},
    "admin": {"vi": "Quản trị", "en": "Administrator"},
}
NAME_RE = re.compile(r"^[A-Za-z0-9._@-]{2,64}$")
MIN_PASSWORD = 8
_hasher = PasswordHasher()  # Argon2id, library defaults (64 MiB, t=3)
#: Compared against when the user does not exist, so timing does not reveal names.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('viewer','officer','approver','admin')),
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    session_version INTEGER NOT NULL DEFAULT 0
);
"""


class AccountError(InputError):
    """Bad input for an account; the message names the field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str
    active: bool
    session_version: int = 0

    def has_role(self, *roles: str) -> bool:
        return self.active and (self.role in roles or self.role == "admin")


def db_path() -> Path:
    return settings().home / "web.sqlite3"


@contextmanager
def connect(path: Path | None = None) -> Iterator[sqlite3.Connection]:
    """A connection in a transaction: committed when the block ends, rolled back on error."""
    with transaction(path or db_path(), SCHEMA) as con:
        _migrate(con)
        yield con


_MIGRATED: set[str] = set()


def _migrate(con: sqlite3.Connection) -> None:
    """Databases made before ``session_version`` existed get the column (once per process)."""
    key = con.execute("PRAGMA database_list").fetchone()["file"]
    if key in _MIGRATED:
        return
    columns = {row["name"] for row in con.execute("PRAGMA table_info(users)")}
    if "session_version" not in columns:
        con.execute("ALTER TABLE users ADD COLUMN session_version INTEGER NOT NULL DEFAULT 0")
    _MIGRATED.add(key)


def _user(row) -> User | None:
    return None if row is None else User(row["id"], row["name"], row["role"], bool(row["active"]),
                                         int(row["session_version"]))


def validate(name: str, role: str, password: str | None) -> None:
    if not NAME_RE.match(name or ""):
        raise AccountError("name", "tên 2–64 ký tự A-Z a-z 0-9 . _ @ - / name must be 2–64 of A-Z a-z 0-9 . _ @ -")
    if role not in ROLES:
        raise AccountError("role", f"vai trò phải là một trong / role must be one of {', '.join(ROLES)}")
    if password is not None and len(password) < MIN_PASSWORD:
        raise AccountError("password", f"mật khẩu ít nhất {MIN_PASSWORD} ký tự / at least {MIN_PASSWORD} characters")


def add_user(name: str, role: str, password: str, path: Path | None = None) -> User:
    validate(name, role, password)
    with connect(path) as con:
        if con.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
            raise AccountError("name", f"'{name}' đã tồn tại / already exists")
        cur = con.execute(
            "INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)",
            (name, role, _hasher.hash(password), datetime.now(UTC).isoformat(timespec="seconds")),
        )
        return User(cur.lastrowid, name, role, True)


def set_password(name: str, password: str, path: Path | None = None) -> None:
    validate(name, "viewer", password)
    with connect(path) as con:
        if con.execute("UPDATE users SET password_hash = ?, session_version = session_version + 1 WHERE name = ?",
                       (_hasher.hash(password), name)).rowcount != 1:
            raise AccountError("name", f"không có người dùng '{name}' / no user '{name}'")


def disable_user(name: str, path: Path | None = None) -> None:
    """Deactivate the account (it can no longer log in) and end its sessions."""
    with connect(path) as con:
        if con.execute("UPDATE users SET active = 0, session_version = session_version + 1 WHERE name = ?",
                       (name,)).rowcount != 1:
            raise AccountError("name", f"không có người dùng '{name}' / no user '{name}'")


def end_sessions(user_id: int, path: Path | None = None) -> None:
    """Invalidate every session of the user (logout): their cookies no longer authenticate."""
    with connect(path) as con:
        con.execute("UPDATE users SET session_version = session_version + 1 WHERE id = ?", (user_id,))


def session_user(user_id: int, session_version: int, path: Path | None = None) -> User | None:
    """The active user whose current session version is ``session_version``, else None."""
    user = get(user_id, path)
    if user is None or not user.active or user.session_version != session_version:
        return None
    return user


def get(user_id: int, path: Path | None = None) -> User | None:
    with connect(path) as con:
        return _user(con.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone())


def list_users(path: Path | None = None) -> list[User]:
    with connect(path) as con:
        return [_user(r) for r in con.execute("SELECT * FROM users ORDER BY name")]


def count(path: Path | None = None) -> int:
    with connect(path) as con:
        return con.execute("SELECT count(*) FROM users").fetchone()[0]


def authenticate(name: str, password: str, path: Path | None = None) -> User | None:
    """The user if the name and password match an active account, else None (constant-ish time)."""
    with connect(path) as con:
        row = con.execute("SELECT * FROM users WHERE name = ?", (name or "",)).fetchone()
    try:
        _hasher.verify(row["password_hash"] if row else _DUMMY_HASH, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None or not row["active"]:
        return None
    if _hasher.check_needs_rehash(row["password_hash"]):
        with connect(path) as con:
            con.execute("UPDATE users SET password_hash = ? WHERE id = ?", (_hasher.hash(password), row["id"]))
    return _user(row)
