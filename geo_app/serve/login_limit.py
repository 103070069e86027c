"""The login limit: failed password checks, counted per account and per client address, in the
accounts database (``$GEO_APP_HOME/web.sqlite3``).

Kept in SQLite rather than in a process's memory so that a restart does not reset it and several
processes share one count. Only failures count: a person who logs in correctly many times is never
refused, and a correct login clears that account's failures. The window slides: a key is refused
while it has ``count`` failures younger than ``seconds``.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from geo_app.io.sqlite import transaction
from geo_app.serve import accounts

SCHEMA = """
CREATE TABLE IF NOT EXISTS login_failures (
    key TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_key_at ON login_failures (key, at);
"""
#: Failures older than this are deleted whatever the configured windows.
KEEP_SECONDS = 24 * 3600
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_LIMIT_RE = re.compile(r"^\s*(\d+)\s*(?:per|/)\s*(\d+)?\s*(second|minute|hour|day)s?\s*$")


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Limit:
        """``"10 per minute"``, ``"30 per 15 minutes"``, ``"5/hour"``."""
        match = _LIMIT_RE.match(text or "")
        if not match or int(match.group(1)) < 1:
            raise ValueError(f"'{text}': giới hạn phải có dạng '10 per 15 minutes' / a limit reads "
                             "like '10 per 15 minutes'")
        return cls(int(match.group(1)), int(match.group(2) or 1) * _UNITS[match.group(3)])


def account_key(name: str) -> str:
    return "account:" + (name or "").strip().casefold()


def address_key(address: str | None) -> str:
    return "address:" + (address or "unknown")


def _path(path: Path | None) -> Path:
    return path or accounts.db_path()


def retry_after(limits: dict[str, Limit], now: float | None = None, path: Path | None = None) -> int:
    """Seconds until every key in ``limits`` may try again; 0 when none is refused."""
    now = time.time() if now is None else now
    wait = 0.0
    with transaction(_path(path), SCHEMA) as con:
        for key, limit in limits.items():
            times = [row[0] for row in con.execute(
                "SELECT at FROM login_failures WHERE key = ? AND at > ? ORDER BY at DESC LIMIT ?",
                (key, now - limit.seconds, limit.count))]
            if len(times) >= limit.count:
                # refused until the oldest of the last ``count`` failures leaves the window
                wait = max(wait, times[-1] + limit.seconds - now)
    return 0 if wait <= 0 else max(1, int(wait + 0.999))


def record_failure(keys, now: float | None = None, path: Path | None = None) -> None:
    now = time.time() if now is None else now
    with transaction(_path(path), SCHEMA) as con:
        con.executemany("INSERT INTO login_failures (key, at) VALUES (?, ?)", [(key, now) for key in keys])
        con.execute("DELETE FROM login_failures WHERE at < ?", (now - KEEP_SECONDS,))


def clear(key: str, path: Path | None = None) -> None:
    with transaction(_path(path), SCHEMA) as con:
        con.execute("DELETE FROM login_failures WHERE key = ?", (key,))
