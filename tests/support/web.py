"""Helpers shared by the web tests (accounts, CSRF, a live waitress server). No tests here."""
from __future__ import annotations

import os
import re
import sys
from contextlib import contextmanager
from pathlib import Path

from support.servers import Server, free_port

PASSWORD = "correct horse battery"
ROLE_USERS = {"viewer": "u-viewer", "officer": "u-officer", "approver": "u-approver", "admin": "u-admin"}


def ensure_users() -> dict[str, str]:
    """One account per role in the session's store (idempotent)."""
    from geo_app.serve import accounts

    existing = {u.name for u in accounts.list_users()}
    for role, name in ROLE_USERS.items():
        if name not in existing:
            accounts.add_user(name, role, PASSWORD)
    return ROLE_USERS


def csrf_token(client, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "pages carry a CSRF token"
    return match.group(1)


def login(client, role: str | None):
    if role is None:
        return None
    ensure_users()
    resp = client.post("/login", data={"name": ROLE_USERS[role], "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return resp


SERVER_CODE = """
import sys
from waitress import serve
from geo_app.serve.web import create_app
app = create_app({"SECRET_KEY": "live-test", "LOGIN_RATE_LIMIT": "1000 per minute", "OFFLINE_MAP": True})
serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=8, _quiet=True)
"""


@contextmanager
def live_server(home):
    """The application under waitress in a subprocess on a free port; yields its base URL. Its output
    goes to a log file beside the home (a pipe nobody reads fills with waitress's "Task queue depth"
    warnings and then blocks the server), and a server that does not come up fails with its log."""
    port = free_port()
    env = {**os.environ, "GEO_APP_HOME": str(home)}
    base = f"http://127.0.0.1:{port}"
    with Server(f"live test server (port {port})", [sys.executable, "-c", SERVER_CODE, str(port)],
                Path(home) / f"live-server-{port}.log", env) as server:
        server.wait_http(base + "/ogcapi/conformance")
        yield base


@contextmanager
def isolated_home(store_home, target):
    """A GEO_APP_HOME of its own (accounts, workflow, user layers) sharing the session's built layer
    store through a symlink; the environment points at it inside the block."""
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    link = target / "layers.gpkg"
    if not link.exists():
        link.symlink_to(Path(store_home) / "layers.gpkg")
    before = os.environ.get("GEO_APP_HOME")
    os.environ["GEO_APP_HOME"] = str(target)
    try:
        yield target
    finally:
        os.environ["GEO_APP_HOME"] = before if before is not None else str(store_home)
