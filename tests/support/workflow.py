"""Helpers for the workflow tests: accounts beyond one per role, prepared versions, and an HTTP session
for the live server (urllib with a cookie jar: no extra dependency). No tests here."""
from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

from support.web import PASSWORD, csrf_token, ensure_users

#: People beyond one per role: a second officer and a second approver (four eyes needs two people).
EXTRA_USERS = {"u-officer2": "officer", "u-approver2": "approver"}


def ensure_people() -> None:
    from geo_app.serve import accounts

    ensure_users()
    existing = {u.name for u in accounts.list_users()}
    for name, role in EXTRA_USERS.items():
        if name not in existing:
            accounts.add_user(name, role, PASSWORD)


def login_as(client, name: str):
    ensure_people()
    resp = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return client


def commune_code(name: str) -> str:
    from geo_app import layers

    communes = layers.read("communes")
    return str(communes.loc[communes.full_name == name, "code"].iloc[0])


def commune_codes(count: int) -> list[str]:
    """``count`` distinct 2025 communes (sorted by code), one small area per product."""
    from geo_app import layers

    return sorted(layers.read("communes")["code"].astype(str))[:count]


def submitted(product_id: str, code: str, officer: str = "u-officer"):
    """The product's draft set to one whole 2025 commune and submitted by ``officer`` (core calls)."""
    from geo_app.production import workflow

    current = workflow.latest(product_id)
    version = workflow.save_draft(product_id, officer, {"communes_2025": [code]}, edited_from=current.token)
    assert version.ok, version.report
    return workflow.submit(product_id, version.version, officer)


class Session:
    """A browser-like HTTP session against the live server: cookies, CSRF token, no redirects followed."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), self._NoRedirect())
        self.token = ""

    def request(self, method: str, path: str, data: dict | list | None = None, headers: dict | None = None):
        body = None if data is None else urllib.parse.urlencode(data, doseq=True).encode()
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with self.opener.open(req, timeout=600) as resp:
                return resp.status, resp.read(), dict(resp.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), dict(exc.headers)

    def get(self, path: str, headers: dict | None = None):
        status, body, hdrs = self.request("GET", path, headers=headers)
        match = re.search(rb'name="csrf-token" content="([^"]+)"', body)
        if match:
            self.token = match.group(1).decode()
        return status, body, hdrs

    def post(self, path: str, data: dict | None = None):
        return self.request("POST", path, {"csrf_token": self.token, **(data or {})},
                            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})

    def login(self, name: str) -> Session:
        self.get("/login")
        status, body, _ = self.request("POST", "/login", {"name": name, "password": PASSWORD, "csrf_token": self.token},
                                       headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 302, body[:300]
        self.get("/")
        return self
