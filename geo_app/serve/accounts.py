"""Web accounts and roles in an embedded SQLite database (nothing to install or start).

The database lives at ``$GEO_APP_HOME/web.sqlite3``. Passwords are hashed with Argon2id
(argon2-cffi), a memory-hard function. Framework-free: the CLI and the Flask views call these.

Roles, from least to most: viewer (district staff), officer, approver, admin.

Every user has a ``session_version``: a login records it in the session, each request checks it, and
logging out, a password change or disabling the account increments it, so every session cookie
issued before (even a copy kept by someone else) stops working.

An admin's reset gives a temporary password (shown once, stored only as its hash) and marks the account
``must_change_password``: the web lets that user do nothing but choose a new password. Every change to
an account is appended to ``account_audit`` (who, when, what, on whom), which refuses UPDATE and DELETE.
"""
from __future__ import annotations

import json
import re
import secrets
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
    session_version INTEGER NOT NULL DEFAULT 0,
    must_change_password INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS account_audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail_json TEXT NOT NULL DEFAULT '{}'
);
CREATE TRIGGER IF NOT EXISTS account_audit_no_update BEFORE UPDATE ON account_audit
BEGIN SELECT RAISE(ABORT, 'the account audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS account_audit_no_delete BEFORE DELETE ON account_audit
BEGIN SELECT RAISE(ABORT, 'the account audit log is append-only'); END;
"""
#: Actions in the account audit, in words (Vietnamese, English).
ACTIONS = {
    "add": ("Tạo tài khoản", "Account created"),
    "role": ("Đổi vai trò", "Role changed"),
    "disable": ("Khóa tài khoản", "Account disabled"),
    "enable": ("Mở khóa tài khoản", "Account enabled"),
    "reset-password": ("Đặt lại mật khẩu (mật khẩu tạm)", "Password reset (temporary password)"),
    "set-password": ("Đặt mật khẩu", "Password set"),
    "change-password": ("Tự đổi mật khẩu", "Own password changed"),
}


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
    must_change_password: bool = False

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
    if "must_change_password" not in columns:
        con.execute("ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0")
    _MIGRATED.add(key)


def _user(row) -> User | None:
    return None if row is None else User(row["id"], row["name"], row["role"], bool(row["active"]),
                                         int(row["session_version"]), bool(row["must_change_password"]))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _audit(con: sqlite3.Connection, actor: str, action: str, target: str, **detail) -> None:
    con.execute("INSERT INTO account_audit (at, actor, action, target, detail_json) VALUES (?, ?, ?, ?, ?)",
                (_now(), actor, action, target, json.dumps(detail, ensure_ascii=False, sort_keys=True)))


def _no_user(name: str) -> AccountError:
    return AccountError("name", f"không có người dùng '{name}' / no user '{name}'")


def validate(name: str, role: str, password: str | None) -> None:
    if not NAME_RE.match(name or ""):
        raise AccountError("name", "tên 2–64 ký tự A-Z a-z 0-9 . _ @ - / name must be 2–64 of A-Z a-z 0-9 . _ @ -")
    if role not in ROLES:
        raise AccountError("role", f"vai trò phải là một trong / role must be one of {', '.join(ROLES)}")
    if password is not None:
        validate_password(password)


def validate_password(password: str, field: str = "password") -> None:
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(field, f"mật khẩu ít nhất {MIN_PASSWORD} ký tự / at least {MIN_PASSWORD} characters")


def add_user(name: str, role: str, password: str, path: Path | None = None, actor: str = "cli",
             must_change_password: bool = False) -> User:
    validate(name, role, password)
    with connect(path) as con:
        if con.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
            raise AccountError("name", f"'{name}' đã tồn tại / already exists")
        cur = con.execute(
            "INSERT INTO users (name, role, password_hash, created_at, must_change_password) VALUES (?, ?, ?, ?, ?)",
            (name, role, _hasher.hash(password), _now(), int(must_change_password)),
        )
        _audit(con, actor, "add", name, role=role)
        return User(cur.lastrowid, name, role, True, 0, must_change_password)


def set_password(name: str, password: str, path: Path | None = None, actor: str = "cli") -> None:
    validate(name, "viewer", password)
    with connect(path) as con:
        if con.execute("UPDATE users SET password_hash = ?, session_version = session_version + 1, "
                       "must_change_password = 0 WHERE name = ?", (_hasher.hash(password), name)).rowcount != 1:
            raise _no_user(name)
        _audit(con, actor, "set-password", name)


def temporary_password() -> str:
    """12 characters from an alphabet without look-alikes (0/O, 1/l/I): easy to read out and type."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


def reset_password(name: str, actor: str, path: Path | None = None) -> str:
    """A new temporary password for ``name`` (returned once, stored only as its hash): the user's
    sessions end and the next login must choose a new password."""
    password = temporary_password()
    with connect(path) as con:
        if con.execute("UPDATE users SET password_hash = ?, session_version = session_version + 1, "
                       "must_change_password = 1 WHERE name = ?", (_hasher.hash(password), name)).rowcount != 1:
            raise _no_user(name)
        _audit(con, actor, "reset-password", name)
    return password


def change_own_password(user_id: int, new_password: str, path: Path | None = None) -> User:
    """The user's own new password (the current one was checked by the caller); the other sessions end
    (the returned user carries the new session version, for the session that made the change)."""
    validate_password(new_password, "new_password")
    with connect(path) as con:
        row = con.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
        if row is None:
            raise _no_user(str(user_id))
        if _verifies(row["password_hash"], new_password):
            raise AccountError("new_password", "mật khẩu mới phải khác mật khẩu cũ / the new password must differ "
                               "from the old one")
        con.execute("UPDATE users SET password_hash = ?, session_version = session_version + 1, "
                    "must_change_password = 0 WHERE id = ?", (_hasher.hash(new_password), user_id))
        _audit(con, row["name"], "change-password", row["name"])
        return _user(con.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone())


def _verifies(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def set_role(name: str, role: str, actor: str, path: Path | None = None) -> None:
    validate(name, role, None)
    with connect(path) as con:
        row = con.execute("SELECT role FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise _no_user(name)
        if row["role"] == role:
            return
        _refuse_last_admin(con, name, row["role"], "role")
        # a new role takes effect at once: sessions end so no page keeps showing the old rights
        con.execute("UPDATE users SET role = ?, session_version = session_version + 1 WHERE name = ?", (role, name))
        _audit(con, actor, "role", name, before=row["role"], after=role)


def _refuse_last_admin(con: sqlite3.Connection, name: str, role: str, field: str) -> None:
    if role == "admin" and con.execute("SELECT count(*) FROM users WHERE role = 'admin' AND active = 1 "
                                       "AND name != ?", (name,)).fetchone()[0] == 0:
        raise AccountError(field, f"'{name}' là quản trị viên cuối cùng; thêm một quản trị viên khác trước / "
                           f"'{name}' is the last active admin; add another admin first")


def disable_user(name: str, path: Path | None = None, actor: str = "cli") -> None:
    """Deactivate the account (it can no longer log in) and end its sessions."""
    with connect(path) as con:
        row = con.execute("SELECT role, active FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise _no_user(name)
        if actor != "cli":  # the command line may lock anyone out; the web keeps one admin
            _refuse_last_admin(con, name, row["role"], "name")
        con.execute("UPDATE users SET active = 0, session_version = session_version + 1 WHERE name = ?", (name,))
        _audit(con, actor, "disable", name)


def enable_user(name: str, actor: str, path: Path | None = None) -> None:
    with connect(path) as con:
        if con.execute("UPDATE users SET active = 1 WHERE name = ?", (name,)).rowcount != 1:
            raise _no_user(name)
        _audit(con, actor, "enable", name)


def audit_log(limit: int = 100, path: Path | None = None) -> list[dict]:
    """The latest account changes, newest first."""
    with connect(path) as con:
        rows = con.execute("SELECT * FROM account_audit ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [{"at": r["at"], "actor": r["actor"], "action": r["action"], "target": r["target"],
             "detail": json.loads(r["detail_json"])} for r in rows]


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
